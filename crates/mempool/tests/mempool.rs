//! Admission, conflicts, limits, proposals and clean-up after a block.

#[path = "../../ledger/tests/common/mod.rs"]
mod common;

use common::*;
use ctchain_codec::{Decode, Encode};
use ctchain_crypto::TxId;
use ctchain_crypto::{OwnedOutput, Transaction, VerifyError};
use ctchain_ledger::{LedgerTx, TxRejection, TxTag};
use ctchain_mempool::{Admission, AdmitError, Mempool, MempoolConfig};
use std::cell::RefCell;

/// The node's one door over a test chain's ledger, and its pool.
struct Door {
    admission: Admission,
    pool: RefCell<Mempool>,
}

impl Door {
    fn new(chain: &TestChain, config: MempoolConfig) -> Self {
        let admission = Admission::new(chain.ledger.verifier().clone(), config.max_tx_bytes);
        Self { admission, pool: RefCell::new(Mempool::new(config)) }
    }

    /// Submits a confidential transaction's bytes, as `tx_submit` does.
    fn tx(&self, chain: &TestChain, bytes: &[u8]) -> Result<TxId, AdmitError> {
        self.tagged(chain, &TxTag::Confidential.tagged(bytes))
    }

    /// Submits an audit-access record's bytes, as `audit_submitAccess` does.
    fn access(&self, chain: &TestChain, bytes: &[u8]) -> Result<TxId, AdmitError> {
        self.tagged(chain, &TxTag::AuditAccess.tagged(bytes))
    }

    /// Admits tagged ledger bytes, as gossip does.
    fn tagged(&self, chain: &TestChain, tagged: &[u8]) -> Result<TxId, AdmitError> {
        self.admission.admit(&chain.ledger, &self.pool, tagged).map(|a| a.id)
    }
}

/// A block of the test chain as its verified form (what the node hands the pool once it committed).
fn verified(chain: &TestChain, block: &ctchain_ledger::Block) -> ctchain_ledger::VerifiedBlock {
    block.clone().verify(chain.ledger.verifier()).unwrap()
}

/// A chain where Alice owns `n` outputs of 100 CNY each.
fn funded(seed: u64, n: usize) -> (TestChain, Vec<OwnedOutput>) {
    let mut chain = TestChain::new(seed);
    let alice = chain.keys.alice.clone();
    let txs = (0..n).map(|_| chain.issue(&alice, chain.keys.cny, 100)).collect();
    chain.commit(txs);
    let owned = chain.unspent(&alice);
    (chain, owned)
}

fn pay(chain: &mut TestChain, input: &OwnedOutput, amount: u64) -> Transaction {
    let mut b = chain.builder();
    b.spend(input.clone())
        .pay(chain.keys.bob.address(), chain.keys.cny, amount, "")
        .change_to(chain.keys.alice.address());
    b.build(&mut chain.rng).unwrap()
}

#[test]
fn valid_transactions_are_admitted_once_and_proposed_in_arrival_order() {
    let (mut chain, owned) = funded(1, 3);
    let txs: Vec<Transaction> = owned.iter().map(|o| pay(&mut chain, o, 10)).collect();
    let door = Door::new(&chain, MempoolConfig::default());
    let ids: Vec<_> = txs.iter().map(|t| door.tx(&chain, &t.to_bytes()).unwrap()).collect();
    assert_eq!(ids, txs.iter().map(Transaction::id).collect::<Vec<_>>());
    assert_eq!(door.pool.borrow().len(), 3);
    assert_eq!(door.tx(&chain, &txs[1].to_bytes()), Err(AdmitError::Duplicate(ids[1])));
    let proposal: Vec<_> = door.pool.borrow().proposal(2, usize::MAX).iter().map(|t| t.id()).collect();
    assert_eq!(proposal, ids[..2]);
    // Byte limits skip what does not fit.
    let one_size = LedgerTx::Confidential(txs[0].clone()).to_bytes().len();
    assert_eq!(door.pool.borrow().proposal(10, one_size).len(), 1);
    // The pool hands verified transactions back by their exact bytes, so blocks are not re-verified.
    let leaf = LedgerTx::Confidential(txs[2].clone()).leaf_hash();
    assert_eq!(door.pool.borrow().known(&leaf).map(|t| t.id()), Some(ids[2]));
}

#[test]
fn what_arrived_before_a_mark_is_handed_back_for_gossip_oldest_first_within_a_byte_budget() {
    let (mut chain, owned) = funded(2, 3);
    let txs: Vec<Transaction> = owned.iter().map(|o| pay(&mut chain, o, 10)).collect();
    let door = Door::new(&chain, MempoolConfig::default());
    let ids_of = |encoded: Vec<ctchain_ledger::EncodedTx>| -> Vec<TxId> {
        encoded.iter().map(|e| LedgerTx::from_bytes(e.bytes()).unwrap().id()).collect()
    };
    door.tx(&chain, &txs[0].to_bytes()).unwrap();
    door.tx(&chain, &txs[1].to_bytes()).unwrap();
    let mark = door.pool.borrow().arrival_mark();
    door.tx(&chain, &txs[2].to_bytes()).unwrap();
    let pool = door.pool.borrow();
    // Only what arrived before the mark, in arrival order; the later one waits for the next round.
    assert_eq!(ids_of(pool.arrived_before(mark, usize::MAX)), vec![txs[0].id(), txs[1].id()]);
    // A budget smaller than one transaction still hands back the oldest one (it would otherwise never travel).
    assert_eq!(ids_of(pool.arrived_before(mark, 1)), vec![txs[0].id()]);
    assert!(pool.arrived_before(0, usize::MAX).is_empty());
    drop(pool);
    // A transaction that left the pool (committed or evicted) is not gossiped again.
    door.pool.borrow_mut().evict(&txs[0].id());
    assert_eq!(ids_of(door.pool.borrow().arrived_before(mark, usize::MAX)), vec![txs[1].id()]);
}

#[test]
fn invalid_and_conflicting_transactions_are_refused_with_their_reason() {
    let (mut chain, owned) = funded(2, 2);
    let door = Door::new(&chain, MempoolConfig::default());
    let first = pay(&mut chain, &owned[0], 10);
    door.tx(&chain, &first.to_bytes()).unwrap();

    let double = pay(&mut chain, &owned[0], 20);
    assert_eq!(
        door.tx(&chain, &double.to_bytes()),
        Err(AdmitError::ConflictsWithPending { output: owned[0].output_id, pending: first.id() })
    );

    let mut forged = pay(&mut chain, &owned[1], 10);
    forged.body.public.push(ctchain_crypto::PublicAmount {
        asset: chain.keys.cny,
        kind: ctchain_crypto::PublicKind::Fee,
        amount: 1,
    });
    assert_eq!(door.tx(&chain, &forged.to_bytes()), Err(AdmitError::Invalid(VerifyError::Balance)));

    let mut bytes = pay(&mut chain, &owned[1], 10).to_bytes();
    bytes.push(0);
    assert!(matches!(door.tx(&chain, &bytes), Err(AdmitError::Encoding(_))));
    assert!(matches!(door.tx(&chain, &vec![0; 300_000]), Err(AdmitError::TooLarge { .. })));
    assert_eq!(door.pool.borrow().len(), 1, "refusals change nothing");

    // Spending an output the ledger already saw spent is refused by the stateful check.
    chain.commit(vec![first.clone()]);
    door.pool.borrow_mut().on_block_committed(&verified(&chain, chain.blocks.last().unwrap()));
    let stale = pay(&mut chain, &owned[0], 30);
    assert!(matches!(door.tx(&chain, &stale.to_bytes()), Err(AdmitError::Rejected(TxRejection::AlreadySpent { .. }))));
}

#[test]
fn a_full_pool_refuses_clearly_and_keeps_what_it_has() {
    let (mut chain, owned) = funded(3, 3);
    let door = Door::new(&chain, MempoolConfig { max_txs: 2, ..MempoolConfig::default() });
    let txs: Vec<Transaction> = owned.iter().map(|o| pay(&mut chain, o, 10)).collect();
    door.tx(&chain, &txs[0].to_bytes()).unwrap();
    door.tx(&chain, &txs[1].to_bytes()).unwrap();
    let err = door.tx(&chain, &txs[2].to_bytes()).unwrap_err();
    assert!(matches!(err, AdmitError::Full { pending_txs: 2, max_txs: 2, .. }));
    assert!(err.to_string().starts_with("mempool full"));
    assert!(door.pool.borrow().contains(&txs[0].id()) && door.pool.borrow().contains(&txs[1].id()));
}

#[test]
fn a_committed_block_removes_its_transactions_and_their_conflicts() {
    let (mut chain, owned) = funded(4, 2);
    let door = Door::new(&chain, MempoolConfig::default());
    let pending = pay(&mut chain, &owned[0], 10);
    let other = pay(&mut chain, &owned[1], 10);
    door.tx(&chain, &pending.to_bytes()).unwrap();
    door.tx(&chain, &other.to_bytes()).unwrap();
    // Another node's block spends owned[0] differently (e.g. the wallet submitted twice to two nodes).
    let rival = pay(&mut chain, &owned[0], 55);
    let block = chain.commit(vec![rival]);
    let evicted = door.pool.borrow_mut().on_block_committed(&verified(&chain, &block));
    assert_eq!(evicted, vec![pending.id()]);
    assert!(!door.pool.borrow().contains(&pending.id()));
    assert!(door.pool.borrow().contains(&other.id()));
    assert_eq!(door.pool.borrow().bytes(), LedgerTx::Confidential(other.clone()).to_bytes().len());
    // Once `other` commits it leaves too.
    let block = chain.commit(vec![other.clone()]);
    assert!(door.pool.borrow_mut().on_block_committed(&verified(&chain, &block)).is_empty());
    assert!(door.pool.borrow().is_empty());
    assert_eq!(door.pool.borrow().bytes(), 0);
}

/// An audit-access record of the test chain's whole audit key (the 1-of-1 dealing whose share key is `B`).
fn access_record(chain: &mut TestChain, case: &str) -> ctchain_ledger::access::AuditAccessRecord {
    use ctchain_ledger::access::{AuditAccessRecord, SupervisorSignature};
    let b = ctchain_crypto::Point::new(ctchain_crypto::generators::blinding_base()).unwrap();
    let mut record = AuditAccessRecord {
        chain_id: CHAIN.into(),
        audit_key_index: 0,
        case_reference: case.into(),
        from_height: 1,
        to_height: 10,
        threshold: 1,
        share_keys: vec![b],
        shielded_share_keys: vec![],
        signatures: vec![],
    };
    let auditor = chain.keys.auditor.clone();
    let id = record.id();
    record.signatures.push(SupervisorSignature::sign(&id, &auditor.public(), 1, &b, auditor.scalar(), &mut chain.rng));
    record
}

#[test]
fn audit_access_records_are_admitted_proposed_gossiped_and_cleared_like_transactions() {
    let (mut chain, owned) = funded(9, 1);
    let door = Door::new(&chain, MempoolConfig::default());
    let transfer = pay(&mut chain, &owned[0], 10);
    door.tx(&chain, &transfer.to_bytes()).unwrap();
    let record = access_record(&mut chain, "case 1");
    let id = door.access(&chain, &record.to_bytes()).unwrap();
    assert_eq!(id, record.id());
    assert_eq!(door.access(&chain, &record.to_bytes()), Err(AdmitError::Duplicate(id)));
    // Gossip carries the tagged ledger encoding of either kind.
    let gossiped = |id| door.pool.borrow().encoded(id).map(|e| e.bytes().to_vec());
    assert_eq!(gossiped(&id), Some(LedgerTx::AuditAccess(record.clone()).to_bytes()));
    assert_eq!(gossiped(&transfer.id()), Some(LedgerTx::Confidential(transfer.clone()).to_bytes()));
    // Both go into one block, which commits, and leave the pool.
    let proposal = door.pool.borrow().proposal(10, usize::MAX);
    assert_eq!(proposal.iter().map(|t| t.id()).collect::<Vec<_>>(), vec![transfer.id(), id]);
    let ts = chain.ledger.tip_timestamp_ms() + 1_000;
    let block = chain.ledger.propose(proposal, chain.ledger.next_block_seq(), ts, 0, 0).unwrap().to_block();
    let guard = door.pool.borrow();
    let pending: &Mempool = &guard;
    let verified = block.clone().verify_with(chain.ledger.verifier(), |leaf| pending.known(leaf)).unwrap();
    drop(guard);
    let committed = chain.ledger.apply(verified, None).unwrap();
    assert!(door.pool.borrow_mut().on_block_committed(&committed).is_empty());
    assert!(door.pool.borrow().is_empty());
    assert_eq!(chain.ledger.audit_access_log().unwrap().len(), 1);
    // Once on chain it is refused as a duplicate; a record with a forged signature is refused by name.
    assert!(matches!(door.access(&chain, &record.to_bytes()), Err(AdmitError::Rejected(TxRejection::Duplicate))));
    let mut forged = access_record(&mut chain, "case 2");
    forged.case_reference = "case 3".into();
    assert!(matches!(
        door.access(&chain, &forged.to_bytes()),
        Err(AdmitError::Rejected(TxRejection::Access(ctchain_ledger::access::AccessError::BadSignature(1))))
    ));
    assert!(matches!(door.access(&chain, b"\x01\x02"), Err(AdmitError::Encoding(_))));
}

#[test]
fn a_door_given_the_next_epochs_verifier_admits_what_it_refused_for_its_audit_keys() {
    let mut chain = TestChain::new(77);
    let door = Door::new(&chain, MempoolConfig::default());
    // Made for another audit key set (as after a rotation): refused, and the refusal remembered.
    let new_auditor = ctchain_crypto::AuditSecretKey::random(&mut chain.rng);
    let issuer = chain.keys.issuers[&chain.keys.cny].clone();
    let mut b = ctchain_crypto::TransactionBuilder::new(CHAIN, vec![new_auditor.public()]);
    b.issue(&issuer, chain.keys.cny, 9).pay(chain.keys.bob.address(), chain.keys.cny, 9, "");
    let tx = b.build(&mut chain.rng).unwrap();
    assert_eq!(door.tx(&chain, &tx.to_bytes()), Err(AdmitError::Invalid(VerifyError::WrongAuditKeys)));
    assert_eq!(door.tx(&chain, &tx.to_bytes()), Err(AdmitError::Invalid(VerifyError::WrongAuditKeys)));
    // The epoch's keys change: the door follows and the remembered refusal goes.
    let mut next = chain.ledger.verifier().clone();
    next.confidential = ctchain_crypto::Verifier::new(CHAIN, vec![new_auditor.public()]);
    door.admission.set_verifier(next);
    // Admission also runs the ledger's stateful checks, which still expect the current epoch's keys.
    assert_eq!(
        door.tx(&chain, &tx.to_bytes()),
        Err(AdmitError::Rejected(TxRejection::StaleAuditKeys)),
        "past the stateless door, the ledger names the mismatch"
    );
}
