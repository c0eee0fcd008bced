//! # ctchain-mempool: pending transactions, verified once
//!
//! Transactions arrive from the RPC and from gossip as bytes, and enter through one door, [`Admission::admit`]:
//! the tagged encoding of a ledger transaction of any kind, checked cheapest first — size, decoding (once), id,
//! duplicates, the stateless phase (proofs and signatures, one transaction per call: the node runs calls on its
//! blocking pool, so several verify at once), then the stateful checks against the committed ledger and against
//! the other pending transactions. What is admitted is kept as a [`VerifiedLedgerTx`], which carries the bytes
//! it was admitted as; when a block arrives, [`Admission::known`] hands those back by Merkle leaf hash to
//! [`ctchain_ledger::EncodedBlock::verify_with`], so a transaction is never decoded or verified twice.
//!
//! ## Invariants
//! * Every pending transaction passed every stateless check and, when admitted, every stateful check.
//! * No two pending transactions spend the same output, and none has the id of another (ids exclude witnesses,
//!   so a re-proven copy of a pending transaction is a duplicate).
//! * The pool never holds more than its configured count or bytes; a full pool refuses with a clear error and
//!   keeps what it has (no eviction of admitted transactions by newcomers).
//! * After a block commits, its transactions leave the pool, and so does every pending transaction that spends an
//!   output the block spent.
//! * A transaction that spends an output of another *pending* transaction is refused (unknown input) until that
//!   transaction commits: the wallet resubmits then.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod admission;

pub use admission::{Admission, Admitted, LedgerAccess, PoolAccess, VerifiedCache};

use std::collections::{BTreeMap, HashMap};

use ctchain_circuits::Nullifier;
use ctchain_codec::{DecodeError, Hash32};
use ctchain_crypto::{OutputId, TxId, VerifyError};
use ctchain_ledger::{EncodedTx, Ledger, LedgerError, TxRejection, VerifiedBlock, VerifiedLedgerTx, VerifiedTxKind};

/// Limits of the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Most pending transactions.
    pub max_txs: usize,
    /// Most bytes of pending transactions.
    pub max_bytes: usize,
    /// Largest single transaction.
    pub max_tx_bytes: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        Self { max_txs: 10_000, max_bytes: 64 * 1024 * 1024, max_tx_bytes: ctchain_ledger::types::MAX_TX_BYTES }
    }
}

/// Why a transaction was not admitted. Nothing in the pool changes when one is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// Larger than a transaction may be.
    #[error("transaction of {size} bytes exceeds the maximum {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The maximum.
        max: usize,
    },
    /// Not the canonical encoding of a transaction.
    #[error("bad encoding: {0}")]
    Encoding(DecodeError),
    /// A stateless check failed (proof, signature, chain id, audit keys, …).
    #[error("{0}")]
    Invalid(VerifyError),
    /// Already pending.
    #[error("transaction {0} is already pending")]
    Duplicate(TxId),
    /// Reveals a nullifier that a pending shielded transaction already reveals.
    #[error("reveals nullifier {nullifier}, already revealed by pending transaction {pending}")]
    NullifierConflictsWithPending {
        /// The nullifier, hex.
        nullifier: String,
        /// The pending transaction.
        pending: TxId,
    },
    /// Spends an output that a pending transaction already spends.
    #[error("input spends output {output}, already spent by pending transaction {pending}")]
    ConflictsWithPending {
        /// The output.
        output: OutputId,
        /// The pending transaction.
        pending: TxId,
    },
    /// A stateful check against the committed ledger failed (already spent, unknown input, on chain, …).
    #[error("{0}")]
    Rejected(TxRejection),
    /// The ledger could not answer (storage failure).
    #[error("ledger error: {0}")]
    Ledger(String),
    /// The pool is at its limit.
    #[error("mempool full: {pending_txs} transactions, {pending_bytes} bytes pending (limits {max_txs}, {max_bytes})")]
    Full {
        /// Pending transactions.
        pending_txs: usize,
        /// Pending bytes.
        pending_bytes: usize,
        /// Limit on transactions.
        max_txs: usize,
        /// Limit on bytes.
        max_bytes: usize,
    },
}

struct Entry {
    /// With the tagged bytes it was admitted as: proposed and gossiped as they are, never encoded again.
    tx: VerifiedLedgerTx,
    seq: u64,
}

/// The pool of pending transactions.
pub struct Mempool {
    config: MempoolConfig,
    entries: HashMap<TxId, Entry>,
    arrival: BTreeMap<u64, TxId>,
    spends: HashMap<OutputId, TxId>,
    nullifiers: HashMap<Nullifier, TxId>,
    by_leaf: HashMap<Hash32, TxId>,
    bytes: usize,
    next_seq: u64,
}

impl Mempool {
    /// An empty pool.
    pub fn new(config: MempoolConfig) -> Self {
        Self {
            config,
            entries: HashMap::new(),
            arrival: BTreeMap::new(),
            spends: HashMap::new(),
            nullifiers: HashMap::new(),
            by_leaf: HashMap::new(),
            bytes: 0,
            next_seq: 0,
        }
    }

    /// Pending transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of pending transactions.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether a transaction is pending.
    pub fn contains(&self, id: &TxId) -> bool {
        self.entries.contains_key(id)
    }

    /// A pending transaction.
    pub fn get(&self, id: &TxId) -> Option<&VerifiedLedgerTx> {
        self.entries.get(id).map(|e| &e.tx)
    }

    /// The verified transaction with exactly these bytes (by Merkle leaf hash), for
    /// [`ctchain_ledger::EncodedBlock::verify_with`].
    pub fn known(&self, leaf: &Hash32) -> Option<VerifiedLedgerTx> {
        self.by_leaf.get(leaf).and_then(|id| self.entries.get(id)).map(|e| e.tx.clone())
    }

    /// The stateful half of admission ([`Admission::admit`] runs the rest): a transaction verified (stateless)
    /// by this node, checked against the ledger and the pending transactions.
    pub(crate) fn admit_ledger_tx(&mut self, ledger: &Ledger, tx: VerifiedLedgerTx) -> Result<TxId, AdmitError> {
        let size = tx.encoded().len();
        let id = tx.id();
        if self.entries.contains_key(&id) {
            return Err(AdmitError::Duplicate(id));
        }
        for input in inputs(&tx) {
            if let Some(pending) = self.spends.get(&input.output_id) {
                return Err(AdmitError::ConflictsWithPending { output: input.output_id, pending: *pending });
            }
        }
        for nf in nullifiers(&tx) {
            if let Some(pending) = self.nullifiers.get(nf) {
                return Err(AdmitError::NullifierConflictsWithPending {
                    nullifier: hex::encode(nf.to_bytes()),
                    pending: *pending,
                });
            }
        }
        match ledger.check_ledger_tx(&tx) {
            Ok(()) => {}
            Err(LedgerError::InvalidTransaction { reason, .. }) => return Err(AdmitError::Rejected(reason)),
            Err(other) => return Err(AdmitError::Ledger(other.to_string())),
        }
        if self.entries.len() >= self.config.max_txs || self.bytes + size > self.config.max_bytes {
            return Err(AdmitError::Full {
                pending_txs: self.entries.len(),
                pending_bytes: self.bytes,
                max_txs: self.config.max_txs,
                max_bytes: self.config.max_bytes,
            });
        }
        for input in inputs(&tx) {
            self.spends.insert(input.output_id, id);
        }
        for nf in nullifiers(&tx) {
            self.nullifiers.insert(*nf, id);
        }
        self.by_leaf.insert(tx.leaf(), id);
        self.arrival.insert(self.next_seq, id);
        self.entries.insert(id, Entry { tx, seq: self.next_seq });
        self.next_seq += 1;
        self.bytes += size;
        Ok(id)
    }

    /// Pending transactions in arrival order, up to `max_txs` and `max_bytes`: a proposal. They are conflict-free
    /// among themselves by construction.
    pub fn proposal(&self, max_txs: usize, max_bytes: usize) -> Vec<VerifiedLedgerTx> {
        let mut out = Vec::new();
        let mut bytes = 0;
        for id in self.arrival.values() {
            let Some(e) = self.entries.get(id) else { continue };
            if out.len() == max_txs {
                break;
            }
            let size = e.tx.encoded().len();
            if bytes + size > max_bytes {
                continue;
            }
            bytes += size;
            out.push(e.tx.clone());
        }
        out
    }

    fn remove(&mut self, id: &TxId) {
        if let Some(e) = self.entries.remove(id) {
            self.arrival.remove(&e.seq);
            self.by_leaf.remove(&e.tx.leaf());
            self.bytes -= e.tx.encoded().len();
            for input in inputs(&e.tx) {
                if self.spends.get(&input.output_id) == Some(id) {
                    self.spends.remove(&input.output_id);
                }
            }
            for nf in nullifiers(&e.tx) {
                if self.nullifiers.get(nf) == Some(id) {
                    self.nullifiers.remove(nf);
                }
            }
        }
    }

    /// Drops a pending transaction (e.g. one that no longer applies to the ledger); returns whether it was there.
    pub fn evict(&mut self, id: &TxId) -> bool {
        let present = self.entries.contains_key(id);
        self.remove(id);
        present
    }

    /// Removes the block's transactions and every pending transaction that spends an output the block spent.
    /// Returns the ids evicted because of such a conflict (their senders should hear they will not commit).
    pub fn on_block_committed(&mut self, block: &VerifiedBlock) -> Vec<TxId> {
        let mut evicted = Vec::new();
        for tx in block.txs() {
            self.remove(&tx.id());
            let conflicting: Vec<TxId> = inputs(tx)
                .iter()
                .filter_map(|input| self.spends.get(&input.output_id).copied())
                .chain(nullifiers(tx).iter().filter_map(|nf| self.nullifiers.get(nf).copied()))
                .collect();
            for other in conflicting {
                if self.entries.contains_key(&other) {
                    self.remove(&other);
                    evicted.push(other);
                }
            }
        }
        evicted
    }

    /// A mark in arrival order: every transaction admitted from now on arrives at or after it.
    pub fn arrival_mark(&self) -> u64 {
        self.next_seq
    }

    /// The encodings of pending transactions that arrived before `mark`, oldest first, up to `max_bytes` (the
    /// oldest one always): what a node gossips again when peers may have missed it.
    pub fn arrived_before(&self, mark: u64, max_bytes: usize) -> Vec<EncodedTx> {
        let mut out = Vec::new();
        let mut bytes = 0;
        for id in self.arrival.range(..mark).map(|(_, id)| id) {
            let Some(e) = self.entries.get(id) else { continue };
            let size = e.tx.encoded().len();
            if !out.is_empty() && bytes + size > max_bytes {
                break;
            }
            bytes += size;
            out.push(e.tx.encoded().clone());
        }
        out
    }

    /// The ledger encoding ([`ctchain_ledger::LedgerTx`], tagged by kind) of a pending transaction, as admitted,
    /// for gossip.
    pub fn encoded(&self, id: &TxId) -> Option<EncodedTx> {
        self.entries.get(id).map(|e| e.tx.encoded().clone())
    }
}

/// The confidential inputs a pending transaction spends (audit-access records and governance transactions spend
/// none; a shielded transaction those of its confidential side).
fn inputs(tx: &VerifiedLedgerTx) -> &[ctchain_crypto::Input] {
    match tx.kind() {
        VerifiedTxKind::Confidential(tx) => &tx.transaction().body.inputs,
        VerifiedTxKind::AuditAccess(_) | VerifiedTxKind::Governance(_) => &[],
        VerifiedTxKind::Shielded(s) => s.crossing().map_or(&[], |c| &c.transaction().body.inputs),
    }
}

/// The nullifiers a pending shielded transaction reveals.
fn nullifiers(tx: &VerifiedLedgerTx) -> &[Nullifier] {
    match tx.kind() {
        VerifiedTxKind::Shielded(s) => &s.tx().statement.nullifiers,
        _ => &[],
    }
}
