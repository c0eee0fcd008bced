//! Invalid witnesses leave the constraint system unsatisfied: checked by synthesis alone, without proving.
//!
//! Each test starts from an honest transfer, changes one thing, and (where the change would otherwise be
//! caught by a different constraint) recomputes the public values that follow from the witness, so that the
//! constraint under test is the one that fails.

use ark_bn254::Fr;
use ark_ec::CurveGroup;
use ark_ed_on_bn254::Fr as JubScalar;
use ark_ff::{BigInteger, PrimeField};
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::audit::{encrypt, AuditPlaintext, AuditRandomness};
use crate::circuit::{tx_id_limbs, TransferCircuit, NUM_PUBLIC_INPUTS};
use crate::keys::{AuditPublicKey, AuditSecretKey, Owner, SpendingKey};
use crate::note::{AssetTag, Note};
use crate::poseidon::{hash, Domain};
use crate::transfer::{Payment, SpendInput, TransferRequest, UnprovenTransfer};
use crate::tree::{Frontier, Witness};

const TX_ID: [u8; 32] = [0x42; 32];

struct Fixture {
    transfer: UnprovenTransfer,
    audit_key: AuditPublicKey,
}

/// Alice holds notes of 7 and 5 in a tree of a few leaves and pays Bob 9, keeping 3 as change.
fn honest() -> Fixture {
    // Test-only deterministic randomness.
    let mut rng = ChaCha20Rng::seed_from_u64(2024);
    let alice = SpendingKey::random(&mut rng);
    let bob = SpendingKey::random(&mut rng);
    let auditor = AuditSecretKey::random(&mut rng);
    let asset = AssetTag::from_asset_id(&[1; 32]);
    let mut tree = Frontier::new();
    let mut spends = Vec::new();
    let mut witnesses: Vec<Witness> = Vec::new();
    for (i, value) in [1u64, 7, 2, 5, 4].into_iter().enumerate() {
        let owner = if i % 2 == 1 { alice.owner() } else { bob.owner() };
        let note = Note::new(asset, value, owner, &mut rng);
        let appended = tree.append(note.commitment()).unwrap();
        for w in witnesses.iter_mut() {
            w.update(&appended).unwrap();
        }
        if owner == alice.owner() {
            spends.push(note);
            witnesses.push(Witness::new(&appended));
        }
    }
    let request = TransferRequest {
        spending_key: &alice,
        asset,
        anchor: tree.root(),
        inputs: [
            SpendInput::Note { note: spends[0], path: Box::new(witnesses[0].path().clone()) },
            SpendInput::Note { note: spends[1], path: Box::new(witnesses[1].path().clone()) },
        ],
        outputs: [Payment { to: bob.address(), value: 9 }, Payment { to: alice.address(), value: 3 }],
        public_in: 0,
        public_out: 0,
        audit_key: auditor.public_key(),
    };
    Fixture { transfer: request.build(&mut rng).unwrap(), audit_key: auditor.public_key() }
}

fn satisfied(c: &TransferCircuit) -> bool {
    let mut c = c.clone();
    c.tx_id = TX_ID;
    let cs = ConstraintSystem::<Fr>::new_ref();
    c.generate_constraints(cs.clone()).unwrap();
    cs.is_satisfied().unwrap()
}

fn randomness_of(bits: &[bool]) -> AuditRandomness {
    AuditRandomness(JubScalar::from_bigint(<JubScalar as PrimeField>::BigInt::from_bits_le(bits)).unwrap())
}

/// Recomputes the output commitments and audit ciphertexts from the witness.
fn refresh_outputs(c: &mut TransferCircuit, key: &AuditPublicKey) {
    let owner = hash(Domain::Owner, &[hash(Domain::NullifierKey, &[c.sk])]);
    for j in 0..2 {
        let o = &c.outputs[j];
        c.commitments[j] = hash(Domain::NoteCommitment, &[c.asset, o.value, o.owner, o.rcm]);
        let value = crate::encoding::fr_to_u64(&o.value).unwrap_or(0);
        let pt = AuditPlaintext { asset: AssetTag(c.asset), value, receiver: Owner(o.owner), sender: Owner(owner) };
        let mut ct = encrypt(key, j, &pt, &randomness_of(&o.audit_bits)).unwrap();
        // encrypt() takes a u64; an out-of-range test value is masked directly.
        ct.masked[1] = ct.masked[1] - Fr::from(value) + o.value;
        c.audit[j] = ct;
    }
}

#[test]
fn honest_transfer_satisfies_the_circuit() {
    let f = honest();
    assert!(f.transfer.is_satisfied(&TX_ID).unwrap());
}

#[test]
fn public_input_layout_matches_the_statement() {
    let mut f = honest();
    let statement = f.transfer.statement.clone();
    let c = f.transfer.circuit_mut();
    c.tx_id = TX_ID;
    let cs = ConstraintSystem::<Fr>::new_ref();
    c.clone().generate_constraints(cs.clone()).unwrap();
    let instance = cs.borrow().unwrap().instance_assignment.clone();
    assert_eq!(instance.len(), NUM_PUBLIC_INPUTS + 1);
    assert_eq!(instance[1..].to_vec(), statement.public_inputs(&TX_ID));
    assert_eq!(tx_id_limbs(&TX_ID)[0], u128::from_le_bytes([0x42; 16]));
}

#[test]
fn an_unbalanced_transfer_is_unsatisfied() {
    let mut f = honest();
    let c = f.transfer.circuit_mut();
    c.outputs[0].value += Fr::from(1u64);
    refresh_outputs(c, &f.audit_key);
    assert!(!satisfied(c));
}

#[test]
fn a_negative_output_that_balances_modulo_r_is_unsatisfied() {
    let mut f = honest();
    let c = f.transfer.circuit_mut();
    // 9 + 3 = 12 becomes 13 + (−1): balanced in the field, but −1 is not a 64-bit value.
    c.outputs[0].value = Fr::from(13u64);
    c.outputs[1].value = -Fr::from(1u64);
    refresh_outputs(c, &f.audit_key);
    assert!(!satisfied(c));
}

#[test]
fn a_wrong_nullifier_is_unsatisfied() {
    let mut f = honest();
    let c = f.transfer.circuit_mut();
    c.nullifiers[1] += Fr::from(1u64);
    assert!(!satisfied(c));
}

#[test]
fn a_nullifier_for_another_position_is_unsatisfied() {
    let mut f = honest();
    let c = f.transfer.circuit_mut();
    c.inputs[0].position ^= 1 << 20;
    assert!(!satisfied(c));
}

#[test]
fn a_wrong_path_is_unsatisfied() {
    let mut f = honest();
    let c = f.transfer.circuit_mut();
    c.inputs[0].siblings[3] += Fr::from(1u64);
    assert!(!satisfied(c));
}

#[test]
fn a_wrong_anchor_is_unsatisfied() {
    let mut f = honest();
    let c = f.transfer.circuit_mut();
    c.anchor += Fr::from(1u64);
    assert!(!satisfied(c));
}

#[test]
fn spending_with_another_key_is_unsatisfied() {
    let mut f = honest();
    let c = f.transfer.circuit_mut();
    c.sk += Fr::from(1u64);
    assert!(!satisfied(c));
}

#[test]
fn a_wrong_audit_ciphertext_is_unsatisfied() {
    let mut f = honest();
    let c = f.transfer.circuit_mut();
    c.audit[0].masked[1] += Fr::from(1u64);
    assert!(!satisfied(c));
}

#[test]
fn an_audit_copy_that_lies_about_the_value_is_unsatisfied() {
    let mut f = honest();
    let key = f.audit_key;
    let c = f.transfer.circuit_mut();
    // A well-formed encryption, to the right key, of a smaller value than the output really carries.
    let owner = hash(Domain::Owner, &[hash(Domain::NullifierKey, &[c.sk])]);
    let pt = AuditPlaintext {
        asset: AssetTag(c.asset),
        value: 1,
        receiver: Owner(c.outputs[0].owner),
        sender: Owner(owner),
    };
    c.audit[0] = encrypt(&key, 0, &pt, &randomness_of(&c.outputs[0].audit_bits)).unwrap();
    assert!(!satisfied(c));
}

#[test]
fn an_audit_copy_to_another_key_is_unsatisfied() {
    let mut f = honest();
    let c = f.transfer.circuit_mut();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let other = AuditSecretKey::random(&mut rng).public_key();
    // The statement claims the chain's key, but the ciphertext was made for another one.
    refresh_outputs(c, &other);
    assert!(!satisfied(c));
}

#[test]
fn an_ephemeral_point_not_from_the_witness_is_unsatisfied() {
    let mut f = honest();
    let c = f.transfer.circuit_mut();
    c.audit[1].ephemeral = (c.audit[1].ephemeral + crate::keys::generator()).into_affine();
    assert!(!satisfied(c));
}

#[test]
fn a_public_value_of_another_asset_is_unsatisfied() {
    let mut f = honest();
    let key = f.audit_key;
    let c = f.transfer.circuit_mut();
    // Unshield 1 of the change, but claim it is of another asset.
    c.outputs[1].value = Fr::from(2u64);
    c.public_out = 1;
    c.public_asset = c.asset + Fr::from(1u64);
    refresh_outputs(c, &key);
    assert!(!satisfied(c));
    c.public_asset = c.asset;
    assert!(satisfied(c), "the same unshield with the right public asset is accepted");
}

#[test]
fn a_dummy_input_needs_no_path_but_a_real_one_does() {
    let mut f = honest();
    let key = f.audit_key;
    let c = f.transfer.circuit_mut();
    // Turn input 1 into a zero-value note with a garbage path: it still satisfies once its nullifier and
    // the outputs follow.
    let nk = hash(Domain::NullifierKey, &[c.sk]);
    let owner = hash(Domain::Owner, &[nk]);
    let removed = c.inputs[1].value;
    c.inputs[1].value = Fr::from(0u64);
    c.inputs[1].siblings[0] = Fr::from(999u64);
    let cm = hash(Domain::NoteCommitment, &[c.asset, Fr::from(0u64), owner, c.inputs[1].rcm]);
    c.nullifiers[1] = hash(Domain::Nullifier, &[nk, cm, Fr::from(c.inputs[1].position)]);
    c.outputs[0].value -= removed;
    refresh_outputs(c, &key);
    assert!(satisfied(c));
    // The same garbage path on a note with value is refused.
    c.inputs[0].siblings[0] = Fr::from(999u64);
    assert!(!satisfied(c));
}

#[test]
fn the_transfer_circuit_size_is_pinned() {
    let n = crate::transfer::constraint_count().unwrap();
    println!("transfer circuit: {n} constraints");
    assert!(n < 60_000, "{n} constraints");
}

#[test]
fn an_overflowing_request_is_refused_before_proving() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let alice = SpendingKey::random(&mut rng);
    let auditor = AuditSecretKey::random(&mut rng);
    let asset = AssetTag::from_asset_id(&[2; 32]);
    // u64::MAX + 2 wraps to 1 in 64-bit arithmetic; the builder sums in 128 bits and refuses.
    let request = TransferRequest {
        spending_key: &alice,
        asset,
        anchor: Frontier::new().root(),
        inputs: [SpendInput::Dummy, SpendInput::Dummy],
        outputs: [Payment { to: alice.address(), value: u64::MAX }, Payment { to: alice.address(), value: 2 }],
        public_in: 1,
        public_out: 0,
        audit_key: auditor.public_key(),
    };
    assert_eq!(request.build(&mut rng).err(), Some(crate::CircuitError::Unbalanced));
}
