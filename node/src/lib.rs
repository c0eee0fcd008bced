//! # ctchain-node: a validator or observer of a ctchain consortium chain
//!
//! Data flows one way: RPC or gossip → [`node::Shared::admit`] (stateless checks, once, then the mempool) → the
//! PBFT core ([`node::Driver`] performs its outputs) → the ledger (stateful apply with the commit certificate) →
//! RocksDB → RPC ([`rpc_server`]) and observers (block gossip and log sync).
//!
//! | module | concern |
//! |---|---|
//! | [`node`] | the driver: consensus core, validation of proposals, proposals, delivery, catch-up |
//! | [`consensus_store`] | PBFT safety state and the consensus log (RocksDB, checksummed) |
//! | [`rpc_server`] | JSON-RPC 2.0 over HTTP and WebSocket (`ctchain_rpc::ChainApi`) |
//! | [`metrics`] | Prometheus endpoint |
//! | [`config`], [`keys`], [`genesis_file`], [`home`] | homes, key files, genesis TOML, `testnet` / `init` |
//! | [`admitted`] | who may connect: the peers the registry admits, recomputed as it changes |
//! | [`channels`] | private channels on one network identity: each message framed with its channel, sent to and taken from its members only |
//! | [`consortium_cli`] | a deployment's set-up: member CAs, certifying nodes, assembling the genesis |
//! | [`governance_cli`] | the operator's governance commands: propose, approve, show, submit, registry |
//!
//! The node knows no client: the wallet, the regulator's tools, the demo and the load generator (`ctchain-devnet`)
//! reach it over RPC only.
//!
//! Invariants are stated in each module's documentation; the central ones are in [`node`].
#![forbid(unsafe_code)]

pub mod admitted;
pub mod channels;
pub mod config;
pub mod consensus_store;
pub mod consortium_cli;
pub mod genesis_file;
pub mod governance_cli;
pub mod home;
pub mod keys;
pub mod metrics;
pub mod node;
pub mod restore;
pub mod rpc_server;
