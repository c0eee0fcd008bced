//! `ctchain-node`: a ctchain validator or observer, and the commands that set up a chain.
//!
//! * `testnet` creates every home a local N-validator chain needs; `start` runs one node; `status` asks a node;
//!   `init` prepares one node of a real deployment; `governance` proposes, approves and submits changes to the
//!   consortium's registry and prints it. The demo and the load generator are clients of the node and
//!   live in `ctchain-devnet`.
//! * The process layout and invariants of the running node are in `ctchain_node::node`.

use ctchain_node::{
    admitted, consensus_store, consortium_cli, genesis_file, governance_cli, home, metrics, node, rpc_server,
};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use ctchain_ledger::Ledger;
use ctchain_mempool::Admission;
use ctchain_net::{Multiaddr, NetConfig};
use ctchain_rpc::ChainApiClient;
use tokio::sync::{broadcast, mpsc, watch};
use tracing::{error, info};

use ctchain_node::channels::{self, ChannelLink, Confinement, LinkEvent, Routes, Scope};
use ctchain_node::config::{Home, LogFormat, NodeConfig};
use ctchain_node::keys::NodeKey;
use ctchain_node::node::{Driver, DriverParts, DriverSettings, Shared};

#[derive(Parser)]
#[command(name = "ctchain-node", version, about = "ctchain validator / observer node")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the homes of a local chain on loopback: keys, configs, one genesis, demo keys.
    Testnet {
        /// Number of validators (n = 3f + 1 tolerates f faults).
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Number of non-voting observers.
        #[arg(long, default_value_t = 0)]
        observers: usize,
        /// Directory to create (must not exist or be empty).
        #[arg(long)]
        dir: PathBuf,
        /// Chain id.
        #[arg(long, default_value = "ctchain-local-1")]
        chain_id: String,
        /// First port: p2p uses BASE+i, RPC BASE+100+i, metrics BASE+200+i.
        #[arg(long, default_value_t = 26600)]
        base_port: u16,
        /// A private channel founded with the chain, `<id>=<bank>,<bank>,…` (e.g. `x=bank-a,bank-b`); the
        /// regulator is always a member. Repeat for several.
        #[arg(long = "channel")]
        channels: Vec<home::ChannelSpec>,
    },
    /// Create one node's home (keys and node.toml) for a real deployment.
    Init {
        /// Home directory.
        #[arg(long)]
        home: PathBuf,
        /// Node name.
        #[arg(long)]
        name: String,
        /// Chain id.
        #[arg(long)]
        chain_id: String,
        /// The member organisation whose CA will certify the node.
        #[arg(long)]
        member: String,
        /// Create a consensus key (validator) or not (observer).
        #[arg(long)]
        observer: bool,
        /// libp2p listen address.
        #[arg(long, default_value = "/ip4/0.0.0.0/tcp/26600")]
        listen: String,
        /// JSON-RPC listen address.
        #[arg(long, default_value = "127.0.0.1:8545")]
        rpc: String,
    },
    /// Run a node.
    Start {
        /// Home directory.
        #[arg(long)]
        home: PathBuf,
        /// Log format (overrides node.toml).
        #[arg(long, value_enum)]
        log_format: Option<LogFormat>,
        /// Stop (as on SIGTERM) when the process that started this one exits: for local chains started by the
        /// demo or tests, so that no node outlives them.
        #[arg(long)]
        exit_with_parent: bool,
        /// A validator that lost its data: restore the ledger from a state snapshot the validators vouch for,
        /// then follow the chain without voting until every sequence number it may have voted on before is
        /// committed (an observer with no ledger always restores; a validator only when told, since a validator
        /// starting a new chain has no ledger either).
        #[arg(long)]
        restore: bool,
    },
    /// A member organisation's CA: create it, certify its nodes.
    Member {
        /// What to do.
        #[command(subcommand)]
        command: consortium_cli::MemberCommand,
    },
    /// Assemble the genesis from the founding members' public material.
    Genesis {
        /// What to do.
        #[command(subcommand)]
        command: consortium_cli::GenesisCommand,
    },
    /// Propose, approve and submit governance actions; print the registry.
    Governance {
        /// What to do.
        #[command(subcommand)]
        command: governance_cli::GovernanceCommand,
    },
    /// Print a node's height, view, peers, mempool and sync state.
    Status {
        /// The node's JSON-RPC URL.
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        rpc: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Start { home, log_format, exit_with_parent, restore } => {
            if exit_with_parent {
                if let Err(e) = exit_with_parent_process() {
                    eprintln!("error: {e:#}");
                    std::process::exit(1);
                }
            }
            run_start(home, log_format, restore)
        }
        other => {
            tokio::runtime::Runtime::new().map_err(anyhow::Error::from).and_then(|rt| rt.block_on(run_other(other)))
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run_other(command: Command) -> Result<()> {
    match command {
        Command::Testnet { validators, observers, dir, chain_id, base_port, channels } => {
            let t = home::testnet_with_channels(&dir, &chain_id, validators, observers, base_port, &channels)?;
            println!(
                "created a {validators}-validator chain {chain_id:?} (genesis {}) in {}",
                t.genesis.hash(),
                dir.display()
            );
            for (h, rpc) in t.homes.iter().zip(&t.rpc) {
                println!("  {}  rpc {rpc}", h.display());
            }
            println!(
                "issuer keystores: {0}/bank-a-CNY.issuer.json, {0}/bank-b-USD.issuer.json (password: {0}/testnet-password.txt)",
                dir.display()
            );
            println!(
                "every demo secret in hex (audit key, issuer keys): {}",
                dir.join("testnet-secrets.json").display()
            );
            for (channel, g) in &t.channels {
                println!(
                    "  private channel {} among {} (genesis {}): RPC at <node rpc>/channels/{}",
                    channel.id,
                    channel.members.join(", "),
                    g.hash(),
                    channel.id
                );
            }
            println!("start each node with: ctchain-node start --home <dir>");
            Ok(())
        }
        Command::Init { home, name, member, chain_id, observer, listen, rpc } => {
            let (consensus, network) = home::init(&home, &name, &member, &chain_id, !observer, &listen, &rpc)?;
            println!("created {}", home.display());
            if let Some(c) = consensus {
                println!("consensus_key = \"{}\"", hex::encode(c));
            }
            println!("network_key = \"{}\"", hex::encode(network));
            let home = Home(home);
            println!(
                "Have {member}'s CA certify {} (ctchain-node member certify); put the agreed genesis at {}",
                home.certificate_request().display(),
                home.genesis().display()
            );
            Ok(())
        }
        Command::Member { command } => consortium_cli::run_member(command),
        Command::Genesis { command } => consortium_cli::run_genesis(command),
        Command::Status { rpc, json } => {
            let client = jsonrpsee::http_client::HttpClientBuilder::default().build(&rpc)?;
            let s = client.chain_status().await.with_context(|| format!("cannot reach the node at {rpc}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                let role = s.validator_index.map_or(format!("not a validator of epoch {}", s.epoch), |i| {
                    format!("validator {i} of epoch {}", s.epoch)
                });
                println!("{} ({role}) on {}", s.node_name, s.chain_id);
                println!("  height      {} (tip {}, consensus seq {})", s.height, &s.tip_hash[..16], s.consensus_seq);
                println!(
                    "  view        {} (primary {}, {})",
                    s.view,
                    s.primary,
                    if s.view_normal { "normal" } else { "changing view" }
                );
                println!("  sync        {}", if s.syncing { "catching up" } else { "up to date" });
                println!("  peers       {} connected, {} refused", s.peers.len(), s.refused_connections);
                for p in &s.peers {
                    println!(
                        "              {} {}",
                        p.name.as_deref().unwrap_or("?"),
                        if p.validator { "(validator)" } else { "" }
                    );
                }
                println!("  mempool     {} txs, {} bytes", s.mempool_txs, s.mempool_bytes);
            }
            Ok(())
        }
        Command::Governance { command } => governance_cli::run(command).await,
        Command::Start { .. } => unreachable!("handled in main"),
    }
}

fn init_logging(name: &str, format: LogFormat) {
    // gossipsub's behaviour warns once per message it cannot queue, printing the whole message: a stalled peer
    // would flood the log. The network task reports the stall itself, once.
    let filter = tracing_subscriber::EnvFilter::try_from_env("CTCHAIN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,libp2p=warn,libp2p_gossipsub::behaviour=error"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = match format {
        LogFormat::Plain => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    info!(node = name, "starting");
}

/// Asks the kernel to send SIGTERM when the parent exits (Linux), and checks the parent did not exit before.
fn exit_with_parent_process() -> Result<()> {
    let parent = nix::unistd::getppid();
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM).context("cannot follow the parent process")?;
    if nix::unistd::getppid() != parent {
        bail!("the parent process already exited");
    }
    Ok(())
}

fn run_start(home: PathBuf, log_format: Option<LogFormat>, restore: bool) -> Result<()> {
    let home = Home(home);
    let config = NodeConfig::read(&home.config())?;
    init_logging(&config.name, log_format.unwrap_or(config.log.format));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = rt.block_on(start(home, config, restore));
    if let Err(e) = &result {
        error!("node stopped: {e:#}");
    }
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    result
}

async fn start(home: Home, config: NodeConfig, restore: bool) -> Result<()> {
    let genesis = genesis_file::read(&home.genesis())?;
    if genesis.chain_id != config.chain_id {
        bail!("node.toml expects chain {:?} but the genesis is for {:?}", config.chain_id, genesis.chain_id);
    }
    let network_key = NodeKey::read(&home.network_key(), "network")?;
    let consensus_key =
        if home.consensus_key().exists() { Some(NodeKey::read(&home.consensus_key(), "consensus")?) } else { None };
    // A node with a consensus key validates in the epochs that name it: the genesis's, or a later one (a bank's
    // validator that joined by governance follows the chain until its epoch begins).
    let genesis_validator = match &consensus_key {
        None => false,
        Some(k) => match genesis.validators.iter().position(|v| v.consensus_key == k.public) {
            Some(i) if genesis.validators[i].network_key != network_key.public => {
                bail!("the genesis names another network key for validator {i}")
            }
            Some(_) => true,
            None => false,
        },
    };

    let no_ledger = !home.ledger_dir().join("CURRENT").exists();
    if restore && !no_ledger {
        bail!(
            "--restore takes a state snapshot into an empty data directory, but {} holds a ledger",
            home.ledger_dir().display()
        );
    }
    let store = consensus_store::ConsensusStore::open(&home.consensus_dir())?;

    // The allow-list as the genesis founds it; the driver recomputes it from the ledger's registry as soon as the
    // ledger is open, and after every block (`admitted`).
    let founding = genesis.registry().map_err(|e| anyhow!("{e}"))?;
    let admitted = admitted::admitted_peers(
        &founding,
        &config.network.peers,
        &network_key.public,
        ctchain_node::node::now_ms() / 1000,
    )?;
    let mut peer_names: HashMap<_, _> = admitted.iter().map(|p| (p.id, (p.name.clone(), p.validator))).collect();
    let mut peers: Vec<(ctchain_net::PeerId, Option<Multiaddr>)> =
        admitted.iter().map(|p| (p.id, p.address.clone())).collect();
    let may_restore = no_ledger && store.last_seq()? == 0 && (!genesis_validator || restore);
    if may_restore {
        // Until it has a ledger, the node also reaches the bootstrap peers: on a chain whose nodes have changed
        // since the genesis they are the only way to today's validators. They are asked for snapshots only, and
        // what they send is checked against the history certified from the genesis (see `restore`); the driver
        // replaces this list with the registry's as soon as the ledger is open.
        for p in admitted::bootstrap_peers(&config.network.peers, &network_key.public)? {
            if let std::collections::hash_map::Entry::Vacant(entry) = peer_names.entry(p.id) {
                entry.insert((p.name.clone(), false));
                peers.push((p.id, p.address));
            }
        }
    }
    let known_peers = peers.len();
    let (net, net_events) = ctchain_net::spawn(NetConfig {
        keypair: ctchain_net::keypair_from_secret(network_key.secret),
        listen: config.network.listen.parse()?,
        peers,
        max_message_bytes: config.network.max_message_bytes,
        quota: ctchain_net::PeerQuota {
            messages_per_second: config.network.peer_messages_per_second,
            bytes_per_second: config.network.peer_bytes_per_second,
        },
        stalled_peer_after: ctchain_net::STALLED_PEER_AFTER,
    })
    .await?;
    // One swarm for every chain this node serves: the router hands each its channel's messages, from members only.
    let confinement = Arc::new(Confinement::new());
    let routes = Routes::default();
    let mut system_events = routes.add(Scope::System)?;
    tokio::spawn(channels::route(net_events, routes.clone(), confinement.clone()));
    let system_link = ChannelLink::new(Scope::System, net.clone(), confinement.clone());

    // A node with no ledger takes the validators' newest snapshot when they vouch for one (see `restore`).
    let mut restored = None;
    // A validator of the genesis starts from it (its votes must follow its own log); an observer, or a validator
    // that joins later, takes a snapshot when one is offered.
    if may_restore {
        restored = ctchain_node::restore::from_peers(
            &system_link,
            &mut system_events,
            &genesis,
            known_peers,
            &home.ledger_dir(),
            &store,
        )
        .await?;
    }
    if restore && restored.is_none() {
        bail!("--restore: no state snapshot is offered alike by f + 1 validators");
    }

    let system = ChainDirs {
        ledger: home.ledger_dir(),
        consensus: home.consensus_dir(),
        snapshots: home.snapshots_dir(),
        verifying_key: home.shielded_verifying_key(),
    };
    let ledger = open_ledger(&system, &genesis)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Result<()>>();
    let host = Arc::new(Host {
        home: home.clone(),
        config: config.clone(),
        net: net.clone(),
        routes: routes.clone(),
        confinement: confinement.clone(),
        rpc: rpc_server::RpcRoutes::default(),
        metrics: metrics::MetricsSet::default(),
        consensus_secret: consensus_key.as_ref().map(|k| k.secret),
        network_key: network_key.public,
        stop: stop_rx,
        done: done_tx,
        running: Default::default(),
        hosted: Default::default(),
    });
    let system_chain = open_chain(ChainOpening {
        name: &config.name,
        config: &config,
        scope: Scope::System,
        genesis,
        ledger,
        dirs: &system,
        store: Some(store),
        link: system_link,
        net_events: system_events,
        peer_names,
        consensus_secret: host.consensus_secret,
        network_key: network_key.public,
        never_voted: restored.is_some() && !restore,
        restored_height: restored,
    })?;
    let system_shared = system_chain.shared.clone();
    host.serve(system_chain);
    // The private channels this node serves: those whose genesis its operator placed in its home, that the
    // system registry lists with that genesis, and that its organisation is in — now, and whenever a block
    // changes the registry (a channel created, or this node's organisation admitted to one, is served at once).
    host.open_new_channels(&system_shared, true)?;
    tokio::spawn(watch_channels(host.clone(), system_shared.clone()));

    let (rpc_addr, rpc_handle) = rpc_server::start(&config.rpc, host.rpc.clone()).await?;
    info!(%rpc_addr, "JSON-RPC listening (HTTP and WebSocket; private channels at /channels/<id>)");
    if let Some(addr) = config.metrics.listen {
        let local = metrics::serve(addr, host.metrics.clone())
            .await
            .with_context(|| format!("cannot serve metrics on {addr}"))?;
        info!(%local, "metrics at /metrics");
    }

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let outcome = tokio::select! {
        _ = tokio::signal::ctrl_c() => { info!("SIGINT: shutting down"); Ok(()) }
        _ = sigterm.recv() => { info!("SIGTERM: shutting down"); Ok(()) }
        // One chain's driver failing stops the node: its operator must see it, not a node half serving.
        Some(r) = done_rx.recv() => r,
    };
    let _ = stop_tx.send(true);
    let _ = rpc_handle.stop();
    net.shutdown();
    // Let the drivers finish their current step so that the ledgers close cleanly (RocksDB flushes on drop).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while host.running.load(std::sync::atomic::Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    info!("stopped");
    outcome
}

/// What serving chains takes, shared by the start and the watcher that opens channels as the registry admits
/// this node to them.
struct Host {
    home: Home,
    config: NodeConfig,
    net: ctchain_net::NetHandle,
    routes: Routes,
    confinement: Arc<Confinement>,
    rpc: rpc_server::RpcRoutes,
    metrics: metrics::MetricsSet,
    consensus_secret: Option<[u8; 32]>,
    network_key: [u8; 32],
    stop: watch::Receiver<bool>,
    /// Each driver's outcome when it ends (the node stops on the first).
    done: mpsc::UnboundedSender<Result<()>>,
    /// Drivers still running.
    running: Arc<std::sync::atomic::AtomicUsize>,
    /// The private channels served.
    hosted: Mutex<std::collections::BTreeSet<String>>,
}

impl Host {
    /// Serves a chain: its RPC at its channel's path, its metrics, its driver.
    fn serve(&self, chain: Chain) {
        let scope = chain.shared.net.scope().clone();
        self.rpc.add(rpc_server::RpcChain {
            scope: scope.clone(),
            shared: chain.shared.clone(),
            events: chain.events_tx.clone(),
        });
        if let Ok(mut all) = self.metrics.write() {
            all.push(chain.shared.metrics.clone());
        }
        let run = chain.driver.run(chain.net_events, chain.events_rx, self.stop.clone());
        let (done, running) = (self.done.clone(), self.running.clone());
        running.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            let outcome = run.await.with_context(|| format!("the driver of channel {} stopped", scope.label()));
            running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            let _ = done.send(outcome);
        });
    }

    /// Opens and serves every channel the system registry now admits this node to and it does not serve yet. At
    /// start (`at_start`) a bad channel directory stops the node; later it is logged and skipped.
    fn open_new_channels(&self, system: &Shared, at_start: bool) -> Result<()> {
        let eligible = {
            let ledger = system.ledger.read().map_err(|_| anyhow!("ledger lock poisoned"))?;
            match hosted_channels(&self.home, &ledger, &self.network_key) {
                Ok(found) => found,
                Err(e) if !at_start => {
                    tracing::warn!("channels: {e:#}");
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        };
        for (id, dirs, channel_genesis) in eligible {
            if self.hosted.lock().map_err(|_| anyhow!("hosted lock poisoned"))?.contains(&id) {
                continue;
            }
            match self.open_channel(system, &id, &dirs, channel_genesis) {
                Ok(chain) => {
                    self.hosted.lock().map_err(|_| anyhow!("hosted lock poisoned"))?.insert(id.clone());
                    info!(channel = %id, "serving private channel");
                    self.serve(chain);
                }
                Err(e) if !at_start => tracing::error!(channel = %id, "cannot serve the channel: {e:#}"),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn open_channel(
        &self,
        system: &Shared,
        id: &str,
        dirs: &ChainDirs,
        genesis: ctchain_ledger::Genesis,
    ) -> Result<Chain> {
        let ledger = open_ledger(dirs, &genesis)?;
        self.confinement.host(id);
        {
            let system_ledger = system.ledger.read().map_err(|_| anyhow!("ledger lock poisoned"))?;
            self.confinement.update(system_ledger.registry(), &self.network_key, ctchain_node::node::now_ms() / 1000);
        }
        let scope = Scope::Channel(id.to_owned());
        let net_events = self.routes.add(scope.clone())?;
        let link = ChannelLink::new(scope.clone(), self.net.clone(), self.confinement.clone());
        open_chain(ChainOpening {
            name: &self.config.name,
            config: &self.config,
            scope,
            genesis,
            ledger,
            dirs,
            store: None,
            link,
            net_events,
            peer_names: HashMap::new(),
            consensus_secret: self.consensus_secret,
            network_key: self.network_key,
            never_voted: false,
            restored_height: None,
        })
    }
}

/// Opens the channels a registry change admits this node to, after each system block that changes it.
async fn watch_channels(host: Arc<Host>, system: Arc<Shared>) {
    let mut seen = system.ledger.read().map(|l| l.registry().version()).unwrap_or(0);
    let mut stop = host.stop.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
            _ = stop.changed() => return,
        }
        let version = system.ledger.read().map(|l| l.registry().version()).unwrap_or(seen);
        if version != seen {
            seen = version;
            if let Err(e) = host.open_new_channels(&system, false) {
                tracing::error!("channels: {e:#}");
            }
        }
    }
}

/// Where one chain keeps its data.
struct ChainDirs {
    ledger: PathBuf,
    consensus: PathBuf,
    snapshots: PathBuf,
    verifying_key: PathBuf,
}

fn open_ledger(dirs: &ChainDirs, genesis: &ctchain_ledger::Genesis) -> Result<Ledger> {
    let mut ledger = Ledger::open(&dirs.ledger, genesis)
        .with_context(|| format!("cannot open the ledger of {}", genesis.chain_id))?;
    if genesis.shielded.is_some() {
        // A node that cannot check shielded proofs would refuse every block holding one: refuse to start.
        let path = &dirs.verifying_key;
        let bytes = std::fs::read(path).with_context(|| {
            format!("the genesis enables the shielded pool: its verifying key must be at {}", path.display())
        })?;
        ledger.load_shielded_verifying_key(&bytes).with_context(|| format!("{}", path.display()))?;
    }
    Ok(ledger)
}

/// The private channels under `<home>/channels/<id>/` this node serves, with their data directories and genesis:
/// the genesis names the channel's chain id (`<system chain id>/<id>`), the system registry lists the channel
/// with exactly that genesis, and this node's organisation is a member. Anything else is skipped with the reason
/// logged (a channel whose registration has not committed yet is served after a restart once it has).
fn hosted_channels(
    home: &Home,
    system: &Ledger,
    network_key: &[u8; 32],
) -> Result<Vec<(String, ChainDirs, ctchain_ledger::Genesis)>> {
    let root = home.channels_dir();
    if !root.exists() {
        return Ok(Vec::new());
    }
    let registry = system.registry();
    let own_member = registry.node_by_network_key(network_key).map(|n| n.member.clone());
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&root)
        .with_context(|| format!("cannot list {}", root.display()))?
        .collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let id = entry.file_name().to_string_lossy().into_owned();
        let dir = entry.path();
        let genesis_path = dir.join("genesis.toml");
        if !genesis_path.exists() {
            continue;
        }
        let genesis = genesis_file::read(&genesis_path)?;
        let expected = ctchain_governance::Channel::chain_id(&system.genesis().chain_id, &id);
        if genesis.chain_id != expected {
            bail!("{} names chain {:?}, not {expected:?}", genesis_path.display(), genesis.chain_id);
        }
        let Some(channel) = registry.channel(&id) else {
            tracing::warn!(channel = %id, "not serving: the system registry lists no such channel (yet)");
            continue;
        };
        if channel.genesis != genesis.hash() {
            bail!(
                "{} has hash {}, but the registry names genesis {} for channel {id}",
                genesis_path.display(),
                genesis.hash(),
                channel.genesis
            );
        }
        match &own_member {
            Some(m) if channel.has_member(m) => {}
            _ => {
                tracing::warn!(channel = %id, member = ?own_member, "not serving: this node's organisation is not in the channel");
                continue;
            }
        }
        let dirs = ChainDirs {
            ledger: dir.join("data").join("ledger"),
            consensus: dir.join("data").join("consensus"),
            snapshots: dir.join("data").join("snapshots"),
            verifying_key: home.shielded_verifying_key(),
        };
        out.push((id, dirs, genesis));
    }
    Ok(out)
}

/// What opening one chain takes.
struct ChainOpening<'a> {
    name: &'a str,
    config: &'a NodeConfig,
    scope: Scope,
    genesis: ctchain_ledger::Genesis,
    ledger: Ledger,
    dirs: &'a ChainDirs,
    /// The consensus store, when already open (the system chain opens it before a restore).
    store: Option<consensus_store::ConsensusStore>,
    link: ChannelLink,
    net_events: mpsc::Receiver<LinkEvent>,
    peer_names: HashMap<ctchain_net::PeerId, (String, bool)>,
    consensus_secret: Option<[u8; 32]>,
    network_key: [u8; 32],
    never_voted: bool,
    restored_height: Option<u64>,
}

/// One chain ready to run.
struct Chain {
    shared: Arc<Shared>,
    driver: Driver,
    events_tx: mpsc::UnboundedSender<node::Event>,
    events_rx: mpsc::UnboundedReceiver<node::Event>,
    net_events: mpsc::Receiver<LinkEvent>,
}

fn open_chain(o: ChainOpening<'_>) -> Result<Chain> {
    let store = match o.store {
        Some(store) => store,
        None => consensus_store::ConsensusStore::open(&o.dirs.consensus)?,
    };
    let metrics = Arc::new(metrics::NodeMetrics::new(o.name, o.scope.label()));
    if let Some(height) = o.restored_height {
        metrics.snapshot_height.set(height as i64);
    }
    metrics.height.set(o.ledger.height() as i64);
    let (heads, _) = broadcast::channel(256);
    let (tx_updates, _) = broadcast::channel(4096);
    let shared = Arc::new(Shared {
        name: o.name.to_owned(),
        genesis_hash: o.genesis.hash(),
        admission: Admission::new(o.ledger.verifier().clone(), ctchain_ledger::types::MAX_TX_BYTES),
        genesis: o.genesis,
        ledger: RwLock::new(o.ledger),
        mempool: Mutex::new(node::mempool(o.config.mempool.max_txs, o.config.mempool.max_bytes)),
        net: o.link,
        metrics,
        consensus: RwLock::new(Default::default()),
        heads,
        tx_updates,
        rejected: Mutex::new(Default::default()),
        peer_names: RwLock::new(o.peer_names),
        config_peers: o.config.network.peers.clone(),
        network_key: o.network_key,
        admission_capacity: node::AdmissionCapacity::for_this_machine(),
    });
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    // A private channel keeps its whole consensus log for now: a member that joins later catches up from it
    // (snapshots of a channel would need their own vouching among the channel's validators).
    let snapshot_interval_blocks = if o.scope == Scope::System { o.config.snapshots.interval_blocks } else { 0 };
    let driver = Driver::open(DriverParts {
        shared: shared.clone(),
        store,
        consensus_secret: o.consensus_secret,
        never_voted: o.never_voted,
        events: events_tx.clone(),
        settings: DriverSettings {
            idle_block_ms: o.config.consensus.idle_block_ms,
            batch_delay_ms: o.config.consensus.batch_delay_ms,
            max_message_bytes: o.config.network.max_message_bytes,
            snapshot_interval_blocks,
            snapshots_dir: o.dirs.snapshots.clone(),
        },
    })?;
    Ok(Chain { shared, driver, events_tx, events_rx, net_events: o.net_events })
}
