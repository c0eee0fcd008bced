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
//!
//! The module is cut by concern: `model` is the report as data (what the JSON holds), `compute` builds it from
//! records, alerts and rules, and `json`, `csv`, `html` (with `svg`) render it; `write` puts the files on disk.

mod compute;
mod csv;
mod error;
mod html;
mod json;
mod model;
mod svg;
mod write;

pub use compute::{AUTO_MAX_BUCKETS, MAX_BUCKETS};
pub use csv::COLUMNS as CSV_COLUMNS;
pub use error::ReportError;
pub use model::{
    AssetCounterparties, AssetFlows, AssetRulesInForce, Counterparty, FlowBucket, Flows, PassThroughInForce, Period,
    Report, ReportAlert, ReportOptions, ReportTransaction, RuleCount, RulesInForce, StructuringInForce,
    VelocityInForce, REPORT_FORMAT,
};
pub use write::{Overwrite, ReportFiles, CSV_FILE_NAME, HTML_FILE_NAME, JSON_FILE_NAME};
