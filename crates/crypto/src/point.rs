//! Validated group elements and scalars with their canonical encodings.
//!
//! A [`Point`] can only be built from a canonical Ristretto encoding of a point other than the identity, so every
//! point that reaches a proof verifier has already been checked. Ristretto has prime order, so there is no
//! small-subgroup or torsion component to clear (the Monero key-image bug cannot arise).

use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;

/// A non-identity Ristretto point together with its canonical 32-byte encoding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Point {
    compressed: CompressedRistretto,
    point: RistrettoPoint,
}

impl Point {
    /// Wraps a point computed locally. Returns `None` for the identity, which no ctchain statement admits.
    pub fn new(point: RistrettoPoint) -> Option<Self> {
        if point.is_identity() {
            return None;
        }
        Some(Self { compressed: point.compress(), point })
    }

    /// Parses a canonical encoding of a non-identity point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, &'static str> {
        let compressed = CompressedRistretto(*bytes);
        let point = compressed.decompress().ok_or("not a canonical Ristretto encoding")?;
        if point.is_identity() {
            return Err("identity point");
        }
        Ok(Self { compressed, point })
    }

    /// The group element.
    pub fn point(&self) -> &RistrettoPoint {
        &self.point
    }

    /// The canonical encoding.
    pub fn compressed(&self) -> &CompressedRistretto {
        &self.compressed
    }

    /// The canonical encoding as bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.compressed.as_bytes()
    }
}

impl std::fmt::Debug for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Point({})", hex::encode(self.as_bytes()))
    }
}

impl std::hash::Hash for Point {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.compressed.as_bytes().hash(state);
    }
}

impl Encode for Point {
    fn encode_to(&self, w: &mut Writer) {
        w.fixed(self.as_bytes());
    }
}

impl Decode for Point {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bytes = r.array::<32>("point")?;
        Point::from_bytes(&bytes).map_err(|reason| DecodeError::Invalid { field: "point", reason })
    }
}

/// Writes a scalar as its canonical 32 bytes.
pub(crate) fn write_scalar(w: &mut Writer, s: &Scalar) {
    w.fixed(s.as_bytes());
}

/// Reads a scalar, rejecting any encoding that is not fully reduced modulo the group order.
pub(crate) fn read_scalar(r: &mut Reader<'_>, field: &'static str) -> Result<Scalar, DecodeError> {
    let bytes = r.array::<32>(field)?;
    Option::<Scalar>::from(Scalar::from_canonical_bytes(bytes))
        .ok_or(DecodeError::Invalid { field, reason: "scalar is not reduced modulo the group order" })
}

/// Reads a point with a field name in its error.
pub(crate) fn read_point(r: &mut Reader<'_>, field: &'static str) -> Result<Point, DecodeError> {
    let bytes = r.array::<32>(field)?;
    Point::from_bytes(&bytes).map_err(|reason| DecodeError::Invalid { field, reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;

    #[test]
    fn identity_is_rejected() {
        assert!(Point::new(RistrettoPoint::default()).is_none());
        assert_eq!(Point::from_bytes(&[0u8; 32]), Err("identity point"));
    }

    #[test]
    fn non_canonical_encodings_are_rejected() {
        // The field element p = 2^255 - 19 encoded as-is is the non-canonical form of 0.
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(Point::from_bytes(&p).is_err());
        // A negative field element (low bit set) is never a canonical Ristretto encoding.
        let mut neg = *RISTRETTO_BASEPOINT_POINT.compress().as_bytes();
        neg[0] |= 1;
        assert!(Point::from_bytes(&neg).is_err());
    }

    #[test]
    fn non_canonical_scalars_are_rejected() {
        // The group order l itself is the non-reduced encoding of zero.
        let l = Scalar::ZERO - Scalar::ONE;
        let mut bytes = l.to_bytes();
        bytes[0] = bytes[0].wrapping_add(1);
        let mut w = Writer::new();
        w.fixed(&bytes);
        let mut r = Reader::new(w.as_bytes());
        assert!(matches!(read_scalar(&mut r, "s"), Err(DecodeError::Invalid { field: "s", .. })));
        let mut w = Writer::new();
        write_scalar(&mut w, &l);
        assert_eq!(read_scalar(&mut Reader::new(w.as_bytes()), "s"), Ok(l));
    }
}
