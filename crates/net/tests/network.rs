//! Real libp2p nodes on loopback: members talk, outsiders are refused and counted, dropped peers are redialled.

use std::time::Duration;

use ctchain_net::{spawn, GossipVerdict, Keypair, Multiaddr, NetConfig, NetError, NetEvent, NetHandle, PeerId, Topic};
use tokio::sync::mpsc::Receiver;

struct Node {
    handle: NetHandle,
    events: Receiver<NetEvent>,
    addr: Multiaddr,
}

async fn start(key: &Keypair, allowed: &[PeerId], listen: &str) -> Node {
    start_with(key, allowed, listen, ctchain_net::PeerQuota::default()).await
}

async fn start_with(key: &Keypair, allowed: &[PeerId], listen: &str, quota: ctchain_net::PeerQuota) -> Node {
    start_configured(key, allowed, listen, quota, ctchain_net::STALLED_PEER_AFTER).await
}

async fn start_configured(
    key: &Keypair,
    allowed: &[PeerId],
    listen: &str,
    quota: ctchain_net::PeerQuota,
    stalled_peer_after: Duration,
) -> Node {
    let config = NetConfig {
        keypair: key.clone(),
        listen: listen.parse().unwrap(),
        peers: allowed.iter().map(|p| (*p, None)).collect(),
        max_message_bytes: 64 * 1024,
        quota,
        stalled_peer_after,
    };
    let (handle, mut events) = spawn(config).await.unwrap();
    let addr = match expect(&mut events, |e| matches!(e, NetEvent::Listening(_))).await {
        NetEvent::Listening(a) => a,
        _ => unreachable!(),
    };
    Node { handle, events, addr }
}

/// Waits (up to 15 s) for an event matching `want`, skipping others.
async fn expect(events: &mut Receiver<NetEvent>, want: impl Fn(&NetEvent) -> bool) -> NetEvent {
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
    let NetEvent::Gossip { source, topic, bytes, .. } = received else { unreachable!() };
    assert_eq!((source, topic, bytes), (Some(members[0]), Topic::Transactions, b"tx bytes".to_vec()));
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

/// A member sending faster than its quota has the excess dropped before it reaches the node, counted against it,
/// while another member's messages still pass; once the flood stops, its messages pass again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_member_is_held_to_its_quota_and_others_still_get_through() {
    let (ka, kb, kc) = (Keypair::generate_ed25519(), Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let members = ids(&[&ka, &kb, &kc]);
    let quota = ctchain_net::PeerQuota { messages_per_second: 10, bytes_per_second: 1 << 20 };
    let mut a = start_with(&ka, &members, "/ip4/127.0.0.1/tcp/0", quota).await;
    let b = start(&kb, &members, "/ip4/127.0.0.1/tcp/0").await;
    let c = start(&kc, &members, "/ip4/127.0.0.1/tcp/0").await;
    b.handle.dial(members[0], a.addr.clone()).unwrap();
    c.handle.dial(members[0], a.addr.clone()).unwrap();
    // Both connect, in either order.
    let mut connected = std::collections::BTreeSet::new();
    while connected.len() < 2 {
        if let NetEvent::PeerConnected(p) = expect(&mut a.events, |e| matches!(e, NetEvent::PeerConnected(_))).await {
            connected.insert(p);
        }
    }

    let flood_started = std::time::Instant::now();
    for k in 0..200u32 {
        b.handle.send(members[0], format!("flood {k}").into_bytes()).unwrap();
    }
    c.handle.send(members[0], b"honest".to_vec()).unwrap();
    let mut from_b = 0u64;
    let honest = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match a.events.recv().await.expect("network task alive") {
                NetEvent::Direct { from, .. } if from == members[1] => from_b += 1,
                NetEvent::Direct { from, bytes } if from == members[2] => return bytes,
                _ => {}
            }
        }
    })
    .await
    .expect("the other member's message got through");
    assert_eq!(honest, b"honest".to_vec());
    // Let the rest of the flood arrive (until nothing more comes for a second), then count what passed.
    let refused_now = |a: &Node| a.handle.status().refused_messages.get(&members[1]).copied().unwrap_or(0);
    let mut settled = (from_b, refused_now(&a));
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        while let Ok(e) = a.events.try_recv() {
            if matches!(e, NetEvent::Direct { from, .. } if from == members[1]) {
                from_b += 1;
            }
        }
        let now = (from_b, refused_now(&a));
        if now == settled || now.0 + now.1 >= 200 {
            break;
        }
        settled = now;
    }
    let flood_took = flood_started.elapsed();
    // The quota: a burst of 20, then 10 a second for as long as the flood took to arrive.
    let allowed = 20 + (10.0 * flood_took.as_secs_f64()).ceil() as u64;
    let refused = a.handle.status().refused_messages.get(&members[1]).copied().unwrap_or(0);
    assert!(from_b <= allowed, "{from_b} of 200 passed, the quota allowed {allowed}");
    assert!(refused > 0 && from_b + refused <= 200, "{refused} refused, {from_b} passed");
    assert_eq!(a.handle.status().refused_messages.get(&members[2]), None, "the other member was never refused");

    // The quota refills: once the flood's stragglers are through, the member's messages pass again.
    let later = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            b.handle.send(members[0], b"later".to_vec()).unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
            while let Ok(Some(e)) = tokio::time::timeout_at(deadline, a.events.recv()).await {
                if matches!(&e, NetEvent::Direct { from, bytes } if *from == members[1] && bytes == b"later") {
                    return;
                }
            }
        }
    })
    .await;
    assert!(later.is_ok(), "the member's messages pass again once it slows down");
}

/// Takes B's gossip for up to 300 ms between messages, reporting `verdict` for `want` (and ignoring anything else);
/// whether `want` arrived.
async fn judge(b: &mut Node, want: &[u8], verdict: GossipVerdict) -> bool {
    loop {
        match tokio::time::timeout(Duration::from_millis(300), b.events.recv()).await {
            Ok(Some(NetEvent::Gossip { id, bytes, .. })) => {
                let found = bytes == want;
                b.handle.report(id, if found { verdict } else { GossipVerdict::Ignore });
                if found {
                    return true;
                }
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return false,
        }
    }
}

/// A line A — B — C (A and C do not allow each other): what A gossips reaches C only through B, and B relays a
/// message only once it accepted it. B rejects "invalid" and accepts "valid": C sees only the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_is_relayed_only_after_the_relaying_node_accepted_it() {
    let (ka, kb, kc) = (Keypair::generate_ed25519(), Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let [pa, pb, pc] = [&ka, &kb, &kc].map(|k| k.public().to_peer_id());
    let mut a = start(&ka, &[pb], "/ip4/127.0.0.1/tcp/0").await;
    let mut b = start(&kb, &[pa, pc], "/ip4/127.0.0.1/tcp/0").await;
    let mut c = start(&kc, &[pb], "/ip4/127.0.0.1/tcp/0").await;
    a.handle.dial(pb, b.addr.clone()).unwrap();
    c.handle.dial(pb, b.addr.clone()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), async {
        while !(b.handle.status().connected.contains(&pa) && b.handle.status().connected.contains(&pc)) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("A and C connected to B");
    let _ = &mut a.events;

    // Publish "invalid" until B has it (subscriptions take a heartbeat to spread); B rejects every copy.
    let mut seen_invalid = false;
    for _ in 0..50 {
        a.handle.publish(Topic::Transactions, b"invalid".to_vec()).unwrap();
        if judge(&mut b, b"invalid", GossipVerdict::Reject).await {
            seen_invalid = true;
            break;
        }
    }
    assert!(seen_invalid, "B never received A's gossip");
    a.handle.publish(Topic::Transactions, b"valid".to_vec()).unwrap();
    assert!(judge(&mut b, b"valid", GossipVerdict::Accept).await, "B received the second message");

    // C gets "valid" through B, and never "invalid".
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(NetEvent::Gossip { bytes, .. }) = c.events.recv().await {
                return bytes;
            }
        }
    })
    .await
    .expect("the accepted message reached C");
    assert_eq!(got, b"valid".to_vec(), "a message B rejected was relayed to C");
    let later = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            if let Some(NetEvent::Gossip { bytes, .. }) = c.events.recv().await {
                return bytes;
            }
        }
    })
    .await;
    assert!(later.is_err(), "C received another message: {later:?}");
}

/// A peer that stops reading while its connection stays up (here: its whole runtime frozen) fills the gossip queue
/// towards it; once the queue has stayed full for `stalled_peer_after`, the connection is dropped (and counted), so
/// that a fresh one can start with empty queues — a stalled connection otherwise never recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_whose_gossip_queue_stays_full_is_disconnected() {
    let (ka, kb) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let members = ids(&[&ka, &kb]);
    let quota = ctchain_net::PeerQuota::default();
    let mut a = start_configured(&ka, &members, "/ip4/127.0.0.1/tcp/0", quota, Duration::from_secs(2)).await;
    // B runs on a runtime of its own, on its own thread, so that it can be frozen.
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let (freeze_tx, freeze_rx) = std::sync::mpsc::channel::<()>();
    let members_b = members.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let mut b = start(&kb, &members_b, "/ip4/127.0.0.1/tcp/0").await;
            let _ = addr_tx.send(b.addr.clone());
            // Take what arrives until told to freeze; then block the runtime: nothing is read any more.
            loop {
                if freeze_rx.try_recv().is_ok() {
                    std::thread::sleep(Duration::from_secs(120));
                }
                let _ = tokio::time::timeout(Duration::from_millis(20), b.events.recv()).await;
            }
        });
    });
    let b_addr = addr_rx.await.unwrap();
    a.handle.dial(members[1], b_addr).unwrap();
    expect(&mut a.events, |e| *e == NetEvent::PeerConnected(members[1])).await;
    // Let the gossip subscriptions be exchanged before freezing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    freeze_tx.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(a.handle.status().stalled_disconnects, 0);

    // 8 000 messages of 1 KB: more than the transport takes unread, and the 5 000 the gossip queue holds; then a
    // message every 100 ms, as a node's traffic goes on.
    for k in 0..8_000u32 {
        let mut m = k.to_le_bytes().to_vec();
        m.resize(1_024, 0);
        a.handle.publish(Topic::Transactions, m).unwrap();
    }
    let started = std::time::Instant::now();
    let disconnected = tokio::time::timeout(Duration::from_secs(20), async {
        let mut k = 8_000u32;
        loop {
            k += 1;
            let mut m = k.to_le_bytes().to_vec();
            m.resize(1_024, 0);
            a.handle.publish(Topic::Transactions, m).unwrap();
            if let Ok(Some(NetEvent::PeerDisconnected(p))) =
                tokio::time::timeout(Duration::from_millis(100), a.events.recv()).await
            {
                return p;
            }
        }
    })
    .await
    .expect("the stalled peer was disconnected");
    assert_eq!(disconnected, members[1]);
    assert!(started.elapsed() >= Duration::from_millis(1_500), "dropped before the queue stayed full for 2 s");
    assert_eq!(a.handle.status().stalled_disconnects, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_taken_off_the_allow_list_is_cut_off_at_once_and_refused_until_admitted_again() {
    let (ka, kb) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let members = ids(&[&ka, &kb]);
    let mut a = start(&ka, &members, "/ip4/127.0.0.1/tcp/0").await;
    let mut b = start(&kb, &members, "/ip4/127.0.0.1/tcp/0").await;
    // b keeps dialling a: once a refuses it, each attempt is a refusal a counts.
    b.handle.dial(members[0], a.addr.clone()).unwrap();
    expect(&mut a.events, |e| *e == NetEvent::PeerConnected(members[1])).await;

    // The list the nodes are started with names themselves too (every member's key); a keeps only its own.
    a.handle.set_allowed(vec![(members[0], None)]).unwrap();
    expect(&mut a.events, |e| *e == NetEvent::PeerDisconnected(members[1])).await;
    expect(&mut b.events, |e| *e == NetEvent::PeerDisconnected(members[0])).await;
    assert_eq!(a.handle.status().removed_peers, 1);
    // b redials (1 s backoff): a refuses it at the handshake.
    expect(&mut a.events, |e| matches!(e, NetEvent::Refused { peer: Some(p) } if *p == members[1])).await;
    assert!(a.handle.status().refused_connections >= 1);
    assert!(!a.handle.status().connected.contains(&members[1]));

    // Admitted again (with its address), it is dialled and connects.
    a.handle.set_allowed(vec![(members[0], None), (members[1], Some(b.addr.clone()))]).unwrap();
    expect(&mut a.events, |e| *e == NetEvent::PeerConnected(members[1])).await;
    a.handle.send(members[1], b"welcome back".to_vec()).unwrap();
    let got = expect(&mut b.events, |e| matches!(e, NetEvent::Direct { .. })).await;
    assert_eq!(got, NetEvent::Direct { from: members[0], bytes: b"welcome back".to_vec() });
}
