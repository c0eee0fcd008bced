//! Shared fixtures: keys from a seeded generator (TEST ONLY: production keys come from `ctchain-params setup`,
//! which uses OS randomness), and a small chain state with notes for Alice.

#![allow(dead_code)]

use std::sync::OnceLock;

use ctchain_circuits::{
    setup, AssetTag, AuditSecretKey, Frontier, Note, Payment, SpendInput, SpendingKey, TransferProvingKey,
    TransferRequest, TransferVerifyingKey, Witness,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// TEST ONLY: a deterministic generator, so failures replay.
pub fn test_rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// TEST ONLY: keys generated once per test binary from a fixed seed.
pub fn keys() -> &'static (TransferProvingKey, TransferVerifyingKey) {
    static KEYS: OnceLock<(TransferProvingKey, TransferVerifyingKey)> = OnceLock::new();
    KEYS.get_or_init(|| setup(&mut test_rng(0x0005_e70b)).expect("setup"))
}

/// A chain's shielded state as a ledger and a wallet would keep it, in miniature.
pub struct World {
    pub rng: ChaCha20Rng,
    pub tree: Frontier,
    pub alice: SpendingKey,
    pub bob: SpendingKey,
    pub auditor: AuditSecretKey,
    pub asset: AssetTag,
    /// Alice's unspent notes with their witnesses.
    pub alice_notes: Vec<(Note, Witness)>,
    /// Bob's, likewise.
    pub bob_notes: Vec<(Note, Witness)>,
}

impl World {
    /// Alice holds notes of 7 and 5 among a few notes of others.
    pub fn new(seed: u64) -> Self {
        let mut rng = test_rng(seed);
        let alice = SpendingKey::random(&mut rng);
        let bob = SpendingKey::random(&mut rng);
        let carol = SpendingKey::random(&mut rng);
        let auditor = AuditSecretKey::random(&mut rng);
        let asset = AssetTag::from_asset_id(&[0xCC; 32]);
        let mut w = World {
            rng,
            tree: Frontier::new(),
            alice,
            bob,
            auditor,
            asset,
            alice_notes: Vec::new(),
            bob_notes: Vec::new(),
        };
        for (value, to_alice) in [(3u64, false), (7, true), (1, false), (5, true), (9, false)] {
            let owner = if to_alice { w.alice.owner() } else { carol.owner() };
            let note = Note::new(asset, value, owner, &mut w.rng);
            w.append(note);
        }
        w
    }

    /// Appends a note's commitment, updating every tracked witness, and tracks it if Alice or Bob owns it.
    pub fn append(&mut self, note: Note) {
        let appended = self.tree.append(note.commitment()).expect("tree has room");
        for (_, wit) in self.alice_notes.iter_mut().chain(self.bob_notes.iter_mut()) {
            wit.update(&appended).expect("in order");
        }
        if note.owner == self.alice.owner() {
            self.alice_notes.push((note, Witness::new(&appended)));
        } else if note.owner == self.bob.owner() {
            self.bob_notes.push((note, Witness::new(&appended)));
        }
    }

    /// Alice pays Bob `amount` out of her two notes (7 + 5), keeping the change.
    pub fn alice_pays_bob(&self, amount: u64) -> TransferRequest<'_> {
        let total: u64 = self.alice_notes.iter().map(|(n, _)| n.value).sum();
        TransferRequest {
            spending_key: &self.alice,
            asset: self.asset,
            anchor: self.tree.root(),
            inputs: [
                SpendInput::Note { note: self.alice_notes[0].0, path: Box::new(self.alice_notes[0].1.path().clone()) },
                SpendInput::Note { note: self.alice_notes[1].0, path: Box::new(self.alice_notes[1].1.path().clone()) },
            ],
            outputs: [
                Payment { to: self.bob.address(), value: amount },
                Payment { to: self.alice.address(), value: total - amount },
            ],
            public_in: 0,
            public_out: 0,
            audit_key: self.auditor.public_key(),
        }
    }
}

/// A transaction id as the ledger would compute it (here: any 32 bytes that depend on the statement).
pub fn tx_id_of(statement: &ctchain_circuits::TransferStatement, salt: u8) -> [u8; 32] {
    use ctchain_codec::{Encode, Sm3Hasher};
    let mut h = Sm3Hasher::new("ctchain/test/shielded-tx");
    h.update(statement.to_bytes()).update([salt]);
    *h.finish().as_bytes()
}
