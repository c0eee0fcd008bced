//! The regulator's local audit database: decrypted records by height, in RocksDB, so that `aml` and reports read
//! any height range with one ordered scan.
//!
//! Keys are `b"r" ‖ height (8 bytes, big-endian) ‖ transaction id ‖ output index (4 bytes, big-endian)`, so a
//! range scan returns records in chain order; values are the records' JSON. `b"m/genesis"` holds the hash of the
//! chain's genesis (a database never mixes chains) and `b"m/height"` the highest height written. Each call writes
//! one atomic, synced batch: a crash leaves a range either wholly stored or not at all.

use std::path::Path;

use rocksdb::{Options, WriteBatch, WriteOptions, DB};

use crate::aml::AuditRecord;

const GENESIS: &[u8] = b"m/genesis";
const HEIGHT: &[u8] = b"m/height";
const RECORD: u8 = b'r';

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
    /// synced atomic write.
    pub fn put(&self, records: &[AuditRecord], height: u64) -> Result<(), DbError> {
        let mut batch = WriteBatch::default();
        for r in records {
            let value =
                serde_json::to_vec(r).map_err(|e| DbError::Damaged { key: r.tx_id.clone(), reason: e.to_string() })?;
            batch.put(record_key(r)?, value);
        }
        if height > self.height()? {
            batch.put(HEIGHT, height.to_be_bytes());
        }
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        Ok(self.db.write_opt(batch, &sync)?)
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
        let mut start = vec![RECORD];
        start.extend_from_slice(&from.to_be_bytes());
        let mut out = Vec::new();
        for item in self.db.iterator(rocksdb::IteratorMode::From(&start, rocksdb::Direction::Forward)) {
            let (key, value) = item?;
            if key.first() != Some(&RECORD) || key.len() < 9 {
                break;
            }
            let height = u64::from_be_bytes(key[1..9].try_into().unwrap_or_default());
            if height > to {
                break;
            }
            let record: AuditRecord = serde_json::from_slice(&value)
                .map_err(|e| DbError::Damaged { key: hex::encode(&key), reason: e.to_string() })?;
            out.push(record);
        }
        Ok(out)
    }

    /// Every record.
    pub fn all(&self) -> Result<Vec<AuditRecord>, DbError> {
        self.records(0, u64::MAX)
    }
}
