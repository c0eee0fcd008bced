//! A transaction's canonical bytes, carried from the door to the disk.
//!
//! A node receives a transaction as bytes, by RPC, by gossip or inside a proposed block. [`EncodedTx`] keeps those
//! bytes with their Merkle leaf hash, taken once; the verified types carry it, so that a proposal, a block's
//! transaction root, the gossip relay and the stored block all reuse it instead of encoding or hashing again.
//! [`EncodedBlock`] is a block split into its transactions' bytes without decoding them: a backup decodes only
//! the transactions it has not verified before.
//!
//! Because the encoding is canonical (one byte string per transaction, enforced by the decoders), the leaf hash
//! names a transaction's exact bytes: two copies with the same leaf are the same transaction, witnesses included.

use std::sync::Arc;

use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Writer};
use ctchain_crypto::Transaction;
use rayon::prelude::*;

use crate::types::{read_tx_list, Block, BlockHeader, LedgerTx, TxTag};
use crate::{merkle, work};

/// The canonical (tagged) bytes of one ledger transaction and their Merkle leaf hash.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedTx {
    bytes: Arc<[u8]>,
    leaf: Hash32,
}

impl std::fmt::Debug for EncodedTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedTx").field("leaf", &self.leaf).field("len", &self.bytes.len()).finish()
    }
}

impl EncodedTx {
    /// Bytes as received, not yet decoded; their leaf hash is taken here, once.
    pub fn new(bytes: impl Into<Arc<[u8]>>) -> Self {
        let bytes = bytes.into();
        work::count_leaf_hashed();
        let leaf = merkle::leaf_hash(&bytes);
        Self { bytes, leaf }
    }

    /// Encodes a transaction built or held in memory (once).
    pub fn of(tx: &LedgerTx) -> Self {
        Self::new(tx.to_bytes())
    }

    /// Encodes a confidential transaction as a ledger transaction, without copying it into a [`LedgerTx`].
    pub fn confidential(tx: &Transaction) -> Self {
        work::count_encoded();
        let mut w = Writer::new();
        w.u8(TxTag::Confidential as u8);
        w.put(tx);
        Self::new(w.into_bytes())
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, shared (no copy).
    pub fn shared_bytes(&self) -> Arc<[u8]> {
        self.bytes.clone()
    }

    /// The Merkle leaf hash of the bytes: the transaction's leaf in its block's transaction root.
    pub fn leaf(&self) -> Hash32 {
        self.leaf
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether there are no bytes (never a valid transaction).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Decodes the transaction (refusing non-canonical bytes).
    pub fn decode(&self) -> Result<LedgerTx, DecodeError> {
        LedgerTx::from_bytes(&self.bytes)
    }

    /// Decodes the transaction and keeps it with these bytes, for checks that need both.
    pub fn into_decoded(self) -> Result<DecodedTx, DecodeError> {
        Ok(DecodedTx { tx: self.decode()?, encoded: self })
    }
}

/// A transaction together with its canonical bytes: decoded from them, or encoded into them. Only
/// [`EncodedTx::into_decoded`] and [`DecodedTx::of`] make one, so the two always agree.
#[derive(Clone, Debug)]
pub struct DecodedTx {
    tx: LedgerTx,
    encoded: EncodedTx,
}

impl DecodedTx {
    /// A transaction held in memory, encoded once.
    pub fn of(tx: LedgerTx) -> Self {
        Self { encoded: EncodedTx::of(&tx), tx }
    }

    /// The transaction.
    pub fn tx(&self) -> &LedgerTx {
        &self.tx
    }

    /// Its bytes.
    pub fn encoded(&self) -> &EncodedTx {
        &self.encoded
    }

    /// The two parts.
    pub(crate) fn into_parts(self) -> (LedgerTx, EncodedTx) {
        (self.tx, self.encoded)
    }
}

/// A block as its header and its transactions' bytes: what a backup receives, split without decoding the
/// transactions. The same encoding as [`Block`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedBlock {
    /// The header.
    pub header: BlockHeader,
    /// The transactions' bytes, in execution order.
    pub txs: Vec<EncodedTx>,
}

impl EncodedBlock {
    /// The Merkle root of the transactions' leaves (hashed when they were received).
    pub fn tx_root(&self) -> Hash32 {
        merkle::root(&self.txs.iter().map(EncodedTx::leaf).collect::<Vec<_>>())
    }

    /// Decodes every transaction: the plain block.
    pub fn decode(&self) -> Result<Block, DecodeError> {
        let txs = self.txs.iter().map(EncodedTx::decode).collect::<Result<_, _>>()?;
        Ok(Block { header: self.header.clone(), txs })
    }
}

impl Encode for EncodedBlock {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.header);
        w.len(self.txs.len());
        for tx in &self.txs {
            w.bytes(tx.bytes());
        }
    }
}

impl Decode for EncodedBlock {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = r.get()?;
        let slices = read_tx_list(r)?;
        // Leaf hashes of a full block are megabytes of SM3: spread them over the cores.
        let txs = slices.into_par_iter().map(|bytes| EncodedTx::new(bytes)).collect();
        Ok(Self { header, txs })
    }
}
