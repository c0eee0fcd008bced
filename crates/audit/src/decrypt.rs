//! From chain data to audit records: which points a decryption needs, and what the decrypted outputs say.
//!
//! Decrypting output `o` under the audit key at index `k` needs `s·X` for five points `X` of the output (its four
//! limb handles and its audit memo's ephemeral key, [`ctchain_crypto::audit_decryption_inputs`]). With a whole key
//! the regulator computes them itself; with a split key, `k` supervisors' verified partials are combined into them
//! ([`crate::threshold`]). Either way [`finish`] turns them into amounts — found in a 2¹⁶ table, so a value that is
//! not what the proven handles encrypt cannot come out — and into [`AuditRecord`]s for the AML rules.

use std::collections::HashMap;

use ctchain_crypto::{
    audit_decryption_inputs, audit_output_from_shares, AssetId, AuditDecryptError, AuditDecryptionShares,
    AuditedOutput, LimbTable, Output, Point, PublicKind, RistrettoPoint, Transaction, TxId, LIMBS,
};
use ctchain_ledger::Genesis;

use crate::aml::{AuditRecord, RecordKind};
use crate::threshold::DecryptionRequest;

/// Points per output in a decryption request.
pub const POINTS_PER_OUTPUT: usize = LIMBS + 1;

/// Why outputs could not be decrypted into records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// The chain has no audit key at this index.
    #[error("the chain has no audit key {0}")]
    NoSuchKey(usize),
    /// The audit key given is not the chain's key at this index (a wrong key would decrypt nothing sensible).
    #[error("this audit key is not the chain's audit key {0}")]
    WrongKey(usize),
    /// An output names an asset the genesis does not list.
    #[error("output {index} of transaction {tx_id} is of unknown asset {asset}")]
    UnknownAsset {
        /// Transaction.
        tx_id: TxId,
        /// Output index.
        index: usize,
        /// Asset.
        asset: AssetId,
    },
    /// The crypto layer refused (no copy for this key, limb out of range).
    #[error("output {index} of transaction {tx_id}: {error}")]
    Audit {
        /// Transaction.
        tx_id: TxId,
        /// Output index.
        index: usize,
        /// Why.
        error: AuditDecryptError,
    },
    /// Combined points do not match the outputs asked for.
    #[error("{found} decrypted points for {outputs} outputs")]
    PointCount {
        /// Points given.
        found: usize,
        /// Outputs.
        outputs: usize,
    },
}

/// One output of a committed transaction, with where and when it was committed.
#[derive(Clone, Debug)]
pub struct ChainOutput {
    /// The transaction id.
    pub tx_id: TxId,
    /// The output's index in its transaction.
    pub index: u32,
    /// Block height.
    pub height: u64,
    /// Block time (ms).
    pub timestamp_ms: u64,
    /// What the transaction did: issuance outputs are issues, everything else transfers.
    pub kind: RecordKind,
    /// The output.
    pub output: Output,
}

/// One decrypted output.
#[derive(Clone, Debug)]
pub struct Decrypted {
    /// The output and where it is.
    pub source: ChainOutput,
    /// Amount and memo.
    pub audited: AuditedOutput,
    /// Whether the memo agrees with the proven amount.
    pub memo_agrees: bool,
}

/// The outputs of `tx` at `height`, with the kind read from its public amounts.
pub fn outputs_of(tx: &Transaction, height: u64, timestamp_ms: u64) -> Vec<ChainOutput> {
    let kind = if tx.body.public.iter().any(|p| matches!(p.kind, PublicKind::Issue { .. })) {
        RecordKind::Issue
    } else {
        RecordKind::Transfer
    };
    let tx_id = tx.id();
    tx.body
        .outputs
        .iter()
        .enumerate()
        .map(|(i, o)| ChainOutput { tx_id, index: i as u32, height, timestamp_ms, kind, output: o.clone() })
        .collect()
}

/// The request for decrypting `outputs` under audit key `key_index`, bound to `context` (an access record id).
pub fn request(context: Vec<u8>, outputs: &[ChainOutput], key_index: usize) -> Result<DecryptionRequest, DecryptError> {
    let mut points = Vec::with_capacity(outputs.len() * POINTS_PER_OUTPUT);
    for o in outputs {
        let inputs = audit_decryption_inputs(&o.output, key_index).map_err(|error| DecryptError::Audit {
            tx_id: o.tx_id,
            index: o.index as usize,
            error,
        })?;
        points.extend_from_slice(&inputs);
    }
    Ok(DecryptionRequest { context, points })
}

/// Per-asset limb tables, built on first use (each takes a moment: 65 536 points).
#[derive(Default)]
pub struct Tables(HashMap<AssetId, LimbTable>);

impl Tables {
    fn get(&mut self, asset: AssetId) -> &LimbTable {
        self.0.entry(asset).or_insert_with(|| LimbTable::new(asset))
    }
}

/// Finishes decrypting `outputs` from `s·X` for every point of [`request`] (in the same order).
pub fn finish(
    outputs: &[ChainOutput],
    key_index: usize,
    multiplied: &[RistrettoPoint],
    tables: &mut Tables,
) -> Result<Vec<Decrypted>, DecryptError> {
    if multiplied.len() != outputs.len() * POINTS_PER_OUTPUT {
        return Err(DecryptError::PointCount { found: multiplied.len(), outputs: outputs.len() });
    }
    outputs
        .iter()
        .zip(multiplied.chunks_exact(POINTS_PER_OUTPUT))
        .map(|(o, m)| {
            let shares = AuditDecryptionShares { handles: std::array::from_fn(|i| m[i]), memo: m[LIMBS] };
            let audited = audit_output_from_shares(key_index, &o.output, tables.get(o.output.asset), &shares)
                .map_err(|error| DecryptError::Audit { tx_id: o.tx_id, index: o.index as usize, error })?;
            let memo_agrees = audited.memo_agrees(&o.output);
            Ok(Decrypted { source: o.clone(), audited, memo_agrees })
        })
        .collect()
}

/// `s·X` for every point, with a whole secret.
pub fn multiply(secret: &ctchain_crypto::AuditSecretKey, points: &[Point]) -> Vec<RistrettoPoint> {
    points.iter().map(|p| secret.scalar() * p.point()).collect()
}

/// Checks that `secret` is the chain's audit key `key_index` before anything is decrypted with it.
pub fn check_key(
    genesis: &Genesis,
    key_index: usize,
    secret: &ctchain_crypto::AuditSecretKey,
) -> Result<(), DecryptError> {
    let key = genesis.audit_keys.get(key_index).ok_or(DecryptError::NoSuchKey(key_index))?;
    if *key != secret.public() {
        return Err(DecryptError::WrongKey(key_index));
    }
    Ok(())
}

/// The audit record of a decrypted output: addresses as the chain's bech32m text, the asset by its label.
pub fn record(genesis: &Genesis, d: &Decrypted) -> Result<AuditRecord, DecryptError> {
    let o = &d.source;
    let asset = genesis.asset(&o.output.asset).ok_or(DecryptError::UnknownAsset {
        tx_id: o.tx_id,
        index: o.index as usize,
        asset: o.output.asset,
    })?;
    let address = |a| ctchain_wallet::address::encode_address(&genesis.chain_id, a);
    let (sender, receiver, memo) = match &d.audited.memo {
        Ok(m) => (m.sender.as_ref().map(address), address(&m.receiver), m.text.clone()),
        // An undecryptable memo is itself suspicious (and flagged through `memo_matches_amount`); the amount is
        // still proven, so the record is kept with unknown parties.
        Err(e) => (None, format!("unknown (memo unreadable: {e})"), String::new()),
    };
    Ok(AuditRecord {
        tx_id: o.tx_id.to_string(),
        output_index: o.index,
        height: o.height,
        timestamp_ms: o.timestamp_ms,
        asset_id: hex::encode(o.output.asset.0),
        asset_label: asset.label.clone(),
        decimals: asset.decimals,
        amount: d.audited.amount,
        kind: if o.kind == RecordKind::Transfer && sender.as_deref() == Some(receiver.as_str()) {
            RecordKind::Change
        } else {
            o.kind
        },
        sender,
        receiver,
        memo,
        memo_matches_amount: d.memo_agrees,
    })
}
