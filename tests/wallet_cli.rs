//! The wallet's command line against a live 4-validator chain: issue, send back and forth (balances add up to the
//! issued supply), a view-only wallet sees the same, a restored wallet finds the same funds, a payment proof
//! verifies and a tampered one fails, and bad input exits non-zero with its reason.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::Chain;
use ctchain_rpc::ChainApiClient;
use serde_json::Value;

const BASE: u16 = 35_000;

struct Wallets {
    bin: PathBuf,
    dir: PathBuf,
    rpc: String,
    issuer_password: String,
}

impl Wallets {
    fn run(&self, wallet: &str, args: &[&str]) -> Output {
        std::process::Command::new(&self.bin)
            .current_dir(&self.dir)
            .env("CTCHAIN_RPC", &self.rpc)
            .env("CTCHAIN_WALLET_PASSWORD", "correct horse")
            .env("CTCHAIN_ISSUER_PASSWORD", &self.issuer_password)
            .arg("--wallet")
            .arg(wallet)
            .args(args)
            .output()
            .expect("the wallet binary runs")
    }

    /// Runs a command that must succeed and returns its `--json` output.
    fn json(&self, wallet: &str, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(wallet, &all);
        assert!(
            out.status.success(),
            "ctchain-wallet {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("--json prints JSON")
    }

    /// Runs a command that must fail; returns its standard error.
    fn fails(&self, wallet: &str, args: &[&str]) -> String {
        let out = self.run(wallet, args);
        assert!(!out.status.success(), "ctchain-wallet {args:?} should have failed");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn confirmed(&self, wallet: &str, label: &str) -> String {
        let b = self.json(wallet, &["balance"]);
        b["balances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["label"] == label)
            .map_or("0.00".into(), |x| x["confirmed"].as_str().unwrap().to_owned())
    }
}

fn wallet_binary() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_ctchain-node")).with_file_name("ctchain-wallet");
    assert!(
        bin.exists(),
        "{} is missing: run the workspace tests (cargo test --workspace --all-targets)",
        bin.display()
    );
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallets_send_back_and_forth_view_restore_and_prove() {
    let chain = Chain::start(4, 0, BASE).await;
    let net = chain.cluster.dir.clone();
    let issuer_password = std::fs::read_to_string(net.join("testnet-password.txt")).unwrap().trim().to_owned();
    let w = Wallets {
        bin: wallet_binary(),
        dir: chain.dir.path().to_path_buf(),
        rpc: chain.cluster.testnet.rpc[1].clone(),
        issuer_password,
    };
    let issuer = net.join("bank-a-CNY.issuer.json");
    let issuer = issuer.to_str().unwrap();

    let created = w.json("alice.json", &["new", "--insecure-fast-kdf"]);
    let phrase = created["recovery_phrase"].as_str().expect("the phrase is shown once").to_owned();
    w.json("bob.json", &["new", "--insecure-fast-kdf"]);
    let alice = w.json("alice.json", &["address"])["address"].as_str().unwrap().to_owned();
    let bob = w.json("bob.json", &["address"])["address"].as_str().unwrap().to_owned();

    w.json("alice.json", &["issue", "--issuer-key", issuer, "--asset", "CNY", "--amount", "1000"]);
    w.json("alice.json", &["send", "--to", &bob, "--asset", "CNY", "--amount", "12.50", "--memo", "invoice 7"]);
    w.json("bob.json", &["send", "--to", &alice, "--asset", "CNY", "--amount", "2.50", "--memo", "refund"]);
    assert_eq!(w.confirmed("alice.json", "CNY"), "990.00");
    assert_eq!(w.confirmed("bob.json", "CNY"), "10.00");
    let supply = chain.client(2).asset_supply("CNY".into()).await.unwrap().unwrap();
    assert_eq!(supply.outstanding, "100000", "990.00 + 10.00 = the issued 1000.00");

    // A view-only wallet sees bob's funds and cannot spend them.
    let vk = w.json("bob.json", &["export-view-key"])["view_key"].as_str().unwrap().to_owned();
    w.json("watch.json", &["new", "--view-only", &vk, "--insecure-fast-kdf"]);
    assert_eq!(w.confirmed("watch.json", "CNY"), "10.00");
    w.fails("watch.json", &["send", "--to", &alice, "--asset", "CNY", "--amount", "1"]);

    // A wallet restored from alice's phrase finds the same funds.
    std::fs::write(w.dir.join("phrase.txt"), format!("{phrase}\n")).unwrap();
    w.json("restored.json", &["restore", "--phrase-file", "phrase.txt", "--insecure-fast-kdf"]);
    assert_eq!(w.confirmed("restored.json", "CNY"), "990.00");

    // A payment proof for bob's 12.50 verifies against the chain; one changed digit does not.
    let history = w.json("bob.json", &["history"]);
    let received = history["history"].as_array().unwrap().iter().find(|h| h["kind"] == "received").unwrap().clone();
    let tx = received["tx_id"].as_str().unwrap().to_owned();
    let store: Value = serde_json::from_slice(&std::fs::read(w.dir.join("bob.store.json")).unwrap()).unwrap();
    let index =
        store["outputs"].as_array().unwrap().iter().find(|o| o["tx_id"] == tx.as_str()).unwrap()["index"].to_string();
    w.json("bob.json", &["prove-payment", &tx, "--output", &index, "--out", "proof.json"]);
    let verified = w.json("nobody.json", &["verify-payment", "proof.json"]);
    assert_eq!(verified["amount_display"], "12.50");
    let mut proof: Value = serde_json::from_slice(&std::fs::read(w.dir.join("proof.json")).unwrap()).unwrap();
    let d = proof["disclosure"].as_str().unwrap().to_owned();
    let flipped = if &d[90..91] == "0" { "1" } else { "0" };
    proof["disclosure"] = Value::String(format!("{}{flipped}{}", &d[..90], &d[91..]));
    std::fs::write(w.dir.join("tampered.json"), proof.to_string()).unwrap();
    w.fails("nobody.json", &["verify-payment", "tampered.json"]);

    // Bad input: each names its reason, exits non-zero, and changes nothing.
    let err = w.fails("alice.json", &["send", "--to", &bob, "--asset", "CNY", "--amount", "5000"]);
    assert!(err.contains("990.00 CNY available"), "{err}");
    w.fails("alice.json", &["send", "--to", &bob, "--asset", "CNY", "--amount", "1.001"]);
    let mut typo = bob.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == 'q' { 'p' } else { 'q' });
    w.fails("alice.json", &["send", "--to", &typo, "--asset", "CNY", "--amount", "1"]);
    let wrong_password = std::process::Command::new(&w.bin)
        .current_dir(&w.dir)
        .env("CTCHAIN_RPC", &w.rpc)
        .env("CTCHAIN_WALLET_PASSWORD", "wrong")
        .args(["--wallet", "alice.json", "send", "--to", &bob, "--asset", "CNY", "--amount", "1"])
        .output()
        .unwrap();
    assert!(!wrong_password.status.success());
    assert_eq!(w.confirmed("alice.json", "CNY"), "990.00");
}
