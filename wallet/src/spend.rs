//! Building transactions from the store: coin selection with change, transfers, burns, issuances.
//!
//! Coin selection takes the largest spendable outputs first: it needs the fewest inputs (a transaction spends
//! at most [`MAX_INPUTS`]), and spending large outputs first keeps the wallet from fragmenting. Outputs reserved
//! by a pending transaction are never selected, so two quick sends cannot conflict.

use ctchain_codec::{Decode, Encode};
use ctchain_crypto::{
    Address, AssetId, OutputId, OwnedOutput, SigningKey, Transaction, TransactionBuilder, WalletKeys, MAX_INPUTS,
};
use ctchain_ledger::AssetInfo;
use rand_core::{CryptoRng, RngCore};

use crate::chain::{parse_hash, ChainInfo};
use crate::error::{Result, WalletError};
use crate::store::{OwnedRecord, SentPayment, SentPublic, SentRecord, SentStatus, WalletStore};
use ctchain_keystore::address::encode_address;

/// A signed transaction and the record the wallet keeps of it.
#[derive(Clone, Debug)]
pub struct Built {
    /// The transaction, ready to submit.
    pub tx: Transaction,
    /// What the wallet remembers about it (recipients, change, inputs to reserve).
    pub record: SentRecord,
}

impl Built {
    /// Hex of the canonical transaction bytes (what `tx_submit` takes).
    pub fn hex(&self) -> String {
        hex::encode(self.tx.to_bytes())
    }
}

/// The spending secrets of an owned output, derived again from its stored bytes with the wallet's keys.
pub fn owned_output(keys: &WalletKeys, record: &OwnedRecord) -> Result<OwnedOutput> {
    let damaged = |what: &str| WalletError::Store {
        path: "(wallet store)".into(),
        reason: format!("output {}: {what}; delete the store and sync again", record.output_id),
    };
    let id = OutputId(parse_hash("output id", &record.output_id).map_err(|_| damaged("bad id"))?);
    let bytes = hex::decode(&record.output).map_err(|_| damaged("bad hex"))?;
    let output = ctchain_crypto::Output::from_bytes(&bytes).map_err(|_| damaged("undecodable"))?;
    match keys.viewing_keys().receive(id, &output) {
        Some(Ok(received)) => Ok(keys.owned(&received)),
        _ => Err(damaged("not this wallet's")),
    }
}

/// Chooses spendable outputs of `asset` worth at least `amount`, largest first.
pub fn select_inputs<'a>(
    store: &'a WalletStore,
    chain: &ChainInfo,
    asset: &AssetId,
    amount: u64,
) -> Result<Vec<&'a OwnedRecord>> {
    let asset_hex = asset.to_string();
    let mut candidates: Vec<&OwnedRecord> = store.spendable().into_iter().filter(|o| o.asset == asset_hex).collect();
    candidates.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.output_id.cmp(&b.output_id)));
    // The chain's supply of an asset fits in 64 bits, so the sum of one wallet's outputs does too; saturate
    // rather than trust that for a damaged store.
    let available = candidates.iter().fold(0u64, |acc, o| acc.saturating_add(o.amount));
    if available < amount {
        return Err(WalletError::InsufficientFunds {
            asset: chain.label(asset),
            available: chain.format(asset, available),
            needed: chain.format(asset, amount),
        });
    }
    let mut chosen = Vec::new();
    let mut sum = 0u64;
    for o in candidates {
        if sum >= amount {
            break;
        }
        sum = sum.saturating_add(o.amount);
        chosen.push(o);
    }
    if chosen.len() > MAX_INPUTS {
        return Err(WalletError::TooFragmented { asset: chain.label(asset), needed: chosen.len(), max: MAX_INPUTS });
    }
    Ok(chosen)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn builder(chain: &ChainInfo) -> TransactionBuilder {
    TransactionBuilder::new(chain.chain_id.clone(), chain.audit_keys.clone())
}

fn record(kind: &str, tx: &Transaction, inputs: &[&OwnedRecord]) -> SentRecord {
    SentRecord {
        tx_id: tx.id().to_string(),
        kind: kind.into(),
        status: SentStatus::Pending,
        reason: None,
        height: None,
        created_ms: now_ms(),
        inputs: inputs.iter().map(|o| o.output_id.clone()).collect(),
        payments: Vec::new(),
        change: Vec::new(),
        public: Vec::new(),
        hex: hex::encode(tx.to_bytes()),
        shielded: None,
    }
}

/// A confidential transfer of `amount` base units of `asset` to `to`, with change back to this wallet.
#[allow(clippy::too_many_arguments)]
pub fn build_transfer<R: RngCore + CryptoRng>(
    store: &WalletStore,
    keys: &WalletKeys,
    chain: &ChainInfo,
    to: &Address,
    asset: &AssetInfo,
    amount: u64,
    memo: &str,
    rng: &mut R,
) -> Result<Built> {
    if amount == 0 {
        return Err(WalletError::ZeroAmount);
    }
    let inputs = select_inputs(store, chain, &asset.id, amount)?;
    let mut b = builder(chain);
    for o in &inputs {
        b.spend(owned_output(keys, o)?);
    }
    b.pay(*to, asset.id, amount, memo).sender(keys.address());
    let tx = b.build(rng)?;
    let mut rec = record("transfer", &tx, &inputs);
    rec.payments.push(SentPayment {
        to: encode_address(&chain.chain_id, to),
        asset: asset.id.to_string(),
        amount,
        memo: memo.into(),
    });
    let change = inputs.iter().map(|o| o.amount).sum::<u64>() - amount;
    if change > 0 {
        rec.change.push((asset.id.to_string(), change));
    }
    Ok(Built { tx, record: rec })
}

/// Destroys `amount` of `asset` from this wallet's outputs (redemption), with change back.
pub fn build_burn<R: RngCore + CryptoRng>(
    store: &WalletStore,
    keys: &WalletKeys,
    chain: &ChainInfo,
    asset: &AssetInfo,
    amount: u64,
    rng: &mut R,
) -> Result<Built> {
    if amount == 0 {
        return Err(WalletError::ZeroAmount);
    }
    let inputs = select_inputs(store, chain, &asset.id, amount)?;
    let mut b = builder(chain);
    for o in &inputs {
        b.spend(owned_output(keys, o)?);
    }
    b.burn(asset.id, amount).sender(keys.address());
    let tx = b.build(rng)?;
    let mut rec = record("burn", &tx, &inputs);
    rec.public.push(SentPublic { kind: "burn".into(), asset: asset.id.to_string(), amount });
    let change = inputs.iter().map(|o| o.amount).sum::<u64>() - amount;
    if change > 0 {
        rec.change.push((asset.id.to_string(), change));
    }
    Ok(Built { tx, record: rec })
}

/// Issues `amount` new units of `asset` to `to`, signed with the asset's issuer key. Refused here already when
/// the key is not the one the genesis names (the ledger would refuse it anyway).
pub fn build_issue<R: RngCore + CryptoRng>(
    chain: &ChainInfo,
    issuer: &SigningKey,
    asset: &AssetInfo,
    amount: u64,
    to: &Address,
    memo: &str,
    rng: &mut R,
) -> Result<Built> {
    if amount == 0 {
        return Err(WalletError::ZeroAmount);
    }
    if issuer.public() != asset.issuer {
        return Err(WalletError::NotIssuer {
            asset: asset.label.clone(),
            expected: hex::encode(asset.issuer.as_bytes()),
        });
    }
    let mut b = builder(chain);
    b.issue(issuer, asset.id, amount).pay(*to, asset.id, amount, memo);
    let tx = b.build(rng)?;
    let mut rec = record("issue", &tx, &[]);
    rec.public.push(SentPublic { kind: "issue".into(), asset: asset.id.to_string(), amount });
    rec.payments.push(SentPayment {
        to: encode_address(&chain.chain_id, to),
        asset: asset.id.to_string(),
        amount,
        memo: memo.into(),
    });
    Ok(Built { tx, record: rec })
}
