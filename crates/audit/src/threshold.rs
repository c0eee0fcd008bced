//! Threshold audit keys: Shamir sharing of the audit secret and DLEQ-proven partial decryptions.
//!
//! [`split`] deals an audit secret to `n` supervisors, any `k` of whom can decrypt; [`ThresholdKey::check`] checks
//! a dealing without a secret. Each supervisor answers a [`DecryptionRequest`] with a [`PartialDecryption`]
//! ([`KeyShare::partial_decrypt`]), whose DLEQ proof anyone checks ([`ThresholdKey::verify_partial`]);
//! [`ThresholdKey::combine`] interpolates `k` valid ones at zero. Lagrange coefficients, the dealing check and the
//! DLEQ proof are `ctchain_crypto::threshold`; why a dealing that checks is a sharing of the audit key, and why a
//! wrong partial cannot pass, is argued in [`ctchain_crypto::notes::threshold_partials`].

use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use ctchain_crypto::threshold::{
    check_dealing, lagrange_at_zero, DealingError, DleqError, DleqProof, LagrangeError, PartialStatement,
};
use ctchain_crypto::{AuditPublicKey, AuditSecretKey, Point, RistrettoPoint, Scalar, TxId};
use ctchain_ledger::access::SupervisorSignature;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Most supervisors one key may be split among.
pub const MAX_SHARES: u32 = ctchain_crypto::threshold::MAX_SHARES as u32;
/// Most points one partial decryption may cover (5 per output: four handles and a memo key).
pub const MAX_POINTS: usize = 5 * 100_000;

/// Why a threshold operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    /// `k` must satisfy `1 ≤ k ≤ n ≤ MAX_SHARES`.
    #[error("threshold {threshold} of {shares} is not allowed (need 1 ≤ k ≤ n ≤ {MAX_SHARES})")]
    BadParameters {
        /// k.
        threshold: u32,
        /// n.
        shares: u32,
    },
    /// The published share keys do not interpolate to the public key.
    #[error("the share keys are not a valid dealing of this audit key")]
    InconsistentDealing,
    /// The request holds no point: nothing to decrypt (a range or transaction without confidential outputs).
    #[error("the request holds no outputs to decrypt")]
    EmptyRequest,
    /// A partial names a supervisor that does not exist.
    #[error("partial decryption from unknown supervisor {0}")]
    UnknownSupervisor(u32),
    /// A partial does not cover exactly the requested points.
    #[error("partial decryption from supervisor {index} covers {found} points, the request has {expected}")]
    WrongLength {
        /// The supervisor.
        index: u32,
        /// Points requested.
        expected: usize,
        /// Points in the partial.
        found: usize,
    },
    /// A partial's proof does not verify: this supervisor's contribution is wrong.
    #[error("partial decryption from supervisor {0} is invalid (its proof does not verify)")]
    InvalidPartial(u32),
    /// Two partials from one supervisor.
    #[error("two partial decryptions from supervisor {0}")]
    DuplicateSupervisor(u32),
    /// Not enough valid partials.
    #[error("{valid} valid partial decryptions, {needed} are needed (invalid: {invalid:?})")]
    NotEnoughPartials {
        /// Valid partials.
        valid: usize,
        /// The threshold.
        needed: u32,
        /// Supervisors whose partials were invalid.
        invalid: Vec<u32>,
    },
}

/// One supervisor's secret share.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyShare {
    index: u32,
    secret: Scalar,
}

/// The public side of a split audit key: the audit public key, the threshold, and each supervisor's share key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThresholdKey {
    /// The audit public key the chain knows (the same kind of key as an unsplit one).
    pub public: AuditPublicKey,
    /// Partials needed to decrypt.
    pub threshold: u32,
    /// `Y_j = s_j·P` for supervisors `j = 1..=n`, in order.
    pub share_keys: Vec<Point>,
}

/// What supervisors are asked to decrypt, and under which authorisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptionRequest {
    /// Binds the partials to one authorisation, e.g. the id of the on-chain audit-access record.
    pub context: Vec<u8>,
    /// The points to multiply by the secret.
    pub points: Vec<Point>,
}

/// A supervisor's contribution: its share times every requested point, with a proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartialDecryption {
    /// The supervisor's index (1-based).
    pub index: u32,
    /// `s_j·X_i` for every requested point, in order.
    pub points: Vec<Point>,
    proof: DleqProof,
}

/// Splits an audit secret into `shares` shares, any `threshold` of which can decrypt.
pub fn split<R: RngCore + CryptoRng>(
    secret: &AuditSecretKey,
    threshold: u32,
    shares: u32,
    rng: &mut R,
) -> Result<(ThresholdKey, Vec<KeyShare>), ThresholdError> {
    if threshold == 0 || threshold > shares || shares > MAX_SHARES {
        return Err(ThresholdError::BadParameters { threshold, shares });
    }
    let public = secret.public();
    loop {
        let mut coefficients = vec![*secret.scalar()];
        coefficients.extend((1..threshold).map(|_| Scalar::random(rng)));
        let key_shares: Vec<KeyShare> = (1..=shares)
            .map(|j| {
                let x = Scalar::from(j);
                let secret = coefficients.iter().rev().fold(Scalar::ZERO, |acc, a| acc * x + a);
                KeyShare { index: j, secret }
            })
            .collect();
        coefficients.zeroize();
        // A zero share would have the identity as its key; draw again (probability 2^-252).
        let Some(share_keys) =
            key_shares.iter().map(|s| Point::new(s.secret * public.0.point())).collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        return Ok((ThresholdKey { public, threshold, share_keys }, key_shares));
    }
}

impl KeyShare {
    /// The supervisor's index (1-based).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Computes and proves this supervisor's partial decryption of `request` under `key`.
    pub fn partial_decrypt<R: RngCore + CryptoRng>(
        &self,
        key: &ThresholdKey,
        request: &DecryptionRequest,
        rng: &mut R,
    ) -> Result<PartialDecryption, ThresholdError> {
        if request.points.is_empty() {
            return Err(ThresholdError::EmptyRequest);
        }
        let share_key =
            *key.share_keys.get(self.index as usize - 1).ok_or(ThresholdError::UnknownSupervisor(self.index))?;
        let points: Vec<Point> = request
            .points
            .iter()
            .map(|x| Point::new(self.secret * x.point()).expect("a non-zero share times a non-identity point"))
            .collect();
        let statement = PartialStatement {
            context: &request.context,
            audit_key: &key.public,
            supervisor: self.index,
            share_key: &share_key,
            inputs: &request.points,
            outputs: &points,
        };
        let proof = DleqProof::prove(&statement, &self.secret, rng).map_err(|e| dleq_error(self.index, e))?;
        Ok(PartialDecryption { index: self.index, points, proof })
    }

    /// An unsplit audit key seen as the dealing `k = n = 1`: its one "share" is the secret `s` and its share key is
    /// `s·P = B`. This lets a whole key produce DLEQ-proven decryptions (for evidence anyone can check) and sign
    /// audit-access records through the same code as a split one.
    pub fn whole(secret: &AuditSecretKey) -> (ThresholdKey, KeyShare) {
        let b = Point::new(ctchain_crypto::generators::blinding_base()).expect("the blinding base is not the identity");
        (
            ThresholdKey { public: secret.public(), threshold: 1, share_keys: vec![b] },
            KeyShare { index: 1, secret: *secret.scalar() },
        )
    }

    /// Signs an audit-access record (by its id) as this supervisor, under the dealing `key`.
    pub fn sign_access<R: RngCore + CryptoRng>(
        &self,
        key: &ThresholdKey,
        record_id: &TxId,
        rng: &mut R,
    ) -> Result<SupervisorSignature, ThresholdError> {
        let share_key =
            key.share_keys.get(self.index as usize - 1).ok_or(ThresholdError::UnknownSupervisor(self.index))?;
        Ok(SupervisorSignature::sign(record_id, &key.public, self.index, share_key, &self.secret, rng))
    }

    /// Whether this share belongs to `key` (its share key is `s_j·P`): a share from another split is not.
    pub fn belongs_to(&self, key: &ThresholdKey) -> bool {
        key.share_keys.get(self.index as usize - 1).is_some_and(|y| self.secret * key.public.0.point() == *y.point())
    }

    /// What a supervisor's keystore holds: the share and the public dealing it belongs to (so that the supervisor
    /// can check any record or request against the dealing without trusting anyone's copy).
    pub fn to_keystore_bytes(&self, dealing: &ThresholdKey) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new();
        w.bytes(&self.to_bytes());
        w.put(dealing);
        Zeroizing::new(w.into_bytes())
    }

    /// Parses [`KeyShare::to_keystore_bytes`], refusing a share that does not belong to the dealing.
    pub fn from_keystore_bytes(bytes: &[u8]) -> Result<(KeyShare, ThresholdKey), DecodeError> {
        let mut r = Reader::new(bytes);
        let share = KeyShare::from_bytes(r.bytes("share", 64)?)?;
        let dealing: ThresholdKey = r.get()?;
        r.finish()?;
        if !share.belongs_to(&dealing) {
            return Err(DecodeError::Invalid { field: "share", reason: "does not belong to the dealing" });
        }
        Ok((share, dealing))
    }

    /// Canonical bytes of the share, for a supervisor's keystore.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u32(self.index);
        w.fixed(self.secret.as_bytes());
        w.into_bytes()
    }

    /// Parses [`KeyShare::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let index = r.u32("share index")?;
        let secret = Option::<Scalar>::from(Scalar::from_canonical_bytes(r.array("share secret")?))
            .ok_or(DecodeError::Invalid { field: "share secret", reason: "not reduced" })?;
        r.finish()?;
        if index == 0 || index > MAX_SHARES || secret == Scalar::ZERO {
            return Err(DecodeError::Invalid { field: "share", reason: "index out of range or zero secret" });
        }
        Ok(Self { index, secret })
    }
}

impl ThresholdKey {
    /// Checks the dealing: the first `k` share keys interpolate to `B` (and, by the degree bound, so does every
    /// other set of `k` when all `n` lie on one polynomial, which is checked too).
    pub fn check(&self) -> Result<(), ThresholdError> {
        // The same check validators run on the dealing carried by an on-chain audit-access record.
        check_dealing(self.threshold, &self.share_keys).map_err(|e| match e {
            DealingError::BadThreshold { threshold, shares } => {
                ThresholdError::BadParameters { threshold, shares: shares as u32 }
            }
            DealingError::Inconsistent => ThresholdError::InconsistentDealing,
        })
    }

    /// Verifies one partial decryption against the request.
    pub fn verify_partial(
        &self,
        request: &DecryptionRequest,
        partial: &PartialDecryption,
    ) -> Result<(), ThresholdError> {
        let index = partial.index;
        if index == 0 {
            return Err(ThresholdError::UnknownSupervisor(index));
        }
        let share_key = self.share_keys.get(index as usize - 1).ok_or(ThresholdError::UnknownSupervisor(index))?;
        let statement = PartialStatement {
            context: &request.context,
            audit_key: &self.public,
            supervisor: index,
            share_key,
            inputs: &request.points,
            outputs: &partial.points,
        };
        partial.proof.verify(&statement).map_err(|e| dleq_error(index, e))
    }

    /// Combines partials into `s·X_i` for every requested point. Invalid partials are set aside and named in the
    /// error if fewer than `k` valid ones remain; any `k` valid ones give the same result.
    pub fn combine(
        &self,
        request: &DecryptionRequest,
        partials: &[PartialDecryption],
    ) -> Result<Vec<RistrettoPoint>, ThresholdError> {
        let mut valid: Vec<&PartialDecryption> = Vec::new();
        let mut invalid = Vec::new();
        for p in partials {
            if valid.iter().any(|v| v.index == p.index) {
                return Err(ThresholdError::DuplicateSupervisor(p.index));
            }
            match self.verify_partial(request, p) {
                Ok(()) => valid.push(p),
                Err(ThresholdError::InvalidPartial(i)) => invalid.push(i),
                Err(other) => return Err(other),
            }
        }
        if valid.len() < self.threshold as usize {
            return Err(ThresholdError::NotEnoughPartials { valid: valid.len(), needed: self.threshold, invalid });
        }
        valid.truncate(self.threshold as usize);
        let indices: Vec<u32> = valid.iter().map(|p| p.index).collect();
        let lambdas = indices
            .iter()
            .map(|&j| lagrange_at_zero(&indices, j).map_err(lagrange_error))
            .collect::<Result<Vec<Scalar>, _>>()?;
        Ok((0..request.points.len())
            .map(|i| valid.iter().zip(&lambdas).map(|(p, l)| l * p.points[i].point()).sum())
            .collect())
    }
}

/// A proof that fails names its supervisor; a length mismatch keeps its counts.
fn dleq_error(index: u32, e: DleqError) -> ThresholdError {
    match e {
        DleqError::Empty => ThresholdError::EmptyRequest,
        DleqError::WrongLength { expected, found } => ThresholdError::WrongLength { index, expected, found },
        DleqError::Invalid => ThresholdError::InvalidPartial(index),
    }
}

/// `combine` only interpolates over distinct, non-zero indices it has checked, so these name what went wrong
/// should that ever change.
fn lagrange_error(e: LagrangeError) -> ThresholdError {
    match e {
        LagrangeError::ZeroIndex => ThresholdError::UnknownSupervisor(0),
        LagrangeError::RepeatedIndex(j) => ThresholdError::DuplicateSupervisor(j),
        LagrangeError::NotAnIndex(j) => ThresholdError::UnknownSupervisor(j),
    }
}

impl Encode for ThresholdKey {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.public);
        w.u32(self.threshold);
        w.seq(&self.share_keys);
    }
}

impl Decode for ThresholdKey {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            public: r.get()?,
            threshold: r.u32("threshold")?,
            share_keys: r.seq("share keys", MAX_SHARES as usize)?,
        })
    }
}

impl Encode for DecryptionRequest {
    fn encode_to(&self, w: &mut Writer) {
        w.bytes(&self.context);
        w.seq(&self.points);
    }
}

impl Decode for DecryptionRequest {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { context: r.bytes("request context", 1024)?.to_vec(), points: r.seq("request points", MAX_POINTS)? })
    }
}

impl Encode for PartialDecryption {
    fn encode_to(&self, w: &mut Writer) {
        w.u32(self.index);
        w.seq(&self.points);
        w.put(&self.proof);
    }
}

impl Decode for PartialDecryption {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { index: r.u32("supervisor index")?, points: r.seq("partial points", MAX_POINTS)?, proof: r.get()? })
    }
}
