//! Decrypting with a whole key: one transaction (`decrypt`) or a height range into the audit database (`scan`).

use super::*;

pub(super) fn whole_decrypt(
    outputs: &[ChainOutput],
    key_index: u32,
    secret: &AuditSecretKey,
    tables: &mut Tables,
) -> Result<Vec<Decrypted>> {
    let request = decrypt::request(Vec::new(), outputs, key_index as usize)?;
    Ok(decrypt::finish(outputs, key_index as usize, &decrypt::multiply(secret, &request.points), tables)?)
}

pub(super) fn records(genesis: &Genesis, decrypted: &[Decrypted]) -> Result<Vec<AuditRecord>> {
    decrypted.iter().map(|d| Ok(decrypt::record(genesis, d)?)).collect()
}

pub(super) async fn decrypt_tx(
    chain: &Chain<impl Rpc>,
    txid: &str,
    key_index: u32,
    keys: &RegulatorKeys,
    out: &mut dyn Write,
) -> Result<()> {
    check_keys(chain, key_index, keys).await?;
    let (tx, height, proof) = committed(chain, txid).await?;
    let genesis = view_at(chain, proof.header.seq).await;
    let timestamp_ms = proof.header.timestamp_ms;
    let contents = BlockContents::of_tx(&tx, height, timestamp_ms);
    if !contents.outputs.is_empty() && genesis.audit_keys.get(key_index as usize) != Some(&keys.confidential.public()) {
        let epoch = chain.epoch_for_seq(proof.header.seq).await.number;
        bail!(
            "transaction {} is of epoch {epoch}, whose audit key {key_index} is another epoch's key than this one: \
             its outputs are encrypted to that key; decrypt it with the key of its epoch",
            tx.id()
        );
    }
    writeln!(out, "transaction {} at height {height} ({})", tx.id(), ctchain_display::time::utc_iso(timestamp_ms))?;
    let mut tables = Tables::default();
    for source in &contents.shielded {
        print_shielded(out, &genesis, keys, source)?;
    }
    if let Some(crossing) = contents.shielded.first().and_then(|s| s.crossing_id) {
        writeln!(out, "  its confidential side, transaction {crossing}:")?;
    }
    let decrypted = whole_decrypt(&contents.outputs, key_index, &keys.confidential, &mut tables)?;
    for r in records(&genesis, &decrypted)? {
        print_record(out, &r)?;
    }
    for burn in &contents.burns {
        for r in decrypt::burn_records(&genesis, key_index as usize, &keys.confidential, burn)? {
            print_record(out, &r)?;
        }
    }
    Ok(())
}

/// Heights `scan` decrypts and stores per batch.
pub(super) const SCAN_CHUNK: u64 = 256;

pub(super) async fn scan(
    chain: &Chain<impl Rpc>,
    from: u64,
    to: u64,
    key_index: u32,
    keys: &RegulatorKeys,
    db: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    if from == 0 || from > to {
        bail!("height range {from}..={to} is not valid (need 1 ≤ from ≤ to)");
    }
    let genesis = chain.genesis().clone();
    check_keys(chain, key_index, keys).await?;
    let tip = chain.height().await?;
    if to > tip {
        bail!("the chain is at height {tip}; cannot scan up to {to}");
    }
    // Chunks of heights, each decrypted whole and stored in one atomic batch: memory stays bounded on a long
    // chain, and an interrupted scan leaves whole chunks (rerunning it replaces records with themselves).
    let db_handle = AuditDb::open(db, &genesis.hash().to_string())?;
    let mut tables = Tables::default();
    let (mut count, mut shielded, mut dummies) = (0, 0, 0);
    let mut not_decrypted = Vec::new();
    let mut start = from;
    while start <= to {
        let end = to.min(start.saturating_add(SCAN_CHUNK - 1));
        let mut chunk = Decryption::default();
        for (view, contents) in epoch_runs(chain, start, end).await? {
            let d = decrypt::decrypt_whole(&view, key_index as usize, keys, &contents, &mut tables)?;
            chunk.records.extend(d.records);
            chunk.not_decrypted.extend(d.not_decrypted);
            chunk.dummies += d.dummies;
        }
        db_handle.store(start, end, &chunk.records, &chunk.not_decrypted)?;
        count += chunk.records.len();
        shielded += chunk.records.iter().filter(|r| r.pool == Pool::Shielded).count();
        dummies += chunk.dummies;
        not_decrypted.extend(chunk.not_decrypted);
        start = end + 1;
    }
    writeln!(
        out,
        "decrypted {count} outputs ({shielded} shielded) at heights {from}..={to} into {}{}",
        db.display(),
        dummies_text(dummies)
    )?;
    for n in &not_decrypted {
        print_not_decrypted(out, n)?;
    }
    Ok(())
}
