//! Writes a demonstration suspicious-transaction report: the example rule file run over synthetic records.
//!
//! `cargo run -p ctchain-audit --example aml_report -- OUT_DIR [--records N] [--overwrite]`, then open
//! `OUT_DIR/aml-report.html`. N defaults to 5000 records, spread over one week.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use ctchain_audit::aml::report::{Overwrite, Report, ReportOptions};
use ctchain_audit::aml::{run, RuleSet};

fn main() -> ExitCode {
    let usage = || {
        eprintln!("usage: aml_report OUT_DIR [--records N] [--overwrite]");
        ExitCode::from(2)
    };
    let mut out = None;
    let mut count = 5_000;
    let mut overwrite = Overwrite::Refuse;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--overwrite" => overwrite = Overwrite::Replace,
            "--records" => match args.next().and_then(|text| text.parse().ok()) {
                Some(parsed) => count = parsed,
                None => return usage(),
            },
            _ if out.is_none() && !arg.starts_with("--") => out = Some(PathBuf::from(arg)),
            _ => return usage(),
        }
    }
    let Some(out) = out else { return usage() };
    let rules = match RuleSet::from_toml(include_str!("aml-rules.toml")) {
        Ok(rules) => rules,
        Err(error) => {
            eprintln!("rule file: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut records = common::synthetic(count);
    // One hostile memo, to show how the report displays sender-written text.
    if let Some(record) = records.iter_mut().find(|record| !record.memo_matches_amount) {
        record.memo = "<script>alert(\"x\")</script> pay 1,000.00, \"urgent\"".into();
    }
    if let Some(watched) = rules.watch.iter().find_map(|entry| entry.address.as_deref()) {
        records.push(common::transfer("watched-0001", 1_700_200_000, "s17", watched, 250_000));
    }
    let alerts = run(&records, &rules);
    let options = ReportOptions { title: "Demonstration report (synthetic data)".into(), ..ReportOptions::default() };
    let written =
        Report::with_options(&records, &alerts, &rules, &options).and_then(|report| report.write_dir(&out, overwrite));
    match written {
        Ok(files) => {
            println!("{} alerts over {} records", alerts.len(), records.len());
            println!("{}\n{}\n{}", files.json.display(), files.csv.display(), files.html.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
