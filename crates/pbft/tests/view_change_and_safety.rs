//! View change (§4.4) step by step, the safety rules across a restart, and certificates.

mod common;

use common::*;
use ctchain_codec::{Decode, Encode, Hash32};
use ctchain_pbft::sim::{sim_secret, sim_validators, CHAIN_ID};
use ctchain_pbft::types::genesis_digest;
use ctchain_pbft::{
    compute_o, verify_committed, Block, CertError, CheckpointProof, Commit, CommittedBlock, DropReason, Ed25519Signer,
    Ed25519Verifier, Input, LedgerTip, Message, NewView, Output, PersistedState, PrePrepare, Prepare, Replica,
    SafetyError, SafetyRules, Signed, ViewChange,
};

fn genesis_proof() -> CheckpointProof {
    CheckpointProof { seq: 0, digest: genesis_digest(CHAIN_ID), signatures: vec![] }
}

fn view_change(from: u32, new_view: u64) -> Input {
    bytes(Message::ViewChange(sign(from, ViewChange { new_view, stable: genesis_proof(), prepared: vec![] })))
}

fn timeout(r: &mut Replica) -> Vec<Output> {
    let outs = r.handle(NOW, Input::Start);
    let Output::SetTimer { timer, .. } = outs[0] else { panic!("no timer") };
    r.handle(NOW, Input::Timeout(timer))
}

fn new_view_of(outs: &[Output]) -> Signed<NewView> {
    outs.iter()
        .find_map(|o| match o {
            Output::Broadcast(Message::NewView(nv)) => Some(nv.clone()),
            _ => None,
        })
        .expect("a new-view broadcast")
}

/// Replica 1 prepares block `b` at seq 1 in view 0 but never sees the commits.
fn prepared_but_not_committed(b: &Block) -> Replica {
    let mut r = replica(1);
    let d = digest(b, 1);
    r.handle(NOW, pre_prepare(0, 0, 1, b));
    r.handle(NOW, Input::Verdict { view: 0, seq: 1, digest: d, valid: true });
    let outs = r.handle(NOW, prepare(2, 0, 1, d));
    assert!(describe_all(&outs).contains(&"broadcast commit v0 n1".to_string()));
    r
}

#[test]
fn new_primary_re_proposes_a_prepared_block_in_the_new_view() {
    let b = block(NOW, "prepared in view 0");
    let mut r = prepared_but_not_committed(&b);
    let outs = timeout(&mut r);
    assert_eq!(describe_all(&outs)[0], "persist", "the view change is persisted before it is sent");
    assert!(describe_all(&outs).contains(&"broadcast view-change v1".to_string()));
    r.handle(NOW, view_change(2, 1));
    let outs = r.handle(NOW, view_change(3, 1));
    // Replica 1 is the primary of view 1: with a quorum of view changes it sends the new view.
    let nv = new_view_of(&outs);
    assert_eq!(nv.body.pre_prepares.len(), 1);
    assert_eq!(nv.body.pre_prepares[0].body.digest, digest(&b, 1), "the prepared block keeps its sequence number");
    assert!(r.is_normal());
    assert_eq!(r.view(), 1);
}

#[test]
fn o_set_fills_gaps_with_null_blocks_and_takes_the_highest_view() {
    let (b_old, b_new) = (block(NOW, "view 0"), block(NOW + 5, "view 2"));
    let cert = |view: u64, seq: u64, b: &Block| ctchain_pbft::PreparedCert {
        pre_prepare: sign((view % 4) as u32, PrePrepare { view, seq, digest: digest(b, seq) }),
        prepares: vec![],
    };
    let vc = |from: u32, prepared| sign(from, ViewChange { new_view: 3, stable: genesis_proof(), prepared });
    let vcs = vec![vc(0, vec![cert(0, 3, &b_old)]), vc(1, vec![cert(2, 3, &b_new)]), vc(2, vec![])];
    let (stable, o) = compute_o(CHAIN_ID, &vcs);
    assert_eq!(stable.seq, 0);
    let null = |seq| Block::null_digest(CHAIN_ID, seq);
    assert_eq!(o, vec![(1, null(1)), (2, null(2)), (3, digest(&b_new, 3))]);
}

#[test]
fn backups_accept_a_new_view_only_if_o_is_what_the_view_changes_imply() {
    let mut primary = replica(1);
    timeout(&mut primary);
    primary.handle(NOW, view_change(2, 1));
    let nv = new_view_of(&primary.handle(NOW, view_change(3, 1)));

    let mut tampered = nv.body.clone();
    tampered.pre_prepares.push(sign(1, PrePrepare { view: 1, seq: 1, digest: digest(&block(NOW, "smuggled"), 1) }));
    let mut backup = replica(2);
    let outs = backup.handle(NOW, bytes(Message::NewView(sign(1, tampered))));
    assert!(outs.is_empty());
    assert_eq!(backup.metrics().dropped(DropReason::InvalidProof), 1);
    assert_eq!(backup.view(), 0);

    backup.handle(NOW, bytes(Message::NewView(nv)));
    assert_eq!((backup.view(), backup.is_normal()), (1, true));
}

#[test]
fn a_replica_joins_a_view_change_when_f_plus_one_others_ask_for_it() {
    let mut r = replica(3);
    assert!(r.handle(NOW, view_change(1, 1)).is_empty(), "one view change is not enough (f = 1)");
    let outs = r.handle(NOW, view_change(2, 1));
    assert!(describe_all(&outs).contains(&"broadcast view-change v1".to_string()));
}

#[test]
fn equivocating_primary_is_detected_and_a_view_change_starts() {
    let mut r = replica(1);
    r.handle(NOW, pre_prepare(0, 0, 1, &block(NOW, "a")));
    let outs = r.handle(NOW, pre_prepare(0, 0, 1, &block(NOW, "b")));
    assert!(describe_all(&outs).contains(&"broadcast view-change v1".to_string()));
    assert_eq!(r.metrics().dropped(DropReason::Conflicting), 1);
}

#[test]
fn restarted_replica_cannot_be_tricked_into_preparing_a_conflicting_block() {
    let b = block(NOW, "the block it prepared");
    let mut r = replica(1);
    let d = digest(&b, 1);
    r.handle(NOW, pre_prepare(0, 0, 1, &b));
    let outs = r.handle(NOW, Input::Verdict { view: 0, seq: 1, digest: d, valid: true });
    let Output::Persist(state) = &outs[0] else { panic!("persist first") };
    // Crash: only the persisted state survives (round-tripped through its encoding, as a host would store it).
    let state = PersistedState::from_bytes(&state.to_bytes()).expect("canonical");
    let mut restarted = Replica::restore(
        config(),
        Box::new(Ed25519Signer::from_secret(sim_secret(1))),
        Box::new(Ed25519Verifier),
        state,
        LedgerTip::genesis(CHAIN_ID),
        vec![],
    )
    .expect("restore");
    // A Byzantine primary now sends a different block for the same (view, seq).
    let other = block(NOW, "a conflicting block");
    let d2 = digest(&other, 1);
    restarted.handle(NOW, pre_prepare(0, 0, 1, &other));
    let outs = restarted.handle(NOW, Input::Verdict { view: 0, seq: 1, digest: d2, valid: true });
    assert!(
        !describe_all(&outs).iter().any(|o| o.starts_with("broadcast prepare")),
        "signed a conflicting prepare: {:?}",
        describe_all(&outs)
    );
    assert_eq!(restarted.metrics().dropped(DropReason::SafetyRefused), 1);
}

#[test]
fn safety_rules_refuse_two_digests_for_one_slot_and_anything_below_their_floor() {
    let signer = Box::new(Ed25519Signer::from_secret(sim_secret(2)));
    let mut rules = SafetyRules::new(signer, Some(2), CHAIN_ID, PersistedState::genesis(CHAIN_ID));
    let d1 = digest(&block(1, "a"), 5);
    let d2 = digest(&block(1, "b"), 5);
    assert!(rules.sign_prepare(Prepare { view: 3, seq: 5, digest: d1 }).is_ok());
    assert!(rules.take_dirty(), "signing marks the state to persist");
    assert!(rules.sign_prepare(Prepare { view: 3, seq: 5, digest: d1 }).is_ok(), "same statement again is fine");
    assert!(matches!(rules.sign_prepare(Prepare { view: 3, seq: 5, digest: d2 }), Err(SafetyError::Conflict { .. })));
    assert!(rules.sign_commit(Commit { view: 3, seq: 5, digest: d2 }).is_ok(), "commits are a separate kind");
    let vc = ViewChange { new_view: 4, stable: genesis_proof(), prepared: vec![] };
    assert!(rules.sign_view_change(vc.clone()).is_ok());
    assert!(matches!(rules.sign_view_change(vc), Err(SafetyError::OldView { .. })), "one view change per view");
    assert!(
        matches!(rules.sign_prepare(Prepare { view: 3, seq: 6, digest: d1 }), Err(SafetyError::OldView { .. })),
        "nothing of view 3 after asking for view 4"
    );
}

fn committed_block(seq: u64, b: &Block, signers: &[u32]) -> CommittedBlock {
    let d = digest(b, seq);
    let body = Commit { view: 0, seq, digest: d };
    let signatures = signers.iter().map(|id| (*id, sign(*id, body).signature)).collect();
    CommittedBlock {
        seq,
        block: b.clone(),
        cert: ctchain_pbft::CommitCertificate { view: 0, seq, digest: d, signatures },
    }
}

#[test]
fn commit_certificates_verify_only_with_a_quorum_of_distinct_validators_for_that_block() {
    let vals = sim_validators(4);
    let b = block(NOW, "final");
    assert_eq!(verify_committed(&vals, &Ed25519Verifier, &committed_block(1, &b, &[0, 2, 3])), Ok(()));
    assert_eq!(
        verify_committed(&vals, &Ed25519Verifier, &committed_block(1, &b, &[0, 2])),
        Err(CertError::TooFewSignatures { have: 2, need: 3 })
    );
    assert_eq!(
        verify_committed(&vals, &Ed25519Verifier, &committed_block(1, &b, &[0, 2, 2])),
        Err(CertError::NotCanonical)
    );
    let mut moved = committed_block(1, &b, &[0, 2, 3]);
    moved.seq = 2;
    assert!(verify_committed(&vals, &Ed25519Verifier, &moved).is_err(), "a certificate cannot move height");
    let mut swapped = committed_block(1, &b, &[0, 2, 3]);
    swapped.block = block(NOW, "another");
    assert!(verify_committed(&vals, &Ed25519Verifier, &swapped).is_err(), "nor certify another block");
}

#[test]
fn catch_up_accepts_only_certified_blocks() {
    let mut r = replica(1);
    let b1 = block(NOW, "one");
    let forged = committed_block(1, &b1, &[0, 3]);
    assert!(r.handle(NOW, Input::SyncedBlocks(vec![forged])).is_empty());
    assert_eq!(r.metrics().dropped(DropReason::InvalidProof), 1);
    assert_eq!(r.last_executed(), 0);
    let good = vec![committed_block(1, &b1, &[0, 2, 3]), committed_block(2, &block(NOW + 1, "two"), &[1, 2, 3])];
    let outs = r.handle(NOW, Input::SyncedBlocks(good));
    assert_eq!(describe_all(&outs).iter().filter(|o| o.starts_with("deliver")).count(), 2);
    assert_eq!(r.last_executed(), 2);
}

/// What replica 1 sends: its fetch requests as `(peer, from, to)`.
fn fetch_requests(outs: &[Output]) -> Vec<(u32, u64, u64)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Send { to, message: Message::FetchRequest(m) } => Some((*to, m.body.from, m.body.to)),
            _ => None,
        })
        .collect()
}

#[test]
fn only_the_answer_to_the_outstanding_fetch_starts_the_next_one() {
    // Replicas 0 and 2 (f + 1) claim a checkpoint at 8: replica 1 is behind and asks one peer for 1..8.
    let mut r = replica(1);
    r.handle(NOW, Input::Start);
    r.handle(NOW, bytes(Message::Checkpoint(sign(0, ctchain_pbft::Checkpoint { seq: 8, digest: Hash32([8; 32]) }))));
    let outs = r
        .handle(NOW, bytes(Message::Checkpoint(sign(2, ctchain_pbft::Checkpoint { seq: 8, digest: Hash32([8; 32]) }))));
    let asked = fetch_requests(&outs);
    assert_eq!(asked, vec![(2, 1, 8)], "{:?}", describe_all(&outs));
    let b1 = block(NOW, "one");
    let b2 = block(NOW + 1, "two");
    let answer = |from: u32, blocks: Vec<CommittedBlock>| {
        bytes(Message::FetchResponse(sign(from, ctchain_pbft::FetchResponse { blocks })))
    };
    // An unsolicited response (from a peer not asked) is used for its blocks, and starts no request.
    let outs = r.handle(NOW, answer(3, vec![committed_block(1, &b1, &[0, 2, 3])]));
    assert_eq!(r.last_executed(), 1);
    assert_eq!(fetch_requests(&outs), vec![], "a response nobody asked for started a request");
    // The answer of the peer asked ends the request: the next one goes out, to the next peer.
    let reply = answer(2, vec![committed_block(1, &b1, &[0, 2, 3]), committed_block(2, &b2, &[0, 2, 3])]);
    let next = r.handle(NOW, reply.clone());
    assert_eq!(r.last_executed(), 2);
    assert_eq!(fetch_requests(&next), vec![(3, 3, 8)]);
    // The same answer again (the network duplicated it, or the peer has a twin) starts nothing: each copy used to
    // start a chain of requests of its own, and a twin doubled them every round trip (campaign n = 4, seed 2 975).
    for _ in 0..3 {
        let outs = r.handle(NOW, reply.clone());
        assert_eq!(fetch_requests(&outs), vec![], "a duplicate answer started a request");
    }
    // Only the fetch timer lets the replica ask someone else while its request is unanswered.
    let Some((timer, _)) = timers(&next).into_iter().find(|(t, _)| matches!(t, ctchain_pbft::Timer::Fetch { .. }))
    else {
        panic!("no fetch timer: {:?}", describe_all(&next))
    };
    let outs = r.handle(NOW, Input::Timeout(timer));
    assert_eq!(fetch_requests(&outs), vec![(0, 3, 8)]);
}

#[test]
fn every_message_round_trips_through_the_canonical_encoding() {
    let b = block(NOW, "payload");
    let d = digest(&b, 1);
    let msgs = vec![
        Message::PrePrepare(proposal(0, 0, 1, &b)),
        Message::BlockRequest(sign(1, ctchain_pbft::BlockRequest { seq: 1, digest: d })),
        Message::BlockResponse(sign(2, ctchain_pbft::BlockResponse { seq: 1, block: b.clone() })),
        Message::Prepare(sign(1, Prepare { view: 0, seq: 1, digest: d })),
        Message::Commit(sign(2, Commit { view: 0, seq: 1, digest: d })),
        Message::ViewChange(sign(3, ViewChange { new_view: 1, stable: genesis_proof(), prepared: vec![] })),
        Message::FetchResponse(sign(
            3,
            ctchain_pbft::FetchResponse { blocks: vec![committed_block(1, &b, &[0, 1, 2])] },
        )),
    ];
    for m in msgs {
        let bytes = m.to_bytes();
        assert_eq!(Message::from_bytes(&bytes).as_ref(), Ok(&m));
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            assert!(Message::from_bytes(&bytes[..cut]).is_err(), "{} truncated to {cut} decoded", m.kind());
        }
    }
}

fn timers(outs: &[Output]) -> Vec<(ctchain_pbft::Timer, u64)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::SetTimer { timer, after_ms } => Some((*timer, *after_ms)),
            _ => None,
        })
        .collect()
}

#[test]
fn view_change_timers_double_while_no_new_view_arrives() {
    // Replica 3 asks for views 1 and 2, whose primaries (1 and 2) never answer; replicas 0 and 2 ask too.
    let mut r = replica(3);
    let mut outs = timeout(&mut r);
    let mut armed = Vec::new();
    for view in 1..=2u64 {
        assert!(describe_all(&outs).contains(&format!("broadcast view-change v{view}")), "{:?}", describe_all(&outs));
        // Before a quorum asks for the view, the timer only re-sends the view change.
        let (resend, _) = timers(&outs)[0];
        let again = r.handle(NOW, Input::Timeout(resend));
        assert!(describe_all(&again).contains(&format!("broadcast view-change v{view}")));
        assert_eq!(r.view(), view, "no escalation without a quorum");
        r.handle(NOW, view_change(0, view));
        let quorum = r.handle(NOW, view_change(2, view));
        let (timer, after) = timers(&quorum)[0];
        armed.push(after);
        outs = r.handle(NOW, Input::Timeout(timer));
    }
    assert!(describe_all(&outs).contains(&"broadcast view-change v3".to_string()));
    assert_eq!(armed, vec![500, 1000], "the new-view timer doubles with each view that fails");
}

#[test]
fn lagging_replica_learns_the_current_view_from_a_new_view_reply() {
    let mut primary = replica(1);
    timeout(&mut primary);
    primary.handle(NOW, view_change(2, 1));
    let nv = new_view_of(&primary.handle(NOW, view_change(3, 1)));
    let mut up_to_date = replica(2);
    up_to_date.handle(NOW, bytes(Message::NewView(nv)));
    assert_eq!(up_to_date.view(), 1);
    // Replica 3 was away, times out in view 0 and asks for view 1: replica 2 answers with the proof of view 1.
    let mut lagging = replica(3);
    let vc = timeout(&mut lagging)
        .into_iter()
        .find_map(|o| match o {
            Output::Broadcast(m @ Message::ViewChange(_)) => Some(m),
            _ => None,
        })
        .expect("view change");
    let reply = up_to_date.handle(NOW, bytes(vc));
    assert_eq!(describe_all(&reply), vec!["send 3 new-view v1"]);
    let Output::Send { message, .. } = &reply[0] else { unreachable!() };
    lagging.handle(NOW, bytes(message.clone()));
    assert_eq!((lagging.view(), lagging.is_normal()), (1, true));
}

/// A block committed in view `view` (certificate signed by `signers`).
fn committed_in_view(view: u64, seq: u64, b: &Block, signers: &[u32]) -> CommittedBlock {
    let d = digest(b, seq);
    let body = Commit { view, seq, digest: d };
    let signatures = signers.iter().map(|id| (*id, sign(*id, body).signature)).collect();
    CommittedBlock { seq, block: b.clone(), cert: ctchain_pbft::CommitCertificate { view, seq, digest: d, signatures } }
}

#[test]
fn a_replica_restarted_across_a_view_change_asks_for_the_view_its_fetched_blocks_were_certified_in() {
    // Replica 0 was the primary of view 0 and crashed; the others moved to view 2 and kept committing. After the
    // restart it obtains their blocks: executing them must not pass for progress of its own view 0.
    let mut r = replica(0);
    r.handle(NOW, Input::Start);
    let b1 = block(NOW, "committed in view 2");
    let outs = r.handle(NOW, Input::SyncedBlocks(vec![committed_in_view(2, 1, &b1, &[1, 2, 3])]));
    let described = describe_all(&outs);
    assert!(described.iter().any(|o| o.starts_with("deliver")), "{described:?}");
    assert!(described.contains(&"broadcast view-change v2".to_string()), "it asks for view 2: {described:?}");
    assert_eq!(r.view(), 2);
    // A replica of view 2 answers with its new-view message, which lets it in (checked by the e2e node tests);
    // here: blocks of its own view do not trigger further view changes.
    let b2 = block(NOW + 1, "also view 2");
    let outs = r.handle(NOW, Input::SyncedBlocks(vec![committed_in_view(2, 2, &b2, &[1, 2, 3])]));
    assert!(!describe_all(&outs).iter().any(|o| o.contains("view-change")));
}

/// A replica down for a day comes back to a day of heartbeat blocks: it executes them all from certified copies
/// and signs a checkpoint at every interval, none of which becomes stable (the others voted on them long ago).
/// What it must persist stays bounded, so it restarts again afterwards: on the code before the bound, its
/// safety state held one checkpoint vote per interval and no longer decoded past 4,096 of them.
#[test]
fn the_safety_state_stays_bounded_after_a_day_of_heartbeats() {
    // One heartbeat every 4 s for a day, checkpoints every 4 blocks (the tests' configuration): 5,400 checkpoints.
    const BLOCKS: u64 = 86_400 / 4;
    let mut r = replica(1);
    r.handle(NOW, Input::Start);
    let mut persisted = None;
    let mut seq = 0;
    while seq < BLOCKS {
        let batch: Vec<CommittedBlock> = (seq + 1..=(seq + 500).min(BLOCKS))
            .map(|s| committed_block(s, &Block::Data { timestamp: NOW + s, payload: Vec::new() }, &[0, 2, 3]))
            .collect();
        seq += batch.len() as u64;
        // One call takes the blocks up to the earliest end of an epoch they could decide: fed again, as a host
        // does, until taken.
        let mut rest = batch;
        while !rest.is_empty() {
            let before = r.last_executed();
            for out in r.handle(NOW, Input::SyncedBlocks(rest.clone())) {
                if let Output::Persist(state) = out {
                    persisted = Some(state);
                }
            }
            assert!(r.last_executed() > before, "progress in every call");
            rest.retain(|b| b.seq > r.last_executed());
        }
    }
    assert_eq!(r.last_executed(), BLOCKS);
    let state = persisted.expect("checkpoints were signed, so the state was persisted");
    let bytes = state.to_bytes();
    let decoded = ctchain_pbft::PersistedState::from_bytes(&bytes).expect("the state a replica persists decodes");
    assert_eq!(decoded, *state);
    assert!(state.votes.len() <= 64, "{} votes kept", state.votes.len());
    assert!(bytes.len() < 16 * 1024, "{} bytes", bytes.len());
    // Bounded by forgetting old checkpoints, not by forgetting what it refuses: a checkpoint below the newest it
    // signed is never signed, with whichever digest.
    let mut safety = ctchain_pbft::SafetyRules::new(
        Box::new(ctchain_pbft::Ed25519Signer::from_secret(sim_secret(1))),
        Some(1),
        CHAIN_ID,
        decoded,
    );
    let old = ctchain_pbft::Checkpoint { seq: 4, digest: ctchain_codec::Hash32([1; 32]) };
    assert!(safety.sign_checkpoint(old).is_err(), "an old checkpoint is refused even once forgotten");
}

/// Replica 2 enters view 1 through a new view whose `O` re-proposes a block it never received; it votes on the
/// digest and the commits come in while it fetches the block. The primary's next pre-prepare carries a timestamp
/// far in the future and waits for that block. When the block arrives, the bad timestamp starts a view change in
/// the same step: the replica must not then certify the slot of view 1 under view 2 (signatures of one view, a
/// certificate of another), nor vote at all. (Found by the campaign as n = 7, seed 57.)
#[test]
fn a_replica_that_leaves_a_view_mid_step_certifies_nothing_in_the_next_one() {
    let b1 = block(NOW, "prepared in view 0, never seen by replica 2");
    let d1 = digest(&b1, 1);
    let header = PrePrepare { view: 0, seq: 1, digest: d1 };
    let cert = ctchain_pbft::PreparedCert {
        pre_prepare: sign(0, header),
        prepares: [1, 3].iter().map(|id| (*id, sign(*id, Prepare { view: 0, seq: 1, digest: d1 }).signature)).collect(),
    };
    let with_cert =
        |from: u32| sign(from, ViewChange { new_view: 1, stable: genesis_proof(), prepared: vec![cert.clone()] });
    let mut r = replica(2);
    let own = timeout(&mut r)
        .into_iter()
        .find_map(|o| match o {
            Output::Broadcast(Message::ViewChange(vc)) => Some(vc),
            _ => None,
        })
        .expect("replica 2 asks for view 1");
    let view_changes = vec![with_cert(1), own, with_cert(3)];
    let (_, o) = compute_o(CHAIN_ID, &view_changes);
    let pre_prepares = o.iter().map(|(seq, d)| sign(1, PrePrepare { view: 1, seq: *seq, digest: *d })).collect();
    let outs = r.handle(NOW, bytes(Message::NewView(sign(1, NewView { view: 1, view_changes, pre_prepares }))));
    assert!(r.is_normal() && r.view() == 1, "replica 2 entered view 1");
    assert!(describe_all(&outs).contains(&"send 1 block-request n1".to_string()), "{:?}", describe_all(&outs));
    r.handle(NOW, prepare(3, 1, 1, d1));
    for from in [1, 3] {
        r.handle(NOW, commit(from, 1, 1, d1));
    }
    // The primary's next block, stamped far beyond every clock: checked only once block 1 is here.
    r.handle(NOW, pre_prepare(1, 1, 2, &block(NOW + 100_000, "from the future")));
    let response = sign(3, ctchain_pbft::BlockResponse { seq: 1, block: b1.clone() });
    let outs = r.handle(NOW, bytes(Message::BlockResponse(response)));
    assert_eq!(r.view(), 2, "the bad timestamp started a view change");
    for o in &outs {
        match o {
            Output::Deliver(d) => {
                let validators = sim_validators(4);
                verify_committed(&validators, &Ed25519Verifier, &d.committed)
                    .expect("a delivered block carries a certificate of the view its commits were signed in");
            }
            Output::Broadcast(Message::Prepare(p)) | Output::Send { message: Message::Prepare(p), .. } => {
                panic!("replica 2 prepared seq {} in view {} while leaving view 1", p.body.seq, p.body.view)
            }
            Output::Broadcast(Message::Commit(c)) => {
                panic!("replica 2 committed seq {} in view {} while leaving view 1", c.body.seq, c.body.view)
            }
            _ => {}
        }
    }
}

#[test]
fn new_timing_from_governance_arms_the_next_view_timer_and_zero_is_ignored() {
    let mut r = replica(3);
    let before = timers(&r.handle(NOW, Input::Start))[0].1;
    assert!(r.handle(NOW, Input::Timing { view_timeout_ms: before * 3, max_clock_skew_ms: 0 }).is_empty());
    assert_eq!(timers(&r.handle(NOW, Input::Start))[0].1, before * 3, "the view timer uses the new timeout");
    // Zero changes nothing (a missing parameter is not "no timeout").
    r.handle(NOW, Input::Timing { view_timeout_ms: 0, max_clock_skew_ms: 0 });
    assert_eq!(timers(&r.handle(NOW, Input::Start))[0].1, before * 3);
}
