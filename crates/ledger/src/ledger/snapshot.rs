//! Making and restoring state snapshots ([`crate::snapshot`]).

use super::*;
use crate::snapshot::{StateSnapshot, STATE_CFS};

impl Ledger {
    /// The state at the tip, as a snapshot. The caller keeps the ledger from changing meanwhile (the node holds
    /// its read lock), so that the entries are one state.
    pub fn state_snapshot(&self) -> Result<StateSnapshot, LedgerError> {
        let height = self.tip.height;
        if height == 0 {
            return Err(LedgerError::Snapshot("the genesis needs no snapshot".into()));
        }
        let block = self.block(height)?.ok_or_else(|| StorageError::Missing(format!("block {height}")))?;
        let mut entries = Vec::new();
        for cf in STATE_CFS {
            for (key, value) in self.store.scan(cf, &[], &[], |k| format!("{} entry {}", cf.name(), hex::encode(k)))? {
                entries.push((cf, key, value));
            }
        }
        Ok(StateSnapshot { block, entries })
    }

    /// Builds a ledger at `path` (which must not hold one) from `snapshot`, refusing it unless `certificate`
    /// proves its block final and the state its entries describe is exactly the one that block's header commits
    /// to. On refusal nothing is left at `path`.
    pub fn restore_snapshot(
        path: &Path,
        genesis: &Genesis,
        snapshot: &StateSnapshot,
        certificate: &[u8],
    ) -> Result<Self, LedgerError> {
        if path.join("CURRENT").exists() {
            return Err(LedgerError::Snapshot(format!("{} already holds a ledger", path.display())));
        }
        let result = Self::restore_into(path, genesis, snapshot, certificate);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(path);
        }
        result
    }

    fn restore_into(
        path: &Path,
        genesis: &Genesis,
        snapshot: &StateSnapshot,
        certificate: &[u8],
    ) -> Result<Self, LedgerError> {
        let refuse = |why: String| LedgerError::Snapshot(why);
        let header = &snapshot.block.header;
        crate::finality::verify_block_certificate(genesis, &snapshot.block, certificate)
            .map_err(|e| refuse(format!("block {}: {e}", header.height)))?;
        let genesis_bytes = genesis.to_bytes();
        let stored_genesis = snapshot.entries.iter().find(|(cf, key, _)| *cf == Cf::Meta && key == META_GENESIS);
        if stored_genesis.map(|(_, _, v)| v) != Some(&genesis_bytes) {
            return Err(refuse("it is not a snapshot of this chain (its genesis differs)".into()));
        }
        check_genesis(genesis)?;
        let store = Store::open(path)?;
        let mut batch = StoreBatch::default();
        for (cf, key, value) in &snapshot.entries {
            batch.put(*cf, key.clone(), value);
        }
        let hk = height_key(header.height);
        batch.put(Cf::Headers, hk, &header.to_bytes());
        let mut w = Writer::new();
        w.len(snapshot.block.txs.len());
        for tx in &snapshot.block.txs {
            w.bytes(&tx.to_bytes());
        }
        batch.put(Cf::Blocks, hk, w.as_bytes());
        batch.put(Cf::BlockHashes, header.hash().0, &hk);
        batch.put(Cf::Certificates, hk, certificate);
        store.write(batch)?;
        drop(store);
        // Opening checks that the tip the entries name is this header (hash and state root of its accumulator);
        // recomputing the root from the entries themselves checks that they are that state.
        let ledger = Self::open(path, genesis).map_err(|e| refuse(format!("its metadata does not open: {e}")))?;
        if ledger.height() != header.height {
            return Err(refuse(format!("its tip is height {}, not its block's {}", ledger.height(), header.height)));
        }
        let computed = ledger.recompute_state_root()?;
        if computed != header.state_root {
            return Err(refuse(format!(
                "its entries make state root {computed}, but block {} commits to {}",
                header.height, header.state_root
            )));
        }
        Ok(ledger)
    }
}
