//! The documented parameter command, run as an operator would: fresh keys each time, refuses to overwrite,
//! checks what it wrote, exports the verifying key for snarkjs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn params(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ctchain-params")).args(args).output().expect("ctchain-params runs")
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ctchain-params-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn vk_hash(d: &Path) -> String {
    ctchain_circuits::params::read_hashes(d).unwrap().verifying_key.to_hex()
}

#[test]
fn setup_draws_fresh_keys_refuses_to_overwrite_and_its_output_checks() {
    let (a, b) = (dir("a"), dir("b"));
    for d in [&a, &b] {
        let out = params(&["setup", "--out", d.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("pin the verifying key hash"));
    }
    // OS randomness: two setups never give the same keys.
    assert_ne!(vk_hash(&a), vk_hash(&b));

    let again = params(&["setup", "--out", a.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));

    let check = params(&["check", "--dir", a.to_str().unwrap()]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    // Keys of two setups mixed in one directory are refused.
    std::fs::copy(b.join("transfer.vk"), a.join("transfer.vk")).unwrap();
    let sums = std::fs::read_to_string(a.join("SM3SUMS")).unwrap().replace(&vk_hash(&a), &vk_hash(&b));
    std::fs::write(a.join("SM3SUMS"), sums).unwrap();
    let mixed = params(&["check", "--dir", a.to_str().unwrap()]);
    assert!(!mixed.status.success());
    assert!(String::from_utf8_lossy(&mixed.stderr).contains("different setups"));

    let json = b.join("verification_key.json");
    let export = params(&["export-snarkjs", "--dir", b.to_str().unwrap(), "--out", json.to_str().unwrap()]);
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(text.contains("\"nPublic\": 24") && text.contains("\"curve\": \"bn128\""));

    assert!(!params(&["setup"]).status.success(), "missing --out is a usage error");
    for d in [a, b] {
        let _ = std::fs::remove_dir_all(d);
    }
}
