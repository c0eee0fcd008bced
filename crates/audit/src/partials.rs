//! The file a supervisor hands on after `ctchain-audit partial`: which access record it answers, the last height it
//! covers, and the supervisor's proven partials (confidential, shielded, or both); canonical bytes, written as hex.
//!
//! | field | bytes |
//! |---|---|
//! | magic | `ctchain-partial2` (16) |
//! | access record id | 32 |
//! | covered height | u64 |
//! | supervisor | u32 |
//! | confidential partial | option of [`PartialDecryption`] |
//! | shielded partial | option of [`ShieldedPartial`] |
//!
//! Invariants: both partials, when present, are the named supervisor's; the file decodes only from exactly its bytes.

use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use ctchain_crypto::TxId;

use crate::threshold::PartialDecryption;
use crate::threshold_shielded::ShieldedPartial;

/// What the format starts with, so a file of another version is refused by name.
const PARTIAL_FILE_MAGIC: &[u8; 16] = b"ctchain-partial2";

/// One supervisor's answer to an access record: its partial of the confidential outputs and of the shielded audit
/// copies of the heights covered (each absent when there is nothing of that pool to decrypt, or when the record
/// does not split the shielded key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartialFile {
    /// The access record it answers.
    pub id: TxId,
    /// The last height it covers (a record may authorise heights the chain has not reached yet; a partial covers
    /// what existed when it was made).
    pub covered_to: u64,
    /// The supervisor.
    pub supervisor: u32,
    /// The confidential pool's partial.
    pub confidential: Option<PartialDecryption>,
    /// The shielded pool's partial.
    pub shielded: Option<ShieldedPartial>,
}

impl Encode for PartialFile {
    fn encode_to(&self, w: &mut Writer) {
        w.fixed(PARTIAL_FILE_MAGIC);
        w.put(&self.id);
        w.u64(self.covered_to);
        w.u32(self.supervisor);
        w.option(&self.confidential);
        w.option(&self.shielded);
    }
}

impl Decode for PartialFile {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if r.array::<16>("partial file magic")? != *PARTIAL_FILE_MAGIC {
            return Err(DecodeError::Invalid {
                field: "partial file",
                reason: "not a partial of this version of ctchain-audit (made by an older one? ask for it again)",
            });
        }
        let file = Self {
            id: r.get()?,
            covered_to: r.u64("covered height")?,
            supervisor: r.u32("supervisor")?,
            confidential: r.option("confidential partial")?,
            shielded: r.option("shielded partial")?,
        };
        if file.confidential.as_ref().is_some_and(|p| p.index != file.supervisor)
            || file.shielded.as_ref().is_some_and(|p| p.supervisor != file.supervisor)
        {
            return Err(DecodeError::Invalid {
                field: "partial file",
                reason: "its partials are of another supervisor",
            });
        }
        Ok(file)
    }
}
