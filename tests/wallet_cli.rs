//! The wallet's command line against a live 4-validator chain: issue, send back and forth (balances add up to the
//! issued supply), a view-only wallet sees the same, a restored wallet finds the same funds, a payment proof
//! verifies and a tampered one fails, and bad input exits non-zero with its reason.

mod common;

use common::{Chain, Wallets};
use ctchain_rpc::ChainApiClient;
use serde_json::Value;

const BASE: u16 = 24_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallets_send_back_and_forth_view_restore_and_prove() {
    let chain = Chain::start(4, 0, BASE).await;
    let net = chain.cluster.dir.clone();
    let w = Wallets::new(&chain, 1);
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
    std::fs::write(w.tool.dir.join("phrase.txt"), format!("{phrase}\n")).unwrap();
    w.json("restored.json", &["restore", "--phrase-file", "phrase.txt", "--insecure-fast-kdf"]);
    assert_eq!(w.confirmed("restored.json", "CNY"), "990.00");

    // A payment proof for bob's 12.50 verifies against the chain; one changed digit does not.
    let history = w.json("bob.json", &["history"]);
    let received = history["history"].as_array().unwrap().iter().find(|h| h["kind"] == "received").unwrap().clone();
    let tx = received["tx_id"].as_str().unwrap().to_owned();
    let store: Value = serde_json::from_slice(&std::fs::read(w.tool.dir.join("bob.store.json")).unwrap()).unwrap();
    let index =
        store["outputs"].as_array().unwrap().iter().find(|o| o["tx_id"] == tx.as_str()).unwrap()["index"].to_string();
    w.json("bob.json", &["prove-payment", &tx, "--output", &index, "--out", "proof.json"]);
    let verified = w.json("nobody.json", &["verify-payment", "proof.json"]);
    assert_eq!(verified["amount_display"], "12.50");
    let mut proof: Value = serde_json::from_slice(&std::fs::read(w.tool.dir.join("proof.json")).unwrap()).unwrap();
    let d = proof["disclosure"].as_str().unwrap().to_owned();
    let flipped = if &d[90..91] == "0" { "1" } else { "0" };
    proof["disclosure"] = Value::String(format!("{}{flipped}{}", &d[..90], &d[91..]));
    std::fs::write(w.tool.dir.join("tampered.json"), proof.to_string()).unwrap();
    w.fails("nobody.json", &["verify-payment", "tampered.json"]);

    // Bad input: each names its reason, exits non-zero, and changes nothing.
    let err = w.fails("alice.json", &["send", "--to", &bob, "--asset", "CNY", "--amount", "5000"]);
    assert!(err.contains("990.00 CNY available"), "{err}");
    w.fails("alice.json", &["send", "--to", &bob, "--asset", "CNY", "--amount", "1.001"]);
    let mut typo = bob.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == 'q' { 'p' } else { 'q' });
    w.fails("alice.json", &["send", "--to", &typo, "--asset", "CNY", "--amount", "1"]);
    let wrong_password = std::process::Command::new(&w.tool.bin)
        .current_dir(&w.tool.dir)
        .env("CTCHAIN_RPC", &w.rpc)
        .env("CTCHAIN_WALLET_PASSWORD", "wrong")
        .args(["--wallet", "alice.json", "send", "--to", &bob, "--asset", "CNY", "--amount", "1"])
        .output()
        .unwrap();
    assert!(!wrong_password.status.success());
    assert_eq!(w.confirmed("alice.json", "CNY"), "990.00");
}
