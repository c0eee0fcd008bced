//! # ctchain-ledger: the persistent, crash-safe confidential ledger
//!
//! Every node holds the full ledger: blocks, transactions, outputs, spends and per-asset supply, in RocksDB.
//!
//! ## Validation in three phases (after Penumbra)
//! 1. **Stateless** ([`Block::verify`]): transaction root, decoding, every proof and signature — in parallel
//!    over all transactions on all cores, and skipped for transactions whose exact bytes were verified before
//!    ([`Block::verify_with`], fed by the mempool). Produces a [`VerifiedBlock`], which only this phase or
//!    [`Ledger::propose`] can make.
//! 2. **Header** ([`Ledger::apply`]): height, previous hash, increasing consensus sequence number (which decides
//!    its epoch), increasing timestamp, a proposer of that epoch.
//! 3. **Stateful, in block order** ([`Ledger::apply`]): no duplicate transaction; each input exists, is unspent,
//!    is not spent twice in the block, and its copies of the commitment and owner key equal the stored output
//!    (so the stateless balance and ownership checks were about the real outputs); assets are known; issuances are
//!    signed by the asset's issuer; supply counters do not overflow. The audit keys were fixed by phase 1: the
//!    verifier is built from the genesis keys.
//!
//! Shielded transactions ([`shielded`]) join the same phases: phase 1 checks the Groth16 proof, the binding of the
//! confidential side that crosses the pool boundary (if any) and that side's own proofs; phase 3 checks the
//! anchor against the recent note-tree roots, the nullifiers against the nullifier set (and the block), the
//! audit key against the genesis, the crossing's inputs like any confidential transaction's, and the per-pool
//! turnstile; it then records the nullifiers and appends the note commitments in the block's atomic write.
//!
//! Besides confidential transactions, a block carries audit-access records ([`access`]): supervisors' quorum
//! authorisations to decrypt with a split audit key, checked in phase 1 (dealing, signatures) and in phase 3 (no
//! duplicate), kept in chain order ([`Ledger::audit_access_log`]).
//!
//! Governance transactions ([`LedgerTx::Governance`], `ctchain-governance`) change the consortium's registry —
//! members, certified nodes, revocations, assets and issuers, policy, epochs — checked in phase 1 (form and approval
//! signatures) and in phase 3 against the registry as the block has it so far (version, admin keys, policy, the
//! action). The registry after the tip is stored whole ([`Ledger::registry`]), the governance log and every epoch
//! are kept ([`Ledger::governance_log`], [`Ledger::epochs`]). Assets and issuers are the registry's; the audit keys
//! are the epoch's (epochs are counted in consensus sequence numbers; the node tells the ledger of sequence
//! numbers without blocks, [`Ledger::note_consensus_seq`], so that admission follows an epoch that began between
//! blocks): a block that begins an epoch runs under it from its first transaction, and a confidential
//! transaction whose copies are for other keys is refused in phase 3 ([`TxRejection::StaleAuditKeys`]) whoever
//! verified it.
//!
//! A committed block is final when its commit certificate carries `2f + 1` genesis validators' signatures over
//! it ([`finality`]): nodes catching up, observers, light clients and auditors all use that one check.
//!
//! ## Invariants
//! * A block and all its state changes are one atomic, synced RocksDB write; the in-memory tip changes only after
//!   it succeeded. A failing block leaves the state untouched; reopening after a crash yields exactly the last
//!   committed block.
//! * Every header carries the state root ([`state`]): an incremental multiset hash of all unspent outputs, spends
//!   and supply counters, so two nodes with the same blocks have the same root, and a node that computes another
//!   root than the header's rejects the block ([`LedgerError::StateRootMismatch`]).
//! * Every stored value carries a checksum; damage is reported naming what is damaged ([`StorageError`]).
//! * For each asset the confidential pool holds exactly `issued + unshielded − burned − fees − shielded` and the
//!   shielded pool `shielded − unshielded` ([`Supply`]), at every height ([`Ledger::supply_at`]); the range,
//!   balance and Groth16 proofs guarantee it, a regulator can check it by decrypting, and no unshield may take
//!   more out of the shielded pool than went in (so a forged note could not leave it).
//! * A nullifier is revealed at most once in the whole chain; only recent roots of the note tree (kept with the
//!   frontier in the tip's write) are anchors; the state root covers the nullifier set and the tree's size and root.
//! * A confidential transaction carrying a pool-crossing amount is refused unless it is the crossing of the
//!   shielded transaction its binding hash names.
//! * The state root covers the registry (`registry ‖ SM3(registry)`) and the supply of every listed asset, so two
//!   nodes that agree on the root agree on the consortium.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod access;
mod encoded;
pub mod error;
mod execute;
pub mod finality;
mod ledger;
pub mod merkle;
pub mod shielded;
pub mod snapshot;
pub mod state;
pub mod store;
pub mod types;
pub mod work;

pub use encoded::{DecodedTx, EncodedBlock, EncodedTx};
pub use error::{LedgerError, TxRejection};
pub use ledger::{
    CheckedBlock, Ledger, OutputStatus, TxInclusionProof, TxRecord, VerifiedBlock, VerifiedLedgerTx, VerifiedTxKind,
};
pub use shielded::{
    ChainVerifier, Crossing, NoteRecord, NullifierRecord, ShieldedConfig, ShieldedTx, VerifiedShielded,
};
pub use state::{OutputRecord, SpentRecord, Supply, TxLocation};
pub use store::StorageError;
pub use types::{
    AssetInfo, Block, BlockHeader, ConsensusParams, Genesis, LedgerTx, TxKind, TxTag, ValidatorInfo, CRYPTO_SUITE,
};
