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
            let dealings = match (share, dealing) {
                (Some(s), _) => open_share(s, &password(cli.password_file.as_deref())?)?.dealings(),
                (None, Some(d)) => {
                    let text = std::fs::read_to_string(d).with_context(|| format!("reading {}", d.display()))?;
                    Dealings::from_bytes(&hex::decode(text.trim())?).context("the dealing file does not decode")?
                }
                (None, None) => bail!("give --share or --dealing"),
            };
            dealings.confidential.check()?;
            let chain = node(cli).await?;
            let genesis = chain.genesis().clone();
            // The record is checked against the audit keys of the block that will hold it.
            let epoch = chain.next_block_epoch().await?;
            if epoch.audit_keys.get(*key_index as usize) != Some(&dealings.confidential.public) {
                bail!("the dealing is not of the chain's audit key {key_index} (epoch {})", epoch.number);
            }
            let chain_shielded = genesis.shielded.as_ref().map(|c| c.audit_key);
            let shielded_share_keys = match (&dealings.shielded, chain_shielded) {
                (Some(d), Some(key)) => {
                    d.check()?;
                    if d.public != key {
                        bail!("the shielded dealing is not of the chain's shielded audit key");
                    }
                    d.share_keys.clone()
                }
                (Some(_), None) => bail!("the split has a shielded dealing and this chain has no shielded pool"),
                (None, _) => Vec::new(),
            };
            let record = AuditAccessRecord {
                chain_id: genesis.chain_id.clone(),
                audit_key_index: *key_index,
                case_reference: case.clone(),
                from_height: *from,
                to_height: *to,
                threshold: dealings.confidential.threshold,
                share_keys: dealings.confidential.share_keys.clone(),
                shielded_share_keys,
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
            match (record.shielded_share_keys.is_empty(), chain_shielded.is_some()) {
                (false, _) => writeln!(out, "it authorises decrypting both pools (confidential and shielded)")?,
                (true, true) => writeln!(
                    out,
                    "it authorises the confidential pool only: this split has no share of the shielded audit key"
                )?,
                (true, false) => {}
            }
            writeln!(out, "written to {}; each supervisor runs `ctchain-audit access sign`", path.display())?;
            Ok(())
        }
        AccessCommand::Sign { record: path, share } => {
            let mut record = read_record(path)?;
            let keys = open_share(share, &password(cli.password_file.as_deref())?)?;
            if !same_split(&record, &keys) {
                bail!("this share is from another split than the one the record names");
            }
            let index = keys.index();
            if record.signatures.iter().any(|s| s.supervisor == index) {
                bail!("supervisor {index} has already signed this record");
            }
            let signature = keys.share.sign_access(&keys.dealing, &record.id(), &mut OsRng)?;
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

/// Whether a supervisor's keys are of the split a record names: the same confidential dealing, and the same
/// shielded one (or none on either side).
fn same_split(record: &AuditAccessRecord, keys: &SupervisorKeys) -> bool {
    let shielded: &[_] = keys.shielded.as_ref().map_or(&[], |(_, d)| &d.share_keys);
    record.share_keys == keys.dealing.share_keys
        && record.threshold == keys.dealing.threshold
        && record.shielded_share_keys == shielded
}

pub(super) fn dealing_of(record: &AuditAccessRecord, genesis: &Genesis) -> Result<ThresholdKey> {
    let public = *genesis
        .audit_keys
        .get(record.audit_key_index as usize)
        .ok_or_else(|| anyhow!("no audit key {}", record.audit_key_index))?;
    Ok(ThresholdKey { public, threshold: record.threshold, share_keys: record.share_keys.clone() })
}

/// The shielded dealing a committed record carries, of the genesis shielded audit key (`None`: the record splits
/// the confidential key only).
fn shielded_dealing_of(record: &AuditAccessRecord, genesis: &Genesis) -> Result<Option<ShieldedDealing>> {
    if record.shielded_share_keys.is_empty() {
        return Ok(None);
    }
    let config = genesis
        .shielded
        .as_ref()
        .ok_or_else(|| anyhow!("the record splits a shielded key; the chain has no shielded pool"))?;
    let dealing = ShieldedDealing {
        public: config.audit_key,
        threshold: record.threshold,
        share_keys: record.shielded_share_keys.clone(),
    };
    dealing.check().context("the record's shielded dealing is not of the chain's shielded audit key")?;
    Ok(Some(dealing))
}

/// What a record's range holds for a split key: the confidential outputs of its audit key and every shielded
/// transaction, with the requests for both (each `None` when there is nothing of that pool to decrypt, or, for
/// the shielded pool, when the record does not split the shielded key).
struct RangeRequest {
    view: Genesis,
    outputs: Vec<ChainOutput>,
    shielded: Vec<ShieldedSource>,
    confidential_request: Option<threshold::DecryptionRequest>,
    shielded_points: Option<Vec<ark_ed_on_bn254::EdwardsAffine>>,
}

async fn range_request(
    chain: &Chain<impl Rpc>,
    record: &AuditAccessRecord,
    dealing: &ThresholdKey,
    shielded_dealing: Option<&ShieldedDealing>,
    to: u64,
) -> Result<RangeRequest> {
    let (view, outputs, shielded) =
        contents_for_key(chain, record.from_height, to, record.audit_key_index, &dealing.public).await?;
    let context = record.id().as_bytes().to_vec();
    let confidential_request = match outputs.is_empty() {
        true => None,
        false => Some(decrypt::request(context, &outputs, record.audit_key_index as usize)?),
    };
    let shielded_points = match (shielded_dealing, shielded.is_empty()) {
        (Some(_), false) => Some(decrypt::shielded_request_points(&shielded)),
        _ => None,
    };
    Ok(RangeRequest { view, outputs, shielded, confidential_request, shielded_points })
}

pub(super) async fn partial(
    chain: &Chain<impl Rpc>,
    access: &str,
    keys: &SupervisorKeys,
    tx: Option<&str>,
    path: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    let (record, at_record) = access_record(chain, access).await?;
    if !same_split(&record, keys) {
        bail!("this share is from another split than the one access record {access} names");
    }
    let chain_dealing = dealing_of(&record, &at_record)?;
    let context = record.id().as_bytes().to_vec();
    let (file, what) = match tx {
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
            let partial = keys.share.partial_decrypt(&chain_dealing, &request, &mut OsRng)?;
            let file = PartialFile {
                id: record.id(),
                covered_to: height,
                supervisor: keys.index(),
                confidential: Some(partial),
                shielded: None,
            };
            (file, format!("transaction {tx_id} (for an evidence bundle)"))
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
            let shielded_dealing = shielded_dealing_of(&record, &at_record)?;
            let range = range_request(chain, &record, &chain_dealing, shielded_dealing.as_ref(), to).await?;
            if range.confidential_request.is_none() && range.shielded_points.is_none() {
                let shielded = match range.shielded.len() {
                    0 => "no shielded transaction".to_string(),
                    n => format!(
                        "{n} shielded transactions, which this record does not authorise (it splits no shielded key)"
                    ),
                };
                bail!(
                    "nothing to decrypt at heights {}..={to}: no confidential output for audit key {}, and {shielded}",
                    record.from_height,
                    record.audit_key_index
                );
            }
            let confidential = match &range.confidential_request {
                Some(request) => Some(keys.share.partial_decrypt(&chain_dealing, request, &mut OsRng)?),
                None => None,
            };
            let shielded = match (&range.shielded_points, &keys.shielded, &shielded_dealing) {
                (Some(points), Some((share, _)), Some(dealing)) => {
                    Some(share.partial_decrypt(dealing, &context, points, &mut OsRng)?)
                }
                _ => None,
            };
            let file =
                PartialFile { id: record.id(), covered_to: to, supervisor: keys.index(), confidential, shielded };
            let what = format!(
                "{} confidential outputs and {} shielded transactions at heights {}..={to}",
                range.outputs.len(),
                if range.shielded_points.is_some() { range.shielded.len() } else { 0 },
                record.from_height
            );
            (file, what)
        }
    };
    write_partial(path, &file)?;
    writeln!(
        out,
        "supervisor {}: proven partial decryption of {what} for case {:?} written to {}",
        keys.index(),
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
    let shielded_dealing = shielded_dealing_of(&record, &at_record)?;
    let mut read = Vec::new();
    for path in paths {
        let file = read_partial(path)?;
        if file.id != record.id() {
            bail!("{} answers access record {}, not {}", path.display(), file.id, record.id());
        }
        read.push((path, file));
    }
    // Every partial must cover the same heights: they were made when the chain had reached `to`.
    let covered: BTreeSet<u64> = read.iter().map(|(_, f)| f.covered_to).collect();
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
    let range = range_request(chain, &record, &dealing, shielded_dealing.as_ref(), to).await?;
    let context = record.id().as_bytes().to_vec();
    // A supervisor's answer is taken whole or not at all: every part it must hold is there and verifies.
    let mut accepted: Vec<PartialFile> = Vec::new();
    let mut invalid = BTreeSet::new();
    for (path, file) in read {
        let verdict = (|| -> Result<()> {
            match (&range.confidential_request, &file.confidential) {
                (Some(request), Some(p)) => dealing.verify_partial(request, p)?,
                (Some(_), None) => bail!("supervisor {} gave no partial of the confidential outputs", file.supervisor),
                (None, Some(_)) => {
                    bail!("supervisor {} answered confidential outputs the range does not hold", file.supervisor)
                }
                (None, None) => {}
            }
            match (&range.shielded_points, &file.shielded, &shielded_dealing) {
                (Some(points), Some(p), Some(d)) => d.verify_partial(&context, points, p)?,
                (Some(_), None, _) => {
                    bail!("supervisor {} gave no partial of the shielded audit copies", file.supervisor)
                }
                (None, Some(_), _) => {
                    bail!("supervisor {} answered shielded audit copies the request does not hold", file.supervisor)
                }
                _ => {}
            }
            if accepted.iter().any(|a| a.supervisor == file.supervisor) {
                bail!("a second partial of supervisor {}", file.supervisor);
            }
            Ok(())
        })();
        match verdict {
            Ok(()) => accepted.push(file),
            Err(e) => {
                writeln!(out, "REJECTED {}: {e}", path.display())?;
                invalid.insert(file.supervisor);
            }
        }
    }
    if accepted.len() < record.threshold as usize {
        bail!(
            "{} valid partial decryptions, {} are needed (invalid: supervisors {:?}); nothing was decrypted",
            accepted.len(),
            record.threshold,
            invalid
        );
    }
    let mut recs = Vec::new();
    if let Some(request) = &range.confidential_request {
        let partials: Vec<PartialDecryption> = accepted.iter().filter_map(|f| f.confidential.clone()).collect();
        let points = dealing.combine(request, &partials)?;
        let decrypted =
            decrypt::finish(&range.outputs, record.audit_key_index as usize, &points, &mut Tables::default())?;
        recs.extend(records(&range.view, &decrypted)?);
    }
    let mut dummies = 0;
    if let (Some(points), Some(d)) = (&range.shielded_points, &shielded_dealing) {
        let partials: Vec<ShieldedPartial> = accepted.iter().filter_map(|f| f.shielded.clone()).collect();
        let shared = d.combine(&context, points, &partials)?;
        let (shielded_records, left_out) = decrypt::finish_shielded(&range.view, &range.shielded, &shared)?;
        recs.extend(shielded_records);
        dummies = left_out;
    }
    recs.sort_by_key(|r| r.height);
    let db_handle = AuditDb::open(db, &genesis.hash().to_string())?;
    // A record that splits only the confidential key cannot read the shielded pool: its transactions are listed as
    // not decrypted, unless a whole key already decrypted them into this database.
    let not_decrypted: Vec<NotDecrypted> = if shielded_dealing.is_some() {
        Vec::new()
    } else {
        let done: BTreeSet<String> = db_handle
            .records(record.from_height, to)?
            .into_iter()
            .filter(|r| r.pool == Pool::Shielded)
            .map(|r| r.tx_id)
            .collect();
        range
            .shielded
            .iter()
            .filter(|s| !done.contains(&s.tx_id.to_string()))
            .map(|s| s.not_decrypted(NotDecryptedReason::NoShieldedShares))
            .collect()
    };
    db_handle.store(record.from_height, to, &recs, &not_decrypted)?;
    let shielded_count = recs.iter().filter(|r| r.pool == Pool::Shielded).count();
    writeln!(
        out,
        "combined {} valid partials of supervisors {:?} for case {:?}: {} outputs at heights {}..={to} decrypted into {} \
         ({} confidential, {shielded_count} shielded{})",
        accepted.len(),
        accepted.iter().map(|p| p.supervisor).collect::<Vec<_>>(),
        record.case_reference,
        recs.len(),
        record.from_height,
        db.display(),
        recs.len() - shielded_count,
        if dummies > 0 { format!("; {dummies} dummy shielded outputs left out") } else { String::new() }
    )?;
    for n in &not_decrypted {
        print_not_decrypted(out, n)?;
    }
    Ok(())
}
