//! Evidence bundles: written with a whole key or supervisors' partials, verified offline against the genesis.

use super::*;

/// How an evidence bundle's decryption is proven.
pub(super) enum Decryptor {
    /// A whole key (at this genesis index) proves its own decryption.
    Whole(u32, AuditSecretKey),
    /// Supervisors' partials (files) under a committed access record (id).
    Partials(String, Vec<PathBuf>),
}

pub(super) async fn evidence(
    chain: &Chain<impl Rpc>,
    txid: &str,
    how: Decryptor,
    path: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    if path.exists() {
        bail!("{} already exists; nothing was written", path.display());
    }
    let genesis = chain.genesis().clone();
    let (tx_id, height, inclusion) = committed_confidential(chain, txid).await?;
    let certified = chain.block(height).await?;
    let access = match &how {
        Decryptor::Partials(access, _) => Some(committed_access(chain, access).await?),
        Decryptor::Whole(..) => None,
    };
    // The governance below the highest block the bundle holds: the record may be committed after the transaction.
    let top = access.as_ref().map_or(height, |(a, _)| a.block.header.height.max(height));
    let governance = chain.governance_history(top).await?;
    let located = evidence::Located {
        tx_id,
        block: certified.block,
        certificate: certified.certificate_bytes,
        inclusion,
        governance,
    };
    let (bundle, decrypted) = match how {
        Decryptor::Whole(key_index, secret) => {
            Evidence::with_whole_key(&genesis, located, key_index, &secret, &mut OsRng)?
        }
        Decryptor::Partials(_, files) => {
            let Some((access, at_record)) = access else { bail!("no access record for a split key") };
            let record = access.record.clone();
            let dealing = dealing_of(&record, &at_record)?;
            let mut partials = Vec::new();
            for file in &files {
                let partial = read_partial(file)?;
                if partial.id != record.id() {
                    bail!("{} answers access record {}, not {}", file.display(), partial.id, record.id());
                }
                let Some(p) = partial.confidential else {
                    bail!("{} holds no partial of a confidential transaction (made without --tx?)", file.display())
                };
                partials.push(p);
            }
            let key_index = record.audit_key_index;
            Evidence::from_partials(&genesis, located, key_index, dealing, Some(access), partials)?
        }
    };
    // Check before writing: a bundle that would not verify is never handed out.
    bundle.verify(&genesis.hash().to_string())?;
    write_private(path, &bundle.to_bytes())?;
    writeln!(out, "evidence for transaction {} (height {height}) written to {}", tx_id, path.display())?;
    for r in records(&genesis, &decrypted)? {
        print_record(out, &r)?;
    }
    writeln!(
        out,
        "verify offline with: ctchain-audit verify-evidence {} --genesis-hash {}",
        path.display(),
        genesis.hash()
    )?;
    Ok(())
}

pub(super) fn verify_evidence(path: &Path, genesis_hash: &str, out: &mut dyn Write) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let bundle =
        Evidence::from_bytes(&bytes).with_context(|| format!("{} is not an evidence bundle", path.display()))?;
    let v = bundle.verify(genesis_hash).with_context(|| format!("evidence {} does NOT verify", path.display()))?;
    writeln!(
        out,
        "evidence verified: transaction {} at height {} ({}) on chain {}, final under the certificate of epoch {}'s \
         validators (followed from the genesis through {} governance blocks)",
        v.tx_id,
        v.height,
        ctchain_display::time::utc_iso(v.timestamp_ms),
        v.chain_id,
        v.epoch,
        v.governance_blocks
    )?;
    if let Some(case) = &v.case_reference {
        writeln!(out, "decrypted under audit-access record for case {case:?}")?;
    }
    for o in &v.outputs {
        writeln!(
            out,
            "  output {}: amount {} (base units, proven)  from {}  to {} (proven)  memo {:?} (claim){}",
            o.index,
            o.amount,
            match &o.sender {
                None => "-".to_owned(),
                Some(s) if o.sender_proven => format!("{s} (proven)"),
                Some(s) => format!("{s} (memo's claim)"),
            },
            o.receiver,
            o.memo,
            match (o.memo_agrees, o.memo_disagrees.is_empty()) {
                (true, true) => String::new(),
                (false, true) => "  MEMO DISAGREES: amount".to_owned(),
                _ => format!("  MEMO DISAGREES: {}", o.memo_disagrees.join(", ")),
            }
        )?;
    }
    Ok(())
}
