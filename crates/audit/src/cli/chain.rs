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
    let url = ctchain_rpc::channel_url(&cli.node, cli.channel.as_deref());
    let client = jsonrpsee::http_client::HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(60))
        .max_response_size(64 << 20)
        .build(&url)
        .with_context(|| format!("node URL {url}"))?;
    Ok(LightClient::connect(client, trust(cli)?).await?)
}

/// Blocks `from..=to` in runs of one registry epoch: each run's contents, with the chain as decrypting them reads
/// it ([`decrypt::epoch_view`]: that epoch's audit keys, the assets listed so far). Epochs come from the
/// governance the light client followed from the genesis, never from the node's word.
pub(super) async fn epoch_runs(chain: &Chain<impl Rpc>, from: u64, to: u64) -> Result<Vec<(Genesis, BlockContents)>> {
    let listed = chain.registry().await.assets().to_vec();
    let mut runs: Vec<(u64, Genesis, BlockContents)> = Vec::new();
    for h in from..=to {
        let block = chain.block(h).await?.block;
        let epoch = chain.epoch_for_seq(block.header.seq).await;
        let contents = BlockContents::of_block(&block);
        match runs.last_mut() {
            Some((number, _, run)) if *number == epoch.number => run.extend(contents),
            _ => runs.push((epoch.number, decrypt::epoch_view(chain.genesis(), &listed, &epoch), contents)),
        }
    }
    Ok(runs.into_iter().map(|(_, view, contents)| (view, contents)).collect())
}

/// What a split key reads of heights `from..=to`: the chain as its records read it, the confidential outputs
/// made for audit key `public` at `index` (the runs of the epochs that had it), and every shielded transaction
/// (which a split key cannot read, reported as such).
pub(super) async fn contents_for_key(
    chain: &Chain<impl Rpc>,
    from: u64,
    to: u64,
    index: u32,
    public: &ctchain_crypto::AuditPublicKey,
) -> Result<(Genesis, Vec<ChainOutput>, Vec<ShieldedSource>)> {
    let listed = chain.registry().await.assets().to_vec();
    let (mut outputs, mut shielded) = (Vec::new(), Vec::new());
    for (view, run) in epoch_runs(chain, from, to).await? {
        if view.audit_keys.get(index as usize) == Some(public) {
            outputs.extend(run.outputs);
        }
        shielded.extend(run.shielded);
    }
    Ok((decrypt::with_assets(chain.genesis(), &listed), outputs, shielded))
}

/// The chain as decrypting the block at consensus sequence number `seq` reads it (see [`epoch_runs`]).
pub(super) async fn view_at(chain: &Chain<impl Rpc>, seq: u64) -> Genesis {
    let listed = chain.registry().await.assets().to_vec();
    decrypt::epoch_view(chain.genesis(), &listed, &chain.epoch_for_seq(seq).await)
}

/// Checks the regulator's keys against every epoch of the chain (see [`decrypt::check_keys_in_epochs`]).
pub(super) async fn check_keys(chain: &Chain<impl Rpc>, key_index: u32, keys: &RegulatorKeys) -> Result<()> {
    let epochs = chain.epochs().await?;
    Ok(decrypt::check_keys_in_epochs(chain.genesis(), &epochs, key_index as usize, keys)?)
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
