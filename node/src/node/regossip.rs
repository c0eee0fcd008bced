//! Pending transactions gossiped again. Gossip reaches the peers connected when a transaction is admitted; one
//! admitted by a node cut off from its peers (a partition, a link down, peers restarting) would otherwise wait in
//! that node's pool for good unless the node became primary, although its client was told it was accepted. So a
//! node gossips its pending transactions again: all of them shortly after a peer connects (once subscriptions are
//! exchanged), and, every [`REGOSSIP_PERIOD_MS`], those pending for a whole period, or for the batching delay if
//! that is longer (a transaction waiting for its block to fill is not lost: under full-size blocks thousands
//! wait, and gossiping them all again every period only loaded the links). Peers
//! that hold a transaction already drop the copy as a duplicate before any proof is checked, so a round costs
//! bandwidth, bounded by [`REGOSSIP_MAX_BYTES`], never verification.

use super::*;

/// Period of the rounds for transactions that stay pending.
const REGOSSIP_PERIOD_MS: u64 = 10_000;
/// Wait after a peer connects before gossiping to it: gossip subscriptions are exchanged on connection and the
/// mesh forms on the next heartbeats.
const AFTER_CONNECT_MS: u64 = 500;
/// Most bytes gossiped again in one round (the oldest transactions first).
const REGOSSIP_MAX_BYTES: usize = 4 << 20;

/// When the next rounds are due.
#[derive(Default)]
pub(super) struct RegossipSchedule {
    /// The next periodic round (0: not scheduled yet).
    next_round_ms: u64,
    /// The mempool's arrival mark at each recent round, oldest first: transactions that arrived before a mark were
    /// pending at that time.
    marks: std::collections::VecDeque<(u64, u64)>,
    /// A round for every pending transaction, after a peer connected.
    after_connect_ms: Option<u64>,
}

impl Driver {
    /// A peer connected: gossip everything pending once it can hear it.
    pub(super) fn regossip_after_connect(&mut self) {
        self.regossip.after_connect_ms = Some(now_ms() + AFTER_CONNECT_MS);
    }

    /// Runs the rounds that are due.
    pub(super) fn regossip_due(&mut self) {
        let now = now_ms();
        let after_connect = self.regossip.after_connect_ms.is_some_and(|t| now >= t);
        // Called every tick: the pool (shared with admission) is locked only when a round is due.
        if !after_connect && now < self.regossip.next_round_ms {
            return;
        }
        let Ok(mempool) = self.shared.mempool.lock() else { return };
        let current = mempool.arrival_mark();
        let before = if after_connect {
            self.regossip.after_connect_ms = None;
            current
        } else {
            self.regossip.next_round_ms = now + REGOSSIP_PERIOD_MS;
            let marks = &mut self.regossip.marks;
            marks.push_back((now, current));
            // The newest mark old enough; the older ones are not needed any more.
            let min_age = REGOSSIP_PERIOD_MS.max(self.settings.batch_delay_ms);
            while marks.get(1).is_some_and(|(at, _)| now.saturating_sub(*at) >= min_age) {
                marks.pop_front();
            }
            match marks.front() {
                Some((at, mark)) if now.saturating_sub(*at) >= min_age => *mark,
                _ => return,
            }
        };
        let again = mempool.arrived_before(before, REGOSSIP_MAX_BYTES);
        drop(mempool);
        if again.is_empty() {
            return;
        }
        debug!(txs = again.len(), "gossiping pending transactions again");
        self.shared.metrics.regossiped_txs.inc_by(again.len() as u64);
        for tx in again {
            let _ = self.shared.net.publish(Topic::Transactions, tx.bytes().to_vec());
        }
    }
}
