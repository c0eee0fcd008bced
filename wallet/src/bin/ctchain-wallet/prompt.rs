//! Passwords and key-derivation strength, from files, the environment or the terminal.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{bail, Context};
use ctchain_keystore::KdfParams;
use zeroize::Zeroizing;

/// The key derivation for a new keystore.
pub fn kdf(insecure: bool) -> KdfParams {
    if insecure {
        KdfParams::TEST_ONLY
    } else {
        KdfParams::INTERACTIVE
    }
}

/// The password: `file` (its first line), then the environment variable `env`, then a prompt (twice when
/// creating a keystore, and never empty then).
pub fn password(file: Option<&Path>, env: &str, prompt: &str, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    if let Some(path) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).with_context(|| format!("reading password file {}", path.display()))?,
        );
        return Ok(Zeroizing::new(text.lines().next().unwrap_or("").to_owned()));
    }
    if let Ok(p) = std::env::var(env) {
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no password: use --password-file or {env} when not running in a terminal");
    }
    let first = Zeroizing::new(rpassword::prompt_password(format!("{prompt}: "))?);
    if confirm {
        if first.is_empty() {
            bail!("an empty password is not allowed");
        }
        let second = Zeroizing::new(rpassword::prompt_password("Repeat it: ")?);
        if *first != *second {
            bail!("the passwords differ");
        }
    }
    Ok(first)
}
