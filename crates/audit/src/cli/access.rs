//! The access trail and threshold decryption: recording a case on chain, partial decryptions, combining them.

use super::*;

pub(super) fn read_record(path: &Path) -> Result<AuditAccessRecord> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = hex::decode(text.trim()).with_context(|| format!("{} is not hex", path.display()))?;
    AuditAccessRecord::from_bytes(&bytes).with_context(|| format!("{} is not an audit-access record", path.display()))
}

pub(super) async fn access(cli: &Cli, command: &AccessCommand, out: &mut dyn Write) -> Result<()> {
    match command {
        AccessCommand::Request { case, from, to, share, dealing, key_index, out: path } => {
            let dealing = match (share, dealing) {
                (Some(s), _) => open_share(s, &password(cli.password_file.as_deref())?)?.1,
                (None, Some(d)) => {
                    let text = std::fs::read_to_string(d).with_context(|| format!("reading {}", d.display()))?;
                    ThresholdKey::from_bytes(&hex::decode(text.trim())?).context("the dealing file does not decode")?
                }
                (None, None) => bail!("give --share or --dealing"),
            };
            dealing.check()?;
            let chain = node(cli).await?;
            let genesis = chain.genesis().clone();
            // The record is checked against the audit keys of the block that will hold it.
            let epoch = chain.next_block_epoch().await?;
            if epoch.audit_keys.get(*key_index as usize) != Some(&dealing.public) {
                bail!("the dealing is not of the chain's audit key {key_index} (epoch {})", epoch.number);
            }
            let record = AuditAccessRecord {
                chain_id: genesis.chain_id.clone(),
                audit_key_index: *key_index,
                case_reference: case.clone(),
                from_height: *from,
                to_height: *to,
                threshold: dealing.threshold,
                share_keys: dealing.share_keys.clone(),
                signatures: vec![],
            };
            if path.exists() {
                bail!("{} already exists; nothing was written", path.display());
            }
            write_private(path, hex::encode(record.to_bytes()).as_bytes())?;
            writeln!(
                out,
                "access record {} for case {case:?}, heights {from}..={to}: {} signatures needed",
                record.id(),
                record.threshold
            )?;
            writeln!(out, "written to {}; each supervisor runs `ctchain-audit access sign`", path.display())?;
            Ok(())
        }
        AccessCommand::Sign { record: path, share } => {
            let mut record = read_record(path)?;
            let (share, dealing) = open_share(share, &password(cli.password_file.as_deref())?)?;
            if record.share_keys != dealing.share_keys || record.threshold != dealing.threshold {
                bail!("this share is from another split than the one the record names");
            }
            let index = share.index();
            if record.signatures.iter().any(|s| s.supervisor == index) {
                bail!("supervisor {index} has already signed this record");
            }
            let signature = share.sign_access(&dealing, &record.id(), &mut OsRng)?;
            record.signatures.push(signature);
            record.signatures.sort_by_key(|s| s.supervisor);
            write_private(path, hex::encode(record.to_bytes()).as_bytes())?;
            writeln!(
                out,
                "supervisor {index} signed access record {} ({} of {} signatures)",
                record.id(),
                record.signatures.len(),
                record.threshold
            )?;
            Ok(())
        }
        AccessCommand::Submit { record: path } => {
            let record = read_record(path)?;
            let chain = node(cli).await?;
            let id = chain
                .rpc()
                .audit_submit_access(hex::encode(record.to_bytes()))
                .await
                .context("the node refused the record")?
                .id;
            let height = chain.wait_committed(&id, Duration::from_millis(200), Duration::from_secs(120)).await?;
            writeln!(out, "access record {id} committed at height {height}")?;
            Ok(())
        }
    }
}

pub(super) async fn log(chain: &Chain<impl Rpc>, out: &mut dyn Write) -> Result<()> {
    let log = chain.rpc().audit_access_log().await.context("asking for the access log")?;
    if log.is_empty() {
        writeln!(out, "no audit access has been recorded")?;
    }
    for a in log {
        writeln!(
            out,
            "height {} record {}: case {:?}, heights {}..={}, audit key {}, signed by supervisors {:?} ({} of {} needed)",
            a.height, a.id, a.case_reference, a.from_height, a.to_height, a.audit_key_index, a.signers, a.threshold, a.supervisors
        )?;
    }
    Ok(())
}

/// The committed access record with this id: shown to be in a certified block, and checked again locally (a
/// record that was signed but never committed authorises nothing).
/// It is checked against the audit keys of its block's epoch, which the returned view of the chain holds.
pub(super) async fn access_record(chain: &Chain<impl Rpc>, id: &str) -> Result<(AuditAccessRecord, Genesis)> {
    let (record, seq) = match chain.committed_tx(id).await {
        Ok(CommittedTx { tx: LedgerTx::AuditAccess(record), proof, .. }) => (record, proof.header.seq),
        Ok(_) => bail!("{id} is a transaction, not an audit-access record"),
        Err(LightError::NotCommitted { .. }) => {
            bail!("no committed audit-access record {id}: record the access on chain first")
        }
        Err(e) => return Err(e.into()),
    };
    let view = view_at(chain, seq).await;
    let verified = record.verify(&view.chain_id, &view.audit_keys).context("the access record does not verify")?;
    Ok((verified.record().clone(), view))
}

/// A committed audit-access record as an evidence bundle carries it: the record, its certified block and its
/// inclusion proof (the record verified against the audit keys of its block's epoch).
pub(super) async fn committed_access(
    chain: &Chain<impl Rpc>,
    id: &str,
) -> Result<(evidence::CommittedAccess, Genesis)> {
    let (record, view) = access_record(chain, id).await?;
    let CommittedTx { height, proof, .. } = chain.committed_tx(id).await?;
    let certified = chain.block(height).await?;
    let access = evidence::CommittedAccess {
        record,
        block: certified.block,
        certificate: certified.certificate_bytes,
        inclusion: proof,
    };
    Ok((access, view))
}

pub(super) fn dealing_of(record: &AuditAccessRecord, genesis: &Genesis) -> Result<ThresholdKey> {
    let public = *genesis
        .audit_keys
        .get(record.audit_key_index as usize)
        .ok_or_else(|| anyhow!("no audit key {}", record.audit_key_index))?;
    Ok(ThresholdKey { public, threshold: record.threshold, share_keys: record.share_keys.clone() })
}

pub(super) async fn partial(
    chain: &Chain<impl Rpc>,
    access: &str,
    (share, dealing): &(KeyShare, ThresholdKey),
    tx: Option<&str>,
    path: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    let (record, at_record) = access_record(chain, access).await?;
    if record.share_keys != dealing.share_keys || record.threshold != dealing.threshold {
        bail!("this share is from another split than the one access record {access} names");
    }
    let chain_dealing = dealing_of(&record, &at_record)?;
    let (request, covered_to, what) = match tx {
        Some(txid) => {
            let (tx_id, height, _) = committed_confidential(chain, txid).await?;
            if height < record.from_height || height > record.to_height {
                bail!(
                    "transaction {txid} is at height {height}, outside the authorised range {}..={}",
                    record.from_height,
                    record.to_height
                );
            }
            let block = chain.block(height).await?.block;
            let request = evidence::request_for(&block, &tx_id, record.audit_key_index, Some(&record))?;
            (request, height, format!("transaction {tx_id} (for an evidence bundle)"))
        }
        None => {
            let tip = chain.height().await?;
            let to = record.to_height.min(tip);
            if to < record.from_height {
                bail!(
                    "nothing to decrypt yet: the record starts at height {}, the chain is at {tip}",
                    record.from_height
                );
            }
            // The confidential outputs made for this key only: a split key does not cover the shielded pool, nor
            // the epochs of another audit key.
            let (_, outputs, _) =
                contents_for_key(chain, record.from_height, to, record.audit_key_index, &chain_dealing.public).await?;
            let context = record.id().as_bytes().to_vec();
            let request = decrypt::request(context, &outputs, record.audit_key_index as usize)?;
            (request, to, format!("{} outputs at heights {}..={to}", outputs.len(), record.from_height))
        }
    };
    let partial = share.partial_decrypt(&chain_dealing, &request, &mut OsRng)?;
    write_partial(path, &record.id(), covered_to, &partial)?;
    writeln!(
        out,
        "supervisor {}: proven partial decryption of {what} for case {:?} written to {}",
        share.index(),
        record.case_reference,
        path.display()
    )?;
    Ok(())
}

pub(super) async fn combine(
    chain: &Chain<impl Rpc>,
    access: &str,
    db: &Path,
    paths: &[PathBuf],
    out: &mut dyn Write,
) -> Result<()> {
    let genesis = chain.genesis().clone();
    let (record, at_record) = access_record(chain, access).await?;
    let dealing = dealing_of(&record, &at_record)?;
    let mut read = Vec::new();
    for path in paths {
        let (id, covered_to, p) = read_partial(path)?;
        if id != record.id() {
            bail!("{} answers access record {id}, not {}", path.display(), record.id());
        }
        read.push((path, covered_to, p));
    }
    // Every partial must cover the same heights: they were made when the chain had reached `to`.
    let covered: BTreeSet<u64> = read.iter().map(|(_, c, _)| *c).collect();
    let to = match covered.iter().collect::<Vec<_>>()[..] {
        [&to] if to >= record.from_height && to <= record.to_height => to,
        [&to] => bail!(
            "the partials cover heights up to {to}, outside the record's {}..={}",
            record.from_height,
            record.to_height
        ),
        _ => bail!(
            "the partials cover different heights (up to {covered:?}); ask the supervisors for partials of one range"
        ),
    };
    let (view, outputs, shielded) =
        contents_for_key(chain, record.from_height, to, record.audit_key_index, &dealing.public).await?;
    let request = decrypt::request(record.id().as_bytes().to_vec(), &outputs, record.audit_key_index as usize)?;
    let mut partials = Vec::new();
    let mut invalid = BTreeSet::new();
    for (path, _, p) in read {
        match dealing.verify_partial(&request, &p) {
            Ok(()) => partials.push(p),
            Err(e) => {
                writeln!(out, "REJECTED {}: {e}", path.display())?;
                invalid.insert(p.index);
            }
        }
    }
    let points = dealing.combine(&request, &partials).map_err(|e| match e {
        threshold::ThresholdError::NotEnoughPartials { valid, needed, .. } => anyhow!(
            "{valid} valid partial decryptions, {needed} are needed (invalid: supervisors {:?}); nothing was decrypted",
            invalid
        ),
        other => anyhow!(other),
    })?;
    let decrypted = decrypt::finish(&outputs, record.audit_key_index as usize, &points, &mut Tables::default())?;
    let recs = records(&view, &decrypted)?;
    let db_handle = AuditDb::open(db, &genesis.hash().to_string())?;
    // A split key cannot read the shielded pool: its transactions are listed as not decrypted, unless a whole key
    // already decrypted them into this database.
    let done: BTreeSet<String> = db_handle
        .records(record.from_height, to)?
        .into_iter()
        .filter(|r| r.pool == Pool::Shielded)
        .map(|r| r.tx_id)
        .collect();
    let not_decrypted: Vec<NotDecrypted> = shielded
        .iter()
        .filter(|s| !done.contains(&s.tx_id.to_string()))
        .map(|s| s.not_decrypted(NotDecryptedReason::SplitKey))
        .collect();
    db_handle.store(record.from_height, to, &recs, &not_decrypted)?;
    writeln!(
        out,
        "combined {} valid partials of supervisors {:?} for case {:?}: {} outputs at heights {}..={to} decrypted into {}",
        partials.len(),
        partials.iter().map(|p| p.index).collect::<Vec<_>>(),
        record.case_reference,
        recs.len(),
        record.from_height,
        db.display()
    )?;
    for n in &not_decrypted {
        print_not_decrypted(out, n)?;
    }
    Ok(())
}
