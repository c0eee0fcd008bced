//! One execution per transaction per node: the primary's proposal and a backup's check keep the execution they
//! ran, and applying the committed block writes it instead of executing the block again. (The whole path from
//! admission is held in the mempool crate's `one_pass` test.)

mod common;

use std::sync::Mutex;

use common::*;
use ctchain_codec::Decode;
use ctchain_crypto::Transaction;
use ctchain_ledger::work::WorkCounts;
use ctchain_ledger::{EncodedBlock, LedgerError, VerifiedLedgerTx};

/// The work counters are process-wide: the tests of this binary take turns.
static SERIAL: Mutex<()> = Mutex::new(());

/// Three issuances to Alice, verified as admission would.
fn issuances(chain: &mut TestChain) -> Vec<VerifiedLedgerTx> {
    let alice = chain.keys.alice.clone();
    let cny = chain.keys.cny;
    let txs: Vec<Transaction> = (0..3).map(|_| chain.issue(&alice, cny, 100)).collect();
    txs.into_iter().map(|t| chain.verify(t).into()).collect()
}

#[test]
fn the_primary_and_a_backup_each_execute_a_block_once_and_never_encode_it_again() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut primary = TestChain::new(7);
    let mut backup = TestChain::new(7);
    let txs = issuances(&mut primary);
    let ts = primary.ledger.tip_timestamp_ms() + 1_000;

    let start = WorkCounts::now();
    let proposed = primary.ledger.propose_checked(txs, primary.ledger.next_block_seq(), ts, 0, 0).unwrap();
    let payload = proposed.block().to_bytes();
    primary.ledger.apply_checked(proposed, Some(b"certificate")).unwrap();
    let work = WorkCounts::now().since(start);
    assert_eq!(work.executed, 3, "proposing executed the block; applying reused it");
    assert_eq!((work.encoded, work.decoded, work.leaf_hashed), (0, 0, 0), "the verified bytes were reused");

    let start = WorkCounts::now();
    let received = EncodedBlock::from_bytes(&payload).unwrap().verify(backup.ledger.verifier()).unwrap();
    let checked = backup.ledger.check_block(received).unwrap();
    backup.ledger.apply_checked(checked, Some(b"certificate")).unwrap();
    let work = WorkCounts::now().since(start);
    assert_eq!(work.executed, 3, "checking executed the block; applying reused it");
    assert_eq!((work.decoded, work.leaf_hashed, work.encoded), (3, 3, 0), "each received once, stored as received");
    assert_eq!(backup.ledger.header(1).unwrap(), primary.ledger.header(1).unwrap());
    assert_eq!(backup.ledger.block(1).unwrap(), primary.ledger.block(1).unwrap(), "stored the same bytes");

    // The counter sees a second execution: an apply without a kept execution runs the block again.
    let mut late = TestChain::new(7);
    let received = EncodedBlock::from_bytes(&payload).unwrap().verify(late.ledger.verifier()).unwrap();
    let start = WorkCounts::now();
    let checked = late.ledger.check_block(received).unwrap();
    late.ledger.apply(checked.into_block(), Some(b"certificate")).unwrap();
    assert_eq!(WorkCounts::now().since(start).executed, 6);
}

#[test]
fn a_checked_block_whose_tip_moved_on_is_checked_again_and_refused() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut chain = TestChain::new(8);
    let ts = chain.ledger.tip_timestamp_ms() + 1_000;
    let first = issuances(&mut chain);
    let checked = chain.ledger.propose_checked(first, chain.ledger.next_block_seq(), ts, 0, 0).unwrap();
    // Another block at the same height commits first (a view change chose it).
    let rival = issuances(&mut chain);
    let rival_block = chain.ledger.propose(rival, chain.ledger.next_block_seq(), ts, 1, 1).unwrap();
    chain.ledger.apply(rival_block, None).unwrap();
    let start = WorkCounts::now();
    match chain.ledger.apply_checked(checked, None) {
        Err(LedgerError::WrongHeight { expected: 2, found: 1 }) => {}
        other => panic!("expected the stale block refused for its height, got {other:?}"),
    }
    assert_eq!(chain.ledger.height(), 1, "nothing was written");
    assert_eq!(WorkCounts::now().since(start).executed, 0, "refused at the header, before any execution");
}
