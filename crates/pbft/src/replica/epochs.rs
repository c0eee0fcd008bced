//! Reconfiguration inside the replica: scheduling the next validator set ([`Input::NextEpoch`](super::Input::NextEpoch)),
//! entering it, and the messages of epochs before and after the current one. The rule that makes a schedule safe
//! is in [`crate::epoch`].
//!
//! Invariants:
//!
//! * The replica is in epoch `e` once it has executed the last block of `e − 1`; at that moment it enters `e`:
//!   that block, with the chain digest after it, becomes the stable checkpoint (needing no signatures: every
//!   replica of `e` executed it first), views begin again at 0, and nothing of the old epoch is kept but this
//!   replica's own checkpoint there.
//! * Consensus messages are processed only in the current epoch and only for its sequence numbers: the high-water
//!   mark never passes the epoch's last block, so no block of the next epoch is proposed or voted on with the old
//!   validators.
//! * A replica that has left an epoch still helps those finishing it: it answers their catch-up requests (signed
//!   as its index in that epoch), and answers an old-epoch view change or checkpoint, at most once per fetch
//!   timeout and signer, with its own checkpoint at that epoch's last block, which it keeps for every epoch it
//!   was a validator of (and signs again from the persisted epoch start for the previous epoch, after a
//!   restart); `f + 1` of them make the laggard catch up. The checkpoint at the previous epoch's end also goes
//!   out again on every view timer.
//! * Checkpoint votes of a later epoch (the replica is behind) are kept, a few per signer of a scheduled epoch,
//!   and so is the stable checkpoint its view changes name: `f + 1` of that epoch's validators claiming a
//!   checkpoint make the replica catch up to it.
//! * An epoch is scheduled only if nothing at or above its first sequence number was processed yet; messages of
//!   the old epoch above it that were buffered or counted are forgotten.

use super::checkpoint::CHECKPOINT_VOTES_PER_SIGNER;
use super::{Output, Replica};
use crate::cert::{EpochStart, ValidatorSet};
use crate::metrics::DropReason;
use ctchain_codec::Encode;

use crate::types::{Checkpoint, CommittedBlock, Epoch, Message, Seq, Signed, MAX_FETCH_BLOCKS};

impl Replica {
    pub(super) fn on_next_epoch(&mut self, first_seq: Seq, validators: ValidatorSet, out: &mut Vec<Output>) {
        let next = self.cfg.epochs.latest() + 1;
        if validators.epoch() < next {
            // Told again (after a restart of the host, say): fine if it is the same.
            let same = self.cfg.epochs.get(validators.epoch()) == Some(&validators)
                && self.cfg.epochs.first_seq(validators.epoch()) == Some(first_seq);
            let reason = if same { DropReason::Duplicate } else { DropReason::EpochRefused };
            return self.metrics.drop(reason);
        }
        let last = first_seq.saturating_sub(1);
        let worked_on =
            self.last_exec >= first_seq || self.slots.range(first_seq..).next().is_some() || self.epoch() + 1 < next;
        if last == 0 || last % self.cfg.checkpoint_interval != 0 || worked_on {
            return self.metrics.drop(DropReason::EpochRefused);
        }
        if self.cfg.epochs.push(first_seq, validators).is_err() {
            return self.metrics.drop(DropReason::EpochRefused);
        }
        // Judged (when they arrived) as the old epoch's: they were not.
        self.buffer.retain(|m| m.seq().is_none_or(|s| s < first_seq));
        for votes in self.checkpoint_votes.values_mut() {
            votes.retain(|s, _| *s < first_seq);
        }
        if self.last_exec == last {
            // The epoch's last block came in the same call as the block deciding the change (catch-up takes up
            // to the earliest possible last block in one call): the replica enters the new epoch now.
            self.enter_next_epoch(out);
        }
    }

    /// Enters the next epoch after executing the last block of the current one.
    pub(super) fn enter_next_epoch(&mut self, out: &mut Vec<Output>) {
        let epoch = self.epoch() + 1;
        let Some(validators) = self.cfg.epochs.get(epoch) else { return };
        let me = validators.index_of(&self.safety.public_key());
        let n = validators.n();
        let start = EpochStart { seq: self.last_exec, digest: self.chain };
        if let Some(id) = self.id() {
            if let Some((digest, signature)) = self.checkpoint_votes.get(&id).and_then(|v| v.get(&self.last_exec)) {
                let body = Checkpoint { seq: self.last_exec, digest: *digest };
                let signed = Signed { body, epoch: epoch - 1, signer: id, signature: signature.clone() };
                self.final_checkpoints.insert(epoch - 1, signed);
            }
        }
        self.safety.enter_epoch(epoch, me, start);
        self.metrics.epochs_entered += 1;
        self.view = 0;
        self.normal = true;
        self.vc_timer_armed = false;
        self.backoff = 0;
        self.slots.clear();
        self.exec_digests.clear();
        self.view_changes.clear();
        self.new_view = None;
        self.proposal_requested = None;
        self.fetch_outstanding = None;
        self.block_fetch_in_flight = false;
        self.block_fetch_attempt = 0;
        self.buffer = super::buffer::FutureBuffer::new(n, self.cfg.max_buffered, self.cfg.max_buffered_bytes);
        self.checkpoint_votes.clear();
        self.future_claims.retain(|(e, _), _| *e > epoch);
        let future = std::mem::take(&mut self.future_checkpoints);
        for ((e, id), votes) in future {
            if e == epoch {
                self.checkpoint_votes.insert(id, votes);
            } else if e > epoch {
                self.future_checkpoints.insert((e, id), votes);
            }
        }
        self.fetch_peer = me.unwrap_or(0);
        if me.is_some() {
            self.arm_view_timer(out);
        }
    }

    /// A message of an epoch this replica has left: catch-up is still answered, and a replica stuck in that
    /// epoch (its view changes and checkpoints show it) is sent this replica's checkpoint at the epoch's last
    /// block: with `f + 1` of them it knows it is behind and fetches the rest.
    pub(super) fn on_old_epoch_message(&mut self, msg: Message, out: &mut Vec<Output>) {
        match msg {
            Message::FetchRequest(m) => self.on_fetch_request(m, out),
            // The answer to a request this replica made before it entered the current epoch.
            Message::FetchResponse(m) => self.on_fetch_response(m, out),
            Message::ViewChange(_) | Message::Checkpoint(_) => {
                let key = (msg.epoch(), msg.signer());
                let (now, timeout) = (self.now, self.cfg.fetch_timeout_ms);
                self.helped.retain(|_, t| now < t.saturating_add(timeout));
                let Some(last) = self.final_checkpoint(msg.epoch()) else {
                    return self.metrics.drop(DropReason::OldEpoch);
                };
                if self.helped.contains_key(&key) {
                    return self.metrics.drop(DropReason::OldEpoch);
                }
                self.helped.insert(key, now);
                out.push(Output::Send { to: msg.signer(), message: Message::Checkpoint(last) });
            }
            _ => self.metrics.drop(DropReason::OldEpoch),
        }
    }

    /// A message of an epoch this replica has not reached: its checkpoint claims, and the stable checkpoints its
    /// view changes name, are noted (they tell how far ahead the chain is); catch-up requests are answered from
    /// what this replica holds.
    pub(super) fn on_future_epoch_message(&mut self, msg: Message, out: &mut Vec<Output>) {
        match msg {
            Message::ViewChange(m) => {
                let claim = self.future_claims.entry((m.epoch, m.signer)).or_default();
                *claim = (*claim).max(m.body.stable.seq);
                self.metrics.drop(DropReason::FutureEpoch);
            }
            Message::Checkpoint(m) => {
                let votes = self.future_checkpoints.entry((m.epoch, m.signer)).or_default();
                votes.insert(m.body.seq, (m.body.digest, m.signature));
                while votes.len() > CHECKPOINT_VOTES_PER_SIGNER {
                    votes.pop_first();
                }
                self.metrics.drop(DropReason::FutureEpoch);
            }
            Message::FetchRequest(m) => self.on_fetch_request(m, out),
            _ => self.metrics.drop(DropReason::FutureEpoch),
        }
    }

    /// This replica's checkpoint at the last block of the epoch it left last, again: replicas finishing that epoch
    /// may need it for their stable checkpoint, or to learn that they are behind.
    pub(super) fn resend_previous_epoch_checkpoint(&mut self, out: &mut Vec<Output>) {
        if let Some(c) = self.epoch().checked_sub(1).and_then(|e| self.final_checkpoint(e)) {
            out.push(Output::Broadcast(Message::Checkpoint(c)));
        }
    }

    /// This replica's checkpoint at the last block of `epoch`, which it left: kept from when it signed it, or, for
    /// the epoch just before the current one, signed again from the persisted start of the current one (so that
    /// a restart does not lose it).
    fn final_checkpoint(&self, epoch: Epoch) -> Option<Signed<Checkpoint>> {
        if let Some(c) = self.final_checkpoints.get(&epoch) {
            return Some(c.clone());
        }
        if epoch + 1 != self.epoch() {
            return None;
        }
        let index = self.cfg.epochs.get(epoch)?.index_of(&self.safety.public_key())?;
        self.safety.sign_previous_epoch_end(index)
    }

    /// The committed blocks held from `from` to `to`, within the limits of one catch-up response.
    pub(super) fn blocks_from(&self, from: Seq, to: Seq) -> Vec<CommittedBlock> {
        let mut blocks = Vec::new();
        let mut bytes = 0usize;
        for (_, b) in self.store.range(from..=to.max(from)) {
            if blocks.len() >= MAX_FETCH_BLOCKS || bytes > self.cfg.max_message_bytes / 2 {
                break;
            }
            bytes += b.to_bytes().len();
            blocks.push(b.clone());
        }
        blocks
    }
}
