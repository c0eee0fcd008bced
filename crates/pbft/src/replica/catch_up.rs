//! Catch-up: `FETCH-REQUEST` and `FETCH-RESPONSE` messages, and committed blocks the host obtained itself
//! ([`Input::SyncedBlocks`](super::Input::SyncedBlocks)). This is §4.3's "a replica that is behind obtains the missing state" (the state
//! transfer detailed in the TOCS paper), simplified to committed blocks with their certificates.
//!
//! Invariants:
//!
//! * A replica is behind when `f + 1` others (so at least one honest) claim checkpoints above its last executed
//!   block, when its stable checkpoint is above it, or when it holds a committed block whose predecessors are
//!   missing.
//! * It asks one peer at a time and asks the next one after
//!   [`Config::fetch_timeout_ms`](super::Config::fetch_timeout_ms): a peer that lies or stays silent costs one
//!   timeout.
//! * At most one request is outstanding, and only its answer (from the peer asked, starting where the request
//!   started) or its timeout ends it. A duplicated, unsolicited or twinned response is used for its blocks but
//!   starts no request: otherwise every extra copy would start a chain of requests of its own, and a twin answering
//!   each request twice doubles them every round trip (campaign n = 4, seed 2 975: the event queue grew without
//!   bound).
//! * Blocks are accepted in sequence order, each only if its commit certificate verifies against the validator
//!   set ([`verify_committed`](crate::verify_committed)), so the peer that sent them need not be trusted.
//! * A certificate from a later view makes the replica ask for that view: it slept through a view change, and
//!   fetched blocks must not pass for progress of its own view.
//! * A response holds at most [`MAX_FETCH_BLOCKS`] blocks and stays under half the message size limit.

use super::{Output, Replica, Timer};
use crate::metrics::DropReason;
use crate::types::{CommittedBlock, FetchRequest, FetchResponse, Message, ReplicaId, Seq, Signed, MAX_FETCH_BLOCKS};

impl Replica {
    /// Answers with the blocks held, signed as this replica's index in the requester's epoch (which may be one
    /// this replica has left, or not reached yet).
    pub(super) fn on_fetch_request(&mut self, m: Signed<FetchRequest>, out: &mut Vec<Output>) {
        let FetchRequest { from, to } = m.body;
        let Some(index) = self.cfg.epochs.get(m.epoch).and_then(|v| v.index_of(&self.safety.public_key())) else {
            return self.metrics.drop(DropReason::NotInEpoch);
        };
        if m.signer == index {
            return;
        }
        let blocks = self.blocks_from(from, to);
        if blocks.is_empty() {
            return;
        }
        let response = self.safety.sign_unchecked_as(m.epoch, index, FetchResponse { blocks });
        out.push(Output::Send { to: m.signer, message: Message::FetchResponse(response) });
    }

    pub(super) fn on_fetch_response(&mut self, m: Signed<FetchResponse>, out: &mut Vec<Output>) {
        let first = m.body.blocks.first().map(|b| b.seq);
        let answers_outstanding = first.is_some_and(|first| self.fetch_outstanding == Some((m.signer, first)));
        self.on_blocks(m.body.blocks, out);
        if answers_outstanding {
            self.fetch_outstanding = None;
        }
    }

    /// Catch-up (§4.3 state transfer, simplified): blocks are accepted in order, each only if its commit
    /// certificate verifies against the validator set of its epoch, so the peer that sent them need not be
    /// trusted; and only up to the first checkpoint a window above the last block delivered before this call (the
    /// earliest end of an epoch a block of this call could decide, `crate::epoch`): the host feeds the rest again
    /// once it has applied these.
    pub(super) fn on_blocks(&mut self, blocks: Vec<CommittedBlock>, out: &mut Vec<Output>) {
        let k = self.cfg.checkpoint_interval;
        let horizon = self.exec_at_call.saturating_add(self.cfg.window + 1).div_ceil(k).saturating_mul(k);
        for cb in blocks {
            if cb.seq <= self.last_exec {
                continue;
            }
            if cb.seq != self.last_exec + 1 || cb.seq > horizon {
                break;
            }
            if self.cfg.epochs.verify_committed(self.verifier.as_ref(), &cb).is_err() {
                self.metrics.drop(DropReason::InvalidProof);
                break;
            }
            self.metrics.blocks_fetched += 1;
            let (cert_view, cb_epoch) = (cb.cert.view, self.cfg.epochs.epoch_of(cb.seq));
            self.execute(cb, out);
            // A certificate from a later view proves that 2f + 1 replicas (f + 1 honest) moved there while this
            // replica was away (a restart across a view change). Fetched blocks must not pass for progress of its
            // own view, or it would follow forever without voting: it asks for that view, and a replica there
            // answers with the new-view message that lets it in.
            if self.normal && cert_view > self.view && cb_epoch == self.epoch() && self.id().is_some() {
                self.start_view_change(cert_view, out);
            }
        }
    }

    /// Asks one peer at a time (rotating on timeout) for the committed blocks this replica is missing.
    pub(super) fn fetch(&mut self, out: &mut Vec<Output>) {
        let target = self.fetch_target();
        if target <= self.last_exec || self.fetch_outstanding.is_some() || self.n() < 2 {
            return;
        }
        let from = self.last_exec + 1;
        let to = target.min(self.last_exec + MAX_FETCH_BLOCKS as u64);
        self.fetch_peer = (self.fetch_peer + 1) % self.n() as ReplicaId;
        if self.fetch_peer == self.me() {
            self.fetch_peer = (self.fetch_peer + 1) % self.n() as ReplicaId;
        }
        let Some(request) = self.safety.sign_unchecked(FetchRequest { from, to }) else { return };
        out.push(Output::Send { to: self.fetch_peer, message: Message::FetchRequest(request) });
        self.fetch_outstanding = Some((self.fetch_peer, from));
        self.fetch_generation += 1;
        out.push(Output::SetTimer {
            timer: Timer::Fetch { generation: self.fetch_generation },
            after_ms: self.cfg.fetch_timeout_ms,
        });
    }

    /// Whether f + 1 replicas (so at least one honest) claim checkpoints above what this replica executed, or a
    /// stable checkpoint is above it: then it is behind and catches up instead of blaming the primary.
    pub(super) fn behind_target(&self) -> Seq {
        let mut target = self.low();
        let mut claims: Vec<Seq> = self
            .checkpoint_votes
            .iter()
            .filter(|(id, _)| **id != self.me())
            .filter_map(|(_, votes)| votes.keys().next_back().copied())
            .collect();
        claims.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(c) = claims.get(self.validators().f()) {
            target = target.max(*c);
        }
        // Claims of a later epoch count the same way, against that epoch's `f`.
        let mut later: std::collections::BTreeMap<crate::types::Epoch, Vec<Seq>> = Default::default();
        let mut highest: std::collections::BTreeMap<(crate::types::Epoch, ReplicaId), Seq> = self.future_claims.clone();
        for (key, votes) in &self.future_checkpoints {
            if let Some(seq) = votes.keys().next_back() {
                let claim = highest.entry(*key).or_default();
                *claim = (*claim).max(*seq);
            }
        }
        for ((epoch, _), seq) in highest {
            later.entry(epoch).or_default().push(seq);
        }
        for (epoch, mut claims) in later {
            let Some(f) = self.cfg.epochs.get(epoch).map(|v| v.f()) else { continue };
            claims.sort_unstable_by(|a, b| b.cmp(a));
            if let Some(c) = claims.get(f) {
                target = target.max(*c);
            }
        }
        target
    }

    /// What to fetch: up to [`Self::behind_target`], or up to a block committed here whose predecessors are
    /// missing.
    fn fetch_target(&self) -> Seq {
        let mut target = self.behind_target();
        if let Some((seq, _)) = self.slots.iter().rev().find(|(_, s)| s.committed.is_some()) {
            target = target.max(*seq);
        }
        target
    }
}
