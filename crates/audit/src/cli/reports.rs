//! The audit database and the AML rules: `show` and `aml`.

use super::*;

pub(super) fn load_rules(path: &Path) -> Result<RuleSet> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading rule file {}", path.display()))?;
    RuleSet::from_toml(&text).with_context(|| format!("rule file {}", path.display()))
}

pub(super) fn open_db_for_reading(db: &Path) -> Result<AuditDb> {
    if !db.exists() {
        bail!("no audit database at {}: run `scan` or `combine` first", db.display());
    }
    Ok(AuditDb::open_existing(db)?)
}

pub(super) fn show(db: &Path, from: u64, to: u64, out: &mut dyn Write) -> Result<()> {
    let db = open_db_for_reading(db)?;
    let records = db.annotated_records(from, to)?;
    let missing = db.not_decrypted(from, to)?;
    // In height order: the transactions not decrypted among the records.
    let mut pending = missing.iter().peekable();
    for r in &records {
        while let Some(n) = pending.next_if(|n| n.height < r.height) {
            print_not_decrypted(out, n)?;
        }
        write!(out, "height {} tx {}", r.height, r.tx_id)?;
        print_record(out, r)?;
    }
    for n in pending {
        print_not_decrypted(out, n)?;
    }
    writeln!(out, "{} records", records.len())?;
    print_missing_summary(out, &missing)?;
    Ok(())
}

/// Runs the rules over the records of every database in `dbs` together (one per chain the regulator observes:
/// the consortium chain and each private channel), so that a rule sees a customer's activity on all of them.
pub(super) fn run_aml(dbs: &[PathBuf], rules: &Path, dir: &Path, overwrite: bool, out: &mut dyn Write) -> Result<()> {
    let rules = load_rules(rules)?;
    let mut records = Vec::new();
    let mut missing = Vec::new();
    for path in dbs {
        let db = open_db_for_reading(path)?;
        records.extend(db.annotated_records(0, u64::MAX)?);
        missing.extend(db.not_decrypted(0, u64::MAX)?);
    }
    let alerts = aml::run(&records, &rules);
    let report = report::Report::new(&records, &alerts, &rules)?.with_not_decrypted(&missing);
    let files =
        report.write_dir(dir, if overwrite { report::Overwrite::Replace } else { report::Overwrite::Refuse })?;
    writeln!(out, "{} records, {} alerts", records.len(), alerts.len())?;
    for a in &alerts {
        print_alert(out, a)?;
    }
    // The rules could not judge these: said here and in the reports.
    print_missing_summary(out, &missing)?;
    writeln!(out, "reports: {}, {}, {}", files.json.display(), files.csv.display(), files.html.display())?;
    Ok(())
}

pub(super) fn import_directory(csv: &Path, chain_id: &str, db: &Path, out: &mut dyn Write) -> Result<()> {
    let text = std::fs::read_to_string(csv).with_context(|| format!("reading {}", csv.display()))?;
    let directory = crate::directory::Directory::from_csv(chain_id, &text)
        .with_context(|| format!("directory {} (nothing was changed)", csv.display()))?;
    let db = open_db_for_reading(db)?;
    db.put_directory(&directory)?;
    let banks = directory.banks();
    writeln!(out, "directory: {} customers of {} banks ({})", directory.len(), banks.len(), banks.join(", "))?;
    Ok(())
}

pub(super) fn show_directory(db: &Path, out: &mut dyn Write) -> Result<()> {
    let db = open_db_for_reading(db)?;
    let Some(directory) = db.directory()? else {
        writeln!(out, "no directory: import one with `directory import`")?;
        return Ok(());
    };
    for bank in directory.banks() {
        writeln!(out, "{bank}:")?;
        for customer in directory.customers().filter(|c| c.bank == bank) {
            writeln!(out, "  {}  {}", customer.name, customer.address)?;
        }
    }
    writeln!(out, "{} customers", directory.len())?;
    Ok(())
}
