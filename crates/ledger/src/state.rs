//! What the ledger stores about outputs, spends and supply, and how that state is committed to.
//!
//! # The state root
//! The state is a set of elements:
//!
//! * `utxo ‖ output id ‖ SM3(output)` for every unspent output (an output whose commitment is the identity is
//!   unspendable and counted as neither),
//! * `spent ‖ output id ‖ spending transaction id` for every spent output,
//! * `supply ‖ asset ‖ issued ‖ burned ‖ fees` for every listed asset,
//! * `registry ‖ SM3(registry)` once: the consortium's members, nodes, revocations, assets, policy and epochs
//!   ([`ctchain_governance::Registry`]).
//!
//! Its root is `SM3("ctchain/state-root/v1", genesis hash ‖ ECMH(elements))` where ECMH is the elliptic-curve
//! multiset hash ([`ctchain_crypto::MultisetHash`]). Applying a block removes and inserts only the elements it
//! touches, so the root is updated in time proportional to the block, not to the ledger; and since a multiset hash
//! does not depend on order, any node can recompute it from its database alone ([`crate::Ledger::recompute_state_root`])
//! and compare with the header.

use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Sm3Hasher, Writer};
use ctchain_crypto::{AssetId, MultisetHash, Output, OutputId, TxId};

/// Where a committed transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Index in the block.
    pub index: u32,
}

/// An output and where it was created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputRecord {
    /// Its id.
    pub id: OutputId,
    /// The transaction that created it.
    pub tx_id: TxId,
    /// Its index among that transaction's outputs.
    pub index: u32,
    /// The block height that created it.
    pub height: u64,
    /// The output itself (public data only: commitments, keys, handles, ciphertexts).
    pub output: Output,
}

/// Which transaction spent an output, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpentRecord {
    /// The spending transaction.
    pub tx_id: TxId,
    /// The height of its block.
    pub height: u64,
}

/// An asset's public supply counters, a turnstile per pool: the confidential pool holds exactly
/// `issued + unshielded − burned − fees − shielded` of it, the shielded pool `shielded − unshielded`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Supply {
    /// Total ever issued.
    pub issued: u128,
    /// Total ever burned (redeemed).
    pub burned: u128,
    /// Total ever paid as fees.
    pub fees: u128,
    /// Total ever moved into the shielded pool.
    pub shielded: u128,
    /// Total ever moved out of the shielded pool.
    pub unshielded: u128,
}

impl Supply {
    /// What exists in both pools together: issued minus burned minus fees.
    pub fn outstanding(&self) -> u128 {
        self.issued - self.burned - self.fees
    }

    /// What the confidential pool holds.
    pub fn confidential_pool(&self) -> u128 {
        self.outstanding() + self.unshielded - self.shielded
    }

    /// What the shielded pool holds.
    pub fn shielded_pool(&self) -> u128 {
        self.shielded - self.unshielded
    }

    /// Whether the counters are consistent: nothing leaves a pool that did not enter it, and nothing leaves
    /// both pools together that was not issued.
    pub fn is_consistent(&self) -> bool {
        let destroyed = self.burned.checked_add(self.fees);
        let left_confidential = destroyed.and_then(|d| d.checked_add(self.shielded));
        let entered_confidential = self.issued.checked_add(self.unshielded);
        matches!((destroyed, left_confidential, entered_confidential),
            (Some(d), Some(l), Some(e)) if d <= self.issued && l <= e && self.unshielded <= self.shielded)
    }
}

fn put_u128(w: &mut Writer, v: u128) {
    w.fixed(&v.to_le_bytes());
}

fn get_u128(r: &mut Reader<'_>, field: &'static str) -> Result<u128, DecodeError> {
    Ok(u128::from_le_bytes(r.array(field)?))
}

impl Encode for TxLocation {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.height);
        w.u32(self.index);
    }
}

impl Decode for TxLocation {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { height: r.u64("height")?, index: r.u32("index")? })
    }
}

impl Encode for OutputRecord {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.id);
        w.put(&self.tx_id);
        w.u32(self.index);
        w.u64(self.height);
        w.put(&self.output);
    }
}

impl Decode for OutputRecord {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { id: r.get()?, tx_id: r.get()?, index: r.u32("index")?, height: r.u64("height")?, output: r.get()? })
    }
}

impl Encode for SpentRecord {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.tx_id);
        w.u64(self.height);
    }
}

impl Decode for SpentRecord {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { tx_id: r.get()?, height: r.u64("height")? })
    }
}

impl Encode for Supply {
    fn encode_to(&self, w: &mut Writer) {
        put_u128(w, self.issued);
        put_u128(w, self.burned);
        put_u128(w, self.fees);
        put_u128(w, self.shielded);
        put_u128(w, self.unshielded);
    }
}

impl Decode for Supply {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let s = Self {
            issued: get_u128(r, "issued")?,
            burned: get_u128(r, "burned")?,
            fees: get_u128(r, "fees")?,
            shielded: get_u128(r, "shielded")?,
            unshielded: get_u128(r, "unshielded")?,
        };
        if !s.is_consistent() {
            return Err(DecodeError::Invalid { field: "supply", reason: "more left a pool than entered it" });
        }
        Ok(s)
    }
}

/// What spending an unspent output needs, kept in the unspent set so that a spend reads 96 bytes instead of
/// decoding the whole output. Encodings are canonical, so comparing bytes compares points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnspentEntry {
    /// The output's whole-amount commitment.
    pub commitment: [u8; 32],
    /// Its one-time owner key.
    pub owner_key: [u8; 32],
    /// `SM3("ctchain/output/v1", output)`, as committed in the state root.
    pub output_hash: Hash32,
}

impl UnspentEntry {
    /// The entry of an output. `None` if its commitment is the identity (no input can spend it).
    pub fn of(output: &Output) -> Option<Self> {
        Some(Self {
            commitment: *output.commitment()?.as_bytes(),
            owner_key: *output.one_time_key.as_bytes(),
            output_hash: output_hash(output),
        })
    }
}

impl Encode for UnspentEntry {
    fn encode_to(&self, w: &mut Writer) {
        w.fixed(&self.commitment);
        w.fixed(&self.owner_key);
        w.put(&self.output_hash);
    }
}

impl Decode for UnspentEntry {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { commitment: r.array("commitment")?, owner_key: r.array("owner key")?, output_hash: r.get()? })
    }
}

/// The hash of an output's encoding.
pub fn output_hash(output: &Output) -> Hash32 {
    Sm3Hasher::digest("ctchain/output/v1", output.to_bytes())
}

/// The state element of an unspent output.
pub(crate) fn utxo_element(id: &OutputId, output_hash: &Hash32) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(b"utxo");
    w.put(id);
    w.put(output_hash);
    w.into_bytes()
}

/// The state element of a spent output.
pub(crate) fn spent_element(id: &OutputId, spent: &SpentRecord) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(b"spent");
    w.put(id);
    w.put(&spent.tx_id);
    w.into_bytes()
}

/// The state element of an asset's supply.
pub(crate) fn supply_element(asset: &AssetId, supply: &Supply) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(b"supply");
    w.put(asset);
    w.put(supply);
    w.into_bytes()
}

/// The state element of a revealed nullifier.
pub(crate) fn nullifier_element(nullifier: &ctchain_circuits::Nullifier, tx_id: &TxId) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(b"nullifier");
    w.put(nullifier);
    w.put(tx_id);
    w.into_bytes()
}

/// The state element of the note tree (its size and root; the leaves are fixed by the blocks).
pub(crate) fn note_tree_element(frontier: &ctchain_circuits::Frontier) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(b"note-tree");
    w.u64(frontier.size());
    w.put(&frontier.root());
    w.into_bytes()
}

/// The state element of the consortium's registry (its digest; the registry itself is stored whole).
pub(crate) fn registry_element(digest: &Hash32) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(b"registry");
    w.put(digest);
    w.into_bytes()
}

/// The state root committed in a header.
pub(crate) fn state_root(genesis_hash: &Hash32, acc: &MultisetHash) -> Hash32 {
    let mut h = Sm3Hasher::new("ctchain/state-root/v1");
    h.update(genesis_hash.as_bytes()).update(acc.to_bytes());
    h.finish()
}
