//! A local chain of node processes on loopback, and wallets on it: what the demo, the end-to-end tests and the
//! load generator drive. Each node is its own OS process (`ctchain-node start`), so crashes are real (`SIGKILL`)
//! and restarts go through the disk. The wallets are the wallet library's ([`ChainWallet`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use ctchain_codec::Encode;
use ctchain_crypto::{AssetId, OwnedOutput, Transaction, TxId, WalletKeys};
use ctchain_node::config::{Home, NodeConfig};
use ctchain_node::home::Testnet;
use ctchain_rpc::{ChainApiClient, ChainStatus};
use ctchain_wallet::chain::ChainInfo;
use ctchain_wallet::client::RpcSource;
use ctchain_wallet::store::{OwnedRecord, WalletStore};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};

/// The `ctchain-node` binary: next to this executable (both are built into the same directory), or where
/// `CTCHAIN_NODE_BIN` says.
pub fn node_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("CTCHAIN_NODE_BIN") {
        return Ok(PathBuf::from(path));
    }
    let me = std::env::current_exe().context("cannot find this executable")?;
    // Test executables live one directory further down (`deps/`) than the binaries.
    let candidates = [
        me.with_file_name("ctchain-node"),
        me.parent().and_then(Path::parent).map_or_else(PathBuf::new, |d| d.join("ctchain-node")),
    ];
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        anyhow!("ctchain-node is not built next to {}: run `cargo build -p ctchain-node` first", me.display())
    })
}

/// A running local chain.
pub struct Cluster {
    /// Its directory.
    pub dir: PathBuf,
    /// Keys and genesis of the chain.
    pub testnet: Testnet,
    bin: PathBuf,
    procs: Vec<Option<Child>>,
    validators: usize,
}

impl Cluster {
    /// Creates the homes of `validators` validators and `observers` observers under `dir` (no process started).
    pub fn create(
        bin: &Path,
        dir: &Path,
        chain_id: &str,
        validators: usize,
        observers: usize,
        base_port: u16,
    ) -> Result<Self> {
        Self::create_with_channels(bin, dir, chain_id, validators, observers, base_port, &[])
    }

    /// As [`Cluster::create`], with private channels founded in the genesis (see
    /// `ctchain_node::home::testnet_with_channels`).
    pub fn create_with_channels(
        bin: &Path,
        dir: &Path,
        chain_id: &str,
        validators: usize,
        observers: usize,
        base_port: u16,
        channels: &[ctchain_node::home::ChannelSpec],
    ) -> Result<Self> {
        // A port still held (say, by a node of an earlier run) would silently join the wrong chain: refuse early.
        for i in 0..validators + observers {
            let (p2p, rpc, metrics) = ctchain_node::home::ports(base_port, i);
            for port in [p2p, rpc, metrics] {
                std::net::TcpListener::bind(("127.0.0.1", port))
                    .with_context(|| format!("port {port} on 127.0.0.1 is in use; choose another --base-port"))?;
            }
        }
        let testnet =
            ctchain_node::home::testnet_with_channels(dir, chain_id, validators, observers, base_port, channels)?;
        std::fs::create_dir_all(dir.join("logs"))?;
        let procs = (0..testnet.homes.len()).map(|_| None).collect();
        Ok(Self { dir: dir.to_path_buf(), testnet, bin: bin.to_path_buf(), procs, validators })
    }

    /// Takes a node home made outside the testnet (a bank joining later, set up with the operator commands) into
    /// the cluster: it is started, stopped and cleaned up like the others. Returns its index.
    pub fn adopt(&mut self, home: PathBuf, rpc: String) -> usize {
        self.testnet.homes.push(home);
        self.testnet.rpc.push(rpc);
        self.procs.push(None);
        self.procs.len() - 1
    }

    /// Takes in a node an operator set up outside the testnet (`ctchain-node init` into `home`, its certificate
    /// issued by its member's CA and registered by governance): gives it this chain's genesis and shielded
    /// verifying key, the cluster's nodes `bootstrap` as peers to dial, and adopts it. Returns its index.
    pub fn join(&mut self, home: PathBuf, bootstrap: &[usize]) -> Result<usize> {
        let from = Home(self.testnet.homes[0].clone());
        let joining = Home(home.clone());
        std::fs::copy(from.genesis(), joining.genesis()).context("cannot copy the genesis")?;
        if from.shielded_verifying_key().exists() {
            if let Some(parent) = joining.shielded_verifying_key().parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(from.shielded_verifying_key(), joining.shielded_verifying_key())?;
        }
        let rpc = format!("http://{}", NodeConfig::read(&joining.config())?.rpc.listen);
        let i = self.adopt(home, rpc);
        self.add_bootstrap_peers(i, bootstrap)?;
        Ok(i)
    }

    /// Appends the cluster's nodes `peers` to node `i`'s bootstrap peers (`[[network.peers]]`: their names,
    /// network keys and listen addresses, read from their homes).
    pub fn add_bootstrap_peers(&mut self, i: usize, peers: &[usize]) -> Result<()> {
        let mut entries = Vec::new();
        for &p in peers {
            let home = Home(self.testnet.homes[p].clone());
            let config = NodeConfig::read(&home.config())?;
            let key = ctchain_node::keys::NodeKey::read(&home.network_key(), "network")?;
            entries.push(ctchain_node::config::PeerEntry {
                name: config.name,
                network_key: hex::encode(key.public),
                address: Some(config.network.listen),
            });
        }
        self.edit_config(i, |c| c.network.peers.extend(entries))
    }

    /// Number of nodes (validators first, then observers).
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// Whether the cluster has no node.
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// Number of validators.
    pub fn validators(&self) -> usize {
        self.validators
    }

    /// The log file of node `i`.
    pub fn log_path(&self, i: usize) -> PathBuf {
        self.dir.join("logs").join(format!("node-{i}.log"))
    }

    /// Starts node `i` as a process (its output appended to its log file).
    pub fn start(&mut self, i: usize) -> Result<()> {
        self.start_with(i, &[])
    }

    /// Starts node `i` with extra arguments to `ctchain-node start` (e.g. `--restore`).
    pub fn start_with(&mut self, i: usize, extra: &[&str]) -> Result<()> {
        if self.procs[i].is_some() {
            bail!("node {i} is already running");
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path(i))?;
        let child = Command::new(&self.bin)
            .arg("start")
            .arg("--home")
            .arg(&self.testnet.homes[i])
            .args(extra)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", self.bin.display()))?;
        self.procs[i] = Some(child);
        Ok(())
    }

    /// Starts every node.
    pub fn start_all(&mut self) -> Result<()> {
        (0..self.len()).try_for_each(|i| self.start(i))
    }

    /// Kills node `i` with `SIGKILL` (no chance to clean up: what a crash or power loss does).
    pub fn kill(&mut self, i: usize) -> Result<()> {
        if let Some(mut child) = self.procs[i].take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Pauses node `i` with `SIGSTOP` (what a hung process or a long garbage-collection pause looks like to its
    /// peers: connections open, nothing answered).
    pub fn pause(&mut self, i: usize) -> Result<()> {
        self.signal(i, nix::sys::signal::Signal::SIGSTOP)
    }

    /// Resumes a paused node `i` with `SIGCONT`.
    pub fn resume(&mut self, i: usize) -> Result<()> {
        self.signal(i, nix::sys::signal::Signal::SIGCONT)
    }

    fn signal(&mut self, i: usize, signal: nix::sys::signal::Signal) -> Result<()> {
        let child = self.procs[i].as_ref().ok_or_else(|| anyhow!("node {i} is not running"))?;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal)?;
        Ok(())
    }

    /// Stops node `i` with `SIGTERM` and waits for it to exit.
    pub fn stop(&mut self, i: usize) -> Result<std::process::ExitStatus> {
        let mut child = self.procs[i].take().ok_or_else(|| anyhow!("node {i} is not running"))?;
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                child.kill()?;
                bail!("node {i} did not stop within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sets node `i`'s batching delay in its `node.toml` (it takes effect at the node's next start).
    pub fn set_batch_delay(&mut self, i: usize, batch_delay_ms: u64) -> Result<()> {
        self.edit_config(i, |config| config.consensus.batch_delay_ms = batch_delay_ms)
    }

    /// Changes node `i`'s `node.toml` (it takes effect at the node's next start).
    pub fn edit_config(&mut self, i: usize, edit: impl FnOnce(&mut NodeConfig)) -> Result<()> {
        let path = Home(self.testnet.homes[i].clone()).config();
        let mut config = NodeConfig::read(&path)?;
        edit(&mut config);
        std::fs::remove_file(&path).with_context(|| format!("cannot replace {}", path.display()))?;
        config.write_new(&path)
    }

    /// Whether node `i`'s process has exited on its own (a crash).
    pub fn exited(&mut self, i: usize) -> Option<std::process::ExitStatus> {
        self.procs[i].as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// Waits until node `i` exits on its own and returns its status; it can then be started again.
    pub async fn wait_exit(&mut self, i: usize, timeout: Duration) -> Result<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.procs[i].as_mut().ok_or_else(|| anyhow!("node {i} is not running"))?;
            if let Some(status) = child.try_wait()? {
                self.procs[i] = None;
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!("node {i} still runs after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A JSON-RPC client of node `i`.
    pub fn client(&self, i: usize) -> HttpClient {
        rpc_client(&self.testnet.rpc[i])
    }

    /// A JSON-RPC client of private channel `channel` on node `i` (`<rpc>/channels/<id>`).
    pub fn channel_client(&self, i: usize, channel: &str) -> HttpClient {
        rpc_client(&ctchain_rpc::channel_url(&self.testnet.rpc[i], Some(channel)))
    }

    /// Waits until node `i` answers and has at least `seq` consensus sequence numbers executed.
    pub async fn wait_seq(&mut self, i: usize, seq: u64, timeout: Duration) -> Result<ChainStatus> {
        self.wait_status(i, timeout, &format!("consensus sequence {seq}"), |s| s.consensus_seq >= seq).await
    }

    /// Waits until node `i` is at ledger height `height` or more.
    pub async fn wait_height(&mut self, i: usize, height: u64, timeout: Duration) -> Result<ChainStatus> {
        self.wait_status(i, timeout, &format!("height {height}"), |s| s.height >= height).await
    }

    /// Polls node `i`'s status until `reached` holds; fails early if its process exited.
    pub async fn wait_status(
        &mut self,
        i: usize,
        timeout: Duration,
        what: &str,
        reached: impl Fn(&ChainStatus) -> bool,
    ) -> Result<ChainStatus> {
        let client = self.client(i);
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited(i) {
                // The log may go with a temporary directory: say how it ended here.
                let log = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                bail!(
                    "node {i} exited ({status}); see {}; it ended with:\n{}",
                    self.log_path(i).display(),
                    tail.join("\n")
                );
            }
            if let Ok(s) = client.chain_status().await {
                if reached(&s) {
                    return Ok(s);
                }
            }
            if Instant::now() > deadline {
                bail!("node {i} did not reach {what} within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.procs.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A JSON-RPC client of a node's URL.
fn rpc_client(url: &str) -> HttpClient {
    HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(30))
        // A block of 1 000 transfers is about 10 MiB of hex.
        .max_response_size(64 << 20)
        .build(url)
        .expect("a loopback URL is valid")
}

/// Submits a transaction and waits until it is committed; returns its id and height. A rejection is an error
/// carrying the node's reason.
pub async fn submit_and_wait(client: &HttpClient, tx: &Transaction, timeout: Duration) -> Result<(TxId, u64)> {
    let submitted =
        client.tx_submit(hex::encode(tx.to_bytes())).await.map_err(|e| anyhow!("tx_submit refused: {e}"))?;
    let id = tx.id();
    if submitted.id != id.to_string() {
        bail!("the node reports id {} for transaction {id}", submitted.id);
    }
    wait_committed(client, &id, timeout).await.map(|h| (id, h))
}

/// Waits until a transaction is committed; returns its height (the light client's wait, through one node).
pub async fn wait_committed(client: &HttpClient, id: &TxId, timeout: Duration) -> Result<u64> {
    let id = id.to_string();
    Ok(ctchain_light::wait_for_commit(&id, Duration::from_millis(50), timeout, || client.tx_get(id.clone())).await?)
}

/// A bank's or a user's wallet on a local chain: the wallet library's store, synced through its RPC source with
/// its view key, held in memory (the demo's and the tests' wallets are throwaway).
pub struct ChainWallet {
    /// Its name.
    pub name: String,
    /// Its keys.
    pub keys: WalletKeys,
    state: Option<(ChainInfo, WalletStore)>,
}

impl ChainWallet {
    /// A wallet with these keys that has synced nothing yet.
    pub fn new(name: &str, keys: WalletKeys) -> Self {
        Self { name: name.to_owned(), keys, state: None }
    }

    /// Syncs with the chain through `client` (its genesis is read on the first sync).
    pub async fn sync(&mut self, client: &HttpClient) -> Result<()> {
        let source = RpcSource::with_client(client.clone(), "the local node");
        if self.state.is_none() {
            let chain = ctchain_wallet::sync::chain_info(&source, None).await?;
            let address = ctchain_keystore::address::encode_address(&chain.chain_id, &self.keys.address());
            let store = WalletStore::new(&chain.chain_id, &chain.genesis_hash, &address);
            self.state = Some((chain, store));
        }
        let Some((chain, store)) = &mut self.state else { bail!("{}: no chain state after the first sync", self.name) };
        let report = ctchain_wallet::sync::sync(
            &source,
            &self.keys.viewing_keys(),
            chain,
            store,
            &mut |_| Ok(()),
            &mut |_, _| {},
        )
        .await?;
        if report.bad > 0 {
            eprintln!("{}: ignored {} outputs with an unusable memo", self.name, report.bad);
        }
        Ok(())
    }

    /// Outputs received so far (spent or not), as the wallet stores them.
    pub fn received(&self) -> &[OwnedRecord] {
        self.state.as_ref().map_or(&[], |(_, store)| store.outputs.as_slice())
    }

    /// The spending secrets of a received output.
    pub fn owned(&self, record: &OwnedRecord) -> Result<OwnedOutput> {
        Ok(ctchain_wallet::spend::owned_output(&self.keys, record)?)
    }

    /// Unspent outputs of `asset` as of the last sync.
    pub fn unspent(&self, asset: AssetId) -> Result<Vec<OwnedOutput>> {
        let asset = asset.to_string();
        let Some((_, store)) = &self.state else { return Ok(Vec::new()) };
        store.spendable().into_iter().filter(|r| r.asset == asset).map(|r| self.owned(r)).collect()
    }

    /// Confirmed balance of `asset` as of the last sync.
    pub fn balance(&self, asset: AssetId) -> Result<u64> {
        Ok(self.unspent(asset)?.iter().map(|o| o.opening.amount).sum())
    }

    /// Unspent outputs covering `amount` of `asset`, chosen by the wallet's coin selection (largest first).
    pub fn select(&self, asset: AssetId, amount: u64) -> Result<Vec<OwnedOutput>> {
        let Some((chain, store)) = &self.state else { bail!("{} has not synced yet", self.name) };
        let chosen = ctchain_wallet::spend::select_inputs(store, chain, &asset, amount)
            .with_context(|| format!("{} paying {amount} base units", self.name))?;
        chosen.into_iter().map(|r| self.owned(r)).collect()
    }
}
