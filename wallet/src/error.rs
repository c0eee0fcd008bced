//! The wallet's errors: each says what went wrong in terms a user can act on.

use ctchain_display::amount::AmountError;
use ctchain_keystore::address::AddressError;
use ctchain_keystore::KeystoreError;

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
    /// The chain's genesis enables no shielded pool.
    #[error("this chain has no shielded pool (its genesis enables none)")]
    NoShieldedPool,
    /// A view-only wallet made from a view key without the shielded part cannot see notes.
    #[error("this view-only wallet has no shielded viewing key; make it again from a full wallet's `export-view-key`")]
    NoShieldedKey,
    /// Shielded transactions need the proving key, and none was given.
    #[error("shielded transactions need the proving parameters: give --params DIR (or CTCHAIN_PARAMS), e.g. a testnet's params/ directory")]
    NoParameters,
    /// The proving parameters could not be loaded.
    #[error("proving parameters in {dir}: {reason}")]
    Parameters {
        /// The directory.
        dir: String,
        /// What is wrong.
        reason: String,
    },
    /// The proving parameters are of another setup than the chain's.
    #[error(
        "the parameters in {dir} are not this chain's: their verifying key hashes to {found}, the genesis pins \
         {expected}"
    )]
    WrongParameters {
        /// The directory.
        dir: String,
        /// SM3 of its verifying key.
        found: String,
        /// The hash the genesis pins.
        expected: String,
    },
    /// Not enough value in unspent, unreserved notes of an asset.
    #[error("insufficient shielded funds: {needed} {asset} needed, {available} {asset} in spendable notes")]
    InsufficientShielded {
        /// Asset label.
        asset: String,
        /// Spendable shielded amount, in display units.
        available: String,
        /// Requested amount, in display units.
        needed: String,
    },
    /// Enough shielded value, but more than two notes would be needed.
    #[error(
        "{asset}: a shielded transaction spends at most two notes, and the two largest hold {two_largest} {asset} \
         of the {needed} needed ({notes} notes in all); send a smaller amount to your own shielded address first \
         to merge notes"
    )]
    TooManyNotes {
        /// Asset label.
        asset: String,
        /// What the two largest notes hold, in display units.
        two_largest: String,
        /// Requested amount, in display units.
        needed: String,
        /// Spendable notes of the asset.
        notes: usize,
    },
    /// A shielded payment to the wallet's own shielded address.
    #[error("{0} is this wallet's own shielded address; a payment to yourself moves nothing")]
    SendToSelf(String),
    /// The wallet's note tree is not at a root the node accepts as an anchor.
    #[error("the wallet's note tree (root {0}) is not a recent anchor of the chain; run `sync` and try again")]
    StaleAnchor(String),
    /// The shielded pool refused or could not build a transfer.
    #[error("shielded transfer: {0}")]
    Shielded(#[from] ctchain_circuits::CircuitError),
}

/// Result of wallet operations.
pub type Result<T> = std::result::Result<T, WalletError>;

impl WalletError {
    /// Whether the error leaves a submitted transaction's fate open (the node could not be reached, or did not
    /// answer in time), as opposed to a definite answer (a refusal, a rejection, bad data).
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, WalletError::NodeUnreachable { .. } | WalletError::Timeout(_))
    }
}
