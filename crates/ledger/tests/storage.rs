//! Persistence: reopening, refusing another chain, and damage reported naming what is damaged.

mod common;

use common::*;
use ctchain_ledger::store::{Cf, Store};
use ctchain_ledger::{Ledger, LedgerError, StorageError};

fn chain_with_blocks(seed: u64, n: usize) -> TestChain {
    let mut chain = TestChain::new(seed);
    let alice = chain.keys.alice.clone();
    for i in 0..n {
        let tx = chain.issue(&alice, chain.keys.cny, 10 + i as u64);
        chain.commit(vec![tx]);
    }
    chain
}

#[test]
fn reopening_yields_exactly_the_last_committed_block() {
    let chain = chain_with_blocks(30, 3);
    let (root, tip, height) = (chain.ledger.state_root(), chain.ledger.tip_hash(), chain.ledger.height());
    let TestChain { dir, ledger, keys, .. } = chain;
    drop(ledger);
    let reopened = Ledger::open(dir.path(), &genesis(&keys)).unwrap();
    assert_eq!((reopened.state_root(), reopened.tip_hash(), reopened.height()), (root, tip, height));
    drop(reopened);
    let existing = Ledger::open_existing(dir.path()).unwrap();
    assert_eq!(existing.tip_hash(), tip);
    assert_eq!(existing.recompute_state_root().unwrap(), root);
}

#[test]
fn a_database_of_another_chain_is_refused() {
    let chain = chain_with_blocks(31, 1);
    let TestChain { dir, ledger, keys, .. } = chain;
    drop(ledger);
    let mut other = genesis(&keys);
    other.chain_id = "another-chain".into();
    assert!(matches!(Ledger::open(dir.path(), &other), Err(LedgerError::GenesisMismatch { .. })));
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(Ledger::open_existing(empty.path()), Err(LedgerError::Storage(StorageError::Missing(_)))));
}

#[test]
fn a_damaged_tip_header_is_reported_on_open() {
    let chain = chain_with_blocks(32, 2);
    let TestChain { dir, ledger, keys, .. } = chain;
    drop(ledger);
    {
        let store = Store::open(dir.path()).unwrap();
        let key = 2u64.to_be_bytes();
        let mut raw = store.get_raw_for_tests(Cf::Headers, &key).unwrap().unwrap();
        raw[10] ^= 0x40;
        store.put_raw_for_tests(Cf::Headers, &key, &raw).unwrap();
    }
    match Ledger::open(dir.path(), &genesis(&keys)) {
        Err(LedgerError::Storage(StorageError::Corrupt { what, reason })) => {
            assert_eq!(what, "header at height 2");
            assert_eq!(reason, "checksum mismatch");
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a damaged header was accepted"),
    }
}

#[test]
fn damaged_or_truncated_values_are_reported_when_read() {
    let chain = chain_with_blocks(33, 2);
    let output_id = chain.ledger.outputs_range(1, 1).unwrap()[0].id;
    let TestChain { dir, ledger, keys, .. } = chain;
    drop(ledger);
    {
        let store = Store::open(dir.path()).unwrap();
        store.put_raw_for_tests(Cf::Outputs, &output_id.0 .0, &[1, 2, 3]).unwrap();
        let key = 1u64.to_be_bytes();
        let mut raw = store.get_raw_for_tests(Cf::Blocks, &key).unwrap().unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        store.put_raw_for_tests(Cf::Blocks, &key, &raw).unwrap();
    }
    let ledger = Ledger::open(dir.path(), &genesis(&keys)).unwrap();
    let err = ledger.output(&output_id).unwrap_err();
    assert_eq!(
        err,
        LedgerError::Storage(StorageError::Corrupt {
            what: format!("output {output_id}"),
            reason: "value truncated below its checksum"
        })
    );
    assert!(err.to_string().contains("is damaged"));
    let err = ledger.block(1).unwrap_err();
    assert!(
        matches!(err, LedgerError::Storage(StorageError::Corrupt { ref what, .. }) if what == "transactions of block 1"),
        "{err}"
    );
    // The whole-state audit notices too.
    assert!(ledger.recompute_state_root().is_err());
}
