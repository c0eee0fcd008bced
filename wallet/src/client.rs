//! The node's JSON-RPC as a [`ChainSource`], over HTTP.

use std::time::Duration;

use ctchain_rpc::{
    BlockRef, ChainApiClient, NotesPage, NullifierJson, OutputJson, OutputsPage, ShieldedStatusJson, TxStatus,
};
use jsonrpsee::core::client::Error as ClientError;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};

use crate::error::{Result, WalletError};
use crate::sync::{ChainSource, ShieldedSource};

/// The default RPC address of a local node.
pub const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8545";

/// A connection to a node's RPC.
pub struct RpcSource {
    client: HttpClient,
    url: String,
}

impl RpcSource {
    /// A client for `url` (no request is made yet).
    pub fn new(url: &str) -> Result<Self> {
        let client = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            .build(url)
            .map_err(|e| WalletError::NodeUnreachable { url: url.into(), reason: e.to_string() })?;
        Ok(Self { client, url: url.into() })
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
        let g = self.client.chain_get_genesis().await.map_err(|e| self.map(e))?;
        hex::decode(&g.hex).map_err(|_| WalletError::BadNodeData("genesis hex".into()))
    }

    async fn height(&self) -> Result<u64> {
        Ok(self.client.chain_status().await.map_err(|e| self.map(e))?.height)
    }

    async fn outputs_range(&self, from: u64, to: u64) -> Result<OutputsPage> {
        self.client.outputs_range(from, to).await.map_err(|e| self.map(e))
    }

    async fn output(&self, id: &str) -> Result<Option<OutputJson>> {
        self.client.output_get(id.into()).await.map_err(|e| self.map(e))
    }

    async fn tx(&self, id: &str) -> Result<TxStatus> {
        self.client.tx_get(id.into()).await.map_err(|e| self.map(e))
    }

    async fn header(&self, height: u64) -> Result<Option<(Vec<u8>, u64)>> {
        let Some(block) = self.client.chain_get_block(BlockRef::Height(height)).await.map_err(|e| self.map(e))? else {
            return Ok(None);
        };
        let bytes = hex::decode(&block.header_hex).map_err(|_| WalletError::BadNodeData("header hex".into()))?;
        Ok(Some((bytes, block.header.timestamp_ms)))
    }

    async fn submit(&self, tx_hex: &str) -> Result<String> {
        Ok(self.client.tx_submit(tx_hex.into()).await.map_err(|e| self.map(e))?.id)
    }
}

impl ShieldedSource for RpcSource {
    async fn shielded_status(&self) -> Result<ShieldedStatusJson> {
        self.client.shielded_status().await.map_err(|e| self.map(e))
    }

    async fn shielded_notes(&self, from: u64, limit: u32) -> Result<NotesPage> {
        self.client.shielded_notes(from, limit).await.map_err(|e| self.map(e))
    }

    async fn shielded_nullifier(&self, nullifier: &str) -> Result<Option<NullifierJson>> {
        self.client.shielded_nullifier(nullifier.into()).await.map_err(|e| self.map(e))
    }

    async fn shielded_submit(&self, tx_hex: &str) -> Result<String> {
        Ok(self.client.shielded_submit(tx_hex.into()).await.map_err(|e| self.map(e))?.id)
    }
}
