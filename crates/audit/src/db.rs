//! The regulator's local audit database: decrypted records by height, in RocksDB, so that `aml` and reports read
//! any height range with one ordered scan.
//!
//! Keys are `b"r" ‖ height (8 bytes, big-endian) ‖ transaction id ‖ output index (4 bytes, big-endian)`, so a
//! range scan returns records in chain order; values are the records' JSON. `b"m/genesis"` holds the hash of the
//! chain's genesis (a database never mixes chains), `b"m/height"` the highest height written and `b"m/directory"`
//! the supervisor's KYC directory ([`Directory`], JSON), applied to records as they are read. Each call writes
//! one atomic, synced batch: a crash leaves a range either wholly stored or not at all.
//!
//! Records of both pools share one key space (a record says its pool; a shielded transaction's outputs are under its
//! own id, its confidential side's under the crossing's id). Transactions whose outputs could not be decrypted
//! ([`NotDecrypted`]: shielded ones without the shielded key, or under a split key) are kept under
//! `b"u" ‖ height ‖ transaction id`, so that `show` and `aml` name them instead of passing over them; storing a range
//! again ([`AuditDb::store`]) replaces the range's entries, so a later scan with the shielded key clears them.

use std::path::Path;

use rocksdb::{Options, WriteBatch, WriteOptions, DB};

use crate::aml::{AuditRecord, NotDecrypted};
use crate::directory::Directory;

const GENESIS: &[u8] = b"m/genesis";
const HEIGHT: &[u8] = b"m/height";
const DIRECTORY: &[u8] = b"m/directory";
const RECORD: u8 = b'r';
const UNDECRYPTED: u8 = b'u';

/// A raw key and value as RocksDB returns them.
type Entry = (Box<[u8]>, Box<[u8]>);

/// Why the audit database failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// RocksDB failed (I/O, lock held by another process).
    #[error("audit database: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// The database holds another chain's records.
    #[error("the audit database holds chain {found}, not {expected}")]
    OtherChain {
        /// The chain asked for (genesis hash).
        expected: String,
        /// The chain stored.
        found: String,
    },
    /// A stored value does not decode.
    #[error("audit database entry {key} is damaged: {reason}")]
    Damaged {
        /// Its key (hex).
        key: String,
        /// Why.
        reason: String,
    },
}

/// The audit database.
pub struct AuditDb {
    db: DB,
}

fn record_key(r: &AuditRecord) -> Result<Vec<u8>, DbError> {
    let id =
        hex::decode(&r.tx_id).map_err(|_| DbError::Damaged { key: r.tx_id.clone(), reason: "tx id not hex".into() })?;
    let mut key = Vec::with_capacity(1 + 8 + id.len() + 4);
    key.push(RECORD);
    key.extend_from_slice(&r.height.to_be_bytes());
    key.extend_from_slice(&id);
    key.extend_from_slice(&r.output_index.to_be_bytes());
    Ok(key)
}

fn undecrypted_key(n: &NotDecrypted) -> Result<Vec<u8>, DbError> {
    let id =
        hex::decode(&n.tx_id).map_err(|_| DbError::Damaged { key: n.tx_id.clone(), reason: "tx id not hex".into() })?;
    let mut key = Vec::with_capacity(1 + 8 + id.len());
    key.push(UNDECRYPTED);
    key.extend_from_slice(&n.height.to_be_bytes());
    key.extend_from_slice(&id);
    Ok(key)
}

impl AuditDb {
    /// Opens (or creates) the database at `path` for the chain whose genesis hash is `genesis_hash` (hex).
    pub fn open(path: &Path, genesis_hash: &str) -> Result<Self, DbError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        let db = DB::open(&opts, path)?;
        match db.get(GENESIS)? {
            Some(found) if found != genesis_hash.as_bytes() => {
                return Err(DbError::OtherChain {
                    expected: genesis_hash.into(),
                    found: String::from_utf8_lossy(&found).into_owned(),
                })
            }
            Some(_) => {}
            None => db.put(GENESIS, genesis_hash.as_bytes())?,
        }
        Ok(Self { db })
    }

    /// Opens an existing database (of whichever chain it holds), for reading.
    pub fn open_existing(path: &Path) -> Result<Self, DbError> {
        let mut opts = Options::default();
        opts.create_if_missing(false);
        Ok(Self { db: DB::open(&opts, path)? })
    }

    /// Stores `records` (replacing records of the same outputs) and raises the stored height to `height`, in one
    /// synced atomic write. Entries of transactions not decrypted are left as they are (see [`AuditDb::store`]).
    pub fn put(&self, records: &[AuditRecord], height: u64) -> Result<(), DbError> {
        let mut batch = WriteBatch::default();
        Self::put_records(&mut batch, records)?;
        self.finish(batch, height)
    }

    /// Stores what decrypting the whole height range `from..=to` gave: its `records` (replacing records of the same
    /// outputs) and its transactions `not_decrypted` (replacing every such entry of the range, so that a range
    /// decrypted again with the shielded key no longer lists them), and raises the stored height to `to` — in one
    /// synced atomic write.
    pub fn store(
        &self,
        from: u64,
        to: u64,
        records: &[AuditRecord],
        not_decrypted: &[NotDecrypted],
    ) -> Result<(), DbError> {
        let mut batch = WriteBatch::default();
        for (key, _) in self.scan(UNDECRYPTED, from, to)? {
            batch.delete(key);
        }
        for n in not_decrypted {
            let value =
                serde_json::to_vec(n).map_err(|e| DbError::Damaged { key: n.tx_id.clone(), reason: e.to_string() })?;
            batch.put(undecrypted_key(n)?, value);
        }
        Self::put_records(&mut batch, records)?;
        self.finish(batch, to)
    }

    fn put_records(batch: &mut WriteBatch, records: &[AuditRecord]) -> Result<(), DbError> {
        for r in records {
            let value =
                serde_json::to_vec(r).map_err(|e| DbError::Damaged { key: r.tx_id.clone(), reason: e.to_string() })?;
            batch.put(record_key(r)?, value);
        }
        Ok(())
    }

    fn finish(&self, mut batch: WriteBatch, height: u64) -> Result<(), DbError> {
        if height > self.height()? {
            batch.put(HEIGHT, height.to_be_bytes());
        }
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        Ok(self.db.write_opt(batch, &sync)?)
    }

    /// The entries under `prefix` at heights `from..=to`, in key order.
    fn scan(&self, prefix: u8, from: u64, to: u64) -> Result<Vec<Entry>, DbError> {
        let mut start = vec![prefix];
        start.extend_from_slice(&from.to_be_bytes());
        let mut out = Vec::new();
        for item in self.db.iterator(rocksdb::IteratorMode::From(&start, rocksdb::Direction::Forward)) {
            let (key, value) = item?;
            let Some(height) = key.get(1..9).filter(|_| key.first() == Some(&prefix)) else { break };
            let height = u64::from_be_bytes(height.try_into().unwrap_or_default());
            if height > to {
                break;
            }
            out.push((key, value));
        }
        Ok(out)
    }

    /// The highest height written (0 for a new database).
    pub fn height(&self) -> Result<u64, DbError> {
        match self.db.get(HEIGHT)? {
            None => Ok(0),
            Some(v) => Ok(u64::from_be_bytes(
                v.as_slice()
                    .try_into()
                    .map_err(|_| DbError::Damaged { key: "m/height".into(), reason: "not an 8-byte height".into() })?,
            )),
        }
    }

    /// Records at heights `from..=to`, in chain order.
    pub fn records(&self, from: u64, to: u64) -> Result<Vec<AuditRecord>, DbError> {
        Self::decode_all(self.scan(RECORD, from, to)?)
    }

    /// Transactions at heights `from..=to` whose outputs were not decrypted, in chain order.
    pub fn not_decrypted(&self, from: u64, to: u64) -> Result<Vec<NotDecrypted>, DbError> {
        Self::decode_all(self.scan(UNDECRYPTED, from, to)?)
    }

    fn decode_all<T: serde::de::DeserializeOwned>(entries: Vec<Entry>) -> Result<Vec<T>, DbError> {
        entries
            .into_iter()
            .map(|(key, value)| {
                serde_json::from_slice(&value)
                    .map_err(|e| DbError::Damaged { key: hex::encode(&key), reason: e.to_string() })
            })
            .collect()
    }

    /// Every record.
    pub fn all(&self) -> Result<Vec<AuditRecord>, DbError> {
        self.records(0, u64::MAX)
    }

    /// Replaces the KYC directory (one synced write).
    pub fn put_directory(&self, directory: &Directory) -> Result<(), DbError> {
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        Ok(self.db.put_opt(DIRECTORY, directory.to_json(), &sync)?)
    }

    /// The KYC directory, if one was imported.
    pub fn directory(&self) -> Result<Option<Directory>, DbError> {
        match self.db.get(DIRECTORY)? {
            None => Ok(None),
            Some(v) => Directory::from_json(&String::from_utf8_lossy(&v))
                .map(Some)
                .map_err(|e| DbError::Damaged { key: "m/directory".into(), reason: e.to_string() }),
        }
    }

    /// Records at heights `from..=to`, in chain order, with the customers of the KYC directory (if one was
    /// imported) named on them.
    pub fn annotated_records(&self, from: u64, to: u64) -> Result<Vec<AuditRecord>, DbError> {
        let mut records = self.records(from, to)?;
        if let Some(directory) = self.directory()? {
            records.iter_mut().for_each(|r| directory.annotate(r));
        }
        Ok(records)
    }
}
