//! Live supervision from an observer: decrypt every new block, run the rules once per catch-up.

use super::*;

#[allow(clippy::too_many_arguments)]
pub(super) async fn watch(
    ws: &str,
    trust: GenesisTrust,
    key_index: u32,
    keys: &RegulatorKeys,
    db_path: &Path,
    rules: &Path,
    until: Option<u64>,
    out: &mut dyn Write,
) -> Result<()> {
    let rules = load_rules(rules)?;
    let client = jsonrpsee::ws_client::WsClientBuilder::default()
        .request_timeout(Duration::from_secs(60))
        .build(ws)
        .await
        .with_context(|| format!("connecting to {ws}"))?;
    let chain = LightClient::connect(client, trust).await?;
    let genesis = chain.genesis().clone();
    check_keys(&chain, key_index, keys).await?;
    let db = AuditDb::open(db_path, &genesis.hash().to_string())?;
    // Subscribe first, then catch up: a block committed in between is seen twice, never missed (storing a record
    // again replaces it with itself).
    let mut heads = chain.rpc().subscribe_new_heads().await.context("subscribing to new heads")?;
    let mut tables = Tables::default();
    let mut seen_alerts = BTreeSet::new();
    for a in aml::run(&db.annotated_records(0, u64::MAX)?, &rules) {
        seen_alerts.insert(alert_key(&a));
    }
    let mut next = db.height()? + 1;
    writeln!(out, "watching {} from height {next}", genesis.chain_id)?;
    loop {
        // Decrypt everything up to the tip, then run the rules once: a long catch-up costs one AML pass, not one
        // per block, while a block that arrives alone is judged as soon as it is stored.
        let tip = chain.height().await?;
        let stop = until.map_or(tip, |u| tip.min(u));
        if next <= stop {
            // Read once per catch-up, not per block: an import made meanwhile applies from the next one.
            let directory = db.directory()?;
            while next <= stop {
                let block = chain.block(next).await?.block;
                let contents = BlockContents::of_block(&block);
                let view = view_at(&chain, block.header.seq).await;
                let d = decrypt::decrypt_whole(&view, key_index as usize, keys, &contents, &mut tables)?;
                db.store(next, next, &d.records, &d.not_decrypted)?;
                for r in &d.records {
                    let mut r = r.clone();
                    if let Some(directory) = &directory {
                        directory.annotate(&mut r);
                    }
                    write!(out, "height {next} tx {}", r.tx_id)?;
                    print_record(out, &r)?;
                }
                for n in &d.not_decrypted {
                    print_not_decrypted(out, n)?;
                }
                next += 1;
            }
            for a in aml::run(&db.annotated_records(0, u64::MAX)?, &rules) {
                if seen_alerts.insert(alert_key(&a)) {
                    print_alert(out, &a)?;
                }
            }
            out.flush()?;
        }
        if until.is_some_and(|u| next > u) {
            return Ok(());
        }
        match heads.next().await {
            Some(Ok(_head)) => {}
            Some(Err(e)) => bail!("subscription: {e}"),
            None => bail!("the node closed the subscription"),
        }
    }
}
