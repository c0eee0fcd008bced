//! The report as data: every type the JSON form holds, and the options that shape it.

use serde::{Deserialize, Serialize};

use super::super::engine::{Alert, RuleId, Severity};
use super::super::rules::{Direction, WatchEntry};
use super::super::{NotDecrypted, Pool, RecordKind};

/// The `format` field of every report this version writes; [`Report::from_json`] refuses any other.
pub const REPORT_FORMAT: &str = "ctchain-aml-report/1";

/// Choices that change a report's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportOptions {
    /// Heading of the report (data: escaped like everything else).
    pub title: String,
    /// When the report was made, ms since the Unix epoch; `None` leaves it out, so that reports are reproducible.
    pub generated_at_ms: Option<u64>,
    /// Width of a flow bucket in ms; `None` chooses the smallest of 1 min, 5 min, 15 min, 1 h, 3 h, 6 h, 12 h, 1 day,
    /// 7 days (or more whole days) that gives at most [`AUTO_MAX_BUCKETS`](super::AUTO_MAX_BUCKETS) buckets.
    pub bucket_ms: Option<u64>,
    /// How many counterparties per asset the report ranks.
    pub top_counterparties: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            title: "Suspicious-transaction report".into(),
            generated_at_ms: None,
            bucket_ms: None,
            top_counterparties: 10,
        }
    }
}

/// A suspicious-transaction report: what the rules found, the transactions they name, and the context (flows, top
/// counterparties, rules in force) a supervisor needs to judge them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_FORMAT`].
    pub format: String,
    /// Heading.
    pub title: String,
    /// When it was made, if the caller said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_at_ms: Option<u64>,
    /// Earliest and latest record; `None` when there were no records.
    pub period: Option<Period>,
    /// How many records the rules ran over.
    pub record_count: u64,
    /// The rule set the alerts come from.
    pub rules: RulesInForce,
    /// Alert count of every rule, in [`RuleId::ALL`] order, zeros included.
    pub alerts_by_rule: Vec<RuleCount>,
    /// Every alert, in the engine's order, numbered `A0001`, `A0002`, ...
    pub alerts: Vec<ReportAlert>,
    /// Every record of every transaction an alert names, in time order.
    pub transactions: Vec<ReportTransaction>,
    /// Transfer sums per asset per time bucket.
    pub flows: Flows,
    /// Addresses with the largest transfer volume, per asset.
    pub top_counterparties: Vec<AssetCounterparties>,
    /// Transactions in the period whose outputs were not decrypted (and so not judged by the rules), in chain
    /// order: see [`Report::with_not_decrypted`].
    #[serde(default)]
    pub not_decrypted: Vec<NotDecrypted>,
}

/// A time range, inclusive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// First timestamp, ms.
    pub start_ms: u64,
    /// Last timestamp, ms.
    pub end_ms: u64,
    /// `start_ms` as ISO 8601 UTC.
    pub start_utc: String,
    /// `end_ms` as ISO 8601 UTC.
    pub end_utc: String,
}

/// The rule set, with amounts in display units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesInForce {
    /// Per-asset parameters, by label.
    pub assets: Vec<AssetRulesInForce>,
    /// Structuring, if enabled.
    pub structuring: Option<StructuringInForce>,
    /// Velocity, if enabled.
    pub velocity: Option<VelocityInForce>,
    /// Pass-through, if enabled.
    pub pass_through: Option<PassThroughInForce>,
    /// Watch-listed addresses.
    pub watch: Vec<WatchEntry>,
    /// Whether memo mismatches alert.
    pub memo_mismatch: bool,
}

/// One asset's parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetRulesInForce {
    /// Label.
    pub label: String,
    /// Decimals.
    pub decimals: u8,
    /// Large-value threshold, display units.
    pub large_value: Option<String>,
    /// Velocity sum limit, display units.
    pub velocity_max_sum: Option<String>,
    /// Smallest pass-through amount reported, display units.
    pub pass_through_min_amount: String,
}

/// Structuring parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StructuringInForce {
    /// Fewest qualifying transfers that alert.
    pub min_count: u64,
    /// Window, seconds.
    pub window_seconds: u64,
    /// Lower bound of "just below", percent of the threshold.
    pub lower_percent: u8,
}

/// Velocity parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VelocityInForce {
    /// Window, seconds.
    pub window_seconds: u64,
    /// More transfers than this alert.
    pub max_count: u64,
    /// Which side counts.
    pub direction: Direction,
}

/// Pass-through parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassThroughInForce {
    /// Window, seconds.
    pub window_seconds: u64,
    /// Share sent on that alerts, percent.
    pub min_ratio_percent: u8,
}

/// How many alerts one rule raised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCount {
    /// The rule.
    pub rule: RuleId,
    /// Its alerts.
    pub count: u64,
}

/// An [`Alert`] as reported: numbered, with times in UTC and the amount as a decimal string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportAlert {
    /// `A0001`, ... in report order; the CSV and HTML use the same ids.
    pub id: String,
    /// The rule.
    pub rule: RuleId,
    /// Its severity.
    pub severity: Severity,
    /// Asset label.
    pub asset: String,
    /// Decimals of the display amounts.
    pub decimals: u8,
    /// Sum of the triggering amounts, base units.
    #[serde(with = "decimal_string")]
    pub total_amount: u128,
    /// The same in display units, as the engine wrote it.
    pub total_display: String,
    /// Addresses involved, the one the rule is about first.
    pub addresses: Vec<String>,
    /// Triggering transactions, in time order.
    pub tx_ids: Vec<String>,
    /// Their heights, parallel to `tx_ids`.
    pub heights: Vec<u64>,
    /// First triggering record, ms.
    pub window_start_ms: u64,
    /// Last triggering record, ms.
    pub window_end_ms: u64,
    /// `window_start_ms` as ISO 8601 UTC.
    pub window_start_utc: String,
    /// `window_end_ms` as ISO 8601 UTC.
    pub window_end_utc: String,
    /// The engine's explanation.
    pub explanation: String,
}

impl From<&ReportAlert> for Alert {
    /// The engine's alert back, exactly: the report adds to an alert but drops nothing.
    fn from(alert: &ReportAlert) -> Self {
        Alert {
            rule: alert.rule,
            severity: alert.severity,
            addresses: alert.addresses.clone(),
            asset: alert.asset.clone(),
            decimals: alert.decimals,
            total_amount: alert.total_amount,
            total_display: alert.total_display.clone(),
            tx_ids: alert.tx_ids.clone(),
            heights: alert.heights.clone(),
            window_start_ms: alert.window_start_ms,
            window_end_ms: alert.window_end_ms,
            explanation: alert.explanation.clone(),
        }
    }
}

/// One record of a transaction an alert names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportTransaction {
    /// Transaction id.
    pub tx_id: String,
    /// Output index.
    pub output_index: u32,
    /// Block height.
    pub height: u64,
    /// Block time, ms.
    pub timestamp_ms: u64,
    /// Block time, ISO 8601 UTC.
    pub time_utc: String,
    /// What the output did.
    pub kind: RecordKind,
    /// Asset label.
    pub asset: String,
    /// Amount, base units.
    #[serde(with = "decimal_string")]
    pub amount: u64,
    /// Amount, display units.
    pub amount_display: String,
    /// Sender, if any.
    pub sender: Option<String>,
    /// Receiver.
    pub receiver: String,
    /// Memo as the sender wrote it.
    pub memo: String,
    /// Whether the memo agreed with the proven amount.
    pub memo_matches_amount: bool,
    /// The pool of the output.
    #[serde(default)]
    pub pool: Pool,
    /// Whether the sender is proven (the receiver, amount and asset always are); otherwise it is the memo's claim.
    #[serde(default)]
    pub sender_proven: bool,
    /// The KYC directory's customer for the sender, if the directory knows its identity.
    #[serde(default)]
    pub sender_customer: Option<String>,
    /// The directory's customer for the receiver.
    #[serde(default)]
    pub receiver_customer: Option<String>,
    /// Memo fields that contradict proven ones.
    #[serde(default)]
    pub memo_disagrees: Vec<String>,
    /// Ids of the alerts naming this transaction.
    pub alert_ids: Vec<String>,
}

/// Transfer sums over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flows {
    /// Bucket width, ms. Buckets start at multiples of it since the Unix epoch.
    pub bucket_ms: u64,
    /// One series per asset, by label.
    pub assets: Vec<AssetFlows>,
}

/// One asset's flow series: every bucket from the first transfer's to the last's, empty ones included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetFlows {
    /// Asset label.
    pub asset: String,
    /// Decimals of the display amounts.
    pub decimals: u8,
    /// The buckets, in time order.
    pub buckets: Vec<FlowBucket>,
}

/// Transfers of one asset in one bucket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowBucket {
    /// Bucket start, ms.
    pub start_ms: u64,
    /// Bucket start, ISO 8601 UTC.
    pub start_utc: String,
    /// Transfers in the bucket.
    pub transfer_count: u64,
    /// Their sum, base units.
    #[serde(with = "decimal_string")]
    pub total_amount: u128,
    /// Their sum, display units.
    pub total_display: String,
}

/// One asset's counterparties by volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetCounterparties {
    /// Asset label.
    pub asset: String,
    /// Decimals of the display amounts.
    pub decimals: u8,
    /// Largest volume first; ties by address.
    pub parties: Vec<Counterparty>,
}

/// An address's transfers of one asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counterparty {
    /// The address.
    pub address: String,
    /// Sum sent, base units.
    #[serde(with = "decimal_string")]
    pub sent: u128,
    /// Sum sent, display units.
    pub sent_display: String,
    /// Sum received, base units.
    #[serde(with = "decimal_string")]
    pub received: u128,
    /// Sum received, display units.
    pub received_display: String,
    /// `sent + received`, base units.
    #[serde(with = "decimal_string")]
    pub volume: u128,
    /// `sent + received`, display units.
    pub volume_display: String,
    /// Transfers it took part in.
    pub transfer_count: u64,
    /// Alerts of this asset that name it.
    pub alert_count: u64,
}

/// Amounts as JSON strings of decimal digits: exact for any consumer, including those whose numbers are doubles.
mod decimal_string {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<T: Display, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub fn deserialize<'de, T: FromStr, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        let text = String::deserialize(deserializer)?;
        // `FromStr` for integers accepts a leading `+`; an amount is digits only.
        if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(D::Error::custom(format!("amount {text:?} is not a string of decimal digits")));
        }
        text.parse().map_err(|_| D::Error::custom(format!("amount {text:?} is out of range")))
    }
}
