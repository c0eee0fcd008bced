//! Shielded transactions on the ledger: a Groth16 transfer of the shielded pool ([`ctchain_circuits`]), with an
//! optional confidential part when value crosses between the pools.
//!
//! ## Shape and binding
//! A [`ShieldedTx`] carries the transfer statement (anchor, nullifiers, note commitments, public values, the
//! regulator's copies), the receivers' note ciphertexts, the proof, and for a *shield* or *unshield* the
//! confidential transaction on the other side of the boundary (its `crossing`). Two hashes tie the parts:
//!
//! * the **binding** `SM3("ctchain/shielded-binding/v1", chain id, statement, note ciphertexts)`, which the
//!   crossing's `ToShielded`/`FromShielded` public amount names — so the confidential part, and the owner
//!   signatures over it, belong to this statement and no other;
//! * the **id** `SM3("ctchain/shielded-tx/v1", binding, crossing id?)`, which the proof takes as a public input —
//!   so the proof cannot be moved to another transaction, nor the crossing swapped for another one.
//!
//! Neither hash covers the proof (Groth16 proofs are re-randomisable) and the crossing's id excludes its
//! signatures, as for every confidential transaction.
//!
//! ## What the stateless phase checks ([`ShieldedTx::verify`])
//! The chain id; that the crossing exists exactly when value crosses, moves the statement's public value of the
//! statement's public asset in the right direction, names this binding and carries nothing else but fees;
//! the crossing's own proofs and signatures; the Groth16 proof over the statement and the id. What needs state
//! — recent anchor, unseen nullifiers, the chain's shielded audit key, the pool turnstile — is phase three
//! ([`crate::Ledger`]).

use std::sync::Arc;

use ctchain_circuits::{
    AssetTag, AuditPublicKey as ShieldedAuditKey, NoteCiphertext, NoteCommitment, TransferProof, TransferStatement,
    TransferVerifyingKey, VerifiedTransfer,
};
use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Sm3Hasher, Writer};
use ctchain_crypto::{AssetId, PublicKind, Transaction, TxId, VerifiedTransaction, Verifier};

use crate::error::TxRejection;

/// Most recent note-tree roots a genesis may keep valid as anchors.
pub const MAX_RECENT_ROOTS: u32 = 10_000;

/// The shielded pool's parameters, fixed at genesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShieldedConfig {
    /// SM3 of the transfer circuit's verifying-key file (`params/transfer.vk`): every node checks it loaded
    /// exactly these parameters.
    pub verifying_key_hash: Hash32,
    /// The regulator's Baby Jubjub key that every shielded output's audit copy is encrypted to (and proven to be).
    pub audit_key: ShieldedAuditKey,
    /// How many of the most recent note-tree roots (one per block that changed the tree) are valid anchors.
    pub recent_roots: u32,
}

impl Encode for ShieldedConfig {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.verifying_key_hash);
        w.fixed(&self.audit_key.to_bytes());
        w.u32(self.recent_roots);
    }
}

impl Decode for ShieldedConfig {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let verifying_key_hash = r.get()?;
        let audit_key = ShieldedAuditKey::from_bytes(&r.array("shielded audit key")?)
            .map_err(|_| DecodeError::Invalid { field: "shielded audit key", reason: "not a valid Baby Jubjub key" })?;
        let recent_roots = r.u32("recent roots")?;
        Ok(Self { verifying_key_hash, audit_key, recent_roots })
    }
}

/// A shielded transfer, shield or unshield.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShieldedTx {
    /// The chain it is for.
    pub chain_id: String,
    /// The public statement the proof is about.
    pub statement: TransferStatement,
    /// Each output note, encrypted to its receiver (not proven: a garbled one only fails its own payee).
    pub note_ciphertexts: [NoteCiphertext; 2],
    /// The confidential side when value crosses the pool boundary (`public_in` or `public_out` non-zero).
    pub crossing: Option<Transaction>,
    /// The Groth16 proof for the statement and [`ShieldedTx::id`].
    pub proof: TransferProof,
}

/// What crosses the pool boundary in a shielded transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crossing {
    /// Value moves from the confidential pool into notes.
    Shield {
        /// The asset.
        asset: AssetId,
        /// The amount.
        amount: u64,
    },
    /// Value moves from notes into confidential outputs.
    Unshield {
        /// The asset.
        asset: AssetId,
        /// The amount.
        amount: u64,
    },
}

impl ShieldedTx {
    /// The hash the crossing's public amount names.
    pub fn binding(&self) -> Hash32 {
        binding_hash(&self.chain_id, &self.statement, &self.note_ciphertexts)
    }

    /// The transaction id (a public input of the proof).
    pub fn id(&self) -> TxId {
        shielded_tx_id(&self.binding(), self.crossing.as_ref().map(Transaction::id).as_ref())
    }

    /// What crosses the boundary, read from the crossing (`None` for a transfer inside the pool, or for a
    /// crossing that does not name exactly one boundary amount — the stateless phase refuses those).
    pub fn crossing_kind(&self) -> Option<Crossing> {
        let tx = self.crossing.as_ref()?;
        let mut found = tx.body.public.iter().filter(|p| p.kind.crosses_pools());
        let p = found.next()?;
        if found.next().is_some() {
            return None;
        }
        Some(match p.kind {
            PublicKind::ToShielded { .. } => Crossing::Shield { asset: p.asset, amount: p.amount },
            _ => Crossing::Unshield { asset: p.asset, amount: p.amount },
        })
    }

    /// Phase one: the checks that need no state (see the module documentation).
    pub fn verify(self, verifier: &ChainVerifier) -> Result<VerifiedShielded, TxRejection> {
        let keys = verifier.shielded.as_ref().ok_or(TxRejection::ShieldedPoolDisabled)?;
        if self.chain_id != verifier.confidential.chain_id() {
            return Err(TxRejection::ShieldedWrongChain);
        }
        let binding = self.binding();
        let s = &self.statement;
        let crossing = match (&self.crossing, s.public_in, s.public_out) {
            (None, 0, 0) => None,
            (None, _, _) => return Err(TxRejection::MissingCrossing),
            (Some(_), 0, 0) => return Err(TxRejection::UnexpectedCrossing),
            (Some(_), i, o) if i != 0 && o != 0 => {
                return Err(TxRejection::MalformedCrossing("value both enters and leaves the shielded pool"))
            }
            (Some(tx), _, _) => {
                let mut boundary = None;
                for p in &tx.body.public {
                    match p.kind {
                        PublicKind::Fee => {}
                        PublicKind::ToShielded { binding: b } | PublicKind::FromShielded { binding: b } => {
                            if b != binding {
                                return Err(TxRejection::MalformedCrossing("names another shielded transaction"));
                            }
                            if boundary.replace(p).is_some() {
                                return Err(TxRejection::MalformedCrossing("more than one boundary amount"));
                            }
                        }
                        PublicKind::Issue { .. } | PublicKind::Burn => {
                            return Err(TxRejection::MalformedCrossing("issues or burns besides crossing"))
                        }
                    }
                }
                let p = boundary.ok_or(TxRejection::MalformedCrossing("no boundary amount"))?;
                let (direction_ok, value) = match p.kind {
                    PublicKind::ToShielded { .. } => (s.public_in != 0, s.public_in),
                    _ => (s.public_out != 0, s.public_out),
                };
                if !direction_ok {
                    return Err(TxRejection::MalformedCrossing("moves value the other way than the proof"));
                }
                if p.amount != value {
                    return Err(TxRejection::MalformedCrossing("amount differs from the proof's public value"));
                }
                if AssetTag::from_asset_id(&p.asset.0) != s.public_asset {
                    return Err(TxRejection::MalformedCrossing("asset differs from the proof's public asset"));
                }
                Some(verifier.confidential.verify(tx.clone())?)
            }
        };
        let id = shielded_tx_id(&binding, crossing.as_ref().map(VerifiedTransaction::id).as_ref());
        let transfer =
            ctchain_circuits::verify_transfer(&keys.verifying_key, self.statement.clone(), id.as_bytes(), &self.proof)
                .map_err(TxRejection::Shielded)?;
        Ok(VerifiedShielded { tx: Arc::new(self), id, transfer, crossing })
    }
}

/// The binding hash of a shielded transaction's parts (see the module documentation): what a wallet puts in the
/// crossing's `ToShielded`/`FromShielded` amount before it builds the crossing.
pub fn binding_hash(chain_id: &str, statement: &TransferStatement, ciphertexts: &[NoteCiphertext; 2]) -> Hash32 {
    let mut h = Sm3Hasher::new("ctchain/shielded-binding/v1");
    let mut w = Writer::new();
    w.str(chain_id);
    w.put(statement);
    w.put(&ciphertexts[0]);
    w.put(&ciphertexts[1]);
    h.update(w.as_bytes());
    h.finish()
}

/// The id of a shielded transaction with this binding hash and crossing (what the wallet proves for).
pub fn shielded_tx_id(binding: &Hash32, crossing: Option<&TxId>) -> TxId {
    let mut h = Sm3Hasher::new("ctchain/shielded-tx/v1");
    h.update(binding.as_bytes());
    if let Some(id) = crossing {
        h.update(id.as_bytes());
    }
    TxId(h.finish())
}

impl Encode for ShieldedTx {
    fn encode_to(&self, w: &mut Writer) {
        w.str(&self.chain_id);
        w.put(&self.statement);
        w.put(&self.note_ciphertexts[0]);
        w.put(&self.note_ciphertexts[1]);
        w.option(&self.crossing);
        w.put(&self.proof);
    }
}

impl Decode for ShieldedTx {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let chain_id = r.string("chain id", ctchain_crypto::tx::MAX_CHAIN_ID_LEN)?;
        let statement = r.get()?;
        let note_ciphertexts = [r.get()?, r.get()?];
        let crossing = r.option("crossing")?;
        Ok(Self { chain_id, statement, note_ciphertexts, crossing, proof: r.get()? })
    }
}

/// The shielded pool's verifying key as this node loaded it, checked against the genesis.
#[derive(Clone, Debug)]
pub struct ShieldedKeys {
    /// The prepared verifying key.
    pub verifying_key: TransferVerifyingKey,
}

/// Everything phase one needs for every kind of ledger transaction: the confidential verifier (chain id, audit
/// keys) and, when the genesis enables the shielded pool and the node loaded its parameters, the verifying key.
#[derive(Clone, Debug)]
pub struct ChainVerifier {
    /// Confidential transactions.
    pub confidential: Verifier,
    /// Shielded transactions (`None`: they are refused with [`TxRejection::ShieldedPoolDisabled`]).
    pub shielded: Option<Arc<ShieldedKeys>>,
}

impl ChainVerifier {
    /// The chain id.
    pub fn chain_id(&self) -> &str {
        self.confidential.chain_id()
    }
}

/// A shielded transaction that passed phase one. Only [`ShieldedTx::verify`] makes one.
#[derive(Clone, Debug)]
pub struct VerifiedShielded {
    tx: Arc<ShieldedTx>,
    id: TxId,
    transfer: VerifiedTransfer,
    crossing: Option<VerifiedTransaction>,
}

impl VerifiedShielded {
    /// The transaction.
    pub fn tx(&self) -> &ShieldedTx {
        &self.tx
    }

    /// Its id.
    pub fn id(&self) -> TxId {
        self.id
    }

    /// The verified transfer (for the stateful checks).
    pub fn transfer(&self) -> &VerifiedTransfer {
        &self.transfer
    }

    /// The verified confidential side, if value crosses.
    pub fn crossing(&self) -> Option<&VerifiedTransaction> {
        self.crossing.as_ref()
    }
}

/// A note commitment in the ledger's tree, with what a wallet needs to find and spend it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteRecord {
    /// Its leaf position in the note tree.
    pub position: u64,
    /// The commitment.
    pub commitment: NoteCommitment,
    /// The note encrypted to its receiver.
    pub ciphertext: NoteCiphertext,
    /// The shielded transaction that created it.
    pub tx_id: TxId,
    /// Its block height.
    pub height: u64,
}

impl Encode for NoteRecord {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.position);
        w.put(&self.commitment);
        w.put(&self.ciphertext);
        w.put(&self.tx_id);
        w.u64(self.height);
    }
}

impl Decode for NoteRecord {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            position: r.u64("note position")?,
            commitment: r.get()?,
            ciphertext: r.get()?,
            tx_id: r.get()?,
            height: r.u64("note height")?,
        })
    }
}

/// When a nullifier was revealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NullifierRecord {
    /// The shielded transaction that revealed it.
    pub tx_id: TxId,
    /// Its block height.
    pub height: u64,
}

impl Encode for NullifierRecord {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.tx_id);
        w.u64(self.height);
    }
}

impl Decode for NullifierRecord {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { tx_id: r.get()?, height: r.u64("nullifier height")? })
    }
}
