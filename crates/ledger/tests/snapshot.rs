//! State snapshots: a ledger restored from one holds exactly the state of the height it names and goes on
//! applying blocks like the ledger it came from; a snapshot without a valid certificate, of another chain, or
//! whose entries are not exactly the committed state is refused and leaves nothing behind.

mod common;

use common::*;
use ctchain_codec::{Decode, Encode};
use ctchain_ledger::snapshot::StateSnapshot;
use ctchain_ledger::store::Cf;
use ctchain_ledger::{Block, Genesis, Ledger, LedgerError, TxRejection, ValidatorInfo};
use ctchain_pbft::{Commit, CommitCertificate, Ed25519Signer, Signer};

fn validators() -> Vec<Ed25519Signer> {
    (1..=4u8).map(|i| Ed25519Signer::from_secret([i; 32])).collect()
}

/// A chain whose validators hold real keys, so that its blocks can carry real certificates.
fn certified_chain(seed: u64) -> TestChain {
    TestChain::with_genesis(seed, |g| {
        g.validators = validators()
            .iter()
            .enumerate()
            .map(|(i, v)| ValidatorInfo {
                name: format!("bank-{i}"),
                consensus_key: v.public_key().0.try_into().unwrap(),
                network_key: [i as u8; 32],
            })
            .collect();
    })
}

/// A commit certificate for `block` signed by `signers`.
fn certify(genesis: &Genesis, block: &Block, signers: &[u32]) -> Vec<u8> {
    let seq = block.header.seq;
    let consensus = ctchain_ledger::finality::consensus_block(block);
    let digest = consensus.digest(&genesis.chain_id, seq);
    let body = Commit { view: 0, seq, digest };
    let keys = validators();
    let signatures = signers
        .iter()
        .map(|&i| {
            (i, keys[i as usize].sign(ctchain_pbft::types::signing_digest(&genesis.chain_id, 0, i, &body).as_bytes()))
        })
        .collect();
    CommitCertificate { view: 0, seq, digest, signatures }.to_bytes()
}

/// Three blocks: issuances to Alice, Alice paying Bob, Bob paying Alice back.
fn busy_chain() -> TestChain {
    let mut chain = certified_chain(21);
    let (alice, bob, cny, usd) = (chain.keys.alice.clone(), chain.keys.bob.clone(), chain.keys.cny, chain.keys.usd);
    let txs = vec![chain.issue(&alice, cny, 1_000), chain.issue(&alice, usd, 500)];
    chain.commit(txs);
    let owned = chain.unspent(&alice);
    let mut b = chain.builder();
    b.spend(owned[0].clone()).pay(bob.address(), owned[0].opening.asset, 100, "").change_to(alice.address());
    let tx = b.build(&mut chain.rng).unwrap();
    chain.commit(vec![tx]);
    let owned = chain.unspent(&bob);
    let mut b = chain.builder();
    b.spend(owned[0].clone()).pay(alice.address(), owned[0].opening.asset, 40, "").change_to(bob.address());
    let tx = b.build(&mut chain.rng).unwrap();
    chain.commit(vec![tx]);
    chain
}

#[test]
fn a_restored_ledger_holds_exactly_the_state_and_goes_on_like_the_original() {
    let mut chain = busy_chain();
    let genesis = chain.ledger.genesis().clone();
    let height = chain.ledger.height();
    let snapshot = chain.ledger.state_snapshot().unwrap();
    assert_eq!(snapshot.height(), height);
    // Canonical, and a function of the state alone: the same ledger makes the same bytes twice.
    let bytes = snapshot.to_bytes();
    assert_eq!(StateSnapshot::from_bytes(&bytes).unwrap(), snapshot);
    assert_eq!(chain.ledger.state_snapshot().unwrap().digest(), snapshot.digest());

    let cert = certify(&genesis, &snapshot.block, &[0, 1, 3]);
    let dir = tempfile::tempdir().unwrap();
    let restored = Ledger::restore_snapshot(&dir.path().join("ledger"), &genesis, &snapshot, &cert, &[]).unwrap();
    assert_eq!(restored.height(), height);
    assert_eq!(restored.state_root(), chain.ledger.state_root());
    assert_eq!(restored.recompute_state_root().unwrap(), chain.ledger.state_root());
    for asset in [chain.keys.cny, chain.keys.usd] {
        assert_eq!(restored.supply(&asset).unwrap(), chain.ledger.supply(&asset).unwrap());
    }
    assert_eq!(restored.certificate(height).unwrap(), Some(cert.clone()));
    assert_eq!(restored.block(height).unwrap(), chain.ledger.block(height).unwrap());
    // History below the snapshot is not there: a restored node serves the chain from its height on.
    assert_eq!(restored.block(1).unwrap(), None);

    // The next block applies to both and gives both the same state; the restored ledger refuses a replay of an
    // old transaction (it carries the transaction index) and a double spend (it carries the spent set).
    let block_1_tx = chain.ledger.block(1).unwrap().unwrap().txs[0].clone();
    let mut restored = restored;
    assert!(matches!(
        restored.check_ledger_tx(&ctchain_ledger::VerifiedLedgerTx::verify(block_1_tx, restored.verifier()).unwrap()),
        Err(LedgerError::InvalidTransaction { reason: TxRejection::Duplicate, .. })
    ));
    let (alice, bob) = (chain.keys.alice.clone(), chain.keys.bob.clone());
    let owned = chain.unspent(&alice);
    let mut b = chain.builder();
    b.spend(owned[0].clone()).pay(bob.address(), owned[0].opening.asset, 1, "").change_to(alice.address());
    let tx = b.build(&mut chain.rng).unwrap();
    let next = chain.commit(vec![tx]);
    let received = next.clone().verify(restored.verifier()).unwrap();
    restored.apply(received, None).unwrap();
    assert_eq!(restored.state_root(), chain.ledger.state_root());
    assert_eq!(restored.header(height + 1).unwrap(), chain.ledger.header(height + 1).unwrap());
}

#[test]
fn a_snapshot_is_refused_unless_certified_of_this_chain_and_exactly_the_committed_state() {
    let chain = busy_chain();
    let genesis = chain.ledger.genesis().clone();
    let snapshot = chain.ledger.state_snapshot().unwrap();
    let good_cert = certify(&genesis, &snapshot.block, &[0, 1, 2]);
    let refused = |snapshot: &StateSnapshot, cert: &[u8], genesis: &Genesis, why: &str| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger");
        match Ledger::restore_snapshot(&path, genesis, snapshot, cert, &[]) {
            Err(LedgerError::Snapshot(reason)) => assert!(reason.contains(why), "expected {why:?}, got {reason:?}"),
            other => panic!("expected a refusal naming {why:?}, got {:?}", other.map(|l| l.height())),
        }
        assert!(!path.exists(), "a refused snapshot left a database behind");
    };

    // Two signatures of four are no quorum.
    refused(&snapshot, &certify(&genesis, &snapshot.block, &[0, 1]), &genesis, "certificate");
    // Another chain's genesis (same validators, another chain id) refuses it.
    let mut other = genesis.clone();
    other.chain_id = "another-chain".into();
    refused(&snapshot, &good_cert, &other, "certificate");

    // An output removed from the state: the root recomputed from the entries is not the header's.
    let entries: Vec<(Cf, Vec<u8>, Vec<u8>)> =
        snapshot.entries().map(|(cf, k, v)| (cf, k.to_vec(), v.to_vec())).collect();
    let output_at = entries.iter().position(|(cf, _, _)| *cf == Cf::Outputs).unwrap();
    let mut fewer = entries.clone();
    fewer.remove(output_at);
    let fewer = StateSnapshot::from_parts(snapshot.block.clone(), fewer, Vec::new()).unwrap();
    refused(&fewer, &good_cert, &genesis, "state root");
    // A supply counter raised: the same.
    let supply_at = entries.iter().position(|(cf, _, _)| *cf == Cf::Supply).unwrap();
    let mut inflated = entries.clone();
    let mut supply = ctchain_ledger::Supply::from_bytes(&inflated[supply_at].2).unwrap();
    supply.issued += 1_000_000;
    inflated[supply_at].2 = supply.to_bytes();
    let inflated = StateSnapshot::from_parts(snapshot.block.clone(), inflated, Vec::new()).unwrap();
    refused(&inflated, &good_cert, &genesis, "state root");
    // The state of one height with the certified block of another: the tip is not that block.
    let block_2 = chain.ledger.block(2).unwrap().unwrap();
    let mismatched = StateSnapshot::from_parts(block_2.clone(), entries.clone(), Vec::new()).unwrap();
    refused(&mismatched, &certify(&genesis, &block_2, &[1, 2, 3]), &genesis, "");

    // Entries out of order, or a column family a snapshot does not carry, do not decode.
    let mut swapped = entries.clone();
    swapped.swap(output_at, output_at + 1);
    assert!(StateSnapshot::from_parts(snapshot.block.clone(), swapped, Vec::new()).is_err());
    let mut history = entries;
    history.push((Cf::Notes, vec![0], vec![0]));
    assert!(StateSnapshot::from_parts(snapshot.block.clone(), history, Vec::new()).is_err());
    // And the genuine one is accepted with its certificate.
    let dir = tempfile::tempdir().unwrap();
    Ledger::restore_snapshot(&dir.path().join("ledger"), &genesis, &snapshot, &good_cert, &[]).unwrap();
}
