//! End-to-end tests of the library: honest flows, and each invalid transaction failing for its reason.

mod fixtures;
mod invalid;
mod tamper;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::*;

pub(crate) const CHAIN: &str = "ctchain-test";

/// The cast: a regulator, an issuer, and three wallets.
pub(crate) struct World {
    pub rng: ChaCha20Rng,
    pub auditor: AuditSecretKey,
    pub second_auditor: AuditSecretKey,
    pub issuer: SigningKey,
    pub alice: WalletKeys,
    pub bob: WalletKeys,
    pub eve: WalletKeys,
    pub cny: AssetId,
    pub usd: AssetId,
}

impl World {
    pub fn new(seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        Self {
            auditor: AuditSecretKey::random(&mut rng),
            second_auditor: AuditSecretKey::random(&mut rng),
            issuer: SigningKey::random(&mut rng),
            alice: WalletKeys::random(&mut rng),
            bob: WalletKeys::random(&mut rng),
            eve: WalletKeys::random(&mut rng),
            cny: AssetId::from_label("CNY"),
            usd: AssetId::from_label("USD"),
            rng,
        }
    }

    pub fn audit_keys(&self) -> Vec<AuditPublicKey> {
        vec![self.auditor.public()]
    }

    pub fn builder(&self) -> TransactionBuilder {
        TransactionBuilder::new(CHAIN, self.audit_keys())
    }

    pub fn verifier(&self) -> Verifier {
        Verifier::new(CHAIN, self.audit_keys())
    }

    /// Issues `amount` of `asset` to `to` and returns the verified issuance.
    pub fn issue_to(&mut self, to: &Address, asset: AssetId, amount: u64) -> VerifiedTransaction {
        let mut b = self.builder();
        b.issue(&self.issuer.clone(), asset, amount).pay(*to, asset, amount, "issuance");
        let tx = b.build(&mut self.rng).expect("issuance builds");
        self.verifier().verify(tx).expect("issuance verifies")
    }

    /// Everything `wallet` owns among the outputs of `tx`.
    pub fn owned_by(&self, wallet: &WalletKeys, tx: &VerifiedTransaction) -> Vec<OwnedOutput> {
        received(wallet, tx).iter().map(|r| wallet.owned(r)).collect()
    }
}

pub(crate) fn received(wallet: &WalletKeys, tx: &VerifiedTransaction) -> Vec<ReceivedOutput> {
    let id = tx.id();
    tx.transaction()
        .body
        .outputs
        .iter()
        .enumerate()
        .filter_map(|(i, o)| wallet.viewing_keys().receive(OutputId::new(&id, i as u32), o))
        .map(|r| r.expect("memo is valid"))
        .collect()
}

#[test]
fn issue_then_transfer_each_party_sees_exactly_its_share() {
    let mut w = World::new(1);
    let alice_addr = w.alice.address();
    let issuance = w.issue_to(&alice_addr, w.cny, 1_000);
    let alice_funds = w.owned_by(&w.alice, &issuance);
    assert_eq!(alice_funds.len(), 1);
    assert_eq!(alice_funds[0].opening.amount, 1_000);

    let mut b = w.builder();
    b.spend(alice_funds[0].clone()).pay(w.bob.address(), w.cny, 300, "invoice 7").fee(w.cny, 2).sender(alice_addr);
    let transfer = w.verifier().verify(b.build(&mut w.rng).unwrap()).expect("transfer verifies");
    let body = &transfer.transaction().body;
    assert_eq!(body.outputs.len(), 2, "payment and change");

    // Bob sees his 300 and the note; Alice sees her change; Eve sees nothing.
    let bob_sees = received(&w.bob, &transfer);
    assert_eq!(bob_sees.len(), 1);
    assert_eq!(bob_sees[0].memo.opening.amount, 300);
    assert_eq!(bob_sees[0].memo.text, "invoice 7");
    assert_eq!(bob_sees[0].memo.sender, Some(alice_addr));
    let alice_sees = received(&w.alice, &transfer);
    assert_eq!(alice_sees.len(), 1);
    assert_eq!(alice_sees[0].memo.opening.amount, 698);
    assert!(received(&w.eve, &transfer).is_empty());

    // The regulator decrypts every amount exactly, and the memos agree with the proven amounts.
    let table = LimbTable::new(w.cny);
    let mut amounts: Vec<u64> = body
        .outputs
        .iter()
        .map(|o| {
            let audited = w.auditor.audit_output(0, o, &table).unwrap();
            assert!(audited.memo_agrees(o));
            assert_eq!(audited.memo.as_ref().unwrap().sender, Some(alice_addr));
            audited.amount
        })
        .collect();
    amounts.sort();
    assert_eq!(amounts, vec![300, 698]);
    // A key that is not the chain's learns nothing.
    let outsider = AuditSecretKey::random(&mut w.rng);
    assert!(outsider.audit_output(0, &body.outputs[0], &table).is_err());

    // Bob can spend what he received.
    let bob_funds = w.owned_by(&w.bob, &transfer);
    let mut b = w.builder();
    b.spend(bob_funds[0].clone()).pay(w.eve.address(), w.cny, 300, "");
    w.verifier().verify(b.build(&mut w.rng).unwrap()).expect("bob's spend verifies");
}

#[test]
fn one_balance_signature_covers_several_assets() {
    let mut w = World::new(2);
    let alice = w.alice.address();
    let cny = w.issue_to(&alice, w.cny, 500);
    let usd = w.issue_to(&alice, w.usd, 70);
    let mut b = w.builder();
    for o in w.owned_by(&w.alice, &cny).into_iter().chain(w.owned_by(&w.alice, &usd)) {
        b.spend(o);
    }
    b.pay(w.bob.address(), w.cny, 120, "").pay(w.bob.address(), w.usd, 30, "").sender(alice);
    let tx = w.verifier().verify(b.build(&mut w.rng).unwrap()).expect("two-asset transfer verifies");
    assert_eq!(tx.transaction().witness.range_proofs.len(), 2, "one range proof per asset");
    let mut got: Vec<(AssetId, u64)> =
        received(&w.bob, &tx).iter().map(|r| (r.memo.opening.asset, r.memo.opening.amount)).collect();
    got.sort();
    let mut want = vec![(w.cny, 120), (w.usd, 30)];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn value_cannot_move_from_one_asset_to_another() {
    let mut w = World::new(3);
    let alice = w.alice.address();
    let cny = w.issue_to(&alice, w.cny, 100);
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &cny)[0].clone()).pay(w.bob.address(), w.cny, 100, "");
    let mut plan = b.plan(&mut w.rng).unwrap();
    // Relabel the output as USD: amounts and blindings still cancel, but the value bases do not.
    plan.outputs[0].asset = w.usd;
    let tx = plan.build(&mut w.rng).unwrap();
    assert_eq!(w.verifier().verify(tx).unwrap_err(), VerifyError::Balance);
}

#[test]
fn burn_destroys_a_public_amount_and_keeps_the_rest() {
    let mut w = World::new(4);
    let alice = w.alice.address();
    let cny = w.issue_to(&alice, w.cny, 1_000);
    let mut b = w.builder();
    b.spend(w.owned_by(&w.alice, &cny)[0].clone()).burn(w.cny, 400).sender(alice);
    let tx = w.verifier().verify(b.build(&mut w.rng).unwrap()).unwrap();
    let change = received(&w.alice, &tx);
    assert_eq!(change.len(), 1);
    assert_eq!(change[0].memo.opening.amount, 600);
    assert_eq!(tx.transaction().body.public, vec![PublicAmount { asset: w.cny, kind: PublicKind::Burn, amount: 400 }]);

    // Burning more than the inputs hold cannot be built, and a forged one does not verify.
    let mut b = w.builder();
    b.spend(change[0].clone().pipe(|r| w.alice.owned(&r))).burn(w.cny, 601);
    assert!(matches!(b.build(&mut w.rng), Err(BuildError::InsufficientFunds { available: 600, needed: 601, .. })));
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

#[test]
fn every_audit_key_of_the_chain_decrypts_every_output() {
    let mut w = World::new(5);
    let keys = vec![w.auditor.public(), w.second_auditor.public()];
    let mut b = TransactionBuilder::new(CHAIN, keys.clone());
    b.issue(&w.issuer.clone(), w.usd, u64::MAX).pay(w.alice.address(), w.usd, u64::MAX, "max");
    let tx = Verifier::new(CHAIN, keys).verify(b.build(&mut w.rng).unwrap()).unwrap();
    let table = LimbTable::new(w.usd);
    let output = &tx.transaction().body.outputs[0];
    for (index, key) in [&w.auditor, &w.second_auditor].into_iter().enumerate() {
        let audited = key.audit_output(index, output, &table).unwrap();
        assert_eq!(audited.amount, u64::MAX);
        assert!(audited.memo_agrees(output));
    }
    // Each key decrypts only its own copy.
    assert!(w.second_auditor.audit_output(0, output, &table).is_err());
}

#[test]
fn batch_verification_returns_each_result_in_order() {
    let mut w = World::new(6);
    let alice = w.alice.address();
    let mut txs = Vec::new();
    for amount in [1u64, 2, 3, 4] {
        let mut b = w.builder();
        b.issue(&w.issuer.clone(), w.cny, amount).pay(alice, w.cny, amount, "");
        txs.push(b.build(&mut w.rng).unwrap());
    }
    txs[2].body.chain_id = "other-chain".into();
    let results = w.verifier().verify_batch(txs.clone());
    assert!(results[0].is_ok() && results[1].is_ok() && results[3].is_ok());
    assert!(matches!(results[2], Err(VerifyError::WrongChainId { .. })));
    assert_eq!(results[1].as_ref().unwrap().id(), txs[1].id());
}

#[test]
fn encoding_round_trips_and_the_id_ignores_the_witness() {
    let mut w = World::new(7);
    let alice = w.alice.address();
    let tx = w.issue_to(&alice, w.cny, 42).into_inner();
    let bytes = ctchain_codec::Encode::to_bytes(&tx);
    let decoded = <Transaction as ctchain_codec::Decode>::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, tx);
    // A second, independently proven transaction for the same body has the same id.
    let mut other = tx.clone();
    other.witness.owner_signatures.clear();
    assert_eq!(other.id(), tx.id());
}
