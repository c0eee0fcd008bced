//! # Anti-money-laundering rules over decrypted audit records
//!
//! A regulator decrypts transactions into [`AuditRecord`]s (one per output); this module runs a [`RuleSet`] (parsed
//! from a TOML rule file, see `crates/audit/README.md`) over any list of records and produces [`Alert`]s, which
//! [`report`] turns into JSON, CSV and a self-contained HTML report.
//!
//! ## Amounts
//! Every amount is an exact integer in the asset's base units. The rule file writes amounts as decimal strings in
//! display units (`"50000.00"`); [`ctchain_display::amount::parse_amount`] converts them exactly using the asset's decimals and
//! rejects anything that would need rounding. No floating point touches an amount.
//!
//! ## Windows
//! A window of `W` seconds ending at a record with timestamp `t` (ms) contains the records of the same group whose
//! timestamp `s` satisfies `t - W·1000 < s <= t` (ordered by timestamp, then height, then tx id, then output index).
//! Windows slide record by record (two pointers over a sorted index, `O(n log n)` overall). Overlapping windows that
//! fire are merged into one alert, so a burst raises one alert listing all its transactions, not one per record.
//!
//! ## Pools
//! Records of both pools are judged alike: a shielded transfer (its audit copy decrypted with the shielded pool's key)
//! is a `Transfer` record whose parties are owner tags (hex) instead of addresses, and [`AuditRecord::pool`] says
//! which pool it came from. Transactions whose outputs could not be decrypted are [`NotDecrypted`] entries, which the
//! reports list ([`report::Report::with_not_decrypted`]) since no rule could judge them.
//!
//! ## The rules (only `Transfer` records count, except for the watch-list and memo rules)
//! * **large-value** — a transfer with `amount >= large_value` of its asset alerts.
//! * **structuring** — per (sender, asset): at least `min_count` transfers inside one window, each with
//!   `lower <= amount < large_value`, where `lower = ceil(large_value · lower_percent / 100)`.
//! * **velocity** — per (address, asset, direction) where direction is sending and/or receiving as configured:
//!   a window holding more than `max_count` transfers, or whose amounts sum to more than the asset's `velocity_max_sum`.
//! * **watch-list** — any record (of any kind) whose sender or receiver is listed: an address by its text or its
//!   proven identity (spend key), a customer by the KYC directory's name; the alert carries the reason.
//! * **pass-through** — per (address, asset): a window ending at one of the address's sends, in which the address
//!   received `R > 0` and sent `S` with `S · 100 >= R · min_ratio_percent` and `S >= ` the asset's
//!   `pass_through_min_amount` (so dust does not alert).
//! * **memo-mismatch** — every record whose memo disagreed with a proven field (amount, asset, receiver, sender).
//! * **sender-not-owner** (always on) — a transaction whose proven sender is not the proven receiver of an output it
//!   spends (found among the records judged): an alias identity of the spender.
//!
//! The engine is deterministic: records are sorted by a total order before anything else, and alerts are sorted by
//! (window start, rule, first transaction).

mod engine;
pub mod report;
mod rules;

pub use engine::{run, Alert, RuleId, Severity};
pub use rules::{AssetRule, Direction, PassThroughRule, RuleError, RuleSet, StructuringRule, VelocityRule, WatchEntry};

use serde::{Deserialize, Serialize};

/// What an output did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// Value moved from a sender to a receiver.
    #[default]
    Transfer,
    /// New value issued by an authorised issuer (no sender).
    Issue,
    /// Value destroyed.
    Burn,
    /// A fee paid to the network.
    Fee,
    /// Value returned to its own sender (the memo names the sender as receiver): change, which moves nothing
    /// between parties, so the transfer rules leave it out (as pass-through already did for transfers to oneself).
    Change,
}

impl RecordKind {
    /// The kind as written in reports and JSON (`"transfer"`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Transfer => "transfer",
            RecordKind::Issue => "issue",
            RecordKind::Burn => "burn",
            RecordKind::Fee => "fee",
            RecordKind::Change => "change",
        }
    }
}

/// Which pool an output belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pool {
    /// A confidential output (Pedersen commitment, Ristretto audit handles), including the confidential side of a
    /// shield or unshield. Parties are bech32m addresses.
    #[default]
    Confidential,
    /// A shielded note (Groth16 pool, Baby Jubjub audit ciphertext). Parties are owner tags, hex.
    Shielded,
}

impl Pool {
    /// The pool as written in reports and JSON (`"shielded"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Pool::Confidential => "confidential",
            Pool::Shielded => "shielded",
        }
    }
}

/// One decrypted output, as the regulator's scanner records it.
///
/// **Proven** (by the proofs validators checked): the amount, the asset, the receiver's identity and — where
/// [`AuditRecord::sender_proven`] — the sender's (the owner of the inputs, or the issuer). **Claimed** by the memo,
/// which the sender writes freely: the note, and the address text of a party (its view-key half). A memo field
/// that contradicts a proven one is listed in [`AuditRecord::memo_disagrees`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Transaction id, lower-case hex.
    pub tx_id: String,
    /// Index of the output in its transaction.
    pub output_index: u32,
    /// Height of the block holding the transaction.
    pub height: u64,
    /// Block timestamp, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Asset id, hex.
    pub asset_id: String,
    /// Asset label (`"CNY"`), the key the rule file uses.
    pub asset_label: String,
    /// Decimals of the asset's display unit.
    pub decimals: u8,
    /// Exact amount in base units, recovered from the proven audit handles.
    pub amount: u64,
    /// What the output did.
    pub kind: RecordKind,
    /// The sender: its address when the memo names the proven identity, `identity <hex>` when it does not,
    /// `issuer of <asset label>` for an issuance (its key in `sender_identity`); the memo's claim when [`AuditRecord::sender_proven`] is false; `None` when
    /// nothing names one.
    pub sender: Option<String>,
    /// The receiver, named like the sender (proven for every output).
    pub receiver: String,
    /// Memo text as the sender wrote it (attacker-controlled).
    pub memo: String,
    /// Whether the memo's stated amount agreed with the proven amount (always true for shielded outputs, which have
    /// no audit memo: everything in their audit copy is proven).
    pub memo_matches_amount: bool,
    /// The pool the output is in. Records stored before the shielded pool existed read as confidential.
    #[serde(default)]
    pub pool: Pool,
    /// The sender's proven identity: spend key (or issuer key) hex, or the shielded owner tag.
    #[serde(default)]
    pub sender_identity: Option<String>,
    /// The receiver's proven identity, like the sender's; `None` if it decrypts to no key.
    #[serde(default)]
    pub receiver_identity: Option<String>,
    /// Whether the sender is proven (inputs' owner, issuer, shielded proof) rather than the memo's claim.
    #[serde(default)]
    pub sender_proven: bool,
    /// Whether the receiver is proven.
    #[serde(default)]
    pub receiver_proven: bool,
    /// Memo fields that contradict proven ones: "amount", "asset", "receiver", "sender", "memo unreadable".
    #[serde(default)]
    pub memo_disagrees: Vec<String>,
    /// The customer the regulator's KYC directory names for the sender's identity.
    #[serde(default)]
    pub sender_customer: Option<String>,
    /// The customer the directory names for the receiver's identity.
    #[serde(default)]
    pub receiver_customer: Option<String>,
    /// The member bank that registered the sender's customer.
    #[serde(default)]
    pub sender_bank: Option<String>,
    /// The member bank that registered the receiver's customer.
    #[serde(default)]
    pub receiver_bank: Option<String>,
    /// Whether a KYC directory was consulted: a proven identity without a customer is then unknown to it.
    #[serde(default)]
    pub directory_applied: bool,
    /// This output's id (hex; confidential outputs), which a later transaction's input names.
    #[serde(default)]
    pub output_id: String,
    /// The ids of the outputs the transaction spends (hex), linking its sender to their proven receivers.
    #[serde(default)]
    pub spends: Vec<String>,
}

/// A party as printed: `<name> [<customer @ bank>] (proven)`, or `(memo's claim)` for a sender the proofs do not
/// cover; a proven identity the directory does not know reads `[unknown to the KYC directory]`.
fn party_display(text: &str, customer: Option<&str>, proven: bool) -> String {
    let customer = customer.map(|c| format!(" [{c}]")).unwrap_or_default();
    let mark = if proven { "proven" } else { "memo's claim" };
    format!("{text}{customer} ({mark})")
}

/// A transaction whose outputs the regulator could not decrypt, kept so that no report passes over it in silence:
/// a shielded transaction decrypted with a keystore that has no shielded audit key, or under a split key (which
/// covers the confidential pool only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotDecrypted {
    /// Transaction id, lower-case hex.
    pub tx_id: String,
    /// Height of the block holding it.
    pub height: u64,
    /// Block timestamp, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The pool of the outputs not decrypted.
    pub pool: Pool,
    /// How many outputs were not decrypted.
    pub outputs: u32,
    /// Why.
    pub reason: NotDecryptedReason,
}

/// Why a transaction's outputs were not decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotDecryptedReason {
    /// Shielded outputs, and the keystore holds no shielded (Baby Jubjub) audit key.
    NoShieldedKey,
    /// Shielded outputs, decrypted under an access record whose split has no share of the shielded audit key (a
    /// split made of the confidential key alone).
    #[serde(alias = "split_key")]
    NoShieldedShares,
    /// Confidential outputs of an epoch whose audit key (at this index) is another one: made before the key was
    /// rotated in, or after it was rotated out. The key of their epoch decrypts them.
    OtherAuditKey,
}

impl NotDecryptedReason {
    /// The reason as a supervisor reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            NotDecryptedReason::NoShieldedKey => "not decryptable without the shielded audit key",
            NotDecryptedReason::NoShieldedShares => {
                "not decryptable under this access record: its split has no share of the shielded audit key"
            }
            NotDecryptedReason::OtherAuditKey => {
                "encrypted to the audit key of another epoch (before or after a rotation): decrypt with that key"
            }
        }
    }
}

impl AuditRecord {
    /// The sender as a supervisor reads it: the name, the directory's customer, and whether it is proven.
    pub fn sender_display(&self) -> String {
        match &self.sender {
            None => "-".into(),
            Some(text) => party_display(text, self.customer_text(true).as_deref(), self.sender_proven),
        }
    }

    /// The receiver as a supervisor reads it.
    pub fn receiver_display(&self) -> String {
        party_display(&self.receiver, self.customer_text(false).as_deref(), self.receiver_proven)
    }

    /// What the directory says of the sender (`true`) or the receiver: `customer @ bank`, `unknown to the KYC
    /// directory` for a proven identity it does not list, nothing when no directory was consulted or the party is
    /// not proven.
    pub fn customer_text(&self, sender: bool) -> Option<String> {
        let (customer, bank, proven, identity) = if sender {
            (&self.sender_customer, &self.sender_bank, self.sender_proven, &self.sender_identity)
        } else {
            (&self.receiver_customer, &self.receiver_bank, self.receiver_proven, &self.receiver_identity)
        };
        match (customer, bank) {
            (Some(c), Some(b)) => Some(format!("{c} @ {b}")),
            (Some(c), None) => Some(c.clone()),
            _ if self.directory_applied
                && proven
                && identity.is_some()
                && !(sender && self.kind == RecordKind::Issue) =>
            {
                Some("unknown to the KYC directory".into())
            }
            _ => None,
        }
    }

    /// `""` when the memo agrees with every proven field, otherwise `"  MEMO DISAGREES: <fields>"`.
    pub fn memo_flag(&self) -> String {
        let mut fields: Vec<&str> = self.memo_disagrees.iter().map(String::as_str).collect();
        if !self.memo_matches_amount && !fields.contains(&"amount") && !fields.contains(&"memo unreadable") {
            fields.insert(0, "amount");
        }
        if fields.is_empty() {
            String::new()
        } else {
            format!("  MEMO DISAGREES: {}", fields.join(", "))
        }
    }

    /// The total order the engine sorts by, so that input order never changes the result.
    pub(crate) fn order_key(&self) -> (u64, u64, &str, u32) {
        (self.timestamp_ms, self.height, self.tx_id.as_str(), self.output_index)
    }
}
