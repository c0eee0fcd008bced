//! # ctchain-net: the consortium's peer-to-peer network
//!
//! libp2p over TCP with Noise (authenticated encryption, keyed by each node's Ed25519 *network* key, which is
//! kept apart from its consensus key) and Yamux multiplexing. Only peers on the allow-list — the network keys of the
//! nodes the consortium's registry admits, which the node gives it at start and again whenever the registry changes
//! ([`NetHandle::set_allowed`]) — may hold a connection: any other peer is refused once its Noise handshake reveals
//! who it is, and every refusal is logged and counted ([`NetStatus::refused_connections`]). A peer taken off the
//! list is disconnected at once ([`NetStatus::removed_peers`]).
//!
//! Two ways to talk:
//! * **direct** ([`NetHandle::send`]): one message to one peer (consensus messages go to validators this way),
//!   over a request/response protocol that acknowledges receipt;
//! * **gossip** ([`NetHandle::publish`]): transactions and blocks spread among all members with gossipsub
//!   (signed by the originating node, strictly validated).
//!
//! Peers that drop are redialled with exponential backoff (1 s doubling to 30 s); joins and leaves are reported as
//! [`NetEvent`]s and visible in [`NetStatus`]. A connection whose gossip queue stays full (the peer takes nothing
//! for [`NetConfig::stalled_peer_after`]) is dropped and dialled again (counted in
//! [`NetStatus::stalled_disconnects`]).
//!
//! ## Invariants
//! * No connection to or from a peer outside the allow-list survives its handshake.
//! * Messages above [`NetConfig::max_message_bytes`] are neither sent nor accepted.
//! * The network task owns the swarm; the rest of the node talks to it through channels only, and the channel
//!   towards the node is bounded ([`EVENT_QUEUE`]): a node that falls behind loses messages (counted in
//!   [`NetStatus::dropped_events`]; consensus retransmits), never memory.
//! * Each peer is held to a [`PeerQuota`] of messages and bytes per second, direct and gossip together, counted
//!   against the peer that delivered it; the excess is dropped before the node sees it and counted per peer
//!   ([`NetStatus::refused_messages`]), so one member flooding cannot crowd out the others.
//! * A gossip message is relayed only once the node has judged it ([`NetHandle::report`] with
//!   [`GossipVerdict::Accept`]; for transactions: after admission). One refused, ignored, dropped over a quota or
//!   lost to a full channel goes no further than this node.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod codec;
mod service;

pub use libp2p::{identity::Keypair, Multiaddr, PeerId};
pub use service::{
    spawn, GossipId, GossipVerdict, NetConfig, NetError, NetEvent, NetHandle, NetStatus, PeerQuota, Topic, EVENT_QUEUE,
    STALLED_PEER_AFTER,
};

/// The libp2p keypair of a 32-byte Ed25519 secret (a node's network key).
pub fn keypair_from_secret(secret: [u8; 32]) -> Keypair {
    let mut bytes = secret;
    Keypair::ed25519_from_bytes(&mut bytes).expect("any 32 bytes are an Ed25519 secret key")
}

/// The peer id of a 32-byte Ed25519 public key (as a genesis lists validators' network keys).
pub fn peer_id_from_public(public: &[u8; 32]) -> Option<PeerId> {
    let key = libp2p::identity::ed25519::PublicKey::try_from_bytes(public).ok()?;
    Some(PeerId::from_public_key(&libp2p::identity::PublicKey::from(key)))
}
