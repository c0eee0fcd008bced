//! `ctchain-devnet demo`: the whole story on one machine. Four validator processes on loopback; two banks receive
//! issued assets and pay each other confidentially through the RPC; for one transfer the demo prints side by side
//! what a validator sees, what the receiving bank sees and what the regulator decrypts; the banks then move value
//! through the shielded pool (shield, a shielded payment that hides who pays whom, unshield), each proven with
//! Groth16 and read by the regulator from the audit copy proven inside the circuit; the supply is checked pool by
//! pool; then one validator is killed, the chain keeps committing, the validator restarts and catches up to the
//! same state root. Then the consortium changes on chain with the operator commands: a fifth bank joins and its
//! validator's vote is needed, and a validator's certificate is revoked and every node cuts it off; the regulator's
//! closing view reads the chain through a light client that follows those epochs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use ctchain_codec::Encode;
use ctchain_crypto::{AssetId, LimbTable, SigningKey, Transaction, TransactionBuilder};
use ctchain_rpc::ChainApiClient;
use jsonrpsee::http_client::HttpClient;
use rand_core::OsRng;

use ctchain_keystore::{KdfParams, KeystoreFile, WalletSecret};
use ctchain_wallet::client::RpcSource;
use ctchain_wallet::session::{Outgoing, Session, Wait};
use ctchain_wallet::shielded::Prover;

use ctchain_light::{GenesisTrust, LightClient};

use crate::cluster::{submit_and_wait, ChainWallet, Cluster};

const CHAIN_ID: &str = "ctchain-demo-1";
const COMMIT_TIMEOUT: Duration = Duration::from_secs(60);
/// The demo's bilateral channel.
const CHANNEL: &str = "ab";

fn step(n: u32, text: &str) {
    println!("\n[{n}] {text}");
}

/// Base units of the demo's assets (two decimals) as the regulator's reports print them.
fn money(units: u64) -> String {
    ctchain_display::amount::format_grouped(u128::from(units), 2)
}

fn short(hex: &str) -> String {
    format!("{}…", &hex[..12.min(hex.len())])
}

fn short_address_text(text: &str) -> String {
    let tail = &text[text.len().saturating_sub(6)..];
    format!("{}…{tail}", &text[..20.min(text.len())])
}

struct Demo {
    cluster: Cluster,
    clients: Vec<HttpClient>,
    next_client: usize,
    bin: std::path::PathBuf,
    base_port: u16,
    /// A validator whose certificate was revoked: no transaction goes through it any more.
    retired: Option<usize>,
    /// The banks' shielded addresses (name, address), for the regulator's KYC directory.
    shielded_addresses: Vec<(String, String)>,
}

impl Demo {
    /// A live validator's client, rotating, so that transactions enter through different nodes.
    fn client(&mut self, avoid: Option<usize>) -> (usize, HttpClient) {
        loop {
            self.next_client = (self.next_client + 1) % self.clients.len();
            if Some(self.next_client) != avoid && Some(self.next_client) != self.retired {
                return (self.next_client, self.clients[self.next_client].clone());
            }
        }
    }

    fn builder(&self) -> TransactionBuilder {
        TransactionBuilder::new(CHAIN_ID, self.cluster.testnet.genesis.audit_keys.clone())
    }
}

/// Runs the demo; the chain lives in a temporary directory (kept with `keep`).
pub async fn run(keep: bool, base_port: u16) -> Result<()> {
    let started = Instant::now();
    let bin = crate::cluster::node_binary()?;
    let tmp = tempfile::Builder::new().prefix("ctchain-demo-").tempdir()?;
    let dir = tmp.path().join("chain");

    step(1, "Creating a 4-validator chain (keys, genesis, configs) on loopback");
    // With a private channel between bank-a and bank-b, founded with the chain.
    let channels =
        [ctchain_node::home::ChannelSpec { id: CHANNEL.into(), banks: vec!["bank-a".into(), "bank-b".into()] }];
    let mut cluster = Cluster::create_with_channels(&bin, &dir, CHAIN_ID, 4, 0, base_port, &channels)?;
    // Heartbeats every 200 ms: an epoch begins about 48 consensus sequence numbers after the change that
    // schedules it, some ten seconds here.
    for i in 0..cluster.len() {
        cluster.edit_config(i, |c| c.consensus.idle_block_ms = 200)?;
    }
    println!("    genesis {} in {}", cluster.testnet.genesis.hash(), dir.display());
    println!("    assets: CNY issued by bank-a, USD issued by bank-b; one regulator audit key");
    let clients = (0..4).map(|i| cluster.client(i)).collect();
    let mut demo = Demo { cluster, clients, next_client: 0, bin, base_port, retired: None, shielded_addresses: vec![] };
    let result = story(&mut demo).await;
    for i in 0..demo.cluster.len() {
        let _ = demo.cluster.stop(i);
    }
    match &result {
        Ok(()) => println!("\nDemo finished in {:.0} s.", started.elapsed().as_secs_f64()),
        Err(_) => {
            println!("\nDemo FAILED. Node logs: {}", dir.join("logs").display());
            let _ = tmp.keep();
            return result;
        }
    }
    if keep {
        let kept = tmp.keep();
        println!("Chain kept in {}", kept.join("chain").display());
    }
    result
}

async fn story(demo: &mut Demo) -> Result<()> {
    step(2, "Starting 4 validator processes");
    demo.cluster.start_all()?;
    for i in 0..4 {
        let s = demo.cluster.wait_seq(i, 1, Duration::from_secs(60)).await?;
        println!("    validator-{i}: up, {} peers, view {}", s.peers.len(), s.view);
    }

    // Each bank's keys come from a wallet seed, so the same bank can use the wallet library (and its shielded
    // key, derived from the same seed) in the shielded step.
    let secrets = [WalletSecret::generate(&mut OsRng), WalletSecret::generate(&mut OsRng)];
    let bank_a = ChainWallet::new("bank-a", secrets[0].wallet_keys()?);
    let bank_b = ChainWallet::new("bank-b", secrets[1].wallet_keys()?);
    let mut wallets = [bank_a, bank_b];
    let addr = |w: &ChainWallet| ctchain_keystore::address::encode_address(CHAIN_ID, &w.keys.address());
    println!("    bank-a address {}", addr(&wallets[0]));
    println!("    bank-b address {}", addr(&wallets[1]));

    let issuers: BTreeMap<String, (AssetId, SigningKey)> = demo
        .cluster
        .testnet
        .issuers
        .iter()
        .map(|(bank, asset, _, key)| (bank.clone(), (*asset, key.clone())))
        .collect();
    let (cny, cny_issuer) = issuers["bank-a"].clone();
    let (usd, usd_issuer) = issuers["bank-b"].clone();

    step(3, "Issuing assets: bank-a issues 1,000,000.00 CNY to itself, bank-b 500,000.00 USD to itself");
    for (w, asset, issuer, amount, label) in
        [(0usize, cny, &cny_issuer, 100_000_000u64, "CNY"), (1, usd, &usd_issuer, 50_000_000, "USD")]
    {
        let mut b = demo.builder();
        b.issue(issuer, asset, amount).pay(
            wallets[w].keys.address(),
            asset,
            amount,
            format!("initial {label} issuance"),
        );
        let tx = b.build(&mut OsRng)?;
        let (i, client) = demo.client(None);
        let (id, height) = submit_and_wait(&client, &tx, COMMIT_TIMEOUT).await?;
        println!(
            "    {} issued {} {label}: tx {} committed at height {height} (via validator-{i})",
            wallets[w].name,
            money(amount),
            short(&id.to_string())
        );
    }

    step(4, "Confidential transfers between the banks, through the RPC of different validators");
    let transfers = [
        (0usize, 1usize, cny, 1_250_000u64, "invoice 2026-118: bond coupon"),
        (1, 0, usd, 300_000, "FX settlement leg 1"),
        (0, 1, cny, 25_075, "fees Q3"),
    ];
    let mut showcase: Option<Transaction> = None;
    for (from, to, asset, amount, memo) in transfers {
        let tx = transfer(demo, &mut wallets, from, to, asset, amount, memo).await?;
        if showcase.is_none() {
            showcase = Some(tx);
        }
    }
    let showcase = showcase.ok_or_else(|| anyhow!("no transfer made"))?;

    step(5, "One transfer, three views");
    show_views(demo, &mut wallets, &showcase).await?;

    step(6, "The shielded pool: bank-a shields 20,000.00 CNY, pays bank-b 7,500.00 CNY inside the pool, bank-b unshields 2,500.00 CNY");
    let shielded_held = shielded_story(demo, &secrets).await?;

    step(7, "Supply check, pool by pool: public counters against what the regulator decrypts and what the banks hold");
    supply_check(demo, &mut wallets, &shielded_held, &[(cny, "CNY"), (usd, "USD")]).await?;

    step(
        8,
        "A private channel between bank-a and bank-b: its own chain, on the same nodes; bank-c's node sees none of it",
    );
    channel_story(demo, &wallets, cny, &cny_issuer).await?;

    let primary = demo.clients[0].chain_status().await?.primary as usize;
    step(9, &format!("Killing validator-{primary}, the current primary (SIGKILL); the other three change view and keep committing"));
    demo.cluster.kill(primary)?;
    let witness = (primary + 1) % 4;
    let before = demo.clients[witness].chain_status().await?;
    let tx = transfer(demo, &mut wallets, 1, 0, cny, 500_000, "repayment while a validator is down").await;
    let tx = tx.context("a transfer with one validator down")?;
    let after = demo.clients[witness].chain_status().await?;
    println!(
        "    height {} → {} and view {} → {} (new primary validator-{}) without validator-{primary} (tx {})",
        before.height,
        after.height,
        before.view,
        after.view,
        after.primary,
        short(&tx.id().to_string())
    );

    step(10, &format!("Restarting validator-{primary}; it catches up from its peers"));
    demo.cluster.start(primary)?;
    let target = demo.clients[witness].chain_status().await?;
    let caught = demo.cluster.wait_height(primary, target.height, Duration::from_secs(90)).await?;
    let at = ctchain_rpc::BlockRef::Height(target.height);
    let reference = demo.clients[witness].chain_get_block(at.clone()).await?;
    let reference = reference.ok_or_else(|| anyhow!("block {} missing on validator-{witness}", target.height))?;
    let mine = demo.clients[primary].chain_get_block(at).await?;
    let mine = mine.ok_or_else(|| anyhow!("block {} missing on validator-{primary}", target.height))?;
    if mine.header != reference.header {
        bail!("validator-{primary}'s block {} differs from validator-{witness}'s", target.height);
    }
    println!(
        "    validator-{primary} at height {} with state root {} — identical to validator-{witness}'s",
        caught.height,
        short(&mine.header.state_root)
    );
    transfer(demo, &mut wallets, 0, 1, usd, 100_000, "after the restart").await?;
    let tip = demo.clients[witness].chain_status().await?.height;
    let s = demo.cluster.wait_height(primary, tip, Duration::from_secs(60)).await?;
    println!("    validator-{primary} follows new blocks: height {}", s.height);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mine = demo.clients[primary].chain_status().await?;
        let theirs = demo.clients[witness].chain_status().await?;
        if mine.view == theirs.view && mine.view_normal {
            println!("    validator-{primary} rejoined consensus in view {} and votes again", mine.view);
            break;
        }
        if Instant::now() > deadline {
            bail!("validator-{primary} did not rejoin view {} within a minute", theirs.view);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    step(
        11,
        "The consortium on chain: bank-e joins and its validator votes; bank-d's validator certificate is revoked",
    );
    consortium_story(demo, &mut wallets, cny).await?;

    step(12, "Summary");
    for w in wallets.iter_mut() {
        w.sync(&demo.clients[0]).await?;
        let c = w.balance(cny)?;
        let u = w.balance(usd)?;
        println!("    {}: {} CNY, {} USD (decrypted by its own view key)", w.name, money(c), money(u));
    }
    let s = demo.clients[0].chain_status().await?;
    println!("    chain {}: height {}, {} consensus steps, view {}", s.chain_id, s.height, s.consensus_seq, s.view);

    step(13, "The regulator's view: every amount decrypted with the audit key, AML rules run (ctchain-audit)");
    let chain =
        LightClient::connect(demo.clients[0].clone(), GenesisTrust::Pinned(demo.cluster.testnet.genesis.hash()))
            .await?;
    // The regulator's KYC directory: which customer of which bank each identity is (imported from CSV).
    let mut kyc = String::from("address,customer,bank\n");
    for w in &wallets {
        let address =
            ctchain_keystore::address::encode_address(&demo.cluster.testnet.genesis.chain_id, &w.keys.address());
        kyc.push_str(&format!("{address},{} treasury,{}\n", w.name, w.name));
    }
    for (name, address) in &demo.shielded_addresses {
        kyc.push_str(&format!("{address},{name} treasury,{name}\n"));
    }
    let directory = ctchain_audit::directory::Directory::from_csv(&demo.cluster.testnet.genesis.chain_id, &kyc)?;
    println!("    KYC directory: {} customers of {} banks", directory.len(), directory.banks().len());
    print!(
        "{}",
        ctchain_audit::cli::regulator_view(&chain, &regulator_keys(demo), DEMO_RULES, Some(&directory)).await?
    );
    Ok(())
}

/// A payment on the bilateral channel `ab` (bank-a issues on it and pays bank-b), then what each node holds and
/// exchanged of it: bank-a's and bank-b's nodes the channel's chain; bank-c's node nothing (its RPC serves no such
/// channel, its consortium chain never saw the payment, and no node sent it a byte of the channel).
async fn channel_story(demo: &mut Demo, wallets: &[ChainWallet; 2], cny: AssetId, issuer: &SigningKey) -> Result<()> {
    let chain_id = ctchain_governance::Channel::chain_id(CHAIN_ID, CHANNEL);
    let audit_keys = demo.cluster.testnet.genesis.audit_keys.clone();
    let (a, b) = (demo.cluster.channel_client(0, CHANNEL), demo.cluster.channel_client(1, CHANNEL));
    let mut alice = ChainWallet::new("bank-a (channel ab)", wallets[0].keys.clone());
    let mut tx = TransactionBuilder::new(&chain_id, audit_keys.clone());
    tx.issue(issuer, cny, 1_000_000).pay(alice.keys.address(), cny, 1_000_000, "channel ab funding");
    let (issued, _) = submit_and_wait(&a, &tx.build(&mut OsRng)?, COMMIT_TIMEOUT).await?;
    alice.sync(&a).await?;
    let mut tx = TransactionBuilder::new(&chain_id, audit_keys);
    for o in alice.select(cny, 250_000)? {
        tx.spend(o);
    }
    tx.pay(wallets[1].keys.address(), cny, 250_000, "bilateral repo leg")
        .sender(alice.keys.address())
        .change_to(alice.keys.address());
    let (paid, height) = submit_and_wait(&b, &tx.build(&mut OsRng)?, COMMIT_TIMEOUT).await?;
    println!(
        "    {chain_id}: bank-a issued {} CNY on the channel, paid bank-b {} CNY (tx {}, height {height})",
        money(1_000_000),
        money(250_000),
        short(&paid.to_string())
    );
    let validators =
        demo.cluster.testnet.channels.iter().find(|(c, _)| c.id == CHANNEL).map_or(0, |(_, g)| g.validators.len());
    for (i, client) in [(0usize, &a), (1, &b)] {
        let s = client.chain_status().await?;
        println!(
            "    validator-{i} (a member): channel at height {}, {} validators, genesis {}",
            s.height,
            validators,
            short(&s.genesis_hash)
        );
    }
    let c = demo.cluster.channel_client(2, CHANNEL);
    let refused = match c.chain_status().await {
        Ok(_) => bail!("bank-c's node serves the private channel {CHANNEL}"),
        Err(e) => e.to_string(),
    };
    let unknown = |s: ctchain_rpc::TxStatus| matches!(s, ctchain_rpc::TxStatus::Unknown);
    let system_c = &demo.clients[2];
    if !unknown(system_c.tx_get(issued.to_string()).await?) || !unknown(system_c.tx_get(paid.to_string()).await?) {
        bail!("bank-c's node knows a transaction of the private channel");
    }
    println!(
        "    validator-2 (bank-c): {CHANNEL} refused ({}); neither payment known to its chain",
        if refused.contains("404") || refused.contains("1030") { "no such channel here" } else { refused.as_str() }
    );
    let c_metrics = metrics_text(demo, 2).await?;
    let from_a = metrics_text(demo, 0).await?;
    let c_peer = peer_of(demo, 2)?;
    let sent_to_c: u64 =
        sample_sum(&from_a, "ctchain_channel_sent_bytes_total", &[("channel", CHANNEL), ("peer", &c_peer)]);
    let sent_to_b: u64 =
        sample_sum(&from_a, "ctchain_channel_sent_bytes_total", &[("channel", CHANNEL), ("peer", &peer_of(demo, 1)?)]);
    if c_metrics.contains(&format!("channel=\"{CHANNEL}\"")) || sent_to_c > 0 || sent_to_b == 0 {
        bail!("channel {CHANNEL}'s traffic is not confined: {sent_to_b} bytes to bank-b, {sent_to_c} to bank-c");
    }
    println!("    on the wire: validator-0 sent {sent_to_b} bytes of {CHANNEL} to bank-b's node, 0 to bank-c's; bank-c's node received none");
    Ok(())
}

/// Node `i`'s metrics exposition.
async fn metrics_text(demo: &Demo, i: usize) -> Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let port = ctchain_node::home::ports(demo.base_port, i).2;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n").await?;
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut text)).await??;
    Ok(text)
}

/// The peer id of node `i`, as metrics label peers.
fn peer_of(demo: &Demo, i: usize) -> Result<String> {
    let home = ctchain_node::config::Home(demo.cluster.testnet.homes[i].clone());
    let key = ctchain_node::keys::NodeKey::read(&home.network_key(), "network")?;
    Ok(ctchain_net::peer_id_from_public(&key.public).ok_or_else(|| anyhow!("bad network key"))?.to_string())
}

/// The sum of the samples of `family` whose labels include `labels`.
fn sample_sum(metrics: &str, family: &str, labels: &[(&str, &str)]) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(family) && labels.iter().all(|(k, v)| l.contains(&format!("{k}=\"{v}\""))))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum()
}

/// Runs an operator command (`ctchain-node …`) in the chain's directory; returns what it printed.
fn operator(demo: &Demo, args: &[&str]) -> Result<String> {
    let out = std::process::Command::new(&demo.bin)
        .args(args)
        .current_dir(&demo.cluster.dir)
        .output()
        .with_context(|| format!("cannot run {}", demo.bin.display()))?;
    if !out.status.success() {
        bail!("ctchain-node {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A governance action proposed against validator 0's registry, approved by `approvers` with their admin keys
/// (the testnet wrote them under `members/`), submitted, and waited for on every running validator.
async fn govern(demo: &mut Demo, name: &str, action: &[&str], approvers: &[&str]) -> Result<()> {
    let rpc = demo.cluster.testnet.rpc[0].clone();
    let file = format!("{name}.json");
    let mut propose = vec!["governance", "propose", "--rpc", &rpc, "--out", &file];
    propose.extend_from_slice(action);
    operator(demo, &propose)?;
    for member in approvers {
        let key = if *member == "bank-e" {
            "bank-e/member/admin.key".to_owned()
        } else {
            format!("members/{member}/admin.key")
        };
        operator(demo, &["governance", "approve", &file, "--member", member, "--admin-key", &key])?;
    }
    let version = demo.clients[0].governance_registry().await?.version + 1;
    operator(demo, &["governance", "submit", &file, "--rpc", &rpc])?;
    let deadline = Instant::now() + COMMIT_TIMEOUT;
    while demo.clients[0].governance_registry().await?.version < version {
        if Instant::now() > deadline {
            bail!("the governance action {name} did not commit");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("    {name}: proposed, approved by {}, committed (registry version {version})", approvers.join(", "));
    Ok(())
}

/// Waits until node `i` is in consensus epoch `epoch` or later.
async fn wait_epoch(demo: &mut Demo, i: usize, epoch: u64) -> Result<ctchain_rpc::ChainStatus> {
    demo.cluster.wait_status(i, Duration::from_secs(120), &format!("epoch {epoch}"), |s| s.epoch >= epoch).await
}

/// A fifth bank sets itself up with the operator commands, is admitted and its validator registered by
/// governance; its node follows from the genesis and votes from its epoch on (with bank-c's validator down, no
/// block commits without it). Then bank-d revokes its own validator's certificate (a leaked key): every node cuts
/// that validator off at once, and the chain goes on without it.
async fn consortium_story(demo: &mut Demo, wallets: &mut [ChainWallet; 2], cny: AssetId) -> Result<()> {
    let (p2p, rpc, _) = ctchain_node::home::ports(demo.base_port, demo.cluster.len());
    operator(demo, &["member", "new", "--name", "bank-e", "--dir", "bank-e/member"])?;
    operator(
        demo,
        &[
            "init",
            "--home",
            "bank-e/node",
            "--name",
            "validator",
            "--member",
            "bank-e",
            "--chain-id",
            CHAIN_ID,
            "--listen",
            &format!("/ip4/127.0.0.1/tcp/{p2p}"),
            "--rpc",
            &format!("127.0.0.1:{rpc}"),
        ],
    )?;
    operator(
        demo,
        &[
            "member",
            "certify",
            "--dir",
            "bank-e/member",
            "--request",
            "bank-e/node/node.csr",
            "--out",
            "bank-e/node.pem",
            "--serial",
            "1",
        ],
    )?;
    println!("    bank-e: member CA and admin key, its validator's keys and certificate request, certified by its CA");
    let admit = [
        "admit-member",
        "--name",
        "bank-e",
        "--ca-certificate",
        "bank-e/member/ca.pem",
        "--admin-key",
        "bank-e/member/admin.key",
    ];
    govern(demo, "admit-bank-e", &admit, &["bank-a", "bank-b", "bank-c", "regulator"]).await?;
    govern(
        demo,
        "add-bank-e-validator",
        &["add-node", "--certificate", "bank-e/node.pem"],
        &["bank-a", "bank-b", "bank-c", "bank-e"],
    )
    .await?;
    let registry = demo.clients[0].governance_registry().await?;
    let next = registry.next_epoch.clone().ok_or_else(|| anyhow!("no epoch scheduled for bank-e's validator"))?;
    println!(
        "    epoch {} scheduled from consensus sequence number {}: {} validators",
        next.number,
        next.first_seq,
        next.validators.len()
    );

    // bank-e's node: the chain's genesis, the validators as peers; it follows from the genesis.
    let bank_e = demo.cluster.join(demo.cluster.dir.join("bank-e/node"), &[0, 1, 2, 3])?;
    demo.cluster.edit_config(bank_e, |c| c.consensus.idle_block_ms = 200)?;
    demo.cluster.start(bank_e)?;
    let status = wait_epoch(demo, bank_e, next.number).await?;
    println!(
        "    bank-e's node followed the chain from the genesis to height {} and is validator {} of epoch {}",
        status.height,
        status.validator_index.map_or("-".into(), |i| i.to_string()),
        status.epoch
    );
    for i in 0..4 {
        wait_epoch(demo, i, next.number).await?;
    }

    // Five validators need four votes: with bank-c's validator down, only bank-e's vote makes the quorum.
    demo.cluster.kill(2)?;
    demo.retired = Some(2);
    let tx = transfer(demo, wallets, 0, 1, cny, 42_000, "voted by five banks").await?;
    let client = demo.clients[0].clone();
    let height = crate::cluster::wait_committed(&client, &tx.id(), COMMIT_TIMEOUT).await?;
    let signers = signers(&client, height).await?;
    println!(
        "    with validator-2 down, block {height} is certified by validators {signers:?}: bank-e's vote (4) counted"
    );
    demo.cluster.start(2)?;
    demo.cluster.wait_height(2, height, Duration::from_secs(60)).await?;
    demo.retired = None;

    // bank-d's validator key leaked: bank-d revokes its certificate alone; everyone cuts it off.
    govern(
        demo,
        "revoke-bank-d-validator",
        &["revoke-certificate", "--member", "bank-d", "--node", "validator-3"],
        &["bank-d"],
    )
    .await?;
    demo.retired = Some(3);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut still = Vec::new();
        for i in [0usize, 1, 2, bank_e] {
            let s = demo.cluster.client(i).chain_status().await?;
            if s.peers.iter().any(|p| p.name.as_deref() == Some("bank-d/validator-3")) {
                still.push(i);
            }
        }
        if still.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!("nodes {still:?} are still connected to the revoked validator");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cut_off = demo.clients[3].chain_status().await?;
    println!(
        "    every node disconnected bank-d's validator and refuses it (it has {} peers left); it leaves the validator \
         set at the next epoch",
        cut_off.peers.len()
    );
    demo.cluster.kill(3)?;
    let status = wait_epoch(demo, bank_e, next.number + 1).await?;
    let tx = transfer(demo, wallets, 1, 0, cny, 21_000, "after the revocation").await?;
    let client = demo.cluster.client(bank_e);
    let height = crate::cluster::wait_committed(&client, &tx.id(), COMMIT_TIMEOUT).await?;
    let validators: Vec<String> =
        client.governance_registry().await?.epoch.validators.iter().map(|v| v.name.clone()).collect();
    println!(
        "    epoch {}: validators {} — block {height} committed without bank-d (bank-e is validator {})",
        status.epoch,
        validators.join(", "),
        status.validator_index.map_or("-".into(), |i| i.to_string())
    );
    Ok(())
}

/// The validator indices that signed the certificate of the block at `height`.
async fn signers(client: &HttpClient, height: u64) -> Result<Vec<u32>> {
    use ctchain_codec::Decode;
    let block = client
        .chain_get_block(ctchain_rpc::BlockRef::Height(height))
        .await?
        .ok_or_else(|| anyhow!("block {height} missing"))?;
    let cert = hex::decode(block.certificate.ok_or_else(|| anyhow!("block {height} has no certificate"))?)?;
    let cert = ctchain_pbft::CommitCertificate::from_bytes(&cert)?;
    Ok(cert.signatures.iter().map(|(i, _)| *i).collect())
}

/// The regulator's whole keys: the confidential pool's audit key and the shielded pool's.
fn regulator_keys(demo: &Demo) -> ctchain_audit::keys::RegulatorKeys {
    ctchain_audit::keys::RegulatorKeys {
        confidential: demo.cluster.testnet.auditor.clone(),
        shielded: Some(demo.cluster.testnet.shielded_auditor.clone()),
    }
}

/// Waits until validator `i` holds every block the running validators have committed, so that a wallet syncing
/// from it sees what another validator already reported committed.
async fn caught_up(demo: &mut Demo, i: usize) -> Result<()> {
    let mut target = 0;
    for c in &demo.clients {
        if let Ok(s) = c.chain_status().await {
            target = target.max(s.height);
        }
    }
    demo.cluster.wait_height(i, target, Duration::from_secs(30)).await?;
    Ok(())
}

/// The shielded pool through the wallet library, as a bank's wallet drives it: bank-a shields, pays bank-b inside
/// the pool, bank-b unshields part of it; what a validator sees of the shielded payment, and what the regulator
/// reads of it. Returns, per asset (hex id), what the banks' notes hold, for the supply check.
async fn shielded_story(demo: &mut Demo, secrets: &[WalletSecret; 2]) -> Result<BTreeMap<String, u64>> {
    let wallets_dir = demo.cluster.dir.join("wallets");
    std::fs::create_dir_all(&wallets_dir)?;
    let mut banks = Vec::new();
    for (i, (name, secret)) in ["bank-a", "bank-b"].into_iter().zip(secrets).enumerate() {
        let path = wallets_dir.join(format!("{name}.json"));
        // Demo keys in a temporary directory: the fast KDF is enough.
        let file = KeystoreFile::seal(CHAIN_ID, secret, b"demo", KdfParams::TEST_ONLY, &mut OsRng)?;
        file.write(&path, false)?;
        let opened = file.open(b"demo")?;
        // bank-a's wallet talks to validator-1, bank-b's to validator-2.
        let source = RpcSource::new(&demo.cluster.testnet.rpc[i + 1])?;
        banks.push(Session::with_secret(source, &path, file, opened).await?);
    }
    let params = demo.cluster.testnet.params_dir.clone();
    let started = Instant::now();
    let prover = Prover::load(&params, &banks[0].chain)?;
    let pinned = banks[0].chain.shielded_pool()?.verifying_key_hash;
    println!(
        "    proving key loaded from {} in {:.1} s; its verifying key is the one the genesis pins (SM3 {})",
        params.display(),
        started.elapsed().as_secs_f64(),
        short(&pinned.to_string())
    );
    let wait = Some(Wait::default());
    let address = |s: &Session<RpcSource>| -> Result<String> {
        Ok(ctchain_keystore::address::encode_shielded_address(CHAIN_ID, &s.shielded_address()?))
    };
    let (a_address, b_address) = (address(&banks[0])?, address(&banks[1])?);
    demo.shielded_addresses = vec![("bank-a".into(), a_address.clone()), ("bank-b".into(), b_address.clone())];
    println!("    bank-a shielded address {}…", &a_address[..28.min(a_address.len())]);
    println!("    bank-b shielded address {}…", &b_address[..28.min(b_address.len())]);

    caught_up(demo, 1).await?;
    let started = Instant::now();
    let built = banks[0].build_shield(&prover, "CNY", "20000.00").await?;
    let proved = started.elapsed();
    let done = banks[0].submit(&Outgoing::Shielded(built), wait).await?;
    println!(
        "    bank-a shields 20,000.00 CNY: its confidential outputs pay the pool (the crossing amount is public), a \
         note of its own comes out; built and proved in {:.1} s, tx {} committed at height {}",
        proved.as_secs_f64(),
        short(&done.tx_id),
        done.height().unwrap_or(0)
    );

    let started = Instant::now();
    let built = banks[0].build_send_shielded(&prover, &b_address, "CNY", "7500.00").await?;
    let proved = started.elapsed();
    let tx = built.tx.clone();
    let done = banks[0].submit(&Outgoing::Shielded(built), wait).await?;
    let height = done.height().unwrap_or(0);
    println!(
        "    bank-a pays bank-b 7,500.00 CNY inside the pool: built and proved in {:.1} s, tx {} committed at height {height}",
        proved.as_secs_f64(),
        short(&done.tx_id)
    );
    println!("    ── what every validator sees of that payment ───────────────────────────────────");
    let st = &tx.statement;
    println!(
        "      {} bytes: anchor {} (a recent root of the note tree), nullifiers {} {}, new note commitments {} {}",
        ctchain_codec::Encode::to_bytes(&tx).len(),
        short(&hex::encode(st.anchor.to_bytes())),
        short(&hex::encode(st.nullifiers[0].to_bytes())),
        short(&hex::encode(st.nullifiers[1].to_bytes())),
        short(&hex::encode(st.commitments[0].to_bytes())),
        short(&hex::encode(st.commitments[1].to_bytes())),
    );
    println!(
        "      public value in {} / out {}, two audit ciphertexts, two note ciphertexts, a {}-byte Groth16 proof: \
         no amount, no asset, no sender, no receiver, and not which notes were spent",
        st.public_in,
        st.public_out,
        tx.proof.to_bytes().len()
    );

    println!("    ── what bank-b's wallet finds with its viewing key ─────────────────────────────");
    caught_up(demo, 2).await?;
    banks[1].sync(&mut |_, _| {}).await?;
    for b in banks[1].balances().1 {
        println!("      bank-b holds {} CNY in {} note(s)", money(b.confirmed), b.outputs);
    }

    println!("    ── what the regulator reads (audit copies proven inside the circuit) ───────────");
    let source = ctchain_audit::decrypt::ShieldedSource::of(&tx, height, 0);
    let plaintexts = ctchain_audit::decrypt::decrypt_shielded(&demo.cluster.testnet.shielded_auditor, &source)?;
    let who = |owner: &ctchain_circuits::Owner| -> Result<&'static str> {
        Ok(if *owner == banks[0].shielded_address()?.owner {
            "bank-a"
        } else if *owner == banks[1].shielded_address()?.owner {
            "bank-b"
        } else {
            "an unknown owner"
        })
    };
    for (n, p) in plaintexts.iter().enumerate() {
        let label = banks[0].chain.asset_by_tag(&p.asset).map_or("?".into(), |a| a.label.clone());
        println!(
            "      output {n}: {} {label} from {} ({}) to {} ({}){}",
            money(p.value),
            who(&p.sender)?,
            short(&ctchain_audit::decrypt::owner_hex(&p.sender)),
            who(&p.receiver)?,
            short(&ctchain_audit::decrypt::owner_hex(&p.receiver)),
            if n == 1 { " — bank-a's change" } else { "" }
        );
    }

    caught_up(demo, 2).await?;
    let started = Instant::now();
    let built = banks[1].build_unshield(&prover, "CNY", "2500.00", None, "out of the pool").await?;
    let proved = started.elapsed();
    let done = banks[1].submit(&Outgoing::Shielded(built), wait).await?;
    println!(
        "    bank-b unshields 2,500.00 CNY into a confidential output of its own: built and proved in {:.1} s, tx {} \
         committed at height {}",
        proved.as_secs_f64(),
        short(&done.tx_id),
        done.height().unwrap_or(0)
    );

    let mut held: BTreeMap<String, u64> = BTreeMap::new();
    for (i, bank) in banks.iter_mut().enumerate() {
        caught_up(demo, i + 1).await?;
        bank.sync(&mut |_, _| {}).await?;
        for b in bank.balances().1 {
            *held.entry(b.asset.clone()).or_default() += b.confirmed;
        }
    }
    Ok(held)
}

/// The demo regulator's AML rules: transfers of 10,000.00 CNY or 2,000.00 USD and more are large.
const DEMO_RULES: &str = r#"
[[asset]]
label = "CNY"
decimals = 2

[[asset]]
label = "USD"
decimals = 2

[large_value]
CNY = "10000.00"
USD = "2000.00"
"#;

#[allow(clippy::too_many_arguments)]
async fn transfer(
    demo: &mut Demo,
    wallets: &mut [ChainWallet; 2],
    from: usize,
    to: usize,
    asset: AssetId,
    amount: u64,
    memo: &str,
) -> Result<Transaction> {
    let (via, client) = live_client(demo).await?;
    wallets[from].sync(&client).await?;
    let inputs = wallets[from].select(asset, amount)?;
    let mut b = demo.builder();
    for o in inputs {
        b.spend(o);
    }
    let to_addr = wallets[to].keys.address();
    let from_addr = wallets[from].keys.address();
    b.pay(to_addr, asset, amount, memo).sender(from_addr).change_to(from_addr);
    let tx = b.build(&mut OsRng)?;
    let (id, height) = submit_and_wait(&client, &tx, COMMIT_TIMEOUT).await?;
    let label = demo.cluster.testnet.genesis.asset(&asset).map_or("?".into(), |a| a.label.clone());
    println!(
        "    {} → {}: {} {label} \"{memo}\" — tx {} committed at height {height} (via validator-{})",
        wallets[from].name,
        wallets[to].name,
        money(amount),
        short(&id.to_string()),
        via
    );
    Ok(tx)
}

/// The next validator whose process is running.
async fn live_client(demo: &mut Demo) -> Result<(usize, HttpClient)> {
    for _ in 0..demo.clients.len() {
        let (i, c) = demo.client(None);
        if c.chain_status().await.is_ok() {
            return Ok((i, c));
        }
    }
    bail!("no validator answers")
}

async fn show_views(demo: &mut Demo, wallets: &mut [ChainWallet; 2], tx: &Transaction) -> Result<()> {
    let body = &tx.body;
    let bytes = tx.to_bytes().len();
    println!("    ── what every validator sees (and checks) ──────────────────────────────────────");
    println!(
        "    tx {}  {} bytes, {} inputs, {} outputs, no amount anywhere",
        short(&tx.id().to_string()),
        bytes,
        body.inputs.len(),
        body.outputs.len()
    );
    for (n, o) in body.outputs.iter().enumerate() {
        let commitment = o.commitment().map(|c| hex::encode(c.as_bytes())).unwrap_or_default();
        println!(
            "      output {n}: commitment {}  one-time key {}  {} audit handles  memo {} bytes (encrypted)",
            short(&commitment),
            short(&hex::encode(o.one_time_key.as_bytes())),
            o.audit_handles.iter().map(|h| h.len()).sum::<usize>(),
            o.receiver_memo.len()
        );
    }
    println!("      range proof, balance signature, owner signatures, audit-validity proof: verified by 4 validators");

    let client = demo.clients[0].clone();
    println!("    ── what the receiving bank sees (its view key) ─────────────────────────────────");
    let id = tx.id().to_string();
    for w in wallets.iter_mut() {
        w.sync(&client).await?;
        for r in w.received().iter().filter(|r| r.tx_id == id) {
            let asset = AssetId(ctchain_codec::Hash32::from_hex(&r.asset).map(|h| h.0).unwrap_or_default());
            println!(
                "      {}: receives {} (asset {}), note \"{}\", from {}",
                w.name,
                money(r.amount),
                label_of(demo, &asset),
                r.memo,
                r.sender.as_deref().map_or_else(|| "(undisclosed)".into(), short_address_text)
            );
        }
    }
    println!("    ── what the regulator decrypts (audit key; amount and parties proven at validation) ─");
    let auditor = &demo.cluster.testnet.auditor;
    let who = |identity: Option<&ctchain_crypto::Point>| -> String {
        match identity {
            None => "nobody (flagged)".into(),
            Some(p) => wallets.iter().find(|w| w.keys.address().spend == *p).map_or_else(
                || format!("unknown identity {} (flagged)", short(&hex::encode(p.as_bytes()))),
                |w| w.name.clone(),
            ),
        }
    };
    let sender = auditor.audit_sender(0, body).map_err(|e| anyhow!("audit of the sender: {e}"))?;
    println!("      sender: {} (proven: the owner of every input)", who(sender.as_ref()));
    for (n, o) in body.outputs.iter().enumerate() {
        let table = LimbTable::new(o.asset);
        let audited = auditor.audit_output(0, o, &table).map_err(|e| anyhow!("audit of output {n}: {e}"))?;
        let note = match &audited.memo {
            Ok(m) => m.text.clone(),
            Err(e) => format!("(memo unreadable: {e})"),
        };
        let disagrees = audited.memo_disagreements(o, sender.as_ref());
        println!(
            "      output {n}: {} {} to {} (proven), note \"{note}\" (the memo's claim), memo agrees with the proven fields: {}",
            money(audited.amount),
            label_of(demo, &o.asset),
            who(audited.receiver.as_ref()),
            if disagrees.is_empty() {
                "yes".to_owned()
            } else {
                format!("NO ({}) — flagged", disagrees.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(", "))
            }
        );
    }
    Ok(())
}

fn label_of(demo: &Demo, asset: &AssetId) -> String {
    demo.cluster.testnet.genesis.asset(asset).map_or_else(|| asset.to_string(), |a| a.label.clone())
}

/// The regulator decrypts every unspent output of the chain and compares the sums with the public counters.
async fn supply_check(
    demo: &mut Demo,
    wallets: &mut [ChainWallet; 2],
    shielded_held: &BTreeMap<String, u64>,
    assets: &[(AssetId, &str)],
) -> Result<()> {
    let client = demo.clients[0].clone();
    let height = client.chain_status().await?.height;
    let page = client.outputs_range(1, height).await?;
    let auditor = &demo.cluster.testnet.auditor;
    let mut decrypted: BTreeMap<AssetId, u64> = BTreeMap::new();
    for o in &page.outputs {
        let status = client.output_get(o.id.clone()).await?.ok_or_else(|| anyhow!("output {} missing", o.id))?;
        if status.spent_by.is_some() {
            continue;
        }
        let output = <ctchain_crypto::Output as ctchain_codec::Decode>::from_bytes(&hex::decode(&o.output)?)
            .map_err(|e| anyhow!("output {}: {e}", o.id))?;
        let audited = auditor.audit_output(0, &output, &LimbTable::new(output.asset)).map_err(|e| anyhow!("{e}"))?;
        *decrypted.entry(output.asset).or_default() += audited.amount;
    }
    for (asset, label) in assets {
        let supply = client.asset_supply(label.to_string()).await?.ok_or_else(|| anyhow!("no supply for {label}"))?;
        let mut held = 0u64;
        for w in wallets.iter_mut() {
            w.sync(&client).await?;
            held += w.balance(*asset)?;
        }
        let sum = decrypted.get(asset).copied().unwrap_or(0);
        let notes = shielded_held.get(&asset.to_string()).copied().unwrap_or(0);
        let counter = |text: &str| text.parse::<u64>().unwrap_or(u64::MAX);
        println!(
            "    {label}: {} outstanding = {} in the confidential pool + {} in the shielded pool (public counters)",
            money(counter(&supply.outstanding)),
            money(counter(&supply.confidential_pool)),
            money(counter(&supply.shielded_pool))
        );
        println!(
            "      confidential pool: the regulator's decrypted unspent outputs sum to {}, the banks' own balances to {}",
            money(sum),
            money(held)
        );
        println!("      shielded pool: the banks' unspent notes sum to {}", money(notes));
        if supply.confidential_pool != sum.to_string() || sum != held || supply.shielded_pool != notes.to_string() {
            bail!("{label}: the supply does not add up");
        }
    }
    Ok(())
}
