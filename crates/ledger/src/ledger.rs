//! The ledger: opening, phased validation, block application, and queries.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use ctchain_codec::{Decode, Encode, Hash32, Reader, Writer};
use ctchain_crypto::{
    AssetId, MultisetHash, OutputId, PublicKind, TxId, VerifiedTransaction, Verifier, MAX_AUDIT_KEYS,
};
use rayon::prelude::*;

use crate::access::{AuditAccessRecord, VerifiedAccess};
use crate::error::{LedgerError, TxRejection};
use crate::merkle::{self, MerklePath};
use crate::state::{self, OutputRecord, SpentRecord, Supply, TxLocation, UnspentEntry};
use crate::store::{Cf, StorageError, Store, StoreBatch};
use crate::types::{Block, BlockHeader, Genesis, LedgerTx, CRYPTO_SUITE, MAX_BLOCK_TXS};

const SCHEMA_VERSION: u32 = 1;
const META_GENESIS: &[u8] = b"genesis";
const META_TIP: &[u8] = b"tip";
const META_SCHEMA: &[u8] = b"schema";

/// A block whose every transaction passed the stateless checks and whose transaction root matches. Only
/// [`Block::verify`], [`Block::verify_with`] and [`Ledger::propose`] make one.
#[derive(Clone, Debug)]
pub struct VerifiedBlock {
    header: BlockHeader,
    txs: Vec<VerifiedLedgerTx>,
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
}

impl VerifiedLedgerTx {
    /// The transaction id.
    pub fn id(&self) -> TxId {
        match self {
            Self::Confidential(tx) => tx.id(),
            Self::AuditAccess(a) => a.id(),
        }
    }

    /// The plain transaction.
    pub fn to_ledger_tx(&self) -> LedgerTx {
        match self {
            Self::Confidential(tx) => LedgerTx::Confidential(tx.transaction().clone()),
            Self::AuditAccess(a) => LedgerTx::AuditAccess(a.record().clone()),
        }
    }

    /// Runs the stateless checks of `tx` for the chain `verifier` is for.
    pub fn verify(tx: LedgerTx, verifier: &Verifier) -> Result<Self, TxRejection> {
        match tx {
            LedgerTx::Confidential(tx) => Ok(Self::Confidential(verifier.verify(tx)?)),
            LedgerTx::AuditAccess(record) => {
                Ok(Self::AuditAccess(record.verify(verifier.chain_id(), verifier.audit_keys())?))
            }
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
    pub fn verify(self, verifier: &Verifier) -> Result<VerifiedBlock, LedgerError> {
        self.verify_with(verifier, |_| None)
    }

    /// Like [`Block::verify`], but a transaction whose exact bytes (by Merkle leaf hash) were verified before —
    /// typically in the mempool — is taken from `known` instead of being verified again.
    pub fn verify_with(
        self,
        verifier: &Verifier,
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

/// The state changes of one block, computed before anything is written.
struct Execution {
    acc: MultisetHash,
    created: Vec<OutputRecord>,
    /// Created outputs that are still unspent at the end of the block.
    unspent: Vec<(OutputId, UnspentEntry)>,
    spent: Vec<(OutputId, SpentRecord)>,
    locations: Vec<(TxId, TxLocation)>,
    supply: BTreeMap<AssetId, Supply>,
    /// Audit-access records by index in the block.
    accesses: Vec<(u32, AuditAccessRecord)>,
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
    verifier: Verifier,
    tip: Tip,
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
                let tip = Tip { height: 0, hash: given, timestamp_ms: genesis.genesis_time_ms, acc };
                let mut batch = StoreBatch::default();
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
        let ledger = Self {
            verifier: Verifier::new(genesis.chain_id.clone(), genesis.audit_keys.clone()),
            store,
            genesis,
            genesis_hash,
            tip,
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

    /// The verifier for this chain's id and audit keys.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
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
        Ok(VerifiedBlock { header, txs })
    }

    /// Phases two and three without writing: what [`Ledger::apply`] would check, for a validator deciding whether
    /// to vote for a proposed block. Leaves the ledger untouched either way.
    pub fn check_block(&self, block: &VerifiedBlock) -> Result<(), LedgerError> {
        self.check_and_execute(block).map(|_| ())
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
        if let Some(cert) = certificate {
            batch.put(Cf::Certificates, hk, cert);
        }
        let tip = Tip { height, hash, timestamp_ms: header.timestamp_ms, acc: execution.acc };
        batch.put(Cf::Meta, META_TIP, &tip.to_bytes());
        self.store.write(batch)?;
        self.tip = tip;
        Ok(())
    }

    /// Runs the stateful checks of `txs` in order as block `height` and computes the resulting changes.
    fn execute(&self, height: u64, txs: &[VerifiedLedgerTx]) -> Result<Execution, LedgerError> {
        let mut created: Vec<OutputRecord> = Vec::new();
        let mut created_index: HashMap<OutputId, usize> = HashMap::new();
        let mut created_unspent: Vec<(OutputId, UnspentEntry)> = Vec::new();
        let mut spent_in_block: HashMap<OutputId, usize> = HashMap::new();
        let mut spent = Vec::new();
        let mut seen: HashSet<TxId> = HashSet::new();
        let mut locations = Vec::with_capacity(txs.len());
        let mut supply: BTreeMap<AssetId, (Supply, Supply)> = BTreeMap::new();
        let mut removed_elements = Vec::new();
        let mut inserted_elements = Vec::new();
        let mut accesses = Vec::new();

        for (index, vtx) in txs.iter().enumerate() {
            let tx_id = vtx.id();
            let reject = |reason| LedgerError::InvalidTransaction { height, index, tx_id, reason };
            if !seen.insert(tx_id) || self.store.contains(Cf::Txs, tx_id.as_bytes())? {
                return Err(reject(TxRejection::Duplicate));
            }
            let vtx = match vtx {
                VerifiedLedgerTx::Confidential(vtx) => vtx,
                VerifiedLedgerTx::AuditAccess(access) => {
                    // A record changes no balance: it is kept, located and listed, and its leaf in the
                    // transaction root makes it as permanent as the block.
                    accesses.push((index as u32, access.record().clone()));
                    locations.push((tx_id, TxLocation { height, index: index as u32 }));
                    continue;
                }
            };
            let body = &vtx.transaction().body;
            for (k, input) in body.inputs.iter().enumerate() {
                let output_id = input.output_id;
                if let Some(&earlier) = spent_in_block.get(&output_id) {
                    return Err(reject(TxRejection::DoubleSpendInBlock { input: k, output: output_id, earlier }));
                }
                let entry = match created_index.get(&output_id) {
                    Some(&i) => created_unspent[i].1,
                    None => match self.unspent_entry(&output_id)? {
                        Some(entry) => entry,
                        None => {
                            return Err(reject(match self.spent_record(&output_id)? {
                                Some(s) => TxRejection::AlreadySpent { input: k, output: output_id, height: s.height },
                                None => TxRejection::UnknownInput { input: k, output: output_id },
                            }))
                        }
                    },
                };
                if entry.commitment != *input.commitment.as_bytes() || entry.owner_key != *input.owner_key.as_bytes() {
                    return Err(reject(TxRejection::InputMismatch { input: k }));
                }
                let record = SpentRecord { tx_id, height };
                removed_elements.push(state::utxo_element(&output_id, &entry.output_hash));
                inserted_elements.push(state::spent_element(&output_id, &record));
                spent_in_block.insert(output_id, index);
                spent.push((output_id, record));
            }
            for output in &body.outputs {
                if self.genesis.asset(&output.asset).is_none() {
                    return Err(reject(TxRejection::UnknownAsset(output.asset)));
                }
            }
            for p in &body.public {
                let Some(info) = self.genesis.asset(&p.asset) else {
                    return Err(reject(TxRejection::UnknownAsset(p.asset)));
                };
                let entry = match supply.get_mut(&p.asset) {
                    Some(e) => e,
                    None => {
                        let current = self.supply(&p.asset)?;
                        supply.entry(p.asset).or_insert((current, current))
                    }
                };
                let counters = &mut entry.1;
                let amount = u128::from(p.amount);
                let slot = match p.kind {
                    PublicKind::Issue { issuer } => {
                        if issuer != info.issuer {
                            return Err(reject(TxRejection::UnauthorizedIssuer(p.asset)));
                        }
                        &mut counters.issued
                    }
                    PublicKind::Burn => &mut counters.burned,
                    PublicKind::Fee => &mut counters.fees,
                };
                *slot = slot.checked_add(amount).ok_or_else(|| reject(TxRejection::SupplyOverflow(p.asset)))?;
            }
            for (i, output) in body.outputs.iter().enumerate() {
                let id = OutputId::new(&tx_id, i as u32);
                // Verified outputs never have an identity commitment (the verifier's balance check refuses it).
                if let Some(entry) = UnspentEntry::of(output) {
                    inserted_elements.push(state::utxo_element(&id, &entry.output_hash));
                    created_index.insert(id, created_unspent.len());
                    created_unspent.push((id, entry));
                }
                created.push(OutputRecord { id, tx_id, index: i as u32, height, output: output.clone() });
            }
            locations.push((tx_id, TxLocation { height, index: index as u32 }));
        }

        let mut changed = BTreeMap::new();
        for (asset, (before, after)) in supply {
            if before != after {
                removed_elements.push(state::supply_element(&asset, &before));
                inserted_elements.push(state::supply_element(&asset, &after));
                changed.insert(asset, after);
            }
        }
        let mut acc = self.tip.acc;
        acc.remove_all(&removed_elements);
        acc.insert_all(&inserted_elements);
        created_unspent.retain(|(id, _)| !spent_in_block.contains_key(id));
        Ok(Execution { acc, created, unspent: created_unspent, spent, locations, supply: changed, accesses })
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

    fn unspent_entry(&self, id: &OutputId) -> Result<Option<UnspentEntry>, LedgerError> {
        self.read(Cf::Unspent, &id.0 .0, || format!("unspent entry of output {id}"))
    }

    fn spent_record(&self, id: &OutputId) -> Result<Option<SpentRecord>, LedgerError> {
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
                let LedgerTx::Confidential(ctx) = tx else { continue };
                let tx_id = tx.id();
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
