//! `ctchain-devnet loadgen`: how much the node adds on top of proof checking. It starts a local 4-validator chain,
//! pre-builds valid independent transfers, submits them through every validator's RPC, and reports committed
//! transactions per second and commit latency (p50, p99), next to the raw verification throughput of the same
//! transactions measured on the same machine in the same run.
//!
//! It submits as a careful client does: a submission whose node cannot be reached goes to the next validator, and
//! transactions not yet committed a while after a fault are submitted again through the live validators (a
//! duplicate is refused harmlessly). With `--fault kill` or `--fault pause` it kills (`SIGKILL`) or pauses
//! (`SIGSTOP`, resumed later) the primary part-way through the submissions, so the report shows throughput and
//! latency through a view change, and the longest time without a commit.
//!
//! With `--full-blocks` the validators are restarted after the funding with a batching delay of two minutes, so the
//! primary proposes a block only once it is full (2 000 transfers; heartbeats keep the view meanwhile): four
//! validators sharing two cores admit well under a hundred transfers a second each, so with the default batching
//! delay no block would ever fill. `--fault-at full-block` then injects the fault as soon as the first full block
//! has committed, while the next one fills.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use ctchain_codec::Encode;
use ctchain_crypto::{OutputId, Transaction, TransactionBuilder, TxId, Verifier, WalletKeys};
use ctchain_rpc::{BlockRef, ChainApiClient};
use futures::StreamExt;
use rand_core::OsRng;
use rayon::prelude::*;
use serde::Serialize;

use crate::cluster::Cluster;

const CHAIN_ID: &str = "ctchain-load-1";
/// Outputs per funding issuance (the most a transaction may create).
const FUNDING_FANOUT: usize = ctchain_crypto::MAX_OUTPUTS;

/// A fault injected into the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// `SIGKILL` the primary (it stays down).
    Kill,
    /// `SIGSTOP` the primary, and `SIGCONT` it after ten seconds.
    Pause,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Fault::Kill => "kill (SIGKILL)",
            Fault::Pause => "pause (SIGSTOP, SIGCONT 10 s later)",
        })
    }
}

/// When the fault is injected.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultAt {
    /// Once this share of the transfers was submitted.
    Share(f64),
    /// Once the first full block (as many transfers as the genesis allows) committed.
    FirstFullBlock,
}

impl std::str::FromStr for FaultAt {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "full-block" {
            return Ok(FaultAt::FirstFullBlock);
        }
        match s.parse::<f64>() {
            Ok(share) if (0.0..=1.0).contains(&share) => Ok(FaultAt::Share(share)),
            _ => Err(format!("`{s}` is neither a share between 0 and 1 nor `full-block`")),
        }
    }
}

/// With `full_blocks`, the primary waits this long for a block to fill.
const FULL_BLOCK_BATCH_DELAY_MS: u64 = 120_000;

/// How long a paused primary stays paused.
const PAUSE: Duration = Duration::from_secs(10);

/// What a run is asked to do.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions {
    /// Transfers to submit.
    pub count: usize,
    /// Concurrent submissions.
    pub in_flight: usize,
    /// First port of the local chain.
    pub base_port: u16,
    /// A fault to inject, and when.
    pub fault: Option<(Fault, FaultAt)>,
    /// The primary waits for full blocks (see the module docs).
    pub full_blocks: bool,
}

/// The fault of a run, as it happened.
#[derive(Debug, Serialize)]
pub struct FaultReport {
    /// Which fault.
    pub kind: Fault,
    /// The validator it hit (the primary then).
    pub validator: usize,
    /// When, from the first submission, milliseconds.
    pub at_ms: f64,
    /// Transfers submitted again through live validators after it.
    pub resubmitted: usize,
}

/// The figures of one run.
#[derive(Debug, Serialize)]
pub struct LoadReport {
    /// Transfers submitted.
    pub transactions: usize,
    /// Transfers committed.
    pub committed: usize,
    /// Committed transfers per second, first submission to last commit.
    pub committed_tps: f64,
    /// Submission to observed commit, median, milliseconds.
    pub latency_p50_ms: f64,
    /// Submission to observed commit, 99th percentile, milliseconds.
    pub latency_p99_ms: f64,
    /// The same transactions verified in-process on all cores, per second.
    pub raw_verify_tps: f64,
    /// `raw_verify_tps / committed_tps`: 1.0 would mean the chain adds nothing to proof checking.
    pub ratio: f64,
    /// The same ratio per validator: on one machine the four validators share its cores and each verifies every
    /// transaction, so `raw_verify_tps / (4 × committed_tps)` is what the node software itself adds.
    pub ratio_per_validator: f64,
    /// Ledger blocks the transfers took.
    pub blocks: u64,
    /// Cores of this machine.
    pub cores: usize,
    /// The longest time between two blocks carrying these transfers, milliseconds.
    pub longest_gap_ms: f64,
    /// The most transfers a block may hold (genesis).
    pub max_block_txs: u32,
    /// The most of these transfers one block held.
    pub largest_block: usize,
    /// Blocks holding `max_block_txs` transfers.
    pub full_blocks: usize,
    /// Full blocks proposed in a later view than the first full block (after the fault, with a fault).
    pub full_blocks_in_later_views: usize,
    /// The view of the last block, as a validator the fault spared reports it.
    pub final_view: u64,
    /// The fault injected, if any.
    pub fault: Option<FaultReport>,
}

/// Outputs funded on a local chain for independent transfers: issuances that each create up to
/// [`MAX_OUTPUTS`](ctchain_crypto::MAX_OUTPUTS) outputs of 1 000 units for one sender.
pub struct Funded {
    issuances: Vec<Transaction>,
    senders: Vec<WalletKeys>,
}

/// Pre-built transfers and the keys of the one receiver they pay.
pub struct Transfers {
    /// One per funded output; none conflicts with another.
    pub transfers: Vec<Transaction>,
    /// The receiver of every transfer.
    pub receiver: WalletKeys,
}

/// Funds `count` independent outputs with the chain's first asset and waits until they are committed.
pub async fn fund(cluster: &Cluster, count: usize) -> Result<Funded> {
    let chain_id = cluster.testnet.genesis.chain_id.clone();
    let audit_keys = cluster.testnet.genesis.audit_keys.clone();
    let (_, asset, _, issuer) = cluster.testnet.issuers[0].clone();
    let client = cluster.client(0);
    eprintln!("funding {count} independent outputs…");
    let senders: Vec<WalletKeys> =
        (0..count.div_ceil(FUNDING_FANOUT)).map(|_| WalletKeys::random(&mut OsRng)).collect();
    let issuances: Vec<Transaction> = senders
        .par_iter()
        .enumerate()
        .map(|(k, sender)| {
            let outputs = FUNDING_FANOUT.min(count - k * FUNDING_FANOUT);
            let mut b = TransactionBuilder::new(&chain_id, audit_keys.clone());
            b.issue(&issuer, asset, 1_000 * outputs as u64);
            for _ in 0..outputs {
                b.pay(sender.address(), asset, 1_000, "");
            }
            b.build(&mut OsRng).map_err(|e| anyhow!("funding issuance: {e}"))
        })
        .collect::<Result<_>>()?;
    for tx in &issuances {
        client.tx_submit(hex::encode(tx.to_bytes())).await.map_err(|e| anyhow!("funding refused: {e}"))?;
    }
    for tx in &issuances {
        crate::cluster::wait_committed(&client, &tx.id(), Duration::from_secs(120)).await?;
    }
    Ok(Funded { issuances, senders })
}

impl Funded {
    /// One transfer of `amount` per funded output, all to one new receiver, the change back to the sender.
    pub fn transfers(&self, cluster: &Cluster, amount: u64, memo: &str) -> Result<Transfers> {
        let chain_id = cluster.testnet.genesis.chain_id.clone();
        let audit_keys = cluster.testnet.genesis.audit_keys.clone();
        let (_, asset, _, _) = cluster.testnet.issuers[0].clone();
        eprintln!("building {} transfers…", self.issuances.iter().map(|t| t.body.outputs.len()).sum::<usize>());
        let receiver = WalletKeys::random(&mut OsRng);
        let to = receiver.address();
        let transfers: Vec<Transaction> = self
            .issuances
            .par_iter()
            .zip(self.senders.par_iter())
            .flat_map_iter(|(issuance, sender)| {
                let id = issuance.id();
                let vk = sender.viewing_keys();
                let owned: Vec<_> = issuance
                    .body
                    .outputs
                    .iter()
                    .enumerate()
                    .filter_map(|(i, o)| vk.receive(OutputId::new(&id, i as u32), o))
                    .map(|r| r.map(|r| sender.owned(&r)))
                    .collect();
                owned.into_iter().map(|o| (o, sender.address())).collect::<Vec<_>>()
            })
            .map(|(owned, sender_address)| {
                let owned = owned.map_err(|e| anyhow!("funded output: {e}"))?;
                let mut b = TransactionBuilder::new(&chain_id, audit_keys.clone());
                b.spend(owned).pay(to, asset, amount, memo).change_to(sender_address);
                b.build(&mut OsRng).map_err(|e| anyhow!("transfer: {e}"))
            })
            .collect::<Result<_>>()?;
        Ok(Transfers { transfers, receiver })
    }
}

/// Submits `hex` through validator `first` or, when it cannot be reached, the next ones in turn; returns the
/// index of the validator that acknowledged it. A refusal is an answer (no other node is asked), except that a
/// duplicate after a failed attempt means an earlier attempt got through.
pub(crate) async fn submit_anywhere(
    clients: &[jsonrpsee::http_client::HttpClient],
    first: usize,
    hex: &str,
) -> Result<usize> {
    let mut unreachable = Vec::new();
    for attempt in 0..4 * clients.len() {
        let at = (first + attempt) % clients.len();
        let client = &clients[at];
        match client.tx_submit(hex.to_owned()).await {
            Ok(_) => return Ok(at),
            // Busy (its admission queue is full): a careful client waits a little and asks the next one.
            Err(jsonrpsee::core::client::Error::Call(e)) if e.code() == ctchain_rpc::codes::MEMPOOL_FULL => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                unreachable.push(e.message().to_owned());
            }
            Err(jsonrpsee::core::client::Error::Call(e)) => {
                // Pending already (`TX_DUPLICATE`), or committed already (rejected by the check `duplicate`).
                let duplicate = e.code() == ctchain_rpc::codes::TX_DUPLICATE
                    || (e.code() == ctchain_rpc::codes::TX_REJECTED
                        && e.data().is_some_and(|d| d.get().contains("\"duplicate\"")));
                if attempt > 0 && duplicate {
                    return Ok(at);
                }
                bail!("transfer refused: {}", e.message());
            }
            Err(e) => unreachable.push(e.to_string()),
        }
    }
    bail!("no validator could be reached: {}", unreachable.join("; "))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Runs the load test with `count` transfers and at most `in_flight` concurrent submissions.
pub async fn run(options: LoadOptions) -> Result<LoadReport> {
    let tmp = tempfile::Builder::new().prefix("ctchain-load-").tempdir()?;
    let result = run_in(tmp.path(), options).await;
    if result.is_err() {
        // Keep the nodes' logs for the post-mortem.
        eprintln!("load test failed; node logs kept in {}", tmp.keep().join("chain").join("logs").display());
    }
    result
}

async fn run_in(dir: &std::path::Path, options: LoadOptions) -> Result<LoadReport> {
    let LoadOptions { count, in_flight, base_port, fault, full_blocks } = options;
    if count == 0 || in_flight == 0 {
        bail!("--txs and --in-flight must be positive");
    }
    if let Some((_, FaultAt::Share(share))) = fault {
        if !(0.0..=1.0).contains(&share) {
            bail!("--fault-at must be between 0 and 1");
        }
    }
    let bin = crate::cluster::node_binary()?;
    let mut cluster = Cluster::create(&bin, &dir.join("chain"), CHAIN_ID, 4, 0, base_port)?;
    let max_block_txs = cluster.testnet.genesis.consensus.max_block_txs;
    cluster.start_all()?;
    for i in 0..4 {
        cluster.wait_seq(i, 1, Duration::from_secs(60)).await?;
    }
    let audit_keys = cluster.testnet.genesis.audit_keys.clone();
    let client = cluster.client(0);
    let funded = fund(&cluster, count).await?;

    if full_blocks {
        eprintln!("restarting the validators with a batching delay of {} s…", FULL_BLOCK_BATCH_DELAY_MS / 1_000);
        let seq = client.chain_status().await?.consensus_seq;
        for i in 0..4 {
            cluster.stop(i)?;
            cluster.set_batch_delay(i, FULL_BLOCK_BATCH_DELAY_MS)?;
        }
        cluster.start_all()?;
        for i in 0..4 {
            cluster.wait_seq(i, seq + 1, Duration::from_secs(60)).await?;
        }
    }

    let transfers = funded.transfers(&cluster, 600, "load")?.transfers;

    // Raw verification throughput of exactly these transactions, on all cores.
    let verifier = Verifier::new(CHAIN_ID, audit_keys.clone());
    let started = Instant::now();
    let verified = verifier.verify_batch(transfers.clone());
    let raw_secs = started.elapsed().as_secs_f64();
    if let Some(e) = verified.iter().find_map(|r| r.as_ref().err()) {
        bail!("a pre-built transfer does not verify: {e}");
    }
    let raw_verify_tps = transfers.len() as f64 / raw_secs;

    // Submission through all four validators; commits observed by polling a validator the fault spares: the
    // primary's successor until the fault, then the successor of the validator the fault hits (the primary at that
    // moment, which need not be the primary of the start: a view may have changed under load).
    let primary = client.chain_status().await?.primary as usize % 4;
    let watcher = Arc::new(std::sync::atomic::AtomicUsize::new((primary + 1) % 4));
    eprintln!(
        "submitting {count} transfers through 4 validators, {in_flight} in flight{}…",
        match fault {
            Some((kind, FaultAt::Share(share))) => format!(", {kind:?} of the primary after {:.0} %", share * 100.0),
            Some((kind, FaultAt::FirstFullBlock)) => format!(", {kind:?} of the primary once a full block committed"),
            None => String::new(),
        }
    );
    let clients: Vec<_> = (0..4).map(|i| cluster.client(i)).collect();
    let watching =
        |watcher: &std::sync::atomic::AtomicUsize| clients[watcher.load(std::sync::atomic::Ordering::Relaxed)].clone();
    let start_height = watching(&watcher).chain_status().await?.height;
    let pending: Arc<std::sync::Mutex<HashMap<TxId, (Instant, String)>>> = Default::default();
    let first_submit = Instant::now();
    let submitted_count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let submit_all = {
        let pending = pending.clone();
        let clients = clients.clone();
        let submitted_count = submitted_count.clone();
        let jobs = transfers.iter().enumerate().map(move |(k, tx)| {
            let clients = clients.clone();
            let pending = pending.clone();
            let submitted_count = submitted_count.clone();
            let hex = hex::encode(tx.to_bytes());
            let id = tx.id();
            async move {
                pending.lock().expect("lock").insert(id, (Instant::now(), hex.clone()));
                let result = submit_anywhere(&clients, k, &hex).await.map(|_| ());
                submitted_count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                result
            }
        });
        futures::stream::iter(jobs).buffer_unordered(in_flight).collect::<Vec<_>>()
    };
    let mut latencies = Vec::with_capacity(count);
    let mut commit_times = vec![first_submit];
    // (transfers, view) of every block that carried some.
    let mut blocks_seen: Vec<(usize, u64)> = Vec::new();
    let full_block_seen = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut last_height = start_height;
    let deadline = Instant::now() + Duration::from_secs(120 + count as u64 / 5);
    let watch_ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watch = async {
        let watched = async {
            while latencies.len() < count {
                let head_height = loop {
                    if Instant::now() > deadline {
                        bail!("only {} of {count} transfers committed in time", latencies.len());
                    }
                    // A short timeout: the validator asked may be the one just paused (the watch moves on).
                    match tokio::time::timeout(Duration::from_secs(2), watching(&watcher).chain_status()).await {
                        Ok(Ok(status)) if status.height > last_height => break status.height,
                        _ => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                };
                let seen = Instant::now();
                for h in last_height + 1..=head_height {
                    // A full block is some 20 MB of JSON from a node that is busy admitting, and whose RPC may
                    // refuse a connection while the submissions hold its connection limit (HTTP 429): such an
                    // answer is asked for again, after a pause, rather than taken as the end of the run.
                    let mut attempt = 0;
                    let block = loop {
                        attempt += 1;
                        match watching(&watcher).chain_get_block(BlockRef::Height(h)).await {
                            Ok(block) => break block.ok_or_else(|| anyhow!("block {h} is missing"))?,
                            Err(e) if attempt < 20 => {
                                eprintln!("block {h}: {e}; asking again");
                                tokio::time::sleep(Duration::from_millis(500)).await;
                            }
                            Err(e) => return Err(anyhow!("block {h}: {e}")),
                        }
                    };
                    let mut map = pending.lock().expect("lock");
                    let before = latencies.len();
                    for tx in &block.txs {
                        let id = TxId(
                            ctchain_codec::Hash32::from_hex(&tx.id)
                                .ok_or_else(|| anyhow!("block {} holds a bad id", tx.id))?,
                        );
                        if let Some((at, _)) = map.remove(&id) {
                            latencies.push(seen.duration_since(at).as_secs_f64() * 1_000.0);
                        }
                    }
                    if latencies.len() > before {
                        commit_times.push(seen);
                        let carried = latencies.len() - before;
                        blocks_seen.push((carried, block.header.view));
                        if carried >= max_block_txs as usize {
                            full_block_seen.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }
                last_height = last_height.max(head_height);
            }
            Ok::<_, anyhow::Error>(())
        }
        .await;
        // The fault waits for what the watch sees: once the watch is over (done or failed), it waits no longer.
        watch_ended.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Err(e) = &watched {
            eprintln!("watching commits failed: {e:#}");
        }
        watched
    };
    let inject = async {
        let Some((kind, at)) = fault else { return Ok::<_, anyhow::Error>(None) };
        match at {
            FaultAt::Share(share) => {
                let threshold = ((count as f64 * share).ceil() as usize).min(count);
                while submitted_count.load(std::sync::atomic::Ordering::Relaxed) < threshold {
                    if watch_ended.load(std::sync::atomic::Ordering::Relaxed) {
                        bail!("the watch ended before the fault");
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            FaultAt::FirstFullBlock => {
                while !full_block_seen.load(std::sync::atomic::Ordering::Relaxed) {
                    if Instant::now() > deadline || watch_ended.load(std::sync::atomic::Ordering::Relaxed) {
                        bail!("no full block of {max_block_txs} transfers committed");
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        // The primary now; the watch moves to its successor before the fault.
        let primary = watching(&watcher).chain_status().await?.primary as usize % 4;
        watcher.store((primary + 1) % 4, std::sync::atomic::Ordering::Relaxed);
        let at_ms = first_submit.elapsed().as_secs_f64() * 1_000.0;
        eprintln!("{kind} of validator {primary} (the primary) at {:.1} s", at_ms / 1_000.0);
        match kind {
            Fault::Kill => cluster.kill(primary)?,
            Fault::Pause => cluster.pause(primary)?,
        }
        // What the primary held but had not yet passed on is gone with it (or frozen): a client that has not seen
        // its transfers commit submits them again through the validators that answer.
        let live: Vec<_> = (0..4).filter(|i| *i != primary).map(|i| clients[i].clone()).collect();
        let mut resubmitted = 0;
        let mut resumed = false;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(3)).await;
            if kind == Fault::Pause
                && !resumed
                && first_submit.elapsed().as_secs_f64() * 1_000.0 >= at_ms + PAUSE.as_secs_f64() * 1_000.0
            {
                cluster.resume(primary)?;
                resumed = true;
            }
            let stale: Vec<String> = {
                let map = pending.lock().expect("lock");
                map.values()
                    .filter(|(at, _)| at.elapsed() > Duration::from_secs(3))
                    .map(|(_, hex)| hex.clone())
                    .collect()
            };
            if stale.is_empty() && (kind == Fault::Kill || resumed) {
                break;
            }
            for (k, hex) in stale.iter().enumerate() {
                if submit_anywhere(&live, k, hex).await.is_ok() {
                    resubmitted += 1;
                }
            }
        }
        if kind == Fault::Pause && !resumed {
            cluster.resume(primary)?;
        }
        Ok(Some(FaultReport { kind, validator: primary, at_ms, resubmitted }))
    };
    let (submissions, watched, injected) = tokio::join!(submit_all, watch, inject);
    let fault_report = injected?;
    // With a fault, a submission may have been lost with the primary and then made again: what counts is
    // that every transfer committed, which the watch checked.
    if fault_report.is_none() {
        for s in submissions {
            s?;
        }
    }
    watched?;
    let last_commit = *commit_times.last().unwrap_or(&first_submit);
    let elapsed = last_commit.duration_since(first_submit).as_secs_f64();
    let committed_tps = latencies.len() as f64 / elapsed.max(1e-9);
    let longest_gap_ms =
        commit_times.windows(2).map(|w| w[1].duration_since(w[0]).as_secs_f64() * 1_000.0).fold(0.0, f64::max);
    latencies.sort_by(|a, b| a.total_cmp(b));
    let is_full = |carried: usize| carried >= max_block_txs as usize;
    let first_full_view = blocks_seen.iter().find(|(carried, _)| is_full(*carried)).map(|(_, view)| *view);
    let final_view = watching(&watcher).chain_status().await?.view;

    for i in 0..4 {
        let _ = cluster.stop(i);
    }
    Ok(LoadReport {
        longest_gap_ms,
        max_block_txs,
        largest_block: blocks_seen.iter().map(|(carried, _)| *carried).max().unwrap_or(0),
        full_blocks: blocks_seen.iter().filter(|(carried, _)| is_full(*carried)).count(),
        full_blocks_in_later_views: blocks_seen
            .iter()
            .filter(|(carried, view)| is_full(*carried) && first_full_view.is_some_and(|first| *view > first))
            .count(),
        final_view,
        fault: fault_report,
        transactions: count,
        committed: latencies.len(),
        committed_tps,
        latency_p50_ms: percentile(&latencies, 50.0),
        latency_p99_ms: percentile(&latencies, 99.0),
        raw_verify_tps,
        ratio: raw_verify_tps / committed_tps,
        ratio_per_validator: raw_verify_tps / (4.0 * committed_tps),
        blocks: last_height - start_height,
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    })
}
