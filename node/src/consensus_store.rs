//! The node's consensus storage (RocksDB, separate from the ledger's): the PBFT safety state and the consensus
//! log of every committed sequence number with its certificate.
//!
//! Invariants:
//! * The safety state is written (synced) before any message signed under it leaves the node: the host performs
//!   the core's `Persist` output before the outputs after it.
//! * The consensus log is a write-ahead log for the ledger: a delivered block is logged (synced) before the
//!   ledger applies it, so after a crash between the two the node re-applies it from the log on start.
//! * Every value is `payload ‖ SM3(key ‖ payload)[..8]`; damage is reported, never decoded silently.
//! * The log is pruned only below a sequence number a state snapshot covers (and never within the last
//!   entries the core keeps in memory), so the log always starts at a snapshot's sequence number or at 1.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Sm3Hasher, Writer};

use ctchain_pbft::{Block, CommittedBlock, PersistedState, PreparedCert};
use rocksdb::{IteratorMode, Options, WriteOptions, DB};

const SAFETY_KEY: &[u8] = b"safety";
const LOG_PREFIX: u8 = b'l';
/// Prepared certificates are kept one per key (`'p' ‖ seq`), each with its block when the replica holds it: a
/// replica persists its safety state on every vote, so rewriting the blocks each time would write megabytes per
/// message.
const PREPARED_PREFIX: u8 = b'p';

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

/// What is stored under one prepared-certificate key.
struct PreparedEntry {
    cert: PreparedCert,
    block: Option<Block>,
}

impl Encode for PreparedEntry {
    fn encode_to(&self, w: &mut Writer) {
        self.cert.encode_to(w);
        w.option(&self.block);
    }
}

impl Decode for PreparedEntry {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { cert: r.get()?, block: r.option("prepared block")? })
    }
}

/// The consensus database.
pub struct ConsensusStore {
    db: DB,
    /// What is on disk under each prepared-certificate key: the pre-prepare's signature, the number of prepare
    /// signatures and whether the block is there, which identify an entry without hashing its block.
    prepared_on_disk: BTreeMap<u64, (Vec<u8>, usize, bool)>,
}

fn prepared_key(seq: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = PREPARED_PREFIX;
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn entry_identity(cert: &PreparedCert, has_block: bool) -> (Vec<u8>, usize, bool) {
    (cert.pre_prepare.signature.0.clone(), cert.prepares.len(), has_block)
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
        let mut store = Self { db, prepared_on_disk: BTreeMap::new() };
        for (seq, entry) in store.read_prepared()? {
            store.prepared_on_disk.insert(seq, entry_identity(&entry.cert, entry.block.is_some()));
        }
        Ok(store)
    }

    fn read_prepared(&self) -> Result<BTreeMap<u64, PreparedEntry>> {
        let mut out = BTreeMap::new();
        let start = prepared_key(0);
        for item in self.db.iterator(IteratorMode::From(&start, rocksdb::Direction::Forward)) {
            let (k, v) = item?;
            if k.len() != 9 || k[0] != PREPARED_PREFIX {
                break;
            }
            let seq = u64::from_be_bytes(k[1..].try_into().expect("9-byte key"));
            let entry =
                PreparedEntry::from_bytes(&unseal(&k, &v)?).map_err(|e| anyhow!("prepared certificate {seq}: {e}"))?;
            if entry.cert.pre_prepare.body.seq != seq {
                bail!("prepared certificate stored under {seq} is for {}", entry.cert.pre_prepare.body.seq);
            }
            out.insert(seq, entry);
        }
        Ok(out)
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
                let mut state = PersistedState::from_bytes(&payload).map_err(|e| anyhow!("safety state: {e}"))?;
                for (seq, entry) in self.read_prepared()? {
                    state.prepared.insert(seq, entry.cert);
                    if let Some(block) = entry.block {
                        state.prepared_blocks.insert(seq, block);
                    }
                }
                Ok(Some(state))
            }
        }
    }

    /// Makes the safety state durable: one synced atomic write of the small part and of the prepared
    /// certificates that changed since the last call (removed ones are deleted).
    pub fn put_safety(&mut self, state: &PersistedState) -> Result<()> {
        let mut batch = rocksdb::WriteBatch::default();
        let mut on_disk = std::mem::take(&mut self.prepared_on_disk);
        for seq in on_disk.keys().copied().collect::<Vec<_>>() {
            if !state.prepared.contains_key(&seq) {
                batch.delete(prepared_key(seq));
                on_disk.remove(&seq);
            }
        }
        for (seq, cert) in &state.prepared {
            let block = state.prepared_blocks.get(seq);
            let identity = entry_identity(cert, block.is_some());
            if on_disk.get(seq) != Some(&identity) {
                let key = prepared_key(*seq);
                let entry = PreparedEntry { cert: cert.clone(), block: block.cloned() };
                batch.put(key, seal(&key, &entry.to_bytes()));
                on_disk.insert(*seq, identity);
            }
        }
        let small = PersistedState {
            epoch: state.epoch,
            epoch_start: state.epoch_start,
            view: state.view,
            view_change: state.view_change,
            votes: state.votes.clone(),
            prepared: BTreeMap::new(),
            prepared_blocks: BTreeMap::new(),
            stable: state.stable.clone(),
            own_view_changes: state.own_view_changes.clone(),
        };
        batch.put(SAFETY_KEY, seal(SAFETY_KEY, &small.to_bytes()));
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        let written = self.db.write_opt(batch, &opts).context("consensus store write failed");
        // On failure the node stops; what is on disk is then unknown, so it is read again on the next open.
        self.prepared_on_disk = on_disk;
        written
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
        self.log_end(IteratorMode::From(&log_key(u64::MAX), rocksdb::Direction::Reverse))
    }

    /// The lowest logged sequence number (0 when empty): the log is pruned below it.
    pub fn first_seq(&self) -> Result<u64> {
        self.log_end(IteratorMode::From(&log_key(0), rocksdb::Direction::Forward))
    }

    /// The sequence number of the first log key met from `from` (0 when none).
    fn log_end(&self, from: IteratorMode<'_>) -> Result<u64> {
        match self.db.iterator(from).next() {
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

    /// Deletes the log entries below `seq` (durable on return). Committed entries are final, so what is pruned
    /// is what a peer that far behind takes from a state snapshot instead.
    pub fn prune_below(&self, seq: u64) -> Result<()> {
        let mut batch = rocksdb::WriteBatch::default();
        batch.delete_range(log_key(0), log_key(seq));
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(batch, &opts).context("consensus store prune failed")
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

#[cfg(test)]
mod tests {
    use super::*;
    use ctchain_pbft::{Block, PrePrepare, Signature, Signed};

    const CHAIN: &str = "ctchain-store-test";

    fn cert(view: u64, seq: u64, payload: &[u8], prepares: u32) -> PreparedCert {
        let digest = block(seq, payload).digest(CHAIN, seq);
        let pre_prepare = Signed {
            body: PrePrepare { view, seq, digest },
            epoch: 0,
            signer: 0,
            signature: Signature(vec![view as u8, seq as u8, 7]),
        };
        PreparedCert { pre_prepare, prepares: (1..=prepares).map(|i| (i, Signature(vec![i as u8; 64]))).collect() }
    }

    fn block(seq: u64, payload: &[u8]) -> Block {
        Block::Data { timestamp: 1_000 + seq, payload: payload.to_vec() }
    }

    /// Records a prepared certificate, with its block when `held`.
    fn prepare(state: &mut PersistedState, view: u64, seq: u64, payload: &[u8], prepares: u32, held: bool) {
        state.prepared.insert(seq, cert(view, seq, payload, prepares));
        if held {
            state.prepared_blocks.insert(seq, block(seq, payload));
        } else {
            state.prepared_blocks.remove(&seq);
        }
    }

    #[test]
    fn the_log_is_pruned_below_a_sequence_number_and_reports_where_it_starts_and_ends() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConsensusStore::open(dir.path()).unwrap();
        assert_eq!((store.first_seq().unwrap(), store.last_seq().unwrap()), (0, 0));
        for seq in 1..=10u64 {
            let committed = CommittedBlock {
                seq,
                block: block(seq, b"x"),
                cert: ctchain_pbft::CommitCertificate { view: 0, seq, digest: Hash32([1; 32]), signatures: vec![] },
            };
            store.append(&LogEntry { committed, timestamp: seq, chain_digest: Hash32([seq as u8; 32]) }).unwrap();
        }
        let mut state = PersistedState::genesis(CHAIN);
        prepare(&mut state, 0, 11, b"p", 2, true);
        let mut store = store;
        store.put_safety(&state).unwrap();
        assert_eq!((store.first_seq().unwrap(), store.last_seq().unwrap()), (1, 10));
        store.prune_below(6).unwrap();
        assert_eq!((store.first_seq().unwrap(), store.last_seq().unwrap()), (6, 10));
        assert!(store.entry(5).unwrap().is_none());
        assert_eq!(store.entry(6).unwrap().unwrap().timestamp, 6);
        // The safety state and the prepared certificates beside the log are untouched.
        assert_eq!(store.safety().unwrap().unwrap().prepared.len(), 1);
    }

    #[test]
    fn safety_state_round_trips_with_prepared_certificates_written_only_when_they_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = PersistedState::genesis(CHAIN);
        state.view = 3;
        prepare(&mut state, 3, 1, &[1; 1000], 2, true);
        prepare(&mut state, 3, 2, &[2; 1000], 2, false);
        {
            let mut store = ConsensusStore::open(dir.path()).unwrap();
            store.put_safety(&state).unwrap();
            assert_eq!(store.safety().unwrap().unwrap(), state);
            // Seq 1 leaves (checkpoint), seq 2 gains a prepare and its block (fetched by digest), seq 3 arrives
            // without its block; the view moves on.
            state.prepared.remove(&1);
            state.prepared_blocks.remove(&1);
            prepare(&mut state, 3, 2, &[2; 1000], 3, true);
            prepare(&mut state, 4, 3, &[3; 1000], 2, false);
            state.view = 4;
            store.put_safety(&state).unwrap();
        }
        let store = ConsensusStore::open(dir.path()).unwrap();
        assert_eq!(store.safety().unwrap().unwrap(), state, "what a restart reads is exactly the last state");
        assert_eq!(store.prepared_on_disk.keys().copied().collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn a_damaged_prepared_certificate_is_reported_not_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = PersistedState::genesis(CHAIN);
        prepare(&mut state, 0, 5, b"block", 2, true);
        ConsensusStore::open(dir.path()).unwrap().put_safety(&state).unwrap();
        {
            let db = DB::open_default(dir.path()).unwrap();
            let key = prepared_key(5);
            let mut v = db.get(key).unwrap().unwrap();
            v[3] ^= 1;
            db.put(key, v).unwrap();
        }
        let err = ConsensusStore::open(dir.path()).err().expect("damage is detected on open");
        assert!(format!("{err:#}").contains("damaged"), "{err:#}");
    }
}
