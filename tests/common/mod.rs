//! Helpers of the end-to-end tests: a local chain of real `ctchain-node` processes and funded wallets.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use ctchain_crypto::{AssetId, SigningKey, Transaction, TransactionBuilder, WalletKeys};
use ctchain_devnet::cluster::{submit_and_wait, ChainWallet, Cluster};
use ctchain_devnet::links::Links;
use jsonrpsee::http_client::HttpClient;
use rand_core::OsRng;
use serde_json::Value;

pub const CHAIN_ID: &str = "ctchain-e2e-1";
pub const COMMIT: Duration = Duration::from_secs(60);

pub struct Chain {
    pub cluster: Cluster,
    pub dir: tempfile::TempDir,
}

impl Chain {
    /// Creates and starts `validators` validators and `observers` observers; waits until every validator
    /// commits.
    pub async fn start(validators: usize, observers: usize, base_port: u16) -> Self {
        let (dir, cluster) = Self::create(validators, observers, base_port);
        Self::launch(dir, cluster).await
    }

    /// As [`Chain::start`], with every link between nodes running through a proxy the test can cut and heal.
    pub async fn start_linked(validators: usize, observers: usize, base_port: u16) -> (Self, Links) {
        let (dir, cluster) = Self::create(validators, observers, base_port);
        let links = Links::route(&cluster).await.expect("link proxies");
        (Self::launch(dir, cluster).await, links)
    }

    /// The homes of a chain, nothing started: a test can prepare them first, then [`Chain::launch`] it.
    pub fn create(validators: usize, observers: usize, base_port: u16) -> (tempfile::TempDir, Cluster) {
        let dir = tempfile::tempdir().unwrap();
        let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_ctchain-node"));
        let cluster = Cluster::create(&bin, &dir.path().join("chain"), CHAIN_ID, validators, observers, base_port)
            .expect("testnet homes");
        (dir, cluster)
    }

    /// Starts every node of `cluster` and waits until every validator commits.
    pub async fn launch(dir: tempfile::TempDir, cluster: Cluster) -> Self {
        let all: Vec<usize> = (0..cluster.len()).collect();
        Self::launch_only(dir, cluster, &all).await
    }

    /// Starts the nodes `nodes` of `cluster` (validators among them all) and waits until every validator commits.
    pub async fn launch_only(dir: tempfile::TempDir, mut cluster: Cluster, nodes: &[usize]) -> Self {
        for &i in nodes {
            cluster.start(i).unwrap();
        }
        for i in 0..cluster.validators() {
            cluster.wait_seq(i, 1, Duration::from_secs(60)).await.unwrap();
        }
        Self { cluster, dir }
    }

    pub fn client(&self, i: usize) -> HttpClient {
        self.cluster.client(i)
    }

    pub fn builder(&self) -> TransactionBuilder {
        TransactionBuilder::new(CHAIN_ID, self.cluster.testnet.genesis.audit_keys.clone())
    }

    /// The CNY asset and its issuer key.
    pub fn cny(&self) -> (AssetId, SigningKey) {
        let (_, id, _, key) = &self.cluster.testnet.issuers[0];
        (*id, key.clone())
    }

    /// Issues `amount` CNY to a new wallet and waits for it to commit.
    pub async fn funded_wallet(&self, name: &str, amount: u64, via: usize) -> ChainWallet {
        let mut wallet = ChainWallet::new(name, WalletKeys::random(&mut OsRng));
        let (cny, issuer) = self.cny();
        let mut b = self.builder();
        b.issue(&issuer, cny, amount).pay(wallet.keys.address(), cny, amount, "funding");
        let tx = b.build(&mut OsRng).unwrap();
        submit_and_wait(&self.client(via), &tx, COMMIT).await.unwrap();
        wallet.sync(&self.client(via)).await.unwrap();
        wallet
    }

    /// Waits until node `via` holds every block any running node has committed (nodes lag each other by a block
    /// at times, and a wallet that syncs from a lagging node would miss its latest change output).
    pub async fn wait_caught_up(&self, via: usize) {
        let mut target = 0;
        for i in 0..self.cluster.len() {
            if let Ok(s) = ctchain_rpc::ChainApiClient::chain_status(&self.client(i)).await {
                target = target.max(s.height);
            }
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while ctchain_rpc::ChainApiClient::chain_status(&self.client(via)).await.map_or(0, |s| s.height) < target {
            assert!(std::time::Instant::now() < deadline, "node {via} did not reach height {target}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A signed transfer of `amount` CNY from `from` to `to` (not submitted).
    pub async fn transfer(&self, from: &mut ChainWallet, to: &WalletKeys, amount: u64, via: usize) -> Transaction {
        let client = self.client(via);
        self.wait_caught_up(via).await;
        from.sync(&client).await.unwrap();
        let (cny, _) = self.cny();
        let mut b = self.builder();
        for o in from.select(cny, amount).unwrap() {
            b.spend(o);
        }
        b.pay(to.address(), cny, amount, "e2e").sender(from.keys.address()).change_to(from.keys.address());
        b.build(&mut OsRng).unwrap()
    }
}

/// A command-line tool of the workspace (built next to `ctchain-node`), run in a working directory.
pub struct Tool {
    pub bin: PathBuf,
    pub dir: PathBuf,
    /// Environment variables and leading arguments every run gets.
    pub env: Vec<(String, String)>,
    pub leading: Vec<String>,
}

impl Tool {
    pub fn new(name: &str, dir: &Path) -> Self {
        let bin = Path::new(env!("CARGO_BIN_EXE_ctchain-node")).with_file_name(name);
        assert!(
            bin.exists(),
            "{} is missing: run the workspace tests (cargo test --workspace --all-targets)",
            bin.display()
        );
        Self { bin, dir: dir.to_path_buf(), env: Vec::new(), leading: Vec::new() }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        std::process::Command::new(&self.bin)
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(&self.leading)
            .args(args)
            .output()
            .expect("the tool runs")
    }

    /// Starts a long-running command (say, `watch`), its standard output and error going to `log`; the caller
    /// kills it.
    pub fn spawn(&self, args: &[&str], log: &Path) -> std::process::Child {
        let file = std::fs::File::create(log).expect("the log file");
        std::process::Command::new(&self.bin)
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(&self.leading)
            .args(args)
            .stdout(file.try_clone().expect("the log file"))
            .stderr(file)
            .spawn()
            .expect("the tool starts")
    }

    /// Runs a command that must succeed; returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{} {args:?} failed: {}{}",
            self.bin.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command that must fail; returns its standard error.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{} {args:?} should have failed", self.bin.display());
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

/// `ctchain-wallet` against one node of a chain, with wallets in the chain's temporary directory (all with the
/// password "correct horse"), and the testnet's issuer password at hand.
pub struct Wallets {
    pub tool: Tool,
    pub rpc: String,
}

impl Wallets {
    pub fn new(chain: &Chain, via: usize) -> Self {
        let net = &chain.cluster.dir;
        let issuer_password = std::fs::read_to_string(net.join("testnet-password.txt")).unwrap().trim().to_owned();
        let rpc = chain.cluster.testnet.rpc[via].clone();
        let mut tool = Tool::new("ctchain-wallet", chain.dir.path());
        tool.env = vec![
            ("CTCHAIN_RPC".into(), rpc.clone()),
            ("CTCHAIN_WALLET_PASSWORD".into(), "correct horse".into()),
            ("CTCHAIN_ISSUER_PASSWORD".into(), issuer_password),
        ];
        Self { tool, rpc }
    }

    pub fn run(&self, wallet: &str, args: &[&str]) -> Output {
        let mut all = vec!["--wallet", wallet];
        all.extend_from_slice(args);
        self.tool.run(&all)
    }

    /// Runs a command that must succeed and returns its `--json` output.
    pub fn json(&self, wallet: &str, args: &[&str]) -> Value {
        let mut all = vec!["--wallet", wallet];
        all.extend_from_slice(args);
        all.push("--json");
        serde_json::from_str(&self.tool.ok(&all)).expect("--json prints JSON")
    }

    /// Runs a command that must fail; returns its standard error.
    pub fn fails(&self, wallet: &str, args: &[&str]) -> String {
        let mut all = vec!["--wallet", wallet];
        all.extend_from_slice(args);
        self.tool.fails(&all)
    }

    /// A confidential balance (display units) of `label`, after a sync.
    pub fn confirmed(&self, wallet: &str, label: &str) -> String {
        Self::row(&self.json(wallet, &["balance"])["balances"], label)
    }

    /// The confidential and shielded balances (display units) of `label`, after a sync.
    pub fn both(&self, wallet: &str, label: &str) -> (String, String) {
        let b = self.json(wallet, &["balance"]);
        (Self::row(&b["balances"], label), Self::row(&b["shielded"]["balances"], label))
    }

    fn row(rows: &Value, label: &str) -> String {
        rows.as_array()
            .into_iter()
            .flatten()
            .find(|x| x["label"] == label)
            .map_or("0.00".into(), |x| x["confirmed"].as_str().unwrap().to_owned())
    }
}

// ---- governance with the operator's commands ----

pub const MEMBERS_DIR: &str = "chain/members";

/// Waits until validator `i`'s registry satisfies `done`.
pub async fn wait_registry(
    chain: &Chain,
    i: usize,
    done: impl Fn(&ctchain_rpc::RegistryJson) -> bool,
) -> ctchain_rpc::RegistryJson {
    let client = chain.cluster.client(i);
    let deadline = tokio::time::Instant::now() + COMMIT;
    loop {
        let r = ctchain_rpc::ChainApiClient::governance_registry(&client).await.expect("governance_registry");
        if done(&r) {
            return r;
        }
        assert!(tokio::time::Instant::now() < deadline, "validator {i}'s registry never changed: {r:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn admin_key(member: &str) -> String {
    format!("{MEMBERS_DIR}/{member}/admin.key")
}

/// Proposes `args` against validator `via`'s registry, has `approvers` (member, admin key file) approve it and
/// submits it; returns once validator `via`'s registry reached `version`.
pub async fn govern(chain: &Chain, node: &Tool, via: usize, args: &[&str], approvers: &[(&str, String)], version: u64) {
    let rpc = chain.cluster.testnet.rpc[via].clone();
    let file = format!("proposal-{version}.json");
    let mut propose = vec!["governance", "propose", "--rpc", &rpc, "--out", &file];
    propose.extend_from_slice(args);
    node.ok(&propose);
    for (member, key) in approvers {
        node.ok(&["governance", "approve", &file, "--member", member, "--admin-key", key]);
    }
    node.ok(&["governance", "submit", &file, "--rpc", &rpc]);
    wait_registry(chain, via, |r| r.version == version).await;
}
