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
//!
//! The shielded pool is counted the same way from the wallet's notes ([`shielded_balances`]): confirmed is the
//! sum of unspent notes, locked what pending transactions spend, incoming the notes they bring back (a
//! shield's amount, change). Its history entries are marked `shielded`; a shielded receipt has no known
//! sender (a note names none), and a shield or unshield is one entry of its own kind.

use std::collections::{BTreeMap, HashMap, HashSet};

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

/// Balances of every asset the wallet has seen in the confidential pool, ordered by asset id.
pub fn balances(store: &WalletStore) -> Vec<Balance> {
    let reserved: HashSet<&str> = store.reserved().collect();
    let held = store
        .outputs
        .iter()
        .filter(|o| o.spent_by.is_none())
        .map(|o| (o.asset.as_str(), o.amount, reserved.contains(o.output_id.as_str())));
    let pending = store.sent.iter().filter(|s| s.status == SentStatus::Pending);
    let incoming = pending.flat_map(|s| {
        let change = s.change.iter().map(|(asset, amount)| (asset.as_str(), *amount));
        let to_self = s.payments.iter().filter(|p| p.to == store.address).map(|p| (p.asset.as_str(), p.amount));
        change.chain(to_self)
    });
    tally(held, incoming)
}

/// Balances of every asset the wallet holds notes of in the shielded pool, ordered by asset id (`outputs`
/// counts unspent notes).
pub fn shielded_balances(store: &WalletStore) -> Vec<Balance> {
    let reserved: HashSet<&str> = store.reserved_notes().collect();
    let held = store
        .shielded
        .notes
        .iter()
        .filter(|n| n.spent_by.is_none())
        .map(|n| (n.asset.as_str(), n.value, reserved.contains(n.nullifier.as_str())));
    let incoming = store
        .sent
        .iter()
        .filter(|s| s.status == SentStatus::Pending)
        .filter_map(|s| s.shielded.as_ref())
        .flat_map(|s| s.notes_in.iter().map(|(asset, amount)| (asset.as_str(), *amount)));
    tally(held, incoming)
}

/// Sums unspent holdings `(asset, amount, reserved by a pending transaction)` and pending arrivals per asset.
fn tally<'a>(
    held: impl Iterator<Item = (&'a str, u64, bool)>,
    incoming: impl Iterator<Item = (&'a str, u64)>,
) -> Vec<Balance> {
    let mut by_asset: BTreeMap<&str, Balance> = BTreeMap::new();
    for (asset, amount, reserved) in held {
        let b = by_asset.entry(asset).or_default();
        b.confirmed = b.confirmed.saturating_add(amount);
        b.outputs += 1;
        if reserved {
            b.locked = b.locked.saturating_add(amount);
        }
    }
    for (asset, amount) in incoming {
        let b = by_asset.entry(asset).or_default();
        b.incoming = b.incoming.saturating_add(amount);
    }
    by_asset
        .into_iter()
        .map(|(asset, mut b)| {
            b.asset = asset.into();
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
    /// Value moved from the confidential pool into this wallet's notes.
    Shielded,
    /// Value moved from this wallet's notes into the confidential pool.
    Unshielded,
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
    /// Whether it moved value in the shielded pool (a note received or spent, a shield or an unshield).
    pub shielded: bool,
}

/// The history, oldest first (pending and rejected transactions of this wallet after the committed ones).
pub fn history(store: &WalletStore) -> Vec<HistoryEntry> {
    let mut entries = Vec::new();
    // A shield or unshield is also named by its confidential side, whose outputs and spends carry that id.
    let mut sent: HashMap<&str, &crate::store::SentRecord> = HashMap::new();
    for s in &store.sent {
        sent.insert(s.tx_id.as_str(), s);
        if let Some(crossing) = s.shielded.as_ref().and_then(|sh| sh.crossing_id.as_deref()) {
            sent.insert(crossing, s);
        }
    }
    // Transactions with activity on chain, in order of first appearance by height.
    let mut txs: BTreeMap<(u64, String), ()> = BTreeMap::new();
    let notes = &store.shielded.notes;
    let created_and_spent = store
        .outputs
        .iter()
        .map(|o| (o.height, &o.tx_id, o.spent_height, &o.spent_by))
        .chain(notes.iter().map(|n| (n.height, &n.tx_id, n.spent_height, &n.spent_by)));
    for (height, tx_id, spent_height, spent_by) in created_and_spent {
        txs.insert((height, tx_id.clone()), ());
        if let (Some(by), Some(h)) = (spent_by, spent_height) {
            txs.insert((h, by.clone()), ());
        }
    }
    let time = |h: Option<u64>| h.and_then(|h| store.block_times.get(&h).copied());
    let mut shown: HashSet<String> = Default::default();
    for ((height, tx_id), ()) in txs {
        let status = SentStatus::Committed;
        if let Some(record) = sent.get(tx_id.as_str()) {
            if shown.insert(record.tx_id.clone()) {
                entries.extend(from_record(store, record, status, Some(height), time(Some(height))));
            }
            continue;
        }
        if !shown.insert(tx_id.clone()) {
            continue;
        }
        let entry = |kind, asset: &str, amount, counterparty, memo: &str, shielded| HistoryEntry {
            tx_id: tx_id.clone(),
            status,
            kind,
            asset: asset.into(),
            amount,
            counterparty,
            memo: memo.into(),
            height: Some(height),
            time_ms: time(Some(height)),
            reason: None,
            shielded,
        };
        let by_this = |by: &Option<String>| by.as_deref() == Some(tx_id.as_str());
        let spent: Vec<_> = store.outputs.iter().filter(|o| by_this(&o.spent_by)).collect();
        let created: Vec<_> = store.outputs.iter().filter(|o| o.tx_id == tx_id).collect();
        let spent_notes: Vec<_> = notes.iter().filter(|n| by_this(&n.spent_by)).collect();
        let created_notes: Vec<_> = notes.iter().filter(|n| n.tx_id == tx_id).collect();
        if spent.is_empty() && spent_notes.is_empty() {
            for o in created {
                let kind = if o.sender.is_none() { EntryKind::Issued } else { EntryKind::Received };
                entries.push(entry(kind, &o.asset, o.amount, o.sender.clone(), &o.memo, false));
            }
            for n in created_notes {
                entries.push(entry(EntryKind::Received, &n.asset, n.value, None, "", true));
            }
            continue;
        }
        // Spent by a transaction this copy of the wallet did not build: show what left, per asset and pool.
        let mut net: BTreeMap<(&str, bool), i128> = BTreeMap::new();
        for o in &spent {
            *net.entry((&o.asset, false)).or_default() += i128::from(o.amount);
        }
        for n in &spent_notes {
            *net.entry((&n.asset, true)).or_default() += i128::from(n.value);
        }
        for o in &created {
            *net.entry((&o.asset, false)).or_default() -= i128::from(o.amount);
        }
        for n in &created_notes {
            *net.entry((&n.asset, true)).or_default() -= i128::from(n.value);
        }
        for ((asset, shielded), n) in net {
            let (kind, amount) = if n >= 0 { (EntryKind::Sent, n) } else { (EntryKind::Received, -n) };
            entries.push(entry(kind, asset, u64::try_from(amount).unwrap_or(u64::MAX), None, "", shielded));
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
    let shielded = s.shielded.is_some();
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
        shielded,
    };
    let mut out = Vec::new();
    for p in &s.public {
        let kind = match p.kind.as_str() {
            "issue" => EntryKind::Issued,
            "burn" => EntryKind::Burned,
            "shield" => EntryKind::Shielded,
            "unshield" => EntryKind::Unshielded,
            _ => EntryKind::Fee,
        };
        out.push(entry(kind, &p.asset, p.amount, None, ""));
    }
    // An issuance's or unshield's payment is the public amount itself; show its recipient on that line instead.
    if s.kind == "issue" || s.kind == "unshield" {
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
