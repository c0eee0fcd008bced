//! The wallet against a node that lies about the chain, over real JSON-RPC on loopback: a certified two-block
//! chain in which Alice was paid 10.00 CNY, served by a node that can be told to claim more. What the wallet
//! counts comes from certified blocks ([`ctchain_wallet::client::RpcSource`]): an output only the node's summary
//! shows is not counted, and a spend its certified block does not show is refused. (Before the wallet read through
//! the light client, it took `outputs_range` and `output_get` at the node's word.)

#[path = "../../crates/light/tests/support/certified.rs"]
#[allow(dead_code)]
mod certified;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use certified::{block, block_json, certify, cny, genesis, issuer};
use ctchain_codec::Encode;
use ctchain_crypto::{OutputId, Transaction, TransactionBuilder, WalletKeys};
use ctchain_keystore::{KdfParams, KeystoreFile, WalletSecret};
use ctchain_ledger::{Block, Genesis, LedgerTx};
use ctchain_pbft::Ed25519Signer;
use ctchain_rpc::*;
use ctchain_wallet::client::{FailoverSource, RpcSource};
use ctchain_wallet::session::Session;
use ctchain_wallet::WalletError;
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::server::{PendingSubscriptionSink, Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use rand_core::OsRng;

const CHAIN: &str = "ctchain-wallet-lying-node";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lie {
    None,
    /// `outputs_range` also lists a genuine-looking output paying Alice 50.00 CNY that no block holds.
    InventedOutput,
    /// `output_get` says Alice's output was spent by block 2's transaction, which does not spend it.
    SpendNotOnChain,
}

struct LyingNode {
    genesis: Genesis,
    blocks: Vec<Block>,
    certificates: Vec<Vec<u8>>,
    /// An issuance to Alice that was never committed.
    invented: Transaction,
    lie: Mutex<Lie>,
}

fn issuance(to: &WalletKeys, genesis: &Genesis, amount: u64) -> Transaction {
    let mut b = TransactionBuilder::new(CHAIN, genesis.audit_keys.clone());
    b.issue(&issuer(), cny(), amount).pay(to.address(), cny(), amount, "");
    b.build(&mut OsRng).unwrap()
}

impl LyingNode {
    fn new(alice: &WalletKeys) -> Self {
        let validators: Vec<Ed25519Signer> = (0..4).map(|_| Ed25519Signer::generate(&mut OsRng)).collect();
        let genesis = genesis(&validators, CHAIN);
        let to_alice = LedgerTx::Confidential(issuance(alice, &genesis, 1_000));
        let elsewhere = LedgerTx::Confidential(issuance(&WalletKeys::random(&mut OsRng), &genesis, 300));
        let first = block(1, genesis.hash(), vec![to_alice]);
        let second = block(2, first.header.hash(), vec![elsewhere]);
        let blocks = vec![first, second];
        let certificates = blocks.iter().map(|b| certify(&genesis, &validators, b, &[0, 1, 2])).collect();
        let invented = issuance(alice, &genesis, 5_000);
        Self { genesis, blocks, certificates, invented, lie: Mutex::new(Lie::None) }
    }

    fn lie(&self) -> Lie {
        *self.lie.lock().unwrap()
    }

    fn confidential(&self, height: usize) -> &Transaction {
        match &self.blocks[height - 1].txs[0] {
            LedgerTx::Confidential(tx) => tx,
            _ => unreachable!("every test block holds one issuance"),
        }
    }

    fn record(tx: &Transaction, height: u64) -> OutputRecordJson {
        OutputRecordJson {
            id: OutputId::new(&tx.id(), 0).to_string(),
            tx_id: tx.id().to_string(),
            index: 0,
            height,
            output: hex::encode(tx.body.outputs[0].to_bytes()),
        }
    }
}

fn not_served() -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32601, "not served by this test node", None::<()>)
}

struct Served(Arc<LyingNode>);

#[async_trait]
impl ChainApiServer for Served {
    async fn chain_status(&self) -> RpcResult<ChainStatus> {
        let tip = &self.0.blocks[1].header;
        Ok(ChainStatus {
            chain_id: CHAIN.into(),
            genesis_hash: self.0.genesis.hash().to_hex(),
            node_name: "liar".into(),
            validator_index: Some(0),
            epoch: 0,
            height: tip.height,
            tip_hash: tip.hash().to_hex(),
            state_root: tip.state_root.to_hex(),
            tip_timestamp_ms: tip.timestamp_ms,
            consensus_seq: tip.height,
            view: 0,
            primary: 0,
            view_normal: true,
            syncing: false,
            peers: Vec::new(),
            refused_connections: 0,
            mempool_txs: 0,
            mempool_bytes: 0,
        })
    }

    async fn chain_get_block(&self, at: BlockRef) -> RpcResult<Option<BlockJson>> {
        let BlockRef::Height(h) = at else { return Err(not_served()) };
        let index = usize::try_from(h).ok().and_then(|h| h.checked_sub(1));
        Ok(index.and_then(|i| Some(block_json(self.0.blocks.get(i)?, self.0.certificates.get(i)?))))
    }

    async fn chain_get_genesis(&self) -> RpcResult<GenesisJson> {
        let g = &self.0.genesis;
        Ok(GenesisJson {
            hash: g.hash().to_hex(),
            hex: hex::encode(g.to_bytes()),
            chain_id: g.chain_id.clone(),
            genesis_time_ms: g.genesis_time_ms,
            validators: Vec::new(),
            audit_keys: Vec::new(),
            assets: Vec::new(),
            shielded: None,
        })
    }

    async fn tx_submit(&self, _tx_hex: String) -> RpcResult<SubmitResult> {
        Err(not_served())
    }

    async fn tx_get(&self, id: String) -> RpcResult<TxStatus> {
        let node = &self.0;
        for (i, b) in node.blocks.iter().enumerate() {
            let tx = &b.txs[0];
            if tx.id().to_string() == id {
                let leaves = vec![tx.leaf_hash()];
                let proof = ctchain_ledger::TxInclusionProof {
                    header: b.header.clone(),
                    path: ctchain_ledger::merkle::path(&leaves, 0).unwrap(),
                };
                return Ok(TxStatus::Committed {
                    height: i as u64 + 1,
                    index: 0,
                    block_hash: b.header.hash().to_hex(),
                    timestamp_ms: b.header.timestamp_ms,
                    hex: hex::encode(tx.to_bytes()),
                    inclusion_proof: hex::encode(proof.to_bytes()),
                });
            }
        }
        Ok(TxStatus::Unknown)
    }

    async fn output_get(&self, id: String) -> RpcResult<Option<OutputJson>> {
        let node = &self.0;
        let paid = node.confidential(1);
        if OutputId::new(&paid.id(), 0).to_string() != id {
            return Ok(None);
        }
        let spent_by = (node.lie() == Lie::SpendNotOnChain).then(|| node.confidential(2).id().to_string());
        Ok(Some(OutputJson {
            record: LyingNode::record(paid, 1),
            spent_height: spent_by.as_ref().map(|_| 2),
            spent_by,
        }))
    }

    async fn outputs_range(&self, from: u64, to: u64) -> RpcResult<OutputsPage> {
        let node = &self.0;
        let mut outputs = vec![LyingNode::record(node.confidential(1), 1), LyingNode::record(node.confidential(2), 2)];
        if node.lie() == Lie::InventedOutput {
            outputs.push(LyingNode::record(&node.invented, 2));
        }
        let block_times = node.blocks.iter().map(|b| (b.header.height, b.header.timestamp_ms)).collect();
        Ok(OutputsPage { from, to: to.min(2), height: 2, outputs, block_times })
    }

    async fn asset_supply(&self, _asset: String) -> RpcResult<Option<SupplyJson>> {
        Err(not_served())
    }

    async fn audit_submit_access(&self, _record_hex: String) -> RpcResult<SubmitResult> {
        Err(not_served())
    }

    async fn audit_access_log(&self) -> RpcResult<Vec<AuditAccessJson>> {
        Err(not_served())
    }

    async fn shielded_submit(&self, _tx_hex: String) -> RpcResult<SubmitResult> {
        Err(not_served())
    }

    async fn governance_submit(&self, _tx_hex: String) -> RpcResult<SubmitResult> {
        Err(not_served())
    }

    async fn governance_registry(&self) -> RpcResult<ctchain_rpc::RegistryJson> {
        Err(not_served())
    }

    async fn governance_log(&self) -> RpcResult<Vec<ctchain_rpc::GovernanceJson>> {
        // A chain without governance: its genesis validators certify every block.
        Ok(Vec::new())
    }

    async fn governance_epochs(&self) -> RpcResult<Vec<ctchain_rpc::EpochJson>> {
        Err(not_served())
    }

    async fn shielded_status(&self) -> RpcResult<ShieldedStatusJson> {
        Err(not_served())
    }

    async fn shielded_notes(&self, _from: u64, _limit: u32) -> RpcResult<NotesPage> {
        Err(not_served())
    }

    async fn shielded_nullifier(&self, _nullifier: String) -> RpcResult<Option<NullifierJson>> {
        Err(not_served())
    }

    async fn subscribe_new_heads(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        pending.reject(not_served()).await;
        Ok(())
    }

    async fn subscribe_tx_status(&self, pending: PendingSubscriptionSink, _id: String) -> SubscriptionResult {
        pending.reject(not_served()).await;
        Ok(())
    }
}

/// A node of its own chain (fresh validators) that paid `alice`, telling `lie`; its URL.
async fn serve(lie: Lie, alice: &WalletKeys) -> (String, ServerHandle) {
    let node = Arc::new(LyingNode::new(alice));
    *node.lie.lock().unwrap() = lie;
    let server = Server::builder().build("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    (url, server.start(Served(node).into_rpc()))
}

/// Alice's wallet (a keystore in `dir`) opened over `source`.
async fn open<S: ctchain_wallet::sync::ShieldedSource>(
    source: S,
    secret: WalletSecret,
    dir: &std::path::Path,
) -> ctchain_wallet::Result<Session<S>> {
    let path = dir.join("alice.json");
    let file = KeystoreFile::seal(CHAIN, &secret, b"pw", KdfParams::TEST_ONLY, &mut OsRng).unwrap();
    file.write(&path, true).unwrap();
    Session::with_secret(source, &path, file, secret).await
}

/// Alice's wallet, opened over the lying node told to tell `lie`.
async fn alice_over(lie: Lie) -> (Session<RpcSource>, ServerHandle, tempfile::TempDir) {
    let secret = WalletSecret::generate(&mut OsRng);
    let (url, handle) = serve(lie, &secret.wallet_keys().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let session = open(RpcSource::new(&url).unwrap(), secret, dir.path()).await.unwrap();
    (session, handle, dir)
}

/// An address nothing listens on.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

fn confirmed<S: ctchain_wallet::sync::ShieldedSource>(session: &Session<S>) -> u64 {
    session.balances().0.iter().map(|b| b.confirmed).sum()
}

#[tokio::test]
async fn an_honest_node_is_believed() {
    let (mut alice, _server, _dir) = alice_over(Lie::None).await;
    let synced = alice.sync(&mut |_, _| {}).await.unwrap();
    assert_eq!((synced.confidential.found, confirmed(&alice)), (1, 1_000));
}

#[tokio::test]
async fn an_output_only_the_node_claims_is_not_counted() {
    let (mut alice, _server, _dir) = alice_over(Lie::InventedOutput).await;
    alice.sync(&mut |_, _| {}).await.unwrap();
    assert_eq!(confirmed(&alice), 1_000, "the invented 50.00 CNY is in no certified block");
}

#[tokio::test]
async fn a_spend_its_certified_block_does_not_show_is_refused() {
    let (mut alice, _server, _dir) = alice_over(Lie::SpendNotOnChain).await;
    match alice.sync(&mut |_, _| {}).await {
        Err(WalletError::BadNodeData(reason)) => assert!(reason.contains("does not show"), "{reason}"),
        other => panic!("expected the claimed spend refused, got {other:?}"),
    }
    assert_eq!(confirmed(&alice), 1_000, "the output is still counted as Alice's");
}

#[tokio::test]
async fn a_wallet_goes_on_through_another_node_when_one_is_down() {
    let secret = WalletSecret::generate(&mut OsRng);
    let (url, _server) = serve(Lie::None, &secret.wallet_keys().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let source = FailoverSource::new(&format!("{},{url}", dead_url())).unwrap();
    let mut alice = open(source, secret, dir.path()).await.expect("the second node answers");
    alice.sync(&mut |_, _| {}).await.unwrap();
    assert_eq!(confirmed(&alice), 1_000);
}

#[tokio::test]
async fn a_second_node_of_another_chain_is_refused_not_followed() {
    let secret = WalletSecret::generate(&mut OsRng);
    let keys = secret.wallet_keys().unwrap();
    let (ours, _a) = serve(Lie::None, &keys).await;
    let (theirs, _b) = serve(Lie::None, &keys).await;
    let dir = tempfile::tempdir().unwrap();
    let source = FailoverSource::new(&format!("{ours},{theirs}")).unwrap();
    let mut alice = open(source, secret, dir.path()).await.unwrap();
    alice.sync(&mut |_, _| {}).await.unwrap();
    // Our node goes away; the other one serves a chain of other validators under the same chain id.
    drop(_a);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    match alice.sync(&mut |_, _| {}).await {
        Err(WalletError::BadNodeData(reason)) => assert!(reason.contains("genesis"), "{reason}"),
        other => panic!("expected the other chain refused, got {other:?}"),
    }
    assert_eq!(confirmed(&alice), 1_000);
}
