//! The running node: one task (the driver) owns the PBFT replica and the consensus store and performs the core's
//! outputs; the ledger and the mempool are shared with the RPC server behind locks (always taken in the order
//! ledger, then mempool).
//!
//! Invariants:
//! * The core's `Persist` output is durable before any later output of the same call is performed.
//! * A delivered block is written to the consensus log before the ledger applies it (the log is the ledger's
//!   write-ahead log; a restart re-applies what the ledger misses).
//! * A block is stateless-verified once: transactions the mempool verified are taken from it, and the block a
//!   validator voted for is kept, so executing it does not verify it again.
//! * A backup votes for a data block only after its ledger has applied everything before it and checked the block
//!   against that state (header fields, every transaction, the state root).
//! * The ledger changes only by committed blocks with a certificate of `2f + 1` validators.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Writer};
use ctchain_crypto::TxId;
use ctchain_ledger::{Block as LedgerBlock, CheckedBlock, Genesis, Ledger, LedgerError, VerifiedBlock};
use ctchain_mempool::{Admission, AdmitError, Mempool, MempoolConfig};
use ctchain_net::{NetEvent, NetHandle, PeerId, Topic};
use ctchain_pbft::{
    Block as PbftBlock, CommittedBlock, Config as PbftConfig, Ed25519Signer, Ed25519Verifier, Input, LedgerTip, Output,
    PublicKey, Replica, ValidatorSet,
};
use ctchain_rpc::HeaderJson;
use tokio::sync::{broadcast, mpsc};
use tracing::{debug, error, info, warn};

use crate::consensus_store::{ConsensusStore, LogEntry};
use crate::metrics::NodeMetrics;

/// Committed blocks kept for catch-up requests in the core's memory (older ones are served from disk).
const RECENT_IN_MEMORY: u64 = 256;
/// Most log entries in one sync response.
const SYNC_BATCH: u64 = 64;
/// How long a sync request may go unanswered before another peer is asked.
const SYNC_TIMEOUT_MS: u64 = 2_000;
/// Recently rejected transactions remembered for `tx_get`.
const REJECTED_REMEMBERED: usize = 10_000;
/// How often status and metrics are refreshed between deliveries.
const STATUS_REFRESH_MS: u64 = 200;
/// Room kept in a proposal's payload for the block header and framing.
const HEADER_ROOM: usize = 4 * 1024;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Where consensus stands, for `chain_status`.
#[derive(Clone, Debug, Default)]
pub struct ConsensusView {
    /// Current view.
    pub view: u64,
    /// Its primary.
    pub primary: u32,
    /// Normal case (not changing views).
    pub normal: bool,
    /// Last executed sequence number.
    pub seq: u64,
    /// Catching up.
    pub syncing: bool,
}

/// Transactions recently dropped, with the reason (bounded, oldest forgotten first).
#[derive(Default)]
pub struct RejectedTxs {
    reasons: HashMap<TxId, String>,
    order: VecDeque<TxId>,
}

impl RejectedTxs {
    /// Remembers a rejection.
    pub fn insert(&mut self, id: TxId, reason: String) {
        if self.reasons.insert(id, reason).is_none() {
            self.order.push_back(id);
            if self.order.len() > REJECTED_REMEMBERED {
                if let Some(old) = self.order.pop_front() {
                    self.reasons.remove(&old);
                }
            }
        }
    }

    /// The reason a transaction was rejected, if remembered.
    pub fn get(&self, id: &TxId) -> Option<&String> {
        self.reasons.get(id)
    }
}

/// What the driver shares with the RPC server.
pub struct Shared {
    /// Node name.
    pub name: String,
    /// The genesis.
    pub genesis: Genesis,
    /// Its hash.
    pub genesis_hash: Hash32,
    /// This node's validator index (`None` for an observer).
    pub validator_index: Option<u32>,
    /// The ledger.
    pub ledger: RwLock<Ledger>,
    /// Pending transactions.
    pub mempool: Mutex<Mempool>,
    /// The one door for transactions, with the chain's verifier and what it verified recently.
    pub admission: Admission,
    /// The network.
    pub net: NetHandle,
    /// Metrics.
    pub metrics: Arc<NodeMetrics>,
    /// Consensus state for status.
    pub consensus: RwLock<ConsensusView>,
    /// New headers, for subscriptions.
    pub heads: broadcast::Sender<HeaderJson>,
    /// Transactions whose status changed, for subscriptions.
    pub tx_updates: broadcast::Sender<TxId>,
    /// Recent rejections.
    pub rejected: Mutex<RejectedTxs>,
    /// Names of known peers and whether they validate.
    pub peer_names: HashMap<PeerId, (String, bool)>,
}

impl Shared {
    /// Admits the tagged ledger encoding of a transaction of any kind ([`Admission::admit`]: cheap checks, then
    /// proofs outside every lock, then the stateful checks), and counts what it cost. Blocking: call it from a
    /// blocking context.
    pub fn admit(&self, tagged: &[u8]) -> Result<TxId, AdmitError> {
        let admitted = self.admission.admit(&self.ledger, &self.mempool, tagged)?;
        if let Some(took) = admitted.verified_in {
            self.metrics.tx_verify_seconds.observe(took.as_secs_f64());
        }
        if let Ok(mempool) = self.mempool.lock() {
            self.metrics.mempool_txs.set(mempool.len() as i64);
            self.metrics.mempool_bytes.set(mempool.bytes() as i64);
        }
        Ok(admitted.id)
    }

    /// The gossip encoding of a pending transaction.
    pub fn gossip_bytes(&self, id: &TxId) -> Option<Vec<u8>> {
        self.mempool.lock().ok()?.encoded(id)
    }

    /// Counts a refused transaction under a short reason label.
    pub fn count_rejection(&self, err: &AdmitError) {
        let label = match err {
            AdmitError::TooLarge { .. } => "too_large",
            AdmitError::Encoding(_) => "encoding",
            AdmitError::Invalid(_) => "invalid",
            AdmitError::Duplicate(_) => "duplicate",
            AdmitError::ConflictsWithPending { .. } | AdmitError::NullifierConflictsWithPending { .. } => "conflict",
            AdmitError::Rejected(_) => "rejected",
            AdmitError::Ledger(_) => "node_error",
            AdmitError::Full { .. } => "mempool_full",
        };
        self.metrics.rejected_txs.get_or_create(&vec![("reason".into(), label.into())]).inc();
    }
}

/// A header as the RPC shows it.
pub fn header_json(header: &ctchain_ledger::BlockHeader, tx_count: usize) -> HeaderJson {
    HeaderJson {
        hash: header.hash().to_string(),
        height: header.height,
        prev_hash: header.prev_hash.to_string(),
        tx_root: header.tx_root.to_string(),
        state_root: header.state_root.to_string(),
        timestamp_ms: header.timestamp_ms,
        proposer: header.proposer,
        view: header.view,
        tx_count: tx_count as u32,
    }
}

/// Node-level direct messages: consensus messages, and log sync (catch-up from disk for lagging validators and
/// observers; every entry carries its commit certificate, so the peer that serves it need not be trusted).
enum Wire {
    Consensus(Vec<u8>),
    SyncRequest { from: u64, to: u64 },
    SyncResponse(Vec<LogEntry>),
}

impl Encode for Wire {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Wire::Consensus(bytes) => {
                w.u8(0);
                w.bytes(bytes);
            }
            Wire::SyncRequest { from, to } => {
                w.u8(1);
                w.u64(*from);
                w.u64(*to);
            }
            Wire::SyncResponse(entries) => {
                w.u8(2);
                w.len(entries.len());
                for e in entries {
                    w.put(e);
                }
            }
        }
    }
}

impl Decode for Wire {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("wire tag")? {
            0 => Ok(Wire::Consensus(r.bytes("consensus message", 64 << 20)?.to_vec())),
            1 => Ok(Wire::SyncRequest { from: r.u64("sync from")?, to: r.u64("sync to")? }),
            2 => {
                let n = r.len("sync entries", SYNC_BATCH as usize)?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    entries.push(r.get()?);
                }
                Ok(Wire::SyncResponse(entries))
            }
            tag => Err(DecodeError::InvalidTag { field: "wire tag", tag: u32::from(tag) }),
        }
    }
}

/// Events the driver handles besides network events.
pub enum Event {
    /// An input for the core (timer expiries).
    Consensus(Input),
    /// A proposed block finished its stateless verification.
    Verified {
        /// View of the proposal.
        view: u64,
        /// Its sequence number.
        seq: u64,
        /// Its consensus digest.
        digest: Hash32,
        /// Its consensus timestamp.
        timestamp: u64,
        /// The verified block, or why it failed.
        result: Result<VerifiedBlock, String>,
    },
    /// A transaction was admitted through RPC or gossip (a primary may want to propose sooner).
    TxAdmitted,
}

struct AwaitingVerdict {
    view: u64,
    digest: Hash32,
    timestamp: u64,
    result: Result<VerifiedBlock, String>,
}

/// Settings of the driver.
pub struct DriverSettings {
    /// Heartbeat interval of an idle primary.
    pub idle_block_ms: u64,
    /// Batching delay of a primary with pending transactions.
    pub batch_delay_ms: u64,
    /// Largest network message.
    pub max_message_bytes: usize,
}

/// The consensus driver.
pub struct Driver {
    shared: Arc<Shared>,
    replica: Option<Replica>,
    store: ConsensusStore,
    validators: ValidatorSet,
    peers_by_index: Vec<PeerId>,
    events: mpsc::UnboundedSender<Event>,
    settings: DriverSettings,
    applied_seq: u64,
    pending_proposal: Option<(u64, u64, u64)>,
    awaiting: BTreeMap<u64, AwaitingVerdict>,
    validated: HashMap<Hash32, CheckedBlock>,
    round_start: HashMap<u64, Instant>,
    sync_deadline: u64,
    sync_peer: usize,
    early_entries: BTreeMap<u64, LogEntry>,
    status_published_ms: u64,
}

/// What `Driver::open` needs.
pub struct DriverParts {
    /// Shared state.
    pub shared: Arc<Shared>,
    /// Consensus store.
    pub store: ConsensusStore,
    /// The consensus secret (validators only).
    pub consensus_secret: Option<[u8; 32]>,
    /// Where the driver's own events come from (timers, verifications).
    pub events: mpsc::UnboundedSender<Event>,
    /// Settings.
    pub settings: DriverSettings,
}

impl Driver {
    /// Restores the driver: re-applies to the ledger what the consensus log holds beyond it, and restores the
    /// replica from its persisted safety state.
    pub fn open(parts: DriverParts) -> Result<Self> {
        let DriverParts { shared, store, consensus_secret, events, settings } = parts;
        let genesis = &shared.genesis;
        let keys = genesis.validators.iter().map(|v| PublicKey(v.consensus_key.to_vec())).collect();
        let validators = ValidatorSet::new(genesis.chain_id.clone(), keys);
        let peers_by_index = genesis
            .validators
            .iter()
            .map(|v| {
                ctchain_net::peer_id_from_public(&v.network_key).ok_or_else(|| anyhow!("bad network key of {}", v.name))
            })
            .collect::<Result<Vec<_>>>()?;

        let last = store.last_seq()?;
        let mut driver = Self {
            shared: shared.clone(),
            replica: None,
            store,
            validators,
            peers_by_index,
            events,
            settings,
            applied_seq: last,
            pending_proposal: None,
            awaiting: BTreeMap::new(),
            validated: HashMap::new(),
            round_start: HashMap::new(),
            sync_deadline: 0,
            sync_peer: 0,
            early_entries: BTreeMap::new(),
            status_published_ms: 0,
        };
        driver.replay_into_ledger(last)?;

        let tip = match driver.store.entry(last)? {
            Some(e) => LedgerTip { seq: last, chain_digest: e.chain_digest, timestamp: e.timestamp },
            None if last == 0 => LedgerTip::genesis(&genesis.chain_id),
            None => bail!("consensus log misses its last entry {last}"),
        };
        if let (Some(me), Some(secret)) = (shared.validator_index, consensus_secret) {
            let c = &genesis.consensus;
            let mut cfg = PbftConfig::new(driver.validators.clone(), me);
            cfg.checkpoint_interval = c.checkpoint_interval;
            cfg.window = c.window;
            cfg.view_timeout_ms = c.view_timeout_ms;
            cfg.max_clock_skew_ms = c.max_clock_drift_ms;
            cfg.max_message_bytes = driver.settings.max_message_bytes;
            cfg.retain_blocks = RECENT_IN_MEMORY;
            let persisted =
                driver.store.safety()?.unwrap_or_else(|| ctchain_pbft::PersistedState::genesis(&genesis.chain_id));
            let recent = driver
                .store
                .range(last.saturating_sub(RECENT_IN_MEMORY - 1).max(1), last)?
                .into_iter()
                .map(|e| e.committed)
                .collect();
            let replica = Replica::restore(
                cfg,
                Box::new(Ed25519Signer::from_secret(secret)),
                Box::new(Ed25519Verifier),
                persisted,
                tip,
                recent,
            )
            .context("cannot start the consensus replica")?;
            driver.replica = Some(replica);
        }
        info!(seq = last, height = driver.height(), "consensus state restored");
        Ok(driver)
    }

    fn height(&self) -> u64 {
        self.shared.ledger.read().map(|l| l.height()).unwrap_or(0)
    }

    /// After a crash between logging a block and applying it, the ledger is behind the log: apply the missing
    /// data blocks from the log (they are committed, with certificates).
    fn replay_into_ledger(&mut self, last: u64) -> Result<()> {
        let height = self.height();
        let mut missing = Vec::new();
        let mut seq = last;
        while seq > 0 {
            let entry = self.store.entry(seq)?.ok_or_else(|| anyhow!("consensus log misses entry {seq}"))?;
            if let Some(block) = ledger_block_of(&entry)? {
                if block.header.height <= height {
                    break;
                }
                missing.push((entry, block));
            }
            seq -= 1;
        }
        for (entry, block) in missing.into_iter().rev() {
            info!(seq = entry.committed.seq, height = block.header.height, "re-applying a logged block to the ledger");
            self.apply_ledger_block(&entry, block, None)?;
        }
        Ok(())
    }

    /// Runs until `shutdown` fires.
    pub async fn run(
        mut self,
        mut net_events: mpsc::UnboundedReceiver<NetEvent>,
        mut events: mpsc::UnboundedReceiver<Event>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<()> {
        self.step(Input::Start)?;
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                ev = net_events.recv() => match ev {
                    Some(ev) => self.on_net(ev)?,
                    None => bail!("the network task stopped"),
                },
                ev = events.recv() => match ev {
                    Some(Event::Consensus(input)) => self.step(input)?,
                    Some(Event::Verified { view, seq, digest, timestamp, result }) => {
                        self.awaiting.insert(seq, AwaitingVerdict { view, digest, timestamp, result });
                        self.decide_awaiting()?;
                    }
                    Some(Event::TxAdmitted) => self.try_propose()?,
                    None => bail!("event channel closed"),
                },
                _ = tick.tick() => self.on_tick()?,
                _ = shutdown.changed() => {
                    info!("driver stopping");
                    return Ok(());
                }
            }
        }
    }

    fn on_tick(&mut self) -> Result<()> {
        self.try_propose()?;
        self.decide_awaiting()?;
        self.maybe_sync();
        // Status and metrics change with deliveries (which publish them at once); between those, peers and views
        // need no more than a few refreshes a second, not one per 10 ms tick.
        let now = now_ms();
        if now >= self.status_published_ms + STATUS_REFRESH_MS {
            self.publish_status();
        }
        Ok(())
    }

    fn publish_status(&mut self) {
        self.status_published_ms = now_ms();
        let net = self.shared.net.status();
        self.shared.metrics.peers.set(net.connected.len() as i64);
        let refused = net.refused_connections;
        let counted = self.shared.metrics.refused_connections.get();
        if refused > counted {
            self.shared.metrics.refused_connections.inc_by(refused - counted);
        }
        let mut view = ConsensusView { seq: self.applied_seq, ..Default::default() };
        if let Some(r) = &self.replica {
            view.view = r.view();
            view.primary = r.primary();
            view.normal = r.is_normal();
            view.syncing = r.is_catching_up();
            self.shared.metrics.observe_pbft(r.metrics());
        } else {
            view.syncing = !self.early_entries.is_empty();
        }
        self.shared.metrics.view.set(view.view as i64);
        self.shared.metrics.consensus_seq.set(self.applied_seq as i64);
        if let Ok(mut c) = self.shared.consensus.write() {
            *c = view;
        }
    }

    fn on_net(&mut self, ev: NetEvent) -> Result<()> {
        match ev {
            NetEvent::Direct { from, bytes } => match Wire::from_bytes(&bytes) {
                Ok(Wire::Consensus(msg)) => {
                    if self.replica.is_some() {
                        self.step(Input::Message(msg))?;
                    }
                }
                Ok(Wire::SyncRequest { from: lo, to: hi }) => self.serve_sync(from, lo, hi)?,
                Ok(Wire::SyncResponse(entries)) => self.on_synced(entries)?,
                Err(e) => debug!(%from, "undecodable direct message: {e}"),
            },
            NetEvent::Gossip { topic: Topic::Transactions, bytes, .. } => {
                let shared = self.shared.clone();
                let events = self.events.clone();
                // Gossip carries the tagged ledger encoding, so every kind travels on one topic.
                tokio::task::spawn_blocking(move || match shared.admit(&bytes) {
                    Ok(id) => {
                        let _ = shared.tx_updates.send(id);
                        let _ = events.send(Event::TxAdmitted);
                    }
                    Err(AdmitError::Duplicate(_)) => {}
                    Err(e) => {
                        shared.count_rejection(&e);
                        debug!("gossiped transaction refused: {e}");
                    }
                });
            }
            NetEvent::Gossip { topic: Topic::Blocks, bytes, .. } => match LogEntry::from_bytes(&bytes) {
                Ok(entry) => self.on_synced(vec![entry])?,
                Err(e) => debug!("undecodable gossiped block: {e}"),
            },
            NetEvent::PeerConnected(p) => info!(peer = %self.peer_name(&p), "peer connected"),
            NetEvent::PeerDisconnected(p) => warn!(peer = %self.peer_name(&p), "peer disconnected"),
            NetEvent::Refused { peer } => {
                warn!(peer = ?peer.map(|p| p.to_string()), "refused a connection from a peer outside the allow-list")
            }
            NetEvent::Listening(addr) => info!(%addr, "network listening"),
        }
        Ok(())
    }

    fn peer_name(&self, p: &PeerId) -> String {
        self.shared.peer_names.get(p).map(|(n, _)| n.clone()).unwrap_or_else(|| p.to_string())
    }

    /// Feeds one input to the core and performs its outputs in order.
    fn step(&mut self, input: Input) -> Result<()> {
        let Some(replica) = self.replica.as_mut() else { return Ok(()) };
        let outputs = replica.handle(now_ms(), input);
        self.perform(outputs)
    }

    fn perform(&mut self, outputs: Vec<Output>) -> Result<()> {
        let mut queue: VecDeque<Output> = outputs.into();
        while let Some(out) = queue.pop_front() {
            match out {
                // Durable before anything after it is sent: a failure here stops the node rather than letting
                // it sign without remembering.
                Output::Persist(state) => self.store.put_safety(&state).context("cannot persist the safety state")?,
                Output::Send { to, message } => self.send_consensus(to, message.to_bytes()),
                Output::Broadcast(message) => {
                    let bytes = message.to_bytes();
                    for to in 0..self.peers_by_index.len() as u32 {
                        if Some(to) != self.shared.validator_index {
                            self.send_consensus(to, bytes.clone());
                        }
                    }
                }
                Output::SetTimer { timer, after_ms } => {
                    let events = self.events.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(after_ms)).await;
                        let _ = events.send(Event::Consensus(Input::Timeout(timer)));
                    });
                }
                Output::Validate { view, seq, digest, block } => self.validate(view, seq, digest, block),
                Output::NeedProposal { view, seq } => {
                    self.pending_proposal = Some((view, seq, now_ms()));
                }
                Output::Deliver(delivered) => {
                    let entry = LogEntry {
                        committed: delivered.committed,
                        timestamp: delivered.timestamp,
                        chain_digest: delivered.chain_digest,
                    };
                    self.deliver(entry)?;
                }
            }
        }
        Ok(())
    }

    fn send_consensus(&self, to: u32, bytes: Vec<u8>) {
        let Some(peer) = self.peers_by_index.get(to as usize) else { return };
        if let Err(e) = self.shared.net.send(*peer, Wire::Consensus(bytes).to_bytes()) {
            debug!(to, "consensus send failed: {e}");
        }
    }

    /// A backup's check of a proposal: stateless verification in the background, then (in `decide_awaiting`) the
    /// stateful checks once the ledger stands right before it.
    fn validate(&mut self, view: u64, seq: u64, digest: Hash32, block: PbftBlock) {
        self.round_start.entry(seq).or_insert_with(Instant::now);
        let PbftBlock::Data { timestamp, payload } = block else {
            // The core validates data blocks only; a null block here would be a core bug, so refuse it.
            let _ =
                self.events.send(Event::Verified { view, seq, digest, timestamp: 0, result: Err("null block".into()) });
            return;
        };
        if payload.is_empty() {
            // A heartbeat: no ledger block, nothing to check beyond what the core checked (signature, time).
            self.awaiting.insert(seq, AwaitingVerdict { view, digest, timestamp, result: Err(String::new()) });
            return;
        }
        let shared = self.shared.clone();
        let events = self.events.clone();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let result = verify_payload(&shared, &payload);
            shared.metrics.block_verify_seconds.observe(started.elapsed().as_secs_f64());
            let _ = events.send(Event::Verified { view, seq, digest, timestamp, result });
        });
    }

    /// Gives the core its verdicts, in sequence order, for proposals whose predecessor the ledger has applied.
    fn decide_awaiting(&mut self) -> Result<()> {
        while let Some((&seq, _)) = self.awaiting.iter().next() {
            if seq <= self.applied_seq {
                self.awaiting.remove(&seq);
                continue;
            }
            if seq != self.applied_seq + 1 {
                return Ok(());
            }
            let a = self.awaiting.remove(&seq).expect("present");
            let valid = match a.result {
                Err(reason) if reason.is_empty() => true,
                Err(reason) => {
                    warn!(seq, view = a.view, "proposal refused: {reason}");
                    false
                }
                Ok(block) => match self.check_against_state(a.view, a.timestamp, block) {
                    Ok(checked) => {
                        self.validated.insert(a.digest, checked);
                        true
                    }
                    Err(reason) => {
                        warn!(seq, view = a.view, "proposal refused: {reason}");
                        false
                    }
                },
            };
            self.step(Input::Verdict { view: a.view, seq, digest: a.digest, valid })?;
        }
        Ok(())
    }

    fn check_against_state(&self, view: u64, timestamp: u64, block: VerifiedBlock) -> Result<CheckedBlock, String> {
        let header = block.header();
        if header.timestamp_ms != timestamp {
            return Err(format!("header time {} differs from the consensus time {timestamp}", header.timestamp_ms));
        }
        if header.view != view {
            return Err(format!("header view {} differs from the proposal's view {view}", header.view));
        }
        let primary = self.validators.primary(view);
        if header.proposer != primary {
            return Err(format!(
                "header names proposer {} but the primary of view {view} is {primary}",
                header.proposer
            ));
        }
        let ledger = self.shared.ledger.read().map_err(|_| "ledger lock poisoned".to_owned())?;
        ledger.check_block(block).map_err(|e| e.to_string())
    }

    /// As primary: once the ledger stands right before the requested sequence number, propose the pending
    /// transactions (after a short batching delay), or an empty heartbeat when idle.
    fn try_propose(&mut self) -> Result<()> {
        let Some((view, seq, since)) = self.pending_proposal else { return Ok(()) };
        if self.applied_seq + 1 != seq {
            return Ok(());
        }
        let Some(me) = self.shared.validator_index else { return Ok(()) };
        let now = now_ms();
        let pending = self.shared.mempool.lock().map(|m| m.len()).unwrap_or(0);
        let waited = now.saturating_sub(since);
        if (pending == 0 && waited < self.settings.idle_block_ms)
            || (pending > 0 && waited < self.settings.batch_delay_ms)
        {
            return Ok(());
        }
        let last_time = self.replica.as_ref().map_or(0, |r| r.last_block_time());
        let timestamp = now.max(last_time + 1);
        let payload = if pending == 0 { Vec::new() } else { self.build_block(timestamp, me, view, seq)? };
        self.pending_proposal = None;
        self.round_start.insert(seq, Instant::now());
        let outputs = match self.replica.as_mut() {
            Some(r) => r.handle(now, Input::Propose { payload }),
            None => return Ok(()),
        };
        self.perform(outputs)
    }

    /// Builds the next ledger block from the mempool; transactions that no longer pass against the ledger are
    /// dropped from the mempool (with their reason) and the block is built without them.
    fn build_block(&mut self, timestamp: u64, me: u32, view: u64, seq: u64) -> Result<Vec<u8>> {
        let g = &self.shared.genesis.consensus;
        let max_bytes = (g.max_block_bytes as usize).min(ctchain_pbft::types::MAX_PAYLOAD_BYTES) - HEADER_ROOM;
        loop {
            let ledger = self.shared.ledger.read().map_err(|_| anyhow!("ledger lock poisoned"))?;
            let mut mempool = self.shared.mempool.lock().map_err(|_| anyhow!("mempool lock poisoned"))?;
            let txs = mempool.proposal(g.max_block_txs as usize, max_bytes);
            if txs.is_empty() {
                return Ok(Vec::new());
            }
            match ledger.propose_checked(txs, timestamp, me, view) {
                Ok(block) => {
                    let proposal = PbftBlock::Data { timestamp, payload: block.block().to_block().to_bytes() };
                    let digest = proposal.digest(&self.shared.genesis.chain_id, seq);
                    let PbftBlock::Data { payload, .. } = proposal else { unreachable!("built as a data block") };
                    info!(
                        seq,
                        height = block.block().header().height,
                        txs = block.block().txs().len(),
                        "proposing block"
                    );
                    self.validated.insert(digest, block);
                    return Ok(payload);
                }
                Err(LedgerError::InvalidTransaction { tx_id, reason, .. }) => {
                    warn!(%tx_id, "dropping a pending transaction that no longer applies: {reason}");
                    mempool.evict(&tx_id);
                    drop(mempool);
                    drop(ledger);
                    self.reject(tx_id, reason.to_string());
                }
                Err(e) => return Err(anyhow!(e).context("cannot build a block")),
            }
        }
    }

    fn reject(&self, id: TxId, reason: String) {
        if let Ok(mut r) = self.shared.rejected.lock() {
            r.insert(id, reason);
        }
        let _ = self.shared.tx_updates.send(id);
    }

    /// A committed sequence number: log it, then apply its ledger block.
    fn deliver(&mut self, entry: LogEntry) -> Result<()> {
        let seq = entry.committed.seq;
        if seq != self.applied_seq + 1 {
            bail!("delivered sequence number {seq} does not follow {}", self.applied_seq);
        }
        self.store.append(&entry)?;
        if let Some(block) = ledger_block_of(&entry)? {
            // The certificate's digest is the block's (the core checked it): no need to hash the block again.
            let verified = self.validated.remove(&entry.committed.cert.digest);
            self.apply_ledger_block(&entry, block, verified)?;
        }
        self.applied_seq = seq;
        if let Some(started) = self.round_start.remove(&seq) {
            self.shared.metrics.round_seconds.observe(started.elapsed().as_secs_f64());
        }
        self.round_start.retain(|s, _| *s > seq);
        self.awaiting.retain(|s, _| *s > seq);
        if self.validated.len() > 64 {
            self.validated.clear();
        }
        // One validator (rotating) gossips each committed entry, for observers.
        let n = self.peers_by_index.len() as u64;
        if let Some(me) = self.shared.validator_index {
            if n > 0 && seq % n == u64::from(me) {
                if let Err(e) = self.shared.net.publish(Topic::Blocks, entry.to_bytes()) {
                    debug!("block gossip failed: {e}");
                }
            }
        }
        self.publish_status();
        Ok(())
    }

    fn apply_ledger_block(
        &mut self,
        entry: &LogEntry,
        block: LedgerBlock,
        checked: Option<CheckedBlock>,
    ) -> Result<()> {
        let cert = entry.committed.cert.to_bytes();
        let header = block.header.clone();
        let mut ledger = self.shared.ledger.write().map_err(|_| anyhow!("ledger lock poisoned"))?;
        let applied = match checked {
            // Checked against this very tip when it was proposed or voted for: written without executing again.
            Some(checked) => tokio::task::block_in_place(|| ledger.apply_checked(checked, Some(&cert))),
            None => {
                drop(ledger);
                let known = known_transactions(&self.shared, &block);
                let verifier = self.shared.admission.verifier().clone();
                let b = block.clone();
                let verified =
                    tokio::task::block_in_place(|| b.verify_with(&verifier, |leaf| known.get(leaf).cloned())).map_err(
                        |e| {
                            anyhow!(
                                "committed block {} fails verification ({e}): this node diverged",
                                entry.committed.seq
                            )
                        },
                    )?;
                ledger = self.shared.ledger.write().map_err(|_| anyhow!("ledger lock poisoned"))?;
                tokio::task::block_in_place(|| ledger.apply(verified, Some(&cert)))
            }
        };
        {
            applied.map_err(|e| {
                error!(height = header.height, "a committed block does not apply: {e}");
                anyhow!("committed block at height {} does not apply: {e}", header.height)
            })?;
            let mut mempool = self.shared.mempool.lock().map_err(|_| anyhow!("mempool lock poisoned"))?;
            let evicted = mempool.on_block_committed(&block);
            self.shared.metrics.mempool_txs.set(mempool.len() as i64);
            self.shared.metrics.mempool_bytes.set(mempool.bytes() as i64);
            drop(mempool);
            drop(ledger);
            for id in evicted {
                self.reject(id, "an output it spends was spent by a committed transaction".into());
            }
        }
        let m = &self.shared.metrics;
        m.height.set(header.height as i64);
        m.committed_blocks.inc();
        m.committed_txs.inc_by(block.txs.len() as u64);
        info!(height = header.height, seq = entry.committed.seq, txs = block.txs.len(), "block committed");
        let _ = self.shared.heads.send(header_json(&header, block.txs.len()));
        for tx in &block.txs {
            let _ = self.shared.tx_updates.send(tx.id());
        }
        Ok(())
    }

    /// Serves log entries from disk to a peer that is behind.
    fn serve_sync(&self, peer: PeerId, from: u64, to: u64) -> Result<()> {
        let last = self.applied_seq;
        if from == 0 || from > last {
            return Ok(());
        }
        let to = to.min(last).min(from + SYNC_BATCH - 1);
        let mut entries = Vec::new();
        let mut bytes = 0usize;
        for seq in from..=to {
            let Some(e) = self.store.entry(seq)? else { break };
            bytes += e.to_bytes().len();
            if !entries.is_empty() && bytes > self.settings.max_message_bytes / 2 {
                break;
            }
            entries.push(e);
        }
        if !entries.is_empty() {
            if let Err(e) = self.shared.net.send(peer, Wire::SyncResponse(entries).to_bytes()) {
                debug!("sync response failed: {e}");
            }
        }
        Ok(())
    }

    /// Entries from a sync response or block gossip. A validator hands them to its core (which checks each
    /// certificate); an observer checks each certificate itself and applies them in order.
    fn on_synced(&mut self, entries: Vec<LogEntry>) -> Result<()> {
        self.sync_deadline = 0;
        if self.replica.is_some() {
            let fresh: Vec<CommittedBlock> =
                entries.into_iter().filter(|e| e.committed.seq > self.applied_seq).map(|e| e.committed).collect();
            if fresh.is_empty() {
                return Ok(());
            }
            if fresh[0].seq > self.applied_seq + 1 {
                // A gap: fetch what is missing first.
                self.request_sync();
                return Ok(());
            }
            return self.step(Input::SyncedBlocks(fresh));
        }
        for e in entries {
            if e.committed.seq > self.applied_seq {
                self.early_entries.insert(e.committed.seq, e);
            }
        }
        while let Some(entry) = self.early_entries.remove(&(self.applied_seq + 1)) {
            if let Err(e) = ctchain_pbft::verify_committed(&self.validators, &Ed25519Verifier, &entry.committed) {
                warn!(seq = entry.committed.seq, "synced block with an invalid certificate: {e}");
                break;
            }
            self.deliver(entry)?;
        }
        self.early_entries.retain(|s, _| *s > self.applied_seq);
        if !self.early_entries.is_empty() {
            self.request_sync();
        }
        Ok(())
    }

    fn maybe_sync(&mut self) {
        let behind = match &self.replica {
            Some(r) => r.is_catching_up(),
            // An observer polls: it has no other way to learn that blocks exist beyond gossip.
            None => true,
        };
        if behind {
            self.request_sync();
        }
    }

    fn request_sync(&mut self) {
        let now = now_ms();
        if now < self.sync_deadline || self.peers_by_index.is_empty() {
            return;
        }
        let n = self.peers_by_index.len();
        self.sync_peer = (self.sync_peer + 1) % n;
        if Some(self.sync_peer as u32) == self.shared.validator_index {
            self.sync_peer = (self.sync_peer + 1) % n;
        }
        let from = self.applied_seq + 1;
        let msg = Wire::SyncRequest { from, to: from + SYNC_BATCH - 1 };
        if self.shared.net.send(self.peers_by_index[self.sync_peer], msg.to_bytes()).is_ok() {
            self.sync_deadline = now + if self.replica.is_some() { SYNC_TIMEOUT_MS } else { 500 };
        }
    }
}

/// The ledger block a log entry carries (`None` for null blocks and heartbeats).
fn ledger_block_of(entry: &LogEntry) -> Result<Option<LedgerBlock>> {
    match &entry.committed.block {
        PbftBlock::Data { payload, .. } if !payload.is_empty() => LedgerBlock::from_bytes(payload)
            .map(Some)
            .map_err(|e| anyhow!("committed block {} does not decode: {e}", entry.committed.seq)),
        _ => Ok(None),
    }
}

/// Transactions of `block` that this node already verified, by leaf hash.
fn known_transactions(shared: &Shared, block: &LedgerBlock) -> HashMap<Hash32, ctchain_ledger::VerifiedLedgerTx> {
    let Ok(mempool) = shared.mempool.lock() else { return HashMap::new() };
    block
        .txs
        .iter()
        .filter_map(|tx| {
            let leaf = tx.leaf_hash();
            shared.admission.known(&mempool, &leaf).map(|v| (leaf, v))
        })
        .collect()
}

fn verify_payload(shared: &Shared, payload: &[u8]) -> Result<VerifiedBlock, String> {
    let block = LedgerBlock::from_bytes(payload).map_err(|e| format!("payload is not a block: {e}"))?;
    let known = known_transactions(shared, &block);
    let leaves: Vec<Hash32> = block.txs.iter().map(|tx| tx.leaf_hash()).collect();
    let verified =
        block.verify_with(shared.admission.verifier(), |leaf| known.get(leaf).cloned()).map_err(|e| e.to_string())?;
    // Copies of these transactions may still be on their way by gossip: they need not be verified again.
    for (leaf, tx) in leaves.into_iter().zip(verified.txs()) {
        shared.admission.remember(leaf, tx);
    }
    Ok(verified)
}

/// Builds the mempool with the configured limits.
pub fn mempool(max_txs: usize, max_bytes: usize) -> Mempool {
    Mempool::new(MempoolConfig { max_txs, max_bytes, ..MempoolConfig::default() })
}
