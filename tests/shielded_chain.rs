//! The shielded pool end to end, against a live 4-validator chain and the command lines a bank and a regulator
//! type: `shield` moves confidential value into notes, `send --shielded` pays another wallet inside the pool,
//! `unshield` brings value back; balances of both pools and the per-pool supply counters add up after each step;
//! a view-only wallet sees the notes; the regulator (`ctchain-audit import/decrypt/scan/show`) reads every shielded
//! output from the audit copy proven in the circuit, with the whole key and with a 2-of-3 split of it (an access
//! record on chain, proven partials, a tampered shielded partial refused); and bad input — no parameters, another setup's parameters, a
//! confidential address for a shielded payment, more than the notes hold, a double spend of one note — is refused
//! with its reason and changes nothing.

mod common;

use common::{Chain, Tool, Wallets};
use ctchain_audit::db::AuditDb;
use ctchain_audit::partials::PartialFile;
use ctchain_codec::{Decode, Encode};
use ctchain_rpc::ChainApiClient;
use serde_json::Value;

const BASE: u16 = 25_000;

/// The per-pool supply counters of CNY (base units): (outstanding, confidential pool, shielded pool).
async fn supply(chain: &Chain, via: usize) -> (String, String, String) {
    chain.wait_caught_up(via).await;
    let s = chain.client(via).asset_supply("CNY".into()).await.unwrap().unwrap();
    (s.outstanding, s.confidential_pool, s.shielded_pool)
}

fn counters(outstanding: &str, confidential: &str, shielded: &str) -> (String, String, String) {
    (outstanding.into(), confidential.into(), shielded.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shield_pay_inside_the_pool_unshield_and_the_regulator_reads_it_all() {
    let chain = Chain::start(4, 0, BASE).await;
    let net = chain.cluster.dir.clone();
    let params = chain.cluster.testnet.params_dir.display().to_string();
    let mut w = Wallets::new(&chain, 1);
    let issuer = net.join("bank-a-CNY.issuer.json");
    let issuer = issuer.to_str().unwrap();

    w.json("alice.json", &["new", "--insecure-fast-kdf"]);
    w.json("bob.json", &["new", "--insecure-fast-kdf"]);
    let alice = w.json("alice.json", &["address"])["address"].as_str().unwrap().to_owned();
    let bob_z = w.json("bob.json", &["shielded-address"])["shielded_address"].as_str().unwrap().to_owned();
    let alice_z = w.json("alice.json", &["shielded-address"])["shielded_address"].as_str().unwrap().to_owned();
    assert_ne!(alice_z, bob_z);
    assert!(bob_z.contains("zs1"), "a shielded address has its own prefix: {bob_z}");
    w.json("alice.json", &["issue", "--issuer-key", issuer, "--asset", "CNY", "--amount", "1000"]);

    // Without parameters a shielded command says what it needs, before anything is built.
    let err = w.fails("alice.json", &["shield", "--asset", "CNY", "--amount", "300"]);
    assert!(err.contains("--params"), "{err}");
    // Parameters of another setup are refused by the hash the genesis pins (here: a listed hash changed).
    let forged = chain.dir.path().join("forged-params");
    std::fs::create_dir_all(&forged).unwrap();
    for f in ["transfer.pk", "transfer.vk", "SM3SUMS"] {
        std::fs::copy(chain.cluster.testnet.params_dir.join(f), forged.join(f)).unwrap();
    }
    let sums = std::fs::read_to_string(forged.join("SM3SUMS")).unwrap();
    let vk_line = sums.lines().find(|l| l.contains("transfer.vk")).unwrap();
    let flipped = match vk_line.strip_prefix('0') {
        Some(rest) => format!("1{rest}"),
        None => format!("0{}", &vk_line[1..]),
    };
    std::fs::write(forged.join("SM3SUMS"), sums.replace(vk_line, &flipped)).unwrap();
    let err =
        w.fails("alice.json", &["--params", forged.to_str().unwrap(), "shield", "--asset", "CNY", "--amount", "1"]);
    assert!(err.contains("not this chain's"), "{err}");
    assert_eq!(w.both("alice.json", "CNY"), ("1000.00".into(), "0.00".into()), "refusals changed nothing");

    w.tool.env.push(("CTCHAIN_PARAMS".into(), params));

    // Shield: 300.00 leaves alice's confidential outputs and becomes a note of hers.
    let shield = w.json("alice.json", &["shield", "--asset", "CNY", "--amount", "300"]);
    assert_eq!(shield["status"], "committed");
    assert_eq!(w.both("alice.json", "CNY"), ("700.00".into(), "300.00".into()));
    assert_eq!(supply(&chain, 2).await, counters("100000", "70000", "30000"));

    // A shielded payment to bob: neither party nor amount is on chain; bob's viewing key finds the note.
    let err = w.fails("alice.json", &["send", "--shielded", "--to", &alice, "--asset", "CNY", "--amount", "1"]);
    assert!(err.to_lowercase().contains("address"), "a confidential address is not a shielded one: {err}");
    let err = w.fails("alice.json", &["send", "--shielded", "--to", &bob_z, "--asset", "CNY", "--amount", "300.01"]);
    assert!(err.contains("insufficient shielded funds"), "{err}");
    let err = w.fails("alice.json", &["send", "--shielded", "--to", &alice_z, "--asset", "CNY", "--amount", "1"]);
    assert!(err.contains("own shielded address"), "{err}");
    let send = w.json("alice.json", &["send", "--shielded", "--to", &bob_z, "--asset", "CNY", "--amount", "120.50"]);
    let send_id = send["tx_id"].as_str().unwrap().to_owned();
    chain.wait_caught_up(1).await;
    assert_eq!(w.both("alice.json", "CNY"), ("700.00".into(), "179.50".into()));
    assert_eq!(w.both("bob.json", "CNY"), ("0.00".into(), "120.50".into()));
    assert_eq!(supply(&chain, 3).await, counters("100000", "70000", "30000"), "inside the pool nothing crosses");
    let tx = chain.client(2).tx_get(send_id.clone()).await.unwrap();
    assert!(matches!(tx, ctchain_rpc::TxStatus::Committed { .. }), "{tx:?}");

    // A view-only copy of bob's wallet sees his note and cannot spend it.
    let vk = w.json("bob.json", &["export-view-key"])["view_key"].as_str().unwrap().to_owned();
    w.json("bob-watch.json", &["new", "--view-only", &vk, "--insecure-fast-kdf"]);
    assert_eq!(w.both("bob-watch.json", "CNY"), ("0.00".into(), "120.50".into()));
    w.fails("bob-watch.json", &["unshield", "--asset", "CNY", "--amount", "1"]);

    // Unshield: 20.50 of bob's note back into a confidential output of his; the change stays a note.
    w.json("bob.json", &["unshield", "--asset", "CNY", "--amount", "20.50", "--memo", "out of the pool"]);
    assert_eq!(w.both("bob.json", "CNY"), ("20.50".into(), "100.00".into()));
    assert_eq!(supply(&chain, 0).await, counters("100000", "72050", "27950"));
    let history = w.json("bob.json", &["history", "--no-sync"]);
    let kinds: Vec<(String, bool)> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["kind"].as_str().unwrap().to_owned(), h["shielded"].as_bool().unwrap()))
        .collect();
    assert!(kinds.contains(&("received".into(), true)), "bob's history shows the shielded receipt: {kinds:?}");
    assert!(kinds.contains(&("unshielded".into(), true)), "and the unshield: {kinds:?}");

    // A double spend: two payments built (not submitted) from alice's one note; the second is refused.
    w.json("alice.json", &["send", "--shielded", "--to", &bob_z, "--asset", "CNY", "--amount", "10", "--out", "a.hex"]);
    w.json("alice.json", &["send", "--shielded", "--to", &bob_z, "--asset", "CNY", "--amount", "11", "--out", "b.hex"]);
    w.json("alice.json", &["submit", "a.hex"]);
    let err = w.fails("alice.json", &["submit", "b.hex"]);
    assert!(
        err.to_lowercase().contains("nullifier"),
        "the second spend of the note is refused for its nullifier: {err}"
    );
    assert_eq!(w.both("bob.json", "CNY"), ("20.50".into(), "110.00".into()));
    assert_eq!(w.both("alice.json", "CNY"), ("700.00".into(), "169.50".into()));

    // The regulator: keys imported from the testnet's secrets, then every shielded output read and stored.
    let mut audit = Tool::new("ctchain-audit", chain.dir.path());
    std::fs::write(chain.dir.path().join("regulator-password"), "regulator pw\n").unwrap();
    audit.leading = ["--insecure-fast-kdf", "--password-file", "regulator-password", "--node", w.rpc.as_str()]
        .map(String::from)
        .to_vec();
    let secrets = net.join("testnet-secrets.json");
    let imported = audit.ok(&[
        "import",
        "--chain-id",
        common::CHAIN_ID,
        "--secrets",
        secrets.to_str().unwrap(),
        "--out",
        "regulator.json",
    ]);
    assert!(imported.contains("shielded audit public key"), "{imported}");
    let decrypted = audit.ok(&["decrypt", &send_id, "--key", "regulator.json"]);
    assert!(decrypted.contains("shielded transfer"), "{decrypted}");
    assert!(decrypted.contains("shielded output 0: 120.50 CNY"), "the payment, read by the regulator: {decrypted}");
    assert!(decrypted.contains("shielded output 1: 179.50 CNY"), "and alice's change: {decrypted}");

    let tip = chain.client(1).chain_status().await.unwrap().height.to_string();
    audit.ok(&["scan", "--from", "1", "--to", &tip, "--key", "regulator.json", "--db", "audit-db"]);
    let shown = audit.ok(&["show", "--db", "audit-db"]);
    let shielded_lines: Vec<&str> = shown.lines().filter(|l| l.contains("shielded")).collect();
    for amount in ["300.00", "120.50", "179.50", "100.00", "10.00", "169.50"] {
        assert!(
            shielded_lines.iter().any(|l| l.contains(amount)),
            "the regulator's database holds the shielded output of {amount}: {shown}"
        );
    }
    // The unshield's confidential side is an ordinary confidential output, decrypted with its memo.
    assert!(shown.lines().any(|l| l.contains("20.50") && l.contains("out of the pool")), "{shown}");

    // The same keys split 2-of-3 among supervisors: one access record on chain authorises both pools, and any two
    // supervisors' proven partials decrypt exactly what the whole key did — the shielded outputs included.
    let split = audit.ok(&[
        "keygen",
        "--chain-id",
        common::CHAIN_ID,
        "--threshold",
        "2",
        "--shares",
        "3",
        "--split",
        "regulator.json",
        "--out",
        "split",
    ]);
    assert!(split.contains("both pools' audit keys split 2-of-3"), "{split}");
    let share = |j: u32| format!("split/supervisor-{j}.json");
    let requested = audit.ok(&[
        "access",
        "request",
        "--case",
        "case Z-9",
        "--from",
        "1",
        "--to",
        &tip,
        "--share",
        &share(1),
        "--out",
        "access.hex",
    ]);
    assert!(requested.contains("authorises decrypting both pools"), "{requested}");
    audit.ok(&["access", "sign", "access.hex", "--share", &share(1)]);
    audit.ok(&["access", "sign", "access.hex", "--share", &share(3)]);
    let submitted = audit.ok(&["access", "submit", "access.hex"]);
    let access_id = submitted.split_whitespace().nth(2).unwrap().to_string();
    for j in 1..=3u32 {
        audit.ok(&["partial", "--access", &access_id, "--share", &share(j), "--out", &format!("partial-{j}.hex")]);
    }
    let partial_path = chain.dir.path().join("partial-2.hex");
    let mut tampered =
        PartialFile::from_bytes(&hex::decode(std::fs::read_to_string(&partial_path).unwrap().trim()).unwrap()).unwrap();
    assert!(tampered.confidential.is_some(), "the range holds confidential outputs (the unshield's)");
    tampered.shielded.as_mut().expect("and shielded audit copies").points.swap(0, 1);
    std::fs::write(chain.dir.path().join("tampered-2.hex"), hex::encode(tampered.to_bytes())).unwrap();
    let refused =
        audit.run(&["combine", "--access", &access_id, "--db", "split-db", "partial-1.hex", "tampered-2.hex"]);
    let (said, err) = (String::from_utf8_lossy(&refused.stdout), String::from_utf8_lossy(&refused.stderr));
    assert!(!refused.status.success(), "{said}");
    assert!(said.contains("REJECTED") && said.contains("shielded partial of supervisor 2 is invalid"), "{said}");
    assert!(err.contains("1 valid partial decryptions, 2 are needed"), "{err}");
    assert!(!chain.dir.path().join("split-db").exists(), "nothing is decrypted with one valid partial");
    let combined = audit.ok(&["combine", "--access", &access_id, "--db", "split-db", "partial-1.hex", "partial-3.hex"]);
    assert!(combined.contains("supervisors [1, 3]") && combined.contains("6 shielded"), "{combined}");
    let whole = AuditDb::open_existing(&chain.dir.path().join("audit-db")).unwrap().all().unwrap();
    let from_shares = AuditDb::open_existing(&chain.dir.path().join("split-db")).unwrap().all().unwrap();
    assert_eq!(from_shares, whole, "two supervisors read exactly what the whole key read, in both pools");

    let status: Value = serde_json::to_value(chain.client(0).shielded_status().await.unwrap()).unwrap();
    assert!(status["tree_size"].as_u64().unwrap() >= 8, "four transfers, two notes each: {status}");
}
