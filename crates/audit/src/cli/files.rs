//! Writing a supervisor's files.

use super::*;

/// Writes a supervisor's file (dealings, records, partials, evidence) whole, readable by its owner only.
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ctchain_files::FileError> {
    ctchain_files::write_atomic(path, bytes, ctchain_files::Replace::Allow, ctchain_files::Access::OwnerOnly)
}
