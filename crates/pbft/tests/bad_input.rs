//! Bad input is dropped with a counted reason and never changes state: each test checks the counter, that nothing
//! was output, and that the replica's state (described and persisted) is exactly what it was.

mod common;

use common::*;
use ctchain_codec::Encode;
use ctchain_pbft::types::signing_digest;
use ctchain_pbft::{DropReason, Ed25519Signer, Input, Message, Prepare, Replica, Signed, Signer};

fn assert_dropped(r: &mut Replica, input: Input, reason: DropReason) {
    let before = (r.describe(), r.persisted().digest(), r.metrics().messages_in);
    let count = r.metrics().dropped(reason);
    let outs = r.handle(NOW, input);
    assert!(outs.is_empty(), "outputs for a dropped input: {:?}", describe_all(&outs));
    assert_eq!(r.metrics().dropped(reason), count + 1, "not counted as {reason:?}");
    let after = (r.describe(), r.persisted().digest(), r.metrics().messages_in);
    // The description includes the drop counters; compare everything before them.
    let strip = |s: &str| s.split(" dropped ").next().unwrap_or_default().to_string();
    assert_eq!(strip(&before.0), strip(&after.0), "state changed");
    assert_eq!(before.1, after.1, "persisted state changed");
}

fn d() -> ctchain_codec::Hash32 {
    digest(&block(NOW, "x"), 1)
}

#[test]
fn oversized_messages_are_dropped_before_decoding() {
    let mut r = replica(1);
    assert_dropped(&mut r, Input::Message(vec![0u8; 64 * 1024 + 1]), DropReason::Oversized);
}

#[test]
fn malformed_bytes_are_dropped() {
    let mut r = replica(1);
    assert_dropped(&mut r, Input::Message(vec![2, 0, 0]), DropReason::Malformed);
    let mut good = match prepare(2, 0, 1, d()) {
        Input::Message(b) => b,
        _ => unreachable!(),
    };
    good.push(0); // trailing byte: not canonical
    assert_dropped(&mut r, Input::Message(good), DropReason::Malformed);
}

#[test]
fn messages_from_non_validators_are_dropped() {
    let mut r = replica(1);
    // Index 9 is not in a set of four.
    assert_dropped(&mut r, prepare(9, 0, 1, d()), DropReason::NotValidator);
}

#[test]
fn messages_with_bad_signatures_are_dropped() {
    let mut r = replica(1);
    // Signed with validator 3's key but claiming to come from 2.
    let body = Prepare { view: 0, seq: 1, digest: d() };
    let sig = Ed25519Signer::from_secret(ctchain_pbft::sim::sim_secret(3))
        .sign(signing_digest(ctchain_pbft::sim::CHAIN_ID, 0, 2, &body).as_bytes());
    let forged = Message::Prepare(Signed { body, epoch: 0, signer: 2, signature: sig });
    assert_dropped(&mut r, Input::Message(forged.to_bytes()), DropReason::BadSignature);
    // A signature for another chain id does not verify here either.
    let other_chain = signing_digest("another-chain", 0, 2, &body);
    let sig = Ed25519Signer::from_secret(ctchain_pbft::sim::sim_secret(2)).sign(other_chain.as_bytes());
    let replayed = Message::Prepare(Signed { body, epoch: 0, signer: 2, signature: sig });
    assert_dropped(&mut r, Input::Message(replayed.to_bytes()), DropReason::BadSignature);
}

#[test]
fn far_future_views_are_dropped() {
    let mut r = replica(1);
    assert_dropped(&mut r, prepare(2, 17, 1, d()), DropReason::FarFutureView);
    assert_dropped(&mut r, pre_prepare(1, 17, 1, &block(NOW, "x")), DropReason::FarFutureView);
}

#[test]
fn far_future_sequence_numbers_are_dropped() {
    let mut r = replica(1);
    assert_dropped(&mut r, prepare(2, 0, 9, d()), DropReason::OutsideWindow);
    assert_dropped(&mut r, pre_prepare(0, 0, 1_000_000, &block(NOW, "x")), DropReason::OutsideWindow);
}

#[test]
fn pre_prepares_not_from_the_primary_are_dropped() {
    let mut r = replica(1);
    assert_dropped(&mut r, pre_prepare(2, 0, 1, &block(NOW, "x")), DropReason::WrongSender);
    assert_dropped(&mut r, prepare(0, 0, 1, d()), DropReason::WrongSender);
}

#[test]
fn replayed_messages_of_an_old_view_are_dropped() {
    let mut r = replica(1);
    let old = prepare(2, 0, 1, d());
    r.handle(NOW, old.clone());
    assert_dropped(&mut r, old.clone(), DropReason::Duplicate);
    // Move to view 1 (timeout), then replay the view-0 message.
    let outs = r.handle(NOW, Input::Start);
    let ctchain_pbft::Output::SetTimer { timer, .. } = outs[0] else { panic!() };
    r.handle(NOW, Input::Timeout(timer));
    assert_dropped(&mut r, old, DropReason::OldView);
}

#[test]
fn a_second_different_vote_from_one_signer_is_counted_as_conflicting() {
    let mut r = replica(1);
    r.handle(NOW, prepare(2, 0, 1, d()));
    assert_dropped(&mut r, prepare(2, 0, 1, digest(&block(NOW, "other"), 1)), DropReason::Conflicting);
}

#[test]
fn verdicts_and_proposals_that_match_nothing_are_dropped() {
    let mut r = replica(1);
    assert_dropped(&mut r, Input::Verdict { view: 0, seq: 1, digest: d(), valid: true }, DropReason::Unexpected);
    assert_dropped(&mut r, Input::Propose { payload: b"not the primary".to_vec() }, DropReason::Unexpected);
}

#[test]
fn truncated_or_extended_persisted_state_is_rejected_on_restore() {
    use ctchain_codec::Decode;
    let mut r = replica(1);
    let b = block(NOW, "x");
    r.handle(NOW, pre_prepare(0, 0, 1, &b));
    r.handle(NOW, Input::Verdict { view: 0, seq: 1, digest: digest(&b, 1), valid: true });
    let bytes = r.persisted().to_bytes();
    assert_eq!(ctchain_pbft::PersistedState::from_bytes(&bytes).as_ref(), Ok(r.persisted()));
    for cut in 0..bytes.len() {
        assert!(ctchain_pbft::PersistedState::from_bytes(&bytes[..cut]).is_err(), "prefix of {cut} bytes decoded");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(ctchain_pbft::PersistedState::from_bytes(&longer).is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Arbitrary bytes, or a valid message with one byte flipped, never panic the replica and never change its
    /// protocol state.
    #[test]
    fn arbitrary_bytes_never_change_state(
        noise in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        flip in 0usize..200,
    ) {
        let mut r = replica(1);
        let strip = |s: String| s.split(" dropped ").next().unwrap_or_default().to_string();
        let before = (strip(r.describe()), r.persisted().digest());
        let outs = r.handle(NOW, Input::Message(noise));
        proptest::prop_assert!(outs.is_empty());
        let mut valid = match prepare(2, 0, 1, d()) { Input::Message(b) => b, _ => unreachable!() };
        let i = flip % valid.len();
        valid[i] ^= 0x40;
        let outs = r.handle(NOW, Input::Message(valid));
        proptest::prop_assert!(outs.is_empty());
        proptest::prop_assert_eq!(before, (strip(r.describe()), r.persisted().digest()));
        proptest::prop_assert_eq!(r.metrics().total_dropped(), 2);
    }
}
