//! Real libp2p nodes on loopback: members talk, outsiders are refused and counted, dropped peers are redialled.

use std::time::Duration;

use ctchain_net::{spawn, Keypair, Multiaddr, NetConfig, NetError, NetEvent, NetHandle, PeerId, Topic};
use tokio::sync::mpsc::UnboundedReceiver;

struct Node {
    handle: NetHandle,
    events: UnboundedReceiver<NetEvent>,
    addr: Multiaddr,
}

async fn start(key: &Keypair, allowed: &[PeerId], listen: &str) -> Node {
    let config = NetConfig {
        keypair: key.clone(),
        listen: listen.parse().unwrap(),
        peers: allowed.iter().map(|p| (*p, None)).collect(),
        max_message_bytes: 64 * 1024,
    };
    let (handle, mut events) = spawn(config).await.unwrap();
    let addr = match expect(&mut events, |e| matches!(e, NetEvent::Listening(_))).await {
        NetEvent::Listening(a) => a,
        _ => unreachable!(),
    };
    Node { handle, events, addr }
}

/// Waits (up to 15 s) for an event matching `want`, skipping others.
async fn expect(events: &mut UnboundedReceiver<NetEvent>, want: impl Fn(&NetEvent) -> bool) -> NetEvent {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let e = events.recv().await.expect("network task alive");
            if want(&e) {
                return e;
            }
        }
    })
    .await
    .expect("expected network event did not arrive in time")
}

fn ids(keys: &[&Keypair]) -> Vec<PeerId> {
    keys.iter().map(|k| k.public().to_peer_id()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_exchange_direct_and_gossip_messages() {
    let (ka, kb, kc) = (Keypair::generate_ed25519(), Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let members = ids(&[&ka, &kb, &kc]);
    let mut a = start(&ka, &members, "/ip4/127.0.0.1/tcp/0").await;
    let mut b = start(&kb, &members, "/ip4/127.0.0.1/tcp/0").await;
    let mut c = start(&kc, &members, "/ip4/127.0.0.1/tcp/0").await;
    a.handle.dial(members[1], b.addr.clone()).unwrap();
    a.handle.dial(members[2], c.addr.clone()).unwrap();
    b.handle.dial(members[2], c.addr.clone()).unwrap();
    expect(&mut a.events, |e| *e == NetEvent::PeerConnected(members[1])).await;
    expect(&mut c.events, |e| *e == NetEvent::PeerConnected(members[0])).await;

    a.handle.send(members[1], b"prepare v=0 n=1".to_vec()).unwrap();
    let got = expect(&mut b.events, |e| matches!(e, NetEvent::Direct { .. })).await;
    assert_eq!(got, NetEvent::Direct { from: members[0], bytes: b"prepare v=0 n=1".to_vec() });

    // Gossip needs the subscriptions to have been exchanged; publish until it arrives.
    let received = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            a.handle.publish(Topic::Transactions, b"tx bytes".to_vec()).unwrap();
            if let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(300), c.events.recv()).await {
                if let NetEvent::Gossip { .. } = e {
                    return e;
                }
            }
        }
    })
    .await
    .expect("gossip arrived");
    assert_eq!(
        received,
        NetEvent::Gossip { source: Some(members[0]), topic: Topic::Transactions, bytes: b"tx bytes".to_vec() }
    );
    assert!(a.handle.status().connected.contains(&members[2]));
    assert_eq!(a.handle.status().refused_connections, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_outside_the_allow_list_is_refused_and_counted() {
    let (ka, kb, outsider) = (Keypair::generate_ed25519(), Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let members = ids(&[&ka, &kb]);
    let mut a = start(&ka, &members, "/ip4/127.0.0.1/tcp/0").await;
    // The outsider would accept A, but A does not accept the outsider.
    let o = start(&outsider, &[members[0]], "/ip4/127.0.0.1/tcp/0").await;
    o.handle.dial(members[0], a.addr.clone()).unwrap();
    let refused = expect(&mut a.events, |e| matches!(e, NetEvent::Refused { .. })).await;
    assert_eq!(refused, NetEvent::Refused { peer: Some(outsider.public().to_peer_id()) });
    assert!(a.handle.status().refused_connections >= 1);
    assert!(!a.handle.status().connected.contains(&outsider.public().to_peer_id()));
    // A never reports the outsider as connected, and a message to it is not delivered.
    tokio::time::sleep(Duration::from_millis(500)).await;
    while let Ok(e) = a.events.try_recv() {
        assert!(!matches!(e, NetEvent::PeerConnected(p) if p == outsider.public().to_peer_id()), "outsider connected");
    }
    // And A will not even dial a peer outside its allow-list.
    a.handle.dial(outsider.public().to_peer_id(), o.addr.clone()).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!a.handle.status().connected.contains(&outsider.public().to_peer_id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_peer_is_redialled_when_it_comes_back() {
    let (ka, kb) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let members = ids(&[&ka, &kb]);
    let mut a = start(&ka, &members, "/ip4/127.0.0.1/tcp/0").await;
    let b = start(&kb, &members, "/ip4/127.0.0.1/tcp/0").await;
    a.handle.dial(members[1], b.addr.clone()).unwrap();
    expect(&mut a.events, |e| *e == NetEvent::PeerConnected(members[1])).await;

    let port_addr = b.addr.to_string();
    b.handle.shutdown();
    drop(b);
    expect(&mut a.events, |e| *e == NetEvent::PeerDisconnected(members[1])).await;
    assert!(!a.handle.status().connected.contains(&members[1]));

    // B restarts on the same address; A redials it by itself (backoff 1 s, 2 s, …).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _b = start(&kb, &members, &port_addr).await;
    expect(&mut a.events, |e| *e == NetEvent::PeerConnected(members[1])).await;
    assert!(a.handle.status().connected.contains(&members[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_are_refused_before_sending() {
    let ka = Keypair::generate_ed25519();
    let a = start(&ka, &ids(&[&ka]), "/ip4/127.0.0.1/tcp/0").await;
    let err = a.handle.send(ka.public().to_peer_id(), vec![0; 64 * 1024 + 1]).unwrap_err();
    assert!(matches!(err, NetError::TooLarge { len: 65_537, max: 65_536 }));
    assert!(matches!(a.handle.publish(Topic::Blocks, vec![0; 70_000]), Err(NetError::TooLarge { .. })));
}
