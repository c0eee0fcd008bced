//! The shielded pool on the ledger: shield, shielded transfer and unshield with real Groth16 proofs, the
//! per-pool supply turnstile, and every refusal of issue 8 that needs the ledger (nullifier reuse, unknown
//! anchor, a proof moved to another transaction, a crossing that does not match the proof, value minted from
//! the shielded pool outside a shielded transaction, parameters other than the pinned ones).

mod common;

use common::{TestChain, CHAIN};
use ctchain_circuits::{
    params, Anchor, AssetTag, AuditSecretKey, CircuitError, Frontier, Note, Payment, SpendInput, SpendingKey,
    TransferProvingKey, TransferRequest, UnprovenTransfer, Witness,
};
use ctchain_crypto::{AssetId, OwnedOutput, Transaction};
use ctchain_ledger::shielded::{binding_hash, shielded_tx_id};
use ctchain_ledger::{LedgerError, LedgerTx, ShieldedConfig, ShieldedTx, TxKind, TxRejection, VerifiedLedgerTx};
use rand_chacha::ChaCha20Rng;

struct Pool {
    chain: TestChain,
    proving_key: TransferProvingKey,
    auditor: AuditSecretKey,
}

fn pool(seed: u64) -> Pool {
    let mut rng = <ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(seed ^ 0x5eed);
    let (proving_key, verifying_key) = ctchain_circuits::setup(&mut rng).unwrap();
    let vk_file = params::verifying_key_to_bytes(&verifying_key).unwrap();
    let auditor = AuditSecretKey::random(&mut rng);
    let config = ShieldedConfig {
        verifying_key_hash: params::file_hash(&vk_file),
        audit_key: auditor.public_key(),
        recent_roots: 4,
    };
    let mut chain = TestChain::with_genesis(seed, |g| g.shielded = Some(config));

    // Until the pinned verifying key is loaded, shielded transactions cannot be checked.
    let mut altered = vk_file.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    assert!(matches!(chain.ledger.load_shielded_verifying_key(&altered), Err(LedgerError::ShieldedParameters(_))));
    assert!(chain.ledger.verifier().shielded.is_none());
    chain.ledger.load_shielded_verifying_key(&vk_file).unwrap();
    Pool { chain, proving_key, auditor }
}

/// What the wallet does: build the statement, bind the crossing to it, prove for the resulting id.
fn finish(
    pool: &mut Pool,
    unproven: &UnprovenTransfer,
    crossing: impl FnOnce(ctchain_codec::Hash32, &mut ChaCha20Rng) -> Option<Transaction>,
) -> ShieldedTx {
    let binding = binding_hash(CHAIN, &unproven.statement, &unproven.note_ciphertexts);
    let crossing = crossing(binding, &mut pool.chain.rng);
    let id = shielded_tx_id(&binding, crossing.as_ref().map(Transaction::id).as_ref());
    let proof = unproven.prove(&pool.proving_key, id.as_bytes(), &mut pool.chain.rng).unwrap();
    ShieldedTx {
        chain_id: CHAIN.into(),
        statement: unproven.statement.clone(),
        note_ciphertexts: unproven.note_ciphertexts.clone(),
        crossing,
        proof,
    }
}

fn verify(pool: &Pool, tx: &ShieldedTx) -> Result<VerifiedLedgerTx, TxRejection> {
    VerifiedLedgerTx::verify(LedgerTx::Shielded(Box::new(tx.clone())), pool.chain.ledger.verifier())
}

fn rejection(result: Result<(), LedgerError>) -> TxRejection {
    match result {
        Err(LedgerError::InvalidTransaction { reason, .. }) => reason,
        other => panic!("expected a rejected transaction, got {other:?}"),
    }
}

/// A wallet's view of the note tree: every leaf in order, and witnesses for its own notes.
fn witness_for(pool: &Pool, position: u64) -> Witness {
    let mut frontier = Frontier::new();
    let mut witness = None;
    for record in pool.chain.ledger.notes_range(0, 1_000).unwrap() {
        let appended = frontier.append(record.commitment).unwrap();
        match (&mut witness, record.position == position) {
            (None, true) => witness = Some(Witness::new(&appended)),
            (Some(w), _) => w.update(&appended).unwrap(),
            (None, false) => {}
        }
    }
    let witness = witness.expect("the note is in the tree");
    assert_eq!(witness.root(), frontier.root());
    witness
}

fn shield_request<'a>(
    sk: &'a SpendingKey,
    asset: AssetTag,
    anchor: Anchor,
    amount: u64,
    audit: &AuditSecretKey,
) -> TransferRequest<'a> {
    TransferRequest {
        spending_key: sk,
        asset,
        anchor,
        inputs: [SpendInput::Dummy, SpendInput::Dummy],
        outputs: [Payment { to: sk.address(), value: amount }, Payment { to: sk.address(), value: 0 }],
        public_in: amount,
        public_out: 0,
        audit_key: audit.public_key(),
    }
}

fn crossing_to_shielded(
    pool: &Pool,
    inputs: &[OwnedOutput],
    asset: AssetId,
    amount: u64,
) -> impl FnOnce(ctchain_codec::Hash32, &mut ChaCha20Rng) -> Option<Transaction> {
    let mut builder = pool.chain.builder();
    let alice = pool.chain.keys.alice.address();
    for o in inputs {
        builder.spend(o.clone());
    }
    builder.change_to(alice);
    move |binding, rng| {
        builder.to_shielded(asset, amount, binding);
        Some(builder.build(rng).unwrap())
    }
}

#[test]
fn shield_transfer_unshield_keep_both_pools_balanced_and_refuse_every_forgery() {
    let mut pool = pool(81);
    let cny = pool.chain.keys.cny;
    let tag = AssetTag::from_asset_id(&cny.0);
    let alice_z = SpendingKey::random(&mut pool.chain.rng);
    let bob_z = SpendingKey::random(&mut pool.chain.rng);
    let alice = pool.chain.keys.alice.clone();
    let bob = pool.chain.keys.bob.clone();
    let issue = pool.chain.issue(&alice, cny, 1_000);
    pool.chain.commit(vec![issue]);
    let (_, empty_root, anchors) = pool.chain.ledger.note_tree().unwrap();
    assert_eq!(anchors, vec![empty_root]);

    // ---- shield 600 of Alice's 1,000 confidential CNY ----
    let unproven = shield_request(&alice_z, tag, empty_root, 600, &pool.auditor).build(&mut pool.chain.rng).unwrap();
    let owned = pool.chain.unspent(&alice);
    let crossing = crossing_to_shielded(&pool, &owned, cny, 600);
    let shield = finish(&mut pool, &unproven, crossing);
    assert_eq!(LedgerTx::Shielded(Box::new(shield.clone())).kind(), TxKind::Shield);

    // The crossing must move exactly the proof's public value, and cannot be swapped for another one.
    let binding = shield.binding();
    let mut other = pool.chain.builder();
    other.spend(owned[0].clone()).to_shielded(cny, 599, binding).change_to(alice.address());
    let wrong_amount = ShieldedTx { crossing: Some(other.build(&mut pool.chain.rng).unwrap()), ..shield.clone() };
    assert!(matches!(verify(&pool, &wrong_amount), Err(TxRejection::MalformedCrossing(_))));
    let mut same_amount = pool.chain.builder();
    same_amount.spend(owned[0].clone()).to_shielded(cny, 600, binding).change_to(bob.address());
    let swapped = ShieldedTx { crossing: Some(same_amount.build(&mut pool.chain.rng).unwrap()), ..shield.clone() };
    assert_eq!(verify(&pool, &swapped).unwrap_err(), TxRejection::Shielded(CircuitError::ProofRejected));
    let detached = ShieldedTx { crossing: None, ..shield.clone() };
    assert_eq!(verify(&pool, &detached).unwrap_err(), TxRejection::MissingCrossing);
    let other_chain = ShieldedTx { chain_id: "another-chain".into(), ..shield.clone() };
    assert_eq!(verify(&pool, &other_chain).unwrap_err(), TxRejection::ShieldedWrongChain);

    // Value "from the shielded pool" outside a shielded transaction would be minted from nothing.
    let mut mint = pool.chain.builder();
    mint.from_shielded(cny, 1_000_000, binding).pay(bob.address(), cny, 1_000_000, "free money");
    let mint = mint.build(&mut pool.chain.rng).unwrap();
    assert_eq!(
        VerifiedLedgerTx::verify(LedgerTx::Confidential(mint.clone()), pool.chain.ledger.verifier()).unwrap_err(),
        TxRejection::CrossingOutsideShieldedTx
    );
    // Even if a node skipped that check, the stateful phase refuses it.
    let bypass = VerifiedLedgerTx::from(pool.chain.ledger.verifier().confidential.verify(mint).unwrap());
    assert_eq!(rejection(pool.chain.ledger.check_ledger_tx(&bypass)), TxRejection::CrossingOutsideShieldedTx);

    let verified = verify(&pool, &shield).unwrap();
    pool.chain.commit_ledger(vec![verified]);
    let supply = pool.chain.ledger.supply(&cny).unwrap();
    assert_eq!((supply.shielded, supply.unshielded), (600, 0));
    assert_eq!((supply.confidential_pool(), supply.shielded_pool(), supply.outstanding()), (400, 600, 1_000));
    assert_eq!(pool.chain.balance(&alice, cny), 400);
    let notes = pool.chain.ledger.notes_range(0, 10).unwrap();
    assert_eq!(notes.iter().map(|n| n.position).collect::<Vec<_>>(), vec![0, 1]);
    let alice_note: Note = alice_z
        .incoming_viewing_key()
        .decrypt_note(alice_z.owner(), &notes[0].commitment, &notes[0].ciphertext)
        .unwrap();
    assert_eq!(alice_note.value, 600);
    assert_eq!(pool.chain.ledger.transaction(&shield.crossing.as_ref().unwrap().id()).unwrap().unwrap().height, 2);

    // ---- a shielded transfer of 250 to Bob; a second spend of the same note is refused ----
    let witness = witness_for(&pool, 0);
    let audit_key = pool.auditor.public_key();
    let anchor = pool.chain.ledger.note_tree().unwrap().1;
    assert_eq!(witness.root(), anchor);
    let pay = |to: &SpendingKey, value: u64, change: u64, rng: &mut ChaCha20Rng| {
        TransferRequest {
            spending_key: &alice_z,
            asset: tag,
            anchor,
            inputs: [SpendInput::Note { note: alice_note, path: Box::new(witness.path().clone()) }, SpendInput::Dummy],
            outputs: [Payment { to: to.address(), value }, Payment { to: alice_z.address(), value: change }],
            public_in: 0,
            public_out: 0,
            audit_key,
        }
        .build(rng)
        .unwrap()
    };
    let to_bob = pay(&bob_z, 250, 350, &mut pool.chain.rng);
    let to_bob = finish(&mut pool, &to_bob, |_, _| None);
    let again = pay(&alice_z, 600, 0, &mut pool.chain.rng);
    let again = finish(&mut pool, &again, |_, _| None);
    assert_eq!(LedgerTx::Shielded(Box::new(to_bob.clone())).kind(), TxKind::ShieldedTransfer);
    let (first, second) = (verify(&pool, &to_bob).unwrap(), verify(&pool, &again).unwrap());
    let ts = pool.chain.ledger.tip_timestamp_ms() + 1;
    match pool.chain.ledger.propose(vec![first.clone(), second.clone()], pool.chain.ledger.next_block_seq(), ts, 0, 0) {
        Err(LedgerError::InvalidTransaction {
            index: 1,
            reason: TxRejection::NullifierSpentInBlock { earlier: 0, .. },
            ..
        }) => {}
        other => panic!("a block revealing one nullifier twice must be refused, got {other:?}"),
    }
    pool.chain.commit_ledger(vec![first]);
    assert_eq!(
        rejection(pool.chain.ledger.check_ledger_tx(&second)),
        TxRejection::Shielded(CircuitError::NullifierSpent)
    );
    let nf = to_bob.statement.nullifiers[0];
    assert_eq!(pool.chain.ledger.nullifier(&nf).unwrap().unwrap().tx_id, to_bob.id());
    // The regulator reads the transfer from the statement alone.
    let copies = pool.auditor.decrypt_statement(&to_bob.statement).unwrap();
    assert_eq!((copies[0].value, copies[0].receiver, copies[0].sender), (250, bob_z.owner(), alice_z.owner()));
    assert_eq!(copies[1].value, 350);

    // ---- an anchor the chain never had is refused ----
    let mut fake_tree = Frontier::new();
    fake_tree.append(notes[0].commitment).unwrap();
    let unknown = shield_request(&alice_z, tag, fake_tree.root(), 1, &pool.auditor).build(&mut pool.chain.rng).unwrap();
    let owned = pool.chain.unspent(&alice);
    let crossing = crossing_to_shielded(&pool, &owned, cny, 1);
    let unknown = finish(&mut pool, &unknown, crossing);
    let unknown = verify(&pool, &unknown).unwrap();
    assert_eq!(
        rejection(pool.chain.ledger.check_ledger_tx(&unknown)),
        TxRejection::Shielded(CircuitError::UnknownAnchor)
    );

    // ---- Bob unshields 100 of his 250 to his confidential address ----
    let bob_notes = pool.chain.ledger.notes_range(0, 10).unwrap();
    let (position, bob_note) = bob_notes
        .iter()
        .find_map(|n| {
            bob_z
                .incoming_viewing_key()
                .decrypt_note(bob_z.owner(), &n.commitment, &n.ciphertext)
                .ok()
                .map(|note| (n.position, note))
        })
        .unwrap();
    assert_eq!((position, bob_note.value), (2, 250));
    let witness = witness_for(&pool, position);
    let unproven = TransferRequest {
        spending_key: &bob_z,
        asset: tag,
        anchor: witness.root(),
        inputs: [SpendInput::Note { note: bob_note, path: Box::new(witness.path().clone()) }, SpendInput::Dummy],
        outputs: [Payment { to: bob_z.address(), value: 150 }, Payment { to: bob_z.address(), value: 0 }],
        public_in: 0,
        public_out: 100,
        audit_key: pool.auditor.public_key(),
    }
    .build(&mut pool.chain.rng)
    .unwrap();
    let builder = pool.chain.builder();
    let bob_address = bob.address();
    let unshield = finish(&mut pool, &unproven, move |binding, rng| {
        let mut b = builder;
        b.from_shielded(cny, 100, binding).pay(bob_address, cny, 100, "from the shielded pool");
        Some(b.build(rng).unwrap())
    });
    assert_eq!(LedgerTx::Shielded(Box::new(unshield.clone())).kind(), TxKind::Unshield);
    let verified = verify(&pool, &unshield).unwrap();
    pool.chain.commit_ledger(vec![verified]);
    assert_eq!(pool.chain.balance(&bob, cny), 100);
    let supply = pool.chain.ledger.supply(&cny).unwrap();
    assert_eq!((supply.shielded, supply.unshielded), (600, 100));
    assert_eq!((supply.confidential_pool(), supply.shielded_pool(), supply.outstanding()), (500, 500, 1_000));
    assert_eq!(pool.chain.ledger.note_tree().unwrap().0, 6);

    // The state root covers nullifiers, the note tree and both pools' counters, and survives a restart.
    let root = pool.chain.ledger.state_root();
    assert_eq!(pool.chain.ledger.recompute_state_root().unwrap(), root);
    let tree = pool.chain.ledger.note_tree();
    let TestChain { dir, ledger, .. } = pool.chain;
    drop(ledger);
    let reopened = ctchain_ledger::Ledger::open_existing(dir.path()).unwrap();
    assert_eq!(reopened.state_root(), root);
    assert_eq!(reopened.note_tree(), tree);
    assert!(reopened.nullifier(&nf).unwrap().is_some());
    assert_eq!(reopened.shielded_range(1, reopened.height()).unwrap().len(), 3);
}
