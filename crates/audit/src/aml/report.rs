//! Suspicious-transaction reports from one run of the rules: JSON, CSV and a self-contained HTML page.
//!
//! [`Report::new`] gathers everything a supervisor needs from the records, the alerts and the rule set into one owned
//! value; the three formats are renderings of that value, so a report read back from its JSON
//! ([`Report::from_json`]) renders the same CSV and HTML byte for byte.
//!
//! * **JSON** ([`Report::to_json`]) is the exact, machine-readable form. Field names are stable (format
//!   [`REPORT_FORMAT`]); every amount is a string of decimal digits in base units (`"5000000"`) next to its display
//!   form as the engine writes it (`"50,000.00"`), so no consumer's floating point can round a figure.
//! * **CSV** ([`Report::to_csv`]) has one row per alert, RFC 4180 quoting, CRLF line ends. Cells that a spreadsheet
//!   would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) get a leading `'`: memos and addresses are
//!   written by senders, and a supervisor opening the file must not execute them.
//! * **HTML** ([`Report::to_html`]) is one file with inline SVG charts (flows over time, top counterparties, alerts
//!   by rule) and the tables of alerts and transactions. It loads nothing and runs no script; its Content Security
//!   Policy forbids both, as a second line behind the escaping of every data string.
//!
//! Reports are deterministic: the same records, alerts, rules and options give identical bytes in every format.
//! Nothing reads the clock; a caller that wants a generation time passes it in [`ReportOptions::generated_at_ms`].
//!
//! [`Report::write_dir`] writes the three files so that each is either complete or absent: each is written to a
//! temporary file in the same directory, flushed to disk, then renamed (or hard-linked, when existing files must not
//! be replaced) into place.

mod csv;
mod html;
mod svg;

pub use csv::COLUMNS as CSV_COLUMNS;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::amount::format_display_amount;
use super::engine::{Alert, RuleId, Severity};
use super::rules::{Direction, RuleSet, WatchEntry};
use super::{AuditRecord, NotDecrypted, Pool, RecordKind};

/// The `format` field of every report this version writes; [`Report::from_json`] refuses any other.
pub const REPORT_FORMAT: &str = "ctchain-aml-report/1";

/// File names [`Report::write_dir`] uses.
pub const JSON_FILE_NAME: &str = "aml-report.json";
/// See [`JSON_FILE_NAME`].
pub const CSV_FILE_NAME: &str = "aml-report.csv";
/// See [`JSON_FILE_NAME`].
pub const HTML_FILE_NAME: &str = "aml-report.html";

/// At most this many buckets when the bucket size is chosen automatically: enough to see a pattern, few enough
/// that every bar stays wider than a pixel or two on a page.
pub const AUTO_MAX_BUCKETS: u64 = 48;

/// At most this many buckets when the caller fixes the bucket size, so that a one-second bucket over a year of
/// records is an error rather than millions of SVG elements.
pub const MAX_BUCKETS: u64 = 5_000;

const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;

/// Bucket sizes tried in order when none is given; past the last, whole days are used.
const BUCKET_LADDER_MS: [u64; 9] =
    [MINUTE_MS, 5 * MINUTE_MS, 15 * MINUTE_MS, HOUR_MS, 3 * HOUR_MS, 6 * HOUR_MS, 12 * HOUR_MS, DAY_MS, 7 * DAY_MS];

/// Why a report could not be built, read or written.
#[derive(Debug, Error)]
pub enum ReportError {
    /// Two sources disagree on an asset's decimals, so amounts of that asset cannot be shown unambiguously.
    #[error(
        "asset {asset:?}: transaction {tx_id} says {found} decimals but {expected_from} says {expected}; amounts \
         would be shown off by a power of ten"
    )]
    DecimalsDisagree {
        /// Asset label.
        asset: String,
        /// Decimals the report uses for the asset.
        expected: u8,
        /// Where `expected` comes from: `"the rule file"` or the first record's transaction id.
        expected_from: String,
        /// The record that disagrees.
        tx_id: String,
        /// Its decimals.
        found: u8,
    },
    /// A bucket size of zero.
    #[error("the flow bucket size must be at least one millisecond")]
    ZeroBucket,
    /// The chosen bucket size cuts the period into more than [`MAX_BUCKETS`] buckets.
    #[error("a bucket of {bucket_ms} ms cuts the period into {count} buckets; at most {max} are allowed")]
    TooManyBuckets {
        /// The bucket size asked for.
        bucket_ms: u64,
        /// How many buckets it gives.
        count: u64,
        /// [`MAX_BUCKETS`].
        max: u64,
    },
    /// JSON that is not a report, or an amount field that is not a plain decimal string.
    #[error("report JSON is not valid: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON of another report format or version.
    #[error("report format {found:?} is not supported (expected {expected:?})")]
    UnsupportedFormat {
        /// The `format` field found.
        found: String,
        /// [`REPORT_FORMAT`].
        expected: &'static str,
    },
    /// A report file is already there and replacing was not asked for. Nothing was written.
    #[error("{}: already exists; nothing was written (ask to overwrite to replace it)", path.display())]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// A file-system operation failed. No half-written report file is left behind.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Choices that change a report's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportOptions {
    /// Heading of the report (data: escaped like everything else).
    pub title: String,
    /// When the report was made, ms since the Unix epoch; `None` leaves it out, so that reports are reproducible.
    pub generated_at_ms: Option<u64>,
    /// Width of a flow bucket in ms; `None` chooses the smallest of 1 min, 5 min, 15 min, 1 h, 3 h, 6 h, 12 h, 1 day,
    /// 7 days (or more whole days) that gives at most [`AUTO_MAX_BUCKETS`] buckets.
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

/// How [`Report::write_dir`] treats report files already in the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse ([`ReportError::AlreadyExists`]) and write nothing if any of the three files exists.
    Refuse,
    /// Replace existing files, each atomically.
    Replace,
}

/// Where [`Report::write_dir`] put the files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportFiles {
    /// The JSON report.
    pub json: PathBuf,
    /// The CSV report.
    pub csv: PathBuf,
    /// The HTML report.
    pub html: PathBuf,
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

impl Report {
    /// Builds a report with [`ReportOptions::default`].
    pub fn new(records: &[AuditRecord], alerts: &[Alert], rules: &RuleSet) -> Result<Self, ReportError> {
        Self::with_options(records, alerts, rules, &ReportOptions::default())
    }

    /// Builds a report. `alerts` should be what [`run`](super::run) gave for `records` and `rules`; alerts naming
    /// transactions missing from `records` are reported without their transaction details.
    pub fn with_options(
        records: &[AuditRecord],
        alerts: &[Alert],
        rules: &RuleSet,
        options: &ReportOptions,
    ) -> Result<Self, ReportError> {
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by(|&a, &b| records[a].order_key().cmp(&records[b].order_key()));
        let decimals = asset_decimals(records, &order, rules)?;
        let period = match (order.first(), order.last()) {
            (Some(&first), Some(&last)) => Some(period(records[first].timestamp_ms, records[last].timestamp_ms)),
            _ => None,
        };
        let alerts: Vec<ReportAlert> =
            alerts.iter().enumerate().map(|(index, alert)| report_alert(index, alert)).collect();
        let alerts_by_rule = RuleId::ALL
            .iter()
            .map(|&rule| RuleCount { rule, count: alerts.iter().filter(|alert| alert.rule == rule).count() as u64 })
            .collect();
        Ok(Report {
            format: REPORT_FORMAT.to_owned(),
            title: options.title.clone(),
            generated_at_ms: options.generated_at_ms,
            period,
            record_count: records.len() as u64,
            rules: rules_in_force(rules),
            alerts_by_rule,
            transactions: transactions(records, &order, &alerts, &decimals),
            flows: flows(records, &order, &decimals, options.bucket_ms)?,
            top_counterparties: top_counterparties(records, &order, &alerts, &decimals, options.top_counterparties),
            alerts,
            not_decrypted: Vec::new(),
        })
    }

    /// The report, listing `not_decrypted`: transactions the rules could not judge because their outputs were not
    /// decrypted (shielded ones without the shielded audit key, or under a split key). The HTML page warns of them
    /// at its top; a report never passes over them in silence.
    pub fn with_not_decrypted(mut self, not_decrypted: &[NotDecrypted]) -> Self {
        self.not_decrypted = not_decrypted.to_vec();
        self
    }

    /// Pretty-printed JSON, ending in a newline.
    pub fn to_json(&self) -> Result<String, ReportError> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(text)
    }

    /// Reads a report back from [`Report::to_json`] output.
    pub fn from_json(text: &str) -> Result<Self, ReportError> {
        let report: Report = serde_json::from_str(text)?;
        if report.format != REPORT_FORMAT {
            return Err(ReportError::UnsupportedFormat { found: report.format, expected: REPORT_FORMAT });
        }
        Ok(report)
    }

    /// One CSV row per alert (see the module docs for quoting; the columns are [`CSV_COLUMNS`]).
    pub fn to_csv(&self) -> String {
        csv::render(self)
    }

    /// The self-contained HTML report.
    pub fn to_html(&self) -> String {
        html::render(self)
    }

    /// Writes `aml-report.json`, `.csv` and `.html` into `dir` (created if missing).
    ///
    /// Each file is either complete or absent, never half-written: it is written to a temporary file in `dir`,
    /// flushed to disk, and only then moved into place. With [`Overwrite::Refuse`], an existing file of any of the
    /// three names stops the call before anything is written, and a file that appears while writing is not replaced
    /// (the move is a hard link, which cannot clobber); files this call already placed are then removed again.
    pub fn write_dir(&self, dir: &Path, overwrite: Overwrite) -> Result<ReportFiles, ReportError> {
        // Render everything first, so that no failure can come after some files are in place.
        let contents =
            [(JSON_FILE_NAME, self.to_json()?), (CSV_FILE_NAME, self.to_csv()), (HTML_FILE_NAME, self.to_html())];
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let files = ReportFiles {
            json: dir.join(JSON_FILE_NAME),
            csv: dir.join(CSV_FILE_NAME),
            html: dir.join(HTML_FILE_NAME),
        };
        if overwrite == Overwrite::Refuse {
            for path in [&files.json, &files.csv, &files.html] {
                // symlink_metadata: a dangling link is still a name we would clobber.
                if fs::symlink_metadata(path).is_ok() {
                    return Err(ReportError::AlreadyExists { path: path.clone() });
                }
            }
        }
        let mut placed: Vec<PathBuf> = Vec::new();
        for (name, text) in &contents {
            let target = dir.join(name);
            if let Err(error) = place_atomically(dir, name, &target, text.as_bytes(), overwrite) {
                if overwrite == Overwrite::Refuse {
                    // Everything in `placed` was created by this call (a hard link cannot replace a file), so
                    // removing it restores the directory as it was: all three reports or none.
                    for path in &placed {
                        let _ = fs::remove_file(path);
                    }
                }
                return Err(error);
            }
            placed.push(target);
        }
        sync_dir(dir)?;
        Ok(files)
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ReportError + '_ {
    move |source| ReportError::Io { path: path.to_owned(), source }
}

/// A temporary file that removes itself unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Distinguishes temporary files of concurrent writers in one process; the pid distinguishes processes.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn create_temp(dir: &Path, name: &str) -> Result<(TempFile, File), ReportError> {
    let mut last_error = None;
    // `create_new` never opens someone else's file; a name left by a crashed writer is skipped, not reused.
    for _ in 0..16 {
        let serial = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".{name}.{}.{serial}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((TempFile { path, keep: false }, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => last_error = Some((path, error)),
            Err(source) => return Err(ReportError::Io { path, source }),
        }
    }
    let (path, source) = last_error.unwrap_or_else(|| (dir.to_owned(), io::Error::other("no temporary name free")));
    Err(ReportError::Io { path, source })
}

fn place_atomically(
    dir: &Path,
    name: &str,
    target: &Path,
    bytes: &[u8],
    overwrite: Overwrite,
) -> Result<(), ReportError> {
    let (mut temp, mut file) = create_temp(dir, name)?;
    file.write_all(bytes).map_err(io_error(&temp.path))?;
    // The data must be on disk before the name points at it, or a crash could publish an empty file.
    file.sync_all().map_err(io_error(&temp.path))?;
    drop(file);
    match overwrite {
        Overwrite::Replace => {
            fs::rename(&temp.path, target).map_err(io_error(target))?;
            temp.keep = true;
        }
        Overwrite::Refuse => match fs::hard_link(&temp.path, target) {
            // The temporary name is dropped (and removed) below; the target keeps the data.
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                return Err(ReportError::AlreadyExists { path: target.to_owned() });
            }
            // File systems without hard links: check, then rename. A file created between the two would be
            // replaced; the check above already refused every file present when the call began.
            Err(_) => {
                if fs::symlink_metadata(target).is_ok() {
                    return Err(ReportError::AlreadyExists { path: target.to_owned() });
                }
                fs::rename(&temp.path, target).map_err(io_error(target))?;
                temp.keep = true;
            }
        },
    }
    Ok(())
}

/// Makes the renames themselves durable: a directory entry is only safe once the directory is flushed.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), ReportError> {
    File::open(dir).and_then(|handle| handle.sync_all()).map_err(io_error(dir))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), ReportError> {
    // Directories cannot be opened as files here; the platform orders metadata updates itself.
    Ok(())
}

/// Decimals by asset label: the rule file's where it declares the asset, else the first record's. A record that
/// disagrees is an error, because its amounts would be shown wrongly (and the rules' thresholds misapplied).
fn asset_decimals(
    records: &[AuditRecord],
    order: &[usize],
    rules: &RuleSet,
) -> Result<BTreeMap<String, u8>, ReportError> {
    let mut decimals: BTreeMap<String, (u8, String)> = rules
        .assets
        .iter()
        .map(|(label, asset)| (label.clone(), (asset.decimals, "the rule file".to_owned())))
        .collect();
    for &index in order {
        let record = &records[index];
        match decimals.get(&record.asset_label) {
            Some((expected, source)) if *expected != record.decimals => {
                return Err(ReportError::DecimalsDisagree {
                    asset: record.asset_label.clone(),
                    expected: *expected,
                    expected_from: source.clone(),
                    tx_id: record.tx_id.clone(),
                    found: record.decimals,
                });
            }
            Some(_) => {}
            None => {
                let source = format!("transaction {}", record.tx_id);
                decimals.insert(record.asset_label.clone(), (record.decimals, source));
            }
        }
    }
    Ok(decimals.into_iter().map(|(label, (value, _))| (label, value)).collect())
}

fn period(start_ms: u64, end_ms: u64) -> Period {
    Period { start_ms, end_ms, start_utc: utc_text(start_ms), end_utc: utc_text(end_ms) }
}

fn report_alert(index: usize, alert: &Alert) -> ReportAlert {
    ReportAlert {
        id: alert_id(index),
        rule: alert.rule,
        severity: alert.severity,
        asset: alert.asset.clone(),
        decimals: alert.decimals,
        total_amount: alert.total_amount,
        total_display: alert.total_display.clone(),
        addresses: alert.addresses.clone(),
        tx_ids: alert.tx_ids.clone(),
        heights: alert.heights.clone(),
        window_start_ms: alert.window_start_ms,
        window_end_ms: alert.window_end_ms,
        window_start_utc: utc_text(alert.window_start_ms),
        window_end_utc: utc_text(alert.window_end_ms),
        explanation: alert.explanation.clone(),
    }
}

fn alert_id(index: usize) -> String {
    format!("A{:04}", index + 1)
}

fn rules_in_force(rules: &RuleSet) -> RulesInForce {
    let display = |units: u64, decimals: u8| format_display_amount(units.into(), decimals);
    RulesInForce {
        assets: rules
            .assets
            .iter()
            .map(|(label, asset)| AssetRulesInForce {
                label: label.clone(),
                decimals: asset.decimals,
                large_value: asset.large_value.map(|units| display(units, asset.decimals)),
                velocity_max_sum: asset.velocity_max_sum.map(|units| display(units, asset.decimals)),
                pass_through_min_amount: display(asset.pass_through_min_amount, asset.decimals),
            })
            .collect(),
        structuring: rules.structuring.as_ref().map(|rule| StructuringInForce {
            min_count: rule.min_count as u64,
            window_seconds: rule.window_ms / 1000,
            lower_percent: rule.lower_percent,
        }),
        velocity: rules.velocity.as_ref().map(|rule| VelocityInForce {
            window_seconds: rule.window_ms / 1000,
            max_count: rule.max_count as u64,
            direction: rule.direction,
        }),
        pass_through: rules.pass_through.as_ref().map(|rule| PassThroughInForce {
            window_seconds: rule.window_ms / 1000,
            min_ratio_percent: rule.min_ratio_percent,
        }),
        watch: rules.watch.clone(),
        memo_mismatch: rules.memo_mismatch,
    }
}

fn decimals_of(decimals: &BTreeMap<String, u8>, record: &AuditRecord) -> u8 {
    // Every label was entered by `asset_decimals`; the record's own value is the same by then.
    decimals.get(&record.asset_label).copied().unwrap_or(record.decimals)
}

fn transactions(
    records: &[AuditRecord],
    order: &[usize],
    alerts: &[ReportAlert],
    decimals: &BTreeMap<String, u8>,
) -> Vec<ReportTransaction> {
    let mut alert_ids: HashMap<&str, Vec<&str>> = HashMap::new();
    for alert in alerts {
        for tx_id in alert.tx_ids.iter().collect::<BTreeSet<_>>() {
            alert_ids.entry(tx_id.as_str()).or_default().push(alert.id.as_str());
        }
    }
    order
        .iter()
        .map(|&index| &records[index])
        .filter_map(|record| {
            let ids = alert_ids.get(record.tx_id.as_str())?;
            Some(ReportTransaction {
                tx_id: record.tx_id.clone(),
                output_index: record.output_index,
                height: record.height,
                timestamp_ms: record.timestamp_ms,
                time_utc: utc_text(record.timestamp_ms),
                kind: record.kind,
                asset: record.asset_label.clone(),
                amount: record.amount,
                amount_display: format_display_amount(record.amount.into(), decimals_of(decimals, record)),
                sender: record.sender.clone(),
                receiver: record.receiver.clone(),
                memo: record.memo.clone(),
                memo_matches_amount: record.memo_matches_amount,
                pool: record.pool,
                alert_ids: ids.iter().map(|&id| id.to_owned()).collect(),
            })
        })
        .collect()
}

/// Number of `bucket_ms` buckets from the one holding `first` to the one holding `last`.
fn bucket_count(first: u64, last: u64, bucket_ms: u64) -> u64 {
    last / bucket_ms - first / bucket_ms + 1
}

fn choose_bucket(first: u64, last: u64, requested: Option<u64>) -> Result<u64, ReportError> {
    if let Some(bucket_ms) = requested {
        if bucket_ms == 0 {
            return Err(ReportError::ZeroBucket);
        }
        let count = bucket_count(first, last, bucket_ms);
        if count > MAX_BUCKETS {
            return Err(ReportError::TooManyBuckets { bucket_ms, count, max: MAX_BUCKETS });
        }
        return Ok(bucket_ms);
    }
    if let Some(&bucket_ms) =
        BUCKET_LADDER_MS.iter().find(|&&bucket_ms| bucket_count(first, last, bucket_ms) <= AUTO_MAX_BUCKETS)
    {
        return Ok(bucket_ms);
    }
    // Whole days wide enough: `count <= span / bucket + 2`, so `bucket >= span / (AUTO_MAX_BUCKETS - 2)` suffices.
    let at_least = (last - first).div_ceil(AUTO_MAX_BUCKETS - 2);
    Ok(at_least.div_ceil(DAY_MS).saturating_mul(DAY_MS))
}

fn transfer_order<'a>(records: &'a [AuditRecord], order: &'a [usize]) -> impl Iterator<Item = &'a AuditRecord> + 'a {
    order.iter().map(|&index| &records[index]).filter(|record| record.kind == RecordKind::Transfer)
}

fn flows(
    records: &[AuditRecord],
    order: &[usize],
    decimals: &BTreeMap<String, u8>,
    requested_bucket: Option<u64>,
) -> Result<Flows, ReportError> {
    let mut by_asset: BTreeMap<&str, Vec<&AuditRecord>> = BTreeMap::new();
    for record in transfer_order(records, order) {
        by_asset.entry(record.asset_label.as_str()).or_default().push(record);
    }
    let first = by_asset.values().filter_map(|transfers| transfers.first()).map(|r| r.timestamp_ms).min();
    let last = by_asset.values().filter_map(|transfers| transfers.last()).map(|r| r.timestamp_ms).max();
    let bucket_ms = match (first, last) {
        (Some(first), Some(last)) => choose_bucket(first, last, requested_bucket)?,
        // No transfers: nothing to cut; still validate an explicit size, and record a sensible default.
        _ => match requested_bucket {
            Some(0) => return Err(ReportError::ZeroBucket),
            Some(bucket_ms) => bucket_ms,
            None => HOUR_MS,
        },
    };
    let mut assets = Vec::new();
    for (asset, transfers) in by_asset {
        let (Some(first), Some(last)) = (transfers.first(), transfers.last()) else { continue };
        let asset_decimals = decimals_of(decimals, first);
        let first_bucket = first.timestamp_ms / bucket_ms;
        let last_bucket = last.timestamp_ms / bucket_ms;
        // Bounded by choose_bucket: at most MAX_BUCKETS entries.
        let mut sums: Vec<(u64, u128)> = vec![(0, 0); (last_bucket - first_bucket + 1) as usize];
        for record in &transfers {
            let slot = &mut sums[(record.timestamp_ms / bucket_ms - first_bucket) as usize];
            slot.0 += 1;
            slot.1 += u128::from(record.amount);
        }
        let buckets = sums
            .into_iter()
            .enumerate()
            .map(|(offset, (transfer_count, total_amount))| {
                let start_ms = (first_bucket + offset as u64).saturating_mul(bucket_ms);
                FlowBucket {
                    start_ms,
                    start_utc: utc_text(start_ms),
                    transfer_count,
                    total_amount,
                    total_display: format_display_amount(total_amount, asset_decimals),
                }
            })
            .collect();
        assets.push(AssetFlows { asset: asset.to_owned(), decimals: asset_decimals, buckets });
    }
    Ok(Flows { bucket_ms, assets })
}

fn top_counterparties(
    records: &[AuditRecord],
    order: &[usize],
    alerts: &[ReportAlert],
    decimals: &BTreeMap<String, u8>,
    limit: usize,
) -> Vec<AssetCounterparties> {
    #[derive(Default)]
    struct Tally {
        sent: u128,
        received: u128,
        transfers: u64,
    }
    let mut by_asset: BTreeMap<&str, HashMap<&str, Tally>> = BTreeMap::new();
    for record in transfer_order(records, order) {
        let parties = by_asset.entry(record.asset_label.as_str()).or_default();
        if let Some(sender) = record.sender.as_deref() {
            let tally = parties.entry(sender).or_default();
            tally.sent += u128::from(record.amount);
            tally.transfers += 1;
        }
        let tally = parties.entry(record.receiver.as_str()).or_default();
        tally.received += u128::from(record.amount);
        // A transfer to oneself is one transfer, not two.
        if record.sender.as_deref() != Some(record.receiver.as_str()) {
            tally.transfers += 1;
        }
    }
    let mut alert_counts: HashMap<(&str, &str), u64> = HashMap::new();
    for alert in alerts {
        for address in alert.addresses.iter().collect::<BTreeSet<_>>() {
            *alert_counts.entry((alert.asset.as_str(), address.as_str())).or_default() += 1;
        }
    }
    by_asset
        .into_iter()
        .map(|(asset, parties)| {
            let asset_decimals = decimals.get(asset).copied().unwrap_or(0);
            let mut ranked: Vec<(&str, Tally)> = parties.into_iter().collect();
            // HashMap order is random; the address tie-break makes the ranking deterministic.
            ranked.sort_by(|a, b| (b.1.sent + b.1.received).cmp(&(a.1.sent + a.1.received)).then(a.0.cmp(b.0)));
            ranked.truncate(limit);
            let display = |units: u128| format_display_amount(units, asset_decimals);
            let parties = ranked
                .into_iter()
                .map(|(address, tally)| Counterparty {
                    address: address.to_owned(),
                    sent: tally.sent,
                    sent_display: display(tally.sent),
                    received: tally.received,
                    received_display: display(tally.received),
                    volume: tally.sent + tally.received,
                    volume_display: display(tally.sent + tally.received),
                    transfer_count: tally.transfers,
                    alert_count: alert_counts.get(&(asset, address)).copied().unwrap_or(0),
                })
                .collect();
            AssetCounterparties { asset: asset.to_owned(), decimals: asset_decimals, parties }
        })
        .collect()
}

/// `ms` since the Unix epoch as ISO 8601 UTC with milliseconds: `2023-11-14T22:13:20.000Z`.
pub fn utc_text(ms: u64) -> String {
    let (year, month, day) = civil_from_days(ms / DAY_MS);
    let in_day = ms % DAY_MS;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / HOUR_MS,
        in_day % HOUR_MS / MINUTE_MS,
        in_day % MINUTE_MS / 1000,
        in_day % 1000
    )
}

/// Gregorian date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of a 400-year era.
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_matches_known_dates() {
        assert_eq!(utc_text(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc_text(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc_text(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(utc_text(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(utc_text(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        // The far end of the range still formats (a garbage timestamp must not panic).
        assert!(utc_text(u64::MAX).ends_with("Z"));
    }

    #[test]
    fn automatic_buckets_stay_within_the_limit() {
        assert_eq!(choose_bucket(0, 0, None).ok(), Some(MINUTE_MS));
        assert_eq!(choose_bucket(0, 47 * MINUTE_MS, None).ok(), Some(MINUTE_MS));
        assert_eq!(choose_bucket(0, 48 * MINUTE_MS, None).ok(), Some(5 * MINUTE_MS));
        assert_eq!(choose_bucket(0, 30 * DAY_MS, None).ok(), Some(DAY_MS));
        for (first, last) in [(0, u64::MAX), (12_345, 400 * DAY_MS), (u64::MAX - 1, u64::MAX)] {
            let bucket = choose_bucket(first, last, None).expect("automatic size");
            assert!(bucket_count(first, last, bucket) <= AUTO_MAX_BUCKETS, "{first} {last} {bucket}");
        }
        assert!(matches!(choose_bucket(0, DAY_MS, Some(0)), Err(ReportError::ZeroBucket)));
        assert!(matches!(choose_bucket(0, DAY_MS, Some(1000)), Err(ReportError::TooManyBuckets { count: 86_401, .. })));
    }
}
