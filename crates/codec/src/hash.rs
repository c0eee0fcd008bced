//! SM3 hashing with domain separation.
//!
//! Every hash in ctchain is `SM3(len(domain) as u8 || domain || data)`: two different purposes can never produce
//! the same hash input, so a value hashed for one purpose (say a Merkle leaf) cannot be passed off as another
//! (a Merkle node, a transaction id).

use sm3::{Digest, Sm3};

use crate::{Decode, DecodeError, Encode, Reader, Writer};

/// A 32-byte SM3 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// The digest as bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hexadecimal digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }
}

impl std::fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl std::fmt::Display for Hash32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Encode for Hash32 {
    fn encode_to(&self, w: &mut Writer) {
        w.fixed(&self.0);
    }
}

impl Decode for Hash32 {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.array("hash")?))
    }
}

/// An SM3 hasher bound to a domain separator.
#[derive(Clone)]
pub struct Sm3Hasher {
    inner: Sm3,
}

impl Sm3Hasher {
    /// A hasher for `domain`, which must be at most 255 bytes (domains are compile-time constants).
    pub fn new(domain: &str) -> Self {
        let len = u8::try_from(domain.len()).expect("domain separators are short constants");
        let mut inner = Sm3::new();
        inner.update([len]);
        inner.update(domain.as_bytes());
        Self { inner }
    }

    /// Absorbs raw bytes.
    pub fn update(&mut self, data: impl AsRef<[u8]>) -> &mut Self {
        self.inner.update(data.as_ref());
        self
    }

    /// Absorbs the canonical encoding of a value.
    pub fn put<T: Encode + ?Sized>(&mut self, value: &T) -> &mut Self {
        let mut w = Writer::new();
        value.encode_to(&mut w);
        self.inner.update(w.as_bytes());
        self
    }

    /// The digest.
    pub fn finish(self) -> Hash32 {
        Hash32(self.inner.finalize().into())
    }

    /// `SM3(domain-separated data)` in one call.
    pub fn digest(domain: &str, data: impl AsRef<[u8]>) -> Hash32 {
        let mut h = Self::new(domain);
        h.update(data);
        h.finish()
    }
}

/// Plain SM3 of `data`, without a domain: only for interoperability checks against the standard's vectors.
pub fn sm3_plain(data: &[u8]) -> Hash32 {
    Hash32(Sm3::digest(data).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_sm3_matches_the_gbt_32905_vector() {
        // GB/T 32905-2016, example 1: SM3("abc").
        assert_eq!(sm3_plain(b"abc").to_hex(), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    }

    #[test]
    fn domains_separate_equal_data() {
        let a = Sm3Hasher::digest("ctchain/a", b"data");
        let b = Sm3Hasher::digest("ctchain/b", b"data");
        assert_ne!(a, b);
        // The domain length prefix stops "ab" + "c" colliding with "a" + "bc".
        assert_ne!(Sm3Hasher::digest("ab", b"c"), Sm3Hasher::digest("a", b"bc"));
    }

    #[test]
    fn hex_round_trips() {
        let h = Sm3Hasher::digest("ctchain/test", b"x");
        assert_eq!(Hash32::from_hex(&h.to_hex()), Some(h));
        assert_eq!(Hash32::from_hex("zz"), None);
    }
}
