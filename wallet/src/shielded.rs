//! Building shielded transactions: shield (confidential outputs into notes), shielded send (notes to another
//! shielded address) and unshield (notes back into confidential outputs).
//!
//! Every kind follows the same steps, which the ledger's checks dictate ([`ctchain_ledger::shielded`]):
//!
//! 1. [`TransferRequest::build`] draws every randomness and gives the public statement and the receivers' note
//!    ciphertexts (nothing is proven yet);
//! 2. the **binding** hash of chain id, statement and ciphertexts is computed; when value crosses the pool
//!    boundary, the confidential side (`crossing`) names it in its `ToShielded`/`FromShielded` amount, so its
//!    signatures belong to this statement and no other;
//! 3. the **id** covers the binding and the crossing's id (never the proof, which is re-randomisable);
//! 4. the Groth16 proof is made for that id.
//!
//! The builders here are pure (store, keys, chain, proving key, randomness in; transaction and local record
//! out): they neither read the network nor change the store, so a refused request leaves everything as it was.
//! [`submit_shielded`] records and submits what they build.
//!
//! A transfer has exactly two inputs and two outputs: unused inputs are dummies (value 0, no tree path) and the
//! second output carries the change, or zero, to the sender's own address. A shielded payment therefore spends
//! at most two notes; the wallet picks the fewest, largest first.

use std::path::Path;

use ctchain_circuits::{
    params, Anchor, AssetTag, Payment, ShieldedAddress, SpendInput, SpendingKey, TransferProvingKey, TransferRequest,
};
use ctchain_codec::{Encode, Hash32};
use ctchain_crypto::{Address, Transaction, TransactionBuilder, TxId, WalletKeys};
use ctchain_ledger::shielded::{binding_hash, shielded_tx_id};
use ctchain_ledger::{AssetInfo, ShieldedTx};
use rand_core::{CryptoRng, RngCore};

use crate::chain::ChainInfo;
use crate::error::{Result, WalletError};
use crate::notes::{field_hex, parse_anchor, stored_frontier, stored_note};
use crate::spend::{owned_output, select_inputs};
use crate::store::{OwnedNote, SentPayment, SentPublic, SentRecord, SentStatus, ShieldedSent, WalletStore};
use crate::sync::{submit_recorded, ShieldedSource};
use ctchain_keystore::address::{encode_address, encode_shielded_address};

/// The transfer circuit's proving key, loaded from a parameter directory and checked to be the chain's.
pub struct Prover {
    proving_key: TransferProvingKey,
}

impl Prover {
    /// Loads `dir/transfer.pk` and `dir/transfer.vk` (checked against `dir/SM3SUMS` and against each other),
    /// refusing them unless the verifying key is the one the chain's genesis pins. The hash is compared before
    /// the proving key (megabytes, seconds to validate) is read.
    pub fn load(dir: &Path, chain: &ChainInfo) -> Result<Self> {
        let pinned = chain.shielded_pool()?.verifying_key_hash;
        let failed = |e: ctchain_circuits::CircuitError| WalletError::Parameters {
            dir: dir.display().to_string(),
            reason: e.to_string(),
        };
        let wrong = |found: &Hash32| WalletError::WrongParameters {
            dir: dir.display().to_string(),
            found: found.to_string(),
            expected: pinned.to_string(),
        };
        let listed = params::read_hashes(dir).map_err(failed)?;
        if listed.verifying_key != pinned {
            return Err(wrong(&listed.verifying_key));
        }
        let (proving_key, _, loaded) = params::load_directory(dir).map_err(failed)?;
        // The directory may have changed between the two reads.
        if loaded.verifying_key != pinned {
            return Err(wrong(&loaded.verifying_key));
        }
        Ok(Self { proving_key })
    }
}

/// A proven shielded transaction and the record the wallet keeps of it.
#[derive(Clone, Debug)]
pub struct BuiltShielded {
    /// The transaction, ready to submit.
    pub tx: ShieldedTx,
    /// Its id.
    pub id: TxId,
    /// What the wallet remembers about it (notes it spends, recipients, change).
    pub record: SentRecord,
}

impl BuiltShielded {
    /// Hex of the canonical transaction bytes (what `shielded_submit` takes).
    pub fn hex(&self) -> String {
        hex::encode(self.tx.to_bytes())
    }
}

/// A full wallet's keys for building shielded transactions, with the chain and the proving key.
pub struct ShieldedSpender<'a> {
    /// The confidential keys (the crossing's inputs, the sender disclosed in its memos).
    pub keys: &'a WalletKeys,
    /// The shielded spending key.
    pub spending_key: &'a SpendingKey,
    /// The chain.
    pub chain: &'a ChainInfo,
    /// The chain's proving key.
    pub prover: &'a Prover,
}

/// The shape of one transfer: what goes in and out of the circuit.
struct Plan {
    anchor: Anchor,
    inputs: [SpendInput; 2],
    outputs: [Payment; 2],
    public_in: u64,
    public_out: u64,
}

impl ShieldedSpender<'_> {
    /// Builds, binds and proves a transfer of `asset`; `crossing` builds the confidential side from the binding
    /// hash when value crosses the pool boundary.
    fn prove<R: RngCore + CryptoRng>(
        &self,
        asset: &AssetInfo,
        plan: Plan,
        crossing: impl FnOnce(Hash32, &mut R) -> Result<Option<Transaction>>,
        rng: &mut R,
    ) -> Result<(ShieldedTx, TxId)> {
        let audit_key = self.chain.shielded_pool()?.audit_key;
        let unproven = TransferRequest {
            spending_key: self.spending_key,
            asset: AssetTag::from_asset_id(&asset.id.0),
            anchor: plan.anchor,
            inputs: plan.inputs,
            outputs: plan.outputs,
            public_in: plan.public_in,
            public_out: plan.public_out,
            audit_key,
        }
        .build(rng)?;
        let binding = binding_hash(&self.chain.chain_id, &unproven.statement, &unproven.note_ciphertexts);
        let crossing = crossing(binding, rng)?;
        let id = shielded_tx_id(&binding, crossing.as_ref().map(Transaction::id).as_ref());
        let proof = unproven.prove(&self.prover.proving_key, id.as_bytes(), rng)?;
        let tx = ShieldedTx {
            chain_id: self.chain.chain_id.clone(),
            statement: unproven.statement,
            note_ciphertexts: unproven.note_ciphertexts,
            crossing,
            proof,
        };
        Ok((tx, id))
    }

    fn own_address(&self) -> ShieldedAddress {
        self.spending_key.address()
    }

    fn builder(&self) -> TransactionBuilder {
        let mut b = TransactionBuilder::new(self.chain.chain_id.clone(), self.chain.audit_keys.clone());
        b.sender(self.keys.address());
        b
    }

    /// Moves `amount` of `asset` from this wallet's confidential outputs into a note of its own, with
    /// confidential change back. `anchor` is any recent root of the chain's note tree (the ledger checks it even
    /// though a shield spends no note): the node's newest.
    pub fn build_shield<R: RngCore + CryptoRng>(
        &self,
        store: &WalletStore,
        asset: &AssetInfo,
        amount: u64,
        anchor: Anchor,
        rng: &mut R,
    ) -> Result<BuiltShielded> {
        if amount == 0 {
            return Err(WalletError::ZeroAmount);
        }
        let spent = select_inputs(store, self.chain, &asset.id, amount)?;
        let own = self.own_address();
        let plan = Plan {
            anchor,
            inputs: [SpendInput::Dummy, SpendInput::Dummy],
            outputs: [Payment { to: own, value: amount }, Payment { to: own, value: 0 }],
            public_in: amount,
            public_out: 0,
        };
        let crossing = |binding, rng: &mut R| {
            let mut b = self.builder();
            for o in &spent {
                b.spend(owned_output(self.keys, o)?);
            }
            b.to_shielded(asset.id, amount, binding);
            Ok(Some(b.build(rng)?))
        };
        let (tx, id) = self.prove(asset, plan, crossing, rng)?;
        let change = spent.iter().map(|o| o.amount).sum::<u64>() - amount;
        let mut record = record("shield", &tx, id, &[]);
        record.inputs = spent.iter().map(|o| o.output_id.clone()).collect();
        record.public.push(SentPublic { kind: "shield".into(), asset: asset.id.to_string(), amount });
        if change > 0 {
            record.change.push((asset.id.to_string(), change));
        }
        if let Some(s) = record.shielded.as_mut() {
            s.notes_in.push((asset.id.to_string(), amount));
        }
        Ok(BuiltShielded { tx, id, record })
    }

    /// Pays `amount` of `asset` from this wallet's notes to the shielded address `to`, with change back as a
    /// note. The anchor is the wallet's own tree root, so sync first.
    pub fn build_send<R: RngCore + CryptoRng>(
        &self,
        store: &WalletStore,
        to: &ShieldedAddress,
        asset: &AssetInfo,
        amount: u64,
        rng: &mut R,
    ) -> Result<BuiltShielded> {
        if amount == 0 {
            return Err(WalletError::ZeroAmount);
        }
        let own = self.own_address();
        if *to == own {
            return Err(WalletError::SendToSelf(encode_shielded_address(&self.chain.chain_id, to)));
        }
        let notes = select_notes(store, self.chain, asset, amount)?;
        let (anchor, inputs, total) = spend_inputs(store, &notes)?;
        let change = total - amount;
        let plan = Plan {
            anchor,
            inputs,
            outputs: [Payment { to: *to, value: amount }, Payment { to: own, value: change }],
            public_in: 0,
            public_out: 0,
        };
        let (tx, id) = self.prove(asset, plan, |_, _| Ok(None), rng)?;
        let mut record = record("shielded_transfer", &tx, id, &notes);
        record.payments.push(SentPayment {
            to: encode_shielded_address(&self.chain.chain_id, to),
            asset: asset.id.to_string(),
            amount,
            memo: String::new(),
        });
        note_change(&mut record, asset, change);
        Ok(BuiltShielded { tx, id, record })
    }

    /// Moves `amount` of `asset` from this wallet's notes to the confidential address `to` (usually its own),
    /// with change back as a note. The confidential side has no inputs: the value it pays comes from the pool.
    #[allow(clippy::too_many_arguments)]
    pub fn build_unshield<R: RngCore + CryptoRng>(
        &self,
        store: &WalletStore,
        to: &Address,
        asset: &AssetInfo,
        amount: u64,
        memo: &str,
        rng: &mut R,
    ) -> Result<BuiltShielded> {
        if amount == 0 {
            return Err(WalletError::ZeroAmount);
        }
        let notes = select_notes(store, self.chain, asset, amount)?;
        let (anchor, inputs, total) = spend_inputs(store, &notes)?;
        let change = total - amount;
        let own = self.own_address();
        let plan = Plan {
            anchor,
            inputs,
            outputs: [Payment { to: own, value: change }, Payment { to: own, value: 0 }],
            public_in: 0,
            public_out: amount,
        };
        let crossing = |binding, rng: &mut R| {
            let mut b = self.builder();
            b.from_shielded(asset.id, amount, binding).pay(*to, asset.id, amount, memo);
            Ok(Some(b.build(rng)?))
        };
        let (tx, id) = self.prove(asset, plan, crossing, rng)?;
        let mut record = record("unshield", &tx, id, &notes);
        record.public.push(SentPublic { kind: "unshield".into(), asset: asset.id.to_string(), amount });
        record.payments.push(SentPayment {
            to: encode_address(&self.chain.chain_id, to),
            asset: asset.id.to_string(),
            amount,
            memo: memo.into(),
        });
        note_change(&mut record, asset, change);
        Ok(BuiltShielded { tx, id, record })
    }
}

fn record(kind: &str, tx: &ShieldedTx, id: TxId, spent: &[&OwnedNote]) -> SentRecord {
    SentRecord {
        tx_id: id.to_string(),
        kind: kind.into(),
        status: SentStatus::Pending,
        reason: None,
        height: None,
        created_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
        inputs: Vec::new(),
        payments: Vec::new(),
        change: Vec::new(),
        public: Vec::new(),
        hex: hex::encode(tx.to_bytes()),
        shielded: Some(ShieldedSent {
            crossing_id: tx.crossing.as_ref().map(|c| c.id().to_string()),
            nullifiers: spent.iter().map(|n| n.nullifier.clone()).collect(),
            notes_in: Vec::new(),
        }),
    }
}

fn note_change(record: &mut SentRecord, asset: &AssetInfo, change: u64) {
    if let (Some(s), true) = (record.shielded.as_mut(), change > 0) {
        s.notes_in.push((asset.id.to_string(), change));
    }
}

/// Chooses at most two spendable notes of `asset` worth at least `amount`: the largest alone if it suffices,
/// else the two largest.
pub fn select_notes<'a>(
    store: &'a WalletStore,
    chain: &ChainInfo,
    asset: &AssetInfo,
    amount: u64,
) -> Result<Vec<&'a OwnedNote>> {
    let asset_hex = asset.id.to_string();
    let mut candidates: Vec<&OwnedNote> =
        store.spendable_notes().into_iter().filter(|n| n.asset == asset_hex).collect();
    candidates.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.position.cmp(&b.position)));
    // A chain's supply fits in 64 bits, so the notes of one wallet do too; saturate rather than trust a store.
    let sum = |notes: &[&OwnedNote]| notes.iter().fold(0u64, |acc, n| acc.saturating_add(n.value));
    let available = sum(&candidates);
    if available < amount {
        return Err(WalletError::InsufficientShielded {
            asset: asset.label.clone(),
            available: chain.format(&asset.id, available),
            needed: chain.format(&asset.id, amount),
        });
    }
    let largest = &candidates[..candidates.len().min(2)];
    match largest {
        [one, ..] if one.value >= amount => Ok(vec![*one]),
        two if sum(two) >= amount => Ok(two.to_vec()),
        two => Err(WalletError::TooManyNotes {
            asset: asset.label.clone(),
            two_largest: chain.format(&asset.id, sum(two)),
            needed: chain.format(&asset.id, amount),
            notes: candidates.len(),
        }),
    }
}

/// The circuit inputs spending `notes` (padded with a dummy), the anchor their witnesses lead to — the store's
/// tree root — and their total value.
fn spend_inputs(store: &WalletStore, notes: &[&OwnedNote]) -> Result<(Anchor, [SpendInput; 2], u64)> {
    let anchor = stored_frontier(&store.shielded)?.root();
    let mut inputs = [SpendInput::Dummy, SpendInput::Dummy];
    let mut total = 0u64;
    for (slot, owned) in inputs.iter_mut().zip(notes) {
        let (note, witness) = stored_note(owned)?;
        if witness.root() != anchor {
            return Err(WalletError::StaleAnchor(field_hex(anchor.to_bytes())));
        }
        total =
            total.checked_add(note.value).ok_or(WalletError::Shielded(ctchain_circuits::CircuitError::Unbalanced))?;
        *slot = SpendInput::Note { note, path: Box::new(witness.path().clone()) };
    }
    Ok((anchor, inputs, total))
}

/// Records a built shielded transaction as pending (its notes and confidential inputs reserved, saved before
/// anything is sent), submits it with `shielded_submit`, and marks it rejected with the node's reason if
/// refused.
pub async fn submit_shielded(
    source: &impl ShieldedSource,
    store: &mut WalletStore,
    save: &mut dyn FnMut(&WalletStore) -> Result<()>,
    built: &BuiltShielded,
) -> Result<String> {
    let hex = built.hex();
    submit_recorded(store, save, &built.record, source.shielded_submit(&hex)).await
}

/// The node's newest note-tree root, the anchor a shield uses; refuses a chain without a shielded pool.
pub async fn newest_anchor(source: &impl ShieldedSource) -> Result<Anchor> {
    let status = source.shielded_status().await?;
    if !status.enabled {
        return Err(WalletError::NoShieldedPool);
    }
    parse_anchor(&status.root)
}

/// Checks that the store's tree root is one of the node's valid anchors (so a send built on it will be
/// accepted), and returns it.
pub async fn check_wallet_anchor(source: &impl ShieldedSource, store: &WalletStore) -> Result<Anchor> {
    let root = stored_frontier(&store.shielded)?.root();
    let status = source.shielded_status().await?;
    if !status.enabled {
        return Err(WalletError::NoShieldedPool);
    }
    let anchors = status.anchors.iter().map(|a| parse_anchor(a)).collect::<Result<Vec<_>>>()?;
    if !anchors.contains(&root) {
        return Err(WalletError::StaleAnchor(field_hex(root.to_bytes())));
    }
    Ok(root)
}
