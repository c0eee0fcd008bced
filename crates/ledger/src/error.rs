//! Ledger errors: each names what failed, and for a transaction, which one and which check.

use ctchain_codec::Hash32;
use ctchain_crypto::{AssetId, OutputId, TxId, VerifyError};

use crate::store::StorageError;

/// Why a transaction cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxRejection {
    /// The bytes are not the canonical encoding of a ledger transaction.
    #[error("not a ledger transaction: {0}")]
    Undecodable(ctchain_codec::DecodeError),
    /// A stateless check failed (proofs, signatures, encoding, chain id, audit keys).
    #[error("{0}")]
    Stateless(#[from] VerifyError),
    /// The same transaction is already on chain or earlier in the block.
    #[error("transaction is already on the chain")]
    Duplicate,
    /// An input names an output that does not exist.
    #[error("input {input} spends unknown output {output}")]
    UnknownInput {
        /// The input.
        input: usize,
        /// The output it names.
        output: OutputId,
    },
    /// An input names an output that is already spent.
    #[error("input {input} spends output {output}, already spent at height {height}")]
    AlreadySpent {
        /// The input.
        input: usize,
        /// The output.
        output: OutputId,
        /// Where it was spent.
        height: u64,
    },
    /// An earlier transaction of the same block spends the same output.
    #[error("input {input} spends output {output}, also spent by transaction {earlier} of this block")]
    DoubleSpendInBlock {
        /// The input.
        input: usize,
        /// The output.
        output: OutputId,
        /// Index of the earlier transaction in the block.
        earlier: usize,
    },
    /// An input's copies of the commitment or owner key differ from the stored output.
    #[error("input {input} does not match the output it spends (commitment or owner key differ)")]
    InputMismatch {
        /// The input.
        input: usize,
    },
    /// An output or public amount names an asset the chain does not know.
    #[error("unknown asset {0}")]
    UnknownAsset(AssetId),
    /// An issuance is signed by a key that is not the asset's issuer.
    #[error("issuance of asset {0} is not signed by its issuer")]
    UnauthorizedIssuer(AssetId),
    /// The supply counters would overflow.
    #[error("supply of asset {0} would overflow")]
    SupplyOverflow(AssetId),
    /// An audit-access record failed its stateless checks (dealing, signatures, range, chain).
    #[error("audit-access record: {0}")]
    Access(#[from] crate::access::AccessError),
    /// A shielded check failed: proof, statement encoding, anchor, nullifier already revealed, audit key.
    #[error("shielded transfer: {0}")]
    Shielded(ctchain_circuits::CircuitError),
    /// The chain has no shielded pool (its genesis names no parameters), or this node did not load them.
    #[error("this chain has no shielded pool")]
    ShieldedPoolDisabled,
    /// A shielded transaction names another chain.
    #[error("shielded transaction is for another chain")]
    ShieldedWrongChain,
    /// Value crosses the pool boundary but the confidential side is missing.
    #[error("the proof moves value across the pool boundary but the transaction has no confidential side")]
    MissingCrossing,
    /// A confidential side is attached although no value crosses.
    #[error("a confidential side is attached although no value crosses the pool boundary")]
    UnexpectedCrossing,
    /// The confidential side does not match the proof's public values.
    #[error("confidential side of a shielded transaction: {0}")]
    MalformedCrossing(&'static str),
    /// A confidential transaction moves value to or from the shielded pool outside a shielded transaction.
    #[error("a pool crossing is only valid inside its shielded transaction")]
    CrossingOutsideShieldedTx,
    /// An earlier transaction of the same block reveals the same nullifier.
    #[error("nullifier {nullifier} is also revealed by transaction {earlier} of this block")]
    NullifierSpentInBlock {
        /// The nullifier, hex.
        nullifier: String,
        /// Index of the earlier transaction in the block.
        earlier: usize,
    },
    /// An unshield takes more of an asset out of the shielded pool than ever went in (the turnstile: a
    /// counterfeit in the shielded pool cannot leave it).
    #[error("unshielding {asset} would take more out of the shielded pool than went in")]
    ShieldedPoolOverdrawn {
        /// The asset.
        asset: AssetId,
    },
    /// A governance transaction was refused (stateless or against the registry).
    #[error("governance: {0}")]
    Governance(#[from] ctchain_governance::GovernanceError),
    /// The transaction carries copies for another audit key set than the one in force at its block (it was made
    /// before an epoch changed the audit keys, or for the next epoch too early).
    #[error("the transaction is made for other audit keys than this epoch's; build it again for the current set")]
    StaleAuditKeys,
}

/// Why the ledger refused a block or a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The database failed or is damaged.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The genesis is unusable.
    #[error("invalid genesis: {0}")]
    InvalidGenesis(&'static str),
    /// The genesis consortium (members, nodes, validators, assets, audit keys, parameters) is inconsistent.
    #[error("invalid genesis: {0}")]
    InvalidConsortium(ctchain_governance::GovernanceError),
    /// The shielded pool's parameters are missing, damaged, or not the ones the genesis pins.
    #[error("shielded pool parameters: {0}")]
    ShieldedParameters(String),
    /// A state snapshot was refused: it does not match the certified header it names, or is malformed.
    #[error("state snapshot refused: {0}")]
    Snapshot(String),
    /// The database holds another chain.
    #[error("the database holds chain {stored}, not the given genesis {given}")]
    GenesisMismatch {
        /// Hash of the stored genesis.
        stored: Hash32,
        /// Hash of the given genesis.
        given: Hash32,
    },
    /// The block is not the next one.
    #[error("block height {found}, expected {expected}")]
    WrongHeight {
        /// The next height.
        expected: u64,
        /// The block's height.
        found: u64,
    },
    /// The block does not extend the tip.
    #[error("block at height {height} does not extend the tip (previous hash {found}, tip {expected})")]
    WrongPrevHash {
        /// Height of the block.
        height: u64,
        /// The tip hash.
        expected: Hash32,
        /// The block's previous hash.
        found: Hash32,
    },
    /// The header's transaction root does not match the transactions.
    #[error("block at height {height}: transaction root does not match its transactions")]
    TxRootMismatch {
        /// Height of the block.
        height: u64,
    },
    /// The timestamp does not increase.
    #[error("block at height {height}: timestamp {found} is not after the previous {previous}")]
    TimestampNotIncreasing {
        /// Height of the block.
        height: u64,
        /// Previous timestamp.
        previous: u64,
        /// The block's timestamp.
        found: u64,
    },
    /// The sequence number does not increase.
    #[error("block at height {height}: sequence number {found} does not follow the previous block's {previous}")]
    SeqNotIncreasing {
        /// Height of the block.
        height: u64,
        /// The previous block's sequence number.
        previous: u64,
        /// The block's.
        found: u64,
    },
    /// The proposer index names no validator.
    #[error("block at height {height}: proposer {proposer} is not a validator")]
    UnknownProposer {
        /// Height of the block.
        height: u64,
        /// The index.
        proposer: u32,
    },
    /// Too many transactions.
    #[error("block at height {height} has {count} transactions, at most {max} are allowed")]
    TooManyTransactions {
        /// Height of the block.
        height: u64,
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A transaction's bytes are not the canonical encoding of a ledger transaction.
    #[error("block at height {height}, transaction {index} does not decode: {error}")]
    UndecodableTransaction {
        /// Height of the block.
        height: u64,
        /// Index of the transaction in the block.
        index: usize,
        /// Why.
        error: ctchain_codec::DecodeError,
    },
    /// A transaction fails; the whole block is rejected and the state is untouched.
    #[error("block at height {height}, transaction {index} ({tx_id}): {reason}")]
    InvalidTransaction {
        /// Height of the block.
        height: u64,
        /// Index of the first failing transaction.
        index: usize,
        /// Its id.
        tx_id: TxId,
        /// The failed check.
        reason: TxRejection,
    },
    /// The state after the block differs from the header's claim: this node and the proposer disagree.
    #[error("state root mismatch at height {height}: header says {in_header}, this node computes {computed}")]
    StateRootMismatch {
        /// Height of the block.
        height: u64,
        /// The header's state root.
        in_header: Hash32,
        /// The root this node computed.
        computed: Hash32,
    },
}
