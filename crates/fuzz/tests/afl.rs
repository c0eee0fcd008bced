//! Every target under AFL++ for a bounded time: CI's fuzzing run. The targets are built with cargo-afl's
//! instrumentation into their own target directory (`<target>/afl`) and each runs from its committed corpus for
//! `CTCHAIN_FUZZ_SECS` seconds (default 15); a crash or a hang fails the test and names the input, which then
//! belongs in `crashes/<target>/` (so that `tests/corpus.rs` keeps it as a regression test once fixed).
//! cargo-afl comes from `.ci/setup`; without it this test fails and says so.
//!
//! Long runs: `CTCHAIN_FUZZ_SECS=600 cargo test -p ctchain-fuzz --test afl -- --nocapture` (every target ten
//! minutes; `CTCHAIN_FUZZ_TARGETS=block,direct` for some), or one target by hand as the crate's README shows.

use std::path::{Path, PathBuf};
use std::process::Command;

use ctchain_fuzz::TARGETS;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The target directory this test was built in (`<target>/debug/deps/afl-…`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).expect("target/<profile>/deps/<test>").to_path_buf()
}

/// The RocksDB library the workspace's own build compiled. The fuzz targets link the ledger crate, hence RocksDB,
/// though no target touches a database; an instrumented build compiles every crate again, and letting it compile
/// RocksDB's C++ once more would cost a quarter of an hour for nothing, so it links this one
/// (`ROCKSDB_LIB_DIR`, which librocksdb-sys supports for prebuilt libraries).
fn built_rocksdb() -> Option<PathBuf> {
    let build = target_dir().join("debug").join("build");
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(build)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("librocksdb-sys-"))
        .map(|e| e.path().join("out"))
        .filter(|out| out.join("librocksdb.a").is_file())
        .filter_map(|out| Some((out.join("librocksdb.a").metadata().ok()?.modified().ok()?, out)))
        .collect();
    found.sort();
    found.pop().map(|(_, out)| out)
}

fn secs() -> u64 {
    std::env::var("CTCHAIN_FUZZ_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(15)
}

#[test]
fn every_target_runs_under_afl_without_a_crash_or_a_hang() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let version = Command::new(&cargo).args(["afl", "--version"]).output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "cargo-afl is not installed: `bash .ci/setup` installs it (cargo install cargo-afl)"
    );
    let afl_target = target_dir().join("afl");
    let mut build = Command::new(&cargo);
    build
        .current_dir(workspace())
        .args(["afl", "build", "-p", "ctchain-fuzz", "--features", "afl", "--bin", "ctchain-fuzz", "--target-dir"])
        .arg(&afl_target);
    if let Some(lib) = built_rocksdb() {
        build.env("ROCKSDB_LIB_DIR", lib).env("ROCKSDB_STATIC", "1");
    }
    let status = build.status().expect("cargo afl build runs");
    assert!(status.success(), "cargo afl build failed");
    let bin = afl_target.join("debug").join("ctchain-fuzz");

    let out = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    // `CTCHAIN_FUZZ_TARGETS=block,direct` runs only those.
    let only = std::env::var("CTCHAIN_FUZZ_TARGETS").ok();
    let chosen = |name: &str| only.as_deref().is_none_or(|list| list.split(',').any(|n| n.trim() == name));
    for (name, _) in TARGETS.iter().filter(|(name, _)| chosen(name)) {
        let findings = out.path().join(name);
        let log = std::fs::File::create(out.path().join(format!("{name}.log"))).unwrap();
        let status = Command::new(&cargo)
            .args(["afl", "fuzz", "-V", &secs().to_string(), "-i"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(name))
            .arg("-o")
            .arg(&findings)
            .arg("--")
            .arg(&bin)
            .arg(name)
            .env("AFL_NO_UI", "1")
            .env("AFL_SKIP_CPUFREQ", "1")
            .env("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1")
            .env("AFL_NO_AFFINITY", "1")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .status()
            .expect("cargo afl fuzz runs");
        if !status.success() {
            let log = std::fs::read_to_string(out.path().join(format!("{name}.log"))).unwrap_or_default();
            panic!("afl-fuzz on {name} did not run:\n{log}");
        }
        let stats = std::fs::read_to_string(findings.join("default").join("fuzzer_stats")).unwrap_or_default();
        let stat = |key: &str| {
            stats.lines().find(|l| l.starts_with(key)).and_then(|l| l.split(':').nth(1)).map(str::trim).unwrap_or("?")
        };
        eprintln!(
            "{name}: {} executions, {} paths, {} crashes, {} hangs in {} s",
            stat("execs_done"),
            stat("corpus_count"),
            stat("saved_crashes"),
            stat("saved_hangs"),
            secs()
        );
        for kind in ["crashes", "hangs"] {
            let dir = findings.join("default").join(kind);
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.file_name() != "README.txt" {
                    failures.push(format!("{name}: {kind}/{}", entry.path().display()));
                }
            }
        }
    }
    if !failures.is_empty() {
        let kept = out.keep();
        panic!("fuzzing found inputs that crash or hang (kept in {}):\n{}", kept.display(), failures.join("\n"));
    }
}
