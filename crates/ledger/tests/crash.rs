//! Crash safety: a child process commits blocks and is killed with SIGKILL at random moments, many times. After
//! every kill the reopened ledger is consistent and at a block boundary, and the child resumes from there.
//!
//! Kills default to a CI-sized campaign; `CTCHAIN_CRASH_KILLS=200 cargo test -p ctchain-ledger --test crash`
//! runs a longer one.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use ctchain_codec::{Decode, Encode, Reader, Writer};
use ctchain_ledger::{Block, Ledger};
use rand_core::{RngCore, SeedableRng};

const CHILD_ENV: &str = "CTCHAIN_CRASH_CHILD_DIR";
const TEST_NAME: &str = "killed_at_random_moments_the_ledger_reopens_consistent_at_a_block_boundary";

fn read_blocks(path: &Path) -> Vec<Block> {
    let bytes = std::fs::read(path).unwrap();
    let mut r = Reader::new(&bytes);
    let n = r.u32("count").unwrap();
    (0..n).map(|_| Block::from_bytes(r.bytes("block", 1 << 24).unwrap()).unwrap()).collect()
}

/// The child: applies the prepared blocks from its tip on, verifying each as a node would.
fn child(dir: &Path) {
    let blocks = read_blocks(&dir.join("blocks.bin"));
    let genesis = ctchain_ledger::Genesis::from_bytes(&std::fs::read(dir.join("genesis.bin")).unwrap()).unwrap();
    let mut ledger = Ledger::open(&dir.join("db"), &genesis).unwrap();
    for block in blocks.into_iter().skip(ledger.height() as usize) {
        let verified = block.verify(ledger.verifier()).unwrap();
        ledger.apply(verified, Some(b"certificate")).unwrap();
    }
}

#[test]
fn killed_at_random_moments_the_ledger_reopens_consistent_at_a_block_boundary() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        return child(Path::new(&dir));
    }
    let kills: usize = std::env::var("CTCHAIN_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(25);

    // Prepare a chain of blocks on a scratch ledger.
    let mut chain = TestChain::new(77);
    let alice = chain.keys.alice.clone();
    let bob = chain.keys.bob.clone();
    let target = 40usize;
    for i in 0..target {
        let mut txs = vec![chain.issue(&alice, chain.keys.cny, 100 + i as u64)];
        if let Some(o) = chain.unspent(&alice).into_iter().max_by_key(|o| o.opening.amount) {
            let mut b = chain.builder();
            b.spend(o).pay(bob.address(), chain.keys.cny, 50, "").change_to(alice.address());
            txs.push(b.build(&mut chain.rng).unwrap());
        }
        chain.commit(txs);
    }
    let work = tempfile::tempdir().unwrap();
    let mut w = Writer::new();
    w.u32(chain.blocks.len() as u32);
    for b in &chain.blocks {
        w.bytes(&b.to_bytes());
    }
    std::fs::write(work.path().join("blocks.bin"), w.as_bytes()).unwrap();
    std::fs::write(work.path().join("genesis.bin"), chain.ledger.genesis().to_bytes()).unwrap();

    let seed = std::env::var("CTCHAIN_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0xC0FFEE);
    eprintln!("crash campaign: seed {seed} (set CTCHAIN_CRASH_SEED to replay), {kills} kills");
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let exe = std::env::current_exe().unwrap();
    let spawn = || {
        Command::new(&exe)
            .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, work.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };

    // Time one uninterrupted run, so that kills land anywhere in it (start-up included).
    let started = std::time::Instant::now();
    assert!(spawn().wait().unwrap().success());
    let full_run_ms = (started.elapsed().as_millis() as u64).max(10);
    std::fs::remove_dir_all(work.path().join("db")).unwrap();

    let mut interrupted_mid_chain = 0;
    for kill in 0..kills {
        let mut child = spawn();
        std::thread::sleep(Duration::from_millis(rng.next_u64() % full_run_ms));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok(); // SIGKILL
        child.wait().unwrap();

        let ledger = Ledger::open(&work.path().join("db"), chain.ledger.genesis())
            .unwrap_or_else(|e| panic!("seed {seed}, kill {kill}: reopening failed: {e}"));
        let h = ledger.height();
        assert!(h as usize <= target);
        if h > 0 {
            assert_eq!(
                ledger.tip_hash(),
                chain.blocks[h as usize - 1].hash(),
                "seed {seed}, kill {kill}: tip at height {h}"
            );
        }
        assert!(ledger.header(h + 1).unwrap().is_none(), "seed {seed}, kill {kill}: a block beyond the tip");
        assert_eq!(ledger.recompute_state_root().unwrap(), ledger.state_root(), "seed {seed}, kill {kill}: state");
        if !finished && h > 0 && (h as usize) < target {
            interrupted_mid_chain += 1;
        }
        if h as usize == target {
            // Start over so that every kill lands somewhere in a chain.
            drop(ledger);
            std::fs::remove_dir_all(work.path().join("db")).unwrap();
        }
    }
    assert!(interrupted_mid_chain > 0, "seed {seed}: no kill interrupted the chain; the campaign proved nothing");
    eprintln!("crash campaign: {interrupted_mid_chain} of {kills} kills landed mid-chain");

    // Finally let the child finish: the result is the same chain the scratch ledger built.
    let status = spawn().wait().unwrap();
    assert!(status.success());
    let ledger = Ledger::open(&work.path().join("db"), chain.ledger.genesis()).unwrap();
    assert_eq!(ledger.tip_hash(), chain.ledger.tip_hash());
    assert_eq!(ledger.state_root(), chain.ledger.state_root());
}
