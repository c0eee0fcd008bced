//! # ctchain-keystore: a client's keys, stored, recovered and written as text
//!
//! What the wallet, the regulator's tools and the local-chain tooling share about keys: the keystore file
//! ([`KeystoreFile`], one typed [`KeyKind`] per file), a wallet's secret and its recovery phrase
//! ([`WalletSecret`]), and addresses as text ([`address`]). Nothing here talks to a node.
//!
//! ## The file
//!
//! ```json
//! {
//!   "format": "ctchain-keystore",
//!   "version": 1,
//!   "chain_id": "ctchain-demo-1",
//!   "address": "ctchaindemo11…",           // public: the address, or an issuer's public key (hex)
//!   "kind": "full" | "view-only" | "issuer" | "audit" | "audit-share",
//!   "kdf": { "name": "argon2id", "memory_kib": 65536, "iterations": 3, "parallelism": 1, "salt": "<hex 16>" },
//!   "cipher": { "name": "sm4-gcm", "nonce": "<hex 12>" },
//!   "ciphertext": "<hex>"                   // 32-byte seed (full), 64-byte viewing keys (view-only), followed
//!                                          // by the 64-byte shielded viewing key in a view-only wallet that
//!                                          // sees notes, or 32-byte issuer signing secret (issuer), or a
//!                                          // regulator's audit secret / key share with its dealing (ctchain-audit)
//! }
//! ```
//!
//! A full wallet's shielded spending key is derived from the same seed (`SpendingKey::from_seed`), so existing
//! keystores and recovery phrases hold one without any change to the file.
//!
//! The key is Argon2id(password, salt) truncated to SM4's 16 bytes; the associated data is the file's public
//! fields, so editing the address, chain or kind makes decryption fail. A wrong password is reported as such.
//! Files are written whole through `ctchain-files` (temporary file, sync, rename, directory sync), so a crash
//! leaves either the old file or the new one, never half of one, and they are readable by their owner only.
//!
//! ## Invariants
//! * A keystore opens only with its password, for its kind, and with its public fields as written: the kind,
//!   chain and address are authenticated, and asking for another kind fails before the password is tried.
//! * Secrets are zeroized when dropped; no secret is ever written in the clear.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod address;
mod file;
mod secret;

pub use file::{KdfParams, KeyKind, KeystoreError, KeystoreFile};
pub use secret::WalletSecret;
