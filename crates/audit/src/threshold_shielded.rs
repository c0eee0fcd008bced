//! A k-of-n split of the shielded pool's Baby Jubjub audit key, with proven partial decryptions: the shielded
//! counterpart of [`crate::threshold`].
//!
//! The dealer splits the secret `s` with a random polynomial `f` of degree `k − 1` (`f(0) = s`) and publishes the
//! dealing: the threshold and every supervisor's share key `Y_j = f(j)·G`. A shielded audit copy is read from the
//! shared point `s·R` of its ephemeral key `R` ([`ctchain_circuits::AuditSecretKey::decrypt_with_shared`]);
//! supervisor `j` answers a request (its context and the points `R_1..R_m`) with `s_j·R_i` for every point and a
//! Chaum–Pedersen proof that the same `s_j` is behind `Y_j`: with weights `w_i` drawn from the transcript after the
//! points, `A = Σ w_i·R_i` and `B = Σ w_i·(s_j·R_i)`, it proves `log_G Y_j = log_A B`. Any `k` verified partials
//! combine by Lagrange interpolation at zero into `s·R_i`; fewer give nothing, and a wrong partial is named.
//!
//! Invariants: a dealing is checked before use (its share keys lie on one polynomial of degree `k − 1` whose value
//! at zero is the audit public key); every partial is verified before it is combined; a partial is bound to its
//! request's context (the on-chain access record it answers), so it cannot be replayed for another request.

use ark_ec::CurveGroup;
use ark_ed_on_bn254::{EdwardsAffine, EdwardsProjective, Fr as JubScalar};
use ark_ff::{Field, PrimeField, UniformRand, Zero};
use ctchain_circuits::encoding::{nonidentity_point_from_bytes, point_to_bytes};
use ctchain_circuits::keys::generator;
use ctchain_circuits::{AuditPublicKey as ShieldedAuditPublicKey, AuditSecretKey as ShieldedAuditSecretKey};
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

/// Why a shielded split, partial or combination failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShieldedThresholdError {
    /// `k` must satisfy `1 ≤ k ≤ n`, with at most 255 supervisors.
    #[error("a {threshold}-of-{shares} split is not possible (need 1 ≤ k ≤ n ≤ 255)")]
    BadParameters {
        /// `k`.
        threshold: u32,
        /// `n`.
        shares: u32,
    },
    /// The share keys do not lie on one polynomial of degree `k − 1` through the audit public key.
    #[error("the shielded dealing is inconsistent: its share keys do not interpolate to its audit key")]
    InconsistentDealing,
    /// A request names no point.
    #[error("the request names no point to decrypt")]
    EmptyRequest,
    /// A partial is from a supervisor the dealing does not have.
    #[error("supervisor {0} is not in the dealing")]
    UnknownSupervisor(u32),
    /// A partial's proof does not verify, or it answers another request.
    #[error("the partial of supervisor {0} does not verify")]
    InvalidPartial(u32),
    /// Fewer than `k` valid partials.
    #[error("{valid} valid partials, {needed} needed (invalid: {invalid:?})")]
    NotEnoughPartials {
        /// Valid partials given.
        valid: usize,
        /// `k`.
        needed: u32,
        /// Supervisors whose partials did not verify.
        invalid: Vec<u32>,
    },
    /// A point of a request or partial is not a valid subgroup point.
    #[error("a point is not on the curve's prime-order subgroup")]
    BadPoint,
}

/// The public dealing of a split shielded audit key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShieldedDealing {
    /// The audit public key (the genesis `[shielded] audit_key`).
    pub public: ShieldedAuditPublicKey,
    /// Partials needed (`k`).
    pub threshold: u32,
    /// `Y_j = f(j)·G` for supervisors `j = 1..=n`.
    pub share_keys: Vec<EdwardsAffine>,
}

/// One supervisor's share of the shielded audit key.
#[derive(Clone)]
pub struct ShieldedShare {
    index: u32,
    secret: JubScalar,
}

impl Drop for ShieldedShare {
    fn drop(&mut self) {
        self.secret = JubScalar::zero();
    }
}

/// What a supervisor answers: `s_j·R_i` for every point of the request, with its proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShieldedPartial {
    /// The supervisor (1-based).
    pub supervisor: u32,
    /// `s_j·R_i`, in request order.
    pub points: Vec<EdwardsAffine>,
    challenge: JubScalar,
    response: JubScalar,
}

fn scalar_of(secret: &ShieldedAuditSecretKey) -> JubScalar {
    JubScalar::from_le_bytes_mod_order(&secret.to_bytes())
}

/// Splits `secret` into `n` shares, any `k` of which decrypt.
pub fn split_shielded<R: RngCore + CryptoRng>(
    secret: &ShieldedAuditSecretKey,
    threshold: u32,
    shares: u32,
    rng: &mut R,
) -> Result<(ShieldedDealing, Vec<ShieldedShare>), ShieldedThresholdError> {
    if threshold == 0 || threshold > shares || shares > 255 {
        return Err(ShieldedThresholdError::BadParameters { threshold, shares });
    }
    let mut coefficients = vec![scalar_of(secret)];
    coefficients.extend((1..threshold).map(|_| JubScalar::rand(rng)));
    let at = |x: u32| {
        let x = JubScalar::from(u64::from(x));
        coefficients.iter().rev().fold(JubScalar::zero(), |acc, c| acc * x + c)
    };
    let shares: Vec<ShieldedShare> = (1..=shares).map(|j| ShieldedShare { index: j, secret: at(j) }).collect();
    coefficients.iter_mut().for_each(|c| *c = JubScalar::zero());
    let share_keys = shares.iter().map(|s| (generator() * s.secret).into_affine()).collect();
    Ok((ShieldedDealing { public: secret.public_key(), threshold, share_keys }, shares))
}

/// The Lagrange coefficient at zero of `j` among `indices`.
fn lagrange_at_zero(j: u32, indices: &[u32]) -> JubScalar {
    let xj = JubScalar::from(u64::from(j));
    indices.iter().filter(|&&m| m != j).fold(JubScalar::ONE, |acc, &m| {
        let xm = JubScalar::from(u64::from(m));
        // xm − xj ≠ 0: indices are distinct.
        acc * xm * (xm - xj).inverse().unwrap_or(JubScalar::zero())
    })
}

impl ShieldedDealing {
    /// Checks that the share keys lie on one polynomial of degree `k − 1` through the audit public key: the first
    /// `k` interpolate to it at zero, and to every other share key at its index.
    pub fn check(&self) -> Result<(), ShieldedThresholdError> {
        let n = self.share_keys.len() as u32;
        if self.threshold == 0 || self.threshold > n || n > 255 {
            return Err(ShieldedThresholdError::BadParameters { threshold: self.threshold, shares: n });
        }
        let base: Vec<u32> = (1..=self.threshold).collect();
        let interpolate = |x: u32| -> EdwardsProjective {
            let xs = JubScalar::from(u64::from(x));
            base.iter()
                .map(|&j| {
                    let xj = JubScalar::from(u64::from(j));
                    let l = base.iter().filter(|&&m| m != j).fold(JubScalar::ONE, |acc, &m| {
                        let xm = JubScalar::from(u64::from(m));
                        acc * (xs - xm) * (xj - xm).inverse().unwrap_or(JubScalar::zero())
                    });
                    self.share_keys[(j - 1) as usize] * l
                })
                .sum()
        };
        if interpolate(0).into_affine() != self.public.point() {
            return Err(ShieldedThresholdError::InconsistentDealing);
        }
        for j in self.threshold + 1..=n {
            if interpolate(j).into_affine() != self.share_keys[(j - 1) as usize] {
                return Err(ShieldedThresholdError::InconsistentDealing);
            }
        }
        Ok(())
    }

    fn share_key(&self, supervisor: u32) -> Result<EdwardsAffine, ShieldedThresholdError> {
        supervisor
            .checked_sub(1)
            .and_then(|i| self.share_keys.get(i as usize))
            .copied()
            .ok_or(ShieldedThresholdError::UnknownSupervisor(supervisor))
    }

    /// Verifies supervisor `partial.supervisor`'s answer to the request (`context`, `points`).
    pub fn verify_partial(
        &self,
        context: &[u8],
        points: &[EdwardsAffine],
        partial: &ShieldedPartial,
    ) -> Result<(), ShieldedThresholdError> {
        let share_key = self.share_key(partial.supervisor)?;
        let invalid = ShieldedThresholdError::InvalidPartial(partial.supervisor);
        if points.is_empty() {
            return Err(ShieldedThresholdError::EmptyRequest);
        }
        if partial.points.len() != points.len() {
            return Err(invalid);
        }
        let mut t = transcript(context, &self.public, partial.supervisor, &share_key, points, &partial.points);
        let (a, b) = folded(&mut t, points, &partial.points);
        // t1 = z·G − c·Y, t2 = z·A − c·B
        let t1 = generator() * partial.response - share_key * partial.challenge;
        let t2 = a * partial.response - b * partial.challenge;
        append_point(&mut t, b"t1", &t1.into_affine());
        append_point(&mut t, b"t2", &t2.into_affine());
        if challenge(&mut t) != partial.challenge {
            return Err(invalid);
        }
        Ok(())
    }

    /// Combines at least `k` partials (each verified first; the invalid ones are named) into `s·R_i` for every
    /// point of the request.
    pub fn combine(
        &self,
        context: &[u8],
        points: &[EdwardsAffine],
        partials: &[ShieldedPartial],
    ) -> Result<Vec<EdwardsAffine>, ShieldedThresholdError> {
        let mut valid: Vec<&ShieldedPartial> = Vec::new();
        let mut invalid = Vec::new();
        for p in partials {
            if valid.iter().any(|v| v.supervisor == p.supervisor) {
                continue;
            }
            match self.verify_partial(context, points, p) {
                Ok(()) => valid.push(p),
                Err(ShieldedThresholdError::EmptyRequest) => return Err(ShieldedThresholdError::EmptyRequest),
                Err(_) => invalid.push(p.supervisor),
            }
        }
        if valid.len() < self.threshold as usize {
            return Err(ShieldedThresholdError::NotEnoughPartials {
                valid: valid.len(),
                needed: self.threshold,
                invalid,
            });
        }
        let chosen = &valid[..self.threshold as usize];
        let indices: Vec<u32> = chosen.iter().map(|p| p.supervisor).collect();
        let weights: Vec<JubScalar> = indices.iter().map(|&j| lagrange_at_zero(j, &indices)).collect();
        Ok((0..points.len())
            .map(|i| chosen.iter().zip(&weights).map(|(p, w)| p.points[i] * w).sum::<EdwardsProjective>().into_affine())
            .collect())
    }
}

impl ShieldedShare {
    /// The supervisor's index (1-based).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Answers the request (`context`, `points`) with `s_j·R_i` for every point and the proof.
    pub fn partial_decrypt<R: RngCore + CryptoRng>(
        &self,
        dealing: &ShieldedDealing,
        context: &[u8],
        points: &[EdwardsAffine],
        rng: &mut R,
    ) -> Result<ShieldedPartial, ShieldedThresholdError> {
        if points.is_empty() {
            return Err(ShieldedThresholdError::EmptyRequest);
        }
        if points.iter().any(|p| p.is_zero()) {
            return Err(ShieldedThresholdError::BadPoint);
        }
        let share_key = dealing.share_key(self.index)?;
        let answers: Vec<EdwardsAffine> = points.iter().map(|p| (*p * self.secret).into_affine()).collect();
        let mut t = transcript(context, &dealing.public, self.index, &share_key, points, &answers);
        let (a, _) = folded(&mut t, points, &answers);
        // The nonce from the transcript, the share and the RNG together, as every ctchain nonce.
        let mut nonce_rng = t.build_rng().rekey_with_witness_bytes(b"share", &scalar_bytes(&self.secret)).finalize(rng);
        let nonce = JubScalar::rand(&mut nonce_rng);
        append_point(&mut t, b"t1", &(generator() * nonce).into_affine());
        append_point(&mut t, b"t2", &(a * nonce).into_affine());
        let c = challenge(&mut t);
        Ok(ShieldedPartial { supervisor: self.index, points: answers, challenge: c, response: nonce + c * self.secret })
    }

    /// Canonical bytes (index, secret), for a supervisor's keystore.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.index.to_le_bytes().to_vec();
        out.extend_from_slice(&scalar_bytes(&self.secret));
        out
    }
}

fn scalar_bytes(s: &JubScalar) -> Vec<u8> {
    use ark_ff::BigInteger;
    s.into_bigint().to_bytes_le()
}

fn append_point(t: &mut Transcript, label: &'static [u8], p: &EdwardsAffine) {
    t.append_message(label, &point_to_bytes(p));
}

fn challenge(t: &mut Transcript) -> JubScalar {
    let mut wide = [0u8; 64];
    t.challenge_bytes(b"c", &mut wide);
    JubScalar::from_le_bytes_mod_order(&wide)
}

fn transcript(
    context: &[u8],
    public: &ShieldedAuditPublicKey,
    supervisor: u32,
    share_key: &EdwardsAffine,
    points: &[EdwardsAffine],
    answers: &[EdwardsAffine],
) -> Transcript {
    let mut t = Transcript::new(ctchain_crypto::transcript::TRANSCRIPT_LABEL);
    t.append_message(b"protocol", ctchain_crypto::Protocol::ShieldedThresholdPartial.label());
    t.append_message(b"context", context);
    append_point(&mut t, b"audit-key", &public.point());
    t.append_message(b"supervisor", &u64::from(supervisor).to_le_bytes());
    append_point(&mut t, b"share-key", share_key);
    t.append_message(b"points", &(points.len() as u64).to_le_bytes());
    for (x, y) in points.iter().zip(answers) {
        append_point(&mut t, b"R", x);
        append_point(&mut t, b"sR", y);
    }
    t
}

/// `(Σ w_i·R_i, Σ w_i·(s_j·R_i))` with weights from the transcript, after every point.
fn folded(
    t: &mut Transcript,
    points: &[EdwardsAffine],
    answers: &[EdwardsAffine],
) -> (EdwardsProjective, EdwardsProjective) {
    let mut a = EdwardsProjective::zero();
    let mut b = EdwardsProjective::zero();
    for (x, y) in points.iter().zip(answers) {
        let mut wide = [0u8; 64];
        t.challenge_bytes(b"w", &mut wide);
        let w = JubScalar::from_le_bytes_mod_order(&wide);
        a += *x * w;
        b += *y * w;
    }
    (a, b)
}

/// Decodes a request point (on the subgroup, not the identity).
pub fn point_from_bytes(bytes: &[u8; 32]) -> Result<EdwardsAffine, ShieldedThresholdError> {
    nonidentity_point_from_bytes(bytes, "shielded request point").map_err(|_| ShieldedThresholdError::BadPoint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctchain_circuits::audit::encrypt;
    use ctchain_circuits::{AssetTag, AuditPlaintext, AuditRandomness, Owner};
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    struct Setup {
        rng: ChaCha20Rng,
        secret: ShieldedAuditSecretKey,
        dealing: ShieldedDealing,
        shares: Vec<ShieldedShare>,
        plaintext: AuditPlaintext,
        ciphertext: ctchain_circuits::AuditCiphertext,
    }

    fn setup() -> Setup {
        let mut rng = ChaCha20Rng::seed_from_u64(17);
        let secret = ShieldedAuditSecretKey::random(&mut rng);
        let (dealing, shares) = split_shielded(&secret, 3, 5, &mut rng).unwrap();
        let plaintext = AuditPlaintext {
            asset: AssetTag::from_asset_id(&[1u8; 32]),
            value: 4_200_000,
            receiver: Owner(ark_bn254::Fr::from(11u64)),
            sender: Owner(ark_bn254::Fr::from(22u64)),
        };
        let ciphertext = encrypt(&secret.public_key(), 1, &plaintext, &AuditRandomness::random(&mut rng)).unwrap();
        Setup { rng, secret, dealing, shares, plaintext, ciphertext }
    }

    const CONTEXT: &[u8] = b"access record 7";

    #[test]
    fn any_three_of_five_supervisors_read_a_shielded_audit_copy_and_two_cannot() {
        let mut s = setup();
        s.dealing.check().unwrap();
        let points = [s.ciphertext.ephemeral];
        let partials: Vec<ShieldedPartial> =
            s.shares.iter().map(|sh| sh.partial_decrypt(&s.dealing, CONTEXT, &points, &mut s.rng).unwrap()).collect();
        for subset in [[0usize, 1, 2], [0, 2, 4], [2, 3, 4]] {
            let chosen: Vec<ShieldedPartial> = subset.iter().map(|&i| partials[i].clone()).collect();
            let shared = s.dealing.combine(CONTEXT, &points, &chosen).unwrap();
            let read = ShieldedAuditSecretKey::decrypt_with_shared(1, &s.ciphertext, &shared[0]).unwrap();
            assert_eq!(read, s.plaintext, "subset {subset:?}");
        }
        assert_eq!(s.secret.decrypt(1, &s.ciphertext).unwrap(), s.plaintext, "the whole key reads the same");
        assert_eq!(
            s.dealing.combine(CONTEXT, &points, &partials[..2]).unwrap_err(),
            ShieldedThresholdError::NotEnoughPartials { valid: 2, needed: 3, invalid: vec![] }
        );
    }

    #[test]
    fn a_wrong_or_replayed_partial_is_named_and_the_honest_rest_still_decrypt() {
        let mut s = setup();
        let points = [s.ciphertext.ephemeral];
        let mut partials: Vec<ShieldedPartial> =
            s.shares.iter().map(|sh| sh.partial_decrypt(&s.dealing, CONTEXT, &points, &mut s.rng).unwrap()).collect();
        // Supervisor 2 answers with another point: its proof no longer holds.
        partials[1].points[0] = (partials[1].points[0] + generator()).into_affine();
        assert_eq!(
            s.dealing.verify_partial(CONTEXT, &points, &partials[1]),
            Err(ShieldedThresholdError::InvalidPartial(2))
        );
        // A partial made for another request does not answer this one.
        assert_eq!(
            s.dealing.verify_partial(b"another record", &points, &partials[0]),
            Err(ShieldedThresholdError::InvalidPartial(1))
        );
        let shared = s.dealing.combine(CONTEXT, &points, &partials[..4]).unwrap();
        assert_eq!(ShieldedAuditSecretKey::decrypt_with_shared(1, &s.ciphertext, &shared[0]).unwrap(), s.plaintext);
        assert_eq!(
            s.dealing.combine(CONTEXT, &points, &partials[..3]).unwrap_err(),
            ShieldedThresholdError::NotEnoughPartials { valid: 2, needed: 3, invalid: vec![2] }
        );
    }

    #[test]
    fn dealings_are_checked_and_bad_requests_refused() {
        let mut s = setup();
        let mut forged = s.dealing.clone();
        forged.share_keys.swap(0, 3);
        assert_eq!(forged.check(), Err(ShieldedThresholdError::InconsistentDealing));
        let mut other_key = s.dealing.clone();
        other_key.public = ShieldedAuditSecretKey::random(&mut s.rng).public_key();
        assert_eq!(other_key.check(), Err(ShieldedThresholdError::InconsistentDealing));
        assert!(matches!(
            split_shielded(&s.secret, 4, 3, &mut s.rng),
            Err(ShieldedThresholdError::BadParameters { threshold: 4, shares: 3 })
        ));
        assert_eq!(
            s.shares[0].partial_decrypt(&s.dealing, CONTEXT, &[], &mut s.rng).unwrap_err(),
            ShieldedThresholdError::EmptyRequest
        );
        let stranger = ShieldedPartial {
            supervisor: 9,
            ..s.shares[0].partial_decrypt(&s.dealing, CONTEXT, &[generator()], &mut s.rng).unwrap()
        };
        assert_eq!(
            s.dealing.verify_partial(CONTEXT, &[generator()], &stranger),
            Err(ShieldedThresholdError::UnknownSupervisor(9))
        );
    }
}
