//! Threshold audit keys, the group-side half: Lagrange coefficients, the public check of a dealing, and the
//! DLEQ proof of a partial decryption.
//!
//! These are what both the validators (checking the dealing carried by an audit-access record) and the
//! supervisors' tools (proving and combining partial decryptions) need, so they live below both. Sharing a
//! secret, keystores and combination belong to the regulator's tools (`ctchain-audit`). Why a dealing that
//! passes [`check_dealing`] is a sharing of the audit key, and why the batched DLEQ proof is sound, is argued in
//! [`notes::threshold_partials`](crate::notes::threshold_partials).

use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

use crate::generators::blinding_base;
use crate::keys::AuditPublicKey;
use crate::point::{write_scalar, Point};
use crate::transcript::ProtocolTranscript;

/// Most supervisors one dealing may name.
pub const MAX_SHARES: usize = 64;

/// Why Lagrange coefficients cannot be computed for a set of indices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LagrangeError {
    /// Shares are numbered from 1; the value at 0 is the secret itself.
    #[error("share index 0 is not allowed")]
    ZeroIndex,
    /// An index appears twice: the interpolation would divide by zero.
    #[error("share index {0} appears twice")]
    RepeatedIndex(u32),
    /// The coefficient asked for is of an index outside the set.
    #[error("share index {0} is not one of the interpolation indices")]
    NotAnIndex(u32),
}

/// The Lagrange coefficient of index `j` for interpolating at zero over `indices` (distinct, non-zero, and
/// containing `j`): `λ_j = Π_{m ≠ j} m / (m − j)`.
pub fn lagrange_at_zero(indices: &[u32], j: u32) -> Result<Scalar, LagrangeError> {
    for (i, &m) in indices.iter().enumerate() {
        if m == 0 {
            return Err(LagrangeError::ZeroIndex);
        }
        if indices[..i].contains(&m) {
            return Err(LagrangeError::RepeatedIndex(m));
        }
    }
    if !indices.contains(&j) {
        return Err(LagrangeError::NotAnIndex(j));
    }
    let mut num = Scalar::ONE;
    let mut den = Scalar::ONE;
    for &m in indices.iter().filter(|&&m| m != j) {
        num *= Scalar::from(m);
        den *= Scalar::from(m) - Scalar::from(j);
    }
    Ok(num * den.invert())
}

/// Why a dealing (threshold and share keys) is not a sharing of an audit key.
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
    /// The share keys do not interpolate to `s·P = B`.
    #[error("the share keys do not interpolate to the audit key")]
    Inconsistent,
}

/// Checks a dealing: `1 ≤ k ≤ n ≤ MAX_SHARES` and every window of `k` consecutive share keys `Y_j = s_j·P`
/// interpolates at zero to the blinding base `B = s·P`. Consecutive windows overlap in `k − 1` points, so together
/// they pin all `n` keys to one polynomial of degree `< k` (any `k` points determine it), whose value at zero is
/// `s·P = B`. Needs no secret.
pub fn check_dealing(threshold: u32, share_keys: &[Point]) -> Result<(), DealingError> {
    let n = share_keys.len();
    if threshold == 0 || threshold as usize > n || n > MAX_SHARES {
        return Err(DealingError::BadThreshold { threshold, shares: n });
    }
    let b = blinding_base();
    let n = n as u32;
    for start in 1..=(n - threshold + 1) {
        let indices: Vec<u32> = (start..start + threshold).collect();
        let mut at_zero = RistrettoPoint::default();
        for &j in &indices {
            // Consecutive indices from 1 are distinct and non-zero, so the coefficient always exists.
            let lambda = lagrange_at_zero(&indices, j).map_err(|_| DealingError::Inconsistent)?;
            at_zero += lambda * share_keys[j as usize - 1].point();
        }
        if at_zero != b {
            return Err(DealingError::Inconsistent);
        }
    }
    Ok(())
}

/// What a partial decryption claims: supervisor `supervisor`, whose share key in the dealing of `audit_key` is
/// `share_key = s_j·P`, answers the request bound to `context` with `outputs[i] = s_j·inputs[i]`.
#[derive(Clone, Copy, Debug)]
pub struct PartialStatement<'a> {
    /// The authorisation the request answers (the audit-access record's id).
    pub context: &'a [u8],
    /// The audit public key `P`, the base of the share keys.
    pub audit_key: &'a AuditPublicKey,
    /// The supervisor's index (1-based) in the dealing.
    pub supervisor: u32,
    /// `Y_j = s_j·P`.
    pub share_key: &'a Point,
    /// The requested points `X_i`.
    pub inputs: &'a [Point],
    /// The claimed `R_i = s_j·X_i`.
    pub outputs: &'a [Point],
}

impl PartialStatement<'_> {
    fn transcript(&self) -> Result<Transcript, DleqError> {
        // With no points the folded base is the identity, for which no commitment exists.
        if self.inputs.is_empty() {
            return Err(DleqError::Empty);
        }
        if self.inputs.len() != self.outputs.len() {
            return Err(DleqError::WrongLength { expected: self.inputs.len(), found: self.outputs.len() });
        }
        let mut t = Transcript::threshold_partial(self.context, self.audit_key, self.supervisor, self.share_key);
        t.append_u64_le(b"points", self.inputs.len() as u64);
        for (x, r) in self.inputs.iter().zip(self.outputs) {
            t.append_point(b"X", x);
            t.append_point(b"R", r);
        }
        Ok(t)
    }

    /// `X* = Σ w_i X_i` and `R* = Σ w_i R_i` with weights drawn from the transcript after the whole statement.
    fn fold(&self, t: &mut Transcript) -> (RistrettoPoint, RistrettoPoint) {
        let weights: Vec<Scalar> = (0..self.inputs.len()).map(|_| t.challenge(b"w")).collect();
        let x = RistrettoPoint::vartime_multiscalar_mul(&weights, self.inputs.iter().map(|p| *p.point()));
        let r = RistrettoPoint::vartime_multiscalar_mul(&weights, self.outputs.iter().map(|p| *p.point()));
        (x, r)
    }
}

/// Why a DLEQ proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DleqError {
    /// The statement holds no points: there is nothing to prove (nor to decrypt).
    #[error("the statement holds no points")]
    Empty,
    /// The statement does not give one output per input.
    #[error("{found} output points for {expected} input points")]
    WrongLength {
        /// Inputs.
        expected: usize,
        /// Outputs.
        found: usize,
    },
    /// The proof's equations do not hold.
    #[error("the DLEQ proof does not verify")]
    Invalid,
}

/// A Chaum–Pedersen proof that `log_P(Y_j) = log_{X_i}(R_i)` for every `i` of a [`PartialStatement`], batched
/// into one equation with transcript-drawn weights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DleqProof {
    commit_base: Point,
    commit_points: Point,
    response: Scalar,
}

impl DleqProof {
    /// Proves `statement` with the share secret `s_j` (`share_key = s_j·P`, `outputs[i] = s_j·inputs[i]`). The
    /// nonce is drawn from the transcript, the secret and `rng` together, so a weak `rng` alone cannot leak it.
    pub fn prove<R: RngCore + CryptoRng>(
        statement: &PartialStatement<'_>,
        secret: &Scalar,
        rng: &mut R,
    ) -> Result<Self, DleqError> {
        let mut t = statement.transcript()?;
        let (x_star, _) = statement.fold(&mut t);
        let mut nonce_rng = t.build_rng().rekey_with_witness_bytes(b"share", secret.as_bytes()).finalize(rng);
        loop {
            let k = Scalar::random(&mut nonce_rng);
            // k = 0 (or X* = 0) would give the identity, which is not a Point; draw again.
            let (Some(commit_base), Some(commit_points)) =
                (Point::new(k * statement.audit_key.0.point()), Point::new(k * x_star))
            else {
                continue;
            };
            let c = challenge(&mut t.clone(), &commit_base, &commit_points);
            return Ok(Self { commit_base, commit_points, response: k + c * secret });
        }
    }

    /// Verifies the proof of `statement`.
    pub fn verify(&self, statement: &PartialStatement<'_>) -> Result<(), DleqError> {
        let mut t = statement.transcript()?;
        let (x_star, r_star) = statement.fold(&mut t);
        let c = challenge(&mut t, &self.commit_base, &self.commit_points);
        let z = self.response;
        let ok_base = z * statement.audit_key.0.point() == self.commit_base.point() + c * statement.share_key.point();
        let ok_points = z * x_star == self.commit_points.point() + c * r_star;
        if ok_base && ok_points {
            Ok(())
        } else {
            Err(DleqError::Invalid)
        }
    }
}

fn challenge(t: &mut Transcript, commit_base: &Point, commit_points: &Point) -> Scalar {
    t.append_point(b"A-base", commit_base);
    t.append_point(b"A-points", commit_points);
    t.challenge(b"c")
}

impl Encode for DleqProof {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.commit_base);
        w.put(&self.commit_points);
        write_scalar(w, &self.response);
    }
}

impl Decode for DleqProof {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // The field names and reasons are those partial decryptions reported before the proof moved here.
        Ok(Self {
            commit_base: r.get()?,
            commit_points: r.get()?,
            response: Option::<Scalar>::from(Scalar::from_canonical_bytes(r.array("proof response")?))
                .ok_or(DecodeError::Invalid { field: "proof response", reason: "not reduced" })?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::AuditSecretKey;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// A 2-of-3 dealing of a fresh audit key: the public key, the share secrets and the share keys.
    fn dealing(rng: &mut ChaCha20Rng) -> (AuditPublicKey, Vec<Scalar>, Vec<Point>) {
        let secret = AuditSecretKey::random(rng);
        let public = secret.public();
        let a1 = Scalar::random(rng);
        let shares: Vec<Scalar> = (1..=3u32).map(|j| secret.scalar() + a1 * Scalar::from(j)).collect();
        let keys = shares.iter().map(|s| Point::new(s * public.0.point()).unwrap()).collect();
        (public, shares, keys)
    }

    #[test]
    fn lagrange_coefficients_interpolate_at_zero_and_refuse_bad_index_sets() {
        // f(x) = 5 + 3x: f(1) = 8, f(3) = 14, so λ_1·8 + λ_3·14 = 5.
        let l1 = lagrange_at_zero(&[1, 3], 1).unwrap();
        let l3 = lagrange_at_zero(&[1, 3], 3).unwrap();
        assert_eq!(l1 * Scalar::from(8u8) + l3 * Scalar::from(14u8), Scalar::from(5u8));
        assert_eq!(lagrange_at_zero(&[0, 3], 3), Err(LagrangeError::ZeroIndex));
        assert_eq!(lagrange_at_zero(&[2, 3, 2], 3), Err(LagrangeError::RepeatedIndex(2)));
        assert_eq!(lagrange_at_zero(&[1, 3], 2), Err(LagrangeError::NotAnIndex(2)));
    }

    #[test]
    fn a_dealing_checks_and_a_reordered_or_oversized_one_does_not() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (_, _, mut keys) = dealing(&mut rng);
        assert_eq!(check_dealing(2, &keys), Ok(()));
        assert_eq!(check_dealing(0, &keys), Err(DealingError::BadThreshold { threshold: 0, shares: 3 }));
        assert_eq!(check_dealing(4, &keys), Err(DealingError::BadThreshold { threshold: 4, shares: 3 }));
        keys.swap(1, 2);
        assert_eq!(check_dealing(2, &keys), Err(DealingError::Inconsistent));
    }

    #[test]
    fn a_partial_proves_and_one_wrong_point_fails_it() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let (public, shares, keys) = dealing(&mut rng);
        let inputs: Vec<Point> =
            (0..3).map(|_| Point::new(Scalar::random(&mut rng) * blinding_base()).unwrap()).collect();
        let outputs: Vec<Point> = inputs.iter().map(|x| Point::new(shares[1] * x.point()).unwrap()).collect();
        let statement = PartialStatement {
            context: b"record",
            audit_key: &public,
            supervisor: 2,
            share_key: &keys[1],
            inputs: &inputs,
            outputs: &outputs,
        };
        let proof = DleqProof::prove(&statement, &shares[1], &mut rng).unwrap();
        assert_eq!(proof.verify(&statement), Ok(()));
        assert_eq!(DleqProof::from_bytes(&proof.to_bytes()).unwrap(), proof);
        assert_eq!(
            proof.verify(&PartialStatement { context: b"another record", ..statement }),
            Err(DleqError::Invalid)
        );
        assert_eq!(proof.verify(&PartialStatement { supervisor: 3, ..statement }), Err(DleqError::Invalid));
        let mut forged = outputs.clone();
        forged[2] = Point::new(forged[2].point() + blinding_base()).unwrap();
        assert_eq!(proof.verify(&PartialStatement { outputs: &forged, ..statement }), Err(DleqError::Invalid));
        assert_eq!(
            proof.verify(&PartialStatement { outputs: &outputs[..2], ..statement }),
            Err(DleqError::WrongLength { expected: 3, found: 2 })
        );
    }
}
