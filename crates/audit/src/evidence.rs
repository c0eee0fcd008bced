//! Evidence bundles: a decrypted transaction that anyone can check offline, trusting only the genesis hash.
//!
//! A bundle holds the genesis, the certified governance blocks below the transaction's block (each with its
//! certificate), the whole block (its commit certificate signs the block bytes), the certificate, the
//! transaction's Merkle inclusion proof, the audit key's dealing (`k = n = 1` for a whole key), the DLEQ-proven
//! partial decryptions of every output, the audit-access record that authorised them (for a split key), and the
//! amounts, parties and memos the regulator claims. [`Evidence::verify`] re-derives every claim:
//!
//! 1. the genesis hashes to the hash the verifier trusts;
//! 2. the governance blocks, followed from the genesis validators on (`ctchain_ledger::finality::EpochTracker`),
//!    give the validators, audit keys and listed assets of the block's epoch; `2f + 1` of that epoch's validators
//!    signed the block, and the inclusion proof puts the transaction under that block's transaction root. A
//!    bundle whose history is cut short fails closed: a missing change of validators leaves the certificate
//!    unverifiable, a missing audit-key rotation leaves the dealing's key unknown to the epoch;
//! 3. the dealing is a dealing of the chain's audit key, every partial's proof verifies (none may be wrong in a
//!    bundle), and for a split key the access record is shown committed (its block certified in its epoch, its
//!    inclusion proof), verifies against that epoch's audit keys, covers the block's height and is the partials'
//!    context — so the decryption was authorised on chain, not merely signed;
//! 4. combining the partials and decrypting gives exactly the claimed amounts, parties and memos.
//!
//! The file is the canonical binary encoding ([`ctchain_codec`]): there is one encoding per bundle, so changing any
//! byte either breaks decoding or changes a value that one of the checks covers.

use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use ctchain_crypto::TxId;
use ctchain_ledger::access::{AccessError, AuditAccessRecord};
use ctchain_ledger::{Block, Genesis, LedgerTx, TxInclusionProof};
use rand_core::{CryptoRng, RngCore};

use crate::decrypt::{self, ChainOutput, DecryptError, Decrypted, Tables};
use crate::threshold::{DecryptionRequest, KeyShare, PartialDecryption, ThresholdError, ThresholdKey};
use ctchain_ledger::finality::{EpochTracker, FinalityError};

/// The bundle format tag. Version 4 claims the proven parties (identities, which fields the memo contradicts);
/// version 3 carries the governance history and, for a split key, the access record's
/// block, certificate and inclusion proof; earlier bundles (checked against the genesis validators alone, or
/// trusting the record's signatures without its commitment) are refused by name.
pub const EVIDENCE_FORMAT: &str = "ctchain-audit-evidence/4";
const MAX_BLOCK_BYTES: usize = 64 * 1024 * 1024;
const MAX_TEXT: usize = 4096;

/// What the regulator claims one output says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedOutput {
    /// Output index.
    pub index: u32,
    /// Exact amount in base units.
    pub amount: u64,
    /// The sender as the record names it ([`crate::decrypt::party_text`]).
    pub sender: Option<String>,
    /// The sender's proven identity (spend or issuer key, hex).
    pub sender_identity: Option<String>,
    /// Whether the sender is proven, not the memo's claim.
    pub sender_proven: bool,
    /// The receiver as the record names it.
    pub receiver: String,
    /// The receiver's proven identity (spend key, hex).
    pub receiver_identity: Option<String>,
    /// Memo text (the sender's claim).
    pub memo: String,
    /// Whether the memo agrees with the proven amount.
    pub memo_agrees: bool,
    /// Memo fields that contradict proven ones.
    pub memo_disagrees: Vec<String>,
}

/// An evidence bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// The canonical genesis.
    pub genesis: Vec<u8>,
    /// The certified governance blocks below the transaction's block, in chain order: (block, certificate).
    pub governance: Vec<(Vec<u8>, Vec<u8>)>,
    /// The transaction.
    pub tx_id: TxId,
    /// The whole block (canonical bytes).
    pub block: Vec<u8>,
    /// Its commit certificate (canonical bytes).
    pub certificate: Vec<u8>,
    /// The transaction's inclusion proof.
    pub inclusion: TxInclusionProof,
    /// Index of the audit key among those of the block's epoch.
    pub audit_key_index: u32,
    /// The key's dealing.
    pub dealing: ThresholdKey,
    /// The authorising record (split keys).
    pub access: Option<CommittedAccess>,
    /// The partials' context.
    pub context: Vec<u8>,
    /// The proven partial decryptions.
    pub partials: Vec<PartialDecryption>,
    /// The claims.
    pub outputs: Vec<ClaimedOutput>,
}

/// What a verified bundle proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEvidence {
    /// The chain.
    pub chain_id: String,
    /// The transaction.
    pub tx_id: TxId,
    /// Its block height.
    pub height: u64,
    /// Block time (ms).
    pub timestamp_ms: u64,
    /// The registry epoch of the block, whose validators certified it.
    pub epoch: u64,
    /// How many certified governance blocks were followed from the genesis to reach that epoch.
    pub governance_blocks: usize,
    /// The decrypted outputs (equal to the claims).
    pub outputs: Vec<ClaimedOutput>,
    /// The case it was decrypted for, if a split key was used.
    pub case_reference: Option<String>,
}

/// Why a bundle does not verify.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// Not a bundle (bad encoding or format tag).
    #[error("not an evidence bundle: {0}")]
    Encoding(#[from] DecodeError),
    /// The genesis is not the one trusted.
    #[error("the bundle's genesis hashes to {found}, the trusted genesis is {expected}")]
    GenesisMismatch {
        /// Trusted hash.
        expected: String,
        /// The bundle's.
        found: String,
    },
    /// The certificate does not prove the block (or the governance history does not check out).
    #[error("block finality: {0}")]
    Finality(#[from] FinalityError),
    /// The history holds a block at a target's height that is not the target block.
    #[error("the governance history's block {0} is not the bundle's block at that height")]
    HistoryDiffers(u64),
    /// The access record is not shown committed.
    #[error("the audit-access record is not shown committed: {0}")]
    AccessNotCommitted(String),
    /// A governance block of the history is not below the transaction's block.
    #[error("the governance history holds block {found}, not below the transaction's block {height}")]
    HistoryNotBelow {
        /// The history's block height.
        found: u64,
        /// The transaction's block height.
        height: u64,
    },
    /// The transaction is not in the block.
    #[error("transaction {0} is not proven to be in the block")]
    NotInBlock(TxId),
    /// The transaction is an audit-access record.
    #[error("transaction {0} is not a confidential transaction")]
    NotConfidential(TxId),
    /// The dealing is not of the chain's audit key.
    #[error("the dealing is not of the chain's audit key {0}")]
    WrongAuditKey(u32),
    /// A threshold check failed (bad dealing, invalid partial, not enough partials).
    #[error("decryption: {0}")]
    Threshold(#[from] ThresholdError),
    /// The access record does not authorise this decryption.
    #[error("authorisation: {0}")]
    Unauthorised(String),
    /// The access record is invalid.
    #[error("access record: {0}")]
    Access(#[from] AccessError),
    /// Decrypting failed.
    #[error("{0}")]
    Decrypt(#[from] DecryptError),
    /// A claim differs from what the proven decryption gives.
    #[error("output {index}: the bundle claims {field} {claimed:?}, the proven decryption gives {actual:?}")]
    ClaimMismatch {
        /// Output index.
        index: u32,
        /// Which claim.
        field: &'static str,
        /// Claimed.
        claimed: String,
        /// Proven.
        actual: String,
    },
    /// Output count differs.
    #[error("the bundle claims {claimed} outputs, the transaction has {actual}")]
    OutputCount {
        /// Claimed.
        claimed: usize,
        /// Actual.
        actual: usize,
    },
}

fn claims(genesis: &Genesis, decrypted: &[Decrypted]) -> Result<Vec<ClaimedOutput>, DecryptError> {
    decrypted
        .iter()
        .map(|d| {
            let r = decrypt::record(genesis, d)?;
            Ok(ClaimedOutput {
                index: r.output_index,
                amount: r.amount,
                sender: r.sender,
                sender_identity: r.sender_identity,
                sender_proven: r.sender_proven,
                receiver: r.receiver,
                receiver_identity: r.receiver_identity,
                memo: r.memo,
                memo_agrees: r.memo_matches_amount,
                memo_disagrees: r.memo_disagrees,
            })
        })
        .collect()
}

/// The context a whole key's partials are bound to: the transaction id (there is no access record).
fn whole_key_context(tx_id: &TxId) -> Vec<u8> {
    let mut c = b"evidence:".to_vec();
    c.extend_from_slice(tx_id.as_bytes());
    c
}

/// Where a transaction is on chain: its block, the block's commit certificate and the inclusion proof.
#[derive(Clone, Debug)]
pub struct Located {
    /// The transaction.
    pub tx_id: TxId,
    /// Its block.
    pub block: Block,
    /// The block's commit certificate (canonical bytes).
    pub certificate: Vec<u8>,
    /// The transaction's inclusion proof.
    pub inclusion: TxInclusionProof,
    /// The certified governance blocks below `block`, with their certificates' bytes, in chain order
    /// (`LightClient::governance_history`).
    pub governance: Vec<(Block, Vec<u8>)>,
}

/// An audit-access record shown committed: its block, that block's commit certificate and the record's inclusion
/// proof. A record that supervisors signed but that never reached the chain authorises nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedAccess {
    /// The record.
    pub record: AuditAccessRecord,
    /// The block holding it.
    pub block: Block,
    /// The block's commit certificate (canonical bytes).
    pub certificate: Vec<u8>,
    /// The record's inclusion proof.
    pub inclusion: TxInclusionProof,
}

/// Follows `governance` (the certified governance blocks below the highest of `targets`) from the genesis, then
/// checks every target block's certificate in its epoch. A target that is itself one of the history's blocks must
/// be that block; the highest target, when it governs, is followed too (it may list an asset one of its own
/// transactions issues).
fn follow_certified<C: AsRef<[u8]>>(
    genesis: &Genesis,
    governance: &[(Block, C)],
    targets: &[(&Block, &[u8])],
) -> Result<EpochTracker, EvidenceError> {
    let top = targets.iter().map(|(b, _)| b.header.height).max().unwrap_or(0);
    let mut tracker = EpochTracker::new(genesis)?;
    for (governing, cert) in governance {
        if governing.header.height >= top {
            return Err(EvidenceError::HistoryNotBelow { found: governing.header.height, height: top });
        }
        tracker.follow(governing, cert.as_ref())?;
    }
    let mut targets = targets.to_vec();
    targets.sort_by_key(|(b, _)| b.header.height);
    for (block, certificate) in targets {
        let height = block.header.height;
        if let Some((followed, _)) = governance.iter().find(|(g, _)| g.header.height == height) {
            if followed.hash() != block.hash() {
                return Err(EvidenceError::HistoryDiffers(height));
            }
            continue;
        }
        let governs = block.txs.iter().any(|t| matches!(t, LedgerTx::Governance(_)));
        if governs && height > tracker.followed_height() {
            tracker.follow(block, certificate)?;
        } else {
            tracker.verify(block, certificate)?;
        }
    }
    Ok(tracker)
}

/// The chain as the records of the block with sequence number `seq` read it: the genesis with the audit keys of
/// its epoch and the assets listed (`tracker` followed far enough), and that epoch's number.
fn view_at(genesis: &Genesis, tracker: &EpochTracker, seq: u64) -> (Genesis, u64) {
    let epoch = tracker.epoch_for_seq(seq);
    (decrypt::epoch_view(genesis, tracker.registry().assets(), epoch), epoch.number)
}

/// Checks that `access` is in its block (the block itself checked by [`follow_certified`]) and verifies the record
/// against the audit keys of that block's epoch.
fn check_committed_access(
    genesis: &Genesis,
    tracker: &EpochTracker,
    access: &CommittedAccess,
) -> Result<AuditAccessRecord, EvidenceError> {
    let not_committed = |why: &str| EvidenceError::AccessNotCommitted(why.to_owned());
    if access.inclusion.header != access.block.header {
        return Err(not_committed("its inclusion proof is for another block"));
    }
    let id = access.record.id();
    let tx = access
        .block
        .txs
        .iter()
        .find(|t| matches!(t, LedgerTx::AuditAccess(r) if r.id() == id))
        .ok_or_else(|| not_committed("its block does not hold it"))?;
    if access.inclusion.verify(tx) != Some(access.block.hash()) {
        return Err(not_committed("its inclusion proof does not lead to its block"));
    }
    let (view, _) = view_at(genesis, tracker, access.block.header.seq);
    Ok(access.record.clone().verify(&view.chain_id, &view.audit_keys)?.record().clone())
}

/// The request every partial of a bundle answers: the transaction's outputs, under the access record's id (split
/// key) or the transaction id (whole key). Supervisors call this to make their partials for a bundle.
pub fn request_for(
    block: &Block,
    tx_id: &TxId,
    key_index: u32,
    access: Option<&AuditAccessRecord>,
) -> Result<DecryptionRequest, EvidenceError> {
    let outputs = block_outputs(block, tx_id)?;
    let context = match access {
        Some(a) => a.id().as_bytes().to_vec(),
        None => whole_key_context(tx_id),
    };
    Ok(decrypt::request(context, &outputs, key_index as usize)?)
}

impl Evidence {
    /// Builds a bundle with a whole audit key: it proves its own decryption (a `1`-of-`1` partial).
    pub fn with_whole_key<R: RngCore + CryptoRng>(
        genesis: &Genesis,
        located: Located,
        key_index: u32,
        secret: &ctchain_crypto::AuditSecretKey,
        rng: &mut R,
    ) -> Result<(Self, Vec<Decrypted>), EvidenceError> {
        let tracker = follow_certified(genesis, &located.governance, &[(&located.block, &located.certificate)])?;
        let (view, _) = view_at(genesis, &tracker, located.block.header.seq);
        decrypt::check_key(&view, key_index as usize, secret)?;
        let (dealing, share) = KeyShare::whole(secret);
        let request = request_for(&located.block, &located.tx_id, key_index, None)?;
        let partial = share.partial_decrypt(&dealing, &request, rng)?;
        Self::from_partials(genesis, located, key_index, dealing, None, vec![partial])
    }

    /// Builds a bundle from proven partial decryptions of [`request_for`]: at least `k` supervisors' of a split key
    /// (under the committed `access` record), or a whole key's one. Every partial must verify: an invalid one is
    /// named ([`ThresholdError::InvalidPartial`]) rather than left in a bundle.
    pub fn from_partials(
        genesis: &Genesis,
        located: Located,
        key_index: u32,
        dealing: ThresholdKey,
        access: Option<CommittedAccess>,
        partials: Vec<PartialDecryption>,
    ) -> Result<(Self, Vec<Decrypted>), EvidenceError> {
        let Located { tx_id, block, certificate, inclusion, governance } = located;
        let mut targets = vec![(&block, certificate.as_slice())];
        targets.extend(access.as_ref().map(|a| (&a.block, a.certificate.as_slice())));
        let tracker = follow_certified(genesis, &governance, &targets)?;
        let (view, _) = view_at(genesis, &tracker, block.header.seq);
        let outputs = block_outputs(&block, &tx_id)?;
        let request = request_for(&block, &tx_id, key_index, access.as_ref().map(|a| &a.record))?;
        for p in &partials {
            dealing.verify_partial(&request, p)?;
        }
        let points = dealing.combine(&request, &partials)?;
        let decrypted = decrypt::finish(&outputs, key_index as usize, &points, &mut Tables::default())?;
        let evidence = Self {
            genesis: genesis.to_bytes(),
            governance: governance.iter().map(|(b, c)| (b.to_bytes(), c.clone())).collect(),
            tx_id,
            block: block.to_bytes(),
            certificate,
            inclusion,
            audit_key_index: key_index,
            dealing,
            access,
            context: request.context,
            partials,
            outputs: claims(&view, &decrypted)?,
        };
        Ok((evidence, decrypted))
    }

    /// Checks everything offline against the genesis with hash `trusted_genesis` (hex, as `chain_getGenesis` and
    /// the genesis file publish it).
    pub fn verify(&self, trusted_genesis: &str) -> Result<VerifiedEvidence, EvidenceError> {
        let genesis = Genesis::from_bytes(&self.genesis)?;
        let found = genesis.hash().to_string();
        if !found.eq_ignore_ascii_case(trusted_genesis.trim()) {
            return Err(EvidenceError::GenesisMismatch { expected: trusted_genesis.trim().into(), found });
        }
        let block = Block::from_bytes(&self.block)?;
        let history = self
            .governance
            .iter()
            .map(|(b, c)| Ok((Block::from_bytes(b)?, c.as_slice())))
            .collect::<Result<Vec<_>, DecodeError>>()?;
        let mut targets = vec![(&block, self.certificate.as_slice())];
        targets.extend(self.access.as_ref().map(|a| (&a.block, a.certificate.as_slice())));
        let tracker = follow_certified(&genesis, &history, &targets)?;
        let (view, epoch) = view_at(&genesis, &tracker, block.header.seq);
        if self.inclusion.header != block.header {
            return Err(EvidenceError::NotInBlock(self.tx_id));
        }
        let tx = block.txs.iter().find(|t| t.id() == self.tx_id).ok_or(EvidenceError::NotInBlock(self.tx_id))?;
        if self.inclusion.verify(tx) != Some(block.hash()) {
            return Err(EvidenceError::NotInBlock(self.tx_id));
        }
        let key_index = self.audit_key_index;
        if view.audit_keys.get(key_index as usize) != Some(&self.dealing.public) {
            return Err(EvidenceError::WrongAuditKey(key_index));
        }
        self.dealing.check()?;
        let case_reference = match &self.access {
            Some(access) => {
                let r = &check_committed_access(&genesis, &tracker, access)?;
                if r.audit_key_index != key_index
                    || r.threshold != self.dealing.threshold
                    || r.share_keys != self.dealing.share_keys
                {
                    return Err(EvidenceError::Unauthorised("the record authorises another key or dealing".into()));
                }
                let h = block.header.height;
                if h < r.from_height || h > r.to_height {
                    return Err(EvidenceError::Unauthorised(format!(
                        "height {h} is outside the authorised range {}..={}",
                        r.from_height, r.to_height
                    )));
                }
                Some(r.case_reference.clone())
            }
            None => {
                // Without an on-chain authorisation only a whole key may decrypt (it needs nobody's consent).
                if self.dealing.threshold != 1 || self.dealing.share_keys.len() != 1 {
                    return Err(EvidenceError::Unauthorised("a split key needs an audit-access record".into()));
                }
                None
            }
        };
        let outputs = block_outputs(&block, &self.tx_id)?;
        let request = request_for(&block, &self.tx_id, key_index, self.access.as_ref().map(|a| &a.record))?;
        if request.context != self.context {
            return Err(EvidenceError::Unauthorised("the partials answer another request".into()));
        }
        // Every partial must verify: a bundle is a finished product, and a wrong partial in it is tampering.
        for p in &self.partials {
            self.dealing.verify_partial(&request, p)?;
        }
        let points = self.dealing.combine(&request, &self.partials)?;
        let decrypted = decrypt::finish(&outputs, key_index as usize, &points, &mut Tables::default())?;
        let actual = claims(&view, &decrypted)?;
        if actual.len() != self.outputs.len() {
            return Err(EvidenceError::OutputCount { claimed: self.outputs.len(), actual: actual.len() });
        }
        for (claimed, actual) in self.outputs.iter().zip(&actual) {
            let mismatch = |field, c: String, a: String| {
                Err(EvidenceError::ClaimMismatch { index: actual.index, field, claimed: c, actual: a })
            };
            if claimed.index != actual.index {
                return mismatch("index", claimed.index.to_string(), actual.index.to_string());
            }
            if claimed.amount != actual.amount {
                return mismatch("amount", claimed.amount.to_string(), actual.amount.to_string());
            }
            if claimed.sender != actual.sender {
                return mismatch("sender", format!("{:?}", claimed.sender), format!("{:?}", actual.sender));
            }
            if claimed.receiver != actual.receiver {
                return mismatch("receiver", claimed.receiver.clone(), actual.receiver.clone());
            }
            if claimed.memo != actual.memo {
                return mismatch("memo", claimed.memo.clone(), actual.memo.clone());
            }
            if claimed.memo_agrees != actual.memo_agrees {
                return mismatch("memo agreement", claimed.memo_agrees.to_string(), actual.memo_agrees.to_string());
            }
            let debug = |v: &dyn std::fmt::Debug| format!("{v:?}");
            if claimed.sender_identity != actual.sender_identity || claimed.sender_proven != actual.sender_proven {
                let c = debug(&(&claimed.sender_identity, claimed.sender_proven));
                return mismatch("sender identity", c, debug(&(&actual.sender_identity, actual.sender_proven)));
            }
            if claimed.receiver_identity != actual.receiver_identity {
                let c = debug(&claimed.receiver_identity);
                return mismatch("receiver identity", c, debug(&actual.receiver_identity));
            }
            if claimed.memo_disagrees != actual.memo_disagrees {
                let c = debug(&claimed.memo_disagrees);
                return mismatch("memo disagreements", c, debug(&actual.memo_disagrees));
            }
        }
        Ok(VerifiedEvidence {
            chain_id: genesis.chain_id,
            tx_id: self.tx_id,
            height: block.header.height,
            timestamp_ms: block.header.timestamp_ms,
            epoch,
            governance_blocks: self.governance.len(),
            outputs: actual,
            case_reference,
        })
    }
}

/// The outputs of confidential transaction `tx_id` in `block`.
fn block_outputs(block: &Block, tx_id: &TxId) -> Result<Vec<ChainOutput>, EvidenceError> {
    match block.txs.iter().find(|t| t.id() == *tx_id) {
        Some(LedgerTx::Confidential(tx)) => Ok(decrypt::outputs_of(tx, block.header.height, block.header.timestamp_ms)),
        Some(_) => Err(EvidenceError::NotConfidential(*tx_id)),
        None => Err(EvidenceError::NotInBlock(*tx_id)),
    }
}

/// A bounded text field of a claim, for the codec's options.
struct Text(String);

impl Encode for Text {
    fn encode_to(&self, w: &mut Writer) {
        w.str(&self.0);
    }
}

impl Decode for Text {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.string("text", MAX_TEXT)?))
    }
}

impl Encode for ClaimedOutput {
    fn encode_to(&self, w: &mut Writer) {
        w.u32(self.index);
        w.u64(self.amount);
        match &self.sender {
            Some(s) => {
                w.u8(1);
                w.str(s);
            }
            None => w.u8(0),
        }
        w.option(&self.sender_identity.as_ref().map(|s| Text(s.clone())));
        w.bool(self.sender_proven);
        w.str(&self.receiver);
        w.option(&self.receiver_identity.as_ref().map(|s| Text(s.clone())));
        w.str(&self.memo);
        w.bool(self.memo_agrees);
        w.len(self.memo_disagrees.len());
        for field in &self.memo_disagrees {
            w.str(field);
        }
    }
}

impl Decode for ClaimedOutput {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            index: r.u32("output index")?,
            amount: r.u64("amount")?,
            sender: match r.u8("sender tag")? {
                0 => None,
                1 => Some(r.string("sender", MAX_TEXT)?),
                tag => return Err(DecodeError::InvalidTag { field: "sender tag", tag: u32::from(tag) }),
            },
            sender_identity: r.option::<Text>("sender identity")?.map(|t| t.0),
            sender_proven: r.bool("sender proven")?,
            receiver: r.string("receiver", MAX_TEXT)?,
            receiver_identity: r.option::<Text>("receiver identity")?.map(|t| t.0),
            memo: r.string("memo", MAX_TEXT)?,
            memo_agrees: r.bool("memo agrees")?,
            memo_disagrees: {
                let n = r.len("memo disagreements", 8)?;
                (0..n).map(|_| r.string("memo disagreement", MAX_TEXT)).collect::<Result<_, _>>()?
            },
        })
    }
}

impl Encode for CommittedAccess {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.record);
        w.put(&self.block);
        w.bytes(&self.certificate);
        w.put(&self.inclusion);
    }
}

impl Decode for CommittedAccess {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            record: r.get()?,
            block: r.get()?,
            certificate: r.bytes("access certificate", 1024 * 1024)?.to_vec(),
            inclusion: r.get()?,
        })
    }
}

impl Encode for Evidence {
    fn encode_to(&self, w: &mut Writer) {
        w.str(EVIDENCE_FORMAT);
        w.bytes(&self.genesis);
        w.len(self.governance.len());
        for (block, certificate) in &self.governance {
            w.bytes(block);
            w.bytes(certificate);
        }
        w.put(&self.tx_id);
        w.bytes(&self.block);
        w.bytes(&self.certificate);
        w.put(&self.inclusion);
        w.u32(self.audit_key_index);
        w.put(&self.dealing);
        w.option(&self.access);
        w.bytes(&self.context);
        w.seq(&self.partials);
        w.seq(&self.outputs);
    }
}

impl Decode for Evidence {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.string("format", 64)?.as_str() {
            EVIDENCE_FORMAT => {}
            "ctchain-audit-evidence/1" | "ctchain-audit-evidence/2" | "ctchain-audit-evidence/3" => {
                return Err(DecodeError::Invalid {
                    field: "format",
                    reason: "a bundle of an earlier version (it proves less): write it again with this ctchain-audit",
                })
            }
            _ => return Err(DecodeError::Invalid { field: "format", reason: "not ctchain-audit-evidence/4" }),
        }
        Ok(Self {
            genesis: r.bytes("genesis", 1024 * 1024)?.to_vec(),
            governance: {
                let n = r.len("governance blocks", ctchain_ledger::snapshot::MAX_GOVERNANCE_BLOCKS)?;
                (0..n)
                    .map(|_| {
                        let block = r.bytes("governance block", MAX_BLOCK_BYTES)?.to_vec();
                        let certificate = r.bytes("governance certificate", 1024 * 1024)?.to_vec();
                        Ok((block, certificate))
                    })
                    .collect::<Result<_, DecodeError>>()?
            },
            tx_id: r.get()?,
            block: r.bytes("block", MAX_BLOCK_BYTES)?.to_vec(),
            certificate: r.bytes("certificate", 1024 * 1024)?.to_vec(),
            inclusion: r.get()?,
            audit_key_index: r.u32("audit key index")?,
            dealing: r.get()?,
            access: r.option("access record tag")?,
            context: r.bytes("context", 1024)?.to_vec(),
            partials: r.seq("partials", 64)?,
            outputs: r.seq("claimed outputs", ctchain_crypto::MAX_OUTPUTS)?,
        })
    }
}
