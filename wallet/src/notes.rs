//! Finding this wallet's notes in the shielded pool, and keeping what spending them needs.
//!
//! A note is spent by proving that its commitment is a leaf of the tree at a recent root, so the wallet follows
//! the **whole** note tree, not only its own leaves: it keeps the tree's [`Frontier`] (the rightmost path, enough
//! to append and to know the root) and, for each of its notes, a [`Witness`] that every later leaf updates. Sync
//! pages through the tree from the next position; for each leaf it appends the commitment, updates every
//! witness, and trial-decrypts the leaf's ciphertext with the incoming viewing key (a ciphertext that decrypts
//! but whose note does not open the commitment is reported, never counted).
//!
//! Nothing the node says is trusted where it can be checked: leaves must come in order with no gap, and once
//! the wallet holds as many leaves as the node says the tree has, its own root must equal the node's root — a
//! node that hid, reordered or invented a leaf is caught there. The new tree state replaces the stored one only
//! after that check, so local state never holds a tree the chain does not have.
//!
//! A note's nullifier (computed with the nullifier key) tells when it is spent: sync asks the node for the
//! nullifier of every unspent note. A view-only wallet holding a [`ShieldedViewingKey`] does all of this; only
//! spending needs the spending key.

use ctchain_circuits::{Anchor, AppendedLeaf, Frontier, Note, NoteCiphertext, NoteCommitment, Witness};
pub use ctchain_circuits::{ShieldedViewingKey, SHIELDED_VIEWING_KEY_BYTES};
use ctchain_codec::{Decode, Encode};
use ctchain_ledger::NoteRecord;
use ctchain_rpc::{NoteJson, TxStatus};

use crate::chain::ChainInfo;
use crate::error::{Result, WalletError};
use crate::scan::mark_committed;
use crate::store::{BadNote, OwnedNote, SentStatus, ShieldedState, WalletStore};
use crate::sync::{set_status, ShieldedSource};

/// Notes asked for per `shielded_notes` call (the node's maximum).
pub const NOTES_PER_PAGE: u32 = 1000;

/// A leaf of the note tree as the chain holds it, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainNote {
    /// Leaf position.
    pub position: u64,
    /// The note commitment (the leaf).
    pub commitment: NoteCommitment,
    /// The note encrypted to its receiver.
    pub ciphertext: NoteCiphertext,
    /// The shielded transaction that created it (hex).
    pub tx_id: String,
    /// Its block height.
    pub height: u64,
}

impl ChainNote {
    /// Decodes a `shielded_notes` entry; every encoding must be canonical.
    pub fn from_rpc(n: &NoteJson) -> Result<Self> {
        let bad = |what: &str| WalletError::BadNodeData(format!("note at position {}: {what}", n.position));
        let commitment = NoteCommitment::from_bytes(&decode_hex32(&n.commitment).ok_or_else(|| bad("commitment hex"))?)
            .map_err(|e| bad(&e.to_string()))?;
        let bytes = hex::decode(&n.ciphertext).map_err(|_| bad("ciphertext hex"))?;
        let ciphertext = NoteCiphertext::from_bytes(&bytes).map_err(|e| bad(&e.to_string()))?;
        decode_hex32(&n.tx_id).ok_or_else(|| bad("transaction id hex"))?;
        Ok(Self { position: n.position, commitment, ciphertext, tx_id: n.tx_id.to_ascii_lowercase(), height: n.height })
    }

    /// A leaf from the ledger's own record (for in-process chains).
    pub fn from_record(r: &NoteRecord) -> Self {
        Self {
            position: r.position,
            commitment: r.commitment,
            ciphertext: r.ciphertext.clone(),
            tx_id: r.tx_id.to_string(),
            height: r.height,
        }
    }
}

fn decode_hex32(text: &str) -> Option<[u8; 32]> {
    hex::decode(text.trim()).ok()?.try_into().ok()
}

/// Parses a tree root (hex of its canonical bytes).
pub fn parse_anchor(text: &str) -> Result<Anchor> {
    let bytes = decode_hex32(text).ok_or_else(|| WalletError::BadNodeData(format!("tree root {text:?} is not hex")))?;
    Anchor::from_bytes(&bytes).map_err(|e| WalletError::BadNodeData(format!("tree root: {e}")))
}

/// The hex of a field-element value's canonical bytes (commitments, nullifiers, roots).
pub fn field_hex(bytes: [u8; 32]) -> String {
    hex::encode(bytes)
}

fn damaged(reason: String) -> WalletError {
    WalletError::Store { path: "(wallet store)".into(), reason: format!("{reason}; delete the store and sync again") }
}

/// The tree's frontier as stored (the empty tree before the first shielded sync).
pub fn stored_frontier(state: &ShieldedState) -> Result<Frontier> {
    if state.frontier.is_empty() {
        return Ok(Frontier::new());
    }
    let bytes = hex::decode(&state.frontier).map_err(|_| damaged("shielded frontier hex".into()))?;
    let frontier = Frontier::from_bytes(&bytes).map_err(|e| damaged(format!("shielded frontier: {e}")))?;
    if frontier.size() != state.tree_size {
        return Err(damaged(format!("frontier of {} leaves, store says {}", frontier.size(), state.tree_size)));
    }
    Ok(frontier)
}

/// A stored note's opening and witness, decoded and checked against each other.
pub fn stored_note(n: &OwnedNote) -> Result<(Note, Witness)> {
    let note_bytes = hex::decode(&n.note).map_err(|_| damaged(format!("note {} hex", n.position)))?;
    let note = Note::from_bytes(&note_bytes).map_err(|e| damaged(format!("note {}: {e}", n.position)))?;
    let witness = match &n.witness {
        Some(w) => hex::decode(w).ok().and_then(|b| Witness::from_bytes(&b).ok()),
        None => None,
    }
    .ok_or_else(|| damaged(format!("note {} has no usable witness", n.position)))?;
    if witness.leaf() != note.commitment() || witness.path().position != n.position {
        return Err(damaged(format!("note {}: witness of another leaf", n.position)));
    }
    Ok((note, witness))
}

/// What following a run of leaves found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackReport {
    /// New notes of this wallet.
    pub found: usize,
    /// Notes addressed to this wallet that cannot be counted.
    pub bad: usize,
}

/// The tree and this wallet's witnesses while a sync appends leaves; [`NoteTracker::finish`] turns them back into
/// stored state once the node's root confirms them.
pub struct NoteTracker {
    frontier: Frontier,
    notes: Vec<OwnedNote>,
    /// Parallel to `notes`: the witness of each unspent note (spent notes are no longer followed).
    witnesses: Vec<Option<Witness>>,
    bad_notes: Vec<BadNote>,
    report: TrackReport,
}

impl NoteTracker {
    /// Decodes the stored tree state.
    pub fn open(state: &ShieldedState) -> Result<Self> {
        let frontier = stored_frontier(state)?;
        let witnesses = state
            .notes
            .iter()
            .map(|n| if n.spent_by.is_some() { Ok(None) } else { stored_note(n).map(|(_, w)| Some(w)) })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            frontier,
            notes: state.notes.clone(),
            witnesses,
            bad_notes: state.bad_notes.clone(),
            report: TrackReport::default(),
        })
    }

    /// Leaves followed so far (the next position).
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root of the leaves followed so far.
    pub fn root(&self) -> Anchor {
        self.frontier.root()
    }

    /// What has been found since [`NoteTracker::open`].
    pub fn report(&self) -> &TrackReport {
        &self.report
    }

    /// Follows `leaves`, which must continue the tree exactly (positions `size()`, `size() + 1`, …).
    pub fn follow(&mut self, viewer: &ShieldedViewingKey, chain: &ChainInfo, leaves: &[ChainNote]) -> Result<()> {
        for leaf in leaves {
            if leaf.position != self.frontier.size() {
                return Err(WalletError::BadNodeData(format!(
                    "note at position {} where position {} comes next",
                    leaf.position,
                    self.frontier.size()
                )));
            }
            let appended = self.frontier.append(leaf.commitment)?;
            for witness in self.witnesses.iter_mut().flatten() {
                witness.update(&appended)?;
            }
            self.receive(viewer, chain, leaf, &appended);
        }
        Ok(())
    }

    fn receive(&mut self, viewer: &ShieldedViewingKey, chain: &ChainInfo, leaf: &ChainNote, appended: &AppendedLeaf) {
        let commitment = field_hex(leaf.commitment.to_bytes());
        let note = match viewer.decrypt(&leaf.commitment, &leaf.ciphertext) {
            Ok(note) => note,
            // Encrypted to this wallet (the authenticated decryption succeeded) but not a note it can spend.
            Err(ctchain_circuits::CircuitError::MalformedPlaintext(reason)) => {
                return self.bad(commitment, reason.into());
            }
            // Someone else's note: the overwhelmingly common case.
            Err(_) => return,
        };
        // Zero-value notes are the padding every transfer's second output may be: nothing to count or spend.
        if note.value == 0 {
            return;
        }
        let Some(asset) = chain.asset_by_tag(&note.asset) else {
            return self.bad(commitment, "a note of an asset this chain does not have".into());
        };
        self.notes.push(OwnedNote {
            position: leaf.position,
            commitment,
            tx_id: leaf.tx_id.clone(),
            height: leaf.height,
            asset: asset.id.to_string(),
            value: note.value,
            note: hex::encode(note.to_bytes()),
            nullifier: field_hex(viewer.nullifier(&note, leaf.position).to_bytes()),
            witness: None,
            spent_by: None,
            spent_height: None,
        });
        self.witnesses.push(Some(Witness::new(appended)));
        self.report.found += 1;
    }

    fn bad(&mut self, commitment: String, reason: String) {
        if !self.bad_notes.iter().any(|b| b.commitment == commitment) {
            self.bad_notes.push(BadNote { commitment, reason });
            self.report.bad += 1;
        }
    }

    /// The new stored state, if the leaves followed lead to `root` (the node's root for a tree of `size()`
    /// leaves, at chain height `height`); a different root means the node sent wrong or incomplete leaves.
    pub fn finish(self, root: &Anchor, height: u64) -> Result<ShieldedState> {
        let ours = self.frontier.root();
        if ours != *root {
            return Err(WalletError::BadNodeData(format!(
                "the node's note tree root {} is not the root {} of the {} notes it sent: it sent wrong or missing \
                 notes",
                field_hex(root.to_bytes()),
                field_hex(ours.to_bytes()),
                self.frontier.size()
            )));
        }
        let mut notes = self.notes;
        for (note, witness) in notes.iter_mut().zip(self.witnesses) {
            if let Some(w) = witness {
                // Every witness that followed every leaf proves membership at the same root as the frontier.
                if w.root() != ours {
                    return Err(damaged(format!(
                        "the witness of note {} does not lead to the tree's root",
                        note.position
                    )));
                }
                note.witness = Some(hex::encode(w.to_bytes()));
            }
        }
        Ok(ShieldedState {
            frontier: hex::encode(self.frontier.to_bytes()),
            tree_size: self.frontier.size(),
            height,
            notes,
            bad_notes: self.bad_notes,
        })
    }
}

/// Records that the note with nullifier `nullifier` was spent by `tx_id` at `height`: its witness is no longer
/// needed; a pending transaction of ours that spends it is that transaction (committed) or lost (rejected).
pub fn mark_note_spent(store: &mut WalletStore, nullifier: &str, tx_id: &str, height: u64) {
    if let Some(n) = store.shielded.notes.iter_mut().find(|n| n.nullifier == nullifier) {
        n.spent_by = Some(tx_id.to_owned());
        n.spent_height = Some(height);
        n.witness = None;
    }
    mark_committed(store, tx_id, height);
    for s in store.sent.iter_mut() {
        let spends = s.shielded.as_ref().is_some_and(|sh| sh.nullifiers.iter().any(|n| n == nullifier));
        if s.status == SentStatus::Pending && !s.is(tx_id) && spends {
            s.status = SentStatus::Rejected;
            s.reason = Some(format!("a note it spends was spent by transaction {tx_id}"));
        }
    }
}

/// What a shielded sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ShieldedSyncReport {
    /// Tree position followed from.
    pub from: u64,
    /// Tree size reached (and confirmed by the node's root).
    pub to: u64,
    /// New notes of this wallet.
    pub found: usize,
    /// Notes addressed to this wallet that cannot be counted.
    pub bad: usize,
    /// Notes found spent.
    pub spent: usize,
    /// Pending shielded transactions that committed.
    pub committed: usize,
    /// Pending shielded transactions that were rejected.
    pub rejected: usize,
    /// Pending shielded transactions the node had forgotten and that were submitted again.
    pub resubmitted: usize,
}

/// Brings the shielded part of the store up to the chain: the whole note tree (saved once the node's root
/// confirms it), then pending shielded transactions (committed ones are settled only up to the height the tree
/// was confirmed at, so a spend is never recorded before the change it creates), then the spent status of every
/// unspent note. Refuses a chain without a shielded pool.
pub async fn sync_shielded(
    source: &impl ShieldedSource,
    viewer: &ShieldedViewingKey,
    chain: &ChainInfo,
    store: &mut WalletStore,
    save: &mut dyn FnMut(&WalletStore) -> Result<()>,
) -> Result<ShieldedSyncReport> {
    chain.shielded_pool()?;
    let mut report = ShieldedSyncReport { from: store.shielded.tree_size, ..Default::default() };

    // 1. The tree.
    let mut tracker = NoteTracker::open(&store.shielded)?;
    let mut after = store.shielded.height;
    loop {
        let page = source.shielded_notes(tracker.size(), after, NOTES_PER_PAGE).await?;
        let leaves = page.notes.iter().map(ChainNote::from_rpc).collect::<Result<Vec<_>>>()?;
        tracker.follow(viewer, chain, &leaves)?;
        match tracker.size().cmp(&page.tree_size) {
            // No note and no block read further: the source cannot back its own tree size.
            std::cmp::Ordering::Less if leaves.is_empty() && page.height <= after => {
                return Err(WalletError::BadNodeData(format!(
                    "the node says the note tree has {} leaves but sends none from position {}",
                    page.tree_size,
                    tracker.size()
                )));
            }
            std::cmp::Ordering::Less => after = after.max(page.height),
            std::cmp::Ordering::Greater => {
                return Err(WalletError::BadNodeData(format!(
                    "the node sent {} notes for a tree it says has {}",
                    tracker.size(),
                    page.tree_size
                )));
            }
            std::cmp::Ordering::Equal => {
                let found = tracker.report().clone();
                store.shielded = tracker.finish(&parse_anchor(&page.root)?, page.height)?;
                report.found = found.found;
                report.bad = found.bad;
                save(store)?;
                break;
            }
        }
    }
    report.to = store.shielded.tree_size;
    let confirmed = store.shielded.height;

    // 2. Pending shielded transactions.
    let pending: Vec<(String, String)> = store
        .sent
        .iter()
        .filter(|s| s.status == SentStatus::Pending && s.shielded.is_some())
        .map(|s| (s.tx_id.clone(), s.hex.clone()))
        .collect();
    for (id, hex) in pending {
        match source.tx(&id).await? {
            TxStatus::Committed { height, .. } if height <= confirmed => {
                mark_committed(store, &id, height);
                report.committed += 1;
            }
            TxStatus::Committed { .. } | TxStatus::Pending => {}
            TxStatus::Rejected { reason } => {
                set_status(store, &id, SentStatus::Rejected, None, Some(reason));
                report.rejected += 1;
            }
            TxStatus::Unknown => match source.shielded_submit(&hex).await {
                Ok(_) => report.resubmitted += 1,
                Err(WalletError::Refused { reason, .. }) => {
                    set_status(store, &id, SentStatus::Rejected, None, Some(reason));
                    report.rejected += 1;
                }
                Err(e) => return Err(e),
            },
        }
    }

    // 3. Spends of what is still unspent.
    let unspent: Vec<String> =
        store.shielded.notes.iter().filter(|n| n.spent_by.is_none()).map(|n| n.nullifier.clone()).collect();
    for nullifier in unspent {
        if let Some(spent) = source.shielded_nullifier(&nullifier).await? {
            if spent.height <= confirmed {
                let before = count(store, SentStatus::Committed);
                mark_note_spent(store, &nullifier, &spent.tx_id.to_ascii_lowercase(), spent.height);
                report.committed += count(store, SentStatus::Committed) - before;
                report.spent += 1;
            }
        }
    }
    save(store)?;
    Ok(report)
}

fn count(store: &WalletStore, status: SentStatus) -> usize {
    store.sent.iter().filter(|s| s.status == status).count()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ctchain_circuits::{encrypt_note, AssetTag, ShieldedAddress, SpendingKey};
    use ctchain_crypto::{AssetId, SigningKey};
    use ctchain_ledger::AssetInfo;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// A chain with one asset, CNY, and a shielded pool (whose parameters these tests never use).
    pub(crate) fn chain(rng: &mut ChaCha20Rng) -> ChainInfo {
        let cny = AssetId::from_label("CNY");
        ChainInfo {
            chain_id: "ctchain-notes-test".into(),
            genesis_hash: "00".repeat(32),
            audit_keys: Vec::new(),
            assets: vec![AssetInfo {
                id: cny,
                label: "CNY".into(),
                decimals: 2,
                issuer: SigningKey::random(rng).public(),
            }],
            genesis_time_ms: 0,
            shielded: Some(ctchain_ledger::ShieldedConfig {
                verifying_key_hash: ctchain_codec::Hash32([0; 32]),
                audit_key: ctchain_circuits::AuditSecretKey::random(rng).public_key(),
                recent_roots: 8,
            }),
        }
    }

    fn cny() -> AssetTag {
        AssetTag::from_asset_id(&AssetId::from_label("CNY").0)
    }

    /// A leaf holding `note` encrypted to `to`, at `position`.
    fn leaf(note: &Note, to: &ShieldedAddress, position: u64, rng: &mut ChaCha20Rng) -> ChainNote {
        ChainNote {
            position,
            commitment: note.commitment(),
            ciphertext: encrypt_note(note, to, rng),
            tx_id: format!("{position:064x}"),
            height: position + 1,
        }
    }

    /// Leaves for `viewer` and for someone else, in the order given; returns them with what the honest root is.
    fn leaves(
        viewer: &ShieldedViewingKey,
        plan: &[(bool, AssetTag, u64)],
        from: u64,
        rng: &mut ChaCha20Rng,
    ) -> Vec<ChainNote> {
        let other = ShieldedViewingKey::from_spending_key(&SpendingKey::random(rng)).address();
        plan.iter()
            .enumerate()
            .map(|(i, (ours, asset, value))| {
                let to = if *ours { viewer.address() } else { other };
                let note = Note::new(*asset, *value, to.owner, rng);
                leaf(&note, &to, from + i as u64, rng)
            })
            .collect()
    }

    fn root_of(all: &[ChainNote]) -> Anchor {
        let mut f = Frontier::new();
        for l in all {
            f.append(l.commitment).unwrap();
        }
        f.root()
    }

    #[test]
    fn a_witness_kept_by_sync_proves_membership_at_the_trees_root_and_notes_not_ours_are_ignored() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let chain = chain(&mut rng);
        let viewer = ShieldedViewingKey::from_spending_key(&SpendingKey::from_seed(&[1; 32]));
        let usd = AssetTag::from_asset_id(&AssetId::from_label("USD").0);
        // Someone else's, ours (500), someone else's, our zero-value padding, ours of an asset the chain lacks.
        let mut all = leaves(&viewer, &[(false, cny(), 7), (true, cny(), 500), (false, cny(), 9)], 0, &mut rng);
        all.extend(leaves(&viewer, &[(true, cny(), 0), (true, usd, 3)], 3, &mut rng));
        // Encrypted to this wallet but committing to another owner: it decrypts and does not open.
        let stranger = SpendingKey::random(&mut rng).owner();
        all.push(leaf(&Note::new(cny(), 40, stranger, &mut rng), &viewer.address(), 5, &mut rng));

        let mut tracker = NoteTracker::open(&ShieldedState::default()).unwrap();
        tracker.follow(&viewer, &chain, &all[..2]).unwrap();
        tracker.follow(&viewer, &chain, &all[2..]).unwrap();
        assert_eq!(tracker.report(), &TrackReport { found: 1, bad: 2 });
        let root = root_of(&all);
        let state = tracker.finish(&root, 6).unwrap();
        assert_eq!((state.tree_size, state.height, state.notes.len(), state.bad_notes.len()), (6, 6, 1, 2));
        let owned = &state.notes[0];
        assert_eq!(
            (owned.position, owned.value, owned.asset.as_str()),
            (1, 500, chain.assets[0].id.to_string().as_str())
        );
        let (note, witness) = stored_note(owned).unwrap();
        assert_eq!(witness.root(), root, "the stored witness proves membership at the tree's root");
        assert_eq!(witness.path().root(&note.commitment()), root);
        assert_eq!(owned.nullifier, field_hex(viewer.nullifier(&note, 1).to_bytes()));

        // Reopened from the stored state, more leaves keep the witness at the new root.
        let more = leaves(&viewer, &[(false, cny(), 1), (true, cny(), 25), (false, cny(), 2)], 6, &mut rng);
        let mut tracker = NoteTracker::open(&state).unwrap();
        tracker.follow(&viewer, &chain, &more).unwrap();
        let root = root_of(&[all, more].concat());
        let state = tracker.finish(&root, 9).unwrap();
        assert_eq!(state.notes.iter().map(|n| (n.position, n.value)).collect::<Vec<_>>(), vec![(1, 500), (7, 25)]);
        for n in &state.notes {
            assert_eq!(stored_note(n).unwrap().1.root(), root);
        }
        assert_eq!(stored_frontier(&state).unwrap().root(), root);
    }

    #[test]
    fn a_wrong_root_a_gap_or_a_reordering_from_the_node_is_detected() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let chain = chain(&mut rng);
        let viewer = ShieldedViewingKey::from_spending_key(&SpendingKey::from_seed(&[2; 32]));
        let all = leaves(&viewer, &[(true, cny(), 10), (false, cny(), 20), (true, cny(), 30)], 0, &mut rng);

        // Every leaf, but the node's root is another tree's (for instance one with a leaf it did not send).
        let mut tracker = NoteTracker::open(&ShieldedState::default()).unwrap();
        tracker.follow(&viewer, &chain, &all).unwrap();
        let other_root = root_of(&all[..2]);
        assert!(matches!(tracker.finish(&other_root, 3), Err(WalletError::BadNodeData(_))));

        // A leaf withheld: the next one arrives at the wrong position.
        let mut tracker = NoteTracker::open(&ShieldedState::default()).unwrap();
        assert!(matches!(
            tracker.follow(&viewer, &chain, &[all[0].clone(), all[2].clone()]),
            Err(WalletError::BadNodeData(_))
        ));

        // Leaves swapped but relabelled with consecutive positions: the root gives it away.
        let mut swapped = vec![all[1].clone(), all[0].clone(), all[2].clone()];
        for (i, l) in swapped.iter_mut().enumerate() {
            l.position = i as u64;
        }
        let mut tracker = NoteTracker::open(&ShieldedState::default()).unwrap();
        tracker.follow(&viewer, &chain, &swapped).unwrap();
        assert!(matches!(tracker.finish(&root_of(&all), 3), Err(WalletError::BadNodeData(_))));
    }

    #[test]
    fn a_spent_note_stops_being_followed_and_frees_nothing_twice() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let chain = chain(&mut rng);
        let viewer = ShieldedViewingKey::from_spending_key(&SpendingKey::from_seed(&[3; 32]));
        let all = leaves(&viewer, &[(true, cny(), 10), (true, cny(), 30)], 0, &mut rng);
        let mut tracker = NoteTracker::open(&ShieldedState::default()).unwrap();
        tracker.follow(&viewer, &chain, &all).unwrap();
        let mut store = WalletStore::new(&chain.chain_id, &chain.genesis_hash, "addr");
        store.shielded = tracker.finish(&root_of(&all), 2).unwrap();
        let nf = store.shielded.notes[0].nullifier.clone();
        mark_note_spent(&mut store, &nf, &"ab".repeat(32), 3);
        assert_eq!(store.shielded.notes[0].spent_by.as_deref(), Some("ab".repeat(32).as_str()));
        assert!(store.shielded.notes[0].witness.is_none());
        assert_eq!(store.spendable_notes().len(), 1);
        // The spent note's witness is no longer needed; the other still follows new leaves.
        let more = leaves(&viewer, &[(false, cny(), 5)], 2, &mut rng);
        let mut tracker = NoteTracker::open(&store.shielded).unwrap();
        tracker.follow(&viewer, &chain, &more).unwrap();
        let root = root_of(&[all, more].concat());
        let state = tracker.finish(&root, 3).unwrap();
        assert_eq!(stored_note(&state.notes[1]).unwrap().1.root(), root);
    }
}
