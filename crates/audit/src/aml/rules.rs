//! The rule file: TOML in, a validated [`RuleSet`] out, every error naming the field at fault.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use ctchain_display::amount::{parse_amount, AmountError};

/// Why a rule file was refused. `field` is the TOML path of the offending value.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RuleError {
    /// Not TOML, an unknown rule or key, or a value of the wrong type.
    #[error("rule file is not valid: {0}")]
    Syntax(String),
    /// A rule names an asset the `[[asset]]` list does not declare.
    #[error("{field}: unknown asset label {label:?} (declare it in an [[asset]] entry)")]
    UnknownAsset {
        /// Where.
        field: String,
        /// The label.
        label: String,
    },
    /// The same asset label declared twice.
    #[error("asset[{index}].label: asset {label:?} is declared twice")]
    DuplicateAsset {
        /// Position in the list.
        index: usize,
        /// The label.
        label: String,
    },
    /// An amount that is not an exact decimal in the asset's units.
    #[error("{field}: {source}")]
    BadAmount {
        /// Where.
        field: String,
        /// What is wrong with it.
        source: AmountError,
    },
    /// A number outside its allowed range (zero or negative window, percentage above 100, ...).
    #[error("{field}: {reason}")]
    OutOfRange {
        /// Where.
        field: String,
        /// The allowed range.
        reason: String,
    },
}

/// Which side of a transfer the velocity rule counts for an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Transfers the address sent.
    Sending,
    /// Transfers the address received.
    Receiving,
    /// Both, counted separately (sending windows and receiving windows).
    Both,
}

impl Direction {
    /// The direction as the rule file writes it (`"sending"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Sending => "sending",
            Direction::Receiving => "receiving",
            Direction::Both => "both",
        }
    }
}

/// Per-asset parameters, in base units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetRule {
    /// Decimals of the display unit.
    pub decimals: u8,
    /// Large-value threshold; `None` disables large-value and structuring for the asset.
    pub large_value: Option<u64>,
    /// Velocity sum limit; `None` means only the count limit applies.
    pub velocity_max_sum: Option<u64>,
    /// Smallest amount sent on that the pass-through rule reports.
    pub pass_through_min_amount: u64,
}

/// Structuring parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructuringRule {
    /// Fewest qualifying transfers in one window that alert.
    pub min_count: usize,
    /// Window length, milliseconds.
    pub window_ms: u64,
    /// A transfer qualifies from this percentage of the large-value threshold (rounded up) to just below it.
    pub lower_percent: u8,
}

/// Velocity parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VelocityRule {
    /// Window length, milliseconds.
    pub window_ms: u64,
    /// More transfers than this in one window alert.
    pub max_count: usize,
    /// Which side of transfers counts.
    pub direction: Direction,
}

/// Rapid pass-through parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassThroughRule {
    /// Window length, milliseconds.
    pub window_ms: u64,
    /// Sent on at least this percentage of what was received in the window alerts.
    pub min_ratio_percent: u8,
}

/// One watch-listed party: an address or a customer of the KYC directory.
///
/// An address matches a record by its text or by its identity (spend key): a memo that names another address
/// does not hide the proven party.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchEntry {
    /// The address (bech32m text; other text matches as it is).
    #[serde(default)]
    pub address: Option<String>,
    /// A customer name, as the KYC directory writes it.
    #[serde(default)]
    pub customer: Option<String>,
    /// Why it is listed; copied into every alert.
    pub reason: String,
}

impl WatchEntry {
    /// The identity (spend key hex) of the listed address, if it is an address.
    pub fn identity(&self) -> Option<String> {
        let address = ctchain_keystore::address::decode_any_address(self.address.as_deref()?).ok()?;
        Some(hex::encode(address.spend.as_bytes()))
    }
}

/// A validated rule file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSet {
    /// Per-asset parameters by label. Records of undeclared assets only meet the watch-list and memo rules.
    pub assets: BTreeMap<String, AssetRule>,
    /// Structuring, if enabled.
    pub structuring: Option<StructuringRule>,
    /// Velocity, if enabled.
    pub velocity: Option<VelocityRule>,
    /// Pass-through, if enabled.
    pub pass_through: Option<PassThroughRule>,
    /// Watch-listed addresses.
    pub watch: Vec<WatchEntry>,
    /// Whether memo mismatches alert (default true).
    pub memo_mismatch: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    asset: Vec<RawAsset>,
    #[serde(default)]
    large_value: BTreeMap<String, String>,
    structuring: Option<RawStructuring>,
    velocity: Option<RawVelocity>,
    pass_through: Option<RawPassThrough>,
    #[serde(default)]
    watch: Vec<WatchEntry>,
    memo_mismatch: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAsset {
    label: String,
    decimals: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStructuring {
    min_count: i64,
    window_seconds: i64,
    lower_percent: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVelocity {
    window_seconds: i64,
    max_count: i64,
    direction: Direction,
    #[serde(default)]
    max_sum: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPassThrough {
    window_seconds: i64,
    min_ratio_percent: i64,
    #[serde(default)]
    min_amount: BTreeMap<String, String>,
}

fn in_range(value: i64, low: i64, high: i64, field: &str) -> Result<i64, RuleError> {
    if value < low || value > high {
        return Err(RuleError::OutOfRange {
            field: field.to_owned(),
            reason: format!("{value} is not in {low}..={high}"),
        });
    }
    Ok(value)
}

fn window_ms(seconds: i64, field: &str) -> Result<u64, RuleError> {
    if seconds <= 0 {
        return Err(RuleError::OutOfRange {
            field: field.to_owned(),
            reason: format!("window must be a positive number of seconds, not {seconds}"),
        });
    }
    // Ten years is far beyond any AML window and keeps millisecond arithmetic far from overflow.
    let seconds = in_range(seconds, 1, 10 * 366 * 86_400, field)?;
    Ok(seconds.unsigned_abs() * 1000)
}

impl RuleSet {
    /// Parses and validates a TOML rule file.
    pub fn from_toml(text: &str) -> Result<Self, RuleError> {
        let raw: RawFile = toml::from_str(text).map_err(|error| RuleError::Syntax(error.to_string()))?;
        let mut assets = BTreeMap::new();
        for (index, asset) in raw.asset.iter().enumerate() {
            let decimals = in_range(asset.decimals, 0, 18, &format!("asset[{index}].decimals"))?;
            let rule = AssetRule {
                decimals: u8::try_from(decimals).unwrap_or(18),
                large_value: None,
                velocity_max_sum: None,
                pass_through_min_amount: 0,
            };
            if assets.insert(asset.label.clone(), rule).is_some() {
                return Err(RuleError::DuplicateAsset { index, label: asset.label.clone() });
            }
        }
        // Resolves `table.LABEL = "amount"` entries against the declared assets.
        let amounts = |table: &BTreeMap<String, String>, prefix: &str| -> Result<Vec<(String, u64)>, RuleError> {
            let mut resolved = Vec::new();
            for (label, text) in table {
                let field = format!("{prefix}.{label}");
                let asset: &AssetRule = assets
                    .get(label)
                    .ok_or_else(|| RuleError::UnknownAsset { field: field.clone(), label: label.clone() })?;
                let units = parse_amount(text, asset.decimals)
                    .map_err(|source| RuleError::BadAmount { field: field.clone(), source })?;
                resolved.push((label.clone(), units));
            }
            Ok(resolved)
        };
        let large_values = amounts(&raw.large_value, "large_value")?;
        let velocity_sums = match &raw.velocity {
            Some(velocity) => amounts(&velocity.max_sum, "velocity.max_sum")?,
            None => Vec::new(),
        };
        let pass_minimums = match &raw.pass_through {
            Some(pass) => amounts(&pass.min_amount, "pass_through.min_amount")?,
            None => Vec::new(),
        };
        for (label, units) in large_values {
            if units == 0 {
                return Err(RuleError::OutOfRange {
                    field: format!("large_value.{label}"),
                    reason: "threshold must be above zero".into(),
                });
            }
            if let Some(asset) = assets.get_mut(&label) {
                asset.large_value = Some(units);
            }
        }
        for (label, units) in velocity_sums {
            if let Some(asset) = assets.get_mut(&label) {
                asset.velocity_max_sum = Some(units);
            }
        }
        for (label, units) in pass_minimums {
            if let Some(asset) = assets.get_mut(&label) {
                asset.pass_through_min_amount = units;
            }
        }

        let structuring = match raw.structuring {
            Some(rule) => Some(StructuringRule {
                min_count: in_range(rule.min_count, 2, 1_000_000, "structuring.min_count")?.unsigned_abs() as usize,
                window_ms: window_ms(rule.window_seconds, "structuring.window_seconds")?,
                lower_percent: in_range(rule.lower_percent, 1, 99, "structuring.lower_percent")?.unsigned_abs() as u8,
            }),
            None => None,
        };
        let velocity = match raw.velocity {
            Some(rule) => Some(VelocityRule {
                window_ms: window_ms(rule.window_seconds, "velocity.window_seconds")?,
                max_count: in_range(rule.max_count, 1, 1_000_000_000, "velocity.max_count")?.unsigned_abs() as usize,
                direction: rule.direction,
            }),
            None => None,
        };
        let pass_through = match raw.pass_through {
            Some(rule) => Some(PassThroughRule {
                window_ms: window_ms(rule.window_seconds, "pass_through.window_seconds")?,
                min_ratio_percent: in_range(rule.min_ratio_percent, 1, 100, "pass_through.min_ratio_percent")?
                    .unsigned_abs() as u8,
            }),
            None => None,
        };
        let mut seen = BTreeSet::new();
        for (index, entry) in raw.watch.iter().enumerate() {
            let (field, value) = match (&entry.address, &entry.customer) {
                (Some(address), None) => ("address", address),
                (None, Some(customer)) => ("customer", customer),
                _ => {
                    return Err(RuleError::OutOfRange {
                        field: format!("watch[{index}]"),
                        reason: "give exactly one of address and customer".into(),
                    })
                }
            };
            if value.trim().is_empty() {
                return Err(RuleError::OutOfRange {
                    field: format!("watch[{index}].{field}"),
                    reason: format!("{field} is empty"),
                });
            }
            if !seen.insert((field, value.as_str())) {
                return Err(RuleError::OutOfRange {
                    field: format!("watch[{index}].{field}"),
                    reason: format!("{field} {value:?} is listed twice"),
                });
            }
        }
        Ok(RuleSet {
            assets,
            structuring,
            velocity,
            pass_through,
            watch: raw.watch,
            memo_mismatch: raw.memo_mismatch.unwrap_or(true),
        })
    }
}
