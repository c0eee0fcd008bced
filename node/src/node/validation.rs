//! A backup's check of a proposal: stateless verification in the background (reusing what the door verified), then the header, stateful and state-root checks once the ledger stands right before it; the execution is kept for delivery.

use super::*;

/// Transactions of `block` that this node already verified, by leaf hash.
pub(super) fn known_transactions(
    shared: &Shared,
    block: &EncodedBlock,
) -> HashMap<Hash32, ctchain_ledger::VerifiedLedgerTx> {
    let Ok(mempool) = shared.mempool.lock() else { return HashMap::new() };
    block.txs.iter().filter_map(|tx| shared.admission.known(&mempool, &tx.leaf()).map(|v| (tx.leaf(), v))).collect()
}

/// Phase one for a block received as bytes: split into its transactions' bytes (each hashed once), the ones this
/// node verified before taken as they are (neither decoded nor verified again), the others decoded and verified.
pub(super) fn verify_encoded_block(shared: &Shared, block: EncodedBlock) -> Result<VerifiedBlock, LedgerError> {
    let known = known_transactions(shared, &block);
    // The audit keys of the block's own epoch: it may be the first of a new one, checked before this node applied
    // the block before it.
    let verifier = match shared.ledger.read() {
        Ok(ledger) => ledger.verifier_for(block.header.seq),
        Err(_) => shared.admission.verifier(),
    };
    let verified = block.verify_with(&verifier, |leaf| known.get(leaf).cloned())?;
    // Copies of these transactions may still be on their way by gossip: they need not be decoded or verified
    // again.
    for tx in verified.txs() {
        if !known.contains_key(&tx.leaf()) {
            shared.admission.remember(tx);
        }
    }
    Ok(verified)
}

pub(super) fn verify_payload(shared: &Shared, payload: &[u8]) -> Result<VerifiedBlock, String> {
    let block = EncodedBlock::from_bytes(payload).map_err(|e| format!("payload is not a block: {e}"))?;
    verify_encoded_block(shared, block).map_err(|e| e.to_string())
}

impl Driver {
    /// A backup's check of a proposal: stateless verification in the background, then (in `decide_awaiting`) the
    /// stateful checks once the ledger stands right before it.
    pub(super) fn validate(&mut self, view: u64, seq: u64, digest: Hash32, block: PbftBlock) {
        self.round_start.entry(seq).or_insert_with(Instant::now);
        let PbftBlock::Data { timestamp, payload } = block else {
            // The core validates data blocks only; a null block here would be a core bug, so refuse it.
            let _ =
                self.events.send(Event::Verified { view, seq, digest, timestamp: 0, result: Err("null block".into()) });
            return;
        };
        if payload.is_empty() {
            // A heartbeat: no ledger block, nothing to check beyond what the core checked (signature, time).
            self.awaiting.insert(seq, AwaitingVerdict { view, digest, timestamp, result: Err(String::new()) });
            return;
        }
        let shared = self.shared.clone();
        let events = self.events.clone();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let result = verify_payload(&shared, &payload);
            shared.metrics.block_verify_seconds.observe(started.elapsed().as_secs_f64());
            let _ = events.send(Event::Verified { view, seq, digest, timestamp, result });
        });
    }

    /// Gives the core its verdicts, in sequence order, for proposals whose predecessor the ledger has applied.
    pub(super) fn decide_awaiting(&mut self) -> Result<()> {
        while let Some((&seq, _)) = self.awaiting.iter().next() {
            if seq <= self.applied_seq {
                self.awaiting.remove(&seq);
                continue;
            }
            if seq != self.applied_seq + 1 {
                return Ok(());
            }
            let a = self.awaiting.remove(&seq).expect("present");
            let valid = match a.result {
                Err(reason) if reason.is_empty() => true,
                Err(reason) => {
                    warn!(seq, view = a.view, "proposal refused: {reason}");
                    false
                }
                Ok(block) => match self.check_against_state(a.view, seq, a.timestamp, block) {
                    Ok(checked) => {
                        self.validated.insert(a.digest, checked);
                        true
                    }
                    Err(reason) => {
                        warn!(seq, view = a.view, "proposal refused: {reason}");
                        false
                    }
                },
            };
            self.step(Input::Verdict { view: a.view, seq, digest: a.digest, valid })?;
        }
        Ok(())
    }

    pub(super) fn check_against_state(
        &self,
        view: u64,
        seq: u64,
        timestamp: u64,
        block: VerifiedBlock,
    ) -> Result<CheckedBlock, String> {
        let header = block.header();
        if header.seq != seq {
            return Err(format!("header sequence number {} differs from the consensus one {seq}", header.seq));
        }
        if header.timestamp_ms != timestamp {
            return Err(format!("header time {} differs from the consensus time {timestamp}", header.timestamp_ms));
        }
        if header.view != view {
            return Err(format!("header view {} differs from the proposal's view {view}", header.view));
        }
        // The core proposes and validates only within its current epoch.
        let primary = self.replica.as_ref().map_or(0, |r| r.validators().primary(view));
        if header.proposer != primary {
            return Err(format!(
                "header names proposer {} but the primary of view {view} is {primary}",
                header.proposer
            ));
        }
        let ledger = self.shared.ledger.read().map_err(|_| "ledger lock poisoned".to_owned())?;
        ledger.check_block(block).map_err(|e| e.to_string())
    }
}
