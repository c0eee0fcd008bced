//! State snapshots on disk, served to peers, and the consensus-log pruning they allow.
//!
//! Every `[snapshots] interval_blocks` ledger blocks, right after applying one, the driver writes the ledger state
//! at that height ([`ctchain_ledger::snapshot`]) to `data/snapshots/<height>.state` and, once that is complete,
//! its offer (`<height>.offer`: where it stands in the consensus log, its digest and this node's certificate of
//! the block). Every node takes them at the same heights and the state's encoding is a function of the state, so
//! honest nodes offer identical digests and a joining node can require `f + 1` validators to agree. The node
//! keeps the last two and prunes its consensus log below the older one's sequence number (a peer downloading the
//! older one can still follow the log from there).
//!
//! The state is encoded on the driver's thread under the ledger's read lock (a consistent state; block
//! application waits meanwhile): a cost proportional to the state, every `interval_blocks` blocks.

use std::path::{Path, PathBuf};

use super::*;

/// Snapshots kept on disk.
const KEPT: usize = 2;

/// What a node offers of one snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotOffer {
    /// Ledger height of the state.
    pub height: u64,
    /// Consensus sequence number of the block at that height.
    pub seq: u64,
    /// Block time as delivered at that sequence number.
    pub timestamp: u64,
    /// Chain digest after that sequence number.
    pub chain_digest: Hash32,
    /// SM3 digest of the state's encoding ([`ctchain_ledger::snapshot::StateSnapshot::digest`]).
    pub digest: Hash32,
    /// Length of the state's encoding.
    pub len: u64,
    /// This node's commit certificate of the block at that height.
    pub certificate: Vec<u8>,
    /// This node's commit certificates of the snapshot's governance blocks, in their order.
    pub governance_certificates: Vec<Vec<u8>>,
}

impl SnapshotOffer {
    /// What `f + 1` validators must offer alike: everything but the certificate (nodes hold different quorums).
    pub fn key(&self) -> (u64, u64, u64, Hash32, Hash32, u64) {
        (self.height, self.seq, self.timestamp, self.chain_digest, self.digest, self.len)
    }
}

impl Encode for SnapshotOffer {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.height);
        w.u64(self.seq);
        w.u64(self.timestamp);
        w.put(&self.chain_digest);
        w.put(&self.digest);
        w.u64(self.len);
        w.bytes(&self.certificate);
        w.len(self.governance_certificates.len());
        for c in &self.governance_certificates {
            w.bytes(c);
        }
    }
}

impl Decode for SnapshotOffer {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            height: r.u64("snapshot height")?,
            seq: r.u64("snapshot seq")?,
            timestamp: r.u64("snapshot timestamp")?,
            chain_digest: r.get()?,
            digest: r.get()?,
            len: r.u64("snapshot length")?,
            certificate: r.bytes("snapshot certificate", 64 << 10)?.to_vec(),
            governance_certificates: {
                let n = r.len("governance certificates", ctchain_ledger::snapshot::MAX_GOVERNANCE_BLOCKS)?;
                (0..n)
                    .map(|_| Ok(r.bytes("governance certificate", 64 << 10)?.to_vec()))
                    .collect::<Result<_, DecodeError>>()?
            },
        })
    }
}

fn state_path(dir: &Path, height: u64) -> PathBuf {
    dir.join(format!("{height:020}.state"))
}

fn offer_path(dir: &Path, height: u64) -> PathBuf {
    dir.join(format!("{height:020}.offer"))
}

/// The complete snapshots in `dir`, oldest first.
pub fn offers(dir: &Path) -> Result<Vec<SnapshotOffer>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "offer") {
            let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            out.push(SnapshotOffer::from_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))?);
        }
    }
    out.sort_by_key(|o| o.height);
    Ok(out)
}

/// Up to `max` bytes of the state of the snapshot at `height`, from `offset`.
pub fn read_chunk(dir: &Path, height: u64, offset: u64, max: usize) -> Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(state_path(dir, height))?;
    file.seek(SeekFrom::Start(offset))?;
    let mut out = Vec::with_capacity(max);
    file.take(max as u64).read_to_end(&mut out)?;
    Ok(out)
}

impl Driver {
    /// After applying the ledger block of `entry` at `height`: writes a snapshot when one is due, then prunes.
    pub(super) fn snapshot_if_due(&mut self, entry: &LogEntry, height: u64) -> Result<()> {
        let interval = self.settings.snapshot_interval_blocks;
        if interval == 0 || height == 0 || height % interval != 0 {
            return Ok(());
        }
        let dir = self.settings.snapshots_dir.clone();
        let (state, governance_certificates) = {
            let ledger = self.shared.ledger.read().map_err(|_| anyhow!("ledger lock poisoned"))?;
            let state = ledger.state_snapshot().context("cannot take a state snapshot")?;
            let certificates = state
                .governance
                .iter()
                .map(|b| {
                    let h = b.header.height;
                    ledger.certificate(h)?.ok_or_else(|| anyhow!("no certificate of governance block {h}"))
                })
                .collect::<Result<Vec<_>>>()?;
            (state, certificates)
        };
        let bytes = state.to_bytes();
        let offer = SnapshotOffer {
            height,
            seq: entry.committed.seq,
            timestamp: entry.timestamp,
            chain_digest: entry.chain_digest,
            digest: state.digest(),
            len: bytes.len() as u64,
            certificate: entry.committed.cert.to_bytes(),
            governance_certificates,
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        use ctchain_files::{write_atomic, Access, Replace};
        write_atomic(&state_path(&dir, height), &bytes, Replace::Allow, Access::OwnerOnly)
            .map_err(|e| anyhow!("cannot write the snapshot at height {height}: {e}"))?;
        write_atomic(&offer_path(&dir, height), &offer.to_bytes(), Replace::Allow, Access::OwnerOnly)
            .map_err(|e| anyhow!("cannot write the snapshot offer at height {height}: {e}"))?;
        info!(height, seq = offer.seq, bytes = bytes.len(), "state snapshot written");
        self.shared.metrics.snapshot_height.set(height as i64);

        let all = offers(&dir)?;
        for old in all.iter().take(all.len().saturating_sub(KEPT)) {
            let _ = std::fs::remove_file(offer_path(&dir, old.height));
            let _ = std::fs::remove_file(state_path(&dir, old.height));
        }
        // Prune below the oldest kept snapshot: a peer behind it restores from a snapshot instead.
        let below = all.iter().rev().take(KEPT).last().map_or(0, |o| o.seq);
        if below > self.store.first_seq()? {
            self.store.prune_below(below)?;
            info!(below, "consensus log pruned");
        }
        Ok(())
    }

    /// Answers a peer's request for snapshot offers.
    pub(super) fn serve_offers(&self, peer: PeerId) -> Result<()> {
        let offers = offers(&self.settings.snapshots_dir)?;
        if let Err(e) = self.shared.net.send(peer, Wire::SnapshotOffers(offers).to_bytes()) {
            debug!("snapshot offers not sent: {e}");
        }
        Ok(())
    }

    /// Answers a peer's request for a piece of a snapshot.
    pub(super) fn serve_snapshot_chunk(&self, peer: PeerId, height: u64, offset: u64) {
        let max = (self.settings.max_message_bytes / 2).min(4 << 20);
        match read_chunk(&self.settings.snapshots_dir, height, offset, max) {
            Ok(bytes) => {
                if let Err(e) = self.shared.net.send(peer, Wire::SnapshotChunk { height, offset, bytes }.to_bytes()) {
                    debug!("snapshot chunk not sent: {e}");
                }
            }
            // Gone (a newer one replaced it) or never here: the peer asks another or starts over.
            Err(e) => debug!(height, offset, "snapshot chunk unavailable: {e}"),
        }
    }
}
