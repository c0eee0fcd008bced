//! Process-wide counters of the work a node does per ledger transaction: decodes, encodes and Merkle leaf hashes
//! of its canonical bytes, block executions and the mempool's stateful checks.
//!
//! On the path of a transaction through a node (admission → proposal or a backup's check → apply) it is decoded
//! once, encoded never, executed once, and checked alone once (at admission): the bytes are decoded and hashed
//! at the door, carried by the verified types ([`crate::EncodedTx`]) into blocks, gossip and storage, and a
//! block's execution is kept from its check to its write. Each copy of the bytes a node receives (by RPC, by
//! gossip, inside a proposed block) is hashed once, to be recognised.
//! The node exports the counters as metrics; the one-pass test holds the path to them.
//!
//! Counting costs one relaxed atomic increment per event; the counters only grow.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

static DECODED: AtomicU64 = AtomicU64::new(0);
static ENCODED: AtomicU64 = AtomicU64::new(0);
static LEAF_HASHED: AtomicU64 = AtomicU64::new(0);
static EXECUTED: AtomicU64 = AtomicU64::new(0);
static CHECKED_ALONE: AtomicU64 = AtomicU64::new(0);

/// A reading of the counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkCounts {
    /// Ledger transactions decoded from bytes.
    pub decoded: u64,
    /// Ledger transactions encoded to bytes.
    pub encoded: u64,
    /// Merkle leaf hashes taken over a ledger transaction's bytes.
    pub leaf_hashed: u64,
    /// Ledger transactions executed as part of a block (proposed, checked or applied), counting every run over
    /// every transaction.
    pub executed: u64,
    /// Stateful checks of one pending transaction alone against the committed state (the mempool's, at
    /// admission): a look-up of its inputs, not a block's execution.
    pub checked_alone: u64,
}

impl WorkCounts {
    /// The counters now.
    pub fn now() -> Self {
        Self {
            decoded: DECODED.load(Relaxed),
            encoded: ENCODED.load(Relaxed),
            leaf_hashed: LEAF_HASHED.load(Relaxed),
            executed: EXECUTED.load(Relaxed),
            checked_alone: CHECKED_ALONE.load(Relaxed),
        }
    }

    /// The work done between `earlier` and this reading.
    pub fn since(self, earlier: Self) -> Self {
        Self {
            decoded: self.decoded - earlier.decoded,
            encoded: self.encoded - earlier.encoded,
            leaf_hashed: self.leaf_hashed - earlier.leaf_hashed,
            executed: self.executed - earlier.executed,
            checked_alone: self.checked_alone - earlier.checked_alone,
        }
    }
}

pub(crate) fn count_decoded() {
    DECODED.fetch_add(1, Relaxed);
}

pub(crate) fn count_encoded() {
    ENCODED.fetch_add(1, Relaxed);
}

pub(crate) fn count_leaf_hashed() {
    LEAF_HASHED.fetch_add(1, Relaxed);
}

pub(crate) fn count_executed(n: usize) {
    EXECUTED.fetch_add(n as u64, Relaxed);
}

pub(crate) fn count_checked_alone() {
    CHECKED_ALONE.fetch_add(1, Relaxed);
}
