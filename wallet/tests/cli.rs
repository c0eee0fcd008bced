//! The command line without a node: key management, and the clear, non-zero failures of bad input.

use std::path::Path;
use std::process::{Command, Output};

const CHAIN: &str = "ctchain-demo-1";

fn wallet(dir: &Path, password: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ctchain-wallet"))
        .args(["--wallet", dir.join("w.json").to_str().unwrap(), "--rpc", "http://127.0.0.1:9"])
        .args(args)
        .env("CTCHAIN_WALLET_PASSWORD", password)
        .env_remove("CTCHAIN_WALLET")
        .env_remove("CTCHAIN_RPC")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[test]
fn new_address_export_view_key_view_only_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let o = wallet(dir.path(), "pw", &["new", "--chain-id", CHAIN, "--insecure-fast-kdf", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let created = json(&o);
    let address = created["address"].as_str().unwrap().to_owned();
    let phrase = created["recovery_phrase"].as_str().unwrap().to_owned();
    assert!(address.starts_with("ctchaindemo11"));
    assert_eq!(phrase.split_whitespace().count(), 24);

    // `address` needs no password.
    let o = wallet(dir.path(), "", &["address"]);
    assert_eq!(stdout(&o).trim(), address);

    // A second `new` does not overwrite.
    let o = wallet(dir.path(), "pw", &["new", "--chain-id", CHAIN, "--insecure-fast-kdf"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));

    // Wrong password: clear message, exit 1.
    let o = wallet(dir.path(), "nope", &["export-view-key"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("wrong password"), "{}", stderr(&o));

    let o = wallet(dir.path(), "pw", &["export-view-key", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let view_key = json(&o)["view_key"].as_str().unwrap().to_owned();

    let watch = tempfile::tempdir().unwrap();
    let o = wallet(
        watch.path(),
        "pw2",
        &["new", "--view-only", &view_key, "--chain-id", CHAIN, "--insecure-fast-kdf", "--json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["address"].as_str(), Some(address.as_str()));
    assert_eq!(json(&o)["kind"].as_str(), Some("view-only"));
    assert!(json(&o)["recovery_phrase"].is_null());

    let restored = tempfile::tempdir().unwrap();
    let phrase_file = restored.path().join("phrase.txt");
    std::fs::write(&phrase_file, &phrase).unwrap();
    let o = wallet(
        restored.path(),
        "pw3",
        &[
            "restore",
            "--phrase-file",
            phrase_file.to_str().unwrap(),
            "--chain-id",
            CHAIN,
            "--insecure-fast-kdf",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["address"].as_str(), Some(address.as_str()));
}

#[test]
fn a_mistyped_phrase_or_view_key_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let phrase_file = dir.path().join("phrase.txt");
    std::fs::write(&phrase_file, "abandon ".repeat(24)).unwrap();
    let o = wallet(dir.path(), "pw", &["restore", "--phrase-file", phrase_file.to_str().unwrap(), "--chain-id", CHAIN]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("invalid recovery phrase"), "{}", stderr(&o));
    let o = wallet(dir.path(), "pw", &["new", "--view-only", "abcd", "--chain-id", CHAIN]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!dir.path().join("w.json").exists());
}

#[test]
fn an_unreachable_node_is_named_with_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    assert!(wallet(dir.path(), "pw", &["new", "--chain-id", CHAIN, "--insecure-fast-kdf"]).status.success());
    let before = std::fs::read_dir(dir.path()).unwrap().count();
    let me = stdout(&wallet(dir.path(), "", &["address"])).trim().to_owned();
    for args in [&["sync"][..], &["balance"], &["send", "--to", &me, "--asset", "CNY", "--amount", "1"]] {
        let o = wallet(dir.path(), "pw", args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains("cannot reach the node at http://127.0.0.1:9"), "{args:?}: {}", stderr(&o));
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), before, "no file was written");
    // Without any wallet, `new` without --chain-id asks the node and says it cannot.
    let other = tempfile::tempdir().unwrap();
    let o = wallet(other.path(), "pw", &["new"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("give --chain-id"), "{}", stderr(&o));
}

#[test]
fn an_issuer_key_is_created_with_its_public_key_printed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cny-issuer.json");
    let o = Command::new(env!("CARGO_BIN_EXE_ctchain-wallet"))
        .args(["new-issuer-key", "--out", out.to_str().unwrap(), "--chain-id", CHAIN, "--insecure-fast-kdf", "--json"])
        .env("CTCHAIN_ISSUER_PASSWORD", "ipw")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let key = json(&o)["issuer_public_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 64);
    let file = ctchain_keystore::KeystoreFile::read(&out).unwrap();
    assert_eq!(hex::encode(file.open_issuer(b"ipw").unwrap().public().as_bytes()), key);
}

#[test]
fn a_mistyped_or_foreign_address_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let o = wallet(dir.path(), "pw", &["new", "--chain-id", CHAIN, "--insecure-fast-kdf", "--json"]);
    let address = json(&o)["address"].as_str().unwrap().to_owned();
    let mut typo = address.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == 'q' { 'p' } else { 'q' });
    let o = wallet(dir.path(), "pw", &["send", "--to", &typo, "--asset", "CNY", "--amount", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a valid address"), "{}", stderr(&o));

    let foreign = tempfile::tempdir().unwrap();
    let o = wallet(foreign.path(), "pw", &["new", "--chain-id", "other-chain", "--insecure-fast-kdf", "--json"]);
    let foreign_address = json(&o)["address"].as_str().unwrap().to_owned();
    let o = wallet(dir.path(), "pw", &["send", "--to", &foreign_address, "--asset", "CNY", "--amount", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("this chain's prefix is \"ctchaindemo1\""), "{}", stderr(&o));
}
