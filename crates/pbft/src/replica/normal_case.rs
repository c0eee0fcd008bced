//! The normal case (§4.2): `PRE-PREPARE`, `PREPARE` and `COMMIT` messages, the application's verdict on a proposal
//! ([`Input::Verdict`](super::Input::Verdict)), the primary's proposal ([`Input::Propose`](super::Input::Propose)), and execution in sequence order.
//!
//! Invariants:
//!
//! * Only messages of the current view, in its normal case, with `h < n ≤ H` (the watermarks) are processed.
//!   Messages of a later view are buffered until its new view is entered, each signer within its own share of
//!   [`Config::max_buffered`](super::Config::max_buffered) messages and
//!   [`Config::max_buffered_bytes`](super::Config::max_buffered_bytes) bytes (`buffer.rs`); everything else is
//!   dropped and counted.
//! * A backup accepts at most one pre-prepare per `(v, n)`, and only from the primary of `v`; a second one with
//!   another digest proves the primary faulty and starts a view change.
//! * Pre-prepares are checked in sequence order: the time rule first (timestamp above the previous block time,
//!   within `Δ` of the local clock), then the application ([`Output::Validate`]). A backup prepares only a block
//!   the application accepted.
//! * `prepared(m, v, n, i)` is the pre-prepare plus `2f` matching prepares from backups; the prepared certificate
//!   is recorded (it becomes `P` in a view change, §4.4) before the commit is signed. `committed-local` is
//!   `2f + 1` matching commits, which become the block's [`CommitCertificate`].
//! * Blocks are delivered in sequence order with no gaps; every `K`-th delivered block is checkpointed (§4.3).
//! * Every vote is signed by [`SafetyRules`](crate::SafetyRules), which refuses a conflicting one.

use ctchain_codec::Hash32;

use super::buffer::Refusal;
use super::checkpoint::CHECKPOINT_VOTES_PER_SIGNER;
use super::{Delivered, Output, Replica, SlotState};
use crate::metrics::DropReason;
use crate::types::{
    chain_digest, Block, Checkpoint, Commit, CommitCertificate, CommittedBlock, Message, PrePrepare, Prepare,
    PreparedCert, Proposal, ReplicaId, Seq, Signature, Signed, View, MAX_PAYLOAD_BYTES,
};

impl Replica {
    /// Normal-case view gate: `Some(())` to process now; otherwise the message was buffered or dropped.
    fn gate_view(&mut self, view: View, msg: impl FnOnce() -> Message) -> Option<()> {
        if view < self.view {
            self.metrics.drop(DropReason::OldView);
            return None;
        }
        if view > self.view.saturating_add(self.cfg.max_view_ahead) {
            self.metrics.drop(DropReason::FarFutureView);
            return None;
        }
        if view == self.view && self.normal {
            return Some(());
        }
        let m = msg();
        let signer = m.signer();
        match self.buffer.push(m, self.incoming_size) {
            Ok(()) => {}
            Err(Refusal::Duplicate) => self.metrics.drop(DropReason::Duplicate),
            Err(Refusal::Conflicting) => self.metrics.drop(DropReason::Conflicting),
            Err(Refusal::Full) => {
                self.metrics.drop(DropReason::BufferFull);
                *self.metrics.buffer_refused.entry(signer).or_insert(0) += 1;
            }
        }
        None
    }

    /// Watermark gate (§4.2: `h < n ≤ H`).
    fn gate_seq(&mut self, seq: Seq) -> Option<()> {
        if seq <= self.low() {
            self.metrics.drop(DropReason::BelowWatermark);
            return None;
        }
        if seq > self.high() {
            self.metrics.drop(DropReason::OutsideWindow);
            return None;
        }
        Some(())
    }

    /// §4.2: a backup accepts a pre-prepare if it is signed by the primary, in its view, inside the watermarks, and
    /// it has not accepted another one for the same view and sequence number. The timestamp and the application
    /// check follow in sequence order in [`Self::accept_pre_prepares`].
    pub(super) fn on_pre_prepare(&mut self, m: Proposal, out: &mut Vec<Output>) {
        let (view, seq) = (m.pre_prepare.body.view, m.pre_prepare.body.seq);
        if self.gate_view(view, || Message::PrePrepare(m.clone())).is_none() || self.gate_seq(seq).is_none() {
            return;
        }
        if m.pre_prepare.signer != self.validators().primary(view) {
            return self.metrics.drop(DropReason::WrongSender);
        }
        if m.block.is_null() {
            return self.metrics.drop(DropReason::InvalidProposal);
        }
        let digest = m.pre_prepare.body.digest;
        // The signature covers the header only, so anyone can pair a valid header with another block: a mismatch
        // is dropped without blaming the primary.
        if m.block.digest(self.chain_id(), seq) != digest {
            return self.metrics.drop(DropReason::InvalidProof);
        }
        let slot = self.slots.entry(seq).or_default();
        if slot.pre_prepare.is_some() {
            if slot.digest == digest {
                if slot.block.is_none() {
                    slot.block = Some(m.block);
                    return;
                }
                return self.metrics.drop(DropReason::Duplicate);
            }
            // The primary signed two blocks for one (view, seq): proof of a faulty primary.
            self.metrics.drop(DropReason::Conflicting);
            return self.start_view_change(self.view + 1, out);
        }
        if slot.committed.is_some() {
            return self.metrics.drop(DropReason::Duplicate);
        }
        slot.pre_prepare = Some(m.pre_prepare);
        slot.block = Some(m.block);
        slot.digest = digest;
        slot.state = SlotState::Received;
    }

    pub(super) fn on_prepare(&mut self, m: Signed<Prepare>) {
        let (view, seq) = (m.body.view, m.body.seq);
        if self.gate_view(view, || Message::Prepare(m.clone())).is_none() || self.gate_seq(seq).is_none() {
            return;
        }
        if m.signer == self.validators().primary(view) {
            return self.metrics.drop(DropReason::WrongSender);
        }
        let slot = self.slots.entry(seq).or_default();
        match slot.prepares.get(&m.signer) {
            Some(p) if p.body.digest == m.body.digest => self.metrics.drop(DropReason::Duplicate),
            Some(_) => self.metrics.drop(DropReason::Conflicting),
            None => {
                slot.prepares.insert(m.signer, m);
            }
        }
    }

    pub(super) fn on_commit(&mut self, m: Signed<Commit>) {
        let (view, seq) = (m.body.view, m.body.seq);
        if self.gate_view(view, || Message::Commit(m.clone())).is_none() || self.gate_seq(seq).is_none() {
            return;
        }
        let slot = self.slots.entry(seq).or_default();
        match slot.commits.get(&m.signer) {
            Some(c) if c.body.digest == m.body.digest => self.metrics.drop(DropReason::Duplicate),
            Some(_) => self.metrics.drop(DropReason::Conflicting),
            None => {
                slot.commits.insert(m.signer, m);
            }
        }
    }

    pub(super) fn on_verdict(&mut self, view: View, seq: Seq, digest: Hash32, valid: bool, out: &mut Vec<Output>) {
        let current = self.normal && view == self.view;
        let Some(slot) =
            self.slots.get_mut(&seq).filter(|s| current && s.state == SlotState::Validating && s.digest == digest)
        else {
            return self.metrics.drop(DropReason::Unexpected);
        };
        if valid {
            slot.state = SlotState::Accepted;
        } else {
            slot.state = SlotState::Rejected;
            self.metrics.drop(DropReason::InvalidProposal);
            self.start_view_change(self.view + 1, out);
        }
    }

    /// The primary assigns the next sequence number (§4.2) and a timestamp `max(now, previous block time + 1)`.
    pub(super) fn on_propose(&mut self, payload: Vec<u8>, out: &mut Vec<Output>) {
        let Some((view, seq)) = self.proposal_requested else {
            return self.metrics.drop(DropReason::Unexpected);
        };
        if !self.normal || view != self.view || payload.len() > MAX_PAYLOAD_BYTES {
            return self.metrics.drop(DropReason::Unexpected);
        }
        let Some(prev) = self.ts_before(seq) else {
            return self.metrics.drop(DropReason::Unexpected);
        };
        self.proposal_requested = None;
        let block = Block::Data { timestamp: self.now.max(prev.saturating_add(1)), payload };
        let digest = block.digest(self.chain_id(), seq);
        let signed = match self.safety.sign_pre_prepare(PrePrepare { view, seq, digest }) {
            Ok(s) => s,
            Err(_) => return self.metrics.drop(DropReason::SafetyRefused),
        };
        let slot = self.slots.entry(seq).or_default();
        slot.pre_prepare = Some(signed.clone());
        slot.block = Some(block.clone());
        slot.digest = digest;
        slot.state = SlotState::Accepted;
        out.push(Output::Broadcast(Message::PrePrepare(Proposal { pre_prepare: signed, block })));
    }

    /// §4.2 with the time rule: pre-prepares are checked in sequence order; a data block's timestamp must exceed the
    /// previous block time and lie within `Δ` of the local clock. Passing blocks go to the application.
    pub(super) fn accept_pre_prepares(&mut self, out: &mut Vec<Output>) {
        let first = self.last_exec + 1;
        let pending: Vec<Seq> = self
            .slots
            .range(first..)
            .filter(|(_, s)| s.state == SlotState::Received && s.pre_prepare.is_some() && s.committed.is_none())
            .map(|(n, _)| *n)
            .collect();
        for seq in pending {
            let Some(prev) = self.ts_before(seq) else { break };
            let delta = self.cfg.max_clock_skew_ms;
            let now = self.now;
            let Some(slot) = self.slots.get_mut(&seq) else { break };
            let (Some(view), Some(block)) = (slot.pre_prepare.as_ref().map(|p| p.body.view), slot.block.clone()) else {
                break;
            };
            let ts_ok = match block.timestamp() {
                Some(ts) => ts > prev && ts <= now.saturating_add(delta) && ts.saturating_add(delta) >= now,
                None => false,
            };
            if !ts_ok {
                slot.state = SlotState::Rejected;
                self.metrics.drop(DropReason::InvalidTimestamp);
                return self.start_view_change(self.view + 1, out);
            }
            slot.state = SlotState::Validating;
            out.push(Output::Validate { view, seq, digest: slot.digest, block });
        }
    }

    /// §4.2: prepare accepted blocks; when prepared (pre-prepare + quorum − 1 matching prepares), record the
    /// prepared certificate and commit; when a quorum of matching commits is in, the block is committed with its
    /// certificate.
    pub(super) fn vote(&mut self, out: &mut Vec<Output>) {
        // Checked here and not only by the caller: accepting pre-prepares may have started a view change in the
        // same step, and a slot of the view being left must not be voted for (or certified) in the next one.
        if !self.normal {
            return;
        }
        let view = self.view;
        let me = self.me();
        let primary = self.validators().primary(view);
        let quorum = self.quorum();
        let seqs: Vec<Seq> = self.slots.iter().filter(|(_, s)| s.pre_prepare.is_some()).map(|(n, _)| *n).collect();
        for seq in seqs {
            let Some(slot) = self.slots.get_mut(&seq) else { continue };
            let digest = slot.digest;
            if slot.state == SlotState::Accepted && me != primary && !slot.sent_prepare {
                slot.sent_prepare = true;
                match self.safety.sign_prepare(Prepare { view, seq, digest }) {
                    Ok(p) => {
                        slot.prepares.insert(me, p.clone());
                        out.push(Output::Broadcast(Message::Prepare(p)));
                    }
                    Err(_) => self.metrics.drop(DropReason::SafetyRefused),
                }
            }
            let count = slot.prepares.values().filter(|p| p.body.digest == digest && p.signer != primary).count();
            let prepared = slot.state == SlotState::Accepted && count >= quorum - 1;
            if prepared && !slot.sent_commit {
                let matching: Vec<(ReplicaId, Signature)> = slot
                    .prepares
                    .values()
                    .filter(|p| p.body.digest == digest && p.signer != primary)
                    .map(|p| (p.signer, p.signature.clone()))
                    .take(quorum - 1)
                    .collect();
                slot.sent_commit = true;
                if let Some(pp) = slot.pre_prepare.clone() {
                    self.safety
                        .record_prepared(PreparedCert { pre_prepare: pp, prepares: matching }, slot.block.clone());
                }
                match self.safety.sign_commit(Commit { view, seq, digest }) {
                    Ok(c) => {
                        slot.commits.insert(me, c.clone());
                        out.push(Output::Broadcast(Message::Commit(c)));
                    }
                    Err(_) => self.metrics.drop(DropReason::SafetyRefused),
                }
            }
            let commits = slot.commits.values().filter(|c| c.body.digest == digest).count();
            if slot.committed.is_none() && slot.state != SlotState::Rejected && commits >= quorum {
                let sigs: Vec<(ReplicaId, Signature)> = slot
                    .commits
                    .values()
                    .filter(|c| c.body.digest == digest)
                    .map(|c| (c.signer, c.signature.clone()))
                    .take(quorum)
                    .collect();
                // Without its block (a slot of `O` still being fetched) the slot waits: the commit votes stay in
                // the slot and the certificate forms once the block is in.
                if sigs.len() >= quorum {
                    if let Some(block) = &slot.block {
                        slot.committed = Some(CommittedBlock {
                            seq,
                            block: block.clone(),
                            cert: CommitCertificate { view, seq, digest, signatures: sigs },
                        });
                    }
                }
            }
        }
    }

    pub(super) fn execute_committed(&mut self, out: &mut Vec<Output>) {
        while let Some(cb) = self.slots.get(&(self.last_exec + 1)).and_then(|s| s.committed.clone()) {
            self.execute(cb, out);
        }
    }

    /// Delivers the next block in sequence order, and takes a checkpoint every `K` (§4.3).
    pub(super) fn execute(&mut self, cb: CommittedBlock, out: &mut Vec<Output>) {
        let seq = cb.seq;
        if let Some(ts) = cb.block.timestamp() {
            self.last_ts = ts.max(self.last_ts.saturating_add(1));
        }
        self.chain = chain_digest(&self.chain, seq, &cb.cert.digest);
        self.last_exec = seq;
        self.metrics.blocks_committed += 1;
        self.store.insert(seq, cb.clone());
        let keep_from = seq.saturating_sub(self.cfg.retain_blocks);
        while self.store.first_key_value().is_some_and(|(s, _)| *s <= keep_from) {
            self.store.pop_first();
        }
        out.push(Output::Deliver(Box::new(Delivered {
            committed: cb,
            timestamp: self.last_ts,
            chain_digest: self.chain,
        })));
        if self.id().is_none() {
            // Following the chain without voting: no timer, no checkpoint; the next epoch may make it a
            // validator.
            if self.cfg.epochs.last_seq(self.epoch()) == Some(seq) {
                self.enter_next_epoch(out);
            }
            return;
        }
        self.backoff = 0;
        if self.normal {
            self.arm_view_timer(out);
        }
        if seq % self.cfg.checkpoint_interval == 0 {
            self.exec_digests.insert(seq, self.chain);
            let body = Checkpoint { seq, digest: self.chain };
            if let Ok(c) = self.safety.sign_checkpoint(body) {
                let me = self.me();
                self.checkpoint_votes.entry(me).or_default().insert(seq, (c.body.digest, c.signature.clone()));
                let votes = self.checkpoint_votes.entry(me).or_default();
                while votes.len() > CHECKPOINT_VOTES_PER_SIGNER {
                    votes.pop_first();
                }
                out.push(Output::Broadcast(Message::Checkpoint(c)));
            }
        }
        if self.cfg.epochs.last_seq(self.epoch()) == Some(seq) {
            self.enter_next_epoch(out);
        }
    }

    /// As primary in the normal case, ask the application for the next block while the window has room.
    pub(super) fn request_proposal(&mut self, out: &mut Vec<Output>) {
        if !self.normal || self.validators().primary(self.view) != self.me() || self.proposal_requested.is_some() {
            return;
        }
        let highest_slot = self
            .slots
            .iter()
            .rev()
            .find(|(_, s)| s.pre_prepare.is_some() || s.committed.is_some())
            .map_or(0, |(n, _)| *n);
        let next = highest_slot.max(self.low()).max(self.last_exec) + 1;
        if next > self.high() || self.ts_before(next).is_none() {
            return;
        }
        self.proposal_requested = Some((self.view, next));
        out.push(Output::NeedProposal { view: self.view, seq: next });
    }

    /// The block time before `seq`, if every sequence number from the last executed one up to `seq − 1` has a
    /// known block (committed, or accepted or being validated in this view).
    fn ts_before(&self, seq: Seq) -> Option<u64> {
        if seq <= self.last_exec {
            return None;
        }
        let mut t = self.last_ts;
        for n in self.last_exec + 1..seq {
            let slot = self.slots.get(&n)?;
            let block = match (&slot.committed, &slot.block) {
                (Some(cb), _) => &cb.block,
                (None, Some(block)) if matches!(slot.state, SlotState::Accepted | SlotState::Validating) => block,
                _ => return None,
            };
            if let Some(ts) = block.timestamp() {
                t = ts.max(t.saturating_add(1));
            }
        }
        Some(t)
    }
}
