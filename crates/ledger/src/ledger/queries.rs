//! Reading the ledger: blocks, transactions with their inclusion proofs, outputs, supply, the audit-access and governance logs, the epochs and
//! the state root at any height.

use super::*;

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

impl Ledger {
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
        let what = || format!("transactions of block {}", loc.height);
        let stored =
            self.store.get(Cf::Blocks, &height_key(loc.height), what)?.ok_or_else(|| StorageError::Missing(what()))?;
        let undecodable =
            |e: ctchain_codec::DecodeError| StorageError::Undecodable { what: what(), error: e.to_string() };
        // Only the one transaction is decoded, not its whole block.
        let bytes = split_tx_list(&stored)
            .map_err(undecodable)?
            .get(loc.index as usize)
            .copied()
            .ok_or_else(|| StorageError::Missing(format!("transaction {id} in block {}", loc.height)))?;
        let tx = LedgerTx::from_bytes(bytes).map_err(undecodable)?;
        Ok(Some(TxRecord { tx, height: loc.height, index: loc.index }))
    }

    /// Whether a transaction with this id is on chain (nothing is read but its location).
    pub fn contains_transaction(&self, id: &TxId) -> Result<bool, LedgerError> {
        Ok(self.store.contains(Cf::Txs, id.as_bytes())?)
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
                    LedgerTx::AuditAccess(_) | LedgerTx::Governance(_) => continue,
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
            let (height, index) = height_and_index(&key)
                .ok_or_else(|| StorageError::Corrupt { what: what(&key), reason: "not a height and an index" })?;
            out.push((height, index, decode(&bytes, || what(&key))?));
        }
        Ok(out)
    }

    /// Every governance transaction ever committed, in chain order, with its height and index in the block.
    pub fn governance_log(&self) -> Result<Vec<(u64, u32, GovernanceTx)>, LedgerError> {
        let what = |k: &[u8]| format!("governance transaction {}", hex::encode(k));
        self.store
            .scan(Cf::Governance, &[], &[], what)?
            .into_iter()
            .map(|(key, bytes)| {
                let (height, index) = height_and_index(&key)
                    .ok_or_else(|| StorageError::Corrupt { what: what(&key), reason: "not a height and an index" })?;
                Ok((height, index, decode(&bytes, || what(&key))?))
            })
            .collect()
    }

    /// Every epoch from the genesis one to the current one, in order.
    pub fn epochs(&self) -> Result<Vec<Epoch>, LedgerError> {
        let what = |k: &[u8]| format!("epoch {}", hex::encode(k));
        self.store
            .scan(Cf::Epochs, &[], &[], what)?
            .into_iter()
            .map(|(key, bytes)| Ok(decode(&bytes, || what(&key))?))
            .collect()
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
        for asset in self.registry.assets() {
            elements.push(state::supply_element(&asset.id, &self.supply(&asset.id)?));
        }
        elements.push(state::registry_element(&self.registry.digest()));
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
    split_tx_list(bytes)?.into_iter().map(LedgerTx::from_bytes).collect()
}

/// A stored block's transactions as their bytes, not decoded.
fn split_tx_list(bytes: &[u8]) -> Result<Vec<&[u8]>, ctchain_codec::DecodeError> {
    let mut r = Reader::new(bytes);
    let txs = crate::types::read_tx_list(&mut r)?;
    r.finish()?;
    Ok(txs)
}

/// The height and index of a `height ‖ index` key (big-endian), if it is one.
fn height_and_index(key: &[u8]) -> Option<(u64, u32)> {
    let height: [u8; 8] = key.get(..8)?.try_into().ok()?;
    let index: [u8; 4] = key.get(8..)?.try_into().ok()?;
    Some((u64::from_be_bytes(height), u32::from_be_bytes(index)))
}
