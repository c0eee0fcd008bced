//! Committed fixtures: proofs made by an earlier build must keep verifying, and the wire format must not drift.
//! Regenerate with `CTCHAIN_REGENERATE_FIXTURES=1 cargo test -p ctchain-crypto fixtures` only on purpose.

use ctchain_codec::{Decode, Encode};

use super::*;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/transfer_v2.hex");

/// The fixture transaction, rebuilt deterministically from seeded randomness.
fn deterministic_transfer() -> (Transaction, World) {
    let mut w = World::new(1234);
    let alice = w.alice.address();
    let funds = w.issue_to(&alice, w.cny, 5_000);
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &funds)[0].clone()).pay(w.bob.address(), w.cny, 1_250, "fixture").sender(alice);
    let tx = b.build(&mut w.rng).unwrap();
    (tx, w)
}

#[test]
fn fixture_transaction_still_verifies_and_decrypts() {
    let (rebuilt, w) = deterministic_transfer();
    if std::env::var_os("CTCHAIN_REGENERATE_FIXTURES").is_some() {
        std::fs::write(FIXTURE, hex::encode(rebuilt.to_bytes())).unwrap();
    }
    let stored = hex::decode(std::fs::read_to_string(FIXTURE).unwrap().trim()).unwrap();
    let tx = w.verifier().verify_bytes(&stored).expect("the committed fixture verifies");
    assert_eq!(tx.transaction().to_bytes(), stored, "decoding and re-encoding is the identity");
    assert_eq!(rebuilt.to_bytes(), stored, "the prover and the wire format have not drifted");
    let table = LimbTable::new(w.cny);
    let amounts: Vec<u64> =
        tx.transaction().body.outputs.iter().map(|o| w.auditor.audit_output(0, o, &table).unwrap().amount).collect();
    assert_eq!(amounts, vec![1_250, 3_750]);
    let body = &tx.transaction().body;
    assert_eq!(w.auditor.audit_sender(0, body).unwrap(), Some(w.alice.address().spend));
    let receiver = w.auditor.audit_output(0, &body.outputs[0], &table).unwrap().receiver;
    assert_eq!(receiver, Some(w.bob.address().spend));
}

/// Transactions of format version 1 (before the parties were proven: `transfer_v1.hex`, and the earlier
/// prover's `transfer_v0_rng_nonces.hex`) name no sender or receiver to the regulator; they are refused by name.
#[test]
fn transactions_of_format_version_1_are_refused_by_name() {
    let (_, w) = deterministic_transfer();
    for file in ["transfer_v1.hex", "transfer_v0_rng_nonces.hex"] {
        let path = format!("{}/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
        let stored = hex::decode(std::fs::read_to_string(path).unwrap().trim()).unwrap();
        assert_eq!(
            w.verifier().verify_bytes(&stored).unwrap_err(),
            VerifyError::Encoding(ctchain_codec::DecodeError::InvalidTag { field: "transaction version", tag: 1 }),
            "{file}"
        );
    }
}

const DISCLOSURE_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/payment_disclosure_v1.hex");

/// The payment-disclosure transcript (labels and their order) must not drift either: a disclosure made by an
/// earlier build, on the fixture transaction, keeps verifying and is rebuilt byte for byte.
#[test]
fn fixture_disclosure_still_verifies() {
    let (tx, mut w) = deterministic_transfer();
    let id = tx.id();
    let rebuilt = w.bob.viewing_keys().disclose_payment(CHAIN, &id, 0, &tx.body.outputs[0], &mut w.rng).unwrap();
    if std::env::var_os("CTCHAIN_REGENERATE_FIXTURES").is_some() {
        std::fs::write(DISCLOSURE_FIXTURE, hex::encode(rebuilt.to_bytes())).unwrap();
    }
    let stored = hex::decode(std::fs::read_to_string(DISCLOSURE_FIXTURE).unwrap().trim()).unwrap();
    let disclosure = PaymentDisclosure::from_bytes(&stored).unwrap();
    assert_eq!(disclosure.verify(CHAIN, &id, 0, &tx.body.outputs[0]).unwrap().amount, 1_250);
    assert_eq!(rebuilt.to_bytes(), stored, "the disclosure prover has not drifted");
}
