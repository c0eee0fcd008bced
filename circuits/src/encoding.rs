//! Canonical bytes for field elements and points, with validated decoding.
//!
//! Every decoder here rejects what an attacker could use to give one value two encodings or to smuggle in a
//! point of small order: field elements must be reduced below the modulus, Baby Jubjub points must be on the
//! curve and in the prime-order subgroup, and every decoded value must re-encode to exactly the bytes it came
//! from.

use ark_bn254::Fr;
use ark_ed_on_bn254::EdwardsAffine;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};

use crate::CircuitError;

/// Bytes of a field element or a compressed point.
pub const FIELD_BYTES: usize = 32;

/// The little-endian 32-byte encoding of a BN254 scalar.
pub fn fr_to_bytes(x: &Fr) -> [u8; FIELD_BYTES] {
    use ark_ff::{BigInteger, PrimeField};
    let mut out = [0u8; FIELD_BYTES];
    out.copy_from_slice(&x.into_bigint().to_bytes_le());
    out
}

/// Decodes a BN254 scalar, rejecting integers at or above the modulus.
pub fn fr_from_bytes(bytes: &[u8; FIELD_BYTES], what: &'static str) -> Result<Fr, CircuitError> {
    let x = Fr::deserialize_with_mode(&bytes[..], Compress::Yes, Validate::Yes)
        .map_err(|_| CircuitError::NonCanonicalField(what))?;
    if fr_to_bytes(&x) != *bytes {
        return Err(CircuitError::NonCanonicalField(what));
    }
    Ok(x)
}

/// The compressed 32-byte encoding of a Baby Jubjub point.
pub fn point_to_bytes(p: &EdwardsAffine) -> [u8; FIELD_BYTES] {
    let mut out = [0u8; FIELD_BYTES];
    // A compressed Baby Jubjub point is exactly 32 bytes, so writing into this buffer has no failure mode; the
    // round-trip tests pin the encoding.
    let _ = p.serialize_compressed(&mut out[..]);
    out
}

/// Decodes a Baby Jubjub point: on the curve, in the prime-order subgroup, canonically encoded.
pub fn point_from_bytes(bytes: &[u8; FIELD_BYTES], what: &'static str) -> Result<EdwardsAffine, CircuitError> {
    let p = EdwardsAffine::deserialize_with_mode(&bytes[..], Compress::Yes, Validate::Yes)
        .map_err(|_| CircuitError::InvalidPoint(what))?;
    if point_to_bytes(&p) != *bytes {
        return Err(CircuitError::InvalidPoint(what));
    }
    Ok(p)
}

/// Like [`point_from_bytes`], and also refuses the identity.
pub fn nonidentity_point_from_bytes(
    bytes: &[u8; FIELD_BYTES],
    what: &'static str,
) -> Result<EdwardsAffine, CircuitError> {
    let p = point_from_bytes(bytes, what)?;
    if p.is_zero() {
        return Err(CircuitError::IdentityPoint(what));
    }
    Ok(p)
}

/// The integer value of a field element if it is below 2^64.
pub fn fr_to_u64(x: &Fr) -> Option<u64> {
    use ark_ff::{BigInteger, PrimeField};
    let big = x.into_bigint();
    if big.num_bits() > 64 {
        return None;
    }
    Some(big.0[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{BigInteger, PrimeField};

    #[test]
    fn modulus_and_above_are_refused() {
        let mut modulus = [0u8; 32];
        modulus.copy_from_slice(&Fr::MODULUS.to_bytes_le());
        assert_eq!(fr_from_bytes(&modulus, "x"), Err(CircuitError::NonCanonicalField("x")));
        assert_eq!(fr_from_bytes(&[0xff; 32], "x"), Err(CircuitError::NonCanonicalField("x")));
        let mut below = modulus;
        below[0] -= 1;
        assert_eq!(fr_to_bytes(&fr_from_bytes(&below, "x").unwrap()), below);
    }

    #[test]
    fn u64_range_is_exact() {
        assert_eq!(fr_to_u64(&Fr::from(u64::MAX)), Some(u64::MAX));
        assert_eq!(fr_to_u64(&(Fr::from(u64::MAX) + Fr::from(1u64))), None);
        assert_eq!(fr_to_u64(&-Fr::from(1u64)), None);
    }
}
