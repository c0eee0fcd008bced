//! Private channels, end to end with real processes: six banks A–F (one validator each) and the regulator's
//! observer; channel X among A, B, C, D and channel Y among C, D, E, F, the regulator in both.
//!
//! * Transfers commit on both channels; the nodes of E and F hold none of X's transaction ids or block hashes —
//!   not on disk (every byte of their homes searched, with the same search finding them in A's home), not
//!   behind their RPC, not in what they received (per channel and peer counters of every node) — and no member
//!   ever tried to send them anything of X.
//! * A request for X's blocks sent as E's node (its network key, over the real network) is dropped by A and
//!   counted as refused; E receives nothing.
//! * C runs X and Y side by side: while X changes view (its primary A is stopped), Y keeps committing on C.
//! * E joins X by governance (every member of X and E approve), is given X's genesis, and catches up to X's tip.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{admin_key, govern, Chain, Tool, CHAIN_ID, COMMIT};
use ctchain_codec::Encode;
use ctchain_crypto::{TransactionBuilder, WalletKeys};
use ctchain_devnet::cluster::{submit_and_wait, ChainWallet, Cluster};
use ctchain_node::channels::{direct_frame, Scope};
use ctchain_node::home::ChannelSpec;
use ctchain_node::node::Wire;
use ctchain_rpc::{BlockRef, ChainApiClient, TxStatus};
use jsonrpsee::http_client::HttpClient;
use rand_core::OsRng;

const BASE: u16 = 28_000;
/// The nodes: the validators of banks A–F, then the regulator's observer.
const A: usize = 0;
const B: usize = 1;
const C: usize = 2;
const D: usize = 3;
const E: usize = 4;
const F: usize = 5;
const REGULATOR: usize = 6;

fn spec(id: &str, banks: &[&str]) -> ChannelSpec {
    ChannelSpec { id: id.into(), banks: banks.iter().map(|b| b.to_string()).collect() }
}

fn channel_chain_id(id: &str) -> String {
    format!("{CHAIN_ID}/{id}")
}

fn builder(cluster: &Cluster, id: &str) -> TransactionBuilder {
    TransactionBuilder::new(&channel_chain_id(id), cluster.testnet.genesis.audit_keys.clone())
}

/// Issues `amount` CNY to a new wallet on channel `id` through node `via`, then pays `to_pay` of it onwards to
/// another new wallet through node `via2`: the ids of both transactions and the heights of their blocks.
async fn transfers_on(cluster: &Cluster, id: &str, via: usize, via2: usize) -> Vec<(ctchain_crypto::TxId, u64)> {
    let (_, cny, _, issuer) = &cluster.testnet.issuers[0];
    let client = cluster.channel_client(via, id);
    let mut alice = ChainWallet::new("alice", WalletKeys::random(&mut OsRng));
    let mut b = builder(cluster, id);
    b.issue(issuer, *cny, 1_000).pay(alice.keys.address(), *cny, 1_000, "channel funding");
    let issued = submit_and_wait(&client, &b.build(&mut OsRng).unwrap(), COMMIT).await.unwrap();
    let client2 = cluster.channel_client(via2, id);
    wait_channel_height(&client2, issued.1).await;
    alice.sync(&client2).await.unwrap();
    let bob = WalletKeys::random(&mut OsRng);
    let mut b = builder(cluster, id);
    for o in alice.select(*cny, 400).unwrap() {
        b.spend(o);
    }
    b.pay(bob.address(), *cny, 400, "within the channel").sender(alice.keys.address()).change_to(alice.keys.address());
    let paid = submit_and_wait(&client2, &b.build(&mut OsRng).unwrap(), COMMIT).await.unwrap();
    vec![issued, paid]
}

async fn wait_channel_height(client: &HttpClient, height: u64) -> ctchain_rpc::ChainStatus {
    let deadline = Instant::now() + COMMIT;
    loop {
        if let Ok(s) = client.chain_status().await {
            if s.height >= height {
                return s;
            }
        }
        assert!(Instant::now() < deadline, "the channel never reached height {height}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every block hash of a channel up to `height`, read from a member.
async fn block_hashes(client: &HttpClient, height: u64) -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for h in 1..=height {
        let block = client.chain_get_block(BlockRef::Height(h)).await.unwrap().expect("a committed block");
        out.push(hex::decode(&block.header.hash).unwrap().try_into().unwrap());
    }
    out
}

/// The needles (of `needles`) that occur in any file under `dir`.
fn found_on_disk(dir: &Path, needles: &[[u8; 32]]) -> BTreeSet<usize> {
    let mut found = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            // A RocksDB LOCK file may vanish between listing and reading; every other file is read whole.
            let Ok(bytes) = std::fs::read(&path) else { continue };
            for (i, needle) in needles.iter().enumerate() {
                if bytes.windows(32).any(|w| w == needle) {
                    found.insert(i);
                }
            }
        }
    }
    found
}

async fn metrics(cluster: &Cluster, i: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let home = ctchain_node::config::Home(cluster.testnet.homes[i].clone());
    let config = ctchain_node::config::NodeConfig::read(&home.config()).unwrap();
    let addr = config.metrics.listen.expect("testnet nodes export metrics");
    // The endpoint answers one request per connection and closes it: read to the end.
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("the metrics endpoint accepts");
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer)).await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "node {i}'s metrics: {answer}");
    answer
}

/// The value of the sample of `family` whose labels contain every one of `labels`, if any.
fn sample(metrics: &str, family: &str, labels: &[(&str, &str)]) -> Option<u64> {
    metrics.lines().filter(|l| l.starts_with(family) && l[family.len()..].starts_with('{')).find_map(|l| {
        let (head, value) = l.rsplit_once(' ')?;
        labels.iter().all(|(k, v)| head.contains(&format!("{k}=\"{v}\""))).then(|| value.parse().ok())?
    })
}

fn peer_id(cluster: &Cluster, i: usize) -> ctchain_net::PeerId {
    let home = ctchain_node::config::Home(cluster.testnet.homes[i].clone());
    let key = ctchain_node::keys::NodeKey::read(&home.network_key(), "network").unwrap();
    ctchain_net::peer_id_from_public(&key.public).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channels_data_reaches_only_its_members_and_a_member_joining_later_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_ctchain-node"));
    let channels =
        [spec("x", &["bank-a", "bank-b", "bank-c", "bank-d"]), spec("y", &["bank-c", "bank-d", "bank-e", "bank-f"])];
    let cluster =
        Cluster::create_with_channels(&bin, &dir.path().join("chain"), CHAIN_ID, 6, 1, BASE, &channels).unwrap();
    let mut chain = Chain::launch(dir, cluster).await;
    let homes = chain.cluster.testnet.homes.clone();
    assert!(!homes[E].join("channels").join("x").exists() && homes[E].join("channels").join("y").exists());

    // Transfers on both channels, each through two different members.
    let on_x = transfers_on(&chain.cluster, "x", A, C).await;
    let on_y = transfers_on(&chain.cluster, "y", E, D).await;
    let x_tip = wait_channel_height(&chain.cluster.channel_client(A, "x"), on_x[1].1).await;
    let mut x_needles: Vec<[u8; 32]> = on_x.iter().map(|(id, _)| *id.as_bytes()).collect();
    x_needles.extend(block_hashes(&chain.cluster.channel_client(A, "x"), x_tip.height).await);
    for (i, id) in [(E, "x"), (F, "x"), (A, "y"), (B, "y")] {
        let err = chain.cluster.channel_client(i, id).chain_status().await.unwrap_err().to_string();
        assert!(
            err.contains("404") || err.contains("1030") || err.contains("serves no channel"),
            "node {i} {id}: {err}"
        );
    }
    // What the regulator observes of both, and what the system channel never carries.
    wait_channel_height(&chain.cluster.channel_client(REGULATOR, "x"), on_x[1].1).await;
    wait_channel_height(&chain.cluster.channel_client(REGULATOR, "y"), on_y[1].1).await;
    for (id, _) in on_x.iter().chain(&on_y) {
        for i in [A, E, REGULATOR] {
            let status = chain.cluster.client(i).tx_get(id.to_string()).await.unwrap();
            assert_eq!(status, TxStatus::Unknown, "the system channel of node {i} knows a channel transaction");
        }
        let status = chain.cluster.channel_client(E, "x").tx_get(id.to_string()).await;
        assert!(status.is_err(), "node E answers for channel x");
    }
    for (id, _) in &on_y {
        assert_eq!(chain.cluster.channel_client(A, "x").tx_get(id.to_string()).await.unwrap(), TxStatus::Unknown);
    }

    // The regulator's observer is in both channels: its audit tool scans each (a keystore and a database per
    // channel) and one AML run judges both together.
    let mut audit = Tool::new("ctchain-audit", chain.dir.path());
    std::fs::write(chain.dir.path().join("regulator-password"), "regulator pw\n").unwrap();
    let observer = chain.cluster.testnet.rpc[REGULATOR].clone();
    audit.leading = ["--insecure-fast-kdf", "--password-file", "regulator-password", "--node", &observer]
        .map(String::from)
        .to_vec();
    let secrets = chain.cluster.dir.join("testnet-secrets.json");
    for (id, transfers) in [("x", &on_x), ("y", &on_y)] {
        let keystore = format!("regulator-{id}.json");
        let chain_id = channel_chain_id(id);
        audit.ok(&["import", "--chain-id", &chain_id, "--secrets", secrets.to_str().unwrap(), "--out", &keystore]);
        let to = transfers[1].1.to_string();
        let db = format!("audit-{id}");
        let scanned = audit.ok(&["--channel", id, "scan", "--from", "1", "--to", &to, "--key", &keystore, "--db", &db]);
        assert!(scanned.contains("decrypted 3 outputs"), "channel {id}: {scanned}");
    }
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/audit/examples/aml-rules.toml");
    let aml =
        audit.ok(&["aml", "--db", "audit-x", "--db", "audit-y", "--rules", rules.to_str().unwrap(), "--out", "aml"]);
    assert!(aml.contains("6 records"), "one AML run covers both channels: {aml}");

    // On disk: the search finds X's ids in A's home, and none in E's or F's.
    let at_a = found_on_disk(&homes[A], &x_needles);
    assert!(at_a.contains(&0) && at_a.contains(&1), "the search must find X's transactions where they are: {at_a:?}");
    for i in [E, F] {
        let found = found_on_disk(&homes[i], &x_needles);
        assert!(found.is_empty(), "node {i} holds data of channel x on disk: needles {found:?}");
    }

    // In what they received, and in what anyone sent them.
    let (e_peer, f_peer) = (peer_id(&chain.cluster, E).to_string(), peer_id(&chain.cluster, F).to_string());
    for i in [E, F] {
        let m = metrics(&chain.cluster, i).await;
        assert!(!m.contains("channel=\"x\""), "node {i} counts traffic of channel x:\n{m}");
        assert_eq!(sample(&m, "ctchain_channel_unhosted_messages_total", &[]).unwrap_or(0), 0, "node {i}:\n{m}");
        let y_received = sample(&m, "ctchain_channel_received_bytes_total", &[("channel", "y")]);
        assert!(y_received.is_some_and(|b| b > 0), "node {i} must receive channel y:\n{m}");
    }
    for i in [A, B, C, D, REGULATOR] {
        let m = metrics(&chain.cluster, i).await;
        for peer in [&e_peer, &f_peer] {
            for family in ["ctchain_channel_sent_messages_total", "ctchain_channel_refused_sends_total"] {
                let sent = sample(&m, family, &[("channel", "x"), ("peer", peer)]).unwrap_or(0);
                assert_eq!(sent, 0, "node {i}: {family} towards {peer} on channel x");
            }
        }
        let to_members = sample(&m, "ctchain_channel_sent_bytes_total", &[("channel", "x")]);
        assert!(to_members.is_some_and(|b| b > 0), "node {i} must send channel x to its members:\n{m}");
    }

    // E's node, as a peer of the network (its key, its certificate admitted to the consortium), asks A for X's
    // blocks: A drops the request and counts it; nothing comes back.
    chain.cluster.stop(E).unwrap();
    let a_peer = peer_id(&chain.cluster, A);
    let a_p2p = ctchain_node::config::NodeConfig::read(&ctchain_node::config::Home(homes[A].clone()).config())
        .unwrap()
        .network
        .listen;
    let e_key =
        ctchain_node::keys::NodeKey::read(&ctchain_node::config::Home(homes[E].clone()).network_key(), "network")
            .unwrap();
    let (probe, mut probe_events) = ctchain_net::spawn(ctchain_net::NetConfig {
        keypair: ctchain_net::keypair_from_secret(e_key.secret),
        listen: format!("/ip4/127.0.0.1/tcp/{}", BASE + 90).parse().unwrap(),
        peers: vec![(a_peer, Some(a_p2p.parse().unwrap()))],
        max_message_bytes: 32 << 20,
        quota: Default::default(),
        stalled_peer_after: ctchain_net::STALLED_PEER_AFTER,
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !probe.status().connected.contains(&a_peer) {
        assert!(Instant::now() < deadline, "the probe never connected to A");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ask = direct_frame(Scope::Channel("x".into()), Wire::SyncRequest { from: 1, to: x_tip.height }.to_bytes());
    for _ in 0..3 {
        probe.send(a_peer, ask.clone()).unwrap();
    }
    let until = tokio::time::Instant::now() + Duration::from_secs(4);
    while let Ok(Some(event)) = tokio::time::timeout_at(until, probe_events.recv()).await {
        if let ctchain_net::NetEvent::Direct { bytes, .. } = event {
            // Only the system channel's consensus may reach it (E is a member of the consortium), never X.
            assert_ne!(bytes.first(), Some(&1), "a channel message reached the non-member");
        }
    }
    probe.shutdown();
    let m = metrics(&chain.cluster, A).await;
    let refused = sample(&m, "ctchain_channel_refused_messages_total", &[("channel", "x"), ("peer", &e_peer)]);
    assert!(refused.is_some_and(|n| n >= 3), "A must count E's requests for channel x as refused:\n{m}");

    // Two channels in one node: with X's primary (A) stopped, X changes view while Y keeps committing on C.
    let y_before = chain.cluster.channel_client(C, "y").chain_status().await.unwrap().consensus_seq;
    chain.cluster.stop(A).unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let x_after = loop {
        let x = chain.cluster.channel_client(C, "x").chain_status().await.unwrap();
        if x.view > 0 && x.view_normal && x.consensus_seq > x_tip.consensus_seq {
            break x;
        }
        assert!(Instant::now() < deadline, "channel x never completed its view change: {x:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let y_after = chain.cluster.channel_client(C, "y").chain_status().await.unwrap();
    assert!(y_after.view == 0 && y_after.consensus_seq > y_before + 2, "y stalled: {y_before} → {y_after:?}");
    assert!(x_after.view > 0);
    chain.cluster.start(A).unwrap();

    // E joins X: every member of X and E itself approve; E is given X's genesis and catches up.
    let node = Tool::new("ctchain-node", chain.dir.path());
    let members = ["bank-a", "bank-b", "bank-c", "bank-d", "bank-e", "regulator"];
    let approvers: Vec<(&str, String)> = members.iter().map(|m| (*m, admin_key(m))).collect();
    let mut args = vec!["set-channel-members", "--channel", "x"];
    for m in members {
        args.extend(["--member", m]);
    }
    let version = chain.cluster.client(B).governance_registry().await.unwrap().version + 1;
    govern(&chain, &node, B, &args, &approvers, version).await;
    let channel_home = homes[E].join("channels").join("x");
    std::fs::create_dir_all(&channel_home).unwrap();
    std::fs::copy(homes[A].join("channels").join("x").join("genesis.toml"), channel_home.join("genesis.toml")).unwrap();
    chain.cluster.start(E).unwrap();
    let x_head = chain.cluster.channel_client(B, "x").chain_status().await.unwrap();
    let at_e = wait_channel_height(&chain.cluster.channel_client(E, "x"), x_head.height).await;
    let block = chain.cluster.channel_client(E, "x").chain_get_block(BlockRef::Height(x_head.height)).await.unwrap();
    let at_b = chain.cluster.channel_client(B, "x").chain_get_block(BlockRef::Height(x_head.height)).await.unwrap();
    assert_eq!(block.unwrap().header.hash, at_b.unwrap().header.hash, "E follows X's chain: {at_e:?}");
    let status = chain.cluster.channel_client(E, "x").tx_get(on_x[1].0.to_string()).await.unwrap();
    assert!(matches!(status, TxStatus::Committed { .. }), "{status:?}");

    // A channel created by governance while the chain runs: E and F (and the regulator) agree on a genesis for
    // channel z, register it with `create-channel`, and their running nodes serve it without a restart.
    let system = chain.cluster.testnet.genesis.clone();
    let registry = system.registry().unwrap();
    let in_z = ["bank-e", "bank-f", "regulator"];
    let z = ctchain_ledger::Genesis {
        chain_id: channel_chain_id("z"),
        validators: system
            .validators
            .iter()
            .filter(|v| v.name.starts_with("bank-e/") || v.name.starts_with("bank-f/"))
            .cloned()
            .collect(),
        members: system.members.iter().filter(|m| in_z.contains(&m.name.as_str())).cloned().collect(),
        nodes: registry
            .nodes()
            .iter()
            .filter(|n| in_z.contains(&n.member.as_str()))
            .map(|n| n.certificate.clone())
            .collect(),
        shielded: None,
        channels: vec![],
        ..system.clone()
    };
    let z_text = ctchain_node::genesis_file::to_toml(&z);
    std::fs::write(chain.dir.path().join("z.genesis.toml"), &z_text).unwrap();
    for i in [E, F, REGULATOR] {
        let home = homes[i].join("channels").join("z");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(home.join("genesis.toml"), &z_text).unwrap();
    }
    let approvers: Vec<(&str, String)> = in_z.iter().map(|m| (*m, admin_key(m))).collect();
    let version = chain.cluster.client(B).governance_registry().await.unwrap().version + 1;
    govern(&chain, &node, B, &["create-channel", "--genesis", "z.genesis.toml"], &approvers, version).await;
    let listed = chain.cluster.client(B).governance_registry().await.unwrap();
    assert!(
        listed.channels.iter().any(|c| c.id == "z" && c.genesis_hash == z.hash().to_hex()),
        "{:?}",
        listed.channels
    );
    // Each member's node opens the channel once its own copy of the registry lists it.
    for i in [E, F, REGULATOR] {
        wait_channel_height(&chain.cluster.channel_client(i, "z"), 0).await;
    }
    let on_z = transfers_on(&chain.cluster, "z", F, E).await;
    wait_channel_height(&chain.cluster.channel_client(REGULATOR, "z"), on_z[1].1).await;
    for i in [A, B, C, D] {
        assert!(chain.cluster.channel_client(i, "z").chain_status().await.is_err(), "node {i} serves channel z");
    }
}
