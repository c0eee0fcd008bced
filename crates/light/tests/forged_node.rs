//! A node that lies, served over real JSON-RPC on loopback: a certified three-block chain, and a server that can
//! be told to forge what it serves. The light client accepts the honest answers and refuses every forgery,
//! naming it — in particular a block at one height holding another height's transactions (and so its decrypt
//! handles), which a supervisor's `partial` would otherwise decrypt outside its authorised range.

use ctchain_light::{GenesisTrust, LightClient, LightError};

#[path = "support/certified.rs"]
#[allow(dead_code)]
mod certified;
#[path = "support/lying.rs"]
#[allow(dead_code)]
mod lying;
use lying::{serve, Lie};

fn forged_reason(result: Result<impl std::fmt::Debug, LightError>, height: u64) -> String {
    match result {
        Err(LightError::ForgedBlock { height: h, reason }) if h == height => reason,
        other => panic!("expected block {height} refused as forged, got {other:?}"),
    }
}

#[tokio::test]
async fn an_honest_node_is_believed() {
    let (node, client, _server) = serve().await;
    let pinned = node.chain.genesis.hash();
    let light = LightClient::connect(client, GenesisTrust::Pinned(pinned)).await.unwrap();
    let blocks = light.blocks(1, 3).await.unwrap();
    assert_eq!(
        blocks.iter().map(|b| b.hash).collect::<Vec<_>>(),
        node.chain.blocks.iter().map(|b| b.header.hash()).collect::<Vec<_>>()
    );
    let id = node.chain.blocks[1].txs[0].id().to_string();
    let committed = light.committed_tx(&id).await.unwrap();
    assert_eq!((committed.height, committed.block_hash), (2, node.chain.blocks[1].header.hash()));
    assert!(matches!(light.block(4).await, Err(LightError::MissingBlock(4))));
}

#[tokio::test]
async fn a_block_holding_another_heights_transactions_is_refused() {
    let (node, client, _server) = serve().await;
    *node.lie.lock().unwrap() = Lie::OtherHeightsTransactions;
    let light = LightClient::connect(client, GenesisTrust::FirstUse).await.unwrap();
    let reason = forged_reason(light.block(3).await, 3);
    assert!(reason.contains("certificate does not prove this block"), "{reason}");
    // The range read a supervisor's `partial` makes stops there too: nothing of the forged block is handed out.
    assert!(matches!(light.blocks(1, 3).await, Err(LightError::ForgedBlock { height: 3, .. })));
}

#[tokio::test]
async fn a_genuine_block_served_at_another_height_is_refused() {
    let (node, client, _server) = serve().await;
    *node.lie.lock().unwrap() = Lie::GenuineBlockAtAnotherHeight;
    let light = LightClient::connect(client, GenesisTrust::FirstUse).await.unwrap();
    let reason = forged_reason(light.block(3).await, 3);
    assert!(reason.contains("header is for height 1"), "{reason}");
}

#[tokio::test]
async fn a_certificate_short_of_a_quorum_is_refused() {
    let (node, client, _server) = serve().await;
    *node.lie.lock().unwrap() = Lie::CertificateShortOfQuorum;
    let light = LightClient::connect(client, GenesisTrust::FirstUse).await.unwrap();
    let reason = forged_reason(light.block(2).await, 2);
    assert!(reason.contains("signatures"), "{reason}");
}

#[tokio::test]
async fn a_block_off_the_hash_chain_is_refused() {
    let (node, client, _server) = serve().await;
    let light = LightClient::connect(client, GenesisTrust::FirstUse).await.unwrap();
    light.block(1).await.unwrap();
    *node.lie.lock().unwrap() = Lie::BrokenHashChain;
    let reason = forged_reason(light.block(2).await, 2);
    assert!(reason.contains("certificate"), "one signer three times is no quorum: {reason}");
}

#[tokio::test]
async fn a_transaction_claimed_at_another_height_is_refused() {
    let (node, client, _server) = serve().await;
    *node.lie.lock().unwrap() = Lie::TransactionAtAnotherHeight;
    let light = LightClient::connect(client, GenesisTrust::FirstUse).await.unwrap();
    let id = node.chain.blocks[0].txs[0].id().to_string();
    match light.committed_tx(&id).await {
        Err(LightError::ForgedTransaction { reason, .. }) => assert!(reason.contains("another block"), "{reason}"),
        other => panic!("expected the transaction refused, got {other:?}"),
    }
}

#[tokio::test]
async fn a_node_of_another_chain_is_refused_when_the_genesis_is_pinned() {
    let (node, client, _server) = serve().await;
    *node.lie.lock().unwrap() = Lie::OtherGenesis;
    let pinned = node.chain.genesis.hash();
    match LightClient::connect(client, GenesisTrust::Pinned(pinned)).await {
        Err(LightError::WrongGenesis { pinned: p, served }) => {
            assert_eq!((p, served), (pinned, node.chain.other_genesis.hash()))
        }
        Err(other) => panic!("expected the genesis refused, got {other}"),
        Ok(_) => panic!("expected the genesis refused"),
    }
}
