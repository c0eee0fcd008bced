//! The JSON-RPC surface against a live chain: each bad input gets its typed error and changes nothing; single-bit
//! mutations of a valid transaction are all refused while the chain keeps committing; subscriptions and the
//! metrics endpoint work.

mod common;

use std::time::Duration;

use common::{Chain, COMMIT};
use ctchain_codec::Encode;
use ctchain_crypto::WalletKeys;
use ctchain_devnet::cluster::{submit_and_wait, wait_committed};
use ctchain_rpc::{codes, ChainApiClient, TxStatus};
use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::core::ClientError;
use jsonrpsee::rpc_params;
use rand_core::{OsRng, RngCore};

const BASE: u16 = 22_000;

/// The JSON-RPC error code and `data.check` of a failed call.
fn code_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> (i32, String) {
    match r {
        Err(ClientError::Call(e)) => {
            let check = e
                .data()
                .and_then(|d| serde_json::from_str::<serde_json::Value>(d.get()).ok())
                .and_then(|v| v.get("check").and_then(|c| c.as_str()).map(str::to_owned))
                .unwrap_or_default();
            (e.code(), check)
        }
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

/// Single-bit mutations tried in CI; `CTCHAIN_E2E_FLIPS=5000` for a longer run.
fn flips() -> usize {
    std::env::var("CTCHAIN_E2E_FLIPS").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_its_reason_and_changes_nothing() {
    let chain = Chain::start(4, 0, BASE).await;
    let client = chain.client(0);
    let mut alice = chain.funded_wallet("alice", 5_000, 0).await;
    let bob = WalletKeys::random(&mut OsRng);
    let valid = chain.transfer(&mut alice, &bob, 1_200, 0).await;
    let bytes = valid.to_bytes();

    // Every single-bit flip of a valid transaction is refused, each with a transaction error code.
    let start = client.chain_status().await.unwrap();
    let tx_codes = [codes::TX_ENCODING, codes::TX_INVALID, codes::TX_REJECTED, codes::TX_TOO_LARGE];
    let n = flips();
    for k in 0..n {
        // Spread over the whole encoding, plus random positions.
        let bit = if k % 2 == 0 {
            (k / 2) * (bytes.len() * 8) / n.div_ceil(2)
        } else {
            OsRng.next_u32() as usize % (bytes.len() * 8)
        };
        let mut mutated = bytes.clone();
        mutated[bit / 8] ^= 1 << (bit % 8);
        let (code, check) = code_of(client.tx_submit(hex::encode(&mutated)).await);
        assert!(tx_codes.contains(&code), "flip of bit {bit}: unexpected code {code} ({check})");
        assert!(!check.is_empty(), "flip of bit {bit}: the error names no check");
    }
    let status = client.chain_status().await.unwrap();
    assert_eq!(status.mempool_txs, 0, "no mutated transaction entered the mempool");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while client.chain_status().await.unwrap().consensus_seq <= start.consensus_seq {
        assert!(std::time::Instant::now() < deadline, "the chain stopped committing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Malformed input.
    assert_eq!(code_of(client.tx_submit("zz".into()).await), (codes::TX_ENCODING, "hex".into()));
    assert_eq!(code_of(client.tx_submit("00ff".into()).await).0, codes::TX_ENCODING);
    assert_eq!(code_of(client.tx_get("1234".into()).await).0, codes::INVALID_PARAMS);
    assert_eq!(code_of(client.outputs_range(5, 2).await).0, codes::INVALID_PARAMS);
    assert_eq!(code_of(client.outputs_range(1, 5_000).await).0, codes::RANGE_TOO_LARGE);
    let raw: Result<serde_json::Value, _> = client.request("no_such_method", rpc_params![]).await;
    assert_eq!(code_of(raw).0, -32601);

    // An oversized request is refused before it is read.
    let huge = "00".repeat(3 << 20);
    assert!(client.tx_submit(huge).await.is_err());

    // The valid transaction: accepted once, a duplicate is named, a conflicting spend is named.
    let (id, _) = {
        let submitted = client.tx_submit(hex::encode(&bytes)).await.unwrap();
        assert_eq!(submitted.id, valid.id().to_string());
        (valid.id(), ())
    };
    let dup = client.tx_submit(hex::encode(&bytes)).await;
    let (code, check) = code_of(dup);
    assert!(code == codes::TX_DUPLICATE || (code == codes::TX_REJECTED && check == "duplicate"), "{code} {check}");
    let height = wait_committed(&client, &id, COMMIT).await.unwrap();
    match client.tx_get(id.to_string()).await.unwrap() {
        TxStatus::Committed { height: h, inclusion_proof, .. } => {
            assert_eq!(h, height);
            assert!(!inclusion_proof.is_empty());
        }
        other => panic!("expected committed, got {other:?}"),
    }
    // Spending the same outputs again: refused against the ledger, naming the check.
    let mut again = chain.builder();
    let (cny, issuer) = chain.cny();
    let _ = issuer;
    alice.sync(&client).await.unwrap();
    let spent_input = alice.received().iter().find(|r| r.amount == 5_000).unwrap().clone();
    again.spend(alice.owned(&spent_input).unwrap()).pay(bob.address(), cny, 5_000, "double spend");
    let double = again.build(&mut OsRng).unwrap();
    let (code, check) = code_of(client.tx_submit(hex::encode(double.to_bytes())).await);
    assert_eq!((code, check.as_str()), (codes::TX_REJECTED, "already_spent"));
    assert_eq!(client.tx_get(double.id().to_string()).await.unwrap(), TxStatus::Unknown);

    // A transfer still commits after all of that.
    let tx = chain.transfer(&mut alice, &bob, 100, 1).await;
    submit_and_wait(&chain.client(1), &tx, COMMIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_and_metrics() {
    let chain = Chain::start(4, 0, BASE + 400).await;
    let ws = jsonrpsee::ws_client::WsClientBuilder::default()
        .build(chain.cluster.testnet.rpc[1].replace("http://", "ws://"))
        .await
        .unwrap();
    let mut heads = ws
        .subscribe::<ctchain_rpc::HeaderJson, _>("chain_subscribeNewHeads", rpc_params![], "chain_unsubscribeNewHeads")
        .await
        .unwrap();

    let mut alice = chain.funded_wallet("alice", 900, 0).await;
    let tx = chain.transfer(&mut alice, &WalletKeys::random(&mut OsRng), 300, 0).await;
    let mut status = ws
        .subscribe::<TxStatus, _>("tx_subscribeStatus", rpc_params![tx.id().to_string()], "tx_unsubscribeStatus")
        .await
        .unwrap();
    assert_eq!(status.next().await.unwrap().unwrap(), TxStatus::Unknown);
    chain.client(0).tx_submit(hex::encode(tx.to_bytes())).await.unwrap();
    let mut seen_committed = false;
    while let Ok(Some(update)) = tokio::time::timeout(Duration::from_secs(30), status.next()).await {
        if let TxStatus::Committed { .. } = update.unwrap() {
            seen_committed = true;
            break;
        }
    }
    assert!(seen_committed, "the status subscription reported the commit");
    let head = tokio::time::timeout(Duration::from_secs(30), heads.next()).await.unwrap().unwrap().unwrap();
    assert!(head.height >= 1);

    // Prometheus text on the metrics port.
    let metrics_port = ctchain_node::home::ports(BASE + 400, 0).2;
    let body = http_get(metrics_port, "/metrics").await;
    for name in [
        "ctchain_height",
        "ctchain_committed_txs_total",
        "ctchain_mempool_txs",
        "ctchain_peers",
        "ctchain_tx_verify_seconds",
        "ctchain_round_seconds",
    ] {
        assert!(body.contains(name), "metrics lack {name}:\n{body}");
    }
    assert!(http_get(metrics_port, "/other").await.starts_with("HTTP/1.1 404"));
}

async fn http_get(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

/// Seconds of flooding in CI; `CTCHAIN_E2E_FLOOD_SECS=300` for a longer run.
fn flood_secs() -> u64 {
    std::env::var("CTCHAIN_E2E_FLOOD_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(8)
}

/// A flood of invalid transactions at every validator's RPC — each a distinct single-bit mutation of a valid
/// transfer, so none is refused by its hash and each costs a verification — while a wallet keeps sending valid
/// transfers: the chain keeps committing and every valid transfer commits. A node verifies client traffic on at
/// most half its cores and refuses as busy beyond its queue, leaving the rest to validating proposed blocks; the
/// rate the chain kept is printed (a figure, not a bound: the machine is shared).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_invalid_transactions_does_not_stop_the_chain() {
    let chain = Chain::start(4, 0, BASE + 800).await;
    let mut alice = chain.funded_wallet("alice", 100_000, 1).await;
    let bob = WalletKeys::random(&mut OsRng);
    let template = chain.transfer(&mut alice, &bob, 1, 1).await.to_bytes();
    let start = chain.client(1).chain_status().await.unwrap();

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut flooders = Vec::new();
    for k in 0..16 {
        let client = chain.client(k % 4);
        let (template, stop) = (template.clone(), stop.clone());
        flooders.push(tokio::spawn(async move {
            let (mut invalid, mut busy) = (0u64, 0u64);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut mutated = template.clone();
                let bit = OsRng.next_u32() as usize % (mutated.len() * 8);
                mutated[bit / 8] ^= 1 << (bit % 8);
                match client.tx_submit(hex::encode(&mutated)).await {
                    Err(ClientError::Call(e)) if e.code() == codes::MEMPOOL_FULL => busy += 1,
                    Err(_) => invalid += 1,
                    Ok(accepted) => panic!("a mutated transfer was admitted: {}", accepted.id),
                }
            }
            (invalid, busy)
        }));
    }

    let flood_started = std::time::Instant::now();
    let mut sent = 0;
    while flood_started.elapsed() < Duration::from_secs(flood_secs()) || sent == 0 {
        let tx = chain.transfer(&mut alice, &bob, 10, 1).await;
        submit_and_wait(&chain.client(1), &tx, COMMIT).await.expect("a valid transfer commits during the flood");
        sent += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut invalid, mut busy) = (0, 0);
    for f in flooders {
        let (i, b) = f.await.unwrap();
        invalid += i;
        busy += b;
    }
    let end = chain.client(1).chain_status().await.unwrap();
    let secs = flood_started.elapsed().as_secs_f64();
    let blocks = end.consensus_seq - start.consensus_seq;
    println!(
        "flood of {secs:.1} s: {invalid} invalid transactions refused ({:.0}/s), {busy} refused as busy; the chain \
         committed {blocks} sequence numbers ({:.1}/s) and all {sent} valid transfers",
        invalid as f64 / secs,
        blocks as f64 / secs,
    );
    assert!(invalid > 0, "the flood reached the validators");
    assert!(end.height > start.height);
}
