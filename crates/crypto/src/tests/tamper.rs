//! Tampering after proving: every field of the statement is bound by every proof (Frozen Heart), and every
//! single-bit change of an encoded transaction is rejected.

use ctchain_codec::{Decode, Encode};
use rand_core::OsRng;
use rayon::prelude::*;

use super::*;
use crate::audit::AuditStatement;
use crate::batch::BatchChecker;
use crate::generators::{blinding_base, key_base};
use crate::identity::PartyStatement;
use crate::point::Point;

/// A 1-input, 2-output transfer with a fee, encrypted to two audit keys: every kind of statement field occurs.
fn rich_transfer(w: &mut World) -> (Transaction, Vec<AuditPublicKey>) {
    let keys = vec![w.auditor.public(), w.second_auditor.public()];
    let alice = w.alice.address();
    let mut b = TransactionBuilder::new(CHAIN, keys.clone());
    b.issue(&w.issuer.clone(), w.cny, 1_000).pay(alice, w.cny, 1_000, "");
    let funds = Verifier::new(CHAIN, keys.clone()).verify(b.build(&mut w.rng).unwrap()).unwrap();
    let owned = w.owned_by(&w.alice, &funds);
    let mut b = TransactionBuilder::new(CHAIN, keys.clone());
    b.spend(owned[0].clone()).pay(w.bob.address(), w.cny, 250, "rent").fee(w.cny, 3).sender(alice);
    (b.build(&mut w.rng).unwrap(), keys)
}

/// Names of the individual proofs and signatures of `tx` that still verify against its (possibly altered) body.
fn proofs_still_accepting(tx: &Transaction) -> Vec<String> {
    let body = &tx.body;
    let id = body.id();
    let chain = body.chain_id.as_str();
    let mut accepting = Vec::new();
    let single = |eq| {
        let mut b = BatchChecker::new();
        b.push(eq);
        b.check(&mut OsRng).is_ok()
    };
    if let Some(excess) = crate::verify::balance_excess(tx).and_then(Point::new) {
        if single(tx.witness.balance_signature.equation(
            (),
            SignaturePurpose::Balance,
            chain,
            &id,
            &blinding_base(),
            &excess,
        )) {
            accepting.push("balance signature".to_string());
        }
    }
    for (i, (input, sig)) in body.inputs.iter().zip(&tx.witness.owner_signatures).enumerate() {
        if single(sig.equation((), SignaturePurpose::Owner, chain, &id, &key_base(), &input.owner_key)) {
            accepting.push(format!("owner signature {i}"));
        }
    }
    for (i, proof) in tx.witness.audit_proofs.iter().enumerate() {
        let statement = AuditStatement::for_output(body, &id, i).unwrap();
        if let Some(eqs) = proof.equations((), &statement) {
            let mut b = BatchChecker::new();
            eqs.into_iter().for_each(|e| b.push(e));
            if b.check(&mut OsRng).is_ok() {
                accepting.push(format!("audit proof {i}"));
            }
        }
    }
    let all_hold = |eqs: Option<Vec<crate::batch::Equation<()>>>| {
        eqs.is_some_and(|eqs| {
            let mut b = BatchChecker::new();
            eqs.into_iter().for_each(|e| b.push(e));
            b.check(&mut OsRng).is_ok()
        })
    };
    for (i, proof) in tx.witness.receiver_proofs.iter().enumerate() {
        if all_hold(PartyStatement::receiver(body, &id, i).and_then(|s| proof.equations((), &s))) {
            accepting.push(format!("receiver proof {i}"));
        }
    }
    if let Some(proof) = &tx.witness.sender_proof {
        if all_hold(proof.equations((), &PartyStatement::sender(body, &id))) {
            accepting.push("sender proof".to_string());
        }
    }
    for (asset, proof) in body.output_assets().iter().zip(&tx.witness.range_proofs) {
        let limbs: Vec<Point> = body.outputs.iter().filter(|o| o.asset == *asset).flat_map(|o| o.limbs).collect();
        if crate::range::verify(chain, &id, asset, &limbs, proof, &mut OsRng) {
            accepting.push(format!("range proof {asset}"));
        }
    }
    accepting
}

fn other_point(rng: &mut ChaCha20Rng) -> Point {
    Point::new(curve25519_dalek::ristretto::RistrettoPoint::random(rng)).unwrap()
}

#[test]
fn every_statement_field_changed_after_proving_invalidates_every_proof() {
    let mut w = World::new(40);
    let (tx, keys) = rich_transfer(&mut w);
    assert_eq!(proofs_still_accepting(&tx).len(), 2 + 2 + 2 + 1 + 1, "all proofs accept the honest statement");
    let third_key = AuditSecretKey::random(&mut w.rng).public();
    let p = other_point(&mut w.rng);

    type Mutation = (&'static str, Box<dyn Fn(&mut TxBody)>);
    let mutations: Vec<Mutation> = vec![
        ("chain id", Box::new(|b| b.chain_id.push('x'))),
        ("audit key 0", Box::new(move |b| b.audit_keys[0] = third_key)),
        ("audit key order", Box::new(|b| b.audit_keys.swap(0, 1))),
        ("input output id", Box::new(|b| b.inputs[0].output_id.0 .0[0] ^= 1)),
        ("input commitment", Box::new(move |b| b.inputs[0].commitment = p)),
        ("input owner key", Box::new(move |b| b.inputs[0].owner_key = p)),
        (
            "output asset",
            Box::new(|b| {
                let usd = AssetId::from_label("USD");
                b.outputs.iter_mut().for_each(|o| o.asset = usd);
                b.public[0].asset = usd;
            }),
        ),
        ("output order", Box::new(|b| b.outputs.swap(0, 1))),
        ("limb commitment 0", Box::new(move |b| b.outputs[0].limbs[0] = p)),
        ("limb commitment 3", Box::new(move |b| b.outputs[1].limbs[3] = p)),
        ("limb order", Box::new(|b| b.outputs[0].limbs.swap(1, 2))),
        ("one-time key", Box::new(move |b| b.outputs[0].one_time_key = p)),
        ("ephemeral key", Box::new(move |b| b.outputs[1].ephemeral_key = p)),
        ("audit handle", Box::new(move |b| b.outputs[0].audit_handles[1][2] = p)),
        ("audit handle sets swapped", Box::new(|b| b.outputs[0].audit_handles.swap(0, 1))),
        ("receiver memo", Box::new(|b| b.outputs[0].receiver_memo[100] ^= 1)),
        ("audit memo ephemeral", Box::new(move |b| b.outputs[1].audit_memos[0].ephemeral = p)),
        ("audit memo ciphertext", Box::new(|b| b.outputs[1].audit_memos[1].ciphertext[7] ^= 1)),
        ("public amount", Box::new(|b| b.public[0].amount += 1)),
        ("public kind", Box::new(|b| b.public[0].kind = PublicKind::Burn)),
        ("receiver identity", Box::new(move |b| b.outputs[0].receiver_identities[1].masked = p)),
        ("receiver identity handle", Box::new(move |b| b.outputs[1].receiver_identities[0].handle = p)),
        ("receiver identities swapped", Box::new(|b| b.outputs[0].receiver_identities.swap(0, 1))),
        (
            "receiver identity of another output",
            Box::new(|b| b.outputs[0].receiver_identities[0] = b.outputs[1].receiver_identities[0]),
        ),
        ("sender identity", Box::new(move |b| b.sender_identities[0].masked = p)),
        ("sender identity as a receiver's", Box::new(|b| b.sender_identities[1] = b.outputs[1].receiver_identities[1])),
    ];
    for (field, mutate) in &mutations {
        let mut altered = tx.clone();
        mutate(&mut altered.body);
        assert_ne!(altered.id(), tx.id(), "{field}: the id must cover it");
        let still = proofs_still_accepting(&altered);
        assert!(still.is_empty(), "after changing {field}, these still verify: {still:?}");
        let verifier = Verifier::new(altered.body.chain_id.clone(), altered.body.audit_keys.clone());
        assert!(verifier.verify(altered).is_err(), "{field}: the transaction must be rejected");
    }
    // The honest verifier also rejects the honest transaction under other audit keys.
    assert_eq!(Verifier::new(CHAIN, vec![keys[1], keys[0]]).verify(tx).unwrap_err(), VerifyError::WrongAuditKeys);
}

#[test]
fn every_single_bit_flip_of_an_encoded_transaction_is_rejected() {
    let mut w = World::new(41);
    let alice = w.alice.address();
    let funds = w.issue_to(&alice, w.cny, 77);
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &funds)[0].clone()).pay(w.bob.address(), w.cny, 77, "");
    let tx = b.build(&mut w.rng).unwrap();
    let bytes = tx.to_bytes();
    let verifier = w.verifier();
    assert!(verifier.verify_bytes(&bytes).is_ok());
    let accepted: Vec<usize> = (0..bytes.len() * 8)
        .into_par_iter()
        .filter(|bit| {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            verifier.verify_bytes(&flipped).is_ok()
        })
        .collect();
    assert!(accepted.is_empty(), "bit flips accepted at {accepted:?} of {} bits", bytes.len() * 8);
}

#[test]
fn truncated_or_extended_encodings_are_rejected() {
    let mut w = World::new(42);
    let alice = w.alice.address();
    let bytes = w.issue_to(&alice, w.cny, 1).into_inner().to_bytes();
    let verifier = w.verifier();
    for cut in [0, 1, 2, bytes.len() / 2, bytes.len() - 1] {
        assert!(matches!(verifier.verify_bytes(&bytes[..cut]), Err(VerifyError::Encoding(_))), "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        verifier.verify_bytes(&longer).unwrap_err(),
        VerifyError::Encoding(ctchain_codec::DecodeError::TrailingBytes(1))
    );
}

#[test]
fn identity_points_and_unreduced_scalars_are_rejected_by_the_decoder() {
    let mut w = World::new(43);
    let alice = w.alice.address();
    let tx = w.issue_to(&alice, w.cny, 1).into_inner();
    let bytes = tx.to_bytes();
    let limb = tx.body.outputs[0].limbs[0];
    let at = bytes.windows(32).position(|win| win == limb.as_bytes()).unwrap();
    let mut identity = bytes.clone();
    identity[at..at + 32].fill(0);
    assert!(matches!(
        Transaction::from_bytes(&identity),
        Err(ctchain_codec::DecodeError::Invalid { reason: "identity point", .. })
    ));
    // The balance signature's s is the last 32 bytes before the two empty signature lists.
    let s_at = bytes.len() - 8 - 32;
    let mut unreduced = bytes.clone();
    unreduced[s_at..s_at + 32].copy_from_slice(&[0xff; 32]);
    assert!(matches!(Transaction::from_bytes(&unreduced), Err(ctchain_codec::DecodeError::Invalid { .. })));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    #[test]
    fn random_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
        let _ = Transaction::from_bytes(&bytes);
    }
}
