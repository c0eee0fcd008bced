//! Delivery of a committed sequence number: the consensus log first (the ledger's write-ahead log), then the ledger block with its certificate, then the mempool.

use super::*;

/// The ledger block a log entry carries (`None` for null blocks and heartbeats).
pub(super) fn ledger_block_of(entry: &LogEntry) -> Result<Option<LedgerBlock>> {
    match &entry.committed.block {
        PbftBlock::Data { payload, .. } if !payload.is_empty() => LedgerBlock::from_bytes(payload)
            .map(Some)
            .map_err(|e| anyhow!("committed block {} does not decode: {e}", entry.committed.seq)),
        _ => Ok(None),
    }
}

impl Driver {
    pub(super) fn reject(&self, id: TxId, reason: String) {
        if let Ok(mut r) = self.shared.rejected.lock() {
            r.insert(id, reason);
        }
        let _ = self.shared.tx_updates.send(id);
    }

    /// A committed sequence number: log it, then apply its ledger block.
    pub(super) fn deliver(&mut self, entry: LogEntry) -> Result<()> {
        let seq = entry.committed.seq;
        if seq != self.applied_seq + 1 {
            bail!("delivered sequence number {seq} does not follow {}", self.applied_seq);
        }
        self.store.append(&entry)?;
        if let Some(block) = ledger_block_of(&entry)? {
            // The certificate's digest is the block's (the core checked it): no need to hash the block again.
            let verified = self.validated.remove(&entry.committed.cert.digest);
            self.apply_ledger_block(&entry, block, verified)?;
        }
        self.applied_seq = seq;
        if let Some(started) = self.round_start.remove(&seq) {
            self.shared.metrics.round_seconds.observe(started.elapsed().as_secs_f64());
        }
        self.round_start.retain(|s, _| *s > seq);
        self.awaiting.retain(|s, _| *s > seq);
        if self.validated.len() > 64 {
            self.validated.clear();
        }
        // One validator (rotating) gossips each committed entry, for observers.
        let n = self.peers_by_index.len() as u64;
        if let Some(me) = self.shared.validator_index {
            if n > 0 && seq % n == u64::from(me) {
                if let Err(e) = self.shared.net.publish(Topic::Blocks, entry.to_bytes()) {
                    debug!("block gossip failed: {e}");
                }
            }
        }
        self.publish_status();
        Ok(())
    }

    pub(super) fn apply_ledger_block(
        &mut self,
        entry: &LogEntry,
        block: LedgerBlock,
        checked: Option<CheckedBlock>,
    ) -> Result<()> {
        let cert = entry.committed.cert.to_bytes();
        let header = block.header.clone();
        let mut ledger = self.shared.ledger.write().map_err(|_| anyhow!("ledger lock poisoned"))?;
        let applied = match checked {
            // Checked against this very tip when it was proposed or voted for: written without executing again.
            Some(checked) => tokio::task::block_in_place(|| ledger.apply_checked(checked, Some(&cert))),
            None => {
                drop(ledger);
                let known = known_transactions(&self.shared, &block);
                let verifier = self.shared.admission.verifier().clone();
                let b = block.clone();
                let verified =
                    tokio::task::block_in_place(|| b.verify_with(&verifier, |leaf| known.get(leaf).cloned())).map_err(
                        |e| {
                            anyhow!(
                                "committed block {} fails verification ({e}): this node diverged",
                                entry.committed.seq
                            )
                        },
                    )?;
                ledger = self.shared.ledger.write().map_err(|_| anyhow!("ledger lock poisoned"))?;
                tokio::task::block_in_place(|| ledger.apply(verified, Some(&cert)))
            }
        };
        {
            applied.map_err(|e| {
                error!(height = header.height, "a committed block does not apply: {e}");
                anyhow!("committed block at height {} does not apply: {e}", header.height)
            })?;
            let mut mempool = self.shared.mempool.lock().map_err(|_| anyhow!("mempool lock poisoned"))?;
            let evicted = mempool.on_block_committed(&block);
            self.shared.metrics.mempool_txs.set(mempool.len() as i64);
            self.shared.metrics.mempool_bytes.set(mempool.bytes() as i64);
            drop(mempool);
            drop(ledger);
            for id in evicted {
                self.reject(id, "an output it spends was spent by a committed transaction".into());
            }
        }
        let m = &self.shared.metrics;
        m.height.set(header.height as i64);
        m.committed_blocks.inc();
        m.committed_txs.inc_by(block.txs.len() as u64);
        info!(height = header.height, seq = entry.committed.seq, txs = block.txs.len(), "block committed");
        let _ = self.shared.heads.send(header_json(&header, block.txs.len()));
        for tx in &block.txs {
            let _ = self.shared.tx_updates.send(tx.id());
        }
        Ok(())
    }
}
