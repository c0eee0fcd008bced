//! A node's home directory: `node.toml` (its configuration), `genesis.toml`, `keys/` and `data/`.
//!
//! ```text
//! HOME/node.toml              this file's settings
//! HOME/genesis.toml           the chain's genesis (identical on every node)
//! HOME/keys/consensus.json    Ed25519 consensus key (validators only; signs votes)
//! HOME/keys/network.json      Ed25519 network key (libp2p identity; never signs votes)
//! HOME/data/ledger            RocksDB: blocks, outputs, supply
//! HOME/data/consensus         RocksDB: PBFT safety state and the consensus log
//! HOME/data/snapshots         the last two ledger-state snapshots (`<height>.state`, `<height>.offer`)
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

/// `node.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// This node's name (logs, status, metrics).
    pub name: String,
    /// The chain id this node expects the genesis to name.
    pub chain_id: String,
    /// Network settings.
    pub network: NetworkSection,
    /// JSON-RPC settings.
    pub rpc: RpcSection,
    /// Prometheus endpoint.
    pub metrics: MetricsSection,
    /// Mempool limits.
    #[serde(default)]
    pub mempool: MempoolSection,
    /// Block production.
    #[serde(default)]
    pub consensus: ConsensusSection,
    /// State snapshots and consensus-log pruning.
    #[serde(default)]
    pub snapshots: SnapshotSection,
    /// Logging.
    #[serde(default)]
    pub log: LogSection,
}

/// `[network]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// libp2p listen address, e.g. `/ip4/127.0.0.1/tcp/26600`.
    pub listen: String,
    /// Largest message.
    #[serde(default = "default_max_message")]
    pub max_message_bytes: usize,
    /// Where to dial peers (bootstrap addresses). On a chain with members the registry decides who may connect
    /// (`crate::admitted`); on one without, the genesis validators and the peers listed here are admitted.
    /// Written as `[[network.peers]]` tables (left out when empty, so that an operator can append them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<PeerEntry>,
    /// Messages one peer may send this node per second (direct and gossip together; bursts of twice as many).
    #[serde(default = "default_peer_messages")]
    pub peer_messages_per_second: u32,
    /// Bytes one peer may send this node per second (a burst always fits two full-size messages).
    #[serde(default = "default_peer_bytes")]
    pub peer_bytes_per_second: u32,
}

impl NetworkSection {
    /// Every field at its default (no listen address, no peers).
    pub fn defaults() -> Self {
        Self {
            listen: String::new(),
            max_message_bytes: default_max_message(),
            peers: Vec::new(),
            peer_messages_per_second: default_peer_messages(),
            peer_bytes_per_second: default_peer_bytes(),
        }
    }
}

fn default_peer_messages() -> u32 {
    ctchain_net::PeerQuota::default().messages_per_second
}

fn default_peer_bytes() -> u32 {
    ctchain_net::PeerQuota::default().bytes_per_second
}

fn default_max_message() -> usize {
    32 << 20
}

/// One member of the network.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerEntry {
    /// Its name.
    pub name: String,
    /// Its Ed25519 network public key (hex).
    pub network_key: String,
    /// Where to dial it, if it listens.
    pub address: Option<String>,
}

/// `[rpc]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcSection {
    /// HTTP and WebSocket listen address (loopback by default).
    pub listen: SocketAddr,
    /// Largest request body.
    #[serde(default = "default_max_request")]
    pub max_request_bytes: u32,
    /// Most client connections open at once (HTTP and WebSocket); one more is refused with HTTP 429. A bank's
    /// gateway or a load generator opens many; each costs a task and its buffers, so there is a bound.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

impl RpcSection {
    /// The section for `listen`, every limit at its default.
    pub fn on(listen: SocketAddr) -> Self {
        Self { listen, max_request_bytes: default_max_request(), max_connections: default_max_connections() }
    }
}

fn default_max_request() -> u32 {
    2 << 20
}

fn default_max_connections() -> u32 {
    1_024
}

/// `[metrics]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Prometheus text endpoint (`GET /metrics`), or none.
    pub listen: Option<SocketAddr>,
}

/// `[mempool]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MempoolSection {
    /// Most pending transactions.
    pub max_txs: usize,
    /// Most pending bytes.
    pub max_bytes: usize,
}

impl Default for MempoolSection {
    fn default() -> Self {
        Self { max_txs: 10_000, max_bytes: 64 << 20 }
    }
}

/// `[consensus]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusSection {
    /// With no pending transaction, the primary still proposes an empty heartbeat this often, so that backups
    /// see progress and do not change views (must be below the genesis view timeout).
    pub idle_block_ms: u64,
    /// With pending transactions, the primary waits this long for more before proposing (batching).
    pub batch_delay_ms: u64,
}

impl Default for ConsensusSection {
    fn default() -> Self {
        Self { idle_block_ms: 1_000, batch_delay_ms: 20 }
    }
}

/// `[snapshots]`: every `interval_blocks` ledger blocks the node writes a snapshot of the ledger state (the
/// same heights at every node, so peers can vouch for one), keeps the last two, and prunes its consensus log below
/// the older one's sequence number. A node that starts with no ledger fetches the newest snapshot that `f + 1`
/// validators offer alike (an observer always; a validator only with `start --restore`, see the node README).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSection {
    /// Ledger blocks between snapshots (0: never take one, never prune).
    pub interval_blocks: u64,
}

impl Default for SnapshotSection {
    fn default() -> Self {
        Self { interval_blocks: 1_000 }
    }
}

/// `[log]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// `plain` or `json`.
    #[serde(default)]
    pub format: LogFormat,
}

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Plain,
    /// One JSON object per line.
    Json,
}

/// Paths inside a home directory.
#[derive(Clone, Debug)]
pub struct Home(pub PathBuf);

impl Home {
    /// `node.toml`.
    pub fn config(&self) -> PathBuf {
        self.0.join("node.toml")
    }
    /// `genesis.toml`.
    pub fn genesis(&self) -> PathBuf {
        self.0.join("genesis.toml")
    }
    /// The node's certificate request (`init`), for its member's CA.
    pub fn certificate_request(&self) -> PathBuf {
        self.0.join("node.csr")
    }

    /// `keys/consensus.json`.
    pub fn consensus_key(&self) -> PathBuf {
        self.0.join("keys").join("consensus.json")
    }
    /// `keys/network.json`.
    pub fn network_key(&self) -> PathBuf {
        self.0.join("keys").join("network.json")
    }
    /// `params/transfer.vk`: the shielded pool's verifying key, checked against the hash the genesis pins.
    pub fn shielded_verifying_key(&self) -> PathBuf {
        self.0.join("params").join(ctchain_circuits::params::VERIFYING_KEY_FILE)
    }

    /// `data/ledger`.
    pub fn ledger_dir(&self) -> PathBuf {
        self.0.join("data").join("ledger")
    }
    /// `data/consensus`.
    pub fn consensus_dir(&self) -> PathBuf {
        self.0.join("data").join("consensus")
    }
    /// `data/snapshots`.
    pub fn snapshots_dir(&self) -> PathBuf {
        self.0.join("data").join("snapshots")
    }
    /// `channels/`: one directory per private channel, `channels/<id>/genesis.toml` and its own `data/`.
    pub fn channels_dir(&self) -> PathBuf {
        self.0.join("channels")
    }
}

impl NodeConfig {
    /// Reads and checks `node.toml`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let cfg: NodeConfig =
            toml::from_str(&text).with_context(|| format!("{} is not a valid node config", path.display()))?;
        cfg.network.listen.parse::<ctchain_net::Multiaddr>().map_err(|e| anyhow!("network.listen: {e}"))?;
        for p in &cfg.network.peers {
            if let Some(a) = &p.address {
                a.parse::<ctchain_net::Multiaddr>().map_err(|e| anyhow!("peer {} address: {e}", p.name))?;
            }
            crate::keys::public_from_hex(&p.network_key).with_context(|| format!("peer {} network key", p.name))?;
        }
        if cfg.consensus.idle_block_ms == 0 {
            bail!("consensus.idle_block_ms must be positive");
        }
        Ok(cfg)
    }

    /// Writes `node.toml`, refusing to overwrite.
    pub fn write_new(&self, path: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self).context("config serialises")?;
        crate::keys::write_new_file(path, text.as_bytes(), false)
    }
}
