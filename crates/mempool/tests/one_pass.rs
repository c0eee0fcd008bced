//! One pass per transaction, on the whole path through a node: admission (by RPC or gossip) → the primary's
//! proposal or a backup's check of the proposed block → apply. Each node decodes a transaction once, executes it
//! once in a block, checks it alone once (at admission), and never encodes it again; every copy of its bytes a
//! node receives is hashed once, to be recognised. On the code before the one-pass change a backup decoded the
//! payload twice (to check it, then to apply it), re-encoded every transaction to hash its leaf and to store it,
//! and decoded every duplicate gossip copy.

#[path = "../../ledger/tests/common/mod.rs"]
mod common;

use std::cell::RefCell;
use std::collections::HashMap;

use common::*;
use ctchain_codec::{Decode, Encode};
use ctchain_crypto::{OwnedOutput, Transaction};
use ctchain_ledger::work::WorkCounts;
use ctchain_ledger::{EncodedBlock, TxRejection, TxTag, VerifiedBlock};
use ctchain_mempool::{Admission, AdmitError, Mempool, MempoolConfig};

/// One node: its ledger, its door and its pool.
struct Node {
    chain: TestChain,
    admission: Admission,
    pool: RefCell<Mempool>,
}

impl Node {
    fn new(chain: TestChain) -> Self {
        let config = MempoolConfig::default();
        let admission = Admission::new(chain.ledger.verifier().clone(), config.max_tx_bytes);
        Self { chain, admission, pool: RefCell::new(Mempool::new(config)) }
    }

    fn receive(&self, tagged: &[u8]) -> Result<(), AdmitError> {
        self.admission.admit(&self.chain.ledger, &self.pool, tagged).map(|_| ())
    }

    /// A backup's check of a proposed block's bytes, reusing what its door verified.
    fn check_payload(&mut self, payload: &[u8]) -> ctchain_ledger::CheckedBlock {
        let block = EncodedBlock::from_bytes(payload).unwrap();
        // As the node does: what the door knows, looked up under the pool's lock before the parallel checks.
        let known: HashMap<_, _> = {
            let pool = self.pool.borrow();
            block.txs.iter().filter_map(|tx| Some((tx.leaf(), self.admission.known(&pool, &tx.leaf())?))).collect()
        };
        let verified = block.verify_with(self.chain.ledger.verifier(), |leaf| known.get(leaf).cloned()).unwrap();
        for tx in verified.txs() {
            self.admission.remember(tx);
        }
        self.chain.ledger.check_block(verified).unwrap()
    }

    fn commit(&mut self, checked: ctchain_ledger::CheckedBlock) -> VerifiedBlock {
        let block = self.chain.ledger.apply_checked(checked, Some(b"certificate")).unwrap();
        assert!(self.pool.borrow_mut().on_block_committed(&block).is_empty());
        block
    }
}

/// Three nodes on one chain where Alice owns `n` outputs, and `n` transfers spending them, as tagged bytes.
fn setup(n: usize) -> (Vec<Node>, Vec<Vec<u8>>) {
    let mut chains: Vec<TestChain> = (0..3).map(|_| TestChain::new(21)).collect();
    let alice = chains[0].keys.alice.clone();
    let cny = chains[0].keys.cny;
    let funding: Vec<Transaction> = (0..n).map(|_| chains[0].issue(&alice, cny, 100)).collect();
    for chain in &mut chains {
        chain.commit(funding.clone());
    }
    let owned: Vec<OwnedOutput> = chains[0].unspent(&alice);
    let transfers: Vec<Vec<u8>> = owned
        .iter()
        .map(|input| {
            let chain = &mut chains[0];
            let mut b = chain.builder();
            b.spend(input.clone())
                .pay(chain.keys.bob.address(), chain.keys.cny, 10, "")
                .change_to(chain.keys.alice.address());
            TxTag::Confidential.tagged(&b.build(&mut chain.rng).unwrap().to_bytes())
        })
        .collect();
    (chains.into_iter().map(Node::new).collect(), transfers)
}

/// The work counters are process-wide: the tests of this binary take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn every_node_decodes_and_executes_each_transaction_once_and_never_encodes_it() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const N: u64 = 4;
    let (mut nodes, transfers) = setup(N as usize);
    let [primary, backup, late] = &mut nodes[..] else { unreachable!() };
    let start = WorkCounts::now();

    // The primary gets each transfer by RPC; the backup by gossip, twice (two peers relay it).
    for tagged in &transfers {
        primary.receive(tagged).unwrap();
        backup.receive(tagged).unwrap();
        assert!(matches!(backup.receive(tagged), Err(AdmitError::Duplicate(_))));
    }
    let admitted = WorkCounts::now().since(start);
    assert_eq!(admitted.decoded, 2 * N, "one decode per node; the duplicate copy is recognised by its hash");
    assert_eq!(admitted.checked_alone, 2 * N);
    assert_eq!(admitted.leaf_hashed, 3 * N, "each copy received hashed once");

    // The primary proposes; the backup and a node that heard nothing by gossip check the payload.
    let ts = primary.chain.ledger.tip_timestamp_ms() + 1_000;
    let proposal = primary.pool.borrow().proposal(100, usize::MAX);
    let proposed =
        primary.chain.ledger.propose_checked(proposal, primary.chain.ledger.next_block_seq(), ts, 0, 0).unwrap();
    let payload = proposed.block().to_bytes();
    let checked_by_backup = backup.check_payload(&payload);
    let checked_late = late.check_payload(&payload);
    primary.commit(proposed);
    let block = backup.commit(checked_by_backup);
    late.commit(checked_late);
    assert_eq!(block.txs().len(), N as usize);

    // Late gossip copies of committed transactions are refused without being decoded or verified.
    for tagged in &transfers {
        assert_eq!(late.receive(tagged), Err(AdmitError::Rejected(TxRejection::Duplicate)));
    }

    let work = WorkCounts::now().since(start);
    assert_eq!(work.encoded, 0, "no node encoded a transaction: proposals, roots and stored blocks reuse the bytes");
    assert_eq!(work.decoded, 3 * N, "each node decoded each transaction once (the late node from the payload)");
    assert_eq!(work.executed, 3 * N, "each node executed each transaction once, in the block");
    assert_eq!(work.checked_alone, 2 * N, "checked alone once by each node that admitted it");
    // Copies received: primary N (RPC); backup 2N (gossip) + N (payload); late N (payload) + N (gossip).
    assert_eq!(work.leaf_hashed, 6 * N, "each copy received hashed once, and no copy twice");

    for node in [&*backup, &*late] {
        assert_eq!(node.chain.ledger.block(1 + 1).unwrap(), primary.chain.ledger.block(2).unwrap());
        assert_eq!(node.chain.ledger.state_root(), primary.chain.ledger.state_root());
    }
}

/// A flood of one bad transaction costs its proofs once: the same bytes again are refused by their hash, with the
/// same reason, neither decoded nor verified; other bytes are still checked on their own.
#[test]
fn bytes_refused_for_what_they_are_are_refused_again_for_nothing() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (nodes, transfers) = setup(2);
    let node = &nodes[0];
    let mut forged = transfers[0].clone();
    let last = forged.len() - 1;
    forged[last] ^= 1; // a proof byte: still decodes, no longer verifies
    let first = node.receive(&forged).unwrap_err();
    assert!(matches!(first, AdmitError::Invalid(_) | AdmitError::Encoding(_)), "{first:?}");
    let start = WorkCounts::now();
    for _ in 0..100 {
        assert_eq!(node.receive(&forged).unwrap_err(), first);
    }
    let work = WorkCounts::now().since(start);
    assert_eq!((work.decoded, work.checked_alone), (0, 0), "refused by hash, for nothing");
    assert_eq!(work.leaf_hashed, 100, "each copy hashed, to be recognised");
    // An undecodable copy is remembered too; a valid transaction is unaffected.
    let mut truncated = transfers[1].clone();
    truncated.pop();
    assert!(matches!(node.receive(&truncated), Err(AdmitError::Encoding(_))));
    let start = WorkCounts::now();
    assert!(matches!(node.receive(&truncated), Err(AdmitError::Encoding(_))));
    assert_eq!(WorkCounts::now().since(start).decoded, 0);
    node.receive(&transfers[1]).unwrap();
}
