//! Reading the chain: every block and record through the light client, against the genesis (pinned by `--genesis-hash`).

use super::*;

/// A node's RPC client (HTTP or WebSocket).
pub(super) trait Rpc: ChainApiClient + Send + Sync {}

impl<C: ChainApiClient + Send + Sync> Rpc for C {}

/// A node's chain as this tool reads it: through the light client.
pub(super) type Chain<C> = LightClient<C>;

/// Which genesis the node must serve: `--genesis-hash` when given.
pub(super) fn trust(cli: &Cli) -> Result<GenesisTrust> {
    match &cli.genesis_hash {
        None => Ok(GenesisTrust::FirstUse),
        Some(text) => Hash32::from_hex(text.trim())
            .map(GenesisTrust::Pinned)
            .ok_or_else(|| anyhow!("--genesis-hash {text:?} is not 64 hex digits")),
    }
}

/// The node's chain, read through the light client: every block this tool decrypts is certified by the genesis
/// validators, so a node cannot make supervisors decrypt handles of other heights than the ones authorised.
pub(super) async fn node(cli: &Cli) -> Result<LightClient<jsonrpsee::http_client::HttpClient>> {
    let client = jsonrpsee::http_client::HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(60))
        .max_response_size(64 << 20)
        .build(&cli.node)
        .with_context(|| format!("node URL {}", cli.node))?;
    Ok(LightClient::connect(client, trust(cli)?).await?)
}

/// The confidential outputs and shielded transactions of heights `from..=to`, from certified blocks.
pub(super) async fn range_contents(chain: &Chain<impl Rpc>, from: u64, to: u64) -> Result<BlockContents> {
    let mut contents = BlockContents::default();
    for h in from..=to {
        contents.extend(BlockContents::of_block(&chain.block(h).await?.block));
    }
    Ok(contents)
}

/// A committed transaction, shown to be in a certified block.
pub(super) async fn committed(chain: &Chain<impl Rpc>, txid: &str) -> Result<(LedgerTx, u64, TxInclusionProof)> {
    let CommittedTx { tx, height, proof, .. } = chain.committed_tx(txid).await?;
    if let LedgerTx::AuditAccess(_) = tx {
        bail!("{txid} is an audit-access record, not a transfer");
    }
    Ok((tx, height, proof))
}

/// A committed confidential transaction (evidence bundles and partials for one transaction cover those only).
pub(super) async fn committed_confidential(
    chain: &Chain<impl Rpc>,
    txid: &str,
) -> Result<(TxId, u64, TxInclusionProof)> {
    match committed(chain, txid).await? {
        (LedgerTx::Confidential(tx), height, proof) => Ok((tx.id(), height, proof)),
        (other, ..) => bail!(
            "{txid} is part of shielded transaction {}: evidence bundles cover confidential transactions only \
             (decrypt it with `ctchain-audit decrypt`)",
            other.id()
        ),
    }
}
