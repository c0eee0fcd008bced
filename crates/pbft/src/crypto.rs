//! The signature scheme, behind two small traits so that the node can choose it. Both are implemented over
//! `ctchain-sig` (the one scheme trait of the chain, shared with certificates and governance) for any of its
//! schemes ([`SchemeSigner`], [`SchemeVerifier`]); [`Ed25519Signer`] and [`Ed25519Verifier`] are those for
//! Ed25519, used by the tests and the simulator.

use ctchain_sig::Scheme;

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

/// A validator key of any `ctchain-sig` scheme.
pub struct SchemeSigner {
    key: Box<dyn ctchain_sig::SigningKey>,
}

impl SchemeSigner {
    /// Signs with `key`.
    pub fn new(key: Box<dyn ctchain_sig::SigningKey>) -> Self {
        Self { key }
    }
}

impl Signer for SchemeSigner {
    fn public_key(&self) -> PublicKey {
        PublicKey(self.key.public_key().as_bytes().to_vec())
    }

    fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.key.sign(msg).as_bytes().to_vec())
    }
}

/// Verification under one `ctchain-sig` scheme: the chain's. Keys and signatures are that scheme's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemeVerifier(pub Scheme);

impl Verifier for SchemeVerifier {
    fn verify(&self, key: &PublicKey, msg: &[u8], sig: &Signature) -> bool {
        self.0.verify(&key.0, msg, &sig.0).is_ok()
    }
}

/// An Ed25519 validator key (RFC 8032).
pub struct Ed25519Signer(SchemeSigner);

impl Ed25519Signer {
    /// A key from 32 secret bytes.
    pub fn from_secret(secret: [u8; 32]) -> Self {
        let key = Scheme::Ed25519.signing_key(&secret).expect("any 32 bytes are an Ed25519 secret key");
        Self(SchemeSigner::new(key))
    }

    /// A fresh key from `rng`.
    pub fn generate<R: rand_core::CryptoRngCore>(rng: &mut R) -> Self {
        Self(SchemeSigner::new(Scheme::Ed25519.generate(rng)))
    }
}

impl Signer for Ed25519Signer {
    fn public_key(&self) -> PublicKey {
        self.0.public_key()
    }

    fn sign(&self, msg: &[u8]) -> Signature {
        self.0.sign(msg)
    }
}

/// Ed25519 verification with the strict rules (`verify_strict`: no small-order keys, canonical `S`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ed25519Verifier;

impl Verifier for Ed25519Verifier {
    fn verify(&self, key: &PublicKey, msg: &[u8], sig: &Signature) -> bool {
        SchemeVerifier(Scheme::Ed25519).verify(key, msg, sig)
    }
}
