//! Export to snarkjs's JSON formats, so an independent implementation (JavaScript, ffjavascript's pairing)
//! can check ctchain's proofs: `snarkjs groth16 verify verification_key.json public.json proof.json`.
//!
//! snarkjs names BN254 `bn128`; numbers are decimal strings; points are projective triples with z = 1 (the
//! identity is `["0", "1", "0"]`); an Fq2 element `c0 + c1·u` is `["c0", "c1"]`. snarkjs's verification
//! equation `e(−A, B) · e(cpub, γ) · e(C, δ) · e(α, β) = 1` with `cpub = IC0 + Σ xᵢ ICᵢ` is the one arkworks
//! uses, with arkworks' `gamma_abc_g1` as `IC`.

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::PrimeField;

use crate::transfer::{TransferProof, TransferVerifyingKey};

fn fq(x: &Fq) -> String {
    format!("\"{}\"", x.into_bigint())
}

fn fq2(x: &Fq2) -> String {
    format!("[{}, {}]", fq(&x.c0), fq(&x.c1))
}

fn g1(p: &G1Affine) -> String {
    match p.xy() {
        Some((x, y)) => format!("[{}, {}, \"1\"]", fq(&x), fq(&y)),
        None => "[\"0\", \"1\", \"0\"]".to_string(),
    }
}

fn g2(p: &G2Affine) -> String {
    match p.xy() {
        Some((x, y)) => format!("[{}, {}, [\"1\", \"0\"]]", fq2(&x), fq2(&y)),
        None => "[[\"0\", \"0\"], [\"1\", \"0\"], [\"0\", \"0\"]]".to_string(),
    }
}

/// `verification_key.json`.
pub fn verifying_key_json(vk: &TransferVerifyingKey) -> String {
    let vk = vk.inner();
    let ic: Vec<String> = vk.gamma_abc_g1.iter().map(|p| format!("    {}", g1(p))).collect();
    format!(
        "{{\n  \"protocol\": \"groth16\",\n  \"curve\": \"bn128\",\n  \"nPublic\": {},\n  \"vk_alpha_1\": {},\n  \
         \"vk_beta_2\": {},\n  \"vk_gamma_2\": {},\n  \"vk_delta_2\": {},\n  \"IC\": [\n{}\n  ]\n}}\n",
        vk.gamma_abc_g1.len().saturating_sub(1),
        g1(&vk.alpha_g1),
        g2(&vk.beta_g2),
        g2(&vk.gamma_g2),
        g2(&vk.delta_g2),
        ic.join(",\n")
    )
}

/// `proof.json`.
pub fn proof_json(proof: &TransferProof) -> String {
    let p = proof.inner();
    format!(
        "{{\n  \"pi_a\": {},\n  \"pi_b\": {},\n  \"pi_c\": {},\n  \"protocol\": \"groth16\",\n  \"curve\": \"bn128\"\n}}\n",
        g1(&p.a),
        g2(&p.b),
        g1(&p.c)
    )
}

/// `public.json`: the public inputs as decimal strings.
pub fn public_inputs_json(inputs: &[Fr]) -> String {
    let items: Vec<String> = inputs.iter().map(|x| format!("  \"{}\"", x.into_bigint())).collect();
    format!("[\n{}\n]\n", items.join(",\n"))
}
