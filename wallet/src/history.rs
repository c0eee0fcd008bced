//! Balances and history, computed from the store.
//!
//! * **Confirmed**: the sum of unspent owned outputs, as of the last sync.
//! * **Locked**: the part of it that a pending transaction of this wallet spends.
//! * **Incoming**: change and self-payments of pending transactions, which arrive when they commit.
//! * **Spendable** = confirmed − locked.
//!
//! Incoming payments from others appear once committed: the chain does not show pending outputs.
//!
//! History groups everything by transaction. A transaction this wallet built is shown from its local record
//! (recipients and notes, which only the sender knows); one it did not build (a receipt, or a send made by a
//! restored copy of the wallet) is shown from the chain: receipts with the sender and note from their memos,
//! sends as the net amount that left the wallet, counterparty unknown.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::store::{SentStatus, WalletStore};

/// One asset's balance, in base units.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Balance {
    /// Asset id (hex).
    pub asset: String,
    /// Unspent committed outputs.
    pub confirmed: u64,
    /// Part of `confirmed` spent by pending transactions.
    pub locked: u64,
    /// Change arriving with pending transactions.
    pub incoming: u64,
    /// `confirmed − locked`.
    pub spendable: u64,
    /// Unspent outputs.
    pub outputs: usize,
}

/// Balances of every asset the wallet has seen, ordered by asset id.
pub fn balances(store: &WalletStore) -> Vec<Balance> {
    let mut by_asset: BTreeMap<String, Balance> = BTreeMap::new();
    let reserved: std::collections::HashSet<&str> = store.reserved().collect();
    for o in store.outputs.iter().filter(|o| o.spent_by.is_none()) {
        let b = by_asset.entry(o.asset.clone()).or_default();
        b.confirmed = b.confirmed.saturating_add(o.amount);
        b.outputs += 1;
        if reserved.contains(o.output_id.as_str()) {
            b.locked = b.locked.saturating_add(o.amount);
        }
    }
    for s in store.sent.iter().filter(|s| s.status == SentStatus::Pending) {
        for (asset, amount) in &s.change {
            let b = by_asset.entry(asset.clone()).or_default();
            b.incoming = b.incoming.saturating_add(*amount);
        }
        for p in s.payments.iter().filter(|p| p.to == store.address) {
            let b = by_asset.entry(p.asset.clone()).or_default();
            b.incoming = b.incoming.saturating_add(p.amount);
        }
    }
    by_asset
        .into_iter()
        .map(|(asset, mut b)| {
            b.asset = asset;
            b.spendable = b.confirmed - b.locked;
            b
        })
        .collect()
}

/// What a history entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A payment from someone else.
    Received,
    /// A payment to someone else.
    Sent,
    /// A payment to this wallet's own address.
    ToSelf,
    /// New units issued (by this wallet's issuer key, or received straight from an issuance).
    Issued,
    /// Units destroyed.
    Burned,
    /// A fee paid.
    Fee,
}

/// One line of history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Transaction id (hex).
    pub tx_id: String,
    /// `pending`, `committed` or `rejected`.
    pub status: SentStatus,
    /// What happened.
    pub kind: EntryKind,
    /// Asset id (hex).
    pub asset: String,
    /// Base units.
    pub amount: u64,
    /// The other party's address, when known.
    pub counterparty: Option<String>,
    /// The note.
    pub memo: String,
    /// Block height, once committed.
    pub height: Option<u64>,
    /// Block time (ms since the Unix epoch), when known.
    pub time_ms: Option<u64>,
    /// Why it was rejected.
    pub reason: Option<String>,
}

/// The history, oldest first (pending and rejected transactions of this wallet after the committed ones).
pub fn history(store: &WalletStore) -> Vec<HistoryEntry> {
    let mut entries = Vec::new();
    let sent: HashMap<&str, &crate::store::SentRecord> = store.sent.iter().map(|s| (s.tx_id.as_str(), s)).collect();
    // Transactions with activity on chain, in order of first appearance by height.
    let mut txs: BTreeMap<(u64, String), ()> = BTreeMap::new();
    for o in &store.outputs {
        txs.insert((o.height, o.tx_id.clone()), ());
        if let (Some(by), Some(h)) = (&o.spent_by, o.spent_height) {
            txs.insert((h, by.clone()), ());
        }
    }
    let time = |h: Option<u64>| h.and_then(|h| store.block_times.get(&h).copied());
    let mut shown: std::collections::HashSet<String> = Default::default();
    for ((height, tx_id), ()) in txs {
        if !shown.insert(tx_id.clone()) {
            continue;
        }
        let status = SentStatus::Committed;
        if let Some(record) = sent.get(tx_id.as_str()) {
            entries.extend(from_record(store, record, status, Some(height), time(Some(height))));
            continue;
        }
        let spent: Vec<_> = store.outputs.iter().filter(|o| o.spent_by.as_deref() == Some(tx_id.as_str())).collect();
        let created: Vec<_> = store.outputs.iter().filter(|o| o.tx_id == tx_id).collect();
        if spent.is_empty() {
            for o in created {
                entries.push(HistoryEntry {
                    tx_id: tx_id.clone(),
                    status,
                    kind: if o.sender.is_none() { EntryKind::Issued } else { EntryKind::Received },
                    asset: o.asset.clone(),
                    amount: o.amount,
                    counterparty: o.sender.clone(),
                    memo: o.memo.clone(),
                    height: Some(height),
                    time_ms: time(Some(height)),
                    reason: None,
                });
            }
            continue;
        }
        // Spent by a transaction this copy of the wallet did not build: show what left, per asset.
        let mut net: BTreeMap<&str, i128> = BTreeMap::new();
        for o in &spent {
            *net.entry(&o.asset).or_default() += i128::from(o.amount);
        }
        for o in &created {
            *net.entry(&o.asset).or_default() -= i128::from(o.amount);
        }
        for (asset, n) in net {
            let (kind, amount) = if n >= 0 { (EntryKind::Sent, n) } else { (EntryKind::Received, -n) };
            entries.push(HistoryEntry {
                tx_id: tx_id.clone(),
                status,
                kind,
                asset: asset.into(),
                amount: u64::try_from(amount).unwrap_or(u64::MAX),
                counterparty: None,
                memo: String::new(),
                height: Some(height),
                time_ms: time(Some(height)),
                reason: None,
            });
        }
    }
    // Records not yet seen on chain: pending, rejected, or committed without touching a scanned output.
    for s in store.sent.iter().filter(|s| !shown.contains(&s.tx_id)) {
        entries.extend(from_record(store, s, s.status, s.height, time(s.height)));
    }
    entries
}

fn from_record(
    store: &WalletStore,
    s: &crate::store::SentRecord,
    status: SentStatus,
    height: Option<u64>,
    time_ms: Option<u64>,
) -> Vec<HistoryEntry> {
    let entry = |kind, asset: &str, amount, counterparty, memo: &str| HistoryEntry {
        tx_id: s.tx_id.clone(),
        status,
        kind,
        asset: asset.into(),
        amount,
        counterparty,
        memo: memo.into(),
        height,
        time_ms,
        reason: s.reason.clone(),
    };
    let mut out = Vec::new();
    for p in &s.public {
        let kind = match p.kind.as_str() {
            "issue" => EntryKind::Issued,
            "burn" => EntryKind::Burned,
            _ => EntryKind::Fee,
        };
        out.push(entry(kind, &p.asset, p.amount, None, ""));
    }
    // An issuance's payment is the issued amount itself; show its recipient on the issue line instead.
    if s.kind == "issue" {
        if let (Some(line), Some(p)) = (out.first_mut(), s.payments.first()) {
            line.counterparty = Some(p.to.clone());
            line.memo = p.memo.clone();
        }
        return out;
    }
    for p in &s.payments {
        let kind = if p.to == store.address { EntryKind::ToSelf } else { EntryKind::Sent };
        out.push(entry(kind, &p.asset, p.amount, Some(p.to.clone()), &p.memo));
    }
    out
}
