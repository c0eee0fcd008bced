//! Reading and writing a supervisor's partial-decryption file ([`crate::partials::PartialFile`]), as hex.

use super::*;

pub(super) fn write_partial(path: &Path, file: &PartialFile) -> Result<()> {
    if path.exists() {
        bail!("{} already exists; nothing was written", path.display());
    }
    Ok(write_private(path, hex::encode(file.to_bytes()).as_bytes())?)
}

pub(super) fn read_partial(path: &Path) -> Result<PartialFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = hex::decode(text.trim()).with_context(|| format!("{} is not hex", path.display()))?;
    PartialFile::from_bytes(&bytes).with_context(|| format!("{} is not a partial decryption", path.display()))
}
