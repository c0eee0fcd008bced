//! One aggregated Bulletproof per asset per transaction, over every limb of that asset's outputs.
//!
//! The statement is the list of limb commitments of the asset's outputs (four per output, in output order),
//! padded to a power of two with the public commitment `0·V_a + 1·B = B` (a commitment to zero whose opening
//! everyone knows, so padding reveals nothing and cannot hide value). Each party proves its value is below
//! `2¹⁶` for the asset's Pedersen generators `(V_a, B)`. The transcript header binds the chain id and the
//! transaction id; the asset id and the number of real limbs follow; the `bulletproofs` crate then appends its
//! own domain separator (`n`, `m`) and every commitment before it draws a challenge.

use bulletproofs::RangeProof;
use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

use crate::amount::LIMB_BITS;
use crate::asset::AssetId;
use crate::generators::{blinding_base, bulletproof_gens, pedersen_gens};
use crate::point::Point;
use crate::transcript::ProtocolTranscript;
use crate::tx::TxId;

fn transcript(chain_id: &str, tx_id: &TxId, asset: &AssetId, real_limbs: usize) -> Transcript {
    let mut t = Transcript::range_proof(chain_id, tx_id);
    t.append_message(b"asset", asset.as_bytes());
    t.append_u64_le(b"limbs", real_limbs as u64);
    t
}

/// Proves every `values[i] < 2¹⁶` for commitments `values[i]·V_a + blindings[i]·B`.
pub(crate) fn prove<R: RngCore + CryptoRng>(
    chain_id: &str,
    tx_id: &TxId,
    asset: &AssetId,
    values: &[u64],
    blindings: &[Scalar],
    rng: &mut R,
) -> Result<RangeProof, bulletproofs::ProofError> {
    let parties = values.len().next_power_of_two();
    let mut values = values.to_vec();
    let mut blindings = blindings.to_vec();
    let real = values.len();
    values.resize(parties, 0);
    blindings.resize(parties, Scalar::ONE);
    let mut t = transcript(chain_id, tx_id, asset, real);
    let (proof, _) = RangeProof::prove_multiple_with_rng(
        &bulletproof_gens(),
        &pedersen_gens(asset),
        &mut t,
        &values,
        &blindings,
        LIMB_BITS,
        rng,
    )?;
    Ok(proof)
}

/// Verifies a proof for the given limb commitments.
pub(crate) fn verify<R: RngCore + CryptoRng>(
    chain_id: &str,
    tx_id: &TxId,
    asset: &AssetId,
    limbs: &[Point],
    proof: &RangeProof,
    rng: &mut R,
) -> bool {
    let parties = limbs.len().next_power_of_two();
    let padding = blinding_base().compress();
    let mut commitments: Vec<CompressedRistretto> = limbs.iter().map(|p| *p.compressed()).collect();
    commitments.resize(parties, padding);
    let mut t = transcript(chain_id, tx_id, asset, limbs.len());
    proof
        .verify_multiple_with_rng(&bulletproof_gens(), &pedersen_gens(asset), &mut t, &commitments, LIMB_BITS, rng)
        .is_ok()
}

/// Size in bytes of a proof for `limbs` limb commitments.
pub(crate) fn proof_len(limbs: usize) -> usize {
    let parties = limbs.next_power_of_two();
    let rounds = (LIMB_BITS * parties).trailing_zeros() as usize;
    32 * (9 + 2 * rounds)
}
