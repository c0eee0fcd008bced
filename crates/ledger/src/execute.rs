//! Phase three: the stateful checks of a block's transactions in order, computing every state change before
//! anything is written (the caller writes them in one batch, or drops them).
//!
//! The execution reads the committed state only through [`StateView`]: the few questions a block's checks ask
//! (is this id on chain, is this output unspent, what is this asset's supply, is this nullifier revealed), so
//! what it depends on is visible in one place and any state holder (a channel's ledger, a snapshot) can answer.

use std::collections::{BTreeMap, HashMap, HashSet};

use ctchain_circuits::{Frontier, Nullifier, RecentRoots};
use ctchain_crypto::{AssetId, MultisetHash, OutputId, PublicKind, TxId, VerifiedTransaction};
use ctchain_governance::{BlockContext, GovernanceTx, Registry, VerifiedGovernance};

use crate::access::AuditAccessRecord;
use crate::error::{LedgerError, TxRejection};
use crate::ledger::{Ledger, VerifiedTxKind};
use crate::shielded::{NoteRecord, NullifierRecord, ShieldedConfig, VerifiedShielded};
use crate::state::{self, OutputRecord, SpentRecord, Supply, TxLocation, UnspentEntry};
use crate::store::Cf;

/// What a block's execution reads of the committed state it extends.
pub(crate) trait StateView {
    /// Whether a transaction with this id is on chain.
    fn has_transaction(&self, id: &TxId) -> Result<bool, LedgerError>;
    /// The unspent output's entry, if it exists and is unspent.
    fn unspent_entry(&self, id: &OutputId) -> Result<Option<UnspentEntry>, LedgerError>;
    /// Where an output was spent, if it was.
    fn spent_record(&self, id: &OutputId) -> Result<Option<SpentRecord>, LedgerError>;
    /// The consortium's registry after the last block: assets, audit keys, members, epochs.
    fn registry(&self) -> &Registry;
    /// The asset's supply counters.
    fn supply(&self, asset: &AssetId) -> Result<Supply, LedgerError>;
    /// The shielded pool's configuration and state, when the chain has one.
    fn shielded(&self) -> Option<(&ShieldedConfig, &ShieldedState)>;
    /// Whether a nullifier was revealed on chain.
    fn nullifier_revealed(&self, nf: &Nullifier) -> Result<bool, LedgerError>;
    /// The state accumulator (the multiset hash under the state root).
    fn accumulator(&self) -> MultisetHash;
}

impl StateView for Ledger {
    fn has_transaction(&self, id: &TxId) -> Result<bool, LedgerError> {
        self.contains_transaction(id)
    }
    fn unspent_entry(&self, id: &OutputId) -> Result<Option<UnspentEntry>, LedgerError> {
        Ledger::unspent_entry(self, id)
    }
    fn spent_record(&self, id: &OutputId) -> Result<Option<SpentRecord>, LedgerError> {
        Ledger::spent_record(self, id)
    }
    fn registry(&self) -> &Registry {
        Ledger::registry(self)
    }
    fn supply(&self, asset: &AssetId) -> Result<Supply, LedgerError> {
        Ledger::supply(self, asset)
    }
    fn shielded(&self) -> Option<(&ShieldedConfig, &ShieldedState)> {
        Some((self.genesis().shielded.as_ref()?, self.shielded_state()?))
    }
    fn nullifier_revealed(&self, nf: &Nullifier) -> Result<bool, LedgerError> {
        Ok(self.store().contains(Cf::Nullifiers, &nullifier_key(nf))?)
    }
    fn accumulator(&self) -> MultisetHash {
        Ledger::accumulator(self)
    }
}

/// The shielded pool's state between blocks: the note tree's frontier and the roots valid as anchors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ShieldedState {
    pub frontier: Frontier,
    pub roots: RecentRoots,
}

/// The state changes of one block, computed before anything is written.
pub(crate) struct Execution {
    pub acc: MultisetHash,
    pub created: Vec<OutputRecord>,
    /// Created outputs that are still unspent at the end of the block.
    pub unspent: Vec<(OutputId, UnspentEntry)>,
    pub spent: Vec<(OutputId, SpentRecord)>,
    pub locations: Vec<(TxId, TxLocation)>,
    pub supply: BTreeMap<AssetId, Supply>,
    /// Audit-access records by index in the block.
    pub accesses: Vec<(u32, AuditAccessRecord)>,
    pub nullifiers: Vec<(Nullifier, NullifierRecord)>,
    pub notes: Vec<NoteRecord>,
    /// The shielded pool's state after the block, when the block changed it.
    pub shielded: Option<ShieldedState>,
    /// Governance transactions by index in the block.
    pub governance: Vec<(u32, GovernanceTx)>,
    /// The registry after the block, when the block changed it (a governance action, or a new epoch).
    pub registry: Option<Registry>,
    /// Whether the block is the first of a new epoch (the registry's current epoch is then that one).
    pub epoch_started: bool,
}

/// One block's execution in progress.
struct BlockExecution<'a, S: StateView> {
    state: &'a S,
    height: u64,
    seq: u64,
    time_ms: u64,
    /// The registry as the block has changed it so far; `None` while unchanged.
    registry: Option<Registry>,
    epoch_started: bool,
    governance: Vec<(u32, GovernanceTx)>,
    created: Vec<OutputRecord>,
    created_index: HashMap<OutputId, usize>,
    created_unspent: Vec<(OutputId, UnspentEntry)>,
    spent_in_block: HashMap<OutputId, usize>,
    spent: Vec<(OutputId, SpentRecord)>,
    seen: HashSet<TxId>,
    locations: Vec<(TxId, TxLocation)>,
    supply: BTreeMap<AssetId, (Supply, Supply)>,
    removed: Vec<Vec<u8>>,
    inserted: Vec<Vec<u8>>,
    accesses: Vec<(u32, AuditAccessRecord)>,
    nullifiers_in_block: HashMap<Nullifier, usize>,
    nullifiers: Vec<(Nullifier, NullifierRecord)>,
    notes: Vec<NoteRecord>,
    frontier: Option<Frontier>,
}

/// Runs the stateful checks of `txs` in order as block `height` at sequence number `seq`, timestamped `time_ms`,
/// on top of `state`. A block that begins an epoch runs under it from its first transaction.
pub(crate) fn execute<T: AsRef<VerifiedTxKind>>(
    state: &impl StateView,
    height: u64,
    seq: u64,
    time_ms: u64,
    txs: &[T],
) -> Result<Execution, LedgerError> {
    let mut registry = None;
    let mut epoch_started = false;
    if state.registry().next_epoch().is_some_and(|e| e.first_seq <= seq) {
        let mut next = state.registry().clone();
        epoch_started = next.begin_block(seq);
        registry = Some(next);
    }
    let mut exec = BlockExecution {
        state,
        height,
        seq,
        time_ms,
        registry,
        epoch_started,
        governance: Vec::new(),
        created: Vec::new(),
        created_index: HashMap::new(),
        created_unspent: Vec::new(),
        spent_in_block: HashMap::new(),
        spent: Vec::new(),
        seen: HashSet::new(),
        locations: Vec::with_capacity(txs.len()),
        supply: BTreeMap::new(),
        removed: Vec::new(),
        inserted: Vec::new(),
        accesses: Vec::new(),
        nullifiers_in_block: HashMap::new(),
        nullifiers: Vec::new(),
        notes: Vec::new(),
        frontier: state.shielded().map(|(_, s)| s.frontier.clone()),
    };
    for (index, vtx) in txs.iter().enumerate() {
        let vtx = vtx.as_ref();
        let tx_id = vtx.id();
        exec.transaction(index, vtx).map_err(|reason| reason.into_ledger_error(height, index, tx_id))?;
    }
    exec.finish()
}

/// A transaction's failure inside the execution: either its own (rejected) or the store's.
enum Failure {
    Rejected(TxRejection),
    Ledger(LedgerError),
}

impl Failure {
    fn into_ledger_error(self, height: u64, index: usize, tx_id: TxId) -> LedgerError {
        match self {
            Failure::Rejected(reason) => LedgerError::InvalidTransaction { height, index, tx_id, reason },
            Failure::Ledger(e) => e,
        }
    }
}

impl From<TxRejection> for Failure {
    fn from(r: TxRejection) -> Self {
        Failure::Rejected(r)
    }
}

impl From<LedgerError> for Failure {
    fn from(e: LedgerError) -> Self {
        Failure::Ledger(e)
    }
}

impl From<crate::store::StorageError> for Failure {
    fn from(e: crate::store::StorageError) -> Self {
        Failure::Ledger(e.into())
    }
}

impl<S: StateView> BlockExecution<'_, S> {
    fn transaction(&mut self, index: usize, vtx: &VerifiedTxKind) -> Result<(), Failure> {
        let tx_id = vtx.id();
        self.claim_id(tx_id)?;
        match vtx {
            VerifiedTxKind::Confidential(tx) => {
                if tx.transaction().body.public.iter().any(|p| p.kind.crosses_pools()) {
                    return Err(TxRejection::CrossingOutsideShieldedTx.into());
                }
                self.confidential(index, tx)?;
            }
            VerifiedTxKind::AuditAccess(access) => {
                // A record changes no balance: it is kept, located and listed, and its leaf in the transaction
                // root makes it as permanent as the block. Its shielded dealing must share this chain's shielded
                // audit key, which only the chain's configuration knows (as for a shielded transaction's).
                access
                    .check_shielded_key(self.state.shielded().map(|(config, _)| &config.audit_key))
                    .map_err(TxRejection::Access)?;
                self.accesses.push((index as u32, access.record().clone()));
            }
            VerifiedTxKind::Shielded(shielded) => self.shielded(index, shielded)?,
            VerifiedTxKind::Governance(governance) => self.governance(index, governance)?,
        }
        self.locations.push((tx_id, TxLocation { height: self.height, index: index as u32 }));
        Ok(())
    }

    /// Refuses an id already on chain or earlier in the block.
    fn claim_id(&mut self, tx_id: TxId) -> Result<(), Failure> {
        if !self.seen.insert(tx_id) || self.state.has_transaction(&tx_id)? {
            return Err(TxRejection::Duplicate.into());
        }
        Ok(())
    }

    /// The registry as the block has it so far.
    fn registry(&self) -> &Registry {
        self.registry.as_ref().unwrap_or_else(|| self.state.registry())
    }

    fn governance(&mut self, index: usize, vtx: &VerifiedGovernance) -> Result<(), Failure> {
        let at = BlockContext { height: self.height, seq: self.seq, time_ms: self.time_ms };
        let state = self.state;
        let registry = self.registry.get_or_insert_with(|| state.registry().clone());
        registry.apply(vtx, at).map_err(TxRejection::Governance)?;
        self.governance.push((index as u32, vtx.tx().clone()));
        Ok(())
    }

    fn confidential(&mut self, index: usize, vtx: &VerifiedTransaction) -> Result<(), Failure> {
        let state = self.state;
        let height = self.height;
        let tx_id = vtx.id();
        let body = &vtx.transaction().body;
        // Phase one checked the copies against the audit keys it was given; they must be this epoch's (a
        // transaction verified before an epoch changed them is refused here, whatever verified it).
        if body.audit_keys != self.registry().epoch().audit_keys {
            return Err(TxRejection::StaleAuditKeys.into());
        }
        for (k, input) in body.inputs.iter().enumerate() {
            let output_id = input.output_id;
            if let Some(&earlier) = self.spent_in_block.get(&output_id) {
                return Err(TxRejection::DoubleSpendInBlock { input: k, output: output_id, earlier }.into());
            }
            let entry = match self.created_index.get(&output_id) {
                Some(&i) => self.created_unspent[i].1,
                None => match state.unspent_entry(&output_id)? {
                    Some(entry) => entry,
                    None => {
                        return Err(match state.spent_record(&output_id)? {
                            Some(s) => TxRejection::AlreadySpent { input: k, output: output_id, height: s.height },
                            None => TxRejection::UnknownInput { input: k, output: output_id },
                        }
                        .into())
                    }
                },
            };
            if entry.commitment != *input.commitment.as_bytes() || entry.owner_key != *input.owner_key.as_bytes() {
                return Err(TxRejection::InputMismatch { input: k }.into());
            }
            let record = SpentRecord { tx_id, height };
            self.removed.push(state::utxo_element(&output_id, &entry.output_hash));
            self.inserted.push(state::spent_element(&output_id, &record));
            self.spent_in_block.insert(output_id, index);
            self.spent.push((output_id, record));
        }
        for output in &body.outputs {
            if self.registry().asset(&output.asset).is_none() {
                return Err(TxRejection::UnknownAsset(output.asset).into());
            }
        }
        for p in &body.public {
            let Some(listed_issuer) = self.registry().asset(&p.asset).map(|a| a.issuer) else {
                return Err(TxRejection::UnknownAsset(p.asset).into());
            };
            let counters = self.supply_mut(&p.asset)?;
            let amount = u128::from(p.amount);
            let slot = match p.kind {
                PublicKind::Issue { issuer } => {
                    if issuer != listed_issuer {
                        return Err(TxRejection::UnauthorizedIssuer(p.asset).into());
                    }
                    &mut counters.issued
                }
                PublicKind::Burn => &mut counters.burned,
                PublicKind::Fee => &mut counters.fees,
                PublicKind::ToShielded { .. } => &mut counters.shielded,
                PublicKind::FromShielded { .. } => &mut counters.unshielded,
            };
            *slot = slot.checked_add(amount).ok_or(TxRejection::SupplyOverflow(p.asset))?;
            if counters.unshielded > counters.shielded {
                return Err(TxRejection::ShieldedPoolOverdrawn { asset: p.asset }.into());
            }
        }
        for (i, output) in body.outputs.iter().enumerate() {
            let id = OutputId::new(&tx_id, i as u32);
            // Verified outputs never have an identity commitment (the verifier's balance check refuses it).
            if let Some(entry) = UnspentEntry::of(output) {
                self.inserted.push(state::utxo_element(&id, &entry.output_hash));
                self.created_index.insert(id, self.created_unspent.len());
                self.created_unspent.push((id, entry));
            }
            self.created.push(OutputRecord { id, tx_id, index: i as u32, height, output: output.clone() });
        }
        Ok(())
    }

    fn supply_mut(&mut self, asset: &AssetId) -> Result<&mut Supply, Failure> {
        let state = self.state;
        let counters = match self.supply.entry(*asset) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                let current = state.supply(asset)?;
                v.insert((current, current))
            }
        };
        Ok(&mut counters.1)
    }

    fn shielded(&mut self, index: usize, vtx: &VerifiedShielded) -> Result<(), Failure> {
        let view = self.state;
        let (Some((config, state)), Some(frontier)) = (view.shielded(), self.frontier.as_mut()) else {
            return Err(TxRejection::ShieldedPoolDisabled.into());
        };
        let tx_id = vtx.id();
        let statement = vtx.transfer().statement();
        for nf in &statement.nullifiers {
            if let Some(&earlier) = self.nullifiers_in_block.get(nf) {
                return Err(TxRejection::NullifierSpentInBlock { nullifier: nullifier_hex(nf), earlier }.into());
            }
        }
        let mut on_chain = Vec::new();
        for nf in &statement.nullifiers {
            if view.nullifier_revealed(nf)? {
                on_chain.push(*nf);
            }
        }
        // Anchors are the roots as of the previous block: a note created in this block cannot be spent in it.
        vtx.transfer()
            .check_against_chain(&state.roots, &config.audit_key, |nf| on_chain.contains(nf))
            .map_err(TxRejection::Shielded)?;
        let record = NullifierRecord { tx_id, height: self.height };
        for nf in statement.nullifiers {
            self.inserted.push(state::nullifier_element(&nf, &tx_id));
            self.nullifiers_in_block.insert(nf, index);
            self.nullifiers.push((nf, record));
        }
        for (j, cm) in statement.commitments.iter().enumerate() {
            let appended = frontier.append(*cm).map_err(TxRejection::Shielded)?;
            self.notes.push(NoteRecord {
                position: appended.position,
                commitment: *cm,
                ciphertext: vtx.tx().note_ciphertexts[j].clone(),
                tx_id,
                height: self.height,
            });
        }
        if let Some(crossing) = vtx.crossing() {
            // The confidential side is located too, so that its outputs name a transaction that can be fetched.
            self.claim_id(crossing.id())?;
            self.confidential(index, crossing)?;
            self.locations.push((crossing.id(), TxLocation { height: self.height, index: index as u32 }));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Execution, LedgerError> {
        let mut changed = BTreeMap::new();
        for (asset, (before, after)) in std::mem::take(&mut self.supply) {
            if before != after {
                self.removed.push(state::supply_element(&asset, &before));
                self.inserted.push(state::supply_element(&asset, &after));
                changed.insert(asset, after);
            }
        }
        let shielded = match (self.state.shielded().map(|(_, s)| s), self.frontier) {
            (Some(before), Some(frontier)) if frontier.size() != before.frontier.size() => {
                self.removed.push(state::note_tree_element(&before.frontier));
                self.inserted.push(state::note_tree_element(&frontier));
                let mut roots = before.roots.clone();
                roots.push(frontier.root());
                Some(ShieldedState { frontier, roots })
            }
            _ => None,
        };
        if let Some(after) = &self.registry {
            let before = self.state.registry();
            // A newly listed asset's supply counters enter the state at zero (and then change like any other's).
            for asset in after.assets() {
                if before.asset(&asset.id).is_none() {
                    self.inserted.push(state::supply_element(&asset.id, &Supply::default()));
                }
            }
            self.removed.push(state::registry_element(&before.digest()));
            self.inserted.push(state::registry_element(&after.digest()));
        }
        let mut acc = self.state.accumulator();
        acc.remove_all(&self.removed);
        acc.insert_all(&self.inserted);
        let spent_in_block = self.spent_in_block;
        self.created_unspent.retain(|(id, _)| !spent_in_block.contains_key(id));
        Ok(Execution {
            acc,
            created: self.created,
            unspent: self.created_unspent,
            spent: self.spent,
            locations: self.locations,
            supply: changed,
            accesses: self.accesses,
            nullifiers: self.nullifiers,
            notes: self.notes,
            shielded,
            governance: self.governance,
            registry: self.registry,
            epoch_started: self.epoch_started,
        })
    }
}

/// The key of a nullifier in [`Cf::Nullifiers`]: its canonical bytes.
pub(crate) fn nullifier_key(nf: &Nullifier) -> Vec<u8> {
    ctchain_codec::Encode::to_bytes(nf)
}

fn nullifier_hex(nf: &Nullifier) -> String {
    hex::encode(nullifier_key(nf))
}
