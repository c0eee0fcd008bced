//! Prometheus metrics and the `GET /metrics` endpoint.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
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
    /// Messages dropped per peer over its quota.
    pub refused_messages: Family<Vec<(String, String)>, Counter>,
    /// Network events dropped because the driver did not take them in time.
    pub dropped_net_events: Counter<u64, AtomicU64>,
    /// Connections dropped (and dialled again) because gossip to the peer stalled.
    pub stalled_peer_disconnects: Counter<u64, AtomicU64>,
    /// Height of the last state snapshot this node wrote (or restored from).
    pub snapshot_height: Gauge<i64, AtomicI64>,
    /// Pending transactions gossiped again (after a peer connected, or pending for a whole period).
    pub regossiped_txs: Counter<u64, AtomicU64>,
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
    /// What this channel sent to and received from each peer, and what was refused because the peer is not a
    /// member (`crate::channels::Confinement`), by peer id.
    pub channel_traffic: ChannelTrafficMetrics,
    /// Work per ledger transaction in this process (decodes, encodes, leaf hashes, executions): on the path of
    /// a transaction each grows by one ([`ctchain_ledger::work`]).
    pub tx_work: Family<Vec<(String, String)>, Counter>,
    last_pbft: Mutex<ctchain_pbft::Metrics>,
    last_work: Mutex<ctchain_ledger::work::WorkCounts>,
}

impl NodeMetrics {
    /// Registers every metric of one chain: every sample is labelled with the node and the channel (`system` for
    /// the consortium chain).
    pub fn new(node: &str, channel: &str) -> Self {
        let mut registry = Registry::with_prefix_and_labels(
            "ctchain",
            [("node".into(), node.to_owned().into()), ("channel".into(), channel.to_owned().into())].into_iter(),
        );
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
            refused_messages: Family::default(),
            dropped_net_events: Counter::default(),
            stalled_peer_disconnects: Counter::default(),
            regossiped_txs: Counter::default(),
            snapshot_height: Gauge::default(),
            rejected_txs: Family::default(),
            consensus_dropped: Family::default(),
            tx_verify_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            block_verify_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            round_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            tx_work: Family::default(),
            channel_traffic: ChannelTrafficMetrics::default(),
            last_pbft: Mutex::new(ctchain_pbft::Metrics::default()),
            last_work: Mutex::new(ctchain_ledger::work::WorkCounts::default()),
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
        registry.register(
            "snapshot_height",
            "Height of the last state snapshot written or restored",
            m.snapshot_height.clone(),
        );
        registry.register(
            "regossiped_txs",
            "Pending transactions gossiped again (a peer connected, or pending a whole period)",
            m.regossiped_txs.clone(),
        );
        registry.register("rejected_txs", "Transactions refused at admission, by reason", m.rejected_txs.clone());
        registry.register(
            "peer_refused_messages",
            "Messages dropped because their peer exceeded its quota, by peer",
            m.refused_messages.clone(),
        );
        registry.register(
            "dropped_net_events",
            "Network events dropped because the driver did not take them in time",
            m.dropped_net_events.clone(),
        );
        registry.register(
            "stalled_peer_disconnects",
            "Connections dropped and dialled again because gossip to the peer stalled",
            m.stalled_peer_disconnects.clone(),
        );
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
        registry.register(
            "ledger_tx_work",
            "Ledger transactions decoded, encoded, leaf-hashed, executed in blocks and checked alone in this process",
            m.tx_work.clone(),
        );
        let t = &m.channel_traffic;
        for (name, help, family) in [
            ("channel_sent_messages", "Messages of this channel sent to the peer", &t.sent_messages),
            ("channel_sent_bytes", "Bytes of this channel sent to the peer", &t.sent_bytes),
            ("channel_received_messages", "Messages of this channel received from the peer", &t.received_messages),
            ("channel_received_bytes", "Bytes of this channel received from the peer", &t.received_bytes),
            ("channel_refused_sends", "Sends of this channel refused: the peer is not a member", &t.refused_sends),
            (
                "channel_refused_messages",
                "Messages of this channel dropped: the peer is not a member",
                &t.refused_messages,
            ),
            (
                "channel_unhosted_messages",
                "Messages naming a channel this node does not host, dropped (system channel only)",
                &t.unhosted_messages,
            ),
        ] {
            registry.register(name, help, family.clone());
        }
        Self { registry, ..m }
    }

    /// Raises this channel's traffic counters to the confinement's totals (`label` is the channel's).
    pub fn observe_traffic(
        &self,
        label: &str,
        traffic: &std::collections::BTreeMap<(String, ctchain_net::PeerId), crate::channels::PeerTraffic>,
    ) {
        let t = &self.channel_traffic;
        for ((channel, peer), counts) in traffic {
            let peer = peer.to_string();
            if channel == label {
                self.set_counter(&t.sent_messages, &peer, counts.sent.messages);
                self.set_counter(&t.sent_bytes, &peer, counts.sent.bytes);
                self.set_counter(&t.received_messages, &peer, counts.received.messages);
                self.set_counter(&t.received_bytes, &peer, counts.received.bytes);
                self.set_counter(&t.refused_sends, &peer, counts.refused_out);
                self.set_counter(&t.refused_messages, &peer, counts.refused_in);
            } else if channel == crate::channels::UNHOSTED && label == crate::channels::SYSTEM_CHANNEL {
                self.set_counter(&t.unhosted_messages, &peer, counts.refused_in);
            }
        }
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

    /// Raises `family{peer}` to `total` (a cumulative count kept elsewhere; only the increase is added).
    pub fn set_counter(&self, family: &Family<Vec<(String, String)>, Counter>, peer: &str, total: u64) {
        let counter = family.get_or_create(&vec![("peer".into(), peer.into())]);
        let counted = counter.get();
        if total > counted {
            counter.inc_by(total - counted);
        }
    }

    /// Folds the ledger's work counters in (process-wide and cumulative; only the increase is added).
    pub fn observe_work(&self) {
        let now = ctchain_ledger::work::WorkCounts::now();
        let mut last = self.last_work.lock().expect("metrics lock");
        let grown = now.since(*last);
        for (work, count) in [
            ("decoded", grown.decoded),
            ("encoded", grown.encoded),
            ("leaf_hashed", grown.leaf_hashed),
            ("executed", grown.executed),
            ("checked_alone", grown.checked_alone),
        ] {
            self.tx_work.get_or_create(&vec![("work".into(), work.into())]).inc_by(count);
        }
        *last = now;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.observe_work();
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// One chain's traffic with each peer (labelled `peer`).
#[derive(Default)]
pub struct ChannelTrafficMetrics {
    /// Messages sent.
    pub sent_messages: Family<Vec<(String, String)>, Counter>,
    /// Bytes sent.
    pub sent_bytes: Family<Vec<(String, String)>, Counter>,
    /// Messages received (from members).
    pub received_messages: Family<Vec<(String, String)>, Counter>,
    /// Bytes received (from members).
    pub received_bytes: Family<Vec<(String, String)>, Counter>,
    /// Sends refused: the peer is not a member.
    pub refused_sends: Family<Vec<(String, String)>, Counter>,
    /// Messages dropped: the peer is not a member.
    pub refused_messages: Family<Vec<(String, String)>, Counter>,
    /// Messages for channels this node does not host.
    pub unhosted_messages: Family<Vec<(String, String)>, Counter>,
}

/// The exposition of several chains' metrics as one valid document: each metric family once (its `HELP` and
/// `TYPE` from the first chain), with every chain's samples (told apart by their `channel` label), one `# EOF`.
pub fn render_all(all: &[Arc<NodeMetrics>]) -> String {
    let mut order: Vec<String> = Vec::new();
    let mut families: std::collections::HashMap<String, (String, String)> = std::collections::HashMap::new();
    for metrics in all {
        let text = metrics.render();
        let mut current: Option<(String, bool)> = None;
        for line in text.lines() {
            if line == "# EOF" {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap_or_default().to_owned();
                let fresh = !families.contains_key(&name);
                if fresh {
                    order.push(name.clone());
                    families.insert(name.clone(), (String::new(), String::new()));
                }
                current = Some((name, fresh));
            }
            let Some((name, fresh)) = &current else { continue };
            let (header, samples) = families.get_mut(name).expect("inserted above");
            if line.starts_with("# ") {
                if *fresh {
                    header.push_str(line);
                    header.push('\n');
                }
            } else {
                samples.push_str(line);
                samples.push('\n');
            }
        }
    }
    let mut out = String::new();
    for name in order {
        let (header, samples) = &families[&name];
        out.push_str(header);
        out.push_str(samples);
    }
    out.push_str("# EOF\n");
    out
}

/// What `GET /metrics` answers with: the OpenMetrics text format that `prometheus_client` encodes.
const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A scraper that opens a connection and sends nothing is dropped after this long, so idle sockets cannot pile up.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The smallest request buffer hyper accepts; a scrape request is a few hundred bytes.
const MAX_REQUEST_BUFFER: usize = 8192;

/// The metrics of every chain a node serves (a channel served later joins while the node runs).
pub type MetricsSet = Arc<std::sync::RwLock<Vec<Arc<NodeMetrics>>>>;

/// Serves `GET /metrics` until the task is dropped: 404 for any other path, 405 for any other method on it.
pub async fn serve(addr: SocketAddr, metrics: MetricsSet) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let response = respond(&request, &metrics);
                    async move { Ok::<_, Infallible>(response) }
                });
                // One request per connection: a scrape every few seconds gains nothing from keep-alive, and a
                // closed connection lets clients read the response to its end.
                let _ = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .max_buf_size(MAX_REQUEST_BUFFER)
                    .keep_alive(false)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(local)
}

fn respond<B>(request: &Request<B>, metrics: &MetricsSet) -> Response<String> {
    if request.uri().path() != "/metrics" {
        return empty_response(StatusCode::NOT_FOUND);
    }
    if request.method() != Method::GET {
        let mut response = empty_response(StatusCode::METHOD_NOT_ALLOWED);
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
        return response;
    }
    let all = metrics.read().map(|m| m.clone()).unwrap_or_default();
    let mut response = Response::new(render_all(&all));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(METRICS_CONTENT_TYPE));
    response
}

fn empty_response(status: StatusCode) -> Response<String> {
    let mut response = Response::new(String::new());
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Sends `request` to the endpoint and reads the answer until the server closes the connection.
    async fn exchange(addr: SocketAddr, request: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
            .await
            .expect("the server closes the connection after one answer")
            .expect("read");
        answer
    }

    async fn endpoint() -> SocketAddr {
        let metrics = Arc::new(NodeMetrics::new("test-node", "system"));
        metrics.height.set(7);
        let channel = Arc::new(NodeMetrics::new("test-node", "x"));
        channel.height.set(3);
        let set = MetricsSet::default();
        set.write().unwrap().extend([metrics, channel]);
        serve(SocketAddr::from(([127, 0, 0, 1], 0)), set).await.expect("bind on loopback")
    }

    #[tokio::test]
    async fn get_metrics_answers_with_the_openmetrics_text() {
        let addr = endpoint().await;
        let answer = exchange(addr, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        let lowercase = answer.to_ascii_lowercase();
        assert!(lowercase.contains(&format!("\r\ncontent-type: {METRICS_CONTENT_TYPE}\r\n")), "{answer}");
        assert!(lowercase.contains("\r\nconnection: close\r\n"), "{answer}");
        assert!(answer.contains("ctchain_height{node=\"test-node\",channel=\"system\"} 7"), "{answer}");
        assert!(answer.contains("ctchain_height{node=\"test-node\",channel=\"x\"} 3"), "{answer}");
        // One family, one header, both channels' samples together; one end.
        assert_eq!(answer.matches("# TYPE ctchain_height gauge").count(), 1, "{answer}");
        let help = answer.find("# HELP ctchain_height ").unwrap();
        let next = answer[help..].find("# HELP ctchain_consensus_seq").unwrap() + help;
        assert!(answer[help..next].contains("channel=\"x\"} 3"), "{answer}");
        assert_eq!(answer.matches("# EOF").count(), 1, "{answer}");
        assert!(answer.ends_with("# EOF\n"), "{answer}");
    }

    #[tokio::test]
    async fn other_paths_are_not_found_and_other_methods_not_allowed() {
        let addr = endpoint().await;
        let other = exchange(addr, "GET /other HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
        assert!(other.starts_with("HTTP/1.1 404 Not Found\r\n"), "{other}");
        let post = exchange(addr, "POST /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n").await;
        assert!(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{post}");
        assert!(post.to_ascii_lowercase().contains("\r\nallow: get\r\n"), "{post}");
    }

    #[tokio::test]
    async fn a_request_that_is_not_http_closes_the_connection() {
        let addr = endpoint().await;
        let answer = exchange(addr, "not http at all\r\n\r\n").await;
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 400"), "{answer}");
    }
}
