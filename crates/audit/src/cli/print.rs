//! How records, alerts and what was not decrypted are printed.

use super::*;

pub(super) fn print_record(out: &mut dyn Write, r: &AuditRecord) -> Result<()> {
    let amount = ctchain_display::amount::format_grouped(u128::from(r.amount), r.decimals);
    match r.pool {
        // A burn has no output: its amount is public, its burner proven (the owner of the inputs).
        Pool::Confidential if r.kind == aml::RecordKind::Burn => {
            writeln!(out, "  burn: {amount} {} redeemed  by {}", r.asset_label, r.sender_display())?
        }
        Pool::Confidential => writeln!(
            out,
            "  output {}: {amount} {} ({})  from {}  to {}  memo {:?} (claim){}",
            r.output_index,
            r.asset_label,
            r.kind.as_str(),
            r.sender_display(),
            r.receiver_display(),
            r.memo,
            r.memo_flag()
        )?,
        // No memo: the shielded audit copy is proven whole (asset, amount, receiver and sender).
        Pool::Shielded => writeln!(
            out,
            "  shielded output {}: {amount} {} ({})  from owner {}  to owner {}",
            r.output_index,
            r.asset_label,
            r.kind.as_str(),
            r.sender_display(),
            r.receiver_display(),
        )?,
    }
    Ok(())
}

pub(super) fn print_not_decrypted(out: &mut dyn Write, n: &NotDecrypted) -> Result<()> {
    writeln!(
        out,
        "height {} tx {}: {} {} outputs NOT DECRYPTED: {}",
        n.height,
        n.tx_id,
        n.outputs,
        n.pool.as_str(),
        n.reason.as_str()
    )?;
    Ok(())
}

/// `", N dummy shielded outputs (value 0) not recorded"`, or nothing.
pub(super) fn dummies_text(dummies: usize) -> String {
    if dummies == 0 {
        String::new()
    } else {
        format!(", {dummies} dummy shielded outputs (value 0) not recorded")
    }
}

/// What a shielded transaction does, then each of its outputs (a dummy as such, or why none can be read).
pub(super) fn print_shielded(
    out: &mut dyn Write,
    genesis: &Genesis,
    keys: &RegulatorKeys,
    source: &ShieldedSource,
) -> Result<()> {
    let public = |asset, amount: u64| match genesis.asset(&asset) {
        Some(a) => format!("{} {}", ctchain_display::amount::format_grouped(u128::from(amount), a.decimals), a.label),
        None => format!("{amount} base units of unknown asset {}", hex::encode(asset.0)),
    };
    match source.crossing {
        None => writeln!(out, "  shielded transfer (inside the shielded pool)")?,
        Some(Crossing::Shield { asset, amount }) => {
            writeln!(out, "  shield: {} enters the shielded pool (public amount)", public(asset, amount))?
        }
        Some(Crossing::Unshield { asset, amount }) => {
            writeln!(out, "  unshield: {} leaves the shielded pool (public amount)", public(asset, amount))?
        }
    }
    let Some(secret) = &keys.shielded else {
        let n = source.not_decrypted(NotDecryptedReason::NoShieldedKey);
        writeln!(out, "  shielded outputs 0..{}: NOT DECRYPTED: {}", n.outputs, n.reason.as_str())?;
        return Ok(());
    };
    for (index, plaintext) in decrypt::decrypt_shielded(secret, source)?.iter().enumerate() {
        match decrypt::shielded_record(genesis, source, index, plaintext)? {
            Some(r) => print_record(out, &r)?,
            None => writeln!(
                out,
                "  shielded output {index}: dummy (value 0) to owner {}, not recorded",
                decrypt::owner_hex(&plaintext.receiver)
            )?,
        }
    }
    Ok(())
}

/// The warning that some transactions were not decrypted (nothing if all were).
pub(super) fn print_missing_summary(out: &mut dyn Write, missing: &[NotDecrypted]) -> Result<()> {
    if !missing.is_empty() {
        writeln!(
            out,
            "WARNING: {} transactions ({} outputs) were NOT decrypted and are in no record: {}",
            missing.len(),
            missing.iter().map(|n| u64::from(n.outputs)).sum::<u64>(),
            missing
                .iter()
                .map(|n| n.reason.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join("; ")
        )?;
    }
    Ok(())
}

pub(super) fn print_alert(out: &mut dyn Write, a: &aml::Alert) -> Result<()> {
    writeln!(
        out,
        "ALERT {} [{}] {} — transactions {}",
        a.rule.as_str(),
        a.severity.as_str(),
        a.explanation,
        a.tx_ids.join(", ")
    )?;
    Ok(())
}

pub(super) fn alert_key(a: &aml::Alert) -> (String, Vec<String>, String) {
    (a.rule.as_str().to_string(), a.tx_ids.clone(), a.addresses.join(","))
}
