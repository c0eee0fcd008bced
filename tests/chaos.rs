//! End to end against real node processes on loopback: a 4-validator chain under client load while one validator
//! at a time is killed with SIGKILL and restarted from its disk, paused with SIGSTOP and resumed, cut off from all
//! its peers, or loses its link to one peer (loopback proxies cut the TCP connections). At the end
//! every validator is at one height with one header, every acknowledged transfer is committed, and the receiver's
//! balance is exactly what the committed transfers paid it (`ctchain_devnet::chaos`).
//!
//! CI runs a short campaign; `CTCHAIN_CHAOS_EVENTS=100` runs a long one, `CTCHAIN_CHAOS_SEED` replays one.

use ctchain_devnet::chaos::{run, ChaosOptions};

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_pauses_and_link_cuts_one_validator_at_a_time_lose_nothing_and_split_nothing() {
    let seed = env("CTCHAIN_CHAOS_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
    });
    let events = env("CTCHAIN_CHAOS_EVENTS").unwrap_or(6) as usize;
    eprintln!("chaos seed {seed} (CTCHAIN_CHAOS_SEED={seed} replays it)");
    let report = run(ChaosOptions { events, transfers_per_event: 15, seed, base_port: 30_600 })
        .await
        .expect("the chaos run keeps every validator in agreement and every acknowledged transfer");
    eprintln!("{report:#?}");
    assert_eq!(report.events.len(), events);
    if events >= 4 {
        for kind in ["kill", "pause", "isolate", "cut-link"] {
            assert!(report.events.iter().any(|e| e.kind == kind), "no {kind} event in {:?}", report.events);
        }
    }
    assert!(report.acknowledged > 0, "no transfer was acknowledged");
    assert!(report.committed >= report.acknowledged);
    assert!(report.final_view >= 1 || report.events.iter().all(|e| e.validator != 0), "no view change happened");
    assert_eq!(report.receiver_balance, report.committed as u64 * 600);
}
