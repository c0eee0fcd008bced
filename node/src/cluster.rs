//! A local chain of node processes on loopback, and a minimal client-side wallet: what the demo, the end-to-end
//! tests and the load generator drive. Each node is its own OS process (`ctchain-node start`), so crashes are
//! real (`SIGKILL`) and restarts go through the disk.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use ctchain_codec::{Decode, Encode, Hash32};
use ctchain_crypto::{AssetId, Output, OutputId, OwnedOutput, ReceivedOutput, Transaction, TxId, WalletKeys};
use ctchain_rpc::{ChainApiClient, ChainStatus, TxStatus};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};

use crate::home::{testnet, Testnet};

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
        // A port still held (say, by a node of an earlier run) would silently join the wrong chain: refuse early.
        for i in 0..validators + observers {
            let (p2p, rpc, metrics) = crate::home::ports(base_port, i);
            for port in [p2p, rpc, metrics] {
                std::net::TcpListener::bind(("127.0.0.1", port))
                    .with_context(|| format!("port {port} on 127.0.0.1 is in use; choose another --base-port"))?;
            }
        }
        let testnet = testnet(dir, chain_id, validators, observers, base_port)?;
        std::fs::create_dir_all(dir.join("logs"))?;
        let procs = (0..testnet.homes.len()).map(|_| None).collect();
        Ok(Self { dir: dir.to_path_buf(), testnet, bin: bin.to_path_buf(), procs, validators })
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
        if self.procs[i].is_some() {
            bail!("node {i} is already running");
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path(i))?;
        let child = Command::new(&self.bin)
            .arg("start")
            .arg("--home")
            .arg(&self.testnet.homes[i])
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

    /// Whether node `i`'s process has exited on its own (a crash).
    pub fn exited(&mut self, i: usize) -> Option<std::process::ExitStatus> {
        self.procs[i].as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// A JSON-RPC client of node `i`.
    pub fn client(&self, i: usize) -> HttpClient {
        HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            // A block of 1 000 transfers is about 10 MiB of hex.
            .max_response_size(64 << 20)
            .build(&self.testnet.rpc[i])
            .expect("a loopback URL is valid")
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
    async fn wait_status(
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
                bail!("node {i} exited ({status}); see {}", self.log_path(i).display());
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

/// Waits until a transaction is committed; returns its height.
pub async fn wait_committed(client: &HttpClient, id: &TxId, timeout: Duration) -> Result<u64> {
    let deadline = Instant::now() + timeout;
    loop {
        match client.tx_get(id.to_string()).await {
            Ok(TxStatus::Committed { height, .. }) => return Ok(height),
            Ok(TxStatus::Rejected { reason }) => bail!("transaction {id} was rejected: {reason}"),
            _ => {}
        }
        if Instant::now() > deadline {
            bail!("transaction {id} not committed within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A wallet that scans the chain with its view key (the demo's and the tests' stand-in for `ctchain-wallet`).
pub struct ScanningWallet {
    /// Its name.
    pub name: String,
    /// Its keys.
    pub keys: WalletKeys,
    scanned: u64,
    found: Vec<(ReceivedOutput, Output)>,
}

impl ScanningWallet {
    /// A wallet with these keys that has scanned nothing yet.
    pub fn new(name: &str, keys: WalletKeys) -> Self {
        Self { name: name.to_owned(), keys, scanned: 0, found: Vec::new() }
    }

    /// Scans the blocks committed since the last call.
    pub async fn sync(&mut self, client: &HttpClient) -> Result<()> {
        let height = client.chain_status().await?.height;
        let vk = self.keys.viewing_keys();
        while self.scanned < height {
            let to = height.min(self.scanned + ctchain_rpc::MAX_OUTPUTS_RANGE);
            let page = client.outputs_range(self.scanned + 1, to).await?;
            for o in page.outputs {
                let output =
                    Output::from_bytes(&hex::decode(&o.output)?).map_err(|e| anyhow!("output {}: {e}", o.id))?;
                let id = OutputId(parse_hash(&o.id)?);
                if let Some(found) = vk.receive(id, &output) {
                    // An output whose memo does not open its commitments is reported, never counted.
                    match found {
                        Ok(r) => self.found.push((r, output)),
                        Err(e) => eprintln!("{}: ignoring output {} with an unusable memo: {e}", self.name, o.id),
                    }
                }
            }
            self.scanned = page.to;
        }
        Ok(())
    }

    /// Outputs received so far (spent or not), with their public data.
    pub fn received(&self) -> &[(ReceivedOutput, Output)] {
        &self.found
    }

    /// Unspent outputs of `asset` (asks the node which are spent).
    pub async fn unspent(&self, client: &HttpClient, asset: AssetId) -> Result<Vec<OwnedOutput>> {
        let mut out = Vec::new();
        for (r, _) in &self.found {
            if r.memo.opening.asset != asset {
                continue;
            }
            let status = client.output_get(r.output_id.to_string()).await?.ok_or_else(|| anyhow!("output vanished"))?;
            if status.spent_by.is_none() {
                out.push(self.keys.owned(r));
            }
        }
        Ok(out)
    }

    /// Confirmed balance of `asset`.
    pub async fn balance(&self, client: &HttpClient, asset: AssetId) -> Result<u64> {
        Ok(self.unspent(client, asset).await?.iter().map(|o| o.opening.amount).sum())
    }

    /// Unspent outputs covering `amount` of `asset` (largest first).
    pub async fn select(&self, client: &HttpClient, asset: AssetId, amount: u64) -> Result<Vec<OwnedOutput>> {
        let mut unspent = self.unspent(client, asset).await?;
        unspent.sort_by_key(|o| std::cmp::Reverse(o.opening.amount));
        let mut chosen = Vec::new();
        let mut total = 0u64;
        for o in unspent {
            if total >= amount {
                break;
            }
            total += o.opening.amount;
            chosen.push(o);
        }
        if total < amount {
            bail!("{} has {total} base units of the asset, needs {amount}", self.name);
        }
        Ok(chosen)
    }
}

/// Parses a 32-byte hex id.
pub fn parse_hash(s: &str) -> Result<Hash32> {
    let bytes: [u8; 32] = hex::decode(s)?.try_into().map_err(|_| anyhow!("expected 32 bytes"))?;
    Ok(Hash32(bytes))
}
