//! The `ctchain-audit` command line without a chain: keys, refusals of bad input, and that a refusal writes nothing.
//! (Everything that needs a chain is in the end-to-end test `tests/audit_chain.rs`.)

use std::path::Path;

use ctchain_audit::cli;
use ctchain_audit::keys::{Dealings, RegulatorKeys, SupervisorKeys};
use ctchain_audit::threshold;
use ctchain_codec::{Decode, Encode};
use ctchain_crypto::AuditSecretKey;
use ctchain_keystore::{KdfParams, KeyKind, KeystoreFile};
use ctchain_ledger::access::AuditAccessRecord;
use rand_core::OsRng;

fn run(dir: &Path, args: &[&str]) -> Result<String, String> {
    let pw = dir.join("password");
    if !pw.exists() {
        std::fs::write(&pw, "correct horse\n").unwrap();
    }
    let mut full = vec!["ctchain-audit", "--insecure-fast-kdf", "--password-file", pw.to_str().unwrap()];
    full.extend_from_slice(args);
    let mut out = Vec::new();
    match cli::run(full, &mut out) {
        Ok(()) => Ok(String::from_utf8(out).unwrap()),
        Err(e) => Err(format!("{e:#}")),
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        walk(dir).into_iter().map(|p| p.strip_prefix(dir).unwrap().display().to_string()).collect();
    names.sort();
    names
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn keygen_writes_both_pools_keys_and_prints_their_public_keys_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("regulator.json");
    let out = run(dir.path(), &["keygen", "--chain-id", "ctchain-test", "--out", key.to_str().unwrap()]).unwrap();
    let file = KeystoreFile::read(&key).unwrap();
    assert_eq!(file.kind, KeyKind::Audit);
    let public = file.address.clone();
    assert!(out.contains(&format!("audit public key (for the genesis audit_keys): {public}")), "{out}");
    let keys = RegulatorKeys::open(&file, b"correct horse").unwrap();
    assert_eq!(hex::encode(keys.confidential.public().0.as_bytes()), public);
    // The shielded pool's Baby Jubjub key, in the form a genesis `[shielded] audit_key` takes.
    let shielded = keys.shielded_public().expect("keygen makes the shielded key too");
    let printed = format!(
        "shielded audit public key (for the genesis [shielded] audit_key): {}",
        hex::encode(shielded.to_bytes())
    );
    assert!(out.contains(&printed), "{out}");
    assert_eq!(ctchain_circuits::AuditPublicKey::from_bytes(&shielded.to_bytes()).unwrap(), shielded);

    let before = std::fs::read(&key).unwrap();
    let err = run(dir.path(), &["keygen", "--chain-id", "ctchain-test", "--out", key.to_str().unwrap()]).unwrap_err();
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&key).unwrap(), before, "the existing key is untouched");
}

#[test]
fn keygen_splits_a_key_among_supervisors_with_one_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let shares = dir.path().join("shares");
    let out = run(
        dir.path(),
        &[
            "keygen",
            "--chain-id",
            "ctchain-test",
            "--out",
            shares.to_str().unwrap(),
            "--threshold",
            "2",
            "--shares",
            "3",
        ],
    )
    .unwrap();
    assert!(out.contains("both pools' audit keys split 2-of-3"), "{out}");
    let keys = supervisors_of(&shares, 3);
    for (j, keys) in (1..).zip(&keys) {
        assert_eq!(keys.index(), j);
        keys.dealing.check().unwrap();
        let (shielded_share, shielded_dealing) = keys.shielded.as_ref().expect("the shielded key is split too");
        assert_eq!(shielded_share.index(), j);
        shielded_dealing.check().unwrap();
        assert!(out.contains(&hex::encode(keys.dealing.public.0.as_bytes())), "the printed key is the dealing's");
        assert!(out.contains(&hex::encode(shielded_dealing.public.to_bytes())), "and the shielded one's");
    }
    let dealings: Vec<Dealings> = keys.iter().map(|k| k.dealings()).collect();
    assert!(dealings.windows(2).all(|w| w[0] == w[1]), "every supervisor holds the same public dealings");
    let published =
        Dealings::from_bytes(&hex::decode(std::fs::read_to_string(shares.join("dealing.hex")).unwrap()).unwrap());
    assert_eq!(published.unwrap(), dealings[0], "dealing.hex holds both dealings");
    // A share keystore is not a whole key: refused before any password is tried.
    let err =
        KeystoreFile::read(&shares.join("supervisor-1.json")).unwrap().open_audit(b"x", KeyKind::Audit).unwrap_err();
    assert!(err.to_string().contains("not \"audit\""), "{err}");
    // Splitting into an existing directory writes nothing.
    let err = run(
        dir.path(),
        &[
            "keygen",
            "--chain-id",
            "ctchain-test",
            "--out",
            shares.to_str().unwrap(),
            "--threshold",
            "2",
            "--shares",
            "4",
        ],
    )
    .unwrap_err();
    assert!(err.contains("already exists; nothing was written"), "{err}");
    assert!(!shares.join("supervisor-4.json").exists());
    // A threshold above the number of shares is a clear error, and nothing is created.
    let bad = dir.path().join("bad");
    let err = run(
        dir.path(),
        &["keygen", "--chain-id", "ctchain-test", "--out", bad.to_str().unwrap(), "--threshold", "4", "--shares", "3"],
    )
    .unwrap_err();
    assert!(err.contains("threshold 4 of 3 is not allowed"), "{err}");
    assert!(!bad.exists());
}

/// Opens the `n` supervisor keystores of a split in `dir`.
fn supervisors_of(dir: &Path, n: u32) -> Vec<SupervisorKeys> {
    (1..=n)
        .map(|j| {
            let file = KeystoreFile::read(&dir.join(format!("supervisor-{j}.json"))).unwrap();
            assert_eq!(file.kind, KeyKind::AuditShare);
            let bytes = file.open_audit(b"correct horse", KeyKind::AuditShare).unwrap();
            SupervisorKeys::from_keystore_bytes(&bytes).unwrap()
        })
        .collect()
}

#[test]
fn keygen_split_divides_an_existing_whole_key_for_both_pools_and_says_to_destroy_it() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("regulator.json");
    run(dir.path(), &["keygen", "--chain-id", "ctchain-test", "--out", whole.to_str().unwrap()]).unwrap();
    let opened = KeystoreFile::read(&whole).unwrap().open_audit(b"correct horse", KeyKind::Audit).unwrap();
    let regulator = RegulatorKeys::from_keystore_bytes(&opened).unwrap();
    let shares = dir.path().join("split");
    let out = run(
        dir.path(),
        &[
            "keygen",
            "--chain-id",
            "ctchain-test",
            "--out",
            shares.to_str().unwrap(),
            "--threshold",
            "2",
            "--shares",
            "3",
            "--split",
            whole.to_str().unwrap(),
        ],
    )
    .unwrap();
    assert!(out.contains("destroy it once every supervisor holds a share"), "{out}");
    for keys in supervisors_of(&shares, 3) {
        assert_eq!(keys.dealing.public, regulator.confidential.public(), "the genesis keeps its confidential key");
        let (_, shielded) = keys.shielded.as_ref().unwrap();
        assert_eq!(Some(shielded.public), regulator.shielded_public(), "and its shielded key");
    }
    // A share keystore is not a whole key to split again.
    let err = run(
        dir.path(),
        &[
            "keygen",
            "--chain-id",
            "ctchain-test",
            "--out",
            dir.path().join("again").to_str().unwrap(),
            "--threshold",
            "2",
            "--shares",
            "3",
            "--split",
            shares.join("supervisor-1.json").to_str().unwrap(),
        ],
    )
    .unwrap_err();
    assert!(err.contains("not \"audit\""), "{err}");
}

#[test]
fn a_wrong_password_is_named_before_any_node_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("regulator.json");
    run(dir.path(), &["keygen", "--chain-id", "ctchain-test", "--out", key.to_str().unwrap()]).unwrap();
    std::fs::write(dir.path().join("wrong"), "battery staple\n").unwrap();
    let mut out = Vec::new();
    let wrong = dir.path().join("wrong");
    let err = cli::run(
        [
            "ctchain-audit",
            "--password-file",
            wrong.to_str().unwrap(),
            "decrypt",
            &"ab".repeat(32),
            "--key",
            key.to_str().unwrap(),
            "--node",
            "http://127.0.0.1:1",
        ],
        &mut out,
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("wrong password"), "{err:#}");
}

#[test]
fn a_share_from_another_split_cannot_sign_and_the_record_file_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let secret = AuditSecretKey::random(&mut OsRng);
    let (dealing_a, _) = threshold::split(&secret, 2, 3, &mut OsRng).unwrap();
    let (dealing_b, shares_b) = threshold::split(&secret, 2, 3, &mut OsRng).unwrap();
    assert_eq!(dealing_a.public, dealing_b.public, "the same audit key, split twice");
    let record = AuditAccessRecord {
        chain_id: "ctchain-test".into(),
        audit_key_index: 0,
        case_reference: "case 7".into(),
        from_height: 1,
        to_height: 9,
        threshold: dealing_a.threshold,
        share_keys: dealing_a.share_keys.clone(),
        shielded_share_keys: vec![],
        signatures: vec![],
    };
    let record_path = dir.path().join("record.hex");
    std::fs::write(&record_path, hex::encode(record.to_bytes())).unwrap();
    let share_path = dir.path().join("b1.json");
    KeystoreFile::seal_audit(
        "ctchain-test",
        KeyKind::AuditShare,
        hex::encode(secret.public().0.as_bytes()),
        &shares_b[0].to_keystore_bytes(&dealing_b),
        b"correct horse",
        KdfParams::TEST_ONLY,
        &mut OsRng,
    )
    .unwrap()
    .write(&share_path, false)
    .unwrap();
    let before = std::fs::read(&record_path).unwrap();
    let err =
        run(dir.path(), &["access", "sign", record_path.to_str().unwrap(), "--share", share_path.to_str().unwrap()])
            .unwrap_err();
    assert!(err.contains("another split"), "{err}");
    assert_eq!(std::fs::read(&record_path).unwrap(), before);
}

#[test]
fn a_bad_rule_file_is_refused_before_anything_is_read_or_written() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let db = dir.path().join("db");
    ctchain_audit::db::AuditDb::open(&db, "genesis").unwrap();
    for (text, expected) in [
        ("[large_value]\nCNY = \"10.00\"\n[smurfing]\nmin_count = 3\n", "smurfing"),
        ("[[asset]]\nlabel = \"CNY\"\ndecimals = 2\n[large_value]\nCNY = \"0\"\n", "above zero"),
        ("[[asset]]\nlabel = \"CNY\"\ndecimals = 2\n[large_value]\nCNY = \"1.234\"\n", "CNY"),
    ] {
        let rules = dir.path().join("rules.toml");
        std::fs::write(&rules, text).unwrap();
        let err = run(
            dir.path(),
            &[
                "aml",
                "--db",
                db.to_str().unwrap(),
                "--rules",
                rules.to_str().unwrap(),
                "--out",
                reports.to_str().unwrap(),
            ],
        )
        .unwrap_err();
        assert!(err.contains("rule file") && err.contains(expected), "{text:?}: {err}");
        assert!(!reports.exists(), "no report directory after a refused rule file");
    }
    let before = listing(dir.path());
    let err =
        run(dir.path(), &["aml", "--db", "/nonexistent/db", "--rules", "/nonexistent.toml", "--out", "x"]).unwrap_err();
    assert!(err.contains("reading rule file"), "{err}");
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn garbage_is_not_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bundle.ctev");
    std::fs::write(&file, b"not a bundle at all").unwrap();
    let err =
        run(dir.path(), &["verify-evidence", file.to_str().unwrap(), "--genesis-hash", &"00".repeat(32)]).unwrap_err();
    assert!(err.contains("is not an evidence bundle"), "{err}");
}

#[test]
fn the_audit_database_keeps_one_chain_and_returns_ranges_in_chain_order() {
    use ctchain_audit::aml::{AuditRecord, Pool, RecordKind};
    use ctchain_audit::db::{AuditDb, DbError};
    let dir = tempfile::tempdir().unwrap();
    let record = |height: u64, tx: u8, index: u32| AuditRecord {
        tx_id: hex::encode([tx; 32]),
        output_index: index,
        height,
        timestamp_ms: 1_000 * height,
        asset_id: hex::encode([7u8; 32]),
        asset_label: "CNY".into(),
        decimals: 2,
        amount: 100 * height,
        kind: RecordKind::Transfer,
        sender: Some("a".into()),
        receiver: "b".into(),
        memo: String::new(),
        memo_matches_amount: true,
        pool: Pool::Confidential,
        ..Default::default()
    };
    let db = AuditDb::open(dir.path(), "chain-a").unwrap();
    db.put(&[record(300, 1, 0), record(2, 9, 1), record(2, 9, 0), record(40, 3, 0)], 300).unwrap();
    // Storing a record again replaces it (watch may see a block twice).
    db.put(&[record(40, 3, 0)], 40).unwrap();
    assert_eq!(db.height().unwrap(), 300, "the stored height never goes down");
    let order: Vec<(u64, u32)> = db.all().unwrap().iter().map(|r| (r.height, r.output_index)).collect();
    assert_eq!(order, vec![(2, 0), (2, 1), (40, 0), (300, 0)]);
    assert_eq!(db.records(3, 299).unwrap().len(), 1);
    drop(db);
    assert!(matches!(AuditDb::open(dir.path(), "chain-b"), Err(DbError::OtherChain { .. })));
}

#[test]
fn help_lists_every_command_and_an_unknown_one_is_an_error() {
    let mut out = Vec::new();
    cli::run(["ctchain-audit", "--help"], &mut out).unwrap();
    let help = String::from_utf8(out).unwrap();
    for command in [
        "keygen",
        "import",
        "decrypt",
        "scan",
        "access",
        "log",
        "partial",
        "combine",
        "show",
        "aml",
        "watch",
        "evidence",
        "verify-evidence",
    ] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
    let err = cli::run(["ctchain-audit", "frobnicate"], &mut Vec::new()).unwrap_err();
    assert!(err.to_string().starts_with("unrecognized subcommand 'frobnicate'"), "{err}");
}

#[test]
fn import_writes_a_keystore_from_testnet_secrets_with_or_without_the_shielded_secret() {
    let dir = tempfile::tempdir().unwrap();
    let keys = RegulatorKeys::generate(&mut OsRng);
    let secrets = dir.path().join("testnet-secrets.json");
    std::fs::write(
        &secrets,
        format!(
            r#"{{"format":"ctchain-testnet-secrets/v1","audit_secret":"{}","shielded_audit_secret":"{}","issuers":[]}}"#,
            hex::encode(keys.confidential.to_bytes()),
            hex::encode(keys.shielded.as_ref().unwrap().to_bytes())
        ),
    )
    .unwrap();
    let key = dir.path().join("regulator.json");
    let args = |secrets: &Path, key: &Path| {
        vec![
            "import".to_string(),
            "--chain-id".into(),
            "ctchain-test".into(),
            "--secrets".into(),
            secrets.display().to_string(),
            "--out".into(),
            key.display().to_string(),
        ]
    };
    let a = args(&secrets, &key);
    let out = run(dir.path(), &a.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
    assert!(out.contains(&keys.confidential_public_hex()), "{out}");
    assert!(out.contains(&keys.shielded_public_hex().unwrap()), "{out}");
    let opened = RegulatorKeys::open(&KeystoreFile::read(&key).unwrap(), b"correct horse").unwrap();
    assert_eq!(opened.confidential.to_bytes(), keys.confidential.to_bytes());
    assert_eq!(opened.shielded, keys.shielded);
    // Never over an existing keystore.
    let err = run(dir.path(), &a.iter().map(String::as_str).collect::<Vec<_>>()).unwrap_err();
    assert!(err.contains("already exists"), "{err}");

    // A secrets file of before the shielded pool gives a keystore without the shielded key, and says so.
    let old = dir.path().join("old-secrets.json");
    std::fs::write(&old, format!(r#"{{"audit_secret":"{}"}}"#, hex::encode(keys.confidential.to_bytes()))).unwrap();
    let old_key = dir.path().join("old.json");
    let out = run(dir.path(), &args(&old, &old_key).iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
    assert!(out.contains("no shielded audit key"), "{out}");
    assert!(RegulatorKeys::open(&KeystoreFile::read(&old_key).unwrap(), b"correct horse").unwrap().shielded.is_none());

    // A malformed secret is named, and nothing is written.
    let bad = dir.path().join("bad-secrets.json");
    std::fs::write(&bad, r#"{"audit_secret":"00","shielded_audit_secret":"zz"}"#).unwrap();
    let bad_key = dir.path().join("bad.json");
    let err = run(dir.path(), &args(&bad, &bad_key).iter().map(String::as_str).collect::<Vec<_>>()).unwrap_err();
    assert!(err.contains("audit_secret is not hex of 32 bytes"), "{err}");
    assert!(!bad_key.exists());
}

#[test]
fn a_keystore_written_before_the_shielded_pool_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    let secret = AuditSecretKey::random(&mut OsRng);
    // Byte for byte what `keygen` wrote before: the 32-byte Ristretto secret alone.
    let file = KeystoreFile::seal_audit(
        "ctchain-test",
        KeyKind::Audit,
        hex::encode(secret.public().0.as_bytes()),
        &secret.to_bytes(),
        b"correct horse",
        KdfParams::TEST_ONLY,
        &mut OsRng,
    )
    .unwrap();
    let path = dir.path().join("old.json");
    file.write(&path, false).unwrap();
    let keys = RegulatorKeys::open(&KeystoreFile::read(&path).unwrap(), b"correct horse").unwrap();
    assert_eq!(keys.confidential.to_bytes(), secret.to_bytes());
    assert!(keys.shielded.is_none());
}

#[test]
fn show_and_aml_list_shielded_records_and_name_what_was_not_decrypted() {
    use ctchain_audit::aml::{AuditRecord, NotDecrypted, NotDecryptedReason, Pool, RecordKind};
    use ctchain_audit::db::AuditDb;
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db");
    let owner = |b: u8| hex::encode([b; 32]);
    let shielded = AuditRecord {
        tx_id: hex::encode([5u8; 32]),
        output_index: 0,
        height: 4,
        timestamp_ms: 4_000,
        asset_id: hex::encode([7u8; 32]),
        asset_label: "CNY".into(),
        decimals: 2,
        amount: 6_000_000,
        kind: RecordKind::Transfer,
        sender: Some(owner(0xa1)),
        receiver: owner(0xb2),
        memo: String::new(),
        memo_matches_amount: true,
        pool: Pool::Shielded,
        sender_proven: true,
        receiver_proven: true,
        ..Default::default()
    };
    let missing = NotDecrypted {
        tx_id: hex::encode([6u8; 32]),
        height: 5,
        timestamp_ms: 5_000,
        pool: Pool::Shielded,
        outputs: 2,
        reason: NotDecryptedReason::NoShieldedKey,
    };
    {
        let db = AuditDb::open(&db_path, "chain-a").unwrap();
        db.store(1, 5, std::slice::from_ref(&shielded), std::slice::from_ref(&missing)).unwrap();
        assert_eq!(db.height().unwrap(), 5);
        assert_eq!(db.all().unwrap(), vec![shielded.clone()]);
        assert_eq!(db.not_decrypted(0, u64::MAX).unwrap(), vec![missing.clone()]);
        assert!(db.not_decrypted(1, 4).unwrap().is_empty());
    }
    let show = run(dir.path(), &["show", "--db", db_path.to_str().unwrap()]).unwrap();
    assert!(
        show.contains(&format!(
            "height 4 tx {}  shielded output 0: 60,000.00 CNY (transfer)  from owner {} (proven)  to owner {} (proven)",
            shielded.tx_id,
            owner(0xa1),
            owner(0xb2)
        )),
        "{show}"
    );
    assert!(
        show.contains(&format!(
            "height 5 tx {}: 2 shielded outputs NOT DECRYPTED: not decryptable without the shielded audit key",
            missing.tx_id
        )),
        "{show}"
    );
    assert!(show.contains("1 records") && show.contains("WARNING: 1 transactions (2 outputs) were NOT decrypted"));

    // The AML rules judge the shielded transfer like any other, and the report names what they could not judge.
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "[[asset]]\nlabel = \"CNY\"\ndecimals = 2\n[large_value]\nCNY = \"50000.00\"\n").unwrap();
    let reports = dir.path().join("reports");
    let out = run(
        dir.path(),
        &[
            "aml",
            "--db",
            db_path.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
            "--out",
            reports.to_str().unwrap(),
        ],
    )
    .unwrap();
    assert!(out.contains("ALERT large-value") && out.contains(&shielded.tx_id), "{out}");
    assert!(out.contains("WARNING: 1 transactions (2 outputs) were NOT decrypted"), "{out}");
    let report = ctchain_audit::aml::report::Report::from_json(
        &std::fs::read_to_string(reports.join("aml-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report.not_decrypted, vec![missing.clone()]);
    assert_eq!(report.transactions[0].pool, Pool::Shielded);
    let html = std::fs::read_to_string(reports.join("aml-report.html")).unwrap();
    assert!(html.contains("were NOT decrypted") && html.contains("transfer (shielded)"), "{html}");

    // Decrypting the range again with the shielded key replaces the entry with records.
    {
        let db = AuditDb::open(&db_path, "chain-a").unwrap();
        let found = AuditRecord { tx_id: missing.tx_id.clone(), height: 5, timestamp_ms: 5_000, ..shielded.clone() };
        db.store(5, 5, std::slice::from_ref(&found), &[]).unwrap();
        assert!(db.not_decrypted(0, u64::MAX).unwrap().is_empty());
        assert_eq!(db.all().unwrap().len(), 2);
    }
}

#[test]
fn a_new_keystore_with_an_empty_password_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("password"), "\n").unwrap();
    let key = dir.path().join("regulator.json");
    let err = run(dir.path(), &["keygen", "--chain-id", "ctchain-test", "--out", key.to_str().unwrap()]).unwrap_err();
    assert!(err.contains("an empty password is not allowed"), "{err}");
    let shares = dir.path().join("split");
    let args = [
        "keygen",
        "--chain-id",
        "ctchain-test",
        "--out",
        shares.to_str().unwrap(),
        "--threshold",
        "2",
        "--shares",
        "3",
    ];
    assert!(run(dir.path(), &args).unwrap_err().contains("an empty password is not allowed"));
    assert_eq!(listing(dir.path()), vec!["password".to_string()], "nothing but the password file");
}
