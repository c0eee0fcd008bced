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
//! * The ledger changes only by committed blocks with a certificate of `2f + 1` validators of the block's epoch.
//! * Consensus follows the registry's epochs that change the validators ([`ConsensusEpochs`]; an epoch changing
//!   only audit keys or parameters keeps the consensus epoch): the schedule is built from the ledger's epochs at
//!   start, and the core is told of a newly scheduled one right after the delivery of the block that scheduled
//!   it, before any other input (the rule of `ctchain_pbft::EpochSchedule`). Every consensus message goes to the validators of
//!   the epoch it names. A node with a consensus key runs a replica whether or not the current epoch names it:
//!   it follows the chain until an epoch does.
//!
//! | file | the driver's part |
//! |---|---|
//! | this file | the driver: opening, the event loop, performing the core's outputs in order |
//! | `shared` | what the RPC server shares with the driver ([`Shared`]) |
//! | `wire` | the node-level direct messages (consensus, log sync) |
//! | `validation` | a backup's check of a proposal (`Validate`) |
//! | `proposal` | the primary's proposal (`NeedProposal`) |
//! | `delivery` | a committed sequence number (`Deliver`): log, ledger, mempool |
//! | `catch_up` | fetching and serving committed log entries |
//! | `regossip` | pending transactions gossiped again after a peer connects and while they stay pending |
//! | `snapshots` | state snapshots written every `interval_blocks`, served to peers; log pruning below them |

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Writer};
use ctchain_crypto::TxId;
use ctchain_ledger::finality::ConsensusSchedule;
use ctchain_ledger::{CheckedBlock, EncodedBlock, Genesis, Ledger, LedgerError, VerifiedBlock};
use ctchain_mempool::{Admission, AdmitError, Mempool, MempoolConfig};
use ctchain_net::{GossipVerdict, PeerId, Topic};

use crate::channels::{LinkEvent, Scope};
use ctchain_pbft::{
    Block as PbftBlock, CommittedBlock, Config as PbftConfig, Ed25519Signer, Ed25519Verifier, EpochSchedule, Input,
    LedgerTip, Output, PublicKey, Replica, Signer as _, ValidatorSet,
};
use ctchain_rpc::HeaderJson;
use tokio::sync::{broadcast, mpsc};
use tracing::{debug, error, info, warn};

use crate::consensus_store::{ConsensusStore, LogEntry};
use crate::metrics::NodeMetrics;

mod catch_up;
mod delivery;
mod proposal;
mod regossip;
mod shared;
pub mod snapshots;
mod validation;
mod wire;

use delivery::ledger_block_of;
pub use shared::{header_json, now_ms, AdmissionCapacity, Busy, ConsensusView, RejectedTxs, Shared};
use validation::*;
pub use wire::Wire;

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
    /// Ledger blocks between state snapshots (0: none, and no log pruning).
    pub snapshot_interval_blocks: u64,
    /// Where snapshots are written.
    pub snapshots_dir: std::path::PathBuf,
}

/// The consensus driver.
pub struct Driver {
    shared: Arc<Shared>,
    replica: Option<Replica>,
    store: ConsensusStore,
    /// The consensus epochs this node knows (from the ledger's, and the next one once scheduled).
    epochs: ConsensusEpochs,
    /// This node's consensus key, if it has one.
    consensus_key: Option<PublicKey>,
    /// This node's own peer id.
    own_peer: PeerId,
    events: mpsc::UnboundedSender<Event>,
    settings: DriverSettings,
    applied_seq: u64,
    pending_proposal: Option<(u64, u64, u64)>,
    /// When the primary first saw transactions pending for the block it is filling (milliseconds).
    batch_since: Option<u64>,
    awaiting: BTreeMap<u64, AwaitingVerdict>,
    validated: HashMap<Hash32, CheckedBlock>,
    round_start: HashMap<u64, Instant>,
    sync_deadline: u64,
    sync_peer: usize,
    early_entries: BTreeMap<u64, LogEntry>,
    status_published_ms: u64,
    regossip: regossip::RegossipSchedule,
    /// Validators that answered a sync request with "pruned below what you need".
    pruned_by: std::collections::BTreeSet<PeerId>,
    /// A validator restored from a snapshot, following until it may vote.
    pending_replica: Option<PendingReplica>,
    /// The registry version the allow-list was last computed from, and when (certificates expire with time).
    admitted_from: Option<(u64, Instant)>,
    /// The timing (view timeout, clock drift bound) the core runs with: the next block's epoch's, fed to the core
    /// whenever governance changes it (`Input::Timing`).
    timing: (u64, u64),
}

/// The replica a restored validator starts once it may vote.
struct PendingReplica {
    secret: [u8; 32],
    /// When it saw the first certified block gossiped, and the highest sequence number certified since.
    live: Option<(u64, u64)>,
    /// It may vote once the chain executed past this sequence number (fixed once the live head is known).
    vote_after: Option<u64>,
}

/// How long a restored validator collects gossiped blocks before it takes the highest as the live head. A peer
/// may gossip an old certified block (it cannot forge a new one), so the first one alone could be far behind;
/// honest validators gossip every commit, so within this time the highest is at least the head.
const LIVE_HEAD_SETTLE_MS: u64 = 5_000;

/// What `Driver::open` needs.
pub struct DriverParts {
    /// Shared state.
    pub shared: Arc<Shared>,
    /// Consensus store.
    pub store: ConsensusStore,
    /// The consensus secret (validators only).
    pub consensus_secret: Option<[u8; 32]>,
    /// Whether this start restored the ledger from a snapshot without `--restore`: the first start of a
    /// validator that joined by governance, which has never voted (a validator that lost its disk is started with
    /// `--restore`, and waits until what it may have voted on is committed).
    pub never_voted: bool,
    /// Where the driver's own events come from (timers, verifications).
    pub events: mpsc::UnboundedSender<Event>,
    /// Settings.
    pub settings: DriverSettings,
}

impl Driver {
    /// Restores the driver: re-applies to the ledger what the consensus log holds beyond it, and restores the
    /// replica from its persisted safety state.
    pub fn open(parts: DriverParts) -> Result<Self> {
        let DriverParts { shared, store, consensus_secret, never_voted, events, settings } = parts;
        let genesis = &shared.genesis;
        let epochs = {
            let ledger = shared.ledger.read().map_err(|_| anyhow!("ledger lock poisoned"))?;
            ConsensusEpochs::from_ledger(&ledger)?
        };
        let consensus_key = consensus_secret.map(|s| Ed25519Signer::from_secret(s).public_key());
        let own_peer = ctchain_net::peer_id_from_public(&shared.network_key)
            .ok_or_else(|| anyhow!("this node's network key is not a valid key"))?;

        let last = store.last_seq()?;
        let mut driver = Self {
            shared: shared.clone(),
            replica: None,
            store,
            epochs,
            consensus_key,
            own_peer,
            events,
            settings,
            applied_seq: last,
            pending_proposal: None,
            batch_since: None,
            awaiting: BTreeMap::new(),
            validated: HashMap::new(),
            round_start: HashMap::new(),
            sync_deadline: 0,
            sync_peer: 0,
            early_entries: BTreeMap::new(),
            status_published_ms: 0,
            regossip: Default::default(),
            pruned_by: Default::default(),
            pending_replica: None,
            admitted_from: None,
            timing: (0, 0),
        };
        driver.replay_into_ledger(last)?;
        // The log may have held blocks the ledger had not applied, which may have scheduled or begun an epoch.
        driver.epochs = {
            let ledger = shared.ledger.read().map_err(|_| anyhow!("ledger lock poisoned"))?;
            ConsensusEpochs::from_ledger(&ledger)?
        };
        // The log may end with sequence numbers that carried no block: the next block lies above them.
        driver.follow_epoch(last)?;
        driver.refresh_admission()?;

        let tip = match driver.store.entry(last)? {
            Some(e) => LedgerTip { seq: last, chain_digest: e.chain_digest, timestamp: e.timestamp },
            None if last == 0 => LedgerTip::genesis(&genesis.chain_id),
            None => bail!("consensus log misses its last entry {last}"),
        };
        if let Some(secret) = consensus_secret {
            match driver.store.safety()? {
                None if last > 0 && never_voted => {
                    // A validator joining from a snapshot signed nothing yet: it may vote from its tip on (and
                    // must: the epoch that names it may need its vote for its quorum).
                    info!(seq = last, "a joining validator restored from a snapshot: it has never voted");
                    let vote_after = Some(last - 1);
                    driver.pending_replica = Some(PendingReplica { secret, live: None, vote_after });
                }
                None if last > 0 => {
                    // Restored from a state snapshot: the votes it signed before are gone with its disk. It
                    // follows without voting until every sequence number it may have voted on is committed.
                    warn!(
                        seq = last,
                        "no safety state (restored from a snapshot): following the chain without voting for now"
                    );
                    driver.pending_replica = Some(PendingReplica { secret, live: None, vote_after: None });
                }
                persisted => {
                    let persisted =
                        persisted.unwrap_or_else(|| ctchain_pbft::PersistedState::genesis(&genesis.chain_id));
                    let replica = driver.new_replica(secret, persisted, tip, last)?;
                    driver.replica = Some(replica);
                }
            }
        }
        let epoch = driver.current_epoch();
        match (&driver.consensus_key, driver.my_index(epoch)) {
            (Some(_), Some(index)) => info!(epoch, index, "a validator of the current epoch"),
            (Some(_), None) => info!(epoch, "not a validator of the current epoch: following until an epoch names it"),
            (None, _) => info!(epoch, "an observer"),
        }
        info!(seq = last, height = driver.height(), "consensus state restored");
        Ok(driver)
    }

    fn height(&self) -> u64 {
        self.shared.ledger.read().map(|l| l.height()).unwrap_or(0)
    }

    /// The core's configuration: the epochs known, the chain's checkpoint interval and window (fixed at the
    /// genesis), and the timing of the next block's epoch.
    fn pbft_config(&self) -> Result<PbftConfig> {
        let g = &self.shared.genesis.consensus;
        let timing = self
            .shared
            .ledger
            .read()
            .map_err(|_| anyhow!("ledger lock poisoned"))?
            .next_block_epoch()
            .consensus
            .clone();
        let mut cfg = PbftConfig::new(self.epochs.schedule().clone());
        cfg.checkpoint_interval = g.checkpoint_interval;
        cfg.window = g.window;
        cfg.view_timeout_ms = timing.view_timeout_ms;
        cfg.max_clock_skew_ms = timing.max_clock_drift_ms;
        cfg.max_message_bytes = self.settings.max_message_bytes;
        cfg.retain_blocks = RECENT_IN_MEMORY;
        Ok(cfg)
    }

    fn new_replica(
        &self,
        secret: [u8; 32],
        persisted: ctchain_pbft::PersistedState,
        tip: LedgerTip,
        last: u64,
    ) -> Result<Replica> {
        let cfg = self.pbft_config()?;
        let recent = self
            .store
            .range(last.saturating_sub(RECENT_IN_MEMORY - 1).max(self.store.first_seq()?).max(1), last)?
            .into_iter()
            .map(|e| e.committed)
            .collect();
        Replica::restore(
            cfg,
            Box::new(Ed25519Signer::from_secret(secret)),
            Box::new(Ed25519Verifier),
            persisted,
            tip,
            recent,
        )
        .context("cannot start the consensus replica")
    }

    /// The epoch of the next sequence number to execute.
    pub(super) fn current_epoch(&self) -> u64 {
        self.epochs.schedule().epoch_of(self.applied_seq + 1)
    }

    /// This node's index among the validators of `epoch`, if it is one.
    pub(super) fn my_index(&self, epoch: u64) -> Option<u32> {
        self.epochs.schedule().get(epoch)?.index_of(self.consensus_key.as_ref()?)
    }

    /// The peers of the current epoch's validators, by index.
    pub(super) fn current_peers(&self) -> &[PeerId] {
        self.epochs.peers.get(&self.current_epoch()).map_or(&[], Vec::as_slice)
    }

    /// The validator set of the current epoch.
    pub(super) fn current_validators(&self) -> &ValidatorSet {
        self.epochs.schedule().get(self.current_epoch()).unwrap_or_else(|| self.epochs.schedule().earliest_set())
    }

    /// Adds the epoch the ledger's registry has scheduled, if it is new and changes the validators, and returns
    /// what the core must be told.
    pub(super) fn learn_next_epoch(&mut self) -> Result<Option<Input>> {
        let next = {
            let ledger = self.shared.ledger.read().map_err(|_| anyhow!("ledger lock poisoned"))?;
            match ledger.registry().next_epoch() {
                Some(next) if next.number > self.epochs.registry_seen() => next.clone(),
                _ => return Ok(None),
            }
        };
        let Some(set) = self.epochs.add(&self.shared.genesis.chain_id, &next)? else {
            info!(epoch = next.number, first_seq = next.first_seq, "the next epoch keeps the validators");
            return Ok(None);
        };
        let role = match set.index_of(self.consensus_key.as_ref().unwrap_or(&PublicKey(Vec::new()))) {
            Some(i) => format!("validator {i}"),
            None => "not a validator".to_owned(),
        };
        info!(
            epoch = next.number,
            consensus_epoch = set.epoch(),
            first_seq = next.first_seq,
            validators = set.n(),
            this_node = %role,
            "the next epoch changes the validators"
        );
        Ok(Some(Input::NextEpoch { first_seq: next.first_seq, validators: set }))
    }

    /// The core's new timing, if the next block's epoch has other consensus parameters than the core runs with.
    fn timing_change(&mut self) -> Result<Option<Input>> {
        let timing = {
            let ledger = self.shared.ledger.read().map_err(|_| anyhow!("ledger lock poisoned"))?;
            let params = &ledger.next_block_epoch().consensus;
            (params.view_timeout_ms, params.max_clock_drift_ms)
        };
        if timing == self.timing {
            return Ok(None);
        }
        if self.timing != (0, 0) {
            info!(
                view_timeout_ms = timing.0,
                max_clock_drift_ms = timing.1,
                "the consensus timing changes with the epoch"
            );
        }
        self.timing = timing;
        Ok(Some(Input::Timing { view_timeout_ms: timing.0, max_clock_skew_ms: timing.1 }))
    }

    /// A restored validator sees a certified block `seq` gossiped.
    fn note_live_seq(&mut self, seq: u64) {
        if let Some(pending) = &mut self.pending_replica {
            let (since, highest) = pending.live.get_or_insert((now_ms(), seq));
            pending.live = Some((*since, (*highest).max(seq)));
        }
    }

    /// Starts the replica of a restored validator once the chain is past the sequence numbers it may have voted on.
    /// Everything it voted on before it lost its disk lay within one window of the stable checkpoint it knew, which
    /// is at most the live head `h` it learns after restarting: once the chain is past `h + window + checkpoint
    /// interval`, all of that is committed, and a replica starting at its tip votes only on later numbers.
    fn maybe_start_voting(&mut self) -> Result<()> {
        if let Some(pending) = &mut self.pending_replica {
            if let (None, Some((since, highest))) = (pending.vote_after, pending.live) {
                if now_ms() >= since + LIVE_HEAD_SETTLE_MS {
                    let head = highest.max(self.applied_seq);
                    let c = &self.shared.genesis.consensus;
                    let after = head + c.window + c.checkpoint_interval;
                    info!(
                        live = head,
                        vote_after = after,
                        "restored validator: it votes again after this sequence number"
                    );
                    pending.vote_after = Some(after);
                }
            }
        }
        let due = self.pending_replica.as_ref().is_some_and(|p| p.vote_after.is_some_and(|a| self.applied_seq > a));
        if !due {
            return Ok(());
        }
        let pending = self.pending_replica.take().expect("checked above");
        let last = self.applied_seq;
        let entry = self.store.entry(last)?.ok_or_else(|| anyhow!("consensus log misses its last entry {last}"))?;
        let tip = LedgerTip { seq: last, chain_digest: entry.chain_digest, timestamp: entry.timestamp };
        // It signed nothing in the current epoch (it did not vote since its restore). The epoch began after the
        // chain digest the log holds there; a log restored later than that starts the epoch at the tip instead,
        // which is as committed.
        let epoch = self.current_epoch();
        let start_seq = self.epochs.schedule().first_seq(epoch).unwrap_or(1) - 1;
        let start = if start_seq == 0 {
            ctchain_pbft::EpochStart::genesis(&self.shared.genesis.chain_id)
        } else {
            match self.store.entry(start_seq)? {
                Some(e) => ctchain_pbft::EpochStart { seq: start_seq, digest: e.chain_digest },
                None => ctchain_pbft::EpochStart { seq: last, digest: entry.chain_digest },
            }
        };
        let persisted = ctchain_pbft::PersistedState::entering(epoch, start);
        let replica = self.new_replica(pending.secret, persisted, tip, last)?;
        self.replica = Some(replica);
        info!(seq = last, "restored validator: voting again");
        self.step(Input::Start)
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
            self.apply_ledger_block(&entry, delivery::Applying::Received(block))?;
        }
        Ok(())
    }

    /// Runs until `shutdown` fires.
    pub async fn run(
        mut self,
        mut net_events: mpsc::Receiver<LinkEvent>,
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
        self.maybe_start_voting()?;
        self.regossip_due();
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
        // Network-wide counters belong to the system channel's metrics; every chain counts its own traffic.
        if *self.shared.net.scope() == Scope::System {
            let refused = net.refused_connections;
            let counted = self.shared.metrics.refused_connections.get();
            if refused > counted {
                self.shared.metrics.refused_connections.inc_by(refused - counted);
            }
            for (peer, refused) in &net.refused_messages {
                let name = self.peer_name(peer);
                self.shared.metrics.set_counter(&self.shared.metrics.refused_messages, &name, *refused);
            }
            let dropped = self.shared.metrics.dropped_net_events.get();
            if net.dropped_events > dropped {
                self.shared.metrics.dropped_net_events.inc_by(net.dropped_events - dropped);
            }
            let stalled = self.shared.metrics.stalled_peer_disconnects.get();
            if net.stalled_disconnects > stalled {
                self.shared.metrics.stalled_peer_disconnects.inc_by(net.stalled_disconnects - stalled);
            }
        }
        let traffic = self.shared.net.confinement().traffic();
        self.shared.metrics.observe_traffic(self.shared.net.scope().label(), &traffic);
        let epoch = self.current_epoch();
        let mut view =
            ConsensusView { seq: self.applied_seq, epoch, validator_index: self.my_index(epoch), ..Default::default() };
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

    fn on_net(&mut self, ev: LinkEvent) -> Result<()> {
        match ev {
            LinkEvent::Direct { from, bytes } => match Wire::from_bytes(&bytes) {
                Ok(Wire::Consensus(msg)) => {
                    if self.replica.is_some() {
                        self.step(Input::Message(msg))?;
                    }
                }
                Ok(Wire::SyncRequest { from: lo, to: hi }) => self.serve_sync(from, lo, hi)?,
                Ok(Wire::SyncResponse(entries)) => self.on_synced(entries)?,
                Ok(Wire::SnapshotOffersRequest) => self.serve_offers(from)?,
                Ok(Wire::SnapshotChunkRequest { height, offset }) => self.serve_snapshot_chunk(from, height, offset),
                Ok(Wire::SyncPruned { first }) => self.on_sync_pruned(from, first)?,
                // Answers to a restore at start; a running node asked for none.
                Ok(Wire::SnapshotOffers(_) | Wire::SnapshotChunk { .. }) => {}
                Err(e) => debug!(%from, "undecodable direct message: {e}"),
            },
            LinkEvent::Gossip { id, topic: Topic::Transactions, bytes } => {
                let shared = self.shared.clone();
                let events = self.events.clone();
                // Gossip carries the tagged ledger encoding, so every kind travels on one topic. It is relayed
                // further only once admitted here (the network waits for this verdict).
                tokio::spawn(async move {
                    let verdict = match shared.admit_within_capacity(bytes).await {
                        Ok(Ok(id)) => {
                            let _ = shared.tx_updates.send(id);
                            let _ = events.send(Event::TxAdmitted);
                            GossipVerdict::Accept
                        }
                        Ok(Err(AdmitError::Duplicate(_))) => GossipVerdict::Ignore,
                        Ok(Err(e)) => {
                            shared.count_rejection(&e);
                            debug!("gossiped transaction refused: {e}");
                            match e {
                                // Can never become valid: malformed, oversized, or a proof that fails.
                                AdmitError::TooLarge { .. } | AdmitError::Encoding(_) | AdmitError::Invalid(_) => {
                                    GossipVerdict::Reject
                                }
                                // Depends on this node's state (its pool, its ledger, its room).
                                _ => GossipVerdict::Ignore,
                            }
                        }
                        // Dropped: the peer that sent it, or another, relays it again.
                        Err(Busy) => {
                            debug!("gossiped transaction dropped: admission queue full");
                            GossipVerdict::Ignore
                        }
                    };
                    shared.net.report(id, verdict);
                });
            }
            LinkEvent::Gossip { id, topic: Topic::Blocks, bytes } => match LogEntry::from_bytes(&bytes) {
                Ok(entry) => {
                    // A block is relayed only with a valid commit certificate (it is checked again on apply). Within
                    // a window of this node's tip, its epoch is known for sure; beyond, an epoch this node has not
                    // learnt of yet may have other validators, so a failing certificate proves nothing.
                    let certified = self.epochs.schedule().verify_committed(&Ed25519Verifier, &entry.committed).is_ok();
                    let within = entry.committed.seq <= self.applied_seq + self.shared.genesis.consensus.window;
                    let verdict = match (certified, within) {
                        (true, _) => GossipVerdict::Accept,
                        (false, true) => GossipVerdict::Reject,
                        (false, false) => GossipVerdict::Ignore,
                    };
                    self.shared.net.report(id, verdict);
                    if certified {
                        self.note_live_seq(entry.committed.seq);
                        self.on_synced(vec![entry])?;
                    }
                }
                Err(e) => {
                    self.shared.net.report(id, GossipVerdict::Reject);
                    debug!("undecodable gossiped block: {e}");
                }
            },
            LinkEvent::PeerConnected(p) => {
                info!(peer = %self.peer_name(&p), "peer connected");
                self.regossip_after_connect();
            }
            LinkEvent::PeerDisconnected(p) => warn!(peer = %self.peer_name(&p), "peer disconnected"),
            LinkEvent::Refused { peer } => {
                warn!(peer = ?peer.map(|p| p.to_string()), "refused a connection from a peer outside the allow-list")
            }
            LinkEvent::Listening(addr) => info!(%addr, "network listening"),
        }
        Ok(())
    }

    /// Recomputes who may connect when the registry changed (or a minute passed: certificates expire) and hands
    /// the network the new allow-list: a peer taken off it is disconnected at once.
    pub(super) fn refresh_admission(&mut self) -> Result<()> {
        const RECHECK: std::time::Duration = std::time::Duration::from_secs(60);
        let admitted = {
            let ledger = self.shared.ledger.read().map_err(|_| anyhow!("ledger lock poisoned"))?;
            let version = ledger.registry().version();
            if self.admitted_from.is_some_and(|(v, at)| v == version && at.elapsed() < RECHECK) {
                return Ok(());
            }
            self.admitted_from = Some((version, Instant::now()));
            if *self.shared.net.scope() == Scope::System {
                // The system registry says who is in each private channel this node hosts.
                let changed =
                    self.shared.net.confinement().update(ledger.registry(), &self.shared.network_key, now_ms() / 1000);
                if !changed.is_empty() {
                    info!(?changed, "the registry changed who is in the channels this node hosts");
                }
            }
            crate::admitted::admitted_peers(
                ledger.registry(),
                &self.shared.config_peers,
                &self.shared.network_key,
                now_ms() / 1000,
            )?
        };
        let names: HashMap<PeerId, (String, bool)> =
            admitted.iter().map(|p| (p.id, (p.name.clone(), p.validator))).collect();
        let mut current = self.shared.peer_names.write().map_err(|_| anyhow!("peer names lock poisoned"))?;
        if *current == names {
            return Ok(());
        }
        let gone: Vec<&String> =
            current.iter().filter(|(id, _)| !names.contains_key(id)).map(|(_, (n, _))| n).collect();
        let new: Vec<&String> = names.iter().filter(|(id, _)| !current.contains_key(id)).map(|(_, (n, _))| n).collect();
        info!(?gone, ?new, admitted = names.len(), "the registry changed who may connect");
        *current = names;
        drop(current);
        self.shared.net.set_allowed(admitted.into_iter().map(|p| (p.id, p.address)).collect())?;
        Ok(())
    }

    fn peer_name(&self, p: &PeerId) -> String {
        self.shared
            .peer_names
            .read()
            .ok()
            .and_then(|names| names.get(p).map(|(n, _)| n.clone()))
            .unwrap_or_else(|| p.to_string())
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
                Output::Send { to, message } => self.send_consensus(message.epoch(), to, message.to_bytes()),
                Output::Broadcast(message) => {
                    let (epoch, bytes) = (message.epoch(), message.to_bytes());
                    let me = self.my_index(epoch);
                    let n = self.epochs.peers.get(&epoch).map_or(0, Vec::len) as u32;
                    for to in (0..n).filter(|to| Some(*to) != me) {
                        self.send_consensus(epoch, to, bytes.clone());
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
                    let next_epoch = self.deliver(entry)?;
                    // Before anything else reaches the core: the block that scheduled the epoch (or changed the
                    // timing) was just delivered.
                    let timing = self.timing_change()?;
                    if let Some(replica) = self.replica.as_mut() {
                        for input in next_epoch.into_iter().chain(timing) {
                            let outputs = replica.handle(now_ms(), input);
                            for out in outputs.into_iter().rev() {
                                queue.push_front(out);
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn send_consensus(&self, epoch: u64, to: u32, bytes: Vec<u8>) {
        let Some(peer) = self.epochs.peers.get(&epoch).and_then(|p| p.get(to as usize)) else { return };
        if let Err(e) = self.shared.net.send(*peer, Wire::Consensus(bytes).to_bytes()) {
            debug!(to, "consensus send failed: {e}");
        }
    }
}

/// The consensus epochs ([`ConsensusSchedule`], the numbering light clients use too) and where each epoch's
/// validators are on the network. An epoch that changes only audit keys or consensus parameters is the ledger's
/// business; consensus keeps its validators and its epoch number.
pub(super) struct ConsensusEpochs {
    consensus: ConsensusSchedule,
    /// Each consensus epoch's validators' peer ids, by index.
    pub(super) peers: BTreeMap<u64, Vec<PeerId>>,
}

impl ConsensusEpochs {
    /// The epochs a ledger knows: every one that began, and the next if one is scheduled.
    fn from_ledger(ledger: &Ledger) -> Result<Self> {
        let mut epochs = ledger.epochs().context("cannot read the ledger's epochs")?;
        epochs.extend(ledger.registry().next_epoch().cloned());
        let genesis = epochs.first().ok_or_else(|| anyhow!("the ledger holds no epoch"))?;
        let chain_id = &ledger.genesis().chain_id;
        let mut this = Self::genesis(chain_id, genesis)?;
        for epoch in &epochs[1..] {
            this.add(chain_id, epoch)?;
        }
        Ok(this)
    }

    /// The genesis epoch alone.
    fn genesis(chain_id: &str, genesis: &ctchain_governance::Epoch) -> Result<Self> {
        let consensus = ConsensusSchedule::genesis(chain_id, genesis).context("the ledger's genesis epoch")?;
        Ok(Self { consensus, peers: BTreeMap::from([(0, epoch_peers(&genesis.validators)?)]) })
    }

    /// Considers registry epoch `epoch` (the next after those seen): a new consensus epoch if it changes the
    /// validators (their keys or their order), returned.
    fn add(&mut self, chain_id: &str, epoch: &ctchain_governance::Epoch) -> Result<Option<ValidatorSet>> {
        let peers = epoch_peers(&epoch.validators)?;
        let added = self.consensus.add(chain_id, epoch)?;
        if let Some(set) = &added {
            self.peers.insert(set.epoch(), peers);
        }
        Ok(added)
    }

    /// The validator sets, numbered by consensus epoch.
    pub(super) fn schedule(&self) -> &EpochSchedule {
        self.consensus.schedule()
    }

    /// The newest registry epoch considered.
    pub(super) fn registry_seen(&self) -> u64 {
        self.consensus.registry_seen()
    }
}

/// The peer ids of validators, by index.
fn epoch_peers(validators: &[ctchain_governance::ValidatorInfo]) -> Result<Vec<PeerId>> {
    validators
        .iter()
        .map(|v| {
            ctchain_net::peer_id_from_public(&v.network_key).ok_or_else(|| anyhow!("bad network key of {}", v.name))
        })
        .collect()
}

/// Builds the mempool with the configured limits.
pub fn mempool(max_txs: usize, max_bytes: usize) -> Mempool {
    Mempool::new(MempoolConfig { max_txs, max_bytes, ..MempoolConfig::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctchain_governance::{ConsensusParams, Epoch, ValidatorInfo};

    fn validator(i: usize) -> ValidatorInfo {
        let key = || crate::keys::NodeKey::generate().public;
        ValidatorInfo { name: format!("bank-{i}/validator"), consensus_key: key(), network_key: key() }
    }

    fn epoch(number: u64, first_seq: u64, validators: &[ValidatorInfo], audit_keys: usize) -> Epoch {
        let audit_keys =
            (0..audit_keys).map(|_| ctchain_crypto::AuditSecretKey::random(&mut rand_core::OsRng).public());
        Epoch {
            number,
            first_seq,
            decided_seq: first_seq.saturating_sub(48),
            validators: validators.to_vec(),
            audit_keys: audit_keys.collect(),
            consensus: ConsensusParams::default(),
        }
    }

    #[test]
    fn only_registry_epochs_that_change_the_validators_make_consensus_epochs() {
        let v: Vec<ValidatorInfo> = (0..5).map(validator).collect();
        let mut epochs = ConsensusEpochs::genesis("c", &epoch(0, 1, &v[..4], 1)).unwrap();
        // An audit key rotation: the same validators sign on in consensus epoch 0.
        assert!(epochs.add("c", &epoch(1, 49, &v[..4], 1)).unwrap().is_none());
        assert_eq!((epochs.schedule().latest(), epochs.registry_seen()), (0, 1));
        // A fifth validator: consensus epoch 1, from the registry epoch's first sequence number.
        let set = epochs.add("c", &epoch(2, 97, &v, 1)).unwrap().expect("a validator change");
        assert_eq!((set.epoch(), set.n()), (1, 5));
        assert_eq!(epochs.schedule().first_seq(1), Some(97));
        assert_eq!(epochs.peers[&1].len(), 5);
        // A validator's new network key changes where its messages go: a new consensus epoch too.
        let mut moved = v.clone();
        moved[2].network_key = crate::keys::NodeKey::generate().public;
        assert_eq!(epochs.add("c", &epoch(3, 145, &moved, 2)).unwrap().map(|s| s.epoch()), Some(2));
        assert_eq!(epochs.schedule().epoch_of(144), 1);
        assert_eq!(epochs.schedule().epoch_of(145), 2);
        assert!(ConsensusEpochs::genesis("c", &epoch(1, 49, &v, 1)).is_err(), "a schedule starts at epoch 0");
    }
}
