//! Private channels on one network identity: every message a node sends names its channel, goes only to that
//! channel's members, and is taken only from them.
//!
//! A node runs one chain per channel it belongs to (the system channel — the consortium chain with its registry —
//! and each private channel, its own chain with its own genesis, ledger, mempool and PBFT instance), over one
//! libp2p swarm. Each chain's driver reaches the network through a [`ChannelLink`]; a router task
//! ([`route`]) hands each chain the messages of its channel.
//!
//! Invariants:
//! * **At the sender**: a [`ChannelLink`] of a private channel sends only to the peers the system registry puts in
//!   the channel ([`Confinement::update`]: the nodes of the channel's member organisations, certificates valid);
//!   a send to anyone else is refused and counted ([`Confinement`]'s `refused_out`). A private channel never uses
//!   the consortium-wide gossip topics: its "gossip" is a direct message to each member.
//! * **At the receiver**: a message of a private channel from a peer outside it, or of a channel this node does not
//!   host, is dropped before any chain sees it and counted (`refused_in`), per channel and peer.
//! * Every message sent and received is counted in messages and bytes per channel and peer, so that a test (or an
//!   operator) can show what reached whom.
//! * The members of a channel come from the system registry only, recomputed whenever it changes: a member taken
//!   out of a channel by governance receives nothing more of it from the next block on.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::{anyhow, Result};
use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use ctchain_governance::Registry;
use ctchain_net::{GossipId, GossipVerdict, Multiaddr, NetError, NetEvent, NetHandle, NetStatus, PeerId, Topic};
use tokio::sync::mpsc;
use tracing::debug;

/// The label of the system channel in metrics, logs and RPC paths (no private channel may take it).
pub const SYSTEM_CHANNEL: &str = ctchain_governance::SYSTEM_CHANNEL;

/// Which chain a message belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// The consortium chain (registry, governance; every member's nodes).
    System,
    /// A private channel, by id.
    Channel(String),
}

impl Scope {
    /// Its label in metrics and logs: `system`, or the channel id.
    pub fn label(&self) -> &str {
        match self {
            Scope::System => SYSTEM_CHANNEL,
            Scope::Channel(id) => id,
        }
    }
}

/// A direct message on the wire: its channel, then the chain's own message.
#[derive(Debug)]
pub struct Frame {
    /// Its channel.
    pub scope: Scope,
    /// What it carries.
    pub body: FrameBody,
}

/// What a frame carries.
#[derive(Debug)]
pub enum FrameBody {
    /// A node-level message of the chain (`crate::node::Wire`'s bytes).
    Direct(Vec<u8>),
    /// A private channel's gossip (a transaction or a committed block), sent to each member directly.
    Gossip(Topic, Vec<u8>),
}

/// Largest payload of one frame (the network's own limit is the binding one; this bounds decoding).
const MAX_FRAME_PAYLOAD: usize = 64 << 20;

impl Encode for Frame {
    fn encode_to(&self, w: &mut Writer) {
        match &self.scope {
            Scope::System => w.u8(0),
            Scope::Channel(id) => {
                w.u8(1);
                w.str(id);
            }
        }
        match &self.body {
            FrameBody::Direct(bytes) => {
                w.u8(0);
                w.bytes(bytes);
            }
            FrameBody::Gossip(topic, bytes) => {
                w.u8(match topic {
                    Topic::Transactions => 1,
                    Topic::Blocks => 2,
                });
                w.bytes(bytes);
            }
        }
    }
}

impl Decode for Frame {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let scope = match r.u8("frame scope")? {
            0 => Scope::System,
            1 => Scope::Channel(r.string("channel id", ctchain_membership::MAX_NAME_LEN)?),
            tag => return Err(DecodeError::InvalidTag { field: "frame scope", tag: u32::from(tag) }),
        };
        let tag = r.u8("frame kind")?;
        let bytes = r.bytes("frame payload", MAX_FRAME_PAYLOAD)?.to_vec();
        let body = match tag {
            0 => FrameBody::Direct(bytes),
            1 => FrameBody::Gossip(Topic::Transactions, bytes),
            2 => FrameBody::Gossip(Topic::Blocks, bytes),
            tag => return Err(DecodeError::InvalidTag { field: "frame kind", tag: u32::from(tag) }),
        };
        if matches!((&scope, &body), (Scope::System, FrameBody::Gossip(..))) {
            // The system channel gossips on the consortium-wide topics.
            return Err(DecodeError::Invalid { field: "frame", reason: "system gossip is not framed" });
        }
        Ok(Frame { scope, body })
    }
}

/// The bytes of a direct message of `scope` carrying the chain message `wire` (`crate::node::Wire`): what a
/// [`ChannelLink`] sends. Public for tools and tests that speak to a node as a peer would.
pub fn direct_frame(scope: Scope, wire: Vec<u8>) -> Vec<u8> {
    Frame { scope, body: FrameBody::Direct(wire) }.to_bytes()
}

/// What the network tells one chain.
#[derive(Clone, Debug)]
pub enum LinkEvent {
    /// The node listens on this address (system channel only).
    Listening(Multiaddr),
    /// A peer connected.
    PeerConnected(PeerId),
    /// A peer's last connection closed.
    PeerDisconnected(PeerId),
    /// A direct message of this chain.
    Direct {
        /// The sender.
        from: PeerId,
        /// The chain's message (`crate::node::Wire`).
        bytes: Vec<u8>,
    },
    /// A gossiped transaction or block of this chain. `id` is the consortium gossip's message (system channel),
    /// to be judged with [`ChannelLink::report`]; a private channel's gossip has none (it is not relayed: every
    /// member sends to every member).
    Gossip {
        /// The gossip message to judge, if any.
        id: Option<GossipId>,
        /// The topic.
        topic: Topic,
        /// The message.
        bytes: Vec<u8>,
    },
    /// A peer outside the allow-list tried to connect (system channel only).
    Refused {
        /// Its peer id, when known.
        peer: Option<PeerId>,
    },
}

/// Messages and bytes one way between this node and one peer, on one channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Messages.
    pub messages: u64,
    /// Bytes (the chain's message, without the frame).
    pub bytes: u64,
}

/// The counters of one channel and peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerTraffic {
    /// Sent to the peer.
    pub sent: Traffic,
    /// Received from the peer and handed to the chain.
    pub received: Traffic,
    /// Sends to the peer refused because it is not a member of the channel.
    pub refused_out: u64,
    /// Messages from the peer dropped because it is not a member (or the channel is not hosted here).
    pub refused_in: u64,
}

/// Who is in each private channel this node hosts, and what went to and came from whom.
pub struct Confinement {
    /// The private channels this node hosts, with the peers in each (this node left out).
    members: RwLock<HashMap<String, BTreeSet<PeerId>>>,
    /// Counters by (channel label, peer). Bounded: only hosted channels and the system channel are counted by
    /// name; anything else counts under [`UNHOSTED`].
    traffic: Mutex<BTreeMap<(String, PeerId), PeerTraffic>>,
}

/// The label counting messages for channels this node does not host (their ids are the sender's choice, so they
/// are not kept one by one).
pub const UNHOSTED: &str = "(not hosted)";

impl Default for Confinement {
    fn default() -> Self {
        Self::new()
    }
}

impl Confinement {
    /// No private channel yet.
    pub fn new() -> Self {
        Self { members: RwLock::new(HashMap::new()), traffic: Mutex::new(BTreeMap::new()) }
    }

    /// Hosts channel `id` (its members are set by [`Confinement::update`]; until then nobody is).
    pub fn host(&self, id: &str) {
        if let Ok(mut m) = self.members.write() {
            m.entry(id.to_owned()).or_default();
        }
    }

    /// Recomputes the members of every hosted channel from the system registry at `now_s` (Unix seconds): the
    /// nodes of the channel's member organisations whose certificate is valid now, this node (`own`) left out. A
    /// channel the registry no longer lists has no members. Returns the channels whose members changed.
    pub fn update(&self, registry: &Registry, own: &[u8; 32], now_s: u64) -> Vec<String> {
        let Ok(mut members) = self.members.write() else { return Vec::new() };
        let mut changed = Vec::new();
        for (id, peers) in members.iter_mut() {
            let now: BTreeSet<PeerId> = match registry.channel(id) {
                None => BTreeSet::new(),
                Some(channel) => registry
                    .nodes()
                    .iter()
                    .filter(|n| channel.has_member(&n.member) && n.network_key != *own)
                    .filter(|n| (n.not_before..=n.not_after).contains(&now_s))
                    .filter_map(|n| ctchain_net::peer_id_from_public(&n.network_key))
                    .collect(),
            };
            if *peers != now {
                *peers = now;
                changed.push(id.clone());
            }
        }
        changed
    }

    /// The peers in channel `id` (empty if not hosted).
    pub fn members_of(&self, id: &str) -> BTreeSet<PeerId> {
        self.members.read().ok().and_then(|m| m.get(id).cloned()).unwrap_or_default()
    }

    fn is_member(&self, id: &str, peer: &PeerId) -> Option<bool> {
        self.members.read().ok()?.get(id).map(|m| m.contains(peer))
    }

    fn count(&self, label: &str, peer: PeerId, f: impl FnOnce(&mut PeerTraffic)) {
        if let Ok(mut t) = self.traffic.lock() {
            f(t.entry((label.to_owned(), peer)).or_default());
        }
    }

    /// Every counter, by (channel label, peer).
    pub fn traffic(&self) -> BTreeMap<(String, PeerId), PeerTraffic> {
        self.traffic.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

/// Why a send was not made.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The peer is not a member of the channel: nothing of the channel may reach it.
    #[error("peer {peer} is not a member of channel {channel:?}")]
    NotAMember {
        /// The channel.
        channel: String,
        /// The peer.
        peer: PeerId,
    },
    /// The network refused it.
    #[error(transparent)]
    Net(#[from] NetError),
}

/// One chain's view of the network: what it sends is framed with its channel and goes only to the channel's
/// members; what it receives was checked by the router.
#[derive(Clone)]
pub struct ChannelLink {
    scope: Scope,
    net: NetHandle,
    confinement: Arc<Confinement>,
}

impl ChannelLink {
    /// The link of `scope` over `net`.
    pub fn new(scope: Scope, net: NetHandle, confinement: Arc<Confinement>) -> Self {
        Self { scope, net, confinement }
    }

    /// Its channel.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The confinement table it sends under.
    pub fn confinement(&self) -> &Arc<Confinement> {
        &self.confinement
    }

    /// Sends one of the chain's messages to `to`, if `to` may receive the channel's data.
    pub fn send(&self, to: PeerId, bytes: Vec<u8>) -> Result<(), LinkError> {
        self.send_frame(to, FrameBody::Direct(bytes))
    }

    fn send_frame(&self, to: PeerId, body: FrameBody) -> Result<(), LinkError> {
        let label = self.scope.label();
        if let Scope::Channel(id) = &self.scope {
            if self.confinement.is_member(id, &to) != Some(true) {
                self.confinement.count(label, to, |t| t.refused_out += 1);
                return Err(LinkError::NotAMember { channel: id.clone(), peer: to });
            }
        }
        let len = match &body {
            FrameBody::Direct(b) | FrameBody::Gossip(_, b) => b.len() as u64,
        };
        let frame = Frame { scope: self.scope.clone(), body };
        self.net.send(to, frame.to_bytes())?;
        self.confinement.count(label, to, |t| {
            t.sent.messages += 1;
            t.sent.bytes += len;
        });
        Ok(())
    }

    /// Gossips a transaction or committed block to the chain's members: on the system channel over the
    /// consortium-wide topics; on a private channel as a direct message to each connected member.
    pub fn publish(&self, topic: Topic, bytes: Vec<u8>) -> Result<(), LinkError> {
        match &self.scope {
            Scope::System => Ok(self.net.publish(topic, bytes)?),
            Scope::Channel(id) => {
                let connected = self.net.status().connected;
                for peer in self.confinement.members_of(id).intersection(&connected) {
                    if let Err(e) = self.send_frame(*peer, FrameBody::Gossip(topic, bytes.clone())) {
                        debug!(channel = %id, %peer, "channel gossip not sent: {e}");
                    }
                }
                Ok(())
            }
        }
    }

    /// Judges a consortium gossip message (a private channel's gossip has no id and is never relayed).
    pub fn report(&self, id: Option<GossipId>, verdict: GossipVerdict) {
        if let Some(id) = id {
            self.net.report(id, verdict);
        }
    }

    /// The network's state as this chain sees it: on a private channel, only its members' connections.
    pub fn status(&self) -> NetStatus {
        let mut status = self.net.status();
        if let Scope::Channel(id) = &self.scope {
            let members = self.confinement.members_of(id);
            status.connected.retain(|p| members.contains(p));
        }
        status
    }

    /// Replaces the network's allow-list: the system channel's registry decides who may connect at all; a private
    /// channel's chain never changes it (its members are a subset, set by [`Confinement::update`]).
    pub fn set_allowed(&self, peers: Vec<(PeerId, Option<Multiaddr>)>) -> Result<(), LinkError> {
        match self.scope {
            Scope::System => Ok(self.net.set_allowed(peers)?),
            Scope::Channel(_) => Ok(()),
        }
    }
}

/// Where the router hands each chain its events.
#[derive(Clone, Default)]
pub struct Routes {
    chains: Arc<RwLock<BTreeMap<Scope, mpsc::Sender<LinkEvent>>>>,
}

/// Events held for one chain before new ones are dropped (the network's own queue bounds the rest).
pub const CHAIN_EVENT_QUEUE: usize = 8_192;

impl Routes {
    /// Registers a chain; returns its events.
    pub fn add(&self, scope: Scope) -> Result<mpsc::Receiver<LinkEvent>> {
        let (tx, rx) = mpsc::channel(CHAIN_EVENT_QUEUE);
        let mut chains = self.chains.write().map_err(|_| anyhow!("routes lock poisoned"))?;
        if chains.insert(scope.clone(), tx).is_some() {
            return Err(anyhow!("channel {} is hosted twice", scope.label()));
        }
        Ok(rx)
    }

    fn get(&self, scope: &Scope) -> Option<mpsc::Sender<LinkEvent>> {
        self.chains.read().ok()?.get(scope).cloned()
    }

    fn all(&self) -> Vec<mpsc::Sender<LinkEvent>> {
        self.chains.read().map(|c| c.values().cloned().collect()).unwrap_or_default()
    }
}

/// The router: takes the network's events and hands each chain those of its channel, dropping (and counting)
/// every private channel's message from a non-member. Runs until the network stops.
pub async fn route(mut events: mpsc::Receiver<NetEvent>, routes: Routes, confinement: Arc<Confinement>) {
    let deliver = |scope: &Scope, event: LinkEvent| {
        if let Some(chain) = routes.get(scope) {
            if chain.try_send(event).is_err() {
                debug!(channel = scope.label(), "a chain did not take its network event in time: dropped");
            }
        }
    };
    while let Some(event) = events.recv().await {
        match event {
            NetEvent::Direct { from, bytes } => {
                let frame = match Frame::from_bytes(&bytes) {
                    Ok(frame) => frame,
                    Err(e) => {
                        debug!(%from, "undecodable frame: {e}");
                        continue;
                    }
                };
                let label = match &frame.scope {
                    Scope::System => SYSTEM_CHANNEL.to_owned(),
                    Scope::Channel(id) => match confinement.is_member(id, &from) {
                        Some(true) => id.clone(),
                        member => {
                            let label = if member.is_some() { id.as_str() } else { UNHOSTED };
                            confinement.count(label, from, |t| t.refused_in += 1);
                            // Counted, not logged at warn: a flooding non-member must not flood the log too.
                            debug!(%from, channel = %id, "dropped a channel message from a peer outside the channel");
                            continue;
                        }
                    },
                };
                let (event, len) = match frame.body {
                    FrameBody::Direct(bytes) => {
                        let len = bytes.len();
                        (LinkEvent::Direct { from, bytes }, len)
                    }
                    FrameBody::Gossip(topic, bytes) => {
                        let len = bytes.len();
                        (LinkEvent::Gossip { id: None, topic, bytes }, len)
                    }
                };
                confinement.count(&label, from, |t| {
                    t.received.messages += 1;
                    t.received.bytes += len as u64;
                });
                deliver(&frame.scope, event);
            }
            NetEvent::Gossip { id, topic, bytes, .. } => {
                deliver(&Scope::System, LinkEvent::Gossip { id: Some(id), topic, bytes })
            }
            NetEvent::PeerConnected(p) => {
                for chain in routes.all() {
                    let _ = chain.try_send(LinkEvent::PeerConnected(p));
                }
            }
            NetEvent::PeerDisconnected(p) => {
                for chain in routes.all() {
                    let _ = chain.try_send(LinkEvent::PeerDisconnected(p));
                }
            }
            NetEvent::Refused { peer } => deliver(&Scope::System, LinkEvent::Refused { peer }),
            NetEvent::Listening(addr) => deliver(&Scope::System, LinkEvent::Listening(addr)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_system_gossip_is_never_framed() {
        for frame in [
            Frame { scope: Scope::System, body: FrameBody::Direct(vec![1, 2]) },
            Frame { scope: Scope::Channel("x".into()), body: FrameBody::Direct(vec![]) },
            Frame { scope: Scope::Channel("x".into()), body: FrameBody::Gossip(Topic::Blocks, vec![3]) },
        ] {
            let bytes = frame.to_bytes();
            let back = Frame::from_bytes(&bytes).unwrap();
            assert_eq!(back.to_bytes(), bytes);
        }
        let system_gossip = Frame { scope: Scope::System, body: FrameBody::Gossip(Topic::Transactions, vec![]) };
        assert!(Frame::from_bytes(&system_gossip.to_bytes()).is_err());
        assert!(Frame::from_bytes(&[2, 0]).is_err(), "an unknown scope is refused");
    }
}
