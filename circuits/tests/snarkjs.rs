//! An independent verifier: snarkjs (JavaScript, ffjavascript's pairing) checks a real transfer proof exported
//! by ctchain, and refuses tampered ones. `.ci/setup` installs snarkjs; without it this test fails and says so,
//! rather than passing without having checked anything.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use ark_ff::PrimeField;
use common::{keys, tx_id_of, World};
use ctchain_circuits::snarkjs::{proof_json, public_inputs_json, verifying_key_json};
use ctchain_circuits::TransferProof;

/// snarkjs from `$SNARKJS`, or on the PATH.
fn snarkjs() -> PathBuf {
    if let Some(p) = std::env::var_os("SNARKJS") {
        return PathBuf::from(p);
    }
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("snarkjs")).find(|p| p.is_file()));
    found.unwrap_or_else(|| {
        panic!(
            "snarkjs is not installed, so the independent verification of transfer proofs cannot run. \
             Run `bash .ci/setup` (it installs snarkjs with npm), or `npm install -g snarkjs@0.7.6`, \
             or set SNARKJS to its path."
        )
    })
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ctchain-snarkjs-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `snarkjs groth16 verify`; true when it accepts.
fn snarkjs_accepts(dir: &Path, vk: &str, public: &str, proof: &str) -> bool {
    std::fs::write(dir.join("verification_key.json"), vk).unwrap();
    std::fs::write(dir.join("public.json"), public).unwrap();
    std::fs::write(dir.join("proof.json"), proof).unwrap();
    let out = Command::new(snarkjs())
        .args(["groth16", "verify", "verification_key.json", "public.json", "proof.json"])
        .current_dir(dir)
        .output()
        .expect("snarkjs runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("snarkjs: {}{}", stdout.trim(), String::from_utf8_lossy(&out.stderr).trim());
    out.status.success() && stdout.contains("OK")
}

/// Sum of two non-negative decimal integers, as a decimal string.
fn add_decimal(a: &str, b: &str) -> String {
    let (a, b): (Vec<u8>, Vec<u8>) =
        (a.bytes().rev().map(|c| c - b'0').collect(), b.bytes().rev().map(|c| c - b'0').collect());
    let mut out = Vec::new();
    let mut carry = 0;
    for i in 0..a.len().max(b.len()) {
        let s = a.get(i).copied().unwrap_or(0) + b.get(i).copied().unwrap_or(0) + carry;
        out.push(b'0' + s % 10);
        carry = s / 10;
    }
    if carry > 0 {
        out.push(b'0' + carry);
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

#[test]
fn snarkjs_accepts_a_real_transfer_proof_and_rejects_tampered_ones() {
    let world = World::new(11);
    let mut rng = common::test_rng(111);
    let (pk, vk) = keys();
    let unproven = world.alice_pays_bob(4).build(&mut rng).unwrap();
    let tx_id = tx_id_of(&unproven.statement, 11);
    let proof = unproven.prove(pk, &tx_id, &mut rng).unwrap();
    ctchain_circuits::verify(vk, &unproven.statement, &tx_id, &proof).unwrap();

    let dir = scratch_dir("transfer");
    let vk_json = verifying_key_json(vk);
    let inputs = unproven.statement.public_inputs(&tx_id);
    assert!(
        snarkjs_accepts(&dir, &vk_json, &public_inputs_json(&inputs), &proof_json(&proof)),
        "snarkjs must accept the honest proof"
    );

    // Another transaction id.
    let mut other = tx_id;
    other[0] ^= 1;
    let tampered = public_inputs_json(&unproven.statement.public_inputs(&other));
    assert!(!snarkjs_accepts(&dir, &vk_json, &tampered, &proof_json(&proof)), "tampered tx id");

    // A changed audit ciphertext field (the last public input).
    let mut changed = inputs.clone();
    let last = changed.len() - 1;
    changed[last] += ark_bn254::Fr::from(1u64);
    assert!(!snarkjs_accepts(&dir, &vk_json, &public_inputs_json(&changed), &proof_json(&proof)), "tampered audit");

    // A public input not reduced below r (the same residue plus r): snarkjs refuses it as ctchain's decoders do,
    // so nobody can present one proof as valid for two encodings of the statement.
    let mut strings: Vec<String> = inputs.iter().map(|x| x.into_bigint().to_string()).collect();
    strings[0] = add_decimal(&strings[0], &ark_bn254::Fr::MODULUS.to_string());
    let unreduced = format!("[{}]", strings.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", "));
    assert!(!snarkjs_accepts(&dir, &vk_json, &unreduced, &proof_json(&proof)), "unreduced public input");

    // A tampered proof: A and C swapped (both valid G1 points, so only the pairing can refuse).
    let mut swapped = proof.inner().clone();
    std::mem::swap(&mut swapped.a, &mut swapped.c);
    let mut bytes = [0u8; 128];
    ark_serialize::CanonicalSerialize::serialize_compressed(&swapped, &mut bytes[..]).unwrap();
    let swapped = TransferProof::from_bytes(&bytes).unwrap();
    assert!(!snarkjs_accepts(&dir, &vk_json, &public_inputs_json(&inputs), &proof_json(&swapped)), "tampered proof");
    // ctchain agrees.
    assert_eq!(
        ctchain_circuits::verify(vk, &unproven.statement, &tx_id, &swapped),
        Err(ctchain_circuits::CircuitError::ProofRejected)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
