//! The node-level direct messages: consensus messages, and log sync (catch-up from disk for lagging validators and observers; every entry carries its commit certificate, so the peer that serves it need not be trusted).

use super::snapshots::SnapshotOffer;
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
    /// Asks which state snapshots the peer holds.
    SnapshotOffersRequest,
    /// The state snapshots this node holds (at most a few).
    SnapshotOffers(Vec<SnapshotOffer>),
    /// Asks for the state of the snapshot at `height` from byte `offset` on.
    SnapshotChunkRequest {
        /// Its height.
        height: u64,
        /// First byte wanted.
        offset: u64,
    },
    /// A piece of a snapshot's state.
    SnapshotChunk {
        /// Its height.
        height: u64,
        /// Where the piece starts.
        offset: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// The log entries asked for were pruned: this node's log starts at `first` (take a snapshot).
    SyncPruned {
        /// The first entry this node still holds.
        first: u64,
    },
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
            Wire::SnapshotOffersRequest => w.u8(3),
            Wire::SnapshotOffers(offers) => {
                w.u8(4);
                w.len(offers.len());
                for o in offers {
                    w.put(o);
                }
            }
            Wire::SnapshotChunkRequest { height, offset } => {
                w.u8(5);
                w.u64(*height);
                w.u64(*offset);
            }
            Wire::SnapshotChunk { height, offset, bytes } => {
                w.u8(6);
                w.u64(*height);
                w.u64(*offset);
                w.bytes(bytes);
            }
            Wire::SyncPruned { first } => {
                w.u8(7);
                w.u64(*first);
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
            3 => Ok(Wire::SnapshotOffersRequest),
            4 => {
                let n = r.len("snapshot offers", 16)?;
                let mut offers = Vec::with_capacity(n);
                for _ in 0..n {
                    offers.push(r.get()?);
                }
                Ok(Wire::SnapshotOffers(offers))
            }
            5 => {
                Ok(Wire::SnapshotChunkRequest { height: r.u64("snapshot height")?, offset: r.u64("snapshot offset")? })
            }
            6 => Ok(Wire::SnapshotChunk {
                height: r.u64("snapshot height")?,
                offset: r.u64("snapshot offset")?,
                bytes: r.bytes("snapshot chunk", 64 << 20)?.to_vec(),
            }),
            7 => Ok(Wire::SyncPruned { first: r.u64("first logged")? }),
            tag => Err(DecodeError::InvalidTag { field: "wire tag", tag: u32::from(tag) }),
        }
    }
}
