//! The committed corpora as regression tests: every seed is a real value of the fixture chain that reaches the
//! deep end of its target (a transaction that verifies, a block that verifies, a certificate that checks), the
//! committed corpus holds every seed, and every corpus input and every crash ever found (`crashes/<target>/`,
//! one file per crash, kept forever) runs through its target without a panic.
//!
//! `CTCHAIN_FUZZ_WRITE_SEEDS=1 cargo test -p ctchain-fuzz --test corpus` writes the seeds into `corpus/` (after a
//! change of an encoding, say).

use std::path::{Path, PathBuf};

use ctchain_codec::Decode;
use ctchain_fuzz::{seeds, target, TARGETS};

fn dir(kind: &str, target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(kind).join(target)
}

fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_seed_is_in_the_committed_corpus() {
    let write = std::env::var_os("CTCHAIN_FUZZ_WRITE_SEEDS").is_some();
    let all = seeds::all();
    assert_eq!(all.iter().map(|(n, _)| *n).collect::<Vec<_>>(), TARGETS.iter().map(|(n, _)| *n).collect::<Vec<_>>());
    for (name, seeds) in all {
        assert!(!seeds.is_empty(), "no seed for {name}");
        let corpus = dir("corpus", name);
        if write {
            std::fs::create_dir_all(&corpus).unwrap();
            for (i, seed) in seeds.iter().enumerate() {
                std::fs::write(corpus.join(format!("seed-{i:02}")), seed).unwrap();
            }
            continue;
        }
        let committed: Vec<Vec<u8>> = files(&corpus).into_iter().map(|(_, b)| b).collect();
        for (i, seed) in seeds.iter().enumerate() {
            assert!(
                committed.contains(seed),
                "corpus/{name} lacks seed {i} (an encoding changed?): CTCHAIN_FUZZ_WRITE_SEEDS=1 cargo test -p ctchain-fuzz --test corpus"
            );
        }
    }
}

#[test]
fn the_seeds_reach_the_deep_end_of_their_targets() {
    let f = ctchain_fuzz::fixture::get();
    let all = seeds::all();
    let of = |name: &str| all.iter().find(|(n, _)| *n == name).unwrap().1.clone();
    for bytes in of("transaction") {
        let tx = ctchain_crypto::Transaction::from_bytes(&bytes).unwrap();
        f.verifier.confidential.verify(tx).expect("a seed transaction verifies");
    }
    for bytes in of("ledger_tx") {
        let tx = ctchain_ledger::LedgerTx::from_bytes(&bytes).unwrap();
        ctchain_ledger::VerifiedLedgerTx::verify(tx, &f.verifier).expect("a seed ledger transaction verifies");
    }
    for bytes in of("block") {
        ctchain_ledger::Block::from_bytes(&bytes).unwrap().verify(&f.verifier).expect("a seed block verifies");
    }
    let committed = of("committed");
    assert!(committed.len() >= 2, "both blocks commit in the seed run");
    for bytes in committed {
        let block = ctchain_pbft::CommittedBlock::from_bytes(&bytes).unwrap();
        ctchain_pbft::verify_committed(&f.validators, &ctchain_pbft::Ed25519Verifier, &block)
            .expect("a seed certificate checks");
    }
    let kinds: std::collections::BTreeSet<&str> =
        of("consensus").iter().map(|b| ctchain_pbft::Message::from_bytes(b).unwrap().kind()).collect();
    for kind in ["pre-prepare", "prepare", "commit"] {
        assert!(kinds.contains(kind), "no {kind} among the consensus seeds: {kinds:?}");
    }
    for bytes in of("keystore") {
        let file: ctchain_keystore::KeystoreFile = serde_json::from_slice(&bytes).unwrap();
        let opened = file
            .open(ctchain_fuzz::fixture::PASSWORD)
            .map(|_| ())
            .or_else(|_| file.open_issuer(ctchain_fuzz::fixture::PASSWORD).map(|_| ()));
        opened.expect("a seed keystore opens with the fixture's password");
    }
}

#[test]
fn every_corpus_input_and_every_recorded_crash_runs_clean() {
    let mut ran = 0;
    for (name, _) in TARGETS {
        let run = target(name).unwrap();
        for kind in ["corpus", "crashes"] {
            for (path, bytes) in files(&dir(kind, name)) {
                let outcome = std::panic::catch_unwind(|| run(&bytes));
                assert!(outcome.is_ok(), "{} panics its target {name}", path.display());
                ran += 1;
            }
        }
    }
    assert!(ran >= TARGETS.len(), "the corpora are empty");
}
