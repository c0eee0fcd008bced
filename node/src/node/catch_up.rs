//! Catching up: committed log entries with their certificates fetched from any peer and served to others from disk, trusting none of them.

use super::*;

impl Driver {
    /// Serves log entries from disk to a peer that is behind.
    pub(super) fn serve_sync(&self, peer: PeerId, from: u64, to: u64) -> Result<()> {
        let last = self.applied_seq;
        if from == 0 || from > last {
            return Ok(());
        }
        let first = self.store.first_seq()?;
        if from < first {
            // Pruned: the peer is further behind than the log reaches and needs a state snapshot.
            if let Err(e) = self.shared.net.send(peer, Wire::SyncPruned { first }.to_bytes()) {
                debug!("sync-pruned answer failed: {e}");
            }
            return Ok(());
        }
        let to = to.min(last).min(from + SYNC_BATCH - 1);
        let mut entries = Vec::new();
        let mut bytes = 0usize;
        for seq in from..=to {
            let Some(e) = self.store.entry(seq)? else { break };
            bytes += e.to_bytes().len();
            if !entries.is_empty() && bytes > self.settings.max_message_bytes / 2 {
                break;
            }
            entries.push(e);
        }
        if !entries.is_empty() {
            if let Err(e) = self.shared.net.send(peer, Wire::SyncResponse(entries).to_bytes()) {
                debug!("sync response failed: {e}");
            }
        }
        Ok(())
    }

    /// Entries from a sync response or block gossip. A node with a replica hands them to its core (which checks
    /// each certificate against its epoch's validators); an observer checks each certificate itself and applies
    /// them in order.
    pub(super) fn on_synced(&mut self, entries: Vec<LogEntry>) -> Result<()> {
        self.sync_deadline = 0;
        if self.replica.is_some() {
            let mut fresh: Vec<CommittedBlock> =
                entries.into_iter().filter(|e| e.committed.seq > self.applied_seq).map(|e| e.committed).collect();
            if fresh.first().is_some_and(|b| b.seq > self.applied_seq + 1) {
                // A gap: fetch what is missing first.
                self.request_sync();
                return Ok(());
            }
            // The core takes blocks up to about a window above its tip per call (a block further up may lie in an
            // epoch one of these blocks schedules): the rest is handed again once those are delivered.
            while !fresh.is_empty() {
                let before = self.applied_seq;
                self.step(Input::SyncedBlocks(fresh.clone()))?;
                if self.applied_seq == before {
                    break;
                }
                fresh.retain(|b| b.seq > self.applied_seq);
            }
            return Ok(());
        }
        // Within a window of the tip every entry's epoch is known (an epoch not yet scheduled begins more than a
        // window above the block that will schedule it), so a certificate checked now is checked for good.
        // Taken in order, each delivered as soon as it can be, so that the tip (and the epochs known) move up
        // through a whole batch.
        let ahead = MAX_EARLY_AHEAD.min(self.shared.genesis.consensus.window);
        let mut entries = entries;
        entries.sort_by_key(|e| e.committed.seq);
        for e in entries {
            buffer_early(&mut self.early_entries, e, self.applied_seq, ahead, |entry| {
                self.epochs.schedule().verify_committed(&Ed25519Verifier, &entry.committed).map_err(|e| e.to_string())
            });
            while let Some(entry) = self.early_entries.remove(&(self.applied_seq + 1)) {
                self.deliver(entry)?;
            }
        }
        self.early_entries.retain(|s, _| *s > self.applied_seq);
        if !self.early_entries.is_empty() {
            self.request_sync();
        }
        Ok(())
    }

    pub(super) fn maybe_sync(&mut self) {
        let behind = match &self.replica {
            Some(r) => r.is_catching_up() || r.id().is_none(),
            // An observer (or a replica the current epoch does not name) polls: it has no other way to learn that
            // blocks exist beyond gossip.
            None => true,
        };
        if behind {
            self.request_sync();
        }
    }

    pub(super) fn request_sync(&mut self) {
        let now = now_ms();
        if now < self.sync_deadline {
            return;
        }
        let peers: Vec<PeerId> = self.current_peers().iter().copied().filter(|p| *p != self.own_peer).collect();
        if peers.is_empty() {
            return;
        }
        self.sync_peer = (self.sync_peer + 1) % peers.len();
        let from = self.applied_seq + 1;
        let msg = Wire::SyncRequest { from, to: from + SYNC_BATCH - 1 };
        let voting = self.replica.as_ref().is_some_and(|r| r.id().is_some());
        if self.shared.net.send(peers[self.sync_peer], msg.to_bytes()).is_ok() {
            self.sync_deadline = now + if voting { SYNC_TIMEOUT_MS } else { 500 };
        }
    }
}

/// How far ahead of its ledger an observer keeps entries it cannot apply yet: two sync batches (and no more than a
/// window).
pub(super) const MAX_EARLY_AHEAD: u64 = 2 * SYNC_BATCH;

/// Keeps `entry` for later if it is within `ahead` of `applied` and its certificate verifies (checked before it
/// takes any room): a peer cannot fill an observer's memory with entries from the far future or with
/// uncertified ones. Returns whether it was kept.
pub(super) fn buffer_early(
    early: &mut BTreeMap<u64, LogEntry>,
    entry: LogEntry,
    applied: u64,
    ahead: u64,
    certified: impl Fn(&LogEntry) -> Result<(), String>,
) -> bool {
    let seq = entry.committed.seq;
    if seq <= applied || seq > applied + ahead || early.contains_key(&seq) {
        return false;
    }
    if let Err(e) = certified(&entry) {
        warn!(seq, "synced block with an invalid certificate: {e}");
        return false;
    }
    early.insert(seq, entry);
    true
}

impl Driver {
    /// A peer pruned its log below what this node needs. One peer's word proves nothing (it may lie to make this
    /// node stop); when `f + 1` validators say so, at least one honest one did, and this node cannot follow the
    /// chain by its log any more: it stops and says how to restart from a state snapshot.
    pub(super) fn on_sync_pruned(&mut self, from: PeerId, first: u64) -> Result<()> {
        if first <= self.applied_seq + 1 {
            return Ok(());
        }
        let Some(index) = self.current_peers().iter().position(|p| *p == from) else { return Ok(()) };
        self.pruned_by.insert(from);
        // Counted by peer, among the validators of the epoch this node stands in (it may have entered another
        // since an earlier answer).
        let pruned = self.pruned_by.iter().filter(|p| self.current_peers().contains(p)).count();
        let f = (self.current_validators().n() - 1) / 3;
        warn!(peer = index, first, applied = self.applied_seq, "a validator pruned its log below what this node needs");
        if pruned > f {
            bail!(
                "{pruned} validators pruned their consensus logs below where this node stands (it has executed \
                 sequence number {}; they start at {first} or later): it cannot catch up by the log. Restart it \
                 from a state snapshot: move its data directory aside and start it again (a validator with `start \
                 --restore`)",
                self.applied_seq
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctchain_pbft::{Block, CommitCertificate, CommittedBlock};

    fn entry(seq: u64) -> LogEntry {
        let block = Block::Data { timestamp: seq, payload: Vec::new() };
        let cert = CommitCertificate { view: 0, seq, digest: Hash32::default(), signatures: Vec::new() };
        LogEntry { committed: CommittedBlock { seq, block, cert }, timestamp: seq, chain_digest: Hash32::default() }
    }

    #[test]
    fn an_observer_keeps_only_certified_entries_near_its_tip() {
        let mut early = BTreeMap::new();
        let certified = |_: &LogEntry| Ok(());
        let forged = |_: &LogEntry| Err("too few signatures".to_owned());
        assert!(buffer_early(&mut early, entry(12), 10, MAX_EARLY_AHEAD, certified));
        assert!(!buffer_early(&mut early, entry(12), 10, MAX_EARLY_AHEAD, certified), "one per sequence number");
        assert!(!buffer_early(&mut early, entry(10), 10, MAX_EARLY_AHEAD, certified), "already applied");
        assert!(
            !buffer_early(&mut early, entry(10 + MAX_EARLY_AHEAD + 1), 10, MAX_EARLY_AHEAD, certified),
            "too far ahead"
        );
        assert!(buffer_early(&mut early, entry(10 + MAX_EARLY_AHEAD), 10, MAX_EARLY_AHEAD, certified));
        assert!(!buffer_early(&mut early, entry(13), 10, MAX_EARLY_AHEAD, forged), "uncertified entries take no room");
        // However many a peer sends, the buffer holds at most the window.
        for seq in 0..100_000 {
            buffer_early(&mut early, entry(seq), 10, MAX_EARLY_AHEAD, certified);
        }
        assert_eq!(early.len() as u64, MAX_EARLY_AHEAD);
    }
}
