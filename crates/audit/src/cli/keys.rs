//! Keystores and passwords: creating a whole audit key or a k-of-n split, importing testnet secrets, opening them.

use super::*;

pub(super) fn password(file: Option<&Path>) -> Result<Zeroizing<String>> {
    if let Some(path) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).with_context(|| format!("reading password file {}", path.display()))?,
        );
        return Ok(Zeroizing::new(text.lines().next().unwrap_or_default().to_string()));
    }
    if let Ok(p) = std::env::var("CTCHAIN_AUDIT_PASSWORD") {
        return Ok(Zeroizing::new(p));
    }
    Ok(Zeroizing::new(rpassword::prompt_password("Audit keystore password: ")?))
}

/// A new keystore's password: from the file or environment as usual, or typed twice (a typo would lock the key
/// away for good); never empty.
pub(super) fn new_password(file: Option<&Path>) -> Result<Zeroizing<String>> {
    let chosen = if file.is_some() || std::env::var_os("CTCHAIN_AUDIT_PASSWORD").is_some() {
        password(file)?
    } else {
        let first = Zeroizing::new(rpassword::prompt_password("New audit keystore password: ")?);
        let second = Zeroizing::new(rpassword::prompt_password("Repeat it: ")?);
        if first != second {
            bail!("the passwords differ; nothing was written");
        }
        first
    };
    if chosen.is_empty() {
        bail!("an empty password is not allowed");
    }
    Ok(chosen)
}

/// Writes new whole keys, or splits keys (`existing`, else new ones) `k`-of-`n`: the confidential key always, the
/// shielded key when there is one, for the same supervisors.
#[allow(clippy::too_many_arguments)]
pub(super) fn keygen(
    chain_id: &str,
    path: &Path,
    threshold: Option<u32>,
    shares: Option<u32>,
    existing: Option<RegulatorKeys>,
    pw: &str,
    kdf: KdfParams,
    out: &mut dyn Write,
) -> Result<()> {
    let (Some(k), Some(n)) = (threshold, shares) else {
        return write_keys(chain_id, &RegulatorKeys::generate(&mut OsRng), path, pw, kdf, out);
    };
    let from_keystore = existing.is_some();
    let keys = existing.unwrap_or_else(|| RegulatorKeys::generate(&mut OsRng));
    let public = keys.confidential_public_hex();
    let shielded_public = keys.shielded_public_hex();
    let (dealing, key_shares) = threshold::split(&keys.confidential, k, n, &mut OsRng)?;
    let shielded = match &keys.shielded {
        Some(secret) => Some(threshold_shielded::split_shielded(secret, k, n, &mut OsRng)?),
        None => None,
    };
    // The whole secrets are dropped (and zeroised) here: from now on only the shares exist (and, with --split,
    // the keystore they came from).
    drop(keys);
    let supervisors: Vec<SupervisorKeys> = key_shares
        .into_iter()
        .enumerate()
        .map(|(i, share)| SupervisorKeys {
            share,
            dealing: dealing.clone(),
            shielded: shielded.as_ref().map(|(d, s)| (s[i].clone(), d.clone())),
        })
        .collect();
    let dealings = Dealings { confidential: dealing, shielded: shielded.map(|(d, _)| d) };
    let files: Vec<PathBuf> = (1..=n).map(|j| path.join(format!("supervisor-{j}.json"))).collect();
    let dealing_path = path.join("dealing.hex");
    if let Some(existing) = files.iter().chain([&dealing_path]).find(|p| p.exists()) {
        bail!("{} already exists; nothing was written", existing.display());
    }
    let sealed = supervisors
        .iter()
        .map(|s| {
            KeystoreFile::seal_audit(
                chain_id,
                KeyKind::AuditShare,
                public.clone(),
                &s.to_keystore_bytes(),
                pw.as_bytes(),
                kdf,
                &mut OsRng,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    // Written one by one; if any write fails, the ones already written are removed, so no partial split remains.
    let mut written = Vec::new();
    let result = (|| -> Result<()> {
        for (file, sealed) in files.iter().zip(&sealed) {
            sealed.write(file, false)?;
            written.push(file.clone());
        }
        write_private(&dealing_path, hex::encode(dealings.to_bytes()).as_bytes())?;
        Ok(())
    })();
    if let Err(e) = result {
        for f in written {
            let _ = std::fs::remove_file(f);
        }
        return Err(e);
    }
    let pools = if dealings.shielded.is_some() { "both pools' audit keys" } else { "the confidential audit key" };
    writeln!(
        out,
        "{pools} split {k}-of-{n}: {} (one keystore per supervisor), public dealing {}",
        path.display(),
        dealing_path.display()
    )?;
    writeln!(out, "audit public key (for the genesis audit_keys): {public}")?;
    match shielded_public {
        Some(key) => writeln!(out, "shielded audit public key (for the genesis [shielded] audit_key): {key}")?,
        None => writeln!(
            out,
            "no shielded audit key: shielded outputs will be reported as not decryptable with this split"
        )?,
    }
    if from_keystore {
        writeln!(
            out,
            "the whole keystore still exists: destroy it once every supervisor holds a share, or the split protects \
             nothing"
        )?;
    }
    Ok(())
}

/// Seals `keys` into a new keystore at `path` and prints the public keys the genesis takes.
pub(super) fn write_keys(
    chain_id: &str,
    keys: &RegulatorKeys,
    path: &Path,
    pw: &str,
    kdf: KdfParams,
    out: &mut dyn Write,
) -> Result<()> {
    keys.seal(chain_id, pw.as_bytes(), kdf, &mut OsRng)?.write(path, false)?;
    writeln!(out, "audit keys written to {}", path.display())?;
    writeln!(out, "audit public key (for the genesis audit_keys): {}", keys.confidential_public_hex())?;
    match keys.shielded_public_hex() {
        Some(public) => writeln!(out, "shielded audit public key (for the genesis [shielded] audit_key): {public}")?,
        None => writeln!(
            out,
            "no shielded audit key: shielded outputs will be reported as not decryptable without the shielded audit key"
        )?,
    }
    Ok(())
}

pub(super) fn import(
    chain_id: &str,
    secrets: &Path,
    path: &Path,
    pw: &str,
    kdf: KdfParams,
    out: &mut dyn Write,
) -> Result<()> {
    let text = Zeroizing::new(
        std::fs::read_to_string(secrets).with_context(|| format!("reading secrets file {}", secrets.display()))?,
    );
    let keys =
        RegulatorKeys::from_secrets_json(&text).with_context(|| format!("secrets file {}", secrets.display()))?;
    write_keys(chain_id, &keys, path, pw, kdf, out)
}

pub(super) fn open_whole(path: &Path, pw: &str) -> Result<RegulatorKeys> {
    let file = KeystoreFile::read(path)?;
    RegulatorKeys::open(&file, pw.as_bytes()).with_context(|| format!("audit keystore {}", path.display()))
}

pub(super) fn open_share(path: &Path, pw: &str) -> Result<SupervisorKeys> {
    let file = KeystoreFile::read(path)?;
    let bytes = file
        .open_audit(pw.as_bytes(), KeyKind::AuditShare)
        .with_context(|| format!("share keystore {}", path.display()))?;
    SupervisorKeys::from_keystore_bytes(&bytes).with_context(|| format!("share keystore {}", path.display()))
}
