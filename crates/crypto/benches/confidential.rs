//! Prover and verifier costs of confidential transfers, and the raw Bulletproofs baseline they compare with.

use bulletproofs::{BulletproofGens, PedersenGens, RangeProof};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ctchain_crypto::{
    AssetId, AuditSecretKey, LimbTable, OutputId, SigningKey, Transaction, TransactionBuilder, Verifier, WalletKeys,
};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const CHAIN: &str = "ctchain-bench";

struct Setup {
    rng: ChaCha20Rng,
    verifier: Verifier,
    auditor: AuditSecretKey,
    builder: TransactionBuilder,
    asset: AssetId,
}

/// A 2-input, 2-output transfer ready to build: Alice spends two issued outputs, pays Bob, takes change.
fn setup() -> Setup {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let auditor = AuditSecretKey::random(&mut rng);
    let issuer = SigningKey::random(&mut rng);
    let alice = WalletKeys::random(&mut rng);
    let bob = WalletKeys::random(&mut rng);
    let asset = AssetId::from_label("CNY");
    let verifier = Verifier::new(CHAIN, vec![auditor.public()]);
    let mut builder = TransactionBuilder::new(CHAIN, vec![auditor.public()]);
    for amount in [700u64, 800] {
        let mut b = TransactionBuilder::new(CHAIN, vec![auditor.public()]);
        b.issue(&issuer, asset, amount).pay(alice.address(), asset, amount, "");
        let tx = verifier.verify(b.build(&mut rng).unwrap()).unwrap();
        let received = alice.viewing_keys().receive(OutputId::new(&tx.id(), 0), &tx.transaction().body.outputs[0]);
        builder.spend(alice.owned(&received.unwrap().unwrap()));
    }
    builder.pay(bob.address(), asset, 1_000, "bench").change_to(alice.address());
    Setup { rng, verifier, auditor, builder, asset }
}

fn transfer(c: &mut Criterion) {
    let mut s = setup();
    let mut group = c.benchmark_group("transfer_2in_2out");
    group.sample_size(20);
    group.bench_function("prove", |b| b.iter(|| s.builder.build(&mut s.rng).unwrap()));
    let tx = s.builder.build(&mut s.rng).unwrap();
    group.bench_function("verify", |b| {
        b.iter_batched(|| tx.clone(), |tx| s.verifier.verify(tx).unwrap(), BatchSize::SmallInput)
    });
    group.finish();

    let mut group = c.benchmark_group("verify_batch_2in_2out");
    group.sample_size(10);
    for n in [1usize, 8, 64] {
        let txs: Vec<Transaction> = (0..n).map(|_| s.builder.build(&mut s.rng).unwrap()).collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &txs, |b, txs| {
            b.iter_batched(
                || txs.clone(),
                |txs| assert!(s.verifier.verify_batch(txs).iter().all(Result::is_ok)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();

    let mut group = c.benchmark_group("audit");
    group.sample_size(20);
    let table = LimbTable::new(s.asset);
    let output = tx.body.outputs[0].clone();
    group.bench_function("decrypt_one_output", |b| b.iter(|| s.auditor.audit_output(0, &output, &table).unwrap()));
    group.bench_function("build_limb_table", |b| b.iter(|| LimbTable::new(s.asset)));
    group.finish();
}

/// The baseline: one plain Bulletproof aggregating two 64-bit values (what a 2-output transfer needs without
/// limbs), proved and verified with the bulletproofs crate alone.
fn raw_bulletproofs(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let bp = BulletproofGens::new(64, 2);
    let pc = PedersenGens::default();
    let values = [1_000u64, 500];
    let blindings = [Scalar::from(3u8), Scalar::from(5u8)];
    let (proof, commitments) =
        RangeProof::prove_multiple_with_rng(&bp, &pc, &mut Transcript::new(b"raw"), &values, &blindings, 64, &mut rng)
            .unwrap();
    let mut group = c.benchmark_group("raw_bulletproofs_64bit_x2");
    group.sample_size(20);
    group.bench_function("verify", |b| {
        b.iter(|| {
            proof.verify_multiple_with_rng(&bp, &pc, &mut Transcript::new(b"raw"), &commitments, 64, &mut rng).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, transfer, raw_bulletproofs);
criterion_main!(benches);
