//! The regulator trusts no node: `ctchain-audit` reads every block and transaction through the light client,
//! against the genesis pinned by hash. A node that serves block 3 with block 1's transactions — and so block 1's
//! decrypt handles, which a decryption would read as height 3's — is refused, and nothing is decrypted or
//! stored; a transaction claimed at another height is refused too. (A supervisor's `partial` reads its range
//! through the same `LightClient::blocks`, refused in `crates/light/tests/forged_node.rs`.)

use std::path::{Path, PathBuf};

use ctchain_audit::db::AuditDb;
use ctchain_keystore::{KdfParams, KeyKind, KeystoreFile};
use rand_core::OsRng;

#[path = "../../light/tests/support/certified.rs"]
#[allow(dead_code)]
mod certified;
#[path = "../../light/tests/support/lying.rs"]
#[allow(dead_code)]
mod lying;
use lying::{serve_at, Lie, CHAIN};

/// Runs `ctchain-audit` against the node at `url`, with the genesis pinned, off the async runtime (the command
/// line builds its own).
async fn audit(dir: &Path, url: &str, genesis_hash: &str, args: &[&str]) -> Result<String, String> {
    let mut argv: Vec<String> = ["ctchain-audit", "--node", url, "--genesis-hash", genesis_hash, "--password-file"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    argv.push(dir.join("password").display().to_string());
    argv.extend(args.iter().map(|s| s.to_string()));
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        ctchain_audit::cli::run(argv, &mut out)
            .map(|()| String::from_utf8_lossy(&out).into_owned())
            .map_err(|e| format!("{e:#}"))
    })
    .await
    .unwrap()
}

fn keystore(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("password"), "regulator password\n").unwrap();
    let auditor = certified::auditor();
    let path = dir.join("regulator.json");
    KeystoreFile::seal_audit(
        CHAIN,
        KeyKind::Audit,
        hex::encode(auditor.public().0.as_bytes()),
        &auditor.to_bytes(),
        b"regulator password",
        KdfParams::TEST_ONLY,
        &mut OsRng,
    )
    .unwrap()
    .write(&path, false)
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn the_regulator_refuses_to_decrypt_what_a_lying_node_forges() {
    let (node, url, _server) = serve_at().await;
    let dir = tempfile::tempdir().unwrap();
    let key = keystore(dir.path()).display().to_string();
    let db = dir.path().join("db").display().to_string();
    let pinned = node.chain.genesis.hash().to_hex();

    // Honest answers decrypt: heights 1 and 2, one issuance each.
    let out = audit(dir.path(), &url, &pinned, &["scan", "--from", "1", "--to", "2", "--key", &key, "--db", &db]).await;
    let out = out.unwrap();
    assert!(out.contains("decrypted 2 outputs"), "one issuance in each of the two blocks: {out}");

    // Block 3 served with block 1's transactions (re-rooted, so its header is self-consistent): refused.
    *node.lie.lock().unwrap() = Lie::OtherHeightsTransactions;
    let err = audit(dir.path(), &url, &pinned, &["scan", "--from", "3", "--to", "3", "--key", &key, "--db", &db])
        .await
        .unwrap_err();
    assert!(
        err.contains("block 3 that is not the chain's") && err.contains("certificate does not prove this block"),
        "{err}"
    );
    let stored = AuditDb::open_existing(Path::new(&db)).unwrap();
    assert_eq!(stored.height().unwrap(), 2, "nothing of the forged block was stored");
    assert!(stored.records(3, 3).unwrap().is_empty());
    drop(stored);

    // A transaction of block 1 claimed at height 2: `decrypt` and `evidence` refuse it.
    *node.lie.lock().unwrap() = Lie::TransactionAtAnotherHeight;
    let txid = node.chain.blocks[0].txs[0].id().to_string();
    let err = audit(dir.path(), &url, &pinned, &["decrypt", &txid, "--key", &key]).await.unwrap_err();
    assert!(err.contains("another block"), "{err}");
    let bundle = dir.path().join("bundle.ctev").display().to_string();
    let err =
        audit(dir.path(), &url, &pinned, &["evidence", &txid, "--key", &key, "--out", &bundle]).await.unwrap_err();
    assert!(err.contains("another block"), "{err}");
    assert!(!Path::new(&bundle).exists());

    // A node of another chain is refused outright against the pinned genesis.
    *node.lie.lock().unwrap() = Lie::OtherGenesis;
    let err = audit(dir.path(), &url, &pinned, &["decrypt", &txid, "--key", &key]).await.unwrap_err();
    assert!(err.contains("genesis"), "{err}");
}
