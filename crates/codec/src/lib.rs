//! Canonical binary encoding and SM3 hashing shared by every ctchain crate.
//!
//! Consensus depends on every node producing the same bytes for the same value, and on no value having two
//! encodings (otherwise an attacker could change an identifier by re-encoding). This crate therefore has:
//!
//! * exactly one encoding per value: fixed-width little-endian integers, `u32` length prefixes, `0`/`1` for
//!   booleans and option tags, no padding, no self-description;
//! * strict decoding: every length is bounded by the caller's maximum *before* anything is allocated, unknown
//!   tags and non-`0`/`1` booleans are rejected, and [`Decode::from_bytes`] rejects trailing bytes;
//! * no panics on any input: every failure is a [`DecodeError`] that names the field that failed.
//!
//! Hashes are SM3 (GB/T 32905-2016) with an explicit domain separator, see [`hash`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod hash;

pub use hash::{Hash32, Sm3Hasher};

/// Why a byte string is not the canonical encoding of a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended before the field was complete.
    #[error("unexpected end of input while reading {field}: needed {needed} bytes, {remaining} left")]
    UnexpectedEnd {
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// The value was complete but bytes remain.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// A length prefix is above the maximum allowed for this field.
    #[error("length {len} of {field} exceeds the maximum {max}")]
    LengthTooLarge {
        /// The field being read.
        field: &'static str,
        /// The length that was found.
        len: u64,
        /// The maximum allowed.
        max: u64,
    },
    /// An enum tag, option tag or boolean has a value outside its range.
    #[error("invalid tag {tag} for {field}")]
    InvalidTag {
        /// The field being read.
        field: &'static str,
        /// The tag found.
        tag: u32,
    },
    /// A string field is not valid UTF-8.
    #[error("{field} is not valid UTF-8")]
    InvalidUtf8 {
        /// The field being read.
        field: &'static str,
    },
    /// The bytes are well-formed but the value they encode is not allowed (for instance a non-canonical scalar,
    /// the identity point, or a list that is not sorted).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field being read.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A value with one canonical byte encoding.
pub trait Encode {
    /// Appends the encoding of `self` to `w`.
    fn encode_to(&self, w: &mut Writer);

    /// The canonical encoding of `self`.
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode_to(&mut w);
        w.into_bytes()
    }
}

/// A value that can be decoded from its canonical encoding, and from nothing else.
pub trait Decode: Sized {
    /// Reads one value from `r`, leaving the reader just after it.
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a whole byte string: the value must use every byte.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let value = Self::decode_from(&mut r)?;
        r.finish()?;
        Ok(value)
    }
}

/// Builds a canonical encoding.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// The bytes written so far, borrowed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Writes one byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// Writes a `u16`, little-endian.
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes a `u32`, little-endian.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes a `u64`, little-endian.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes a boolean as `0` or `1`.
    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    /// Writes bytes with no length prefix (for fixed-size fields).
    pub fn fixed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Writes a length prefix. Lengths above `u32::MAX` cannot be decoded by any reader, so they are a
    /// programming error of the caller, who bounds every collection far below that.
    pub fn len(&mut self, len: usize) {
        let len = u32::try_from(len).expect("encoded collections are bounded far below 2^32 elements");
        self.u32(len);
    }

    /// Writes a length-prefixed byte string.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.len(bytes.len());
        self.fixed(bytes);
    }

    /// Writes a length-prefixed UTF-8 string.
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// Writes a length-prefixed sequence of encodable values.
    pub fn seq<T: Encode>(&mut self, items: &[T]) {
        self.len(items.len());
        for item in items {
            item.encode_to(self);
        }
    }

    /// Writes an option as a `0`/`1` tag followed by the value.
    pub fn option<T: Encode>(&mut self, v: &Option<T>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                v.encode_to(self);
            }
        }
    }

    /// Writes any encodable value.
    pub fn put<T: Encode + ?Sized>(&mut self, v: &T) {
        v.encode_to(self);
    }
}

/// Reads a canonical encoding; every method names the field it reads so that errors say what failed.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Self { input, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    /// Fails unless every byte has been read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }

    /// Reads `n` bytes.
    pub fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::UnexpectedEnd { field, needed: n, remaining: self.remaining() });
        }
        let out = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    /// Reads a little-endian `u16`.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    /// Reads a little-endian `u32`.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    /// Reads a little-endian `u64`.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// Reads a boolean; only `0` and `1` are accepted.
    pub fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(DecodeError::InvalidTag { field, tag: u32::from(tag) }),
        }
    }

    /// Reads a length prefix and checks it against `max` before anything is allocated.
    pub fn len(&mut self, field: &'static str, max: usize) -> Result<usize, DecodeError> {
        let len = self.u32(field)?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > max {
            return Err(DecodeError::LengthTooLarge { field, len: len as u64, max: max as u64 });
        }
        Ok(len)
    }

    /// Reads a length-prefixed byte string of at most `max` bytes.
    pub fn bytes(&mut self, field: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.len(field, max)?;
        self.take(field, len)
    }

    /// Reads a length-prefixed UTF-8 string of at most `max` bytes.
    pub fn string(&mut self, field: &'static str, max: usize) -> Result<String, DecodeError> {
        let bytes = self.bytes(field, max)?;
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| DecodeError::InvalidUtf8 { field })
    }

    /// Reads a length-prefixed sequence of at most `max` values.
    pub fn seq<T: Decode>(&mut self, field: &'static str, max: usize) -> Result<Vec<T>, DecodeError> {
        let len = self.len(field, max)?;
        // The bound was checked, but each element takes at least one byte: never reserve more than remains.
        let mut out = Vec::with_capacity(len.min(self.remaining()));
        for _ in 0..len {
            out.push(T::decode_from(self)?);
        }
        Ok(out)
    }

    /// Reads an option written by [`Writer::option`].
    pub fn option<T: Decode>(&mut self, field: &'static str) -> Result<Option<T>, DecodeError> {
        match self.u8(field)? {
            0 => Ok(None),
            1 => Ok(Some(T::decode_from(self)?)),
            tag => Err(DecodeError::InvalidTag { field, tag: u32::from(tag) }),
        }
    }

    /// Reads any decodable value.
    pub fn get<T: Decode>(&mut self) -> Result<T, DecodeError> {
        T::decode_from(self)
    }
}

macro_rules! int_codec {
    ($($t:ident),*) => {$(
        impl Encode for $t {
            fn encode_to(&self, w: &mut Writer) {
                w.$t(*self);
            }
        }
        impl Decode for $t {
            fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                r.$t(stringify!($t))
            }
        }
    )*};
}
int_codec!(u8, u16, u32, u64);

impl Encode for bool {
    fn encode_to(&self, w: &mut Writer) {
        w.bool(*self);
    }
}

impl Decode for bool {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.bool("bool")
    }
}

impl<const N: usize> Encode for [u8; N] {
    fn encode_to(&self, w: &mut Writer) {
        w.fixed(self);
    }
}

impl<const N: usize> Decode for [u8; N] {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array("byte array")
    }
}

impl<T: Encode + ?Sized> Encode for &T {
    fn encode_to(&self, w: &mut Writer) {
        (**self).encode_to(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Sample {
        height: u64,
        flag: bool,
        name: String,
        items: Vec<u16>,
        maybe: Option<u32>,
    }

    impl Encode for Sample {
        fn encode_to(&self, w: &mut Writer) {
            w.u64(self.height);
            w.bool(self.flag);
            w.str(&self.name);
            w.seq(&self.items);
            w.option(&self.maybe);
        }
    }

    impl Decode for Sample {
        fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
            Ok(Self {
                height: r.u64("height")?,
                flag: r.bool("flag")?,
                name: r.string("name", 16)?,
                items: r.seq("items", 4)?,
                maybe: r.option("maybe")?,
            })
        }
    }

    fn sample() -> Sample {
        Sample { height: 0x0102030405060708, flag: true, name: "ab".into(), items: vec![1, 0x0203], maybe: Some(7) }
    }

    /// The test vector pins the wire format: changing it changes every transaction id on the chain.
    #[test]
    fn sample_encoding_matches_the_test_vector() {
        let bytes = sample().to_bytes();
        assert_eq!(hex::encode(&bytes), "08070605040302010102000000616202000000010003020107000000");
        assert_eq!(Sample::from_bytes(&bytes).unwrap(), sample());
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = sample().to_bytes();
        bytes.push(0);
        assert_eq!(Sample::from_bytes(&bytes), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn every_truncation_is_rejected() {
        let bytes = sample().to_bytes();
        for cut in 0..bytes.len() {
            assert!(
                matches!(Sample::from_bytes(&bytes[..cut]), Err(DecodeError::UnexpectedEnd { .. })),
                "prefix of {cut} bytes decoded"
            );
        }
    }

    #[test]
    fn non_canonical_bool_and_option_tags_are_rejected() {
        let mut bytes = sample().to_bytes();
        bytes[8] = 2;
        assert_eq!(Sample::from_bytes(&bytes), Err(DecodeError::InvalidTag { field: "flag", tag: 2 }));
        let mut bytes = sample().to_bytes();
        let tag_at = bytes.len() - 5;
        bytes[tag_at] = 9;
        assert_eq!(Sample::from_bytes(&bytes), Err(DecodeError::InvalidTag { field: "maybe", tag: 9 }));
    }

    #[test]
    fn oversized_lengths_are_rejected_before_allocation() {
        let mut w = Writer::new();
        w.u64(1);
        w.bool(false);
        w.u32(u32::MAX);
        let err = Sample::from_bytes(w.as_bytes()).unwrap_err();
        assert_eq!(err, DecodeError::LengthTooLarge { field: "name", len: u32::MAX as u64, max: 16 });
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let mut w = Writer::new();
        w.u64(1);
        w.bool(false);
        w.bytes(&[0xff, 0xfe]);
        assert_eq!(Sample::from_bytes(w.as_bytes()), Err(DecodeError::InvalidUtf8 { field: "name" }));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            if let Ok(value) = Sample::from_bytes(&bytes) {
                // Whatever decodes re-encodes to exactly the same bytes: there is one encoding per value.
                proptest::prop_assert_eq!(value.to_bytes(), bytes);
            }
        }
    }
}
