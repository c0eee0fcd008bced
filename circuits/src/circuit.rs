//! The 2-in/2-out transfer circuit.
//!
//! [`NUM_PUBLIC_INPUTS`] public inputs: the anchor, two nullifiers, two output commitments, the public value in
//! and out and its asset, the transaction id in two halves, the chain's audit key and the two outputs' audit
//! ciphertexts. Their order, what the constraints enforce and what is checked outside the circuit:
//! [`notes::transfer_circuit`](crate::notes::transfer_circuit).

use ark_bn254::Fr;
use ark_ed_on_bn254::constraints::EdwardsVar;
use ark_ed_on_bn254::EdwardsAffine;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use crate::audit::{encrypt_var, AuditCiphertext, AUDIT_FIELDS, SCALAR_BITS};
use crate::poseidon::{hash_var, Domain};
use crate::tree::{root_var, TREE_DEPTH};

/// Number of public inputs (the verifying key has one more base point, for the constant 1).
pub const NUM_PUBLIC_INPUTS: usize = 24;

/// An input note as the circuit sees it.
#[derive(Clone, Debug)]
pub(crate) struct InputWitness {
    /// A field element so tests can try values outside 64 bits; honest values are below 2^64.
    pub value: Fr,
    pub rcm: Fr,
    pub position: u64,
    pub siblings: [Fr; TREE_DEPTH],
}

/// An output note as the circuit sees it.
#[derive(Clone, Debug)]
pub(crate) struct OutputWitness {
    /// As for inputs.
    pub value: Fr,
    pub owner: Fr,
    pub rcm: Fr,
    pub audit_bits: Vec<bool>,
}

/// The whole assignment: public inputs and witness.
#[derive(Clone, Debug)]
pub(crate) struct TransferCircuit {
    pub anchor: Fr,
    pub nullifiers: [Fr; 2],
    pub commitments: [Fr; 2],
    pub public_in: u64,
    pub public_out: u64,
    pub public_asset: Fr,
    pub tx_id: [u8; 32],
    pub audit_key: EdwardsAffine,
    pub audit: [AuditCiphertext; 2],
    pub sk: Fr,
    pub asset: Fr,
    pub inputs: [InputWitness; 2],
    pub outputs: [OutputWitness; 2],
}

impl TransferCircuit {
    /// A circuit of the right shape with meaningless values: what key generation synthesises.
    pub fn blank() -> Self {
        let zero = Fr::from(0u64);
        let input = InputWitness { value: zero, rcm: zero, position: 0, siblings: [zero; TREE_DEPTH] };
        let output = OutputWitness { value: zero, owner: zero, rcm: zero, audit_bits: vec![false; SCALAR_BITS] };
        let ct = AuditCiphertext { ephemeral: crate::keys::generator(), masked: [zero; AUDIT_FIELDS] };
        Self {
            anchor: zero,
            nullifiers: [zero; 2],
            commitments: [zero; 2],
            public_in: 0,
            public_out: 0,
            public_asset: zero,
            tx_id: [0; 32],
            audit_key: crate::keys::generator(),
            audit: [ct; 2],
            sk: zero,
            asset: zero,
            inputs: [input.clone(), input],
            outputs: [output.clone(), output],
        }
    }
}

/// The two public inputs that carry a transaction id.
pub(crate) fn tx_id_limbs(tx_id: &[u8; 32]) -> [u128; 2] {
    let mut lo = [0u8; 16];
    let mut hi = [0u8; 16];
    lo.copy_from_slice(&tx_id[..16]);
    hi.copy_from_slice(&tx_id[16..]);
    [u128::from_le_bytes(lo), u128::from_le_bytes(hi)]
}

/// Witness bits of `value` (least significant first), `n` of them.
fn alloc_bits(cs: &ConstraintSystemRef<Fr>, value: u128, n: usize) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    (0..n).map(|i| Boolean::new_witness(cs.clone(), || Ok((value >> i) & 1 == 1))).collect()
}

/// `Σ bits[i] · 2^i` as a linear combination (no constraint).
fn pack(bits: &[Boolean<Fr>]) -> FpVar<Fr> {
    let mut acc = FpVar::zero();
    let mut coeff = Fr::from(1u64);
    for b in bits {
        acc += FpVar::from(b.clone()) * coeff;
        coeff += coeff;
    }
    acc
}

/// A private value defined by its `n` low bits, hence below 2^n: a witness value at or above 2^n cannot be
/// expressed (the variable is the packing of the bits, not the value).
fn alloc_ranged(cs: &ConstraintSystemRef<Fr>, value: Fr, n: usize) -> Result<FpVar<Fr>, SynthesisError> {
    use ark_ff::{BigInteger, PrimeField};
    let big = value.into_bigint();
    let bits =
        (0..n).map(|i| Boolean::new_witness(cs.clone(), || Ok(big.get_bit(i)))).collect::<Result<Vec<_>, _>>()?;
    Ok(pack(&bits))
}

/// Enforces that the public input `var` (whose value is `value`) is below 2^n.
fn enforce_range(cs: &ConstraintSystemRef<Fr>, var: &FpVar<Fr>, value: u128, n: usize) -> Result<(), SynthesisError> {
    pack(&alloc_bits(cs, value, n)?).enforce_equal(var)
}

impl ConstraintSynthesizer<Fr> for TransferCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        // Public inputs, in the documented order.
        let anchor = FpVar::new_input(cs.clone(), || Ok(self.anchor))?;
        let nullifiers = [
            FpVar::new_input(cs.clone(), || Ok(self.nullifiers[0]))?,
            FpVar::new_input(cs.clone(), || Ok(self.nullifiers[1]))?,
        ];
        let commitments = [
            FpVar::new_input(cs.clone(), || Ok(self.commitments[0]))?,
            FpVar::new_input(cs.clone(), || Ok(self.commitments[1]))?,
        ];
        let public_in = FpVar::new_input(cs.clone(), || Ok(Fr::from(self.public_in)))?;
        let public_out = FpVar::new_input(cs.clone(), || Ok(Fr::from(self.public_out)))?;
        let public_asset = FpVar::new_input(cs.clone(), || Ok(self.public_asset))?;
        let limbs = tx_id_limbs(&self.tx_id);
        let tx_lo = FpVar::new_input(cs.clone(), || Ok(Fr::from(limbs[0])))?;
        let tx_hi = FpVar::new_input(cs.clone(), || Ok(Fr::from(limbs[1])))?;
        // Input mode checks the point is on the curve (subgroup membership is checked natively).
        let audit_key = EdwardsVar::new_input(cs.clone(), || Ok(self.audit_key))?;
        let mut audit_public = Vec::with_capacity(2);
        for ct in &self.audit {
            let vars = ct
                .public_inputs()
                .iter()
                .map(|x| FpVar::new_input(cs.clone(), || Ok(*x)))
                .collect::<Result<Vec<_>, _>>()?;
            audit_public.push(vars);
        }

        // 9: the transaction id's limbs are 128-bit.
        enforce_range(&cs, &tx_lo, limbs[0], 128)?;
        enforce_range(&cs, &tx_hi, limbs[1], 128)?;
        // 6: public values are 64-bit.
        enforce_range(&cs, &public_in, self.public_in.into(), 64)?;
        enforce_range(&cs, &public_out, self.public_out.into(), 64)?;

        // 1: the spender's keys.
        let sk = FpVar::new_witness(cs.clone(), || Ok(self.sk))?;
        let nk = hash_var(cs.clone(), Domain::NullifierKey, &[sk])?;
        let owner = hash_var(cs.clone(), Domain::Owner, std::slice::from_ref(&nk))?;

        // 2: one asset, public when value crosses the pool's boundary.
        let asset = FpVar::new_witness(cs.clone(), || Ok(self.asset))?;
        (&public_in + &public_out).mul_equals(&(&asset - &public_asset), &FpVar::zero())?;

        let mut total_in = public_in.clone();
        for (i, input) in self.inputs.iter().enumerate() {
            let value = alloc_ranged(&cs, input.value, 64)?;
            let rcm = FpVar::new_witness(cs.clone(), || Ok(input.rcm))?;
            let cm = hash_var(cs.clone(), Domain::NoteCommitment, &[asset.clone(), value.clone(), owner.clone(), rcm])?;
            // 3: membership at the anchor, waived for zero-value (dummy) inputs.
            let position_bits = alloc_bits(&cs, input.position.into(), TREE_DEPTH)?;
            let siblings = input
                .siblings
                .iter()
                .map(|s| FpVar::new_witness(cs.clone(), || Ok(*s)))
                .collect::<Result<Vec<_>, _>>()?;
            let root = root_var(cs.clone(), &cm, &position_bits, &siblings)?;
            (&root - &anchor).mul_equals(&value, &FpVar::zero())?;
            // 4: the nullifier.
            let position = pack(&position_bits);
            let nf = hash_var(cs.clone(), Domain::Nullifier, &[nk.clone(), cm, position])?;
            nf.enforce_equal(&nullifiers[i])?;
            total_in += value;
        }

        let mut total_out = public_out.clone();
        for (j, output) in self.outputs.iter().enumerate() {
            let value = alloc_ranged(&cs, output.value, 64)?;
            let receiver = FpVar::new_witness(cs.clone(), || Ok(output.owner))?;
            let rcm = FpVar::new_witness(cs.clone(), || Ok(output.rcm))?;
            // 5: the output commitment.
            let cm =
                hash_var(cs.clone(), Domain::NoteCommitment, &[asset.clone(), value.clone(), receiver.clone(), rcm])?;
            cm.enforce_equal(&commitments[j])?;
            // 8: the regulator's copy.
            if output.audit_bits.len() != SCALAR_BITS {
                return Err(SynthesisError::Unsatisfiable);
            }
            let bits = output
                .audit_bits
                .iter()
                .map(|b| Boolean::new_witness(cs.clone(), || Ok(*b)))
                .collect::<Result<Vec<_>, _>>()?;
            let plaintext = [asset.clone(), value.clone(), receiver, owner.clone()];
            let (ephemeral, masked) = encrypt_var(cs.clone(), j, &audit_key, &bits, &plaintext)?;
            ephemeral.x.enforce_equal(&audit_public[j][0])?;
            ephemeral.y.enforce_equal(&audit_public[j][1])?;
            for (k, m) in masked.iter().enumerate() {
                m.enforce_equal(&audit_public[j][2 + k])?;
            }
            total_out += value;
        }

        // 7: balance.
        total_in.enforce_equal(&total_out)
    }
}
