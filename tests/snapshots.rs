//! State snapshots and log pruning against real node processes. Validators take a snapshot every two blocks and
//! prune their consensus logs below the older of the two they keep, so a node that starts late cannot follow
//! the chain from the genesis any more. An observer started late with no data restores the ledger from the
//! snapshot the validators vouch for (checked against the certified header's state root), then follows the
//! chain; a validator that lost its disk restores the same way with `start --restore`, follows without voting
//! until every sequence number it may have voted on before is committed, and then votes again.

mod common;

use std::time::Duration;

use common::{Chain, COMMIT};
use ctchain_crypto::WalletKeys;
use ctchain_devnet::cluster::{submit_and_wait, ChainWallet};
use ctchain_node::config::Home;
use ctchain_rpc::{BlockRef, ChainApiClient};
use rand_core::OsRng;

const BASE: u16 = 17_000;

fn log_of(chain: &Chain, i: usize) -> String {
    std::fs::read_to_string(chain.cluster.log_path(i)).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_and_wiped_nodes_start_from_a_vouched_snapshot_and_follow_the_chain() {
    let (dir, mut cluster) = Chain::create(4, 1, BASE);
    let observer = 4;
    for i in 0..cluster.len() {
        cluster
            .edit_config(i, |c| {
                c.snapshots.interval_blocks = 2;
                // Heartbeats five times a second: a restored validator waits for a window of sequence numbers.
                c.consensus.idle_block_ms = 200;
            })
            .unwrap();
    }
    let mut chain = Chain::launch_only(dir, cluster, &[0, 1, 2, 3]).await;
    let mut alice = chain.funded_wallet("alice", 10_000, 0).await;
    let mut bob = ChainWallet::new("bob", WalletKeys::random(&mut OsRng));
    let (cny, _) = chain.cny();
    // Blocks 2..=7: snapshots at heights 2, 4 and 6; the logs are pruned below height 4's sequence number.
    let mut height = 0;
    for _ in 0..6 {
        let tx = chain.transfer(&mut alice, &bob.keys, 100, 0).await;
        height = submit_and_wait(&chain.client(0), &tx, COMMIT).await.unwrap().1;
    }
    assert!(height >= 7, "height {height}");
    for i in 0..4 {
        chain.cluster.wait_height(i, height, Duration::from_secs(30)).await.unwrap();
        let log = log_of(&chain, i);
        assert!(log.contains("state snapshot written"), "validator {i} wrote no snapshot");
        assert!(log.contains("consensus log pruned"), "validator {i} never pruned its log");
    }

    // An observer starting now has no ledger, and the validators' logs no longer reach back to the genesis: it
    // takes the newest snapshot all of them offer, and follows from there.
    chain.cluster.start(observer).unwrap();
    chain.cluster.wait_height(observer, height, Duration::from_secs(60)).await.expect("the observer catches up");
    let log = log_of(&chain, observer);
    assert!(log.contains("ledger restored from a state snapshot"), "{log}");
    let reference = chain.client(0).chain_get_block(BlockRef::Height(height)).await.unwrap().unwrap();
    let mine = chain.client(observer).chain_get_block(BlockRef::Height(height)).await.unwrap().unwrap();
    assert_eq!(mine.header, reference.header);
    // History below the snapshot is not on this node; what it holds from the snapshot on is certified.
    assert!(chain.client(observer).chain_get_block(BlockRef::Height(1)).await.unwrap().is_none());
    let tx = chain.transfer(&mut alice, &bob.keys, 100, 0).await;
    let next = submit_and_wait(&chain.client(0), &tx, COMMIT).await.unwrap().1;
    chain.cluster.wait_height(observer, next, Duration::from_secs(30)).await.unwrap();

    // A validator loses its disk. Started with `--restore`, it restores from a snapshot the others vouch for and
    // follows without voting for a while; then it votes again: with another validator down, the chain needs it.
    let wiped = 3;
    chain.cluster.kill(wiped).unwrap();
    let data = Home(chain.cluster.testnet.homes[wiped].clone()).0.join("data");
    std::fs::remove_dir_all(&data).unwrap();
    let tx = chain.transfer(&mut alice, &bob.keys, 100, 0).await;
    let without = submit_and_wait(&chain.client(0), &tx, COMMIT).await.unwrap().1;
    chain.cluster.start_with(wiped, &["--restore"]).unwrap();
    chain.cluster.wait_height(wiped, without, Duration::from_secs(60)).await.expect("the wiped validator catches up");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !log_of(&chain, wiped).contains("restored validator: voting again") {
        assert!(std::time::Instant::now() < deadline, "the restored validator never voted again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = log_of(&chain, wiped);
    assert!(log.contains("ledger restored from a state snapshot"), "{log}");
    assert!(log.contains("following the chain without voting"), "{log}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mine = chain.client(wiped).chain_status().await.unwrap();
        let theirs = chain.client(0).chain_status().await.unwrap();
        if mine.view == theirs.view && mine.view_normal {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the restored validator never joined view {}", theirs.view);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    chain.cluster.kill(2).unwrap();
    let tx = chain.transfer(&mut alice, &bob.keys, 100, 0).await;
    let last = submit_and_wait(&chain.client(0), &tx, Duration::from_secs(90)).await.unwrap().1;
    chain.cluster.wait_height(wiped, last, Duration::from_secs(30)).await.unwrap();
    bob.sync(&chain.client(0)).await.unwrap();
    assert_eq!(bob.balance(cny).unwrap(), 900);
    let reference = chain.client(0).chain_get_block(BlockRef::Height(last)).await.unwrap().unwrap();
    let restored = chain.client(wiped).chain_get_block(BlockRef::Height(last)).await.unwrap().unwrap();
    assert_eq!(restored.header, reference.header);
}
