//! Shamir dealings of the shielded pool's Baby Jubjub audit key: the public checks that validators (a dealing
//! carried in an on-chain audit-access record, `ctchain-ledger`) and supervisors (`ctchain-audit`) share.
//!
//! A dealing of the secret `s` among `n` supervisors with threshold `k` is a polynomial `f` of degree `k − 1` with
//! `f(0) = s`; supervisor `j` holds `f(j)` and the dealing publishes the share keys `Y_j = f(j)·G`. Its public
//! check is that every window of `k` consecutive share keys interpolates at zero to one and the same point: `n`
//! points lie on one polynomial of degree `k − 1` exactly when they do (any `k` of them determine it, and
//! consecutive windows overlap in `k − 1` points), and that point is then `s·G`, the audit public key
//! ([`dealing_key`]).
//!
//! Invariants: indices are `1..=n` and never repeat, so every Lagrange coefficient exists; a dealing has at most
//! [`MAX_SHARES`] share keys, as the confidential pool's (`ctchain_crypto::threshold::MAX_SHARES`), so one access
//! record names the same supervisors for both pools.

use ark_ec::CurveGroup;
use ark_ed_on_bn254::{EdwardsProjective, Fr as JubScalar};
use ark_ff::{Field, Zero};
use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};

use crate::encoding::{nonidentity_point_from_bytes, point_to_bytes};
use crate::keys::AuditPublicKey;

/// Most supervisors one dealing may name.
pub const MAX_SHARES: usize = 64;

/// Why a shielded dealing is not a sharing of one audit key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DealingError {
    /// `k` and `n` out of bounds.
    #[error("threshold {threshold} of {shares} is not allowed (need 1 ≤ k ≤ n ≤ {MAX_SHARES})")]
    BadThreshold {
        /// k.
        threshold: u32,
        /// n.
        shares: usize,
    },
    /// The share keys do not lie on one polynomial of degree `k − 1`, or it passes through the identity at zero
    /// (no audit key).
    #[error("the shielded share keys do not lie on one polynomial of degree k − 1 through an audit key")]
    Inconsistent,
}

/// The Lagrange coefficient at zero of index `j` among `indices` (distinct, non-zero, `j` among them):
/// `Π_{m ≠ j} m / (m − j)` — what combining partials weights `j`'s by.
pub fn lagrange_at_zero(j: u32, indices: &[u32]) -> JubScalar {
    let xj = JubScalar::from(u64::from(j));
    indices.iter().filter(|&&m| m != j).fold(JubScalar::ONE, |acc, &m| {
        let xm = JubScalar::from(u64::from(m));
        // m − j ≠ 0 for distinct indices; were they not, the coefficient would be zero and no check could pass.
        acc * xm * (xm - xj).inverse().unwrap_or(JubScalar::zero())
    })
}

/// Checks that `share_keys` (`Y_1..Y_n`) are a `threshold`-of-`n` dealing and returns the audit public key they
/// share (their polynomial's value at zero).
pub fn dealing_key(threshold: u32, share_keys: &[AuditPublicKey]) -> Result<AuditPublicKey, DealingError> {
    let n = share_keys.len();
    if threshold == 0 || threshold as usize > n || n > MAX_SHARES {
        return Err(DealingError::BadThreshold { threshold, shares: n });
    }
    let at_zero = |start: u32| -> EdwardsProjective {
        let indices: Vec<u32> = (start..start + threshold).collect();
        indices.iter().map(|&j| share_keys[(j - 1) as usize].point() * lagrange_at_zero(j, &indices)).sum()
    };
    let key = at_zero(1).into_affine();
    for start in 2..=(n as u32 - threshold + 1) {
        if at_zero(start).into_affine() != key {
            return Err(DealingError::Inconsistent);
        }
    }
    if key.is_zero() {
        return Err(DealingError::Inconsistent);
    }
    Ok(AuditPublicKey(key))
}

/// Canonical little-endian bytes of a Baby Jubjub scalar.
pub fn scalar_to_bytes(s: &JubScalar) -> [u8; 32] {
    use ark_ff::{BigInteger, PrimeField};
    let mut out = [0u8; 32];
    out.copy_from_slice(&s.into_bigint().to_bytes_le());
    out
}

/// A Baby Jubjub scalar from its canonical bytes (below the group order); `None` for any other bytes.
pub fn scalar_from_bytes(bytes: &[u8; 32]) -> Option<JubScalar> {
    use ark_ff::PrimeField;
    let s = JubScalar::from_le_bytes_mod_order(bytes);
    (scalar_to_bytes(&s) == *bytes).then_some(s)
}

impl Encode for AuditPublicKey {
    fn encode_to(&self, w: &mut Writer) {
        w.fixed(&point_to_bytes(&self.0));
    }
}

impl Decode for AuditPublicKey {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bytes: [u8; 32] = r.array("Baby Jubjub public key")?;
        nonidentity_point_from_bytes(&bytes, "Baby Jubjub public key").map(AuditPublicKey).map_err(|_| {
            DecodeError::Invalid { field: "Baby Jubjub public key", reason: "not a non-identity subgroup point" }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{generator, AuditSecretKey};
    use ark_ff::UniformRand;
    use rand_chacha::rand_core::SeedableRng;

    /// Share keys of `f(x) = s + a₁x + …` at `1..=n`.
    fn deal(s: JubScalar, coefficients: &[JubScalar], n: u32) -> Vec<AuditPublicKey> {
        (1..=n)
            .map(|j| {
                let x = JubScalar::from(u64::from(j));
                let value = coefficients.iter().rev().fold(JubScalar::zero(), |acc, c| acc * x + c) * x + s;
                AuditPublicKey((generator() * value).into_affine())
            })
            .collect()
    }

    #[test]
    fn a_dealing_gives_its_key_and_one_off_the_polynomial_is_refused() {
        // Test-only deterministic randomness.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(61);
        let secret = AuditSecretKey::random(&mut rng);
        let s = <JubScalar as ark_ff::PrimeField>::from_le_bytes_mod_order(&secret.to_bytes()[..]);
        let a = [JubScalar::rand(&mut rng), JubScalar::rand(&mut rng)];
        let keys = deal(s, &a, 5);
        assert_eq!(dealing_key(3, &keys), Ok(secret.public_key()));
        // A degree-2 polynomial is not a 2-of-5 dealing: its windows of two disagree at zero.
        assert_eq!(dealing_key(2, &keys), Err(DealingError::Inconsistent));
        let mut moved = keys.clone();
        moved.swap(1, 4);
        assert_eq!(dealing_key(3, &moved), Err(DealingError::Inconsistent));
        assert_eq!(dealing_key(0, &keys), Err(DealingError::BadThreshold { threshold: 0, shares: 5 }));
        assert_eq!(dealing_key(6, &keys), Err(DealingError::BadThreshold { threshold: 6, shares: 5 }));
        // 1-of-1: the one share key is the key.
        assert_eq!(dealing_key(1, &[secret.public_key()]), Ok(secret.public_key()));
    }

    #[test]
    fn share_keys_encode_canonically() {
        let key = AuditPublicKey(generator());
        let bytes = Encode::to_bytes(&key);
        assert_eq!(bytes, point_to_bytes(&generator()).to_vec());
        assert_eq!(<AuditPublicKey as Decode>::from_bytes(&bytes).unwrap(), key);
        let identity = point_to_bytes(&ark_ed_on_bn254::EdwardsAffine::zero());
        assert!(<AuditPublicKey as Decode>::from_bytes(&identity).is_err(), "the identity is no key");
        let s = JubScalar::from(12_345u64);
        assert_eq!(scalar_from_bytes(&scalar_to_bytes(&s)), Some(s));
        assert_eq!(scalar_from_bytes(&[0xff; 32]), None, "not below the group order");
    }
}
