//! # ctchain-devnet: local chains driven by the real clients
//!
//! The node is a server and knows no client; this crate is where servers and clients meet on one machine. It
//! starts a local chain of `ctchain-node` processes on loopback ([`cluster`]: each node its own OS process, so a
//! crash is a real `SIGKILL` and a restart goes through the disk) and drives it with the same libraries a bank and
//! a regulator use: the wallet (`ctchain-wallet`), the light client (`ctchain-light`) and the regulator's tools
//! (`ctchain-audit`). On top of it sit the demo ([`demo`]), the load generator ([`loadgen`]) and the helpers of the
//! end-to-end tests.
//!
//! ## Invariants
//! * Nothing here is a copy of client logic: wallets are `ctchain-wallet` stores synced through its RPC source,
//!   waits are `ctchain-light`'s, the regulator's view is `ctchain-audit`'s.
//! * A cluster never outlives its owner: dropping it kills every node it started.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod chaos;
pub mod cluster;
pub mod demo;
pub mod links;
pub mod loadgen;
