//! The primary's proposal: once the ledger has applied everything before the requested sequence number, a block of pending transactions (executed once, the execution kept), or a heartbeat when idle.

use super::*;

impl Driver {
    /// As primary: once the ledger stands right before the requested sequence number, propose the pending
    /// transactions (after the batching delay, at once if they fill a block), or an empty heartbeat when idle or
    /// while a block fills.
    pub(super) fn try_propose(&mut self) -> Result<()> {
        let Some((view, seq, since)) = self.pending_proposal else { return Ok(()) };
        if self.applied_seq + 1 != seq {
            return Ok(());
        }
        let Some(me) = self.replica.as_ref().and_then(|r| r.id()) else { return Ok(()) };
        let limits = self.block_limits(seq)?;
        let now = now_ms();
        let pending = self.shared.mempool.lock().map(|m| m.len()).unwrap_or(0);
        let waited = now.saturating_sub(since);
        // A block is proposed once it is full, or once the first of its transactions waited the batching delay.
        // While it fills, the primary sends empty heartbeats as when idle: the batching delay may be longer than
        // the view timeout, and backups that see no progress would change view.
        let build = if pending == 0 {
            self.batch_since = None;
            false
        } else {
            let batching = now.saturating_sub(*self.batch_since.get_or_insert(now));
            pending >= limits.max_block_txs as usize || batching >= self.settings.batch_delay_ms
        };
        if !build && waited < self.settings.idle_block_ms {
            return Ok(());
        }
        let last_time = self.replica.as_ref().map_or(0, |r| r.last_block_time());
        let timestamp = now.max(last_time + 1);
        let payload = if build {
            self.batch_since = None;
            self.build_block(timestamp, me, view, seq)?
        } else {
            Vec::new()
        };
        self.pending_proposal = None;
        self.round_start.insert(seq, Instant::now());
        let outputs = match self.replica.as_mut() {
            Some(r) => r.handle(now, Input::Propose { payload }),
            None => return Ok(()),
        };
        self.perform(outputs)
    }

    /// Builds the next ledger block from the mempool; transactions that no longer pass against the ledger are
    /// dropped from the mempool (with their reason) and the block is built without them.
    pub(super) fn build_block(&mut self, timestamp: u64, me: u32, view: u64, seq: u64) -> Result<Vec<u8>> {
        let g = self.block_limits(seq)?;
        let max_bytes = (g.max_block_bytes as usize).min(ctchain_pbft::types::MAX_PAYLOAD_BYTES) - HEADER_ROOM;
        loop {
            let ledger = self.shared.ledger.read().map_err(|_| anyhow!("ledger lock poisoned"))?;
            let mut mempool = self.shared.mempool.lock().map_err(|_| anyhow!("mempool lock poisoned"))?;
            let txs = mempool.proposal(g.max_block_txs as usize, max_bytes);
            if txs.is_empty() {
                return Ok(Vec::new());
            }
            match ledger.propose_checked(txs, seq, timestamp, me, view) {
                Ok(block) => {
                    let proposal = PbftBlock::Data { timestamp, payload: block.block().to_bytes() };
                    let digest = proposal.digest(&self.shared.genesis.chain_id, seq);
                    let PbftBlock::Data { payload, .. } = proposal else { unreachable!("built as a data block") };
                    info!(
                        seq,
                        height = block.block().header().height,
                        txs = block.block().txs().len(),
                        "proposing block"
                    );
                    self.validated.insert(digest, block);
                    return Ok(payload);
                }
                Err(LedgerError::InvalidTransaction { tx_id, reason, .. }) => {
                    warn!(%tx_id, "dropping a pending transaction that no longer applies: {reason}");
                    mempool.evict(&tx_id);
                    drop(mempool);
                    drop(ledger);
                    self.reject(tx_id, reason.to_string());
                }
                Err(e) => return Err(anyhow!(e).context("cannot build a block")),
            }
        }
    }

    /// The consensus parameters of the epoch of sequence number `seq`: its block limits.
    fn block_limits(&self, seq: u64) -> Result<ctchain_governance::ConsensusParams> {
        let ledger = self.shared.ledger.read().map_err(|_| anyhow!("ledger lock poisoned"))?;
        Ok(ledger.epoch_for(seq).unwrap_or(ledger.next_block_epoch()).consensus.clone())
    }
}
