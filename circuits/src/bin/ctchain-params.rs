//! `ctchain-params`: generates, checks and exports the shielded pool's Groth16 parameters.
//!
//! ```text
//! ctchain-params setup --out params/                 fresh keys from OS randomness, with SM3SUMS
//! ctchain-params check --dir params/                 hashes, validated decoding, pk/vk consistency
//! ctchain-params export-snarkjs --dir params/ --out verification_key.json
//! ctchain-params info                                constraint and public-input counts
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use ctchain_circuits::params::{self, PROVING_KEY_FILE, VERIFYING_KEY_FILE};
use ctchain_circuits::{constraint_count, setup, snarkjs, NUM_PUBLIC_INPUTS};

const USAGE: &str = "usage:
  ctchain-params setup --out DIR            generate keys from fresh OS randomness into DIR (refuses to overwrite)
  ctchain-params check --dir DIR            check DIR's keys against DIR/SM3SUMS and against each other
  ctchain-params export-snarkjs --dir DIR --out FILE
                                            write DIR's verifying key as snarkjs verification_key.json
  ctchain-params info                       print the circuit's size";

fn flag(args: &[String], name: &str) -> Result<PathBuf, String> {
    let i = args.iter().position(|a| a == name).ok_or_else(|| format!("missing {name}\n{USAGE}"))?;
    args.get(i + 1).map(PathBuf::from).ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
}

fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("setup") => {
            let out = flag(args, "--out")?;
            for f in [PROVING_KEY_FILE, VERIFYING_KEY_FILE] {
                if out.join(f).exists() {
                    return Err(format!(
                        "{} exists: keys of a running chain must not be replaced by accident; remove it first",
                        out.join(f).display()
                    ));
                }
            }
            let start = Instant::now();
            // The setup's randomness is the toxic waste: it comes from the OS and is dropped when setup returns.
            let (pk, vk) = setup(&mut rand_core::OsRng).map_err(|e| e.to_string())?;
            let hashes = params::write_parameters(&out, &pk, &vk).map_err(|e| e.to_string())?;
            println!("generated in {:.1} s into {}", start.elapsed().as_secs_f64(), out.display());
            print!("{}", hashes.to_sums());
            println!("pin the verifying key hash in the genesis: {}", hashes.verifying_key);
            Ok(())
        }
        Some("check") => {
            let dir = flag(args, "--dir")?;
            let (_, _, hashes) = params::load_directory(&dir).map_err(|e| e.to_string())?;
            println!("ok: both keys match SM3SUMS, decode with validation and belong together");
            print!("{}", hashes.to_sums());
            Ok(())
        }
        Some("export-snarkjs") => {
            let dir = flag(args, "--dir")?;
            let out = flag(args, "--out")?;
            let hashes = params::read_hashes(&dir).map_err(|e| e.to_string())?;
            let vk = params::load_verifying_key(&dir.join(VERIFYING_KEY_FILE), &hashes.verifying_key)
                .map_err(|e| e.to_string())?;
            std::fs::write(&out, snarkjs::verifying_key_json(&vk)).map_err(|e| format!("{}: {e}", out.display()))?;
            println!("wrote {}", out.display());
            Ok(())
        }
        Some("info") => {
            let n = constraint_count().map_err(|e| e.to_string())?;
            println!("transfer circuit (2 inputs, 2 outputs, depth-32 tree): {n} constraints, {NUM_PUBLIC_INPUTS} public inputs");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ctchain-params: {e}");
            ExitCode::FAILURE
        }
    }
}
