//! # ctchain-wallet: keys, sync, confidential payments, view-only wallets, payment proofs
//!
//! The library holds all of the wallet's logic; the `ctchain-wallet` binary is a thin command line over it.
//!
//! * keys live in `ctchain-keystore` (the password-encrypted keystore file, the recovery phrase, addresses as
//!   text), which the regulator's tools share; [`amount`]: exact decimal amounts;
//! * [`chain`]: what the wallet reads from a genesis (chain id, audit keys, assets);
//! * [`store`]: the local state (owned outputs, spends, sent transactions, scanned height);
//! * [`scan`]: finding this wallet's outputs with its view key; [`sync`]: the sync, submit and wait operations
//!   over any [`sync::ChainSource`] — the node's RPC ([`client::RpcSource`]) or, in tests, an in-process ledger;
//! * [`spend`]: coin selection with change, and building transfers, issuances and burns;
//! * [`notes`]: the shielded pool — following the note tree, finding this wallet's notes with its shielded
//!   viewing key, keeping their witnesses; [`shielded`]: building shield, shielded send and unshield;
//! * [`history`]: balances (confirmed, locked, incoming) of both pools and history;
//! * [`proof`]: payment proofs that a third party verifies against the chain;
//! * [`session`]: an opened wallet on a chain, with the whole flow of each command (sync, build, submit, wait).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod amount;
pub mod chain;
pub mod client;
pub mod error;
pub mod history;
pub mod notes;
pub mod proof;
pub mod scan;
pub mod session;
pub mod shielded;
pub mod spend;
pub mod store;
pub mod sync;

pub use error::{Result, WalletError};
