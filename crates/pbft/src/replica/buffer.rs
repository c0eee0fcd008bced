//! The buffer of normal-case messages (pre-prepares, prepares, commits) for a view this replica has not entered yet:
//! they are processed when it enters the view (§4.4 leaves them to the implementation).
//!
//! Invariants:
//!
//! * Every signer has its own share: at most `max_buffered / n` messages and `max_buffered_bytes / n` encoded
//!   bytes. A signer that floods fills only its own share and is refused (counted per signer); another signer's
//!   messages are never dropped to make room.
//! * One message per signer, kind, view and sequence number: a repeat is a duplicate, a different digest for the
//!   same slot a conflict; neither takes room.
//! * Messages come out in arrival order, with the encoded size they arrived with.

use std::collections::BTreeMap;

use ctchain_codec::Hash32;

use crate::types::{Message, ReplicaId, Seq, View};

/// Why a message was not buffered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The same message is already buffered.
    Duplicate,
    /// Another message of the same signer for the same kind, view and sequence number is buffered.
    Conflicting,
    /// The signer's share is full.
    Full,
}

#[derive(Default)]
struct SenderShare {
    /// `(kind, view, seq)` → digest of what is buffered.
    slots: BTreeMap<(u8, View, Seq), Hash32>,
    bytes: usize,
}

/// Buffered messages with their arrival number and encoded size.
pub(super) struct FutureBuffer {
    entries: BTreeMap<u64, (Message, usize)>,
    shares: BTreeMap<ReplicaId, SenderShare>,
    arrivals: u64,
    max_messages_per_sender: usize,
    max_bytes_per_sender: usize,
}

/// The slot a normal-case message speaks about, and its digest.
fn slot_of(m: &Message) -> Option<((u8, View, Seq), Hash32)> {
    match m {
        Message::PrePrepare(p) => {
            let h = &p.pre_prepare.body;
            Some(((1, h.view, h.seq), h.digest))
        }
        Message::Prepare(p) => Some(((2, p.body.view, p.body.seq), p.body.digest)),
        Message::Commit(c) => Some(((3, c.body.view, c.body.seq), c.body.digest)),
        _ => None,
    }
}

impl FutureBuffer {
    /// A buffer for `n` signers sharing `max_messages` messages and `max_bytes` bytes equally.
    pub(super) fn new(n: usize, max_messages: usize, max_bytes: usize) -> Self {
        let n = n.max(1);
        Self {
            entries: BTreeMap::new(),
            shares: BTreeMap::new(),
            arrivals: 0,
            max_messages_per_sender: (max_messages / n).max(1),
            max_bytes_per_sender: (max_bytes / n).max(1),
        }
    }

    /// Keeps `m` (of `size` encoded bytes) for later, within its signer's share.
    pub(super) fn push(&mut self, m: Message, size: usize) -> Result<(), Refusal> {
        let Some((slot, digest)) = slot_of(&m) else { return Err(Refusal::Full) };
        let share = self.shares.entry(m.signer()).or_default();
        match share.slots.get(&slot) {
            Some(d) if *d == digest => return Err(Refusal::Duplicate),
            Some(_) => return Err(Refusal::Conflicting),
            None => {}
        }
        if share.slots.len() >= self.max_messages_per_sender || share.bytes + size > self.max_bytes_per_sender {
            return Err(Refusal::Full);
        }
        share.slots.insert(slot, digest);
        share.bytes += size;
        self.arrivals += 1;
        self.entries.insert(self.arrivals, (m, size));
        Ok(())
    }

    /// Every buffered message with its size, in arrival order; the buffer is left empty.
    pub(super) fn take_all(&mut self) -> Vec<(Message, usize)> {
        self.shares.clear();
        std::mem::take(&mut self.entries).into_values().collect()
    }

    /// Keeps only the messages `keep` accepts, releasing the room of the others.
    pub(super) fn retain(&mut self, keep: impl Fn(&Message) -> bool) {
        for (m, size) in self.take_all() {
            if keep(&m) {
                // It fitted before, so it fits now.
                let _ = self.push(m, size);
            }
        }
    }

    /// The buffered messages, in arrival order.
    pub(super) fn messages(&self) -> impl Iterator<Item = &Message> {
        self.entries.values().map(|(m, _)| m)
    }

    /// Number of buffered messages.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Signers with something buffered.
    #[cfg(test)]
    fn senders(&self) -> std::collections::BTreeSet<ReplicaId> {
        self.shares.iter().filter(|(_, s)| !s.slots.is_empty()).map(|(id, _)| *id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Prepare, Signature, Signed};

    fn prepare(signer: ReplicaId, view: View, seq: Seq, digest: u8) -> Message {
        Message::Prepare(Signed {
            body: Prepare { view, seq, digest: Hash32([digest; 32]) },
            epoch: 0,
            signer,
            signature: Signature(vec![0; 64]),
        })
    }

    #[test]
    fn a_flooding_signer_fills_only_its_own_share() {
        let mut b = FutureBuffer::new(4, 40, 4_000);
        for seq in 0..100 {
            let _ = b.push(prepare(3, 1, seq, 1), 10);
        }
        assert_eq!(b.len(), 10, "signer 3 holds its share of 10 messages");
        assert_eq!(b.push(prepare(3, 1, 500, 1), 10), Err(Refusal::Full));
        for signer in 0..3 {
            assert_eq!(b.push(prepare(signer, 1, 1, 1), 10), Ok(()), "signer {signer} still has room");
        }
        assert_eq!(b.senders(), (0..4).collect());
    }

    #[test]
    fn bytes_are_bounded_per_signer_too() {
        let mut b = FutureBuffer::new(4, 4_000, 4_000);
        assert_eq!(b.push(prepare(1, 1, 1, 1), 900), Ok(()));
        assert_eq!(b.push(prepare(1, 1, 2, 1), 200), Err(Refusal::Full), "1 100 bytes exceed the 1 000 of a share");
        assert_eq!(b.push(prepare(2, 1, 2, 1), 900), Ok(()));
    }

    #[test]
    fn repeats_and_conflicts_take_no_room_and_order_is_kept() {
        let mut b = FutureBuffer::new(4, 40, 4_000);
        assert_eq!(b.push(prepare(1, 2, 1, 1), 10), Ok(()));
        assert_eq!(b.push(prepare(1, 2, 1, 1), 10), Err(Refusal::Duplicate));
        assert_eq!(b.push(prepare(1, 2, 1, 2), 10), Err(Refusal::Conflicting));
        assert_eq!(b.push(prepare(0, 2, 1, 1), 10), Ok(()));
        let out: Vec<ReplicaId> = b.take_all().iter().map(|(m, _)| m.signer()).collect();
        assert_eq!(out, vec![1, 0]);
        assert_eq!(b.len(), 0);
        assert_eq!(b.push(prepare(1, 2, 1, 1), 10), Ok(()), "taken messages free their room");
    }
}
