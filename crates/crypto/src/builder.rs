//! The wallet's side: building a transaction from owned outputs, payments and public amounts.

use ctchain_codec::Hash32;
use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};
use std::collections::BTreeMap;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::amount::{split_limbs, AmountOpening, LIMBS};
use crate::asset::AssetId;
use crate::audit::{handles_for, AuditStatement, AuditValidityProof};
use crate::generators::{blinding_base, key_base, value_base};
use crate::identity::{encrypt_to_all, PartyProof, PartyStatement};
use crate::keys::{stealth_output, Address, AuditPublicKey, SigningKey};
use crate::memo::{seal, MemoError, MemoPlaintext, MEMO_TEXT_MAX};
use crate::point::Point;
use crate::range;
use crate::schnorr::{Signature, SignaturePurpose};
use crate::tx::{
    AuditMemo, Input, Output, OutputId, PublicAmount, PublicKind, Transaction, TxBody, TxWitness, MAX_AUDIT_KEYS,
    MAX_CHAIN_ID_LEN, MAX_INPUTS, MAX_OUTPUTS, MAX_PUBLIC_AMOUNTS, TX_VERSION,
};

/// An output the wallet owns and can spend: its id, its opening, and the secret of its one-time key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct OwnedOutput {
    /// The output's id.
    #[zeroize(skip)]
    pub output_id: OutputId,
    /// Asset, amount and blindings.
    pub opening: AmountOpening,
    /// The secret of the one-time owner key.
    pub one_time_secret: Scalar,
    /// The offset `h` of the one-time key `O = h·G + S` from its owner's identity `S`, with which the sender
    /// proves that one identity owns every input ([`crate::identity`]).
    pub owner_offset: Scalar,
}

impl OwnedOutput {
    /// The identity (spend key) that owns this output: `O − h·G`.
    fn owner_identity(&self) -> Option<Point> {
        Point::new((self.one_time_secret - self.owner_offset) * key_base())
    }
}

impl std::fmt::Debug for OwnedOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedOutput")
            .field("output_id", &self.output_id)
            .field("opening", &self.opening)
            .finish_non_exhaustive()
    }
}

/// Why a transaction could not be built. Nothing is lost: the builder can be changed and built again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The chain id is empty or too long.
    #[error("chain id must be 1 to {MAX_CHAIN_ID_LEN} bytes")]
    ChainIdLength,
    /// More audit keys than the format allows.
    #[error("at most {MAX_AUDIT_KEYS} audit keys are allowed")]
    TooManyAuditKeys,
    /// More inputs than the format allows.
    #[error("{0} inputs, at most {MAX_INPUTS} are allowed")]
    TooManyInputs(usize),
    /// More outputs (payments and change) than the format allows.
    #[error("{0} outputs including change, at most {MAX_OUTPUTS} are allowed")]
    TooManyOutputs(usize),
    /// More public amounts than the format allows.
    #[error("{0} public amounts, at most {MAX_PUBLIC_AMOUNTS} are allowed")]
    TooManyPublicAmounts(usize),
    /// The same output is spent twice.
    #[error("output {0} is spent twice")]
    DuplicateInput(OutputId),
    /// A public amount of zero.
    #[error("a public amount of zero is not allowed")]
    ZeroPublicAmount,
    /// Not enough value of an asset.
    #[error("insufficient funds of asset {asset}: {available} available, {needed} needed")]
    InsufficientFunds {
        /// The asset.
        asset: AssetId,
        /// What the inputs and issuances provide.
        available: u128,
        /// What the payments, burns and fees take.
        needed: u128,
    },
    /// A sum does not fit in a 64-bit amount.
    #[error("amount overflow for asset {0}")]
    AmountOverflow(AssetId),
    /// Value is left over and there is no address to send change to.
    #[error("{surplus} of asset {asset} would be left over and no change address is set")]
    NoChangeAddress {
        /// The asset.
        asset: AssetId,
        /// The surplus.
        surplus: u64,
    },
    /// Two issuances of one asset name different issuer keys.
    #[error("asset {0} is issued under two different issuer keys")]
    ConflictingIssuers(AssetId),
    /// A memo could not be sealed.
    #[error(transparent)]
    Memo(#[from] MemoError),
    /// The transaction does nothing.
    #[error("the transaction has no inputs, outputs or public amounts")]
    Empty,
    /// The inputs belong to different identities: a transaction's sender is the one owner of all its inputs.
    #[error("input {input} belongs to another identity than input 0: a transaction spends the outputs of one owner")]
    InputsOfSeveralOwners {
        /// The first input whose owner differs.
        input: usize,
    },
    /// The sender address disclosed in the memos is not the owner of the inputs.
    #[error("the sender address given is not the owner of the inputs; the regulator sees the owner proven")]
    SenderIsNotTheOwner,
    /// An owned output's secrets do not describe a key (its one-time secret equals its offset).
    #[error("owned output {0} has secrets that name no owner")]
    NoOwner(OutputId),
    /// The range prover refused the statement (only for statements no honest builder makes).
    #[error("range proof could not be built: {0}")]
    RangeProof(String),
}

#[derive(Clone)]
struct Payment {
    to: Address,
    asset: AssetId,
    amount: u64,
    text: String,
}

/// Builds a confidential transaction.
#[derive(Clone)]
pub struct TransactionBuilder {
    chain_id: String,
    audit_keys: Vec<AuditPublicKey>,
    inputs: Vec<OwnedOutput>,
    payments: Vec<Payment>,
    issues: Vec<(AssetId, u64, SigningKey)>,
    burns: Vec<(AssetId, u64)>,
    fees: Vec<(AssetId, u64)>,
    crossings: Vec<(AssetId, PublicKind, u64)>,
    sender: Option<Address>,
    change: Option<Address>,
}

impl TransactionBuilder {
    /// A builder for `chain_id` whose outputs will be auditable by `audit_keys` (the chain's, in order).
    pub fn new(chain_id: impl Into<String>, audit_keys: Vec<AuditPublicKey>) -> Self {
        Self {
            chain_id: chain_id.into(),
            audit_keys,
            inputs: Vec::new(),
            payments: Vec::new(),
            issues: Vec::new(),
            burns: Vec::new(),
            fees: Vec::new(),
            crossings: Vec::new(),
            sender: None,
            change: None,
        }
    }

    /// Spends an owned output.
    pub fn spend(&mut self, output: OwnedOutput) -> &mut Self {
        self.inputs.push(output);
        self
    }

    /// Pays `amount` of `asset` to `to`, with a note only the receiver and the regulator can read.
    pub fn pay(&mut self, to: Address, asset: AssetId, amount: u64, text: impl Into<String>) -> &mut Self {
        self.payments.push(Payment { to, asset, amount, text: text.into() });
        self
    }

    /// Issues `amount` new units of `asset`, authorised by its issuer key.
    pub fn issue(&mut self, issuer: &SigningKey, asset: AssetId, amount: u64) -> &mut Self {
        self.issues.push((asset, amount, issuer.clone()));
        self
    }

    /// Destroys `amount` of `asset` (redemption).
    pub fn burn(&mut self, asset: AssetId, amount: u64) -> &mut Self {
        self.burns.push((asset, amount));
        self
    }

    /// Pays a public fee.
    pub fn fee(&mut self, asset: AssetId, amount: u64) -> &mut Self {
        self.fees.push((asset, amount));
        self
    }

    /// Moves `amount` of `asset` into the shielded pool, as the confidential side of the shielded transaction
    /// with this binding hash (a *shield*).
    pub fn to_shielded(&mut self, asset: AssetId, amount: u64, binding: Hash32) -> &mut Self {
        self.crossings.push((asset, PublicKind::ToShielded { binding }, amount));
        self
    }

    /// Receives `amount` of `asset` from the shielded pool, as the confidential side of the shielded transaction
    /// with this binding hash (an *unshield*); the outputs paid from it are this builder's payments.
    pub fn from_shielded(&mut self, asset: AssetId, amount: u64, binding: Hash32) -> &mut Self {
        self.crossings.push((asset, PublicKind::FromShielded { binding }, amount));
        self
    }

    /// The sender's address, disclosed in the memos to the receiver and the regulator.
    pub fn sender(&mut self, address: Address) -> &mut Self {
        self.sender = Some(address);
        self
    }

    /// Where change goes (defaults to the sender's address).
    pub fn change_to(&mut self, address: Address) -> &mut Self {
        self.change = Some(address);
        self
    }

    /// Checks the plan, adds change, and builds every proof and signature.
    pub fn build<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<Transaction, BuildError> {
        self.plan(rng)?.build(rng)
    }

    pub(crate) fn plan<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<Plan, BuildError> {
        if self.chain_id.is_empty() || self.chain_id.len() > MAX_CHAIN_ID_LEN {
            return Err(BuildError::ChainIdLength);
        }
        if self.audit_keys.len() > MAX_AUDIT_KEYS {
            return Err(BuildError::TooManyAuditKeys);
        }
        if self.inputs.len() > MAX_INPUTS {
            return Err(BuildError::TooManyInputs(self.inputs.len()));
        }
        for (i, input) in self.inputs.iter().enumerate() {
            if self.inputs[..i].iter().any(|o| o.output_id == input.output_id) {
                return Err(BuildError::DuplicateInput(input.output_id));
            }
        }
        let sender_identity = match self.inputs.first() {
            None => None,
            Some(first) => {
                let owner = first.owner_identity().ok_or(BuildError::NoOwner(first.output_id))?;
                for (input, owned) in self.inputs.iter().enumerate().skip(1) {
                    if owned.owner_identity().ok_or(BuildError::NoOwner(owned.output_id))? != owner {
                        return Err(BuildError::InputsOfSeveralOwners { input });
                    }
                }
                if self.sender.is_some_and(|claimed| claimed.spend != owner) {
                    return Err(BuildError::SenderIsNotTheOwner);
                }
                Some(owner)
            }
        };
        for p in &self.payments {
            if p.text.len() > MEMO_TEXT_MAX {
                return Err(MemoError::TextTooLong(p.text.len()).into());
            }
        }

        // Public amounts, merged per (asset, kind) and in canonical order.
        let mut public: BTreeMap<(AssetId, u8), (PublicKind, u64)> = BTreeMap::new();
        let mut issuer_keys: BTreeMap<AssetId, SigningKey> = BTreeMap::new();
        let mut add_public = |asset: AssetId, kind: PublicKind, tag: u8, amount: u64| -> Result<(), BuildError> {
            if amount == 0 {
                return Err(BuildError::ZeroPublicAmount);
            }
            let entry = public.entry((asset, tag)).or_insert((kind, 0));
            entry.1 = entry.1.checked_add(amount).ok_or(BuildError::AmountOverflow(asset))?;
            Ok(())
        };
        for (asset, amount, key) in &self.issues {
            if let Some(existing) = issuer_keys.get(asset) {
                if existing.public() != key.public() {
                    return Err(BuildError::ConflictingIssuers(*asset));
                }
            }
            issuer_keys.insert(*asset, key.clone());
            add_public(*asset, PublicKind::Issue { issuer: key.public() }, 0, *amount)?;
        }
        for (asset, amount) in &self.burns {
            add_public(*asset, PublicKind::Burn, 1, *amount)?;
        }
        for (asset, amount) in &self.fees {
            add_public(*asset, PublicKind::Fee, 2, *amount)?;
        }
        for (asset, kind, amount) in &self.crossings {
            add_public(*asset, *kind, kind.tag(), *amount)?;
        }
        if public.len() > MAX_PUBLIC_AMOUNTS {
            return Err(BuildError::TooManyPublicAmounts(public.len()));
        }

        // Per asset: what comes in (inputs, issuance) and what goes out (payments, burns, fees).
        let mut flows: BTreeMap<AssetId, (u128, u128)> = BTreeMap::new();
        for input in &self.inputs {
            flows.entry(input.opening.asset).or_default().0 += u128::from(input.opening.amount);
        }
        for p in &self.payments {
            flows.entry(p.asset).or_default().1 += u128::from(p.amount);
        }
        for ((asset, _), (kind, amount)) in &public {
            let flow = flows.entry(*asset).or_default();
            match kind {
                k if k.enters_pool() => flow.0 += u128::from(*amount),
                _ => flow.1 += u128::from(*amount),
            }
        }
        let mut outputs: Vec<PlannedOutput> =
            self.payments.iter().map(|p| PlannedOutput::honest(p.to, p.asset, p.amount, p.text.clone(), rng)).collect();
        for (asset, (available, needed)) in flows {
            if available < needed {
                return Err(BuildError::InsufficientFunds { asset, available, needed });
            }
            let surplus = available - needed;
            if surplus > 0 {
                let surplus = u64::try_from(surplus).map_err(|_| BuildError::AmountOverflow(asset))?;
                let to = self.change.or(self.sender).ok_or(BuildError::NoChangeAddress { asset, surplus })?;
                outputs.push(PlannedOutput::honest(to, asset, surplus, "change".into(), rng));
            }
        }
        if outputs.len() > MAX_OUTPUTS {
            return Err(BuildError::TooManyOutputs(outputs.len()));
        }
        if self.inputs.is_empty() && outputs.is_empty() && public.is_empty() {
            return Err(BuildError::Empty);
        }
        Ok(Plan {
            chain_id: self.chain_id.clone(),
            audit_keys: self.audit_keys.clone(),
            inputs: self.inputs.clone(),
            outputs,
            public: public
                .into_iter()
                .map(|((asset, _), (kind, amount))| PublicAmount { asset, kind, amount })
                .collect(),
            issuer_keys: issuer_keys.into_values().collect(),
            sender: self.sender,
            sender_identity,
        })
    }
}

/// One output as planned: limb values and blindings as scalars, so that tests can plan dishonest outputs and
/// show that the verifier rejects them.
#[derive(Clone)]
pub(crate) struct PlannedOutput {
    pub to: Address,
    pub asset: AssetId,
    pub amount: u64,
    pub limb_values: [Scalar; LIMBS],
    pub blindings: [Scalar; LIMBS],
    /// The randomness used in the audit handles; equal to `blindings` unless a test forges an audit copy.
    pub handle_blindings: [Scalar; LIMBS],
    /// The identity encrypted as the receiver's: `to.spend` unless a test names another party.
    pub receiver_identity: Point,
    pub text: String,
}

impl PlannedOutput {
    fn honest<R: RngCore + CryptoRng>(to: Address, asset: AssetId, amount: u64, text: String, rng: &mut R) -> Self {
        let blindings: [Scalar; LIMBS] = std::array::from_fn(|_| Scalar::random(rng));
        let limbs = split_limbs(amount);
        Self {
            to,
            asset,
            amount,
            limb_values: limbs.map(Scalar::from),
            blindings,
            handle_blindings: blindings,
            receiver_identity: to.spend,
            text,
        }
    }

    fn total_blinding(&self) -> Scalar {
        AmountOpening { asset: self.asset, amount: 0, blindings: self.blindings }.total_blinding()
    }
}

/// A fully planned transaction.
pub(crate) struct Plan {
    pub chain_id: String,
    pub audit_keys: Vec<AuditPublicKey>,
    pub inputs: Vec<OwnedOutput>,
    pub outputs: Vec<PlannedOutput>,
    pub public: Vec<PublicAmount>,
    pub issuer_keys: Vec<SigningKey>,
    pub sender: Option<Address>,
    /// The owner of every input, encrypted to the audit keys as the sender; a test may put another identity here
    /// to show the verifier refuses it.
    pub sender_identity: Option<Point>,
}

/// The audit memo key: `SM3(domain, e·B ‖ E)`; the regulator computes `e·B` as `s·E`.
pub(crate) fn audit_memo_key(shared: &curve25519_dalek::ristretto::RistrettoPoint, ephemeral: &Point) -> [u8; 32] {
    let mut h = ctchain_codec::Sm3Hasher::new("ctchain/audit/memo/v1");
    h.update(shared.compress().as_bytes()).update(ephemeral.as_bytes());
    h.finish().0
}

pub(crate) const RECEIVER_MEMO: &[u8] = b"receiver";
pub(crate) const AUDIT_MEMO: &[u8] = b"audit";

impl Plan {
    pub(crate) fn build<R: RngCore + CryptoRng>(mut self, rng: &mut R) -> Result<Transaction, BuildError> {
        // The excess must not be the identity (verifiers refuse an identity public key); re-draw the last
        // output's first blinding in the 2^-252 case that it is.
        loop {
            let excess = self.excess_secret();
            if excess != Scalar::ZERO || self.outputs.is_empty() {
                break;
            }
            let last = self.outputs.len() - 1;
            let r = Scalar::random(rng);
            self.outputs[last].blindings[0] = r;
            self.outputs[last].handle_blindings[0] = r;
        }

        let v_b = blinding_base();
        let mut outputs = Vec::with_capacity(self.outputs.len());
        let mut receiver_witnesses = Vec::with_capacity(self.outputs.len());
        for planned in &self.outputs {
            let (output, witness) = self.seal_output(planned, &v_b, rng)?;
            outputs.push(output);
            receiver_witnesses.push(witness);
        }
        let (sender_identities, sender_randomness) = match &self.sender_identity {
            Some(identity) if !self.inputs.is_empty() => encrypt_to_all(identity, &self.audit_keys, rng),
            _ => (Vec::new(), Vec::new()),
        };
        let inputs = self
            .inputs
            .iter()
            .map(|owned| {
                let commitment = Scalar::from(owned.opening.amount) * value_base(&owned.opening.asset)
                    + owned.opening.total_blinding() * v_b;
                Input {
                    output_id: owned.output_id,
                    commitment: Point::new(commitment).expect("random blindings give a non-identity commitment"),
                    owner_key: Point::new(owned.one_time_secret * key_base()).expect("non-zero one-time secret"),
                }
            })
            .collect();
        let body = TxBody {
            version: TX_VERSION,
            chain_id: self.chain_id.clone(),
            audit_keys: self.audit_keys.clone(),
            inputs,
            outputs,
            public: self.public.clone(),
            sender_identities,
        };
        let id = body.id();
        let chain = self.chain_id.as_str();

        let mut range_proofs = Vec::new();
        for asset in body.output_assets() {
            let (values, blindings): (Vec<u64>, Vec<Scalar>) = self
                .outputs
                .iter()
                .filter(|o| o.asset == asset)
                .flat_map(|o| o.limb_values.iter().map(scalar_low_u64).zip(o.blindings))
                .unzip();
            let proof = range::prove(chain, &id, &asset, &values, &blindings, rng)
                .map_err(|e| BuildError::RangeProof(e.to_string()))?;
            range_proofs.push(proof);
        }

        let audit_proofs = self
            .outputs
            .iter()
            .enumerate()
            .map(|(i, planned)| {
                let statement = AuditStatement::for_output(&body, &id, i).expect("index of an output of this body");
                AuditValidityProof::prove(&statement, &planned.limb_values, &planned.blindings, rng)
            })
            .collect();

        let balance_signature =
            Signature::sign(SignaturePurpose::Balance, chain, &id, &v_b, &self.excess_secret(), rng)
                .expect("non-zero excess secret");
        let owner_signatures = self
            .inputs
            .iter()
            .map(|o| {
                Signature::sign(SignaturePurpose::Owner, chain, &id, &key_base(), &o.one_time_secret, rng)
                    .expect("non-zero one-time secret")
            })
            .collect();
        let issuer_signatures = self
            .public
            .iter()
            .filter_map(|p| match p.kind {
                PublicKind::Issue { issuer } => self.issuer_keys.iter().find(|k| k.public() == issuer),
                _ => None,
            })
            .map(|key| {
                Signature::sign(SignaturePurpose::Issuer, chain, &id, &key_base(), key.secret(), rng)
                    .expect("non-zero issuer secret")
            })
            .collect();

        let has_keys = !self.audit_keys.is_empty();
        let receiver_proofs = if has_keys {
            receiver_witnesses
                .iter()
                .enumerate()
                .map(|(i, (offset, randomness))| {
                    let statement = PartyStatement::receiver(&body, &id, i).expect("index of an output of this body");
                    PartyProof::prove(&statement, std::slice::from_ref(offset), randomness, rng)
                })
                .collect()
        } else {
            Vec::new()
        };
        let sender_proof = (has_keys && !self.inputs.is_empty()).then(|| {
            let offsets: Vec<Scalar> = self.inputs.iter().map(|o| o.owner_offset).collect();
            PartyProof::prove(&PartyStatement::sender(&body, &id), &offsets, &sender_randomness, rng)
        });

        Ok(Transaction {
            body,
            witness: TxWitness {
                range_proofs,
                audit_proofs,
                balance_signature,
                owner_signatures,
                issuer_signatures,
                receiver_proofs,
                sender_proof,
            },
        })
    }

    /// `Σ input blindings − Σ output blindings`: the discrete log of the excess to the base `B`.
    fn excess_secret(&self) -> Scalar {
        let inputs: Scalar = self.inputs.iter().map(|o| o.opening.total_blinding()).sum();
        let outputs: Scalar = self.outputs.iter().map(PlannedOutput::total_blinding).sum();
        inputs - outputs
    }

    /// The sealed output, and the witnesses of its receiver proof: the one-time key's offset and the identity
    /// ciphertexts' randomness.
    fn seal_output<R: RngCore + CryptoRng>(
        &self,
        planned: &PlannedOutput,
        v_b: &curve25519_dalek::ristretto::RistrettoPoint,
        rng: &mut R,
    ) -> Result<(Output, (Scalar, Vec<Scalar>)), BuildError> {
        let v_a = value_base(&planned.asset);
        let limbs: [Point; LIMBS] = std::array::from_fn(|i| {
            Point::new(planned.limb_values[i] * v_a + planned.blindings[i] * v_b)
                .expect("a random blinding gives a non-identity commitment")
        });
        let stealth = stealth_output(&planned.to, rng);
        let (receiver_identities, identity_randomness) =
            encrypt_to_all(&planned.receiver_identity, &self.audit_keys, rng);
        let audit_handles = self
            .audit_keys
            .iter()
            .map(|key| handles_for(key, &planned.handle_blindings).expect("random blindings give non-identity handles"))
            .collect();
        let mut output = Output {
            asset: planned.asset,
            limbs,
            one_time_key: stealth.one_time_key,
            ephemeral_key: stealth.ephemeral,
            audit_handles,
            receiver_memo: Vec::new(),
            audit_memos: Vec::new(),
            receiver_identities,
        };
        let plaintext = MemoPlaintext {
            opening: AmountOpening { asset: planned.asset, amount: planned.amount, blindings: planned.blindings },
            sender: self.sender,
            receiver: planned.to,
            text: planned.text.clone(),
        };
        let aad = output.memo_aad();
        output.receiver_memo = seal(&stealth.secret.memo_key_material, RECEIVER_MEMO, &aad, &plaintext)?;
        for key in &self.audit_keys {
            let e = loop {
                let e = Scalar::random(rng);
                if e != Scalar::ZERO {
                    break e;
                }
            };
            let ephemeral = Point::new(e * key.0.point()).expect("non-zero scalar times a non-identity key");
            let shared = e * v_b;
            let ciphertext = seal(&audit_memo_key(&shared, &ephemeral), AUDIT_MEMO, &aad, &plaintext)?;
            output.audit_memos.push(AuditMemo { ephemeral, ciphertext });
        }
        Ok((output, (stealth.secret.owner_offset, identity_randomness)))
    }
}

/// The low 64 bits of a scalar: the value handed to the range prover. For honest limbs (below 2¹⁶) this is the
/// limb itself; for a dishonest scalar the prover builds a proof that cannot verify.
fn scalar_low_u64(s: &Scalar) -> u64 {
    let mut low = [0u8; 8];
    low.copy_from_slice(&s.as_bytes()[..8]);
    u64::from_le_bytes(low)
}
