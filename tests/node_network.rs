//! The network admits only the consortium: a node whose network key is not on the allow-list is refused by every
//! validator (and the refusals are counted), while a listed observer connects and follows every block. A node whose
//! home lacks the shielded pool's verifying key, or holds another setup's, refuses to start and says why. A
//! transaction acknowledged by a validator cut off from its peers commits once its links heal.

mod common;

use std::time::{Duration, Instant};

use common::{Chain, COMMIT};
use ctchain_codec::Encode;
use ctchain_crypto::WalletKeys;
use ctchain_devnet::cluster::{submit_and_wait, wait_committed};
use ctchain_ledger::finality::verify_block_certificate;
use ctchain_node::config::{Home, NodeConfig};
use ctchain_node::keys::NodeKey;
use ctchain_rpc::{BlockRef, ChainApiClient};
use jsonrpsee::http_client::HttpClientBuilder;
use rand_core::OsRng;

const BASE: u16 = 21_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outsiders_are_refused_and_observers_follow_the_chain() {
    let chain = Chain::start(4, 1, BASE).await;
    let observer = 4;

    // An outsider: a copy of the observer's configuration with its own, unlisted network key.
    let observer_home = Home(chain.cluster.testnet.homes[observer].clone());
    let rogue = Home(chain.dir.path().join("rogue"));
    let mut config = NodeConfig::read(&observer_home.config()).unwrap();
    config.name = "rogue".into();
    config.network.listen = format!("/ip4/127.0.0.1/tcp/{}", BASE + 50);
    config.rpc.listen = format!("127.0.0.1:{}", BASE + 150).parse().unwrap();
    config.metrics.listen = None;
    config.write_new(&rogue.config()).unwrap();
    std::fs::copy(observer_home.genesis(), rogue.genesis()).unwrap();
    NodeKey::generate().write(&rogue.network_key(), "network").unwrap();
    // The genesis enables the shielded pool, so a node (even an outsider) starts only with the verifying key whose
    // hash the genesis pins: without it, or with another key, it stops at once and says why.
    let start_fails = |expected: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ctchain-node"))
            .args(["start", "--home"])
            .arg(&rogue.0)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(expected), "{expected:?} not in: {stderr}");
    };
    start_fails("the genesis enables the shielded pool: its verifying key must be at");
    let vk = std::fs::read(observer_home.shielded_verifying_key()).unwrap();
    let mut other = vk.clone();
    let last = other.len() - 1;
    other[last] ^= 1;
    std::fs::create_dir_all(rogue.shielded_verifying_key().parent().unwrap()).unwrap();
    std::fs::write(rogue.shielded_verifying_key(), &other).unwrap();
    start_fails("verifying key hashes to");
    std::fs::write(rogue.shielded_verifying_key(), &vk).unwrap();
    let log = std::fs::File::create(chain.dir.path().join("rogue.log")).unwrap();
    let mut rogue_process = std::process::Command::new(env!("CARGO_BIN_EXE_ctchain-node"))
        .args(["start", "--home"])
        .arg(&rogue.0)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();

    // Transactions keep committing while the outsider knocks.
    let mut alice = chain.funded_wallet("alice", 1_000, 1).await;
    let bob = WalletKeys::random(&mut OsRng);
    let tx = chain.transfer(&mut alice, &bob, 400, 2).await;
    let (_, height) = submit_and_wait(&chain.client(2), &tx, COMMIT).await.unwrap();

    let rogue_rpc = HttpClientBuilder::default().build(format!("http://127.0.0.1:{}", BASE + 150)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let refused: u64 = {
            let mut total = 0;
            for i in 0..4 {
                total += chain.client(i).chain_status().await.unwrap().refused_connections;
            }
            total
        };
        if refused > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no validator counted a refused connection");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rogue_status = rogue_rpc.chain_status().await.unwrap();
    assert!(rogue_status.peers.is_empty(), "the outsider holds connections: {:?}", rogue_status.peers);
    assert_eq!(rogue_status.height, 0, "the outsider received no block");
    for i in 0..4 {
        let s = chain.client(i).chain_status().await.unwrap();
        assert!(s.peers.iter().all(|p| p.name.as_deref() != Some("rogue") && p.name.is_some()), "{:?}", s.peers);
    }
    rogue_process.kill().unwrap();
    rogue_process.wait().unwrap();

    // The observer (listed in every node's configuration) follows every block without voting.
    let mut cluster = chain.cluster;
    let status = cluster.wait_height(observer, height, Duration::from_secs(30)).await.unwrap();
    assert_eq!(status.validator_index, None);
    let theirs = cluster.client(0).chain_get_block(BlockRef::Height(height)).await.unwrap().unwrap();
    let mine = cluster.client(observer).chain_get_block(BlockRef::Height(height)).await.unwrap().unwrap();
    assert_eq!(mine.header, theirs.header);
    // Each node keeps the 2f + 1 commit signatures it gathered (the sets may differ); each proves the block.
    let block = ledger_block(&mine);
    let genesis = &cluster.testnet.genesis;
    for b in [&mine, &theirs] {
        let cert = hex::decode(b.certificate.as_ref().expect("a certificate")).unwrap();
        verify_block_certificate(genesis, &block, &cert).expect("the certificate proves the block");
    }
    let mut forged = hex::decode(mine.certificate.as_ref().unwrap()).unwrap();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(verify_block_certificate(genesis, &block, &forged).is_err(), "a flipped signature bit is caught");
}

fn ledger_block(json: &ctchain_rpc::BlockJson) -> ctchain_ledger::Block {
    use ctchain_codec::Decode;
    ctchain_ledger::Block {
        header: ctchain_ledger::BlockHeader::from_bytes(&hex::decode(&json.header_hex).unwrap()).unwrap(),
        txs: json
            .txs
            .iter()
            .map(|t| ctchain_ledger::LedgerTx::from_bytes(&hex::decode(&t.hex).unwrap()).unwrap())
            .collect(),
    }
}

/// Found by the chaos test: a validator cut off from every peer keeps answering its clients, so it acknowledges
/// transactions it cannot gossip; before pending transactions were gossiped again when peers reconnect, such a
/// transaction waited in that validator's pool for good (it never became primary), although its sender was told
/// it was accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_acknowledged_by_a_cut_off_validator_commits_once_its_links_heal() {
    let (chain, links) = Chain::start_linked(4, 0, BASE + 400).await;
    let mut alice = chain.funded_wallet("alice", 1_000, 0).await;
    let bob = WalletKeys::random(&mut OsRng);
    // Validator 2 is neither the primary of view 0 nor that of view 1.
    let cut_off = 2;
    let tx = chain.transfer(&mut alice, &bob, 100, cut_off).await;
    links.isolate(cut_off);
    let submitted = chain.client(cut_off).tx_submit(hex::encode(tx.to_bytes())).await.expect("acknowledged");
    assert_eq!(submitted.id, tx.id().to_string());
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Nothing left the cut-off validator: the others have never heard of the transaction.
    let elsewhere = chain.client(0).tx_get(tx.id().to_string()).await.unwrap();
    assert!(matches!(elsewhere, ctchain_rpc::TxStatus::Unknown), "it crossed a cut link: {elsewhere:?}");

    links.rejoin(cut_off);
    let height = wait_committed(&chain.client(0), &tx.id(), COMMIT).await.expect("committed after the heal");
    assert!(height > 0);
    // It got there because the cut-off validator gossiped it again.
    let regossiped = counter(ctchain_node::home::ports(BASE + 400, cut_off).2, "ctchain_regossiped_txs_total").await;
    assert!(regossiped >= 1, "regossiped {regossiped}");
}

/// A counter's value on a node's metrics port.
async fn counter(port: u16, name: &str) -> u64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).await.unwrap();
    body.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{body}"))
}
