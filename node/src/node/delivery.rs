//! Delivery of a committed sequence number: the consensus log first (the ledger's write-ahead log), then the ledger block with its certificate, then the mempool.

use super::*;

/// The ledger block a log entry carries (`None` for null blocks and heartbeats), split into its transactions'
/// bytes (not decoded).
pub(super) fn ledger_block_of(entry: &LogEntry) -> Result<Option<EncodedBlock>> {
    match &entry.committed.block {
        PbftBlock::Data { payload, .. } if !payload.is_empty() => EncodedBlock::from_bytes(payload)
            .map(Some)
            .map_err(|e| anyhow!("committed block {} does not decode: {e}", entry.committed.seq)),
        _ => Ok(None),
    }
}

/// Whether a log entry carries a ledger block.
fn carries_block(entry: &LogEntry) -> bool {
    matches!(&entry.committed.block, PbftBlock::Data { payload, .. } if !payload.is_empty())
}

impl Driver {
    pub(super) fn reject(&self, id: TxId, reason: String) {
        if let Ok(mut r) = self.shared.rejected.lock() {
            r.insert(id, reason);
        }
        let _ = self.shared.tx_updates.send(id);
    }

    /// A committed sequence number: log it, then apply its ledger block. Returns the epoch it scheduled, if any,
    /// for the core (which must hear of it before any other input).
    pub(super) fn deliver(&mut self, entry: LogEntry) -> Result<Option<Input>> {
        let seq = entry.committed.seq;
        if seq != self.applied_seq + 1 {
            bail!("delivered sequence number {seq} does not follow {}", self.applied_seq);
        }
        self.store.append(&entry)?;
        if carries_block(&entry) {
            // The certificate's digest is the block's (the core checked it): no need to hash the block again.
            // A block this node proposed or checked is applied as it was checked: not decoded again.
            match self.validated.remove(&entry.committed.cert.digest) {
                Some(checked) => self.apply_ledger_block(&entry, Applying::Checked(checked))?,
                None => {
                    let block = ledger_block_of(&entry)?.ok_or_else(|| anyhow!("the entry carries a block"))?;
                    self.apply_ledger_block(&entry, Applying::Received(block))?;
                }
            }
        }
        self.applied_seq = seq;
        self.follow_epoch(seq)?;
        if let Some(started) = self.round_start.remove(&seq) {
            self.shared.metrics.round_seconds.observe(started.elapsed().as_secs_f64());
        }
        self.round_start.retain(|s, _| *s > seq);
        self.awaiting.retain(|s, _| *s > seq);
        if self.validated.len() > 64 {
            self.validated.clear();
        }
        // One validator of the entry's epoch (rotating) gossips each committed entry, for observers.
        let epoch = self.epochs.schedule().epoch_of(seq);
        let n = self.epochs.schedule().get(epoch).map_or(0, |v| v.n()) as u64;
        if let Some(me) = self.my_index(epoch) {
            if n > 0 && seq % n == u64::from(me) {
                if let Err(e) = self.shared.net.publish(Topic::Blocks, entry.to_bytes()) {
                    debug!("block gossip failed: {e}");
                }
            }
        }
        let next_epoch = self.learn_next_epoch()?;
        self.publish_status();
        Ok(next_epoch)
    }

    /// After sequence number `seq` (a block or not): the next block lies above it, perhaps in a new epoch, whose
    /// audit keys the door then admits with.
    pub(super) fn follow_epoch(&mut self, seq: u64) -> Result<()> {
        let before = self.epochs.schedule().epoch_of(seq);
        let mut ledger = self.shared.ledger.write().map_err(|_| anyhow!("ledger lock poisoned"))?;
        ledger.note_consensus_seq(seq);
        if ledger.verifier().confidential.audit_keys() != self.shared.admission.verifier().confidential.audit_keys() {
            info!(epoch = ledger.next_block_epoch().number, "the audit keys change with the epoch: admission follows");
            self.shared.admission.set_verifier(ledger.verifier().clone());
        }
        drop(ledger);
        let now = self.epochs.schedule().epoch_of(seq + 1);
        if now != before {
            match self.my_index(now) {
                Some(index) => info!(epoch = now, index, "entered the epoch as one of its validators"),
                None if self.consensus_key.is_some() => {
                    info!(epoch = now, "entered the epoch, which does not name this node: following without voting")
                }
                None => info!(epoch = now, "entered the epoch"),
            }
        }
        Ok(())
    }

    pub(super) fn apply_ledger_block(&mut self, entry: &LogEntry, block: Applying) -> Result<()> {
        let cert = entry.committed.cert.to_bytes();
        let seq = entry.committed.seq;
        let mut ledger;
        let applied = match block {
            // Checked against this very tip when it was proposed or voted for: written without executing again.
            Applying::Checked(checked) => {
                ledger = self.shared.ledger.write().map_err(|_| anyhow!("ledger lock poisoned"))?;
                tokio::task::block_in_place(|| ledger.apply_checked(checked, Some(&cert)))
            }
            Applying::Received(block) => {
                if block.header.seq != seq {
                    bail!(
                        "committed block of sequence number {seq} names sequence number {} in its header: its \
                         validators signed a block no honest validator votes for",
                        block.header.seq
                    );
                }
                let shared = self.shared.clone();
                let verified = tokio::task::block_in_place(|| verify_encoded_block(&shared, block))
                    .map_err(|e| anyhow!("committed block {seq} fails verification ({e}): this node diverged"))?;
                ledger = self.shared.ledger.write().map_err(|_| anyhow!("ledger lock poisoned"))?;
                tokio::task::block_in_place(|| ledger.apply(verified, Some(&cert)))
            }
        };
        let block = applied.map_err(|e| {
            error!(seq, "a committed block does not apply: {e}");
            anyhow!("committed block of sequence number {seq} does not apply: {e}")
        })?;
        let header = block.header();
        let mut mempool = self.shared.mempool.lock().map_err(|_| anyhow!("mempool lock poisoned"))?;
        let evicted = mempool.on_block_committed(&block);
        self.shared.metrics.mempool_txs.set(mempool.len() as i64);
        self.shared.metrics.mempool_bytes.set(mempool.bytes() as i64);
        // The ledger is unlocked after the mempool is updated: admission never sees the new tip with the old pool.
        drop(mempool);
        drop(ledger);
        for id in evicted {
            self.reject(id, "an output it spends was spent by a committed transaction".into());
        }
        let m = &self.shared.metrics;
        m.height.set(header.height as i64);
        m.committed_blocks.inc();
        m.committed_txs.inc_by(block.txs().len() as u64);
        info!(height = header.height, seq, txs = block.txs().len(), "block committed");
        let _ = self.shared.heads.send(header_json(header, block.txs().len()));
        for tx in block.txs() {
            let _ = self.shared.tx_updates.send(tx.id());
        }
        let height = header.height;
        self.refresh_admission()?;
        self.snapshot_if_due(entry, height)
    }
}

/// A committed block to apply: checked against the tip already, or as received.
pub(super) enum Applying {
    Checked(CheckedBlock),
    Received(EncodedBlock),
}
