//! Talking to a chain: the [`ChainSource`] a wallet reads and submits through, and the operations built on it
//! (sync, submit and wait, payment-proof evidence). The RPC client implements it ([`crate::client`]); tests
//! implement it over an in-process ledger, so every operation here is tested without a node.

use std::time::Duration;

use ctchain_codec::Encode;
use ctchain_crypto::{Transaction, ViewingKeys};
use ctchain_light::WaitError;
use ctchain_rpc::{NotesPage, NullifierJson, OutputJson, OutputsPage, ShieldedStatusJson, TxStatus, MAX_OUTPUTS_RANGE};

use crate::chain::ChainInfo;
use crate::error::{Result, WalletError};
use crate::proof::TxEvidence;
use crate::scan::{mark_spent, scan_outputs, ChainOutput, ScanReport};
use crate::store::{SentStatus, WalletStore};

/// What a wallet needs from a chain. Answers are the RPC's JSON types; the wallet checks what it relies on.
// The futures are only awaited on the caller's task, so they need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait ChainSource {
    /// The canonical genesis bytes.
    async fn genesis(&self) -> Result<Vec<u8>>;
    /// The chain's height.
    async fn height(&self) -> Result<u64>;
    /// Outputs created at heights `from..=to`.
    async fn outputs_range(&self, from: u64, to: u64) -> Result<OutputsPage>;
    /// An output and its spent status.
    async fn output(&self, id: &str) -> Result<Option<OutputJson>>;
    /// A transaction's status.
    async fn tx(&self, id: &str) -> Result<TxStatus>;
    /// Canonical header bytes and time of the block at `height`.
    async fn header(&self, height: u64) -> Result<Option<(Vec<u8>, u64)>>;
    /// Submits a transaction (hex); the node's refusal is [`WalletError::Refused`].
    async fn submit(&self, tx_hex: &str) -> Result<String>;
    /// What the chain's governance has changed since the genesis that a transaction must follow: the audit keys
    /// of the epoch the next block will be in, and the assets listed.
    async fn chain_rules(&self) -> Result<ChainRules>;
}

/// The rules a transaction is built for, as the chain's governance has set them (see
/// [`ChainSource::chain_rules`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainRules {
    /// The audit keys of the next block's epoch, in the order outputs carry their copies.
    pub audit_keys: Vec<ctchain_crypto::AuditPublicKey>,
    /// Every asset listed (the genesis's and those listed by governance).
    pub assets: Vec<ctchain_ledger::AssetInfo>,
}

/// What a wallet needs from a chain with a shielded pool, besides [`ChainSource`].
#[allow(async_fn_in_trait)]
pub trait ShieldedSource: ChainSource {
    /// The pool's state: tree size, root, the roots valid as anchors.
    async fn shielded_status(&self) -> Result<ShieldedStatusJson>;
    /// About `limit` notes of the tree from position `from` on, with the tree's size and root when answering.
    /// Every note from `from` on is in a block above `after_height` (the height the wallet's tree was last
    /// confirmed at, then the previous page's `height`): a source that reads certified blocks starts there and
    /// gives the last block it read as the page's `height`.
    async fn shielded_notes(&self, from: u64, after_height: u64, limit: u32) -> Result<NotesPage>;
    /// When a nullifier (hex) was revealed, if it was.
    async fn shielded_nullifier(&self, nullifier: &str) -> Result<Option<NullifierJson>>;
    /// Submits a shielded transaction (hex); the node's refusal is [`WalletError::Refused`].
    async fn shielded_submit(&self, tx_hex: &str) -> Result<String>;
}

/// Reads the chain's genesis and checks it is the wallet's chain.
pub async fn chain_info(source: &impl ChainSource, expected_chain: Option<&str>) -> Result<ChainInfo> {
    let info = ChainInfo::from_genesis_bytes(&source.genesis().await?)?;
    if let Some(expected) = expected_chain {
        if info.chain_id != expected {
            return Err(WalletError::WrongChain { expected: expected.into(), found: info.chain_id });
        }
    }
    Ok(info)
}

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Height scanned from.
    pub from: u64,
    /// Height scanned to (the chain's height).
    pub to: u64,
    /// New outputs of this wallet.
    pub found: usize,
    /// Outputs of this wallet with a memo that does not verify (not counted).
    pub bad: usize,
    /// Outputs found spent.
    pub spent: usize,
    /// Pending transactions that committed.
    pub committed: usize,
    /// Pending transactions that were rejected.
    pub rejected: usize,
    /// Pending transactions the node had forgotten and that were submitted again.
    pub resubmitted: usize,
}

/// Brings the store up to the chain's height: pending transactions first (so their fate is known), then new
/// outputs page by page (the store is saved after each, so an interrupted sync resumes there), then the spent
/// status of every unspent output. `progress(scanned, height)` is called after each page.
pub async fn sync(
    source: &impl ChainSource,
    keys: &ViewingKeys,
    chain: &ChainInfo,
    store: &mut WalletStore,
    save: &mut dyn FnMut(&WalletStore) -> Result<()>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<SyncReport> {
    let mut report = SyncReport { from: store.scanned_height + 1, ..Default::default() };
    let before_committed = count(store, SentStatus::Committed);
    let before_rejected = count(store, SentStatus::Rejected);

    // 1. Pending transactions (shielded ones are settled by the shielded sync, which resubmits them the
    // shielded way).
    let pending: Vec<(String, String)> = store
        .sent
        .iter()
        .filter(|s| s.status == SentStatus::Pending && s.shielded.is_none())
        .map(|s| (s.tx_id.clone(), s.hex.clone()))
        .collect();
    for (id, hex) in pending {
        match source.tx(&id).await? {
            TxStatus::Committed { height, .. } => set_status(store, &id, SentStatus::Committed, Some(height), None),
            TxStatus::Rejected { reason } => set_status(store, &id, SentStatus::Rejected, None, Some(reason)),
            TxStatus::Pending => {}
            // A node forgets its mempool on restart: submit again, and learn a refusal's reason now.
            TxStatus::Unknown => match source.submit(&hex).await {
                Ok(_) => report.resubmitted += 1,
                Err(WalletError::Refused { reason, .. }) => {
                    set_status(store, &id, SentStatus::Rejected, None, Some(reason))
                }
                Err(e) => return Err(e),
            },
        }
    }

    // 2. New outputs.
    let height = source.height().await?;
    let mut times: Vec<(u64, u64)> = Vec::new();
    let mut from = store.scanned_height + 1;
    while from <= height {
        let to = height.min(from + MAX_OUTPUTS_RANGE - 1);
        let page = source.outputs_range(from, to).await?;
        if page.to < from || page.to > to {
            return Err(WalletError::BadNodeData(format!("asked for heights {from}..={to}, got up to {}", page.to)));
        }
        let outputs = page.outputs.iter().map(ChainOutput::from_rpc).collect::<Result<Vec<_>>>()?;
        if let Some(o) = outputs.iter().find(|o| o.height < from || o.height > page.to) {
            return Err(WalletError::BadNodeData(format!("output {} at height {} outside the page", o.id, o.height)));
        }
        let ScanReport { found, bad } = scan_outputs(store, keys, chain, &outputs, &page.block_times);
        report.found += found;
        report.bad += bad;
        times.extend(page.block_times.iter().copied());
        store.scanned_height = page.to;
        save(store)?;
        progress(page.to, height);
        from = page.to + 1;
    }
    report.to = store.scanned_height;

    // 3. Spends of what is still unspent.
    let unspent: Vec<String> =
        store.outputs.iter().filter(|o| o.spent_by.is_none()).map(|o| o.output_id.clone()).collect();
    for id in unspent {
        let Some(status) = source.output(&id).await? else {
            return Err(WalletError::BadNodeData(format!("the node does not know output {id} it reported")));
        };
        // A spend in a block committed after the scan is left for the next sync, which will also find that
        // block's change: recording one without the other would show a balance that never existed.
        if let (Some(by), Some(h)) = (status.spent_by, status.spent_height.filter(|h| *h <= store.scanned_height)) {
            mark_spent(store, &id, &by, h);
            report.spent += 1;
            let time = match times.iter().find(|(th, _)| *th == h) {
                Some((_, t)) => Some(*t),
                None => source.header(h).await?.map(|(_, t)| t),
            };
            if let Some(t) = time {
                store.block_times.insert(h, t);
            }
        }
    }
    for s in store.sent.iter() {
        if let (SentStatus::Committed, Some(h)) = (s.status, s.height) {
            if let Some((_, t)) = times.iter().find(|(th, _)| *th == h) {
                store.block_times.entry(h).or_insert(*t);
            }
        }
    }
    report.committed = count(store, SentStatus::Committed) - before_committed;
    report.rejected = count(store, SentStatus::Rejected).saturating_sub(before_rejected);
    save(store)?;
    Ok(report)
}

fn count(store: &WalletStore, status: SentStatus) -> usize {
    store.sent.iter().filter(|s| s.status == status).count()
}

pub(crate) fn set_status(
    store: &mut WalletStore,
    id: &str,
    status: SentStatus,
    height: Option<u64>,
    reason: Option<String>,
) {
    if let Some(s) = store.sent.iter_mut().find(|s| s.tx_id == id) {
        s.status = status;
        s.height = height;
        s.reason = reason;
    }
}

/// Records a transaction as pending (saving the store first, so its inputs stay reserved even if the process
/// dies right after submitting), submits it, and marks it rejected with the node's reason if refused.
pub async fn submit(
    source: &impl ChainSource,
    store: &mut WalletStore,
    save: &mut dyn FnMut(&WalletStore) -> Result<()>,
    built: &crate::spend::Built,
) -> Result<String> {
    let hex = built.hex();
    submit_recorded(store, save, &built.record, source.submit(&hex)).await
}

/// Records `record` as pending and saved, then awaits `send` (the submission itself, which does nothing until
/// awaited); a refusal marks the record rejected with the node's reason.
pub(crate) async fn submit_recorded(
    store: &mut WalletStore,
    save: &mut dyn FnMut(&WalletStore) -> Result<()>,
    record: &crate::store::SentRecord,
    send: impl std::future::Future<Output = Result<String>>,
) -> Result<String> {
    store.sent.push(record.clone());
    save(store)?;
    match send.await {
        Ok(id) => {
            if id != record.tx_id {
                return Err(WalletError::BadNodeData(format!("submitted {}, node says {id}", record.tx_id)));
            }
            Ok(id)
        }
        Err(e @ WalletError::Refused { .. }) => {
            let reason = e.to_string();
            set_status(store, &record.tx_id, SentStatus::Rejected, None, Some(reason));
            save(store)?;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Waits until a transaction is committed (returning its height) or rejected, polling every `interval` (the
/// light client's loop: a node that cannot be asked for a while is asked again until `timeout`).
pub async fn wait_committed(
    source: &impl ChainSource,
    tx_id: &str,
    interval: Duration,
    timeout: Duration,
) -> Result<u64> {
    ctchain_light::wait_for_commit(tx_id, interval, timeout, || source.tx(tx_id)).await.map_err(|e| match e {
        WaitError::Rejected { id, reason } => WalletError::TxRejected { tx_id: id, reason },
        WaitError::Timeout { id, .. } => WalletError::Timeout(id),
    })
}

/// A committed transaction: the confidential transaction, its height, and the evidence a proof verifier checks.
pub async fn committed_tx(source: &impl ChainSource, tx_id: &str) -> Result<(Transaction, u64, TxEvidence)> {
    let status = source.tx(tx_id).await?;
    let TxStatus::Committed { height, hex, inclusion_proof, .. } = status else {
        return Err(WalletError::NotFound(format!("committed transaction {tx_id}")));
    };
    let bad = |what: &str| WalletError::BadNodeData(format!("transaction {tx_id}: {what}"));
    let ledger_tx = hex::decode(&hex).map_err(|_| bad("hex"))?;
    let inclusion_proof = hex::decode(&inclusion_proof).map_err(|_| bad("inclusion proof hex"))?;
    let decoded: ctchain_ledger::LedgerTx =
        ctchain_codec::Decode::from_bytes(&ledger_tx).map_err(|e| bad(&e.to_string()))?;
    let ctchain_ledger::LedgerTx::Confidential(tx) = decoded else {
        return Err(WalletError::NotFound(format!("confidential transaction {tx_id} (it is of another kind)")));
    };
    if tx.id().to_string() != tx_id.to_ascii_lowercase() {
        return Err(bad("the node returned another transaction"));
    }
    let (header, _) = source.header(height).await?.ok_or_else(|| bad("its block is missing"))?;
    debug_assert!(!tx.to_bytes().is_empty());
    Ok((tx, height, TxEvidence { ledger_tx, inclusion_proof, header }))
}
