//! What the command line prints: one JSON document with `--json`, text for people otherwise. The commands
//! compute; these functions only lay out what they computed.

use std::path::Path;

use ctchain_wallet::chain::ChainInfo;
use ctchain_wallet::history::{Balance, HistoryEntry};
use ctchain_wallet::proof::VerifiedPayment;
use ctchain_wallet::session::{Outcome, Submitted, Synced};
use serde_json::{json, Value};

/// Prints `value` as JSON, or `text()` for people.
pub fn print(json: bool, value: Value, text: impl FnOnce() -> String) {
    if json {
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
    } else {
        println!("{}", text());
    }
}

/// What is known of a submitted transaction.
pub fn submitted(s: &Submitted) -> String {
    let id = &s.tx_id;
    match &s.outcome {
        Outcome::Committed { height } => format!("committed {id} at height {height}"),
        Outcome::Pending => format!("submitted {id} (pending)"),
        Outcome::Unknown { reason } => format!(
            "submitted {id}, outcome unknown: {reason}\nIt may still commit; `sync` will tell (its inputs stay \
             reserved until then, and a sync submits it again if no node knows it)."
        ),
    }
}

/// A new wallet: its address, and the recovery phrase shown this once (none for a view-only wallet).
pub fn new_wallet(path: &Path, address: &str, phrase: Option<&str>, sees_notes: bool) -> String {
    match phrase {
        Some(p) => format!(
            "wallet {} created\naddress: {address}\n\nRecovery phrase (write it down; it is shown only this once):\n{p}",
            path.display()
        ),
        None => format!(
            "view-only wallet {} created\naddress: {address}\nIt sees incoming funds and balances{} but cannot spend.",
            path.display(),
            if sees_notes { " (notes too)" } else { "" }
        ),
    }
}

/// What a sync of both pools found.
pub fn synced(r: &Synced) -> String {
    let c = &r.confidential;
    let mut t = format!(
        "synced to height {}: {} new outputs, {} spent, {} of your transactions committed, {} rejected",
        c.to, c.found, c.spent, c.committed, c.rejected
    );
    if c.bad > 0 {
        t.push_str(&format!(
            "\nwarning: {} outputs addressed to you have memos that do not verify; they are not counted",
            c.bad
        ));
    }
    if let Some(z) = &r.shielded {
        t.push_str(&format!(
            "\nshielded pool: note tree followed to {} leaves (root checked): {} new notes, {} spent, {} of your \
             shielded transactions committed, {} rejected",
            z.to, z.found, z.spent, z.committed, z.rejected
        ));
        if z.bad > 0 {
            t.push_str(&format!(
                "\nwarning: {} notes addressed to you do not open their commitments; they are not counted",
                z.bad
            ));
        }
    }
    t
}

/// One balance table as JSON rows with display amounts.
pub fn balance_rows(chain: &ChainInfo, balances: &[Balance]) -> Vec<Value> {
    balances
        .iter()
        .map(|b| {
            let id = parse_asset(&b.asset);
            let f = |v: u64| id.map(|id| chain.format(&id, v)).unwrap_or_else(|| v.to_string());
            json!({ "asset": b.asset, "label": id.map(|id| chain.label(&id)),
                    "confirmed": f(b.confirmed), "spendable": f(b.spendable), "locked": f(b.locked),
                    "incoming": f(b.incoming), "outputs": b.outputs })
        })
        .collect()
}

/// The balances at `height`, and the shielded pool's (with its note tree's size) when the chain has one.
pub fn balances(height: u64, rows: &[Value], shielded: Option<(u64, &[Value])>) -> String {
    let mut t = format!("at height {height}:\n");
    balance_lines(rows, &mut t);
    if let Some((tree_size, rows)) = shielded {
        t.push_str(&format!("shielded notes (tree of {tree_size} leaves):\n"));
        balance_lines(rows, &mut t);
    }
    t.trim_end().to_owned()
}

fn balance_lines(rows: &[Value], t: &mut String) {
    if rows.is_empty() {
        t.push_str("  no funds\n");
    }
    for r in rows {
        t.push_str(&format!(
            "  {:<8} {:>20} confirmed, {:>20} spendable, {} pending out, {} pending in\n",
            r["label"].as_str().unwrap_or("?"),
            r["confirmed"].as_str().unwrap_or(""),
            r["spendable"].as_str().unwrap_or(""),
            r["locked"].as_str().unwrap_or(""),
            r["incoming"].as_str().unwrap_or("")
        ));
    }
}

/// The history as JSON rows, with asset labels and display amounts.
pub fn history_rows(chain: &ChainInfo, entries: &[HistoryEntry]) -> Vec<Value> {
    entries
        .iter()
        .map(|h| {
            let id = parse_asset(&h.asset);
            let mut v = serde_json::to_value(h).unwrap_or_default();
            v["label"] = json!(id.map(|id| chain.label(&id)));
            v["amount"] = json!(id.map(|id| chain.format(&id, h.amount)).unwrap_or_else(|| h.amount.to_string()));
            v
        })
        .collect()
}

/// The history as a table, one line per transaction.
pub fn history_table(rows: &[Value]) -> String {
    let mut t = String::new();
    for r in rows {
        t.push_str(&format!(
            "{:>6} {:<23} {:<10} {:<10} {:<9} {:>16} {:<6} {} {}{}\n",
            r["height"].as_u64().map(|h| h.to_string()).unwrap_or_else(|| "-".into()),
            r["time_ms"].as_u64().map(ctchain_display::time::utc_text).unwrap_or_default(),
            r["status"].as_str().unwrap_or(""),
            r["kind"].as_str().unwrap_or(""),
            if r["shielded"].as_bool() == Some(true) { "shielded" } else { "" },
            r["amount"].as_str().unwrap_or(""),
            r["label"].as_str().unwrap_or(""),
            r["counterparty"].as_str().unwrap_or("(unknown)"),
            r["memo"].as_str().filter(|m| !m.is_empty()).map(|m| format!("\"{m}\"")).unwrap_or_default(),
            r["reason"].as_str().map(|m| format!(" — {m}")).unwrap_or_default(),
        ));
    }
    if t.is_empty() {
        t.push_str("no transactions");
    }
    t.trim_end().to_owned()
}

/// A payment proof that verified against the chain.
pub fn verified_payment(v: &VerifiedPayment) -> String {
    format!(
        "VALID: output {} of transaction {}\n  paid {} {} to {}\n  in block {} at height {}\n  note: {:?}",
        v.output_index, v.tx_id, v.amount_display, v.asset_label, v.recipient, v.block_hash, v.height, v.memo
    )
}

fn parse_asset(hex_id: &str) -> Option<ctchain_crypto::AssetId> {
    hex::decode(hex_id).ok().and_then(|b| b.try_into().ok()).map(ctchain_crypto::AssetId)
}
