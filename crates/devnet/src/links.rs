//! Network links between the nodes of a local chain that a test can cut and heal.
//!
//! Every node dials its peers at the addresses in its `node.toml` and at nothing else (the network layer has no
//! peer discovery), so rewriting those addresses puts a loopback TCP proxy on every link: the connections node
//! `a` dials to node `b` run through the proxy of the ordered pair `(a, b)`. Cutting the link between `a` and `b`
//! closes every connection of both pairs at once (both sides see the TCP connection end, as when a cable or a
//! firewall drops it) and refuses new ones until the link is healed; the nodes keep running and redial on their
//! own schedule. Nothing in the node knows about it: what is tested is the node as it ships.
//!
//! Invariants:
//! * a cut link carries no byte in either direction until it is healed: connections open at the cut are aborted,
//!   connections accepted while cut are closed before anything is forwarded;
//! * the proxies live as long as the [`Links`] value (dropping it stops them, and with them every link).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context, Result};
use ctchain_node::config::{Home, NodeConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

use crate::cluster::Cluster;

/// One ordered pair's proxy state.
#[derive(Default)]
struct Link {
    cut: AtomicBool,
    /// Forwarding tasks of the connections open through this proxy.
    open: Mutex<Vec<AbortHandle>>,
}

impl Link {
    fn close_all(&self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        for task in open.drain(..) {
            task.abort();
        }
    }
}

/// The proxies of a cluster's links.
pub struct Links {
    /// `(dialer, target)` → its proxy.
    links: BTreeMap<(usize, usize), Arc<Link>>,
    accept_loops: Vec<JoinHandle<()>>,
    nodes: usize,
}

impl Drop for Links {
    fn drop(&mut self) {
        for task in &self.accept_loops {
            task.abort();
        }
        for link in self.links.values() {
            link.close_all();
        }
    }
}

impl Links {
    /// Puts a proxy on every link of `cluster` by rewriting each node's peer addresses. Call it before the nodes
    /// start (a running node has read its configuration already).
    pub async fn route(cluster: &Cluster) -> Result<Self> {
        let nodes = cluster.len();
        let configs: Vec<(std::path::PathBuf, NodeConfig)> = (0..nodes)
            .map(|i| {
                let path = Home(cluster.testnet.homes[i].clone()).config();
                NodeConfig::read(&path).map(|c| (path, c))
            })
            .collect::<Result<_>>()?;
        let listens: Vec<String> = configs.iter().map(|(_, c)| c.network.listen.clone()).collect();
        let mut links = BTreeMap::new();
        let mut accept_loops = Vec::new();
        for (dialer, (path, config)) in configs.into_iter().enumerate() {
            let mut config = config;
            for peer in &mut config.network.peers {
                let Some(target) = peer.address.as_ref().and_then(|a| listens.iter().position(|l| l == a)) else {
                    continue;
                };
                let target_addr = tcp_port(&listens[target])
                    .ok_or_else(|| anyhow!("node {target} listens on {}, not a loopback TCP port", listens[target]))?;
                let listener = TcpListener::bind(("127.0.0.1", 0)).await.context("cannot bind a link proxy")?;
                let port = listener.local_addr()?.port();
                let link = Arc::new(Link::default());
                accept_loops.push(tokio::spawn(forward(listener, target_addr, link.clone())));
                links.insert((dialer, target), link);
                peer.address = Some(format!("/ip4/127.0.0.1/tcp/{port}"));
            }
            std::fs::remove_file(&path).with_context(|| format!("cannot replace {}", path.display()))?;
            config.write_new(&path)?;
        }
        Ok(Self { links, accept_loops, nodes })
    }

    /// Cuts the link between nodes `a` and `b`, in both directions.
    pub fn cut(&self, a: usize, b: usize) {
        for pair in [(a, b), (b, a)] {
            if let Some(link) = self.links.get(&pair) {
                link.cut.store(true, Ordering::SeqCst);
                link.close_all();
            }
        }
    }

    /// Heals the link between nodes `a` and `b`.
    pub fn heal(&self, a: usize, b: usize) {
        for pair in [(a, b), (b, a)] {
            if let Some(link) = self.links.get(&pair) {
                link.cut.store(false, Ordering::SeqCst);
            }
        }
    }

    /// Cuts every link of node `a`: it keeps running (and answering its clients) but reaches no peer.
    pub fn isolate(&self, a: usize) {
        (0..self.nodes).filter(|b| *b != a).for_each(|b| self.cut(a, b));
    }

    /// Heals every link of node `a`.
    pub fn rejoin(&self, a: usize) {
        (0..self.nodes).filter(|b| *b != a).for_each(|b| self.heal(a, b));
    }

    /// Whether the link between `a` and `b` is cut (in either direction).
    pub fn is_cut(&self, a: usize, b: usize) -> bool {
        [(a, b), (b, a)].iter().any(|pair| self.links.get(pair).is_some_and(|l| l.cut.load(Ordering::SeqCst)))
    }
}

/// `127.0.0.1:port` of a `/ip4/127.0.0.1/tcp/<port>` address.
fn tcp_port(multiaddr: &str) -> Option<std::net::SocketAddr> {
    let port: u16 = multiaddr.strip_prefix("/ip4/127.0.0.1/tcp/")?.parse().ok()?;
    Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
}

async fn forward(listener: TcpListener, target: std::net::SocketAddr, link: Arc<Link>) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else { continue };
        if link.cut.load(Ordering::SeqCst) {
            drop(inbound);
            continue;
        }
        let task = tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
        let mut open = link.open.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|t| !t.is_finished());
        // A cut that landed between the check above and now must still close this connection.
        if link.cut.load(Ordering::SeqCst) {
            task.abort();
        } else {
            open.push(task.abort_handle());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn echo_server() -> std::net::SocketAddr {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn proxied(target: std::net::SocketAddr) -> (Links, u16) {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let link = Arc::new(Link::default());
        let accept_loops = vec![tokio::spawn(forward(listener, target, link.clone()))];
        let links = Links { links: BTreeMap::from([((0, 1), link)]), accept_loops, nodes: 2 };
        (links, port)
    }

    async fn round_trip(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
        s.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        tokio::time::timeout(std::time::Duration::from_secs(2), s.read_exact(&mut buf))
            .await
            .map_err(|_| std::io::Error::other("no answer"))??;
        Ok(buf.to_vec())
    }

    #[tokio::test]
    async fn a_cut_closes_open_connections_refuses_new_ones_and_a_heal_lets_them_through() {
        let (links, port) = proxied(echo_server().await).await;
        let mut open = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert_eq!(round_trip(&mut open).await.unwrap(), b"ping");

        links.cut(1, 0);
        assert!(links.is_cut(0, 1));
        // The connection open at the cut ends: a read sees end of stream or a reset, never the echo.
        let mut buf = [0u8; 4];
        let _ = open.write_all(b"ping").await;
        let read = tokio::time::timeout(std::time::Duration::from_secs(2), open.read(&mut buf)).await.unwrap();
        assert!(matches!(read, Ok(0) | Err(_)), "a cut link still forwarded: {read:?}");
        // A new connection is accepted by the proxy and closed at once.
        let mut refused = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert!(round_trip(&mut refused).await.is_err());

        links.heal(0, 1);
        assert!(!links.is_cut(0, 1));
        let mut again = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert_eq!(round_trip(&mut again).await.unwrap(), b"ping");
    }
}
