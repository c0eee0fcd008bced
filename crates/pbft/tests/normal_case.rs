//! Step tables of the normal case (§4.2), checkpoints (§4.3) and the time rule.

mod common;

use common::*;
use ctchain_pbft::{DropReason, Input, Output, Timer};

#[test]
fn backup_prepares_only_after_the_application_accepts_then_commits_with_a_quorum() {
    let mut r = replica(1);
    let b = block(NOW, "tx-batch-1");
    let d = digest(&b, 1);
    let outs = run_table(
        &mut r,
        vec![
            (pre_prepare(0, 0, 1, &b), vec!["validate n1"]),
            (Input::Verdict { view: 0, seq: 1, digest: d, valid: true }, vec!["persist", "broadcast prepare v0 n1"]),
            // Own prepare + replica 2's = 2f: prepared, so it commits.
            (prepare(2, 0, 1, d), vec!["persist", "broadcast commit v0 n1"]),
            (prepare(3, 0, 1, d), vec![]),
            (commit(0, 0, 1, d), vec![]),
            // Own commit + 0 + 2 = 2f + 1: committed and delivered, the progress timer restarts.
            (commit(2, 0, 1, d), vec!["deliver n1", "timer"]),
        ],
    );
    let Output::Deliver(delivered) = &outs[5][0] else { panic!("expected a delivery") };
    assert_eq!(delivered.committed.block, b);
    assert_eq!(delivered.committed.cert.signatures.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(delivered.timestamp, NOW);
    assert_eq!(r.last_executed(), 1);
}

#[test]
fn commits_gathered_before_the_block_arrives_commit_it_as_soon_as_it_is_known() {
    let mut r = replica(1);
    let b = block(NOW, "x");
    let d = digest(&b, 1);
    run_table(
        &mut r,
        vec![
            (commit(0, 0, 1, d), vec![]),
            (commit(2, 0, 1, d), vec![]),
            (commit(3, 0, 1, d), vec![]),
            // The block arrives: 2f + 1 commits already prove it final, but it is still validated first in order.
            (pre_prepare(0, 0, 1, &b), vec!["validate n1", "deliver n1", "timer"]),
        ],
    );
    assert_eq!(r.last_executed(), 1);
}

#[test]
fn rejected_proposal_is_never_prepared_and_starts_a_view_change() {
    let mut r = replica(1);
    let b = block(NOW, "INVALID");
    let d = digest(&b, 1);
    run_table(
        &mut r,
        vec![
            (pre_prepare(0, 0, 1, &b), vec!["validate n1"]),
            (
                Input::Verdict { view: 0, seq: 1, digest: d, valid: false },
                vec!["persist", "timer", "broadcast view-change v1"],
            ),
            (prepare(2, 0, 1, d), vec![]),
        ],
    );
    assert_eq!(r.metrics().dropped(DropReason::InvalidProposal), 1);
    assert_eq!(r.metrics().dropped(DropReason::OldView), 1, "view 0 messages are refused after the view change");
    assert!(!r.is_normal());
}

#[test]
fn primary_asks_for_payloads_and_pipelines_up_to_the_high_water_mark() {
    let mut r = replica(0);
    run_table(&mut r, vec![(Input::Start, vec!["timer", "need proposal n1"])]);
    for seq in 1..=8u64 {
        let outs = r.handle(NOW + seq, Input::Propose { payload: format!("p{seq}").into_bytes() });
        let mut expected = vec!["persist".to_string(), format!("broadcast pre-prepare v0 n{seq}")];
        if seq < 8 {
            expected.push(format!("need proposal n{}", seq + 1));
        }
        assert_eq!(describe_all(&outs), expected, "seq {seq}");
    }
    // Window L = 8 is full: a ninth payload is unexpected.
    assert!(r.handle(NOW + 9, Input::Propose { payload: b"p9".to_vec() }).is_empty());
    assert_eq!(r.metrics().dropped(DropReason::Unexpected), 1);
}

#[test]
fn primary_timestamps_strictly_increase_even_when_its_clock_does_not() {
    let mut r = replica(0);
    r.handle(NOW, Input::Start);
    let mut stamps = Vec::new();
    for i in 0..3 {
        for o in r.handle(NOW, Input::Propose { payload: vec![i] }) {
            if let Output::Broadcast(ctchain_pbft::Message::PrePrepare(pp)) = o {
                stamps.push(pp.block.timestamp().unwrap());
            }
        }
    }
    assert_eq!(stamps, vec![NOW, NOW + 1, NOW + 2]);
}

#[test]
fn proposals_with_timestamps_out_of_bounds_are_rejected() {
    // Δ = 2000 ms around the backup's clock, and strictly above the previous block time.
    for (ts, ok) in [(NOW + 2_000, true), (NOW + 2_001, false), (NOW - 2_000, true), (NOW - 2_001, false)] {
        let mut r = replica(1);
        let outs = r.handle(NOW, pre_prepare(0, 0, 1, &block(ts, "b")));
        assert_eq!(describe_all(&outs) == vec!["validate n1"], ok, "timestamp {ts}");
        assert_eq!(r.metrics().dropped(DropReason::InvalidTimestamp), u64::from(!ok));
    }
    // Not above the previous block: seq 2 with the same timestamp as seq 1.
    let mut r = replica(1);
    commit_block(&mut r, 1, &block(NOW, "a"));
    let outs = r.handle(NOW, pre_prepare(0, 0, 2, &block(NOW, "b")));
    assert!(describe_all(&outs).contains(&"broadcast view-change v1".to_string()));
    assert_eq!(r.metrics().dropped(DropReason::InvalidTimestamp), 1);
}

#[test]
fn out_of_order_pre_prepares_wait_for_their_predecessor() {
    let mut r = replica(1);
    run_table(
        &mut r,
        vec![
            (pre_prepare(0, 0, 2, &block(NOW + 1, "second")), vec![]),
            (pre_prepare(0, 0, 1, &block(NOW, "first")), vec!["validate n1", "validate n2"]),
        ],
    );
}

#[test]
fn checkpoint_with_a_quorum_becomes_stable_and_moves_the_window() {
    let mut r = replica(1);
    let mut last = Vec::new();
    for seq in 1..=4 {
        last = commit_block(&mut r, seq, &block(NOW + seq, &format!("b{seq}")));
    }
    assert!(describe_all(&last).contains(&"broadcast checkpoint n4".to_string()));
    let cp = ctchain_pbft::Checkpoint { seq: 4, digest: r.chain_digest() };
    assert_eq!(r.low_water(), 0);
    r.handle(NOW, bytes(ctchain_pbft::Message::Checkpoint(sign(2, cp))));
    assert_eq!(r.low_water(), 0, "two checkpoint votes are not a quorum");
    let outs = r.handle(NOW, bytes(ctchain_pbft::Message::Checkpoint(sign(3, cp))));
    assert_eq!(describe_all(&outs), vec!["persist"], "the new low-water mark is persisted");
    assert_eq!(r.low_water(), 4);
    assert_eq!(r.persisted().stable.signatures.len(), 3);
    // Garbage collected: seq 4 is below the window now; the window is (4, 12].
    r.handle(NOW, prepare(2, 0, 4, digest(&block(NOW + 4, "b4"), 4)));
    assert_eq!(r.metrics().dropped(DropReason::BelowWatermark), 1);
    r.handle(NOW, prepare(2, 0, 12, digest(&block(NOW, "x"), 12)));
    r.handle(NOW, prepare(2, 0, 13, digest(&block(NOW, "x"), 13)));
    assert_eq!(r.metrics().dropped(DropReason::OutsideWindow), 1);
}

#[test]
fn stale_timers_are_ignored() {
    let mut r = replica(1);
    let outs = r.handle(NOW, Input::Start);
    let Output::SetTimer { timer, .. } = outs[0] else { panic!() };
    commit_block(&mut r, 1, &block(NOW, "a")); // progress re-arms the timer with a new epoch
    assert!(r.handle(NOW + 10_000, Input::Timeout(timer)).is_empty());
    assert!(r.is_normal());
    let Timer::View { view, generation } = timer else { panic!() };
    let fresh = Timer::View { view, generation: generation + 1 };
    assert!(describe_all(&r.handle(NOW, Input::Timeout(fresh))).contains(&"broadcast view-change v1".to_string()));
}

#[test]
fn same_inputs_give_the_same_outputs() {
    let b = block(NOW, "tx");
    let d = digest(&b, 1);
    let inputs = vec![
        Input::Start,
        pre_prepare(0, 0, 1, &b),
        Input::Verdict { view: 0, seq: 1, digest: d, valid: true },
        prepare(2, 0, 1, d),
        commit(0, 0, 1, d),
        commit(3, 0, 1, d),
        pre_prepare(0, 0, 2, &block(NOW + 1, "tx2")),
    ];
    let run = |inputs: &[Input]| {
        let mut r = replica(1);
        inputs.iter().map(|i| r.handle(NOW, i.clone())).collect::<Vec<_>>()
    };
    let (a, b) = (run(&inputs), run(&inputs));
    assert_eq!(a, b);
    assert!(a.iter().flatten().any(|o| matches!(o, Output::Deliver(_))));
}

/// The core knows signatures only through its `Signer` and `Verifier` traits: on SM2 keys (another `ctchain-sig`
/// scheme) it runs the same steps, and a vote signed with the replica's Ed25519 key of another chain is dropped as a
/// bad signature.
#[test]
fn the_core_runs_unchanged_on_sm2_keys_and_drops_an_ed25519_vote() {
    use ctchain_codec::Encode;
    use ctchain_pbft::sim::CHAIN_ID;
    use ctchain_pbft::types::{signing_digest, Signable};
    use ctchain_pbft::{
        Commit, Config, Message, PrePrepare, Prepare, Proposal, PublicKey, Replica, SchemeSigner, SchemeVerifier,
        Signature, Signed, ValidatorSet,
    };
    use ctchain_sig::Scheme;

    let secret = |id: u32| [id as u8 + 1; 32];
    let sm2 = |id: u32| Scheme::Sm2.signing_key(&secret(id)).unwrap();
    let keys = (0..4).map(|id| PublicKey(sm2(id).public_key().as_bytes().to_vec())).collect();
    let mut cfg = Config::new(ValidatorSet::new(CHAIN_ID, keys));
    cfg.checkpoint_interval = 4;
    cfg.window = 8;
    cfg.max_clock_skew_ms = 2_000;
    let mut r = Replica::new(cfg, Box::new(SchemeSigner::new(sm2(1))), Box::new(SchemeVerifier(Scheme::Sm2))).unwrap();
    fn signed<T: Signable>(id: u32, body: T, key: &dyn ctchain_sig::SigningKey) -> Signed<T> {
        let digest = signing_digest(CHAIN_ID, 0, id, &body);
        Signed { body, epoch: 0, signer: id, signature: Signature(key.sign(digest.as_bytes()).as_bytes().to_vec()) }
    }
    let msg = |m: Message| Input::Message(m.to_bytes());
    let b = block(NOW, "sm2 block");
    let d = digest(&b, 1);
    let pp = Proposal { pre_prepare: signed(0, PrePrepare { view: 0, seq: 1, digest: d }, sm2(0).as_ref()), block: b };
    assert_eq!(describe_all(&r.handle(NOW, msg(Message::PrePrepare(pp)))), vec!["validate n1"]);
    r.handle(NOW, Input::Verdict { view: 0, seq: 1, digest: d, valid: true });
    // Replica 2's vote signed with an Ed25519 key (64 bytes, like an SM2 signature): dropped, nothing counted.
    let ed = Scheme::Ed25519.signing_key(&secret(2)).unwrap();
    let outs = r.handle(NOW, msg(Message::Prepare(signed(2, Prepare { view: 0, seq: 1, digest: d }, ed.as_ref()))));
    assert!(outs.is_empty(), "{:?}", describe_all(&outs));
    assert_eq!(r.metrics().dropped(DropReason::BadSignature), 1);
    let outs = r.handle(NOW, msg(Message::Prepare(signed(2, Prepare { view: 0, seq: 1, digest: d }, sm2(2).as_ref()))));
    assert_eq!(describe_all(&outs), vec!["persist", "broadcast commit v0 n1"]);
    let mut delivered = Vec::new();
    for id in [0, 2] {
        let outs =
            r.handle(NOW, msg(Message::Commit(signed(id, Commit { view: 0, seq: 1, digest: d }, sm2(id).as_ref()))));
        delivered.extend(describe_all(&outs));
    }
    assert!(delivered.contains(&"deliver n1".to_string()), "{delivered:?}");
}
