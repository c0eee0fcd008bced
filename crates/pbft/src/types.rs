//! Protocol values and their canonical encoding (paper §4.2: the message formats).
//!
//! Every message that a replica sends is a [`Signed`] body: the signature covers a domain-separated SM3 digest of
//! the chain id, the message kind, the signer and the canonical encoding of the body (see [`signing_digest`]), so
//! a signature for one chain, one kind of message or one signer can never be replayed as another.

use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Sm3Hasher, Writer};

/// Index of a validator in the validator set (`0..n`).
pub type ReplicaId = u32;
/// A view number; the primary of view `v` is `v mod n` (paper §4.1).
pub type View = u64;
/// A sequence number; one block per sequence number, starting at 1 (0 is the genesis checkpoint).
pub type Seq = u64;
/// The number of a validator set: 0 for the genesis set, then one more for every reconfiguration
/// ([`crate::EpochSchedule`]).
pub type Epoch = u64;

/// Largest opaque block payload a message may carry (2 000 confidential transfers take about 10 MiB).
pub const MAX_PAYLOAD_BYTES: usize = 16 << 20;
/// Largest signature or public key, in bytes (Ed25519 uses 64 and 32).
pub const MAX_KEY_OR_SIG_BYTES: usize = 128;
/// Largest validator set.
pub const MAX_VALIDATORS: usize = 256;
/// Largest number of prepared certificates in one view-change message (bounded by the window).
pub const MAX_PREPARED_CERTS: usize = 1024;
/// Largest number of blocks in one catch-up response.
pub const MAX_FETCH_BLOCKS: usize = 64;
/// Largest chain id, in bytes.
pub const MAX_CHAIN_ID_BYTES: usize = 64;

/// A public key of a validator, as bytes of the signature scheme in use.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct PublicKey(pub Vec<u8>);

/// A signature, as bytes of the signature scheme in use.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Signature(pub Vec<u8>);

impl Encode for PublicKey {
    fn encode_to(&self, w: &mut Writer) {
        w.bytes(&self.0);
    }
}
impl Decode for PublicKey {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.bytes("public key", MAX_KEY_OR_SIG_BYTES)?.to_vec()))
    }
}
impl Encode for Signature {
    fn encode_to(&self, w: &mut Writer) {
        w.bytes(&self.0);
    }
}
impl Decode for Signature {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.bytes("signature", MAX_KEY_OR_SIG_BYTES)?.to_vec()))
    }
}

/// What is ordered at one sequence number. The payload is opaque to consensus; the application validates it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Block {
    /// The null request of the paper (§4.4): fills a gap left by a view change, carries nothing.
    Null,
    /// A block proposed by a primary.
    Data {
        /// The primary's clock when it proposed, in milliseconds (see the time rule in the crate docs).
        timestamp: u64,
        /// Opaque application bytes.
        payload: Vec<u8>,
    },
}

impl Block {
    /// The block's digest at sequence number `seq` on chain `chain_id`. The sequence number is part of the digest,
    /// so a certificate for one height can never be moved to another.
    pub fn digest(&self, chain_id: &str, seq: Seq) -> Hash32 {
        let mut w = Writer::new();
        w.str(chain_id);
        w.u64(seq);
        self.encode_to(&mut w);
        Sm3Hasher::digest("ctchain/pbft/block/v1", w.as_bytes())
    }

    /// The timestamp of a data block.
    pub fn timestamp(&self) -> Option<u64> {
        match self {
            Block::Null => None,
            Block::Data { timestamp, .. } => Some(*timestamp),
        }
    }

    /// The digest of the null block at `seq`: what `O` names for a sequence number no view change prepared.
    pub fn null_digest(chain_id: &str, seq: Seq) -> Hash32 {
        Block::Null.digest(chain_id, seq)
    }

    /// Whether this is the null request.
    pub fn is_null(&self) -> bool {
        matches!(self, Block::Null)
    }
}

impl Encode for Block {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Block::Null => w.u8(0),
            Block::Data { timestamp, payload } => {
                w.u8(1);
                w.u64(*timestamp);
                w.bytes(payload);
            }
        }
    }
}
impl Decode for Block {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("block tag")? {
            0 => Ok(Block::Null),
            1 => Ok(Block::Data {
                timestamp: r.u64("block timestamp")?,
                payload: r.bytes("block payload", MAX_PAYLOAD_BYTES)?.to_vec(),
            }),
            tag => Err(DecodeError::InvalidTag { field: "block tag", tag: u32::from(tag) }),
        }
    }
}

/// A body that can be signed: it names its message kind so that signatures are domain-separated by kind.
pub trait Signable: Encode {
    /// The message kind, part of the signing digest.
    const KIND: u8;
}

/// The 32 bytes a validator signs for `body`:
/// `SM3("ctchain/pbft/sign/v2", chain_id ‖ epoch ‖ kind ‖ signer ‖ body)`. The epoch (the validator set's number,
/// see [`crate::EpochSchedule`]) is bound so that a signature made as validator `i` of one epoch never counts for
/// validator `i` of another, whose key or whose statement may differ.
pub fn signing_digest<T: Signable>(chain_id: &str, epoch: Epoch, signer: ReplicaId, body: &T) -> Hash32 {
    let mut w = Writer::new();
    w.str(chain_id);
    w.u64(epoch);
    w.u8(T::KIND);
    w.u32(signer);
    body.encode_to(&mut w);
    Sm3Hasher::digest("ctchain/pbft/sign/v2", w.as_bytes())
}

/// A body together with its signer and the signer's signature.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Signed<T> {
    /// The signed body.
    pub body: T,
    /// The epoch whose validator set `signer` indexes (bound by the signature).
    pub epoch: Epoch,
    /// Who signed it.
    pub signer: ReplicaId,
    /// The signature over [`signing_digest`].
    pub signature: Signature,
}

impl<T: Encode> Encode for Signed<T> {
    fn encode_to(&self, w: &mut Writer) {
        self.body.encode_to(w);
        w.u64(self.epoch);
        w.u32(self.signer);
        self.signature.encode_to(w);
    }
}
impl<T: Decode> Decode for Signed<T> {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            body: T::decode_from(r)?,
            epoch: r.u64("epoch")?,
            signer: r.u32("signer")?,
            signature: Signature::decode_from(r)?,
        })
    }
}

/// `⟨PRE-PREPARE, v, n, d⟩`, what the primary signs (§4.2). The block travels beside it ([`Proposal`]), never
/// inside a signed statement: prepared certificates and new-view messages carry this header only, so view-change
/// traffic stays small whatever the block size, and a replica that lacks a block fetches it by digest.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PrePrepare {
    /// View.
    pub view: View,
    /// Sequence number.
    pub seq: Seq,
    /// Digest of the proposed block, [`Block::digest`] at `seq`.
    pub digest: Hash32,
}

/// `⟨⟨PRE-PREPARE, v, n, d⟩σp, m⟩` (§4.2): the primary's signed header with the block it names. A receiver checks
/// that the block's digest is the header's; the block itself needs no signature.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Proposal {
    /// The signed header.
    pub pre_prepare: Signed<PrePrepare>,
    /// The block whose digest the header names.
    pub block: Block,
}

/// Asks a replica for the block with `digest` at `seq`: a replica that entered a view whose `O` names a block it
/// never received (or lost in a restart) fetches it from one that prepared it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BlockRequest {
    /// Sequence number.
    pub seq: Seq,
    /// The digest the block must have.
    pub digest: Hash32,
}

/// Answer to a [`BlockRequest`]. The requester checks the block against the digest it asked for, so the responder
/// need not be trusted.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BlockResponse {
    /// Sequence number.
    pub seq: Seq,
    /// The block.
    pub block: Block,
}

/// `⟨PREPARE, v, n, d, i⟩` (§4.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Prepare {
    /// View.
    pub view: View,
    /// Sequence number.
    pub seq: Seq,
    /// Block digest.
    pub digest: Hash32,
}

/// `⟨COMMIT, v, n, d, i⟩` (§4.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Commit {
    /// View.
    pub view: View,
    /// Sequence number.
    pub seq: Seq,
    /// Block digest.
    pub digest: Hash32,
}

/// `⟨CHECKPOINT, n, d, i⟩` (§4.3): `digest` is the chain digest after executing sequence number `seq`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Checkpoint {
    /// Sequence number, a multiple of the checkpoint interval.
    pub seq: Seq,
    /// Chain digest after `seq`.
    pub digest: Hash32,
}

/// A list of `(signer, signature)` over one body, sorted by signer with no repeats.
pub type QuorumSignatures = Vec<(ReplicaId, Signature)>;

fn encode_sigs(w: &mut Writer, sigs: &QuorumSignatures) {
    w.len(sigs.len());
    for (id, sig) in sigs {
        w.u32(*id);
        sig.encode_to(w);
    }
}

fn decode_sigs(r: &mut Reader<'_>) -> Result<QuorumSignatures, DecodeError> {
    let len = r.len("signatures", MAX_VALIDATORS)?;
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        out.push((r.u32("signature signer")?, Signature::decode_from(r)?));
    }
    Ok(out)
}

/// Proof that a checkpoint is stable: a quorum of matching checkpoint signatures (§4.3). The genesis checkpoint
/// (sequence number 0) needs no signatures.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CheckpointProof {
    /// Sequence number.
    pub seq: Seq,
    /// Chain digest after `seq`.
    pub digest: Hash32,
    /// Checkpoint signatures.
    pub signatures: QuorumSignatures,
}

/// A prepared certificate (§4.4, the set `P_m`): the primary's pre-prepare header and a quorum minus one matching
/// prepares from other replicas. It names the block by digest only.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PreparedCert {
    /// The pre-prepare header signed by the primary of its view.
    pub pre_prepare: Signed<PrePrepare>,
    /// Prepare signatures over `Prepare { view, seq, digest }` of the header.
    pub prepares: QuorumSignatures,
}

/// Commit certificate: a quorum (2f + 1) of commit signatures for one block at one height in one view. This is the
/// evidence of finality that lagging replicas and auditors check with [`crate::verify_committed`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CommitCertificate {
    /// View of the commits.
    pub view: View,
    /// Sequence number.
    pub seq: Seq,
    /// Block digest.
    pub digest: Hash32,
    /// Commit signatures over `Commit { view, seq, digest }`.
    pub signatures: QuorumSignatures,
}

/// A committed block with its certificate, as delivered to the application and served to lagging replicas.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CommittedBlock {
    /// Sequence number (height).
    pub seq: Seq,
    /// The block.
    pub block: Block,
    /// The commit certificate.
    pub cert: CommitCertificate,
}

/// `⟨VIEW-CHANGE, v + 1, n, C, P, i⟩` (§4.4).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ViewChange {
    /// The view the sender moves to.
    pub new_view: View,
    /// The sender's last stable checkpoint with its proof (`n` and `C`).
    pub stable: CheckpointProof,
    /// Prepared certificates for sequence numbers above the stable checkpoint (`P`), at most one per number.
    pub prepared: Vec<PreparedCert>,
}

/// `⟨NEW-VIEW, v + 1, V, O⟩` (§4.4).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NewView {
    /// The new view.
    pub view: View,
    /// A quorum of view-change messages for `view` (`V`).
    pub view_changes: Vec<Signed<ViewChange>>,
    /// The pre-prepare headers the new primary computed from `V` (`O`), in sequence order; a gap is filled with
    /// the digest of the null block at that sequence number.
    pub pre_prepares: Vec<Signed<PrePrepare>>,
}

/// Catch-up request: committed blocks `from..=to` (§4.3 state transfer, simplified to blocks with certificates).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FetchRequest {
    /// First sequence number wanted.
    pub from: Seq,
    /// Last sequence number wanted.
    pub to: Seq,
}

/// Catch-up response. Each block carries its own certificate, so the responder does not need to be trusted.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FetchResponse {
    /// Blocks in increasing order of sequence number.
    pub blocks: Vec<CommittedBlock>,
}

/// Every message on the wire.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Message {
    /// Pre-prepare from the primary, with its block.
    PrePrepare(Proposal),
    /// Prepare from a backup.
    Prepare(Signed<Prepare>),
    /// Commit.
    Commit(Signed<Commit>),
    /// Checkpoint.
    Checkpoint(Signed<Checkpoint>),
    /// View change.
    ViewChange(Signed<ViewChange>),
    /// New view from the new primary.
    NewView(Signed<NewView>),
    /// Catch-up request.
    FetchRequest(Signed<FetchRequest>),
    /// Catch-up response.
    FetchResponse(Signed<FetchResponse>),
    /// Request for one block by digest.
    BlockRequest(Signed<BlockRequest>),
    /// A block asked for by digest.
    BlockResponse(Signed<BlockResponse>),
}

impl Message {
    /// Who signed the message.
    pub fn signer(&self) -> ReplicaId {
        match self {
            Message::PrePrepare(m) => m.pre_prepare.signer,
            Message::Prepare(m) => m.signer,
            Message::Commit(m) => m.signer,
            Message::Checkpoint(m) => m.signer,
            Message::ViewChange(m) => m.signer,
            Message::NewView(m) => m.signer,
            Message::FetchRequest(m) => m.signer,
            Message::FetchResponse(m) => m.signer,
            Message::BlockRequest(m) => m.signer,
            Message::BlockResponse(m) => m.signer,
        }
    }

    /// The epoch whose validator set the signer indexes.
    pub fn epoch(&self) -> Epoch {
        match self {
            Message::PrePrepare(m) => m.pre_prepare.epoch,
            Message::Prepare(m) => m.epoch,
            Message::Commit(m) => m.epoch,
            Message::Checkpoint(m) => m.epoch,
            Message::ViewChange(m) => m.epoch,
            Message::NewView(m) => m.epoch,
            Message::FetchRequest(m) => m.epoch,
            Message::FetchResponse(m) => m.epoch,
            Message::BlockRequest(m) => m.epoch,
            Message::BlockResponse(m) => m.epoch,
        }
    }

    /// The sequence number the message speaks about, for the kinds that name one: it must lie in the message's
    /// epoch.
    pub fn seq(&self) -> Option<Seq> {
        match self {
            Message::PrePrepare(m) => Some(m.pre_prepare.body.seq),
            Message::Prepare(m) => Some(m.body.seq),
            Message::Commit(m) => Some(m.body.seq),
            Message::Checkpoint(m) => Some(m.body.seq),
            Message::BlockRequest(m) => Some(m.body.seq),
            _ => None,
        }
    }

    /// The view the message belongs to, for the view-dependent kinds.
    pub fn view(&self) -> Option<View> {
        match self {
            Message::PrePrepare(m) => Some(m.pre_prepare.body.view),
            Message::Prepare(m) => Some(m.body.view),
            Message::Commit(m) => Some(m.body.view),
            Message::ViewChange(m) => Some(m.body.new_view),
            Message::NewView(m) => Some(m.body.view),
            _ => None,
        }
    }

    /// A short name for traces.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::PrePrepare(_) => "pre-prepare",
            Message::Prepare(_) => "prepare",
            Message::Commit(_) => "commit",
            Message::Checkpoint(_) => "checkpoint",
            Message::ViewChange(_) => "view-change",
            Message::NewView(_) => "new-view",
            Message::FetchRequest(_) => "fetch-request",
            Message::FetchResponse(_) => "fetch-response",
            Message::BlockRequest(_) => "block-request",
            Message::BlockResponse(_) => "block-response",
        }
    }
}

macro_rules! signable {
    ($($t:ident = $k:expr),*) => {$(impl Signable for $t { const KIND: u8 = $k; })*};
}
signable!(
    PrePrepare = 1,
    Prepare = 2,
    Commit = 3,
    Checkpoint = 4,
    ViewChange = 5,
    NewView = 6,
    FetchRequest = 7,
    FetchResponse = 8,
    BlockRequest = 9,
    BlockResponse = 10
);

impl Encode for Proposal {
    fn encode_to(&self, w: &mut Writer) {
        self.pre_prepare.encode_to(w);
        self.block.encode_to(w);
    }
}
impl Decode for Proposal {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { pre_prepare: Signed::decode_from(r)?, block: Block::decode_from(r)? })
    }
}

impl Encode for BlockRequest {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.seq);
        self.digest.encode_to(w);
    }
}
impl Decode for BlockRequest {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { seq: r.u64("seq")?, digest: Hash32::decode_from(r)? })
    }
}

impl Encode for BlockResponse {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.seq);
        self.block.encode_to(w);
    }
}
impl Decode for BlockResponse {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { seq: r.u64("seq")?, block: Block::decode_from(r)? })
    }
}

macro_rules! vote_codec {
    ($($t:ident),*) => {$(
        impl Encode for $t {
            fn encode_to(&self, w: &mut Writer) {
                w.u64(self.view);
                w.u64(self.seq);
                self.digest.encode_to(w);
            }
        }
        impl Decode for $t {
            fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(Self { view: r.u64("view")?, seq: r.u64("seq")?, digest: Hash32::decode_from(r)? })
            }
        }
    )*};
}
vote_codec!(PrePrepare, Prepare, Commit);

impl Encode for Checkpoint {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.seq);
        self.digest.encode_to(w);
    }
}
impl Decode for Checkpoint {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { seq: r.u64("seq")?, digest: Hash32::decode_from(r)? })
    }
}

impl Encode for CheckpointProof {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.seq);
        self.digest.encode_to(w);
        encode_sigs(w, &self.signatures);
    }
}
impl Decode for CheckpointProof {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { seq: r.u64("seq")?, digest: Hash32::decode_from(r)?, signatures: decode_sigs(r)? })
    }
}

impl Encode for PreparedCert {
    fn encode_to(&self, w: &mut Writer) {
        self.pre_prepare.encode_to(w);
        encode_sigs(w, &self.prepares);
    }
}
impl Decode for PreparedCert {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { pre_prepare: Signed::decode_from(r)?, prepares: decode_sigs(r)? })
    }
}

impl Encode for CommitCertificate {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.view);
        w.u64(self.seq);
        self.digest.encode_to(w);
        encode_sigs(w, &self.signatures);
    }
}
impl Decode for CommitCertificate {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            view: r.u64("view")?,
            seq: r.u64("seq")?,
            digest: Hash32::decode_from(r)?,
            signatures: decode_sigs(r)?,
        })
    }
}

impl Encode for CommittedBlock {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.seq);
        self.block.encode_to(w);
        self.cert.encode_to(w);
    }
}
impl Decode for CommittedBlock {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { seq: r.u64("seq")?, block: Block::decode_from(r)?, cert: CommitCertificate::decode_from(r)? })
    }
}

impl Encode for ViewChange {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.new_view);
        self.stable.encode_to(w);
        w.seq(&self.prepared);
    }
}
impl Decode for ViewChange {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            new_view: r.u64("new view")?,
            stable: CheckpointProof::decode_from(r)?,
            prepared: r.seq("prepared certificates", MAX_PREPARED_CERTS)?,
        })
    }
}

impl Encode for NewView {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.view);
        w.seq(&self.view_changes);
        w.seq(&self.pre_prepares);
    }
}
impl Decode for NewView {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            view: r.u64("view")?,
            view_changes: r.seq("view changes", MAX_VALIDATORS)?,
            pre_prepares: r.seq("new-view pre-prepares", MAX_PREPARED_CERTS)?,
        })
    }
}

impl Encode for FetchRequest {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.from);
        w.u64(self.to);
    }
}
impl Decode for FetchRequest {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { from: r.u64("from")?, to: r.u64("to")? })
    }
}

impl Encode for FetchResponse {
    fn encode_to(&self, w: &mut Writer) {
        w.seq(&self.blocks);
    }
}
impl Decode for FetchResponse {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { blocks: r.seq("fetched blocks", MAX_FETCH_BLOCKS)? })
    }
}

impl Encode for Message {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Message::PrePrepare(m) => {
                w.u8(PrePrepare::KIND);
                m.encode_to(w)
            }
            Message::Prepare(m) => {
                w.u8(Prepare::KIND);
                m.encode_to(w)
            }
            Message::Commit(m) => {
                w.u8(Commit::KIND);
                m.encode_to(w)
            }
            Message::Checkpoint(m) => {
                w.u8(Checkpoint::KIND);
                m.encode_to(w)
            }
            Message::ViewChange(m) => {
                w.u8(ViewChange::KIND);
                m.encode_to(w)
            }
            Message::NewView(m) => {
                w.u8(NewView::KIND);
                m.encode_to(w)
            }
            Message::FetchRequest(m) => {
                w.u8(FetchRequest::KIND);
                m.encode_to(w)
            }
            Message::FetchResponse(m) => {
                w.u8(FetchResponse::KIND);
                m.encode_to(w)
            }
            Message::BlockRequest(m) => {
                w.u8(BlockRequest::KIND);
                m.encode_to(w)
            }
            Message::BlockResponse(m) => {
                w.u8(BlockResponse::KIND);
                m.encode_to(w)
            }
        }
    }
}
impl Decode for Message {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8("message kind")? {
            PrePrepare::KIND => Message::PrePrepare(Proposal::decode_from(r)?),
            Prepare::KIND => Message::Prepare(Signed::decode_from(r)?),
            Commit::KIND => Message::Commit(Signed::decode_from(r)?),
            Checkpoint::KIND => Message::Checkpoint(Signed::decode_from(r)?),
            ViewChange::KIND => Message::ViewChange(Signed::decode_from(r)?),
            NewView::KIND => Message::NewView(Signed::decode_from(r)?),
            FetchRequest::KIND => Message::FetchRequest(Signed::decode_from(r)?),
            FetchResponse::KIND => Message::FetchResponse(Signed::decode_from(r)?),
            BlockRequest::KIND => Message::BlockRequest(Signed::decode_from(r)?),
            BlockResponse::KIND => Message::BlockResponse(Signed::decode_from(r)?),
            tag => return Err(DecodeError::InvalidTag { field: "message kind", tag: u32::from(tag) }),
        })
    }
}

/// The chain digest after executing `block` (digest `block_digest`) at `seq` on top of `previous`:
/// `SM3("ctchain/pbft/chain/v1", previous ‖ seq ‖ block_digest)`. Checkpoints sign it.
pub fn chain_digest(previous: &Hash32, seq: Seq, block_digest: &Hash32) -> Hash32 {
    let mut h = Sm3Hasher::new("ctchain/pbft/chain/v1");
    h.put(previous).put(&seq).put(block_digest);
    h.finish()
}

/// The chain digest at sequence number 0.
pub fn genesis_digest(chain_id: &str) -> Hash32 {
    let mut w = Writer::new();
    w.str(chain_id);
    Sm3Hasher::digest("ctchain/pbft/genesis/v1", w.as_bytes())
}
