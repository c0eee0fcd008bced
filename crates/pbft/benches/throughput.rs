//! Simulated throughput of the consensus core alone: n replicas in the deterministic simulator on a calm network,
//! committing 100 blocks with tiny payloads. Everything is single-threaded and includes Ed25519 signing and
//! verification of every message, the canonical encoding, and the simulator's event queue.
//!
//! Reported twice per configuration: as blocks per second (committed at every replica) and as messages per second
//! (delivered by the simulated network and processed by a replica).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ctchain_pbft::sim::{run, Scenario};

fn scenario(n: usize) -> Scenario {
    let mut s = Scenario::calm(n, 1);
    s.heal_at_ms = 1;
    s.blocks_after_heal = 100;
    s.block_interval_ms = 1;
    s.checkpoint_interval = 16;
    s.window = 32;
    s
}

fn throughput(c: &mut Criterion) {
    for n in [4usize, 7] {
        let s = scenario(n);
        let report = run(&s);
        assert!(report.ok(), "{}", report.summary());
        let blocks = report.min_honest_height();
        let messages = report.messages_delivered;
        let started = std::time::Instant::now();
        let rounds = 5;
        for _ in 0..rounds {
            std::hint::black_box(run(&s));
        }
        let secs = started.elapsed().as_secs_f64() / rounds as f64;
        println!(
            "pbft n={n}: {blocks} blocks, {messages} messages per run; {:.0} blocks/s, {:.0} messages/s",
            blocks as f64 / secs,
            messages as f64 / secs
        );
        let mut g = c.benchmark_group(format!("pbft_sim_n{n}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(blocks));
        g.bench_function("blocks", |b| b.iter(|| run(&s)));
        g.throughput(Throughput::Elements(messages));
        g.bench_function("messages", |b| b.iter(|| run(&s)));
        g.finish();
    }
}

criterion_group!(benches, throughput);
criterion_main!(benches);
