//! Checkpoints and garbage collection (§4.3): `CHECKPOINT` messages, stable checkpoints and the low-water mark.
//!
//! Invariants:
//!
//! * A replica signs a checkpoint over the chain digest after every `K`-th block it executes
//!   ([`Config::checkpoint_interval`](super::Config::checkpoint_interval)).
//! * A checkpoint claim counts only at a positive multiple of `K`, above the low-water mark and at most
//!   [`Config::max_checkpoint_ahead`](super::Config::max_checkpoint_ahead) above it; only each signer's most recent
//!   claims are kept, so a Byzantine replica cannot fill memory.
//! * The highest checkpoint with `2f + 1` matching votes, at or below the last executed block, becomes stable: the
//!   low-water mark moves up and the log, the digests and the votes at or below it are discarded. A quorum for a
//!   digest other than the one executed here cannot happen with at most `f` faults; it is counted, not adopted.
//! * `f + 1` claims above the last executed block make the replica catch up (`catch_up.rs`).
//! * Without a stable checkpoint the window cannot move, so a replica re-sends its own checkpoints above the
//!   low-water mark on every view timer, with the same signatures.

use std::collections::BTreeMap;

use ctchain_codec::Hash32;

use super::{Output, Replica};
use crate::metrics::DropReason;
use crate::types::{Checkpoint, CheckpointProof, Message, ReplicaId, Seq, Signature, Signed};

/// Checkpoint votes kept per signer (the most recent ones).
pub(super) const CHECKPOINT_VOTES_PER_SIGNER: usize = 4;

impl Replica {
    /// §4.3: checkpoint messages. Each signer's most recent checkpoints are kept; a quorum of matching ones makes
    /// a checkpoint stable ([`Self::update_stable`]), and f + 1 claims above the last executed block make the
    /// replica catch up.
    pub(super) fn on_checkpoint(&mut self, m: Signed<Checkpoint>) {
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

    pub(super) fn resend_checkpoints(&mut self, out: &mut Vec<Output>) {
        self.resend_previous_epoch_checkpoint(out);
        let low = self.low();
        let Some(own) = self.checkpoint_votes.get(&self.me()) else { return };
        for (seq, (digest, sig)) in own.range(low.max(1)..) {
            let m = Signed {
                body: Checkpoint { seq: *seq, digest: *digest },
                epoch: self.epoch(),
                signer: self.me(),
                signature: sig.clone(),
            };
            out.push(Output::Broadcast(Message::Checkpoint(m)));
        }
    }

    /// §4.3: the highest checkpoint with a quorum of matching votes, at or below the last executed block, becomes
    /// stable: the low-water mark moves and the log below it is discarded.
    pub(super) fn update_stable(&mut self) {
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

    pub(super) fn set_stable(&mut self, proof: CheckpointProof) {
        let seq = proof.seq;
        if seq <= self.low() {
            return;
        }
        self.safety.set_stable(proof);
        self.slots.retain(|s, _| *s > seq);
        self.exec_digests.retain(|s, _| *s > seq);
        let me = self.me();
        for (id, votes) in self.checkpoint_votes.iter_mut() {
            // This replica's own vote for the new stable checkpoint is kept, to be sent again: a replica that
            // missed it (it was lost, or this one was cut off) may need it for the same quorum.
            votes.retain(|s, _| *s > seq || (*id == me && *s == seq));
        }
    }
}
