//! Dishonest provers: each invalid statement is rejected, for its own reason.

use super::*;
use curve25519_dalek::scalar::Scalar;

#[test]
fn overflow_beyond_two_to_the_64_is_rejected_by_the_range_proof() {
    let mut w = World::new(20);
    let alice = w.alice.address();
    // The builder refuses outright: u64::MAX plus one more unit is not an amount.
    let mut b = w.builder();
    b.issue(&w.issuer.clone(), w.cny, u64::MAX).issue(&w.issuer.clone(), w.cny, 1).pay(alice, w.cny, 1, "");
    assert_eq!(b.build(&mut w.rng).unwrap_err(), BuildError::AmountOverflow(w.cny));

    // A forger holding 2^64 − 1 and 1 merges them into one output of 2^64: limbs [0, 0, 0, 2^16].
    let big = w.issue_to(&alice, w.cny, u64::MAX);
    let one = w.issue_to(&alice, w.cny, 1);
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &big)[0].clone()).spend(w.owned_by(&w.alice, &one)[0].clone());
    b.pay(alice, w.cny, u64::MAX, "").pay(alice, w.cny, 1, "");
    let mut plan = b.plan(&mut w.rng).unwrap();
    let merged = &mut plan.outputs[0];
    merged.limb_values = [Scalar::ZERO, Scalar::ZERO, Scalar::ZERO, Scalar::from(1u64 << 16)];
    plan.outputs.truncate(1);
    let tx = plan.build(&mut w.rng).unwrap();
    // Balance and the audit proof hold (the statement is consistent); only the range proof catches it.
    assert_eq!(w.verifier().verify(tx).unwrap_err(), VerifyError::RangeProof { asset: w.cny });
}

#[test]
fn negative_amount_disguised_as_a_large_one_is_rejected_by_the_range_proof() {
    let mut w = World::new(21);
    let alice = w.alice.address();
    let funds = w.issue_to(&alice, w.cny, 10);
    // Pay Eve 15 out of 10 by giving oneself −5 (= ℓ − 5, a "large" number mod the group order).
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &funds)[0].clone()).pay(w.eve.address(), w.cny, 15, "").pay(alice, w.cny, 0, "");
    // The honest builder refuses: 10 < 15.
    assert!(matches!(b.clone().build(&mut w.rng), Err(BuildError::InsufficientFunds { .. })));
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &funds)[0].clone()).pay(w.eve.address(), w.cny, 10, "").pay(alice, w.cny, 0, "");
    let mut plan = b.plan(&mut w.rng).unwrap();
    plan.outputs[0].limb_values[0] = Scalar::from(15u8);
    plan.outputs[1].limb_values[0] = -Scalar::from(5u8);
    let tx = plan.build(&mut w.rng).unwrap();
    assert_eq!(w.verifier().verify(tx).unwrap_err(), VerifyError::RangeProof { asset: w.cny });
}

#[test]
fn creating_value_fails_the_balance_check() {
    let mut w = World::new(22);
    let alice = w.alice.address();
    let funds = w.issue_to(&alice, w.cny, 10);
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &funds)[0].clone()).pay(w.eve.address(), w.cny, 10, "");
    let mut plan = b.plan(&mut w.rng).unwrap();
    plan.outputs[0].limb_values[0] = Scalar::from(11u8);
    plan.outputs[0].amount = 11;
    let tx = plan.build(&mut w.rng).unwrap();
    assert_eq!(w.verifier().verify(tx).unwrap_err(), VerifyError::Balance);
}

#[test]
fn forged_audit_copy_with_other_randomness_is_rejected() {
    let mut w = World::new(23);
    let alice = w.alice.address();
    let funds = w.issue_to(&alice, w.cny, 1_000);
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &funds)[0].clone()).pay(w.bob.address(), w.cny, 600, "").sender(alice);
    let mut plan = b.plan(&mut w.rng).unwrap();
    // The payment's limb 1 handle encrypts under fresh randomness: the regulator would decrypt garbage.
    plan.outputs[0].handle_blindings[1] = Scalar::random(&mut w.rng);
    let tx = plan.build(&mut w.rng).unwrap();
    assert_eq!(w.verifier().verify(tx.clone()).unwrap_err(), VerifyError::AuditValidity { output: 0 });
    // And indeed the regulator could not read it.
    let table = LimbTable::new(w.cny);
    assert!(w.auditor.audit_output(0, &tx.body.outputs[0], &table).is_err());
}

#[test]
fn a_memo_that_lies_about_the_amount_is_caught_by_receiver_and_regulator() {
    let mut w = World::new(24);
    let alice = w.alice.address();
    let funds = w.issue_to(&alice, w.cny, 1_000);
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &funds)[0].clone()).pay(w.bob.address(), w.cny, 600, "").sender(alice);
    let mut plan = b.plan(&mut w.rng).unwrap();
    plan.outputs[0].amount = 6_000; // the memo claims ten times what is committed
    let tx = w.verifier().verify(plan.build(&mut w.rng).unwrap()).expect("the commitments themselves are valid");
    let output = &tx.transaction().body.outputs[0];
    let id = OutputId::new(&tx.id(), 0);
    assert!(matches!(w.bob.viewing_keys().receive(id, output), Some(Err(MemoError::OpeningMismatch))));
    let audited = w.auditor.audit_output(0, output, &LimbTable::new(w.cny)).unwrap();
    assert_eq!(audited.amount, 600, "the proven amount");
    assert!(!audited.memo_agrees(output), "the regulator flags the lying memo");
}

#[test]
fn a_transaction_for_another_chain_is_rejected() {
    let mut w = World::new(25);
    let alice = w.alice.address();
    let tx = w.issue_to(&alice, w.cny, 5).into_inner();
    let other = Verifier::new("another-chain", w.audit_keys());
    assert_eq!(
        other.verify(tx.clone()).unwrap_err(),
        VerifyError::WrongChainId { expected: "another-chain".into(), found: CHAIN.into() }
    );
    // Replaying the proofs with the chain id rewritten: every proof was bound to the old chain id.
    let mut replayed = tx;
    replayed.body.chain_id = "another-chain".into();
    assert_eq!(other.verify(replayed).unwrap_err(), VerifyError::Balance);
}

#[test]
fn outputs_for_other_audit_keys_are_rejected() {
    let mut w = World::new(26);
    let alice = w.alice.address();
    let mut b = TransactionBuilder::new(CHAIN, vec![w.second_auditor.public()]);
    b.issue(&w.issuer.clone(), w.cny, 5).pay(alice, w.cny, 5, "");
    let tx = b.build(&mut w.rng).unwrap();
    assert_eq!(w.verifier().verify(tx).unwrap_err(), VerifyError::WrongAuditKeys);
}

#[test]
fn a_stolen_or_wrong_signature_names_its_input_or_issuance() {
    let mut w = World::new(27);
    let alice = w.alice.address();
    let a = w.issue_to(&alice, w.cny, 5);
    let b_tx = w.issue_to(&alice, w.cny, 6);
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &a)[0].clone())
        .spend(w.owned_by(&w.alice, &b_tx)[0].clone())
        .pay(alice, w.cny, 11, "");
    let tx = b.build(&mut w.rng).unwrap();

    let mut swapped = tx.clone();
    swapped.witness.owner_signatures.swap(0, 1);
    assert_eq!(w.verifier().verify(swapped).unwrap_err(), VerifyError::OwnerSignature { input: 0 });

    let mut issuance = a.into_inner();
    issuance.witness.issuer_signatures[0] = tx.witness.owner_signatures[0];
    assert_eq!(w.verifier().verify(issuance).unwrap_err(), VerifyError::IssuerSignature { index: 0 });
}

#[test]
fn issuance_signed_by_another_key_than_it_names_is_rejected() {
    let mut w = World::new(28);
    let alice = w.alice.address();
    let mallory = SigningKey::random(&mut w.rng);
    let mut b = w.builder();
    b.issue(&mallory, w.cny, 5).pay(alice, w.cny, 5, "");
    let mut plan = b.plan(&mut w.rng).unwrap();
    // Claim the real issuer's key but sign with Mallory's.
    plan.public[0].kind = PublicKind::Issue { issuer: w.issuer.public() };
    plan.issuer_keys = vec![mallory];
    // The builder only signs with a key matching the named one, so it produces no signature at all …
    let tx = plan.build(&mut w.rng).unwrap();
    assert_eq!(tx.witness.issuer_signatures.len(), 0);
    // … which the verifier reports as a malformed witness; with Mallory's signature added, as a bad signature.
    assert!(matches!(
        w.verifier().verify(tx.clone()).unwrap_err(),
        VerifyError::Structure(StructureError::WitnessCount { .. })
    ));
    let mut forged = tx;
    let mallory_sig = {
        let mut b = w.builder();
        b.issue(&SigningKey::random(&mut w.rng), w.cny, 5).pay(alice, w.cny, 5, "");
        b.build(&mut w.rng).unwrap().witness.issuer_signatures[0]
    };
    forged.witness.issuer_signatures.push(mallory_sig);
    assert_eq!(w.verifier().verify(forged).unwrap_err(), VerifyError::IssuerSignature { index: 0 });
}

#[test]
fn structural_rules_are_enforced_with_named_errors() {
    let mut w = World::new(29);
    let alice = w.alice.address();
    let funds = w.issue_to(&alice, w.cny, 9);
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &funds)[0].clone()).pay(alice, w.cny, 4, "").fee(w.cny, 1).change_to(alice);
    let tx = b.build(&mut w.rng).unwrap();
    let v = w.verifier();

    let mut dup = tx.clone();
    dup.body.inputs.push(dup.body.inputs[0].clone());
    dup.witness.owner_signatures.push(dup.witness.owner_signatures[0]);
    assert_eq!(
        v.verify(dup).unwrap_err(),
        VerifyError::Structure(StructureError::DuplicateInput { first: 0, second: 1 })
    );

    let mut no_proof = tx.clone();
    no_proof.witness.range_proofs.clear();
    assert!(matches!(
        v.verify(no_proof).unwrap_err(),
        VerifyError::Structure(StructureError::WitnessCount { expected: 1, found: 0, .. })
    ));

    let mut short_memo = tx.clone();
    short_memo.body.outputs[0].receiver_memo.pop();
    assert!(matches!(
        v.verify(short_memo).unwrap_err(),
        VerifyError::Structure(StructureError::MemoLength { output: 0, .. })
    ));

    let mut missing_copy = tx.clone();
    missing_copy.body.outputs[1].audit_handles.clear();
    assert!(matches!(
        v.verify(missing_copy).unwrap_err(),
        VerifyError::Structure(StructureError::AuditCopyCount { output: 1, .. })
    ));

    let mut unsorted = tx.clone();
    unsorted.body.public.push(unsorted.body.public[0]);
    assert_eq!(v.verify(unsorted).unwrap_err(), VerifyError::Structure(StructureError::PublicAmountsOrder));

    let mut zero_fee = tx.clone();
    zero_fee.body.public[0].amount = 0;
    assert_eq!(v.verify(zero_fee).unwrap_err(), VerifyError::Structure(StructureError::ZeroPublicAmount { index: 0 }));

    let mut wrong_size = tx.clone();
    wrong_size.witness.range_proofs[0] = w.issue_to(&alice, w.usd, 1).into_inner().witness.range_proofs[0].clone();
    // A one-output proof (4 limbs) where the transaction has two outputs (8 limbs) of this asset.
    assert!(matches!(
        v.verify(wrong_size).unwrap_err(),
        VerifyError::Structure(StructureError::RangeProofSize { limbs: 8, .. })
    ));
}

#[test]
fn builder_errors_are_clear_and_lose_nothing() {
    let mut w = World::new(30);
    let alice = w.alice.address();
    let funds = w.issue_to(&alice, w.cny, 100);
    let owned = w.owned_by(&w.alice, &funds)[0].clone();

    let mut b = w.builder();
    b.spend(owned.clone()).pay(w.bob.address(), w.cny, 40, "");
    assert_eq!(b.build(&mut w.rng).unwrap_err(), BuildError::NoChangeAddress { asset: w.cny, surplus: 60 });
    // Fix the plan on the same builder and build again.
    b.change_to(alice);
    assert!(w.verifier().verify(b.build(&mut w.rng).unwrap()).is_ok());

    let mut b = w.builder();
    b.spend(owned.clone()).spend(owned.clone());
    assert_eq!(b.build(&mut w.rng).unwrap_err(), BuildError::DuplicateInput(owned.output_id));

    let mut b = w.builder();
    b.spend(owned.clone()).pay(w.bob.address(), w.cny, 100, "x".repeat(MEMO_TEXT_MAX + 1));
    assert_eq!(b.build(&mut w.rng).unwrap_err(), BuildError::Memo(MemoError::TextTooLong(MEMO_TEXT_MAX + 1)));

    let mut b = w.builder();
    for _ in 0..=MAX_OUTPUTS {
        b.issue(&w.issuer.clone(), w.cny, 1).pay(alice, w.cny, 1, "");
    }
    assert_eq!(b.build(&mut w.rng).unwrap_err(), BuildError::TooManyOutputs(MAX_OUTPUTS + 1));

    assert_eq!(TransactionBuilder::new("", vec![]).build(&mut w.rng).unwrap_err(), BuildError::ChainIdLength);
    assert_eq!(w.builder().build(&mut w.rng).unwrap_err(), BuildError::Empty);
}

/// The attack of issue 17: a watch-listed payer (Eve) pays Bob and names an innocent party (Alice) as the sender.
#[test]
fn a_payer_naming_another_party_as_sender_is_refused() {
    let mut w = World::new(40);
    let eve = w.eve.address();
    let funds = w.issue_to(&eve, w.cny, 1_000);
    let eve_funds = w.owned_by(&w.eve, &funds)[0].clone();

    // Through the public API: the memo's sender must be the owner of the inputs.
    let mut b = w.builder();
    b.spend(eve_funds.clone()).pay(w.bob.address(), w.cny, 600, "from Alice").sender(w.alice.address());
    assert_eq!(b.build(&mut w.rng).unwrap_err(), BuildError::SenderIsNotTheOwner);

    // A forger encrypting Alice's identity as the sender cannot prove it: refused at validation, for that reason.
    let mut b = w.builder();
    b.spend(eve_funds.clone()).pay(w.bob.address(), w.cny, 600, "").change_to(eve);
    let mut plan = b.plan(&mut w.rng).unwrap();
    plan.sender_identity = Some(w.alice.address().spend);
    plan.sender = Some(w.alice.address());
    let tx = plan.build(&mut w.rng).unwrap();
    assert_eq!(w.verifier().verify(tx).unwrap_err(), VerifyError::SenderIdentity);

    // Honestly built, the regulator decrypts Eve as the sender and Bob as the receiver, both proven.
    let mut b = w.builder();
    b.spend(eve_funds).pay(w.bob.address(), w.cny, 600, "").sender(eve);
    let tx = w.verifier().verify(b.build(&mut w.rng).unwrap()).unwrap();
    let body = &tx.transaction().body;
    assert_eq!(w.auditor.audit_sender(0, body).unwrap(), Some(eve.spend));
    let audited = w.auditor.audit_output(0, &body.outputs[0], &LimbTable::new(w.cny)).unwrap();
    assert_eq!(audited.receiver, Some(w.bob.address().spend));
    assert!(audited.memo_disagreements(&body.outputs[0], Some(&eve.spend)).is_empty());
    // The memo claim checked against the proven sender: naming Alice disagrees.
    let mut claimed = audited.clone();
    claimed.memo.as_mut().unwrap().sender = Some(w.alice.address());
    assert_eq!(claimed.memo_disagreements(&body.outputs[0], Some(&eve.spend)), vec![MemoDisagreement::Sender]);
}

#[test]
fn a_receiver_identity_of_another_party_is_refused() {
    let mut w = World::new(41);
    let alice = w.alice.address();
    let funds = w.issue_to(&alice, w.cny, 1_000);
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &funds)[0].clone()).pay(w.bob.address(), w.cny, 600, "").sender(alice);
    let mut plan = b.plan(&mut w.rng).unwrap();
    // Paying Bob while telling the regulator that Eve received it.
    plan.outputs[0].receiver_identity = w.eve.address().spend;
    let tx = plan.build(&mut w.rng).unwrap();
    assert_eq!(w.verifier().verify(tx).unwrap_err(), VerifyError::ReceiverIdentity { output: 0 });
}

#[test]
fn inputs_of_two_owners_cannot_make_one_sender() {
    let mut w = World::new(42);
    let (alice, bob) = (w.alice.address(), w.bob.address());
    let a = w.issue_to(&alice, w.cny, 5);
    let b_funds = w.issue_to(&bob, w.cny, 6);
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &a)[0].clone()).spend(w.owned_by(&w.bob, &b_funds)[0].clone());
    b.pay(w.eve.address(), w.cny, 11, "");
    assert_eq!(b.build(&mut w.rng).unwrap_err(), BuildError::InputsOfSeveralOwners { input: 1 });
}

#[test]
fn party_identities_must_come_one_per_audit_key() {
    let mut w = World::new(43);
    let alice = w.alice.address();
    let funds = w.issue_to(&alice, w.cny, 10);
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &funds)[0].clone()).pay(w.bob.address(), w.cny, 10, "").sender(alice);
    let tx = b.build(&mut w.rng).unwrap();

    let mut dropped = tx.clone();
    dropped.body.outputs[0].receiver_identities.clear();
    assert!(matches!(
        w.verifier().verify(dropped).unwrap_err(),
        VerifyError::Structure(StructureError::IdentityCount { found: 0, expected: 1, .. })
    ));
    let mut dropped = tx.clone();
    dropped.body.sender_identities.clear();
    assert!(matches!(
        w.verifier().verify(dropped).unwrap_err(),
        VerifyError::Structure(StructureError::IdentityCount { found: 0, expected: 1, .. })
    ));
    let mut dropped = tx.clone();
    dropped.witness.sender_proof = None;
    assert_eq!(
        w.verifier().verify(dropped).unwrap_err(),
        VerifyError::Structure(StructureError::SenderProofPresence("missing"))
    );
}
