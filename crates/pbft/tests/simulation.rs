//! Named scenarios in the deterministic simulator: each fault on its own, checked by the independent checkers
//! (agreement, validity, no honest double signing, persist-before-send, time rule, liveness after healing).

mod common;

use common::{block, digest, sign};
use ctchain_pbft::sim::checkers::Checker;
use ctchain_pbft::sim::{run, Behavior, Crash, Cut, Partition, Report, Scenario};
use ctchain_pbft::DropReason;

fn check(r: &Report) {
    assert!(r.ok(), "{}\nreplay: this scenario with seed {}\nstates:\n{}", r.summary(), r.seed, r.states.join("\n"));
}

fn with(n: usize, behaviors: &[(u32, Behavior)]) -> Scenario {
    let mut s = Scenario::calm(n, 7);
    s.behaviors = behaviors.iter().copied().collect();
    s
}

fn honest_view(r: &Report) -> u64 {
    r.views.iter().zip(&r.honest).filter(|(_, h)| **h).filter_map(|(v, _)| *v).max().unwrap_or(0)
}

fn honest_dropped(r: &Report, reason: DropReason) -> u64 {
    r.metrics.iter().zip(&r.honest).filter(|(_, h)| **h).map(|(m, _)| m.dropped(reason)).sum()
}

#[test]
fn calm_network_commits_in_view_zero_for_n4_and_n7() {
    for n in [4, 7] {
        let r = run(&Scenario::calm(n, 1));
        check(&r);
        assert_eq!(honest_view(&r), 0);
        assert!(r.min_honest_height() >= 5);
    }
}

#[test]
fn equivocating_primary_is_replaced_by_view_change() {
    let r = run(&with(4, &[(0, Behavior::Equivocate)]));
    check(&r);
    assert!(honest_view(&r) >= 1, "the equivocating primary of view 0 was not replaced");
}

#[test]
fn silent_primary_is_replaced_by_view_change() {
    for n in [4, 7] {
        let r = run(&with(n, &[(0, Behavior::Silent)]));
        check(&r);
        assert!(honest_view(&r) >= 1);
        assert!(r.min_honest_height() >= 5);
    }
}

#[test]
fn primary_proposing_invalid_blocks_is_replaced_and_its_blocks_never_commit() {
    let r = run(&with(4, &[(0, Behavior::InvalidProposals)]));
    check(&r); // validity checker: nothing the application rejects was delivered
    assert!(honest_view(&r) >= 1);
    assert!(honest_dropped(&r, DropReason::InvalidProposal) + honest_dropped(&r, DropReason::InvalidTimestamp) > 0);
}

#[test]
fn double_voting_replica_cannot_break_agreement() {
    let r = run(&with(4, &[(2, Behavior::DoubleVote)]));
    check(&r);
    assert!(honest_dropped(&r, DropReason::Conflicting) > 0, "the double votes were seen and refused");
}

#[test]
fn replayed_old_messages_are_dropped_without_effect() {
    let mut s = with(4, &[(3, Behavior::Replay)]);
    s.heal_at_ms = 3_000;
    let r = run(&s);
    check(&r);
    let stale = honest_dropped(&r, DropReason::Duplicate)
        + honest_dropped(&r, DropReason::BelowWatermark)
        + honest_dropped(&r, DropReason::OldView);
    assert!(stale > 0);
}

#[test]
fn twins_sharing_one_key_cannot_break_agreement() {
    for (n, twin) in [(4, 0), (4, 1), (7, 0), (7, 3)] {
        let r = run(&with(n, &[(twin, Behavior::Twin)]));
        check(&r);
    }
}

#[test]
fn two_byzantine_replicas_of_seven_cannot_break_agreement_or_liveness() {
    let r = run(&with(7, &[(0, Behavior::Equivocate), (1, Behavior::Silent)]));
    check(&r);
    assert!(honest_view(&r) >= 2, "both faulty primaries were skipped");
}

/// Blocks of 200 KB with a message limit of 300 KB: a view change that carried its prepared blocks (as it did
/// before view changes went by digest) would exceed the limit with two of them and be dropped, stalling the chain
/// once the primary crashes.
#[test]
fn a_primary_crash_under_large_blocks_is_survived_with_small_view_change_messages() {
    for seed in 0..4 {
        let mut s = Scenario::calm(4, seed);
        s.payload_bytes = 200_000;
        s.max_message_bytes = 300_000;
        s.heal_at_ms = 3_000;
        s.crashes = vec![Crash { node: 0, at_ms: 600, restart_ms: 2_900, torn: false }];
        let r = run(&s);
        check(&r);
        assert!(honest_view(&r) >= 1, "the crashed primary was replaced");
        assert_eq!(honest_dropped(&r, DropReason::Oversized), 0);
        assert!(
            r.most_prepared_in_view_change >= 2,
            "a view change carried {} prepared blocks: with whole blocks it would have fit the limit anyway",
            r.most_prepared_in_view_change
        );
        assert!(
            r.largest_view_change_bytes < 20_000,
            "view changes carry digests, not blocks: largest {} bytes",
            r.largest_view_change_bytes
        );
    }
}

/// Replica 1 hears nothing (a one-way partition: what it sends still arrives) while the others commit; then the
/// primary crashes and replica 1 becomes the primary of view 1 without the blocks its new view re-proposes. It
/// fetches them by digest; replica 2 answers every request with altered blocks, which are refused.
#[test]
fn a_new_primary_fetches_the_blocks_it_lacks_by_digest_and_refuses_altered_ones() {
    let mut fetched = 0;
    for seed in 0..6 {
        let mut s = Scenario::calm(7, seed);
        s.behaviors = [(2, Behavior::LyingFetch)].into_iter().collect();
        s.heal_at_ms = 3_000;
        s.partitions = vec![Partition { from_ms: 100, until_ms: 1_000, isolated: vec![1], cut: Cut::Inbound }];
        s.crashes = vec![Crash { node: 0, at_ms: 1_000, restart_ms: 2_900, torn: false }];
        let r = run(&s);
        check(&r);
        fetched += r.metrics[1].blocks_fetched_by_digest;
    }
    assert!(fetched > 0, "the new primary never needed a block by digest: the scenario does not test it");
}

/// Replica 3 floods every peer with validly signed messages for later views, which they can only buffer; then the
/// primary crashes and the view change needs the buffered messages of honest replicas. Each signer has its own
/// share of the buffer: the flooder's excess is refused, no honest replica's message is.
#[test]
fn a_flooding_replica_fills_only_its_own_share_of_the_buffer() {
    for seed in 0..3 {
        let mut s = Scenario::calm(4, seed);
        s.behaviors = [(3, Behavior::Flood)].into_iter().collect();
        s.heal_at_ms = 3_000;
        s.crashes = vec![Crash { node: 0, at_ms: 1_500, restart_ms: 2_900, torn: false }];
        let r = run(&s);
        check(&r);
        assert!(honest_view(&r) >= 1, "the crashed primary was replaced");
        let refused = |signer: u32| -> u64 {
            r.metrics
                .iter()
                .zip(&r.honest)
                .filter(|(_, h)| **h)
                .map(|(m, _)| m.buffer_refused.get(&signer).copied().unwrap_or(0))
                .sum()
        };
        assert!(refused(3) > 0, "the flood never filled the flooder's share: the scenario does not test it");
        for honest in 0..3 {
            assert_eq!(refused(honest), 0, "a message of honest replica {honest} was refused");
        }
    }
}

/// Found by the campaign (n = 4, seed 159). Replicas 0 and 2 hear nothing for a while (what they send still
/// arrives), replica 3 is silent. 0 and 2 ask for view 1; its primary, replica 1, enters it, but its new-view never
/// reaches them, and it moves on to view 2 for lack of progress. 0 and 2 keep asking for view 1, 1 for view 2: no
/// quorum for either. Replica 1 now answers a view change for a view it has entered with that view's new-view
/// even while it changes to a later one, which lets 0 and 2 in.
#[test]
fn a_new_view_lost_in_a_one_way_partition_is_sent_again_to_who_asks_for_its_view() {
    let mut s = Scenario::calm(4, 159);
    s.behaviors = [(3, Behavior::Silent)].into_iter().collect();
    s.net.min_delay_ms = 4;
    s.net.max_delay_ms = 13;
    s.net.dup_per_mille = 47;
    s.partitions = vec![Partition { from_ms: 789, until_ms: 1_766, isolated: vec![0, 2], cut: Cut::Inbound }];
    s.heal_at_ms = 2_681;
    let r = run(&s);
    check(&r);
}

/// Replica 3 signs forged view changes (a prepared certificate no quorum made), forged new views (an `O` that `V`
/// does not imply) and checkpoints of a made-up chain; the primary crashes so that view changes are needed. Every
/// forgery is refused for what it is and the others go on.
#[test]
fn forged_view_change_new_view_and_checkpoint_contents_are_refused() {
    for n in [4, 7] {
        let mut s = Scenario::calm(n, 11);
        s.behaviors = [(3, Behavior::ForgedContents)].into_iter().collect();
        s.heal_at_ms = 3_000;
        s.crashes = vec![Crash { node: 0, at_ms: 600, restart_ms: 2_900, torn: false }];
        let r = run(&s);
        check(&r);
        assert!(honest_view(&r) >= 1);
        assert!(honest_dropped(&r, DropReason::InvalidProof) > 0, "no forged view change was refused");
    }
}

/// A replica down for most of a long run (about 350 blocks) restarts from its persisted state and catches up from
/// certified blocks, 64 per request.
#[test]
fn a_replica_back_from_a_long_outage_catches_up() {
    let mut s = Scenario::calm(4, 13);
    s.heal_at_ms = 20_000;
    s.crashes = vec![Crash { node: 2, at_ms: 200, restart_ms: 19_000, torn: false }];
    let r = run(&s);
    check(&r);
    assert!(r.metrics[2].blocks_fetched > 200, "caught up {} blocks", r.metrics[2].blocks_fetched);
}

/// Found by the long campaign (n = 4, seed 871). The primary forges its checkpoints; replica 1 restarts after
/// executing up to the high-water mark, replica 3 after missing everything. Only 1 and 2 can make the checkpoint
/// stable with 3, and 3 learns it is behind only from f + 1 checkpoint claims: replica 1's were in memory only. A
/// restarted replica now signs its persisted checkpoints again (the same statements) and sends them.
#[test]
fn a_restarted_replica_sends_again_the_checkpoints_it_signed_before_the_crash() {
    let mut s = Scenario::calm(4, 871);
    s.behaviors = [(0, Behavior::ForgedContents)].into_iter().collect();
    s.net.max_delay_ms = 50;
    s.net.dup_per_mille = 68;
    s.crashes = vec![
        Crash { node: 3, at_ms: 59, restart_ms: 1_528, torn: true },
        Crash { node: 1, at_ms: 1_016, restart_ms: 1_307, torn: false },
    ];
    s.heal_at_ms = 1_813;
    s.max_views_after_heal = 4;
    check(&run(&s));
}

/// Found by the long campaign (n = 4, seed 764). Replica 3 forges its checkpoints; what replica 1 sends is lost for
/// a while. Replica 1 makes checkpoint 16 stable with the votes of 0 and 2, but they never get its vote, and it
/// stopped sending it once stable: 0 and 2 wait at the high-water mark for a quorum that cannot form. A replica
/// now keeps sending its vote for its stable checkpoint.
#[test]
fn a_replica_keeps_sending_its_vote_for_its_stable_checkpoint() {
    let mut s = Scenario::calm(4, 764);
    s.behaviors = [(3, Behavior::ForgedContents)].into_iter().collect();
    s.net.max_delay_ms = 10;
    s.net.dup_per_mille = 64;
    s.partitions = vec![Partition { from_ms: 532, until_ms: 1_152, isolated: vec![1], cut: Cut::Outbound }];
    s.crashes = vec![Crash { node: 2, at_ms: 1_117, restart_ms: 1_411, torn: true }];
    s.heal_at_ms = 1_562;
    s.max_views_after_heal = 4;
    check(&run(&s));
}

/// Found by the long campaign (n = 4, seed 2 975: a twin, a long torn crash, large blocks). A twin answers every
/// catch-up request twice, and every answer used to start the next request: the requests doubled with each round
/// trip to the twin while replica 2 caught up one block per answer, and the run never ended. Now only the answer to the outstanding
/// request (or its timeout) starts the next one.
#[test]
fn a_twin_answering_twice_does_not_multiply_catch_up_requests() {
    let mut s = Scenario::calm(4, 2_975);
    s.behaviors = [(3, Behavior::Twin)].into_iter().collect();
    // One block per catch-up answer (a block is over half the message limit), so catching up takes a round trip
    // per block.
    s.payload_bytes = 20_000;
    s.max_message_bytes = 60_000;
    s.crashes = vec![Crash { node: 2, at_ms: 300, restart_ms: 8_000, torn: true }];
    s.heal_at_ms = 8_500;
    s.max_views_after_heal = 4;
    let r = run(&s);
    check(&r);
    assert!(r.metrics[2].blocks_fetched > 20, "caught up {} blocks", r.metrics[2].blocks_fetched);
    // About 9 000 events; 150 000 when every answer started a request.
    assert!(r.events_handled < 40_000, "catch-up requests multiplied: {} events", r.events_handled);
}

#[test]
fn crashed_replica_restarts_from_persisted_state_and_catches_up() {
    let mut s = Scenario::calm(4, 3);
    s.heal_at_ms = 2_500;
    s.crashes = vec![Crash { node: 2, at_ms: 300, restart_ms: 2_000, torn: false }];
    let r = run(&s);
    check(&r);
    assert!(r.metrics[2].blocks_fetched > 0, "the restarted replica caught up with certified blocks");
}

#[test]
fn crash_between_persist_and_send_does_not_lead_to_double_signing() {
    for seed in 0..10 {
        let mut s = Scenario::calm(4, seed);
        s.heal_at_ms = 2_000;
        s.crashes = (0..4)
            .map(|node| Crash { node, at_ms: 200 + 300 * node as u64, restart_ms: 400 + 300 * node as u64, torn: true })
            .collect();
        check(&run(&s));
    }
}

#[test]
fn partitioned_replica_catches_up_after_healing() {
    let mut s = Scenario::calm(4, 5);
    s.heal_at_ms = 2_500;
    s.partitions = vec![Partition { from_ms: 100, until_ms: 2_400, isolated: vec![3], cut: Cut::Both }];
    let r = run(&s);
    check(&r);
    assert!(r.metrics[3].blocks_fetched > 0);
}

#[test]
fn partitioned_primary_with_a_minority_is_replaced_and_the_majority_keeps_committing() {
    let mut s = Scenario::calm(7, 9);
    s.heal_at_ms = 3_000;
    s.partitions = vec![Partition { from_ms: 200, until_ms: 2_900, isolated: vec![0, 1], cut: Cut::Both }];
    let r = run(&s);
    check(&r);
    assert!(honest_view(&r) >= 1);
}

#[test]
fn lossy_duplicating_reordering_network_is_survived() {
    let mut s = Scenario::calm(4, 11);
    s.net = ctchain_pbft::sim::NetConfig { min_delay_ms: 1, max_delay_ms: 80, drop_per_mille: 150, dup_per_mille: 100 };
    s.heal_at_ms = 3_000;
    check(&run(&s));
}

#[test]
fn same_seed_reproduces_the_same_trace() {
    for n in [4, 7] {
        let s = Scenario::random(n, 42);
        let (a, b) = (run(&s), run(&s));
        assert_eq!(a.trace_hash, b.trace_hash);
        assert_eq!(a.messages_delivered, b.messages_delivered);
        assert_eq!(a.ledgers, b.ledgers);
    }
}

#[test]
fn different_seeds_give_different_traces() {
    let a = run(&Scenario::random(4, 1));
    let b = run(&Scenario::random(4, 2));
    assert_ne!(a.trace_hash, b.trace_hash);
}

#[test]
fn agreement_checker_reports_two_blocks_at_one_height() {
    // The checkers must be able to fail: feed them a fork by hand.
    use ctchain_pbft::sim::sim_validators;
    let epochs = ctchain_pbft::EpochSchedule::genesis(sim_validators(4));
    let r = run(&Scenario::calm(4, 1));
    let (a, b) = (&r.ledgers[0][0], &r.ledgers[0][1]);
    let mut forked = b.clone();
    forked.committed.seq = 1; // another block at height 1
    let mut c = Checker::default();
    c.proposed(b"whatever");
    c.honest_delivered(0, 0, None, a, &epochs, u64::MAX / 2, 0);
    c.honest_delivered(1, 0, None, &forked, &epochs, u64::MAX / 2, 0);
    assert!(c.violations.iter().any(|v| v.starts_with("agreement")), "{:?}", c.violations);
    assert!(c.violations.iter().any(|v| v.starts_with("validity")), "{:?}", c.violations);
}

#[test]
fn durability_and_double_signing_checkers_report_violations() {
    use ctchain_pbft::sim::CHAIN_ID;
    use ctchain_pbft::{Message, PersistedState, Prepare};
    let vote =
        |payload: &str| Message::Prepare(sign(1, Prepare { view: 0, seq: 1, digest: digest(&block(1, payload), 1) }));
    let mut c = Checker::default();
    c.persisted_before_send(1, &vote("a"), Some(&PersistedState::genesis(CHAIN_ID)));
    assert!(c.violations.iter().any(|v| v.starts_with("durability")), "{:?}", c.violations);
    let mut c = Checker::default();
    c.honest_sent(&vote("a"));
    c.honest_sent(&vote("a"));
    assert!(c.violations.is_empty());
    c.honest_sent(&vote("b"));
    assert!(c.violations.iter().any(|v| v.starts_with("honest double signing")), "{:?}", c.violations);
}

#[test]
fn primary_restarted_across_a_view_change_votes_again() {
    // The primary of view 0 crashes; the other three change view and commit. It restarts and catches up; then
    // replica 3 crashes, so that the chain can only go on with the restarted replica's votes.
    let mut s = Scenario::calm(4, 11);
    s.heal_at_ms = 12_000;
    s.crashes = vec![
        Crash { node: 0, at_ms: 300, restart_ms: 3_000, torn: false },
        Crash { node: 3, at_ms: 6_000, restart_ms: 11_500, torn: false },
    ];
    let r = run(&s);
    check(&r);
    // Had replica 0 only followed (catching up without voting), losing replica 3 would have stalled view 1 and
    // forced another view change; having rejoined view 1, it lets 0, 1 and 2 go on in view 1.
    assert_eq!(honest_view(&r), 1, "{}", r.summary());
    // Progress between 7 s and 11 s needed replica 0: blocks timed in that window prove it voted.
    let window = (s_time(7_000), s_time(11_000));
    let committed_while_3_was_down =
        r.ledgers[1].iter().filter(|d| d.timestamp >= window.0 && d.timestamp <= window.1).count();
    assert!(committed_while_3_was_down > 0, "no block committed while replica 3 was down: {}", r.summary());
}

fn s_time(ms: u64) -> u64 {
    ctchain_pbft::sim::T0 + ms
}
