//! Fail-stop on a full disk, against real node processes: a validator whose data directory sits on a small tmpfs
//! (mounted by the test itself, which needs root, as CI has) stops on the first write that does not fit and says
//! which; the other three keep committing without it; once there is space again it restarts from what it
//! persisted, catches up to the same state root, and its votes are needed again.
//!
//! That it sends nothing signed under a state it could not persist follows from the order the driver performs the
//! core's outputs in (the safety state is written, synced, before the messages after it leave; a failed write
//! ends the process there) and is checked exhaustively by the simulator's torn crashes; here the point is the
//! operator's: the node stops, names the cause, loses nothing, and continues once the disk has room.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Chain, COMMIT};
use ctchain_crypto::WalletKeys;
use ctchain_devnet::cluster::{submit_and_wait, ChainWallet};
use ctchain_node::config::Home;
use ctchain_rpc::{BlockRef, ChainApiClient};
use rand_core::OsRng;

const BASE: u16 = 19_000;

/// A size-limited tmpfs mounted over a directory for the test's duration.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, mib: u32) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs and needs root (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem of `dir` with a ballast file until a write fails for lack of space.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("ballast");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0x5a; 64 << 10];
    loop {
        match file.write_all(&chunk).and_then(|()| file.sync_all()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => return path,
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_whose_disk_fills_stops_cleanly_and_continues_once_there_is_space() {
    let (dir, cluster) = Chain::create(4, 0, BASE);
    let full = 3;
    let data = Home(cluster.testnet.homes[full].clone()).0.join("data");
    let _tmpfs = Tmpfs::mount(&data, 64);
    let mut chain = Chain::launch(dir, cluster).await;
    let mut alice = chain.funded_wallet("alice", 10_000, 0).await;
    let mut bob = ChainWallet::new("bob", WalletKeys::random(&mut OsRng));
    let (cny, _) = chain.cny();
    let tx = chain.transfer(&mut alice, &bob.keys, 1_000, 0).await;
    let (_, height) = submit_and_wait(&chain.client(0), &tx, COMMIT).await.unwrap();
    chain.cluster.wait_height(full, height, Duration::from_secs(30)).await.unwrap();

    // The disk fills up. The validator's next write (it writes on every committed sequence number, heartbeats
    // included) fails, and it stops on its own with an error naming the write.
    let ballast = fill(&data);
    let status = chain.cluster.wait_exit(full, Duration::from_secs(60)).await.expect("the node stops on its own");
    assert!(!status.success(), "a node that could not persist must not exit as if stopped on request");
    let log = std::fs::read_to_string(chain.cluster.log_path(full)).unwrap();
    let stopped = log.lines().find(|l| l.contains("node stopped:")).expect("the log says why the node stopped");
    assert!(stopped.contains("No space left on device"), "{stopped}");

    // The other three keep committing without it.
    let tx = chain.transfer(&mut alice, &bob.keys, 1_000, 1).await;
    let (_, without) = submit_and_wait(&chain.client(1), &tx, Duration::from_secs(90)).await.unwrap();

    // With space again it restarts from its disk (nothing it persisted is damaged) and catches up.
    std::fs::remove_file(ballast).unwrap();
    chain.cluster.start(full).unwrap();
    chain.cluster.wait_height(full, without, Duration::from_secs(60)).await.expect("it catches up");
    let reference = chain.client(1).chain_get_block(BlockRef::Height(without)).await.unwrap().unwrap();
    let caught_up = chain.client(full).chain_get_block(BlockRef::Height(without)).await.unwrap().unwrap();
    assert_eq!(caught_up.header, reference.header);

    // It votes again: with another validator down, the chain needs it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mine = chain.client(full).chain_status().await.unwrap();
        let theirs = chain.client(1).chain_status().await.unwrap();
        if mine.view == theirs.view && mine.view_normal && mine.consensus_seq + 2 >= theirs.consensus_seq {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the restarted validator never rejoined view {}", theirs.view);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let other = 2;
    chain.cluster.kill(other).unwrap();
    let tx = chain.transfer(&mut alice, &bob.keys, 1_000, 1).await;
    let (_, last) = submit_and_wait(&chain.client(1), &tx, Duration::from_secs(90)).await.unwrap();
    chain.cluster.wait_height(full, last, Duration::from_secs(30)).await.unwrap();
    bob.sync(&chain.client(full)).await.unwrap();
    assert_eq!(bob.balance(cny).unwrap(), 3_000);
}
