//! The node-level direct messages: consensus messages, and log sync (catch-up from disk for lagging validators and observers; every entry carries its commit certificate, so the peer that serves it need not be trusted).

use super::*;

/// Node-level direct messages: consensus messages, and log sync (catch-up from disk for lagging validators and
/// observers; every entry carries its commit certificate, so the peer that serves it need not be trusted).
pub enum Wire {
    /// A PBFT message, decoded and checked by the core.
    Consensus(Vec<u8>),
    /// Asks for committed log entries `from..=to`.
    SyncRequest {
        /// First sequence number.
        from: u64,
        /// Last sequence number.
        to: u64,
    },
    /// Committed log entries with their certificates.
    SyncResponse(Vec<LogEntry>),
}

impl Encode for Wire {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Wire::Consensus(bytes) => {
                w.u8(0);
                w.bytes(bytes);
            }
            Wire::SyncRequest { from, to } => {
                w.u8(1);
                w.u64(*from);
                w.u64(*to);
            }
            Wire::SyncResponse(entries) => {
                w.u8(2);
                w.len(entries.len());
                for e in entries {
                    w.put(e);
                }
            }
        }
    }
}

impl Decode for Wire {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("wire tag")? {
            0 => Ok(Wire::Consensus(r.bytes("consensus message", 64 << 20)?.to_vec())),
            1 => Ok(Wire::SyncRequest { from: r.u64("sync from")?, to: r.u64("sync to")? }),
            2 => {
                let n = r.len("sync entries", SYNC_BATCH as usize)?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    entries.push(r.get()?);
                }
                Ok(Wire::SyncResponse(entries))
            }
            tag => Err(DecodeError::InvalidTag { field: "wire tag", tag: u32::from(tag) }),
        }
    }
}
