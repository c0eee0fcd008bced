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
    /// This node's index among the current epoch's validators, `null` when the epoch does not name it (an
    /// observer, or a validator node before its epoch or after it left).
    pub validator_index: Option<u32>,
    /// The consensus epoch of the next sequence number: 0 for the genesis validators, one more for each registry
    /// epoch that changes the validators (one changing only audit keys or parameters keeps it).
    #[serde(default)]
    pub epoch: u64,
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
    /// Proposing validator's index (in the block's epoch).
    pub proposer: u32,
    /// Consensus view of the proposal.
    pub view: u64,
    /// The consensus sequence number that committed it (its certificate names it).
    #[serde(default)]
    pub seq: u64,
    /// Number of transactions.
    pub tx_count: u32,
}

/// A transaction inside a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockTxJson {
    /// Transaction id.
    pub id: String,
    /// `transfer`, `issue`, `burn`, `audit_access`, `shielded_transfer`, `shield` or `unshield`.
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
    /// The shielded pool's parameters (`null`: the chain has no shielded pool).
    pub shielded: Option<ShieldedGenesisJson>,
}

/// The shielded pool's parameters as the genesis fixes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShieldedGenesisJson {
    /// SM3 of the verifying-key file (`params/transfer.vk`) every node loads.
    pub verifying_key_hash: String,
    /// The regulator's Baby Jubjub audit key (hex, 32 bytes compressed).
    pub audit_key: String,
    /// How many recent note-tree roots are valid anchors.
    pub recent_roots: u32,
}

/// `shielded_status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShieldedStatusJson {
    /// Whether the chain has a shielded pool.
    pub enabled: bool,
    /// The chain's height when answering.
    pub height: u64,
    /// Leaves in the note tree.
    pub tree_size: u64,
    /// The tree's current root (hex), the newest valid anchor.
    pub root: String,
    /// Every root valid as an anchor now, oldest first (hex).
    pub anchors: Vec<String>,
    /// The genesis parameters.
    pub params: Option<ShieldedGenesisJson>,
}

/// A note of the tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteJson {
    /// Leaf position.
    pub position: u64,
    /// Note commitment (hex).
    pub commitment: String,
    /// The note encrypted to its receiver (hex of its canonical encoding).
    pub ciphertext: String,
    /// The shielded transaction that created it.
    pub tx_id: String,
    /// Its block height.
    pub height: u64,
}

/// `shielded_notes`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotesPage {
    /// The notes, in tree order from the requested position.
    pub notes: Vec<NoteJson>,
    /// Leaves in the tree when answering: ask again from the last position + 1 while it is below this.
    pub tree_size: u64,
    /// The tree's root when answering (a wallet that has every leaf can check its own root against it).
    pub root: String,
    /// The chain's height when answering.
    pub height: u64,
}

/// `shielded_nullifier`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NullifierJson {
    /// The shielded transaction that revealed it.
    pub tx_id: String,
    /// Its block height.
    pub height: u64,
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
    /// In existence, both pools together: issued − burned − fees.
    pub outstanding: String,
    /// Ever moved into the shielded pool.
    pub shielded: String,
    /// Ever moved out of the shielded pool.
    pub unshielded: String,
    /// Held in the confidential pool: outstanding + unshielded − shielded.
    pub confidential_pool: String,
    /// Held in the shielded pool: shielded − unshielded.
    pub shielded_pool: String,
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

/// `governance_registry`: the consortium as the chain knows it after the tip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryJson {
    /// Height of the tip it is the registry after.
    pub height: u64,
    /// Governance actions applied: the version the next proposal must name.
    pub version: u64,
    /// Canonical registry bytes (hex), whose SM3 is under the state root: decode these rather than trusting the
    /// summary.
    pub hex: String,
    /// The policy: per class of action, `"<n>/<d>"` of the members, `"+regulator"` when a regulator must approve.
    pub policy: Vec<(String, String)>,
    /// Members, by name.
    pub members: Vec<MemberJson>,
    /// Registered nodes, by member and name.
    pub nodes: Vec<NodeJson>,
    /// Revoked certificates.
    pub revocations: Vec<RevocationJson>,
    /// Listed assets.
    pub assets: Vec<AssetJson>,
    /// The current epoch.
    pub epoch: EpochJson,
    /// The next epoch, once a change of validators, audit keys or parameters is committed.
    pub next_epoch: Option<EpochJson>,
    /// The private channels (each its own chain, served at `/channels/<id>` by its members' nodes).
    #[serde(default)]
    pub channels: Vec<ChannelJson>,
}

/// A private channel as the system registry lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelJson {
    /// Its id.
    pub id: String,
    /// The SM3 hash of its genesis (hex).
    pub genesis_hash: String,
    /// Its member organisations.
    pub members: Vec<String>,
    /// Whether a regulator must stay among them.
    pub regulator_required: bool,
}

/// A member organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberJson {
    /// Its name.
    pub name: String,
    /// `bank` or `regulator`.
    pub role: String,
    /// Its admin keys (`<scheme>:<hex>`).
    pub admin_keys: Vec<String>,
    /// Its CA certificate, PEM.
    pub ca_certificate: String,
}

/// A registered node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeJson {
    /// Its member.
    pub member: String,
    /// Its name.
    pub name: String,
    /// `validator` or `observer`.
    pub role: String,
    /// Its network key (hex).
    pub network_key: String,
    /// Its consensus key (`<scheme>:<hex>`).
    pub consensus_key: String,
    /// Its certificate's serial (hex).
    pub serial: String,
    /// Start of the certificate's validity, Unix seconds.
    pub not_before: u64,
    /// End of the certificate's validity, Unix seconds.
    pub not_after: u64,
    /// Height that registered it (0: the genesis).
    pub added_height: u64,
    /// Height that removed it, for a validator serving to the end of its epoch.
    pub leaving_since: Option<u64>,
}

/// A revoked certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationJson {
    /// The issuing member.
    pub member: String,
    /// The serial (hex).
    pub serial: String,
    /// The height that revoked it.
    pub height: u64,
}

/// An epoch: what consensus and verification run with from its first consensus sequence number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochJson {
    /// Its number (0: the genesis epoch).
    pub number: u64,
    /// The first consensus sequence number it governs (a block's epoch is that of its `seq`).
    pub first_seq: u64,
    /// The sequence number of the block that scheduled it (0 for the genesis epoch).
    #[serde(default)]
    pub decided_seq: u64,
    /// Validators in index order.
    pub validators: Vec<ValidatorJson>,
    /// Audit public keys (hex) in the order outputs carry their copies.
    pub audit_keys: Vec<String>,
    /// Most transactions per block.
    pub max_block_txs: u32,
    /// Most bytes of transactions per block.
    pub max_block_bytes: u32,
    /// Initial view-change timeout, ms.
    pub view_timeout_ms: u64,
    /// Sequence numbers between checkpoints.
    pub checkpoint_interval: u64,
    /// Sequence numbers in flight above the last stable checkpoint.
    pub window: u64,
    /// How far a block timestamp may lie ahead of a validator's clock, ms.
    pub max_clock_drift_ms: u64,
}

/// A committed governance transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceJson {
    /// Its id.
    pub id: String,
    /// Height of the block that holds it.
    pub height: u64,
    /// Its index in the block.
    pub index: u32,
    /// The action (`admit-member`, `add-node`, `revoke-certificate`, …).
    pub action: String,
    /// The registry version it was made against.
    pub registry_version: u64,
    /// The approving members.
    pub approvers: Vec<String>,
    /// Canonical bytes (hex), for checking it offline.
    pub hex: String,
}
