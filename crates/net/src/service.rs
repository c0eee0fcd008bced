//! The network task: owns the libp2p swarm, takes commands, emits events.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use libp2p::allow_block_list::{self, AllowedPeers};
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, ValidationMode};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{ListenError, NetworkBehaviour, SwarmEvent};
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, Swarm};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::codec::{BytesCodec, DIRECT_PROTOCOL};

/// How a node joins the network.
#[derive(Clone)]
pub struct NetConfig {
    /// The node's network key.
    pub keypair: libp2p::identity::Keypair,
    /// Where to listen, e.g. `/ip4/127.0.0.1/tcp/26656`.
    pub listen: Multiaddr,
    /// The allow-list: every member, with its address if known (the node dials those and keeps them connected).
    pub peers: Vec<(PeerId, Option<Multiaddr>)>,
    /// Largest direct or gossip message.
    pub max_message_bytes: usize,
    /// What one peer may send this node per second.
    pub quota: PeerQuota,
    /// A peer whose gossip send queue stays full this long is disconnected (and redialled): see
    /// [`STALLED_PEER_AFTER`], the value a node uses.
    pub stalled_peer_after: Duration,
}

/// How long a peer's gossip send queue (5 000 messages) may stay full before the connection is dropped and dialled
/// again. A connection can stall for good while both ends stay up (seen under full-size blocks: two validators'
/// queues towards each other stayed full for minutes, so neither heard the other's transactions); gossipsub only
/// reports it ([`gossipsub::Event::SlowPeer`] at each heartbeat while messages fail). A fresh connection starts
/// with empty queues, and the node gossips its pending transactions to a peer that connects.
pub const STALLED_PEER_AFTER: Duration = Duration::from_secs(20);
/// Reports of a full queue further apart than this start a new stall (the queue drained in between).
const STALL_GAP: Duration = Duration::from_secs(5);

/// What one peer may send per second, direct messages and gossip together (a sync request is a direct message).
/// Beyond it a message is dropped before it reaches the node, and counted against the peer
/// ([`NetStatus::refused_messages`]): one member flooding cannot crowd out the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerQuota {
    /// Messages per second (bursts of twice as many).
    pub messages_per_second: u32,
    /// Bytes per second; a burst may reach twice the largest message, so one full-size block always passes.
    pub bytes_per_second: u32,
}

impl Default for PeerQuota {
    fn default() -> Self {
        Self { messages_per_second: 5_000, bytes_per_second: 64 << 20 }
    }
}

/// Events the network task holds for the node before it drops new ones (counted in
/// [`NetStatus::dropped_events`]): a node that falls behind loses messages (consensus retransmits), never memory.
pub const EVENT_QUEUE: usize = 8_192;

/// The gossip topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// Pending transactions.
    Transactions,
    /// Committed blocks with their certificates.
    Blocks,
}

impl Topic {
    fn ident(self) -> IdentTopic {
        IdentTopic::new(match self {
            Topic::Transactions => "/ctchain/txs/1",
            Topic::Blocks => "/ctchain/blocks/1",
        })
    }

    fn all() -> [Topic; 2] {
        [Topic::Transactions, Topic::Blocks]
    }
}

/// What the network reports to the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// The node listens on this address.
    Listening(Multiaddr),
    /// An allowed peer connected (first connection).
    PeerConnected(PeerId),
    /// An allowed peer's last connection closed.
    PeerDisconnected(PeerId),
    /// A direct message.
    Direct {
        /// The sender (authenticated by Noise).
        from: PeerId,
        /// The message.
        bytes: Vec<u8>,
    },
    /// A gossip message. It is relayed to other members only after [`NetHandle::report`] accepts it.
    Gossip {
        /// Which message, from which peer: what [`NetHandle::report`] takes.
        id: GossipId,
        /// The originating node (the gossip message is signed by it).
        source: Option<PeerId>,
        /// The topic.
        topic: Topic,
        /// The message.
        bytes: Vec<u8>,
    },
    /// A peer outside the allow-list tried to connect and was refused.
    Refused {
        /// Its peer id, when its handshake got that far.
        peer: Option<PeerId>,
    },
}

/// A snapshot of the network's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetStatus {
    /// Connected allowed peers.
    pub connected: BTreeSet<PeerId>,
    /// Connections refused because the peer is not on the allow-list, since start.
    pub refused_connections: u64,
    /// Direct messages that could not be delivered, since start.
    pub failed_sends: u64,
    /// Messages dropped per peer because it exceeded its [`PeerQuota`], since start.
    pub refused_messages: BTreeMap<PeerId, u64>,
    /// Events dropped because the node did not take them in time ([`EVENT_QUEUE`]), since start.
    pub dropped_events: u64,
    /// Connections dropped because the peer's gossip queue stayed full ([`NetConfig::stalled_peer_after`]), since
    /// start.
    pub stalled_disconnects: u64,
    /// Peers taken off the allow-list while running ([`NetHandle::set_allowed`]; e.g. a revoked certificate), since
    /// start: their connections were closed and they are refused from then on.
    pub removed_peers: u64,
    /// Addresses the node listens on.
    pub listen_addrs: Vec<Multiaddr>,
}

/// Why the network could not start or a command could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The transport or a behaviour could not be built.
    #[error("network setup failed: {0}")]
    Setup(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// The network task has stopped.
    #[error("the network task has stopped")]
    Stopped,
    /// The message is larger than the configured maximum.
    #[error("message of {len} bytes exceeds the maximum {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The maximum.
        max: usize,
    },
}

/// One received gossip message, as the peer that delivered it passed it on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GossipId {
    message: gossipsub::MessageId,
    from: PeerId,
}

/// The node's judgement of a gossip message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GossipVerdict {
    /// Valid: relay it to the other members.
    Accept,
    /// Invalid (it can never become valid): do not relay it.
    Reject,
    /// Not relayed, without blame (a duplicate, or no room to judge it now).
    Ignore,
}

enum Command {
    Send(PeerId, Vec<u8>),
    Publish(Topic, Vec<u8>),
    Report(GossipId, GossipVerdict),
    Dial(PeerId, Multiaddr),
    SetAllowed(Vec<(PeerId, Option<Multiaddr>)>),
    Shutdown,
}

/// The node's handle on the network task.
#[derive(Clone)]
pub struct NetHandle {
    commands: mpsc::UnboundedSender<Command>,
    status: Arc<Mutex<NetStatus>>,
    local_peer_id: PeerId,
    max_message_bytes: usize,
}

impl NetHandle {
    /// This node's peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// Sends one message to one peer.
    pub fn send(&self, to: PeerId, bytes: Vec<u8>) -> Result<(), NetError> {
        self.check_size(&bytes)?;
        self.commands.send(Command::Send(to, bytes)).map_err(|_| NetError::Stopped)
    }

    /// Publishes a gossip message to every member.
    pub fn publish(&self, topic: Topic, bytes: Vec<u8>) -> Result<(), NetError> {
        self.check_size(&bytes)?;
        self.commands.send(Command::Publish(topic, bytes)).map_err(|_| NetError::Stopped)
    }

    /// Judges a received gossip message: only an accepted one is relayed further.
    pub fn report(&self, id: GossipId, verdict: GossipVerdict) {
        let _ = self.commands.send(Command::Report(id, verdict));
    }

    /// Learns (or corrects) an allowed peer's address and keeps it connected.
    pub fn dial(&self, peer: PeerId, addr: Multiaddr) -> Result<(), NetError> {
        self.commands.send(Command::Dial(peer, addr)).map_err(|_| NetError::Stopped)
    }

    /// Replaces the allow-list while running: a peer no longer on it is disconnected at once and refused from then
    /// on; a new one is admitted (and dialled, with its address).
    pub fn set_allowed(&self, peers: Vec<(PeerId, Option<Multiaddr>)>) -> Result<(), NetError> {
        self.commands.send(Command::SetAllowed(peers)).map_err(|_| NetError::Stopped)
    }

    /// Stops the network task, closing every connection.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
    }

    /// The current state.
    pub fn status(&self) -> NetStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn check_size(&self, bytes: &[u8]) -> Result<(), NetError> {
        if bytes.len() > self.max_message_bytes {
            return Err(NetError::TooLarge { len: bytes.len(), max: self.max_message_bytes });
        }
        Ok(())
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    allowed: allow_block_list::Behaviour<AllowedPeers>,
    direct: request_response::Behaviour<BytesCodec>,
    gossip: gossipsub::Behaviour,
}

const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Starts the network task on the current tokio runtime.
pub async fn spawn(config: NetConfig) -> Result<(NetHandle, mpsc::Receiver<NetEvent>), NetError> {
    let local_peer_id = config.keypair.public().to_peer_id();
    let max = config.max_message_bytes;
    let gossip_config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(Duration::from_millis(500))
        .mesh_n_low(2)
        .mesh_n(3)
        .mesh_n_high(6)
        .mesh_outbound_min(1)
        .max_transmit_size(max)
        .validation_mode(ValidationMode::Strict)
        // Relay only what the node accepted (`NetHandle::report`): an invalid transaction stops at the first node.
        .validate_messages()
        .flood_publish(true)
        .build()
        .map_err(|e| NetError::Setup(e.to_string()))?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| NetError::Setup(e.to_string()))?
        .with_behaviour(|key| {
            let mut allowed = allow_block_list::Behaviour::<AllowedPeers>::default();
            for (peer, _) in &config.peers {
                allowed.allow_peer(*peer);
            }
            let direct = request_response::Behaviour::with_codec(
                BytesCodec { max_bytes: max },
                [(DIRECT_PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
            );
            let gossip = gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), gossip_config)
                .map_err(|e| Box::<dyn std::error::Error + Send + Sync>::from(e.to_string()))?;
            Ok(Behaviour { allowed, direct, gossip })
        })
        .map_err(|e| NetError::Setup(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    for topic in Topic::all() {
        swarm.behaviour_mut().gossip.subscribe(&topic.ident()).map_err(|e| NetError::Setup(e.to_string()))?;
    }
    swarm
        .listen_on(config.listen.clone())
        .map_err(|e| NetError::Listen { addr: config.listen.clone(), reason: e.to_string() })?;

    let (commands, command_rx) = mpsc::unbounded_channel();
    let (events, event_rx) = mpsc::channel(EVENT_QUEUE);
    let status = Arc::new(Mutex::new(NetStatus::default()));
    let mut task = Task {
        swarm,
        events,
        status: status.clone(),
        addresses: config.peers.iter().filter_map(|(p, a)| a.clone().map(|a| (*p, a))).collect(),
        allowed: config.peers.iter().map(|(p, _)| *p).collect(),
        backoff: HashMap::new(),
        redial_at: BTreeMap::new(),
        quotas: Quotas::new(config.quota, max),
        stalls: HashMap::new(),
        stalled_peer_after: config.stalled_peer_after,
    };
    for (peer, addr) in task.addresses.clone() {
        task.dial(peer, addr);
    }
    tokio::spawn(task.run(command_rx));
    Ok((NetHandle { commands, status, local_peer_id, max_message_bytes: max }, event_rx))
}

/// The per-peer rate limiters.
struct Quotas {
    messages: governor::DefaultKeyedRateLimiter<PeerId>,
    bytes: governor::DefaultKeyedRateLimiter<PeerId>,
}

impl Quotas {
    fn new(quota: PeerQuota, max_message_bytes: usize) -> Self {
        let nonzero = |n: u64| NonZeroU32::new(u32::try_from(n.max(1)).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        let per_second =
            |rate: u32, burst: u64| governor::Quota::per_second(nonzero(u64::from(rate))).allow_burst(nonzero(burst));
        let messages = per_second(quota.messages_per_second, 2 * u64::from(quota.messages_per_second));
        let byte_burst = (2 * u64::from(quota.bytes_per_second)).max(2 * max_message_bytes as u64);
        let bytes = per_second(quota.bytes_per_second, byte_burst);
        Self { messages: governor::RateLimiter::keyed(messages), bytes: governor::RateLimiter::keyed(bytes) }
    }

    /// Whether `peer` may send a message of `len` bytes now (taking it from its quotas if so).
    fn allow(&self, peer: &PeerId, len: usize) -> bool {
        let len = NonZeroU32::new(u32::try_from(len.max(1)).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        self.messages.check_key(peer).is_ok() && matches!(self.bytes.check_key_n(peer, len), Ok(Ok(())))
    }
}

struct Task {
    swarm: Swarm<Behaviour>,
    events: mpsc::Sender<NetEvent>,
    quotas: Quotas,
    status: Arc<Mutex<NetStatus>>,
    addresses: HashMap<PeerId, Multiaddr>,
    allowed: BTreeSet<PeerId>,
    backoff: HashMap<PeerId, Duration>,
    redial_at: BTreeMap<(Instant, PeerId), ()>,
    /// Per peer whose gossip queue is full: (since when, last report).
    stalls: HashMap<PeerId, (Instant, Instant)>,
    stalled_peer_after: Duration,
}

impl Task {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                    Some(command) => self.on_command(command),
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                _ = tick.tick() => self.redial_due(),
            }
        }
        tracing::info!("network task stopped");
    }

    fn update_status(&self, f: impl FnOnce(&mut NetStatus)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }

    /// Passes `event` to the node; `false` if the channel was full and it was dropped (counted).
    fn emit(&self, event: NetEvent) -> bool {
        match self.events.try_send(event) {
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.update_status(|s| s.dropped_events += 1);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
            Ok(()) => true,
        }
    }

    /// A message from `peer`: passed on within its quota, else dropped and counted against it. `false` if the node
    /// will not see it.
    fn from_peer(&self, peer: PeerId, len: usize, event: NetEvent) -> bool {
        if self.quotas.allow(&peer, len) {
            self.emit(event)
        } else {
            tracing::debug!(%peer, len, "message over the peer's quota dropped");
            self.update_status(|s| *s.refused_messages.entry(peer).or_default() += 1);
            false
        }
    }

    fn report(&mut self, id: GossipId, verdict: GossipVerdict) {
        let acceptance = match verdict {
            GossipVerdict::Accept => gossipsub::MessageAcceptance::Accept,
            GossipVerdict::Reject => gossipsub::MessageAcceptance::Reject,
            GossipVerdict::Ignore => gossipsub::MessageAcceptance::Ignore,
        };
        // `false` when gossipsub no longer holds the message (judged before, or expired): nothing to do.
        let _ = self.swarm.behaviour_mut().gossip.report_message_validation_result(&id.message, &id.from, acceptance);
    }

    fn dial(&mut self, peer: PeerId, addr: Multiaddr) {
        if peer == *self.swarm.local_peer_id() || self.swarm.is_connected(&peer) {
            return;
        }
        let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer).addresses(vec![addr]).build();
        if let Err(e) = self.swarm.dial(opts) {
            tracing::debug!(%peer, error = %e, "dial failed at once");
            self.schedule_redial(peer);
        }
    }

    fn schedule_redial(&mut self, peer: PeerId) {
        if !self.addresses.contains_key(&peer) {
            return;
        }
        let delay = *self.backoff.get(&peer).unwrap_or(&INITIAL_BACKOFF);
        self.backoff.insert(peer, (delay * 2).min(MAX_BACKOFF));
        self.redial_at.retain(|(_, p), _| *p != peer);
        self.redial_at.insert((Instant::now() + delay, peer), ());
    }

    fn redial_due(&mut self) {
        let now = Instant::now();
        let due: Vec<PeerId> = self.redial_at.keys().take_while(|(t, _)| *t <= now).map(|(_, p)| *p).collect();
        self.redial_at.retain(|(t, _), _| *t > now);
        for peer in due {
            if let Some(addr) = self.addresses.get(&peer).cloned() {
                self.dial(peer, addr);
            }
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Send(peer, bytes) => {
                self.swarm.behaviour_mut().direct.send_request(&peer, bytes);
            }
            Command::Publish(topic, bytes) => {
                if let Err(e) = self.swarm.behaviour_mut().gossip.publish(topic.ident(), bytes) {
                    // With no other member connected there is nobody to publish to; that is not an error here.
                    tracing::debug!(?topic, error = %e, "gossip publish");
                }
            }
            Command::Report(id, verdict) => self.report(id, verdict),
            Command::Dial(peer, addr) => {
                if self.allowed.contains(&peer) {
                    self.addresses.insert(peer, addr.clone());
                    self.dial(peer, addr);
                } else {
                    tracing::warn!(%peer, "refusing to dial a peer outside the allow-list");
                }
            }
            Command::SetAllowed(peers) => self.set_allowed(peers),
            Command::Shutdown => {}
        }
    }

    fn set_allowed(&mut self, peers: Vec<(PeerId, Option<Multiaddr>)>) {
        let admitted: BTreeSet<PeerId> = peers.iter().map(|(p, _)| *p).collect();
        let removed: Vec<PeerId> = self.allowed.difference(&admitted).copied().collect();
        for peer in removed {
            tracing::warn!(%peer, "peer taken off the allow-list: disconnecting it");
            self.allowed.remove(&peer);
            self.addresses.remove(&peer);
            self.backoff.remove(&peer);
            self.redial_at.retain(|(_, p), _| *p != peer);
            // Disallowing closes its connections and refuses new ones at the handshake.
            self.swarm.behaviour_mut().allowed.disallow_peer(peer);
            let _ = self.swarm.disconnect_peer_id(peer);
            self.update_status(|s| s.removed_peers += 1);
        }
        for (peer, addr) in peers {
            if self.allowed.insert(peer) {
                tracing::info!(%peer, "peer admitted to the allow-list");
                self.swarm.behaviour_mut().allowed.allow_peer(peer);
            }
            if let Some(addr) = addr {
                let known = self.addresses.insert(peer, addr.clone()).is_some_and(|old| old == addr);
                if !known && !self.swarm.is_connected(&peer) {
                    self.dial(peer, addr);
                }
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
                self.update_status(|s| s.listen_addrs.push(address.clone()));
                self.emit(NetEvent::Listening(address));
            }
            SwarmEvent::ConnectionEstablished { peer_id, num_established, .. } => {
                self.backoff.remove(&peer_id);
                self.redial_at.retain(|(_, p), _| *p != peer_id);
                if num_established.get() == 1 {
                    tracing::info!(peer = %peer_id, "peer connected");
                    self.update_status(|s| {
                        s.connected.insert(peer_id);
                    });
                    self.emit(NetEvent::PeerConnected(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                tracing::info!(peer = %peer_id, "peer disconnected");
                self.stalls.remove(&peer_id);
                self.update_status(|s| {
                    s.connected.remove(&peer_id);
                });
                self.emit(NetEvent::PeerDisconnected(peer_id));
                self.schedule_redial(peer_id);
            }
            SwarmEvent::IncomingConnectionError {
                error: ListenError::Denied { cause },
                peer_id,
                send_back_addr,
                ..
            } => {
                tracing::warn!(peer = ?peer_id, addr = %send_back_addr, %cause, "refused a peer outside the allow-list");
                self.update_status(|s| s.refused_connections += 1);
                self.emit(NetEvent::Refused { peer: peer_id });
            }
            SwarmEvent::OutgoingConnectionError { peer_id: Some(peer), error, .. } => {
                tracing::debug!(%peer, %error, "outgoing connection failed");
                if !self.swarm.is_connected(&peer) {
                    self.schedule_redial(peer);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Direct(event)) => self.on_direct(event),
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::SlowPeer { peer_id, failed_messages })) => {
                self.on_slow_peer(peer_id, failed_messages.priority + failed_messages.non_priority);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                let id = GossipId { message: message_id, from: propagation_source };
                let topic = Topic::all().into_iter().find(|t| t.ident().hash() == message.topic);
                let delivered = match topic {
                    Some(topic) => {
                        // Counted against the peer that passed it on, whoever made it.
                        let len = message.data.len();
                        let event =
                            NetEvent::Gossip { id: id.clone(), source: message.source, topic, bytes: message.data };
                        self.from_peer(propagation_source, len, event)
                    }
                    None => false,
                };
                if !delivered {
                    // Nobody here will judge it: it goes no further.
                    self.report(id, GossipVerdict::Ignore);
                }
            }
            _ => {}
        }
    }

    /// Gossipsub could not queue `failed` messages for `peer` since its last heartbeat: its queue is full. Once that
    /// has lasted [`NetConfig::stalled_peer_after`] without a pause of [`STALL_GAP`], the connection is dropped; the
    /// peer is dialled again as after any disconnection.
    fn on_slow_peer(&mut self, peer: PeerId, failed: usize) {
        let now = Instant::now();
        let (since, _) = *self
            .stalls
            .entry(peer)
            .and_modify(|(since, last)| {
                if now.duration_since(*last) > STALL_GAP {
                    *since = now;
                }
                *last = now;
            })
            .or_insert((now, now));
        if now.duration_since(since) < self.stalled_peer_after {
            return;
        }
        tracing::warn!(
            %peer,
            failed,
            stalled_for = ?now.duration_since(since),
            "gossip to this peer stalled (its send queue stayed full): reconnecting"
        );
        self.stalls.remove(&peer);
        self.update_status(|s| s.stalled_disconnects += 1);
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    fn on_direct(&mut self, event: request_response::Event<Vec<u8>, ()>) {
        match event {
            request_response::Event::Message {
                peer,
                message: request_response::Message::Request { request, channel, .. },
                ..
            } => {
                let _ = self.swarm.behaviour_mut().direct.send_response(channel, ());
                let len = request.len();
                self.from_peer(peer, len, NetEvent::Direct { from: peer, bytes: request });
            }
            request_response::Event::OutboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "direct message not delivered");
                self.update_status(|s| s.failed_sends += 1);
            }
            _ => {}
        }
    }
}
