//! The signature scheme, behind two small traits so that the node can choose it, and the Ed25519 implementation
//! used by the tests and the simulator.

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use crate::types::{PublicKey, Signature};

/// Signs 32-byte signing digests with one validator key. Only [`crate::SafetyRules`] holds a signer inside the
/// core, so every signature the core produces goes through the safety checks.
pub trait Signer: Send + Sync {
    /// The public key matching this signer.
    fn public_key(&self) -> PublicKey;
    /// Signs `msg` (a signing digest).
    fn sign(&self, msg: &[u8]) -> Signature;
}

/// Verifies signatures of the scheme in use. Must be a pure function of its arguments.
pub trait Verifier: Send + Sync {
    /// Whether `sig` is a valid signature of `msg` under `key`.
    fn verify(&self, key: &PublicKey, msg: &[u8], sig: &Signature) -> bool;
}

/// An Ed25519 validator key (RFC 8032, via `ed25519-dalek`).
pub struct Ed25519Signer {
    key: SigningKey,
}

impl Ed25519Signer {
    /// A key from 32 secret bytes.
    pub fn from_secret(secret: [u8; 32]) -> Self {
        Self { key: SigningKey::from_bytes(&secret) }
    }

    /// A fresh key from `rng`.
    pub fn generate<R: rand_core::CryptoRngCore + ?Sized>(rng: &mut R) -> Self {
        Self { key: SigningKey::generate(rng) }
    }
}

impl Signer for Ed25519Signer {
    fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key().to_bytes().to_vec())
    }

    fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.key.sign(msg).to_bytes().to_vec())
    }
}

/// Ed25519 verification with the strict rules (`verify_strict`: no small-order keys, canonical `S`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ed25519Verifier;

impl Verifier for Ed25519Verifier {
    fn verify(&self, key: &PublicKey, msg: &[u8], sig: &Signature) -> bool {
        let Ok(key_bytes) = <[u8; 32]>::try_from(key.0.as_slice()) else { return false };
        let Ok(sig_bytes) = <[u8; 64]>::try_from(sig.0.as_slice()) else { return false };
        let Ok(vk) = VerifyingKey::from_bytes(&key_bytes) else { return false };
        let sig = ed25519_dalek::Signature::from_bytes(&sig_bytes);
        vk.verify_strict(msg, &sig).is_ok()
    }
}
