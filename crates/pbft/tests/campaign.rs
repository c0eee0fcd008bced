//! The simulation campaign: random scenarios (Byzantine replicas of every kind up to f, crashes with restarts from
//! persisted state, torn crashes between persist and send, drops, duplicates, reordering, two-way and one-way
//! partitions, large blocks), for n = 4 and n = 7, and with the validator set changing one to three times
//! (validators added, removed and replaced, 4 to 7 of 8 nodes), every one checked by the independent checkers.
//!
//! * `CTCHAIN_SIM_SEEDS=N` — seeds per configuration (default 200);
//! * `CTCHAIN_SIM_SEED_START=S` — first seed (default 0);
//! * `CTCHAIN_SIM_SEED=S` — replay exactly one seed (printed by a failing run).
//!
//! Long campaign: `CTCHAIN_SIM_SEEDS=10000 cargo test -p ctchain-pbft --release --test campaign -- --nocapture`

use ctchain_pbft::sim::{run, Cut, Scenario};

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// `n` = 0: the reconfiguring scenarios.
fn campaign(n: usize) {
    let seeds: Vec<u64> = match env("CTCHAIN_SIM_SEED") {
        Some(seed) => vec![seed],
        None => {
            let start = env("CTCHAIN_SIM_SEED_START").unwrap_or(0);
            (start..start + env("CTCHAIN_SIM_SEEDS").unwrap_or(200)).collect()
        }
    };
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let (mut blocks, mut messages, mut views, mut fetched, mut dropped) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut slowest = (std::time::Duration::ZERO, 0u64);
    let mut most_events = (0u64, 0u64);
    for (done, &seed) in seeds.iter().enumerate() {
        if done > 0 && done % 500 == 0 {
            eprintln!(
                "campaign n={n}: {done} seeds done, slowest seed {} ({:?}), most events seed {} ({}), {:?}",
                slowest.1,
                slowest.0,
                most_events.1,
                most_events.0,
                started.elapsed()
            );
        }
        let scenario = if n == 0 { Scenario::random_reconfiguring(seed) } else { Scenario::random(n, seed) };
        if seeds.len() == 1 {
            // A replay: show what is about to run (a seed that never ends shows nothing else).
            eprintln!("n={n} seed={seed}: {scenario:?}");
        }
        let seed_started = std::time::Instant::now();
        let report = run(&scenario);
        let took = seed_started.elapsed();
        if took > slowest.0 {
            slowest = (took, seed);
        }
        if report.events_handled > most_events.0 {
            most_events = (report.events_handled, seed);
        }
        blocks += report.min_honest_height();
        messages += report.messages_delivered;
        for m in &report.metrics {
            views += m.views_entered;
            fetched += m.blocks_fetched;
            dropped += m.total_dropped();
        }
        if !report.ok() {
            eprintln!(
                "FAILED n={n} seed={seed}: {}\n  scenario: {scenario:?}\n  replay: CTCHAIN_SIM_SEED={seed} cargo test -p ctchain-pbft --test campaign campaign_n{n} -- --nocapture\n  states:\n    {}",
                report.summary(),
                report.states.join("\n    ")
            );
            failures.push(seed);
        }
    }
    eprintln!(
        "campaign n={n}: {} seeds, {} failed, {blocks} blocks committed (min over honest), {messages} messages, \
         {views} new views entered, {fetched} blocks fetched by catch-up, {dropped} inputs dropped, most events \
         {} (seed {}, the bound is {}), {:?}",
        seeds.len(),
        failures.len(),
        most_events.0,
        most_events.1,
        ctchain_pbft::sim::MAX_STEPS,
        started.elapsed()
    );
    assert!(failures.is_empty(), "n={n}: failing seeds {failures:?}");
}

#[test]
fn campaign_n4_f1() {
    campaign(4);
}

#[test]
fn campaign_n7_f2() {
    campaign(7);
}

#[test]
fn campaign_reconfiguring() {
    campaign(0);
}

#[test]
fn reconfiguring_scenarios_add_remove_and_replace_with_at_most_f_byzantine_per_epoch() {
    let scenarios: Vec<Scenario> = (0..200).map(Scenario::random_reconfiguring).collect();
    let mut grew = false;
    let mut shrank = false;
    let mut replaced = false;
    for s in &scenarios {
        let sets = s.epoch_sets();
        for pair in sets.windows(2) {
            grew |= pair[1].len() > pair[0].len();
            shrank |= pair[1].len() < pair[0].len();
            replaced |= pair[1].iter().any(|k| !pair[0].contains(k)) && pair[0].iter().any(|k| !pair[1].contains(k));
        }
        for set in &sets {
            assert!((4..=7).contains(&set.len()));
            let byzantine = set.iter().filter(|k| s.behaviors.contains_key(k)).count();
            assert!(byzantine <= (set.len() - 1) / 3, "seed {}: {byzantine} Byzantine in {set:?}", s.seed);
        }
    }
    assert!(grew && shrank && replaced);
    assert!(scenarios.iter().any(|s| s.reconfigurations.len() == 3));
    assert!(scenarios.iter().any(|s| s.behaviors.keys().any(|k| *k >= 4)), "a Byzantine node that joins later");
}

#[test]
fn campaign_scenarios_cover_every_fault_kind() {
    use ctchain_pbft::sim::Behavior;
    for n in [4usize, 7] {
        let scenarios: Vec<Scenario> = (0..200).map(|s| Scenario::random(n, s)).collect();
        for kind in [
            Behavior::Silent,
            Behavior::Equivocate,
            Behavior::DoubleVote,
            Behavior::InvalidProposals,
            Behavior::Replay,
            Behavior::Twin,
            Behavior::LyingFetch,
            Behavior::Flood,
            Behavior::ForgedContents,
        ] {
            assert!(scenarios.iter().any(|s| s.behaviors.values().any(|b| *b == kind)), "n={n}: no {kind:?}");
        }
        let f = (n - 1) / 3;
        assert!(scenarios.iter().any(|s| s.behaviors.len() == f), "n={n}: never f Byzantine replicas");
        assert!(scenarios.iter().all(|s| s.behaviors.len() <= f), "n={n}: more than f Byzantine replicas");
        assert!(scenarios.iter().any(|s| s.crashes.iter().any(|c| c.torn)));
        assert!(scenarios.iter().any(|s| s.crashes.iter().any(|c| !c.torn)));
        assert!(scenarios.iter().any(|s| !s.partitions.is_empty()));
        for cut in [Cut::Both, Cut::Inbound, Cut::Outbound] {
            assert!(scenarios.iter().any(|s| s.partitions.iter().any(|p| p.cut == cut)), "n={n}: no {cut:?} partition");
        }
        assert!(scenarios.iter().any(|s| s.payload_bytes > 0), "n={n}: never large blocks");
        assert!(
            scenarios.iter().any(|s| s.crashes.iter().any(|c| c.restart_ms - c.at_ms > s.heal_at_ms / 2)),
            "n={n}: never a long outage"
        );
        assert!(scenarios.iter().any(|s| s.net.drop_per_mille > 100));
        assert!(scenarios.iter().any(|s| s.net.dup_per_mille > 50));
    }
}
