//! The wallet's errors: each says what went wrong in terms a user can act on.

use crate::address::AddressError;
use crate::amount::AmountError;
use crate::keystore::KeystoreError;

/// Why a wallet operation failed. Nothing is written when an operation fails (files are replaced whole).
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The keystore could not be opened, read or written.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// An address was refused.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// An amount was refused.
    #[error(transparent)]
    Amount(#[from] AmountError),
    /// The chain has no such asset.
    #[error("unknown asset {name:?}; this chain has: {known}")]
    UnknownAsset {
        /// What was asked for.
        name: String,
        /// The chain's asset labels.
        known: String,
    },
    /// Not enough spendable funds.
    #[error("insufficient funds: {needed} {asset} needed, {available} {asset} available")]
    InsufficientFunds {
        /// Asset label.
        asset: String,
        /// Spendable amount, in display units.
        available: String,
        /// Requested amount, in display units.
        needed: String,
    },
    /// Enough funds, but spread over more outputs than one transaction can spend.
    #[error(
        "{asset}: paying this needs {needed} inputs, a transaction spends at most {max}; send a smaller amount \
         to yourself first to consolidate"
    )]
    TooFragmented {
        /// Asset label.
        asset: String,
        /// Inputs the amount would need.
        needed: usize,
        /// The limit.
        max: usize,
    },
    /// Zero is not a payment.
    #[error("the amount must be greater than zero")]
    ZeroAmount,
    /// The transaction could not be built.
    #[error("could not build the transaction: {0}")]
    Build(#[from] ctchain_crypto::BuildError),
    /// The issuer key given is not this asset's issuer.
    #[error("this issuer key is not the issuer of {asset} (the chain's issuer key is {expected})")]
    NotIssuer {
        /// Asset label.
        asset: String,
        /// The chain's issuer key, hex.
        expected: String,
    },
    /// The local store belongs to another chain or wallet, or is damaged.
    #[error("wallet store {path}: {reason}")]
    Store {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The node serves another chain than the wallet's.
    #[error("the node serves chain {found:?} but this wallet is for {expected:?}")]
    WrongChain {
        /// The wallet's chain.
        expected: String,
        /// The node's chain.
        found: String,
    },
    /// The node could not be reached.
    #[error("cannot reach the node at {url}: {reason}")]
    NodeUnreachable {
        /// The RPC address.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// The node refused a request or a transaction; its reason is shown.
    #[error("the node refused: {reason} (code {code}{})", check.as_ref().map(|c| format!(", check {c}")).unwrap_or_default())]
    Refused {
        /// JSON-RPC error code (see `ctchain_rpc::codes`).
        code: i32,
        /// The node's message.
        reason: String,
        /// The failed check, when the node names one.
        check: Option<String>,
    },
    /// A committed transaction was later reported rejected.
    #[error("transaction {tx_id} was rejected: {reason}")]
    TxRejected {
        /// The transaction.
        tx_id: String,
        /// The node's reason.
        reason: String,
    },
    /// The node's answer contradicts itself or the chain (wrong ids, undecodable data, bad proofs).
    #[error("the node's answer does not check out: {0}")]
    BadNodeData(String),
    /// The transaction or output is not on chain.
    #[error("{0} is not on the chain")]
    NotFound(String),
    /// A payment proof is malformed or does not verify.
    #[error("payment proof does not verify: {0}")]
    BadProof(String),
    /// Waited too long for a commitment.
    #[error("transaction {0} was not committed in time (it may still be; run `sync` later)")]
    Timeout(String),
}

/// Result of wallet operations.
pub type Result<T> = std::result::Result<T, WalletError>;
