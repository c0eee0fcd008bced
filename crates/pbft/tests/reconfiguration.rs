//! Reconfiguration: the validator set changes at a checkpoint at least a window above the block that decides it,
//! every certificate is checked against the set of its epoch, and validators join and leave while the checkers
//! (agreement, validity, no double signing, durability, liveness) keep holding across epochs.
//!
//! The campaign over random reconfiguring scenarios is `campaign_reconfiguring` in `campaign.rs`.

use ctchain_codec::{Encode, Hash32};
use ctchain_pbft::sim::{
    run, sim_secret, sim_validator_set, sim_validators, Behavior, Reconfiguration, Scenario, CHAIN_ID,
};
use ctchain_pbft::types::signing_digest;
use ctchain_pbft::{
    Block, CertError, Commit, CommitCertificate, CommittedBlock, Config, DropReason, Ed25519Signer, Ed25519Verifier,
    EpochSchedule, Input, Message, Output, Prepare, Replica, ReplicaId, Seq, Signed, Signer, ValidatorSet,
};

/// n = 4 (nodes 0–3), then 7 (nodes 0–6 added), then 5 (0, 1 and 4 removed, node 7 added: a replacement).
fn four_seven_five(seed: u64) -> Scenario {
    let mut s = Scenario::calm(4, seed);
    let first = s.epoch_first_seq(3);
    s.reconfigurations = vec![
        Reconfiguration { decided_at: 3, validators: (0..7).collect() },
        Reconfiguration { decided_at: first + 2, validators: vec![6, 5, 2, 3, 7] },
    ];
    s
}

fn last_epoch_start(s: &Scenario) -> Seq {
    let epochs = s.schedule_through(Seq::MAX);
    epochs.first_seq(epochs.latest()).expect("scheduled") - 1
}

/// The epoch-2 index of node 7 in [`four_seven_five`].
const NODE_7_INDEX: ReplicaId = 4;

#[test]
fn four_to_seven_to_five_validators_without_faults() {
    let s = four_seven_five(1);
    let report = run(&s);
    assert!(report.ok(), "{}", report.summary());
    let start = last_epoch_start(&s);
    assert_eq!(start, 24, "epoch 1 begins after checkpoint 12, epoch 2 after checkpoint 24");
    for node in 0..8 {
        assert_eq!(report.epochs[node], Some(2), "node {node} reached the last epoch: {}", report.states[node]);
        assert!(report.ledgers[node].len() as u64 > start, "node {node} at {}", report.ledgers[node].len());
    }
    // Nodes 0, 1 and 4 were removed: they follow without voting. Node 7 joined: it votes.
    for removed in [0, 1, 4] {
        assert!(report.states[removed].contains("id None"), "{}", report.states[removed]);
    }
    assert!(report.states[7].contains("id Some(4)"), "{}", report.states[7]);
    // Every certificate is a quorum of its own epoch: 3 of 4 up to 12, 5 of 7 up to 24, 4 of 5 after.
    for d in &report.ledgers[2] {
        let need = match d.committed.seq {
            1..=12 => 3,
            13..=24 => 5,
            _ => 4,
        };
        assert!(d.committed.cert.signatures.len() >= need, "seq {}", d.committed.seq);
    }
}

/// With one of the five validators of the last epoch silent, every certificate of that epoch needs node 7, the
/// validator that joined: its votes count.
#[test]
fn the_joined_validators_votes_are_needed_once_another_is_silent() {
    let mut s = four_seven_five(2);
    s.behaviors.insert(6, Behavior::Silent);
    let report = run(&s);
    assert!(report.ok(), "{}", report.summary());
    let start = last_epoch_start(&s);
    let in_last_epoch: Vec<&CommittedBlock> =
        report.ledgers[2].iter().map(|d| &d.committed).filter(|c| c.seq > start).collect();
    assert!(in_last_epoch.len() >= 5, "{} blocks in the last epoch", in_last_epoch.len());
    for cb in in_last_epoch {
        let signers: Vec<ReplicaId> = cb.cert.signatures.iter().map(|(id, _)| *id).collect();
        assert!(signers.contains(&NODE_7_INDEX), "seq {}: signers {signers:?}", cb.seq);
        assert!(!signers.contains(&0), "node 6 (index 0 of the last epoch) is silent: {signers:?}");
    }
}

/// The same changes under faults: drops, duplicates, a crash across the first boundary, a partition across the
/// second, a Byzantine validator in every epoch, over several seeds.
#[test]
fn four_to_seven_to_five_under_faults() {
    for seed in 0..12 {
        let mut s = four_seven_five(seed);
        s.net.drop_per_mille = 80;
        s.net.dup_per_mille = 40;
        s.net.max_delay_ms = 40;
        s.heal_at_ms = 3_000;
        s.behaviors.insert(3, [Behavior::Equivocate, Behavior::DoubleVote, Behavior::Silent][seed as usize % 3]);
        s.crashes.push(ctchain_pbft::sim::Crash { node: 2, at_ms: 300, restart_ms: 1_400, torn: seed % 2 == 0 });
        s.partitions.push(ctchain_pbft::sim::Partition {
            from_ms: 1_500,
            until_ms: 2_500,
            isolated: vec![5, 7],
            cut: ctchain_pbft::sim::Cut::Both,
        });
        let report = run(&s);
        assert!(report.ok(), "seed {seed}: {}\n{}", report.summary(), report.states.join("\n"));
        let start = last_epoch_start(&s);
        assert!(report.min_honest_height() > start, "seed {seed}: {}", report.summary());
    }
}

/// The same scenario gives the same trace: reconfiguration keeps the simulator deterministic.
#[test]
fn reconfiguring_runs_are_deterministic() {
    let a = run(&Scenario::random_reconfiguring(7));
    let b = run(&Scenario::random_reconfiguring(7));
    assert_eq!(a.trace_hash, b.trace_hash);
    assert!(!Scenario::random_reconfiguring(7).reconfigurations.is_empty());
}

fn schedule_4_then_5() -> EpochSchedule {
    let mut epochs = EpochSchedule::genesis(sim_validators(4));
    epochs.push(13, sim_validator_set(1, &[4, 5, 6, 7, 0])).expect("a valid next epoch");
    epochs
}

/// A commit certificate at `seq` for `block`, signed by `nodes` as validators `indices` of `epoch`.
fn certified(seq: Seq, block: &Block, epoch: u64, signers: &[(ReplicaId, ReplicaId)]) -> CommittedBlock {
    let digest = block.digest(CHAIN_ID, seq);
    let body = Commit { view: 0, seq, digest };
    let signatures = signers
        .iter()
        .map(|(node, index)| {
            let key = Ed25519Signer::from_secret(sim_secret(*node));
            (*index, key.sign(signing_digest(CHAIN_ID, epoch, *index, &body).as_bytes()))
        })
        .collect();
    CommittedBlock { seq, block: block.clone(), cert: CommitCertificate { view: 0, seq, digest, signatures } }
}

/// The old validators (here all four of the genesis, none of which is in the new set but node 0) cannot
/// certify a block of the new epoch, whichever epoch number they sign with; the new validators can.
#[test]
fn a_certificate_counts_only_for_the_validators_of_its_epoch() {
    let epochs = schedule_4_then_5();
    let block = Block::Data { timestamp: 1, payload: b"after the change".to_vec() };
    let by_old_as_old = certified(13, &block, 0, &[(0, 0), (1, 1), (2, 2), (3, 3)]);
    let by_old_as_new = certified(13, &block, 1, &[(0, 0), (1, 1), (2, 2), (3, 3)]);
    let by_new = certified(13, &block, 1, &[(4, 0), (5, 1), (6, 2), (7, 3)]);
    assert!(matches!(epochs.verify_committed(&Ed25519Verifier, &by_old_as_old), Err(CertError::BadSignature(_))));
    assert!(matches!(epochs.verify_committed(&Ed25519Verifier, &by_old_as_new), Err(CertError::BadSignature(_))));
    epochs.verify_committed(&Ed25519Verifier, &by_new).expect("the new epoch's quorum");
    // And the other way: the new validators cannot certify a block of the old epoch.
    let old_block = certified(12, &block, 1, &[(4, 0), (5, 1), (6, 2), (7, 3)]);
    assert!(epochs.verify_committed(&Ed25519Verifier, &old_block).is_err());
    assert_eq!(epochs.epoch_of(12), 0);
    assert_eq!(epochs.epoch_of(13), 1);
    assert_eq!(epochs.last_seq(0), Some(12));
}

/// A host that holds only the later epochs (restored from a state snapshot) starts its schedule there: blocks of
/// the epochs before are refused as such, not judged by a set they do not belong to.
#[test]
fn a_schedule_starting_at_a_later_epoch_refuses_blocks_before_it() {
    let set = sim_validator_set(1, &[4, 5, 6, 7, 0]);
    let mut epochs = EpochSchedule::starting_at(13, set).expect("a schedule from epoch 1");
    assert_eq!((epochs.earliest(), epochs.latest()), (1, 1));
    assert_eq!(epochs.get(0), None);
    let block = Block::Data { timestamp: 1, payload: b"x".to_vec() };
    epochs.verify_committed(&Ed25519Verifier, &certified(13, &block, 1, &[(4, 0), (5, 1), (6, 2), (7, 3)])).unwrap();
    let before = certified(12, &block, 1, &[(4, 0), (5, 1), (6, 2), (7, 3)]);
    assert_eq!(
        epochs.verify_committed(&Ed25519Verifier, &before),
        Err(CertError::BeforeSchedule { seq: 12, first: 13 })
    );
    // It goes on like any schedule; an epoch 0 can only begin at 1.
    epochs.push(29, sim_validator_set(2, &[4, 5, 6, 7])).unwrap();
    assert_eq!((epochs.epoch_of(28), epochs.epoch_of(29), epochs.last_seq(1)), (1, 2, Some(28)));
    assert!(matches!(
        epochs.push(45, sim_validator_set(2, &[4, 5, 6, 7])),
        Err(ctchain_pbft::ScheduleError::WrongNumber { expected: 3, got: 2 })
    ));
    assert!(EpochSchedule::starting_at(13, sim_validator_set(0, &[0, 1, 2, 3])).is_err());
}

fn config(epochs: EpochSchedule) -> Config {
    let mut c = Config::new(epochs);
    c.checkpoint_interval = 4;
    c.window = 8;
    c
}

/// A follower (a node of no epoch yet) fed a forged block of the new epoch, certified by the old validators,
/// delivers nothing; fed the genuine history it joins the new epoch as validator 0... here node 4.
#[test]
fn a_follower_refuses_a_new_epoch_block_certified_by_the_old_set_and_joins_with_the_genuine_one() {
    let signer = Box::new(Ed25519Signer::from_secret(sim_secret(4)));
    let mut r = Replica::new(config(schedule_4_then_5()), signer, Box::new(Ed25519Verifier)).expect("config");
    assert_eq!(r.id(), None, "node 4 is not a genesis validator");
    let old = [(0, 0), (1, 1), (2, 2), (3, 3)];
    let history: Vec<CommittedBlock> =
        (1..=12).map(|s| certified(s, &Block::Data { timestamp: s, payload: vec![s as u8] }, 0, &old)).collect();
    let forged = certified(13, &Block::Data { timestamp: 13, payload: b"forged".to_vec() }, 0, &old);
    let mut blocks = history.clone();
    blocks.push(forged);
    let mut delivered = 0;
    while r.last_executed() < 12 {
        let before = r.last_executed();
        let outs = r.handle(1_000, Input::SyncedBlocks(blocks.clone()));
        delivered += outs.iter().filter(|o| matches!(o, Output::Deliver(_))).count();
        assert!(r.last_executed() > before);
    }
    r.handle(1_000, Input::SyncedBlocks(blocks));
    assert_eq!(delivered, 12);
    assert_eq!(r.last_executed(), 12, "the forged block 13 is refused");
    assert!(r.metrics().dropped(DropReason::InvalidProof) >= 1);
    assert_eq!(r.epoch(), 1, "executing block 12 entered epoch 1");
    assert_eq!(r.id(), Some(0), "node 4 is validator 0 of epoch 1");
    let genuine = certified(
        13,
        &Block::Data { timestamp: 13, payload: b"genuine".to_vec() },
        1,
        &[(5, 1), (6, 2), (7, 3), (0, 4)],
    );
    let outs = r.handle(1_000, Input::SyncedBlocks(vec![genuine]));
    assert!(outs.iter().any(|o| matches!(o, Output::Deliver(_))));
}

fn sign_prepare(node: ReplicaId, epoch: u64, index: ReplicaId, body: Prepare) -> Message {
    let key = Ed25519Signer::from_secret(sim_secret(node));
    let signature = key.sign(signing_digest(CHAIN_ID, epoch, index, &body).as_bytes());
    Message::Prepare(Signed { body, epoch, signer: index, signature })
}

/// A message of the old epoch for a sequence number of the new one is refused before anything else, and a
/// message naming an epoch nobody scheduled too.
#[test]
fn messages_are_judged_by_the_epoch_they_name() {
    let signer = Box::new(Ed25519Signer::from_secret(sim_secret(1)));
    let mut r = Replica::new(config(schedule_4_then_5()), signer, Box::new(Ed25519Verifier)).expect("config");
    r.handle(1_000, Input::Start);
    let body = Prepare { view: 0, seq: 13, digest: Hash32([7; 32]) };
    r.handle(1_000, Input::Message(sign_prepare(2, 0, 2, body).to_bytes()));
    assert_eq!(r.metrics().dropped(DropReason::WrongEpoch), 1);
    r.handle(1_000, Input::Message(sign_prepare(2, 5, 2, body).to_bytes()));
    assert_eq!(r.metrics().dropped(DropReason::UnknownEpoch), 1);
    // A signature made for epoch 0 does not pass for epoch 1 (the epoch is bound).
    let key = Ed25519Signer::from_secret(sim_secret(5));
    let signature = key.sign(signing_digest(CHAIN_ID, 0, 1, &body).as_bytes());
    let relabelled = Message::Prepare(Signed { body, epoch: 1, signer: 1, signature });
    r.handle(1_000, Input::Message(relabelled.to_bytes()));
    assert_eq!(r.metrics().dropped(DropReason::BadSignature), 1);
}

/// An epoch is scheduled only at a checkpoint, in order, and not once the replica has worked on its sequence
/// numbers; a refusal changes nothing.
#[test]
fn a_next_epoch_that_comes_too_late_or_out_of_order_is_refused() {
    let signer = Box::new(Ed25519Signer::from_secret(sim_secret(0)));
    let mut r = Replica::new(config(EpochSchedule::genesis(sim_validators(4))), signer, Box::new(Ed25519Verifier))
        .expect("config");
    let next = |epoch| sim_validator_set(epoch, &[0, 1, 2, 4]);
    r.handle(1_000, Input::NextEpoch { first_seq: 14, validators: next(1) });
    r.handle(1_000, Input::NextEpoch { first_seq: 13, validators: next(2) });
    assert_eq!(r.metrics().dropped(DropReason::EpochRefused), 2, "not after a checkpoint; not the next number");
    assert_eq!(r.schedule().latest(), 0);
    let old = [(0, 0), (1, 1), (2, 2), (3, 3)];
    let blocks: Vec<CommittedBlock> =
        (1..=8).map(|s| certified(s, &Block::Data { timestamp: s, payload: vec![s as u8] }, 0, &old)).collect();
    r.handle(1_000, Input::SyncedBlocks(blocks));
    assert_eq!(r.last_executed(), 8);
    r.handle(1_000, Input::NextEpoch { first_seq: 5, validators: next(1) });
    assert_eq!(r.metrics().dropped(DropReason::EpochRefused), 3, "block 5 was executed already");
    r.handle(1_000, Input::NextEpoch { first_seq: 17, validators: next(1) });
    assert_eq!(r.schedule().latest(), 1);
    assert_eq!(r.schedule().last_seq(0), Some(16));
    let other_chain = ValidatorSet::for_epoch("another", 2, sim_validators(4).keys().to_vec());
    r.handle(1_000, Input::NextEpoch { first_seq: 33, validators: other_chain });
    assert_eq!(r.schedule().latest(), 1, "a set of another chain is refused");
}

/// Found by the reconfiguring campaign, seed 984 (4 → 6 → 5 validators): two validators of epoch 0 missed the
/// end of their epoch in a partition while the others had entered epoch 1 and restarted, forgetting the
/// checkpoint they had signed at its end. The two were validators of epoch 1 too, whose quorum needed them: the
/// chain stopped. Now a replica signs its checkpoint at the previous epoch's end again from its persisted epoch
/// start, and the view changes of a later epoch count as claims that the chain is ahead.
#[test]
fn validators_stuck_at_the_end_of_an_epoch_catch_up_after_their_peers_restarted() {
    let report = run(&Scenario::random_reconfiguring(984));
    assert!(report.ok(), "{}\n{}", report.summary(), report.states.join("\n"));
}

/// Found by the reconfiguring campaign, seed 897: a validator that heard nothing for 2.3 s (a one-way partition)
/// stayed at height 1 of epoch 0 while the others ran hundreds of blocks into epoch 1; the peers that could vouch
/// for the end of epoch 0 had restarted and forgotten their checkpoint there.
#[test]
fn a_validator_cut_off_for_an_epoch_catches_up_and_rejoins() {
    let report = run(&Scenario::random_reconfiguring(897));
    assert!(report.ok(), "{}\n{}", report.summary(), report.states.join("\n"));
}
