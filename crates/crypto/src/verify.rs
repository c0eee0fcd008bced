//! The validator's side: stateless verification of a transaction, one or many at a time.
//!
//! Only [`Verifier`] constructs a [`VerifiedTransaction`], so code that requires one (the mempool, the ledger)
//! cannot be handed a transaction whose proofs were not checked.

use ctchain_codec::{Decode, DecodeError};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::OsRng;
use rayon::prelude::*;

use crate::asset::AssetId;
use crate::audit::AuditStatement;
use crate::batch::BatchChecker;
use crate::generators::{blinding_base, key_base, value_base};
use crate::identity::PartyStatement;
use crate::keys::AuditPublicKey;
use crate::memo::MEMO_CIPHERTEXT_LEN;
use crate::point::Point;
use crate::range;
use crate::schnorr::SignaturePurpose;
use crate::tx::{PublicKind, Transaction, TxId, MAX_CHAIN_ID_LEN};

/// A structural rule of the transaction format that was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StructureError {
    /// No inputs, no outputs and no public amounts.
    #[error("the transaction does nothing: no inputs, outputs or public amounts")]
    Empty,
    /// Two inputs spend the same output.
    #[error("inputs {first} and {second} spend the same output")]
    DuplicateInput {
        /// Index of the first.
        first: usize,
        /// Index of the second.
        second: usize,
    },
    /// An output does not carry one set of handles and one memo per audit key.
    #[error("output {output} has {handles} handle sets and {memos} audit memos for {keys} audit keys")]
    AuditCopyCount {
        /// The output.
        output: usize,
        /// Handle sets it carries.
        handles: usize,
        /// Audit memos it carries.
        memos: usize,
        /// Audit keys of the transaction.
        keys: usize,
    },
    /// The party identities do not come one per audit key (each output's receiver; the sender's when there are
    /// inputs, none otherwise).
    #[error("{party} carries {found} identity ciphertexts, {expected} are required")]
    IdentityCount {
        /// Whose: "output N" or "the sender".
        party: String,
        /// How many it carries.
        found: usize,
        /// How many the audit keys and inputs require.
        expected: usize,
    },
    /// The sender proof is present without inputs or audit keys, or missing with them.
    #[error("the sender proof is {0}")]
    SenderProofPresence(&'static str),
    /// A memo ciphertext has the wrong length.
    #[error("output {output} has a memo of {len} bytes, memos are {MEMO_CIPHERTEXT_LEN} bytes")]
    MemoLength {
        /// The output.
        output: usize,
        /// The length found.
        len: usize,
    },
    /// Public amounts are not strictly increasing by (asset, kind).
    #[error("public amounts are not strictly increasing by (asset, kind)")]
    PublicAmountsOrder,
    /// A public amount is zero.
    #[error("public amount {index} is zero")]
    ZeroPublicAmount {
        /// Its index.
        index: usize,
    },
    /// The witness does not have the number of proofs or signatures the body requires.
    #[error("expected {expected} {what}, found {found}")]
    WitnessCount {
        /// What is counted.
        what: &'static str,
        /// How many the body requires.
        expected: usize,
        /// How many there are.
        found: usize,
    },
    /// A range proof has the wrong size for the number of limbs it covers.
    #[error("range proof for asset {asset} has the wrong size for {limbs} limbs")]
    RangeProofSize {
        /// The asset.
        asset: AssetId,
        /// Limbs it must cover.
        limbs: usize,
    },
    /// The chain id is empty or too long.
    #[error("chain id must be 1 to {MAX_CHAIN_ID_LEN} bytes")]
    ChainIdLength,
}

/// Why a transaction is invalid. Each variant names the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The bytes are not the canonical encoding of a transaction.
    #[error("bad encoding: {0}")]
    Encoding(#[from] DecodeError),
    /// A structural rule is broken.
    #[error("malformed transaction: {0}")]
    Structure(#[from] StructureError),
    /// The transaction names another chain.
    #[error("transaction is for chain {found:?}, this is chain {expected:?}")]
    WrongChainId {
        /// This chain.
        expected: String,
        /// The transaction's.
        found: String,
    },
    /// The outputs are encrypted to audit keys that are not the chain's.
    #[error("transaction is encrypted to audit keys that are not this chain's")]
    WrongAuditKeys,
    /// Inputs minus outputs minus public amounts is not a multiple of the blinding base under the balance key.
    #[error("balance check failed: the transaction creates or destroys value")]
    Balance,
    /// An input's owner did not sign.
    #[error("owner signature of input {input} does not verify")]
    OwnerSignature {
        /// The input.
        input: usize,
    },
    /// An issuance is not signed by the key it names.
    #[error("issuer signature of public amount {index} does not verify")]
    IssuerSignature {
        /// Index in the public amounts.
        index: usize,
    },
    /// An output's audit handles are not proven to encrypt its amount.
    #[error("audit validity proof of output {output} does not verify")]
    AuditValidity {
        /// The output.
        output: usize,
    },
    /// An output's receiver identities are not proven to encrypt the identity its one-time key belongs to.
    #[error("receiver identity proof of output {output} does not verify")]
    ReceiverIdentity {
        /// The output.
        output: usize,
    },
    /// The sender identities are not proven to encrypt the owner of the inputs.
    #[error("sender identity proof does not verify: the sender named is not proven to own the inputs")]
    SenderIdentity,
    /// An asset's range proof does not verify.
    #[error("range proof for asset {asset} does not verify")]
    RangeProof {
        /// The asset.
        asset: AssetId,
    },
}

/// A transaction whose every stateless check passed. Only [`Verifier`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTransaction {
    tx: Transaction,
    id: TxId,
}

impl VerifiedTransaction {
    /// The transaction.
    pub fn transaction(&self) -> &Transaction {
        &self.tx
    }

    /// Its id.
    pub fn id(&self) -> TxId {
        self.id
    }

    /// Gives the transaction back (it stays valid; but the type no longer says so).
    pub fn into_inner(self) -> Transaction {
        self.tx
    }
}

/// What each batched equation checks, in order of precedence for error reporting.
#[derive(Clone, Copy)]
enum Check {
    Balance,
    Owner(usize),
    Issuer(usize),
    Audit(usize),
    Receiver(usize),
    Sender,
}

impl From<Check> for VerifyError {
    fn from(check: Check) -> Self {
        match check {
            Check::Balance => VerifyError::Balance,
            Check::Owner(input) => VerifyError::OwnerSignature { input },
            Check::Issuer(index) => VerifyError::IssuerSignature { index },
            Check::Audit(output) => VerifyError::AuditValidity { output },
            Check::Receiver(output) => VerifyError::ReceiverIdentity { output },
            Check::Sender => VerifyError::SenderIdentity,
        }
    }
}

/// A validator's verifier for one chain and its audit keys.
#[derive(Clone, Debug)]
pub struct Verifier {
    chain_id: String,
    audit_keys: Vec<AuditPublicKey>,
}

impl Verifier {
    /// A verifier for `chain_id` whose outputs must be auditable by exactly `audit_keys`, in this order.
    pub fn new(chain_id: impl Into<String>, audit_keys: Vec<AuditPublicKey>) -> Self {
        Self { chain_id: chain_id.into(), audit_keys }
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The audit keys.
    pub fn audit_keys(&self) -> &[AuditPublicKey] {
        &self.audit_keys
    }

    /// Decodes and verifies.
    pub fn verify_bytes(&self, bytes: &[u8]) -> Result<VerifiedTransaction, VerifyError> {
        self.verify(Transaction::from_bytes(bytes)?)
    }

    /// Verifies many transactions, in parallel on every core. Results are in input order.
    pub fn verify_batch(&self, txs: Vec<Transaction>) -> Vec<Result<VerifiedTransaction, VerifyError>> {
        txs.into_par_iter().map(|tx| self.verify(tx)).collect()
    }

    /// Runs every stateless check, cheapest first, and returns the first failure.
    pub fn verify(&self, tx: Transaction) -> Result<VerifiedTransaction, VerifyError> {
        check_structure(&tx)?;
        if tx.body.chain_id != self.chain_id {
            return Err(VerifyError::WrongChainId { expected: self.chain_id.clone(), found: tx.body.chain_id.clone() });
        }
        if tx.body.audit_keys != self.audit_keys {
            return Err(VerifyError::WrongAuditKeys);
        }
        let id = tx.id();
        self.check_equations(&tx, &id)?;
        self.check_range_proofs(&tx, &id)?;
        Ok(VerifiedTransaction { tx, id })
    }

    fn check_equations(&self, tx: &Transaction, id: &TxId) -> Result<(), VerifyError> {
        let body = &tx.body;
        let witness = &tx.witness;
        let chain = body.chain_id.as_str();
        let mut batch = BatchChecker::new();

        let excess = balance_excess(tx);
        match excess.and_then(Point::new) {
            Some(excess) => batch.push(witness.balance_signature.equation(
                Check::Balance,
                SignaturePurpose::Balance,
                chain,
                id,
                &blinding_base(),
                &excess,
            )),
            None => return Err(VerifyError::Balance),
        }
        for (i, (input, sig)) in body.inputs.iter().zip(&witness.owner_signatures).enumerate() {
            batch.push(sig.equation(
                Check::Owner(i),
                SignaturePurpose::Owner,
                chain,
                id,
                &key_base(),
                &input.owner_key,
            ));
        }
        let issues = body.public.iter().enumerate().filter_map(|(i, p)| match p.kind {
            PublicKind::Issue { issuer } => Some((i, issuer)),
            _ => None,
        });
        for ((index, issuer), sig) in issues.zip(&witness.issuer_signatures) {
            batch.push(sig.equation(Check::Issuer(index), SignaturePurpose::Issuer, chain, id, &key_base(), &issuer));
        }
        for (i, proof) in witness.audit_proofs.iter().enumerate() {
            let statement = AuditStatement::for_output(body, id, i).ok_or(VerifyError::AuditValidity { output: i })?;
            let equations =
                proof.equations(Check::Audit(i), &statement).ok_or(VerifyError::AuditValidity { output: i })?;
            for eq in equations {
                batch.push(eq);
            }
        }
        for (i, proof) in witness.receiver_proofs.iter().enumerate() {
            let statement = PartyStatement::receiver(body, id, i).ok_or(VerifyError::ReceiverIdentity { output: i })?;
            let equations =
                proof.equations(Check::Receiver(i), &statement).ok_or(VerifyError::ReceiverIdentity { output: i })?;
            for eq in equations {
                batch.push(eq);
            }
        }
        if let Some(proof) = &witness.sender_proof {
            let statement = PartyStatement::sender(body, id);
            for eq in proof.equations(Check::Sender, &statement).ok_or(VerifyError::SenderIdentity)? {
                batch.push(eq);
            }
        }
        batch.check(&mut OsRng).map_err(VerifyError::from)
    }

    fn check_range_proofs(&self, tx: &Transaction, id: &TxId) -> Result<(), VerifyError> {
        let body = &tx.body;
        let assets = body.output_assets();
        let results: Vec<Result<(), VerifyError>> = assets
            .par_iter()
            .zip(tx.witness.range_proofs.par_iter())
            .map(|(asset, proof)| {
                let limbs: Vec<Point> =
                    body.outputs.iter().filter(|o| o.asset == *asset).flat_map(|o| o.limbs).collect();
                if range::verify(&body.chain_id, id, asset, &limbs, proof, &mut OsRng) {
                    Ok(())
                } else {
                    Err(VerifyError::RangeProof { asset: *asset })
                }
            })
            .collect();
        results.into_iter().collect()
    }
}

/// `Σ inputs − Σ outputs + Σ issued·V_a − Σ (burned + fees)·V_a`: a multiple of `B` exactly when the
/// transaction balances. `None` if an output's commitment is the identity (an input can never carry it, so such
/// an output is refused rather than created unspendable).
pub(crate) fn balance_excess(tx: &Transaction) -> Option<RistrettoPoint> {
    let body = &tx.body;
    let mut excess: RistrettoPoint = body.inputs.iter().map(|i| i.commitment.point()).sum();
    for output in &body.outputs {
        excess -= output.commitment()?.point();
    }
    for p in &body.public {
        let amount = Scalar::from(p.amount) * value_base(&p.asset);
        if p.kind.enters_pool() {
            excess += amount;
        } else {
            excess -= amount;
        }
    }
    Some(excess)
}

fn check_structure(tx: &Transaction) -> Result<(), StructureError> {
    let body = &tx.body;
    let witness = &tx.witness;
    if body.chain_id.is_empty() || body.chain_id.len() > MAX_CHAIN_ID_LEN {
        return Err(StructureError::ChainIdLength);
    }
    if body.inputs.is_empty() && body.outputs.is_empty() && body.public.is_empty() {
        return Err(StructureError::Empty);
    }
    for (second, input) in body.inputs.iter().enumerate() {
        if let Some(first) = body.inputs[..second].iter().position(|i| i.output_id == input.output_id) {
            return Err(StructureError::DuplicateInput { first, second });
        }
    }
    let keys = body.audit_keys.len();
    for (i, output) in body.outputs.iter().enumerate() {
        if output.audit_handles.len() != keys || output.audit_memos.len() != keys {
            return Err(StructureError::AuditCopyCount {
                output: i,
                handles: output.audit_handles.len(),
                memos: output.audit_memos.len(),
                keys,
            });
        }
        if output.receiver_identities.len() != keys {
            return Err(StructureError::IdentityCount {
                party: format!("output {i}"),
                found: output.receiver_identities.len(),
                expected: keys,
            });
        }
        let bad_len = std::iter::once(output.receiver_memo.len())
            .chain(output.audit_memos.iter().map(|m| m.ciphertext.len()))
            .find(|len| *len != MEMO_CIPHERTEXT_LEN);
        if let Some(len) = bad_len {
            return Err(StructureError::MemoLength { output: i, len });
        }
    }
    let sender_expected = if body.inputs.is_empty() { 0 } else { keys };
    if body.sender_identities.len() != sender_expected {
        return Err(StructureError::IdentityCount {
            party: "the sender".into(),
            found: body.sender_identities.len(),
            expected: sender_expected,
        });
    }
    match (witness.sender_proof.is_some(), keys > 0 && !body.inputs.is_empty()) {
        (true, false) => return Err(StructureError::SenderProofPresence("present without inputs or audit keys")),
        (false, true) => return Err(StructureError::SenderProofPresence("missing")),
        _ => {}
    }
    if body.public.windows(2).any(|w| w[0].sort_key() >= w[1].sort_key()) {
        return Err(StructureError::PublicAmountsOrder);
    }
    if let Some(index) = body.public.iter().position(|p| p.amount == 0) {
        return Err(StructureError::ZeroPublicAmount { index });
    }
    let assets = body.output_assets();
    let issues = body.public.iter().filter(|p| matches!(p.kind, PublicKind::Issue { .. })).count();
    for (what, expected, found) in [
        ("range proofs (one per output asset)", assets.len(), witness.range_proofs.len()),
        ("audit validity proofs (one per output)", body.outputs.len(), witness.audit_proofs.len()),
        ("owner signatures (one per input)", body.inputs.len(), witness.owner_signatures.len()),
        (
            "receiver identity proofs (one per output when there are audit keys)",
            if keys > 0 { body.outputs.len() } else { 0 },
            witness.receiver_proofs.len(),
        ),
        ("issuer signatures (one per issuance)", issues, witness.issuer_signatures.len()),
    ] {
        if expected != found {
            return Err(StructureError::WitnessCount { what, expected, found });
        }
    }
    for (asset, proof) in assets.iter().zip(&witness.range_proofs) {
        let limbs = body.outputs.iter().filter(|o| o.asset == *asset).count() * crate::amount::LIMBS;
        if proof.to_bytes().len() != range::proof_len(limbs) {
            return Err(StructureError::RangeProofSize { asset: *asset, limbs });
        }
    }
    Ok(())
}
