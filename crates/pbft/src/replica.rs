//! The replica state machine: `handle(now, input) -> outputs`, with no I/O, no clock and no randomness.
//!
//! Section references are to Castro and Liskov, "Practical Byzantine Fault Tolerance", OSDI 1999, §4. This core
//! uses public-key signatures on every message, the variant the TOCS 2002 paper calls BFT-PK.

use std::collections::BTreeMap;

use ctchain_codec::{Decode, Encode, Hash32};

use crate::cert::ValidatorSet;
use crate::crypto::{Signer, Verifier};
use crate::metrics::{DropReason, Metrics};
use crate::safety::{PersistedState, SafetyRules};
use crate::types::{
    chain_digest, Block, Checkpoint, CheckpointProof, Commit, CommitCertificate, CommittedBlock, FetchRequest,
    FetchResponse, Message, NewView, PrePrepare, Prepare, PreparedCert, ReplicaId, Seq, Signature, Signed, View,
    ViewChange, MAX_CHAIN_ID_BYTES, MAX_FETCH_BLOCKS, MAX_PAYLOAD_BYTES, MAX_VALIDATORS,
};

/// Tunable parameters of a replica. All durations are in milliseconds of the host's clock.
#[derive(Clone, Debug)]
pub struct Config {
    /// The validators and the chain id.
    pub validators: ValidatorSet,
    /// This replica's index.
    pub me: ReplicaId,
    /// `K`: a checkpoint is taken every `K` sequence numbers (§4.3).
    pub checkpoint_interval: u64,
    /// `L`: sequence numbers in flight above the low-water mark, a multiple of `K` (§4.3, high-water mark).
    pub window: u64,
    /// Base view timeout; it doubles with every consecutive view change without progress (§4.5.2).
    pub view_timeout_ms: u64,
    /// Cap of the doubling view timeout.
    pub max_view_timeout_ms: u64,
    /// How long to wait for a catch-up response before asking another peer.
    pub fetch_timeout_ms: u64,
    /// `Δ`: a backup rejects a proposal whose timestamp is more than `Δ` away from its own clock.
    pub max_clock_skew_ms: u64,
    /// Larger messages are dropped before decoding.
    pub max_message_bytes: usize,
    /// Messages for views more than this far ahead are dropped.
    pub max_view_ahead: u64,
    /// Checkpoint claims further than this above the low-water mark are dropped.
    pub max_checkpoint_ahead: u64,
    /// Committed blocks kept in memory to serve catch-up requests.
    pub retain_blocks: u64,
    /// Messages buffered for a view not yet entered.
    pub max_buffered: usize,
}

impl Config {
    /// Defaults for validator `me`: `K = 16`, `L = 64`, 2 s view timeout, `Δ = 5 s`, 16 MiB messages.
    pub fn new(validators: ValidatorSet, me: ReplicaId) -> Self {
        Self {
            validators,
            me,
            checkpoint_interval: 16,
            window: 64,
            view_timeout_ms: 2_000,
            max_view_timeout_ms: 60_000,
            fetch_timeout_ms: 1_000,
            max_clock_skew_ms: 5_000,
            max_message_bytes: 16 << 20,
            max_view_ahead: 64,
            max_checkpoint_ahead: 1 << 20,
            retain_blocks: 1024,
            max_buffered: 4096,
        }
    }
}

/// Why a replica cannot be built from a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The validator set is empty or too large.
    #[error("validator set of size {0} is not supported")]
    BadValidatorSet(usize),
    /// `me` is not an index of the validator set.
    #[error("replica {0} is not in the validator set")]
    NotAValidator(ReplicaId),
    /// The signer's key is not the key of validator `me`.
    #[error("the signer's public key is not validator {0}'s key")]
    WrongKey(ReplicaId),
    /// `K` or `L` is invalid.
    #[error("window {window} must be a positive multiple of the checkpoint interval {interval}")]
    BadWindow {
        /// `L`.
        window: u64,
        /// `K`.
        interval: u64,
    },
    /// The chain id is longer than [`MAX_CHAIN_ID_BYTES`].
    #[error("chain id is too long")]
    ChainIdTooLong,
}

/// A timer the host arms on request ([`Output::SetTimer`]) and reports back ([`Input::Timeout`]). Timers carry an
/// epoch; a timeout whose epoch is not the current one is stale and ignored, so the host never has to cancel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// View timer (progress in the normal case, or waiting for a new view).
    View {
        /// The view it was armed in.
        view: View,
        /// Epoch.
        epoch: u64,
    },
    /// Catch-up retry.
    Fetch {
        /// Epoch.
        epoch: u64,
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
        /// Opaque payload, at most [`MAX_PAYLOAD_BYTES`].
        payload: Vec<u8>,
    },
    /// Committed blocks obtained by the host some other way (e.g. from a peer's ledger); accepted only if their
    /// certificates verify, exactly as catch-up responses.
    SyncedBlocks(Vec<CommittedBlock>),
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
    /// Send to one validator.
    Send {
        /// Recipient.
        to: ReplicaId,
        /// Message.
        message: Message,
    },
    /// Send to every other validator.
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

/// Checkpoint votes kept per signer (the most recent ones).
const CHECKPOINT_VOTES_PER_SIGNER: usize = 4;

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
    buffer: Vec<Message>,
    timer_epoch: u64,
    fetch_epoch: u64,
    fetch_in_flight: bool,
    fetch_peer: ReplicaId,
    proposal_requested: Option<(View, Seq)>,
    metrics: Metrics,
}

fn check_config(cfg: &Config, signer: &dyn Signer) -> Result<(), ConfigError> {
    let n = cfg.validators.n();
    if n == 0 || n > MAX_VALIDATORS {
        return Err(ConfigError::BadValidatorSet(n));
    }
    let key = cfg.validators.key(cfg.me).ok_or(ConfigError::NotAValidator(cfg.me))?;
    if *key != signer.public_key() {
        return Err(ConfigError::WrongKey(cfg.me));
    }
    let (k, l) = (cfg.checkpoint_interval, cfg.window);
    if k == 0 || l == 0 || l % k != 0 || l as usize > crate::types::MAX_PREPARED_CERTS {
        return Err(ConfigError::BadWindow { window: l, interval: k });
    }
    if cfg.validators.chain_id().len() > MAX_CHAIN_ID_BYTES {
        return Err(ConfigError::ChainIdTooLong);
    }
    Ok(())
}

impl Replica {
    /// A replica starting from genesis.
    pub fn new(cfg: Config, signer: Box<dyn Signer>, verifier: Box<dyn Verifier>) -> Result<Self, ConfigError> {
        let chain_id = cfg.validators.chain_id().to_owned();
        Self::restore(cfg, signer, verifier, PersistedState::genesis(&chain_id), LedgerTip::genesis(&chain_id), vec![])
    }

    /// A replica resuming after a crash from its last persisted state and the tip of its ledger. `recent` are the
    /// last committed blocks of the ledger (to serve catch-up requests; may be empty).
    pub fn restore(
        cfg: Config,
        signer: Box<dyn Signer>,
        verifier: Box<dyn Verifier>,
        persisted: PersistedState,
        tip: LedgerTip,
        recent: Vec<CommittedBlock>,
    ) -> Result<Self, ConfigError> {
        check_config(&cfg, signer.as_ref())?;
        let view = persisted.view.max(persisted.view_change);
        let normal = persisted.view_change <= persisted.view;
        let chain_id = cfg.validators.chain_id().to_owned();
        let me = cfg.me;
        let store = recent.into_iter().filter(|b| b.seq <= tip.seq).map(|b| (b.seq, b)).collect();
        Ok(Self {
            fetch_peer: me,
            cfg,
            verifier,
            safety: SafetyRules::new(signer, me, &chain_id, persisted),
            now: 0,
            view,
            normal,
            slots: BTreeMap::new(),
            last_exec: tip.seq,
            chain: tip.chain_digest,
            last_ts: tip.timestamp,
            exec_digests: BTreeMap::new(),
            checkpoint_votes: BTreeMap::new(),
            store,
            view_changes: BTreeMap::new(),
            new_view: None,
            vc_timer_armed: false,
            backoff: 0,
            buffer: Vec::new(),
            timer_epoch: 0,
            fetch_epoch: 0,
            fetch_in_flight: false,
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

    /// This replica's index.
    pub fn id(&self) -> ReplicaId {
        self.cfg.me
    }

    /// The primary of the current view.
    pub fn primary(&self) -> ReplicaId {
        self.cfg.validators.primary(self.view)
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
                    "{n}:{:?}{}p{}c{}{}",
                    s.state,
                    if s.pre_prepare.is_some() { "+pp" } else { "" },
                    s.prepares.len(),
                    s.commits.len(),
                    if s.committed.is_some() { "!" } else { "" }
                )
            })
            .collect();
        let vcs: Vec<String> =
            self.view_changes.iter().map(|(v, m)| format!("{v}:{:?}", m.keys().collect::<Vec<_>>())).collect();
        format!(
            "id {} view {} normal {} exec {} low {} vc_armed {} backoff {} behind {} buffer {} slots [{}] vcs [{}] \
             req {:?} dropped {:?}",
            self.cfg.me,
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
        let mut out = Vec::new();
        match input {
            Input::Start => self.on_start(&mut out),
            Input::Message(bytes) => self.on_bytes(&bytes, &mut out),
            Input::Timeout(timer) => self.on_timeout(timer, &mut out),
            Input::Verdict { view, seq, digest, valid } => self.on_verdict(view, seq, digest, valid, &mut out),
            Input::Propose { payload } => self.on_propose(payload, &mut out),
            Input::SyncedBlocks(blocks) => self.on_blocks(blocks, &mut out),
        }
        self.advance(&mut out);
        self.metrics.messages_out +=
            out.iter().filter(|o| matches!(o, Output::Send { .. } | Output::Broadcast(_))).count() as u64;
        // Structural durability rule: whatever was signed during this call is persisted before anything is sent.
        if self.safety.take_dirty() {
            out.insert(0, Output::Persist(Box::new(self.safety.state().clone())));
        }
        out
    }

    // ----- helpers -------------------------------------------------------------------------------------------

    fn n(&self) -> usize {
        self.cfg.validators.n()
    }

    fn quorum(&self) -> usize {
        self.cfg.validators.quorum()
    }

    fn low(&self) -> Seq {
        self.safety.state().low_water()
    }

    fn high(&self) -> Seq {
        self.low().saturating_add(self.cfg.window)
    }

    fn chain_id(&self) -> &str {
        self.cfg.validators.chain_id()
    }

    fn view_timeout(&self) -> u64 {
        let factor = 1u64.checked_shl(self.backoff.min(32)).unwrap_or(u64::MAX);
        self.cfg.view_timeout_ms.saturating_mul(factor).min(self.cfg.max_view_timeout_ms)
    }

    fn arm_view_timer(&mut self, out: &mut Vec<Output>) {
        self.timer_epoch += 1;
        out.push(Output::SetTimer {
            timer: Timer::View { view: self.view, epoch: self.timer_epoch },
            after_ms: self.view_timeout(),
        });
    }

    /// The highest view that at least `f + 1` other replicas (so at least one honest) have entered, judging by the
    /// normal-case messages for later views this replica buffered; `None` if no such view is above its own.
    fn view_reached_by_others(&self) -> Option<View> {
        let mut highest: BTreeMap<ReplicaId, View> = BTreeMap::new();
        for m in &self.buffer {
            let signer = m.signer();
            if signer == self.cfg.me || !matches!(m, Message::PrePrepare(_) | Message::Prepare(_) | Message::Commit(_))
            {
                continue;
            }
            if let Some(v) = m.view().filter(|v| *v > self.view) {
                let entry = highest.entry(signer).or_insert(v);
                *entry = (*entry).max(v);
            }
        }
        let mut views: Vec<View> = highest.into_values().collect();
        views.sort_unstable_by(|a, b| b.cmp(a));
        views.get(self.cfg.validators.f()).copied()
    }

    /// Whether f + 1 replicas (so at least one honest) claim checkpoints above what this replica executed, or a
    /// stable checkpoint is above it: then it is behind and catches up instead of blaming the primary.
    fn behind_target(&self) -> Seq {
        let mut target = self.low();
        let mut claims: Vec<Seq> = self
            .checkpoint_votes
            .iter()
            .filter(|(id, _)| **id != self.cfg.me)
            .filter_map(|(_, votes)| votes.keys().next_back().copied())
            .collect();
        claims.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(c) = claims.get(self.cfg.validators.f()) {
            target = target.max(*c);
        }
        target
    }

    /// What to fetch: up to [`Self::behind_target`], or up to a block committed here whose predecessors are
    /// missing.
    fn fetch_target(&self) -> Seq {
        let mut target = self.behind_target();
        if let Some((seq, _)) = self.slots.iter().rev().find(|(_, s)| s.committed.is_some()) {
            target = target.max(*seq);
        }
        target
    }

    /// The block time before `seq`, if every sequence number from the last executed one up to `seq − 1` has a
    /// known block (committed, or accepted or being validated in this view).
    fn ts_before(&self, seq: Seq) -> Option<u64> {
        if seq <= self.last_exec {
            return None;
        }
        let mut t = self.last_ts;
        for n in self.last_exec + 1..seq {
            let slot = self.slots.get(&n)?;
            let block = match (&slot.committed, &slot.pre_prepare) {
                (Some(cb), _) => &cb.block,
                (None, Some(pp)) if matches!(slot.state, SlotState::Accepted | SlotState::Validating) => &pp.body.block,
                _ => return None,
            };
            if let Some(ts) = block.timestamp() {
                t = ts.max(t.saturating_add(1));
            }
        }
        Some(t)
    }

    // ----- inputs --------------------------------------------------------------------------------------------

    fn on_start(&mut self, out: &mut Vec<Output>) {
        self.arm_view_timer(out);
        if !self.normal {
            // Restarted during a view change: the persisted view changes are sent again on the timer.
            let own: Vec<_> = self.safety.state().own_view_changes.clone();
            for vc in own {
                self.view_changes.entry(vc.body.new_view).or_default().insert(self.cfg.me, vc);
            }
        }
    }

    fn on_bytes(&mut self, bytes: &[u8], out: &mut Vec<Output>) {
        if bytes.len() > self.cfg.max_message_bytes {
            return self.metrics.drop(DropReason::Oversized);
        }
        let Ok(msg) = Message::from_bytes(bytes) else {
            return self.metrics.drop(DropReason::Malformed);
        };
        if msg.signer() as usize >= self.n() {
            return self.metrics.drop(DropReason::NotValidator);
        }
        let v = &self.cfg.validators;
        let verifier = self.verifier.as_ref();
        let ok = match &msg {
            Message::PrePrepare(m) => v.verify_signed(verifier, m),
            Message::Prepare(m) => v.verify_signed(verifier, m),
            Message::Commit(m) => v.verify_signed(verifier, m),
            Message::Checkpoint(m) => v.verify_signed(verifier, m),
            Message::ViewChange(m) => v.verify_signed(verifier, m),
            Message::NewView(m) => v.verify_signed(verifier, m),
            Message::FetchRequest(m) => v.verify_signed(verifier, m),
            Message::FetchResponse(m) => v.verify_signed(verifier, m),
        };
        if ok.is_err() {
            return self.metrics.drop(DropReason::BadSignature);
        }
        self.metrics.messages_in += 1;
        self.on_message(msg, out);
    }

    /// A message whose signature verified.
    fn on_message(&mut self, msg: Message, out: &mut Vec<Output>) {
        match msg {
            Message::PrePrepare(m) => self.on_pre_prepare(m, out),
            Message::Prepare(m) => self.on_prepare(m),
            Message::Commit(m) => self.on_commit(m),
            Message::Checkpoint(m) => self.on_checkpoint(m),
            Message::ViewChange(m) => self.on_view_change(m, out),
            Message::NewView(m) => self.on_new_view(m, out),
            Message::FetchRequest(m) => self.on_fetch_request(m, out),
            Message::FetchResponse(m) => self.on_blocks(m.body.blocks, out),
        }
    }

    /// Normal-case view gate: `Some(())` to process now; otherwise the message was buffered or dropped.
    fn gate_view(&mut self, view: View, msg: impl FnOnce() -> Message) -> Option<()> {
        if view < self.view {
            self.metrics.drop(DropReason::OldView);
            return None;
        }
        if view > self.view.saturating_add(self.cfg.max_view_ahead) {
            self.metrics.drop(DropReason::FarFutureView);
            return None;
        }
        if view == self.view && self.normal {
            return Some(());
        }
        if self.buffer.len() >= self.cfg.max_buffered {
            self.metrics.drop(DropReason::BufferFull);
        } else {
            self.buffer.push(msg());
        }
        None
    }

    /// Watermark gate (§4.2: `h < n ≤ H`).
    fn gate_seq(&mut self, seq: Seq) -> Option<()> {
        if seq <= self.low() {
            self.metrics.drop(DropReason::BelowWatermark);
            return None;
        }
        if seq > self.high() {
            self.metrics.drop(DropReason::OutsideWindow);
            return None;
        }
        Some(())
    }

    /// §4.2: a backup accepts a pre-prepare if it is signed by the primary, in its view, inside the watermarks, and
    /// it has not accepted another one for the same view and sequence number. The timestamp and the application
    /// check follow in sequence order in [`Self::accept_pre_prepares`].
    fn on_pre_prepare(&mut self, m: Signed<PrePrepare>, out: &mut Vec<Output>) {
        let (view, seq) = (m.body.view, m.body.seq);
        if self.gate_view(view, || Message::PrePrepare(m.clone())).is_none() || self.gate_seq(seq).is_none() {
            return;
        }
        if m.signer != self.cfg.validators.primary(view) {
            return self.metrics.drop(DropReason::WrongSender);
        }
        if m.body.block.is_null() {
            return self.metrics.drop(DropReason::InvalidProposal);
        }
        let digest = m.body.block.digest(self.chain_id(), seq);
        let slot = self.slots.entry(seq).or_default();
        if slot.pre_prepare.is_some() {
            if slot.digest == digest {
                return self.metrics.drop(DropReason::Duplicate);
            }
            // The primary signed two blocks for one (view, seq): proof of a faulty primary.
            self.metrics.drop(DropReason::Conflicting);
            return self.start_view_change(self.view + 1, out);
        }
        if slot.committed.is_some() {
            return self.metrics.drop(DropReason::Duplicate);
        }
        slot.pre_prepare = Some(m);
        slot.digest = digest;
        slot.state = SlotState::Received;
    }

    fn on_prepare(&mut self, m: Signed<Prepare>) {
        let (view, seq) = (m.body.view, m.body.seq);
        if self.gate_view(view, || Message::Prepare(m.clone())).is_none() || self.gate_seq(seq).is_none() {
            return;
        }
        if m.signer == self.cfg.validators.primary(view) {
            return self.metrics.drop(DropReason::WrongSender);
        }
        let slot = self.slots.entry(seq).or_default();
        match slot.prepares.get(&m.signer) {
            Some(p) if p.body.digest == m.body.digest => self.metrics.drop(DropReason::Duplicate),
            Some(_) => self.metrics.drop(DropReason::Conflicting),
            None => {
                slot.prepares.insert(m.signer, m);
            }
        }
    }

    fn on_commit(&mut self, m: Signed<Commit>) {
        let (view, seq) = (m.body.view, m.body.seq);
        if self.gate_view(view, || Message::Commit(m.clone())).is_none() || self.gate_seq(seq).is_none() {
            return;
        }
        let slot = self.slots.entry(seq).or_default();
        match slot.commits.get(&m.signer) {
            Some(c) if c.body.digest == m.body.digest => self.metrics.drop(DropReason::Duplicate),
            Some(_) => self.metrics.drop(DropReason::Conflicting),
            None => {
                slot.commits.insert(m.signer, m);
            }
        }
    }

    /// §4.3: checkpoint messages. Each signer's most recent checkpoints are kept; a quorum of matching ones makes
    /// a checkpoint stable ([`Self::update_stable`]), and f + 1 claims above the last executed block make the
    /// replica catch up.
    fn on_checkpoint(&mut self, m: Signed<Checkpoint>) {
        let (seq, digest) = (m.body.seq, m.body.digest);
        if seq % self.cfg.checkpoint_interval != 0 || seq == 0 {
            return self.metrics.drop(DropReason::InvalidProof);
        }
        if seq <= self.low() {
            return self.metrics.drop(DropReason::BelowWatermark);
        }
        if seq > self.low().saturating_add(self.cfg.max_checkpoint_ahead) {
            return self.metrics.drop(DropReason::OutsideWindow);
        }
        let votes = self.checkpoint_votes.entry(m.signer).or_default();
        match votes.get(&seq) {
            Some((d, _)) if *d == digest => return self.metrics.drop(DropReason::Duplicate),
            Some(_) => return self.metrics.drop(DropReason::Conflicting),
            None => {}
        }
        votes.insert(seq, (digest, m.signature));
        while votes.len() > CHECKPOINT_VOTES_PER_SIGNER {
            votes.pop_first();
        }
    }

    /// §4.4: a view-change message for a later view. A message for a view this replica has already entered means
    /// the sender is behind: it is answered with the new-view message of the current view, which proves the view.
    fn on_view_change(&mut self, m: Signed<ViewChange>, out: &mut Vec<Output>) {
        let w = m.body.new_view;
        if w < self.view || (w == self.view && self.normal) {
            if self.normal && m.signer != self.cfg.me {
                if let Some(nv) = &self.new_view {
                    out.push(Output::Send { to: m.signer, message: Message::NewView(nv.clone()) });
                }
            }
            return self.metrics.drop(DropReason::OldView);
        }
        if w > self.view.saturating_add(self.cfg.max_view_ahead) {
            return self.metrics.drop(DropReason::FarFutureView);
        }
        if let Some(existing) = self.view_changes.get(&w).and_then(|vcs| vcs.get(&m.signer)) {
            let reason = if *existing == m { DropReason::Duplicate } else { DropReason::Conflicting };
            return self.metrics.drop(reason);
        }
        if self.cfg.validators.verify_view_change(self.verifier.as_ref(), &m.body, self.cfg.window).is_err() {
            return self.metrics.drop(DropReason::InvalidProof);
        }
        self.view_changes.entry(w).or_default().insert(m.signer, m);
    }

    /// §4.4: a new-view message. Backups check that `V` holds a quorum of valid view changes for the view, recompute
    /// `O` from `V` and accept the message only if the primary's `O` is exactly that.
    fn on_new_view(&mut self, m: Signed<NewView>, out: &mut Vec<Output>) {
        let w = m.body.view;
        if w < self.view || (w == self.view && self.normal) {
            let reason = if self.new_view.as_ref() == Some(&m) { DropReason::Duplicate } else { DropReason::OldView };
            return self.metrics.drop(reason);
        }
        if w > self.view.saturating_add(self.cfg.max_view_ahead) {
            return self.metrics.drop(DropReason::FarFutureView);
        }
        if m.signer != self.cfg.validators.primary(w) {
            return self.metrics.drop(DropReason::WrongSender);
        }
        let Some(stable) = self.verify_new_view(&m.body) else {
            return self.metrics.drop(DropReason::InvalidProof);
        };
        self.enter_new_view(m, stable, out);
    }

    fn verify_new_view(&self, nv: &NewView) -> Option<CheckpointProof> {
        let vals = &self.cfg.validators;
        let verifier = self.verifier.as_ref();
        if nv.view_changes.len() < self.quorum() {
            return None;
        }
        let mut previous: Option<ReplicaId> = None;
        for vc in &nv.view_changes {
            if previous.is_some_and(|p| p >= vc.signer) || vc.body.new_view != nv.view {
                return None;
            }
            previous = Some(vc.signer);
            vals.verify_signed(verifier, vc).ok()?;
            vals.verify_view_change(verifier, &vc.body, self.cfg.window).ok()?;
        }
        let (stable, o) = compute_o(&nv.view_changes);
        if o.len() != nv.pre_prepares.len() {
            return None;
        }
        let primary = vals.primary(nv.view);
        for ((seq, block), pp) in o.iter().zip(&nv.pre_prepares) {
            if pp.body.view != nv.view || pp.body.seq != *seq || pp.body.block != *block || pp.signer != primary {
                return None;
            }
            vals.verify_signed(verifier, pp).ok()?;
        }
        Some(stable)
    }

    fn on_timeout(&mut self, timer: Timer, out: &mut Vec<Output>) {
        match timer {
            Timer::View { epoch, .. } if epoch == self.timer_epoch => {
                // Checkpoint messages may have been lost, and without a stable checkpoint the window cannot move:
                // send this replica's checkpoints above the low-water mark again (same signatures).
                self.resend_checkpoints(out);
                if self.normal && self.last_exec >= self.high() {
                    // Every sequence number of the window is executed: waiting for a stable checkpoint, which no
                    // primary can speed up.
                    return self.arm_view_timer(out);
                }
                if self.normal && self.behind_target() > self.last_exec {
                    // Behind the others: catching up, not the primary's fault. But if f + 1 of them already work
                    // in a later view, this replica slept through a view change (a restart): it asks for that
                    // view, and a replica in that view answers with the new-view message that lets it in.
                    if let Some(view) = self.view_reached_by_others() {
                        return self.start_view_change(view, out);
                    }
                    return self.arm_view_timer(out);
                }
                if !self.normal && !self.vc_timer_armed {
                    // No quorum for the new view yet: messages may have been lost, so send the same signed view
                    // changes again (no new signature; the earlier ones too, for replicas still gathering a
                    // quorum for an earlier view) and wait.
                    for vc in self.safety.state().own_view_changes.clone() {
                        out.push(Output::Broadcast(Message::ViewChange(vc)));
                    }
                    return self.arm_view_timer(out);
                }
                self.start_view_change(self.view + 1, out);
            }
            Timer::Fetch { epoch } if epoch == self.fetch_epoch => self.fetch_in_flight = false,
            _ => {}
        }
    }

    fn resend_checkpoints(&mut self, out: &mut Vec<Output>) {
        let low = self.low();
        let Some(own) = self.checkpoint_votes.get(&self.cfg.me) else { return };
        for (seq, (digest, sig)) in own.range(low + 1..) {
            let m =
                Signed { body: Checkpoint { seq: *seq, digest: *digest }, signer: self.cfg.me, signature: sig.clone() };
            out.push(Output::Broadcast(Message::Checkpoint(m)));
        }
    }

    fn on_verdict(&mut self, view: View, seq: Seq, digest: Hash32, valid: bool, out: &mut Vec<Output>) {
        let current = self.normal && view == self.view;
        let Some(slot) =
            self.slots.get_mut(&seq).filter(|s| current && s.state == SlotState::Validating && s.digest == digest)
        else {
            return self.metrics.drop(DropReason::Unexpected);
        };
        if valid {
            slot.state = SlotState::Accepted;
        } else {
            slot.state = SlotState::Rejected;
            self.metrics.drop(DropReason::InvalidProposal);
            self.start_view_change(self.view + 1, out);
        }
    }

    /// The primary assigns the next sequence number (§4.2) and a timestamp `max(now, previous block time + 1)`.
    fn on_propose(&mut self, payload: Vec<u8>, out: &mut Vec<Output>) {
        let Some((view, seq)) = self.proposal_requested else {
            return self.metrics.drop(DropReason::Unexpected);
        };
        if !self.normal || view != self.view || payload.len() > MAX_PAYLOAD_BYTES {
            return self.metrics.drop(DropReason::Unexpected);
        }
        let Some(prev) = self.ts_before(seq) else {
            return self.metrics.drop(DropReason::Unexpected);
        };
        self.proposal_requested = None;
        let block = Block::Data { timestamp: self.now.max(prev.saturating_add(1)), payload };
        let digest = block.digest(self.chain_id(), seq);
        let signed = match self.safety.sign_pre_prepare(PrePrepare { view, seq, block }, digest) {
            Ok(s) => s,
            Err(_) => return self.metrics.drop(DropReason::SafetyRefused),
        };
        let slot = self.slots.entry(seq).or_default();
        slot.pre_prepare = Some(signed.clone());
        slot.digest = digest;
        slot.state = SlotState::Accepted;
        out.push(Output::Broadcast(Message::PrePrepare(signed)));
    }

    fn on_fetch_request(&mut self, m: Signed<FetchRequest>, out: &mut Vec<Output>) {
        let FetchRequest { from, to } = m.body;
        if m.signer == self.cfg.me {
            return;
        }
        let mut blocks = Vec::new();
        let mut bytes = 0usize;
        for (_, b) in self.store.range(from..=to.max(from)) {
            if blocks.len() >= MAX_FETCH_BLOCKS || bytes > self.cfg.max_message_bytes / 2 {
                break;
            }
            bytes += b.to_bytes().len();
            blocks.push(b.clone());
        }
        if blocks.is_empty() {
            return;
        }
        let response = self.safety.sign_unchecked(FetchResponse { blocks });
        out.push(Output::Send { to: m.signer, message: Message::FetchResponse(response) });
    }

    /// Catch-up (§4.3 state transfer, simplified): blocks are accepted in order, each only if its commit certificate verifies
    /// against the validator set, so the peer that sent them need not be trusted.
    fn on_blocks(&mut self, blocks: Vec<CommittedBlock>, out: &mut Vec<Output>) {
        for cb in blocks {
            if cb.seq <= self.last_exec {
                continue;
            }
            if cb.seq != self.last_exec + 1 {
                break;
            }
            if crate::cert::verify_committed(&self.cfg.validators, self.verifier.as_ref(), &cb).is_err() {
                self.metrics.drop(DropReason::InvalidProof);
                break;
            }
            self.metrics.blocks_fetched += 1;
            let cert_view = cb.cert.view;
            self.execute(cb, out);
            // A certificate from a later view proves that 2f + 1 replicas (f + 1 honest) moved there while this
            // replica was away (a restart across a view change). Fetched blocks must not pass for progress of its
            // own view, or it would follow forever without voting: it asks for that view, and a replica there
            // answers with the new-view message that lets it in.
            if self.normal && cert_view > self.view {
                self.start_view_change(cert_view, out);
            }
        }
        self.fetch_in_flight = false;
    }

    // ----- protocol steps ------------------------------------------------------------------------------------

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
    }

    /// §4.2 with the time rule: pre-prepares are checked in sequence order; a data block's timestamp must exceed the
    /// previous block time and lie within `Δ` of the local clock. Passing blocks go to the application.
    fn accept_pre_prepares(&mut self, out: &mut Vec<Output>) {
        let first = self.last_exec + 1;
        let pending: Vec<Seq> = self
            .slots
            .range(first..)
            .filter(|(_, s)| s.state == SlotState::Received && s.pre_prepare.is_some() && s.committed.is_none())
            .map(|(n, _)| *n)
            .collect();
        for seq in pending {
            let Some(prev) = self.ts_before(seq) else { break };
            let delta = self.cfg.max_clock_skew_ms;
            let now = self.now;
            let Some(slot) = self.slots.get_mut(&seq) else { break };
            let Some(pp) = slot.pre_prepare.clone() else { break };
            let ts_ok = match pp.body.block.timestamp() {
                Some(ts) => ts > prev && ts <= now.saturating_add(delta) && ts.saturating_add(delta) >= now,
                None => false,
            };
            if !ts_ok {
                slot.state = SlotState::Rejected;
                self.metrics.drop(DropReason::InvalidTimestamp);
                return self.start_view_change(self.view + 1, out);
            }
            slot.state = SlotState::Validating;
            out.push(Output::Validate { view: pp.body.view, seq, digest: slot.digest, block: pp.body.block });
        }
    }

    /// §4.2: prepare accepted blocks; when prepared (pre-prepare + quorum − 1 matching prepares), record the
    /// prepared certificate and commit; when a quorum of matching commits is in, the block is committed with its
    /// certificate.
    fn vote(&mut self, out: &mut Vec<Output>) {
        let view = self.view;
        let me = self.cfg.me;
        let primary = self.cfg.validators.primary(view);
        let quorum = self.quorum();
        let seqs: Vec<Seq> = self.slots.iter().filter(|(_, s)| s.pre_prepare.is_some()).map(|(n, _)| *n).collect();
        for seq in seqs {
            let Some(slot) = self.slots.get_mut(&seq) else { continue };
            let digest = slot.digest;
            if slot.state == SlotState::Accepted && me != primary && !slot.sent_prepare {
                slot.sent_prepare = true;
                match self.safety.sign_prepare(Prepare { view, seq, digest }) {
                    Ok(p) => {
                        slot.prepares.insert(me, p.clone());
                        out.push(Output::Broadcast(Message::Prepare(p)));
                    }
                    Err(_) => self.metrics.drop(DropReason::SafetyRefused),
                }
            }
            let count = slot.prepares.values().filter(|p| p.body.digest == digest && p.signer != primary).count();
            let prepared = slot.state == SlotState::Accepted && count >= quorum - 1;
            if prepared && !slot.sent_commit {
                let matching: Vec<(ReplicaId, Signature)> = slot
                    .prepares
                    .values()
                    .filter(|p| p.body.digest == digest && p.signer != primary)
                    .map(|p| (p.signer, p.signature.clone()))
                    .take(quorum - 1)
                    .collect();
                slot.sent_commit = true;
                if let Some(pp) = slot.pre_prepare.clone() {
                    self.safety.record_prepared(PreparedCert { pre_prepare: pp, prepares: matching });
                }
                match self.safety.sign_commit(Commit { view, seq, digest }) {
                    Ok(c) => {
                        slot.commits.insert(me, c.clone());
                        out.push(Output::Broadcast(Message::Commit(c)));
                    }
                    Err(_) => self.metrics.drop(DropReason::SafetyRefused),
                }
            }
            let commits = slot.commits.values().filter(|c| c.body.digest == digest).count();
            if slot.committed.is_none() && slot.state != SlotState::Rejected && commits >= quorum {
                let sigs: Vec<(ReplicaId, Signature)> = slot
                    .commits
                    .values()
                    .filter(|c| c.body.digest == digest)
                    .map(|c| (c.signer, c.signature.clone()))
                    .take(quorum)
                    .collect();
                if sigs.len() >= quorum {
                    if let Some(pp) = &slot.pre_prepare {
                        slot.committed = Some(CommittedBlock {
                            seq,
                            block: pp.body.block.clone(),
                            cert: CommitCertificate { view, seq, digest, signatures: sigs },
                        });
                    }
                }
            }
        }
    }

    fn execute_committed(&mut self, out: &mut Vec<Output>) {
        while let Some(cb) = self.slots.get(&(self.last_exec + 1)).and_then(|s| s.committed.clone()) {
            self.execute(cb, out);
        }
    }

    /// Delivers the next block in sequence order, and takes a checkpoint every `K` (§4.3).
    fn execute(&mut self, cb: CommittedBlock, out: &mut Vec<Output>) {
        let seq = cb.seq;
        if let Some(ts) = cb.block.timestamp() {
            self.last_ts = ts.max(self.last_ts.saturating_add(1));
        }
        self.chain = chain_digest(&self.chain, seq, &cb.cert.digest);
        self.last_exec = seq;
        self.metrics.blocks_committed += 1;
        self.store.insert(seq, cb.clone());
        let keep_from = seq.saturating_sub(self.cfg.retain_blocks);
        while self.store.first_key_value().is_some_and(|(s, _)| *s <= keep_from) {
            self.store.pop_first();
        }
        out.push(Output::Deliver(Box::new(Delivered {
            committed: cb,
            timestamp: self.last_ts,
            chain_digest: self.chain,
        })));
        self.backoff = 0;
        if self.normal {
            self.arm_view_timer(out);
        }
        if seq % self.cfg.checkpoint_interval == 0 {
            self.exec_digests.insert(seq, self.chain);
            let body = Checkpoint { seq, digest: self.chain };
            if let Ok(c) = self.safety.sign_checkpoint(body) {
                self.checkpoint_votes.entry(self.cfg.me).or_default().insert(seq, (c.body.digest, c.signature.clone()));
                let votes = self.checkpoint_votes.entry(self.cfg.me).or_default();
                while votes.len() > CHECKPOINT_VOTES_PER_SIGNER {
                    votes.pop_first();
                }
                out.push(Output::Broadcast(Message::Checkpoint(c)));
            }
        }
    }

    /// §4.3: the highest checkpoint with a quorum of matching votes, at or below the last executed block, becomes
    /// stable: the low-water mark moves and the log below it is discarded.
    fn update_stable(&mut self) {
        let (low, quorum) = (self.low(), self.quorum());
        if low >= self.last_exec {
            return;
        }
        let mut tally: BTreeMap<(Seq, Hash32), Vec<(ReplicaId, &Signature)>> = BTreeMap::new();
        for (id, votes) in &self.checkpoint_votes {
            for (seq, (digest, sig)) in votes.range(low + 1..=self.last_exec) {
                tally.entry((*seq, *digest)).or_default().push((*id, sig));
            }
        }
        let Some(((seq, digest), sigs)) = tally.into_iter().rev().find(|(_, sigs)| sigs.len() >= quorum) else {
            return;
        };
        if self.exec_digests.get(&seq).is_some_and(|d| *d != digest) {
            // A quorum signed a different history than the one executed here: impossible with at most f faults.
            self.metrics.drop(DropReason::Conflicting);
            return;
        }
        let signatures: Vec<(ReplicaId, Signature)> =
            sigs.into_iter().take(quorum).map(|(id, s)| (id, s.clone())).collect();
        self.set_stable(CheckpointProof { seq, digest, signatures });
    }

    fn set_stable(&mut self, proof: CheckpointProof) {
        let seq = proof.seq;
        if seq <= self.low() {
            return;
        }
        self.safety.set_stable(proof);
        self.slots.retain(|s, _| *s > seq);
        self.exec_digests.retain(|s, _| *s > seq);
        for votes in self.checkpoint_votes.values_mut() {
            votes.retain(|s, _| *s > seq);
        }
    }

    /// As primary in the normal case, ask the application for the next block while the window has room.
    fn request_proposal(&mut self, out: &mut Vec<Output>) {
        if !self.normal || self.cfg.validators.primary(self.view) != self.cfg.me || self.proposal_requested.is_some() {
            return;
        }
        let highest_slot = self
            .slots
            .iter()
            .rev()
            .find(|(_, s)| s.pre_prepare.is_some() || s.committed.is_some())
            .map_or(0, |(n, _)| *n);
        let next = highest_slot.max(self.low()).max(self.last_exec) + 1;
        if next > self.high() || self.ts_before(next).is_none() {
            return;
        }
        self.proposal_requested = Some((self.view, next));
        out.push(Output::NeedProposal { view: self.view, seq: next });
    }

    /// Asks one peer at a time (rotating on timeout) for the committed blocks this replica is missing.
    fn fetch(&mut self, out: &mut Vec<Output>) {
        let target = self.fetch_target();
        if target <= self.last_exec || self.fetch_in_flight || self.n() < 2 {
            return;
        }
        let from = self.last_exec + 1;
        let to = target.min(self.last_exec + MAX_FETCH_BLOCKS as u64);
        self.fetch_peer = (self.fetch_peer + 1) % self.n() as ReplicaId;
        if self.fetch_peer == self.cfg.me {
            self.fetch_peer = (self.fetch_peer + 1) % self.n() as ReplicaId;
        }
        let request = self.safety.sign_unchecked(FetchRequest { from, to });
        out.push(Output::Send { to: self.fetch_peer, message: Message::FetchRequest(request) });
        self.fetch_in_flight = true;
        self.fetch_epoch += 1;
        out.push(Output::SetTimer {
            timer: Timer::Fetch { epoch: self.fetch_epoch },
            after_ms: self.cfg.fetch_timeout_ms,
        });
    }

    // ----- view change ---------------------------------------------------------------------------------------

    /// §4.4: move to view `w` — stop accepting messages of earlier views and send `VIEW-CHANGE` with the stable
    /// checkpoint proof `C` and the prepared certificates `P`.
    fn start_view_change(&mut self, w: View, out: &mut Vec<Output>) {
        if w <= self.view {
            return;
        }
        let state = self.safety.state();
        let low = state.low_water();
        let vc = ViewChange {
            new_view: w,
            stable: state.stable.clone(),
            prepared: state.prepared.values().filter(|c| c.pre_prepare.body.seq > low).cloned().collect(),
        };
        let signed = match self.safety.sign_view_change(vc) {
            Ok(s) => s,
            Err(_) => return self.metrics.drop(DropReason::SafetyRefused),
        };
        self.metrics.view_changes_started += 1;
        self.view = w;
        self.normal = false;
        self.vc_timer_armed = false;
        self.proposal_requested = None;
        // Until a quorum asks for view `w`, the timer only resends this view change; the timer that moves on to
        // `w + 1` starts when the quorum is in (§4.5.2).
        self.arm_view_timer(out);
        self.view_changes.entry(w).or_default().insert(self.cfg.me, signed.clone());
        self.view_changes.retain(|v, _| *v >= w);
        out.push(Output::Broadcast(Message::ViewChange(signed)));
    }

    /// §4.5.2: a replica that has f + 1 view-change messages from others for views above its own joins the smallest
    /// view that f + 1 of them ask for, without waiting for its timer.
    fn join_view_change(&mut self, out: &mut Vec<Output>) {
        let mut highest: BTreeMap<ReplicaId, View> = BTreeMap::new();
        for (view, vcs) in self.view_changes.range(self.view + 1..) {
            for id in vcs.keys().filter(|id| **id != self.cfg.me) {
                highest.insert(*id, *view);
            }
        }
        let mut views: Vec<View> = highest.into_values().collect();
        views.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(w) = views.get(self.cfg.validators.f()).copied() {
            self.start_view_change(w, out);
        }
    }

    /// §4.4: the new primary, with a quorum of view changes for its view, computes `O` and sends `NEW-VIEW`.
    fn send_new_view(&mut self, out: &mut Vec<Output>) {
        let w = self.view;
        if self.normal || self.cfg.validators.primary(w) != self.cfg.me {
            return;
        }
        let Some(vcs) = self.view_changes.get(&w) else { return };
        if vcs.len() < self.quorum() {
            return;
        }
        let view_changes: Vec<Signed<ViewChange>> = vcs.values().take(self.quorum()).cloned().collect();
        let (stable, o) = compute_o(&view_changes);
        let mut pre_prepares = Vec::with_capacity(o.len());
        for (seq, block) in o {
            let digest = block.digest(self.chain_id(), seq);
            match self.safety.sign_pre_prepare(PrePrepare { view: w, seq, block }, digest) {
                Ok(pp) => pre_prepares.push(pp),
                Err(_) => return self.metrics.drop(DropReason::SafetyRefused),
            }
        }
        let nv = match self.safety.sign_new_view(NewView { view: w, view_changes, pre_prepares }) {
            Ok(nv) => nv,
            Err(_) => return self.metrics.drop(DropReason::SafetyRefused),
        };
        out.push(Output::Broadcast(Message::NewView(nv.clone())));
        self.enter_new_view(nv, stable, out);
    }

    /// §4.4: enter the new view: adopt the latest stable checkpoint in `V`, accept the pre-prepares of `O` (they
    /// need no application check: each is null or was prepared by a quorum that checked it), then process the
    /// messages buffered for this view.
    fn enter_new_view(&mut self, nv: Signed<NewView>, stable: CheckpointProof, out: &mut Vec<Output>) {
        let w = nv.body.view;
        self.view = w;
        self.normal = true;
        self.safety.enter_view(w);
        self.metrics.views_entered += 1;
        self.proposal_requested = None;
        self.view_changes.retain(|v, _| *v > w);
        self.slots.retain(|_, s| s.committed.is_some());
        for slot in self.slots.values_mut() {
            let committed = slot.committed.take();
            *slot = Slot { committed, ..Slot::default() };
        }
        // If this replica has not executed up to the checkpoint it still adopts it (its proof is a quorum) and
        // catches up to it with [`Self::fetch`].
        self.set_stable(stable);
        let low = self.low();
        for pp in &nv.body.pre_prepares {
            let seq = pp.body.seq;
            if seq <= low || seq > self.high() {
                continue;
            }
            let digest = pp.body.block.digest(self.chain_id(), seq);
            let slot = self.slots.entry(seq).or_default();
            slot.pre_prepare = Some(pp.clone());
            slot.digest = digest;
            slot.state = SlotState::Accepted;
        }
        self.new_view = Some(nv);
        self.arm_view_timer(out);
        let buffered = std::mem::take(&mut self.buffer);
        for m in buffered {
            match m.view() {
                Some(v) if v == w => self.on_message(m, out),
                Some(v) if v > w => self.buffer.push(m),
                _ => {}
            }
        }
    }
}

/// §4.4: the new primary's choice. `min-s` is the latest stable checkpoint in `V`, `max-s` the highest sequence
/// number in a prepared certificate of `V`; for every number in between, the block of the prepared certificate
/// with the highest view, or the null block if there is none. Backups run the same function to check `O`.
pub fn compute_o(view_changes: &[Signed<ViewChange>]) -> (CheckpointProof, Vec<(Seq, Block)>) {
    let mut stable: Option<&CheckpointProof> = None;
    for vc in view_changes {
        if stable.is_none_or(|s| vc.body.stable.seq > s.seq) {
            stable = Some(&vc.body.stable);
        }
    }
    let Some(stable) = stable.cloned() else {
        return (CheckpointProof { seq: 0, digest: Hash32::default(), signatures: vec![] }, vec![]);
    };
    let min_s = stable.seq;
    let mut best: BTreeMap<Seq, (View, &Block)> = BTreeMap::new();
    for vc in view_changes {
        for cert in &vc.body.prepared {
            let b = &cert.pre_prepare.body;
            if b.seq <= min_s {
                continue;
            }
            if best.get(&b.seq).is_none_or(|(v, _)| b.view > *v) {
                best.insert(b.seq, (b.view, &b.block));
            }
        }
    }
    let max_s = best.keys().next_back().copied().unwrap_or(min_s);
    let o = (min_s + 1..=max_s).map(|seq| (seq, best.get(&seq).map_or(Block::Null, |(_, b)| (*b).clone()))).collect();
    (stable, o)
}
