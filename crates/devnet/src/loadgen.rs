//! `ctchain-devnet loadgen`: how much the node adds on top of proof checking. It starts a local 4-validator chain,
//! pre-builds valid independent transfers, submits them through every validator's RPC, and reports committed
//! transactions per second and commit latency (p50, p99), next to the raw verification throughput of the same
//! transactions measured on the same machine in the same run.

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
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Runs the load test with `count` transfers and at most `in_flight` concurrent submissions.
pub async fn run(count: usize, in_flight: usize, base_port: u16) -> Result<LoadReport> {
    let tmp = tempfile::Builder::new().prefix("ctchain-load-").tempdir()?;
    let result = run_in(tmp.path(), count, in_flight, base_port).await;
    if result.is_err() {
        // Keep the nodes' logs for the post-mortem.
        eprintln!("load test failed; node logs kept in {}", tmp.keep().join("chain").join("logs").display());
    }
    result
}

async fn run_in(dir: &std::path::Path, count: usize, in_flight: usize, base_port: u16) -> Result<LoadReport> {
    if count == 0 || in_flight == 0 {
        bail!("--txs and --in-flight must be positive");
    }
    let bin = crate::cluster::node_binary()?;
    let mut cluster = Cluster::create(&bin, &dir.join("chain"), CHAIN_ID, 4, 0, base_port)?;
    cluster.start_all()?;
    for i in 0..4 {
        cluster.wait_seq(i, 1, Duration::from_secs(60)).await?;
    }
    let audit_keys = cluster.testnet.genesis.audit_keys.clone();
    let (_, asset, _, issuer) = cluster.testnet.issuers[0].clone();
    let client = cluster.client(0);

    // Funding: issuances that each create FUNDING_FANOUT outputs for one sender.
    eprintln!("funding {count} independent outputs…");
    let senders: Vec<WalletKeys> =
        (0..count.div_ceil(FUNDING_FANOUT)).map(|_| WalletKeys::random(&mut OsRng)).collect();
    let issuances: Vec<Transaction> = senders
        .par_iter()
        .enumerate()
        .map(|(k, sender)| {
            let outputs = FUNDING_FANOUT.min(count - k * FUNDING_FANOUT);
            let mut b = TransactionBuilder::new(CHAIN_ID, audit_keys.clone());
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

    // Pre-build every transfer: each spends one funded output (so none conflict) and returns change.
    eprintln!("building {count} transfers…");
    let receiver = WalletKeys::random(&mut OsRng).address();
    let transfers: Vec<Transaction> = issuances
        .par_iter()
        .zip(senders.par_iter())
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
            let mut b = TransactionBuilder::new(CHAIN_ID, audit_keys.clone());
            b.spend(owned).pay(receiver, asset, 600, "load").change_to(sender_address);
            b.build(&mut OsRng).map_err(|e| anyhow!("transfer: {e}"))
        })
        .collect::<Result<_>>()?;

    // Raw verification throughput of exactly these transactions, on all cores.
    let verifier = Verifier::new(CHAIN_ID, audit_keys.clone());
    let started = Instant::now();
    let verified = verifier.verify_batch(transfers.clone());
    let raw_secs = started.elapsed().as_secs_f64();
    if let Some(e) = verified.iter().find_map(|r| r.as_ref().err()) {
        bail!("a pre-built transfer does not verify: {e}");
    }
    let raw_verify_tps = transfers.len() as f64 / raw_secs;

    // Submission through all four validators; commits observed through new-head notifications.
    eprintln!("submitting {count} transfers through 4 validators, {in_flight} in flight…");
    let ws = jsonrpsee::ws_client::WsClientBuilder::default()
        .build(cluster.testnet.rpc[0].replace("http://", "ws://"))
        .await?;
    let mut heads = ws.subscribe_new_heads().await?;
    let start_height = client.chain_status().await?.height;
    let submitted: Arc<std::sync::Mutex<HashMap<TxId, Instant>>> = Default::default();
    let clients: Vec<_> = (0..4).map(|i| cluster.client(i)).collect();
    let first_submit = Instant::now();
    let submit_all = {
        let submitted = submitted.clone();
        let jobs = transfers.iter().enumerate().map(move |(k, tx)| {
            let client = clients[k % clients.len()].clone();
            let submitted = submitted.clone();
            let hex = hex::encode(tx.to_bytes());
            let id = tx.id();
            async move {
                submitted.lock().expect("lock").insert(id, Instant::now());
                client.tx_submit(hex).await.map_err(|e| anyhow!("transfer refused: {e}"))
            }
        });
        futures::stream::iter(jobs).buffer_unordered(in_flight).collect::<Vec<_>>()
    };
    let mut latencies = Vec::with_capacity(count);
    let mut last_commit = first_submit;
    let mut last_height = start_height;
    let deadline = Instant::now() + Duration::from_secs(60 + count as u64 / 5);
    let watch = async {
        while latencies.len() < count {
            let head = tokio::time::timeout_at(deadline.into(), heads.next())
                .await
                .map_err(|_| anyhow!("only {} of {count} transfers committed in time", latencies.len()))?
                .ok_or_else(|| anyhow!("subscription ended"))??;
            let seen = Instant::now();
            for h in last_height + 1..=head.height {
                let block = client.chain_get_block(BlockRef::Height(h)).await?.ok_or_else(|| anyhow!("block {h}"))?;
                let map = submitted.lock().expect("lock");
                for tx in &block.txs {
                    if let Some(at) = map.get(&TxId(
                        ctchain_codec::Hash32::from_hex(&tx.id)
                            .ok_or_else(|| anyhow!("block {} holds a bad id", tx.id))?,
                    )) {
                        latencies.push(seen.duration_since(*at).as_secs_f64() * 1_000.0);
                        last_commit = seen;
                    }
                }
            }
            last_height = last_height.max(head.height);
        }
        Ok::<_, anyhow::Error>(())
    };
    let (submissions, watched) = tokio::join!(submit_all, watch);
    for s in submissions {
        s?;
    }
    watched?;
    let elapsed = last_commit.duration_since(first_submit).as_secs_f64();
    let committed_tps = latencies.len() as f64 / elapsed.max(1e-9);
    latencies.sort_by(|a, b| a.total_cmp(b));

    for i in 0..4 {
        let _ = cluster.stop(i);
    }
    Ok(LoadReport {
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
