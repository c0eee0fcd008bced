//! The node's consensus storage (RocksDB, separate from the ledger's): the PBFT safety state and the consensus
//! log of every committed sequence number with its certificate.
//!
//! Invariants:
//! * The safety state is written (synced) before any message signed under it leaves the node: the host performs
//!   the core's `Persist` output before the outputs after it.
//! * The consensus log is a write-ahead log for the ledger: a delivered block is logged (synced) before the
//!   ledger applies it, so after a crash between the two the node re-applies it from the log on start.
//! * Every value is `payload ‖ SM3(key ‖ payload)[..8]`; damage is reported, never decoded silently.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Sm3Hasher, Writer};
use ctchain_pbft::{CommittedBlock, PersistedState};
use rocksdb::{IteratorMode, Options, WriteOptions, DB};

const SAFETY_KEY: &[u8] = b"safety";
const LOG_PREFIX: u8 = b'l';

/// One committed sequence number as the node logged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// The block with its certificate.
    pub committed: CommittedBlock,
    /// Block time as delivered.
    pub timestamp: u64,
    /// Chain digest after it.
    pub chain_digest: Hash32,
}

impl Encode for LogEntry {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.committed);
        w.u64(self.timestamp);
        w.put(&self.chain_digest);
    }
}

impl Decode for LogEntry {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { committed: r.get()?, timestamp: r.u64("log timestamp")?, chain_digest: r.get()? })
    }
}

/// The consensus database.
pub struct ConsensusStore {
    db: DB,
}

fn log_key(seq: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = LOG_PREFIX;
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn seal(key: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut h = Sm3Hasher::new("ctchain/node/consensus-store/v1");
    h.update(key);
    h.update(payload);
    let sum = h.finish();
    let mut v = payload.to_vec();
    v.extend_from_slice(&sum.0[..8]);
    v
}

fn unseal(key: &[u8], value: &[u8]) -> Result<Vec<u8>> {
    if value.len() < 8 {
        bail!("consensus store value under {} is truncated", hex::encode(key));
    }
    let (payload, sum) = value.split_at(value.len() - 8);
    if seal(key, payload)[payload.len()..] != *sum {
        bail!("consensus store value under {} is damaged (checksum mismatch)", hex::encode(key));
    }
    Ok(payload.to_vec())
}

impl ConsensusStore {
    /// Opens (creating if needed) the store.
    pub fn open(path: &Path) -> Result<Self> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        let db = DB::open(&opts, path).with_context(|| format!("cannot open consensus store {}", path.display()))?;
        Ok(Self { db })
    }

    fn put(&self, key: &[u8], payload: &[u8]) -> Result<()> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.put_opt(key, seal(key, payload), &opts).context("consensus store write failed")
    }

    /// The persisted safety state, if any.
    pub fn safety(&self) -> Result<Option<PersistedState>> {
        match self.db.get(SAFETY_KEY)? {
            None => Ok(None),
            Some(v) => {
                let payload = unseal(SAFETY_KEY, &v)?;
                Ok(Some(PersistedState::from_bytes(&payload).map_err(|e| anyhow!("safety state: {e}"))?))
            }
        }
    }

    /// Makes the safety state durable.
    pub fn put_safety(&self, state: &PersistedState) -> Result<()> {
        self.put(SAFETY_KEY, &state.to_bytes())
    }

    /// Logs a delivered sequence number (durable on return).
    pub fn append(&self, entry: &LogEntry) -> Result<()> {
        self.put(&log_key(entry.committed.seq), &entry.to_bytes())
    }

    /// The entry at `seq`.
    pub fn entry(&self, seq: u64) -> Result<Option<LogEntry>> {
        let key = log_key(seq);
        match self.db.get(key)? {
            None => Ok(None),
            Some(v) => Ok(Some(LogEntry::from_bytes(&unseal(&key, &v)?).map_err(|e| anyhow!("log entry {seq}: {e}"))?)),
        }
    }

    /// The highest logged sequence number (0 when empty).
    pub fn last_seq(&self) -> Result<u64> {
        let mut it = self.db.iterator(IteratorMode::From(&log_key(u64::MAX), rocksdb::Direction::Reverse));
        match it.next() {
            None => Ok(0),
            Some(item) => {
                let (k, _) = item?;
                if k.len() == 9 && k[0] == LOG_PREFIX {
                    Ok(u64::from_be_bytes(k[1..].try_into().expect("9-byte key")))
                } else {
                    Ok(0)
                }
            }
        }
    }

    /// Entries `from..=to` that exist, in order.
    pub fn range(&self, from: u64, to: u64) -> Result<Vec<LogEntry>> {
        let mut out = Vec::new();
        for seq in from..=to {
            if let Some(e) = self.entry(seq)? {
                out.push(e);
            }
        }
        Ok(out)
    }
}
