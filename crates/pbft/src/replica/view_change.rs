//! View changes (§4.4) and their liveness rules (§4.5.2): `VIEW-CHANGE` and `NEW-VIEW` messages, and the new
//! primary's choice `O` ([`compute_o`]).
//!
//! Invariants:
//!
//! * Views only move forward. A `VIEW-CHANGE` for view `w` carries the replica's stable checkpoint proof `C` and its
//!   prepared certificates `P` above it; [`SafetyRules`](crate::SafetyRules) signs one per view.
//! * A view change is kept only if `C` and `P` verify
//!   ([`ValidatorSet::verify_view_change`](crate::ValidatorSet::verify_view_change)), one per signer and view.
//! * `f + 1` view changes from others for views above this replica's make it join the smallest view `f + 1` of them
//!   ask for, without waiting for its timer (§4.5.2).
//! * The primary of `w` sends `NEW-VIEW` once it holds `2f + 1` view changes for `w`. A backup accepts it only if
//!   `V` is `2f + 1` valid view changes for `w` from distinct signers in ascending order and `O` is exactly
//!   [`compute_o`] of `V`, signed by the primary of `w`.
//! * Entering a view adopts the latest stable checkpoint of `V`, keeps only committed slots, accepts the
//!   pre-prepares of `O` without an application check (each is null or was prepared by a quorum that checked it),
//!   then processes the messages buffered for the view.
//! * A view change for a view this replica has already entered is answered with the `NEW-VIEW` of the latest view
//!   it entered (even while it changes to a later one), which proves the view to a replica that is behind.

use std::collections::BTreeMap;

use ctchain_codec::Hash32;

use super::{Output, Replica, Slot, SlotState};
use crate::metrics::DropReason;
use crate::types::{Block, CheckpointProof, Message, NewView, PrePrepare, ReplicaId, Seq, Signed, View, ViewChange};

impl Replica {
    /// §4.4: a view-change message for a later view. A message for a view this replica has already entered means
    /// the sender is behind: it is answered with the new-view message of the current view, which proves the view.
    pub(super) fn on_view_change(&mut self, m: Signed<ViewChange>, out: &mut Vec<Output>) {
        let w = m.body.new_view;
        if w < self.view || (w == self.view && self.normal) {
            // Also while this replica changes to a later view itself: the sender may never have received the
            // new-view of a view this replica entered (a one-way partition), and without it neither of them can
            // gather a quorum for its own view.
            if m.signer != self.me() {
                if let Some(nv) = self.new_view.as_ref().filter(|nv| nv.body.view >= w) {
                    out.push(Output::Send { to: m.signer, message: Message::NewView(nv.clone()) });
                }
            }
            return self.metrics.drop(DropReason::OldView);
        }
        if w > self.view.saturating_add(self.cfg.max_view_ahead) {
            return self.metrics.drop(DropReason::FarFutureView);
        }
        if let Some(existing) = self.view_changes.get(&w).and_then(|vcs| vcs.get(&m.signer)) {
            let reason = if *existing == m { DropReason::Duplicate } else { DropReason::Conflicting };
            return self.metrics.drop(reason);
        }
        let start = self.epoch_start();
        if self.validators().verify_view_change(self.verifier.as_ref(), &m.body, self.cfg.window, &start).is_err() {
            return self.metrics.drop(DropReason::InvalidProof);
        }
        self.view_changes.entry(w).or_default().insert(m.signer, m);
    }

    /// §4.4: a new-view message. Backups check that `V` holds a quorum of valid view changes for the view, recompute
    /// `O` from `V` and accept the message only if the primary's `O` is exactly that.
    pub(super) fn on_new_view(&mut self, m: Signed<NewView>, out: &mut Vec<Output>) {
        let w = m.body.view;
        if w < self.view || (w == self.view && self.normal) {
            let reason = if self.new_view.as_ref() == Some(&m) { DropReason::Duplicate } else { DropReason::OldView };
            return self.metrics.drop(reason);
        }
        if w > self.view.saturating_add(self.cfg.max_view_ahead) {
            return self.metrics.drop(DropReason::FarFutureView);
        }
        if m.signer != self.validators().primary(w) {
            return self.metrics.drop(DropReason::WrongSender);
        }
        let Some(stable) = self.verify_new_view(&m.body) else {
            return self.metrics.drop(DropReason::InvalidProof);
        };
        self.enter_new_view(m, stable, out);
    }

    fn verify_new_view(&self, nv: &NewView) -> Option<CheckpointProof> {
        let vals = self.validators();
        let verifier = self.verifier.as_ref();
        let start = self.epoch_start();
        if nv.view_changes.len() < self.quorum() {
            return None;
        }
        let mut previous: Option<ReplicaId> = None;
        for vc in &nv.view_changes {
            if previous.is_some_and(|p| p >= vc.signer) || vc.body.new_view != nv.view {
                return None;
            }
            previous = Some(vc.signer);
            vals.verify_signed(verifier, vc).ok()?;
            vals.verify_view_change(verifier, &vc.body, self.cfg.window, &start).ok()?;
        }
        let (stable, o) = compute_o(self.chain_id(), &nv.view_changes);
        if o.len() != nv.pre_prepares.len() {
            return None;
        }
        let primary = vals.primary(nv.view);
        for ((seq, digest), pp) in o.iter().zip(&nv.pre_prepares) {
            if pp.body.view != nv.view || pp.body.seq != *seq || pp.body.digest != *digest || pp.signer != primary {
                return None;
            }
            vals.verify_signed(verifier, pp).ok()?;
        }
        Some(stable)
    }

    /// §4.4: move to view `w` — stop accepting messages of earlier views and send `VIEW-CHANGE` with the stable
    /// checkpoint proof `C` and the prepared certificates `P`.
    pub(super) fn start_view_change(&mut self, w: View, out: &mut Vec<Output>) {
        if w <= self.view {
            return;
        }
        let state = self.safety.state();
        let low = state.low_water();
        let vc = ViewChange {
            new_view: w,
            stable: state.stable.clone(),
            prepared: state.prepared.values().filter(|c| c.pre_prepare.body.seq > low).cloned().collect(),
        };
        let signed = match self.safety.sign_view_change(vc) {
            Ok(s) => s,
            Err(_) => return self.metrics.drop(DropReason::SafetyRefused),
        };
        self.metrics.view_changes_started += 1;
        self.view = w;
        self.normal = false;
        self.vc_timer_armed = false;
        self.proposal_requested = None;
        // Until a quorum asks for view `w`, the timer only resends this view change; the timer that moves on to
        // `w + 1` starts when the quorum is in (§4.5.2).
        self.arm_view_timer(out);
        let me = self.me();
        self.view_changes.entry(w).or_default().insert(me, signed.clone());
        self.view_changes.retain(|v, _| *v >= w);
        out.push(Output::Broadcast(Message::ViewChange(signed)));
    }

    /// §4.5.2: a replica that has f + 1 view-change messages from others for views above its own joins the smallest
    /// view that f + 1 of them ask for, without waiting for its timer.
    pub(super) fn join_view_change(&mut self, out: &mut Vec<Output>) {
        let mut highest: BTreeMap<ReplicaId, View> = BTreeMap::new();
        for (view, vcs) in self.view_changes.range(self.view + 1..) {
            for id in vcs.keys().filter(|id| **id != self.me()) {
                highest.insert(*id, *view);
            }
        }
        let mut views: Vec<View> = highest.into_values().collect();
        views.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(w) = views.get(self.validators().f()).copied() {
            self.start_view_change(w, out);
        }
    }

    /// §4.4: the new primary, with a quorum of view changes for its view, computes `O` and sends `NEW-VIEW`.
    pub(super) fn send_new_view(&mut self, out: &mut Vec<Output>) {
        let w = self.view;
        if self.normal || self.validators().primary(w) != self.me() {
            return;
        }
        let Some(vcs) = self.view_changes.get(&w) else { return };
        if vcs.len() < self.quorum() {
            return;
        }
        let view_changes: Vec<Signed<ViewChange>> = vcs.values().take(self.quorum()).cloned().collect();
        let (stable, o) = compute_o(self.chain_id(), &view_changes);
        let mut pre_prepares = Vec::with_capacity(o.len());
        for (seq, digest) in o {
            match self.safety.sign_pre_prepare(PrePrepare { view: w, seq, digest }) {
                Ok(pp) => pre_prepares.push(pp),
                Err(_) => return self.metrics.drop(DropReason::SafetyRefused),
            }
        }
        let nv = match self.safety.sign_new_view(NewView { view: w, view_changes, pre_prepares }) {
            Ok(nv) => nv,
            Err(_) => return self.metrics.drop(DropReason::SafetyRefused),
        };
        out.push(Output::Broadcast(Message::NewView(nv.clone())));
        self.enter_new_view(nv, stable, out);
    }

    /// §4.4: enter the new view: adopt the latest stable checkpoint in `V`, accept the pre-prepares of `O` (they
    /// need no application check: each is null or was prepared by a quorum that checked it), then process the
    /// messages buffered for this view. `O` names blocks by digest: each is taken from what this replica holds
    /// (its slots of earlier views, its prepared blocks), and one it lacks is fetched by digest (`block_fetch.rs`).
    fn enter_new_view(&mut self, nv: Signed<NewView>, stable: CheckpointProof, out: &mut Vec<Output>) {
        let w = nv.body.view;
        let mut held: BTreeMap<Hash32, Block> = BTreeMap::new();
        for slot in self.slots.values_mut() {
            if let Some(block) = slot.block.take() {
                held.insert(slot.digest, block);
            }
        }
        for (seq, block) in &self.safety.state().prepared_blocks {
            if let Some(cert) = self.safety.state().prepared.get(seq) {
                held.entry(cert.pre_prepare.body.digest).or_insert_with(|| block.clone());
            }
        }
        self.view = w;
        self.normal = true;
        self.safety.enter_view(w);
        self.metrics.views_entered += 1;
        self.proposal_requested = None;
        self.view_changes.retain(|v, _| *v > w);
        self.slots.retain(|_, s| s.committed.is_some());
        for slot in self.slots.values_mut() {
            let committed = slot.committed.take();
            *slot = Slot { committed, ..Slot::default() };
        }
        // If this replica has not executed up to the checkpoint it still adopts it (its proof is a quorum) and
        // catches up to it with [`Self::fetch`].
        self.set_stable(stable);
        let low = self.low();
        for pp in &nv.body.pre_prepares {
            let seq = pp.body.seq;
            if seq <= low || seq > self.high() {
                continue;
            }
            let digest = pp.body.digest;
            let block = if digest == Block::null_digest(self.chain_id(), seq) {
                Some(Block::Null)
            } else {
                held.remove(&digest)
            };
            let slot = self.slots.entry(seq).or_default();
            let block = block.or_else(|| slot.committed.as_ref().map(|c| c.block.clone()));
            slot.pre_prepare = Some(pp.clone());
            slot.block = block;
            slot.digest = digest;
            slot.state = SlotState::Accepted;
        }
        self.new_view = Some(nv);
        self.block_fetch_in_flight = false;
        self.block_fetch_attempt = 0;
        self.arm_view_timer(out);
        for (m, size) in self.buffer.take_all() {
            self.incoming_size = size;
            match m.view() {
                Some(v) if v == w => self.on_message(m, out),
                Some(v) if v > w => {
                    // Kept within its signer's share as before; it fitted then, so it fits now.
                    let _ = self.buffer.push(m, size);
                }
                _ => {}
            }
        }
    }
}

/// §4.4: the new primary's choice. `min-s` is the latest stable checkpoint in `V`, `max-s` the highest sequence
/// number in a prepared certificate of `V`; for every number in between, the digest of the prepared certificate
/// with the highest view, or the digest of the null block there ([`Block::null_digest`]) if there is none.
/// Backups run the same function to check `O`.
pub fn compute_o(chain_id: &str, view_changes: &[Signed<ViewChange>]) -> (CheckpointProof, Vec<(Seq, Hash32)>) {
    let mut stable: Option<&CheckpointProof> = None;
    for vc in view_changes {
        if stable.is_none_or(|s| vc.body.stable.seq > s.seq) {
            stable = Some(&vc.body.stable);
        }
    }
    let Some(stable) = stable.cloned() else {
        return (CheckpointProof { seq: 0, digest: Hash32::default(), signatures: vec![] }, vec![]);
    };
    let min_s = stable.seq;
    let mut best: BTreeMap<Seq, (View, Hash32)> = BTreeMap::new();
    for vc in view_changes {
        for cert in &vc.body.prepared {
            let b = &cert.pre_prepare.body;
            if b.seq <= min_s {
                continue;
            }
            if best.get(&b.seq).is_none_or(|(v, _)| b.view > *v) {
                best.insert(b.seq, (b.view, b.digest));
            }
        }
    }
    let max_s = best.keys().next_back().copied().unwrap_or(min_s);
    let o = (min_s + 1..=max_s)
        .map(|seq| (seq, best.get(&seq).map_or_else(|| Block::null_digest(chain_id, seq), |(_, d)| *d)))
        .collect();
    (stable, o)
}
