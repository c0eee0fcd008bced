//! Timers: [`Input::Start`](super::Input::Start) arms the first view timer, [`Input::Timeout`](super::Input::Timeout) handles an expired one (§4.5.2), and the
//! view timeout doubles while views change without progress.
//!
//! Invariants:
//!
//! * Every timer carries an epoch; a timeout whose epoch is not the current one is stale and ignored, so the host
//!   never cancels a timer.
//! * The view timeout doubles with every view change that gathers a quorum, is reset by every delivered block, and
//!   is capped at [`Config::max_view_timeout_ms`](super::Config::max_view_timeout_ms) (§4.5.2).
//! * On the view timer a replica does not blame the primary when no primary could help: when every sequence
//!   number of the window is executed (it waits for a stable checkpoint), or when it is behind the others (it
//!   catches up), unless `f + 1` others already work in a later view, which it then asks for. While changing view
//!   without a quorum yet, it re-sends the view changes it signed instead of signing new ones.
//! * A fetch timeout lets catch-up, or the fetch of blocks by digest, ask the next peer.

use std::collections::BTreeMap;

use super::{Output, Replica, Timer};
use crate::types::{Message, ReplicaId, View};

impl Replica {
    pub(super) fn on_start(&mut self, out: &mut Vec<Output>) {
        self.arm_view_timer(out);
        if !self.normal {
            // Restarted during a view change: the persisted view changes are sent again on the timer.
            let own: Vec<_> = self.safety.state().own_view_changes.clone();
            for vc in own {
                let me = self.me();
                self.view_changes.entry(vc.body.new_view).or_default().insert(me, vc);
            }
        }
    }

    pub(super) fn on_timeout(&mut self, timer: Timer, out: &mut Vec<Output>) {
        match timer {
            Timer::View { generation, .. } if generation == self.timer_generation => {
                // Checkpoint messages may have been lost, and without a stable checkpoint the window cannot move:
                // send this replica's checkpoints at and above the low-water mark again (same signatures; the one
                // at the mark for replicas that missed it).
                self.resend_checkpoints(out);
                if self.normal && self.last_exec >= self.high() {
                    // Every sequence number of the window is executed: waiting for a stable checkpoint, which no
                    // primary can speed up.
                    return self.arm_view_timer(out);
                }
                if self.normal && self.behind_target() > self.last_exec {
                    // Behind the others: catching up, not the primary's fault. But if f + 1 of them already work
                    // in a later view, this replica slept through a view change (a restart): it asks for that
                    // view, and a replica in that view answers with the new-view message that lets it in.
                    if let Some(view) = self.view_reached_by_others() {
                        return self.start_view_change(view, out);
                    }
                    return self.arm_view_timer(out);
                }
                if !self.normal && !self.vc_timer_armed {
                    // No quorum for the new view yet: messages may have been lost, so send the same signed view
                    // changes again (no new signature; the earlier ones too, for replicas still gathering a
                    // quorum for an earlier view) and wait.
                    for vc in self.safety.state().own_view_changes.clone() {
                        out.push(Output::Broadcast(Message::ViewChange(vc)));
                    }
                    return self.arm_view_timer(out);
                }
                self.start_view_change(self.view + 1, out);
            }
            Timer::Fetch { generation } if generation == self.fetch_generation => self.fetch_outstanding = None,
            Timer::BlockFetch { generation } => self.on_block_fetch_timeout(generation),
            _ => {}
        }
    }

    /// The highest view that at least `f + 1` other replicas (so at least one honest) have entered, judging by the
    /// normal-case messages for later views this replica buffered; `None` if no such view is above its own.
    fn view_reached_by_others(&self) -> Option<View> {
        let mut highest: BTreeMap<ReplicaId, View> = BTreeMap::new();
        for m in self.buffer.messages() {
            let signer = m.signer();
            if signer == self.me() || !matches!(m, Message::PrePrepare(_) | Message::Prepare(_) | Message::Commit(_)) {
                continue;
            }
            if let Some(v) = m.view().filter(|v| *v > self.view) {
                let entry = highest.entry(signer).or_insert(v);
                *entry = (*entry).max(v);
            }
        }
        let mut views: Vec<View> = highest.into_values().collect();
        views.sort_unstable_by(|a, b| b.cmp(a));
        views.get(self.validators().f()).copied()
    }

    fn view_timeout(&self) -> u64 {
        let factor = 1u64.checked_shl(self.backoff.min(32)).unwrap_or(u64::MAX);
        self.cfg.view_timeout_ms.saturating_mul(factor).min(self.cfg.max_view_timeout_ms)
    }

    pub(super) fn arm_view_timer(&mut self, out: &mut Vec<Output>) {
        self.timer_generation += 1;
        out.push(Output::SetTimer {
            timer: Timer::View { view: self.view, generation: self.timer_generation },
            after_ms: self.view_timeout(),
        });
    }
}

impl Replica {
    /// New timing from the application ([`Input::Timing`](super::Input::Timing)); the cap on the doubled view
    /// timeout is raised if the base timeout passes it.
    pub(super) fn set_timing(&mut self, view_timeout_ms: u64, max_clock_skew_ms: u64) {
        if view_timeout_ms > 0 {
            self.cfg.view_timeout_ms = view_timeout_ms;
            self.cfg.max_view_timeout_ms = self.cfg.max_view_timeout_ms.max(view_timeout_ms);
        }
        if max_clock_skew_ms > 0 {
            self.cfg.max_clock_skew_ms = max_clock_skew_ms;
        }
    }
}
