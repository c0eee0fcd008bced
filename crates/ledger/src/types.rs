//! Chain data types and their canonical encodings: genesis, block header, block, ledger transactions.

use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Sm3Hasher, Writer};
use ctchain_crypto::{AssetId, AuditPublicKey, Point, Transaction, TxId};

use crate::access::AuditAccessRecord;
use crate::merkle;
use crate::shielded::{ShieldedConfig, ShieldedTx};

/// The cryptographic suite this ledger implements; part of the genesis, so that nodes of different suites
/// refuse each other's chains.
pub const CRYPTO_SUITE: &str = "ctchain-v1/ristretto255-bulletproofs16x4/sm3/sm4-gcm/ed25519-consensus";

/// Bounds on decoded collections (far above anything a real chain uses, far below what could exhaust memory).
pub const MAX_VALIDATORS: usize = 256;
/// Most assets named in a genesis.
pub const MAX_ASSETS: usize = 1024;
/// Most transactions in one block.
pub const MAX_BLOCK_TXS: usize = 10_000;
/// Longest human-readable name.
pub const MAX_NAME_LEN: usize = 64;
/// Largest encoded ledger transaction.
pub const MAX_TX_BYTES: usize = 256 * 1024;

/// A validator as the genesis names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorInfo {
    /// Operator-chosen name (e.g. the bank).
    pub name: String,
    /// Ed25519 public key that signs consensus messages.
    pub consensus_key: [u8; 32],
    /// Ed25519 public key of its network identity (the libp2p peer id derives from it); kept apart from the
    /// consensus key so that a leaked transport key cannot sign votes.
    pub network_key: [u8; 32],
}

/// An asset the chain knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetInfo {
    /// Its id (`AssetId::from_label(label)` for assets created at genesis).
    pub id: AssetId,
    /// Ticker or name, e.g. `"CNY"`.
    pub label: String,
    /// Decimal places of the display unit: an amount `12345` with 2 decimals is `123.45`.
    pub decimals: u8,
    /// The key that must sign every issuance of this asset.
    pub issuer: Point,
}

/// Parameters of the consensus protocol, fixed at genesis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusParams {
    /// Sequence numbers between checkpoints.
    pub checkpoint_interval: u64,
    /// Sequence numbers in flight above the last stable checkpoint.
    pub window: u64,
    /// Most transactions per block.
    pub max_block_txs: u32,
    /// Most bytes of transactions per block.
    pub max_block_bytes: u32,
    /// Initial view-change timeout, in milliseconds (doubles with each failed view).
    pub view_timeout_ms: u64,
    /// How far a block timestamp may lie ahead of a validator's clock, in milliseconds.
    pub max_clock_drift_ms: u64,
}

impl Default for ConsensusParams {
    fn default() -> Self {
        Self {
            checkpoint_interval: 16,
            window: 32,
            max_block_txs: 1_000,
            max_block_bytes: 8 * 1024 * 1024,
            view_timeout_ms: 2_000,
            max_clock_drift_ms: 5_000,
        }
    }
}

/// Everything a chain starts from. Its hash is block 0's previous hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genesis {
    /// The chain id every transaction names.
    pub chain_id: String,
    /// Must equal [`CRYPTO_SUITE`].
    pub crypto_suite: String,
    /// Milliseconds since the Unix epoch; every block is later.
    pub genesis_time_ms: u64,
    /// The validators, in order: a validator's index is its position.
    pub validators: Vec<ValidatorInfo>,
    /// The regulators' audit keys; every output carries a proven copy for each.
    pub audit_keys: Vec<AuditPublicKey>,
    /// The assets and their issuers.
    pub assets: Vec<AssetInfo>,
    /// Consensus parameters.
    pub consensus: ConsensusParams,
    /// The shielded pool's parameters; `None` disables the pool (shielded transactions are refused).
    pub shielded: Option<ShieldedConfig>,
}

impl Genesis {
    /// `SM3("ctchain/genesis/v1", genesis)`.
    pub fn hash(&self) -> Hash32 {
        let mut h = Sm3Hasher::new("ctchain/genesis/v1");
        h.put(self);
        h.finish()
    }

    /// The asset with this id.
    pub fn asset(&self, id: &AssetId) -> Option<&AssetInfo> {
        self.assets.iter().find(|a| a.id == *id)
    }
}

/// A block header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// Height; the first block is 1 (the genesis is height 0 and has no block).
    pub height: u64,
    /// Hash of the previous header (the genesis hash for height 1).
    pub prev_hash: Hash32,
    /// Merkle root of the block's transactions (full bytes, witnesses included).
    pub tx_root: Hash32,
    /// The state root after applying this block.
    pub state_root: Hash32,
    /// Milliseconds since the Unix epoch, strictly increasing.
    pub timestamp_ms: u64,
    /// Index of the proposing validator.
    pub proposer: u32,
    /// The consensus view in which the block was proposed.
    pub view: u64,
}

impl BlockHeader {
    /// `SM3("ctchain/block-header/v1", header)`.
    pub fn hash(&self) -> Hash32 {
        let mut h = Sm3Hasher::new("ctchain/block-header/v1");
        h.put(self);
        h.finish()
    }
}

/// A transaction as the ledger carries it. An enum so that later kinds (audit-access records, shielded
/// transfers) join without changing how blocks are encoded.
// Confidential transactions are nearly every entry; boxing them to shrink the rare audit-access record would
// cost an allocation per transaction.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerTx {
    /// A confidential transfer, issuance or burn (which one follows from its public amounts).
    Confidential(Transaction),
    /// Supervisors' authorisation to decrypt a height range with a (split) audit key ([`crate::access`]).
    AuditAccess(AuditAccessRecord),
    /// A transfer in the shielded pool, or a shield / unshield across the boundary ([`crate::shielded`]).
    Shielded(Box<ShieldedTx>),
}

/// What a confidential transaction does, read from its public amounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxKind {
    /// Moves value between confidential outputs.
    Transfer,
    /// An issuer creates new value.
    Issue,
    /// Value is destroyed (redeemed).
    Burn,
    /// An audit-access record.
    AuditAccess,
    /// A transfer inside the shielded pool.
    ShieldedTransfer,
    /// Value moved from the confidential pool into the shielded pool.
    Shield,
    /// Value moved from the shielded pool into the confidential pool.
    Unshield,
}

impl LedgerTx {
    /// The transaction id (of the statement, without proofs).
    pub fn id(&self) -> TxId {
        match self {
            Self::Confidential(tx) => tx.id(),
            Self::AuditAccess(record) => record.id(),
            Self::Shielded(tx) => tx.id(),
        }
    }

    /// What the transaction does.
    pub fn kind(&self) -> TxKind {
        match self {
            Self::Confidential(tx) => {
                use ctchain_crypto::PublicKind;
                if tx.body.public.iter().any(|p| matches!(p.kind, PublicKind::Issue { .. })) {
                    TxKind::Issue
                } else if tx.body.public.iter().any(|p| matches!(p.kind, PublicKind::Burn)) {
                    TxKind::Burn
                } else {
                    TxKind::Transfer
                }
            }
            Self::AuditAccess(_) => TxKind::AuditAccess,
            Self::Shielded(tx) => match tx.crossing_kind() {
                Some(crate::shielded::Crossing::Shield { .. }) => TxKind::Shield,
                Some(crate::shielded::Crossing::Unshield { .. }) => TxKind::Unshield,
                None => TxKind::ShieldedTransfer,
            },
        }
    }

    /// The Merkle leaf hash of the full encoding (witness included): what the block commits to, and the key
    /// under which a node remembers having verified exactly these bytes.
    pub fn leaf_hash(&self) -> Hash32 {
        crate::work::count_leaf_hashed();
        merkle::leaf_hash(&self.to_bytes())
    }
}

/// The kind tag that starts a ledger transaction's canonical encoding (and so its Merkle leaf and its gossip
/// bytes). Defined here once: the node, the mempool and the clients name these, never the numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TxTag {
    /// [`LedgerTx::Confidential`].
    Confidential = 0,
    /// [`LedgerTx::AuditAccess`].
    AuditAccess = 1,
    /// [`LedgerTx::Shielded`].
    Shielded = 2,
}

impl TxTag {
    /// The tagged ledger encoding of a transaction of this kind, given its own encoding (what the RPC's
    /// per-kind submit methods receive).
    pub fn tagged(self, body: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(body.len() + 1);
        bytes.push(self as u8);
        bytes.extend_from_slice(body);
        bytes
    }

    fn from_u8(tag: u8) -> Option<Self> {
        [Self::Confidential, Self::AuditAccess, Self::Shielded].into_iter().find(|t| *t as u8 == tag)
    }
}

impl LedgerTx {
    /// The kind tag of this transaction's encoding.
    pub fn tag(&self) -> TxTag {
        match self {
            Self::Confidential(_) => TxTag::Confidential,
            Self::AuditAccess(_) => TxTag::AuditAccess,
            Self::Shielded(_) => TxTag::Shielded,
        }
    }
}

impl Encode for LedgerTx {
    fn encode_to(&self, w: &mut Writer) {
        crate::work::count_encoded();
        w.u8(self.tag() as u8);
        match self {
            Self::Confidential(tx) => w.put(tx),
            Self::AuditAccess(record) => w.put(record),
            Self::Shielded(tx) => w.put(tx.as_ref()),
        }
    }
}

impl Decode for LedgerTx {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        crate::work::count_decoded();
        let tag = r.u8("ledger transaction kind")?;
        match TxTag::from_u8(tag) {
            Some(TxTag::Confidential) => Ok(Self::Confidential(r.get()?)),
            Some(TxTag::AuditAccess) => Ok(Self::AuditAccess(r.get()?)),
            Some(TxTag::Shielded) => Ok(Self::Shielded(Box::new(r.get()?))),
            None => Err(DecodeError::InvalidTag { field: "ledger transaction kind", tag: u32::from(tag) }),
        }
    }
}

/// A block: header and transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The transactions, in execution order.
    pub txs: Vec<LedgerTx>,
}

impl Block {
    /// The Merkle root of `txs`.
    pub fn compute_tx_root(txs: &[LedgerTx]) -> Hash32 {
        let leaves: Vec<Hash32> = txs.iter().map(LedgerTx::leaf_hash).collect();
        merkle::root(&leaves)
    }

    /// The header's hash.
    pub fn hash(&self) -> Hash32 {
        self.header.hash()
    }
}

// ---- encodings ----

impl Encode for ValidatorInfo {
    fn encode_to(&self, w: &mut Writer) {
        w.str(&self.name);
        w.fixed(&self.consensus_key);
        w.fixed(&self.network_key);
    }
}

impl Decode for ValidatorInfo {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            name: r.string("validator name", MAX_NAME_LEN)?,
            consensus_key: r.array("validator consensus key")?,
            network_key: r.array("validator network key")?,
        })
    }
}

impl Encode for AssetInfo {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.id);
        w.str(&self.label);
        w.u8(self.decimals);
        w.put(&self.issuer);
    }
}

impl Decode for AssetInfo {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let id = r.get()?;
        let label = r.string("asset label", MAX_NAME_LEN)?;
        let decimals = r.u8("asset decimals")?;
        if decimals > 18 {
            return Err(DecodeError::Invalid { field: "asset decimals", reason: "more than 18" });
        }
        Ok(Self { id, label, decimals, issuer: r.get()? })
    }
}

impl Encode for ConsensusParams {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.checkpoint_interval);
        w.u64(self.window);
        w.u32(self.max_block_txs);
        w.u32(self.max_block_bytes);
        w.u64(self.view_timeout_ms);
        w.u64(self.max_clock_drift_ms);
    }
}

impl Decode for ConsensusParams {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            checkpoint_interval: r.u64("checkpoint interval")?,
            window: r.u64("window")?,
            max_block_txs: r.u32("max block transactions")?,
            max_block_bytes: r.u32("max block bytes")?,
            view_timeout_ms: r.u64("view timeout")?,
            max_clock_drift_ms: r.u64("max clock drift")?,
        })
    }
}

impl Encode for Genesis {
    fn encode_to(&self, w: &mut Writer) {
        w.str(&self.chain_id);
        w.str(&self.crypto_suite);
        w.u64(self.genesis_time_ms);
        w.seq(&self.validators);
        w.seq(&self.audit_keys);
        w.seq(&self.assets);
        w.put(&self.consensus);
        w.option(&self.shielded);
    }
}

impl Decode for Genesis {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            chain_id: r.string("chain id", ctchain_crypto::tx::MAX_CHAIN_ID_LEN)?,
            crypto_suite: r.string("crypto suite", 128)?,
            genesis_time_ms: r.u64("genesis time")?,
            validators: r.seq("validators", MAX_VALIDATORS)?,
            audit_keys: r.seq("audit keys", ctchain_crypto::MAX_AUDIT_KEYS)?,
            assets: r.seq("assets", MAX_ASSETS)?,
            consensus: r.get()?,
            shielded: r.option("shielded pool")?,
        })
    }
}

impl Encode for BlockHeader {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.height);
        w.put(&self.prev_hash);
        w.put(&self.tx_root);
        w.put(&self.state_root);
        w.u64(self.timestamp_ms);
        w.u32(self.proposer);
        w.u64(self.view);
    }
}

impl Decode for BlockHeader {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            height: r.u64("height")?,
            prev_hash: r.get()?,
            tx_root: r.get()?,
            state_root: r.get()?,
            timestamp_ms: r.u64("timestamp")?,
            proposer: r.u32("proposer")?,
            view: r.u64("view")?,
        })
    }
}

impl Encode for Block {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.header);
        w.len(self.txs.len());
        for tx in &self.txs {
            // Each transaction is length-prefixed so that a reader can skip or bound it.
            w.bytes(&tx.to_bytes());
        }
    }
}

impl Decode for Block {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = r.get()?;
        let txs = read_tx_list(r)?.into_iter().map(LedgerTx::from_bytes).collect::<Result<_, _>>()?;
        Ok(Self { header, txs })
    }
}

/// A block's list of transactions — a count, then each transaction's bytes, length-prefixed — as slices, not
/// decoded: the same list in a block, a proposal's payload and a stored block.
pub(crate) fn read_tx_list<'a>(r: &mut Reader<'a>) -> Result<Vec<&'a [u8]>, DecodeError> {
    let n = r.len("block transactions", MAX_BLOCK_TXS)?;
    let mut txs = Vec::with_capacity(n.min(r.remaining()));
    for _ in 0..n {
        txs.push(r.bytes("block transaction", MAX_TX_BYTES)?);
    }
    Ok(txs)
}
