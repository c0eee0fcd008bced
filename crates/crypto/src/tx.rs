//! The confidential transaction: its body (the statement), its witness (proofs and signatures), their
//! canonical encoding, and identifiers.
//!
//! The transaction id is `SM3("ctchain/tx-id/v1", body)`: it covers every field of the body and no proof or
//! signature, so re-randomising or re-encoding a proof cannot change it, while any change to the statement does.

use bulletproofs::RangeProof;
use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Sm3Hasher, Writer};

use crate::amount::LIMBS;
use crate::asset::AssetId;
use crate::audit::AuditValidityProof;
use crate::identity::{IdentityCiphertext, PartyProof};
use crate::keys::AuditPublicKey;
use crate::memo::MEMO_CIPHERTEXT_LEN;
use crate::point::{read_point, Point};
use crate::schnorr::Signature;

/// The only transaction format version this library produces and accepts.
/// Version 2 added the parties' identities encrypted to the audit keys, with their proofs; version 1 is refused.
pub const TX_VERSION: u16 = 2;
/// Most inputs in one transaction.
pub const MAX_INPUTS: usize = 16;
/// Most outputs in one transaction.
pub const MAX_OUTPUTS: usize = 16;
/// Most audit keys a chain may have.
pub const MAX_AUDIT_KEYS: usize = 4;
/// Most public amounts (issue, burn, fee entries) in one transaction.
pub const MAX_PUBLIC_AMOUNTS: usize = 16;
/// Longest chain id, in bytes.
pub const MAX_CHAIN_ID_LEN: usize = 64;
/// Most Bulletproof parties in one proof: four limbs for each of the most outputs.
pub const MAX_RANGE_PARTIES: usize = LIMBS * MAX_OUTPUTS;
/// Largest encoded range proof.
const MAX_RANGE_PROOF_LEN: usize = 32 * (9 + 2 * 10);

/// A transaction id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TxId(pub Hash32);

impl TxId {
    /// The id as bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

impl std::fmt::Display for TxId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An output id: `SM3("ctchain/output-id/v1", tx id ‖ index)`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct OutputId(pub Hash32);

impl OutputId {
    /// The id of output `index` of transaction `tx`.
    pub fn new(tx: &TxId, index: u32) -> Self {
        let mut h = Sm3Hasher::new("ctchain/output-id/v1");
        h.update(tx.as_bytes()).update(index.to_le_bytes());
        Self(h.finish())
    }
}

impl std::fmt::Display for OutputId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Encode for TxId {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.0);
    }
}
impl Decode for TxId {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.get()?))
    }
}
impl Encode for OutputId {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.0);
    }
}
impl Decode for OutputId {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.get()?))
    }
}

/// A spent output, referenced by id, with copies of its commitment and owner key.
///
/// The copies let every stateless check (balance, owner signature) run without the ledger; the ledger's stateful
/// check then only compares them with the stored output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The output being spent.
    pub output_id: OutputId,
    /// Its whole-amount commitment `Σ 2¹⁶ⁱ·Cᵢ`.
    pub commitment: Point,
    /// Its one-time owner key.
    pub owner_key: Point,
}

impl Encode for Input {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.output_id);
        w.put(&self.commitment);
        w.put(&self.owner_key);
    }
}

impl Decode for Input {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            output_id: r.get()?,
            commitment: read_point(r, "input commitment")?,
            owner_key: read_point(r, "input owner key")?,
        })
    }
}

/// The regulator's memo for one audit key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditMemo {
    /// `E = e·P`: the regulator computes the shared secret `s·E = e·B`.
    pub ephemeral: Point,
    /// SM4-GCM ciphertext of the memo.
    pub ciphertext: Vec<u8>,
}

impl Encode for AuditMemo {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.ephemeral);
        w.bytes(&self.ciphertext);
    }
}

impl Decode for AuditMemo {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let ephemeral = read_point(r, "audit memo ephemeral key")?;
        let ciphertext = r.bytes("audit memo", MEMO_CIPHERTEXT_LEN)?.to_vec();
        Ok(Self { ephemeral, ciphertext })
    }
}

/// A new confidential output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// The asset (public, so that validators can group range proofs by asset).
    pub asset: AssetId,
    /// The four limb commitments `Cᵢ = vᵢ·V_a + rᵢ·B`.
    pub limbs: [Point; LIMBS],
    /// The one-time owner key `O = h·G + S`.
    pub one_time_key: Point,
    /// The ephemeral key `R = r·G` from which the receiver derives `h`.
    pub ephemeral_key: Point,
    /// For each audit key (in the body's order), the four decrypt handles `rᵢ·P`.
    pub audit_handles: Vec<[Point; LIMBS]>,
    /// The receiver's encrypted memo.
    pub receiver_memo: Vec<u8>,
    /// For each audit key, the regulator's encrypted memo.
    pub audit_memos: Vec<AuditMemo>,
    /// For each audit key, the receiver's identity (spend key) encrypted to it, proven to be the identity the
    /// one-time key was derived for ([`crate::identity`]).
    pub receiver_identities: Vec<IdentityCiphertext>,
}

impl Output {
    /// The whole-amount commitment `Σ 2¹⁶ⁱ·Cᵢ` (what an input spending this output carries). `None` when it is
    /// the identity (a zero amount with zero total blinding), which no input can carry: such an output is
    /// unspendable.
    pub fn commitment(&self) -> Option<Point> {
        Point::new(crate::amount::combine_limbs(&self.limbs))
    }

    /// The associated data that binds a memo to this output.
    pub(crate) fn memo_aad(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.put(&self.asset);
        for l in &self.limbs {
            w.put(l);
        }
        w.put(&self.one_time_key);
        w.put(&self.ephemeral_key);
        w.into_bytes()
    }
}

fn write_limbs(w: &mut Writer, limbs: &[Point; LIMBS]) {
    for l in limbs {
        w.put(l);
    }
}

fn read_limbs(r: &mut Reader<'_>, field: &'static str) -> Result<[Point; LIMBS], DecodeError> {
    let mut out = Vec::with_capacity(LIMBS);
    for _ in 0..LIMBS {
        out.push(read_point(r, field)?);
    }
    let mut it = out.into_iter();
    Ok(std::array::from_fn(|_| it.next().expect("read exactly LIMBS points")))
}

impl Encode for Output {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.asset);
        write_limbs(w, &self.limbs);
        w.put(&self.one_time_key);
        w.put(&self.ephemeral_key);
        w.len(self.audit_handles.len());
        for h in &self.audit_handles {
            write_limbs(w, h);
        }
        w.bytes(&self.receiver_memo);
        w.seq(&self.audit_memos);
        w.seq(&self.receiver_identities);
    }
}

impl Decode for Output {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let asset = r.get()?;
        let limbs = read_limbs(r, "limb commitment")?;
        let one_time_key = read_point(r, "one-time key")?;
        let ephemeral_key = read_point(r, "ephemeral key")?;
        let n = r.len("audit handles", MAX_AUDIT_KEYS)?;
        let mut audit_handles = Vec::with_capacity(n);
        for _ in 0..n {
            audit_handles.push(read_limbs(r, "audit handle")?);
        }
        let receiver_memo = r.bytes("receiver memo", MEMO_CIPHERTEXT_LEN)?.to_vec();
        let audit_memos = r.seq("audit memos", MAX_AUDIT_KEYS)?;
        let receiver_identities = r.seq("receiver identities", MAX_AUDIT_KEYS)?;
        Ok(Self {
            asset,
            limbs,
            one_time_key,
            ephemeral_key,
            audit_handles,
            receiver_memo,
            audit_memos,
            receiver_identities,
        })
    }
}

/// What a public amount does to an asset's supply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicKind {
    /// New value created by the asset's issuer, whose key is named and must sign.
    Issue {
        /// The issuer's public key (the ledger checks that it is this asset's issuer).
        issuer: Point,
    },
    /// Value destroyed (redeemed off chain).
    Burn,
    /// A fee paid to the validators.
    Fee,
    /// Value moved into the shielded pool by the shielded transaction whose binding hash is named: the
    /// confidential side of a *shield*. The ledger accepts it only inside that shielded transaction, whose
    /// proof shows the same amount entering the note tree.
    ToShielded {
        /// The shielded transaction's binding hash (its statement and note ciphertexts), so that this
        /// confidential part cannot be detached and attached to another shielded transaction.
        binding: Hash32,
    },
    /// Value leaving the shielded pool into confidential outputs: the confidential side of an *unshield*. Its
    /// authority is the shielded proof (no issuer signs); the ledger accepts it only inside the shielded
    /// transaction it names.
    FromShielded {
        /// The shielded transaction's binding hash.
        binding: Hash32,
    },
}

impl PublicKind {
    pub(crate) fn tag(&self) -> u8 {
        match self {
            Self::Issue { .. } => 0,
            Self::Burn => 1,
            Self::Fee => 2,
            Self::ToShielded { .. } => 3,
            Self::FromShielded { .. } => 4,
        }
    }

    /// Whether value of this kind enters the confidential pool (issue, from the shielded pool) rather than
    /// leaving it (burn, fee, to the shielded pool).
    pub fn enters_pool(&self) -> bool {
        matches!(self, Self::Issue { .. } | Self::FromShielded { .. })
    }

    /// Whether this amount crosses between the confidential and the shielded pool.
    pub fn crosses_pools(&self) -> bool {
        matches!(self, Self::ToShielded { .. } | Self::FromShielded { .. })
    }
}

/// A public amount of an asset entering (issue, unshield) or leaving (burn, fee, shield) the confidential pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicAmount {
    /// The asset.
    pub asset: AssetId,
    /// Issue, burn or fee.
    pub kind: PublicKind,
    /// The amount, in the asset's smallest unit.
    pub amount: u64,
}

impl PublicAmount {
    /// The canonical sort key: entries are strictly increasing by (asset, kind).
    pub(crate) fn sort_key(&self) -> (AssetId, u8) {
        (self.asset, self.kind.tag())
    }
}

impl Encode for PublicAmount {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.asset);
        w.u8(self.kind.tag());
        match &self.kind {
            PublicKind::Issue { issuer } => w.put(issuer),
            PublicKind::ToShielded { binding } | PublicKind::FromShielded { binding } => w.put(binding),
            PublicKind::Burn | PublicKind::Fee => {}
        }
        w.u64(self.amount);
    }
}

impl Decode for PublicAmount {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let asset = r.get()?;
        let kind = match r.u8("public amount kind")? {
            0 => PublicKind::Issue { issuer: read_point(r, "issuer key")? },
            1 => PublicKind::Burn,
            2 => PublicKind::Fee,
            3 => PublicKind::ToShielded { binding: r.get()? },
            4 => PublicKind::FromShielded { binding: r.get()? },
            tag => return Err(DecodeError::InvalidTag { field: "public amount kind", tag: u32::from(tag) }),
        };
        Ok(Self { asset, kind, amount: r.u64("public amount")? })
    }
}

/// The statement of a transaction: everything that its id covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxBody {
    /// Format version ([`TX_VERSION`]).
    pub version: u16,
    /// The chain this transaction is for.
    pub chain_id: String,
    /// The audit keys the outputs are encrypted to (must be the chain's current ones).
    pub audit_keys: Vec<AuditPublicKey>,
    /// Spent outputs.
    pub inputs: Vec<Input>,
    /// New outputs.
    pub outputs: Vec<Output>,
    /// Public amounts (issue, burn, fee), strictly increasing by (asset, kind).
    pub public: Vec<PublicAmount>,
    /// For each audit key, the sender's identity (the owner of every input) encrypted to it; empty when the
    /// transaction spends nothing.
    pub sender_identities: Vec<IdentityCiphertext>,
}

impl Encode for TxBody {
    fn encode_to(&self, w: &mut Writer) {
        w.u16(self.version);
        w.str(&self.chain_id);
        w.seq(&self.audit_keys);
        w.seq(&self.inputs);
        w.seq(&self.outputs);
        w.seq(&self.public);
        w.seq(&self.sender_identities);
    }
}

impl Decode for TxBody {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u16("version")?;
        if version != TX_VERSION {
            return Err(DecodeError::InvalidTag { field: "transaction version", tag: u32::from(version) });
        }
        Ok(Self {
            version,
            chain_id: r.string("chain id", MAX_CHAIN_ID_LEN)?,
            audit_keys: r.seq("audit keys", MAX_AUDIT_KEYS)?,
            inputs: r.seq("inputs", MAX_INPUTS)?,
            outputs: r.seq("outputs", MAX_OUTPUTS)?,
            public: r.seq("public amounts", MAX_PUBLIC_AMOUNTS)?,
            sender_identities: r.seq("sender identities", MAX_AUDIT_KEYS)?,
        })
    }
}

impl TxBody {
    /// The transaction id.
    pub fn id(&self) -> TxId {
        let mut h = Sm3Hasher::new("ctchain/tx-id/v1");
        h.put(self);
        TxId(h.finish())
    }

    /// The distinct assets of the outputs, in increasing order: the order of the range proofs.
    pub fn output_assets(&self) -> Vec<AssetId> {
        let mut assets: Vec<AssetId> = self.outputs.iter().map(|o| o.asset).collect();
        assets.sort();
        assets.dedup();
        assets
    }
}

/// The proofs and signatures of a transaction; not covered by its id.
#[derive(Clone, Debug)]
pub struct TxWitness {
    /// One aggregated range proof per output asset, in [`TxBody::output_assets`] order.
    pub range_proofs: Vec<RangeProof>,
    /// One audit validity proof per output.
    pub audit_proofs: Vec<AuditValidityProof>,
    /// The balance signature under the excess.
    pub balance_signature: Signature,
    /// One signature per input, by its one-time owner key.
    pub owner_signatures: Vec<Signature>,
    /// One signature per issue entry of the public amounts, by its issuer key.
    pub issuer_signatures: Vec<Signature>,
    /// One proof per output that its receiver identities encrypt the identity its one-time key belongs to
    /// (none when the chain has no audit key).
    pub receiver_proofs: Vec<PartyProof>,
    /// The proof that the sender identities encrypt the owner of every input (present exactly when there are
    /// inputs and audit keys).
    pub sender_proof: Option<PartyProof>,
}

impl PartialEq for TxWitness {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}
impl Eq for TxWitness {}

impl Encode for TxWitness {
    fn encode_to(&self, w: &mut Writer) {
        w.len(self.range_proofs.len());
        for p in &self.range_proofs {
            w.bytes(&p.to_bytes());
        }
        w.seq(&self.audit_proofs);
        w.put(&self.balance_signature);
        w.seq(&self.owner_signatures);
        w.seq(&self.issuer_signatures);
        w.seq(&self.receiver_proofs);
        w.option(&self.sender_proof);
    }
}

impl Decode for TxWitness {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.len("range proofs", MAX_OUTPUTS)?;
        let mut range_proofs = Vec::with_capacity(n);
        for _ in 0..n {
            let bytes = r.bytes("range proof", MAX_RANGE_PROOF_LEN)?;
            let proof = RangeProof::from_bytes(bytes)
                .map_err(|_| DecodeError::Invalid { field: "range proof", reason: "malformed Bulletproof" })?;
            // from_bytes checks scalars are canonical and stores points as given, so this only fails on an
            // encoding the library would not have produced.
            if proof.to_bytes() != bytes {
                return Err(DecodeError::Invalid { field: "range proof", reason: "non-canonical encoding" });
            }
            range_proofs.push(proof);
        }
        Ok(Self {
            range_proofs,
            audit_proofs: r.seq("audit proofs", MAX_OUTPUTS)?,
            balance_signature: r.get()?,
            owner_signatures: r.seq("owner signatures", MAX_INPUTS)?,
            issuer_signatures: r.seq("issuer signatures", MAX_PUBLIC_AMOUNTS)?,
            receiver_proofs: r.seq("receiver proofs", MAX_OUTPUTS)?,
            sender_proof: r.option("sender proof")?,
        })
    }
}

/// A transaction as it travels: body and witness. Not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    /// The statement.
    pub body: TxBody,
    /// The proofs and signatures.
    pub witness: TxWitness,
}

impl Transaction {
    /// The transaction id (of the body).
    pub fn id(&self) -> TxId {
        self.body.id()
    }
}

impl Encode for Transaction {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.body);
        w.put(&self.witness);
    }
}

impl Decode for Transaction {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { body: r.get()?, witness: r.get()? })
    }
}
