//! From chain data to audit records: which points a decryption needs, and what the decrypted outputs say.
//!
//! ## Confidential outputs
//! Decrypting output `o` under the audit key at index `k` needs `s·X` for five points `X` of the output (its four
//! limb handles and its audit memo's ephemeral key, [`ctchain_crypto::audit_decryption_inputs`]). With a whole key
//! the regulator computes them itself; with a split key, `k` supervisors' verified partials are combined into them
//! ([`crate::threshold`]). Either way [`finish`] turns them into amounts — found in a 2¹⁶ table, so a value that is
//! not what the proven handles encrypt cannot come out — and into [`AuditRecord`]s for the AML rules.
//!
//! ## Shielded outputs
//! Every shielded transaction's statement carries, for each of its two outputs, an audit ciphertext to the chain's
//! Baby Jubjub audit key, proven inside the Groth16 circuit to encrypt the output's asset, value, receiver and the
//! spender ([`ctchain_circuits::audit`]). [`decrypt_shielded`] reads both with the whole shielded key; with a split
//! one, supervisors' verified partials of [`shielded_request_points`] combine into the shared points that
//! [`finish_shielded`] reads ([`crate::threshold_shielded`]). [`shielded_record`] turns each output into an
//! [`AuditRecord`] of [`Pool::Shielded`], so the AML rules judge shielded transfers exactly as confidential ones. Owner tags are shown as hex of their canonical
//! 32 bytes (the first 32 bytes of the owner's shielded address).
//!
//! **Dummy outputs** — a shielded output of value 0, which a transfer uses to fill its second slot — are never
//! recorded: they move nothing, and counted as transfers they would only feed the velocity rule noise. `decrypt`
//! lists them as dummies, and [`Decryption::dummies`] counts them.
//!
//! A shield or unshield also has a confidential side (its `crossing`), whose outputs are ordinary confidential
//! outputs ([`BlockContents`] lists them with the others); they keep the crossing's own id, which is how the
//! ledger names them (and `tx_get` finds the shielded transaction by either id).
//!
//! [`decrypt_whole`] does all of this for a regulator's whole keys ([`RegulatorKeys`]); a shielded transaction it
//! cannot read (no shielded key) becomes a [`NotDecrypted`] entry, never a silent gap.

use std::collections::HashMap;

use ctchain_circuits::{AssetTag, AuditPlaintext, AuditSecretKey as ShieldedAuditSecretKey, Owner, TransferStatement};
use ctchain_crypto::{
    audit_decryption_inputs, audit_output_from_shares, AssetId, AuditDecryptError, AuditDecryptionShares,
    AuditedOutput, IdentityCiphertext, LimbTable, MemoDisagreement, Output, Point, PublicKind, RistrettoPoint,
    Transaction, TxId, AUDIT_POINTS_PER_OUTPUT, LIMBS,
};
use ctchain_governance::Epoch;
use ctchain_ledger::{AssetInfo, Block, Crossing, Genesis, LedgerTx, ShieldedTx};

use crate::aml::{AuditRecord, NotDecrypted, NotDecryptedReason, Pool, RecordKind};
use crate::keys::RegulatorKeys;
use crate::threshold::DecryptionRequest;

/// Points per output in a decryption request: the output's own ([`AUDIT_POINTS_PER_OUTPUT`]: four limb handles,
/// the audit memo's ephemeral key, the receiver identity's handle), then its transaction's sender identity handle
/// (repeated for every output of the transaction, so that each record is decrypted on its own; a transaction
/// that spends nothing repeats the receiver's handle instead, which reveals nothing new).
pub const POINTS_PER_OUTPUT: usize = AUDIT_POINTS_PER_OUTPUT + 1;

/// Why outputs could not be decrypted into records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// The chain has no audit key at this index.
    #[error("the chain has no audit key {0}")]
    NoSuchKey(usize),
    /// The audit key given is not the chain's key at this index (a wrong key would decrypt nothing sensible).
    #[error("this audit key is not the chain's audit key {0}")]
    WrongKey(usize),
    /// An output names an asset the genesis does not list.
    #[error("output {index} of transaction {tx_id} is of unknown asset {asset}")]
    UnknownAsset {
        /// Transaction.
        tx_id: TxId,
        /// Output index.
        index: usize,
        /// Asset.
        asset: AssetId,
    },
    /// The crypto layer refused (no copy for this key, limb out of range).
    #[error("output {index} of transaction {tx_id}: {error}")]
    Audit {
        /// Transaction.
        tx_id: TxId,
        /// Output index.
        index: usize,
        /// Why.
        error: AuditDecryptError,
    },
    /// The chain has no shielded pool, yet the keys were checked against one.
    #[error("the chain has no shielded pool")]
    NoShieldedPool,
    /// The shielded audit key given is not the chain's (genesis `[shielded] audit_key`).
    #[error("this shielded audit key is not the chain's shielded audit key")]
    WrongShieldedKey,
    /// A shielded statement's audit copies are encrypted to another key than the one given (a chain validates
    /// that every statement names its own key, so this is a key of another chain).
    #[error("shielded transaction {0} is encrypted to another shielded audit key than this one")]
    ShieldedKeyMismatch(TxId),
    /// A shielded audit copy does not decrypt (never for a statement that verified, decrypted with its key).
    #[error("shielded transaction {tx_id}: {error}")]
    ShieldedAudit {
        /// Transaction.
        tx_id: TxId,
        /// Why.
        error: ctchain_circuits::CircuitError,
    },
    /// A shielded output's asset tag is not the tag of any asset the genesis lists.
    #[error("shielded output {index} of transaction {tx_id} is of an asset the genesis does not list")]
    UnknownShieldedAsset {
        /// Transaction.
        tx_id: TxId,
        /// Output index (0 or 1).
        index: usize,
    },
    /// Combined points do not match the outputs asked for.
    #[error("{found} decrypted points for {outputs} outputs")]
    PointCount {
        /// Points given.
        found: usize,
        /// Outputs.
        outputs: usize,
    },
}

/// One output of a committed transaction, with where and when it was committed.
#[derive(Clone, Debug)]
pub struct ChainOutput {
    /// The transaction id.
    pub tx_id: TxId,
    /// The output's index in its transaction.
    pub index: u32,
    /// Block height.
    pub height: u64,
    /// Block time (ms).
    pub timestamp_ms: u64,
    /// What the transaction did: issuance outputs are issues, everything else transfers.
    pub kind: RecordKind,
    /// The output.
    pub output: Output,
    /// Who the transaction proves as its sender, before decryption.
    pub sender: SenderSource,
    /// The outputs its inputs spend.
    pub spends: Vec<ctchain_crypto::OutputId>,
}

/// Where a confidential transaction's sender is proven, if anywhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SenderSource {
    /// It spends inputs: the owner of all of them, encrypted to every audit key with a proof.
    Inputs(Vec<IdentityCiphertext>),
    /// It issues: the issuer key named in public, proven by the issuer signature.
    Issuer(Point),
    /// It spends nothing here (the confidential side of an unshield, whose sender the shielded proof names): the
    /// memo's sender is only a claim.
    NotProven,
}

impl SenderSource {
    /// Where `tx` proves its sender: its inputs' owner, else its issuer, else nowhere.
    pub fn of(tx: &Transaction) -> Self {
        let issuer = tx.body.public.iter().find_map(|p| match p.kind {
            PublicKind::Issue { issuer } => Some(issuer),
            _ => None,
        });
        match (tx.body.inputs.is_empty(), issuer) {
            (false, _) => Self::Inputs(tx.body.sender_identities.clone()),
            (true, Some(issuer)) => Self::Issuer(issuer),
            (true, None) => Self::NotProven,
        }
    }
}

/// The sender a decryption established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProvenSender {
    /// The owner of the inputs; `None` if the ciphertext decrypts to no key (a maker's choice that names nobody).
    Owner(Option<Point>),
    /// The issuer's key.
    Issuer(Point),
    /// Nothing is proven about the sender.
    NotProven,
}

impl ProvenSender {
    /// The identity the proofs establish, if any.
    pub fn identity(&self) -> Option<&Point> {
        match self {
            Self::Owner(p) => p.as_ref(),
            Self::Issuer(p) => Some(p),
            Self::NotProven => None,
        }
    }
}

/// One decrypted output.
#[derive(Clone, Debug)]
pub struct Decrypted {
    /// The output and where it is.
    pub source: ChainOutput,
    /// Amount, receiver and memo.
    pub audited: AuditedOutput,
    /// The proven sender.
    pub sender: ProvenSender,
    /// Whether the memo agrees with the proven amount and asset.
    pub memo_agrees: bool,
    /// Every memo field that contradicts a proven one (amount, asset, receiver, sender).
    pub memo_disagrees: Vec<MemoDisagreement>,
}

/// The outputs of `tx` at `height`, with the kind read from its public amounts.
pub fn outputs_of(tx: &Transaction, height: u64, timestamp_ms: u64) -> Vec<ChainOutput> {
    let kind = if tx.body.public.iter().any(|p| matches!(p.kind, PublicKind::Issue { .. })) {
        RecordKind::Issue
    } else {
        RecordKind::Transfer
    };
    let tx_id = tx.id();
    let sender = SenderSource::of(tx);
    tx.body
        .outputs
        .iter()
        .enumerate()
        .map(|(i, o)| ChainOutput {
            tx_id,
            index: i as u32,
            height,
            timestamp_ms,
            kind,
            output: o.clone(),
            sender: sender.clone(),
            spends: tx.body.inputs.iter().map(|i| i.output_id).collect(),
        })
        .collect()
}

/// A shielded transaction of a committed block, with what the regulator needs to decrypt and describe it.
#[derive(Clone, Debug)]
pub struct ShieldedSource {
    /// Its id (the ledger's id, to which its proof is bound).
    pub tx_id: TxId,
    /// Block height.
    pub height: u64,
    /// Block time (ms).
    pub timestamp_ms: u64,
    /// What crosses the pool boundary in public, if anything: a shield or an unshield.
    pub crossing: Option<Crossing>,
    /// The id of its confidential side (shield or unshield), whose outputs are listed as confidential outputs.
    pub crossing_id: Option<TxId>,
    /// The statement, with both outputs' audit copies.
    pub statement: TransferStatement,
}

impl ShieldedSource {
    /// The shielded transaction `tx` committed at `height`.
    pub fn of(tx: &ShieldedTx, height: u64, timestamp_ms: u64) -> Self {
        Self {
            tx_id: tx.id(),
            height,
            timestamp_ms,
            crossing: tx.crossing_kind(),
            crossing_id: tx.crossing.as_ref().map(Transaction::id),
            statement: tx.statement.clone(),
        }
    }

    /// What it does, for a person: "shielded transfer", "shield" or "unshield".
    pub fn kind_text(&self) -> &'static str {
        match self.crossing {
            None => "shielded transfer",
            Some(Crossing::Shield { .. }) => "shield",
            Some(Crossing::Unshield { .. }) => "unshield",
        }
    }

    /// The entry saying its outputs were not decrypted, and why.
    pub fn not_decrypted(&self, reason: NotDecryptedReason) -> NotDecrypted {
        NotDecrypted {
            tx_id: self.tx_id.to_string(),
            height: self.height,
            timestamp_ms: self.timestamp_ms,
            pool: Pool::Shielded,
            outputs: self.statement.audit.len() as u32,
            reason,
        }
    }
}

/// A confidential transaction that burns (redeems off chain): the public amounts, and who the proofs say burned
/// them.
#[derive(Clone, Debug)]
pub struct ChainBurn {
    /// The transaction id.
    pub tx_id: TxId,
    /// Block height.
    pub height: u64,
    /// Block time (ms).
    pub timestamp_ms: u64,
    /// What it burns: (asset, amount), in the body's order.
    pub burned: Vec<(AssetId, u64)>,
    /// Who it proves as its sender: the burner.
    pub sender: SenderSource,
}

impl ChainBurn {
    /// The burns of `tx` at `height`, if it burns.
    pub fn of(tx: &Transaction, height: u64, timestamp_ms: u64) -> Option<Self> {
        let burned: Vec<(AssetId, u64)> =
            tx.body.public.iter().filter(|p| p.kind == PublicKind::Burn).map(|p| (p.asset, p.amount)).collect();
        (!burned.is_empty()).then(|| Self {
            tx_id: tx.id(),
            height,
            timestamp_ms,
            burned,
            sender: SenderSource::of(tx),
        })
    }
}

/// What the regulator decrypts in some committed transactions: confidential outputs and shielded transactions.
#[derive(Clone, Debug, Default)]
pub struct BlockContents {
    /// Every confidential output, those of the confidential sides of shields and unshields included.
    pub outputs: Vec<ChainOutput>,
    /// Every shielded transaction (transfer, shield, unshield).
    pub shielded: Vec<ShieldedSource>,
    /// Every confidential transaction that burns.
    pub burns: Vec<ChainBurn>,
}

impl BlockContents {
    /// The contents of one ledger transaction committed at `height` (nothing for an audit-access record or a
    /// governance transaction).
    pub fn of_tx(tx: &LedgerTx, height: u64, timestamp_ms: u64) -> Self {
        match tx {
            LedgerTx::Confidential(tx) => Self {
                outputs: outputs_of(tx, height, timestamp_ms),
                shielded: vec![],
                burns: ChainBurn::of(tx, height, timestamp_ms).into_iter().collect(),
            },
            LedgerTx::Shielded(tx) => Self {
                outputs: tx.crossing.as_ref().map(|c| outputs_of(c, height, timestamp_ms)).unwrap_or_default(),
                shielded: vec![ShieldedSource::of(tx, height, timestamp_ms)],
                burns: vec![],
            },
            LedgerTx::AuditAccess(_) | LedgerTx::Governance(_) => Self::default(),
        }
    }

    /// The contents of a committed block, in block order.
    pub fn of_block(block: &Block) -> Self {
        let mut contents = Self::default();
        for tx in &block.txs {
            contents.extend(Self::of_tx(tx, block.header.height, block.header.timestamp_ms));
        }
        contents
    }

    /// Appends `other`.
    pub fn extend(&mut self, other: Self) {
        self.outputs.extend(other.outputs);
        self.shielded.extend(other.shielded);
        self.burns.extend(other.burns);
    }
}

/// The request for decrypting `outputs` under audit key `key_index`, bound to `context` (an access record id).
pub fn request(context: Vec<u8>, outputs: &[ChainOutput], key_index: usize) -> Result<DecryptionRequest, DecryptError> {
    let mut points = Vec::with_capacity(outputs.len() * POINTS_PER_OUTPUT);
    for o in outputs {
        let error = |error| DecryptError::Audit { tx_id: o.tx_id, index: o.index as usize, error };
        let inputs = audit_decryption_inputs(&o.output, key_index).map_err(error)?;
        points.extend_from_slice(&inputs);
        points.push(match &o.sender {
            SenderSource::Inputs(ciphertexts) => {
                ciphertexts.get(key_index).ok_or(error(AuditDecryptError::NoCopyForKey(key_index)))?.handle
            }
            SenderSource::Issuer(_) | SenderSource::NotProven => inputs[AUDIT_POINTS_PER_OUTPUT - 1],
        });
    }
    Ok(DecryptionRequest { context, points })
}

/// Per-asset limb tables, built on first use (each takes a moment: 65 536 points).
#[derive(Default)]
pub struct Tables(HashMap<AssetId, LimbTable>);

impl Tables {
    fn get(&mut self, asset: AssetId) -> &LimbTable {
        self.0.entry(asset).or_insert_with(|| LimbTable::new(asset))
    }
}

/// Finishes decrypting `outputs` from `s·X` for every point of [`request`] (in the same order).
pub fn finish(
    outputs: &[ChainOutput],
    key_index: usize,
    multiplied: &[RistrettoPoint],
    tables: &mut Tables,
) -> Result<Vec<Decrypted>, DecryptError> {
    if multiplied.len() != outputs.len() * POINTS_PER_OUTPUT {
        return Err(DecryptError::PointCount { found: multiplied.len(), outputs: outputs.len() });
    }
    outputs
        .iter()
        .zip(multiplied.chunks_exact(POINTS_PER_OUTPUT))
        .map(|(o, m)| {
            let error = |error| DecryptError::Audit { tx_id: o.tx_id, index: o.index as usize, error };
            let shares = AuditDecryptionShares {
                handles: std::array::from_fn(|i| m[i]),
                memo: m[LIMBS],
                receiver: m[LIMBS + 1],
            };
            let audited =
                audit_output_from_shares(key_index, &o.output, tables.get(o.output.asset), &shares).map_err(error)?;
            let sender = match &o.sender {
                SenderSource::Inputs(ciphertexts) => ProvenSender::Owner(
                    ciphertexts
                        .get(key_index)
                        .ok_or(error(AuditDecryptError::NoCopyForKey(key_index)))?
                        .decrypt_from_share(&m[AUDIT_POINTS_PER_OUTPUT]),
                ),
                SenderSource::Issuer(issuer) => ProvenSender::Issuer(*issuer),
                SenderSource::NotProven => ProvenSender::NotProven,
            };
            let memo_agrees = audited.memo_agrees(&o.output);
            // The sender is compared with the memo only where the memo names the same kind of party: an owner.
            let owner = match &sender {
                ProvenSender::Owner(owner) => Some(owner.as_ref()),
                _ => None,
            };
            let mut memo_disagrees = audited.memo_disagreements(&o.output, owner.flatten());
            if owner == Some(None) && !memo_disagrees.contains(&MemoDisagreement::Sender) {
                memo_disagrees.push(MemoDisagreement::Sender);
            }
            Ok(Decrypted { source: o.clone(), audited, sender, memo_agrees, memo_disagrees })
        })
        .collect()
}

/// `s·X` for every point, with a whole secret.
pub fn multiply(secret: &ctchain_crypto::AuditSecretKey, points: &[Point]) -> Vec<RistrettoPoint> {
    points.iter().map(|p| secret.scalar() * p.point()).collect()
}

/// Checks that `secret` is the chain's audit key `key_index` before anything is decrypted with it.
pub fn check_key(
    genesis: &Genesis,
    key_index: usize,
    secret: &ctchain_crypto::AuditSecretKey,
) -> Result<(), DecryptError> {
    let key = genesis.audit_keys.get(key_index).ok_or(DecryptError::NoSuchKey(key_index))?;
    if *key != secret.public() {
        return Err(DecryptError::WrongKey(key_index));
    }
    Ok(())
}

/// Checks a regulator's whole keys against the chain's epochs before anything is decrypted: the confidential key
/// must be audit key `key_index` of at least one epoch (outputs of the other epochs are reported as encrypted to
/// another key), and a shielded key, if the keys hold one and the chain has a shielded pool, the chain's shielded
/// audit key.
pub fn check_keys_in_epochs(
    genesis: &Genesis,
    epochs: &[Epoch],
    key_index: usize,
    keys: &RegulatorKeys,
) -> Result<(), DecryptError> {
    let public = keys.confidential.public();
    if !epochs.iter().any(|e| e.audit_keys.get(key_index) == Some(&public)) {
        // Named as for the genesis alone: no such index anywhere, or another key.
        if epochs.iter().all(|e| e.audit_keys.len() <= key_index) {
            return Err(DecryptError::NoSuchKey(key_index));
        }
        return Err(DecryptError::WrongKey(key_index));
    }
    match (&keys.shielded, &genesis.shielded) {
        (Some(secret), Some(_)) => check_shielded_key(genesis, secret),
        _ => Ok(()),
    }
}

/// The chain as decrypting the blocks of `epoch` reads it, in the shape of a genesis: the chain id and shielded
/// pool of the genesis, the assets `listed` so far (the registry's), and the epoch's audit keys.
pub fn epoch_view(genesis: &Genesis, listed: &[AssetInfo], epoch: &Epoch) -> Genesis {
    let mut view = with_assets(genesis, listed);
    view.audit_keys = epoch.audit_keys.clone();
    view
}

/// The genesis with the assets `listed` since (what records name the assets by).
pub fn with_assets(genesis: &Genesis, listed: &[AssetInfo]) -> Genesis {
    let mut view = genesis.clone();
    for asset in listed {
        if view.asset(&asset.id).is_none() {
            view.assets.push(asset.clone());
        }
    }
    view
}

/// Checks a regulator's whole keys against the genesis before anything is decrypted: the confidential key must be
/// the chain's audit key `key_index`, and a shielded key, if the keys hold one and the chain has a shielded pool,
/// the chain's shielded audit key.
pub fn check_keys(genesis: &Genesis, key_index: usize, keys: &RegulatorKeys) -> Result<(), DecryptError> {
    check_key(genesis, key_index, &keys.confidential)?;
    match (&keys.shielded, &genesis.shielded) {
        (Some(secret), Some(_)) => check_shielded_key(genesis, secret),
        // No shielded pool: the key is simply not needed. No key: shielded transactions are reported as not
        // decrypted, one by one.
        _ => Ok(()),
    }
}

/// Checks that `secret` is the chain's shielded audit key.
pub fn check_shielded_key(genesis: &Genesis, secret: &ShieldedAuditSecretKey) -> Result<(), DecryptError> {
    let config = genesis.shielded.as_ref().ok_or(DecryptError::NoShieldedPool)?;
    if config.audit_key != secret.public_key() {
        return Err(DecryptError::WrongShieldedKey);
    }
    Ok(())
}

/// Decrypts both outputs' audit copies of a shielded transaction, in output order.
pub fn decrypt_shielded(
    secret: &ShieldedAuditSecretKey,
    source: &ShieldedSource,
) -> Result<[AuditPlaintext; 2], DecryptError> {
    if source.statement.audit_key != secret.public_key() {
        return Err(DecryptError::ShieldedKeyMismatch(source.tx_id));
    }
    secret
        .decrypt_statement(&source.statement)
        .map_err(|error| DecryptError::ShieldedAudit { tx_id: source.tx_id, error })
}

/// The points a split shielded key is asked to multiply for `sources`: each transaction's two audit copies'
/// ephemeral keys, in order.
pub fn shielded_request_points(sources: &[ShieldedSource]) -> Vec<ark_ed_on_bn254::EdwardsAffine> {
    sources.iter().flat_map(|s| s.statement.audit.iter().map(|ct| ct.ephemeral)).collect()
}

/// Finishes decrypting `sources` from the shared points `s·R` of [`shielded_request_points`] (same order): their
/// records, and how many dummy outputs were left out.
pub fn finish_shielded(
    genesis: &Genesis,
    sources: &[ShieldedSource],
    shared: &[ark_ed_on_bn254::EdwardsAffine],
) -> Result<(Vec<AuditRecord>, usize), DecryptError> {
    // One audit copy per output, two outputs per shielded transaction (`TransferStatement::audit`).
    let per_source = 2;
    if shared.len() != sources.len() * per_source {
        return Err(DecryptError::PointCount { found: shared.len(), outputs: sources.len() * per_source });
    }
    let (mut records, mut dummies) = (Vec::new(), 0);
    for (source, shared) in sources.iter().zip(shared.chunks_exact(per_source)) {
        for (index, (ct, point)) in source.statement.audit.iter().zip(shared).enumerate() {
            let plaintext = ShieldedAuditSecretKey::decrypt_with_shared(index, ct, point)
                .map_err(|error| DecryptError::ShieldedAudit { tx_id: source.tx_id, error })?;
            match shielded_record(genesis, source, index, &plaintext)? {
                Some(r) => records.push(r),
                None => dummies += 1,
            }
        }
    }
    Ok((records, dummies))
}

/// An owner tag as the regulator shows it: hex of its canonical 32 bytes.
pub fn owner_hex(owner: &Owner) -> String {
    hex::encode(ctchain_circuits::encoding::fr_to_bytes(&owner.0))
}

/// The genesis asset whose shielded tag is `tag`.
pub fn shielded_asset<'g>(genesis: &'g Genesis, tag: &AssetTag) -> Option<&'g AssetInfo> {
    genesis.assets.iter().find(|a| AssetTag::from_asset_id(&a.id.0) == *tag)
}

/// The audit record of shielded output `index` (0 or 1) of `source`, decrypted as `plaintext`; `None` for a dummy
/// output (value 0), which is never recorded.
pub fn shielded_record(
    genesis: &Genesis,
    source: &ShieldedSource,
    index: usize,
    plaintext: &AuditPlaintext,
) -> Result<Option<AuditRecord>, DecryptError> {
    if plaintext.value == 0 {
        return Ok(None);
    }
    let asset = shielded_asset(genesis, &plaintext.asset)
        .ok_or(DecryptError::UnknownShieldedAsset { tx_id: source.tx_id, index })?;
    let sender = owner_hex(&plaintext.sender);
    let receiver = owner_hex(&plaintext.receiver);
    Ok(Some(AuditRecord {
        tx_id: source.tx_id.to_string(),
        output_index: index as u32,
        height: source.height,
        timestamp_ms: source.timestamp_ms,
        asset_id: hex::encode(asset.id.0),
        asset_label: asset.label.clone(),
        decimals: asset.decimals,
        amount: plaintext.value,
        kind: party_kind(RecordKind::Transfer, Some(&sender), &receiver),
        sender_identity: Some(sender.clone()),
        receiver_identity: Some(receiver.clone()),
        sender: Some(sender),
        receiver,
        memo: String::new(),
        memo_matches_amount: true,
        pool: Pool::Shielded,
        sender_proven: true,
        receiver_proven: true,
        ..AuditRecord::default()
    }))
}

/// What a whole-key decryption of some [`BlockContents`] found.
#[derive(Clone, Debug, Default)]
pub struct Decryption {
    /// The records, in height order: every confidential output and every shielded output that is not a dummy.
    pub records: Vec<AuditRecord>,
    /// Shielded transactions that could not be decrypted (the keys hold no shielded key).
    pub not_decrypted: Vec<NotDecrypted>,
    /// Dummy shielded outputs (value 0) decrypted and left out of the records.
    pub dummies: usize,
}

/// Decrypts `contents` with a regulator's whole keys (confidential audit key `key_index`), after
/// [`check_keys`]. Without a shielded key every shielded transaction becomes a [`NotDecrypted`] entry.
pub fn decrypt_whole(
    genesis: &Genesis,
    key_index: usize,
    keys: &RegulatorKeys,
    contents: &BlockContents,
    tables: &mut Tables,
) -> Result<Decryption, DecryptError> {
    let mut out = Decryption::default();
    if genesis.audit_keys.get(key_index) == Some(&keys.confidential.public()) {
        let req = request(Vec::new(), &contents.outputs, key_index)?;
        let decrypted = finish(&contents.outputs, key_index, &multiply(&keys.confidential, &req.points), tables)?;
        out.records = decrypted.iter().map(|d| record(genesis, d)).collect::<Result<_, _>>()?;
    } else {
        // Outputs of an epoch whose audit key `key_index` is another (before a rotation, or after it): named,
        // one entry per transaction, for the key of their epoch to decrypt.
        for o in &contents.outputs {
            match out.not_decrypted.last_mut() {
                Some(n) if n.pool == Pool::Confidential && n.tx_id == o.tx_id.to_string() => n.outputs += 1,
                _ => out.not_decrypted.push(NotDecrypted {
                    tx_id: o.tx_id.to_string(),
                    height: o.height,
                    timestamp_ms: o.timestamp_ms,
                    pool: Pool::Confidential,
                    outputs: 1,
                    reason: NotDecryptedReason::OtherAuditKey,
                }),
            }
        }
    }
    if genesis.audit_keys.get(key_index) == Some(&keys.confidential.public()) {
        for burn in &contents.burns {
            out.records.extend(burn_records(genesis, key_index, &keys.confidential, burn)?);
        }
    }
    for source in &contents.shielded {
        let Some(secret) = &keys.shielded else {
            out.not_decrypted.push(source.not_decrypted(NotDecryptedReason::NoShieldedKey));
            continue;
        };
        for (index, plaintext) in decrypt_shielded(secret, source)?.iter().enumerate() {
            match shielded_record(genesis, source, index, plaintext)? {
                Some(r) => out.records.push(r),
                None => out.dummies += 1,
            }
        }
    }
    // Chain order for every reader (reports, the demo): the contents list a range's confidential outputs before
    // its shielded transactions. Stable, so a block keeps its own order within each pool.
    out.records.sort_by_key(|r| r.height);
    Ok(out)
}

/// A transfer whose sender is its receiver moves nothing between parties: change.
fn party_kind(kind: RecordKind, sender: Option<&str>, receiver: &str) -> RecordKind {
    if kind == RecordKind::Transfer && sender == Some(receiver) {
        RecordKind::Change
    } else {
        kind
    }
}

/// Output indexes of burn records start here: a burn has no output, and its record needs a key of its own in the
/// audit database (`height ‖ tx id ‖ index`) that no output of the transaction can take.
pub const BURN_RECORD_INDEX: u32 = 1 << 31;

/// The records of a burning transaction, one per burned asset, naming the burner the proofs establish (decrypted
/// with a whole key).
pub fn burn_records(
    genesis: &Genesis,
    key_index: usize,
    secret: &ctchain_crypto::AuditSecretKey,
    burn: &ChainBurn,
) -> Result<Vec<AuditRecord>, DecryptError> {
    let sender = match &burn.sender {
        SenderSource::Inputs(ciphertexts) => {
            let c = ciphertexts.get(key_index).ok_or(DecryptError::Audit {
                tx_id: burn.tx_id,
                index: 0,
                error: AuditDecryptError::NoCopyForKey(key_index),
            })?;
            ProvenSender::Owner(c.decrypt_from_share(&(secret.scalar() * c.handle.point())))
        }
        SenderSource::Issuer(issuer) => ProvenSender::Issuer(*issuer),
        SenderSource::NotProven => ProvenSender::NotProven,
    };
    burn.burned
        .iter()
        .enumerate()
        .map(|(i, (asset_id, amount))| {
            let asset = genesis.asset(asset_id).ok_or(DecryptError::UnknownAsset {
                tx_id: burn.tx_id,
                index: i,
                asset: *asset_id,
            })?;
            let (text, proven) = match &sender {
                ProvenSender::Owner(owner) => (party_text(&genesis.chain_id, owner.as_ref(), None), true),
                ProvenSender::Issuer(_) => (format!("issuer of {}", asset.label), true),
                ProvenSender::NotProven => ("not proven".to_owned(), false),
            };
            Ok(AuditRecord {
                tx_id: burn.tx_id.to_string(),
                output_index: BURN_RECORD_INDEX + i as u32,
                height: burn.height,
                timestamp_ms: burn.timestamp_ms,
                asset_id: hex::encode(asset_id.0),
                asset_label: asset.label.clone(),
                decimals: asset.decimals,
                amount: *amount,
                kind: RecordKind::Burn,
                sender: Some(text),
                // The amount and its destruction are public; nobody receives it on chain.
                receiver: "burned (redeemed off chain)".into(),
                memo: String::new(),
                memo_matches_amount: true,
                pool: Pool::Confidential,
                sender_identity: sender.identity().map(|p| hex::encode(p.as_bytes())),
                sender_proven: proven,
                receiver_proven: true,
                ..AuditRecord::default()
            })
        })
        .collect()
}

/// How a record names a proven identity: the address the memo gives for it when the memo's address has this
/// spend key, otherwise the key itself (a memo naming another address, or none, does not name this party).
pub fn party_text(chain_id: &str, proven: Option<&Point>, claimed: Option<&ctchain_crypto::Address>) -> String {
    match (proven, claimed) {
        (Some(p), Some(a)) if a.spend == *p => ctchain_keystore::address::encode_address(chain_id, a),
        (Some(p), _) => identity_text(p),
        (None, _) => NOBODY.into(),
    }
}

/// A proven identity not matched to any address: `identity <spend key hex>`.
pub fn identity_text(p: &Point) -> String {
    format!("identity {}", hex::encode(p.as_bytes()))
}

/// What a record says of an identity ciphertext that decrypts to no key.
pub const NOBODY: &str = "nobody (the proven identity is no key)";

/// The audit record of a decrypted output: parties as the proofs establish them (named by the memo's address
/// where it agrees, see [`party_text`]), the asset by its label.
pub fn record(genesis: &Genesis, d: &Decrypted) -> Result<AuditRecord, DecryptError> {
    let o = &d.source;
    let asset = genesis.asset(&o.output.asset).ok_or(DecryptError::UnknownAsset {
        tx_id: o.tx_id,
        index: o.index as usize,
        asset: o.output.asset,
    })?;
    let chain = genesis.chain_id.as_str();
    let memo = d.audited.memo.as_ref().ok();
    let receiver = party_text(chain, d.audited.receiver.as_ref(), memo.map(|m| &m.receiver));
    let claimed_sender = memo.and_then(|m| m.sender.as_ref());
    let (sender, sender_proven) = match &d.sender {
        ProvenSender::Owner(owner) => (Some(party_text(chain, owner.as_ref(), claimed_sender)), true),
        ProvenSender::Issuer(_) => (Some(format!("issuer of {}", asset.label)), true),
        // The claim, marked as such by `sender_proven`.
        ProvenSender::NotProven => (claimed_sender.map(|a| ctchain_keystore::address::encode_address(chain, a)), false),
    };
    let identity = |p: Option<&Point>| p.map(|p| hex::encode(p.as_bytes()));
    let sender_identity = identity(d.sender.identity());
    let receiver_identity = identity(d.audited.receiver.as_ref());
    let change = o.kind == RecordKind::Transfer && sender_identity.is_some() && sender_identity == receiver_identity;
    Ok(AuditRecord {
        tx_id: o.tx_id.to_string(),
        output_index: o.index,
        height: o.height,
        timestamp_ms: o.timestamp_ms,
        asset_id: hex::encode(o.output.asset.0),
        asset_label: asset.label.clone(),
        decimals: asset.decimals,
        amount: d.audited.amount,
        kind: if change { RecordKind::Change } else { o.kind },
        sender,
        receiver,
        memo: memo.map(|m| m.text.clone()).unwrap_or_default(),
        memo_matches_amount: d.memo_agrees,
        pool: Pool::Confidential,
        sender_identity,
        receiver_identity,
        sender_proven,
        receiver_proven: true,
        memo_disagrees: d.memo_disagrees.iter().map(|m| m.as_str().to_owned()).collect(),
        output_id: ctchain_crypto::OutputId::new(&o.tx_id, o.index).to_string(),
        spends: o.spends.iter().map(ToString::to_string).collect(),
        ..AuditRecord::default()
    })
}

#[cfg(test)]
mod tests {
    //! Real shielded statements (built, not proven: decryption needs no proof), decrypted as `scan` does.

    use ctchain_circuits::{
        AssetTag, Frontier, Note, Payment, SpendInput, SpendingKey, TransferProof, TransferRequest, UnprovenTransfer,
        Witness,
    };
    use ctchain_codec::{Decode, Encode, Hash32};
    use ctchain_crypto::SigningKey;
    use ctchain_ledger::{BlockHeader, ShieldedConfig};
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::aml::{self, RuleId, RuleSet};

    /// TEST ONLY: deterministic randomness, so a failure replays.
    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    /// A chain with CNY (2 decimals) and USD, a shielded pool audited by `keys`, and two shielded users.
    struct Fixture {
        genesis: Genesis,
        keys: RegulatorKeys,
        alice: SpendingKey,
        bob: SpendingKey,
        cny: AssetTag,
        rng: ChaCha20Rng,
    }

    fn fixture(seed: u64) -> Fixture {
        let mut rng = rng(seed);
        let keys = RegulatorKeys::generate(&mut rng);
        let asset = |label: &str, rng: &mut ChaCha20Rng| AssetInfo {
            id: AssetId::from_label(label),
            label: label.into(),
            decimals: 2,
            issuer: SigningKey::random(rng).public(),
        };
        let genesis = Genesis {
            chain_id: "ctchain-test".into(),
            crypto_suite: ctchain_ledger::CRYPTO_SUITE.into(),
            genesis_time_ms: 0,
            validators: vec![],
            audit_keys: vec![keys.confidential.public()],
            assets: vec![asset("CNY", &mut rng), asset("USD", &mut rng)],
            consensus: Default::default(),
            shielded: Some(ShieldedConfig {
                verifying_key_hash: Hash32([0; 32]),
                audit_key: keys.shielded_public().unwrap(),
                recent_roots: 100,
            }),
            members: vec![],
            policy: Default::default(),
            nodes: vec![],
            channels: vec![],
        };
        Fixture {
            genesis,
            keys,
            alice: SpendingKey::random(&mut rng),
            bob: SpendingKey::random(&mut rng),
            cny: AssetTag::from_asset_id(&AssetId::from_label("CNY").0),
            rng,
        }
    }

    impl Fixture {
        /// Alice pays Bob `amount` from a note of `note_value` she holds, keeping the change.
        fn transfer(&mut self, note_value: u64, amount: u64) -> UnprovenTransfer {
            let mut tree = Frontier::new();
            let note = Note::new(self.cny, note_value, self.alice.owner(), &mut self.rng);
            let witness = Witness::new(&tree.append(note.commitment()).unwrap());
            TransferRequest {
                spending_key: &self.alice,
                asset: self.cny,
                anchor: tree.root(),
                inputs: [SpendInput::Note { note, path: Box::new(witness.path().clone()) }, SpendInput::Dummy],
                outputs: [
                    Payment { to: self.bob.address(), value: amount },
                    Payment { to: self.alice.address(), value: note_value - amount },
                ],
                public_in: 0,
                public_out: 0,
                audit_key: self.genesis.shielded.unwrap().audit_key,
            }
            .build(&mut self.rng)
            .unwrap()
        }

        /// Alice shields `amount` into a note of her own; the second output is a dummy (value 0) to Bob.
        fn shield(&mut self, amount: u64) -> UnprovenTransfer {
            TransferRequest {
                spending_key: &self.alice,
                asset: self.cny,
                anchor: Frontier::new().root(),
                inputs: [SpendInput::Dummy, SpendInput::Dummy],
                outputs: [
                    Payment { to: self.alice.address(), value: amount },
                    Payment { to: self.bob.address(), value: 0 },
                ],
                public_in: amount,
                public_out: 0,
                audit_key: self.genesis.shielded.unwrap().audit_key,
            }
            .build(&mut self.rng)
            .unwrap()
        }
    }

    /// A shielded transaction as the ledger carries it. Its proof is the committed test vector's: well formed, but
    /// for another statement — decryption never looks at it.
    fn ledger_tx(unproven: &UnprovenTransfer) -> LedgerTx {
        let vectors = include_str!("../../../circuits/vectors/transfer-v1.txt");
        let proof_hex = vectors.lines().find_map(|l| l.strip_prefix("proof=")).unwrap();
        let proof = TransferProof::from_bytes(&hex::decode(proof_hex).unwrap().try_into().unwrap()).unwrap();
        let tx = ShieldedTx {
            chain_id: "ctchain-test".into(),
            statement: unproven.statement.clone(),
            note_ciphertexts: unproven.note_ciphertexts.clone(),
            crossing: None,
            proof,
        };
        // What a node serves decodes to the same transaction.
        LedgerTx::from_bytes(&LedgerTx::Shielded(Box::new(tx)).to_bytes()).unwrap()
    }

    fn block(height: u64, txs: Vec<LedgerTx>) -> Block {
        let header = BlockHeader {
            height,
            seq: height,
            prev_hash: Hash32([0; 32]),
            tx_root: Block::compute_tx_root(&txs),
            state_root: Hash32([0; 32]),
            timestamp_ms: 1_700_000_000_000 + height * 1000,
            proposer: 0,
            view: 0,
        };
        Block { header, txs }
    }

    /// Burns name the burner: with change (its outputs carry the sender ciphertexts) and without any output.
    #[test]
    fn a_burn_names_its_proven_burner_with_or_without_an_output() {
        use ctchain_crypto::{TransactionBuilder, Verifier, WalletKeys};
        let mut f = fixture(5);
        let issuer = SigningKey::random(&mut f.rng);
        f.genesis.assets[0].issuer = issuer.public();
        let cny = AssetId::from_label("CNY");
        let alice = WalletKeys::random(&mut f.rng);
        let verifier = Verifier::new(f.genesis.chain_id.clone(), f.genesis.audit_keys.clone());
        let builder = || TransactionBuilder::new(f.genesis.chain_id.clone(), f.genesis.audit_keys.clone());
        let mut b = builder();
        b.issue(&issuer, cny, 500).pay(alice.address(), cny, 300, "").pay(alice.address(), cny, 200, "");
        let funding = verifier.verify(b.build(&mut f.rng).unwrap()).unwrap();
        let id = funding.id();
        let owned: Vec<_> = funding
            .transaction()
            .body
            .outputs
            .iter()
            .enumerate()
            .map(|(i, o)| {
                alice.owned(
                    &alice.viewing_keys().receive(ctchain_crypto::OutputId::new(&id, i as u32), o).unwrap().unwrap(),
                )
            })
            .collect();
        let mut b = builder();
        b.spend(owned[0].clone()).burn(cny, 100).sender(alice.address());
        let with_change = verifier.verify(b.build(&mut f.rng).unwrap()).unwrap().into_inner();
        let mut b = builder();
        b.spend(owned[1].clone()).burn(cny, 200);
        let whole = verifier.verify(b.build(&mut f.rng).unwrap()).unwrap().into_inner();
        assert!(whole.body.outputs.is_empty());
        let alice_identity = hex::encode(alice.address().spend.as_bytes());
        for tx in [&with_change, &whole] {
            let contents = BlockContents::of_tx(&LedgerTx::Confidential(tx.clone()), 4, 4_000);
            let d = decrypt_whole(&f.genesis, 0, &f.keys, &contents, &mut Tables::default()).unwrap();
            let burns: Vec<&AuditRecord> = d.records.iter().filter(|r| r.kind == RecordKind::Burn).collect();
            assert_eq!(burns.len(), 1);
            assert_eq!(burns[0].sender_identity.as_deref(), Some(alice_identity.as_str()));
            assert!(burns[0].sender_proven);
            assert_eq!(burns[0].output_index, BURN_RECORD_INDEX);
        }
        // The issuance names its issuer.
        let contents = BlockContents::of_tx(&LedgerTx::Confidential(funding.into_inner()), 3, 3_000);
        let d = decrypt_whole(&f.genesis, 0, &f.keys, &contents, &mut Tables::default()).unwrap();
        assert_eq!(d.records[0].sender.as_deref(), Some("issuer of CNY"));
        assert_eq!(d.records[0].sender_identity, Some(hex::encode(issuer.public().as_bytes())));
    }

    #[test]
    fn a_shielded_transfer_decrypts_to_its_asset_amount_receiver_and_sender() {
        let mut f = fixture(1);
        let unproven = f.transfer(2_000_000, 1_500_000);
        let tx = ledger_tx(&unproven);
        let contents = BlockContents::of_block(&block(7, vec![tx.clone()]));
        assert!(contents.outputs.is_empty(), "a transfer inside the pool has no confidential side");
        assert_eq!(contents.shielded.len(), 1);
        assert_eq!(contents.shielded[0].tx_id, tx.id());
        assert_eq!(contents.shielded[0].kind_text(), "shielded transfer");

        check_keys(&f.genesis, 0, &f.keys).unwrap();
        let d = decrypt_whole(&f.genesis, 0, &f.keys, &contents, &mut Tables::default()).unwrap();
        assert!(d.not_decrypted.is_empty());
        assert_eq!(d.dummies, 0);
        let alice = owner_hex(&f.alice.owner());
        let bob = owner_hex(&f.bob.owner());
        let cny = hex::encode(AssetId::from_label("CNY").0);
        let [payment, change] = &d.records[..] else { panic!("two records expected: {:?}", d.records) };
        let expected = AuditRecord {
            tx_id: tx.id().to_string(),
            output_index: 0,
            height: 7,
            timestamp_ms: 1_700_000_007_000,
            asset_id: cny.clone(),
            asset_label: "CNY".into(),
            decimals: 2,
            amount: 1_500_000,
            kind: RecordKind::Transfer,
            sender: Some(alice.clone()),
            receiver: bob.clone(),
            memo: String::new(),
            memo_matches_amount: true,
            pool: Pool::Shielded,
            sender_identity: Some(alice.clone()),
            receiver_identity: Some(bob.clone()),
            sender_proven: true,
            receiver_proven: true,
            ..Default::default()
        };
        assert_eq!(*payment, expected);
        // The change goes back to the spender: recorded as change, left out of the transfer rules.
        assert_eq!(
            *change,
            AuditRecord {
                output_index: 1,
                amount: 500_000,
                kind: RecordKind::Change,
                receiver: alice.clone(),
                receiver_identity: Some(alice.clone()),
                ..expected
            }
        );
        // Owner tags are the first 32 bytes of the shielded address.
        assert_eq!(bob, hex::encode(&f.bob.address().to_bytes()[..32]));
    }

    #[test]
    fn another_shielded_key_is_refused_before_and_while_decrypting() {
        let mut f = fixture(2);
        let contents = BlockContents::of_block(&block(3, vec![ledger_tx(&f.transfer(900, 400))]));
        let stranger = RegulatorKeys {
            confidential: f.keys.confidential.clone(),
            shielded: Some(ctchain_circuits::AuditSecretKey::random(&mut f.rng)),
        };
        assert_eq!(check_keys(&f.genesis, 0, &stranger), Err(DecryptError::WrongShieldedKey));
        // Even past the genesis check (another chain's key), the statement names the key it is encrypted to.
        let tx_id = contents.shielded[0].tx_id;
        assert_eq!(
            decrypt_whole(&f.genesis, 0, &stranger, &contents, &mut Tables::default()).unwrap_err(),
            DecryptError::ShieldedKeyMismatch(tx_id)
        );
        assert_eq!(
            decrypt_shielded(stranger.shielded.as_ref().unwrap(), &contents.shielded[0]).unwrap_err(),
            DecryptError::ShieldedKeyMismatch(tx_id)
        );
        // A chain without a shielded pool has no shielded key to check against.
        let mut no_pool = f.genesis.clone();
        no_pool.shielded = None;
        assert_eq!(check_shielded_key(&no_pool, f.keys.shielded.as_ref().unwrap()), Err(DecryptError::NoShieldedPool));
        check_keys(&no_pool, 0, &f.keys).unwrap();
    }

    #[test]
    fn an_asset_the_genesis_does_not_list_is_named() {
        let mut f = fixture(3);
        let contents = BlockContents::of_block(&block(3, vec![ledger_tx(&f.transfer(900, 400))]));
        let mut other = f.genesis.clone();
        other.assets.retain(|a| a.label != "CNY");
        assert_eq!(
            decrypt_whole(&other, 0, &f.keys, &contents, &mut Tables::default()).unwrap_err(),
            DecryptError::UnknownShieldedAsset { tx_id: contents.shielded[0].tx_id, index: 0 }
        );
    }

    #[test]
    fn without_the_shielded_key_each_shielded_transaction_is_reported_not_skipped() {
        let mut f = fixture(4);
        let txs = vec![ledger_tx(&f.transfer(900, 400)), ledger_tx(&f.shield(300))];
        let ids: Vec<String> = txs.iter().map(|t| t.id().to_string()).collect();
        let contents = BlockContents::of_block(&block(5, txs));
        let old = RegulatorKeys { confidential: f.keys.confidential.clone(), shielded: None };
        check_keys(&f.genesis, 0, &old).unwrap();
        let d = decrypt_whole(&f.genesis, 0, &old, &contents, &mut Tables::default()).unwrap();
        assert!(d.records.is_empty());
        assert_eq!(d.not_decrypted.iter().map(|n| n.tx_id.clone()).collect::<Vec<_>>(), ids);
        for n in &d.not_decrypted {
            assert_eq!(
                (n.height, n.pool, n.outputs, n.reason),
                (5, Pool::Shielded, 2, NotDecryptedReason::NoShieldedKey)
            );
            assert_eq!(n.reason.as_str(), "not decryptable without the shielded audit key");
        }
    }

    #[test]
    fn dummy_outputs_are_decrypted_but_never_recorded() {
        let mut f = fixture(5);
        let unproven = f.shield(300);
        let source = ShieldedSource {
            crossing: Some(Crossing::Shield { asset: AssetId::from_label("CNY"), amount: 300 }),
            ..ShieldedSource::of(ledger_tx_inner(&unproven).as_ref(), 9, 9_000)
        };
        assert_eq!(source.kind_text(), "shield");
        let plain = decrypt_shielded(f.keys.shielded.as_ref().unwrap(), &source).unwrap();
        assert_eq!(plain[1].value, 0);
        assert_eq!(plain[1].receiver, f.bob.owner());
        assert_eq!(shielded_record(&f.genesis, &source, 1, &plain[1]).unwrap(), None);
        let contents = BlockContents { outputs: vec![], shielded: vec![source], burns: vec![] };
        let d = decrypt_whole(&f.genesis, 0, &f.keys, &contents, &mut Tables::default()).unwrap();
        assert_eq!(d.dummies, 1);
        assert_eq!(d.records.len(), 1);
        assert_eq!((d.records[0].amount, d.records[0].kind), (300, RecordKind::Change), "shielded to herself");
    }

    fn ledger_tx_inner(unproven: &UnprovenTransfer) -> Box<ShieldedTx> {
        match ledger_tx(unproven) {
            LedgerTx::Shielded(tx) => tx,
            other => panic!("not shielded: {other:?}"),
        }
    }

    #[test]
    fn aml_rules_fire_on_a_large_shielded_transfer_and_not_on_a_small_one() {
        let mut f = fixture(6);
        let large = ledger_tx(&f.transfer(2_000_000, 1_500_000)); // 15,000.00 CNY
        let small = ledger_tx(&f.transfer(2_000_000, 90_000)); // 900.00 CNY
        let contents = BlockContents::of_block(&block(2, vec![large.clone(), small]));
        let d = decrypt_whole(&f.genesis, 0, &f.keys, &contents, &mut Tables::default()).unwrap();
        let rules =
            RuleSet::from_toml("[[asset]]\nlabel = \"CNY\"\ndecimals = 2\n\n[large_value]\nCNY = \"10000.00\"\n")
                .unwrap();
        let alerts = aml::run(&d.records, &rules);
        let large_alerts: Vec<_> = alerts.iter().filter(|a| a.rule == RuleId::LargeValue).collect();
        assert_eq!(large_alerts.len(), 1, "{alerts:?}");
        assert_eq!(large_alerts[0].tx_ids, vec![large.id().to_string()]);
        assert_eq!(large_alerts[0].total_amount, 1_500_000);
        assert!(large_alerts[0].addresses.contains(&owner_hex(&f.bob.owner())), "{:?}", large_alerts[0]);
    }
}
