//! The wallet's local state: what it found on chain and what it sent, in one JSON file next to the keystore.
//!
//! ```json
//! {
//!   "format": "ctchain-wallet-store", "version": 1,
//!   "chain_id": "ctchain-demo-1", "genesis_hash": "<hex>", "address": "ctchaindemo11…",
//!   "scanned_height": 42,
//!   "outputs": [ { "output_id", "tx_id", "index", "height", "asset", "amount", "sender", "memo", "output",
//!                  "spent_by", "spent_height" } ],
//!   "sent":    [ { "tx_id", "kind", "status", "reason", "height", "created_ms", "inputs", "payments",
//!                  "change", "public", "hex" } ],
//!   "block_times": { "12": 1700000012000 },
//!   "bad_outputs": [ { "output_id", "reason" } ],
//!   "shielded": { "frontier", "tree_size", "height",
//!                 "notes": [ { "position", "commitment", "tx_id", "height", "asset", "value", "note",
//!                              "nullifier", "witness", "spent_by", "spent_height" } ],
//!                 "bad_notes": [ { "commitment", "reason" } ] }
//! }
//! ```
//!
//! It holds amounts and memos in clear but no key material: an output is spent by decrypting its memo again from
//! the stored canonical `output` with the keystore's keys. It is rewritten whole by write-then-rename after every
//! scanned page and every sent transaction, so `sync` resumes where it stopped and a crash loses at most the
//! page in progress. Deleting it is harmless: the next `sync` rebuilds it from the chain (all but the
//! counterparties of what this wallet sent, which only the local record knows).
//!
//! The shielded part follows the whole note tree: its frontier, and for each note of this wallet the note
//! itself (its opening), its nullifier and its witness (authentication path), all canonical encodings in hex.
//! None of it spends without the spending key. It is replaced only together with a frontier whose root the
//! node confirmed, so a crash or a lying node never leaves a tree the chain does not have. Stores written
//! before the shielded pool existed load with an empty shielded part.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, WalletError};

const FORMAT: &str = "ctchain-wallet-store";
const VERSION: u32 = 1;

/// An output this wallet owns (spent or not).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedRecord {
    /// Output id (hex).
    pub output_id: String,
    /// Creating transaction (hex).
    pub tx_id: String,
    /// Index among its outputs.
    pub index: u32,
    /// Creating block's height.
    pub height: u64,
    /// Asset id (hex).
    pub asset: String,
    /// Amount in base units (from the verified memo opening).
    pub amount: u64,
    /// Sender's address as its memo states it (`None` for an issuance).
    pub sender: Option<String>,
    /// The sender's note.
    pub memo: String,
    /// Canonical output bytes (hex), from which the spending secrets are derived again with the keys.
    pub output: String,
    /// The transaction that spent it.
    pub spent_by: Option<String>,
    /// Height at which it was spent.
    pub spent_height: Option<u64>,
}

/// Where a transaction this wallet built stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentStatus {
    /// Submitted (or about to be), not yet seen committed.
    Pending,
    /// In a committed block.
    Committed,
    /// Refused by the node or dropped: its inputs are free again.
    Rejected,
}

/// A payment in a sent transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentPayment {
    /// Recipient address.
    pub to: String,
    /// Asset id (hex).
    pub asset: String,
    /// Base units.
    pub amount: u64,
    /// Note.
    pub memo: String,
}

/// An issuance, burn or fee in a sent transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentPublic {
    /// `issue`, `burn` or `fee`.
    pub kind: String,
    /// Asset id (hex).
    pub asset: String,
    /// Base units.
    pub amount: u64,
}

/// A transaction this wallet built, with what only the sender knows (recipients, notes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRecord {
    /// Transaction id (hex).
    pub tx_id: String,
    /// `transfer`, `issue` or `burn`.
    pub kind: String,
    /// Status.
    pub status: SentStatus,
    /// The node's reason for a rejection.
    pub reason: Option<String>,
    /// Height once committed.
    pub height: Option<u64>,
    /// When it was built, ms since the Unix epoch.
    pub created_ms: u64,
    /// Output ids (hex) it spends.
    pub inputs: Vec<String>,
    /// Payments to others or to self (not change).
    pub payments: Vec<SentPayment>,
    /// Change back to this wallet, per asset (hex id, base units).
    pub change: Vec<(String, u64)>,
    /// Issuances, burns and fees.
    pub public: Vec<SentPublic>,
    /// The signed transaction (hex of its canonical encoding), to submit again if the node forgot it.
    pub hex: String,
    /// What a shielded transaction (`shield`, `shielded_transfer`, `unshield`) adds to the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shielded: Option<ShieldedSent>,
}

impl SentRecord {
    /// Whether `tx_id` names this transaction: its own id, or the id of its confidential side, which is what
    /// the outputs it creates and spends name on chain.
    pub fn is(&self, tx_id: &str) -> bool {
        self.tx_id == tx_id || self.shielded.as_ref().and_then(|s| s.crossing_id.as_deref()) == Some(tx_id)
    }
}

/// The shielded side of a sent transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShieldedSent {
    /// The id (hex) of the confidential side of a shield or unshield.
    pub crossing_id: Option<String>,
    /// Nullifiers (hex) of the notes it spends: reserved while it is pending.
    pub nullifiers: Vec<String>,
    /// Value it brings this wallet as notes (a shield's amount, change), per asset (hex id, base units).
    pub notes_in: Vec<(String, u64)>,
}

/// A note of the shielded pool owned by this wallet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedNote {
    /// Leaf position in the note tree.
    pub position: u64,
    /// Note commitment (hex).
    pub commitment: String,
    /// Creating shielded transaction (hex).
    pub tx_id: String,
    /// Creating block's height.
    pub height: u64,
    /// Asset id (hex).
    pub asset: String,
    /// Value in base units.
    pub value: u64,
    /// The canonical note (hex): its opening, needed to spend it.
    pub note: String,
    /// Its nullifier (hex), revealed when it is spent.
    pub nullifier: String,
    /// Its witness (hex) up to the store's frontier; dropped once the note is spent.
    pub witness: Option<String>,
    /// The transaction that spent it.
    pub spent_by: Option<String>,
    /// Height at which it was spent.
    pub spent_height: Option<u64>,
}

/// A note addressed to this wallet that cannot be counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadNote {
    /// Note commitment (hex).
    pub commitment: String,
    /// Why.
    pub reason: String,
}

/// The wallet's view of the shielded pool.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShieldedState {
    /// The note tree's frontier (hex of its canonical encoding); empty before the first shielded sync.
    pub frontier: String,
    /// Leaves of the tree followed so far: the next position to fetch.
    pub tree_size: u64,
    /// The chain's height when the node last confirmed the frontier's root.
    pub height: u64,
    /// This wallet's notes, in tree order.
    pub notes: Vec<OwnedNote>,
    /// Notes addressed to this wallet that cannot be counted.
    pub bad_notes: Vec<BadNote>,
}

/// An output found with the view key whose memo does not verify: reported, never counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadOutput {
    /// Output id (hex).
    pub output_id: String,
    /// Why it is unusable.
    pub reason: String,
}

/// The store's contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletStore {
    format: String,
    version: u32,
    /// The chain.
    pub chain_id: String,
    /// The chain's genesis hash (hex).
    pub genesis_hash: String,
    /// The wallet's address.
    pub address: String,
    /// Every height up to this one has been scanned.
    pub scanned_height: u64,
    /// Owned outputs in chain order.
    pub outputs: Vec<OwnedRecord>,
    /// Transactions built here.
    pub sent: Vec<SentRecord>,
    /// Times of the blocks this wallet has activity in.
    pub block_times: BTreeMap<u64, u64>,
    /// Outputs addressed to this wallet with unusable memos.
    pub bad_outputs: Vec<BadOutput>,
    /// The shielded pool.
    #[serde(default)]
    pub shielded: ShieldedState,
}

impl WalletStore {
    /// An empty store for a wallet on a chain.
    pub fn new(chain_id: &str, genesis_hash: &str, address: &str) -> Self {
        Self {
            format: FORMAT.into(),
            version: VERSION,
            chain_id: chain_id.into(),
            genesis_hash: genesis_hash.into(),
            address: address.into(),
            scanned_height: 0,
            outputs: Vec::new(),
            sent: Vec::new(),
            block_times: BTreeMap::new(),
            bad_outputs: Vec::new(),
            shielded: ShieldedState::default(),
        }
    }

    /// The store's path for a keystore path: `alice.json` → `alice.store.json`.
    pub fn path_for(keystore: &Path) -> PathBuf {
        let stem = keystore.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "wallet".into());
        keystore.with_file_name(format!("{stem}.store.json"))
    }

    /// Loads the store at `path`, or a new one if there is none; refuses a store of another chain or wallet.
    pub fn load_or_new(path: &Path, chain_id: &str, genesis_hash: &str, address: &str) -> Result<Self> {
        let bad = |reason: String| WalletError::Store { path: path.display().to_string(), reason };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::new(chain_id, genesis_hash, address));
            }
            Err(e) => return Err(bad(e.to_string())),
        };
        let store: Self = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if store.format != FORMAT || store.version != VERSION {
            return Err(bad(format!("format {:?} version {} is not understood", store.format, store.version)));
        }
        if store.address != address {
            return Err(bad(format!("it belongs to wallet {}, not {address}", store.address)));
        }
        if store.chain_id != chain_id || store.genesis_hash != genesis_hash {
            return Err(bad(format!(
                "it is for chain {:?} (genesis {}), the node serves {chain_id:?} (genesis {genesis_hash}); \
                 move it away to rescan",
                store.chain_id, store.genesis_hash
            )));
        }
        Ok(store)
    }

    /// Writes the store whole (write-then-rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let bad = |reason: String| WalletError::Store { path: path.display().to_string(), reason };
        let json = serde_json::to_vec_pretty(self).map_err(|e| bad(e.to_string()))?;
        ctchain_files::write_atomic(path, &json, ctchain_files::Replace::Allow, ctchain_files::Access::OwnerOnly)
            .map_err(|e| bad(e.to_string()))
    }

    /// Output ids reserved by pending transactions.
    pub fn reserved(&self) -> impl Iterator<Item = &str> {
        self.sent.iter().filter(|s| s.status == SentStatus::Pending).flat_map(|s| s.inputs.iter().map(String::as_str))
    }

    /// Unspent outputs not reserved by a pending transaction.
    pub fn spendable(&self) -> Vec<&OwnedRecord> {
        let reserved: std::collections::HashSet<&str> = self.reserved().collect();
        self.outputs.iter().filter(|o| o.spent_by.is_none() && !reserved.contains(o.output_id.as_str())).collect()
    }

    /// Nullifiers of notes reserved by pending transactions.
    pub fn reserved_notes(&self) -> impl Iterator<Item = &str> {
        self.sent
            .iter()
            .filter(|s| s.status == SentStatus::Pending)
            .filter_map(|s| s.shielded.as_ref())
            .flat_map(|s| s.nullifiers.iter().map(String::as_str))
    }

    /// Unspent notes not reserved by a pending transaction.
    pub fn spendable_notes(&self) -> Vec<&OwnedNote> {
        let reserved: std::collections::HashSet<&str> = self.reserved_notes().collect();
        self.shielded
            .notes
            .iter()
            .filter(|n| n.spent_by.is_none() && !reserved.contains(n.nullifier.as_str()))
            .collect()
    }

    /// The owned output with this id.
    pub fn output(&self, id: &str) -> Option<&OwnedRecord> {
        self.outputs.iter().find(|o| o.output_id == id)
    }

    /// Records an output (idempotent: rescanning a page changes nothing).
    pub fn add_output(&mut self, record: OwnedRecord) -> bool {
        if self.output(&record.output_id).is_some() {
            return false;
        }
        self.outputs.push(record);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_round_trips_and_refuses_another_wallet_or_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.store.json");
        let mut s = WalletStore::load_or_new(&path, "c", "g", "addr").unwrap();
        s.scanned_height = 7;
        s.save(&path).unwrap();
        assert_eq!(WalletStore::load_or_new(&path, "c", "g", "addr").unwrap(), s);
        assert!(matches!(WalletStore::load_or_new(&path, "c", "g", "other"), Err(WalletError::Store { .. })));
        assert!(matches!(WalletStore::load_or_new(&path, "c", "h", "addr"), Err(WalletError::Store { .. })));
        std::fs::write(&path, "{ not json").unwrap();
        assert!(matches!(WalletStore::load_or_new(&path, "c", "g", "addr"), Err(WalletError::Store { .. })));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary files left");
    }

    #[test]
    fn a_store_written_before_the_shielded_pool_loads_with_an_empty_shielded_part() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.store.json");
        let mut s = WalletStore::new("c", "g", "addr");
        s.scanned_height = 3;
        let mut old = serde_json::to_value(&s).unwrap();
        old.as_object_mut().unwrap().remove("shielded");
        std::fs::write(&path, serde_json::to_vec(&old).unwrap()).unwrap();
        let loaded = WalletStore::load_or_new(&path, "c", "g", "addr").unwrap();
        assert_eq!(loaded, s);
        assert_eq!(loaded.shielded, ShieldedState::default());
    }

    #[test]
    fn the_store_sits_next_to_the_keystore() {
        assert_eq!(WalletStore::path_for(Path::new("/w/alice.json")), PathBuf::from("/w/alice.store.json"));
    }
}
