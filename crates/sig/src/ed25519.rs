//! Ed25519 (RFC 8032) through `ed25519-dalek`, verified strictly.

use ed25519_dalek::Signer as _;

use crate::{PublicKey, Scheme, SigError, Signature, SignatureScheme, SigningKey};

pub(crate) struct Ed25519;

impl SignatureScheme for Ed25519 {
    fn scheme(&self) -> Scheme {
        Scheme::Ed25519
    }

    fn public_key_len(&self) -> usize {
        32
    }

    fn signature_len(&self) -> usize {
        64
    }

    fn check_public_key(&self, bytes: &[u8]) -> Result<(), SigError> {
        let malformed = |reason| SigError::MalformedKey { scheme: Scheme::Ed25519, reason };
        let bytes = <[u8; 32]>::try_from(bytes).map_err(|_| malformed("wrong length"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| malformed("not a curve point"))?;
        // A small-order key lets anyone make signatures that verify for many messages: never a validator's key.
        if key.is_weak() {
            return Err(malformed("a small-order point"));
        }
        Ok(())
    }

    fn verify(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), SigError> {
        let scheme = Scheme::Ed25519;
        let key =
            <[u8; 32]>::try_from(public_key).map_err(|_| SigError::MalformedKey { scheme, reason: "wrong length" })?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key)
            .map_err(|_| SigError::MalformedKey { scheme, reason: "not a curve point" })?;
        let sig = <[u8; 64]>::try_from(signature)
            .map_err(|_| SigError::MalformedSignature { scheme, reason: "wrong length" })?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        key.verify_strict(message, &sig).map_err(|_| SigError::Invalid { scheme })
    }

    fn signing_key(&self, secret: &[u8; 32]) -> Result<Box<dyn SigningKey>, SigError> {
        Ok(Box::new(Ed25519SigningKey(ed25519_dalek::SigningKey::from_bytes(secret))))
    }
}

/// `ed25519_dalek::SigningKey` zeroes its secret on drop (the `zeroize` feature).
struct Ed25519SigningKey(ed25519_dalek::SigningKey);

impl SigningKey for Ed25519SigningKey {
    fn scheme(&self) -> Scheme {
        Scheme::Ed25519
    }

    fn public_key(&self) -> PublicKey {
        PublicKey { scheme: Scheme::Ed25519, bytes: self.0.verifying_key().to_bytes().to_vec() }
    }

    fn sign(&self, message: &[u8]) -> Signature {
        Signature { scheme: Scheme::Ed25519, bytes: self.0.sign(message).to_bytes().to_vec() }
    }
}
