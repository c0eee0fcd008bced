//! The CSV rendering: one row per alert, RFC 4180.

use std::borrow::Cow;
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
    let mut rows = rows();
    write_row(&mut rows, &COLUMNS);
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
            &mut rows,
            &[
                alert.id.as_str(),
                alert.rule.as_str(),
                alert.severity.as_str(),
                &alert.asset,
                &alert.total_display,
                &alert.total_amount.to_string(),
                &alert.window_start_utc,
                &alert.window_end_utc,
                &alert.window_start_ms.to_string(),
                &alert.window_end_ms.to_string(),
                &alert.tx_ids.len().to_string(),
                &alert.tx_ids.join("; "),
                &heights.join("; "),
                &alert.addresses.join("; "),
                &memos.join("\n"),
                &alert.explanation,
            ],
        );
    }
    finish(rows)
}

/// RFC 4180: fields quoted only where a comma, quote or line break requires it, and records ending in CRLF.
fn rows() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new())
}

// The `expect`s below cannot fire: the sink is a `Vec`, which never fails a write, every row has `COLUMNS.len()`
// cells, and every cell is a `str`, so the bytes are UTF-8.
fn write_row(rows: &mut csv::Writer<Vec<u8>>, cells: &[&str]) {
    for cell in cells {
        rows.write_field(defuse_formula(cell).as_bytes()).expect("a CSV cell of text into memory");
    }
    rows.write_record(None::<&[u8]>).expect("a CSV row end into memory");
}

fn finish(rows: csv::Writer<Vec<u8>>) -> String {
    let bytes = rows.into_inner().expect("flushing CSV into memory");
    String::from_utf8(bytes).expect("CSV made of str cells is UTF-8")
}

/// Spreadsheets run a cell starting with one of these as a formula (CSV injection); a leading apostrophe makes them
/// show it as text. Senders write memos and choose addresses, so every cell is treated as hostile.
fn defuse_formula(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::{finish, rows, write_row};

    /// How `text` is written as the first cell of a row (a one-cell row would quote an empty cell, so that the
    /// row is not mistaken for an empty line).
    fn cell(text: &str) -> String {
        let mut out = rows();
        write_row(&mut out, &[text, "next"]);
        let row = finish(out);
        row.strip_suffix(",next\r\n").expect("row ends in the second cell and CRLF").to_owned()
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
