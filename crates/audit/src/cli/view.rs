//! The demo's closing view: the whole chain decrypted and judged, as text.

use super::*;

/// The regulator's view of a whole chain, as text: every output of both pools decrypted with `keys` (the
/// confidential key must be the chain's audit key 0; without a shielded key, each shielded transaction is listed as
/// not decrypted) and the alerts of the rule file `rules_toml`, each proven party named by its customer when the
/// KYC `directory` knows it. The node's demo ends with it.
pub async fn regulator_view<C: ChainApiClient + Send + Sync>(
    chain: &LightClient<C>,
    keys: &RegulatorKeys,
    rules_toml: &str,
    directory: Option<&crate::directory::Directory>,
) -> Result<String> {
    let rules = RuleSet::from_toml(rules_toml).context("the demo's rule file")?;
    check_keys(chain, 0, keys).await?;
    let tip = chain.height().await?;
    let (mut recs, mut not_decrypted, mut dummies) = (Vec::new(), Vec::new(), 0);
    let mut tables = Tables::default();
    for (view, contents) in epoch_runs(chain, 1, tip).await? {
        let d = decrypt::decrypt_whole(&view, 0, keys, &contents, &mut tables)?;
        recs.extend(d.records);
        not_decrypted.extend(d.not_decrypted);
        dummies += d.dummies;
    }
    if let Some(directory) = directory {
        recs.iter_mut().for_each(|r| directory.annotate(r));
    }
    let mut out = Vec::new();
    let shielded = recs.iter().filter(|r| r.pool == Pool::Shielded).count();
    writeln!(
        out,
        "    {} outputs ({shielded} shielded) at heights 1..={tip}, every amount and party decrypted and proven{}:",
        recs.len(),
        dummies_text(dummies)
    )?;
    // Parties by customer where the directory knows them, otherwise addresses and owner tags shortened to their
    // first characters (a terminal line per output); a sender the proofs do not cover is marked as the memo's claim.
    let short = |a: &str| {
        if a.chars().count() > 18 {
            a.chars().take(18).collect::<String>() + "…"
        } else {
            a.to_owned()
        }
    };
    let party = |text: &str, customer: Option<String>, proven: bool| {
        let name = customer.unwrap_or_else(|| short(text));
        if proven {
            name
        } else {
            format!("{name} (memo's claim)")
        }
    };
    for r in &recs {
        let pool = match r.pool {
            Pool::Confidential if r.kind == aml::RecordKind::Burn => {
                writeln!(
                    out,
                    "    height {} tx {}… burn: {} {} redeemed by {}",
                    r.height,
                    r.tx_id.chars().take(12).collect::<String>(),
                    ctchain_display::amount::format_grouped(u128::from(r.amount), r.decimals),
                    r.asset_label,
                    r.sender.as_deref().map_or("-".into(), |s| party(s, r.customer_text(true), r.sender_proven)),
                )?;
                continue;
            }
            Pool::Confidential => "",
            Pool::Shielded => " shielded",
        };
        writeln!(
            out,
            "    height {} tx {}…{pool} output {}: {:>16} {} {:<8}  {} → {}  memo {:?}{}",
            r.height,
            r.tx_id.chars().take(12).collect::<String>(),
            r.output_index,
            ctchain_display::amount::format_grouped(u128::from(r.amount), r.decimals),
            r.asset_label,
            r.kind.as_str(),
            r.sender.as_deref().map_or("-".into(), |s| party(s, r.customer_text(true), r.sender_proven)),
            party(&r.receiver, r.customer_text(false), r.receiver_proven),
            r.memo,
            r.memo_flag()
        )?;
    }
    for n in &not_decrypted {
        write!(out, "    ")?;
        print_not_decrypted(&mut out, n)?;
    }
    let alerts = aml::run(&recs, &rules);
    writeln!(out, "    AML: {} alerts", alerts.len())?;
    for a in &alerts {
        write!(out, "    ")?;
        print_alert(&mut out, a)?;
    }
    Ok(String::from_utf8(out)?)
}
