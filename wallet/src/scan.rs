//! Finding this wallet's outputs among the chain's, with the view key, and following their spends.
//!
//! Nothing the node says is taken on trust where it can be checked: an output's id must be the hash of its
//! transaction id and index, its bytes must decode canonically, and its memo must open its commitments before
//! it counts (an output with a lying memo is recorded as bad, never counted).

use ctchain_codec::{Decode, Encode};
use ctchain_crypto::{OutputId, TxId, ViewingKeys};
use ctchain_rpc::OutputRecordJson;

use crate::chain::{parse_hash, ChainInfo};
use crate::error::{Result, WalletError};
use crate::store::{BadOutput, OwnedRecord, SentStatus, WalletStore};
use ctchain_keystore::address::encode_address;

/// An output as the chain holds it, checked.
#[derive(Clone, Debug)]
pub struct ChainOutput {
    /// Its id.
    pub id: OutputId,
    /// Creating transaction.
    pub tx_id: TxId,
    /// Index in that transaction.
    pub index: u32,
    /// Creating block's height.
    pub height: u64,
    /// The output.
    pub output: ctchain_crypto::Output,
}

impl ChainOutput {
    /// Decodes and checks an `outputs_range` record.
    pub fn from_rpc(r: &OutputRecordJson) -> Result<Self> {
        let tx_id = TxId(parse_hash("transaction id", &r.tx_id)?);
        let id = OutputId(parse_hash("output id", &r.id)?);
        if id != OutputId::new(&tx_id, r.index) {
            return Err(WalletError::BadNodeData(format!("output {} is not output {} of {}", r.id, r.index, r.tx_id)));
        }
        let bytes = hex::decode(&r.output).map_err(|_| WalletError::BadNodeData(format!("output {} hex", r.id)))?;
        let output = ctchain_crypto::Output::from_bytes(&bytes)
            .map_err(|e| WalletError::BadNodeData(format!("output {}: {e}", r.id)))?;
        Ok(Self { id, tx_id, index: r.index, height: r.height, output })
    }

    /// Wraps output `index` of a transaction committed at `height`.
    pub fn from_tx(tx: &ctchain_crypto::Transaction, index: u32, height: u64) -> Option<Self> {
        let tx_id = tx.id();
        let output = tx.body.outputs.get(usize::try_from(index).ok()?)?.clone();
        Some(Self { id: OutputId::new(&tx_id, index), tx_id, index, height, output })
    }
}

/// What a scan found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// New outputs of this wallet.
    pub found: usize,
    /// Outputs of this wallet whose memo does not verify.
    pub bad: usize,
}

/// Scans `outputs` (in chain order) for this wallet's, recording them with their block times.
pub fn scan_outputs(
    store: &mut WalletStore,
    keys: &ViewingKeys,
    chain: &ChainInfo,
    outputs: &[ChainOutput],
    block_times: &[(u64, u64)],
) -> ScanReport {
    let mut report = ScanReport::default();
    for o in outputs {
        let Some(received) = keys.receive(o.id, &o.output) else { continue };
        let id = o.id.to_string();
        match received {
            Err(e) => {
                if !store.bad_outputs.iter().any(|b| b.output_id == id) {
                    store.bad_outputs.push(BadOutput { output_id: id, reason: e.to_string() });
                    report.bad += 1;
                }
            }
            Ok(r) => {
                let record = OwnedRecord {
                    output_id: id,
                    tx_id: o.tx_id.to_string(),
                    index: o.index,
                    height: o.height,
                    asset: o.output.asset.to_string(),
                    amount: r.memo.opening.amount,
                    sender: r.memo.sender.map(|s| encode_address(&chain.chain_id, &s)),
                    memo: r.memo.text.clone(),
                    output: hex::encode(o.output.to_bytes()),
                    spent_by: None,
                    spent_height: None,
                };
                if store.add_output(record) {
                    report.found += 1;
                    if let Some((_, t)) = block_times.iter().find(|(h, _)| *h == o.height) {
                        store.block_times.insert(o.height, *t);
                    }
                    mark_committed(store, &o.tx_id.to_string(), o.height);
                }
            }
        }
    }
    report
}

/// Records that an owned output was spent by `tx_id` at `height`; a pending transaction of ours that wanted the
/// same output is then either that transaction (committed) or lost the race (rejected).
pub fn mark_spent(store: &mut WalletStore, output_id: &str, tx_id: &str, height: u64) {
    if let Some(o) = store.outputs.iter_mut().find(|o| o.output_id == output_id) {
        o.spent_by = Some(tx_id.to_owned());
        o.spent_height = Some(height);
    }
    mark_committed(store, tx_id, height);
    for s in store.sent.iter_mut() {
        if s.status == SentStatus::Pending && !s.is(tx_id) && s.inputs.iter().any(|i| i == output_id) {
            s.status = SentStatus::Rejected;
            s.reason = Some(format!("input {output_id} was spent by transaction {tx_id}"));
        }
    }
}

/// Records that a transaction of this wallet (named by its id or, for a shield or unshield, by its confidential
/// side's) committed at `height`.
pub(crate) fn mark_committed(store: &mut WalletStore, tx_id: &str, height: u64) {
    if let Some(s) = store.sent.iter_mut().find(|s| s.is(tx_id)) {
        s.status = SentStatus::Committed;
        s.height = Some(height);
        s.reason = None;
    }
}
