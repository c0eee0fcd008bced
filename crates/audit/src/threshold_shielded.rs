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
//! The dealing travels in the on-chain audit-access record beside the confidential one
//! ([`ctchain_ledger::access::AuditAccessRecord::shielded_share_keys`]); validators check it with the same
//! function as [`ShieldedDealing::check`] ([`ctchain_circuits::threshold::dealing_key`]).
//!
//! Invariants: a dealing is checked before use (its share keys lie on one polynomial of degree `k − 1` whose value
//! at zero is the audit public key); every partial is verified before it is combined; a partial is bound to its
//! request's context (the on-chain access record it answers), so it cannot be replayed for another request; no
//! share is zero, so no share key is the identity.

use ark_ec::CurveGroup;
use ark_ed_on_bn254::{EdwardsAffine, EdwardsProjective, Fr as JubScalar};
use ark_ff::{PrimeField, UniformRand, Zero};
use ctchain_circuits::encoding::{nonidentity_point_from_bytes, point_to_bytes};
use ctchain_circuits::keys::generator;
use ctchain_circuits::threshold::{dealing_key, lagrange_at_zero, scalar_from_bytes, scalar_to_bytes, DealingError};
use ctchain_circuits::{AuditPublicKey as ShieldedAuditPublicKey, AuditSecretKey as ShieldedAuditSecretKey};
use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

/// Most supervisors one shielded key may be split among: as many as the confidential key's.
pub const MAX_SHARES: u32 = ctchain_circuits::threshold::MAX_SHARES as u32;
/// Most points one shielded partial may cover (two audit copies per shielded transaction).
pub const MAX_POINTS: usize = 2 * 100_000;

/// Why a shielded split, partial or combination failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShieldedThresholdError {
    /// `k` must satisfy `1 ≤ k ≤ n ≤ MAX_SHARES`.
    #[error("a {threshold}-of-{shares} split is not possible (need 1 ≤ k ≤ n ≤ {MAX_SHARES})")]
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
    #[error("the shielded partial of supervisor {0} is invalid (its proof does not verify)")]
    InvalidPartial(u32),
    /// Fewer than `k` valid partials.
    #[error("{valid} valid shielded partials, {needed} needed (invalid: {invalid:?})")]
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
    pub share_keys: Vec<ShieldedAuditPublicKey>,
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
    if threshold == 0 || threshold > shares || shares > MAX_SHARES {
        return Err(ShieldedThresholdError::BadParameters { threshold, shares });
    }
    loop {
        let mut coefficients = vec![scalar_of(secret)];
        coefficients.extend((1..threshold).map(|_| JubScalar::rand(rng)));
        let at = |x: u32| {
            let x = JubScalar::from(u64::from(x));
            coefficients.iter().rev().fold(JubScalar::zero(), |acc, c| acc * x + c)
        };
        let key_shares: Vec<ShieldedShare> = (1..=shares).map(|j| ShieldedShare { index: j, secret: at(j) }).collect();
        coefficients.iter_mut().for_each(|c| *c = JubScalar::zero());
        // A zero share would have the identity as its key, which no record can carry; draw again (probability
        // about 2^-250).
        if key_shares.iter().any(|s| s.secret.is_zero()) {
            continue;
        }
        let share_keys = key_shares.iter().map(|s| s.public_key()).collect();
        return Ok((ShieldedDealing { public: secret.public_key(), threshold, share_keys }, key_shares));
    }
}

impl ShieldedDealing {
    /// Checks that the share keys lie on one polynomial of degree `k − 1` through the audit public key: the check
    /// validators run on an access record's shielded dealing, against this dealing's key.
    pub fn check(&self) -> Result<(), ShieldedThresholdError> {
        match dealing_key(self.threshold, &self.share_keys) {
            Ok(key) if key == self.public => Ok(()),
            Ok(_) | Err(DealingError::Inconsistent) => Err(ShieldedThresholdError::InconsistentDealing),
            Err(DealingError::BadThreshold { threshold, shares }) => {
                Err(ShieldedThresholdError::BadParameters { threshold, shares: shares as u32 })
            }
        }
    }

    fn share_key(&self, supervisor: u32) -> Result<EdwardsAffine, ShieldedThresholdError> {
        supervisor
            .checked_sub(1)
            .and_then(|i| self.share_keys.get(i as usize))
            .map(ShieldedAuditPublicKey::point)
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

    /// This share's key `s_j·G`.
    fn public_key(&self) -> ShieldedAuditPublicKey {
        let bytes = point_to_bytes(&(generator() * self.secret).into_affine());
        ShieldedAuditPublicKey::from_bytes(&bytes)
            .expect("a non-zero share's key is a subgroup point, not the identity")
    }

    /// Whether this share belongs to `dealing` (its share key is `s_j·G`): a share of another split is not.
    pub fn belongs_to(&self, dealing: &ShieldedDealing) -> bool {
        dealing.share_key(self.index).is_ok_and(|y| y == self.public_key().point())
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
        let mut nonce_rng =
            t.build_rng().rekey_with_witness_bytes(b"share", &scalar_to_bytes(&self.secret)).finalize(rng);
        let nonce = JubScalar::rand(&mut nonce_rng);
        append_point(&mut t, b"t1", &(generator() * nonce).into_affine());
        append_point(&mut t, b"t2", &(a * nonce).into_affine());
        let c = challenge(&mut t);
        Ok(ShieldedPartial { supervisor: self.index, points: answers, challenge: c, response: nonce + c * self.secret })
    }
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

fn decode_point(r: &mut Reader<'_>, field: &'static str) -> Result<EdwardsAffine, DecodeError> {
    nonidentity_point_from_bytes(&r.array(field)?, field)
        .map_err(|_| DecodeError::Invalid { field, reason: "not a non-identity subgroup point" })
}

fn decode_scalar(r: &mut Reader<'_>, field: &'static str) -> Result<JubScalar, DecodeError> {
    scalar_from_bytes(&r.array(field)?).ok_or(DecodeError::Invalid { field, reason: "not below the group order" })
}

impl Encode for ShieldedDealing {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.public);
        w.u32(self.threshold);
        w.seq(&self.share_keys);
    }
}

impl Decode for ShieldedDealing {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            public: r.get()?,
            threshold: r.u32("shielded threshold")?,
            share_keys: r.seq("shielded share keys", MAX_SHARES as usize)?,
        })
    }
}

impl Encode for ShieldedShare {
    fn encode_to(&self, w: &mut Writer) {
        w.u32(self.index);
        w.fixed(&scalar_to_bytes(&self.secret));
    }
}

impl Decode for ShieldedShare {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let index = r.u32("shielded share index")?;
        let secret = decode_scalar(r, "shielded share secret")?;
        if index == 0 || index > MAX_SHARES || secret.is_zero() {
            return Err(DecodeError::Invalid { field: "shielded share", reason: "index out of range or zero secret" });
        }
        Ok(Self { index, secret })
    }
}

impl Encode for ShieldedPartial {
    fn encode_to(&self, w: &mut Writer) {
        w.u32(self.supervisor);
        w.len(self.points.len());
        for p in &self.points {
            w.fixed(&point_to_bytes(p));
        }
        w.fixed(&scalar_to_bytes(&self.challenge));
        w.fixed(&scalar_to_bytes(&self.response));
    }
}

impl Decode for ShieldedPartial {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let supervisor = r.u32("shielded partial supervisor")?;
        let count = r.len("shielded partial points", MAX_POINTS)?;
        let points = (0..count).map(|_| decode_point(r, "shielded partial point")).collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            supervisor,
            points,
            challenge: decode_scalar(r, "shielded partial challenge")?,
            response: decode_scalar(r, "shielded partial response")?,
        })
    }
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

    #[test]
    fn dealings_shares_and_partials_round_trip_and_a_share_knows_its_split() {
        let mut s = setup();
        let dealing = ShieldedDealing::from_bytes(&s.dealing.to_bytes()).unwrap();
        assert_eq!(dealing, s.dealing);
        let share = ShieldedShare::from_bytes(&s.shares[2].to_bytes()).unwrap();
        assert_eq!((share.index(), share.belongs_to(&s.dealing)), (3, true));
        let (other, _) = split_shielded(&s.secret, 3, 5, &mut s.rng).unwrap();
        assert!(!share.belongs_to(&other), "a share of another split of the same key");
        let points = [s.ciphertext.ephemeral];
        let partial = share.partial_decrypt(&s.dealing, CONTEXT, &points, &mut s.rng).unwrap();
        let decoded = ShieldedPartial::from_bytes(&partial.to_bytes()).unwrap();
        assert_eq!(decoded, partial);
        s.dealing.verify_partial(CONTEXT, &points, &decoded).unwrap();
        // Non-canonical bytes are refused: a response at or above the group order, an identity share key.
        let mut bytes = partial.to_bytes();
        let last = bytes.len() - 1;
        bytes[last] = 0xff;
        assert!(ShieldedPartial::from_bytes(&bytes).is_err());
        let mut zero_share = s.shares[0].to_bytes();
        zero_share[4..].fill(0);
        assert!(ShieldedShare::from_bytes(&zero_share).is_err());
    }
}
