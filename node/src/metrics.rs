//! Prometheus metrics and the `GET /metrics` endpoint.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every metric the node exports.
pub struct NodeMetrics {
    registry: Registry,
    /// Ledger height.
    pub height: Gauge<i64, AtomicI64>,
    /// Consensus sequence numbers executed.
    pub consensus_seq: Gauge<i64, AtomicI64>,
    /// Current view.
    pub view: Gauge<i64, AtomicI64>,
    /// New views entered.
    pub views_entered: Counter<u64, AtomicU64>,
    /// View changes this node started.
    pub view_changes_started: Counter<u64, AtomicU64>,
    /// Transactions committed.
    pub committed_txs: Counter<u64, AtomicU64>,
    /// Ledger blocks committed.
    pub committed_blocks: Counter<u64, AtomicU64>,
    /// Pending transactions.
    pub mempool_txs: Gauge<i64, AtomicI64>,
    /// Pending bytes.
    pub mempool_bytes: Gauge<i64, AtomicI64>,
    /// Connected members.
    pub peers: Gauge<i64, AtomicI64>,
    /// Connections refused (outside the allow-list).
    pub refused_connections: Counter<u64, AtomicU64>,
    /// Transactions refused at admission, by reason.
    pub rejected_txs: Family<Vec<(String, String)>, Counter>,
    /// Consensus inputs dropped, by reason.
    pub consensus_dropped: Family<Vec<(String, String)>, Counter>,
    /// Stateless verification of one submitted transaction, seconds.
    pub tx_verify_seconds: Histogram,
    /// Stateless verification of a proposed block, seconds.
    pub block_verify_seconds: Histogram,
    /// From proposal (or validation request) to commit of a block, seconds.
    pub round_seconds: Histogram,
    last_pbft: Mutex<ctchain_pbft::Metrics>,
}

impl NodeMetrics {
    /// Registers every metric.
    pub fn new(node: &str) -> Self {
        let mut registry =
            Registry::with_prefix_and_labels("ctchain", [("node".into(), node.to_owned().into())].into_iter());
        let m = Self {
            height: Gauge::default(),
            consensus_seq: Gauge::default(),
            view: Gauge::default(),
            views_entered: Counter::default(),
            view_changes_started: Counter::default(),
            committed_txs: Counter::default(),
            committed_blocks: Counter::default(),
            mempool_txs: Gauge::default(),
            mempool_bytes: Gauge::default(),
            peers: Gauge::default(),
            refused_connections: Counter::default(),
            rejected_txs: Family::default(),
            consensus_dropped: Family::default(),
            tx_verify_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            block_verify_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            round_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            last_pbft: Mutex::new(ctchain_pbft::Metrics::default()),
            registry: Registry::default(),
        };
        registry.register("height", "Ledger height", m.height.clone());
        registry.register("consensus_seq", "Consensus sequence numbers executed", m.consensus_seq.clone());
        registry.register("view", "Current consensus view", m.view.clone());
        registry.register("views_entered", "New views entered", m.views_entered.clone());
        registry.register("view_changes_started", "View changes started by this node", m.view_changes_started.clone());
        registry.register("committed_txs", "Transactions committed", m.committed_txs.clone());
        registry.register("committed_blocks", "Ledger blocks committed", m.committed_blocks.clone());
        registry.register("mempool_txs", "Pending transactions", m.mempool_txs.clone());
        registry.register("mempool_bytes", "Bytes of pending transactions", m.mempool_bytes.clone());
        registry.register("peers", "Connected members", m.peers.clone());
        registry.register(
            "refused_connections",
            "Connections refused (not on the allow-list)",
            m.refused_connections.clone(),
        );
        registry.register("rejected_txs", "Transactions refused at admission, by reason", m.rejected_txs.clone());
        registry.register("consensus_dropped", "Consensus inputs dropped, by reason", m.consensus_dropped.clone());
        registry.register(
            "tx_verify_seconds",
            "Stateless verification of one transaction",
            m.tx_verify_seconds.clone(),
        );
        registry.register(
            "block_verify_seconds",
            "Stateless verification of a proposed block",
            m.block_verify_seconds.clone(),
        );
        registry.register("round_seconds", "Proposal to commit of a block", m.round_seconds.clone());
        Self { registry, ..m }
    }

    /// Folds the consensus core's counters in (they are cumulative; only the increase is added).
    pub fn observe_pbft(&self, now: &ctchain_pbft::Metrics) {
        let mut last = self.last_pbft.lock().expect("metrics lock");
        self.views_entered.inc_by(now.views_entered.saturating_sub(last.views_entered));
        self.view_changes_started.inc_by(now.view_changes_started.saturating_sub(last.view_changes_started));
        for (reason, count) in &now.dropped {
            let before = last.dropped.get(reason).copied().unwrap_or(0);
            if *count > before {
                self.consensus_dropped
                    .get_or_create(&vec![("reason".into(), format!("{reason:?}"))])
                    .inc_by(count - before);
            }
        }
        *last = now.clone();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// Serves `GET /metrics` until the task is dropped.
pub async fn serve(addr: SocketAddr, metrics: std::sync::Arc<NodeMetrics>) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { continue };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut len = 0;
                // Only the request line matters; stop at the end of the headers or at 4 KiB.
                while len < buf.len() {
                    match tokio::time::timeout(std::time::Duration::from_secs(5), sock.read(&mut buf[len..])).await {
                        Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
                        Ok(Ok(n)) => len += n,
                    }
                    if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                let request = String::from_utf8_lossy(&buf[..len]);
                let response = if request.starts_with("GET /metrics ") {
                    let body = metrics.render();
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
                };
                let _ = sock.write_all(response.as_bytes()).await;
            });
        }
    });
    Ok(local)
}
