//! Proving and verifying real transfers, and refusing every bad input of issue 8 with a typed error.

mod common;

use ark_ff::{BigInteger, PrimeField};
use common::{keys, tx_id_of, World};
use ctchain_circuits::{
    verify, AuditCiphertext, AuditPlaintext, CircuitError, Note, Payment, RecentRoots, SpendInput, TransferProof,
    TransferRequest, TransferStatement,
};
use ctchain_codec::{Decode, Encode};

#[test]
fn honest_transfer_proves_verifies_and_the_regulator_and_receiver_read_it() {
    let world = World::new(1);
    let mut rng = common::test_rng(101);
    let (pk, vk) = keys();
    let unproven = world.alice_pays_bob(9).build(&mut rng).unwrap();
    let statement = unproven.statement.clone();
    let tx_id = tx_id_of(&statement, 0);
    let start = std::time::Instant::now();
    let proof = unproven.prove(pk, &tx_id, &mut rng).unwrap();
    println!("proved in {:?}", start.elapsed());
    assert_eq!(verify(vk, &statement, &tx_id, &proof), Ok(()));

    // The wire forms round-trip and are what the ledger will store.
    assert_eq!(TransferStatement::from_bytes(&statement.to_bytes()).unwrap(), statement);
    assert_eq!(TransferProof::from_bytes(&proof.to_bytes()).unwrap(), proof);
    assert_eq!(proof.to_bytes().len(), 128);

    // The regulator reads both outputs: asset, value, receiver and sender.
    let copies = world.auditor.decrypt_statement(&statement).unwrap();
    assert_eq!(
        copies[0],
        AuditPlaintext { asset: world.asset, value: 9, receiver: world.bob.owner(), sender: world.alice.owner() }
    );
    assert_eq!(copies[1].value, 3);
    assert_eq!(copies[1].receiver, world.alice.owner());

    // Bob finds his note with his viewing key, and nobody else's key opens it.
    let bob_ivk = world.bob.incoming_viewing_key();
    let found = bob_ivk.decrypt_note(world.bob.owner(), &statement.commitments[0], &unproven.note_ciphertexts[0]);
    assert_eq!(found.unwrap().value, 9);
    assert!(bob_ivk.decrypt_note(world.bob.owner(), &statement.commitments[1], &unproven.note_ciphertexts[1]).is_err());
}

#[test]
fn received_notes_can_be_spent_on_and_a_second_spend_reveals_the_same_nullifier() {
    let mut world = World::new(2);
    let mut rng = common::test_rng(102);
    let (pk, vk) = keys();
    let first = world.alice_pays_bob(10).build(&mut rng).unwrap();
    let tx1 = tx_id_of(&first.statement, 1);
    let proof1 = first.prove(pk, &tx1, &mut rng).unwrap();
    verify(vk, &first.statement, &tx1, &proof1).unwrap();
    let mut roots = RecentRoots::new(8);
    roots.push(world.tree.root());

    // The ledger appends the outputs; Bob's wallet decrypts and tracks his note.
    for (j, cm) in first.statement.commitments.iter().enumerate() {
        let note = world
            .bob
            .incoming_viewing_key()
            .decrypt_note(world.bob.owner(), cm, &first.note_ciphertexts[j])
            .unwrap_or(first.output_notes[j]);
        world.append(note);
    }
    roots.push(world.tree.root());
    assert_eq!(world.bob_notes.len(), 1);

    // Bob spends it against the new root, with a dummy second input, and unshields 4 of it.
    let (note, wit) = world.bob_notes[0].clone();
    let request = TransferRequest {
        spending_key: &world.bob,
        asset: world.asset,
        anchor: world.tree.root(),
        inputs: [SpendInput::Note { note, path: Box::new(wit.path().clone()) }, SpendInput::Dummy],
        outputs: [Payment { to: world.alice.address(), value: 6 }, Payment { to: world.bob.address(), value: 0 }],
        public_in: 0,
        public_out: 4,
        audit_key: world.auditor.public_key(),
    };
    let second = request.build(&mut rng).unwrap();
    roots.check(&second.statement.anchor).unwrap();
    assert_eq!(second.statement.public_asset, world.asset);
    let tx2 = tx_id_of(&second.statement, 2);
    let proof2 = second.prove(pk, &tx2, &mut rng).unwrap();
    verify(vk, &second.statement, &tx2, &proof2).unwrap();

    // Spending the same note again yields the same nullifier: the ledger's nullifier set refuses it.
    let again = request.build(&mut rng).unwrap();
    assert_eq!(again.statement.nullifiers[0], second.statement.nullifiers[0]);
    assert_ne!(again.statement.nullifiers[1], second.statement.nullifiers[1], "dummies are fresh");
    assert_eq!(note.nullifier(&world.bob.nullifier_key(), wit.path().position), second.statement.nullifiers[0]);
}

#[test]
fn shielding_from_the_public_side_needs_no_input_notes() {
    let world = World::new(3);
    let mut rng = common::test_rng(103);
    let (pk, vk) = keys();
    let request = TransferRequest {
        spending_key: &world.alice,
        asset: world.asset,
        anchor: world.tree.root(),
        inputs: [SpendInput::Dummy, SpendInput::Dummy],
        outputs: [Payment { to: world.alice.address(), value: 100 }, Payment { to: world.bob.address(), value: 0 }],
        public_in: 100,
        public_out: 0,
        audit_key: world.auditor.public_key(),
    };
    let shield = request.build(&mut rng).unwrap();
    let tx = tx_id_of(&shield.statement, 3);
    let proof = shield.prove(pk, &tx, &mut rng).unwrap();
    verify(vk, &shield.statement, &tx, &proof).unwrap();

    // Claiming more came in than the proof says is refused.
    let mut inflated = shield.statement.clone();
    inflated.public_in = 101;
    assert_eq!(verify(vk, &inflated, &tx, &proof), Err(CircuitError::ProofRejected));
}

/// One honest proven transfer for the refusal tests below.
fn proven() -> (World, TransferStatement, [u8; 32], TransferProof) {
    use std::sync::OnceLock;
    static PROVEN: OnceLock<(TransferStatement, [u8; 32], TransferProof)> = OnceLock::new();
    let (statement, tx_id, proof) = PROVEN
        .get_or_init(|| {
            let world = World::new(4);
            let mut rng = common::test_rng(104);
            let unproven = world.alice_pays_bob(2).build(&mut rng).unwrap();
            let tx_id = tx_id_of(&unproven.statement, 4);
            let proof = unproven.prove(&keys().0, &tx_id, &mut rng).unwrap();
            (unproven.statement, tx_id, proof)
        })
        .clone();
    (World::new(4), statement, tx_id, proof)
}

#[test]
fn a_proof_for_another_transaction_is_refused() {
    let (_, statement, tx_id, proof) = proven();
    let vk = &keys().1;
    assert_eq!(verify(vk, &statement, &tx_id, &proof), Ok(()));
    for byte in [0, 15, 16, 31] {
        let mut other = tx_id;
        other[byte] ^= 1;
        assert_eq!(verify(vk, &statement, &other, &proof), Err(CircuitError::ProofRejected), "byte {byte}");
    }
}

#[test]
fn a_wrong_or_unknown_anchor_is_refused() {
    let (world, mut statement, tx_id, proof) = proven();
    let vk = &keys().1;
    let mut roots = RecentRoots::new(4);
    roots.push(world.tree.root());
    assert_eq!(roots.check(&statement.anchor), Ok(()));
    statement.anchor = ctchain_circuits::Frontier::new().root();
    assert_eq!(roots.check(&statement.anchor), Err(CircuitError::UnknownAnchor));
    assert_eq!(verify(vk, &statement, &tx_id, &proof), Err(CircuitError::ProofRejected));
}

#[test]
fn a_regulator_ciphertext_that_does_not_match_is_refused() {
    let (world, statement, tx_id, proof) = proven();
    let vk = &keys().1;
    // A changed masked value.
    let mut s = statement.clone();
    s.audit[0].masked[1] += ark_bn254::Fr::from(1u64);
    assert_eq!(verify(vk, &s, &tx_id, &proof), Err(CircuitError::ProofRejected));
    // The two outputs' copies swapped.
    let mut s = statement.clone();
    s.audit.swap(0, 1);
    assert_eq!(verify(vk, &s, &tx_id, &proof), Err(CircuitError::ProofRejected));
    // A fresh, well-formed copy that tells the regulator a smaller amount.
    let mut s = statement.clone();
    let mut rng = common::test_rng(99);
    let lie = AuditPlaintext { asset: world.asset, value: 1, receiver: world.bob.owner(), sender: world.alice.owner() };
    s.audit[0] = ctchain_circuits::audit::encrypt(
        &world.auditor.public_key(),
        0,
        &lie,
        &ctchain_circuits::AuditRandomness::random(&mut rng),
    )
    .unwrap();
    assert_eq!(verify(vk, &s, &tx_id, &proof), Err(CircuitError::ProofRejected));
    // The same copies presented as encrypted to another audit key.
    let mut s = statement.clone();
    s.audit_key = ctchain_circuits::AuditSecretKey::random(&mut rng).public_key();
    assert_eq!(verify(vk, &s, &tx_id, &proof), Err(CircuitError::ProofRejected));
}

#[test]
fn changed_values_nullifiers_or_commitments_are_refused() {
    let (_, statement, tx_id, proof) = proven();
    let vk = &keys().1;
    let mut s = statement.clone();
    s.public_out = u64::MAX;
    s.public_asset = ctchain_circuits::AssetTag::from_asset_id(&[0xCC; 32]);
    assert_eq!(verify(vk, &s, &tx_id, &proof), Err(CircuitError::ProofRejected));
    let mut s = statement.clone();
    s.nullifiers.swap(0, 1);
    assert_eq!(verify(vk, &s, &tx_id, &proof), Err(CircuitError::ProofRejected));
    let mut s = statement.clone();
    s.commitments[1] =
        Note::new(s.public_asset, 1, ctchain_circuits::Owner(Default::default()), &mut common::test_rng(1))
            .commitment();
    assert_eq!(verify(vk, &s, &tx_id, &proof), Err(CircuitError::ProofRejected));
}

#[test]
fn malformed_statements_are_refused_before_the_pairing() {
    let (_, statement, tx_id, proof) = proven();
    let vk = &keys().1;
    let mut s = statement.clone();
    s.nullifiers[1] = s.nullifiers[0];
    assert!(matches!(verify(vk, &s, &tx_id, &proof), Err(CircuitError::MalformedStatement(_))));
    let mut s = statement.clone();
    s.public_asset = ctchain_circuits::AssetTag::from_asset_id(&[1; 32]);
    assert!(matches!(verify(vk, &s, &tx_id, &proof), Err(CircuitError::MalformedStatement(_))));
}

/// The modulus r of the BN254 scalar field, little-endian.
fn modulus_bytes() -> [u8; 32] {
    let mut m = [0u8; 32];
    m.copy_from_slice(&ark_bn254::Fr::MODULUS.to_bytes_le());
    m
}

/// Adds r to a canonical little-endian encoding: the same residue, a different integer (if it fits).
fn plus_modulus(x: &[u8; 32]) -> Option<[u8; 32]> {
    let m = modulus_bytes();
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let s = x[i] as u16 + m[i] as u16 + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    (carry == 0).then_some(out)
}

#[test]
fn public_inputs_not_reduced_below_the_modulus_are_refused() {
    let (_, statement, _, _) = proven();
    let bytes = statement.to_bytes();
    // Every 32-byte field element of the statement, replaced by itself plus r where that fits in 256 bits.
    let field_offsets: Vec<usize> = (0..5).map(|i| i * 32).collect();
    let mut refused = 0;
    for off in field_offsets {
        let mut x = [0u8; 32];
        x.copy_from_slice(&bytes[off..off + 32]);
        if let Some(big) = plus_modulus(&x) {
            let mut tampered = bytes.clone();
            tampered[off..off + 32].copy_from_slice(&big);
            let err = TransferStatement::from_bytes(&tampered).unwrap_err();
            assert!(err.to_string().contains("modulus"), "{err}");
            refused += 1;
        }
        // The modulus itself and all-ones are refused too.
        for bad in [modulus_bytes(), [0xff; 32]] {
            let mut tampered = bytes.clone();
            tampered[off..off + 32].copy_from_slice(&bad);
            assert!(TransferStatement::from_bytes(&tampered).is_err());
        }
    }
    assert!(refused > 0, "at least one element leaves room for +r");
    // A masked audit field above the modulus as well.
    let audit_field = bytes.len() - 32;
    let mut tampered = bytes.clone();
    tampered[audit_field..].copy_from_slice(&modulus_bytes());
    assert!(TransferStatement::from_bytes(&tampered).is_err());
    // The typed decoders say why.
    assert_eq!(
        ctchain_circuits::Nullifier::from_bytes(&modulus_bytes()),
        Err(CircuitError::NonCanonicalField("nullifier"))
    );
}

#[test]
fn points_off_the_curve_or_outside_the_subgroup_are_refused() {
    use ark_serialize::CanonicalSerialize;
    let (_, statement, _, proof) = proven();

    // Baby Jubjub: (0, −1) is on the curve but of order 2; as the audit key or an ephemeral point it is refused.
    let order_two = ark_ed_on_bn254::EdwardsAffine::new_unchecked(0u64.into(), -ark_ed_on_bn254::Fq::from(1u64));
    assert!(order_two.is_on_curve() && !order_two.is_in_correct_subgroup_assuming_on_curve());
    let small = ctchain_circuits::encoding::point_to_bytes(&order_two);
    assert_eq!(
        ctchain_circuits::AuditPublicKey::from_bytes(&small),
        Err(CircuitError::InvalidPoint("audit public key"))
    );
    let mut ct = statement.audit[0].to_bytes();
    ct[..32].copy_from_slice(&small);
    assert!(AuditCiphertext::from_bytes(&ct).is_err());
    // A y with no curve point (x² would not be a square) is refused; try candidates until one is off-curve.
    let off_curve = (2u8..=255)
        .map(|b| {
            let mut y = [0u8; 32];
            y[0] = b;
            y
        })
        .find(|y| ctchain_circuits::encoding::point_from_bytes(y, "p") == Err(CircuitError::InvalidPoint("p")))
        .expect("some small y has no point");
    assert!(ctchain_circuits::AuditPublicKey::from_bytes(&off_curve).is_err());
    // The identity as audit key would make the copy readable by all.
    let identity = ctchain_circuits::encoding::point_to_bytes(&ark_ed_on_bn254::EdwardsAffine::zero());
    assert_eq!(
        ctchain_circuits::AuditPublicKey::from_bytes(&identity),
        Err(CircuitError::IdentityPoint("audit public key"))
    );

    // BN254: a G2 point on the twist but outside the prime-order subgroup as the proof's B.
    let mut x = ark_bn254::Fq2::from(1u64);
    let bad_b = loop {
        if let Some(p) = ark_bn254::G2Affine::get_point_from_x_unchecked(x, false) {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                break p;
            }
        }
        x += ark_bn254::Fq2::from(1u64);
    };
    let mut forged = proof.inner().clone();
    forged.b = bad_b;
    let mut bytes = [0u8; 128];
    forged.serialize_compressed(&mut bytes[..]).unwrap();
    assert_eq!(TransferProof::from_bytes(&bytes), Err(CircuitError::InvalidProofEncoding));
    // A G1 coordinate at or above the field modulus, and bytes that are no point at all.
    let mut bytes = proof.to_bytes();
    bytes[..32].copy_from_slice(&[0xff; 32]);
    assert_eq!(TransferProof::from_bytes(&bytes), Err(CircuitError::InvalidProofEncoding));
    let mut bytes = proof.to_bytes();
    bytes[96] ^= 0x01;
    let decoded = TransferProof::from_bytes(&bytes);
    // Flipping a bit of C's x either leaves the curve (refused) or gives another valid point (then the pairing
    // refuses it).
    if let Ok(p) = decoded {
        let (_, statement, tx_id, _) = proven();
        assert_eq!(verify(&keys().1, &statement, &tx_id, &p), Err(CircuitError::ProofRejected));
    }
}

#[test]
fn the_stateful_phase_refuses_spent_nullifiers_unknown_anchors_and_other_audit_keys() {
    let (world, statement, tx_id, proof) = proven();
    let vk = &keys().1;
    let verified = ctchain_circuits::verify_transfer(vk, statement.clone(), &tx_id, &proof).unwrap();
    assert_eq!(verified.statement(), &statement);
    let mut roots = RecentRoots::new(4);
    roots.push(world.tree.root());
    let key = world.auditor.public_key();
    let mut spent = std::collections::HashSet::new();
    assert_eq!(verified.check_against_chain(&roots, &key, |nf| spent.contains(nf)), Ok(()));
    // The ledger applies it: its nullifiers are now spent, and the same transfer again is a double spend.
    spent.extend(statement.nullifiers);
    assert_eq!(verified.check_against_chain(&roots, &key, |nf| spent.contains(nf)), Err(CircuitError::NullifierSpent));
    // Anchors fall out of the window.
    let mut later = RecentRoots::new(1);
    later.push(ctchain_circuits::Frontier::new().root());
    assert_eq!(verified.check_against_chain(&later, &key, |_| false), Err(CircuitError::UnknownAnchor));
    // A transfer made for a retired audit key.
    let rotated = ctchain_circuits::AuditSecretKey::random(&mut common::test_rng(5)).public_key();
    assert_eq!(verified.check_against_chain(&roots, &rotated, |_| false), Err(CircuitError::WrongAuditKey));
    // And nothing unverified becomes a VerifiedTransfer.
    let mut forged = statement.clone();
    forged.public_in = 1;
    forged.public_asset = world.asset;
    assert!(ctchain_circuits::verify_transfer(vk, forged, &tx_id, &proof).is_err());
}
