//! Chain data types and their canonical encodings: genesis, block header, block, ledger transactions.

use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Sm3Hasher, Writer};
use ctchain_crypto::{AssetId, AuditPublicKey, Transaction, TxId};

pub use ctchain_governance::{AssetInfo, ConsensusParams, ValidatorInfo};
use ctchain_governance::{Founding, GovernanceError, GovernancePolicy, GovernanceTx, Member, Registry};

use crate::access::AuditAccessRecord;
use crate::merkle;
use crate::shielded::{ShieldedConfig, ShieldedTx};

/// The cryptographic suite this ledger implements; part of the genesis, so that nodes of different suites
/// refuse each other's chains.
pub const CRYPTO_SUITE: &str = "ctchain-v1/ristretto255-bulletproofs16x4/sm3/sm4-gcm/ed25519-consensus";

/// The signature scheme of consensus messages, node certificates and governance under [`CRYPTO_SUITE`].
pub const CONSENSUS_SCHEME: ctchain_sig::Scheme = ctchain_sig::Scheme::Ed25519;

/// Bounds on decoded collections (far above anything a real chain uses, far below what could exhaust memory).
pub use ctchain_governance::{MAX_ASSETS, MAX_VALIDATORS};
/// Most transactions in one block.
pub const MAX_BLOCK_TXS: usize = 10_000;
/// Largest encoded ledger transaction.
pub const MAX_TX_BYTES: usize = 256 * 1024;

/// Everything a chain starts from. Its hash is block 0's previous hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genesis {
    /// The chain id every transaction names.
    pub chain_id: String,
    /// Must equal [`CRYPTO_SUITE`].
    pub crypto_suite: String,
    /// Milliseconds since the Unix epoch; every block is later.
    pub genesis_time_ms: u64,
    /// The first epoch's validators, in order: a validator's index is its position. With members, exactly the
    /// validator nodes of `nodes`, in their order.
    pub validators: Vec<ValidatorInfo>,
    /// The regulators' audit keys; every output carries a proven copy for each.
    pub audit_keys: Vec<AuditPublicKey>,
    /// The assets and their issuers.
    pub assets: Vec<AssetInfo>,
    /// Consensus parameters.
    pub consensus: ConsensusParams,
    /// The shielded pool's parameters; `None` disables the pool (shielded transactions are refused).
    pub shielded: Option<ShieldedConfig>,
    /// The founding members; none makes a fixed consortium, which no governance transaction can change.
    pub members: Vec<Member>,
    /// Which share of the members approves which action.
    pub policy: GovernancePolicy,
    /// The founding nodes' certificates (DER), issued by the members' CAs.
    pub nodes: Vec<Vec<u8>>,
    /// The private channels founded with the chain (each its own chain, named by its genesis hash); later ones
    /// are created by governance.
    pub channels: Vec<ctchain_governance::Channel>,
}

impl Genesis {
    /// `SM3("ctchain/genesis/v1", genesis)`.
    pub fn hash(&self) -> Hash32 {
        let mut h = Sm3Hasher::new("ctchain/genesis/v1");
        h.put(self);
        h.finish()
    }

    /// The asset with this id, among the genesis assets.
    pub fn asset(&self, id: &AssetId) -> Option<&AssetInfo> {
        self.assets.iter().find(|a| a.id == *id)
    }

    /// The registry this genesis founds, with every check a governance action would make of its consortium.
    pub fn registry(&self) -> Result<Registry, GovernanceError> {
        Registry::founding(Founding {
            scheme: CONSENSUS_SCHEME,
            members: &self.members,
            policy: self.policy,
            nodes: &self.nodes,
            validators: &self.validators,
            audit_keys: &self.audit_keys,
            assets: &self.assets,
            channels: &self.channels,
            consensus: &self.consensus,
            time_ms: self.genesis_time_ms,
        })
    }
}

/// A block header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// Height; the first block is 1 (the genesis is height 0 and has no block).
    pub height: u64,
    /// The consensus sequence number that committed it: strictly increasing, and gaps are sequence numbers that
    /// carried no ledger block (null blocks, heartbeats). Its commit certificate names it, and it decides the
    /// block's epoch.
    pub seq: u64,
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
    /// `SM3("ctchain/block-header/v2", header)` (v2: the header names its sequence number).
    pub fn hash(&self) -> Hash32 {
        let mut h = Sm3Hasher::new("ctchain/block-header/v2");
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
    /// A change to the consortium's registry, approved by its members ([`ctchain_governance`]).
    Governance(Box<GovernanceTx>),
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
    /// A governance action on the registry.
    Governance,
}

impl LedgerTx {
    /// The transaction id (of the statement, without proofs).
    pub fn id(&self) -> TxId {
        match self {
            Self::Confidential(tx) => tx.id(),
            Self::AuditAccess(record) => record.id(),
            Self::Shielded(tx) => tx.id(),
            Self::Governance(tx) => tx.id(),
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
            Self::Governance(_) => TxKind::Governance,
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
    /// [`LedgerTx::Governance`].
    Governance = 3,
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
        [Self::Confidential, Self::AuditAccess, Self::Shielded, Self::Governance].into_iter().find(|t| *t as u8 == tag)
    }
}

impl LedgerTx {
    /// The kind tag of this transaction's encoding.
    pub fn tag(&self) -> TxTag {
        match self {
            Self::Confidential(_) => TxTag::Confidential,
            Self::AuditAccess(_) => TxTag::AuditAccess,
            Self::Shielded(_) => TxTag::Shielded,
            Self::Governance(_) => TxTag::Governance,
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
            Self::Governance(tx) => w.put(tx.as_ref()),
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
            Some(TxTag::Governance) => Ok(Self::Governance(Box::new(r.get()?))),
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
        w.seq(&self.members);
        w.put(&self.policy);
        w.len(self.nodes.len());
        for der in &self.nodes {
            w.bytes(der);
        }
        w.seq(&self.channels);
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
            members: r.seq("members", ctchain_governance::MAX_MEMBERS)?,
            policy: r.get()?,
            nodes: {
                let n = r.len("genesis nodes", ctchain_governance::MAX_NODES)?;
                (0..n)
                    .map(|_| Ok(r.bytes("node certificate", ctchain_governance::MAX_CERTIFICATE_BYTES)?.to_vec()))
                    .collect::<Result<_, DecodeError>>()?
            },
            channels: r.seq("channels", ctchain_governance::MAX_CHANNELS)?,
        })
    }
}

impl Encode for BlockHeader {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.height);
        w.u64(self.seq);
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
            seq: r.u64("sequence number")?,
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
