//! # ctchain-rpc: the node's JSON-RPC 2.0 interface
//!
//! One trait, [`ChainApi`], defines every method and subscription; `jsonrpsee` generates from it the server
//! trait the node implements ([`ChainApiServer`]) and the typed client the wallet and the tools call
//! ([`ChainApiClient`]), so the two cannot drift apart. `docs/rpc.md` documents each method with examples.
//!
//! ## Invariants
//! * Everything binary travels as lowercase hex of the **canonical** encoding (the same bytes that are hashed
//!   and signed); ids are 64 hex digits. Clients decode with the ctchain codecs and check what they rely on.
//! * Amounts never appear: the node does not know them. Public amounts (issue, burn, fee) and supply counters
//!   are decimal **strings** of integer base units, so that no JSON parser rounds them.
//! * Every failure of a submitted transaction is a JSON-RPC error whose `code` is one of [`codes`] and whose
//!   `data.check` names the failed check; nothing else changes on the node.
//! * This crate knows nothing of the node or the ledger: it is types and method names only.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod codes;
mod types;

pub use types::*;

use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::types::ErrorObjectOwned;

/// The path a node serves private channel `id` at: every method of [`ChainApi`] for that channel's chain.
pub fn channel_path(id: &str) -> String {
    format!("/channels/{id}")
}

/// The URL(s) of channel `channel` on the node(s) `rpc` (several separated by commas): each URL with
/// [`channel_path`] appended; `None` leaves them as they are (the system channel).
pub fn channel_url(rpc: &str, channel: Option<&str>) -> String {
    match channel {
        None => rpc.to_owned(),
        Some(id) => rpc
            .split(',')
            .map(|url| format!("{}{}", url.trim().trim_end_matches('/'), channel_path(id)))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// Result of an RPC method.
pub type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// The node's RPC methods (see `docs/rpc.md`).
#[rpc(server, client)]
pub trait ChainApi {
    /// Height, tip, consensus view, peers, mempool and sync state.
    #[method(name = "chain_status")]
    async fn chain_status(&self) -> RpcResult<ChainStatus>;

    /// A block by height or by hash (`null` when there is none).
    #[method(name = "chain_getBlock")]
    async fn chain_get_block(&self, at: BlockRef) -> RpcResult<Option<BlockJson>>;

    /// The genesis: its canonical bytes and a readable summary.
    #[method(name = "chain_getGenesis")]
    async fn chain_get_genesis(&self) -> RpcResult<GenesisJson>;

    /// Submits a transaction (hex of its canonical encoding); returns its id once it is in the mempool.
    #[method(name = "tx_submit")]
    async fn tx_submit(&self, tx_hex: String) -> RpcResult<SubmitResult>;

    /// A transaction's status: unknown, pending, committed (with inclusion proof) or rejected (with reason).
    #[method(name = "tx_get")]
    async fn tx_get(&self, id: String) -> RpcResult<TxStatus>;

    /// An output with its spent status (`null` when unknown).
    #[method(name = "output_get")]
    async fn output_get(&self, id: String) -> RpcResult<Option<OutputJson>>;

    /// Public data of every output created at heights `from..=to` (at most [`MAX_OUTPUTS_RANGE`] heights).
    #[method(name = "outputs_range")]
    async fn outputs_range(&self, from: u64, to: u64) -> RpcResult<OutputsPage>;

    /// An asset's public supply counters (`null` for an unknown asset). `asset` is its id (hex) or its label.
    #[method(name = "asset_supply")]
    async fn asset_supply(&self, asset: String) -> RpcResult<Option<SupplyJson>>;

    /// Submits an audit-access record (hex of its canonical encoding, `ctchain_ledger::access`); returns its id once
    /// it is in the mempool. Its dealing and supervisor signatures are checked first.
    #[method(name = "audit_submitAccess")]
    async fn audit_submit_access(&self, record_hex: String) -> RpcResult<SubmitResult>;

    /// Every audit-access record ever committed, in chain order.
    #[method(name = "audit_accessLog")]
    async fn audit_access_log(&self) -> RpcResult<Vec<AuditAccessJson>>;

    /// Submits a governance transaction (hex of its canonical `ctchain_governance::GovernanceTx` encoding: a proposal
    /// with its members' approvals); returns its id once its approvals verify and it applies to the current
    /// registry, and it is in the mempool.
    #[method(name = "governance_submit")]
    async fn governance_submit(&self, tx_hex: String) -> RpcResult<SubmitResult>;

    /// The consortium's registry after the tip: members, nodes, revocations, assets, policy, epochs.
    #[method(name = "governance_registry")]
    async fn governance_registry(&self) -> RpcResult<RegistryJson>;

    /// Every governance transaction ever committed, in chain order.
    #[method(name = "governance_log")]
    async fn governance_log(&self) -> RpcResult<Vec<GovernanceJson>>;

    /// Every epoch from the genesis one that has begun, in order, then the scheduled next one if any: what each
    /// range of sequence numbers was validated with (validators, audit keys, parameters).
    #[method(name = "governance_epochs")]
    async fn governance_epochs(&self) -> RpcResult<Vec<EpochJson>>;

    /// Submits a shielded transaction (hex of its canonical `ctchain_ledger::ShieldedTx` encoding: a shielded
    /// transfer, shield or unshield); returns its id once its proof is checked and it is in the mempool.
    #[method(name = "shielded_submit")]
    async fn shielded_submit(&self, tx_hex: String) -> RpcResult<SubmitResult>;

    /// The shielded pool: whether the chain has one, its parameters, the note tree's size and root, and the
    /// roots valid as anchors now.
    #[method(name = "shielded_status")]
    async fn shielded_status(&self) -> RpcResult<ShieldedStatusJson>;

    /// Up to `limit` (at most 1000) notes of the tree from position `from` on, in tree order, with the tree as
    /// it was when answering: what a wallet trial-decrypts and feeds to its witnesses.
    #[method(name = "shielded_notes")]
    async fn shielded_notes(&self, from: u64, limit: u32) -> RpcResult<NotesPage>;

    /// Whether a nullifier (hex) was revealed, and by which transaction (`null` if not).
    #[method(name = "shielded_nullifier")]
    async fn shielded_nullifier(&self, nullifier: String) -> RpcResult<Option<NullifierJson>>;

    /// Every new block header, as blocks commit.
    #[subscription(name = "chain_subscribeNewHeads" => "chain_newHead", unsubscribe = "chain_unsubscribeNewHeads", item = HeaderJson)]
    async fn subscribe_new_heads(&self) -> SubscriptionResult;

    /// The status of one transaction now and at every change, until it is committed or rejected.
    #[subscription(name = "tx_subscribeStatus" => "tx_status", unsubscribe = "tx_unsubscribeStatus", item = TxStatus)]
    async fn subscribe_tx_status(&self, id: String) -> SubscriptionResult;
}
