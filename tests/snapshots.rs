//! State snapshots and log pruning against real node processes. Validators take a snapshot every two blocks and
//! prune their consensus logs below the older of the two they keep, so a node that starts late cannot follow
//! the chain from the genesis any more. An observer started late with no data restores the ledger from the
//! snapshot the validators vouch for (checked against the certified header's state root), then follows the
//! chain; a validator that lost its disk restores the same way with `start --restore`, follows without voting
//! until every sequence number it may have voted on before is committed, and then votes again.

mod common;

use std::time::Duration;

use common::{admin_key, govern, Chain, Tool, COMMIT, MEMBERS_DIR};
use ctchain_crypto::WalletKeys;
use ctchain_devnet::cluster::{submit_and_wait, ChainWallet};
use ctchain_node::config::Home;
use ctchain_rpc::{BlockRef, ChainApiClient};
use rand_core::OsRng;

const BASE: u16 = 17_000;

/// A snapshot every two blocks; heartbeats five times a second (a restored validator waits for a window of
/// sequence numbers, an epoch begins a window after the change that schedules it).
fn snapshot_often(c: &mut ctchain_node::config::NodeConfig) {
    c.snapshots.interval_blocks = 2;
    c.consensus.idle_block_ms = 200;
}

fn log_of(chain: &Chain, i: usize) -> String {
    std::fs::read_to_string(chain.cluster.log_path(i)).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_and_wiped_nodes_start_from_a_vouched_snapshot_and_follow_the_chain() {
    let (dir, mut cluster) = Chain::create(4, 1, BASE);
    let observer = 4;
    for i in 0..cluster.len() {
        cluster.edit_config(i, snapshot_often).unwrap();
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

/// Every validator of the genesis is replaced by governance (bank-a's and bank-b's second validators join; bank-a's
/// first one is revoked, which every node cuts off at once, and bank-b's removed), and bank-c's is down: of the genesis validators only bank-d's still answers. The regulator's
/// observer then starts with no data. It reaches today's validators through its bootstrap peers, follows the
/// snapshot's governance history from the genesis to learn which validators certified it, and restores from the
/// snapshot three of them vouch for. (Counting only the genesis validators' offers, it would find one and fall
/// back to the genesis, whose blocks no validator keeps any more.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_node_restores_from_the_validators_of_today_when_those_of_the_genesis_are_gone() {
    let base = 17_500;
    let (dir, mut cluster) = Chain::create(4, 1, base);
    let observer = 4;
    for i in 0..cluster.len() {
        cluster.edit_config(i, snapshot_often).unwrap();
    }
    let mut chain = Chain::launch_only(dir, cluster, &[0, 1, 2, 3]).await;
    let node = Tool::new("ctchain-node", chain.dir.path());
    let key = |m: &'static str| (m, admin_key(m));

    // bank-a and bank-b each set up a second validator with the operator commands.
    let mut second = Vec::new();
    for (member, index) in [("bank-a", 5usize), ("bank-b", 6)] {
        let (p2p, rpc, _) = ctchain_node::home::ports(base, index);
        let home = format!("{member}-second");
        node.ok(&[
            "init",
            "--home",
            &home,
            "--name",
            "second",
            "--member",
            member,
            "--chain-id",
            common::CHAIN_ID,
            "--listen",
            &format!("/ip4/127.0.0.1/tcp/{p2p}"),
            "--rpc",
            &format!("127.0.0.1:{rpc}"),
        ]);
        let pem = format!("{home}.pem");
        let (dir, csr) = (format!("{MEMBERS_DIR}/{member}"), format!("{home}/node.csr"));
        node.ok(&["member", "certify", "--dir", &dir, "--request", &csr, "--out", &pem, "--serial", "100"]);
        second.push(pem);
    }
    let all_banks = [key("bank-a"), key("bank-b"), key("bank-c"), key("bank-d")];
    let owned = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    // Each change of validators waits for the epoch of the one before to begin.
    let steps = [
        (owned(&["add-node", "--certificate", &second[0]]), all_banks.to_vec()),
        (owned(&["add-node", "--certificate", &second[1]]), all_banks.to_vec()),
        // bank-a's first validator's key leaked: bank-a revokes its certificate alone (checked below).
        (owned(&["revoke-certificate", "--member", "bank-a", "--node", "validator-0"]), vec![key("bank-a")]),
        (
            owned(&["remove-node", "--member", "bank-b", "--node", "validator-1"]),
            vec![key("bank-a"), key("bank-c"), key("bank-d"), key("regulator")],
        ),
    ];
    let mut joined = Vec::new();
    for (n, (args, approvers)) in steps.into_iter().enumerate() {
        let (version, epoch) = (n as u64 + 1, n as u64 + 1);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        govern(&chain, &node, 3, &args, &approvers, version).await;
        if n < 2 {
            // The new validator's node: the genesis validators as bootstrap peers, and the second validator
            // already there (today's validators must reach each other).
            let home = chain.dir.path().join(if n == 0 { "bank-a-second" } else { "bank-b-second" });
            let mut bootstrap = vec![0, 1, 2, 3];
            bootstrap.extend(joined.iter().copied());
            let i = chain.cluster.join(home, &bootstrap).unwrap();
            chain.cluster.edit_config(i, snapshot_often).unwrap();
            chain.cluster.start(i).unwrap();
            joined.push(i);
        }
        if n == 2 {
            // Every node cuts the revoked validator off at once, though its epoch goes on (five remain of six).
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            for i in [1usize, 2, 3].iter().chain(&joined) {
                loop {
                    let peers = chain.client(*i).chain_status().await.unwrap().peers;
                    if peers.iter().all(|p| p.name.as_deref() != Some("bank-a/validator-0")) {
                        break;
                    }
                    assert!(std::time::Instant::now() < deadline, "node {i} is still connected to the revoked one");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        for i in [3usize].iter().chain(&joined) {
            chain.cluster.wait_status(*i, COMMIT, &format!("epoch {epoch}"), |s| s.epoch >= epoch).await.unwrap();
        }
    }
    for i in [0, 1, 2] {
        chain.cluster.kill(i).unwrap();
    }

    // Snapshots of today's epoch, the consensus logs pruned below them.
    let mut alice = chain.funded_wallet("alice", 10_000, 3).await;
    let bob = WalletKeys::random(&mut OsRng);
    let mut height = 0;
    for _ in 0..4 {
        let tx = chain.transfer(&mut alice, &bob, 100, 3).await;
        height = submit_and_wait(&chain.client(3), &tx, COMMIT).await.unwrap().1;
    }
    // (The registry's epoch moves with the epoch's first ledger block.)
    let registry = chain.client(3).governance_registry().await.unwrap();
    let validators: Vec<&str> = registry.epoch.validators.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(validators, ["bank-c/validator-2", "bank-d/validator-3", "bank-a/second", "bank-b/second"]);

    // The observer's operator gives it today's validators as bootstrap peers; it starts with no data.
    chain.cluster.add_bootstrap_peers(observer, &joined).unwrap();
    chain.cluster.start(observer).unwrap();
    chain.cluster.wait_height(observer, height, Duration::from_secs(90)).await.expect("the observer catches up");
    let log = log_of(&chain, observer);
    assert!(log.contains("restoring a state snapshot vouched for by its epoch's validators"), "{log}");
    assert!(log.contains("ledger restored from a state snapshot"), "{log}");
    let reference = chain.client(3).chain_get_block(BlockRef::Height(height)).await.unwrap().unwrap();
    let mine = chain.client(observer).chain_get_block(BlockRef::Height(height)).await.unwrap().unwrap();
    assert_eq!(mine.header, reference.header);
    let restored = chain.client(observer).governance_registry().await.unwrap();
    assert_eq!(restored.epoch, registry.epoch, "the restored node knows today's validators");
    // It follows on with today's validators (the transfer goes through bank-a's second validator, once that one
    // holds the outputs it spends).
    chain.cluster.wait_height(joined[0], height, Duration::from_secs(30)).await.unwrap();
    let tx = chain.transfer(&mut alice, &bob, 100, 3).await;
    let next = submit_and_wait(&chain.client(joined[0]), &tx, COMMIT).await.expect("commits through bank-a's second").1;
    chain.cluster.wait_height(observer, next, Duration::from_secs(30)).await.unwrap();
}
