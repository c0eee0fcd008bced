//! Building, proving and verifying a shielded transfer.
//!
//! The flow is two-phase because the proof is bound to the transaction id, and the id covers the transaction's
//! body (nullifiers, commitments, ciphertexts) but never the proof (Groth16 proofs are re-randomisable):
//!
//! 1. [`TransferRequest::build`] checks the request natively (ownership, membership at the anchor, one asset,
//!    balance), draws every randomness, and returns an [`UnprovenTransfer`]: the public [`TransferStatement`],
//!    the receivers' note ciphertexts, and the private witness.
//! 2. The caller computes the transaction id over the statement and whatever else the transaction carries.
//! 3. [`UnprovenTransfer::prove`] proves the statement for that id.
//! 4. Validators call [`verify`]: statement checks first (cheap, no pairing), then the Groth16 verification with
//!    the id as public input. Against chain state they must still check the anchor ([`crate::RecentRoots`]) and
//!    that no nullifier was seen before.

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey};
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_snark::SNARK;
use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use rand_core::{CryptoRng, RngCore};

use crate::audit::{encrypt, AuditCiphertext, AuditPlaintext, AuditRandomness};
use crate::circuit::{tx_id_limbs, InputWitness, OutputWitness, TransferCircuit, NUM_PUBLIC_INPUTS};
use crate::keys::{AuditPublicKey, ShieldedAddress, SpendingKey};
use crate::note::{Anchor, AssetTag, Note, NoteCommitment, Nullifier};
use crate::note_encryption::{encrypt_note, NoteCiphertext};
use crate::tree::{MerklePath, EMPTY_LEAF, TREE_DEPTH};
use crate::CircuitError;

/// The public part of a shielded transfer: everything the proof speaks about except the transaction id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferStatement {
    /// The tree root the inputs are proven against.
    pub anchor: Anchor,
    /// Nullifiers of the two inputs (dummies included: they look the same).
    pub nullifiers: [Nullifier; 2],
    /// Commitments of the two outputs, appended to the tree in this order.
    pub commitments: [NoteCommitment; 2],
    /// Value entering the shielded pool from outside (shield).
    pub public_in: u64,
    /// Value leaving the shielded pool (unshield).
    pub public_out: u64,
    /// The asset when `public_in` or `public_out` is non-zero; zero otherwise.
    pub public_asset: AssetTag,
    /// The audit key the copies are encrypted to (the ledger checks it is the chain's current one).
    pub audit_key: AuditPublicKey,
    /// The regulator's copy of each output.
    pub audit: [AuditCiphertext; 2],
}

impl TransferStatement {
    /// Stateless checks that the circuit leaves to the verifier.
    pub fn check(&self) -> Result<(), CircuitError> {
        if self.nullifiers[0] == self.nullifiers[1] {
            return Err(CircuitError::MalformedStatement("the two nullifiers are equal"));
        }
        if self.public_in == 0 && self.public_out == 0 && self.public_asset != AssetTag::default() {
            return Err(CircuitError::MalformedStatement("public asset set while no public value crosses"));
        }
        // Decoding already refuses these; a statement built in memory is checked here too.
        let key = self.audit_key.point();
        if key.is_zero() || !key.is_on_curve() || !key.is_in_correct_subgroup_assuming_on_curve() {
            return Err(CircuitError::InvalidPoint("audit public key"));
        }
        for ct in &self.audit {
            let r = ct.ephemeral;
            if r.is_zero() || !r.is_on_curve() || !r.is_in_correct_subgroup_assuming_on_curve() {
                return Err(CircuitError::InvalidPoint("audit ephemeral point"));
            }
        }
        Ok(())
    }

    /// The Groth16 public inputs for transaction `tx_id`, in the order documented in [`crate::circuit`].
    pub fn public_inputs(&self, tx_id: &[u8; 32]) -> Vec<Fr> {
        let limbs = tx_id_limbs(tx_id);
        let key = self.audit_key.point();
        let mut v = Vec::with_capacity(NUM_PUBLIC_INPUTS);
        v.push(self.anchor.0);
        v.extend(self.nullifiers.iter().map(|n| n.0));
        v.extend(self.commitments.iter().map(|c| c.0));
        v.push(Fr::from(self.public_in));
        v.push(Fr::from(self.public_out));
        v.push(self.public_asset.0);
        v.push(Fr::from(limbs[0]));
        v.push(Fr::from(limbs[1]));
        v.push(key.x);
        v.push(key.y);
        for ct in &self.audit {
            v.extend(ct.public_inputs());
        }
        v
    }
}

impl Encode for TransferStatement {
    fn encode_to(&self, w: &mut Writer) {
        self.anchor.encode_to(w);
        for n in &self.nullifiers {
            n.encode_to(w);
        }
        for c in &self.commitments {
            c.encode_to(w);
        }
        w.u64(self.public_in);
        w.u64(self.public_out);
        self.public_asset.encode_to(w);
        w.fixed(&self.audit_key.to_bytes());
        for a in &self.audit {
            a.encode_to(w);
        }
    }
}

impl Decode for TransferStatement {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let anchor = Anchor::decode_from(r)?;
        let nullifiers = [Nullifier::decode_from(r)?, Nullifier::decode_from(r)?];
        let commitments = [NoteCommitment::decode_from(r)?, NoteCommitment::decode_from(r)?];
        let public_in = r.u64("public in")?;
        let public_out = r.u64("public out")?;
        let public_asset = AssetTag::decode_from(r)?;
        let key: [u8; 32] = r.array("audit public key")?;
        let audit_key = AuditPublicKey::from_bytes(&key).map_err(|_| DecodeError::Invalid {
            field: "audit public key",
            reason: "not a non-identity subgroup point",
        })?;
        let audit = [AuditCiphertext::decode_from(r)?, AuditCiphertext::decode_from(r)?];
        Ok(Self { anchor, nullifiers, commitments, public_in, public_out, public_asset, audit_key, audit })
    }
}

/// Bytes of an encoded [`TransferProof`]: compressed A (G1), B (G2), C (G1).
pub const PROOF_BYTES: usize = 128;

/// A Groth16 proof of a transfer.
#[derive(Clone, Debug, PartialEq)]
pub struct TransferProof(pub(crate) Proof<Bn254>);

// Group elements compare exactly (projective equality of affine points), so equality is an equivalence.
impl Eq for TransferProof {}

impl TransferProof {
    /// The 128-byte compressed encoding.
    pub fn to_bytes(&self) -> [u8; PROOF_BYTES] {
        let mut out = [0u8; PROOF_BYTES];
        // A compressed BN254 proof is exactly 128 bytes: writing into this buffer has no failure mode.
        let _ = self.0.serialize_compressed(&mut out[..]);
        out
    }

    /// Decodes with full validation: every point on its curve and in the prime-order subgroup, coordinates
    /// reduced, and the encoding canonical (it re-encodes to the same bytes).
    pub fn from_bytes(bytes: &[u8; PROOF_BYTES]) -> Result<Self, CircuitError> {
        let proof = Proof::<Bn254>::deserialize_with_mode(&bytes[..], Compress::Yes, Validate::Yes)
            .map_err(|_| CircuitError::InvalidProofEncoding)?;
        let p = Self(proof);
        if p.to_bytes() != *bytes {
            return Err(CircuitError::InvalidProofEncoding);
        }
        Ok(p)
    }

    /// The arkworks proof (for export).
    pub fn inner(&self) -> &Proof<Bn254> {
        &self.0
    }
}

impl Encode for TransferProof {
    fn encode_to(&self, w: &mut Writer) {
        w.fixed(&self.to_bytes());
    }
}

impl Decode for TransferProof {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bytes: [u8; PROOF_BYTES] = r.array("transfer proof")?;
        Self::from_bytes(&bytes)
            .map_err(|_| DecodeError::Invalid { field: "transfer proof", reason: "invalid or non-canonical points" })
    }
}

/// The proving key of the transfer circuit.
#[derive(Clone, Debug, PartialEq)]
pub struct TransferProvingKey(pub(crate) ProvingKey<Bn254>);

/// The verifying key of the transfer circuit, prepared for fast verification.
#[derive(Clone, Debug)]
pub struct TransferVerifyingKey {
    pub(crate) vk: ark_groth16::VerifyingKey<Bn254>,
    pub(crate) prepared: PreparedVerifyingKey<Bn254>,
}

impl PartialEq for TransferVerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.vk == other.vk
    }
}

impl TransferVerifyingKey {
    pub(crate) fn new(vk: ark_groth16::VerifyingKey<Bn254>) -> Result<Self, CircuitError> {
        if vk.gamma_abc_g1.len() != NUM_PUBLIC_INPUTS + 1 {
            return Err(CircuitError::Parameters(format!(
                "verifying key has {} public inputs, the transfer circuit has {NUM_PUBLIC_INPUTS}",
                vk.gamma_abc_g1.len().saturating_sub(1)
            )));
        }
        let prepared = ark_groth16::prepare_verifying_key(&vk);
        Ok(Self { vk, prepared })
    }

    /// The arkworks verifying key (for export).
    pub fn inner(&self) -> &ark_groth16::VerifyingKey<Bn254> {
        &self.vk
    }
}

impl TransferProvingKey {
    /// The verifying key that matches this proving key.
    pub fn verifying_key(&self) -> Result<TransferVerifyingKey, CircuitError> {
        TransferVerifyingKey::new(self.0.vk.clone())
    }
}

/// Generates a proving and verifying key for the transfer circuit.
///
/// The randomness is the "toxic waste": whoever learns it can forge proofs. Production callers pass the
/// operating system's generator (`rand_core::OsRng`, as `ctchain-params setup` does) and let it be dropped;
/// only tests may pass a seeded generator.
pub fn setup<R: RngCore + CryptoRng>(rng: &mut R) -> Result<(TransferProvingKey, TransferVerifyingKey), CircuitError> {
    let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(TransferCircuit::blank(), rng)?;
    Ok((TransferProvingKey(pk), TransferVerifyingKey::new(vk)?))
}

/// Number of constraints of the transfer circuit.
pub fn constraint_count() -> Result<usize, CircuitError> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_mode(ark_relations::r1cs::SynthesisMode::Setup);
    TransferCircuit::blank().generate_constraints(cs.clone())?;
    Ok(cs.num_constraints())
}

/// One input of a transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpendInput {
    /// A real note of the spender, with its current authentication path.
    Note {
        /// The note.
        note: Note,
        /// Its path to the anchor (boxed: a path is 32 field elements, a dummy is nothing).
        path: Box<MerklePath>,
    },
    /// A zero-value placeholder: fills a slot without spending anything.
    Dummy,
}

/// One output of a transfer: `value` to `to`. A dummy output is a zero-value payment, usually to oneself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payment {
    /// The receiver.
    pub to: ShieldedAddress,
    /// The value.
    pub value: u64,
}

/// Everything needed to build one transfer.
#[derive(Clone, Debug)]
pub struct TransferRequest<'a> {
    /// The spender's key (owner of every real input).
    pub spending_key: &'a SpendingKey,
    /// The one asset of the transfer.
    pub asset: AssetTag,
    /// A recent root that every real input's path leads to.
    pub anchor: Anchor,
    /// The two inputs.
    pub inputs: [SpendInput; 2],
    /// The two outputs.
    pub outputs: [Payment; 2],
    /// Value entering the pool.
    pub public_in: u64,
    /// Value leaving the pool.
    pub public_out: u64,
    /// The chain's audit key.
    pub audit_key: AuditPublicKey,
}

/// A built transfer waiting for its transaction id to be proven.
#[derive(Clone, Debug)]
pub struct UnprovenTransfer {
    /// The public statement.
    pub statement: TransferStatement,
    /// Each output's note, encrypted to its receiver.
    pub note_ciphertexts: [NoteCiphertext; 2],
    /// The output notes (the sender may keep them, for instance for change).
    pub output_notes: [Note; 2],
    circuit: TransferCircuit,
}

impl TransferRequest<'_> {
    /// Checks the request and draws all randomness.
    pub fn build<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<UnprovenTransfer, CircuitError> {
        let sk = self.spending_key;
        let nk = sk.nullifier_key();
        let owner = sk.owner();
        let mut inputs = Vec::with_capacity(2);
        let mut nullifiers = Vec::with_capacity(2);
        let mut total_in = u128::from(self.public_in);
        for (i, input) in self.inputs.iter().enumerate() {
            let (note, path) = match input {
                SpendInput::Note { note, path } => {
                    if note.owner != owner {
                        return Err(CircuitError::NotOwner(i));
                    }
                    if note.asset != self.asset {
                        return Err(CircuitError::AssetMismatch(i));
                    }
                    if note.value != 0 && path.root(&note.commitment()) != self.anchor {
                        return Err(CircuitError::NotInTree(i));
                    }
                    (*note, (**path).clone())
                }
                // A fresh random rcm makes the dummy's nullifier unique and unlinkable.
                SpendInput::Dummy => (
                    Note::new(self.asset, 0, owner, rng),
                    MerklePath { position: 0, siblings: [EMPTY_LEAF; TREE_DEPTH] },
                ),
            };
            total_in += u128::from(note.value);
            nullifiers.push(note.nullifier(&nk, path.position));
            inputs.push(InputWitness {
                value: Fr::from(note.value),
                rcm: note.rcm,
                position: path.position,
                siblings: path.siblings,
            });
        }
        let total_out = self.outputs.iter().map(|o| u128::from(o.value)).sum::<u128>() + u128::from(self.public_out);
        if total_in != total_out {
            return Err(CircuitError::Unbalanced);
        }

        let mut outputs = Vec::with_capacity(2);
        let mut notes = Vec::with_capacity(2);
        let mut audit = Vec::with_capacity(2);
        let mut note_ciphertexts = Vec::with_capacity(2);
        for (j, payment) in self.outputs.iter().enumerate() {
            let note = Note::new(self.asset, payment.value, payment.to.owner, rng);
            let randomness = AuditRandomness::random(rng);
            let plaintext =
                AuditPlaintext { asset: self.asset, value: payment.value, receiver: payment.to.owner, sender: owner };
            audit.push(encrypt(&self.audit_key, j, &plaintext, &randomness)?);
            note_ciphertexts.push(encrypt_note(&note, &payment.to, rng));
            outputs.push(OutputWitness {
                value: Fr::from(note.value),
                owner: note.owner.0,
                rcm: note.rcm,
                audit_bits: randomness.bits(),
            });
            notes.push(note);
        }

        let public_asset = if self.public_in != 0 || self.public_out != 0 { self.asset } else { AssetTag::default() };
        let statement = TransferStatement {
            anchor: self.anchor,
            nullifiers: [nullifiers[0], nullifiers[1]],
            commitments: [notes[0].commitment(), notes[1].commitment()],
            public_in: self.public_in,
            public_out: self.public_out,
            public_asset,
            audit_key: self.audit_key,
            audit: [audit[0], audit[1]],
        };
        statement.check()?;
        let pair = |v: Vec<InputWitness>| -> Result<[InputWitness; 2], CircuitError> {
            v.try_into().map_err(|_| CircuitError::Synthesis("two inputs".into()))
        };
        let circuit = TransferCircuit {
            anchor: statement.anchor.0,
            nullifiers: [statement.nullifiers[0].0, statement.nullifiers[1].0],
            commitments: [statement.commitments[0].0, statement.commitments[1].0],
            public_in: self.public_in,
            public_out: self.public_out,
            public_asset: public_asset.0,
            tx_id: [0; 32],
            audit_key: self.audit_key.point(),
            audit: statement.audit,
            sk: sk.scalar(),
            asset: self.asset.0,
            inputs: pair(inputs)?,
            outputs: outputs.try_into().map_err(|_| CircuitError::Synthesis("two outputs".into()))?,
        };
        let note_ciphertexts: [NoteCiphertext; 2] =
            note_ciphertexts.try_into().map_err(|_| CircuitError::Synthesis("two ciphertexts".into()))?;
        Ok(UnprovenTransfer { statement, note_ciphertexts, output_notes: [notes[0], notes[1]], circuit })
    }
}

impl UnprovenTransfer {
    /// Proves the transfer for transaction `tx_id`.
    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        pk: &TransferProvingKey,
        tx_id: &[u8; 32],
        rng: &mut R,
    ) -> Result<TransferProof, CircuitError> {
        let mut circuit = self.circuit.clone();
        circuit.tx_id = *tx_id;
        Ok(TransferProof(Groth16::<Bn254>::prove(&pk.0, circuit, rng)?))
    }

    /// Whether the witness satisfies every constraint for `tx_id` (slow: for tests and diagnostics).
    pub fn is_satisfied(&self, tx_id: &[u8; 32]) -> Result<bool, CircuitError> {
        let mut circuit = self.circuit.clone();
        circuit.tx_id = *tx_id;
        let cs = ConstraintSystem::<Fr>::new_ref();
        circuit.generate_constraints(cs.clone())?;
        Ok(cs.is_satisfied()?)
    }

    #[cfg(test)]
    pub(crate) fn circuit_mut(&mut self) -> &mut TransferCircuit {
        &mut self.circuit
    }
}

/// A transfer whose proof verified: only [`verify_transfer`] constructs one, so code that takes a
/// `VerifiedTransfer` (the ledger's stateful phase) cannot be handed an unchecked statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTransfer {
    statement: TransferStatement,
    tx_id: [u8; 32],
}

impl VerifiedTransfer {
    /// The verified statement.
    pub fn statement(&self) -> &TransferStatement {
        &self.statement
    }

    /// The transaction id the proof is bound to.
    pub fn tx_id(&self) -> &[u8; 32] {
        &self.tx_id
    }

    /// The stateful checks, against the chain as it is when the transfer is applied: the anchor is a recent
    /// root, the audit key is the chain's, and neither nullifier was revealed before (`is_spent` asks the
    /// ledger's nullifier set). The caller must apply the transfer (record its nullifiers, append its
    /// commitments) atomically with this check, or a second transfer could pass the same check in between.
    pub fn check_against_chain(
        &self,
        roots: &crate::RecentRoots,
        audit_key: &AuditPublicKey,
        is_spent: impl Fn(&Nullifier) -> bool,
    ) -> Result<(), CircuitError> {
        roots.check(&self.statement.anchor)?;
        if self.statement.audit_key != *audit_key {
            return Err(CircuitError::WrongAuditKey);
        }
        if self.statement.nullifiers.iter().any(is_spent) {
            return Err(CircuitError::NullifierSpent);
        }
        Ok(())
    }
}

/// [`verify`], keeping the result as a [`VerifiedTransfer`] for the stateful phase.
pub fn verify_transfer(
    vk: &TransferVerifyingKey,
    statement: TransferStatement,
    tx_id: &[u8; 32],
    proof: &TransferProof,
) -> Result<VerifiedTransfer, CircuitError> {
    verify(vk, &statement, tx_id, proof)?;
    Ok(VerifiedTransfer { statement, tx_id: *tx_id })
}

/// Verifies a transfer's proof for transaction `tx_id`: statement checks, then Groth16.
pub fn verify(
    vk: &TransferVerifyingKey,
    statement: &TransferStatement,
    tx_id: &[u8; 32],
    proof: &TransferProof,
) -> Result<(), CircuitError> {
    statement.check()?;
    let inputs = statement.public_inputs(tx_id);
    match Groth16::<Bn254>::verify_with_processed_vk(&vk.prepared, &inputs, &proof.0) {
        Ok(true) => Ok(()),
        _ => Err(CircuitError::ProofRejected),
    }
}
