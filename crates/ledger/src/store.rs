//! RocksDB storage with a checksum on every value.
//!
//! RocksDB already checksums its blocks and write-ahead log; on top of that every value this crate writes is
//! `payload ‖ SM3(cf ‖ key ‖ payload)[..8]`, so a value that was damaged, truncated or written under the wrong key
//! is reported as corrupt, naming what it held, instead of decoding into a silently wrong ledger. All writes of a
//! block go through one [`StoreBatch`], written atomically and synced to disk.

use std::path::Path;

use ctchain_codec::Sm3Hasher;
use rocksdb::{ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, WriteOptions, DB};

/// The column families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cf {
    /// Genesis, tip, schema version.
    Meta,
    /// Height → header.
    Headers,
    /// Height → transactions of the block.
    Blocks,
    /// Header hash → height.
    BlockHashes,
    /// Transaction id → location.
    Txs,
    /// Output id → the output and where it was created.
    Outputs,
    /// Output id → the transaction that spent it.
    Spent,
    /// Output id → what spending it needs (commitment, owner key, output hash), for unspent outputs only.
    Unspent,
    /// Asset → current supply.
    Supply,
    /// Asset ‖ height → supply after that block (only heights where it changed).
    SupplyHistory,
    /// Height → the consensus commit certificate.
    Certificates,
    /// Height ‖ index in block → the audit-access record committed there (the supervision trail, in chain order).
    AuditAccess,
    /// Nullifier → the shielded transaction that revealed it (the shielded pool's spent set).
    Nullifiers,
    /// Note-tree position (big-endian) → the note commitment, its receiver's ciphertext and where it was made.
    Notes,
    /// Height ‖ index in block → the governance transaction committed there (the registry's history).
    Governance,
    /// Epoch number (big-endian) → the epoch: validators, audit keys, consensus parameters, first height.
    Epochs,
}

impl Cf {
    /// Every column family.
    pub const ALL: [Cf; 16] = [
        Cf::Meta,
        Cf::Headers,
        Cf::Blocks,
        Cf::BlockHashes,
        Cf::Txs,
        Cf::Outputs,
        Cf::Spent,
        Cf::Unspent,
        Cf::Supply,
        Cf::SupplyHistory,
        Cf::Certificates,
        Cf::AuditAccess,
        Cf::Nullifiers,
        Cf::Notes,
        Cf::Governance,
        Cf::Epochs,
    ];

    /// Its name in RocksDB.
    pub fn name(self) -> &'static str {
        match self {
            Cf::Meta => "meta",
            Cf::Headers => "headers",
            Cf::Blocks => "blocks",
            Cf::BlockHashes => "block_hashes",
            Cf::Txs => "txs",
            Cf::Outputs => "outputs",
            Cf::Spent => "spent",
            Cf::Unspent => "unspent",
            Cf::Supply => "supply",
            Cf::SupplyHistory => "supply_history",
            Cf::Certificates => "certificates",
            Cf::AuditAccess => "audit_access",
            Cf::Nullifiers => "nullifiers",
            Cf::Notes => "notes",
            Cf::Governance => "governance",
            Cf::Epochs => "epochs",
        }
    }
}

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// RocksDB itself failed (I/O, lock held by another process, …).
    #[error("database error: {0}")]
    Db(String),
    /// A stored value failed its checksum or is too short to hold one.
    #[error("corrupt database: {what} is damaged ({reason})")]
    Corrupt {
        /// What the value holds, e.g. "header at height 12".
        what: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A stored value passed its checksum but does not decode: written by an incompatible version.
    #[error("corrupt database: {what} does not decode: {error}")]
    Undecodable {
        /// What the value holds.
        what: String,
        /// The decoding error.
        error: String,
    },
    /// Something the ledger's invariants require is missing.
    #[error("corrupt database: {0} is missing")]
    Missing(String),
}

impl From<rocksdb::Error> for StorageError {
    fn from(e: rocksdb::Error) -> Self {
        StorageError::Db(e.into_string())
    }
}

const CHECKSUM_LEN: usize = 8;

fn checksum(cf: Cf, key: &[u8], payload: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut h = Sm3Hasher::new("ctchain/store-value/v1");
    h.update(cf.name()).update((key.len() as u32).to_le_bytes()).update(key).update(payload);
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&h.finish().as_bytes()[..CHECKSUM_LEN]);
    out
}

fn seal(cf: Cf, key: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(payload.len() + CHECKSUM_LEN);
    v.extend_from_slice(payload);
    v.extend_from_slice(&checksum(cf, key, payload));
    v
}

fn unseal(cf: Cf, key: &[u8], mut value: Vec<u8>, what: impl FnOnce() -> String) -> Result<Vec<u8>, StorageError> {
    if value.len() < CHECKSUM_LEN {
        return Err(StorageError::Corrupt { what: what(), reason: "value truncated below its checksum" });
    }
    let split = value.len() - CHECKSUM_LEN;
    if value[split..] != checksum(cf, key, &value[..split]) {
        return Err(StorageError::Corrupt { what: what(), reason: "checksum mismatch" });
    }
    value.truncate(split);
    Ok(value)
}

/// A key and its checked value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// The database.
pub struct Store {
    db: DB,
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_paranoid_checks(true);
        let cfs = Cf::ALL.iter().map(|cf| ColumnFamilyDescriptor::new(cf.name(), Options::default()));
        Ok(Self { db: DB::open_cf_descriptors(&opts, path, cfs)? })
    }

    fn handle(&self, cf: Cf) -> Result<&rocksdb::ColumnFamily, StorageError> {
        self.db.cf_handle(cf.name()).ok_or_else(|| StorageError::Missing(format!("column family {}", cf.name())))
    }

    /// Reads and checks one value.
    pub fn get(&self, cf: Cf, key: &[u8], what: impl FnOnce() -> String) -> Result<Option<Vec<u8>>, StorageError> {
        match self.db.get_cf(self.handle(cf)?, key)? {
            None => Ok(None),
            Some(v) => unseal(cf, key, v, what).map(Some),
        }
    }

    /// Whether a key is present (without reading through the checksum).
    pub fn contains(&self, cf: Cf, key: &[u8]) -> Result<bool, StorageError> {
        Ok(self.db.get_pinned_cf(self.handle(cf)?, key)?.is_some())
    }

    /// Every (key, checked value) of a column family whose key starts with `prefix`, from `start` on.
    pub fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        prefix: &[u8],
        what: impl Fn(&[u8]) -> String,
    ) -> Result<Vec<Entry>, StorageError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.handle(cf)?, IteratorMode::From(start, Direction::Forward)) {
            let (k, v) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            let v = unseal(cf, &k, v.into_vec(), || what(&k))?;
            out.push((k.into_vec(), v));
        }
        Ok(out)
    }

    /// Up to `limit` (key, checked value) pairs of a column family from `start` on.
    pub fn scan_limited(
        &self,
        cf: Cf,
        start: &[u8],
        limit: usize,
        what: impl Fn(&[u8]) -> String,
    ) -> Result<Vec<Entry>, StorageError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.handle(cf)?, IteratorMode::From(start, Direction::Forward)).take(limit) {
            let (k, v) = item?;
            let v = unseal(cf, &k, v.into_vec(), || what(&k))?;
            out.push((k.into_vec(), v));
        }
        Ok(out)
    }

    /// The last (key, checked value) at or before `key`, if it shares `prefix`.
    pub fn last_at_or_before(
        &self,
        cf: Cf,
        key: &[u8],
        prefix: &[u8],
        what: impl FnOnce(&[u8]) -> String,
    ) -> Result<Option<Entry>, StorageError> {
        let mut it = self.db.iterator_cf(self.handle(cf)?, IteratorMode::From(key, Direction::Reverse));
        match it.next() {
            Some(item) => {
                let (k, v) = item?;
                if !k.starts_with(prefix) {
                    return Ok(None);
                }
                let v = unseal(cf, &k, v.into_vec(), || what(&k))?;
                Ok(Some((k.into_vec(), v)))
            }
            None => Ok(None),
        }
    }

    /// Writes a batch atomically and waits until it is on disk.
    pub fn write(&self, batch: StoreBatch) -> Result<(), StorageError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        let mut wb = WriteBatch::default();
        for (cf, key, value) in batch.puts {
            wb.put_cf(self.handle(cf)?, key, value);
        }
        for (cf, key) in batch.deletes {
            wb.delete_cf(self.handle(cf)?, key);
        }
        self.db.write_opt(wb, &opts)?;
        Ok(())
    }

    /// Overwrites a raw value, bypassing checksums: only for tests that simulate disk damage.
    #[doc(hidden)]
    pub fn put_raw_for_tests(&self, cf: Cf, key: &[u8], raw: &[u8]) -> Result<(), StorageError> {
        Ok(self.db.put_cf(self.handle(cf)?, key, raw)?)
    }

    /// Reads a raw value, bypassing checksums: only for tests that simulate disk damage.
    #[doc(hidden)]
    pub fn get_raw_for_tests(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.db.get_cf(self.handle(cf)?, key)?)
    }
}

/// Writes collected for one atomic commit.
#[derive(Default)]
pub struct StoreBatch {
    puts: Vec<(Cf, Vec<u8>, Vec<u8>)>,
    deletes: Vec<(Cf, Vec<u8>)>,
}

impl StoreBatch {
    /// Queues a put, sealing the value with its checksum.
    pub fn put(&mut self, cf: Cf, key: impl Into<Vec<u8>>, payload: &[u8]) {
        let key = key.into();
        let value = seal(cf, &key, payload);
        self.puts.push((cf, key, value));
    }

    /// Queues a delete (applied after the puts of the same batch).
    pub fn delete(&mut self, cf: Cf, key: impl Into<Vec<u8>>) {
        self.deletes.push((cf, key.into()));
    }
}
