//! State snapshots: the ledger's state at one height, for a node that joins late or lost its disk, so that it
//! need not replay the chain from the genesis.
//!
//! A snapshot holds the block at its height and every entry of the state's column families: outputs, spends,
//! the unspent set, supply and its history, nullifiers, the transaction index, the epochs and the chain's
//! metadata (tip, the consortium's registry, shielded pool frontier and recent roots). Of the blocks below it, it
//! holds only those with governance transactions (the governance history): with their commit certificates, which
//! travel beside the snapshot, they take a restore from the genesis validators to the validators of the snapshot's
//! epoch ([`crate::finality::EpochTracker`]), and a node restored from one serves them to light clients and to the
//! next node restoring. It holds no audit-access or note history: a node restored from one serves the chain from
//! its height on.
//!
//! Invariants:
//! * The encoding is canonical (entries strictly ordered by column family, then key) and a function of the ledger
//!   state alone: every honest node makes byte-identical snapshots at one height, so peers can vouch for one by
//!   its digest ([`StateSnapshot::digest`]). The commit certificate is not part of it (nodes hold different
//!   quorums of signatures for one block).
//! * A restore ([`crate::Ledger::restore_snapshot`]) accepts a snapshot only if its governance history, each block
//!   certified by the validators of its epoch, leads from the genesis to exactly the snapshot's registry and
//!   epochs, the block carries a valid commit certificate of its epoch's validators, the state recomputed from the
//!   entries has exactly the state root of that block's header, and the tip the entries name is that header. What the state root does not cover (the
//!   transaction index, the shielded pool's recent roots) is why a node takes a snapshot only when `f + 1` peers
//!   offer the same digest.

use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Sm3Hasher, Writer};

use crate::store::Cf;
use crate::types::Block;

/// The column families a snapshot carries whole.
pub const STATE_CFS: [Cf; 9] =
    [Cf::Meta, Cf::Txs, Cf::Outputs, Cf::Spent, Cf::Unspent, Cf::Supply, Cf::SupplyHistory, Cf::Nullifiers, Cf::Epochs];

/// Longest key a snapshot entry may have (every key of the state is at most a few dozen bytes).
const MAX_KEY_BYTES: usize = 256;
/// Longest value a snapshot entry may have (the stored genesis is the largest).
const MAX_VALUE_BYTES: usize = 16 << 20;
/// Most entries one snapshot may hold.
const MAX_ENTRIES: usize = 1 << 30;
/// Most governance blocks one snapshot may hold.
pub const MAX_GOVERNANCE_BLOCKS: usize = 1 << 16;

/// The ledger state at one height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateSnapshot {
    /// The block at the snapshot's height: its header carries the state root the entries are checked against.
    pub block: Block,
    /// `(column family, key, value)`, strictly ordered by column family (in [`STATE_CFS`] order), then key.
    pub(crate) entries: Vec<(Cf, Vec<u8>, Vec<u8>)>,
    /// Every block up to the snapshot's height that holds governance transactions, in height order (their
    /// certificates travel beside the snapshot: nodes hold different quorums).
    pub governance: Vec<Block>,
}

impl StateSnapshot {
    /// Its height.
    pub fn height(&self) -> u64 {
        self.block.header.height
    }

    /// Number of state entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no state entry (never true of a snapshot a ledger made).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The state entries, in order.
    pub fn entries(&self) -> impl Iterator<Item = (Cf, &[u8], &[u8])> {
        self.entries.iter().map(|(cf, k, v)| (*cf, k.as_slice(), v.as_slice()))
    }

    /// A snapshot from its parts (for tools and tests); refuses entries that are not strictly ordered or name a
    /// column family a snapshot does not carry.
    pub fn from_parts(
        block: Block,
        entries: Vec<(Cf, Vec<u8>, Vec<u8>)>,
        governance: Vec<Block>,
    ) -> Result<Self, DecodeError> {
        let mut w = Writer::new();
        Self { block, entries, governance }.encode_to(&mut w);
        Self::from_bytes(w.as_bytes())
    }

    /// `SM3("ctchain/state-snapshot/v2", encoding)`: what peers vouch for (v2: with the governance history).
    pub fn digest(&self) -> Hash32 {
        Sm3Hasher::digest("ctchain/state-snapshot/v2", &self.to_bytes())
    }
}

/// The tag of a state column family; any other is encoded out of range (and so refused by the decoder).
fn cf_index(cf: Cf) -> u8 {
    STATE_CFS.iter().position(|c| *c == cf).map_or(u8::MAX, |i| i as u8)
}

impl Encode for StateSnapshot {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.block);
        w.len(self.entries.len());
        for (cf, key, value) in &self.entries {
            w.u8(cf_index(*cf));
            w.bytes(key);
            w.bytes(value);
        }
        w.len(self.governance.len());
        for block in &self.governance {
            w.put(block);
        }
    }
}

impl Decode for StateSnapshot {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let block: Block = r.get()?;
        let n = r.len("snapshot entries", MAX_ENTRIES)?;
        let mut entries: Vec<(Cf, Vec<u8>, Vec<u8>)> = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            let tag = r.u8("snapshot column family")?;
            let cf = *STATE_CFS
                .get(tag as usize)
                .ok_or(DecodeError::InvalidTag { field: "snapshot column family", tag: u32::from(tag) })?;
            let key = r.bytes("snapshot key", MAX_KEY_BYTES)?.to_vec();
            let value = r.bytes("snapshot value", MAX_VALUE_BYTES)?.to_vec();
            if let Some((last_cf, last_key, _)) = entries.last() {
                if (cf_index(*last_cf), last_key.as_slice()) >= (tag, key.as_slice()) {
                    return Err(DecodeError::Invalid {
                        field: "snapshot entries",
                        reason: "not strictly ordered by column family and key",
                    });
                }
            }
            entries.push((cf, key, value));
        }
        let n = r.len("snapshot governance blocks", MAX_GOVERNANCE_BLOCKS)?;
        let mut governance: Vec<Block> = Vec::with_capacity(n.min(1 << 10));
        for _ in 0..n {
            let b: Block = r.get()?;
            let invalid = |reason| DecodeError::Invalid { field: "snapshot governance blocks", reason };
            if governance.last().is_some_and(|last| last.header.height >= b.header.height) {
                return Err(invalid("not strictly ordered by height"));
            }
            if b.header.height > block.header.height {
                return Err(invalid("a block above the snapshot's"));
            }
            if !b.txs.iter().any(|t| matches!(t, crate::LedgerTx::Governance(_))) {
                return Err(invalid("a block without governance transactions"));
            }
            governance.push(b);
        }
        Ok(Self { block, entries, governance })
    }
}
