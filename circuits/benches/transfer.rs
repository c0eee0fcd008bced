//! Prove and verify times of the transfer circuit, plus the native operations the ledger and wallets run per
//! note (tree append, witness update). `cargo bench -p ctchain-circuits` measures; under `cargo test` each
//! benchmark runs once, so CI only checks that it works.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ctchain_circuits::{
    constraint_count, setup, verify, AssetTag, AuditSecretKey, Frontier, Note, NoteCommitment, Payment, SpendInput,
    SpendingKey, TransferRequest, Witness,
};
use ctchain_codec::Encode;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn bench_transfer(c: &mut Criterion) {
    // TEST ONLY: seeded keys; production keys come from `ctchain-params setup` (OS randomness).
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let (pk, vk) = setup(&mut rng).expect("setup");
    let alice = SpendingKey::random(&mut rng);
    let bob = SpendingKey::random(&mut rng);
    let auditor = AuditSecretKey::random(&mut rng);
    let asset = AssetTag::from_asset_id(&[7; 32]);
    let mut tree = Frontier::new();
    let mut notes = Vec::new();
    for value in [40u64, 2] {
        let note = Note::new(asset, value, alice.owner(), &mut rng);
        let appended = tree.append(note.commitment()).expect("room");
        for (_, w) in notes.iter_mut() {
            Witness::update(w, &appended).expect("in order");
        }
        notes.push((note, Witness::new(&appended)));
    }
    let request = TransferRequest {
        spending_key: &alice,
        asset,
        anchor: tree.root(),
        inputs: [
            SpendInput::Note { note: notes[0].0, path: Box::new(notes[0].1.path().clone()) },
            SpendInput::Note { note: notes[1].0, path: Box::new(notes[1].1.path().clone()) },
        ],
        outputs: [Payment { to: bob.address(), value: 30 }, Payment { to: alice.address(), value: 12 }],
        public_in: 0,
        public_out: 0,
        audit_key: auditor.public_key(),
    };
    let unproven = request.build(&mut rng).expect("build");
    let tx_id = [9u8; 32];
    let proof = unproven.prove(&pk, &tx_id, &mut rng).expect("prove");
    let statement_bytes = unproven.statement.to_bytes().len();
    let ciphertext_bytes: usize = unproven.note_ciphertexts.iter().map(|c| c.to_bytes().len()).sum();
    println!(
        "transfer circuit: {} constraints; proof {} bytes; statement {} bytes; receiver ciphertexts {} bytes",
        constraint_count().unwrap_or(0),
        proof.to_bytes().len(),
        statement_bytes,
        ciphertext_bytes
    );

    let mut group = c.benchmark_group("transfer");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("prove", |b| b.iter(|| unproven.prove(&pk, &tx_id, &mut rng).expect("prove")));
    group.bench_function("verify", |b| b.iter(|| verify(&vk, &unproven.statement, &tx_id, &proof).expect("verifies")));
    group.finish();

    let mut group = c.benchmark_group("tree");
    group.bench_function("append", |b| {
        b.iter_batched(
            || tree.clone(),
            |mut t| t.append(NoteCommitment(ark_bn254::Fr::from(5u64))).expect("room"),
            BatchSize::SmallInput,
        )
    });
    let mut growing = tree.clone();
    let appended = growing.append(NoteCommitment(ark_bn254::Fr::from(6u64))).expect("room");
    group.bench_function("append_and_update_witness", |b| {
        b.iter_batched(
            || Witness::new(&appended),
            |mut w| {
                let mut t = growing.clone();
                let next = t.append(NoteCommitment(ark_bn254::Fr::from(8u64))).expect("room");
                w.update(&next).expect("in order")
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_transfer);
criterion_main!(benches);
