//! The wallet against an in-process ledger: a [`ChainSource`] (and [`ShieldedSource`]) that answers from a real
//! `Ledger` (the same checks a node runs: proofs on submission, ledger rules on commit), so sync, send, issue,
//! burn, view-only wallets, restores, payment proofs and the shielded pool (shield, shielded send, unshield,
//! notes found, reserved, restored and resubmitted) are tested end to end without a node or a network.

#[path = "../../crates/ledger/tests/common/mod.rs"]
mod common;

use std::cell::{Cell, RefCell};
use std::time::Duration;

use common::*;
use ctchain_circuits::{params, AuditSecretKey, Nullifier, SpendingKey};
use ctchain_codec::{Decode, Encode, Hash32};
use ctchain_crypto::{OutputId, Transaction, TxId, ViewingKeys, WalletKeys};
use ctchain_keystore::address::encode_address;
use ctchain_ledger::{LedgerTx, ShieldedConfig, ShieldedTx, VerifiedLedgerTx};
use ctchain_rpc::{
    NoteJson, NotesPage, NullifierJson, OutputJson, OutputRecordJson, OutputsPage, ShieldedStatusJson, TxStatus,
};
use ctchain_wallet::chain::ChainInfo;
use ctchain_wallet::history::shielded_balances;
use ctchain_wallet::history::{balances, history, EntryKind};
use ctchain_wallet::notes::{sync_shielded, ShieldedViewingKey};
use ctchain_wallet::proof::PaymentProof;
use ctchain_wallet::shielded::{check_wallet_anchor, newest_anchor, submit_shielded, Prover, ShieldedSpender};
use ctchain_wallet::spend::{build_burn, build_issue, build_transfer, Built};
use ctchain_wallet::store::{SentStatus, WalletStore};
use ctchain_wallet::sync::{
    chain_info, committed_tx, submit, sync, wait_committed, ChainRules, ChainSource, ShieldedSource,
};
use ctchain_wallet::{Result, WalletError};

/// A ledger with a mempool, answering like the node's RPC.
struct LedgerSource {
    chain: RefCell<TestChain>,
    mempool: RefCell<Vec<Transaction>>,
    /// Pending shielded transactions.
    shielded: RefCell<Vec<ShieldedTx>>,
    /// Forget the mempool (as a restarted node does).
    amnesia: Cell<bool>,
    /// Admit submissions but lose the answer (the connection drops after the node took the transaction).
    lose_answers: Cell<bool>,
    /// Outputs per page, to exercise paging.
    page: u64,
}

fn hash(text: &str) -> Hash32 {
    Hash32(hex::decode(text).unwrap().try_into().unwrap())
}

impl LedgerSource {
    fn new(seed: u64) -> Self {
        Self::from_chain(TestChain::new(seed))
    }

    fn from_chain(chain: TestChain) -> Self {
        Self {
            chain: RefCell::new(chain),
            mempool: RefCell::default(),
            shielded: RefCell::default(),
            amnesia: Cell::new(false),
            lose_answers: Cell::new(false),
            page: 2,
        }
    }

    /// A chain with a shielded pool from its own Groth16 setup, and the parameter directory wallets prove with.
    fn with_shielded_pool(seed: u64) -> (Self, tempfile::TempDir) {
        let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(seed ^ 0x5eed);
        let (proving_key, verifying_key) = ctchain_circuits::setup(&mut rng).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let hashes = params::write_parameters(dir.path(), &proving_key, &verifying_key).unwrap();
        let config = ShieldedConfig {
            verifying_key_hash: hashes.verifying_key,
            audit_key: AuditSecretKey::random(&mut rng).public_key(),
            recent_roots: 4,
        };
        let mut chain = TestChain::with_genesis(seed, |g| g.shielded = Some(config));
        chain.ledger.load_shielded_verifying_key(&params::verifying_key_to_bytes(&verifying_key).unwrap()).unwrap();
        (Self::from_chain(chain), dir)
    }

    /// Commits every pending transaction in one block.
    fn mine(&self) {
        let txs = std::mem::take(&mut *self.mempool.borrow_mut());
        let shielded = std::mem::take(&mut *self.shielded.borrow_mut());
        let mut chain = self.chain.borrow_mut();
        let mut verified: Vec<VerifiedLedgerTx> =
            txs.into_iter().map(|t| VerifiedLedgerTx::from(chain.verify(t))).collect();
        for tx in shielded {
            verified.push(VerifiedLedgerTx::verify(LedgerTx::Shielded(Box::new(tx)), chain.ledger.verifier()).unwrap());
        }
        chain.commit_ledger(verified);
    }

    fn info(&self) -> ChainInfo {
        ChainInfo::from_genesis(self.chain.borrow().ledger.genesis())
    }
}

impl ChainSource for LedgerSource {
    async fn genesis(&self) -> Result<Vec<u8>> {
        Ok(self.chain.borrow().ledger.genesis().to_bytes())
    }

    async fn chain_rules(&self) -> Result<ChainRules> {
        let chain = self.chain.borrow();
        let audit_keys = chain.ledger.next_block_epoch().audit_keys.clone();
        Ok(ChainRules { audit_keys, assets: chain.ledger.registry().assets().to_vec() })
    }

    async fn height(&self) -> Result<u64> {
        Ok(self.chain.borrow().ledger.height())
    }

    async fn outputs_range(&self, from: u64, to: u64) -> Result<OutputsPage> {
        let chain = self.chain.borrow();
        let height = chain.ledger.height();
        let to = to.min(height).min(from + self.page - 1);
        let outputs = chain
            .ledger
            .outputs_range(from, to)
            .unwrap()
            .into_iter()
            .map(|r| OutputRecordJson {
                id: r.id.to_string(),
                tx_id: r.tx_id.to_string(),
                index: r.index,
                height: r.height,
                output: hex::encode(r.output.to_bytes()),
            })
            .collect();
        let block_times = (from..=to).map(|h| (h, chain.ledger.header(h).unwrap().unwrap().timestamp_ms)).collect();
        Ok(OutputsPage { from, to, height, outputs, block_times })
    }

    async fn output(&self, id: &str) -> Result<Option<OutputJson>> {
        let chain = self.chain.borrow();
        Ok(chain.ledger.output(&OutputId(hash(id))).unwrap().map(|s| OutputJson {
            record: OutputRecordJson {
                id: s.record.id.to_string(),
                tx_id: s.record.tx_id.to_string(),
                index: s.record.index,
                height: s.record.height,
                output: hex::encode(s.record.output.to_bytes()),
            },
            spent_by: s.spent.map(|x| x.tx_id.to_string()),
            spent_height: s.spent.map(|x| x.height),
        }))
    }

    async fn tx(&self, id: &str) -> Result<TxStatus> {
        let tx_id = TxId(hash(id));
        if self.mempool.borrow().iter().any(|t| t.id() == tx_id)
            || self.shielded.borrow().iter().any(|t| t.id() == tx_id)
        {
            return Ok(TxStatus::Pending);
        }
        let chain = self.chain.borrow();
        let Some(record) = chain.ledger.transaction(&tx_id).unwrap() else { return Ok(TxStatus::Unknown) };
        let proof = chain.ledger.inclusion_proof(&tx_id).unwrap().unwrap();
        Ok(TxStatus::Committed {
            height: record.height,
            index: record.index,
            block_hash: proof.header.hash().to_string(),
            timestamp_ms: proof.header.timestamp_ms,
            hex: hex::encode(record.tx.to_bytes()),
            inclusion_proof: hex::encode(proof.to_bytes()),
        })
    }

    async fn header(&self, height: u64) -> Result<Option<(Vec<u8>, u64)>> {
        Ok(self.chain.borrow().ledger.header(height).unwrap().map(|h| (h.to_bytes(), h.timestamp_ms)))
    }

    async fn submit(&self, tx_hex: &str) -> Result<String> {
        if self.amnesia.get() {
            // Accept and immediately forget.
            return Ok(Transaction::from_bytes(&hex::decode(tx_hex).unwrap()).unwrap().id().to_string());
        }
        let refused = |code, reason: String| WalletError::Refused { code, reason, check: None };
        let tx = Transaction::from_bytes(&hex::decode(tx_hex).unwrap())
            .map_err(|e| refused(ctchain_rpc::codes::TX_ENCODING, e.to_string()))?;
        let chain = self.chain.borrow();
        let verified = chain
            .ledger
            .verifier()
            .confidential
            .verify(tx.clone())
            .map_err(|e| refused(ctchain_rpc::codes::TX_INVALID, e.to_string()))?;
        chain
            .ledger
            .check_transaction(&verified)
            .map_err(|e| refused(ctchain_rpc::codes::TX_REJECTED, e.to_string()))?;
        let pending = self.mempool.borrow();
        let spends = |t: &Transaction| t.body.inputs.iter().map(|i| i.output_id).collect::<Vec<_>>();
        if pending.iter().any(|p| spends(p).iter().any(|i| spends(&tx).contains(i))) {
            return Err(refused(
                ctchain_rpc::codes::TX_CONFLICT,
                "spends an output a pending transaction spends".into(),
            ));
        }
        drop(pending);
        self.mempool.borrow_mut().push(tx.clone());
        if self.lose_answers.get() {
            return Err(WalletError::NodeUnreachable { url: "test".into(), reason: "connection reset".into() });
        }
        Ok(tx.id().to_string())
    }
}

fn refused(code: i32, reason: String) -> WalletError {
    WalletError::Refused { code, reason, check: None }
}

impl ShieldedSource for LedgerSource {
    async fn shielded_status(&self) -> Result<ShieldedStatusJson> {
        let chain = self.chain.borrow();
        let (tree_size, root, anchors) = chain.ledger.note_tree().expect("a chain with a shielded pool");
        Ok(ShieldedStatusJson {
            enabled: true,
            height: chain.ledger.height(),
            tree_size,
            root: hex::encode(root.to_bytes()),
            anchors: anchors.iter().map(|a| hex::encode(a.to_bytes())).collect(),
            params: None,
        })
    }

    async fn shielded_notes(&self, from: u64, _after_height: u64, limit: u32) -> Result<NotesPage> {
        let chain = self.chain.borrow();
        let (tree_size, root, _) = chain.ledger.note_tree().expect("a chain with a shielded pool");
        // Small pages, so that sync's paging is exercised.
        let limit = u64::from(limit).min(self.page) as usize;
        let notes = chain
            .ledger
            .notes_range(from, limit)
            .unwrap()
            .into_iter()
            .map(|n| NoteJson {
                position: n.position,
                commitment: hex::encode(n.commitment.to_bytes()),
                ciphertext: hex::encode(n.ciphertext.to_bytes()),
                tx_id: n.tx_id.to_string(),
                height: n.height,
            })
            .collect();
        Ok(NotesPage { notes, tree_size, root: hex::encode(root.to_bytes()), height: chain.ledger.height() })
    }

    async fn shielded_nullifier(&self, nullifier: &str) -> Result<Option<NullifierJson>> {
        let nf = Nullifier::from_bytes(&hash(nullifier).0).unwrap();
        let chain = self.chain.borrow();
        Ok(chain.ledger.nullifier(&nf).unwrap().map(|r| NullifierJson { tx_id: r.tx_id.to_string(), height: r.height }))
    }

    async fn shielded_submit(&self, tx_hex: &str) -> Result<String> {
        let tx = ShieldedTx::from_bytes(&hex::decode(tx_hex).unwrap())
            .map_err(|e| refused(ctchain_rpc::codes::TX_ENCODING, e.to_string()))?;
        if self.amnesia.get() {
            return Ok(tx.id().to_string());
        }
        let chain = self.chain.borrow();
        let verified = VerifiedLedgerTx::verify(LedgerTx::Shielded(Box::new(tx.clone())), chain.ledger.verifier())
            .map_err(|e| refused(ctchain_rpc::codes::TX_INVALID, e.to_string()))?;
        chain.ledger.check_ledger_tx(&verified).map_err(|e| refused(ctchain_rpc::codes::TX_REJECTED, e.to_string()))?;
        let reveals = |t: &ShieldedTx| t.statement.nullifiers;
        if self.shielded.borrow().iter().any(|p| reveals(p).iter().any(|n| reveals(&tx).contains(n))) {
            return Err(refused(
                ctchain_rpc::codes::TX_CONFLICT,
                "reveals a nullifier a pending transaction reveals".into(),
            ));
        }
        self.shielded.borrow_mut().push(tx.clone());
        Ok(tx.id().to_string())
    }
}

/// A wallet: keys and store.
struct Wallet {
    keys: WalletKeys,
    store: WalletStore,
}

impl Wallet {
    fn new(src: &LedgerSource, keys: WalletKeys) -> Self {
        let info = src.info();
        let address = encode_address(&info.chain_id, &keys.address());
        Self { store: WalletStore::new(&info.chain_id, &info.genesis_hash, &address), keys }
    }

    async fn sync(&mut self, src: &LedgerSource) -> ctchain_wallet::sync::SyncReport {
        sync_view(src, &self.keys.viewing_keys(), &mut self.store).await
    }

    async fn submit(&mut self, src: &LedgerSource, built: &Built) -> Result<String> {
        submit(src, &mut self.store, &mut |_| Ok(()), built).await
    }

    fn balance(&self, asset: &ctchain_crypto::AssetId) -> (u64, u64) {
        balances(&self.store)
            .into_iter()
            .find(|b| b.asset == asset.to_string())
            .map(|b| (b.confirmed, b.spendable))
            .unwrap_or((0, 0))
    }
}

async fn sync_view(
    src: &LedgerSource,
    keys: &ViewingKeys,
    store: &mut WalletStore,
) -> ctchain_wallet::sync::SyncReport {
    let info = chain_info(src, Some(&store.chain_id)).await.unwrap();
    sync(src, keys, &info, store, &mut |_| Ok(()), &mut |_, _| {}).await.unwrap()
}

/// Builds a CNY (or other asset) transfer from `from`'s store, panicking on failure.
fn pay(
    from: &Wallet,
    info: &ChainInfo,
    to: &ctchain_crypto::Address,
    asset: &ctchain_ledger::AssetInfo,
    amount: u64,
    memo: &str,
) -> Built {
    build_transfer(&from.store, &from.keys, info, to, asset, amount, memo, &mut rand_core::OsRng).unwrap()
}

/// Alice is issued 1000.00 CNY by the CNY issuer (committed).
async fn funded(seed: u64) -> (LedgerSource, Wallet, Wallet) {
    let src = LedgerSource::new(seed);
    let (alice, bob) = {
        let c = src.chain.borrow();
        (c.keys.alice.clone(), c.keys.bob.clone())
    };
    let mut alice = Wallet::new(&src, alice);
    let bob = Wallet::new(&src, bob);
    let info = src.info();
    let cny = info.asset("cny").unwrap().clone();
    let issuer = src.chain.borrow().keys.issuers[&cny.id].clone();
    let built =
        build_issue(&info, &issuer, &cny, 100_000, &alice.keys.address(), "opening", &mut rand_core::OsRng).unwrap();
    alice.submit(&src, &built).await.unwrap();
    src.mine();
    alice.sync(&src).await;
    (src, alice, bob)
}

#[tokio::test]
async fn two_wallets_send_back_and_forth_and_balances_add_up_to_the_issued_supply() {
    let (src, mut alice, mut bob) = funded(1).await;
    let info = src.info();
    let cny = info.asset("CNY").unwrap().clone();
    assert_eq!(alice.balance(&cny.id), (100_000, 100_000));

    let amount = info.parse(&cny, "250.50").unwrap();
    let built = pay(&alice, &info, &bob.keys.address(), &cny, amount, "invoice 7");
    let id = alice.submit(&src, &built).await.unwrap();
    // Pending: the input is locked, the change is incoming.
    let b = balances(&alice.store).into_iter().next().unwrap();
    assert_eq!((b.confirmed, b.locked, b.incoming, b.spendable), (100_000, 100_000, 100_000 - 25_050, 0));
    assert_eq!(history(&alice.store).last().unwrap().status, SentStatus::Pending);
    src.mine();
    assert_eq!(wait_committed(&src, &id, Duration::from_millis(1), Duration::from_secs(1)).await.unwrap(), 2);
    alice.sync(&src).await;
    let report = bob.sync(&src).await;
    assert_eq!(report.found, 1);
    assert_eq!(alice.balance(&cny.id), (100_000 - 25_050, 100_000 - 25_050));
    assert_eq!(bob.balance(&cny.id), (25_050, 25_050));

    // Bob pays some back; then both sync.
    let built = pay(&bob, &info, &alice.keys.address(), &cny, 1_000, "refund");
    bob.submit(&src, &built).await.unwrap();
    src.mine();
    alice.sync(&src).await;
    bob.sync(&src).await;
    let total = alice.balance(&cny.id).0 + bob.balance(&cny.id).0;
    let supply = src.chain.borrow().ledger.supply(&cny.id).unwrap();
    assert_eq!(u128::from(total), supply.issued - supply.burned - supply.fees);
    assert_eq!(alice.balance(&cny.id).0, 100_000 - 25_050 + 1_000);

    // History: counterparties, amounts, memos, heights, times.
    let a = history(&alice.store);
    let kinds: Vec<_> = a.iter().map(|e| (e.kind, e.amount, e.status)).collect();
    assert_eq!(
        kinds,
        vec![
            (EntryKind::Issued, 100_000, SentStatus::Committed),
            (EntryKind::Sent, 25_050, SentStatus::Committed),
            (EntryKind::Received, 1_000, SentStatus::Committed)
        ]
    );
    assert_eq!(a[1].counterparty.as_deref(), Some(bob.store.address.as_str()));
    assert_eq!(a[1].memo, "invoice 7");
    assert_eq!(a[2].counterparty.as_deref(), Some(bob.store.address.as_str()));
    assert_eq!(a[2].memo, "refund");
    assert!(a.iter().all(|e| e.height.is_some() && e.time_ms.is_some()), "{a:#?}");
    let b = history(&bob.store);
    assert_eq!(b[0].kind, EntryKind::Received);
    assert_eq!(b[0].counterparty.as_deref(), Some(alice.store.address.as_str()));
    assert_eq!(b[0].memo, "invoice 7");
    assert_eq!((b[1].kind, b[1].amount), (EntryKind::Sent, 1_000));
}

#[tokio::test]
async fn a_view_only_wallet_sees_the_same_incoming_funds_and_spends() {
    let (src, mut alice, mut bob) = funded(2).await;
    let info = src.info();
    let cny = info.asset("CNY").unwrap().clone();
    let built = pay(&alice, &info, &bob.keys.address(), &cny, 4_000, "");
    alice.submit(&src, &built).await.unwrap();
    src.mine();
    alice.sync(&src).await;
    bob.sync(&src).await;

    // Built from the viewing keys only (what `export-view-key` gives), synced from scratch.
    let mut watch = WalletStore::new(&info.chain_id, &info.genesis_hash, &alice.store.address);
    sync_view(&src, &alice.keys.viewing_keys(), &mut watch).await;
    assert_eq!(balances(&watch), balances(&alice.store));
    assert_eq!(watch.outputs, alice.store.outputs);
}

#[tokio::test]
async fn a_restored_wallet_finds_the_same_funds() {
    let (src, mut alice, bob) = funded(3).await;
    let info = src.info();
    let cny = info.asset("CNY").unwrap().clone();
    let built = pay(&alice, &info, &bob.keys.address(), &cny, 300, "x");
    alice.submit(&src, &built).await.unwrap();
    src.mine();
    alice.sync(&src).await;

    let mut restored = Wallet::new(&src, alice.keys.clone());
    restored.sync(&src).await;
    assert_eq!(balances(&restored.store), balances(&alice.store));
    // Without the local record, the send shows the amount that left, counterparty unknown.
    let h = history(&restored.store);
    assert_eq!((h[1].kind, h[1].amount, h[1].counterparty.clone()), (EntryKind::Sent, 300, None));
    // A second sync finds nothing new and changes nothing.
    let before = restored.store.clone();
    let report = restored.sync(&src).await;
    assert_eq!((report.found, report.spent), (0, 0));
    assert_eq!(restored.store, before);
}

#[tokio::test]
async fn insufficient_funds_say_what_is_available_and_change_nothing() {
    let (src, alice, bob) = funded(4).await;
    let info = src.info();
    let cny = info.asset("CNY").unwrap().clone();
    let usd = info.asset("USD").unwrap().clone();
    let err =
        build_transfer(&alice.store, &alice.keys, &info, &bob.keys.address(), &cny, 100_001, "", &mut rand_core::OsRng)
            .unwrap_err();
    assert_eq!(err.to_string(), "insufficient funds: 1000.01 CNY needed, 1000.00 CNY available");
    let err = build_transfer(&alice.store, &alice.keys, &info, &bob.keys.address(), &usd, 1, "", &mut rand_core::OsRng)
        .unwrap_err();
    assert!(matches!(err, WalletError::InsufficientFunds { ref available, .. } if available == "0.00"), "{err}");
    assert!(matches!(info.parse(&cny, "1.001"), Err(WalletError::Amount(_))));
    assert!(matches!(info.parse(&cny, "0"), Err(WalletError::ZeroAmount)));
    assert!(matches!(info.asset("EUR"), Err(WalletError::UnknownAsset { .. })));
    // An issuer key of another asset is refused before anything is built.
    let wrong = src.chain.borrow().keys.issuers[&usd.id].clone();
    assert!(matches!(
        build_issue(&info, &wrong, &cny, 1, &alice.keys.address(), "", &mut rand_core::OsRng),
        Err(WalletError::NotIssuer { .. })
    ));
}

#[tokio::test]
async fn pending_sends_lock_their_inputs_and_a_refused_one_frees_them() {
    let (src, mut alice, bob) = funded(5).await;
    let info = src.info();
    let cny = info.asset("CNY").unwrap().clone();
    let first = pay(&alice, &info, &bob.keys.address(), &cny, 100, "");
    alice.submit(&src, &first).await.unwrap();
    // The only output is locked: a second send finds nothing spendable.
    let err =
        build_transfer(&alice.store, &alice.keys, &info, &bob.keys.address(), &cny, 100, "", &mut rand_core::OsRng)
            .unwrap_err();
    assert!(matches!(err, WalletError::InsufficientFunds { .. }));

    // A wallet copy without the record builds a conflicting transaction: the node refuses it with its reason,
    // and that copy's record is marked rejected, its inputs free again.
    let mut copy = Wallet { keys: alice.keys.clone(), store: alice.store.clone() };
    copy.store.sent.clear();
    let conflict = pay(&copy, &info, &bob.keys.address(), &cny, 7, "");
    let err = copy.submit(&src, &conflict).await.unwrap_err();
    assert!(matches!(err, WalletError::Refused { code: ctchain_rpc::codes::TX_CONFLICT, .. }), "{err}");
    assert_eq!(copy.store.sent[0].status, SentStatus::Rejected);
    assert_eq!(balances(&copy.store)[0].spendable, 100_000);

    src.mine();
    copy.sync(&src).await;
    assert_eq!(copy.balance(&cny.id), (100_000 - 100, 100_000 - 100));
}

#[tokio::test]
async fn a_transaction_the_node_forgot_is_submitted_again_on_sync() {
    let (src, mut alice, bob) = funded(6).await;
    let info = src.info();
    let cny = info.asset("CNY").unwrap().clone();
    let built = pay(&alice, &info, &bob.keys.address(), &cny, 5, "");
    src.amnesia.set(true);
    alice.submit(&src, &built).await.unwrap();
    src.amnesia.set(false);
    let report = alice.sync(&src).await;
    assert_eq!(report.resubmitted, 1);
    src.mine();
    let report = alice.sync(&src).await;
    assert_eq!(report.committed, 1);
    assert_eq!(alice.balance(&cny.id).0, 100_000 - 5);
}

#[tokio::test]
async fn burning_reduces_the_balance_and_the_supply_alike() {
    let (src, mut alice, _) = funded(7).await;
    let info = src.info();
    let cny = info.asset("CNY").unwrap().clone();
    let built = build_burn(&alice.store, &alice.keys, &info, &cny, 40_000, &mut rand_core::OsRng).unwrap();
    alice.submit(&src, &built).await.unwrap();
    src.mine();
    alice.sync(&src).await;
    assert_eq!(alice.balance(&cny.id).0, 60_000);
    let supply = src.chain.borrow().ledger.supply(&cny.id).unwrap();
    assert_eq!(supply.burned, 40_000);
    assert_eq!(history(&alice.store).last().map(|e| (e.kind, e.amount)), Some((EntryKind::Burned, 40_000)));
}

#[tokio::test]
async fn a_payment_proof_verifies_against_the_chain_and_a_tampered_one_fails() {
    let (src, mut alice, mut bob) = funded(8).await;
    let info = src.info();
    let cny = info.asset("CNY").unwrap().clone();
    let built = pay(&alice, &info, &bob.keys.address(), &cny, 12_345, "invoice 9");
    let id = alice.submit(&src, &built).await.unwrap();
    src.mine();
    bob.sync(&src).await;
    let index = bob.store.outputs[0].index;

    let (tx, height, evidence) = committed_tx(&src, &id).await.unwrap();
    let proof =
        PaymentProof::create(&bob.keys.viewing_keys(), &info, &tx, height, index, &mut rand_core::OsRng).unwrap();
    let parsed = PaymentProof::from_json(&proof.to_json()).unwrap();
    let v = parsed.verify(&info, &evidence).unwrap();
    assert_eq!((v.amount, v.amount_display.as_str(), v.asset_label.as_str()), (12_345, "123.45", "CNY"));
    assert_eq!(v.recipient, bob.store.address);
    assert_eq!((v.memo.as_str(), v.height), ("invoice 9", height));

    // Bob cannot prove the change output (Alice's), and Alice cannot prove Bob's.
    assert!(
        PaymentProof::create(&bob.keys.viewing_keys(), &info, &tx, height, 1 - index, &mut rand_core::OsRng).is_err()
    );
    assert!(PaymentProof::create(&alice.keys.viewing_keys(), &info, &tx, height, index, &mut rand_core::OsRng).is_err());

    // Tampering with any part fails.
    let mut other_index = proof.clone();
    other_index.output_index = 1 - index;
    assert!(matches!(other_index.verify(&info, &evidence), Err(WalletError::BadProof(_))));
    let mut bytes = hex::decode(&proof.disclosure).unwrap();
    for i in [0usize, 5, 40, 70, 100, 130, 150, bytes.len() - 1] {
        bytes[i] ^= 1;
        let mut t = proof.clone();
        t.disclosure = hex::encode(&bytes);
        assert!(t.verify(&info, &evidence).is_err(), "byte {i}");
        bytes[i] ^= 1;
    }
    let json = proof.to_json().replace(&proof.tx_id, &"ab".repeat(32));
    assert!(PaymentProof::from_json(&json).unwrap().verify(&info, &evidence).is_err());
    let mut foreign = proof.clone();
    foreign.chain_id = "another-chain".into();
    assert!(matches!(foreign.verify(&info, &evidence), Err(WalletError::BadProof(_))));
    // Evidence from a block other than the one the transaction is in fails too.
    let mut wrong_block = evidence.clone();
    wrong_block.header = src.chain.borrow().ledger.header(1).unwrap().unwrap().to_bytes();
    assert!(matches!(proof.verify(&info, &wrong_block), Err(WalletError::BadNodeData(_))));
    let mut wrong_tx = evidence.clone();
    let issue = src.chain.borrow().ledger.block(1).unwrap().unwrap().txs[0].clone();
    wrong_tx.ledger_tx = issue.to_bytes();
    assert!(proof.verify(&info, &wrong_tx).is_err());
    let _ = LedgerTx::from_bytes(&evidence.ledger_tx).unwrap();
}

#[tokio::test]
async fn a_store_of_another_chain_is_refused_and_a_node_of_another_chain_too() {
    let src = LedgerSource::new(9);
    assert!(matches!(chain_info(&src, Some("other")).await, Err(WalletError::WrongChain { .. })));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.store.json");
    WalletStore::new("other", "00", "addr").save(&path).unwrap();
    let info = src.info();
    assert!(matches!(
        WalletStore::load_or_new(&path, &info.chain_id, &info.genesis_hash, "addr"),
        Err(WalletError::Store { .. })
    ));
}

/// Syncs the shielded part of `store` with `viewer`.
async fn sync_notes(
    src: &LedgerSource,
    viewer: &ShieldedViewingKey,
    store: &mut WalletStore,
) -> ctchain_wallet::notes::ShieldedSyncReport {
    sync_shielded(src, viewer, &src.info(), store, &mut |_| Ok(())).await.unwrap()
}

/// (confirmed, locked, incoming) of the shielded balance of `asset`.
fn notes_balance(store: &WalletStore, asset: &ctchain_crypto::AssetId) -> (u64, u64, u64) {
    shielded_balances(store)
        .into_iter()
        .find(|b| b.asset == asset.to_string())
        .map_or((0, 0, 0), |b| (b.confirmed, b.locked, b.incoming))
}

#[tokio::test]
async fn notes_are_shielded_paid_reserved_resubmitted_restored_and_unshielded() {
    let (src, params_dir) = LedgerSource::with_shielded_pool(40);
    let info = src.info();
    let cny = info.asset("CNY").unwrap().clone();
    let prover = Prover::load(params_dir.path(), &info).unwrap();
    let (alice_keys, bob_keys) = {
        let c = src.chain.borrow();
        (c.keys.alice.clone(), c.keys.bob.clone())
    };
    let mut alice = Wallet::new(&src, alice_keys);
    let mut bob = Wallet::new(&src, bob_keys);
    let (alice_sk, bob_sk) = (SpendingKey::from_seed(&[41; 32]), SpendingKey::from_seed(&[42; 32]));
    let (alice_view, bob_view) =
        (ShieldedViewingKey::from_spending_key(&alice_sk), ShieldedViewingKey::from_spending_key(&bob_sk));
    let issuer = src.chain.borrow().keys.issuers[&cny.id].clone();
    let built =
        build_issue(&info, &issuer, &cny, 100_000, &alice.keys.address(), "opening", &mut rand_core::OsRng).unwrap();
    alice.submit(&src, &built).await.unwrap();
    src.mine();
    alice.sync(&src).await;

    // Shield 300.00: while pending, the confidential input is locked and the note is incoming.
    let spender = ShieldedSpender { keys: &alice.keys, spending_key: &alice_sk, chain: &info, prover: &prover };
    let anchor = newest_anchor(&src).await.unwrap();
    let shield = spender.build_shield(&alice.store, &cny, 30_000, anchor, &mut rand_core::OsRng).unwrap();
    submit_shielded(&src, &mut alice.store, &mut |_| Ok(()), &shield).await.unwrap();
    assert_eq!(notes_balance(&alice.store, &cny.id), (0, 0, 30_000));
    src.mine();
    alice.sync(&src).await;
    let report = sync_notes(&src, &alice_view, &mut alice.store).await;
    assert_eq!((report.found, report.to), (1, 2), "her note and the shield's zero-value padding are in the tree");
    assert_eq!(alice.balance(&cny.id), (70_000, 70_000));
    assert_eq!(notes_balance(&alice.store, &cny.id), (30_000, 0, 0));
    assert_eq!(alice.store.sent.last().unwrap().status, SentStatus::Committed);

    // A payment to bob that the node accepts and then forgets (it restarted): the note stays reserved, and the
    // next sync submits it again.
    check_wallet_anchor(&src, &alice.store).await.unwrap();
    let spender = ShieldedSpender { keys: &alice.keys, spending_key: &alice_sk, chain: &info, prover: &prover };
    let pay = spender.build_send(&alice.store, &bob_view.address(), &cny, 12_000, &mut rand_core::OsRng).unwrap();
    src.amnesia.set(true);
    submit_shielded(&src, &mut alice.store, &mut |_| Ok(()), &pay).await.unwrap();
    src.amnesia.set(false);
    assert_eq!(notes_balance(&alice.store, &cny.id), (30_000, 30_000, 18_000));
    let spender = ShieldedSpender { keys: &alice.keys, spending_key: &alice_sk, chain: &info, prover: &prover };
    let again = spender.build_send(&alice.store, &bob_view.address(), &cny, 1_000, &mut rand_core::OsRng);
    assert!(matches!(again, Err(WalletError::InsufficientShielded { .. })), "the only note is reserved: {again:?}");
    let report = sync_notes(&src, &alice_view, &mut alice.store).await;
    assert_eq!(report.resubmitted, 1);
    src.mine();
    let report = sync_notes(&src, &alice_view, &mut alice.store).await;
    assert_eq!((report.found, report.spent), (1, 1), "her change arrives and her note is spent");
    assert_eq!(notes_balance(&alice.store, &cny.id), (18_000, 0, 0));
    assert_eq!(alice.store.sent.last().unwrap().status, SentStatus::Committed);
    let report = sync_notes(&src, &bob_view, &mut bob.store).await;
    assert_eq!(report.found, 1);
    assert_eq!(notes_balance(&bob.store, &cny.id), (12_000, 0, 0));

    // A wallet restored from the same key (the recovery phrase gives the same seed) finds what is left.
    let mut restored = WalletStore::new(&info.chain_id, &info.genesis_hash, &alice.store.address);
    let report = sync_notes(&src, &alice_view, &mut restored).await;
    assert_eq!((report.found, report.spent), (2, 1));
    assert_eq!(notes_balance(&restored, &cny.id), (18_000, 0, 0));

    // Bob unshields 20.00 to his confidential address; his change stays a note.
    bob.sync(&src).await;
    let spender = ShieldedSpender { keys: &bob.keys, spending_key: &bob_sk, chain: &info, prover: &prover };
    let out =
        spender.build_unshield(&bob.store, &bob.keys.address(), &cny, 2_000, "back", &mut rand_core::OsRng).unwrap();
    submit_shielded(&src, &mut bob.store, &mut |_| Ok(()), &out).await.unwrap();
    src.mine();
    bob.sync(&src).await;
    sync_notes(&src, &bob_view, &mut bob.store).await;
    assert_eq!(bob.balance(&cny.id), (2_000, 2_000));
    assert_eq!(notes_balance(&bob.store, &cny.id), (10_000, 0, 0));

    // Both pools add up to the supply counters.
    let supply = src.chain.borrow().ledger.supply(&cny.id).unwrap();
    assert_eq!(supply.shielded_pool(), u128::from(18_000u64 + 10_000));
    assert_eq!(supply.confidential_pool(), u128::from(alice.balance(&cny.id).0 + bob.balance(&cny.id).0));
}

/// A send whose node answer is lost, or whose block is not seen in time, may still commit: the wallet reports its
/// outcome unknown (never a failure), keeps its inputs reserved, and the next sync settles it as committed.
#[tokio::test]
async fn a_send_whose_answer_is_lost_is_reported_unknown_and_settled_by_the_next_sync() {
    use ctchain_keystore::{KdfParams, KeystoreFile, WalletSecret};
    use ctchain_wallet::session::{Outcome, Session, Wait};

    let src = LedgerSource::new(41);
    let chain_id = src.info().chain_id;
    let dir = tempfile::tempdir().unwrap();
    let secret = WalletSecret::generate(&mut rand_core::OsRng);
    let keys = secret.wallet_keys().unwrap();
    {
        let mut chain = src.chain.borrow_mut();
        let cny = chain.keys.cny;
        let funding = vec![chain.issue(&keys, cny, 10_000), chain.issue(&keys, cny, 10_000)];
        chain.commit(funding);
    }
    let file = KeystoreFile::seal(&chain_id, &secret, b"pw", KdfParams::TEST_ONLY, &mut rand_core::OsRng).unwrap();
    let path = dir.path().join("alice.json");
    file.write(&path, false).unwrap();
    let mut alice = Session::with_secret(src, &path, file, secret).await.unwrap();
    let bob = encode_address(&chain_id, &WalletKeys::random(&mut rand_core::OsRng).address());
    let wait = Some(Wait { interval: Duration::from_millis(5), timeout: Duration::from_millis(50) });

    // The node took the transfer, but its answer never arrived.
    alice.source.lose_answers.set(true);
    let lost = alice.send(&bob, "CNY", "12.50", "", wait).await.expect("not an error: the transfer may commit");
    assert!(matches!(&lost.outcome, Outcome::Unknown { reason } if reason.contains("cannot reach")), "{lost:?}");
    // Answered, but its block did not come in time.
    alice.source.lose_answers.set(false);
    let slow = alice.send(&bob, "CNY", "1.00", "", wait).await.expect("not an error: the transfer may commit");
    assert!(matches!(&slow.outcome, Outcome::Unknown { reason } if reason.contains("not committed in time")));
    let status = |s: &Session<LedgerSource>, id: &str| s.store.sent.iter().find(|r| r.tx_id == id).map(|r| r.status);
    assert_eq!(status(&alice, &lost.tx_id), Some(SentStatus::Pending), "kept pending, its input reserved");
    assert_eq!(status(&alice, &slow.tx_id), Some(SentStatus::Pending));

    // Both were real: the block commits them, and the next sync says so.
    alice.source.mine();
    alice.sync(&mut |_, _| {}).await.unwrap();
    assert_eq!(status(&alice, &lost.tx_id), Some(SentStatus::Committed));
    assert_eq!(status(&alice, &slow.tx_id), Some(SentStatus::Committed));
    let (confidential, _) = alice.balances();
    assert_eq!(confidential[0].confirmed, 20_000 - 1_250 - 100);
}
