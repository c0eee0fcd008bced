//! # ctchain-wallet: keys, sync, confidential payments, view-only wallets, payment proofs
//!
//! The library holds all of the wallet's logic; the `ctchain-wallet` binary is a thin command line over it.
//!
//! * [`keystore`]: keys in a password-encrypted, versioned JSON file (Argon2id + SM4-GCM), written by
//!   write-then-rename, with a 24-word recovery phrase; also issuer-key keystores (`KeystoreFile::seal_issuer`);
//! * [`address`]: bech32m addresses with a chain-specific prefix; [`amount`]: exact decimal amounts;
//! * [`chain`]: what the wallet reads from a genesis (chain id, audit keys, assets);
//! * [`store`]: the local state (owned outputs, spends, sent transactions, scanned height);
//! * [`scan`]: finding this wallet's outputs with its view key; [`sync`]: the sync, submit and wait operations
//!   over any [`sync::ChainSource`] — the node's RPC ([`client::RpcSource`]) or, in tests, an in-process ledger;
//! * [`spend`]: coin selection with change, and building transfers, issuances and burns;
//! * [`history`]: balances (confirmed, locked, incoming) and history;
//! * [`proof`]: payment proofs that a third party verifies against the chain.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod address;
pub mod amount;
pub mod chain;
pub mod client;
pub mod error;
pub mod fsutil;
pub mod history;
pub mod keystore;
pub mod proof;
pub mod scan;
pub mod spend;
pub mod store;
pub mod sync;

pub use error::{Result, WalletError};
