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
use crate::sync::{ChainRules, ChainSource, ShieldedSource};

/// Heights per page of certified blocks read for outputs.
const CERTIFIED_PAGE_BLOCKS: u64 = 100;

/// The confidential transaction whose outputs a ledger transaction creates and whose inputs it spends: itself, or
/// a shielded transaction's crossing (audit-access records and governance transactions have none).
fn confidential_part(tx: &LedgerTx) -> Option<&ctchain_crypto::Transaction> {
    match tx {
        LedgerTx::Confidential(tx) => Some(tx),
        LedgerTx::Shielded(s) => s.crossing.as_ref(),
        LedgerTx::AuditAccess(_) | LedgerTx::Governance(_) => None,
    }
}

/// The default RPC address of a local node.
pub const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8545";

/// A connection to a node's RPC.
pub struct RpcSource {
    client: HttpClient,
    url: String,
    light: OnceCell<LightClient<HttpClient>>,
    /// The genesis this source must serve (set by [`FailoverSource`] once any node has shown one); the light
    /// client then refuses a node of another chain.
    pinned: std::sync::OnceLock<ctchain_codec::Hash32>,
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
        Self { client, url: url.into(), light: OnceCell::new(), pinned: std::sync::OnceLock::new() }
    }

    /// The node's address.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connects the light client (checking the node's genesis against the pinned one, once set).
    async fn connect(&self) -> Result<()> {
        self.light().await.map(|_| ())
    }

    /// The light client over this node, connected on first use. The wallet store pins the genesis it was made
    /// for and compares it with this one (`Session`), so the first use here takes the node's.
    async fn light(&self) -> Result<&LightClient<HttpClient>> {
        let trust = match self.pinned.get() {
            Some(hash) => GenesisTrust::Pinned(*hash),
            None => GenesisTrust::FirstUse,
        };
        self.light
            .get_or_try_init(|| LightClient::connect(self.client.clone(), trust))
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
    async fn chain_rules(&self) -> Result<ChainRules> {
        // From the governance the light client followed from the genesis: a node cannot make the wallet encrypt
        // to keys the chain did not appoint.
        let light = self.light().await?;
        let epoch = light.next_block_epoch().await.map_err(|e| self.light_error(e))?;
        let assets = light.registry().await.assets().to_vec();
        Ok(ChainRules { audit_keys: epoch.audit_keys, assets })
    }

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

/// Several nodes of one chain, used in turn: every request goes to the node that last answered, and to the next
/// one when it cannot be reached — so a wallet keeps syncing and submitting through another node while one is
/// down. The first genesis any of them serves is pinned for all: a node of another chain is refused, not
/// followed. Re-submitting a transaction through another node is harmless (the same bytes have the same id).
pub struct FailoverSource {
    sources: Vec<RpcSource>,
    current: std::sync::atomic::AtomicUsize,
}

impl FailoverSource {
    /// Sources for `urls`, a comma-separated list of node addresses (one is fine).
    pub fn new(urls: &str) -> Result<Self> {
        let sources =
            urls.split(',').map(str::trim).filter(|u| !u.is_empty()).map(RpcSource::new).collect::<Result<Vec<_>>>()?;
        if sources.is_empty() {
            return Err(WalletError::NodeUnreachable { url: urls.into(), reason: "no node address given".into() });
        }
        Ok(Self { sources, current: Default::default() })
    }

    /// The error when no node gave a usable answer: one whose data did not check out, if any did, else
    /// unreachable.
    fn none_answered<T>(&self, mut unreachable: Vec<(String, String)>, refused: Vec<String>) -> Result<T> {
        if refused.is_empty() && unreachable.len() == 1 {
            let (url, reason) = unreachable.remove(0);
            return Err(WalletError::NodeUnreachable { url, reason });
        }
        let unreachable = unreachable.into_iter().map(|(url, reason)| format!("{url}: {reason}"));
        if refused.is_empty() {
            let url = format!("any of the {} nodes given", self.sources.len());
            Err(WalletError::NodeUnreachable { url, reason: unreachable.collect::<Vec<_>>().join("; ") })
        } else {
            Err(WalletError::BadNodeData(refused.into_iter().chain(unreachable).collect::<Vec<_>>().join("; ")))
        }
    }

    /// The nodes, in the order they are tried from the one that answered last.
    fn in_turn(&self) -> impl Iterator<Item = (usize, &RpcSource)> {
        let n = self.sources.len();
        let first = self.current.load(std::sync::atomic::Ordering::Relaxed);
        (0..n).map(move |k| (first + k) % n).map(|i| (i, &self.sources[i]))
    }
}

/// Tries `$call` on each node in turn until one can be reached.
/// Each node is used only once its light client connected, so a node of another chain is passed over (and
/// named) before it answers anything.
macro_rules! in_turn {
    ($self:ident, |$source:ident| $call:expr) => {{
        let (mut unreachable, mut refused) = (Vec::new(), Vec::new());
        for (i, $source) in $self.in_turn() {
            let answer = match $source.connect().await {
                Ok(()) => $call.await,
                Err(e) => Err(e),
            };
            match answer {
                Err(WalletError::NodeUnreachable { url, reason }) => unreachable.push((url, reason)),
                Err(WalletError::BadNodeData(reason)) if $self.sources.len() > 1 => {
                    refused.push(format!("{}: {reason}", $source.url()))
                }
                answer => {
                    $self.current.store(i, std::sync::atomic::Ordering::Relaxed);
                    return answer;
                }
            }
        }
        $self.none_answered(unreachable, refused)
    }};
}

impl ChainSource for FailoverSource {
    async fn genesis(&self) -> Result<Vec<u8>> {
        let bytes: Result<Vec<u8>> = async { in_turn!(self, |s| s.genesis()) }.await;
        let bytes = bytes?;
        let genesis = <ctchain_ledger::Genesis as ctchain_codec::Decode>::from_bytes(&bytes)
            .map_err(|e| WalletError::BadNodeData(format!("genesis: {e}")))?;
        let hash = genesis.hash();
        for source in &self.sources {
            if *source.pinned.get_or_init(|| hash) != hash {
                return Err(WalletError::BadNodeData(format!("node {} serves another chain", source.url)));
            }
        }
        Ok(bytes)
    }

    async fn chain_rules(&self) -> Result<ChainRules> {
        in_turn!(self, |s| s.chain_rules())
    }

    async fn height(&self) -> Result<u64> {
        in_turn!(self, |s| s.height())
    }

    async fn outputs_range(&self, from: u64, to: u64) -> Result<OutputsPage> {
        in_turn!(self, |s| s.outputs_range(from, to))
    }

    async fn output(&self, id: &str) -> Result<Option<OutputJson>> {
        in_turn!(self, |s| s.output(id))
    }

    async fn tx(&self, id: &str) -> Result<TxStatus> {
        in_turn!(self, |s| s.tx(id))
    }

    async fn header(&self, height: u64) -> Result<Option<(Vec<u8>, u64)>> {
        in_turn!(self, |s| s.header(height))
    }

    async fn submit(&self, tx_hex: &str) -> Result<String> {
        let id = || {
            let bytes = hex::decode(tx_hex).ok()?;
            Some(<ctchain_crypto::Transaction as ctchain_codec::Decode>::from_bytes(&bytes).ok()?.id().to_string())
        };
        self.submit_in_turn(id, |s| s.submit(tx_hex)).await
    }
}

impl FailoverSource {
    /// Submits through each node in turn until one answers. A node that could not be reached may still have
    /// taken the transaction and passed it on: a later node's "duplicate" then means it got through.
    async fn submit_in_turn<'a, F>(
        &'a self,
        id: impl Fn() -> Option<String>,
        submit: impl Fn(&'a RpcSource) -> F,
    ) -> Result<String>
    where
        F: std::future::Future<Output = Result<String>>,
    {
        let (mut unreachable, mut refused) = (Vec::new(), Vec::new());
        for (i, source) in self.in_turn() {
            // A node of another chain would refuse the transaction, and the wallet would release its inputs.
            if let Err(e) = source.connect().await {
                match e {
                    WalletError::NodeUnreachable { url, reason } => unreachable.push((url, reason)),
                    other => refused.push(format!("{}: {other}", source.url)),
                }
                continue;
            }
            match submit(source).await {
                Err(WalletError::NodeUnreachable { url, reason }) => unreachable.push((url, reason)),
                Err(WalletError::Refused { code, check, .. })
                    if !unreachable.is_empty()
                        && (code == ctchain_rpc::codes::TX_DUPLICATE || check.as_deref() == Some("duplicate")) =>
                {
                    self.current.store(i, std::sync::atomic::Ordering::Relaxed);
                    if let Some(id) = id() {
                        return Ok(id);
                    }
                    return Err(WalletError::BadNodeData("a duplicate of bytes that do not decode".into()));
                }
                answer => {
                    self.current.store(i, std::sync::atomic::Ordering::Relaxed);
                    return answer;
                }
            }
        }
        self.none_answered(unreachable, refused)
    }
}

impl ShieldedSource for FailoverSource {
    async fn shielded_status(&self) -> Result<ShieldedStatusJson> {
        in_turn!(self, |s| s.shielded_status())
    }

    async fn shielded_notes(&self, from: u64, after_height: u64, limit: u32) -> Result<NotesPage> {
        in_turn!(self, |s| s.shielded_notes(from, after_height, limit))
    }

    async fn shielded_nullifier(&self, nullifier: &str) -> Result<Option<NullifierJson>> {
        in_turn!(self, |s| s.shielded_nullifier(nullifier))
    }

    async fn shielded_submit(&self, tx_hex: &str) -> Result<String> {
        let id = || {
            let bytes = hex::decode(tx_hex).ok()?;
            Some(<ctchain_ledger::ShieldedTx as ctchain_codec::Decode>::from_bytes(&bytes).ok()?.id().to_string())
        };
        self.submit_in_turn(id, |s| s.shielded_submit(tx_hex)).await
    }
}
