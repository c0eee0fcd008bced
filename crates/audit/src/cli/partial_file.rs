//! The partial-decryption file a supervisor hands on: the access record's id, the last height it covers, the proven partial; canonical bytes, hex.

use super::*;

/// A partial file: the access record id it answers, the last height it covers (a record may authorise heights the
/// chain has not reached yet; a partial covers what existed when it was made), then the partial; canonical bytes, hex.
pub(super) fn write_partial(path: &Path, id: &TxId, covered_to: u64, partial: &PartialDecryption) -> Result<()> {
    let mut w = Writer::new();
    w.put(id);
    w.u64(covered_to);
    w.put(partial);
    if path.exists() {
        bail!("{} already exists; nothing was written", path.display());
    }
    Ok(write_private(path, hex::encode(w.into_bytes()).as_bytes())?)
}

pub(super) fn read_partial(path: &Path) -> Result<(TxId, u64, PartialDecryption)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = hex::decode(text.trim()).with_context(|| format!("{} is not hex", path.display()))?;
    let mut r = Reader::new(&bytes);
    let parsed = (|| Ok::<_, ctchain_codec::DecodeError>((r.get()?, r.u64("covered height")?, r.get()?)))();
    let (id, covered_to, partial) =
        parsed.with_context(|| format!("{} is not a partial decryption", path.display()))?;
    r.finish().with_context(|| format!("{} has trailing bytes", path.display()))?;
    Ok((id, covered_to, partial))
}
