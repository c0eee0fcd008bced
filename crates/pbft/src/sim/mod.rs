//! A deterministic simulator: seeded, single-threaded, with simulated time, a faulty network, crashes and
//! restarts from persisted state, and Byzantine replicas (after Commonware's deterministic runtime and the Twins
//! methodology). The same [`Scenario`] always produces the same trace hash.
//!
//! Randomness comes only from a `ChaCha8Rng` seeded with the scenario's seed; time is the simulator's clock; event
//! order is a `BTreeMap` keyed by `(time, sequence)`. Nothing reads the wall clock or a thread RNG.

pub mod checkers;

use std::collections::BTreeMap;
use std::rc::Rc;

use ctchain_codec::{Decode, Encode, Hash32, Sm3Hasher};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::cert::ValidatorSet;
use crate::crypto::{Ed25519Signer, Ed25519Verifier, Signer};
use crate::epoch::EpochSchedule;
use crate::metrics::Metrics;
use crate::replica::{Config, Delivered, Input, LedgerTip, Output, Replica, Timer};
use crate::safety::PersistedState;
use crate::types::{
    signing_digest, Block, CommittedBlock, Epoch, Message, PrePrepare, Proposal, PublicKey, ReplicaId, Seq, Signable,
    Signed, View, MAX_FETCH_BLOCKS,
};

use checkers::{app_accepts, Checker};

/// The chain id of simulated chains.
pub const CHAIN_ID: &str = "ctchain-sim";
/// How often a node that is not a validator of its epoch asks a peer for blocks.
pub const SYNC_INTERVAL_MS: u64 = 100;
/// Simulated time starts here (milliseconds), so that clock skews never go below zero.
pub const T0: u64 = 1_000_000;
/// A run that handles more events than this, or holds more than [`MAX_QUEUED_EVENTS`] at once, is stopped and
/// reported as a violation: a run away (a message storm, requests multiplying) fails its seed instead of never
/// ending. The campaign's seeds stay far below both: the most events one seed handled in the 10 000-seed campaigns
/// is 86 828 (n = 7).
pub const MAX_STEPS: u64 = 2_000_000;
/// See [`MAX_STEPS`].
pub const MAX_QUEUED_EVENTS: usize = 200_000;

/// How a replica misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behavior {
    /// Follows the protocol.
    Honest,
    /// Sends nothing.
    Silent,
    /// As primary, sends different blocks to different halves of the replicas.
    Equivocate,
    /// Sends every prepare and commit twice: once for the real digest, once for a made-up one.
    DoubleVote,
    /// As primary, proposes payloads the application rejects, or blocks with timestamps far in the future.
    InvalidProposals,
    /// Replays old messages it received, to random peers.
    Replay,
    /// Two honest cores share this replica's key ("twins"): together they equivocate and double vote.
    Twin,
    /// Answers block requests (by digest, or committed blocks for catch-up) with altered blocks.
    LyingFetch,
    /// Follows the protocol, and with everything it sends floods every peer with validly signed pre-prepares,
    /// prepares and commits for later views, which peers can only buffer.
    Flood,
    /// Signs forged contents: view changes with a made-up prepared certificate, new views whose `O` names a block
    /// `V` does not imply, checkpoints of a made-up chain digest.
    ForgedContents,
}

/// Network conditions before the network heals.
#[derive(Clone, Copy, Debug)]
pub struct NetConfig {
    /// Minimum one-way delay.
    pub min_delay_ms: u64,
    /// Maximum one-way delay (delays are uniform, so messages are reordered).
    pub max_delay_ms: u64,
    /// Probability, per mille, that a message is dropped (until `heal_at_ms`).
    pub drop_per_mille: u32,
    /// Probability, per mille, that a message is delivered twice.
    pub dup_per_mille: u32,
}

/// Which direction of the links between `isolated` and the rest a [`Partition`] cuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Neither side hears the other.
    Both,
    /// The isolated nodes hear nothing; what they send still arrives (a one-way partition).
    Inbound,
    /// What the isolated nodes send is lost; they still hear the rest.
    Outbound,
}

/// A partition: between `from_ms` and `until_ms`, the links between `isolated` and the other replicas are cut in
/// the direction(s) `cut` names.
#[derive(Clone, Debug)]
pub struct Partition {
    /// Start.
    pub from_ms: u64,
    /// End.
    pub until_ms: u64,
    /// Node indices cut off from the rest.
    pub isolated: Vec<usize>,
    /// Which direction is cut.
    pub cut: Cut,
}

/// A change of the validator set, decided by the block at `decided_at`: the new set orders the sequence numbers
/// after the first checkpoint at least one window above it (the rule of [`crate::epoch`]). Every host computes it
/// from its own ledger, as a real application would from a governance transaction in that block.
#[derive(Clone, Debug)]
pub struct Reconfiguration {
    /// The sequence number of the deciding block; it must lie in the epoch the previous change began.
    pub decided_at: Seq,
    /// The new validators, as node numbers (the keys of [`sim_secret`]), in index order.
    pub validators: Vec<ReplicaId>,
}

/// A crash of one node and its restart from persisted state.
#[derive(Clone, Copy, Debug)]
pub struct Crash {
    /// Node index.
    pub node: usize,
    /// Crash time.
    pub at_ms: u64,
    /// Restart time.
    pub restart_ms: u64,
    /// Crash in the middle of handling an input: right after its `Persist` output, before its sends.
    pub torn: bool,
}

/// Everything that defines a run. Times are relative to [`T0`].
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Seed of every random choice of the run.
    pub seed: u64,
    /// Genesis validators: nodes `0..n`.
    pub n: usize,
    /// Changes of the validator set, in order; nodes they name beyond `0..n` follow the chain until they join.
    pub reconfigurations: Vec<Reconfiguration>,
    /// Behaviour per node number (absent: honest).
    pub behaviors: BTreeMap<ReplicaId, Behavior>,
    /// Network before healing.
    pub net: NetConfig,
    /// Partitions (all end by `heal_at_ms`).
    pub partitions: Vec<Partition>,
    /// Crashes (all restart by `heal_at_ms`).
    pub crashes: Vec<Crash>,
    /// From here on: no drops, no partitions.
    pub heal_at_ms: u64,
    /// Liveness: after healing, every honest node must deliver this many blocks beyond the highest honest height
    /// at the healing time...
    pub blocks_after_heal: u64,
    /// ...within this much simulated time.
    pub liveness_deadline_ms: u64,
    /// ...and the honest replicas may go through at most this many views after healing.
    pub max_views_after_heal: u64,
    /// Delay of the simulated application before it answers a proposal request.
    pub block_interval_ms: u64,
    /// Clock skew of each node, within `±Δ/4`.
    pub max_skew_ms: u64,
    /// Replica configuration template (validators and `me` are filled in).
    pub checkpoint_interval: u64,
    /// Window `L`.
    pub window: u64,
    /// Base view timeout.
    pub view_timeout_ms: u64,
    /// Δ.
    pub max_clock_skew_ms: u64,
    /// Every proposed payload is padded to this many bytes (large blocks; 0: no padding).
    pub payload_bytes: usize,
    /// The replicas' message size limit.
    pub max_message_bytes: usize,
}

impl Scenario {
    /// A fault-free scenario with `n` replicas.
    pub fn calm(n: usize, seed: u64) -> Self {
        Self {
            seed,
            n,
            reconfigurations: vec![],
            behaviors: BTreeMap::new(),
            net: NetConfig { min_delay_ms: 2, max_delay_ms: 20, drop_per_mille: 0, dup_per_mille: 0 },
            partitions: vec![],
            crashes: vec![],
            heal_at_ms: 1_000,
            blocks_after_heal: 5,
            liveness_deadline_ms: 30_000,
            max_views_after_heal: n as u64,
            block_interval_ms: 50,
            max_skew_ms: 200,
            checkpoint_interval: 4,
            window: 8,
            view_timeout_ms: 500,
            max_clock_skew_ms: 2_000,
            payload_bytes: 0,
            max_message_bytes: 1 << 20,
        }
    }

    /// A random scenario for the campaign: up to `f` Byzantine replicas of random kinds, honest crashes (some torn),
    /// random delays, drops, duplicates and a partition, all derived from `seed`.
    pub fn random(n: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ((n as u64) << 56) ^ 0x5eed);
        let mut s = Self::calm(n, seed);
        let f = (n - 1) / 3;
        let ids: Vec<ReplicaId> = (0..n as ReplicaId).collect();
        let byz_count = rng.gen_range(0..=f);
        let byz: Vec<ReplicaId> = ids.choose_multiple(&mut rng, byz_count).copied().collect();
        let kinds = [
            Behavior::Silent,
            Behavior::Equivocate,
            Behavior::DoubleVote,
            Behavior::InvalidProposals,
            Behavior::Replay,
            Behavior::Twin,
            Behavior::LyingFetch,
            Behavior::Flood,
            Behavior::ForgedContents,
        ];
        let mut twin_used = false;
        for id in byz {
            let mut b = *kinds.choose(&mut rng).unwrap_or(&Behavior::Silent);
            if b == Behavior::Twin && twin_used {
                b = Behavior::Equivocate;
            }
            twin_used |= b == Behavior::Twin;
            s.behaviors.insert(id, b);
        }
        s.heal_at_ms = rng.gen_range(1_000..3_000);
        let min = rng.gen_range(1..10);
        s.net = NetConfig {
            min_delay_ms: min,
            max_delay_ms: min + rng.gen_range(1..60),
            drop_per_mille: if rng.gen_bool(0.7) { rng.gen_range(0..150) } else { 0 },
            dup_per_mille: rng.gen_range(0..80),
        };
        if rng.gen_bool(0.5) {
            let count = rng.gen_range(1..=n / 2);
            let isolated: Vec<usize> = (0..n).collect::<Vec<_>>().choose_multiple(&mut rng, count).copied().collect();
            let from_ms = rng.gen_range(0..s.heal_at_ms / 2);
            let until_ms = rng.gen_range(from_ms + 1..s.heal_at_ms);
            let cut = *[Cut::Both, Cut::Both, Cut::Inbound, Cut::Outbound].choose(&mut rng).unwrap_or(&Cut::Both);
            s.partitions.push(Partition { from_ms, until_ms, isolated, cut });
        }
        if rng.gen_bool(0.2) {
            // Large blocks: view changes must not carry them.
            s.payload_bytes = rng.gen_range(10_000..100_000);
            s.max_message_bytes = 3 * s.payload_bytes;
        }
        let honest: Vec<usize> = (0..n).filter(|i| !s.behaviors.contains_key(&(*i as ReplicaId))).collect();
        let crash_count = rng.gen_range(0..=2usize.min(honest.len()));
        if crash_count > 0 && rng.gen_bool(0.1) {
            // A long outage: the network heals late, and a crashed replica misses most of the run.
            s.heal_at_ms = rng.gen_range(8_000..15_000);
        }
        for node in honest.choose_multiple(&mut rng, crash_count).copied().collect::<Vec<_>>() {
            let at_ms = rng.gen_range(0..s.heal_at_ms - 100);
            let restart_ms = rng.gen_range(at_ms + 1..s.heal_at_ms);
            s.crashes.push(Crash { node, at_ms, restart_ms, torn: rng.gen_bool(0.5) });
        }
        s
    }

    /// A random scenario whose validator set changes one to three times under the faults of [`Self::random`]:
    /// validators added, removed and replaced, from 4 up to 7 of 8 nodes, with at most `f` Byzantine validators in
    /// every epoch (a Byzantine node may also be one that joins later).
    pub fn random_reconfiguring(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7ec0_f1_5eed);
        let mut s = Self::random(4, seed);
        const POOL: ReplicaId = 8;
        let mut current: Vec<ReplicaId> = (0..4).collect();
        let mut first_seq = 1;
        for _ in 0..rng.gen_range(1..=3) {
            let size = rng.gen_range(4..=7usize);
            let keep = rng.gen_range(1..=current.len().min(size));
            let mut next: Vec<ReplicaId> = current.choose_multiple(&mut rng, keep).copied().collect();
            let mut others: Vec<ReplicaId> = (0..POOL).filter(|k| !next.contains(k)).collect();
            others.shuffle(&mut rng);
            next.extend(others.into_iter().take(size - next.len()));
            next.shuffle(&mut rng);
            let decided_at = first_seq + rng.gen_range(0..12);
            s.reconfigurations.push(Reconfiguration { decided_at, validators: next.clone() });
            first_seq = s.epoch_first_seq(decided_at);
            current = next;
        }
        if rng.gen_bool(0.3) {
            let kinds = [Behavior::Silent, Behavior::Equivocate, Behavior::DoubleVote, Behavior::ForgedContents];
            let node = rng.gen_range(4..POOL);
            s.behaviors.insert(node, *kinds.choose(&mut rng).unwrap_or(&Behavior::Silent));
        }
        // At most f Byzantine validators in every epoch: the highest-numbered ones are made honest until it holds.
        loop {
            let over = s
                .epoch_sets()
                .iter()
                .any(|set| set.iter().filter(|k| s.behaviors.contains_key(k)).count() > (set.len() - 1) / 3);
            match (over, s.behaviors.keys().next_back().copied()) {
                (true, Some(k)) => {
                    s.behaviors.remove(&k);
                }
                _ => break,
            }
        }
        s.crashes.retain(|c| !s.behaviors.contains_key(&(c.node as ReplicaId)));
        s
    }

    /// The last sequence number of an epoch whose change was decided at `decided_at`, plus one: the first
    /// checkpoint at least one window above it.
    pub fn epoch_first_seq(&self, decided_at: Seq) -> Seq {
        let k = self.checkpoint_interval;
        (decided_at + self.window).div_ceil(k) * k + 1
    }

    /// The validators of every epoch, as node numbers.
    pub fn epoch_sets(&self) -> Vec<Vec<ReplicaId>> {
        let mut sets = vec![(0..self.n as ReplicaId).collect::<Vec<_>>()];
        sets.extend(self.reconfigurations.iter().map(|r| r.validators.clone()));
        sets
    }

    /// How many nodes the run has (twins aside): every node some epoch names.
    pub fn node_count(&self) -> usize {
        self.epoch_sets().iter().flatten().map(|k| *k as usize + 1).max().unwrap_or(self.n).max(self.n)
    }

    /// The epochs decided by the blocks up to `tip`, from the genesis.
    pub fn schedule_through(&self, tip: Seq) -> EpochSchedule {
        let mut schedule = EpochSchedule::genesis(sim_validators(self.n));
        for (i, r) in self.reconfigurations.iter().enumerate() {
            if r.decided_at > tip {
                break;
            }
            let set = sim_validator_set(i as Epoch + 1, &r.validators);
            if schedule.push(self.epoch_first_seq(r.decided_at), set).is_err() {
                break;
            }
        }
        schedule
    }

    fn config(&self, epochs: EpochSchedule) -> Config {
        let mut c = Config::new(epochs);
        c.checkpoint_interval = self.checkpoint_interval;
        c.window = self.window;
        c.view_timeout_ms = self.view_timeout_ms;
        c.max_view_timeout_ms = self.view_timeout_ms * 16;
        c.fetch_timeout_ms = 300;
        c.max_clock_skew_ms = self.max_clock_skew_ms;
        c.max_message_bytes = self.max_message_bytes;
        c.retain_blocks = 1 << 16;
        c.max_buffered = 1024;
        c.max_buffered_bytes = 4 << 20;
        c
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Report {
    /// The scenario's seed.
    pub seed: u64,
    /// Hash of every event and output of the run, in order: equal for equal scenarios.
    pub trace_hash: Hash32,
    /// Violations found by the checkers; empty for a correct run.
    pub violations: Vec<String>,
    /// Each node's delivered blocks.
    pub ledgers: Vec<Vec<Delivered>>,
    /// Each node's number (its key, [`sim_secret`]).
    pub ids: Vec<ReplicaId>,
    /// Each node's epoch at the end (`None` if crashed at the end).
    pub epochs: Vec<Option<Epoch>>,
    /// Whether each node is honest.
    pub honest: Vec<bool>,
    /// Each node's final view (`None` if crashed at the end).
    pub views: Vec<Option<View>>,
    /// Each node's metrics at the end (of its last incarnation).
    pub metrics: Vec<Metrics>,
    /// Each node's final state, described.
    pub states: Vec<String>,
    /// Messages delivered by the network.
    pub messages_delivered: u64,
    /// Events the simulator handled (deliveries, timers, verdicts, proposals, crashes, restarts).
    pub events_handled: u64,
    /// Simulated time at the end, relative to [`T0`].
    pub end_ms: u64,
    /// The largest view-change or new-view message sent, in bytes.
    pub largest_view_change_bytes: usize,
    /// The most prepared certificates one view-change message carried.
    pub most_prepared_in_view_change: usize,
}

impl Report {
    /// Whether every checker passed.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// The smallest ledger height among honest nodes.
    pub fn min_honest_height(&self) -> u64 {
        self.ledgers.iter().zip(&self.honest).filter(|(_, h)| **h).map(|(l, _)| l.len() as u64).min().unwrap_or(0)
    }

    /// A one-line summary, for failures.
    pub fn summary(&self) -> String {
        format!(
            "seed {} trace {} heights {:?} views {:?} violations {:?}",
            self.seed,
            self.trace_hash,
            self.ledgers.iter().map(Vec::len).collect::<Vec<_>>(),
            self.views,
            self.violations.iter().take(5).collect::<Vec<_>>()
        )
    }
}

#[derive(Clone, Debug)]
enum Event {
    Deliver {
        to: usize,
        bytes: Rc<Vec<u8>>,
    },
    Timer {
        node: usize,
        incarnation: u64,
        timer: Timer,
    },
    Propose {
        node: usize,
        incarnation: u64,
    },
    Verdict {
        node: usize,
        incarnation: u64,
        input: Input,
    },
    Crash {
        node: usize,
        torn: bool,
    },
    Restart {
        node: usize,
    },
    ReplayTick {
        node: usize,
    },
    /// A node that is not a validator of its epoch asks a random peer for the blocks after its tip.
    SyncTick {
        node: usize,
    },
    Synced {
        node: usize,
        incarnation: u64,
        blocks: Vec<CommittedBlock>,
    },
}

struct Node {
    id: ReplicaId,
    behavior: Behavior,
    replica: Option<Replica>,
    incarnation: u64,
    disk: Option<PersistedState>,
    ledger: Vec<Delivered>,
    skew: i64,
    tear_next: bool,
    seen: Vec<Rc<Vec<u8>>>,
    last_metrics: Metrics,
    proposals: u64,
}

/// Deterministic secret key of simulated validator `id`.
pub fn sim_secret(id: ReplicaId) -> [u8; 32] {
    Sm3Hasher::digest("ctchain/pbft/sim/key", id.to_le_bytes()).0
}

/// The genesis validator set of a simulated chain with `n` validators: nodes `0..n`.
pub fn sim_validators(n: usize) -> ValidatorSet {
    sim_validator_set(0, &(0..n as ReplicaId).collect::<Vec<_>>())
}

/// The validator set of `epoch` made of `nodes`, in that order.
pub fn sim_validator_set(epoch: Epoch, nodes: &[ReplicaId]) -> ValidatorSet {
    let keys = nodes.iter().map(|k| sim_public_key(*k)).collect();
    ValidatorSet::for_epoch(CHAIN_ID, epoch, keys)
}

/// The public key of node `key`.
pub fn sim_public_key(key: ReplicaId) -> PublicKey {
    Ed25519Signer::from_secret(sim_secret(key)).public_key()
}

/// Who a Byzantine node signs as: its key, as validator `index` of `epoch`.
#[derive(Clone, Copy)]
struct Who {
    key: ReplicaId,
    epoch: Epoch,
    index: ReplicaId,
}

/// `body` signed by `who`, outside any safety rule.
fn sign_raw<T: Signable>(who: Who, body: T) -> Signed<T> {
    let signer = Ed25519Signer::from_secret(sim_secret(who.key));
    let digest = signing_digest(CHAIN_ID, who.epoch, who.index, &body);
    Signed { body, epoch: who.epoch, signer: who.index, signature: signer.sign(digest.as_bytes()) }
}

struct Sim {
    s: Scenario,
    rng: ChaCha8Rng,
    now: u64,
    counter: u64,
    events: BTreeMap<(u64, u64), Event>,
    nodes: Vec<Node>,
    /// Every epoch of the run (what the hosts learn one by one from their ledgers).
    epochs: EpochSchedule,
    /// The public key of each node number.
    keys: Vec<PublicKey>,
    checker: Checker,
    trace: Sm3Hasher,
    delivered: u64,
    largest_view_change_bytes: usize,
    most_prepared_in_view_change: usize,
    steps: u64,
    /// Set when the run was stopped for exceeding [`MAX_STEPS`] or [`MAX_QUEUED_EVENTS`].
    runaway: Option<String>,
}

impl Sim {
    fn schedule(&mut self, at: u64, e: Event) {
        self.counter += 1;
        self.events.insert((at, self.counter), e);
    }

    fn healed(&self) -> bool {
        self.now >= T0 + self.s.heal_at_ms
    }

    /// Whether a message from node `from` to node `to` is cut now.
    fn partitioned(&self, from: usize, to: usize) -> bool {
        let t = self.now - T0;
        self.s.partitions.iter().any(|p| {
            let (from_inside, to_inside) = (p.isolated.contains(&from), p.isolated.contains(&to));
            let cut = match p.cut {
                Cut::Both => from_inside != to_inside,
                Cut::Inbound => to_inside && !from_inside,
                Cut::Outbound => from_inside && !to_inside,
            };
            t >= p.from_ms && t < p.until_ms && cut
        })
    }

    fn transmit(&mut self, from: usize, to: usize, bytes: Rc<Vec<u8>>) {
        if from == to || self.partitioned(from, to) {
            return;
        }
        if !self.healed() && self.rng.gen_range(0..1000) < self.s.net.drop_per_mille {
            return;
        }
        let copies = if self.rng.gen_range(0..1000) < self.s.net.dup_per_mille { 2 } else { 1 };
        for _ in 0..copies {
            let delay = self.rng.gen_range(self.s.net.min_delay_ms..=self.s.net.max_delay_ms);
            self.schedule(self.now + delay, Event::Deliver { to, bytes: bytes.clone() });
        }
    }

    /// The nodes holding `key` (two for a twin).
    fn nodes_with_key(&self, key: &PublicKey) -> Vec<usize> {
        (0..self.nodes.len()).filter(|i| self.keys[self.nodes[*i].id as usize] == *key).collect()
    }

    /// Whether `msg` is signed with `node`'s own key (and not forwarded from another).
    fn signed_by(&self, node: usize, msg: &Message) -> bool {
        let key = self.epochs.get(msg.epoch()).and_then(|v| v.key(msg.signer()));
        key == Some(&self.keys[self.nodes[node].id as usize])
    }

    fn local_time(&self, node: usize) -> u64 {
        (self.now as i64 + self.nodes[node].skew) as u64
    }

    /// Sends `msg` from `node` to the nodes of replica `to`, or to every other node.
    fn send(&mut self, node: usize, to: Option<ReplicaId>, msg: &Message) {
        let honest = self.nodes[node].behavior == Behavior::Honest;
        // Only what the honest replica signed itself: it may forward a new-view signed by a faulty primary.
        if honest && self.signed_by(node, msg) {
            self.checker.honest_sent(msg);
            self.checker.persisted_before_send(node, msg, self.nodes[node].disk.as_ref());
        }
        let bytes = Rc::new(msg.to_bytes());
        if matches!(msg, Message::ViewChange(_) | Message::NewView(_)) {
            self.largest_view_change_bytes = self.largest_view_change_bytes.max(bytes.len());
        }
        if let Message::ViewChange(vc) = msg {
            self.most_prepared_in_view_change = self.most_prepared_in_view_change.max(vc.body.prepared.len());
        }
        self.trace.update(node.to_le_bytes()).update(Sm3Hasher::digest("m", bytes.as_slice()).0);
        // `to` and the broadcast are of the message's epoch: the host maps indices to nodes with its schedule.
        let Some(set) = self.epochs.get(msg.epoch()) else { return };
        let targets: Vec<usize> = match to {
            Some(index) => set.key(index).map(|k| self.nodes_with_key(k)).unwrap_or_default(),
            None => set.keys().iter().flat_map(|k| self.nodes_with_key(k)).collect(),
        };
        for t in targets {
            self.transmit(node, t, bytes.clone());
        }
    }

    /// Applies a Byzantine behaviour to one outgoing message.
    fn byzantine_send(&mut self, node: usize, to: Option<ReplicaId>, msg: Message) {
        let me = Who { key: self.nodes[node].id, epoch: msg.epoch(), index: msg.signer() };
        match (self.nodes[node].behavior, &msg) {
            (Behavior::Silent, _) => {}
            (Behavior::Equivocate, Message::PrePrepare(pp)) if to.is_none() => {
                let mut block = pp.block.clone();
                if let Block::Data { payload, .. } = &mut block {
                    payload.extend_from_slice(b"-equivocated");
                    self.checker.proposed(payload);
                }
                let alt = Message::PrePrepare(self.byzantine_proposal(me, &pp.pre_prepare.body, block));
                let n = self.epochs.get(me.epoch).map_or(0, ValidatorSet::n) as ReplicaId;
                for peer in (0..n).filter(|p| *p != me.index) {
                    let m = if self.rng.gen_bool(0.5) { &msg } else { &alt };
                    let m = m.clone();
                    self.send(node, Some(peer), &m);
                }
            }
            (Behavior::DoubleVote, Message::Prepare(p)) => {
                let mut fake = p.body;
                fake.digest = Hash32(self.rng.gen());
                let fake = Message::Prepare(sign_raw(me, fake));
                self.send(node, to, &fake);
                self.send(node, to, &msg);
            }
            (Behavior::DoubleVote, Message::Commit(c)) => {
                let mut fake = c.body;
                fake.digest = Hash32(self.rng.gen());
                let fake = Message::Commit(sign_raw(me, fake));
                self.send(node, to, &msg);
                self.send(node, to, &fake);
            }
            (Behavior::InvalidProposals, Message::PrePrepare(pp)) if self.rng.gen_bool(0.5) => {
                // A timestamp far beyond every honest clock.
                let mut block = pp.block.clone();
                if let Block::Data { timestamp, payload } = &mut block {
                    *timestamp += 100 * self.s.max_clock_skew_ms;
                    payload.extend_from_slice(b"-future");
                    self.checker.proposed(payload);
                }
                let bad = self.byzantine_proposal(me, &pp.pre_prepare.body, block);
                self.send(node, to, &Message::PrePrepare(bad));
            }
            (Behavior::LyingFetch, Message::BlockResponse(r)) => {
                let mut body = r.body.clone();
                body.block = Self::altered(&body.block);
                self.send(node, to, &Message::BlockResponse(sign_raw(me, body)));
            }
            (Behavior::LyingFetch, Message::FetchResponse(r)) => {
                let mut body = r.body.clone();
                for cb in &mut body.blocks {
                    cb.block = Self::altered(&cb.block);
                }
                self.send(node, to, &Message::FetchResponse(sign_raw(me, body)));
            }
            (Behavior::Flood, _) => {
                self.send(node, to, &msg);
                self.flood(node);
            }
            (Behavior::ForgedContents, Message::ViewChange(vc)) => {
                // A prepared certificate for the first sequence number above the checkpoint that no quorum
                // prepared: the "pre-prepare" and the only "prepare" are its own signatures.
                let mut body = vc.body.clone();
                let seq = body.stable.seq + 1;
                body.prepared.retain(|c| c.pre_prepare.body.seq != seq);
                let header = PrePrepare { view: body.new_view.saturating_sub(1), seq, digest: Hash32(self.rng.gen()) };
                let forged = sign_raw(me, header);
                let prepare = sign_raw(me, crate::types::Prepare { view: header.view, seq, digest: header.digest });
                body.prepared.insert(
                    0,
                    crate::types::PreparedCert { pre_prepare: forged, prepares: vec![(me.index, prepare.signature)] },
                );
                self.send(node, to, &Message::ViewChange(sign_raw(me, body)));
            }
            (Behavior::ForgedContents, Message::NewView(nv)) if nv.signer == me.index => {
                // One more pre-prepare in `O` than `V` implies.
                let mut body = nv.body.clone();
                let seq = body
                    .pre_prepares
                    .last()
                    .map_or(body.view_changes.first().map_or(0, |vc| vc.body.stable.seq), |p| p.body.seq)
                    + 1;
                body.pre_prepares
                    .push(sign_raw(me, PrePrepare { view: body.view, seq, digest: Hash32(self.rng.gen()) }));
                self.send(node, to, &Message::NewView(sign_raw(me, body)));
            }
            (Behavior::ForgedContents, Message::Checkpoint(c)) => {
                let mut body = c.body;
                body.digest = Hash32(self.rng.gen());
                self.send(node, to, &Message::Checkpoint(sign_raw(me, body)));
            }
            _ => self.send(node, to, &msg),
        }
    }

    /// Eight validly signed messages for later views, to every peer: pre-prepares (as if the flooder were the
    /// primary there) with 2 KB blocks, prepares and commits with made-up digests.
    fn flood(&mut self, node: usize) {
        let Some(replica) = self.nodes[node].replica.as_ref() else { return };
        let Some(index) = replica.id() else { return };
        let me = Who { key: self.nodes[node].id, epoch: replica.epoch(), index };
        let view = replica.view();
        for _ in 0..8 {
            let v = view + 1 + self.rng.gen_range(0..8);
            let seq = self.rng.gen_range(1..10_000);
            let digest = Hash32(self.rng.gen());
            let m = match self.rng.gen_range(0..3) {
                0 => {
                    let block = Block::Data { timestamp: T0, payload: vec![self.rng.gen(); 2_048] };
                    Message::PrePrepare(self.byzantine_proposal(me, &PrePrepare { view: v, seq, digest }, block))
                }
                1 => Message::Prepare(sign_raw(me, crate::types::Prepare { view: v, seq, digest })),
                _ => Message::Commit(sign_raw(me, crate::types::Commit { view: v, seq, digest })),
            };
            self.send(node, None, &m);
        }
    }

    /// Another block than `block` (a liar's answer).
    fn altered(block: &Block) -> Block {
        match block {
            Block::Null => Block::Data { timestamp: T0, payload: b"not the null block".to_vec() },
            Block::Data { timestamp, payload } => {
                let mut payload = payload.clone();
                payload.extend_from_slice(b"-altered");
                Block::Data { timestamp: *timestamp, payload }
            }
        }
    }

    /// A proposal of `block` signed by `me` for the view and sequence number of `header`.
    fn byzantine_proposal(&self, me: Who, header: &PrePrepare, block: Block) -> Proposal {
        let digest = block.digest(CHAIN_ID, header.seq);
        Proposal { pre_prepare: sign_raw(me, PrePrepare { digest, ..*header }), block }
    }

    fn handle(&mut self, node: usize, input: Input) {
        let now = self.local_time(node);
        let Some(replica) = self.nodes[node].replica.as_mut() else { return };
        let outputs = replica.handle(now, input);
        let tear = std::mem::take(&mut self.nodes[node].tear_next);
        let mut decided = Vec::new();
        for o in outputs {
            self.trace_output(node, &o);
            match o {
                Output::Persist(state) => {
                    self.nodes[node].disk = Some(*state);
                    if tear {
                        return self.crash(node);
                    }
                }
                _ if tear => return self.crash(node),
                Output::Send { to, message } => self.route(node, Some(to), message),
                Output::Broadcast(message) => self.route(node, None, message),
                Output::SetTimer { timer, after_ms } => {
                    let incarnation = self.nodes[node].incarnation;
                    self.schedule(self.now + after_ms, Event::Timer { node, incarnation, timer });
                }
                Output::Validate { view, seq, digest, block } => {
                    let valid = match &block {
                        Block::Data { payload, .. } => app_accepts(payload),
                        Block::Null => false,
                    };
                    let incarnation = self.nodes[node].incarnation;
                    let input = Input::Verdict { view, seq, digest, valid };
                    self.schedule(self.now + 1, Event::Verdict { node, incarnation, input });
                }
                Output::NeedProposal { .. } => {
                    let incarnation = self.nodes[node].incarnation;
                    self.schedule(self.now + self.s.block_interval_ms, Event::Propose { node, incarnation });
                }
                Output::Deliver(d) => {
                    let seq = d.committed.seq;
                    self.delivered_block(node, *d);
                    // The application's decision in this block, told before any other input.
                    if let Some(r) = self.s.reconfigurations.iter().position(|r| r.decided_at == seq) {
                        let epoch = r as Epoch + 1;
                        if let (Some(first_seq), Some(set)) = (self.epochs.first_seq(epoch), self.epochs.get(epoch)) {
                            decided.push(Input::NextEpoch { first_seq, validators: set.clone() });
                        }
                    }
                }
            }
        }
        if tear {
            return self.crash(node);
        }
        for input in decided {
            self.handle(node, input);
        }
    }

    fn route(&mut self, node: usize, to: Option<ReplicaId>, message: Message) {
        if self.nodes[node].behavior == Behavior::Honest || self.nodes[node].behavior == Behavior::Twin {
            self.send(node, to, &message);
        } else {
            self.byzantine_send(node, to, message);
        }
    }

    fn trace_output(&mut self, node: usize, o: &Output) {
        let tag: u8 = match o {
            Output::Persist(_) => 1,
            Output::Send { .. } => 2,
            Output::Broadcast(_) => 3,
            Output::SetTimer { .. } => 4,
            Output::Validate { .. } => 5,
            Output::NeedProposal { .. } => 6,
            Output::Deliver(_) => 7,
        };
        self.trace.update(self.now.to_le_bytes()).update((node as u32).to_le_bytes()).update([tag]);
        if let Output::Deliver(d) = o {
            self.trace.update(d.chain_digest.0);
        }
    }

    fn delivered_block(&mut self, node: usize, d: Delivered) {
        if self.nodes[node].behavior == Behavior::Honest {
            let height = self.nodes[node].ledger.len() as u64;
            let prev_ts =
                self.nodes[node].ledger.iter().rev().find(|x| !x.committed.block.is_null()).map(|x| x.timestamp);
            let latest_clock = self.now + self.s.max_skew_ms;
            self.checker.honest_delivered(
                node,
                height,
                prev_ts,
                &d,
                &self.epochs,
                latest_clock,
                self.s.max_clock_skew_ms,
            );
        }
        self.nodes[node].ledger.push(d);
    }

    fn crash(&mut self, node: usize) {
        if let Some(r) = self.nodes[node].replica.take() {
            self.nodes[node].last_metrics = r.metrics().clone();
        }
        self.nodes[node].incarnation += 1;
        self.trace.update(b"crash").update((node as u32).to_le_bytes());
    }

    fn restart(&mut self, node: usize) {
        self.nodes[node].tear_next = false;
        if self.nodes[node].replica.is_some() {
            return;
        }
        let id = self.nodes[node].id;
        let persisted = self.nodes[node].disk.clone().unwrap_or_else(|| PersistedState::genesis(CHAIN_ID));
        let ledger = &self.nodes[node].ledger;
        let tip = ledger.last().map_or(LedgerTip::genesis(CHAIN_ID), |d| LedgerTip {
            seq: d.committed.seq,
            chain_digest: d.chain_digest,
            timestamp: d.timestamp,
        });
        // What the host knows of the validator sets: what its ledger decided.
        let cfg = self.s.config(self.s.schedule_through(tip.seq));
        let recent = ledger.iter().rev().take(64).rev().map(|d| d.committed.clone()).collect();
        let signer = Box::new(Ed25519Signer::from_secret(sim_secret(id)));
        match Replica::restore(cfg, signer, Box::new(Ed25519Verifier), persisted, tip, recent) {
            Ok(r) => self.nodes[node].replica = Some(r),
            Err(e) => self.checker.violations.push(format!("node {node} cannot restart: {e}")),
        }
        self.trace.update(b"restart").update((node as u32).to_le_bytes());
        self.handle(node, Input::Start);
    }

    fn honest_nodes(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|i| self.nodes[*i].behavior == Behavior::Honest).collect()
    }

    fn step(&mut self) -> bool {
        if self.runaway.is_some() {
            return false;
        }
        self.steps += 1;
        if self.steps > MAX_STEPS || self.events.len() > MAX_QUEUED_EVENTS {
            self.runaway = Some(format!(
                "runaway: stopped at {} ms after {} events handled, {} queued, {} messages delivered",
                self.now - T0,
                self.steps - 1,
                self.events.len(),
                self.delivered
            ));
            return false;
        }
        let Some(((at, _), event)) = self.events.pop_first() else { return false };
        self.now = at;
        match event {
            Event::Deliver { to, bytes } => {
                if self.nodes[to].replica.is_none() {
                    return true;
                }
                self.delivered += 1;
                if self.nodes[to].behavior == Behavior::Replay && self.nodes[to].seen.len() < 512 {
                    self.nodes[to].seen.push(bytes.clone());
                }
                self.trace.update(b"d").update((to as u32).to_le_bytes()).update(at.to_le_bytes());
                self.handle(to, Input::Message(bytes.as_ref().clone()));
            }
            Event::Timer { node, incarnation, timer } => {
                if self.nodes[node].incarnation == incarnation {
                    self.handle(node, Input::Timeout(timer));
                }
            }
            Event::Verdict { node, incarnation, input } => {
                if self.nodes[node].incarnation == incarnation {
                    self.handle(node, input);
                }
            }
            Event::Propose { node, incarnation } => {
                if self.nodes[node].incarnation == incarnation {
                    let n = &mut self.nodes[node];
                    n.proposals += 1;
                    let mut payload = format!("node{}-inc{}-p{}", n.id, n.incarnation, n.proposals).into_bytes();
                    if n.behavior == Behavior::InvalidProposals && self.rng.gen_bool(0.5) {
                        payload.splice(0..0, b"INVALID-".iter().copied());
                    }
                    if node >= self.s.node_count() {
                        payload.extend_from_slice(b"-twin");
                    }
                    if payload.len() < self.s.payload_bytes {
                        payload.resize(self.s.payload_bytes, b'.');
                    }
                    self.checker.proposed(&payload);
                    self.handle(node, Input::Propose { payload });
                }
            }
            Event::Crash { node, torn } => {
                if torn {
                    self.nodes[node].tear_next = true;
                } else {
                    self.crash(node);
                }
            }
            Event::Restart { node } => self.restart(node),
            Event::ReplayTick { node } => {
                if self.nodes[node].replica.is_some() && !self.nodes[node].seen.is_empty() {
                    for _ in 0..3 {
                        let i = self.rng.gen_range(0..self.nodes[node].seen.len());
                        let bytes = self.nodes[node].seen[i].clone();
                        let to = self.rng.gen_range(0..self.nodes.len());
                        self.transmit(node, to, bytes);
                    }
                }
                self.schedule(self.now + 100, Event::ReplayTick { node });
            }
            Event::SyncTick { node } => {
                self.sync_tick(node);
                self.schedule(self.now + SYNC_INTERVAL_MS, Event::SyncTick { node });
            }
            Event::Synced { node, incarnation, blocks } => {
                if self.nodes[node].incarnation == incarnation {
                    self.handle(node, Input::SyncedBlocks(blocks));
                }
            }
        }
        true
    }

    /// A node that is not a validator of its current epoch (not yet joined, or removed) follows the chain as an
    /// observer does: it asks a random peer for the blocks after its tip, over the same faulty network, and hands
    /// them to its core, which accepts only what the certificates of each block's epoch prove.
    fn sync_tick(&mut self, node: usize) {
        let following = self.nodes[node].replica.as_ref().is_some_and(|r| r.id().is_none());
        if !following {
            return;
        }
        let peer = self.rng.gen_range(0..self.nodes.len());
        if peer == node || self.partitioned(peer, node) || self.nodes[peer].replica.is_none() {
            return;
        }
        if !self.healed() && self.rng.gen_range(0..1000) < self.s.net.drop_per_mille {
            return;
        }
        let tip = self.nodes[node].ledger.len();
        let mut blocks: Vec<CommittedBlock> =
            self.nodes[peer].ledger.iter().skip(tip).take(MAX_FETCH_BLOCKS).map(|d| d.committed.clone()).collect();
        match self.nodes[peer].behavior {
            Behavior::Silent => return,
            Behavior::LyingFetch => {
                for cb in &mut blocks {
                    cb.block = Self::altered(&cb.block);
                }
            }
            _ => {}
        }
        if blocks.is_empty() {
            return;
        }
        let delay = 2 * self.rng.gen_range(self.s.net.min_delay_ms..=self.s.net.max_delay_ms);
        let incarnation = self.nodes[node].incarnation;
        self.trace.update(b"sync").update((node as u32).to_le_bytes()).update((peer as u32).to_le_bytes());
        self.schedule(self.now + delay, Event::Synced { node, incarnation, blocks });
    }
}

/// Runs a scenario to completion and checks it.
pub fn run(s: &Scenario) -> Report {
    let epochs = s.schedule_through(Seq::MAX);
    let count = s.node_count();
    let keys: Vec<PublicKey> = (0..count as ReplicaId).map(sim_public_key).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let mut nodes = Vec::new();
    let mut ids: Vec<ReplicaId> = (0..count as ReplicaId).collect();
    if let Some((twin, _)) = s.behaviors.iter().find(|(_, b)| **b == Behavior::Twin) {
        ids.push(*twin);
    }
    for id in ids {
        let behavior = s.behaviors.get(&id).copied().unwrap_or(Behavior::Honest);
        let skew = rng.gen_range(-(s.max_skew_ms as i64)..=s.max_skew_ms as i64);
        nodes.push(Node {
            id,
            behavior,
            replica: None,
            incarnation: 0,
            disk: None,
            ledger: Vec::new(),
            skew,
            tear_next: false,
            seen: Vec::new(),
            last_metrics: Metrics::default(),
            proposals: 0,
        });
    }
    let mut sim = Sim {
        s: s.clone(),
        rng,
        now: T0,
        counter: 0,
        events: BTreeMap::new(),
        nodes,
        epochs,
        keys,
        checker: Checker::default(),
        trace: Sm3Hasher::new("ctchain/pbft/sim/trace/v1"),
        delivered: 0,
        largest_view_change_bytes: 0,
        most_prepared_in_view_change: 0,
        steps: 0,
        runaway: None,
    };
    for node in 0..sim.nodes.len() {
        sim.restart(node);
        if sim.nodes[node].behavior == Behavior::Replay {
            sim.schedule(T0 + 100, Event::ReplayTick { node });
        }
        if !s.reconfigurations.is_empty() {
            sim.schedule(T0 + SYNC_INTERVAL_MS, Event::SyncTick { node });
        }
    }
    for c in &s.crashes {
        sim.schedule(T0 + c.at_ms, Event::Crash { node: c.node, torn: c.torn });
        sim.schedule(T0 + c.restart_ms.max(c.at_ms + 1), Event::Restart { node: c.node });
    }
    // Phase 1: faults, until the network heals.
    let heal = T0 + s.heal_at_ms;
    while sim.events.first_key_value().is_some_and(|((t, _), _)| *t < heal) {
        if !sim.step() {
            break;
        }
    }
    sim.now = heal;
    // Every crashed node is back (a torn crash that never fired is cancelled).
    for node in 0..sim.nodes.len() {
        if sim.nodes[node].replica.is_none() {
            sim.restart(node);
        }
        sim.nodes[node].tear_next = false;
    }
    let honest = sim.honest_nodes();
    let height_at_heal = honest.iter().map(|i| sim.nodes[*i].ledger.len() as u64).max().unwrap_or(0);
    let epoch_view =
        |sim: &Sim| honest.iter().filter_map(|i| sim.nodes[*i].replica.as_ref().map(|r| (r.epoch(), r.view()))).max();
    let view_at_heal = epoch_view(&sim).unwrap_or((0, 0));
    // Phase 2: healed network, until every honest node has made progress or the deadline passes. With
    // reconfigurations, progress means reaching the last epoch and going on in it.
    let last_epoch_start = sim.epochs.first_seq(sim.epochs.latest()).unwrap_or(1) - 1;
    let target = height_at_heal.max(last_epoch_start) + s.blocks_after_heal;
    let deadline = heal + s.liveness_deadline_ms;
    loop {
        let done = honest.iter().all(|i| sim.nodes[*i].ledger.len() as u64 >= target);
        if done || sim.now > deadline || !sim.step() {
            break;
        }
    }
    let mut violations = std::mem::take(&mut sim.checker.violations);
    violations.extend(sim.runaway.take());
    for i in &honest {
        let h = sim.nodes[*i].ledger.len() as u64;
        if h < target {
            violations.push(format!("liveness: honest node {i} at height {h}, needed {target} after healing"));
        }
    }
    // Views begin again at 0 in every epoch: those of a later epoch are counted from 0.
    let view_at_end = epoch_view(&sim).unwrap_or((0, 0));
    let views_after_heal =
        if view_at_end.0 == view_at_heal.0 { view_at_end.1.saturating_sub(view_at_heal.1) } else { view_at_end.1 };
    if views_after_heal > s.max_views_after_heal {
        violations.push(format!(
            "liveness: honest replicas went from (epoch, view) {view_at_heal:?} to {view_at_end:?} after healing"
        ));
    }
    // Re-decode every honest ledger's certificate once more through the wire format (canonical encoding).
    for i in &honest {
        for d in &sim.nodes[*i].ledger {
            let bytes = d.committed.to_bytes();
            if crate::types::CommittedBlock::from_bytes(&bytes).as_ref() != Ok(&d.committed) {
                violations.push(format!("node {i}: committed block does not round-trip"));
            }
        }
    }
    let trace_hash = sim.trace.clone().finish();
    Report {
        seed: s.seed,
        trace_hash,
        violations,
        ids: sim.nodes.iter().map(|n| n.id).collect(),
        epochs: sim.nodes.iter().map(|n| n.replica.as_ref().map(Replica::epoch)).collect(),
        honest: sim.nodes.iter().map(|n| n.behavior == Behavior::Honest).collect(),
        views: sim.nodes.iter().map(|n| n.replica.as_ref().map(Replica::view)).collect(),
        metrics: sim
            .nodes
            .iter()
            .map(|n| n.replica.as_ref().map_or_else(|| n.last_metrics.clone(), |r| r.metrics().clone()))
            .collect(),
        states: sim.nodes.iter().map(|n| n.replica.as_ref().map_or("crashed".into(), Replica::describe)).collect(),
        messages_delivered: sim.delivered,
        events_handled: sim.steps.min(MAX_STEPS),
        end_ms: sim.now - T0,
        largest_view_change_bytes: sim.largest_view_change_bytes,
        most_prepared_in_view_change: sim.most_prepared_in_view_change,
        ledgers: sim.nodes.into_iter().map(|n| n.ledger).collect(),
    }
}
