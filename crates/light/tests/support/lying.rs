//! A node that lies, served over real JSON-RPC on loopback: a certified three-block chain, and a server that can
//! be told to forge what it serves (`Lie`). Shared by the light client's tests and the regulator's
//! (`crates/audit/tests/forged_node.rs`), which include it by path next to `certified.rs`.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ctchain_codec::{Encode, Hash32};
use ctchain_crypto::{AssetId, SigningKey, TransactionBuilder, WalletKeys};
use ctchain_ledger::merkle;
use ctchain_ledger::{Block, Genesis, LedgerTx, TxInclusionProof};
use ctchain_pbft::Ed25519Signer;
use ctchain_rpc::*;
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::server::{PendingSubscriptionSink, Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use rand_core::OsRng;

use crate::certified::{block, block_json, certify, genesis};

pub const CHAIN: &str = "ctchain-light-test";

/// What the lying node does instead of answering honestly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lie {
    None,
    /// Block 3 served with block 1's transactions (re-rooted, so the header is self-consistent).
    OtherHeightsTransactions,
    /// Block 1, genuine and certified, served as block 3.
    GenuineBlockAtAnotherHeight,
    /// Block 2 served with one commit signature removed.
    CertificateShortOfQuorum,
    /// Block 2 served with its previous hash pointing elsewhere (and a certificate signed by one validator
    /// three times over, which a quorum check must not count).
    BrokenHashChain,
    /// A transaction of block 1 reported committed at height 2 with block 1's inclusion proof.
    TransactionAtAnotherHeight,
    /// Another genesis than the chain's.
    OtherGenesis,
}

pub struct Chain {
    pub genesis: Genesis,
    pub other_genesis: Genesis,
    pub blocks: Vec<Block>,
    pub certificates: Vec<Vec<u8>>,
}

fn chain() -> (Chain, Vec<Ed25519Signer>) {
    let validators: Vec<Ed25519Signer> = (0..4).map(|_| Ed25519Signer::generate(&mut OsRng)).collect();
    let genesis = genesis(&validators, CHAIN);
    let issuer = SigningKey::from_bytes(&[7u8; 32]).unwrap();
    let cny = AssetId::from_label("CNY");
    let mut blocks: Vec<Block> = Vec::new();
    let mut prev = genesis.hash();
    for height in 1..=3u64 {
        let mut b = TransactionBuilder::new(CHAIN, genesis.audit_keys.clone());
        b.issue(&issuer, cny, 100 * height).pay(WalletKeys::random(&mut OsRng).address(), cny, 100 * height, "");
        let tx = LedgerTx::Confidential(b.build(&mut OsRng).unwrap());
        let next = block(height, prev, vec![tx]);
        prev = next.header.hash();
        blocks.push(next);
    }
    let certificates = blocks.iter().map(|b| certify(&genesis, &validators, b, &[0, 1, 2])).collect();
    let other_genesis = self::genesis(&validators, "ctchain-other");
    (Chain { genesis, other_genesis, blocks, certificates }, validators)
}

pub struct LyingNode {
    pub chain: Chain,
    pub validators: Vec<Ed25519Signer>,
    pub lie: Mutex<Lie>,
}

fn not_served() -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32601, "not served by this test node", None::<()>)
}

impl LyingNode {
    fn lie(&self) -> Lie {
        *self.lie.lock().unwrap()
    }

    fn served_block(&self, height: u64) -> Option<BlockJson> {
        let c = &self.chain;
        let index = usize::try_from(height).ok()?.checked_sub(1)?;
        let honest = (c.blocks.get(index)?, c.certificates.get(index)?);
        Some(match (self.lie(), height) {
            (Lie::OtherHeightsTransactions, 3) => {
                let forged = block(3, c.blocks[1].header.hash(), c.blocks[0].txs.clone());
                block_json(&forged, &c.certificates[2])
            }
            (Lie::GenuineBlockAtAnotherHeight, 3) => block_json(&c.blocks[0], &c.certificates[0]),
            (Lie::CertificateShortOfQuorum, 2) => {
                block_json(honest.0, &certify(&c.genesis, &self.validators, honest.0, &[0, 1]))
            }
            (Lie::BrokenHashChain, 2) => {
                let forged = block(2, Hash32([9; 32]), c.blocks[1].txs.clone());
                block_json(&forged, &certify(&c.genesis, &self.validators, &forged, &[1, 1, 1]))
            }
            _ => block_json(honest.0, honest.1),
        })
    }
}

/// The node as its RPC server sees it (shared with the test, which changes its lie).
struct Served(Arc<LyingNode>);

impl std::ops::Deref for Served {
    type Target = LyingNode;
    fn deref(&self) -> &LyingNode {
        &self.0
    }
}

#[async_trait]
impl ChainApiServer for Served {
    async fn chain_status(&self) -> RpcResult<ChainStatus> {
        let tip = &self.chain.blocks[self.chain.blocks.len() - 1].header;
        Ok(ChainStatus {
            chain_id: CHAIN.into(),
            genesis_hash: self.chain.genesis.hash().to_hex(),
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
        match at {
            BlockRef::Height(h) => Ok(self.served_block(h)),
            BlockRef::Hash(_) => Err(not_served()),
        }
    }

    async fn chain_get_genesis(&self) -> RpcResult<GenesisJson> {
        let g = if self.lie() == Lie::OtherGenesis { &self.chain.other_genesis } else { &self.chain.genesis };
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
        let c = &self.chain;
        for (index, b) in c.blocks.iter().enumerate() {
            let leaves: Vec<Hash32> = b.txs.iter().map(LedgerTx::leaf_hash).collect();
            for (i, tx) in b.txs.iter().enumerate() {
                if tx.id().to_string() != id {
                    continue;
                }
                let proof = TxInclusionProof { header: b.header.clone(), path: merkle::path(&leaves, i).unwrap() };
                let height = if self.lie() == Lie::TransactionAtAnotherHeight { 2 } else { index as u64 + 1 };
                return Ok(TxStatus::Committed {
                    height,
                    index: i as u32,
                    block_hash: b.header.hash().to_hex(),
                    timestamp_ms: b.header.timestamp_ms,
                    hex: hex::encode(tx.to_bytes()),
                    inclusion_proof: hex::encode(proof.to_bytes()),
                });
            }
        }
        Ok(TxStatus::Unknown)
    }

    async fn output_get(&self, _id: String) -> RpcResult<Option<OutputJson>> {
        Err(not_served())
    }

    async fn outputs_range(&self, _from: u64, _to: u64) -> RpcResult<OutputsPage> {
        Err(not_served())
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

/// The lying node (honest until told otherwise), a client of it, and its server (stopped when dropped).
pub async fn serve() -> (Arc<LyingNode>, HttpClient, ServerHandle) {
    let (node, url, handle) = serve_at().await;
    (node, HttpClientBuilder::default().build(url).unwrap(), handle)
}

/// The lying node, its URL and its server.
pub async fn serve_at() -> (Arc<LyingNode>, String, ServerHandle) {
    let (chain, validators) = chain();
    let node = Arc::new(LyingNode { chain, validators, lie: Mutex::new(Lie::None) });
    let server = Server::builder().build("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    let handle = server.start(Served(node.clone()).into_rpc());
    (node, url, handle)
}
