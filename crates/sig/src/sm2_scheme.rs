//! SM2 digital signatures (GB/T 32918.2) through RustCrypto's `sm2`: SM3 over `Z_A ‖ M`, where `Z_A` hashes the
//! signer's distinguishing identifier and public key; nonces by RFC 6979 over SM3.

use sm2::dsa::signature::{RandomizedSigner as _, Signer as _, Verifier as _};
use sm2::elliptic_curve::sec1::ToEncodedPoint;

use crate::{PublicKey, Scheme, SigError, Signature, SignatureScheme, SigningKey};

/// The distinguishing identifier every ctchain SM2 signature uses: GM/T 0009's default user id,
/// `1234567812345678` (what OpenSSL and most SM2 implementations take when none is given).
pub const SM2_DEFAULT_DISTID: &str = "1234567812345678";

pub(crate) struct Sm2;

/// `n − 1` for the SM2 group order `n` (GB/T 32918.5), big-endian.
const ORDER_MINUS_ONE: [u8; 32] = [
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x72, 0x03, 0xdf,
    0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5, 0x41, 0x22,
];

fn verifying_key(bytes: &[u8]) -> Result<sm2::dsa::VerifyingKey, SigError> {
    let malformed = |reason| SigError::MalformedKey { scheme: Scheme::Sm2, reason };
    // One encoding per key: compressed SEC1 only (the uncompressed and hybrid forms of the same point are refused).
    if bytes.len() != 33 || !matches!(bytes[0], 0x02 | 0x03) {
        return Err(malformed("not a compressed SEC1 point"));
    }
    sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DEFAULT_DISTID, bytes).map_err(|_| malformed("not a curve point"))
}

/// A SEC1 point in either form (compressed, or uncompressed with `y` checked), as compressed SEC1.
pub(crate) fn compressed_sec1(bytes: &[u8]) -> Result<Vec<u8>, SigError> {
    let malformed = |reason| SigError::MalformedKey { scheme: Scheme::Sm2, reason };
    match (bytes.len(), bytes.first()) {
        (33, Some(0x02 | 0x03)) | (65, Some(0x04)) => {}
        _ => return Err(malformed("not a compressed or uncompressed SEC1 point")),
    }
    let key = sm2::PublicKey::from_sec1_bytes(bytes).map_err(|_| malformed("not a curve point"))?;
    Ok(key.to_encoded_point(true).as_bytes().to_vec())
}

impl SignatureScheme for Sm2 {
    fn scheme(&self) -> Scheme {
        Scheme::Sm2
    }

    fn public_key_len(&self) -> usize {
        33
    }

    fn signature_len(&self) -> usize {
        64
    }

    fn check_public_key(&self, bytes: &[u8]) -> Result<(), SigError> {
        verifying_key(bytes).map(|_| ())
    }

    fn verify(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), SigError> {
        let scheme = Scheme::Sm2;
        let key = verifying_key(public_key)?;
        // `from_slice` refuses r or s equal to zero or not below the group order.
        let sig = sm2::dsa::Signature::from_slice(signature)
            .map_err(|_| SigError::MalformedSignature { scheme, reason: "r or s out of range" })?;
        key.verify(message, &sig).map_err(|_| SigError::Invalid { scheme })
    }

    fn signing_key(&self, secret: &[u8; 32]) -> Result<Box<dyn SigningKey>, SigError> {
        let malformed = SigError::MalformedSecret { scheme: Scheme::Sm2, reason: "not a scalar in [1, n - 2]" };
        // GB/T 32918.1 6.1: d in [1, n − 2] (with d = n − 1, 1 + d has no inverse and nothing can be signed).
        if *secret == ORDER_MINUS_ONE {
            return Err(malformed);
        }
        let key = sm2::dsa::SigningKey::from_slice(SM2_DEFAULT_DISTID, secret).map_err(|_| malformed)?;
        let public = key.verifying_key().as_affine().to_encoded_point(true).as_bytes().to_vec();
        Ok(Box::new(Sm2SigningKey { key, public }))
    }
}

/// `sm2::dsa::SigningKey` zeroes its scalar on drop.
struct Sm2SigningKey {
    key: sm2::dsa::SigningKey,
    public: Vec<u8>,
}

impl SigningKey for Sm2SigningKey {
    fn scheme(&self) -> Scheme {
        Scheme::Sm2
    }

    fn public_key(&self) -> PublicKey {
        PublicKey { scheme: Scheme::Sm2, bytes: self.public.clone() }
    }

    fn sign(&self, message: &[u8]) -> Signature {
        // The deterministic nonce fails only when r = 0, r + k = n or s = 0 (probability about 2⁻²⁵⁶); the
        // standard then draws another nonce, which is what the randomized path does.
        let sig = loop {
            match self.key.try_sign(message) {
                Ok(sig) => break sig,
                Err(_) => {
                    if let Ok(sig) = self.key.try_sign_with_rng(&mut rand_core::OsRng, message) {
                        break sig;
                    }
                }
            }
        };
        Signature { scheme: Scheme::Sm2, bytes: sig.to_bytes().to_vec() }
    }
}
