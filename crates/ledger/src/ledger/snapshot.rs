//! Making and restoring state snapshots ([`crate::snapshot`]).

use super::*;
use crate::finality::EpochTracker;
use crate::snapshot::{StateSnapshot, STATE_CFS};

impl Ledger {
    /// The state at the tip, as a snapshot, with the governance history. The caller keeps the ledger from changing meanwhile (the node holds
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
        let governance = self.governance_history()?.into_iter().map(|(block, _)| block).collect();
        Ok(StateSnapshot { block, entries, governance })
    }

    /// Every block that holds governance transactions, with its commit certificate, in height order: what an
    /// [`EpochTracker`] follows from the genesis to this ledger's epochs.
    pub fn governance_history(&self) -> Result<Vec<(Block, Vec<u8>)>, LedgerError> {
        let mut heights: Vec<u64> = self.governance_log()?.into_iter().map(|(height, _, _)| height).collect();
        heights.dedup();
        heights
            .into_iter()
            .map(|h| {
                let block = self.block(h)?.ok_or_else(|| StorageError::Missing(format!("governance block {h}")))?;
                let certificate = self
                    .certificate(h)?
                    .ok_or_else(|| StorageError::Missing(format!("certificate of governance block {h}")))?;
                Ok((block, certificate))
            })
            .collect()
    }

    /// Builds a ledger at `path` (which must not hold one) from `snapshot`, refusing it unless its governance
    /// history (each block with its certificate in `governance_certificates`) leads from the genesis to exactly
    /// the snapshot's registry and epochs, `certificate` proves its block final under its epoch's validators, and
    /// the state its entries describe is exactly the one that block's header commits to. On refusal nothing is
    /// left at `path`.
    pub fn restore_snapshot(
        path: &Path,
        genesis: &Genesis,
        snapshot: &StateSnapshot,
        certificate: &[u8],
        governance_certificates: &[Vec<u8>],
    ) -> Result<Self, LedgerError> {
        if path.join("CURRENT").exists() {
            return Err(LedgerError::Snapshot(format!("{} already holds a ledger", path.display())));
        }
        let result = Self::restore_into(path, genesis, snapshot, certificate, governance_certificates);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(path);
        }
        result
    }

    /// Follows a snapshot's governance history from the genesis validators to its own block — every governance
    /// block below it with its certificate in `governance_certificates`, then the snapshot's block with
    /// `certificate` — without writing anything: the epochs it returns say which validators certified the
    /// snapshot's block, so that a restoring node knows whose offers vouch for it before it trusts the rest.
    pub fn follow_snapshot_history(
        genesis: &Genesis,
        snapshot: &StateSnapshot,
        certificate: &[u8],
        governance_certificates: &[Vec<u8>],
    ) -> Result<EpochTracker, LedgerError> {
        let refuse = |why: String| LedgerError::Snapshot(why);
        let header = &snapshot.block.header;
        if governance_certificates.len() != snapshot.governance.len() {
            return Err(refuse(format!(
                "it holds {} governance blocks but {} certificates came with them",
                snapshot.governance.len(),
                governance_certificates.len()
            )));
        }
        let mut tracker = EpochTracker::new(genesis).map_err(|e| refuse(format!("the genesis: {e}")))?;
        let history = snapshot.governance.iter().zip(governance_certificates);
        for (block, cert) in history.filter(|(b, _)| b.header.height < header.height) {
            tracker
                .follow(block, cert)
                .map_err(|e| refuse(format!("its governance block {}: {e}", block.header.height)))?;
        }
        tracker.follow(&snapshot.block, certificate).map_err(|e| refuse(format!("block {}: {e}", header.height)))?;
        Ok(tracker)
    }

    fn restore_into(
        path: &Path,
        genesis: &Genesis,
        snapshot: &StateSnapshot,
        certificate: &[u8],
        governance_certificates: &[Vec<u8>],
    ) -> Result<Self, LedgerError> {
        let refuse = |why: String| LedgerError::Snapshot(why);
        let header = &snapshot.block.header;
        let tracker = Self::follow_snapshot_history(genesis, snapshot, certificate, governance_certificates)?;
        let history = snapshot.governance.iter().zip(governance_certificates);
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
        batch.put(Cf::Blocks, hk, &encode_tx_list(&snapshot.block.txs));
        batch.put(Cf::BlockHashes, header.hash().0, &hk);
        batch.put(Cf::Certificates, hk, certificate);
        // The governance history, served like any block (light clients and the next restore follow it).
        for (block, cert) in history {
            let hk = height_key(block.header.height);
            if block.header.height < header.height {
                batch.put(Cf::Headers, hk, &block.header.to_bytes());
                batch.put(Cf::Blocks, hk, &encode_tx_list(&block.txs));
                batch.put(Cf::BlockHashes, block.header.hash().0, &hk);
                batch.put(Cf::Certificates, hk, cert);
            }
            for (index, tx) in block.txs.iter().enumerate() {
                if let LedgerTx::Governance(tx) = tx {
                    let mut key = hk.to_vec();
                    key.extend_from_slice(&(index as u32).to_be_bytes());
                    batch.put(Cf::Governance, key, &tx.to_bytes());
                }
            }
        }
        store.write(batch)?;
        drop(store);
        // Opening checks that the tip the entries name is this header (hash and state root of its accumulator);
        // recomputing the root from the entries themselves checks that they are that state.
        let ledger = Self::open(path, genesis).map_err(|e| refuse(format!("its metadata does not open: {e}")))?;
        if ledger.height() != header.height {
            return Err(refuse(format!("its tip is height {}, not its block's {}", ledger.height(), header.height)));
        }
        // The history must lead to exactly this state's consortium: a history cut short leaves another registry.
        if ledger.registry() != tracker.registry() {
            return Err(refuse(format!(
                "its governance history leads to registry version {}, its state holds version {}",
                tracker.registry().version(),
                ledger.registry().version()
            )));
        }
        let mut epochs = ledger.epochs()?;
        epochs.extend(ledger.registry().next_epoch().cloned());
        if epochs != tracker.epochs() {
            return Err(refuse("its epochs are not the ones its governance history leads to".into()));
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

/// A block's transactions as the ledger stores them.
fn encode_tx_list(txs: &[LedgerTx]) -> Vec<u8> {
    let mut w = Writer::new();
    w.len(txs.len());
    for tx in txs {
        w.bytes(&tx.to_bytes());
    }
    w.into_bytes()
}
