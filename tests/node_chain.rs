//! End to end against real node processes on loopback: a 4-validator chain commits confidential transfers; a
//! validator killed with SIGKILL restarts, catches up to the same state root and votes again; with one validator
//! down the others keep committing.

mod common;

use std::time::Duration;

use common::{Chain, COMMIT};
use ctchain_crypto::WalletKeys;
use ctchain_devnet::cluster::{submit_and_wait, ChainWallet};
use ctchain_rpc::{BlockRef, ChainApiClient};
use rand_core::OsRng;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_commit_and_a_killed_validator_catches_up_and_votes_again() {
    let mut chain = Chain::start(4, 0, 20_000).await;
    let mut alice = chain.funded_wallet("alice", 10_000, 0).await;
    let mut bob = ChainWallet::new("bob", WalletKeys::random(&mut OsRng));
    let (cny, _) = chain.cny();

    // A transfer entered through validator 1 commits; every validator ends at the same header.
    let tx = chain.transfer(&mut alice, &bob.keys, 2_500, 1).await;
    let (_, height) = submit_and_wait(&chain.client(1), &tx, COMMIT).await.unwrap();
    for i in 0..4 {
        chain.cluster.wait_height(i, height, Duration::from_secs(30)).await.unwrap();
    }
    let reference = chain.client(0).chain_get_block(BlockRef::Height(height)).await.unwrap().unwrap();
    for i in 1..4 {
        let block = chain.client(i).chain_get_block(BlockRef::Height(height)).await.unwrap().unwrap();
        assert_eq!(block.header, reference.header, "validator {i} has another block at height {height}");
        assert!(block.certificate.is_some(), "every committed block carries its commit certificate");
    }
    bob.sync(&chain.client(2)).await.unwrap();
    assert_eq!(bob.balance(cny).unwrap(), 2_500);

    // The primary crashes; the other three change view and keep committing.
    let primary = chain.client(0).chain_status().await.unwrap().primary as usize;
    let other = (primary + 1) % 4;
    chain.cluster.kill(primary).unwrap();
    let tx = chain.transfer(&mut alice, &bob.keys, 1_000, other).await;
    let (_, down_height) = submit_and_wait(&chain.client(other), &tx, Duration::from_secs(90)).await.unwrap();
    assert!(down_height > height);
    assert!(chain.client(other).chain_status().await.unwrap().view > 0, "a view change replaced the primary");

    // It restarts from its disk and catches up to the same state root.
    chain.cluster.start(primary).unwrap();
    let status = chain.cluster.wait_height(primary, down_height, Duration::from_secs(60)).await.unwrap();
    let reference = chain.client(other).chain_get_block(BlockRef::Height(down_height)).await.unwrap().unwrap();
    let caught_up = chain.client(primary).chain_get_block(BlockRef::Height(down_height)).await.unwrap().unwrap();
    assert_eq!(caught_up.header.state_root, reference.header.state_root);
    assert!(status.height >= down_height);

    // It joins the new view and votes again: with another validator down, the chain needs its votes.
    let third = (primary + 2) % 4;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mine = chain.client(primary).chain_status().await.unwrap();
        let theirs = chain.client(other).chain_status().await.unwrap();
        if mine.view == theirs.view && mine.view_normal {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the restarted validator never joined view {}", theirs.view);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    chain.cluster.kill(third).unwrap();
    let tx = chain.transfer(&mut alice, &bob.keys, 500, other).await;
    let (_, last) = submit_and_wait(&chain.client(other), &tx, Duration::from_secs(90)).await.unwrap();
    chain.cluster.wait_height(primary, last, Duration::from_secs(30)).await.unwrap();

    let client = chain.client(primary);
    bob.sync(&client).await.unwrap();
    alice.sync(&client).await.unwrap();
    assert_eq!(bob.balance(cny).unwrap(), 4_000);
    assert_eq!(alice.balance(cny).unwrap(), 6_000);
    let supply = chain.client(other).asset_supply("CNY".into()).await.unwrap().unwrap();
    assert_eq!(supply.outstanding, "10000", "issued supply equals what the wallets hold");

    // A clean stop (SIGTERM) exits 0.
    assert!(chain.cluster.stop(other).unwrap().success());
}
