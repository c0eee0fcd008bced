//! Invalid blocks are rejected whole, naming the first failing transaction and check, and change nothing.

mod common;

use common::*;
use ctchain_crypto::{OwnedOutput, SigningKey, VerifyError};
use ctchain_ledger::{Block, LedgerError, TxRejection};

/// Asserts that `block` is rejected with an error matching `check`, and that the ledger did not change.
fn assert_rejected(chain: &mut TestChain, block: Block, check: impl Fn(&LedgerError) -> bool) {
    let (height, root, tip) = (chain.ledger.height(), chain.ledger.state_root(), chain.ledger.tip_hash());
    let err = block.verify(chain.ledger.verifier()).and_then(|b| chain.ledger.apply(b, None)).unwrap_err();
    assert!(check(&err), "unexpected error: {err}");
    assert_eq!((chain.ledger.height(), chain.ledger.state_root(), chain.ledger.tip_hash()), (height, root, tip));
    assert_eq!(chain.ledger.recompute_state_root().unwrap(), root);
}

/// A block built by a (possibly dishonest) proposer without the proposer-side checks.
fn raw_block(chain: &TestChain, txs: Vec<ctchain_crypto::Transaction>) -> Block {
    let txs: Vec<_> = txs.into_iter().map(ctchain_ledger::LedgerTx::Confidential).collect();
    let mut header = chain.blocks.last().map(|b| b.header.clone()).unwrap_or(ctchain_ledger::BlockHeader {
        height: 0,
        seq: 0,
        prev_hash: chain.ledger.genesis_hash(),
        tx_root: Block::compute_tx_root(&[]),
        state_root: chain.ledger.state_root(),
        timestamp_ms: chain.ledger.tip_timestamp_ms(),
        proposer: 0,
        view: 0,
    });
    header.prev_hash = chain.ledger.tip_hash();
    header.height = chain.ledger.height() + 1;
    header.seq = chain.ledger.next_block_seq();
    header.timestamp_ms = chain.ledger.tip_timestamp_ms() + 1;
    header.tx_root = Block::compute_tx_root(&txs);
    Block { header, txs }
}

fn funded(seed: u64) -> (TestChain, OwnedOutput) {
    let mut chain = TestChain::new(seed);
    let alice = chain.keys.alice.clone();
    let tx = chain.issue(&alice, chain.keys.cny, 1_000);
    chain.commit(vec![tx]);
    let o = chain.unspent(&alice).remove(0);
    (chain, o)
}

#[test]
fn spending_an_output_twice_across_blocks_is_rejected() {
    let (mut chain, o) = funded(10);
    let bob = chain.keys.bob.address();
    let mut b = chain.builder();
    b.spend(o.clone()).pay(bob, chain.keys.cny, 1_000, "");
    let first = b.build(&mut chain.rng).unwrap();
    chain.commit(vec![first]);
    let mut b = chain.builder();
    b.spend(o.clone()).pay(chain.keys.alice.address(), chain.keys.cny, 1_000, "again");
    let again = b.build(&mut chain.rng).unwrap();
    let block = raw_block(&chain, vec![again.clone()]);
    assert_rejected(&mut chain, block, |e| {
        matches!(
            e,
            LedgerError::InvalidTransaction {
                index: 0,
                reason: TxRejection::AlreadySpent { input: 0, height: 2, .. },
                ..
            }
        )
    });
    // A mempool asks the same question before proposing.
    let verified = chain.verify(again);
    assert!(matches!(
        chain.ledger.check_transaction(&verified),
        Err(LedgerError::InvalidTransaction { reason: TxRejection::AlreadySpent { .. }, .. })
    ));
    // The proposer cannot build such a block either.
    assert!(chain
        .ledger
        .propose(vec![verified], chain.ledger.next_block_seq(), chain.ledger.tip_timestamp_ms() + 1, 0, 0)
        .is_err());
}

#[test]
fn spending_an_output_twice_in_one_block_is_rejected() {
    let (mut chain, o) = funded(11);
    let (alice, bob) = (chain.keys.alice.address(), chain.keys.bob.address());
    let mut b = chain.builder();
    b.spend(o.clone()).pay(bob, chain.keys.cny, 1_000, "");
    let one = b.build(&mut chain.rng).unwrap();
    let mut b = chain.builder();
    b.spend(o).pay(alice, chain.keys.cny, 1_000, "");
    let two = b.build(&mut chain.rng).unwrap();
    let block = raw_block(&chain, vec![one, two]);
    assert_rejected(&mut chain, block, |e| {
        matches!(
            e,
            LedgerError::InvalidTransaction {
                index: 1,
                reason: TxRejection::DoubleSpendInBlock { earlier: 0, .. },
                ..
            }
        )
    });
}

#[test]
fn issuing_without_the_issuers_key_is_rejected() {
    let mut chain = TestChain::new(12);
    let mallory = SigningKey::random(&mut chain.rng);
    let mut b = chain.builder();
    b.issue(&mallory, chain.keys.cny, 1_000_000).pay(chain.keys.alice.address(), chain.keys.cny, 1_000_000, "");
    let tx = b.build(&mut chain.rng).unwrap();
    let block = raw_block(&chain, vec![tx]);
    assert_rejected(
        &mut chain,
        block,
        |e| matches!(e, LedgerError::InvalidTransaction { reason: TxRejection::UnauthorizedIssuer(a), .. } if *a == ctchain_crypto::AssetId::from_label("CNY")),
    );
}

#[test]
fn burning_more_than_the_inputs_hold_is_rejected() {
    let (mut chain, o) = funded(13);
    let mut b = chain.builder();
    b.spend(o.clone()).burn(chain.keys.cny, 1_001);
    assert!(b.build(&mut chain.rng).is_err(), "the wallet refuses");
    // A dishonest wallet raises the burn of a valid transaction after proving: the balance no longer holds.
    let mut b = chain.builder();
    b.spend(o).burn(chain.keys.cny, 1_000);
    let mut tx = b.build(&mut chain.rng).unwrap();
    tx.body.public[0].amount = 1_001;
    let block = raw_block(&chain, vec![tx]);
    assert_rejected(&mut chain, block, |e| {
        matches!(e, LedgerError::InvalidTransaction { reason: TxRejection::Stateless(VerifyError::Balance), .. })
    });
}

#[test]
fn claiming_a_higher_value_for_a_real_output_is_rejected() {
    let (mut chain, mut o) = funded(14);
    // The wallet lies about the opening of its input: the transaction balances on its own terms, but its copy of
    // the input commitment is not the stored one.
    o.opening.amount = 1_000_000;
    let mut b = chain.builder();
    b.spend(o).pay(chain.keys.bob.address(), chain.keys.cny, 1_000_000, "");
    let tx = b.build(&mut chain.rng).unwrap();
    let block = raw_block(&chain, vec![tx]);
    assert_rejected(&mut chain, block, |e| {
        matches!(e, LedgerError::InvalidTransaction { reason: TxRejection::InputMismatch { input: 0 }, .. })
    });
}

#[test]
fn replayed_issuance_unknown_inputs_and_unknown_assets_are_rejected() {
    let mut chain = TestChain::new(15);
    let alice = chain.keys.alice.clone();
    let issuance = chain.issue(&alice, chain.keys.cny, 5);
    chain.commit(vec![issuance.clone()]);
    let block = raw_block(&chain, vec![issuance]);
    assert_rejected(&mut chain, block, |e| {
        matches!(e, LedgerError::InvalidTransaction { reason: TxRejection::Duplicate, .. })
    });

    let mut ghost = chain.unspent(&alice).remove(0);
    ghost.output_id = ctchain_crypto::OutputId(ctchain_codec::Hash32([7; 32]));
    let mut b = chain.builder();
    b.spend(ghost).pay(alice.address(), chain.keys.cny, 5, "");
    let tx = b.build(&mut chain.rng).unwrap();
    let block = raw_block(&chain, vec![tx]);
    assert_rejected(&mut chain, block, |e| {
        matches!(e, LedgerError::InvalidTransaction { reason: TxRejection::UnknownInput { input: 0, .. }, .. })
    });

    let gold = ctchain_crypto::AssetId::from_label("GOLD");
    let mut b = chain.builder();
    b.issue(&SigningKey::random(&mut chain.rng), gold, 5).pay(alice.address(), gold, 5, "");
    let tx = b.build(&mut chain.rng).unwrap();
    let block = raw_block(&chain, vec![tx]);
    assert_rejected(
        &mut chain,
        block,
        |e| matches!(e, LedgerError::InvalidTransaction { reason: TxRejection::UnknownAsset(a), .. } if *a == gold),
    );
}

#[test]
fn bad_headers_are_rejected_and_a_good_block_still_applies_after() {
    let mut chain = TestChain::new(16);
    let alice = chain.keys.alice.clone();
    let tx = chain.issue(&alice, chain.keys.cny, 5);
    let verified = chain.verify(tx.clone());
    let good = chain
        .ledger
        .propose(vec![verified], chain.ledger.next_block_seq(), chain.ledger.tip_timestamp_ms() + 10, 1, 0)
        .unwrap()
        .to_block();

    let mut wrong_root = good.clone();
    wrong_root.header.state_root = ctchain_codec::Hash32([1; 32]);
    assert_rejected(&mut chain, wrong_root, |e| matches!(e, LedgerError::StateRootMismatch { height: 1, .. }));

    let mut wrong_prev = good.clone();
    wrong_prev.header.prev_hash = ctchain_codec::Hash32([2; 32]);
    assert_rejected(&mut chain, wrong_prev, |e| matches!(e, LedgerError::WrongPrevHash { .. }));

    let mut wrong_height = good.clone();
    wrong_height.header.height = 5;
    assert_rejected(&mut chain, wrong_height, |e| matches!(e, LedgerError::WrongHeight { expected: 1, found: 5 }));

    let mut old_time = good.clone();
    old_time.header.timestamp_ms = chain.ledger.tip_timestamp_ms();
    assert_rejected(&mut chain, old_time, |e| matches!(e, LedgerError::TimestampNotIncreasing { .. }));

    let mut stranger = good.clone();
    stranger.header.proposer = 4;
    assert_rejected(&mut chain, stranger, |e| matches!(e, LedgerError::UnknownProposer { proposer: 4, .. }));

    let mut swapped_tx = good.clone();
    swapped_tx.txs[0] = ctchain_ledger::LedgerTx::Confidential(chain.issue(&alice, chain.keys.cny, 5));
    assert_rejected(&mut chain, swapped_tx, |e| matches!(e, LedgerError::TxRootMismatch { height: 1 }));

    chain.ledger.apply(good.verify(chain.ledger.verifier()).unwrap(), None).unwrap();
    assert_eq!(chain.ledger.height(), 1);
}

#[test]
fn a_block_verified_in_the_mempool_is_not_verified_again_but_other_bytes_are() {
    let mut chain = TestChain::new(17);
    let alice = chain.keys.alice.clone();
    let tx = chain.issue(&alice, chain.keys.cny, 5);
    let verified = chain.verify(tx.clone());
    let block = chain
        .ledger
        .propose(vec![verified.clone()], chain.ledger.next_block_seq(), chain.ledger.tip_timestamp_ms() + 1, 0, 0)
        .unwrap()
        .to_block();
    let leaf = block.txs[0].leaf_hash();
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let known = |h: &ctchain_codec::Hash32| {
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        (*h == leaf).then(|| verified.clone().into())
    };
    // A verifier for another chain would reject it: the cache is what lets it through, so it was not re-verified.
    let strict = ctchain_ledger::ChainVerifier {
        confidential: ctchain_crypto::Verifier::new("other-chain", vec![]),
        shielded: None,
    };
    assert!(block.clone().verify_with(&strict, known).is_ok());
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    // Same id, different witness bytes: not in the cache, so it is verified (and fails).
    let mut altered = block;
    let ctchain_ledger::LedgerTx::Confidential(t) = &mut altered.txs[0] else { panic!("a confidential transaction") };
    t.witness.owner_signatures.push(t.witness.balance_signature);
    altered.header.tx_root = Block::compute_tx_root(&altered.txs);
    assert!(matches!(
        altered.verify_with(chain.ledger.verifier(), known),
        Err(LedgerError::InvalidTransaction { reason: TxRejection::Stateless(_), .. })
    ));
}

#[test]
fn a_block_whose_sequence_number_does_not_increase_is_rejected() {
    let (mut chain, _) = funded(31);
    let tip_seq = chain.blocks.last().unwrap().header.seq;
    let tx = chain.issue(&chain.keys.bob.clone(), chain.keys.cny, 5);
    let mut block = raw_block(&chain, vec![tx.clone()]);
    block.header.seq = tip_seq;
    assert_rejected(
        &mut chain,
        block,
        |e| matches!(e, LedgerError::SeqNotIncreasing { previous, found, .. } if *previous == tip_seq && *found == tip_seq),
    );
    // The proposer side refuses it too; a gap (null blocks between) is fine.
    let ts = chain.ledger.tip_timestamp_ms() + 1;
    let verified = chain.verify(tx);
    assert!(matches!(
        chain.ledger.propose(vec![verified.clone()], tip_seq, ts, 0, 0),
        Err(LedgerError::SeqNotIncreasing { .. })
    ));
    let block = chain.ledger.propose(vec![verified], tip_seq + 10, ts, 0, 0).unwrap();
    assert_eq!(chain.ledger.apply(block, None).unwrap().header().seq, tip_seq + 10);
    assert_eq!(chain.ledger.next_block_seq(), tip_seq + 11);
}
