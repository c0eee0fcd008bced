//! Governance on the ledger: a governance transaction changes the registry in its block (under the state root,
//! stored, listed), a refused one refuses its block and changes nothing, and audit keys rotate at the epoch
//! boundary, with transactions made for the old keys refused from then on.

mod common;

use common::{TestChain, CHAIN};
use ctchain_crypto::{AssetId, AuditSecretKey, LimbTable, SigningKey, TransactionBuilder};
use ctchain_governance::testing::{approved, TestConsortium};
use ctchain_governance::{Action, AssetInfo, GovernanceError, Proposal};
use ctchain_ledger::{Ledger, LedgerError, LedgerTx, TxRejection, VerifiedLedgerTx};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// A test chain whose genesis is a consortium of four banks (one validator each) and a regulator.
fn consortium_chain(seed: u64) -> (TestChain, TestConsortium) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed + 1000);
    let consortium = TestConsortium::new(4, &mut rng);
    let chain = TestChain::with_genesis(seed, |g| {
        g.members = consortium.public_members();
        g.nodes = consortium.certificates();
        g.validators = consortium.validators();
    });
    (chain, consortium)
}

fn governance(chain: &TestChain, consortium: &TestConsortium, action: Action, approvers: &[&str]) -> VerifiedLedgerTx {
    let proposal = Proposal { chain_id: CHAIN.into(), registry_version: chain.ledger.registry().version(), action };
    let members: Vec<_> = approvers.iter().map(|n| consortium.member(n)).collect();
    let tx = approved(proposal, &members);
    VerifiedLedgerTx::verify(LedgerTx::Governance(Box::new(tx)), chain.ledger.verifier()).expect("stateless checks")
}

const FOUR: [&str; 4] = ["bank-a", "bank-b", "bank-c", "bank-d"];

#[test]
fn a_listed_asset_is_issued_in_the_same_block_and_the_registry_survives_a_reopen() {
    let (mut chain, consortium) = consortium_chain(1);
    let issuer = SigningKey::random(&mut chain.rng);
    let eur = AssetId::from_label("EUR");
    let list = governance(
        &chain,
        &consortium,
        Action::ListAsset(AssetInfo { id: eur, label: "EUR".into(), decimals: 2, issuer: issuer.public() }),
        &FOUR,
    );
    let mut b = chain.builder();
    b.issue(&issuer, eur, 500).pay(chain.keys.alice.address(), eur, 500, "first euros");
    let built = b.build(&mut chain.rng).unwrap();
    let issue = chain.verify(built);
    // Unknown before the listing: refused alone.
    assert!(matches!(
        chain.ledger.check_transaction(&issue),
        Err(LedgerError::InvalidTransaction { reason: TxRejection::UnknownAsset(a), .. }) if a == eur
    ));
    chain.commit_ledger(vec![list, issue.into()]);

    let registry = chain.ledger.registry().clone();
    assert_eq!(registry.version(), 1);
    assert_eq!(registry.asset(&eur).map(|a| a.issuer), Some(issuer.public()));
    assert_eq!(chain.ledger.supply(&eur).unwrap().issued, 500);
    assert_eq!(chain.balance(&chain.keys.alice, eur), 500);
    assert_eq!(chain.ledger.recompute_state_root().unwrap(), chain.ledger.state_root());
    let log = chain.ledger.governance_log().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].0, log[0].1), (1, 0));
    assert_eq!(log[0].2.proposal.action.name(), "list-asset");

    let root = chain.ledger.state_root();
    let genesis = chain.ledger.genesis().clone();
    let dir = chain.dir.path().to_path_buf();
    drop(chain.ledger);
    let reopened = Ledger::open(&dir, &genesis).unwrap();
    assert_eq!(reopened.registry(), &registry);
    assert_eq!(reopened.state_root(), root);
    assert_eq!(reopened.recompute_state_root().unwrap(), root);
}

#[test]
fn a_refused_governance_transaction_refuses_its_block_and_changes_nothing() {
    let (mut chain, consortium) = consortium_chain(2);
    let short = governance(
        &chain,
        &consortium,
        Action::RemoveNode { member: "regulator".into(), node: "obs".into() },
        &["bank-a", "bank-b"],
    );
    let expected =
        TxRejection::Governance(GovernanceError::NotEnoughApprovals { action: "remove-node", found: 2, required: 4 });
    match chain.ledger.check_ledger_tx(&short) {
        Err(LedgerError::InvalidTransaction { reason, .. }) => assert_eq!(reason, expected),
        other => panic!("expected the refusal, got {other:?}"),
    }
    let root = chain.ledger.state_root();
    match chain.ledger.propose(vec![short], chain.ledger.next_block_seq(), chain.ledger.tip_timestamp_ms() + 1, 0, 0) {
        Err(LedgerError::InvalidTransaction { reason, index: 0, .. }) => assert_eq!(reason, expected),
        other => panic!("expected the refusal, got {:?}", other.map(|b| b.header().height)),
    }
    assert_eq!(chain.ledger.state_root(), root);
    assert_eq!(chain.ledger.registry().version(), 0);
    assert!(chain.ledger.governance_log().unwrap().is_empty());

    // The same action with enough approvals lands; replaying it is stale.
    let enough =
        governance(&chain, &consortium, Action::RemoveNode { member: "regulator".into(), node: "obs".into() }, &FOUR);
    chain.commit_ledger(vec![enough.clone()]);
    assert!(chain.ledger.registry().node("regulator", "obs").is_none());
    assert!(matches!(
        chain.ledger.check_ledger_tx(&enough),
        Err(LedgerError::InvalidTransaction { reason: TxRejection::Duplicate, .. })
    ));
}

/// A new audit key, and the governance transaction (approved by the regulator and three banks) rotating it in.
fn audit_key_rotation(chain: &mut TestChain, consortium: &TestConsortium) -> (AuditSecretKey, VerifiedLedgerTx) {
    let new_auditor = AuditSecretKey::random(&mut chain.rng);
    let action = Action::RotateAuditKey { index: 0, key: new_auditor.public() };
    let rotate = governance(chain, consortium, action, &["bank-a", "bank-b", "bank-c", "regulator"]);
    (new_auditor, rotate)
}

#[test]
fn an_epoch_begins_at_its_first_sequence_number_though_no_block_lies_there() {
    let (mut chain, consortium) = consortium_chain(3);
    let (new_auditor, rotate) = audit_key_rotation(&mut chain, &consortium);
    chain.commit_ledger(vec![rotate]);
    let next = chain.ledger.registry().next_epoch().cloned().expect("a pending epoch");
    // Scheduled at sequence number 1: the first checkpoint at least a window (32) above is 48.
    assert_eq!((next.first_seq, next.decided_seq), (49, 1));
    // Consensus orders heartbeats and null blocks without ledger blocks up to 59: the ledger learns of it, and
    // the next block (at 60 at the earliest) is of epoch 1, whose keys the door then admits with.
    assert_eq!(chain.ledger.next_block_epoch().number, 0);
    chain.ledger.note_consensus_seq(59);
    assert_eq!(chain.ledger.next_block_seq(), 60);
    assert_eq!(chain.ledger.next_block_epoch().number, 1);
    assert_eq!(chain.ledger.verifier().confidential.audit_keys(), &[new_auditor.public()]);
    assert_eq!(chain.ledger.registry().epoch().number, 0, "the registry moves with the next block");

    let cny = chain.keys.cny;
    let issuer = chain.keys.issuers[&cny].clone();
    let mut b = TransactionBuilder::new(CHAIN, vec![new_auditor.public()]);
    b.issue(&issuer, cny, 42).pay(chain.keys.bob.address(), cny, 42, "after the rotation");
    let after = b.build(&mut chain.rng).unwrap();
    let block = chain.commit(vec![after]);
    assert_eq!((block.header.height, block.header.seq), (2, 60));
    assert_eq!(chain.ledger.registry().epoch().number, 1);
    let epochs = chain.ledger.epochs().unwrap();
    assert_eq!(epochs.iter().map(|e| (e.number, e.first_seq)).collect::<Vec<_>>(), vec![(0, 1), (1, 49)]);
}

#[test]
fn audit_keys_rotate_at_the_epoch_boundary_and_old_key_transactions_are_refused_after_it() {
    let (mut chain, consortium) = consortium_chain(3);
    let old_auditor = chain.keys.auditor.clone();
    let (new_auditor, rotate) = audit_key_rotation(&mut chain, &consortium);
    let before = chain.issue(&chain.keys.alice.clone(), chain.keys.cny, 100);
    chain.commit(vec![before]);
    chain.commit_ledger(vec![rotate]);
    let next = chain.ledger.registry().next_epoch().cloned().expect("a pending epoch");
    // Committed at height 2: the first checkpoint at least a window (32) above is 48.
    assert_eq!(next.first_seq, 49);
    assert_eq!(next.audit_keys, vec![new_auditor.public()]);

    // Until the boundary, transactions carry copies for the old key; one is verified at height 47's tip ...
    while chain.ledger.height() < 47 {
        chain.commit(vec![]);
    }
    // ... while a block of the next epoch, checked before its predecessor is applied, gets the new keys.
    assert_eq!(chain.ledger.verifier_for(49).confidential.audit_keys(), &[new_auditor.public()]);
    assert_eq!(chain.ledger.verifier_for(48).confidential.audit_keys(), &[old_auditor.public()]);
    let cny = chain.keys.cny;
    let made_before = chain.issue(&chain.keys.bob.clone(), cny, 7);
    let verified_before = chain.verify(made_before.clone());
    chain.commit(vec![]);
    assert_eq!(chain.ledger.height(), 48);
    assert_eq!(chain.ledger.next_block_epoch().number, 1);

    // ... and refused in the new epoch, whoever verified it: by the verifier, which moved to the new keys ...
    assert!(chain.ledger.verifier().confidential.verify(made_before).is_err());
    // ... and by the stateful checks, for the copy verified before.
    let ts = chain.ledger.tip_timestamp_ms() + 1_000;
    match chain.ledger.propose(vec![verified_before], chain.ledger.next_block_seq(), ts, 0, 0) {
        Err(LedgerError::InvalidTransaction { reason: TxRejection::StaleAuditKeys, .. }) => {}
        other => panic!("expected StaleAuditKeys, got {:?}", other.map(|b| b.header().height)),
    }

    // A transaction for the new key set commits, and the new key decrypts it; the old key still decrypts the
    // outputs of its time.
    let issuer = chain.keys.issuers[&cny].clone();
    let mut b = TransactionBuilder::new(CHAIN, vec![new_auditor.public()]);
    b.issue(&issuer, cny, 42).pay(chain.keys.bob.address(), cny, 42, "after the rotation");
    let after = b.build(&mut chain.rng).unwrap();
    let block = chain.commit(vec![after]);
    assert_eq!(block.header.height, 49);
    assert_eq!(chain.ledger.registry().epoch().number, 1);
    let epochs = chain.ledger.epochs().unwrap();
    assert_eq!(epochs.iter().map(|e| (e.number, e.first_seq)).collect::<Vec<_>>(), vec![(0, 1), (1, 49)]);

    let table = LimbTable::new(cny);
    let outputs = chain.ledger.outputs_range(1, chain.ledger.height()).unwrap();
    let first = outputs.iter().find(|o| o.height == 1).unwrap();
    let last = outputs.iter().find(|o| o.height == 49).unwrap();
    assert_eq!(old_auditor.audit_output(0, &first.output, &table).unwrap().amount, 100);
    assert_eq!(new_auditor.audit_output(0, &last.output, &table).unwrap().amount, 42);
    assert!(old_auditor.audit_output(0, &last.output, &table).is_err(), "the old key cannot read the new epoch");
    assert_eq!(chain.ledger.recompute_state_root().unwrap(), chain.ledger.state_root());
}
