//! `ctchain-devnet chaos`: a local 4-validator chain under client load while, one at a time, a validator is
//! killed (`SIGKILL`) and restarted from its disk, paused (`SIGSTOP`) and resumed, cut off from every peer
//! (a partition: it keeps running and answering its clients) and reconnected, or loses its link to one peer.
//! Links run through loopback proxies ([`crate::links`]) that cut real TCP connections. The client submits
//! through whichever validators answer. At the end it checks what a bank operator needs to hold after such a day:
//!
//! * every validator reaches one height, with one header (state root included) at that height;
//! * every transfer a validator acknowledged is committed — directly, or after the client submitted it again
//!   because no validator knew it any more (the one that acknowledged it died before gossiping it: a pool is
//!   memory); the report lists those, and a transfer some validator still knows but that never commits fails;
//! * every committed transfer is at the same height and index on every validator;
//! * the receiver's balance is exactly the sum of the committed transfers paying it.
//!
//! The sequence of events is derived from a seed (printed), so a failing run can be replayed; the first four
//! events are the four kinds, in an order the seed picks, so even a short run has each.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use ctchain_codec::{Encode, Sm3Hasher};
use ctchain_crypto::TxId;
use ctchain_rpc::{BlockRef, ChainApiClient};
use futures::StreamExt;
use serde::Serialize;

use crate::cluster::{ChainWallet, Cluster};
use crate::links::Links;
use crate::loadgen::{fund, submit_anywhere};

const CHAIN_ID: &str = "ctchain-chaos-1";
/// Units each transfer pays the receiver.
const AMOUNT: u64 = 600;
/// How long a validator stays down, paused or cut off: longer than the view timeout, so that a primary hit is
/// replaced.
const OUTAGE: Duration = Duration::from_secs(6);

/// What a run is asked to do.
#[derive(Clone, Copy, Debug)]
pub struct ChaosOptions {
    /// Fault events, one validator at a time.
    pub events: usize,
    /// Transfers submitted around each event.
    pub transfers_per_event: usize,
    /// Seed of the event sequence.
    pub seed: u64,
    /// First port of the local chain.
    pub base_port: u16,
}

/// What happens to the validator an event hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `SIGKILL`, then a restart from its disk.
    Kill,
    /// `SIGSTOP`, then `SIGCONT`.
    Pause,
    /// Every link to its peers cut, then healed.
    Isolate,
    /// The link to this one peer cut, then healed.
    CutLink(usize),
}

impl Fault {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Pause => "pause",
            Fault::Isolate => "isolate",
            Fault::CutLink(_) => "cut-link",
        }
    }

    /// The fault of event `i` of the run seeded `seed`, hitting `validator` of `n`.
    fn of_event(seed: u64, i: usize, validator: usize, n: usize) -> Self {
        let kind = if i < 4 { (i + pick(seed, 0, "first kind", 4)) % 4 } else { pick(seed, i, "kind", 4) };
        match kind {
            0 => Fault::Kill,
            1 => Fault::Pause,
            2 => Fault::Isolate,
            _ => Fault::CutLink((validator + 1 + pick(seed, i, "peer", n - 1)) % n),
        }
    }
}

/// One fault event.
#[derive(Clone, Debug, Serialize)]
pub struct ChaosEvent {
    /// `kill` (then restart), `pause` (then resume), `isolate` (then reconnect) or `cut-link` (then heal).
    pub kind: &'static str,
    /// The validator hit.
    pub validator: usize,
    /// The other end of a cut link.
    pub peer: Option<usize>,
    /// Transfers acknowledged during the event.
    pub acknowledged: usize,
}

/// An acknowledged transfer that the chain lost and the client submitted again.
#[derive(Clone, Debug, Serialize)]
pub struct LostAcknowledgement {
    /// The event it was submitted in (1-based).
    pub event: usize,
    /// The validator that acknowledged it.
    pub validator: usize,
    /// Its id.
    pub tx: String,
}

/// What a run found.
#[derive(Debug, Serialize)]
pub struct ChaosReport {
    /// The seed of the event sequence.
    pub seed: u64,
    /// The events, in order.
    pub events: Vec<ChaosEvent>,
    /// Transfers submitted.
    pub submitted: usize,
    /// Transfers a validator acknowledged.
    pub acknowledged: usize,
    /// Transfers committed (acknowledged ones included).
    pub committed: usize,
    /// Acknowledged transfers that no validator knew any more at the end (the validator that acknowledged one
    /// was killed before its gossip left), submitted again by the client and then committed.
    pub resubmitted: Vec<LostAcknowledgement>,
    /// The common height at the end.
    pub height: u64,
    /// The common state root at that height.
    pub state_root: String,
    /// The receiver's balance, equal to `committed × 600`.
    pub receiver_balance: u64,
    /// The view at the end.
    pub final_view: u64,
}

/// Runs the campaign on a fresh chain in a temporary directory (kept, with the nodes' logs, on failure).
pub async fn run(options: ChaosOptions) -> Result<ChaosReport> {
    let tmp = tempfile::Builder::new().prefix("ctchain-chaos-").tempdir()?;
    let result = run_in(tmp.path(), options).await;
    if result.is_err() {
        eprintln!(
            "chaos run (seed {}) failed; node logs kept in {}",
            options.seed,
            tmp.keep().join("chain").join("logs").display()
        );
    }
    result
}

/// A deterministic choice in `0..n` for event `i` of the run seeded `seed`.
fn pick(seed: u64, i: usize, what: &str, n: usize) -> usize {
    let mut h = Sm3Hasher::new("ctchain/devnet/chaos/v1");
    h.put(&seed).put(&(i as u64)).update(what.as_bytes());
    let digest = h.finish();
    (u64::from_le_bytes(digest.0[..8].try_into().expect("8 bytes")) % n as u64) as usize
}

async fn run_in(dir: &std::path::Path, options: ChaosOptions) -> Result<ChaosReport> {
    let ChaosOptions { events, transfers_per_event, seed, base_port } = options;
    if events == 0 || transfers_per_event == 0 {
        bail!("--events and --transfers-per-event must be positive");
    }
    let bin = crate::cluster::node_binary()?;
    let mut cluster = Cluster::create(&bin, &dir.join("chain"), CHAIN_ID, 4, 0, base_port)?;
    let links = Links::route(&cluster).await?;
    cluster.start_all()?;
    for i in 0..4 {
        cluster.wait_seq(i, 1, Duration::from_secs(60)).await?;
    }
    let count = events * transfers_per_event;
    let built = fund(&cluster, count).await?.transfers(&cluster, AMOUNT, "chaos")?;
    let clients: Vec<_> = (0..4).map(|i| cluster.client(i)).collect();
    eprintln!("{events} events (seed {seed}), {transfers_per_event} transfers around each…");

    // Which event and which validator acknowledged each transfer.
    let mut acknowledged: BTreeMap<TxId, (usize, usize)> = BTreeMap::new();
    let mut log = Vec::new();
    for (i, batch) in built.transfers.chunks(transfers_per_event).enumerate() {
        let validator = pick(seed, i, "validator", 4);
        let fault = Fault::of_event(seed, i, validator, 4);
        let peer = match fault {
            Fault::CutLink(peer) => Some(peer),
            _ => None,
        };
        match peer {
            Some(peer) => eprintln!("event {}: cut the link between validators {validator} and {peer}", i + 1),
            None => eprintln!("event {}: {} validator {validator}", i + 1, fault.name()),
        }
        // Submissions are spread over the outage; each is tried on every validator in turn.
        let stagger = (OUTAGE + Duration::from_secs(1)) / transfers_per_event as u32;
        let submissions = futures::stream::iter(batch.iter().enumerate().map(|(k, tx)| {
            let clients = &clients;
            let hex = hex::encode(tx.to_bytes());
            let id = tx.id();
            async move {
                tokio::time::sleep(stagger * k as u32).await;
                submit_anywhere(clients, k, &hex).await.map(|at| (id, at))
            }
        }))
        .buffer_unordered(16)
        .collect::<Vec<_>>();
        let injected = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            match fault {
                Fault::Kill => cluster.kill(validator)?,
                Fault::Pause => cluster.pause(validator)?,
                Fault::Isolate => links.isolate(validator),
                Fault::CutLink(peer) => links.cut(validator, peer),
            }
            tokio::time::sleep(OUTAGE).await;
            match fault {
                Fault::Kill => cluster.start(validator)?,
                Fault::Pause => cluster.resume(validator)?,
                Fault::Isolate => links.rejoin(validator),
                Fault::CutLink(peer) => links.heal(validator, peer),
            }
            Ok::<_, anyhow::Error>(())
        };
        let (results, faulted) = tokio::join!(submissions, injected);
        faulted?;
        let before = acknowledged.len();
        // A submission that no validator acknowledged may still have reached one: it is not counted as
        // acknowledged, and what it became is read from the chain at the end.
        acknowledged.extend(results.into_iter().filter_map(Result::ok).map(|(id, at)| (id, (i + 1, at))));
        log.push(ChaosEvent { kind: fault.name(), validator, peer, acknowledged: acknowledged.len() - before });
        // The next event waits until the hit validator is back in step with the others.
        let height = clients[(validator + 1) % 4].chain_status().await?.height;
        cluster.wait_height(validator, height, Duration::from_secs(120)).await?;
    }

    // Every acknowledged transfer commits. A validator's pool is memory: one that acknowledged a transfer and was
    // killed before its gossip left (or before it could gossip it again after a cut) lost it, and so did the
    // chain. The client still holds the signed transfer and, as the wallet does with a send whose outcome is
    // unknown, submits it again once no validator knows it; what it must never see is a transfer that some
    // validator knows (pending) and that never commits, or one that committed and is gone.
    let by_hex: BTreeMap<TxId, String> = built.transfers.iter().map(|t| (t.id(), hex::encode(t.to_bytes()))).collect();
    let mut resubmitted = Vec::new();
    for (id, (event, at)) in &acknowledged {
        if crate::cluster::wait_committed(&clients[0], id, Duration::from_secs(60)).await.is_ok() {
            continue;
        }
        let mut known = Vec::new();
        for (i, c) in clients.iter().enumerate() {
            if !matches!(c.tx_get(id.to_string()).await?, ctchain_rpc::TxStatus::Unknown) {
                known.push(i);
            }
        }
        if !known.is_empty() {
            bail!("transfer {id} (event {event}, acknowledged by validator {at}) is known to validators {known:?} but never commits");
        }
        eprintln!("transfer {id} (event {event}, acknowledged by validator {at}) is known to no validator: submitting it again");
        submit_anywhere(&clients, *at, &by_hex[id]).await?;
        crate::cluster::wait_committed(&clients[0], id, Duration::from_secs(120)).await?;
        resubmitted.push(LostAcknowledgement { event: *event, validator: *at, tx: id.to_string() });
    }
    // One height, one header, at every validator.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (height, header) = loop {
        let mut heights = Vec::new();
        for c in &clients {
            heights.push(c.chain_status().await?.height);
        }
        let low = *heights.iter().min().unwrap_or(&0);
        let mut headers = Vec::new();
        for c in &clients {
            let block = c.chain_get_block(BlockRef::Height(low)).await?.ok_or_else(|| anyhow!("block {low}"))?;
            headers.push(block.header);
        }
        if headers.windows(2).any(|w| w[0] != w[1]) {
            bail!("validators disagree at height {low}: {headers:?}");
        }
        if heights.iter().all(|h| *h == low) {
            break (low, headers.remove(0));
        }
        if Instant::now() > deadline {
            bail!("validators did not reach one height: {heights:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // What the receiver holds is exactly what committed for it, and every validator has each committed transfer
    // at the same place.
    let mut committed = 0;
    for tx in &built.transfers {
        let at = |status: ctchain_rpc::TxStatus| match status {
            ctchain_rpc::TxStatus::Committed { height, index, .. } => Some((height, index)),
            _ => None,
        };
        let first = at(clients[0].tx_get(tx.id().to_string()).await?);
        for (i, c) in clients.iter().enumerate().skip(1) {
            let here = at(c.tx_get(tx.id().to_string()).await?);
            if here != first {
                bail!("transfer {} is at {first:?} on validator 0 but at {here:?} on validator {i}", tx.id());
            }
        }
        committed += usize::from(first.is_some());
    }
    let mut receiver = ChainWallet::new("receiver", built.receiver);
    receiver.sync(&clients[0]).await?;
    let (_, asset, _, _) = cluster.testnet.issuers[0].clone();
    let receiver_balance = receiver.balance(asset)?;
    if receiver_balance != committed as u64 * AMOUNT {
        bail!("the receiver holds {receiver_balance}, but {committed} committed transfers paid it {AMOUNT} each");
    }
    let final_view = clients[0].chain_status().await?.view;
    for i in 0..4 {
        let _ = cluster.stop(i);
    }
    Ok(ChaosReport {
        seed,
        events: log,
        submitted: count,
        acknowledged: acknowledged.len(),
        committed,
        resubmitted,
        height,
        state_root: header.state_root,
        receiver_balance,
        final_view,
    })
}
