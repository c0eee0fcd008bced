//! Apply throughput for a block of 1,000 2-in/2-out transfers, split into stateless verification (proofs, on all
//! cores) and application (stateful checks, state root, one synced RocksDB write).
//!
//! Setup builds 2,000 funding outputs and 1,000 transfers once (about a minute), then measures.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::*;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ctchain_ledger::{Block, Ledger, VerifiedBlock};

/// 1,000 under `cargo bench`; a handful when `cargo test --all-targets` runs the bench once as a smoke test.
fn transfer_count() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        1_000
    } else {
        16
    }
}

struct Prepared {
    funding: VerifiedBlock,
    transfers: Block,
    genesis: ctchain_ledger::Genesis,
}

fn prepare() -> Prepared {
    let transfers_wanted = transfer_count();
    let started = Instant::now();
    let mut chain = TestChain::new(99);
    let alice = chain.keys.alice.clone();
    let bob = chain.keys.bob.clone();
    let cny = chain.keys.cny;
    let issuer = chain.keys.issuers[&cny].clone();
    let mut funding_txs = Vec::new();
    for _ in 0..(2 * transfers_wanted).div_ceil(16) {
        let mut b = chain.builder();
        b.issue(&issuer, cny, 16 * 1_000);
        for _ in 0..16 {
            b.pay(alice.address(), cny, 1_000, "");
        }
        let tx = b.build(&mut chain.rng).unwrap();
        funding_txs.push(chain.verify(tx));
    }
    let funding = chain
        .ledger
        .propose(funding_txs, chain.ledger.next_block_seq(), chain.ledger.tip_timestamp_ms() + 1, 0, 0)
        .unwrap();
    chain.ledger.apply(funding.clone(), None).unwrap();
    let owned = chain.unspent(&alice);
    let mut transfers = Vec::with_capacity(transfers_wanted);
    for pair in owned.chunks(2).take(transfers_wanted) {
        let mut b = chain.builder();
        b.spend(pair[0].clone()).spend(pair[1].clone()).pay(bob.address(), cny, 1_500, "").change_to(alice.address());
        let tx = b.build(&mut chain.rng).unwrap();
        transfers.push(chain.verify(tx));
    }
    let block = chain
        .ledger
        .propose(transfers, chain.ledger.next_block_seq(), chain.ledger.tip_timestamp_ms() + 1, 1, 0)
        .unwrap()
        .to_block();
    eprintln!("prepared {} transfers in {:.1?}", block.txs.len(), started.elapsed());
    Prepared { funding, transfers: block, genesis: chain.ledger.genesis().clone() }
}

fn fresh_ledger(p: &Prepared) -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(dir.path(), &p.genesis).unwrap();
    ledger.apply(p.funding.clone(), None).unwrap();
    (dir, ledger)
}

fn apply_block(c: &mut Criterion) {
    let p = prepare();
    let verifier = fresh_ledger(&p).1.verifier().clone();
    let verified = p.transfers.clone().verify(&verifier).unwrap();

    let mut group = c.benchmark_group(format!("block_{}_transfers_2in_2out", p.transfers.txs.len()));
    group.sample_size(10);
    group.bench_function("stateless_verify", |b| {
        b.iter_batched(|| p.transfers.clone(), |block| block.verify(&verifier).unwrap(), BatchSize::LargeInput)
    });
    group.bench_function("apply_stateful_and_storage", |b| {
        b.iter_batched(
            || (fresh_ledger(&p), verified.clone()),
            |((_dir, mut ledger), block)| ledger.apply(block, None).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, apply_block);
criterion_main!(benches);
