//! The node's JSON-RPC as a [`ChainSource`], over HTTP, read through the light client (`ctchain-light`): the
//! genesis must hash to what the node reports, and everything the wallet counts comes from blocks whose commit
//! certificate carries a quorum of that genesis's validators, so balances and payment proofs rest on the chain's
//! signatures, not on the node's word:
//!
//! * outputs are taken from the certified blocks themselves (not from the node's `outputs_range` summary), so a
//!   node can neither invent an output nor hide one in the blocks it serves;
//! * a transaction the node calls committed is shown in its certified block (inclusion proof) before it counts;
//! * a spend the node reports is checked in the spending transaction's certified block;
//! * the shielded pool's notes are taken from the certified blocks too (the node's tree size must agree with what
//!   they hold, and its root with the tree the wallet builds from them), and a revealed nullifier the node reports
//!   is checked in the revealing transaction's certified block.
//!
//! What no single answer can prove is an absence: a node may still claim an output or a note unspent, or a
//! transaction pending or rejected, when it is not. Such a lie delays or misleads a send (the honest validators refuse a
//! double spend), never credits money that is not there.

use std::time::Duration;

use ctchain_codec::Encode;
use ctchain_ledger::LedgerTx;
use ctchain_light::{GenesisTrust, LightClient, LightError};
use ctchain_rpc::{
    ChainApiClient, NoteJson, NotesPage, NullifierJson, OutputJson, OutputRecordJson, OutputsPage, ShieldedStatusJson,
    TxStatus,
};
use jsonrpsee::core::client::Error as ClientError;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use tokio::sync::OnceCell;

use crate::error::{Result, WalletError};
use crate::scan::ChainOutput;
use crate::sync::{ChainSource, ShieldedSource};

/// Heights per page of certified blocks read for outputs.
const CERTIFIED_PAGE_BLOCKS: u64 = 100;

/// The confidential transaction whose outputs a ledger transaction creates and whose inputs it spends: itself, or
/// a shielded transaction's crossing (audit-access records have none).
fn confidential_part(tx: &LedgerTx) -> Option<&ctchain_crypto::Transaction> {
    match tx {
        LedgerTx::Confidential(tx) => Some(tx),
        LedgerTx::Shielded(s) => s.crossing.as_ref(),
        LedgerTx::AuditAccess(_) => None,
    }
}

/// The default RPC address of a local node.
pub const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8545";

/// A connection to a node's RPC.
pub struct RpcSource {
    client: HttpClient,
    url: String,
    light: OnceCell<LightClient<HttpClient>>,
}

impl RpcSource {
    /// A client for `url` (no request is made yet).
    pub fn new(url: &str) -> Result<Self> {
        let client = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            // Outputs come from whole certified blocks: one of 1 000 transfers is about 10 MiB of hex.
            .max_response_size(64 << 20)
            .build(url)
            .map_err(|e| WalletError::NodeUnreachable { url: url.into(), reason: e.to_string() })?;
        Ok(Self::with_client(client, url))
    }

    /// A source over an existing client of the node at `url` (the local-chain tooling shares one per node).
    pub fn with_client(client: HttpClient, url: &str) -> Self {
        Self { client, url: url.into(), light: OnceCell::new() }
    }

    /// The light client over this node, connected on first use. The wallet store pins the genesis it was made
    /// for and compares it with this one (`Session`), so the first use here takes the node's.
    async fn light(&self) -> Result<&LightClient<HttpClient>> {
        self.light
            .get_or_try_init(|| LightClient::connect(self.client.clone(), GenesisTrust::FirstUse))
            .await
            .map_err(|e| self.light_error(e))
    }

    fn light_error(&self, e: LightError) -> WalletError {
        match e {
            LightError::Unreachable { source, .. } => self.map(source),
            other => WalletError::BadNodeData(other.to_string()),
        }
    }

    fn map(&self, e: ClientError) -> WalletError {
        match e {
            ClientError::Call(obj) => WalletError::Refused {
                code: obj.code(),
                reason: obj.message().to_owned(),
                check: obj.data().and_then(|d| {
                    serde_json::from_str::<serde_json::Value>(d.get())
                        .ok()
                        .and_then(|v| v.get("check").and_then(|c| c.as_str()).map(str::to_owned))
                }),
            },
            ClientError::ParseError(e) => WalletError::BadNodeData(e.to_string()),
            other => WalletError::NodeUnreachable { url: self.url.clone(), reason: other.to_string() },
        }
    }
}

impl ChainSource for RpcSource {
    async fn genesis(&self) -> Result<Vec<u8>> {
        Ok(self.light().await?.genesis_bytes().to_vec())
    }

    async fn height(&self) -> Result<u64> {
        Ok(self.client.chain_status().await.map_err(|e| self.map(e))?.height)
    }

    async fn outputs_range(&self, from: u64, to: u64) -> Result<OutputsPage> {
        let light = self.light().await?;
        let height = light.height().await.map_err(|e| self.light_error(e))?;
        // Whole blocks travel, so a page is fewer heights than the node's own summary would cover.
        let to = to.min(height).min(from.saturating_add(CERTIFIED_PAGE_BLOCKS - 1));
        let blocks = light.blocks(from, to).await.map_err(|e| self.light_error(e))?;
        let mut outputs = Vec::new();
        for block in &blocks {
            let height = block.header().height;
            for tx in block.block.txs.iter().filter_map(confidential_part) {
                let count = u32::try_from(tx.body.outputs.len()).unwrap_or(u32::MAX);
                outputs.extend((0..count).filter_map(|i| ChainOutput::from_tx(tx, i, height)).map(|o| {
                    OutputRecordJson {
                        id: o.id.to_string(),
                        tx_id: o.tx_id.to_string(),
                        index: o.index,
                        height,
                        output: hex::encode(o.output.to_bytes()),
                    }
                }));
            }
        }
        let block_times = blocks.iter().map(|b| (b.header().height, b.header().timestamp_ms)).collect();
        Ok(OutputsPage { from, to, height, outputs, block_times })
    }

    async fn output(&self, id: &str) -> Result<Option<OutputJson>> {
        let status = self.client.output_get(id.into()).await.map_err(|e| self.map(e))?;
        if let Some(OutputJson { spent_by: Some(by), spent_height: Some(height), .. }) = &status {
            // A spend counts only as shown on chain: the spending transaction, in its certified block, spends it.
            let committed = self.light().await?.committed_tx(by).await.map_err(|e| self.light_error(e))?;
            let spends = confidential_part(&committed.tx)
                .is_some_and(|tx| tx.body.inputs.iter().any(|input| input.output_id.to_string() == id));
            if committed.height != *height || !spends {
                return Err(WalletError::BadNodeData(format!(
                    "the node says transaction {by} spent output {id} at height {height}, which its certified block \
                     does not show"
                )));
            }
        }
        Ok(status)
    }

    async fn tx(&self, id: &str) -> Result<TxStatus> {
        let status = self.client.tx_get(id.into()).await.map_err(|e| self.map(e))?;
        if let TxStatus::Committed { height, .. } = &status {
            let committed = self.light().await?.committed_tx(id).await.map_err(|e| self.light_error(e))?;
            if committed.height != *height {
                return Err(WalletError::BadNodeData(format!(
                    "the node says transaction {id} committed at height {height}, its certified block is at {}",
                    committed.height
                )));
            }
        }
        Ok(status)
    }

    async fn header(&self, height: u64) -> Result<Option<(Vec<u8>, u64)>> {
        match self.light().await?.block(height).await {
            Ok(certified) => Ok(Some((certified.header().to_bytes(), certified.header().timestamp_ms))),
            Err(LightError::MissingBlock(_)) => Ok(None),
            Err(e) => Err(self.light_error(e)),
        }
    }

    async fn submit(&self, tx_hex: &str) -> Result<String> {
        Ok(self.client.tx_submit(tx_hex.into()).await.map_err(|e| self.map(e))?.id)
    }
}

impl ShieldedSource for RpcSource {
    async fn shielded_status(&self) -> Result<ShieldedStatusJson> {
        self.client.shielded_status().await.map_err(|e| self.map(e))
    }

    async fn shielded_notes(&self, from: u64, after_height: u64, limit: u32) -> Result<NotesPage> {
        // The notes come from the certified blocks, in the order the ledger appends them; the node's status
        // only says how far to read (and its tree size and root are checked against what the blocks hold).
        let status = self.shielded_status().await?;
        let light = self.light().await?;
        let mut notes = Vec::new();
        let mut position = from;
        let mut height = after_height;
        while height < status.height && notes.len() < limit as usize {
            height += 1;
            let block = light.block(height).await.map_err(|e| self.light_error(e))?;
            for tx in &block.block.txs {
                let LedgerTx::Shielded(shielded) = tx else { continue };
                let tx_id = shielded.id().to_string();
                for (commitment, ciphertext) in shielded.statement.commitments.iter().zip(&shielded.note_ciphertexts) {
                    notes.push(NoteJson {
                        position,
                        commitment: hex::encode(commitment.to_bytes()),
                        ciphertext: hex::encode(ciphertext.to_bytes()),
                        tx_id: tx_id.clone(),
                        height,
                    });
                    position += 1;
                }
            }
        }
        if height >= status.height && position != status.tree_size {
            return Err(WalletError::BadNodeData(format!(
                "the node says the note tree has {} leaves at height {}; its certified blocks hold {position}",
                status.tree_size, status.height
            )));
        }
        Ok(NotesPage { notes, tree_size: status.tree_size, root: status.root, height })
    }

    async fn shielded_nullifier(&self, nullifier: &str) -> Result<Option<NullifierJson>> {
        let revealed = self.client.shielded_nullifier(nullifier.into()).await.map_err(|e| self.map(e))?;
        if let Some(r) = &revealed {
            // A spend counts only as shown on chain: the revealing transaction, in its certified block.
            let committed = self.light().await?.committed_tx(&r.tx_id).await.map_err(|e| self.light_error(e))?;
            let reveals = match &committed.tx {
                LedgerTx::Shielded(s) => {
                    s.statement.nullifiers.iter().any(|nf| hex::encode(nf.to_bytes()).eq_ignore_ascii_case(nullifier))
                }
                _ => false,
            };
            if committed.height != r.height || !reveals {
                return Err(WalletError::BadNodeData(format!(
                    "the node says transaction {} revealed nullifier {nullifier} at height {}, which its certified \
                     block does not show",
                    r.tx_id, r.height
                )));
            }
        }
        Ok(revealed)
    }

    async fn shielded_submit(&self, tx_hex: &str) -> Result<String> {
        Ok(self.client.shielded_submit(tx_hex.into()).await.map_err(|e| self.map(e))?.id)
    }
}
