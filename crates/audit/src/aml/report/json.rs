//! The JSON rendering: the exact, machine-readable form, and reading it back.

use super::error::ReportError;
use super::model::{Report, REPORT_FORMAT};

impl Report {
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
}
