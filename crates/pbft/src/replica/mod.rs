//! The replica state machine: `handle(now, input) -> outputs`, with no I/O, no clock and no randomness.
//!
//! Section references are to Castro and Liskov, "Practical Byzantine Fault Tolerance", OSDI 1999, §4. This core
//! uses public-key signatures on every message, the variant the TOCS 2002 paper calls BFT-PK.
//!
//! This file holds what the host sees (what it feeds in, [`Input`]; what it must do, [`Output`]), the replica's
//! state and [`Replica::handle`], which only dispatches. Every input has its handler in the file named after its
//! message or protocol phase:
//!
//! | input | file |
//! |---|---|
//! | `PrePrepare`, `Prepare`, `Commit`; [`Input::Verdict`], [`Input::Propose`] | `normal_case.rs` (§4.2) |
//! | `Checkpoint` | `checkpoint.rs` (§4.3) |
//! | `ViewChange`, `NewView` | `view_change.rs` (§4.4, §4.5.2) |
//! | `FetchRequest`, `FetchResponse`; [`Input::SyncedBlocks`] | `catch_up.rs` (§4.3, state transfer) |
//! | `BlockRequest`, `BlockResponse` | `block_fetch.rs` (§4.4: blocks `O` names by digest) |
//! | [`Input::Start`], [`Input::Timeout`] | `timeout.rs` (§4.5.2) |
//! | [`Config`] and its checks | `config.rs` |
//! | the buffer of messages for a later view, one share per signer | `buffer.rs` |
//!
//! Invariants kept here, for every input:
//!
//! * A message reaches its handler only after its size, its encoding, its signer's index and its signature were
//!   checked; anything else is dropped and counted.
//! * After the handler, every protocol step whose precondition may have become true runs, in protocol order
//!   (`advance`): joining and completing view changes, accepting pre-prepares, voting, executing, moving the stable
//!   checkpoint, asking for a proposal, catching up.
//! * Persist before send: whatever was signed during the call is handed out in an [`Output::Persist`] placed
//!   first, so the host makes it durable before it sends anything.

mod block_fetch;
mod buffer;
mod catch_up;
mod checkpoint;
mod config;
mod epochs;
mod normal_case;
mod timeout;
mod view_change;

use std::collections::BTreeMap;

use ctchain_codec::{Decode, Hash32};

use crate::cert::{EpochStart, ValidatorSet};
use crate::crypto::{Signer, Verifier};
use crate::metrics::{DropReason, Metrics};
use crate::safety::{PersistedState, SafetyRules};
use crate::types::{
    Block, Checkpoint, Commit, CommittedBlock, Epoch, Message, NewView, PrePrepare, Prepare, ReplicaId, Seq, Signature,
    Signed, View, ViewChange,
};

use config::check_config;
pub use config::{Config, ConfigError};
pub use view_change::compute_o;

/// A timer the host arms on request ([`Output::SetTimer`]) and reports back ([`Input::Timeout`]). Timers carry a
/// generation; a timeout whose generation is not the current one is stale and ignored, so the host never has to
/// cancel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// View timer (progress in the normal case, or waiting for a new view).
    View {
        /// The view it was armed in.
        view: View,
        /// Generation.
        generation: u64,
    },
    /// Catch-up retry.
    Fetch {
        /// Generation.
        generation: u64,
    },
    /// Retry of the blocks asked for by digest, from the next peer.
    BlockFetch {
        /// Generation.
        generation: u64,
    },
}

/// Everything the host feeds the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Arms the first timers; call once after [`Replica::new`] or [`Replica::restore`].
    Start,
    /// Bytes received from the network (from any peer: the signer inside is what counts).
    Message(Vec<u8>),
    /// A timer armed earlier expired.
    Timeout(Timer),
    /// The application's verdict on an [`Output::Validate`] request.
    Verdict {
        /// View of the request.
        view: View,
        /// Sequence number of the request.
        seq: Seq,
        /// Digest of the block.
        digest: Hash32,
        /// Whether the application accepts the payload.
        valid: bool,
    },
    /// The application's payload for an [`Output::NeedProposal`] request (primary only).
    Propose {
        /// Opaque payload, at most [`MAX_PAYLOAD_BYTES`](crate::types::MAX_PAYLOAD_BYTES).
        payload: Vec<u8>,
    },
    /// Committed blocks obtained by the host some other way (e.g. from a peer's ledger); accepted only if their
    /// certificates verify, exactly as catch-up responses, and in one call only up to the earliest end of an epoch
    /// the blocks of the call could decide: the host feeds what is left again after performing the outputs.
    SyncedBlocks(Vec<CommittedBlock>),
    /// The application decided the next validator set in a block just delivered: it orders the sequence numbers
    /// from `first_seq` on. The host feeds this after performing that block's [`Output::Deliver`] and before any
    /// other input; `first_seq − 1` must be a checkpoint at least one window above that block (see
    /// [`crate::epoch`]).
    NextEpoch {
        /// The first sequence number of the new epoch.
        first_seq: Seq,
        /// Its validators, numbered as the next epoch.
        validators: ValidatorSet,
    },
    /// The application's timing changed (governance set new consensus parameters, in effect from the next
    /// block): timers armed from now on use `view_timeout_ms`, proposals are judged with `max_clock_skew_ms`.
    /// Timing is local to each replica — it decides no agreement — so it may change between any two inputs; zero
    /// values are ignored.
    Timing {
        /// [`Config::view_timeout_ms`].
        view_timeout_ms: u64,
        /// [`Config::max_clock_skew_ms`].
        max_clock_skew_ms: u64,
    },
}

/// A committed block delivered to the application, in sequence order with no gaps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The block with its commit certificate.
    pub committed: CommittedBlock,
    /// The block time: `max(block timestamp, previous block time + 1)` for data blocks, the previous block time for
    /// null blocks. Strictly increasing over data blocks (see the time rule in the crate docs).
    pub timestamp: u64,
    /// The chain digest after this block (what checkpoints sign).
    pub chain_digest: Hash32,
}

/// Where the host's ledger stands, for [`Replica::restore`]: taken from the last [`Delivered`] it stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerTip {
    /// Last delivered sequence number (0 for genesis).
    pub seq: Seq,
    /// Chain digest after it.
    pub chain_digest: Hash32,
    /// Block time after it.
    pub timestamp: u64,
}

impl LedgerTip {
    /// The tip of an empty ledger.
    pub fn genesis(chain_id: &str) -> Self {
        Self { seq: 0, chain_digest: crate::types::genesis_digest(chain_id), timestamp: 0 }
    }
}

/// Everything the core asks the host to do, in order. The host performs them in this order; in particular it
/// makes each [`Output::Persist`] durable before performing any output after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Make this state durable (always the first output of a call when present).
    Persist(Box<PersistedState>),
    /// Send to one validator: `to` is its index in the validator set of the message's epoch
    /// ([`Message::epoch`]).
    Send {
        /// Recipient.
        to: ReplicaId,
        /// Message.
        message: Message,
    },
    /// Send to every other validator of the message's epoch ([`Message::epoch`]).
    Broadcast(Message),
    /// Report [`Input::Timeout`] with this timer after `after_ms`.
    SetTimer {
        /// Timer to report.
        timer: Timer,
        /// Delay.
        after_ms: u64,
    },
    /// Ask the application whether this proposal is valid; answer with [`Input::Verdict`].
    Validate {
        /// View.
        view: View,
        /// Sequence number.
        seq: Seq,
        /// Block digest.
        digest: Hash32,
        /// The proposed block.
        block: Block,
    },
    /// As primary, ask the application for the next payload; answer with [`Input::Propose`].
    NeedProposal {
        /// View.
        view: View,
        /// Sequence number the payload will get.
        seq: Seq,
    },
    /// A block is final: store it (with its certificate) and execute it.
    Deliver(Box<Delivered>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    /// Pre-prepare received, not yet checked (waiting for its predecessor).
    Received,
    /// Sent to the application for validation.
    Validating,
    /// Accepted: the replica prepares it.
    Accepted,
    /// Rejected (bad timestamp or invalid payload).
    Rejected,
}

#[derive(Clone, Debug)]
struct Slot {
    pre_prepare: Option<Signed<PrePrepare>>,
    /// The block the pre-prepare names, once held: a slot of `O` may be prepared and committed before its block
    /// arrives (each was checked by a quorum, or is null), but it is executed only with it.
    block: Option<Block>,
    digest: Hash32,
    state: SlotState,
    prepares: BTreeMap<ReplicaId, Signed<Prepare>>,
    commits: BTreeMap<ReplicaId, Signed<Commit>>,
    sent_prepare: bool,
    sent_commit: bool,
    committed: Option<CommittedBlock>,
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            pre_prepare: None,
            block: None,
            digest: Hash32::default(),
            state: SlotState::Received,
            prepares: BTreeMap::new(),
            commits: BTreeMap::new(),
            sent_prepare: false,
            sent_commit: false,
            committed: None,
        }
    }
}

/// One PBFT replica. See the crate documentation for the protocol and its invariants.
pub struct Replica {
    cfg: Config,
    verifier: Box<dyn Verifier>,
    safety: SafetyRules,
    now: u64,
    view: View,
    /// `true` in the normal case of `view`; `false` while changing to `view` (waiting for its new-view).
    normal: bool,
    slots: BTreeMap<Seq, Slot>,
    last_exec: Seq,
    chain: Hash32,
    last_ts: u64,
    exec_digests: BTreeMap<Seq, Hash32>,
    checkpoint_votes: BTreeMap<ReplicaId, BTreeMap<Seq, (Hash32, Signature)>>,
    store: BTreeMap<Seq, CommittedBlock>,
    view_changes: BTreeMap<View, BTreeMap<ReplicaId, Signed<ViewChange>>>,
    new_view: Option<Signed<NewView>>,
    vc_timer_armed: bool,
    backoff: u32,
    buffer: buffer::FutureBuffer,
    /// Encoded size of the message being handled (set by `on_bytes`, and by the replay of buffered messages).
    incoming_size: usize,
    /// The last block delivered before the current call: no block more than a window above it is accepted in
    /// this call, since the host has not yet told what the blocks of this call decided (`crate::epoch`).
    exec_at_call: Seq,
    /// Checkpoint votes of validators of epochs this replica has not reached, by epoch and signer: claims that
    /// the chain is ahead, and the first votes of the epoch once it is entered.
    future_checkpoints: BTreeMap<(Epoch, ReplicaId), BTreeMap<Seq, (Hash32, Signature)>>,
    /// The stable checkpoint named by view changes of validators of epochs this replica has not reached, by epoch
    /// and signer: claims that the chain is ahead, like their checkpoints.
    future_claims: BTreeMap<(Epoch, ReplicaId), Seq>,
    /// This replica's checkpoint at the last block of every epoch it left as one of its validators, signed then:
    /// replicas still finishing that epoch learn from it that they are behind.
    final_checkpoints: BTreeMap<Epoch, Signed<Checkpoint>>,
    /// When a replica of an epoch this one has left was last sent blocks unasked, by epoch and signer.
    helped: BTreeMap<(Epoch, ReplicaId), u64>,
    timer_generation: u64,
    fetch_generation: u64,
    /// The catch-up request awaiting its answer: the peer asked and the first sequence number asked for.
    fetch_outstanding: Option<(ReplicaId, Seq)>,
    fetch_peer: ReplicaId,
    block_fetch_generation: u64,
    block_fetch_in_flight: bool,
    block_fetch_attempt: usize,
    proposal_requested: Option<(View, Seq)>,
    metrics: Metrics,
}

impl Replica {
    /// A replica starting from genesis.
    pub fn new(cfg: Config, signer: Box<dyn Signer>, verifier: Box<dyn Verifier>) -> Result<Self, ConfigError> {
        let chain_id = cfg.epochs.chain_id().to_owned();
        Self::restore(cfg, signer, verifier, PersistedState::genesis(&chain_id), LedgerTip::genesis(&chain_id), vec![])
    }

    /// A replica resuming after a crash from its last persisted state and the tip of its ledger. `recent` are the
    /// last committed blocks of the ledger (to serve catch-up requests; may be empty).
    ///
    /// If the ledger is at the last block of an epoch the persisted state has not entered, the replica enters the
    /// next one; a validator joining the chain further into an epoch is given
    /// [`PersistedState::entering`] that epoch by its host.
    pub fn restore(
        cfg: Config,
        signer: Box<dyn Signer>,
        verifier: Box<dyn Verifier>,
        mut persisted: PersistedState,
        tip: LedgerTip,
        recent: Vec<CommittedBlock>,
    ) -> Result<Self, ConfigError> {
        check_config(&cfg)?;
        let ledger_epoch = cfg.epochs.epoch_of(tip.seq + 1);
        if persisted.epoch < ledger_epoch {
            let start = cfg.epochs.first_seq(ledger_epoch).map_or(0, |f| f - 1);
            if tip.seq != start || persisted.epoch + 1 != ledger_epoch {
                return Err(ConfigError::EpochStartUnknown { ledger: ledger_epoch, persisted: persisted.epoch });
            }
            // Entering the epoch was not persisted: nothing was signed in it.
            persisted = PersistedState::entering(ledger_epoch, EpochStart { seq: tip.seq, digest: tip.chain_digest });
        }
        let epoch = persisted.epoch;
        let validators = cfg.epochs.get(epoch).ok_or(ConfigError::UnknownEpoch(epoch))?;
        let me = validators.index_of(&signer.public_key());
        let n = validators.n();
        let view = persisted.view.max(persisted.view_change);
        let normal = persisted.view_change <= persisted.view;
        let chain_id = cfg.epochs.chain_id().to_owned();
        let store = recent.into_iter().filter(|b| b.seq <= tip.seq).map(|b| (b.seq, b)).collect();
        let buffer = buffer::FutureBuffer::new(n, cfg.max_buffered, cfg.max_buffered_bytes);
        let safety = SafetyRules::new(signer, me, &chain_id, persisted);
        // The checkpoints signed before the crash: peers may still need them for a stable checkpoint, and this
        // replica will not execute those sequence numbers again to sign them anew.
        let mut own_checkpoints = BTreeMap::new();
        let mut exec_digests = BTreeMap::new();
        for c in safety.signed_checkpoints() {
            exec_digests.insert(c.body.seq, c.body.digest);
            own_checkpoints.insert(c.body.seq, (c.body.digest, c.signature));
        }
        let mut checkpoint_votes = BTreeMap::new();
        if let (Some(me), false) = (me, own_checkpoints.is_empty()) {
            checkpoint_votes.insert(me, own_checkpoints);
        }
        Ok(Self {
            fetch_peer: me.unwrap_or(0),
            cfg,
            verifier,
            safety,
            now: 0,
            view,
            normal,
            slots: BTreeMap::new(),
            last_exec: tip.seq,
            chain: tip.chain_digest,
            last_ts: tip.timestamp,
            exec_digests,
            checkpoint_votes,
            store,
            view_changes: BTreeMap::new(),
            new_view: None,
            vc_timer_armed: false,
            backoff: 0,
            buffer,
            incoming_size: 0,
            exec_at_call: tip.seq,
            future_checkpoints: BTreeMap::new(),
            future_claims: BTreeMap::new(),
            final_checkpoints: BTreeMap::new(),
            helped: BTreeMap::new(),
            timer_generation: 0,
            fetch_generation: 0,
            fetch_outstanding: None,
            block_fetch_generation: 0,
            block_fetch_in_flight: false,
            block_fetch_attempt: 0,
            proposal_requested: None,
            metrics: Metrics::default(),
        })
    }

    /// Whether `f + 1` replicas claim checkpoints beyond what this replica executed: it is catching up.
    pub fn is_catching_up(&self) -> bool {
        self.behind_target() > self.last_exec
    }

    /// The block time after the last executed sequence number: a primary's next proposal is stamped
    /// `max(now, last_block_time + 1)`.
    pub fn last_block_time(&self) -> u64 {
        self.last_ts
    }

    /// The current view (the target view while a view change is in progress).
    pub fn view(&self) -> View {
        self.view
    }

    /// Whether the replica is in the normal case of its view (not waiting for a new-view).
    pub fn is_normal(&self) -> bool {
        self.normal
    }

    /// This replica's index in the current epoch's validator set; `None` while it is not one of them (it
    /// follows the chain without voting).
    pub fn id(&self) -> Option<ReplicaId> {
        self.safety.me()
    }

    /// The epoch the replica is in: it has executed every block of the earlier ones.
    pub fn epoch(&self) -> Epoch {
        self.safety.state().epoch
    }

    /// The validator sets known to the replica.
    pub fn schedule(&self) -> &crate::EpochSchedule {
        &self.cfg.epochs
    }

    /// The validator set of the current epoch.
    pub fn validators(&self) -> &ValidatorSet {
        self.cfg.epochs.get(self.epoch()).unwrap_or_else(|| self.cfg.epochs.earliest_set())
    }

    /// The primary of the current view.
    pub fn primary(&self) -> ReplicaId {
        self.validators().primary(self.view)
    }

    /// The last delivered sequence number.
    pub fn last_executed(&self) -> Seq {
        self.last_exec
    }

    /// The low-water mark (last stable checkpoint).
    pub fn low_water(&self) -> Seq {
        self.safety.state().low_water()
    }

    /// The chain digest after the last delivered block.
    pub fn chain_digest(&self) -> Hash32 {
        self.chain
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The state that was last handed out in [`Output::Persist`] (or restored from).
    pub fn persisted(&self) -> &PersistedState {
        self.safety.state()
    }

    /// A one-line description of the replica's state, for traces and failing tests.
    pub fn describe(&self) -> String {
        let slots: Vec<String> = self
            .slots
            .iter()
            .map(|(n, s)| {
                format!(
                    "{n}:{:?}{}{}p{}c{}{}",
                    s.state,
                    if s.pre_prepare.is_some() { "+pp" } else { "" },
                    if s.pre_prepare.is_some() && s.block.is_none() { "-block" } else { "" },
                    s.prepares.len(),
                    s.commits.len(),
                    if s.committed.is_some() { "!" } else { "" }
                )
            })
            .collect();
        let vcs: Vec<String> =
            self.view_changes.iter().map(|(v, m)| format!("{v}:{:?}", m.keys().collect::<Vec<_>>())).collect();
        format!(
            "epoch {} id {:?} view {} normal {} exec {} low {} vc_armed {} backoff {} behind {} buffer {} slots [{}] \
             vcs [{}] checkpoints {:?} req {:?} dropped {:?}",
            self.epoch(),
            self.id(),
            self.view,
            self.normal,
            self.last_exec,
            self.low(),
            self.vc_timer_armed,
            self.backoff,
            self.behind_target(),
            self.buffer.len(),
            slots.join(" "),
            vcs.join(" "),
            self.checkpoint_votes
                .iter()
                .map(|(id, v)| (*id, v.keys().copied().collect::<Vec<_>>()))
                .collect::<Vec<_>>(),
            self.proposal_requested,
            self.metrics.dropped
        )
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Processes one input at local time `now_ms` and returns what the host must do, in order.
    pub fn handle(&mut self, now_ms: u64, input: Input) -> Vec<Output> {
        self.now = now_ms;
        self.exec_at_call = self.last_exec;
        let mut out = Vec::new();
        let member = self.id().is_some();
        match input {
            Input::Start if member => self.on_start(&mut out),
            Input::Message(bytes) => self.on_bytes(&bytes, &mut out),
            Input::Timeout(timer) if member => self.on_timeout(timer, &mut out),
            Input::Verdict { view, seq, digest, valid } if member => {
                self.on_verdict(view, seq, digest, valid, &mut out)
            }
            Input::Propose { .. } if !member => self.metrics.drop(DropReason::NotInEpoch),
            Input::Propose { payload } => self.on_propose(payload, &mut out),
            Input::SyncedBlocks(blocks) => self.on_blocks(blocks, &mut out),
            Input::NextEpoch { first_seq, validators } => self.on_next_epoch(first_seq, validators, &mut out),
            Input::Timing { view_timeout_ms, max_clock_skew_ms } => self.set_timing(view_timeout_ms, max_clock_skew_ms),
            Input::Start | Input::Timeout(_) | Input::Verdict { .. } => {}
        }
        if self.id().is_some() {
            self.advance(&mut out);
        }
        self.metrics.messages_out +=
            out.iter().filter(|o| matches!(o, Output::Send { .. } | Output::Broadcast(_))).count() as u64;
        // Structural durability rule: whatever was signed during this call is persisted before anything is sent.
        if self.safety.take_dirty() {
            out.insert(0, Output::Persist(Box::new(self.safety.state().clone())));
        }
        out
    }

    // ----- dispatch ------------------------------------------------------------------------------------------

    fn on_bytes(&mut self, bytes: &[u8], out: &mut Vec<Output>) {
        if bytes.len() > self.cfg.max_message_bytes {
            return self.metrics.drop(DropReason::Oversized);
        }
        self.incoming_size = bytes.len();
        let Ok(msg) = Message::from_bytes(bytes) else {
            return self.metrics.drop(DropReason::Malformed);
        };
        let epoch = msg.epoch();
        let Some(v) = self.cfg.epochs.get(epoch) else {
            return self.metrics.drop(DropReason::UnknownEpoch);
        };
        if msg.signer() as usize >= v.n() {
            return self.metrics.drop(DropReason::NotValidator);
        }
        if let Some(seq) = msg.seq() {
            let first = self.cfg.epochs.first_seq(epoch).unwrap_or(1);
            let after_last = self.cfg.epochs.last_seq(epoch).is_some_and(|last| seq > last);
            if seq < first || after_last {
                return self.metrics.drop(DropReason::WrongEpoch);
            }
        }
        let verifier = self.verifier.as_ref();
        let ok = match &msg {
            Message::PrePrepare(m) => v.verify_signed(verifier, &m.pre_prepare),
            Message::Prepare(m) => v.verify_signed(verifier, m),
            Message::Commit(m) => v.verify_signed(verifier, m),
            Message::Checkpoint(m) => v.verify_signed(verifier, m),
            Message::ViewChange(m) => v.verify_signed(verifier, m),
            Message::NewView(m) => v.verify_signed(verifier, m),
            Message::FetchRequest(m) => v.verify_signed(verifier, m),
            Message::FetchResponse(m) => v.verify_signed(verifier, m),
            Message::BlockRequest(m) => v.verify_signed(verifier, m),
            Message::BlockResponse(m) => v.verify_signed(verifier, m),
        };
        if ok.is_err() {
            return self.metrics.drop(DropReason::BadSignature);
        }
        self.metrics.messages_in += 1;
        match epoch.cmp(&self.epoch()) {
            std::cmp::Ordering::Equal if self.id().is_some() => self.on_message(msg, out),
            std::cmp::Ordering::Equal => match msg {
                Message::FetchRequest(m) => self.on_fetch_request(m, out),
                _ => self.metrics.drop(DropReason::NotInEpoch),
            },
            std::cmp::Ordering::Less => self.on_old_epoch_message(msg, out),
            std::cmp::Ordering::Greater => self.on_future_epoch_message(msg, out),
        }
    }

    /// A message whose signature verified.
    pub(super) fn on_message(&mut self, msg: Message, out: &mut Vec<Output>) {
        match msg {
            Message::PrePrepare(m) => self.on_pre_prepare(m, out),
            Message::Prepare(m) => self.on_prepare(m),
            Message::Commit(m) => self.on_commit(m),
            Message::Checkpoint(m) => self.on_checkpoint(m),
            Message::ViewChange(m) => self.on_view_change(m, out),
            Message::NewView(m) => self.on_new_view(m, out),
            Message::FetchRequest(m) => self.on_fetch_request(m, out),
            Message::FetchResponse(m) => self.on_fetch_response(m, out),
            Message::BlockRequest(m) => self.on_block_request(m, out),
            Message::BlockResponse(m) => self.on_block_response(m),
        }
    }

    /// Runs every step whose precondition may have become true, in protocol order.
    fn advance(&mut self, out: &mut Vec<Output>) {
        self.join_view_change(out);
        self.send_new_view(out);
        if !self.normal && !self.vc_timer_armed {
            // §4.5.2: the timer for the new view starts once a quorum asks for it.
            if self.view_changes.get(&self.view).map_or(0, |v| v.len()) >= self.quorum() {
                self.vc_timer_armed = true;
                self.arm_view_timer(out);
                self.backoff = self.backoff.saturating_add(1);
            }
        }
        if self.normal {
            self.accept_pre_prepares(out);
            self.vote(out);
        }
        self.execute_committed(out);
        self.update_stable();
        self.request_proposal(out);
        self.fetch(out);
        self.fetch_missing_blocks(out);
    }

    // ----- helpers -------------------------------------------------------------------------------------------

    pub(super) fn n(&self) -> usize {
        self.validators().n()
    }

    pub(super) fn quorum(&self) -> usize {
        self.validators().quorum()
    }

    pub(super) fn low(&self) -> Seq {
        self.safety.state().low_water()
    }

    /// The high-water mark: one window above the low-water mark, and never past the current epoch's last block.
    pub(super) fn high(&self) -> Seq {
        let high = self.low().saturating_add(self.cfg.window);
        self.cfg.epochs.last_seq(self.epoch()).map_or(high, |last| high.min(last))
    }

    pub(super) fn chain_id(&self) -> &str {
        self.cfg.epochs.chain_id()
    }

    /// Where the current epoch began.
    pub(super) fn epoch_start(&self) -> EpochStart {
        self.safety.state().epoch_start
    }

    /// This replica's index in the current epoch (only called on paths that run for validators).
    pub(super) fn me(&self) -> ReplicaId {
        self.id().unwrap_or(ReplicaId::MAX)
    }
}
