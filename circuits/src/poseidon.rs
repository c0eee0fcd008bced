//! Poseidon over the BN254 scalar field: the one hash of the circuits, natively and as a gadget.
//!
//! Width 3, x^5, 8 full and 57 partial rounds, constants from the paper's Grain LFSR; every hash is
//! domain-separated by purpose and arity through its capacity element ([`Domain`]). Why these parameters, and how
//! the domain tag separates purposes: [`notes::poseidon`](crate::notes::poseidon).

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_crypto_primitives::sponge::constraints::CryptographicSpongeVar;
use ark_crypto_primitives::sponge::poseidon::constraints::PoseidonSpongeVar;
use ark_crypto_primitives::sponge::poseidon::{find_poseidon_ark_and_mds, PoseidonConfig};
use ark_ff::Field;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::r1cs::{ConstraintSystemRef, SynthesisError};

/// Full rounds (R_F).
pub const FULL_ROUNDS: usize = 8;
/// Partial rounds (R_P).
pub const PARTIAL_ROUNDS: usize = 57;
/// S-box exponent.
pub const ALPHA: u64 = 5;
/// Rate of the sponge (field elements absorbed per permutation).
pub const RATE: usize = 2;
/// Capacity of the sponge.
pub const CAPACITY: usize = 1;
/// Bits of the BN254 scalar modulus, an input of the constant generation.
const PRIME_BITS: u64 = 254;
/// Bumped if any hash of the shielded pool ever changes meaning.
const VERSION: u64 = 1;

/// What a hash is for; part of the capacity tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Domain {
    /// Nullifier key from the spending key.
    NullifierKey = 1,
    /// Owner tag (the public half of an address) from the nullifier key.
    Owner = 2,
    /// Note commitment from (asset, value, owner, randomness).
    NoteCommitment = 3,
    /// Nullifier from (nullifier key, commitment, position).
    Nullifier = 4,
    /// Merkle node from (left, right).
    MerkleNode = 5,
    /// Audit keystream of output 0 from the shared point.
    AuditKeystream0 = 6,
    /// Audit keystream of output 1 from the shared point.
    AuditKeystream1 = 7,
}

impl Domain {
    /// The audit keystream domain of output `index` (0 or 1).
    pub(crate) fn audit_keystream(index: usize) -> Domain {
        if index == 0 {
            Domain::AuditKeystream0
        } else {
            Domain::AuditKeystream1
        }
    }

    fn tag(self, arity: usize) -> Fr {
        Fr::from((VERSION << 32) | ((self as u64) << 8) | (arity as u64 & 0xff))
    }
}

/// The Poseidon configuration, generated once per process (the LFSR takes a few milliseconds).
pub fn config() -> &'static PoseidonConfig<Fr> {
    static CONFIG: OnceLock<PoseidonConfig<Fr>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let (ark, mds) =
            find_poseidon_ark_and_mds::<Fr>(PRIME_BITS, RATE, FULL_ROUNDS as u64, PARTIAL_ROUNDS as u64, 0);
        PoseidonConfig::new(FULL_ROUNDS, PARTIAL_ROUNDS, ALPHA, mds, ark, RATE, CAPACITY)
    })
}

/// The Poseidon permutation on a width-3 state, without allocation: the same rounds as arkworks' sponge
/// (add round constants, S-box on all or on the first element, MDS), which the tests check it against.
fn permute(state: &mut [Fr; WIDTH]) {
    let cfg = config();
    let half_full = cfg.full_rounds / 2;
    for (round, constants) in cfg.ark.iter().enumerate() {
        for (s, c) in state.iter_mut().zip(constants) {
            *s += c;
        }
        let full = round < half_full || round >= half_full + cfg.partial_rounds;
        let sboxed = if full { WIDTH } else { 1 };
        for s in state.iter_mut().take(sboxed) {
            let sq = s.square();
            *s *= sq.square();
        }
        let old = *state;
        for (s, row) in state.iter_mut().zip(&cfg.mds) {
            *s = old[0] * row[0] + old[1] * row[1] + old[2] * row[2];
        }
    }
}

/// Width of the state: rate plus capacity.
const WIDTH: usize = RATE + CAPACITY;

/// `n` outputs of the sponge over `inputs`, for `domain`: a duplex sponge absorbing into the rate part
/// (elements 1 and 2) and permuting whenever it is full, then squeezing, exactly as arkworks'
/// `PoseidonSponge` does, so that the gadget (arkworks' `PoseidonSpongeVar`) computes the same function.
pub fn hash_n(domain: Domain, inputs: &[Fr], n: usize) -> Vec<Fr> {
    let mut state = [domain.tag(inputs.len()), Fr::from(0u64), Fr::from(0u64)];
    let mut index = 0;
    for x in inputs {
        if index == RATE {
            permute(&mut state);
            index = 0;
        }
        state[CAPACITY + index] += x;
        index += 1;
    }
    permute(&mut state);
    let mut out = Vec::with_capacity(n);
    index = 0;
    while out.len() < n {
        if index == RATE {
            permute(&mut state);
            index = 0;
        }
        out.push(state[CAPACITY + index]);
        index += 1;
    }
    out
}

/// One output of the sponge over `inputs`, for `domain`.
pub fn hash(domain: Domain, inputs: &[Fr]) -> Fr {
    // The sponge always returns exactly the number of elements asked for.
    hash_n(domain, inputs, 1).pop().unwrap_or_default()
}

/// In-circuit [`hash_n`].
pub fn hash_n_var(
    cs: ConstraintSystemRef<Fr>,
    domain: Domain,
    inputs: &[FpVar<Fr>],
    n: usize,
) -> Result<Vec<FpVar<Fr>>, SynthesisError> {
    let mut sponge = PoseidonSpongeVar::new(cs, config());
    sponge.state[0] = FpVar::Constant(domain.tag(inputs.len()));
    for x in inputs {
        sponge.absorb(x)?;
    }
    sponge.squeeze_field_elements(n)
}

/// In-circuit [`hash`].
pub fn hash_var(
    cs: ConstraintSystemRef<Fr>,
    domain: Domain,
    inputs: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    hash_n_var(cs, domain, inputs, 1)?.pop().ok_or(SynthesisError::Unsatisfiable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::R1CSVar;
    use ark_relations::r1cs::ConstraintSystem;

    #[test]
    fn gadget_matches_native_for_every_arity() {
        for arity in 1..=5 {
            let inputs: Vec<Fr> = (0..arity).map(|i| Fr::from(1000 + i as u64)).collect();
            let cs = ConstraintSystem::<Fr>::new_ref();
            let vars: Vec<_> = inputs.iter().map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap()).collect();
            let out = hash_n_var(cs.clone(), Domain::NoteCommitment, &vars, 3).unwrap();
            let native = hash_n(Domain::NoteCommitment, &inputs, 3);
            assert_eq!(out.iter().map(|v| v.value().unwrap()).collect::<Vec<_>>(), native);
            assert!(cs.is_satisfied().unwrap());
        }
    }

    /// arkworks' sponge, the reference the allocation-free native code must match.
    fn reference(domain: Domain, inputs: &[Fr], n: usize) -> Vec<Fr> {
        use ark_crypto_primitives::sponge::poseidon::PoseidonSponge;
        use ark_crypto_primitives::sponge::CryptographicSponge;
        let mut sponge = PoseidonSponge::new(config());
        sponge.state[0] = domain.tag(inputs.len());
        for x in inputs {
            sponge.absorb(x);
        }
        sponge.squeeze_field_elements(n)
    }

    #[test]
    fn native_matches_the_arkworks_sponge() {
        for arity in 0..=7u64 {
            for n in 1..=5 {
                let inputs: Vec<Fr> = (0..arity).map(|i| Fr::from(i * 0x9e37_79b9 + 17) - Fr::from(arity)).collect();
                assert_eq!(
                    hash_n(Domain::Nullifier, &inputs, n),
                    reference(Domain::Nullifier, &inputs, n),
                    "{arity} {n}"
                );
            }
        }
    }

    #[test]
    fn domains_and_arities_give_different_functions() {
        let a = hash(Domain::MerkleNode, &[Fr::from(1u64), Fr::from(2u64)]);
        let b = hash(Domain::NoteCommitment, &[Fr::from(1u64), Fr::from(2u64)]);
        let c = hash(Domain::MerkleNode, &[Fr::from(1u64), Fr::from(2u64), Fr::from(0u64)]);
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn two_to_one_costs_one_permutation() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let l = FpVar::new_witness(cs.clone(), || Ok(Fr::from(1u64))).unwrap();
        let r = FpVar::new_witness(cs.clone(), || Ok(Fr::from(2u64))).unwrap();
        let _ = hash_var(cs.clone(), Domain::MerkleNode, &[l, r]).unwrap();
        // 3 constraints per S-box: 8 full rounds of 3 S-boxes and 57 partial rounds of one, less the first
        // round's S-box on the capacity element, which is a constant (the domain tag).
        assert_eq!(cs.num_constraints(), 3 * (8 * 3 + 57) - 3);
    }

    #[test]
    fn parameters_are_pinned() {
        // If this changes, every note commitment and nullifier on an existing chain changes meaning.
        let h = hash(Domain::MerkleNode, &[Fr::from(1u64), Fr::from(2u64)]);
        assert_eq!(hex::encode(crate::encoding::fr_to_bytes(&h)), PINNED_NODE_1_2);
    }

    const PINNED_NODE_1_2: &str = "889368f67c23f2c45d22c5b03094988cd99bf50e67a22a26eb82cfa4e8367403";
}
