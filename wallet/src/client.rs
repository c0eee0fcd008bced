//! The node's JSON-RPC as a [`ChainSource`], over HTTP. The genesis and block headers are read through the light
//! client (`ctchain-light`): the genesis must hash to what the node reports, and a header is handed out only from a
//! block whose commit certificate carries a quorum of that genesis's validators, so payment proofs built from it
//! rest on the chain's signatures, not on the node's word.

use std::time::Duration;

use ctchain_codec::Encode;
use ctchain_light::{GenesisTrust, LightClient, LightError};
use ctchain_rpc::{ChainApiClient, NotesPage, NullifierJson, OutputJson, OutputsPage, ShieldedStatusJson, TxStatus};
use jsonrpsee::core::client::Error as ClientError;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use tokio::sync::OnceCell;

use crate::error::{Result, WalletError};
use crate::sync::{ChainSource, ShieldedSource};

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
        self.client.outputs_range(from, to).await.map_err(|e| self.map(e))
    }

    async fn output(&self, id: &str) -> Result<Option<OutputJson>> {
        self.client.output_get(id.into()).await.map_err(|e| self.map(e))
    }

    async fn tx(&self, id: &str) -> Result<TxStatus> {
        self.client.tx_get(id.into()).await.map_err(|e| self.map(e))
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
