//! What the driver shares with the RPC server: the ledger and the mempool behind locks (ledger before mempool, always), the door for transactions, status for `chain_status`, recent rejections.

use super::*;

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
    /// The epoch of the next sequence number.
    pub epoch: u64,
    /// This node's index among the epoch's validators (`None`: not one of them).
    pub validator_index: Option<u32>,
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
    /// The ledger.
    pub ledger: RwLock<Ledger>,
    /// Pending transactions.
    pub mempool: Mutex<Mempool>,
    /// The one door for transactions, with the chain's verifier and what it verified recently.
    pub admission: Admission,
    /// The network, as this chain's channel reaches it (its members only).
    pub net: crate::channels::ChannelLink,
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
    /// The admitted peers' names and whether they validate (recomputed with the registry: [`crate::admitted`]).
    pub peer_names: RwLock<HashMap<PeerId, (String, bool)>>,
    /// `node.toml`'s peers: addresses to dial (and, on a chain without members, the observers it admits).
    pub config_peers: Vec<crate::config::PeerEntry>,
    /// This node's network key.
    pub network_key: [u8; 32],
    /// How many transactions client traffic (RPC and gossip) may verify at once, and how many may wait.
    pub admission_capacity: AdmissionCapacity,
}

/// The verification capacity of client traffic, kept apart from block validation's: at most `workers`
/// admissions run at once (one per core by default), so a flood of transactions — valid or not, by RPC or by
/// gossip — never has more threads verifying than the pool that validates proposed blocks (rayon's, one per
/// core), which keeps at least half the CPU time; at most `queue` more wait, and beyond that a submission is
/// refused as busy (and a gossiped copy dropped) instead of piling up. (Half the cores as workers protected blocks
/// more but cost a third of the throughput of four validators sharing two cores: admissions trickled in, blocks
/// shrank to a few transactions.)
pub struct AdmissionCapacity {
    workers: Arc<tokio::sync::Semaphore>,
    waiting: std::sync::atomic::AtomicUsize,
    queue: usize,
}

/// Client traffic beyond the admission queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the node is busy verifying other transactions; try again shortly")]
pub struct Busy;

impl AdmissionCapacity {
    /// `workers` admissions at once (at least one), `queue` more waiting.
    pub fn new(workers: usize, queue: usize) -> Self {
        Self { workers: Arc::new(tokio::sync::Semaphore::new(workers.max(1))), waiting: Default::default(), queue }
    }

    /// One worker per core of this machine, and a queue of 1 024 per worker: each waiting admission holds one
    /// transaction's bytes (about 5 KiB), so a full queue is a few MiB, while a burst of submissions together with
    /// their gossiped copies from every peer fits.
    pub fn for_this_machine() -> Self {
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Self::new(workers, 1_024 * workers)
    }
}

impl Shared {
    /// [`Shared::admit`] within the admission capacity: waits for a worker (refusing as [`Busy`] when the queue is
    /// full), then admits on the blocking pool.
    pub async fn admit_within_capacity(self: &Arc<Self>, tagged: Vec<u8>) -> Result<Result<TxId, AdmitError>, Busy> {
        use std::sync::atomic::Ordering::SeqCst;
        let capacity = &self.admission_capacity;
        if capacity.waiting.fetch_add(1, SeqCst) >= capacity.queue {
            capacity.waiting.fetch_sub(1, SeqCst);
            self.metrics.rejected_txs.get_or_create(&vec![("reason".into(), "busy".into())]).inc();
            return Err(Busy);
        }
        let permit = capacity.workers.clone().acquire_owned().await;
        capacity.waiting.fetch_sub(1, SeqCst);
        let permit = permit.map_err(|_| Busy)?;
        let shared = self.clone();
        let admitted = tokio::task::spawn_blocking(move || {
            let _worker = permit;
            shared.admit(&tagged)
        })
        .await;
        // A panic inside admission is a node bug: reported as a ledger error rather than taking the caller down.
        Ok(admitted.unwrap_or_else(|e| Err(AdmitError::Ledger(format!("admission failed: {e}")))))
    }

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
        Some(self.mempool.lock().ok()?.encoded(id)?.bytes().to_vec())
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
        seq: header.seq,
        view: header.view,
        tx_count: tx_count as u32,
    }
}
