//! # ctchain-wallet: keys, sync, confidential payments, view-only wallets, payment proofs
//!
//! The library holds all of the wallet's logic; the `ctchain-wallet` binary is a thin command line over it.
//!
//! * keys live in `ctchain-keystore` (the password-encrypted keystore file, the recovery phrase, addresses as
//!   text), which the regulator's tools share; amounts and times as people write them live in `ctchain-display`;
//! * [`chain`]: what the wallet reads from a genesis (chain id, audit keys, assets);
//! * [`store`]: the local state (owned outputs, spends, sent transactions, scanned height);
//! * [`scan`]: finding this wallet's outputs with its view key; [`sync`]: the sync, submit and wait operations
//!   over any [`sync::ChainSource`] — the node's RPC ([`client::RpcSource`]) or, in tests, an in-process ledger;
//! * [`spend`]: coin selection with change, and building transfers, issuances and burns;
//! * [`notes`]: the shielded pool — following the note tree, finding this wallet's notes with its shielded
//!   viewing key, keeping their witnesses; [`shielded`]: building shield, shielded send and unshield;
//! * [`history`]: balances (confirmed, locked, incoming) of both pools and history;
//! * [`proof`]: payment proofs that a third party verifies against the chain;
//! * [`session`]: an opened wallet on a chain, with the whole flow of each command (sync, build, submit, wait) for
//!   both pools; the `ctchain-wallet` binary (`src/bin/ctchain-wallet/`) parses, prompts and renders around it.
//!
//! ## Invariants
//! * **Recorded before sent.** A transaction is written to the store as pending (with the outputs or notes it
//!   spends) and the store is saved before it is submitted, so a crash after the submission never loses track of
//!   money that may move.
//! * **Reserved inputs.** The inputs of a pending transaction are reserved: coin selection never spends them again
//!   ([`store::WalletStore::spendable`], [`store::WalletStore::spendable_notes`]), so two sends in a row never
//!   double-spend even before the first commits.
//! * **When a send is settled.** Pending until a sync sees it committed (its height recorded, its inputs marked
//!   spent, its change received) or rejected (the node's reason recorded, its inputs released); a node that forgot
//!   it (a restart empties its mempool) gets it again at the next sync. A refusal at submission settles it as
//!   rejected at once; nothing else does.
//! * **Nothing unchecked is counted.** An output counts only if its memo opens its commitments; a note only if
//!   it opens its commitment and the note tree rebuilt from the leaves has the node's root. Over a node's RPC
//!   ([`client::RpcSource`]) the genesis, the outputs and notes (taken from the blocks themselves), the commitment
//!   of a sent transaction and the spend of an output or a note all come through the light client
//!   (`ctchain-light`), certified by the genesis validators.
//! * The store is bound to one chain (its genesis hash) and written whole (`ctchain-files`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

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
