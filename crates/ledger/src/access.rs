//! Audit-access records: the on-chain trail of every decryption that supervisors authorise together.
//!
//! Before decrypting a height range with an audit key split among supervisors (`k` of `n`), at least `k` of them
//! sign an [`AuditAccessRecord`] naming the case, the range and the audit key; once it is committed, their partial
//! decryptions name the record's id as their context, so a partial made for one case cannot serve another. Because
//! the records are ordinary ledger transactions, every node holds them, and the list of accesses ever authorised
//! is as tamper-proof as the chain ([`crate::Ledger::audit_access_log`]).
//!
//! A chain with a shielded pool has a second audit key, the genesis `[shielded] audit_key` (Baby Jubjub). A record
//! may carry a dealing of it too ([`AuditAccessRecord::shielded_share_keys`]): the same supervisors, the same
//! threshold, one shielded share key each. Its partial decryptions of shielded audit copies then answer the same
//! record, so one authorisation covers both pools.
//!
//! [`AuditAccessRecord::verify`] runs every stateless check (chain, audit key, range, a quorum of
//! [`SupervisorSignature`]s, the dealing carried in the record with [`check_dealing`], the shielded dealing with
//! [`ctchain_circuits::threshold::dealing_key`]) and alone makes a [`VerifiedAccess`]; that the shielded dealing
//! shares the genesis shielded audit key, and not another, is checked when the record is applied
//! ([`VerifiedAccess::check_shielded_key`]), where the genesis's shielded configuration is known, as a shielded
//! transaction's audit key is. Why only a quorum of the real supervisors can put a record on chain, and why the id
//! leaves the signatures out: [`ctchain_crypto::notes::access_records`].
//!
//! Invariants: the id covers every field but the signatures, so each signature approves the shielded dealing as
//! well; a record carries no shielded dealing or one share key per supervisor of the confidential dealing.

use ctchain_circuits::AuditPublicKey as ShieldedAuditKey;
use ctchain_codec::{Decode, DecodeError, Encode, Reader, Sm3Hasher, Writer};
use ctchain_crypto::{AuditPublicKey, Point, ProtocolTranscript, Scalar, TxId};
// Re-exported so that the record's errors and callers keep their paths; the checks live with the group code.
pub use ctchain_crypto::threshold::{check_dealing, lagrange_at_zero, DealingError};
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

/// Most supervisors one dealing may name.
pub const MAX_SUPERVISORS: usize = ctchain_crypto::threshold::MAX_SHARES;
/// Longest case reference, in bytes.
pub const MAX_CASE_REFERENCE: usize = 128;

/// A request to decrypt, authorised by a quorum of supervisors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditAccessRecord {
    /// The chain it is for (so a record cannot be replayed on another chain).
    pub chain_id: String,
    /// Index of the audit key in the genesis.
    pub audit_key_index: u32,
    /// The supervisors' case reference (free text, e.g. a court order number).
    pub case_reference: String,
    /// First height covered.
    pub from_height: u64,
    /// Last height covered (inclusive).
    pub to_height: u64,
    /// Signatures needed (`k`).
    pub threshold: u32,
    /// `Y_j = s_j·P` for supervisors `j = 1..=n`.
    pub share_keys: Vec<Point>,
    /// The shielded pool's dealing, for the same supervisors and threshold: `Y'_j = s'_j·G` on Baby Jubjub, sharing
    /// the genesis shielded audit key. Empty when the record authorises the confidential pool only (a chain
    /// without a shielded pool, or a split made before the shielded key could be split).
    pub shielded_share_keys: Vec<ShieldedAuditKey>,
    /// At least `k` signatures, in strictly increasing supervisor order.
    pub signatures: Vec<SupervisorSignature>,
}

/// One supervisor's Schnorr signature (to base `P`) on a record id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupervisorSignature {
    /// The supervisor's index (1-based) in the dealing.
    pub supervisor: u32,
    commitment: Point,
    response: Scalar,
}

/// Why an audit-access record is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// Made for another chain.
    #[error("the record is for chain {found:?}, this chain is {expected:?}")]
    WrongChain {
        /// This chain.
        expected: String,
        /// The record's chain.
        found: String,
    },
    /// The genesis has no audit key at this index.
    #[error("the genesis has no audit key {0}")]
    UnknownAuditKey(u32),
    /// The range is empty or starts at the genesis.
    #[error("height range {from}..={to} is not valid (need 1 ≤ from ≤ to)")]
    BadRange {
        /// First height.
        from: u64,
        /// Last height.
        to: u64,
    },
    /// No case reference, or too long a one.
    #[error("the case reference must be 1 to {MAX_CASE_REFERENCE} bytes")]
    BadCaseReference,
    /// The share keys are not a dealing of the audit key.
    #[error("the share keys are not a valid dealing of audit key {audit_key}: {reason}")]
    BadDealing {
        /// The audit key.
        audit_key: u32,
        /// What is wrong.
        reason: DealingError,
    },
    /// The shielded dealing names another number of supervisors than the confidential one.
    #[error(
        "the record has {confidential} confidential share keys and {shielded} shielded ones (need none or as many)"
    )]
    ShieldedShareCount {
        /// Confidential share keys.
        confidential: usize,
        /// Shielded share keys.
        shielded: usize,
    },
    /// The shielded share keys are not a dealing.
    #[error("the shielded share keys are not a valid dealing: {0}")]
    BadShieldedDealing(ctchain_circuits::threshold::DealingError),
    /// The shielded dealing shares another key than the genesis shielded audit key.
    #[error("the shielded share keys are a dealing of another key than this chain's shielded audit key")]
    ShieldedKeyMismatch,
    /// A shielded dealing on a chain without a shielded pool.
    #[error("the record carries shielded share keys and this chain has no shielded pool")]
    NoShieldedPool,
    /// Signatures not in strictly increasing supervisor order, or naming a supervisor the dealing lacks.
    #[error("signature of supervisor {0} is out of order, repeated or names no supervisor of the dealing")]
    BadSigner(u32),
    /// A signature does not verify.
    #[error("the signature of supervisor {0} does not verify")]
    BadSignature(u32),
    /// Fewer signatures than the threshold.
    #[error("{found} supervisor signatures, the threshold is {threshold}")]
    NotEnoughSignatures {
        /// Signatures present.
        found: usize,
        /// Needed.
        threshold: u32,
    },
}

/// A record that passed every stateless check. Only [`AuditAccessRecord::verify`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAccess {
    record: AuditAccessRecord,
    id: TxId,
    /// The key the shielded dealing shares, if the record carries one.
    shielded_key: Option<ShieldedAuditKey>,
}

impl VerifiedAccess {
    /// The record.
    pub fn record(&self) -> &AuditAccessRecord {
        &self.record
    }

    /// Its id.
    pub fn id(&self) -> TxId {
        self.id
    }

    /// The shielded audit key the record's shielded dealing shares (`None` without one).
    pub fn shielded_key(&self) -> Option<&ShieldedAuditKey> {
        self.shielded_key.as_ref()
    }

    /// Checks that the shielded dealing, if any, shares `genesis_key`, the chain's shielded audit key (`None`: the
    /// chain has no shielded pool, and a record with a shielded dealing is refused).
    pub fn check_shielded_key(&self, genesis_key: Option<&ShieldedAuditKey>) -> Result<(), AccessError> {
        match (&self.shielded_key, genesis_key) {
            (None, _) => Ok(()),
            (Some(shared), Some(key)) if shared == key => Ok(()),
            (Some(_), Some(_)) => Err(AccessError::ShieldedKeyMismatch),
            (Some(_), None) => Err(AccessError::NoShieldedPool),
        }
    }
}

fn signature_transcript(id: &TxId, audit_key: &AuditPublicKey, supervisor: u32, share_key: &Point) -> Transcript {
    Transcript::access_signature(id, audit_key, supervisor, share_key)
}

fn challenge(t: &mut Transcript, commitment: &Point) -> Scalar {
    t.append_point(b"R", commitment);
    t.challenge(b"c")
}

impl SupervisorSignature {
    /// Signs record `id` as `supervisor`, whose share secret is `secret` (`share_key = secret·P`). The nonce is
    /// drawn from the transcript, the secret and `rng` together, so a weak `rng` alone cannot leak the secret.
    pub fn sign<R: RngCore + CryptoRng>(
        id: &TxId,
        audit_key: &AuditPublicKey,
        supervisor: u32,
        share_key: &Point,
        secret: &Scalar,
        rng: &mut R,
    ) -> Self {
        let t = signature_transcript(id, audit_key, supervisor, share_key);
        let mut nonce_rng = t.build_rng().rekey_with_witness_bytes(b"secret", secret.as_bytes()).finalize(rng);
        loop {
            let k = Scalar::random(&mut nonce_rng);
            // k = 0 would give the identity, which is not a Point; draw again (probability 2^-252).
            let Some(commitment) = Point::new(k * audit_key.0.point()) else { continue };
            let c = challenge(&mut t.clone(), &commitment);
            return Self { supervisor, commitment, response: k + c * secret };
        }
    }

    fn verify(&self, id: &TxId, audit_key: &AuditPublicKey, share_key: &Point) -> bool {
        let c = challenge(&mut signature_transcript(id, audit_key, self.supervisor, share_key), &self.commitment);
        self.response * audit_key.0.point() == self.commitment.point() + c * share_key.point()
    }
}

impl AuditAccessRecord {
    /// The record id: the hash of everything but the signatures.
    pub fn id(&self) -> TxId {
        let mut h = Sm3Hasher::new("ctchain/audit-access/v2");
        let mut w = Writer::new();
        self.encode_body(&mut w);
        h.update(w.as_bytes());
        TxId(h.finish())
    }

    fn encode_body(&self, w: &mut Writer) {
        w.str(&self.chain_id);
        w.u32(self.audit_key_index);
        w.str(&self.case_reference);
        w.u64(self.from_height);
        w.u64(self.to_height);
        w.u32(self.threshold);
        w.seq(&self.share_keys);
        w.seq(&self.shielded_share_keys);
    }

    /// Every check that needs no ledger state: chain, audit key, range, a quorum of valid signatures, both dealings.
    pub fn verify(self, chain_id: &str, audit_keys: &[AuditPublicKey]) -> Result<VerifiedAccess, AccessError> {
        if self.chain_id != chain_id {
            return Err(AccessError::WrongChain { expected: chain_id.into(), found: self.chain_id });
        }
        let audit_key =
            audit_keys.get(self.audit_key_index as usize).ok_or(AccessError::UnknownAuditKey(self.audit_key_index))?;
        if self.from_height == 0 || self.from_height > self.to_height {
            return Err(AccessError::BadRange { from: self.from_height, to: self.to_height });
        }
        if self.case_reference.is_empty() || self.case_reference.len() > MAX_CASE_REFERENCE {
            return Err(AccessError::BadCaseReference);
        }
        // The cheap checks first, then the signatures, then the dealing (interpolating every share key): a record
        // nobody signed costs a validator little.
        let shares = self.share_keys.len();
        if self.threshold == 0 || self.threshold as usize > shares || shares > MAX_SUPERVISORS {
            let reason = DealingError::BadThreshold { threshold: self.threshold, shares };
            return Err(AccessError::BadDealing { audit_key: self.audit_key_index, reason });
        }
        if !self.shielded_share_keys.is_empty() && self.shielded_share_keys.len() != shares {
            return Err(AccessError::ShieldedShareCount {
                confidential: shares,
                shielded: self.shielded_share_keys.len(),
            });
        }
        if self.signatures.len() < self.threshold as usize {
            return Err(AccessError::NotEnoughSignatures { found: self.signatures.len(), threshold: self.threshold });
        }
        let id = self.id();
        let mut previous = 0;
        for s in &self.signatures {
            // Strictly increasing indices: one encoding per signer set, and no supervisor counted twice.
            if s.supervisor <= previous || s.supervisor as usize > self.share_keys.len() {
                return Err(AccessError::BadSigner(s.supervisor));
            }
            previous = s.supervisor;
            if !s.verify(&id, audit_key, &self.share_keys[s.supervisor as usize - 1]) {
                return Err(AccessError::BadSignature(s.supervisor));
            }
        }
        // The signatures are under the record's own share keys: the dealing ties those to the audit key.
        check_dealing(self.threshold, &self.share_keys)
            .map_err(|reason| AccessError::BadDealing { audit_key: self.audit_key_index, reason })?;
        let shielded_key = match self.shielded_share_keys.is_empty() {
            true => None,
            false => Some(
                ctchain_circuits::threshold::dealing_key(self.threshold, &self.shielded_share_keys)
                    .map_err(AccessError::BadShieldedDealing)?,
            ),
        };
        Ok(VerifiedAccess { record: self, id, shielded_key })
    }

    /// The supervisors who signed.
    pub fn signers(&self) -> Vec<u32> {
        self.signatures.iter().map(|s| s.supervisor).collect()
    }
}

impl Encode for SupervisorSignature {
    fn encode_to(&self, w: &mut Writer) {
        w.u32(self.supervisor);
        w.put(&self.commitment);
        w.fixed(self.response.as_bytes());
    }
}

impl Decode for SupervisorSignature {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            supervisor: r.u32("supervisor")?,
            commitment: r.get()?,
            response: Option::<Scalar>::from(Scalar::from_canonical_bytes(r.array("signature response")?))
                .ok_or(DecodeError::Invalid { field: "signature response", reason: "not reduced" })?,
        })
    }
}

impl Encode for AuditAccessRecord {
    fn encode_to(&self, w: &mut Writer) {
        self.encode_body(w);
        w.seq(&self.signatures);
    }
}

impl Decode for AuditAccessRecord {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            chain_id: r.string("chain id", ctchain_crypto::tx::MAX_CHAIN_ID_LEN)?,
            audit_key_index: r.u32("audit key index")?,
            case_reference: r.string("case reference", MAX_CASE_REFERENCE)?,
            from_height: r.u64("from height")?,
            to_height: r.u64("to height")?,
            threshold: r.u32("threshold")?,
            share_keys: r.seq("share keys", MAX_SUPERVISORS)?,
            shielded_share_keys: r.seq("shielded share keys", MAX_SUPERVISORS)?,
            signatures: r.seq("supervisor signatures", MAX_SUPERVISORS)?,
        })
    }
}
