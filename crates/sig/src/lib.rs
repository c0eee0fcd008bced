//! # ctchain-sig: the signature schemes
//!
//! Every signature the chain checks outside a zero-knowledge statement — consensus votes and commit certificates,
//! node identities, governance approvals — goes through this crate. A chain names its scheme once (the genesis
//! suite); code above this crate holds [`PublicKey`]s and [`Signature`]s and calls [`PublicKey::verify`], and never
//! branches on the scheme. Adding a scheme is one [`SignatureScheme`] implementation and one [`Scheme`] variant.
//!
//! | scheme | standard | public key | signature |
//! |---|---|---|---|
//! | [`Scheme::Ed25519`] | RFC 8032, strict verification (`verify_strict`: canonical `S`, no small-order keys) | 32 bytes | 64 bytes |
//! | [`Scheme::Sm2`] | GB/T 32918.2 with SM3, distinguishing identifier [`SM2_DEFAULT_DISTID`] (GM/T 0009) | 33 bytes, SEC1 compressed | 64 bytes, `r ‖ s` |
//!
//! ## Invariants
//! * Every key and signature carries its scheme, in memory and in its encoding (one tag byte). A signature of one
//!   scheme checked against a key of another is refused as [`SigError::SchemeMismatch`] before any arithmetic, so
//!   "an Ed25519 vote on an SM2 chain" has a name, not merely "a bad signature".
//! * A [`PublicKey`] exists only for bytes that are a valid key of its scheme (a point on the curve, not the
//!   identity; for SM2 the compressed encoding only), so each key has one encoding; decoding rejects the rest.
//! * Signing is deterministic (Ed25519 by construction, SM2 with RFC 6979 nonces over SM3): a signer never depends
//!   on the quality of a random number generator at signing time.
//! * Nothing here panics on input; every refusal is a typed [`SigError`] or [`DecodeError`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ed25519;
mod sm2_scheme;

use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};

pub use sm2_scheme::SM2_DEFAULT_DISTID;

/// A signature scheme the chain can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scheme {
    /// Ed25519 (RFC 8032).
    Ed25519,
    /// SM2 digital signatures (GB/T 32918.2) with SM3.
    Sm2,
}

impl Scheme {
    /// Every scheme, in tag order.
    pub const ALL: [Scheme; 2] = [Scheme::Ed25519, Scheme::Sm2];

    /// The name used in configuration and genesis files.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Ed25519 => "ed25519",
            Scheme::Sm2 => "sm2",
        }
    }

    /// The scheme named `name` (as [`Scheme::name`] writes it).
    pub fn from_name(name: &str) -> Result<Self, SigError> {
        Self::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| SigError::UnknownScheme(name.to_owned()))
    }

    /// The tag byte in encodings.
    pub fn tag(self) -> u8 {
        match self {
            Scheme::Ed25519 => 1,
            Scheme::Sm2 => 2,
        }
    }

    fn from_tag(tag: u8, field: &'static str) -> Result<Self, DecodeError> {
        Self::ALL.into_iter().find(|s| s.tag() == tag).ok_or(DecodeError::InvalidTag { field, tag: tag.into() })
    }

    /// Length of a public key's bytes.
    pub fn public_key_len(self) -> usize {
        self.implementation().public_key_len()
    }

    /// Length of a signature's bytes.
    pub fn signature_len(self) -> usize {
        self.implementation().signature_len()
    }

    /// Checks `signature` over `message` under `public_key`, given as this scheme's raw bytes (lengths and key
    /// validity checked here): for callers that hold keys as bytes of the chain's one scheme.
    pub fn verify(self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), SigError> {
        let implementation = self.implementation();
        if public_key.len() != implementation.public_key_len() {
            return Err(SigError::MalformedKey { scheme: self, reason: "wrong length" });
        }
        if signature.len() != implementation.signature_len() {
            return Err(SigError::MalformedSignature { scheme: self, reason: "wrong length" });
        }
        implementation.verify(public_key, message, signature)
    }

    /// The signing key of this scheme made from 32 secret bytes (for SM2: a scalar in `[1, n − 2]`).
    pub fn signing_key(self, secret: &[u8; 32]) -> Result<Box<dyn SigningKey>, SigError> {
        self.implementation().signing_key(secret)
    }

    /// A fresh signing key from `rng`.
    pub fn generate(self, rng: &mut dyn rand_core::CryptoRngCore) -> Box<dyn SigningKey> {
        loop {
            let mut secret = zeroize::Zeroizing::new([0u8; 32]);
            rng.fill_bytes(secret.as_mut());
            // For SM2 a few secrets (≥ n − 1, or zero) are not keys: draw again (probability about 2⁻³²).
            if let Ok(key) = self.signing_key(&secret) {
                return key;
            }
        }
    }

    fn implementation(self) -> &'static dyn SignatureScheme {
        match self {
            Scheme::Ed25519 => &ed25519::Ed25519,
            Scheme::Sm2 => &sm2_scheme::Sm2,
        }
    }
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One signature scheme. Implementations are stateless and pure: the same inputs give the same answers.
pub trait SignatureScheme: Send + Sync {
    /// Which scheme this is.
    fn scheme(&self) -> Scheme;
    /// Length of a public key's bytes.
    fn public_key_len(&self) -> usize;
    /// Length of a signature's bytes.
    fn signature_len(&self) -> usize;
    /// Checks that `bytes` are the one valid encoding of a public key.
    fn check_public_key(&self, bytes: &[u8]) -> Result<(), SigError>;
    /// Whether `signature` is valid for `message` under `public_key` (both of this scheme, lengths checked).
    fn verify(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), SigError>;
    /// The signing key made from 32 secret bytes.
    fn signing_key(&self, secret: &[u8; 32]) -> Result<Box<dyn SigningKey>, SigError>;
}

/// A secret key that signs. Implementations zero their secret when dropped.
pub trait SigningKey: Send + Sync {
    /// The scheme.
    fn scheme(&self) -> Scheme;
    /// The matching public key.
    fn public_key(&self) -> PublicKey;
    /// Signs `message` (deterministically).
    fn sign(&self, message: &[u8]) -> Signature;
}

/// Why a key or signature was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// No scheme has this name.
    #[error("unknown signature scheme {0:?} (known: ed25519, sm2)")]
    UnknownScheme(String),
    /// A key or signature of one scheme met one of another.
    #[error("{found} signature or key where {expected} is required")]
    SchemeMismatch {
        /// The scheme required (the key's, or the chain's).
        expected: Scheme,
        /// The scheme found.
        found: Scheme,
    },
    /// The bytes are not a public key of the scheme.
    #[error("not a {scheme} public key: {reason}")]
    MalformedKey {
        /// The scheme.
        scheme: Scheme,
        /// What is wrong.
        reason: &'static str,
    },
    /// The secret bytes are not a secret key of the scheme.
    #[error("not a {scheme} secret key: {reason}")]
    MalformedSecret {
        /// The scheme.
        scheme: Scheme,
        /// What is wrong.
        reason: &'static str,
    },
    /// The bytes are not a signature of the scheme.
    #[error("not a {scheme} signature: {reason}")]
    MalformedSignature {
        /// The scheme.
        scheme: Scheme,
        /// What is wrong.
        reason: &'static str,
    },
    /// A well-formed signature that does not verify.
    #[error("{scheme} signature does not verify")]
    Invalid {
        /// The scheme.
        scheme: Scheme,
    },
}

/// A public key of some scheme; only valid keys exist.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey {
    scheme: Scheme,
    bytes: Vec<u8>,
}

impl PublicKey {
    /// The key of `scheme` with these bytes, if they are a valid key.
    pub fn new(scheme: Scheme, bytes: &[u8]) -> Result<Self, SigError> {
        let implementation = scheme.implementation();
        if bytes.len() != implementation.public_key_len() {
            return Err(SigError::MalformedKey { scheme, reason: "wrong length" });
        }
        implementation.check_public_key(bytes)?;
        Ok(Self { scheme, bytes: bytes.to_vec() })
    }

    /// The SM2 key of a SEC1 point in either form, compressed (33 bytes) or uncompressed (65 bytes, as OpenSSL
    /// writes it in certificates), checked on the curve and kept compressed (the one form [`PublicKey::new`] takes).
    pub fn sm2_from_sec1(bytes: &[u8]) -> Result<Self, SigError> {
        Ok(Self { scheme: Scheme::Sm2, bytes: sm2_scheme::compressed_sec1(bytes)? })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The key's bytes (without the scheme tag).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Checks `signature` over `message`: refused as [`SigError::SchemeMismatch`] if the signature is of another
    /// scheme than this key.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SigError> {
        if signature.scheme != self.scheme {
            return Err(SigError::SchemeMismatch { expected: self.scheme, found: signature.scheme });
        }
        self.scheme.implementation().verify(&self.bytes, message, &signature.bytes)
    }

    /// `scheme:hex`, as configuration files write keys.
    pub fn to_text(&self) -> String {
        format!("{}:{}", self.scheme, hex_lower(&self.bytes))
    }

    /// A key written by [`PublicKey::to_text`].
    pub fn from_text(text: &str) -> Result<Self, SigError> {
        let (name, hex) = text.split_once(':').ok_or_else(|| SigError::UnknownScheme(text.to_owned()))?;
        let scheme = Scheme::from_name(name)?;
        let bytes = hex_decode(hex).ok_or(SigError::MalformedKey { scheme, reason: "not hexadecimal" })?;
        Self::new(scheme, &bytes)
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A signature of some scheme (well-formed length; validity is what [`PublicKey::verify`] checks).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signature {
    scheme: Scheme,
    bytes: Vec<u8>,
}

impl Signature {
    /// The signature of `scheme` with these bytes, if their length is the scheme's.
    pub fn new(scheme: Scheme, bytes: &[u8]) -> Result<Self, SigError> {
        if bytes.len() != scheme.signature_len() {
            return Err(SigError::MalformedSignature { scheme, reason: "wrong length" });
        }
        Ok(Self { scheme, bytes: bytes.to_vec() })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The signature's bytes (without the scheme tag).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.scheme, hex_lower(&self.bytes))
    }
}

/// Encoding: the scheme's tag byte, then the key's fixed-length bytes.
impl Encode for PublicKey {
    fn encode_to(&self, w: &mut Writer) {
        w.u8(self.scheme.tag());
        w.fixed(&self.bytes);
    }
}

impl Decode for PublicKey {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let scheme = Scheme::from_tag(r.u8("public key scheme")?, "public key scheme")?;
        let bytes = r.take("public key", scheme.public_key_len())?;
        Self::new(scheme, bytes).map_err(|_| DecodeError::Invalid { field: "public key", reason: "not a valid key" })
    }
}

/// Encoding: the scheme's tag byte, then the signature's fixed-length bytes.
impl Encode for Signature {
    fn encode_to(&self, w: &mut Writer) {
        w.u8(self.scheme.tag());
        w.fixed(&self.bytes);
    }
}

impl Decode for Signature {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let scheme = Scheme::from_tag(r.u8("signature scheme")?, "signature scheme")?;
        let bytes = r.take("signature", scheme.signature_len())?;
        Ok(Self { scheme, bytes: bytes.to_vec() })
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}
