//! AML rules and reports over synthetic records: `cargo bench -p ctchain-audit --bench aml`.
//!
//! Under `cargo bench` (which passes `--bench`) the sizes are 10k and 100k records; under `cargo test --all-targets`
//! Criterion runs each benchmark once as a smoke test, on 1k records, so the test suite stays fast.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ctchain_audit::aml::report::Report;
use ctchain_audit::aml::{run, AuditRecord, RuleSet};

fn sizes() -> Vec<u64> {
    if std::env::args().any(|arg| arg == "--bench") {
        vec![10_000, 100_000]
    } else {
        vec![1_000]
    }
}

fn rules() -> RuleSet {
    // The documented example: every rule enabled, so every rule's cost is measured.
    RuleSet::from_toml(include_str!("../examples/aml-rules.toml")).expect("the example rule file parses")
}

fn data(count: u64) -> Vec<AuditRecord> {
    common::synthetic(count)
}

fn rules_engine(c: &mut Criterion) {
    let rules = rules();
    let mut group = c.benchmark_group("aml/run");
    for count in sizes() {
        let records = data(count);
        group.throughput(Throughput::Elements(count));
        group.bench_with_input(BenchmarkId::from_parameter(count), &records, |b, records| {
            b.iter(|| run(black_box(records), &rules))
        });
    }
    group.finish();
}

fn reports(c: &mut Criterion) {
    let rules = rules();
    let mut group = c.benchmark_group("aml/report");
    for count in sizes() {
        let records = data(count);
        let alerts = run(&records, &rules);
        let report = Report::new(&records, &alerts, &rules).expect("report builds");
        group.throughput(Throughput::Elements(count));
        group.bench_with_input(BenchmarkId::new("build", count), &records, |b, records| {
            b.iter(|| Report::new(black_box(records), &alerts, &rules))
        });
        group.bench_with_input(BenchmarkId::new("json", count), &report, |b, report| b.iter(|| report.to_json()));
        group.bench_with_input(BenchmarkId::new("csv", count), &report, |b, report| b.iter(|| report.to_csv()));
        group.bench_with_input(BenchmarkId::new("html", count), &report, |b, report| b.iter(|| report.to_html()));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Few samples: the 100k cases take tens of milliseconds each, and the machine is shared.
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = rules_engine, reports
}
criterion_main!(benches);
