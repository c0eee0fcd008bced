//! Counters: every input the core drops is counted under the reason it was dropped.

use std::collections::BTreeMap;

/// Why an input was dropped. A dropped input never changes the replica's protocol state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// The encoded message is larger than `Config::max_message_bytes`.
    Oversized,
    /// The bytes are not the canonical encoding of a message.
    Malformed,
    /// The signer index is not a validator.
    NotValidator,
    /// The signature does not verify under the signer's key.
    BadSignature,
    /// The message belongs to a view the replica has left.
    OldView,
    /// The view is further ahead than `Config::max_view_ahead`.
    FarFutureView,
    /// The sequence number is at or below the low-water mark.
    BelowWatermark,
    /// The sequence number is above the high-water mark (or too far ahead for a checkpoint claim).
    OutsideWindow,
    /// A pre-prepare or new-view not signed by the primary of its view, or a prepare signed by the primary.
    WrongSender,
    /// Already received.
    Duplicate,
    /// A second, different statement from the same signer for the same slot (equivocation or double vote).
    Conflicting,
    /// A certificate, checkpoint proof, view change or new view that does not verify.
    InvalidProof,
    /// A proposal whose timestamp breaks the time rule.
    InvalidTimestamp,
    /// A proposal the application rejected, or a null block proposed in the normal case.
    InvalidProposal,
    /// The safety rules refused to sign (e.g. after a restart, a conflicting pre-prepare).
    SafetyRefused,
    /// The buffer of messages for a future view is full.
    BufferFull,
    /// A command or verdict that does not match the replica's state (stale or unexpected).
    Unexpected,
    /// The message names an epoch the replica does not know of.
    UnknownEpoch,
    /// The message's sequence number does not lie in the epoch it names.
    WrongEpoch,
    /// The message belongs to an epoch this replica has left (a catch-up request from it is still answered).
    OldEpoch,
    /// The message belongs to an epoch this replica has not reached yet (its checkpoint claims are still noted).
    FutureEpoch,
    /// This replica is not a validator of its current epoch: it follows the chain and does not vote.
    NotInEpoch,
    /// A next epoch that cannot be scheduled (out of order, not after a checkpoint, or too late: the replica has
    /// already worked on sequence numbers it would take).
    EpochRefused,
}

/// Per-replica counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Dropped inputs by reason.
    pub dropped: BTreeMap<DropReason, u64>,
    /// Messages accepted for processing.
    pub messages_in: u64,
    /// Messages sent (a broadcast counts once).
    pub messages_out: u64,
    /// Blocks delivered (including null blocks).
    pub blocks_committed: u64,
    /// Blocks delivered that came from catch-up.
    pub blocks_fetched: u64,
    /// Blocks of a new view's `O` obtained by digest from another replica.
    pub blocks_fetched_by_digest: u64,
    /// New views entered.
    pub views_entered: u64,
    /// View changes started by this replica.
    pub view_changes_started: u64,
    /// Epochs (validator sets) entered after the first.
    pub epochs_entered: u64,
    /// Messages for a later view refused because their signer's share of the buffer was full, per signer.
    pub buffer_refused: BTreeMap<crate::types::ReplicaId, u64>,
}

impl Metrics {
    /// How many inputs were dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped.get(&reason).copied().unwrap_or(0)
    }

    /// Total dropped inputs.
    pub fn total_dropped(&self) -> u64 {
        self.dropped.values().sum()
    }

    pub(crate) fn drop(&mut self, reason: DropReason) {
        *self.dropped.entry(reason).or_insert(0) += 1;
    }
}
