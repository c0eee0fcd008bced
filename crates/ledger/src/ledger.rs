//! The ledger: opening, phased validation, block application, and queries.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use ctchain_codec::{Decode, Encode, Hash32, Reader, Writer};
use ctchain_crypto::{AssetId, MultisetHash, OutputId, TxId, VerifiedTransaction, Verifier, MAX_AUDIT_KEYS};
use rayon::prelude::*;

use crate::access::{AuditAccessRecord, VerifiedAccess};
use crate::error::{LedgerError, TxRejection};
use crate::execute::{Execution, ShieldedState};
use crate::merkle::{self, MerklePath};
use crate::shielded::{ChainVerifier, NoteRecord, NullifierRecord, ShieldedKeys, ShieldedTx, VerifiedShielded};
use crate::state::{self, OutputRecord, SpentRecord, Supply, TxLocation, UnspentEntry};
use crate::store::{Cf, StorageError, Store, StoreBatch};
use crate::types::{Block, BlockHeader, Genesis, LedgerTx, CRYPTO_SUITE, MAX_BLOCK_TXS};

const SCHEMA_VERSION: u32 = 2;
const META_GENESIS: &[u8] = b"genesis";
const META_TIP: &[u8] = b"tip";
const META_SCHEMA: &[u8] = b"schema";
const META_SHIELDED: &[u8] = b"shielded";

/// A block whose every transaction passed the stateless checks and whose transaction root matches. Only
/// [`Block::verify`], [`Block::verify_with`] and [`Ledger::propose`] make one.
#[derive(Clone, Debug)]
pub struct VerifiedBlock {
    header: BlockHeader,
    txs: Vec<VerifiedLedgerTx>,
}

/// A block that passed phases two and three against the tip it extends (its parent), with the state changes it
/// makes: [`Ledger::apply_checked`] writes them without executing the block again.
pub struct CheckedBlock {
    block: VerifiedBlock,
    execution: Execution,
    parent: Hash32,
}

impl CheckedBlock {
    /// The block.
    pub fn block(&self) -> &VerifiedBlock {
        &self.block
    }

    /// The block, without its execution.
    pub fn into_block(self) -> VerifiedBlock {
        self.block
    }
}

/// A ledger transaction that passed its stateless checks. Only the verifiers make one.
// Confidential transactions are nearly every entry; boxing them to shrink the rare audit-access record would
// cost an allocation per transaction.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum VerifiedLedgerTx {
    /// A confidential transaction (proofs and signatures checked).
    Confidential(VerifiedTransaction),
    /// An audit-access record (dealing and supervisor signatures checked).
    AuditAccess(VerifiedAccess),
    /// A shielded transaction (Groth16 proof and, if value crosses, the confidential side checked).
    Shielded(VerifiedShielded),
}

impl VerifiedLedgerTx {
    /// The transaction id.
    pub fn id(&self) -> TxId {
        match self {
            Self::Confidential(tx) => tx.id(),
            Self::AuditAccess(a) => a.id(),
            Self::Shielded(s) => s.id(),
        }
    }

    /// The plain transaction.
    pub fn to_ledger_tx(&self) -> LedgerTx {
        match self {
            Self::Confidential(tx) => LedgerTx::Confidential(tx.transaction().clone()),
            Self::AuditAccess(a) => LedgerTx::AuditAccess(a.record().clone()),
            Self::Shielded(s) => LedgerTx::Shielded(Box::new(s.tx().clone())),
        }
    }

    /// Runs the stateless checks of `tx` for the chain `verifier` is for.
    pub fn verify(tx: LedgerTx, verifier: &ChainVerifier) -> Result<Self, TxRejection> {
        match tx {
            LedgerTx::Confidential(tx) => {
                if tx.body.public.iter().any(|p| p.kind.crosses_pools()) {
                    return Err(TxRejection::CrossingOutsideShieldedTx);
                }
                Ok(Self::Confidential(verifier.confidential.verify(tx)?))
            }
            LedgerTx::AuditAccess(record) => {
                Ok(Self::AuditAccess(record.verify(verifier.chain_id(), verifier.confidential.audit_keys())?))
            }
            LedgerTx::Shielded(tx) => Ok(Self::Shielded(tx.verify(verifier)?)),
        }
    }
}

impl From<VerifiedTransaction> for VerifiedLedgerTx {
    fn from(tx: VerifiedTransaction) -> Self {
        Self::Confidential(tx)
    }
}

impl VerifiedBlock {
    /// The header.
    pub fn header(&self) -> &BlockHeader {
        &self.header
    }

    /// The verified transactions.
    pub fn txs(&self) -> &[VerifiedLedgerTx] {
        &self.txs
    }

    /// The plain block (for sending or storing).
    pub fn to_block(&self) -> Block {
        Block { header: self.header.clone(), txs: self.txs.iter().map(VerifiedLedgerTx::to_ledger_tx).collect() }
    }
}

impl Block {
    /// Phase one: checks the transaction root and runs every transaction's stateless checks in parallel.
    pub fn verify(self, verifier: &ChainVerifier) -> Result<VerifiedBlock, LedgerError> {
        self.verify_with(verifier, |_| None)
    }

    /// Like [`Block::verify`], but a transaction whose exact bytes (by Merkle leaf hash) were verified before —
    /// typically in the mempool — is taken from `known` instead of being verified again.
    pub fn verify_with(
        self,
        verifier: &ChainVerifier,
        known: impl Fn(&Hash32) -> Option<VerifiedLedgerTx> + Sync,
    ) -> Result<VerifiedBlock, LedgerError> {
        let height = self.header.height;
        if self.txs.len() > MAX_BLOCK_TXS {
            return Err(LedgerError::TooManyTransactions { height, count: self.txs.len(), max: MAX_BLOCK_TXS });
        }
        if Block::compute_tx_root(&self.txs) != self.header.tx_root {
            return Err(LedgerError::TxRootMismatch { height });
        }
        let results: Vec<Result<VerifiedLedgerTx, (TxId, TxRejection)>> = self
            .txs
            .into_par_iter()
            .map(|tx| {
                if let Some(done) = known(&tx.leaf_hash()) {
                    return Ok(done);
                }
                let id = tx.id();
                VerifiedLedgerTx::verify(tx, verifier).map_err(|e| (id, e))
            })
            .collect();
        let mut txs = Vec::with_capacity(results.len());
        for (index, r) in results.into_iter().enumerate() {
            match r {
                Ok(tx) => txs.push(tx),
                Err((tx_id, reason)) => return Err(LedgerError::InvalidTransaction { height, index, tx_id, reason }),
            }
        }
        Ok(VerifiedBlock { header: self.header, txs })
    }
}

/// A committed transaction and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxRecord {
    /// The transaction.
    pub tx: LedgerTx,
    /// Its block height.
    pub height: u64,
    /// Its index in the block.
    pub index: u32,
}

/// An output with its spent status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputStatus {
    /// The output and where it was created.
    pub record: OutputRecord,
    /// Who spent it, if anyone.
    pub spent: Option<SpentRecord>,
}

/// Evidence that a transaction is in a block, checkable without the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxInclusionProof {
    /// The block's header.
    pub header: BlockHeader,
    /// The path from the transaction's leaf to the header's transaction root.
    pub path: MerklePath,
}

impl TxInclusionProof {
    /// If `tx` is in the block, the block's hash (which the caller compares with a hash it trusts, e.g. one
    /// under a commit certificate); `None` otherwise.
    pub fn verify(&self, tx: &LedgerTx) -> Option<Hash32> {
        (self.path.root_from(&tx.leaf_hash())? == self.header.tx_root).then(|| self.header.hash())
    }
}

impl Encode for TxInclusionProof {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.header);
        w.put(&self.path);
    }
}

impl Decode for TxInclusionProof {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, ctchain_codec::DecodeError> {
        Ok(Self { header: r.get()?, path: r.get()? })
    }
}

/// The committed tip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tip {
    height: u64,
    hash: Hash32,
    timestamp_ms: u64,
    acc: MultisetHash,
}

impl Encode for Tip {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.height);
        w.put(&self.hash);
        w.u64(self.timestamp_ms);
        w.fixed(&self.acc.to_bytes());
    }
}

impl Decode for Tip {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, ctchain_codec::DecodeError> {
        let height = r.u64("tip height")?;
        let hash = r.get()?;
        let timestamp_ms = r.u64("tip timestamp")?;
        let acc = MultisetHash::from_bytes(&r.array("state accumulator")?)
            .ok_or(ctchain_codec::DecodeError::Invalid { field: "state accumulator", reason: "not a group element" })?;
        Ok(Self { height, hash, timestamp_ms, acc })
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
    /// `Some` exactly when the genesis enables the shielded pool.
    shielded: Option<ShieldedState>,
    /// [`Ledger::executed_txs`].
    executed_txs: std::sync::atomic::AtomicU64,
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
                let mut acc = MultisetHash::new();
                for asset in &genesis.assets {
                    acc.insert(&state::supply_element(&asset.id, &Supply::default()));
                }
                let mut batch = StoreBatch::default();
                if let Some(config) = &genesis.shielded {
                    let initial = ShieldedState::initial(config.recent_roots);
                    acc.insert(&state::note_tree_element(&initial.frontier));
                    batch.put(Cf::Meta, META_SHIELDED, &encode_shielded_state(&initial));
                }
                let tip = Tip { height: 0, hash: given, timestamp_ms: genesis.genesis_time_ms, acc };
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
        let ledger = Self {
            verifier: ChainVerifier {
                confidential: Verifier::new(genesis.chain_id.clone(), genesis.audit_keys.clone()),
                shielded: None,
            },
            store,
            genesis,
            genesis_hash,
            tip,
            shielded,
            executed_txs: Default::default(),
        };
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

    /// The verifier for this chain's id, audit keys and (once loaded) shielded verifying key.
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
        self.check_ledger_tx(&VerifiedLedgerTx::Confidential(tx.clone()))
    }

    /// [`Ledger::check_transaction`] for a ledger transaction of any kind.
    pub fn check_ledger_tx(&self, tx: &VerifiedLedgerTx) -> Result<(), LedgerError> {
        self.execute(self.tip.height + 1, std::slice::from_ref(tx)).map(|_| ())
    }

    /// Builds the next block from verified transactions, computing its state root (for a proposer).
    pub fn propose<T: Into<VerifiedLedgerTx>>(
        &self,
        txs: Vec<T>,
        timestamp_ms: u64,
        proposer: u32,
        view: u64,
    ) -> Result<VerifiedBlock, LedgerError> {
        self.propose_checked(txs, timestamp_ms, proposer, view).map(CheckedBlock::into_block)
    }

    /// [`Ledger::propose`], keeping the execution that computed the state root: [`Ledger::apply_checked`] then
    /// writes it without executing the block again.
    pub fn propose_checked<T: Into<VerifiedLedgerTx>>(
        &self,
        txs: Vec<T>,
        timestamp_ms: u64,
        proposer: u32,
        view: u64,
    ) -> Result<CheckedBlock, LedgerError> {
        let txs: Vec<VerifiedLedgerTx> = txs.into_iter().map(Into::into).collect();
        let height = self.tip.height + 1;
        let execution = self.execute(height, &txs)?;
        let plain: Vec<LedgerTx> = txs.iter().map(VerifiedLedgerTx::to_ledger_tx).collect();
        let header = BlockHeader {
            height,
            prev_hash: self.tip.hash,
            tx_root: Block::compute_tx_root(&plain),
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
        if header.proposer as usize >= self.genesis.validators.len() {
            return Err(LedgerError::UnknownProposer { height, proposer: header.proposer });
        }
        // The transaction root was checked when the block was verified (or computed when it was proposed):
        // a VerifiedBlock cannot exist otherwise.
        let execution = self.execute(height, &block.txs)?;
        let computed = state::state_root(&self.genesis_hash, &execution.acc);
        if computed != header.state_root {
            return Err(LedgerError::StateRootMismatch { height, in_header: header.state_root, computed });
        }
        Ok(execution)
    }

    /// Phase three: checks the header and every transaction against the state in block order, and commits the
    /// block with all its state changes in one synced atomic write. On any error nothing is written.
    pub fn apply(&mut self, block: VerifiedBlock, certificate: Option<&[u8]>) -> Result<(), LedgerError> {
        let execution = self.check_and_execute(&block)?;
        self.write_block(&block, execution, certificate)
    }

    /// Commits a block checked against the current tip ([`Ledger::check_block`], [`Ledger::propose_checked`])
    /// without executing it again. A block checked against another tip (the ledger moved on since) is checked
    /// and executed again, as by [`Ledger::apply`].
    pub fn apply_checked(&mut self, checked: CheckedBlock, certificate: Option<&[u8]>) -> Result<(), LedgerError> {
        let CheckedBlock { block, execution, parent } = checked;
        if parent != self.tip.hash {
            return self.apply(block, certificate);
        }
        self.write_block(&block, execution, certificate)
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
        let encoded: Vec<Vec<u8>> = block.txs.par_iter().map(|t| t.to_ledger_tx().to_bytes()).collect();
        let mut w = Writer::new();
        w.len(encoded.len());
        for tx in &encoded {
            w.bytes(tx);
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
        let tip = Tip { height, hash, timestamp_ms: header.timestamp_ms, acc: execution.acc };
        batch.put(Cf::Meta, META_TIP, &tip.to_bytes());
        self.store.write(batch)?;
        self.tip = tip;
        if let Some(shielded) = execution.shielded {
            self.shielded = Some(shielded);
        }
        Ok(())
    }

    /// Runs the stateful checks of `txs` in order as block `height` and computes the resulting changes.
    fn execute(&self, height: u64, txs: &[VerifiedLedgerTx]) -> Result<Execution, LedgerError> {
        self.executed_txs.fetch_add(txs.len() as u64, std::sync::atomic::Ordering::Relaxed);
        crate::execute::execute(self, height, txs)
    }

    /// Transactions executed (stateful checks run) since this ledger was opened, counting each run over each
    /// transaction: a work counter. A block proposed or checked, then applied, executes its transactions once.
    pub fn executed_txs(&self) -> u64 {
        self.executed_txs.load(std::sync::atomic::Ordering::Relaxed)
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

    // ---- queries ----

    /// The header at `height`.
    pub fn header(&self, height: u64) -> Result<Option<BlockHeader>, LedgerError> {
        self.read(Cf::Headers, &height_key(height), || format!("header at height {height}"))
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        let Some(header) = self.header(height)? else { return Ok(None) };
        let what = || format!("transactions of block {height}");
        let bytes =
            self.store.get(Cf::Blocks, &height_key(height), what)?.ok_or_else(|| StorageError::Missing(what()))?;
        let txs =
            decode_tx_list(&bytes).map_err(|e| StorageError::Undecodable { what: what(), error: e.to_string() })?;
        Ok(Some(Block { header, txs }))
    }

    /// The block with header hash `hash`.
    pub fn block_by_hash(&self, hash: &Hash32) -> Result<Option<Block>, LedgerError> {
        let what = || format!("height of block {hash}");
        match self.store.get(Cf::BlockHashes, hash.as_bytes(), what)? {
            Some(h) => {
                let height = u64::from_be_bytes(
                    h.try_into().map_err(|_| StorageError::Corrupt { what: what(), reason: "not an 8-byte height" })?,
                );
                self.block(height)
            }
            None => Ok(None),
        }
    }

    /// The commit certificate stored with the block at `height`, if any.
    pub fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.store.get(Cf::Certificates, &height_key(height), || format!("certificate of block {height}"))?)
    }

    /// A committed transaction by id.
    pub fn transaction(&self, id: &TxId) -> Result<Option<TxRecord>, LedgerError> {
        let what = || format!("location of transaction {id}");
        let Some(bytes) = self.store.get(Cf::Txs, id.as_bytes(), what)? else { return Ok(None) };
        let loc: TxLocation = decode(&bytes, what)?;
        let block = self.block(loc.height)?.ok_or_else(|| StorageError::Missing(format!("block {}", loc.height)))?;
        let tx = block
            .txs
            .into_iter()
            .nth(loc.index as usize)
            .ok_or_else(|| StorageError::Missing(format!("transaction {id} in block {}", loc.height)))?;
        Ok(Some(TxRecord { tx, height: loc.height, index: loc.index }))
    }

    pub(crate) fn unspent_entry(&self, id: &OutputId) -> Result<Option<UnspentEntry>, LedgerError> {
        self.read(Cf::Unspent, &id.0 .0, || format!("unspent entry of output {id}"))
    }

    pub(crate) fn spent_record(&self, id: &OutputId) -> Result<Option<SpentRecord>, LedgerError> {
        self.read(Cf::Spent, &id.0 .0, || format!("spent record of output {id}"))
    }

    /// An output by id, with its spent status.
    pub fn output(&self, id: &OutputId) -> Result<Option<OutputStatus>, LedgerError> {
        let what = || format!("output {id}");
        let Some(bytes) = self.store.get(Cf::Outputs, &id.0 .0, what)? else { return Ok(None) };
        let record: OutputRecord = decode(&bytes, what)?;
        Ok(Some(OutputStatus { record, spent: self.spent_record(id)? }))
    }

    /// Every output created in blocks `from..=to`, in chain order: what a wallet scans with its view key.
    pub fn outputs_range(&self, from: u64, to: u64) -> Result<Vec<OutputRecord>, LedgerError> {
        let mut out = Vec::new();
        for height in from.max(1)..=to.min(self.tip.height) {
            let block = self.block(height)?.ok_or_else(|| StorageError::Missing(format!("block {height}")))?;
            for tx in &block.txs {
                let ctx = match tx {
                    LedgerTx::Confidential(ctx) => ctx,
                    LedgerTx::Shielded(s) => match &s.crossing {
                        Some(ctx) => ctx,
                        None => continue,
                    },
                    LedgerTx::AuditAccess(_) => continue,
                };
                let tx_id = ctx.id();
                for (i, output) in ctx.body.outputs.iter().enumerate() {
                    out.push(OutputRecord {
                        id: OutputId::new(&tx_id, i as u32),
                        tx_id,
                        index: i as u32,
                        height,
                        output: output.clone(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// An asset's supply counters now.
    pub fn supply(&self, asset: &AssetId) -> Result<Supply, LedgerError> {
        let what = || format!("supply of asset {asset}");
        Ok(match self.store.get(Cf::Supply, &asset.0, what)? {
            Some(bytes) => decode(&bytes, what)?,
            None => Supply::default(),
        })
    }

    /// An asset's supply counters as they were after block `height`.
    pub fn supply_at(&self, asset: &AssetId, height: u64) -> Result<Supply, LedgerError> {
        let mut key = asset.0.to_vec();
        key.extend_from_slice(&height_key(height));
        let what = |_: &[u8]| format!("supply history of asset {asset}");
        Ok(match self.store.last_at_or_before(Cf::SupplyHistory, &key, &asset.0, what)? {
            Some((_, bytes)) => decode(&bytes, || what(&[]))?,
            None => Supply::default(),
        })
    }

    /// Every audit-access record ever committed, in chain order, with its height and index in the block.
    pub fn audit_access_log(&self) -> Result<Vec<(u64, u32, AuditAccessRecord)>, LedgerError> {
        let what = |k: &[u8]| format!("audit-access record {}", hex::encode(k));
        let mut out = Vec::new();
        for (key, bytes) in self.store.scan(Cf::AuditAccess, &[], &[], what)? {
            let (height, index) = match (key.get(..8), key.get(8..12)) {
                (Some(h), Some(i)) if key.len() == 12 => (
                    u64::from_be_bytes(h.try_into().unwrap_or_default()),
                    u32::from_be_bytes(i.try_into().unwrap_or_default()),
                ),
                _ => return Err(StorageError::Corrupt { what: what(&key), reason: "not a height and an index" }.into()),
            };
            out.push((height, index, decode(&bytes, || what(&key))?));
        }
        Ok(out)
    }

    /// The note tree's size and root now, and the roots currently valid as anchors (oldest first); `None` when
    /// the chain has no shielded pool.
    pub fn note_tree(&self) -> Option<(u64, ctchain_circuits::Anchor, Vec<ctchain_circuits::Anchor>)> {
        let s = self.shielded.as_ref()?;
        Some((s.frontier.size(), s.frontier.root(), s.roots.iter().copied().collect()))
    }

    /// Up to `limit` notes of the tree from position `from` on, in tree order: what a wallet trial-decrypts and
    /// feeds to its witnesses.
    pub fn notes_range(&self, from: u64, limit: usize) -> Result<Vec<NoteRecord>, LedgerError> {
        let what = |k: &[u8]| format!("note at position {}", hex::encode(k));
        let entries = self.store.scan_limited(Cf::Notes, &from.to_be_bytes(), limit, what)?;
        entries.into_iter().map(|(k, v)| Ok(decode(&v, || what(&k))?)).collect()
    }

    /// When a nullifier was revealed, if it was.
    pub fn nullifier(&self, nf: &ctchain_circuits::Nullifier) -> Result<Option<NullifierRecord>, LedgerError> {
        self.read(Cf::Nullifiers, &crate::execute::nullifier_key(nf), || "nullifier record".into())
    }

    /// Every shielded transaction in blocks `from..=to`, with its height and index in the block: what the
    /// regulator decrypts.
    pub fn shielded_range(&self, from: u64, to: u64) -> Result<Vec<(u64, u32, ShieldedTx)>, LedgerError> {
        let mut out = Vec::new();
        for height in from.max(1)..=to.min(self.tip.height) {
            let block = self.block(height)?.ok_or_else(|| StorageError::Missing(format!("block {height}")))?;
            for (index, tx) in block.txs.into_iter().enumerate() {
                if let LedgerTx::Shielded(s) = tx {
                    out.push((height, index as u32, *s));
                }
            }
        }
        Ok(out)
    }

    /// Evidence that a committed transaction is in its block.
    pub fn inclusion_proof(&self, id: &TxId) -> Result<Option<TxInclusionProof>, LedgerError> {
        let Some(record) = self.transaction(id)? else { return Ok(None) };
        let block =
            self.block(record.height)?.ok_or_else(|| StorageError::Missing(format!("block {}", record.height)))?;
        let leaves: Vec<Hash32> = block.txs.iter().map(LedgerTx::leaf_hash).collect();
        let path = merkle::path(&leaves, record.index as usize)
            .ok_or_else(|| StorageError::Missing(format!("transaction {id} in block {}", record.height)))?;
        Ok(Some(TxInclusionProof { header: block.header, path }))
    }

    /// Recomputes the state root from scratch over the whole database — every output, spend and supply — for
    /// audits and consistency checks. Equals [`Ledger::state_root`] on a healthy ledger.
    pub fn recompute_state_root(&self) -> Result<Hash32, LedgerError> {
        let mut elements = Vec::new();
        let spent: HashMap<Vec<u8>, Vec<u8>> = self
            .store
            .scan(Cf::Spent, &[], &[], |k| format!("spent record of output {}", hex::encode(k)))?
            .into_iter()
            .collect();
        for (key, bytes) in self.store.scan(Cf::Outputs, &[], &[], |k| format!("output {}", hex::encode(k)))? {
            let record: OutputRecord = decode(&bytes, || format!("output {}", hex::encode(&key)))?;
            match spent.get(&key) {
                Some(s) => {
                    let s: SpentRecord = decode(s, || format!("spent record of output {}", hex::encode(&key)))?;
                    elements.push(state::spent_element(&record.id, &s));
                }
                None => {
                    if let Some(entry) = UnspentEntry::of(&record.output) {
                        elements.push(state::utxo_element(&record.id, &entry.output_hash));
                    }
                }
            }
        }
        for asset in &self.genesis.assets {
            elements.push(state::supply_element(&asset.id, &self.supply(&asset.id)?));
        }
        if let Some(shielded) = &self.shielded {
            elements.push(state::note_tree_element(&shielded.frontier));
            for (key, bytes) in
                self.store.scan(Cf::Nullifiers, &[], &[], |k| format!("nullifier {}", hex::encode(k)))?
            {
                let what = || format!("nullifier {}", hex::encode(&key));
                let nf: ctchain_circuits::Nullifier = decode(&key, what)?;
                let record: NullifierRecord = decode(&bytes, what)?;
                elements.push(state::nullifier_element(&nf, &record.tx_id));
            }
        }
        let mut acc = MultisetHash::new();
        acc.insert_all(&elements);
        Ok(state::state_root(&self.genesis_hash, &acc))
    }
}

fn decode_tx_list(bytes: &[u8]) -> Result<Vec<LedgerTx>, ctchain_codec::DecodeError> {
    let mut r = Reader::new(bytes);
    let n = r.len("block transactions", MAX_BLOCK_TXS)?;
    let mut txs = Vec::with_capacity(n.min(r.remaining()));
    for _ in 0..n {
        txs.push(LedgerTx::from_bytes(r.bytes("block transaction", crate::types::MAX_TX_BYTES)?)?);
    }
    r.finish()?;
    Ok(txs)
}

fn check_genesis(g: &Genesis) -> Result<(), LedgerError> {
    if g.chain_id.is_empty() || g.chain_id.len() > ctchain_crypto::tx::MAX_CHAIN_ID_LEN {
        return Err(LedgerError::InvalidGenesis("chain id must be 1 to 64 bytes"));
    }
    if g.crypto_suite != CRYPTO_SUITE {
        return Err(LedgerError::InvalidGenesis("unsupported crypto suite"));
    }
    if g.validators.is_empty() {
        return Err(LedgerError::InvalidGenesis("no validators"));
    }
    if g.audit_keys.len() > MAX_AUDIT_KEYS {
        return Err(LedgerError::InvalidGenesis("too many audit keys"));
    }
    if let Some(config) = &g.shielded {
        if config.recent_roots == 0 || config.recent_roots > crate::shielded::MAX_RECENT_ROOTS {
            return Err(LedgerError::InvalidGenesis("the shielded pool must keep 1 to 10000 recent roots"));
        }
    }
    let mut ids = HashSet::new();
    if !g.assets.iter().all(|a| ids.insert(a.id)) {
        return Err(LedgerError::InvalidGenesis("two assets share an id"));
    }
    let mut keys = HashSet::new();
    if !g.validators.iter().all(|v| keys.insert(v.consensus_key) && keys.insert(v.network_key)) {
        return Err(LedgerError::InvalidGenesis("validator keys must all be distinct"));
    }
    let c = &g.consensus;
    if c.checkpoint_interval == 0 || c.window < c.checkpoint_interval || c.max_block_txs == 0 || c.view_timeout_ms == 0
    {
        return Err(LedgerError::InvalidGenesis("consensus parameters out of range"));
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
