//! The ledger: opening, phased validation and block application. The verified types live in `verified`, the
//! queries in `queries`.

use std::collections::HashMap;
use std::path::Path;

use ctchain_codec::{Decode, Encode, Hash32, Reader, Writer};
use ctchain_crypto::{AssetId, MultisetHash, OutputId, TxId, VerifiedTransaction, Verifier};
use rayon::prelude::*;

use crate::access::{AuditAccessRecord, VerifiedAccess};
use crate::encoded::{DecodedTx, EncodedBlock, EncodedTx};
use crate::error::{LedgerError, TxRejection};
use crate::execute::{Execution, ShieldedState};
use crate::merkle::{self, MerklePath};
use crate::shielded::{ChainVerifier, NoteRecord, NullifierRecord, ShieldedKeys, ShieldedTx, VerifiedShielded};
use crate::state::{self, OutputRecord, SpentRecord, Supply, TxLocation, UnspentEntry};
use crate::store::{Cf, StorageError, Store, StoreBatch};
use crate::types::{Block, BlockHeader, Genesis, LedgerTx, CRYPTO_SUITE, MAX_BLOCK_TXS};
use ctchain_governance::{Epoch, GovernanceTx, Registry};

mod queries;
mod snapshot;
mod verified;

pub use queries::{OutputStatus, TxInclusionProof, TxRecord};
pub use verified::{CheckedBlock, VerifiedBlock, VerifiedLedgerTx, VerifiedTxKind};

const SCHEMA_VERSION: u32 = 4;
const META_GENESIS: &[u8] = b"genesis";
const META_TIP: &[u8] = b"tip";
const META_SCHEMA: &[u8] = b"schema";
const META_SHIELDED: &[u8] = b"shielded";
const META_REGISTRY: &[u8] = b"registry";

/// The committed tip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tip {
    height: u64,
    seq: u64,
    hash: Hash32,
    timestamp_ms: u64,
    acc: MultisetHash,
}

impl Encode for Tip {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.height);
        w.u64(self.seq);
        w.put(&self.hash);
        w.u64(self.timestamp_ms);
        w.fixed(&self.acc.to_bytes());
    }
}

impl Decode for Tip {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, ctchain_codec::DecodeError> {
        let height = r.u64("tip height")?;
        let seq = r.u64("tip sequence number")?;
        let hash = r.get()?;
        let timestamp_ms = r.u64("tip timestamp")?;
        let acc = MultisetHash::from_bytes(&r.array("state accumulator")?)
            .ok_or(ctchain_codec::DecodeError::Invalid { field: "state accumulator", reason: "not a group element" })?;
        Ok(Self { height, seq, hash, timestamp_ms, acc })
    }
}

fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

fn decode<T: Decode>(bytes: &[u8], what: impl FnOnce() -> String) -> Result<T, StorageError> {
    T::from_bytes(bytes).map_err(|e| StorageError::Undecodable { what: what(), error: e.to_string() })
}

/// A node's ledger on disk.
pub struct Ledger {
    store: Store,
    genesis: Genesis,
    genesis_hash: Hash32,
    verifier: ChainVerifier,
    tip: Tip,
    /// The highest sequence number consensus executed, blocks or not ([`Ledger::note_consensus_seq`]).
    consensus_seq: u64,
    /// `Some` exactly when the genesis enables the shielded pool.
    shielded: Option<ShieldedState>,
    /// The consortium after the tip.
    registry: Registry,
}

impl Ledger {
    /// Opens the ledger at `path` for `genesis`, creating it if the directory is new. Refuses a database that
    /// holds another chain.
    pub fn open(path: &Path, genesis: &Genesis) -> Result<Self, LedgerError> {
        check_genesis(genesis)?;
        let store = Store::open(path)?;
        let given = genesis.hash();
        match store.get(Cf::Meta, META_GENESIS, || "stored genesis".into())? {
            Some(bytes) => {
                let stored: Genesis = decode(&bytes, || "stored genesis".into())?;
                if stored.hash() != given {
                    return Err(LedgerError::GenesisMismatch { stored: stored.hash(), given });
                }
                Self::load(store, stored)
            }
            None => {
                let registry = genesis.registry().map_err(LedgerError::InvalidConsortium)?;
                let mut acc = MultisetHash::new();
                for asset in &genesis.assets {
                    acc.insert(&state::supply_element(&asset.id, &Supply::default()));
                }
                acc.insert(&state::registry_element(&registry.digest()));
                let mut batch = StoreBatch::default();
                batch.put(Cf::Meta, META_REGISTRY, &registry.to_bytes());
                batch.put(Cf::Epochs, registry.epoch().number.to_be_bytes(), &registry.epoch().to_bytes());
                if let Some(config) = &genesis.shielded {
                    let initial = ShieldedState::initial(config.recent_roots);
                    acc.insert(&state::note_tree_element(&initial.frontier));
                    batch.put(Cf::Meta, META_SHIELDED, &encode_shielded_state(&initial));
                }
                let tip = Tip { height: 0, seq: 0, hash: given, timestamp_ms: genesis.genesis_time_ms, acc };
                batch.put(Cf::Meta, META_SCHEMA, &SCHEMA_VERSION.to_le_bytes());
                batch.put(Cf::Meta, META_GENESIS, &genesis.to_bytes());
                batch.put(Cf::Meta, META_TIP, &tip.to_bytes());
                store.write(batch)?;
                Self::load(store, genesis.clone())
            }
        }
    }

    /// Opens an existing ledger, taking the genesis from the database.
    pub fn open_existing(path: &Path) -> Result<Self, LedgerError> {
        if !path.join("CURRENT").exists() {
            return Err(StorageError::Missing(format!("ledger database at {}", path.display())).into());
        }
        let store = Store::open(path)?;
        let bytes = store
            .get(Cf::Meta, META_GENESIS, || "stored genesis".into())?
            .ok_or_else(|| StorageError::Missing("stored genesis".into()))?;
        let genesis = decode(&bytes, || "stored genesis".into())?;
        Self::load(store, genesis)
    }

    fn load(store: Store, genesis: Genesis) -> Result<Self, LedgerError> {
        let schema = store
            .get(Cf::Meta, META_SCHEMA, || "schema version".into())?
            .ok_or_else(|| StorageError::Missing("schema version".into()))?;
        if schema != SCHEMA_VERSION.to_le_bytes() {
            return Err(
                StorageError::Undecodable { what: "schema version".into(), error: format!("{schema:?}") }.into()
            );
        }
        let tip_bytes = store
            .get(Cf::Meta, META_TIP, || "chain tip".into())?
            .ok_or_else(|| StorageError::Missing("chain tip".into()))?;
        let tip: Tip = decode(&tip_bytes, || "chain tip".into())?;
        let genesis_hash = genesis.hash();
        let shielded = match &genesis.shielded {
            Some(config) => {
                let bytes = store
                    .get(Cf::Meta, META_SHIELDED, || "shielded pool state".into())?
                    .ok_or_else(|| StorageError::Missing("shielded pool state".into()))?;
                Some(decode_shielded_state(&bytes, config.recent_roots)?)
            }
            None => None,
        };
        let registry_bytes = store
            .get(Cf::Meta, META_REGISTRY, || "registry".into())?
            .ok_or_else(|| StorageError::Missing("registry".into()))?;
        let registry: Registry = decode(&registry_bytes, || "registry".into())?;
        let mut ledger = Self {
            verifier: ChainVerifier {
                confidential: Verifier::new(genesis.chain_id.clone(), registry.epoch().audit_keys.clone()),
                shielded: None,
            },
            store,
            genesis,
            genesis_hash,
            tip,
            consensus_seq: tip.seq,
            shielded,
            registry,
        };
        ledger.refresh_verifier();
        // The tip record and the tip header are written in one batch; check they agree.
        if tip.height > 0 {
            let header = ledger
                .header(tip.height)?
                .ok_or_else(|| StorageError::Missing(format!("header at tip height {}", tip.height)))?;
            if header.hash() != tip.hash || header.state_root != ledger.state_root() {
                return Err(StorageError::Corrupt {
                    what: "chain tip".into(),
                    reason: "disagrees with the tip header",
                }
                .into());
            }
        }
        Ok(ledger)
    }

    /// Reads and decodes one value; `what` names it in errors.
    fn read<T: Decode>(&self, cf: Cf, key: &[u8], what: impl Fn() -> String) -> Result<Option<T>, LedgerError> {
        match self.store.get(cf, key, &what)? {
            Some(bytes) => Ok(Some(decode(&bytes, what)?)),
            None => Ok(None),
        }
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The genesis hash (the previous hash of block 1).
    pub fn genesis_hash(&self) -> Hash32 {
        self.genesis_hash
    }

    /// The consortium's registry after the tip: members, nodes, revocations, assets, policy, epochs.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The epoch that governs sequence number `seq`, if the ledger knows it yet: the current one, or the next one
    /// once it has begun by then. `None` for a sequence number before the current epoch.
    pub fn epoch_for(&self, seq: u64) -> Option<&Epoch> {
        match self.registry.next_epoch() {
            Some(next) if seq >= next.first_seq => Some(next),
            _ if seq >= self.registry.epoch().first_seq => Some(self.registry.epoch()),
            _ => None,
        }
    }

    /// The sequence number the next block can have at the earliest: above the tip's and above what consensus
    /// executed since ([`Ledger::note_consensus_seq`]).
    pub fn next_block_seq(&self) -> u64 {
        self.tip.seq.max(self.consensus_seq) + 1
    }

    /// The epoch that governs the next block (as far as the ledger knows: a block at a later sequence number may
    /// fall in the epoch after).
    pub fn next_block_epoch(&self) -> &Epoch {
        self.epoch_for(self.next_block_seq()).unwrap_or(self.registry.epoch())
    }

    /// Consensus executed sequence number `seq`, which carried no ledger block (a null block or a heartbeat):
    /// the next block lies above it, which may be in the next epoch. Kept in memory only; it guides what
    /// transactions are admitted with (the next block's audit keys), never what a block is judged by (its
    /// header's sequence number).
    pub fn note_consensus_seq(&mut self, seq: u64) {
        if seq > self.consensus_seq {
            self.consensus_seq = seq;
            self.refresh_verifier();
        }
    }

    /// Keeps the confidential verifier on the audit keys of the next block's epoch.
    fn refresh_verifier(&mut self) {
        let keys = &self.next_block_epoch().audit_keys;
        if self.verifier.confidential.audit_keys() != keys.as_slice() {
            self.verifier.confidential = Verifier::new(self.genesis.chain_id.clone(), keys.clone());
        }
    }

    /// The verifier for a block at sequence number `seq`: the audit keys of its epoch (the next block's when its
    /// epoch is not known yet). A block proposed before this node applied its predecessor is checked with the
    /// right keys even across an epoch boundary.
    pub fn verifier_for(&self, seq: u64) -> ChainVerifier {
        let keys = &self.epoch_for(seq).unwrap_or(self.next_block_epoch()).audit_keys;
        if self.verifier.confidential.audit_keys() == keys.as_slice() {
            return self.verifier.clone();
        }
        ChainVerifier {
            confidential: Verifier::new(self.genesis.chain_id.clone(), keys.clone()),
            shielded: self.verifier.shielded.clone(),
        }
    }

    /// The verifier for this chain's id, the next block's audit keys and (once loaded) the shielded verifying key.
    pub fn verifier(&self) -> &ChainVerifier {
        &self.verifier
    }

    /// Loads the shielded pool's verifying key from the bytes of its parameter file (`params/transfer.vk`),
    /// refusing it unless it hashes to the value the genesis pins. Until this succeeds, shielded transactions
    /// are refused in phase one with [`TxRejection::ShieldedPoolDisabled`].
    pub fn load_shielded_verifying_key(&mut self, vk_file: &[u8]) -> Result<(), LedgerError> {
        let config = self.genesis.shielded.as_ref().ok_or(LedgerError::InvalidGenesis("no shielded pool"))?;
        let verifying_key =
            ctchain_circuits::params::verifying_key_from_bytes(vk_file, Some(&config.verifying_key_hash))
                .map_err(|e| LedgerError::ShieldedParameters(e.to_string()))?;
        self.verifier.shielded = Some(std::sync::Arc::new(ShieldedKeys { verifying_key }));
        Ok(())
    }

    /// Height of the last committed block (0 before any).
    pub fn height(&self) -> u64 {
        self.tip.height
    }

    /// Hash of the last committed header (the genesis hash before any block).
    pub fn tip_hash(&self) -> Hash32 {
        self.tip.hash
    }

    /// Timestamp of the last committed block (the genesis time before any).
    pub fn tip_timestamp_ms(&self) -> u64 {
        self.tip.timestamp_ms
    }

    /// The current state root.
    pub fn state_root(&self) -> Hash32 {
        state::state_root(&self.genesis_hash, &self.tip.acc)
    }

    /// Phase three for a mempool: the stateful checks of one transaction against the committed state, as if it
    /// were alone in the next block. A failing check is [`LedgerError::InvalidTransaction`] with its reason.
    pub fn check_transaction(&self, tx: &VerifiedTransaction) -> Result<(), LedgerError> {
        crate::work::count_checked_alone();
        crate::execute::execute(
            self,
            self.tip.height + 1,
            self.next_block_seq(),
            self.tip.timestamp_ms + 1,
            &[VerifiedTxKind::Confidential(tx.clone())],
        )
        .map(|_| ())
    }

    /// [`Ledger::check_transaction`] for a ledger transaction of any kind.
    pub fn check_ledger_tx(&self, tx: &VerifiedLedgerTx) -> Result<(), LedgerError> {
        crate::work::count_checked_alone();
        crate::execute::execute(
            self,
            self.tip.height + 1,
            self.next_block_seq(),
            self.tip.timestamp_ms + 1,
            std::slice::from_ref(tx.kind()),
        )
        .map(|_| ())
    }

    /// Builds the next block from verified transactions, computing its state root (for a proposer): to be
    /// committed at consensus sequence number `seq`, proposed by validator `proposer` in `view`.
    pub fn propose<T: Into<VerifiedLedgerTx>>(
        &self,
        txs: Vec<T>,
        seq: u64,
        timestamp_ms: u64,
        proposer: u32,
        view: u64,
    ) -> Result<VerifiedBlock, LedgerError> {
        self.propose_checked(txs, seq, timestamp_ms, proposer, view).map(CheckedBlock::into_block)
    }

    /// [`Ledger::propose`], keeping the execution that computed the state root: [`Ledger::apply_checked`] then
    /// writes it without executing the block again.
    pub fn propose_checked<T: Into<VerifiedLedgerTx>>(
        &self,
        txs: Vec<T>,
        seq: u64,
        timestamp_ms: u64,
        proposer: u32,
        view: u64,
    ) -> Result<CheckedBlock, LedgerError> {
        let txs: Vec<VerifiedLedgerTx> = txs.into_iter().map(Into::into).collect();
        let height = self.tip.height + 1;
        if seq <= self.tip.seq {
            return Err(LedgerError::SeqNotIncreasing { height, previous: self.tip.seq, found: seq });
        }
        let execution = self.execute(height, seq, timestamp_ms, &txs)?;
        let leaves: Vec<Hash32> = txs.iter().map(VerifiedLedgerTx::leaf).collect();
        let header = BlockHeader {
            height,
            seq,
            prev_hash: self.tip.hash,
            tx_root: merkle::root(&leaves),
            state_root: state::state_root(&self.genesis_hash, &execution.acc),
            timestamp_ms,
            proposer,
            view,
        };
        Ok(CheckedBlock { block: VerifiedBlock { header, txs }, execution, parent: self.tip.hash })
    }

    /// Phases two and three without writing: what [`Ledger::apply`] would check, for a validator deciding whether
    /// to vote for a proposed block. Leaves the ledger untouched either way; the execution is kept in the
    /// [`CheckedBlock`], so that applying the block once it commits does not execute it again.
    pub fn check_block(&self, block: VerifiedBlock) -> Result<CheckedBlock, LedgerError> {
        let execution = self.check_and_execute(&block)?;
        Ok(CheckedBlock { block, execution, parent: self.tip.hash })
    }

    fn check_and_execute(&self, block: &VerifiedBlock) -> Result<Execution, LedgerError> {
        let header = &block.header;
        let height = self.tip.height + 1;
        if header.height != height {
            return Err(LedgerError::WrongHeight { expected: height, found: header.height });
        }
        if header.prev_hash != self.tip.hash {
            return Err(LedgerError::WrongPrevHash { height, expected: self.tip.hash, found: header.prev_hash });
        }
        if header.timestamp_ms <= self.tip.timestamp_ms {
            return Err(LedgerError::TimestampNotIncreasing {
                height,
                previous: self.tip.timestamp_ms,
                found: header.timestamp_ms,
            });
        }
        if header.seq <= self.tip.seq {
            return Err(LedgerError::SeqNotIncreasing { height, previous: self.tip.seq, found: header.seq });
        }
        let epoch = self.epoch_for(header.seq).unwrap_or(self.registry.epoch());
        if header.proposer as usize >= epoch.validators.len() {
            return Err(LedgerError::UnknownProposer { height, proposer: header.proposer });
        }
        // The transaction root was checked when the block was verified (or computed when it was proposed):
        // a VerifiedBlock cannot exist otherwise.
        let execution = self.execute(height, header.seq, header.timestamp_ms, &block.txs)?;
        let computed = state::state_root(&self.genesis_hash, &execution.acc);
        if computed != header.state_root {
            return Err(LedgerError::StateRootMismatch { height, in_header: header.state_root, computed });
        }
        Ok(execution)
    }

    /// Phase three: checks the header and every transaction against the state in block order, and commits the
    /// block with all its state changes in one synced atomic write. On any error nothing is written. Gives the
    /// block back, committed.
    pub fn apply(&mut self, block: VerifiedBlock, certificate: Option<&[u8]>) -> Result<VerifiedBlock, LedgerError> {
        let execution = self.check_and_execute(&block)?;
        self.write_block(&block, execution, certificate)?;
        Ok(block)
    }

    /// Commits a block checked against the current tip ([`Ledger::check_block`], [`Ledger::propose_checked`])
    /// without executing it again. A block checked against another tip (the ledger moved on since) is checked
    /// and executed again, as by [`Ledger::apply`].
    pub fn apply_checked(
        &mut self,
        checked: CheckedBlock,
        certificate: Option<&[u8]>,
    ) -> Result<VerifiedBlock, LedgerError> {
        let CheckedBlock { block, execution, parent } = checked;
        if parent != self.tip.hash {
            return self.apply(block, certificate);
        }
        self.write_block(&block, execution, certificate)?;
        Ok(block)
    }

    /// The block's one atomic, synced write, then the new tip.
    fn write_block(
        &mut self,
        block: &VerifiedBlock,
        execution: Execution,
        certificate: Option<&[u8]>,
    ) -> Result<(), LedgerError> {
        let header = &block.header;
        let height = header.height;

        let hash = header.hash();
        let mut batch = StoreBatch::default();
        let hk = height_key(height);
        batch.put(Cf::Headers, hk, &header.to_bytes());
        // The bytes each transaction was verified as: stored as they came, never encoded again.
        let mut w = Writer::new();
        w.len(block.txs.len());
        for tx in &block.txs {
            w.bytes(tx.encoded().bytes());
        }
        batch.put(Cf::Blocks, hk, w.as_bytes());
        batch.put(Cf::BlockHashes, hash.0, &hk);
        for (id, loc) in &execution.locations {
            batch.put(Cf::Txs, id.as_bytes().to_vec(), &loc.to_bytes());
        }
        for record in &execution.created {
            batch.put(Cf::Outputs, record.id.0 .0, &record.to_bytes());
        }
        for (id, entry) in &execution.unspent {
            batch.put(Cf::Unspent, id.0 .0, &entry.to_bytes());
        }
        for (id, spent) in &execution.spent {
            batch.put(Cf::Spent, id.0 .0, &spent.to_bytes());
            batch.delete(Cf::Unspent, id.0 .0);
        }
        for (asset, supply) in &execution.supply {
            batch.put(Cf::Supply, asset.0, &supply.to_bytes());
            let mut key = asset.0.to_vec();
            key.extend_from_slice(&hk);
            batch.put(Cf::SupplyHistory, key, &supply.to_bytes());
        }
        for (index, record) in &execution.accesses {
            let mut key = hk.to_vec();
            key.extend_from_slice(&index.to_be_bytes());
            batch.put(Cf::AuditAccess, key, &record.to_bytes());
        }
        for (nf, record) in &execution.nullifiers {
            batch.put(Cf::Nullifiers, crate::execute::nullifier_key(nf), &record.to_bytes());
        }
        for note in &execution.notes {
            batch.put(Cf::Notes, note.position.to_be_bytes(), &note.to_bytes());
        }
        if let Some(shielded) = &execution.shielded {
            batch.put(Cf::Meta, META_SHIELDED, &encode_shielded_state(shielded));
        }
        if let Some(cert) = certificate {
            batch.put(Cf::Certificates, hk, cert);
        }
        for (index, tx) in &execution.governance {
            let mut key = hk.to_vec();
            key.extend_from_slice(&index.to_be_bytes());
            batch.put(Cf::Governance, key, &tx.to_bytes());
        }
        if let Some(registry) = &execution.registry {
            batch.put(Cf::Meta, META_REGISTRY, &registry.to_bytes());
            if execution.epoch_started {
                let epoch = registry.epoch();
                batch.put(Cf::Epochs, epoch.number.to_be_bytes(), &epoch.to_bytes());
            }
        }
        let tip = Tip { height, seq: header.seq, hash, timestamp_ms: header.timestamp_ms, acc: execution.acc };
        batch.put(Cf::Meta, META_TIP, &tip.to_bytes());
        self.store.write(batch)?;
        self.tip = tip;
        if let Some(shielded) = execution.shielded {
            self.shielded = Some(shielded);
        }
        if let Some(registry) = execution.registry {
            self.registry = registry;
        }
        self.refresh_verifier();
        Ok(())
    }

    /// Runs the stateful checks of `txs` in order as block `height` at sequence number `seq` and computes the
    /// resulting changes. A block's execution (counted in [`crate::work`]).
    fn execute<T: AsRef<VerifiedTxKind>>(
        &self,
        height: u64,
        seq: u64,
        time_ms: u64,
        txs: &[T],
    ) -> Result<Execution, LedgerError> {
        crate::work::count_executed(txs.len());
        crate::execute::execute(self, height, seq, time_ms, txs)
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn accumulator(&self) -> MultisetHash {
        self.tip.acc
    }

    pub(crate) fn shielded_state(&self) -> Option<&ShieldedState> {
        self.shielded.as_ref()
    }
}

fn check_genesis(g: &Genesis) -> Result<(), LedgerError> {
    if g.chain_id.is_empty() || g.chain_id.len() > ctchain_crypto::tx::MAX_CHAIN_ID_LEN {
        return Err(LedgerError::InvalidGenesis("chain id must be 1 to 64 bytes"));
    }
    if g.crypto_suite != CRYPTO_SUITE {
        return Err(LedgerError::InvalidGenesis("unsupported crypto suite"));
    }
    // Members, nodes, validators, audit keys, assets and consensus parameters: every check a governance action
    // would make of them.
    g.registry().map_err(LedgerError::InvalidConsortium)?;
    if let Some(config) = &g.shielded {
        if config.recent_roots == 0 || config.recent_roots > crate::shielded::MAX_RECENT_ROOTS {
            return Err(LedgerError::InvalidGenesis("the shielded pool must keep 1 to 10000 recent roots"));
        }
    }
    Ok(())
}

impl ShieldedState {
    fn initial(recent_roots: u32) -> Self {
        let frontier = ctchain_circuits::Frontier::new();
        let mut roots = ctchain_circuits::RecentRoots::new(recent_roots as usize);
        roots.push(frontier.root());
        Self { frontier, roots }
    }
}

fn encode_shielded_state(state: &ShieldedState) -> Vec<u8> {
    let mut w = Writer::new();
    w.put(&state.frontier);
    let roots: Vec<ctchain_circuits::Anchor> = state.roots.iter().copied().collect();
    w.seq(&roots);
    w.into_bytes()
}

fn decode_shielded_state(bytes: &[u8], capacity: u32) -> Result<ShieldedState, StorageError> {
    let undecodable = |e: ctchain_codec::DecodeError| StorageError::Undecodable {
        what: "shielded pool state".into(),
        error: e.to_string(),
    };
    let mut r = Reader::new(bytes);
    let frontier = r.get().map_err(undecodable)?;
    let list: Vec<ctchain_circuits::Anchor> =
        r.seq("recent roots", crate::shielded::MAX_RECENT_ROOTS as usize).map_err(undecodable)?;
    r.finish().map_err(undecodable)?;
    let mut roots = ctchain_circuits::RecentRoots::new(capacity as usize);
    for root in list {
        roots.push(root);
    }
    Ok(ShieldedState { frontier, roots })
}
