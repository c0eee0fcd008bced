//! End to end against real node processes on loopback: the primary is killed with SIGKILL while the chain commits
//! full-size blocks (2 000 transfers, the `testnet` limit), and the view change completes: every transfer commits,
//! and full blocks keep committing in the new view.
//!
//! Four validators sharing this machine's cores admit well under a hundred transfers a second each, so the
//! validators wait for full blocks (`loadgen --full-blocks`: a batching delay of two minutes, heartbeats keeping
//! the view meanwhile); the fault is injected as soon as the first full block has committed, while the next one
//! fills. Before view changes carried digests, a view change holding prepared blocks of this size exceeded the
//! message limit (the simulator shows that case: `crates/pbft/tests/simulation.rs`).
//!
//! `CTCHAIN_E2E_FULL_BLOCK_TXS` sets the number of transfers (default 4 000: two full blocks).

use ctchain_devnet::loadgen::{run, Fault, FaultAt, LoadOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_primary_killed_under_full_size_blocks_is_replaced_and_every_transfer_commits() {
    let count = std::env::var("CTCHAIN_E2E_FULL_BLOCK_TXS").ok().and_then(|v| v.parse().ok()).unwrap_or(4_000);
    let report = run(LoadOptions {
        count,
        in_flight: 128,
        base_port: 29_600,
        fault: Some((Fault::Kill, FaultAt::FirstFullBlock)),
        full_blocks: true,
    })
    .await
    .expect("the load run completes");
    eprintln!("{report:#?}");
    assert_eq!(report.max_block_txs, 2_000, "testnet's default block limit");
    assert_eq!(report.committed, count, "every transfer committed");
    assert_eq!(report.largest_block, 2_000, "blocks were full-size");
    assert!(report.final_view >= 1, "a view change replaced the killed primary");
    assert!(
        report.full_blocks_in_later_views >= 1,
        "a full block committed in a view after the first full block's: {report:?}"
    );
}
