//! The regulator end to end, against real node processes: a 4-validator chain and the regulator's own observer.
//!
//! Transfers are crafted to trip each AML rule once (large value, structuring, velocity, watch list, rapid pass
//! through) next to ones that must trip nothing; the regulator runs the `ctchain-audit` commands it would type
//! (in-process, through `ctchain_audit::cli::run`) against the observer:
//!
//! * `scan` + `aml`: the JSON report flags exactly the expected transactions, rule by rule;
//! * a 2-of-3 split of the same audit key: `access request/sign/submit` puts an audit-access record on chain and
//!   `log` lists it; `partial` by each supervisor; `combine` decrypts with 2 partials exactly what `scan` did, fails
//!   with 1 (writing nothing), names a tampered partial, and refuses a share of another split;
//! * `evidence` + `verify-evidence`: the bundle verifies offline, and every one-byte change of it fails;
//! * `watch` follows new heads over WebSocket and raises a large-value alert as the transfer commits;
//! * a wrong audit key is refused by name.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Chain, CHAIN_ID, COMMIT};
use ctchain_audit::aml::report::Report;
use ctchain_audit::aml::RuleId;
use ctchain_audit::partials::PartialFile;
use ctchain_audit::threshold;
use ctchain_codec::{Decode, Encode};
use ctchain_crypto::{OwnedOutput, Transaction, TxId, WalletKeys};
use ctchain_devnet::cluster::{submit_and_wait, wait_committed, ChainWallet};
use ctchain_keystore::address::encode_address;
use ctchain_keystore::{KdfParams, KeyKind, KeystoreFile};
use ctchain_rpc::ChainApiClient;
use rand_core::OsRng;

const BASE: u16 = 23_000;
/// Node 4 is the regulator's observer.
const OBSERVER: usize = 4;

struct Regulator {
    dir: PathBuf,
    node: String,
}

impl Regulator {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Runs one `ctchain-audit` command against the observer; returns what it printed, or the error text.
    async fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut full: Vec<String> = ["ctchain-audit", "--insecure-fast-kdf", "--password-file"]
            .iter()
            .map(|s| s.to_string())
            .chain([self.path("password").display().to_string(), "--node".into(), self.node.clone()])
            .collect();
        full.extend(args.iter().map(|s| s.to_string()));
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            match ctchain_audit::cli::run(full, &mut out) {
                Ok(()) => Ok(String::from_utf8_lossy(&out).into_owned()),
                Err(e) => Err(format!("{e:#}\n(printed before: {})", String::from_utf8_lossy(&out))),
            }
        })
        .await
        .unwrap()
    }

    async fn ok(&self, args: &[&str]) -> String {
        match self.run(args).await {
            Ok(out) => out,
            Err(e) => panic!("ctchain-audit {args:?} failed: {e}"),
        }
    }
}

/// A transfer that spends exactly `from_output` (no change), with the sender named in the memo.
fn pay_exact(chain: &Chain, from: &WalletKeys, output: OwnedOutput, to: &WalletKeys, note: &str) -> Transaction {
    let (cny, _) = chain.cny();
    let amount = output.opening.amount;
    let mut b = chain.builder();
    b.spend(output).pay(to.address(), cny, amount, note).sender(from.address()).change_to(from.address());
    b.build(&mut OsRng).unwrap()
}

/// A transfer of the whole of `from`'s first unspent output.
async fn pay_one(chain: &Chain, from: &mut ChainWallet, to: &WalletKeys, note: &str) -> Transaction {
    let output = unspent(chain, from).await.swap_remove(0);
    pay_exact(chain, &from.keys, output, to, note)
}

async fn unspent(chain: &Chain, wallet: &mut ChainWallet) -> Vec<OwnedOutput> {
    let client = chain.client(OBSERVER);
    // The observer follows the validators with a short lag: wait until it holds what they committed.
    let target = chain.client(0).chain_status().await.unwrap().height;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while client.chain_status().await.unwrap().height < target {
        assert!(std::time::Instant::now() < deadline, "the observer did not reach height {target}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wallet.sync(&client).await.unwrap();
    wallet.unspent(chain.cny().0).unwrap()
}

/// Submits all of `txs` through different validators, then waits for each; returns their ids in order.
async fn commit_all(chain: &Chain, txs: &[Transaction]) -> Vec<TxId> {
    let mut ids = Vec::new();
    for (i, tx) in txs.iter().enumerate() {
        let id = chain.client(i % 4).tx_submit(hex::encode(tx.to_bytes())).await.unwrap().id;
        ids.push(id);
    }
    for id in &ids {
        let id = TxId(ctchain_codec::Hash32::from_hex(id).unwrap());
        wait_committed(&chain.client(OBSERVER), &id, COMMIT).await.unwrap();
    }
    txs.iter().map(Transaction::id).collect()
}

fn ids(txs: &[&TxId]) -> BTreeSet<String> {
    txs.iter().map(|t| t.to_string()).collect()
}

fn rules_file(dir: &Path, watched: &str) -> PathBuf {
    let text = format!(
        r#"
memo_mismatch = true

[[asset]]
label = "CNY"
decimals = 2

[large_value]
CNY = "1000.00"

[structuring]
min_count = 3
window_seconds = 3600
lower_percent = 80

[velocity]
window_seconds = 3600
max_count = 3
direction = "sending"

[pass_through]
window_seconds = 3600
min_ratio_percent = 90

[pass_through.min_amount]
CNY = "100.00"

[[watch]]
address = "{watched}"
reason = "court order 12/2026"
"#
    );
    let path = dir.join("rules.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A supervisor's partial file.
fn partial_of(path: &Path) -> PartialFile {
    PartialFile::from_bytes(&hex::decode(std::fs::read_to_string(path).unwrap().trim()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_regulator_decrypts_reports_records_access_and_proves_what_it_found() {
    let mut chain = Chain::start(4, 1, BASE).await;
    let dir = tempfile::tempdir().unwrap();
    let reg = Regulator { dir: dir.path().to_path_buf(), node: chain.cluster.testnet.rpc[OBSERVER].clone() };
    std::fs::write(reg.path("password"), "regulator password\n").unwrap();
    let password = b"regulator password";
    let auditor = chain.cluster.testnet.auditor.clone();
    let public_hex = hex::encode(auditor.public().0.as_bytes());
    KeystoreFile::seal_audit(
        CHAIN_ID,
        KeyKind::Audit,
        public_hex.clone(),
        &auditor.to_bytes(),
        password,
        KdfParams::TEST_ONLY,
        &mut OsRng,
    )
    .unwrap()
    .write(&reg.path("regulator.json"), false)
    .unwrap();
    let key = reg.path("regulator.json").display().to_string();

    // ---- the chain's activity: one issuance funds everyone, then crafted transfers ----
    let new = |name: &str| ChainWallet::new(name, WalletKeys::random(&mut OsRng));
    let (mut big, mut smurf, mut busy, mut source, mut mule, mut plain, mut late) =
        (new("big"), new("smurf"), new("busy"), new("source"), new("mule"), new("plain"), new("late"));
    let (r_big, r_smurf, r_plain, r_watched, sink) = (new("r1"), new("r2"), new("r3"), new("watched"), new("sink"));
    let r_busy: Vec<ChainWallet> = (0..4).map(|i| new(&format!("busy-{i}"))).collect();
    let (cny, issuer) = chain.cny();
    let mut b = chain.builder();
    let payments: Vec<(&WalletKeys, u64)> = vec![
        (&big.keys, 150_000),
        (&smurf.keys, 90_000),
        (&smurf.keys, 90_000),
        (&smurf.keys, 90_000),
        (&busy.keys, 1_000),
        (&busy.keys, 1_000),
        (&busy.keys, 1_000),
        (&busy.keys, 1_000),
        (&source.keys, 50_000),
        (&plain.keys, 20_000),
        (&late.keys, 120_000),
    ];
    let total: u64 = payments.iter().map(|p| p.1).sum();
    b.issue(&issuer, cny, total);
    for (to, amount) in &payments {
        b.pay(to.address(), cny, *amount, "funding");
    }
    let funding = b.build(&mut OsRng).unwrap();
    submit_and_wait(&chain.client(0), &funding, COMMIT).await.unwrap();

    let large = pay_one(&chain, &mut big, &r_big.keys, "invoice 1").await;
    let smurf_out = unspent(&chain, &mut smurf).await;
    let structuring: Vec<Transaction> =
        smurf_out.into_iter().map(|o| pay_exact(&chain, &smurf.keys, o, &r_smurf.keys, "part payment")).collect();
    let busy_out = unspent(&chain, &mut busy).await;
    let velocity: Vec<Transaction> =
        busy_out.into_iter().zip(&r_busy).map(|(o, to)| pay_exact(&chain, &busy.keys, o, &to.keys, "fee")).collect();
    let watched = pay_one(&chain, &mut plain, &r_watched.keys, "gift").await;
    let inbound = pay_one(&chain, &mut source, &mule.keys, "loan").await;
    let mut batch = vec![large.clone(), watched.clone(), inbound.clone()];
    batch.extend(structuring.iter().cloned());
    batch.extend(velocity.iter().cloned());
    commit_all(&chain, &batch).await;
    // The mule sends the money straight on; and an ordinary payment that must trip nothing.
    let onward = pay_one(&chain, &mut mule, &sink.keys, "repay").await;
    let ordinary_funds = {
        let mut b = chain.builder();
        b.issue(&issuer, cny, 30_000).pay(r_plain.keys.address(), cny, 30_000, "salary");
        b.build(&mut OsRng).unwrap()
    };
    commit_all(&chain, &[onward.clone(), ordinary_funds.clone()]).await;
    let mut r_plain = r_plain;
    let ordinary = pay_one(&chain, &mut r_plain, &sink.keys, "rent").await;
    let (_, height) = submit_and_wait(&chain.client(1), &ordinary, COMMIT).await.unwrap();
    chain.cluster.wait_height(OBSERVER, height, Duration::from_secs(60)).await.unwrap();

    // The observer follows without voting.
    let status = chain.client(OBSERVER).chain_status().await.unwrap();
    assert_eq!(status.validator_index, None);
    assert!(status.height >= height);

    // ---- a wrong audit key is refused by name, before anything is decrypted ----
    let stranger = ctchain_crypto::AuditSecretKey::random(&mut OsRng);
    KeystoreFile::seal_audit(
        CHAIN_ID,
        KeyKind::Audit,
        "x".into(),
        &stranger.to_bytes(),
        password,
        KdfParams::TEST_ONLY,
        &mut OsRng,
    )
    .unwrap()
    .write(&reg.path("stranger.json"), false)
    .unwrap();
    let err =
        reg.run(&["decrypt", &large.id().to_string(), "--key", reg.path("stranger.json").to_str().unwrap()]).await;
    assert!(err.unwrap_err().contains("not the chain's audit key 0"));
    let err = reg
        .run(&[
            "scan",
            "--from",
            "1",
            "--to",
            &height.to_string(),
            "--key",
            reg.path("stranger.json").to_str().unwrap(),
            "--db",
            reg.path("wrong-db").to_str().unwrap(),
        ])
        .await
        .unwrap_err();
    assert!(err.contains("not the chain's audit key 0"), "{err}");
    assert!(!reg.path("wrong-db").exists(), "nothing written with a wrong key");

    // ---- decrypt one transaction ----
    let out = reg.ok(&["decrypt", &large.id().to_string(), "--key", &key]).await;
    let big_addr = encode_address(CHAIN_ID, &big.keys.address());
    let r_big_addr = encode_address(CHAIN_ID, &r_big.keys.address());
    assert!(
        out.contains(&format!(
            "output 0: 1,500.00 CNY (transfer)  from {big_addr} (proven)  to {r_big_addr} (proven)  memo \"invoice 1\" (claim)"
        )),
        "{out}"
    );
    assert!(!out.contains("DISAGREES"));

    // ---- scan and AML ----
    let db = reg.path("audit-db").display().to_string();
    let out = reg.ok(&["scan", "--from", "1", "--to", &height.to_string(), "--key", &key, "--db", &db]).await;
    assert!(out.contains("decrypted"), "{out}");
    let watched_addr = encode_address(CHAIN_ID, &r_watched.keys.address());
    let rules = rules_file(&reg.dir, &watched_addr).display().to_string();
    let reports = reg.path("reports").display().to_string();
    let out = reg.ok(&["aml", "--db", &db, "--rules", &rules, "--out", &reports]).await;
    println!("{out}");
    let report = Report::from_json(&std::fs::read_to_string(reg.path("reports/aml-report.json")).unwrap()).unwrap();
    assert!(reg.path("reports/aml-report.csv").exists() && reg.path("reports/aml-report.html").exists());
    let mut flagged: BTreeMap<RuleId, BTreeSet<String>> = BTreeMap::new();
    for a in &report.alerts {
        flagged.entry(a.rule).or_default().extend(a.tx_ids.iter().cloned());
    }
    let expected: BTreeMap<RuleId, BTreeSet<String>> = [
        (RuleId::LargeValue, ids(&[&large.id()])),
        (RuleId::Structuring, structuring.iter().map(|t| t.id().to_string()).collect()),
        (RuleId::Velocity, velocity.iter().map(|t| t.id().to_string()).collect()),
        (RuleId::WatchList, ids(&[&watched.id()])),
        (RuleId::PassThrough, ids(&[&inbound.id(), &onward.id()])),
    ]
    .into_iter()
    .collect();
    assert_eq!(flagged, expected, "each rule flags exactly its crafted transactions");
    for innocent in [&ordinary.id(), &ordinary_funds.id(), &funding.id()] {
        assert!(flagged.values().all(|s| !s.contains(&innocent.to_string())), "{innocent} must not be flagged");
    }

    // ---- the KYC directory names the proven parties; a customer can be watch-listed ----
    let kyc = reg.path("kyc.csv");
    std::fs::write(&kyc, format!("address,customer,bank\n{big_addr},Big Corp,bank-a\n{r_big_addr},R1 Ltd,bank-b\n"))
        .unwrap();
    let out = reg.ok(&["directory", "import", kyc.to_str().unwrap(), "--chain-id", CHAIN_ID, "--db", &db]).await;
    assert!(out.contains("directory: 2 customers of 2 banks (bank-a, bank-b)"), "{out}");
    let named = format!(
        "from {big_addr} [Big Corp @ bank-a] (proven)  to {r_big_addr} [R1 Ltd @ bank-b] (proven)  memo \"invoice 1\" (claim)"
    );
    let shown = reg.ok(&["show", "--db", &db]).await;
    assert!(shown.contains(&named), "{shown}");
    assert!(
        shown.contains("[unknown to the KYC directory] (proven)"),
        "identities nobody registered are named as such"
    );
    // A directory with one bad line is refused with the line named, and the one in force stays.
    let bad = reg.path("bad-kyc.csv");
    std::fs::write(&bad, format!("address,customer,bank\n{big_addr},Someone Else,bank-c\nnot-an-address,X,bank-c\n"))
        .unwrap();
    let err = reg.run(&["directory", "import", bad.to_str().unwrap(), "--chain-id", CHAIN_ID, "--db", &db]).await;
    assert!(err.unwrap_err().contains("line 3"));
    assert!(reg.ok(&["show", "--db", &db]).await.contains(&named));
    let by_customer = std::fs::read_to_string(&rules)
        .unwrap()
        .replace(&format!("address = \"{watched_addr}\""), "customer = \"R1 Ltd\"");
    let customer_rules = reg.path("customer-rules.toml");
    std::fs::write(&customer_rules, by_customer).unwrap();
    let reports2 = reg.path("reports-by-customer").display().to_string();
    reg.ok(&["aml", "--db", &db, "--rules", customer_rules.to_str().unwrap(), "--out", &reports2]).await;
    let report =
        Report::from_json(&std::fs::read_to_string(reg.path("reports-by-customer/aml-report.json")).unwrap()).unwrap();
    let watched_txs: BTreeSet<String> =
        report.alerts.iter().filter(|a| a.rule == RuleId::WatchList).flat_map(|a| a.tx_ids.iter().cloned()).collect();
    assert_eq!(watched_txs, ids(&[&large.id()]), "the customer R1 Ltd received the large payment");
    let html = std::fs::read_to_string(reg.path("reports-by-customer/aml-report.html")).unwrap();
    assert!(html.contains("R1 Ltd @ bank-b") && html.contains("proven"));

    // ---- a 2-of-3 split of the same key: access on chain, partials, combination ----
    let (dealing, shares) = threshold::split(&auditor, 2, 3, &mut OsRng).unwrap();
    for s in &shares {
        KeystoreFile::seal_audit(
            CHAIN_ID,
            KeyKind::AuditShare,
            public_hex.clone(),
            &s.to_keystore_bytes(&dealing),
            password,
            KdfParams::TEST_ONLY,
            &mut OsRng,
        )
        .unwrap()
        .write(&reg.path(&format!("supervisor-{}.json", s.index())), false)
        .unwrap();
    }
    let share = |j: u32| reg.path(&format!("supervisor-{j}.json")).display().to_string();
    // The record may authorise heights the chain has not reached: partials cover what exists when they are made.
    let record = reg.path("access.hex").display().to_string();
    let out = reg
        .ok(&[
            "access",
            "request",
            "--case",
            "case 2026-117",
            "--from",
            "1",
            "--to",
            &(height + 1_000).to_string(),
            "--share",
            &share(1),
            "--out",
            &record,
        ])
        .await;
    assert!(out.contains("2 signatures needed"), "{out}");
    // One signature is not enough: the node refuses the record.
    reg.ok(&["access", "sign", &record, "--share", &share(1)]).await;
    let err = reg.run(&["access", "submit", &record]).await.unwrap_err();
    assert!(err.contains("1 supervisor signatures, the threshold is 2"), "{err}");
    reg.ok(&["access", "sign", &record, "--share", &share(3)]).await;
    let out = reg.ok(&["access", "submit", &record]).await;
    assert!(out.contains("committed at height"), "{out}");
    let access_id = out.split_whitespace().nth(2).unwrap().to_string();
    let log = reg.ok(&["log"]).await;
    assert!(log.contains(&access_id) && log.contains("case \"case 2026-117\"") && log.contains("[1, 3]"), "{log}");
    // Malformed records are refused over RPC with their reason, and change nothing.
    let err = chain.client(0).audit_submit_access("zz".into()).await.unwrap_err().to_string();
    assert!(err.contains("not hex"), "{err}");
    let err = chain.client(0).audit_submit_access("0102".into()).await.unwrap_err().to_string();
    assert!(err.contains("1001"), "an encoding error: {err}");
    let err = chain.client(0).audit_submit_access(std::fs::read_to_string(&record).unwrap()).await.unwrap_err();
    assert!(err.to_string().contains("already on the chain"), "{err}");
    // Every node lists it: supervision itself is on the ledger.
    for i in 0..4 {
        let entries = chain.client(i).audit_access_log().await.unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].signers, vec![1, 3]);
    }

    // Each supervisor makes a proven partial decryption of the authorised range.
    for j in 1..=3u32 {
        let p = reg.path(&format!("partial-{j}.hex")).display().to_string();
        reg.ok(&["partial", "--access", &access_id, "--share", &share(j), "--out", &p]).await;
    }
    let partial = |j: u32| reg.path(&format!("partial-{j}.hex")).display().to_string();
    // K − 1 partials reveal nothing and write nothing.
    let db2 = reg.path("threshold-db").display().to_string();
    let err = reg.run(&["combine", "--access", &access_id, "--db", &db2, &partial(1)]).await.unwrap_err();
    assert!(err.contains("1 valid partial decryptions, 2 are needed"), "{err}");
    assert!(!reg.path("threshold-db").exists());
    // A tampered partial is detected and named; with it and one honest partial there is no decryption.
    let mut p2 = partial_of(&reg.path("partial-2.hex"));
    p2.confidential.as_mut().expect("the range holds confidential outputs").points.swap(0, 1);
    std::fs::write(reg.path("tampered-2.hex"), hex::encode(p2.to_bytes())).unwrap();
    let tampered = reg.path("tampered-2.hex").display().to_string();
    let err = reg.run(&["combine", "--access", &access_id, "--db", &db2, &partial(1), &tampered]).await.unwrap_err();
    assert!(err.contains("REJECTED") && err.contains("supervisor 2 is invalid"), "{err}");
    assert!(!reg.path("threshold-db").exists());
    // Any two valid partials decrypt exactly what the whole key did, even with the tampered one present.
    let out = reg.ok(&["combine", "--access", &access_id, "--db", &db2, &partial(1), &tampered, &partial(3)]).await;
    assert!(out.contains("supervisor 2 is invalid") && out.contains("supervisors [1, 3]"), "{out}");
    let whole = ctchain_audit::db::AuditDb::open_existing(Path::new(&db)).unwrap().all().unwrap();
    assert_eq!(ctchain_audit::db::AuditDb::open_existing(Path::new(&db2)).unwrap().all().unwrap(), whole);
    let large_height = whole.iter().find(|r| r.tx_id == large.id().to_string()).unwrap().height;
    let at_that_height = whole.iter().filter(|r| r.height == large_height).count();
    let h = large_height.to_string();
    let shown = reg.ok(&["show", "--db", &db2, "--from", &h, "--to", &h]).await;
    assert!(shown.contains("1,500.00 CNY (transfer)"), "{shown}");
    assert!(shown.ends_with(&format!("\n{at_that_height} records\n")), "{shown}");
    let db3 = reg.path("threshold-db-23").display().to_string();
    reg.ok(&["combine", "--access", &access_id, "--db", &db3, &partial(2), &partial(3)]).await;
    assert_eq!(ctchain_audit::db::AuditDb::open_existing(Path::new(&db3)).unwrap().all().unwrap(), whole);
    // A share of another split of the same key cannot take part.
    let (other_dealing, other_shares) = threshold::split(&auditor, 2, 3, &mut OsRng).unwrap();
    KeystoreFile::seal_audit(
        CHAIN_ID,
        KeyKind::AuditShare,
        public_hex.clone(),
        &other_shares[0].to_keystore_bytes(&other_dealing),
        password,
        KdfParams::TEST_ONLY,
        &mut OsRng,
    )
    .unwrap()
    .write(&reg.path("other-split.json"), false)
    .unwrap();
    let err = reg
        .run(&[
            "partial",
            "--access",
            &access_id,
            "--share",
            reg.path("other-split.json").to_str().unwrap(),
            "--out",
            reg.path("p-other.hex").to_str().unwrap(),
        ])
        .await
        .unwrap_err();
    assert!(err.contains("another split"), "{err}");
    assert!(!reg.path("p-other.hex").exists());

    // ---- evidence ----
    let bundle = reg.path("evidence.ctev");
    let out = reg.ok(&["evidence", &large.id().to_string(), "--key", &key, "--out", bundle.to_str().unwrap()]).await;
    assert!(out.contains("1,500.00 CNY"), "{out}");
    let genesis_hash = chain.client(OBSERVER).chain_get_genesis().await.unwrap().hash;
    let out = reg.ok(&["verify-evidence", bundle.to_str().unwrap(), "--genesis-hash", &genesis_hash]).await;
    assert!(out.contains("evidence verified") && out.contains("amount 150000 (base units, proven)"), "{out}");
    // Against another genesis it fails; and so does every one-byte change of the bundle.
    let err =
        reg.run(&["verify-evidence", bundle.to_str().unwrap(), "--genesis-hash", &"00".repeat(32)]).await.unwrap_err();
    assert!(err.contains("does NOT verify"), "{err}");
    let original = std::fs::read(&bundle).unwrap();
    let evidence = ctchain_audit::evidence::Evidence::from_bytes(&original).unwrap();
    let step = (original.len() / 200).max(1);
    let positions: Vec<usize> = (0..original.len()).step_by(step).chain([original.len() - 1]).collect();
    for &i in &positions {
        let mut changed = original.clone();
        changed[i] ^= 0x01;
        let verdict = ctchain_audit::evidence::Evidence::from_bytes(&changed).map(|e| e.verify(&genesis_hash));
        assert!(!matches!(verdict, Ok(Ok(_))), "a bundle with byte {i} changed still verifies");
    }
    assert!(evidence.verify(&genesis_hash).is_ok());

    // ---- evidence with the split key: supervisors' partials for one transaction, under the access record ----
    let large_id = large.id().to_string();
    for j in [1u32, 2, 3] {
        let p = reg.path(&format!("tx-partial-{j}.hex")).display().to_string();
        reg.ok(&["partial", "--access", &access_id, "--share", &share(j), "--tx", &large_id, "--out", &p]).await;
    }
    let tx_partial = |j: u32| reg.path(&format!("tx-partial-{j}.hex")).display().to_string();
    let split_bundle = reg.path("split-evidence.ctev");
    let split_out = split_bundle.display().to_string();
    let err = reg
        .run(&["evidence", &large_id, "--access", &access_id, "--partial", &tx_partial(2), "--out", &split_out])
        .await
        .unwrap_err();
    assert!(err.contains("1 valid partial decryptions, 2 are needed"), "{err}");
    // A range partial answers another request: named, and no bundle is written.
    let err = reg
        .run(&[
            "evidence",
            &large_id,
            "--access",
            &access_id,
            "--partial",
            &partial(1),
            "--partial",
            &tx_partial(3),
            "--out",
            &split_out,
        ])
        .await
        .unwrap_err();
    assert!(err.contains("supervisor 1"), "{err}");
    assert!(!split_bundle.exists());
    reg.ok(&[
        "evidence",
        &large_id,
        "--access",
        &access_id,
        "--partial",
        &tx_partial(2),
        "--partial",
        &tx_partial(3),
        "--out",
        &split_out,
    ])
    .await;
    let out = reg.ok(&["verify-evidence", &split_out, "--genesis-hash", &genesis_hash]).await;
    assert!(out.contains("case \"case 2026-117\"") && out.contains("amount 150000 (base units, proven)"), "{out}");
    // The bundle shows the record committed: with the record's block swapped for another certified block (the
    // transaction's), or its inclusion proof for another, the bundle is refused offline.
    let split = ctchain_audit::evidence::Evidence::from_bytes(&std::fs::read(&split_bundle).unwrap()).unwrap();
    let tx_block = ctchain_ledger::Block::from_bytes(&split.block).unwrap();
    let mut moved = split.clone();
    let access = moved.access.as_mut().expect("a split bundle carries its access record");
    access.block = tx_block;
    access.certificate = split.certificate.clone();
    let err = moved.verify(&genesis_hash).unwrap_err().to_string();
    assert!(err.contains("the audit-access record is not shown committed"), "{err}");
    let mut unproven = split.clone();
    unproven.access.as_mut().unwrap().inclusion = split.inclusion.clone();
    let err = unproven.verify(&genesis_hash).unwrap_err().to_string();
    assert!(err.contains("not shown committed"), "{err}");

    // ---- live supervision: watch raises the alert as the transfer commits ----
    let ws = chain.cluster.testnet.rpc[OBSERVER].replace("http://", "ws://");
    let late_tx = pay_one(&chain, &mut late, &r_big.keys, "invoice 2").await;
    let watch_db = reg.path("watch-db").display().to_string();
    let tip = chain.client(OBSERVER).chain_status().await.unwrap().height;
    // The watcher first catches up over the existing chain (an empty database), then follows new heads.
    let watcher = {
        let reg = Regulator { dir: reg.dir.clone(), node: reg.node.clone() };
        let (key, watch_db, rules, ws) = (key.clone(), watch_db.clone(), rules.clone(), ws.clone());
        let until = (tip + 1).to_string();
        tokio::spawn(async move {
            reg.run(&[
                "watch",
                "--ws",
                &ws,
                "--key",
                &key,
                "--db",
                &watch_db,
                "--rules",
                &rules,
                "--until-height",
                &until,
            ])
            .await
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, late_height) = submit_and_wait(&chain.client(2), &late_tx, COMMIT).await.unwrap();
    assert_eq!(late_height, tip + 1, "nothing else commits in between");
    let out = tokio::time::timeout(Duration::from_secs(120), watcher).await.unwrap().unwrap().unwrap();
    println!("{out}");
    let late_alert = out.lines().find(|l| l.starts_with("ALERT large-value") && l.contains(&late_tx.id().to_string()));
    assert!(late_alert.is_some(), "watch raised the large-value alert for the new transfer:\n{out}");
}
