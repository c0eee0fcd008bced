//! The CSV rendering: one row per alert, RFC 4180.

use std::collections::HashMap;

use super::{Report, ReportTransaction};

/// The header row. Lists inside a cell (addresses, transactions, heights) are joined with `"; "`; the memos of an
/// alert's transactions (distinct, non-empty, in time order) are joined with a line break, since a memo is free
/// text. The JSON report keeps every list as a list.
pub const COLUMNS: [&str; 16] = [
    "alert_id",
    "rule",
    "severity",
    "asset",
    "total",
    "total_base_units",
    "window_start_utc",
    "window_end_utc",
    "window_start_ms",
    "window_end_ms",
    "transaction_count",
    "tx_ids",
    "heights",
    "addresses",
    "memos",
    "explanation",
];

impl Report {
    /// One CSV row per alert (see the module docs for quoting; the columns are [`CSV_COLUMNS`](super::CSV_COLUMNS)).
    pub fn to_csv(&self) -> String {
        render(self)
    }
}

fn render(report: &Report) -> String {
    let mut by_tx: HashMap<&str, Vec<&ReportTransaction>> = HashMap::new();
    for transaction in &report.transactions {
        by_tx.entry(transaction.tx_id.as_str()).or_default().push(transaction);
    }
    let mut out = String::new();
    write_row(&mut out, COLUMNS.iter().map(|column| column.to_string()));
    for alert in &report.alerts {
        let mut memos: Vec<&str> = Vec::new();
        for tx_id in &alert.tx_ids {
            for transaction in by_tx.get(tx_id.as_str()).into_iter().flatten() {
                if !transaction.memo.is_empty() && !memos.contains(&transaction.memo.as_str()) {
                    memos.push(&transaction.memo);
                }
            }
        }
        let heights: Vec<String> = alert.heights.iter().map(u64::to_string).collect();
        write_row(
            &mut out,
            [
                alert.id.clone(),
                alert.rule.as_str().to_owned(),
                alert.severity.as_str().to_owned(),
                alert.asset.clone(),
                alert.total_display.clone(),
                alert.total_amount.to_string(),
                alert.window_start_utc.clone(),
                alert.window_end_utc.clone(),
                alert.window_start_ms.to_string(),
                alert.window_end_ms.to_string(),
                alert.tx_ids.len().to_string(),
                alert.tx_ids.join("; "),
                heights.join("; "),
                alert.addresses.join("; "),
                memos.join("\n"),
                alert.explanation.clone(),
            ],
        );
    }
    out
}

fn write_row(out: &mut String, cells: impl IntoIterator<Item = String>) {
    for (position, cell) in cells.into_iter().enumerate() {
        if position > 0 {
            out.push(',');
        }
        write_cell(out, &cell);
    }
    // RFC 4180 records end in CRLF.
    out.push_str("\r\n");
}

/// Quotes a cell when RFC 4180 requires it, and defuses spreadsheet formulas.
pub(super) fn write_cell(out: &mut String, cell: &str) {
    let needs_quotes = cell.contains([',', '"', '\r', '\n']);
    if needs_quotes {
        out.push('"');
    }
    // Spreadsheets run a cell starting with one of these as a formula (CSV injection); a leading apostrophe makes
    // them show it as text. Senders write memos and choose addresses, so every cell is treated as hostile.
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    if needs_quotes {
        out.push_str(&cell.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(cell);
    }
}

#[cfg(test)]
mod tests {
    use super::write_cell;

    fn cell(text: &str) -> String {
        let mut out = String::new();
        write_cell(&mut out, text);
        out
    }

    #[test]
    fn quotes_only_what_rfc_4180_requires_and_defuses_formulas() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell(""), "");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("a=b"), "a=b");
    }
}
