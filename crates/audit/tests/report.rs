//! Suspicious-transaction reports: exact JSON, RFC 4180 CSV, escaped self-contained HTML, atomic files.

mod common;

use std::fs;
use std::path::PathBuf;

use common::transfer;
use ctchain_audit::aml::report::{
    Overwrite, Report, ReportError, ReportOptions, CSV_COLUMNS, CSV_FILE_NAME, HTML_FILE_NAME, JSON_FILE_NAME,
};
use ctchain_audit::aml::{run, Alert, AuditRecord, RuleId, RuleSet};

const EXAMPLE_RULES: &str = include_str!("../examples/aml-rules.toml");

const HOSTILE_MEMO: &str = "<script>alert(\"x\")</script>&'";
const CSV_MEMO: &str = "rent, \"March\"\nsecond line";

fn rules() -> RuleSet {
    RuleSet::from_toml(EXAMPLE_RULES).expect("example rules parse")
}

/// Records that trip several rules, in two assets, with a memo built to break CSV and one built to break HTML.
fn scenario() -> Vec<AuditRecord> {
    let mut usd = transfer("usd-large", 7200, "u1", "u2", 1_500_000);
    usd.asset_label = "USD".into();
    usd.asset_id = "01".into();
    let mut csv_memo = transfer("memo-csv", 3700, "m1", "m2", 10_000);
    csv_memo.memo = CSV_MEMO.into();
    csv_memo.memo_matches_amount = false;
    let mut html_memo = transfer("memo-html", 3800, "<img src=x onerror=alert(1)>", "m2", 20_000);
    html_memo.memo = HOSTILE_MEMO.into();
    html_memo.memo_matches_amount = false;
    vec![
        transfer("large", 0, "a", "b", 6_000_000),
        transfer("struct-1", 100, "s", "x1", 4_000_000),
        transfer("struct-2", 200, "s", "x2", 4_500_000),
        transfer("struct-3", 300, "s", "x3", 4_900_000),
        transfer("quiet", 400, "q", "b", 12_345),
        csv_memo,
        html_memo,
        usd,
    ]
}

fn report_of(records: &[AuditRecord]) -> (Vec<Alert>, Report) {
    let rules = rules();
    let alerts = run(records, &rules);
    let report = Report::new(records, &alerts, &rules).expect("report builds");
    (alerts, report)
}

/// A strict RFC 4180 reader: every record ends in CRLF, quotes only around whole fields, `""` inside them.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut field_start = true;
    while let Some(character) = chars.next() {
        match character {
            '"' if field_start => {
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(other) => field.push(other),
                        None => panic!("unterminated quoted field"),
                    }
                }
                assert!(matches!(chars.peek(), Some(',') | Some('\r')), "text after a closing quote");
                field_start = false;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                field_start = true;
            }
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                field_start = true;
            }
            other => {
                assert!(other != '"' && other != '\n', "bare {other:?} in an unquoted field");
                field.push(other);
                field_start = false;
            }
        }
    }
    assert!(row.is_empty() && field.is_empty(), "last record not terminated by CRLF");
    rows
}

#[test]
fn json_round_trips_and_lists_exactly_the_alerts() {
    let records = scenario();
    let (alerts, report) = report_of(&records);
    let fired: Vec<RuleId> = alerts.iter().map(|alert| alert.rule).collect();
    assert!(fired.contains(&RuleId::LargeValue) && fired.contains(&RuleId::Structuring));
    assert!(fired.contains(&RuleId::MemoMismatch));

    let json = report.to_json().expect("serialises");
    let back = Report::from_json(&json).expect("reads back");
    assert_eq!(back, report);
    assert_eq!(back.to_json().expect("serialises"), json, "JSON is a fixed point");
    let listed: Vec<Alert> = back.alerts.iter().map(Alert::from).collect();
    assert_eq!(listed, alerts, "the report lists exactly the engine's alerts, in order, nothing lost");
    assert_eq!(back.record_count, records.len() as u64);
    let by_rule: u64 = back.alerts_by_rule.iter().map(|entry| entry.count).sum();
    assert_eq!(by_rule, alerts.len() as u64);

    // Amounts are exact decimal strings, never JSON numbers.
    let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let large = value["alerts"]
        .as_array()
        .expect("alerts array")
        .iter()
        .find(|alert| alert["rule"] == "large-value" && alert["asset"] == "CNY")
        .expect("large-value alert");
    assert_eq!(large["total_amount"], "6000000");
    assert_eq!(large["total_display"], "60,000.00");
    assert_eq!(large["id"], "A0001");
    assert_eq!(large["window_start_utc"], "1970-01-01T00:00:00.000Z");
    // Every transaction an alert names is listed with its memo, and points back at its alerts.
    let memo = back.transactions.iter().find(|tx| tx.tx_id == "memo-csv").expect("named transaction listed");
    assert_eq!(memo.memo, CSV_MEMO);
    assert_eq!(memo.amount_display, "100.00");
    assert!(!back.transactions.iter().any(|tx| tx.tx_id == "quiet"), "unalerted transactions are not listed");
}

#[test]
fn json_with_a_foreign_format_or_inexact_amount_is_refused() {
    let (_, report) = report_of(&scenario());
    let json = report.to_json().expect("serialises");
    let foreign = json.replacen("ctchain-aml-report/1", "ctchain-aml-report/2", 1);
    assert!(matches!(Report::from_json(&foreign), Err(ReportError::UnsupportedFormat { .. })));
    for bad in ["6000000.0", "+6000000", "", "6e6"] {
        let tampered = json.replacen("\"total_amount\": \"6000000\"", &format!("\"total_amount\": \"{bad}\""), 1);
        assert_ne!(tampered, json);
        assert!(matches!(Report::from_json(&tampered), Err(ReportError::Json(_))), "{bad:?}");
    }
    let number = json.replacen("\"total_amount\": \"6000000\"", "\"total_amount\": 6000000", 1);
    assert!(matches!(Report::from_json(&number), Err(ReportError::Json(_))));
    assert!(matches!(Report::from_json("{"), Err(ReportError::Json(_))));
}

#[test]
fn csv_parses_back_one_row_per_alert_with_commas_quotes_and_newlines_intact() {
    let (alerts, report) = report_of(&scenario());
    let csv = report.to_csv();
    let rows = parse_csv(&csv);
    assert_eq!(rows[0], CSV_COLUMNS.iter().map(|column| column.to_string()).collect::<Vec<_>>());
    assert_eq!(rows.len(), alerts.len() + 1);
    let column = |name: &str| CSV_COLUMNS.iter().position(|column| *column == name).expect("column");
    for (row, alert) in rows[1..].iter().zip(&alerts) {
        assert_eq!(row.len(), CSV_COLUMNS.len());
        assert_eq!(row[column("rule")], alert.rule.as_str());
        assert_eq!(row[column("total")], alert.total_display);
        assert_eq!(row[column("total_base_units")], alert.total_amount.to_string());
        assert_eq!(row[column("tx_ids")], alert.tx_ids.join("; "));
    }
    let memo_row = rows
        .iter()
        .find(|row| row[column("tx_ids")] == "memo-csv" && row[column("rule")] == "memo-mismatch")
        .expect("memo-mismatch row");
    assert_eq!(memo_row[column("memos")], CSV_MEMO);
    assert!(memo_row[column("explanation")].contains("disagrees"));
}

#[test]
fn csv_cells_that_a_spreadsheet_would_run_are_defused() {
    let mut records = scenario();
    records[5].memo = "=HYPERLINK(\"http://evil\",\"click\")".into();
    let (_, report) = report_of(&records);
    let rows = parse_csv(&report.to_csv());
    let memo_column = CSV_COLUMNS.iter().position(|column| *column == "memos").expect("column");
    let memos: Vec<&str> = rows.iter().map(|row| row[memo_column].as_str()).collect();
    assert!(memos.contains(&"'=HYPERLINK(\"http://evil\",\"click\")"), "{memos:?}");
    assert!(rows.iter().flatten().all(|cell| !cell.starts_with(['=', '+', '-', '@'])));
}

/// Tags the page may contain. Anything else (a `<script>`, an `<img>` smuggled in through data) fails the test.
const ALLOWED_TAGS: [&str; 35] = [
    "!DOCTYPE",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "h1",
    "h2",
    "p",
    "nav",
    "a",
    "section",
    "figure",
    "figcaption",
    "svg",
    "text",
    "rect",
    "line",
    "g",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "br",
    "span",
    "dl",
    "dt",
    "dd",
    "footer",
    "strong",
    "em",
];

#[test]
fn html_escapes_every_data_string_and_contains_no_foreign_markup() {
    let hostile_rules = format!(
        "{EXAMPLE_RULES}\n[[watch]]\naddress = \"<b>m2</b>\"\nreason = \"<iframe src='x'>\"\n[[watch]]\naddress = \"m2\"\nreason = \"<i>mule</i> & co\"\n"
    );
    let rules = RuleSet::from_toml(&hostile_rules).expect("rules parse");
    let mut records = scenario();
    let mut bidi = transfer("bidi", 4000, "m1", "pay\u{202E}evil", 1);
    bidi.memo_matches_amount = false;
    records.push(bidi);
    let alerts = run(&records, &rules);
    let options = ReportOptions { title: "Case <script>1</script>".into(), ..ReportOptions::default() };
    let html = Report::with_options(&records, &alerts, &rules, &options).expect("report").to_html();

    assert!(!html.to_lowercase().contains("<script"), "raw <script in the page");
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"), "memo shown, escaped");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "hostile address shown, escaped");
    assert!(html.contains("&lt;i&gt;mule&lt;/i&gt; &amp; co"), "watch reason shown, escaped");
    assert!(html.contains("Case &lt;script&gt;1&lt;/script&gt;"), "title escaped");
    assert!(html.contains("pay[U+202E]evil"), "bidirectional override made visible");
    assert!(!html.contains('\u{202E}'));

    // Every tag is one the renderer writes itself, and no tag carries an event handler or a URL.
    for piece in html.split('<').skip(1) {
        let tag = piece.split('>').next().unwrap_or_default();
        let name = tag.trim_start_matches('/').split([' ', '/']).next().unwrap_or_default();
        assert!(ALLOWED_TAGS.contains(&name), "unexpected tag <{tag}>");
        let attributes = tag.split_whitespace().skip(1).map(str::to_lowercase);
        for attribute in attributes {
            assert!(!(attribute.starts_with("on") && attribute.contains('=')), "event handler in <{tag}>");
            assert!(!attribute.starts_with("src=") && !attribute.starts_with("style="), "resource or style in <{tag}>");
        }
        assert!(!tag.contains("http:") && !tag.contains("https:"), "URL in <{tag}>");
    }
    for href in html.split("href=\"").skip(1) {
        assert!(href.starts_with('#'), "only in-page links: {}", &href[..href.len().min(40)]);
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\""));
}

#[test]
fn charts_are_present_and_bytes_are_deterministic() {
    let records = scenario();
    let (_, report) = report_of(&records);
    let html = report.to_html();
    // One alerts-by-rule chart, and per asset (CNY, USD) one flow chart and one counterparty chart.
    assert_eq!(html.matches("<svg ").count(), 5);
    assert_eq!(html.matches("</svg>").count(), 5);
    assert!(html.contains("aria-label=\"Alerts by rule\""));
    assert!(html.contains("aria-label=\"CNY transfers per"));
    assert!(html.contains("aria-label=\"Top counterparties in USD by transfer volume\""));
    assert!(html.matches("<rect ").count() >= 10, "bars drawn");
    assert_eq!(report.flows.assets.len(), 2);
    let cny = &report.flows.assets[0];
    let summed: u128 = cny.buckets.iter().map(|bucket| bucket.total_amount).sum();
    let expected: u128 = records.iter().filter(|r| r.asset_label == "CNY").map(|r| u128::from(r.amount)).sum();
    assert_eq!(summed, expected, "flows add up to the transfers exactly");
    let top = &report.top_counterparties[0].parties[0];
    assert_eq!((top.address.as_str(), top.volume), ("s", 13_400_000), "the structurer moved the most CNY");

    // Same input, same bytes — also when the records arrive in another order.
    let mut reversed = records.clone();
    reversed.reverse();
    let (_, again) = report_of(&reversed);
    assert_eq!(again.to_html(), html);
    assert_eq!(again.to_csv(), report.to_csv());
    assert_eq!(again.to_json().expect("json"), report.to_json().expect("json"));
    // A report read back from its JSON renders the same page.
    let back = Report::from_json(&report.to_json().expect("json")).expect("reads back");
    assert_eq!(back.to_html(), html);
}

#[test]
fn an_empty_run_still_gives_a_complete_report() {
    let rules = rules();
    let report = Report::new(&[], &[], &rules).expect("empty report");
    assert_eq!(report.period, None);
    let html = report.to_html();
    assert!(html.contains("No rule raised an alert.") && html.ends_with("</html>\n"));
    assert_eq!(html.matches("<svg ").count(), 1, "the alerts-by-rule chart shows the zeros");
    assert_eq!(parse_csv(&report.to_csv()).len(), 1, "header only");
    assert_eq!(Report::from_json(&report.to_json().expect("json")).expect("back"), report);
}

#[test]
fn records_that_disagree_on_decimals_are_refused() {
    let rules = rules();
    let mut records = scenario();
    records[4].decimals = 4;
    let error = Report::new(&records, &[], &rules).expect_err("CNY is declared with 2 decimals");
    assert!(matches!(&error, ReportError::DecimalsDisagree { asset, found: 4, expected: 2, .. } if asset == "CNY"));
    // An undeclared asset takes its decimals from its first record; a later record must agree.
    let mut other = vec![transfer("e1", 0, "a", "b", 1), transfer("e2", 1, "a", "b", 1)];
    for record in &mut other {
        record.asset_label = "EUR".into();
    }
    other[1].decimals = 3;
    assert!(matches!(Report::new(&other, &[], &rules), Err(ReportError::DecimalsDisagree { found: 3, .. })));
}

#[test]
fn bucket_sizes_are_checked() {
    let rules = rules();
    let records = scenario();
    let one_ms = ReportOptions { bucket_ms: Some(1), ..ReportOptions::default() };
    assert!(matches!(Report::with_options(&records, &[], &rules, &one_ms), Err(ReportError::TooManyBuckets { .. })));
    let zero = ReportOptions { bucket_ms: Some(0), ..ReportOptions::default() };
    assert!(matches!(Report::with_options(&records, &[], &rules, &zero), Err(ReportError::ZeroBucket)));
    let hourly = ReportOptions { bucket_ms: Some(3_600_000), ..ReportOptions::default() };
    let report = Report::with_options(&records, &[], &rules, &hourly).expect("hourly");
    assert_eq!(report.flows.bucket_ms, 3_600_000);
    assert_eq!(report.flows.assets[0].buckets.len(), 2, "CNY from 00:00 to 01:03");
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn leftovers(dir: &PathBuf) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("dir")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn writing_a_directory_places_three_complete_files_and_refuses_to_overwrite() {
    let (_, report) = report_of(&scenario());
    let dir = fresh_dir("write").join("case-42");
    let files = report.write_dir(&dir, Overwrite::Refuse).expect("first write");
    assert_eq!(fs::read_to_string(&files.json).expect("json"), report.to_json().expect("json"));
    assert_eq!(fs::read_to_string(&files.csv).expect("csv"), report.to_csv());
    assert_eq!(fs::read_to_string(&files.html).expect("html"), report.to_html());
    assert_eq!(leftovers(&dir), [CSV_FILE_NAME, HTML_FILE_NAME, JSON_FILE_NAME], "no temporary file left behind");

    let other = Report::new(&[], &[], &rules()).expect("other report");
    let refused = other.write_dir(&dir, Overwrite::Refuse).expect_err("files exist");
    assert!(matches!(&refused, ReportError::AlreadyExists { path } if path == &files.json), "{refused}");
    assert_eq!(fs::read_to_string(&files.json).expect("json"), report.to_json().expect("json"), "untouched");

    other.write_dir(&dir, Overwrite::Replace).expect("replace");
    assert_eq!(fs::read_to_string(&files.html).expect("html"), other.to_html());
    assert_eq!(leftovers(&dir), [CSV_FILE_NAME, HTML_FILE_NAME, JSON_FILE_NAME]);
}

#[test]
fn one_existing_file_stops_the_write_before_anything_is_written() {
    let (_, report) = report_of(&scenario());
    let dir = fresh_dir("partial");
    fs::create_dir_all(&dir).expect("dir");
    fs::write(dir.join(HTML_FILE_NAME), "supervisor's notes").expect("seed");
    let refused = report.write_dir(&dir, Overwrite::Refuse).expect_err("html exists");
    assert!(matches!(refused, ReportError::AlreadyExists { .. }));
    assert_eq!(leftovers(&dir), [HTML_FILE_NAME], "all three or none");
    assert_eq!(fs::read_to_string(dir.join(HTML_FILE_NAME)).expect("html"), "supervisor's notes");
}

#[test]
fn an_unwritable_target_is_a_typed_error_not_a_panic() {
    let (_, report) = report_of(&scenario());
    let dir = fresh_dir("blocked");
    fs::create_dir_all(&dir).expect("dir");
    // A regular file where the directory should be.
    let blocked = dir.join("not-a-dir");
    fs::write(&blocked, "x").expect("file");
    assert!(matches!(report.write_dir(&blocked, Overwrite::Replace), Err(ReportError::Io { .. })));
    assert_eq!(leftovers(&dir), ["not-a-dir"]);
}
