use serde::{Deserialize, Serialize};

/// Most heights one `outputs_range` call covers.
pub const MAX_OUTPUTS_RANGE: u64 = 1_000;

/// `chain_getBlock`'s argument: `{"height": 5}` or `{"hash": "ab…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum BlockRef {
    /// By height (the first block is 1).
    Height(u64),
    /// By header hash (hex).
    Hash(String),
}

/// A connected peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerJson {
    /// Its libp2p peer id.
    pub peer_id: String,
    /// Its name in the genesis or configuration, when known.
    pub name: Option<String>,
    /// Whether it is a validator.
    pub validator: bool,
}

/// `chain_status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    /// The chain id.
    pub chain_id: String,
    /// Hash of the genesis (hex).
    pub genesis_hash: String,
    /// This node's name.
    pub node_name: String,
    /// This node's validator index, `null` for an observer.
    pub validator_index: Option<u32>,
    /// Height of the last committed block (0: only the genesis).
    pub height: u64,
    /// Hash of the last block header (the genesis hash at height 0).
    pub tip_hash: String,
    /// State root after the last block.
    pub state_root: String,
    /// Time of the last block, milliseconds since the Unix epoch.
    pub tip_timestamp_ms: u64,
    /// Consensus sequence numbers executed (blocks, heartbeats and null requests).
    pub consensus_seq: u64,
    /// Current consensus view (the target view during a view change).
    pub view: u64,
    /// Index of the view's primary.
    pub primary: u32,
    /// Whether consensus is in its normal case (not changing views).
    pub view_normal: bool,
    /// Whether the node knows it is behind its peers and is catching up.
    pub syncing: bool,
    /// Connected members.
    pub peers: Vec<PeerJson>,
    /// Connections refused since start (peers outside the allow-list).
    pub refused_connections: u64,
    /// Pending transactions.
    pub mempool_txs: u64,
    /// Bytes of pending transactions.
    pub mempool_bytes: u64,
}

/// A block header with its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderJson {
    /// Header hash.
    pub hash: String,
    /// Height.
    pub height: u64,
    /// Previous header's hash.
    pub prev_hash: String,
    /// Merkle root of the transactions.
    pub tx_root: String,
    /// State root after the block.
    pub state_root: String,
    /// Block time, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Proposing validator's index.
    pub proposer: u32,
    /// Consensus view of the proposal.
    pub view: u64,
    /// Number of transactions.
    pub tx_count: u32,
}

/// A transaction inside a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockTxJson {
    /// Transaction id.
    pub id: String,
    /// `transfer`, `issue` or `burn`.
    pub kind: String,
    /// Canonical ledger-transaction bytes (hex).
    pub hex: String,
}

/// `chain_getBlock`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockJson {
    /// The header.
    pub header: HeaderJson,
    /// Canonical header bytes (hex), for offline checks.
    pub header_hex: String,
    /// The transactions in order.
    pub txs: Vec<BlockTxJson>,
    /// The commit certificate (hex of its canonical encoding): `2f + 1` validator signatures over this block.
    pub certificate: Option<String>,
}

/// A validator in the genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorJson {
    /// Index.
    pub index: u32,
    /// Name.
    pub name: String,
    /// Ed25519 consensus key (hex).
    pub consensus_key: String,
    /// Ed25519 network key (hex).
    pub network_key: String,
}

/// An asset in the genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetJson {
    /// Asset id (hex).
    pub id: String,
    /// Label, e.g. `CNY`.
    pub label: String,
    /// Decimal places of the display unit.
    pub decimals: u8,
    /// Issuer key (hex).
    pub issuer: String,
}

/// `chain_getGenesis`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisJson {
    /// Canonical genesis bytes (hex): decode and hash these rather than trusting the summary.
    pub hex: String,
    /// Genesis hash.
    pub hash: String,
    /// Chain id.
    pub chain_id: String,
    /// Genesis time, ms since the Unix epoch.
    pub genesis_time_ms: u64,
    /// Validators in index order.
    pub validators: Vec<ValidatorJson>,
    /// Audit public keys (hex) in the order outputs carry their handles.
    pub audit_keys: Vec<String>,
    /// Assets.
    pub assets: Vec<AssetJson>,
}

/// `tx_submit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitResult {
    /// The transaction id.
    pub id: String,
}

/// `tx_get` and `tx_status` notifications.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    /// The node has never seen it (or forgot a rejection after a restart).
    Unknown,
    /// In the mempool.
    Pending,
    /// In a committed block.
    Committed {
        /// Block height.
        height: u64,
        /// Index in the block.
        index: u32,
        /// Hash of the block header.
        block_hash: String,
        /// Block time.
        timestamp_ms: u64,
        /// Canonical ledger-transaction bytes (hex).
        hex: String,
        /// Merkle inclusion proof (hex of its canonical encoding: header and path).
        inclusion_proof: String,
    },
    /// Dropped: it failed a check or a committed transaction spent the same output.
    Rejected {
        /// The reason, naming the failed check.
        reason: String,
    },
}

/// An output with where it was created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecordJson {
    /// Output id.
    pub id: String,
    /// Creating transaction.
    pub tx_id: String,
    /// Index among that transaction's outputs.
    pub index: u32,
    /// Creating block's height.
    pub height: u64,
    /// Canonical output bytes (hex): commitments, keys, audit handles, encrypted memos.
    pub output: String,
}

/// `output_get`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputJson {
    /// The output.
    #[serde(flatten)]
    pub record: OutputRecordJson,
    /// The spending transaction, if spent.
    pub spent_by: Option<String>,
    /// Height at which it was spent.
    pub spent_height: Option<u64>,
}

/// `outputs_range`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputsPage {
    /// First height covered.
    pub from: u64,
    /// Last height covered (clamped to the chain's height).
    pub to: u64,
    /// The chain's height when answering: scan again from `to + 1` while `to < height`.
    pub height: u64,
    /// Outputs in creation order.
    pub outputs: Vec<OutputRecordJson>,
    /// For each block in the range, its height and time (for wallet history).
    pub block_times: Vec<(u64, u64)>,
}

/// `asset_supply`. Amounts are decimal strings of base units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplyJson {
    /// Asset id.
    pub asset: String,
    /// Label.
    pub label: String,
    /// Decimal places.
    pub decimals: u8,
    /// Ever issued.
    pub issued: String,
    /// Ever burned.
    pub burned: String,
    /// Ever paid as fees.
    pub fees: String,
    /// Held in the confidential pool: issued − burned − fees.
    pub outstanding: String,
    /// At this height.
    pub height: u64,
}

/// An audit-access record on chain (`audit_accessLog`): who authorised which decryption.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditAccessJson {
    /// The record's id (a transaction id).
    pub id: String,
    /// Height of the block that holds it.
    pub height: u64,
    /// Its index in the block.
    pub index: u32,
    /// Index of the audit key in the genesis.
    pub audit_key_index: u32,
    /// The supervisors' case reference.
    pub case_reference: String,
    /// First height covered.
    pub from_height: u64,
    /// Last height covered (inclusive).
    pub to_height: u64,
    /// Signatures needed.
    pub threshold: u32,
    /// Supervisors in the dealing.
    pub supervisors: u32,
    /// Supervisors who signed (1-based indices).
    pub signers: Vec<u32>,
    /// Canonical bytes of the record (hex), for checking it offline.
    pub hex: String,
}
