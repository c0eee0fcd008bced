//! What admission adds on top of proof checking: 64 independent transfers through the node's one door (size,
//! decoding, duplicate checks, proofs, the stateful check against a RocksDB ledger, the pool's conflict checks)
//! against `Verifier::verify` of the same transactions, side by side in one run.
//!
//! `cargo bench --profile dev -p ctchain-benches --bench admission`

use std::cell::RefCell;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ctchain_codec::Encode;
use ctchain_crypto::{Transaction, TransactionBuilder};
use ctchain_ledger::{TxTag, VerifiedLedgerTx};
use ctchain_mempool::{Admission, Mempool, MempoolConfig};

#[path = "../../crates/ledger/tests/common/mod.rs"]
mod common;

const TRANSFERS: usize = 64;

/// A chain where Alice owns `TRANSFERS` outputs, and one transfer spending each (none conflicts).
fn setup() -> (common::TestChain, Vec<Transaction>) {
    let mut chain = common::TestChain::new(42);
    let alice = chain.keys.alice.clone();
    let cny = chain.keys.cny;
    let issuances = (0..TRANSFERS).map(|_| chain.issue(&alice, cny, 100)).collect();
    chain.commit(issuances);
    let bob = chain.keys.bob.address();
    let transfers = chain
        .unspent(&alice)
        .into_iter()
        .map(|owned| {
            let mut b: TransactionBuilder = chain.builder();
            b.spend(owned).pay(bob, cny, 60, "bench").change_to(alice.address());
            b.build(&mut chain.rng).expect("a valid transfer")
        })
        .collect();
    (chain, transfers)
}

fn admission(c: &mut Criterion) {
    let (chain, transfers) = setup();
    let tagged: Vec<Vec<u8>> = transfers.iter().map(|t| TxTag::Confidential.tagged(&t.to_bytes())).collect();
    let mut group = c.benchmark_group("admission_64_transfers");
    group.sample_size(10);
    group.bench_function("raw_verification", |b| {
        b.iter_batched(
            || transfers.clone(),
            |txs| {
                for tx in txs {
                    let verified = chain.ledger.verifier().confidential.verify(tx).expect("valid");
                    std::hint::black_box(VerifiedLedgerTx::from(verified));
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("through_the_door", |b| {
        b.iter_batched(
            // A fresh door (empty cache) and pool each time, so every proof is checked.
            || {
                let door = Admission::new(chain.ledger.verifier().clone(), MempoolConfig::default().max_tx_bytes);
                (door, RefCell::new(Mempool::new(MempoolConfig::default())))
            },
            |(door, pool)| {
                for bytes in &tagged {
                    door.admit(&chain.ledger, &pool, bytes).expect("admitted");
                }
                std::hint::black_box(pool.borrow().len())
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, admission);
criterion_main!(benches);
