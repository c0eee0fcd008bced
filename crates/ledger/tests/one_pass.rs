//! One execution per transaction per node: the primary's proposal and a backup's check keep the execution they
//! ran, and applying the committed block writes it instead of executing the block again.

mod common;

use common::*;
use ctchain_crypto::Transaction;
use ctchain_ledger::{LedgerError, VerifiedLedgerTx};

/// Three issuances to Alice, verified as admission would.
fn issuances(chain: &mut TestChain) -> Vec<VerifiedLedgerTx> {
    let alice = chain.keys.alice.clone();
    let cny = chain.keys.cny;
    let txs: Vec<Transaction> = (0..3).map(|_| chain.issue(&alice, cny, 100)).collect();
    txs.into_iter().map(|t| chain.verify(t).into()).collect()
}

#[test]
fn the_primary_and_a_backup_each_execute_a_block_once() {
    let mut primary = TestChain::new(7);
    let mut backup = TestChain::new(7);
    let txs = issuances(&mut primary);
    let ts = primary.ledger.tip_timestamp_ms() + 1_000;

    let before = primary.ledger.executed_txs();
    let proposed = primary.ledger.propose_checked(txs, ts, 0, 0).unwrap();
    let block = proposed.block().to_block();
    primary.ledger.apply_checked(proposed, Some(b"certificate")).unwrap();
    assert_eq!(primary.ledger.executed_txs() - before, 3, "proposing executed the block; applying reused it");

    let received = block.clone().verify(backup.ledger.verifier()).unwrap();
    let before = backup.ledger.executed_txs();
    let checked = backup.ledger.check_block(received).unwrap();
    backup.ledger.apply_checked(checked, Some(b"certificate")).unwrap();
    assert_eq!(backup.ledger.executed_txs() - before, 3, "checking executed the block; applying reused it");
    assert_eq!(backup.ledger.header(1).unwrap(), primary.ledger.header(1).unwrap());

    // The counter sees a second execution: an apply without a kept execution runs the block again.
    let mut late = TestChain::new(7);
    let received = block.verify(late.ledger.verifier()).unwrap();
    let before = late.ledger.executed_txs();
    let checked = late.ledger.check_block(received).unwrap();
    late.ledger.apply(checked.into_block(), Some(b"certificate")).unwrap();
    assert_eq!(late.ledger.executed_txs() - before, 6);
}

#[test]
fn a_checked_block_whose_tip_moved_on_is_checked_again_and_refused() {
    let mut chain = TestChain::new(8);
    let ts = chain.ledger.tip_timestamp_ms() + 1_000;
    let first = issuances(&mut chain);
    let checked = chain.ledger.propose_checked(first, ts, 0, 0).unwrap();
    // Another block at the same height commits first (a view change chose it).
    let rival = issuances(&mut chain);
    let rival_block = chain.ledger.propose(rival, ts, 1, 1).unwrap();
    chain.ledger.apply(rival_block, None).unwrap();
    let before = chain.ledger.executed_txs();
    match chain.ledger.apply_checked(checked, None) {
        Err(LedgerError::WrongHeight { expected: 2, found: 1 }) => {}
        other => panic!("expected the stale block refused for its height, got {other:?}"),
    }
    assert_eq!(chain.ledger.height(), 1, "nothing was written");
    assert_eq!(chain.ledger.executed_txs(), before, "refused at the header, before any execution");
}
