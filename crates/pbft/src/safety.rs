//! Safety rules: the only holder of the validator key inside the core (after Aptos' `safety-rules`).
//!
//! Every signature the core produces is requested from [`SafetyRules`], which refuses to sign
//!
//! * two different digests for the same `(kind, view, sequence number)` — a pre-prepare, prepare or commit;
//! * anything in a view below the highest view it entered or asked to change to (§4.4: after sending
//!   `VIEW-CHANGE` for `v + 1` a replica no longer accepts, hence no longer signs, messages of view `v`);
//! * anything at or below its low-water mark (the stable checkpoint: votes there were garbage-collected);
//! * two checkpoints with different digests for one sequence number — made certain by never signing a checkpoint
//!   below the newest it signed (a replica executes in order), so that only the newest
//!   [`KEPT_CHECKPOINT_VOTES`] need be kept: the state stays bounded however long the replica executes without a
//!   checkpoint becoming stable (a long outage caught up from certified blocks) — or two new-view messages for one
//!   view.
//!
//! Every change to what it has signed marks the [`PersistedState`] dirty; [`crate::Replica::handle`] then emits
//! [`crate::Output::Persist`] *before* any send of that call. The host must make a `Persist` durable before it
//! performs the outputs that follow it. After a crash the replica is rebuilt from the last persisted state with
//! [`crate::Replica::restore`], so it cannot be tricked into signing a conflicting message: the refusal is a
//! property of the signer, not of the protocol logic around it.

use std::collections::BTreeMap;

use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Sm3Hasher, Writer};

use crate::cert::EpochStart;
use crate::crypto::Signer;
use crate::types::{
    signing_digest, Block, BlockRequest, BlockResponse, Checkpoint, CheckpointProof, Commit, Epoch, FetchRequest,
    FetchResponse, NewView, PrePrepare, Prepare, PreparedCert, PublicKey, ReplicaId, Seq, Signable, Signed, View,
    ViewChange, MAX_PREPARED_CERTS,
};

/// Vote kinds recorded by the safety rules.
const VOTE_PRE_PREPARE: u8 = 1;
const VOTE_PREPARE: u8 = 2;
const VOTE_COMMIT: u8 = 3;
const VOTE_CHECKPOINT: u8 = 4;
const VOTE_NEW_VIEW: u8 = 6;

/// Checkpoint votes kept in the persisted state, newest first: enough to sign the same checkpoint again (a
/// resend) while the window moves; older ones are covered by the rule that nothing below the newest is signed.
pub const KEPT_CHECKPOINT_VOTES: usize = 8;

/// Why the safety rules refused to sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SafetyError {
    /// A different digest was already signed for this slot.
    #[error("already signed a different digest for kind {kind} view {view} seq {seq}")]
    Conflict {
        /// Vote kind.
        kind: u8,
        /// View.
        view: View,
        /// Sequence number.
        seq: Seq,
    },
    /// The view is below the highest view entered or changed to.
    #[error("view {view} is below the signing floor {floor}")]
    OldView {
        /// Requested view.
        view: View,
        /// Lowest view still signable.
        floor: View,
    },
    /// A checkpoint below the newest one signed.
    #[error("checkpoint {seq} is below the newest checkpoint signed, {newest}")]
    CheckpointBehind {
        /// Requested sequence number.
        seq: Seq,
        /// The newest checkpoint signed.
        newest: Seq,
    },
    /// The sequence number is at or below the low-water mark.
    #[error("sequence number {seq} is at or below the low-water mark {low}")]
    BelowLowWater {
        /// Requested sequence number.
        seq: Seq,
        /// The low-water mark.
        low: Seq,
    },
    /// This replica's key is not in the current epoch's validator set.
    #[error("not a validator of epoch {0}")]
    NotAValidator(Epoch),
}

/// What a replica must keep across crashes: what it has signed, the views it moved to, the prepared certificates
/// it will report in a view change (`P`, §4.4) and its last stable checkpoint with proof (`C`, §4.3). Views are
/// numbered afresh in every epoch; everything here is of the epoch `epoch`, except the checkpoint votes, which are
/// by sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistedState {
    /// The epoch the replica is in.
    pub epoch: Epoch,
    /// Where that epoch began: its first stable checkpoint.
    pub epoch_start: EpochStart,
    /// Highest view entered.
    pub view: View,
    /// Highest view a view-change was signed for (0: none).
    pub view_change: View,
    /// Digests signed per `(kind, view, seq)`, above the low-water mark and in the current view or later.
    pub votes: BTreeMap<(u8, View, Seq), Hash32>,
    /// Highest-view prepared certificate per sequence number above the stable checkpoint.
    pub prepared: BTreeMap<Seq, PreparedCert>,
    /// The blocks of those certificates that this replica holds, by sequence number (each one's digest is its
    /// certificate's). Not needed for safety: kept so that a replica restarted after the whole validator set went
    /// down can still serve, and execute, a block that `O` re-proposes by digest.
    pub prepared_blocks: BTreeMap<Seq, Block>,
    /// Last stable checkpoint; its sequence number is the low-water mark.
    pub stable: CheckpointProof,
    /// The view changes this replica signed since it last entered a view, so that it can send exactly the same
    /// messages again (after losses or a restart) without signing anything new.
    pub own_view_changes: Vec<Signed<ViewChange>>,
}

impl PersistedState {
    /// The state of a replica that has never run.
    pub fn genesis(chain_id: &str) -> Self {
        Self::entering(0, EpochStart::genesis(chain_id))
    }

    /// The state of a replica that has signed nothing in `epoch`, which began at `start`: a validator joining
    /// the chain at that epoch, whose host synchronised the ledger up to `start` or beyond.
    pub fn entering(epoch: Epoch, start: EpochStart) -> Self {
        Self {
            epoch,
            epoch_start: start,
            view: 0,
            view_change: 0,
            votes: BTreeMap::new(),
            prepared: BTreeMap::new(),
            prepared_blocks: BTreeMap::new(),
            stable: CheckpointProof { seq: start.seq, digest: start.digest, signatures: Vec::new() },
            own_view_changes: Vec::new(),
        }
    }

    /// The low-water mark.
    pub fn low_water(&self) -> Seq {
        self.stable.seq
    }

    /// A digest of the state, for traces.
    pub fn digest(&self) -> Hash32 {
        let mut h = Sm3Hasher::new("ctchain/pbft/persisted/v1");
        h.update(self.to_bytes());
        h.finish()
    }
}

impl Encode for PersistedState {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.epoch);
        w.u64(self.epoch_start.seq);
        self.epoch_start.digest.encode_to(w);
        w.u64(self.view);
        w.u64(self.view_change);
        w.len(self.votes.len());
        for ((kind, view, seq), digest) in &self.votes {
            w.u8(*kind);
            w.u64(*view);
            w.u64(*seq);
            digest.encode_to(w);
        }
        let prepared: Vec<&PreparedCert> = self.prepared.values().collect();
        w.seq(&prepared);
        w.len(self.prepared_blocks.len());
        for (seq, block) in &self.prepared_blocks {
            w.u64(*seq);
            block.encode_to(w);
        }
        self.stable.encode_to(w);
        w.seq(&self.own_view_changes);
    }
}

impl Decode for PersistedState {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let epoch = r.u64("epoch")?;
        let epoch_start = EpochStart { seq: r.u64("epoch start")?, digest: Hash32::decode_from(r)? };
        let view = r.u64("view")?;
        let view_change = r.u64("view change")?;
        let n = r.len("votes", 4 * MAX_PREPARED_CERTS)?;
        let mut votes = BTreeMap::new();
        for _ in 0..n {
            let key = (r.u8("vote kind")?, r.u64("vote view")?, r.u64("vote seq")?);
            if votes.insert(key, Hash32::decode_from(r)?).is_some() {
                return Err(DecodeError::Invalid { field: "votes", reason: "repeated slot" });
            }
        }
        let certs: Vec<PreparedCert> = r.seq("prepared", MAX_PREPARED_CERTS)?;
        let prepared: BTreeMap<Seq, PreparedCert> = certs.into_iter().map(|c| (c.pre_prepare.body.seq, c)).collect();
        let n = r.len("prepared blocks", MAX_PREPARED_CERTS)?;
        let mut prepared_blocks = BTreeMap::new();
        for _ in 0..n {
            let seq = r.u64("prepared block seq")?;
            if prepared_blocks.last_key_value().is_some_and(|(last, _)| *last >= seq) || !prepared.contains_key(&seq) {
                return Err(DecodeError::Invalid {
                    field: "prepared blocks",
                    reason: "not in increasing order, or without a prepared certificate",
                });
            }
            prepared_blocks.insert(seq, Block::decode_from(r)?);
        }
        let stable = CheckpointProof::decode_from(r)?;
        let own_view_changes = r.seq("own view changes", MAX_PREPARED_CERTS)?;
        if stable.seq < epoch_start.seq {
            return Err(DecodeError::Invalid { field: "stable checkpoint", reason: "before the epoch's start" });
        }
        Ok(Self { epoch, epoch_start, view, view_change, votes, prepared, prepared_blocks, stable, own_view_changes })
    }
}

/// The signer behind the safety checks. See the module documentation.
pub struct SafetyRules {
    signer: Box<dyn Signer>,
    /// This replica's index in the current epoch; `None` while its key is not in the epoch's set.
    me: Option<ReplicaId>,
    chain_id: String,
    state: PersistedState,
    dirty: bool,
}

/// Bodies that carry no safety-relevant statement and may be signed freely (catch-up traffic).
pub trait Unchecked: Signable {}
impl Unchecked for FetchRequest {}
impl Unchecked for FetchResponse {}
impl Unchecked for BlockRequest {}
impl Unchecked for BlockResponse {}

impl SafetyRules {
    /// Safety rules for the holder of `signer`, validator `me` of the epoch of `state` (`None`: not one of its
    /// validators), resuming from `state`.
    pub fn new(signer: Box<dyn Signer>, me: Option<ReplicaId>, chain_id: &str, state: PersistedState) -> Self {
        Self { signer, me, chain_id: chain_id.to_owned(), state, dirty: false }
    }

    /// The public key of the signer.
    pub fn public_key(&self) -> PublicKey {
        self.signer.public_key()
    }

    /// This replica's index in the current epoch.
    pub fn me(&self) -> Option<ReplicaId> {
        self.me
    }

    /// Moves to `epoch`, which begins at `start`, as validator `me` (or none): what was signed in the previous
    /// epoch can never be signed again (the new epoch's signatures bind its number, and its sequence numbers lie
    /// above `start`), so only the checkpoint votes are kept, to be sent again to replicas finishing the previous
    /// epoch. Views begin again at 0.
    pub fn enter_epoch(&mut self, epoch: Epoch, me: Option<ReplicaId>, start: EpochStart) {
        if epoch <= self.state.epoch {
            return;
        }
        let mut next = PersistedState::entering(epoch, start);
        next.votes = self
            .state
            .votes
            .iter()
            .filter(|((k, _, s), _)| *k == VOTE_CHECKPOINT && *s >= start.seq)
            .map(|(k, d)| (*k, *d))
            .collect();
        self.state = next;
        self.me = me;
        self.dirty = true;
    }

    /// The state to persist.
    pub fn state(&self) -> &PersistedState {
        &self.state
    }

    /// Whether the state changed since the last call (and clears the flag).
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    fn floor(&self) -> View {
        self.state.view.max(self.state.view_change)
    }

    fn sign_as<T: Signable>(&self, epoch: Epoch, signer: ReplicaId, body: T) -> Signed<T> {
        let digest = signing_digest(&self.chain_id, epoch, signer, &body);
        let signature = self.signer.sign(digest.as_bytes());
        Signed { body, epoch, signer, signature }
    }

    fn member(&self) -> Result<ReplicaId, SafetyError> {
        self.me.ok_or(SafetyError::NotAValidator(self.state.epoch))
    }

    fn sign<T: Signable>(&self, body: T) -> Signed<T> {
        // Only reached after `member()` succeeded (every checked signature starts with it).
        self.sign_as(self.state.epoch, self.me.unwrap_or(ReplicaId::MAX), body)
    }

    fn check_and_record(&mut self, kind: u8, view: View, seq: Seq, digest: Hash32) -> Result<(), SafetyError> {
        self.member()?;
        let low = self.state.low_water();
        if seq <= low {
            return Err(SafetyError::BelowLowWater { seq, low });
        }
        let floor = self.floor();
        if view < floor {
            return Err(SafetyError::OldView { view, floor });
        }
        match self.state.votes.get(&(kind, view, seq)) {
            Some(d) if *d != digest => Err(SafetyError::Conflict { kind, view, seq }),
            Some(_) => Ok(()),
            None => {
                self.state.votes.insert((kind, view, seq), digest);
                self.dirty = true;
                Ok(())
            }
        }
    }

    /// Signs a pre-prepare header (as primary).
    pub fn sign_pre_prepare(&mut self, pp: PrePrepare) -> Result<Signed<PrePrepare>, SafetyError> {
        self.check_and_record(VOTE_PRE_PREPARE, pp.view, pp.seq, pp.digest)?;
        Ok(self.sign(pp))
    }

    /// Signs a prepare.
    pub fn sign_prepare(&mut self, p: Prepare) -> Result<Signed<Prepare>, SafetyError> {
        self.check_and_record(VOTE_PREPARE, p.view, p.seq, p.digest)?;
        Ok(self.sign(p))
    }

    /// Signs a commit.
    pub fn sign_commit(&mut self, c: Commit) -> Result<Signed<Commit>, SafetyError> {
        self.check_and_record(VOTE_COMMIT, c.view, c.seq, c.digest)?;
        Ok(self.sign(c))
    }

    /// Signs a checkpoint; one digest per sequence number.
    pub fn sign_checkpoint(&mut self, c: Checkpoint) -> Result<Signed<Checkpoint>, SafetyError> {
        // Checkpoints are not per view: record them under the current floor so that pruning by view keeps them
        // until the low-water mark passes them.
        self.member()?;
        let low = self.state.low_water();
        if c.seq <= low {
            return Err(SafetyError::BelowLowWater { seq: c.seq, low });
        }
        if self.state.votes.iter().any(|((k, _, s), d)| *k == VOTE_CHECKPOINT && *s == c.seq && *d == c.digest) {
            // The same statement again (a resend, or after a restart): nothing new is signed.
            return Ok(self.sign(c));
        }
        let signed: Vec<(Seq, Hash32)> = self
            .state
            .votes
            .iter()
            .filter(|((k, _, _), _)| *k == VOTE_CHECKPOINT)
            .map(|((_, _, s), d)| (*s, *d))
            .collect();
        if let Some(newest) = signed.iter().map(|(s, _)| *s).max() {
            if c.seq < newest {
                return Err(SafetyError::CheckpointBehind { seq: c.seq, newest });
            }
        }
        match signed.iter().find(|(s, _)| *s == c.seq) {
            Some((_, d)) if *d != c.digest => {
                return Err(SafetyError::Conflict { kind: VOTE_CHECKPOINT, view: 0, seq: c.seq })
            }
            Some(_) => {}
            None => {
                let floor = self.floor();
                self.state.votes.insert((VOTE_CHECKPOINT, floor, c.seq), c.digest);
                let mut kept: Vec<(u8, View, Seq)> =
                    self.state.votes.keys().filter(|(k, _, _)| *k == VOTE_CHECKPOINT).copied().collect();
                if kept.len() > KEPT_CHECKPOINT_VOTES {
                    kept.sort_unstable_by_key(|(_, _, s)| *s);
                    for key in &kept[..kept.len() - KEPT_CHECKPOINT_VOTES] {
                        self.state.votes.remove(key);
                    }
                }
                self.dirty = true;
            }
        }
        Ok(self.sign(c))
    }

    /// Signs a view change to `vc.new_view`, which must be above every view entered or changed to; from then on
    /// nothing of an earlier view is signed.
    pub fn sign_view_change(&mut self, vc: ViewChange) -> Result<Signed<ViewChange>, SafetyError> {
        self.member()?;
        let floor = self.floor();
        if vc.new_view <= floor {
            return Err(SafetyError::OldView { view: vc.new_view, floor: floor + 1 });
        }
        self.state.view_change = vc.new_view;
        let signed = self.sign(vc);
        self.state.own_view_changes.push(signed.clone());
        self.dirty = true;
        Ok(signed)
    }

    /// Signs a new-view message (as the new primary); at most one per view.
    pub fn sign_new_view(&mut self, nv: NewView) -> Result<Signed<NewView>, SafetyError> {
        self.member()?;
        let digest = Sm3Hasher::digest("ctchain/pbft/new-view/v1", nv.to_bytes());
        let floor = self.floor();
        if nv.view < floor {
            return Err(SafetyError::OldView { view: nv.view, floor });
        }
        match self.state.votes.get(&(VOTE_NEW_VIEW, nv.view, 0)) {
            Some(d) if *d != digest => {
                return Err(SafetyError::Conflict { kind: VOTE_NEW_VIEW, view: nv.view, seq: 0 })
            }
            Some(_) => {}
            None => {
                self.state.votes.insert((VOTE_NEW_VIEW, nv.view, 0), digest);
                self.dirty = true;
            }
        }
        Ok(self.sign(nv))
    }

    /// The checkpoints this replica signed above its low-water mark, signed again (the same statements): a replica
    /// restarted from its persisted state can send them once more, since its peers may depend on them for a
    /// stable checkpoint and it will not execute those sequence numbers again.
    pub fn signed_checkpoints(&self) -> Vec<Signed<Checkpoint>> {
        let low = self.state.low_water();
        if self.me.is_none() {
            return Vec::new();
        }
        self.state
            .votes
            .iter()
            .filter(|((k, _, s), _)| *k == VOTE_CHECKPOINT && *s > low)
            .map(|((_, _, seq), digest)| self.sign(Checkpoint { seq: *seq, digest: *digest }))
            .collect()
    }

    /// Signs catch-up traffic, which states nothing about agreement (`None` while not a validator).
    pub fn sign_unchecked<T: Unchecked>(&self, body: T) -> Option<Signed<T>> {
        Some(self.sign_as(self.state.epoch, self.me?, body))
    }

    /// Signs catch-up traffic as validator `signer` of another epoch: the answer to a replica still in an epoch
    /// this one has left (or not yet reached), which knows this replica by its index there.
    pub fn sign_unchecked_as<T: Unchecked>(&self, epoch: Epoch, signer: ReplicaId, body: T) -> Signed<T> {
        self.sign_as(epoch, signer, body)
    }

    /// This replica's checkpoint at the last block of the previous epoch (where the current one began), signed as
    /// validator `signer` of that epoch: the statement it signed, or would have, when it executed that block (a
    /// replica executes a sequence number once, so there is no other digest it could have signed there).
    pub fn sign_previous_epoch_end(&self, signer: ReplicaId) -> Option<Signed<Checkpoint>> {
        let epoch = self.state.epoch.checked_sub(1)?;
        let start = self.state.epoch_start;
        Some(self.sign_as(epoch, signer, Checkpoint { seq: start.seq, digest: start.digest }))
    }

    /// Records that the replica entered `view`; votes of earlier views are forgotten (they can never be signed
    /// again, since the floor rises).
    pub fn enter_view(&mut self, view: View) {
        if view > self.state.view {
            self.state.view = view;
            self.state.votes.retain(|(kind, v, _), _| *kind == VOTE_CHECKPOINT || *v >= view);
            self.state.own_view_changes.retain(|vc| vc.body.new_view > view);
            self.dirty = true;
        }
    }

    /// Records a prepared certificate, keeping the highest view per sequence number, with its block if the replica
    /// holds it (the caller checked that the block's digest is the certificate's).
    pub fn record_prepared(&mut self, cert: PreparedCert, block: Option<Block>) {
        let seq = cert.pre_prepare.body.seq;
        if seq <= self.state.low_water() {
            return;
        }
        let (newer, same_block) = match self.state.prepared.get(&seq) {
            Some(old) => (
                old.pre_prepare.body.view < cert.pre_prepare.body.view,
                old.pre_prepare.body.digest == cert.pre_prepare.body.digest,
            ),
            None => (true, false),
        };
        if newer {
            self.state.prepared.insert(seq, cert);
            if !same_block {
                self.state.prepared_blocks.remove(&seq);
            }
            if let Some(block) = block {
                self.state.prepared_blocks.insert(seq, block);
            }
            self.dirty = true;
        }
    }

    /// Keeps the block of the prepared certificate at `seq` once the replica obtained it (fetched by digest).
    pub fn keep_prepared_block(&mut self, seq: Seq, digest: Hash32, block: &Block) {
        let certified = self.state.prepared.get(&seq).is_some_and(|c| c.pre_prepare.body.digest == digest);
        if certified && !self.state.prepared_blocks.contains_key(&seq) {
            self.state.prepared_blocks.insert(seq, block.clone());
            self.dirty = true;
        }
    }

    /// Records a new stable checkpoint: it becomes the low-water mark and everything at or below it is forgotten.
    pub fn set_stable(&mut self, proof: CheckpointProof) {
        if proof.seq <= self.state.low_water() {
            return;
        }
        let low = proof.seq;
        self.state.votes.retain(|(k, _, s), _| *s > low || *k == VOTE_NEW_VIEW);
        self.state.prepared.retain(|s, _| *s > low);
        self.state.prepared_blocks.retain(|s, _| *s > low);
        self.state.stable = proof;
        self.dirty = true;
    }
}
