//! # ctchain-wallet: the wallet's local side
//!
//! What a wallet keeps and shows, independent of any node:
//!
//! * [`keystore`]: the keys in a password-encrypted, versioned JSON file (Argon2id + SM4-GCM), written by
//!   write-then-rename so it is never left half-written, with a 24-word recovery phrase that restores it exactly;
//! * [`address`]: addresses as bech32m text with a chain-specific prefix, so a mistyped address or one of another
//!   chain is rejected instead of paid;
//! * [`amount`]: amounts in an asset's decimal units (`"12.50"`) converted exactly to base units, never via floats.
//!
//! The command-line wallet on top of the node's RPC (sync, balance, send, …) builds on these.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod address;
pub mod amount;
pub mod keystore;
