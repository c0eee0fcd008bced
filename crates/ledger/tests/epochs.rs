//! Following a chain's epochs from the genesis ([`EpochTracker`]): a fifth bank's validator joins by governance,
//! and the tracker, shown only the certified governance blocks, checks the new epoch's certificates while the
//! genesis-only check refuses them; an audit-key rotation changes the keys it reports but not the consensus
//! epoch; a skipped governance block, a withheld one, a block certified by the wrong epoch's validators and
//! blocks out of order are refused, naming why. A state snapshot taken after the change restores only through its
//! governance history, and the restored ledger serves that history on.

mod common;

use common::{TestChain, CHAIN};
use ctchain_codec::{Decode, Encode};
use ctchain_crypto::AuditSecretKey;
use ctchain_governance::testing::{approved, TestConsortium, TestMember};
use ctchain_governance::{Action, GovernanceError, MemberRole, Proposal};
use ctchain_ledger::finality::{consensus_block, verify_block_certificate, EpochTracker, FinalityError};
use ctchain_ledger::snapshot::StateSnapshot;
use ctchain_ledger::store::Cf;
use ctchain_ledger::{Block, Ledger, LedgerError, LedgerTx, VerifiedLedgerTx};
use ctchain_membership::NodeRole;
use ctchain_pbft::{Commit, CommitCertificate, Signature};
use ctchain_sig::{Scheme, SigningKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

struct World {
    chain: TestChain,
    consortium: TestConsortium,
    rng: ChaCha20Rng,
    /// Every block with its real certificate, in order.
    certified: Vec<(Block, Vec<u8>)>,
}

impl World {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let consortium = TestConsortium::new(4, &mut rng);
        let chain = TestChain::with_genesis(seed, |g| {
            g.members = consortium.public_members();
            g.nodes = consortium.certificates();
            g.validators = consortium.validators();
        });
        Self { chain, consortium, rng, certified: Vec::new() }
    }

    fn governance(&self, action: Action, approvers: &[&str]) -> VerifiedLedgerTx {
        let proposal =
            Proposal { chain_id: CHAIN.into(), registry_version: self.chain.ledger.registry().version(), action };
        let members: Vec<&TestMember> = approvers.iter().map(|n| self.consortium.member(n)).collect();
        let tx = approved(proposal, &members);
        VerifiedLedgerTx::verify(LedgerTx::Governance(Box::new(tx)), self.chain.ledger.verifier()).unwrap()
    }

    /// The consensus key of the validator with this consensus public key.
    fn consensus_key(&self, public: &[u8; 32]) -> &dyn SigningKey {
        let node = self.consortium.nodes.iter().find(|n| n.identity.consensus_key.as_bytes() == public.as_slice());
        node.expect("a test node's key").consensus.as_ref()
    }

    /// A commit certificate of `block` signed by the first `signers` of `validators`, signing as consensus epoch
    /// `consensus_epoch`.
    fn certify(
        &self,
        block: &Block,
        validators: &[ctchain_governance::ValidatorInfo],
        signers: usize,
        consensus_epoch: u64,
    ) -> Vec<u8> {
        let seq = block.header.seq;
        let digest = consensus_block(block).digest(CHAIN, seq);
        let body = Commit { view: 0, seq, digest };
        let signatures = (0..signers as u32)
            .map(|i| {
                let key = self.consensus_key(&validators[i as usize].consensus_key);
                let message = ctchain_pbft::types::signing_digest(CHAIN, consensus_epoch, i, &body);
                (i, Signature(key.sign(message.as_bytes()).as_bytes().to_vec()))
            })
            .collect();
        CommitCertificate { view: 0, seq, digest, signatures }.to_bytes()
    }

    /// Commits `txs` at sequence number `seq`, certified by the validators of the block's epoch.
    fn commit(&mut self, txs: Vec<VerifiedLedgerTx>, seq: u64, consensus_epoch: u64) -> (Block, Vec<u8>) {
        let ledger = &mut self.chain.ledger;
        let ts = ledger.tip_timestamp_ms() + 1_000;
        let block = ledger.propose(txs, seq, ts, 0, 0).unwrap().to_block();
        let validators = ledger.epoch_for(seq).expect("a known epoch").validators.clone();
        // A quorum: n − f signatures.
        let quorum = validators.len() - (validators.len() - 1) / 3;
        let certificate = self.certify(&block, &validators, quorum, consensus_epoch);
        let received = block.clone().verify(&self.chain.ledger.verifier_for(seq)).unwrap();
        self.chain.ledger.apply(received, Some(&certificate)).unwrap();
        self.certified.push((block.clone(), certificate.clone()));
        (block, certificate)
    }
}

fn governance_blocks(w: &World) -> Vec<(Block, Vec<u8>)> {
    w.certified.iter().filter(|(b, _)| b.txs.iter().any(|t| matches!(t, LedgerTx::Governance(_)))).cloned().collect()
}

/// Block 1 admits bank-e, block 2 adds its validator (epoch 1 scheduled: five validators from sequence number
/// 49), block 3 at sequence number 60 is of epoch 1.
fn fifth_bank_joins() -> World {
    let mut w = World::new(71);
    let bank_e = TestMember::new("bank-e", MemberRole::Bank, Scheme::Ed25519, &mut w.rng);
    let admit = w.governance(Action::AdmitMember(bank_e.member.clone()), &["bank-a", "bank-b", "bank-c", "bank-d"]);
    w.commit(vec![admit], 1, 0);
    w.consortium.members.push(bank_e);
    let node = w.consortium.member_mut("bank-e").node("v1", NodeRole::Validator, &mut w.rng);
    let add = w.governance(
        Action::AddNode { certificate: node.certificate.clone() },
        &["bank-a", "bank-b", "bank-c", "bank-e"],
    );
    w.consortium.nodes.push(node);
    w.commit(vec![add], 2, 0);
    let next = w.chain.ledger.registry().next_epoch().cloned().expect("epoch 1 scheduled");
    assert_eq!((next.number, next.first_seq, next.validators.len()), (1, 49, 5));
    w.chain.ledger.note_consensus_seq(59);
    w.commit(Vec::new(), 60, 1);
    w
}

#[test]
fn the_tracker_follows_a_validator_change_that_the_genesis_check_refuses() {
    let w = fifth_bank_joins();
    let genesis = w.chain.ledger.genesis().clone();
    let (block_3, cert_3) = w.certified[2].clone();
    assert!(matches!(verify_block_certificate(&genesis, &block_3, &cert_3), Err(FinalityError::Invalid(_))));

    let mut tracker = EpochTracker::new(&genesis).unwrap();
    for (block, certificate) in governance_blocks(&w) {
        assert_eq!(tracker.follow(&block, &certificate).unwrap(), 1);
    }
    assert_eq!(tracker.schedule().latest(), 1);
    assert_eq!(tracker.schedule().first_seq(1), Some(49));
    tracker.verify(&block_3, &cert_3).expect("epoch 1's validators certify block 3");
    assert_eq!(tracker.epoch_for_seq(60).validators.len(), 5);
    assert_eq!(tracker.epoch_for_seq(48).validators.len(), 4);
    assert_eq!(tracker.registry().version(), 2);

    // Following block 3 too begins epoch 1, as the ledger did: the same registry, the same epochs.
    tracker.follow(&block_3, &cert_3).unwrap();
    assert_eq!(tracker.epochs(), w.chain.ledger.epochs().unwrap());
    assert!(tracker.registry() == w.chain.ledger.registry(), "the tracker's registry is the ledger's");
}

#[test]
fn a_skipped_governance_block_is_named_and_a_withheld_one_fails_closed() {
    let w = fifth_bank_joins();
    let genesis = w.chain.ledger.genesis().clone();
    let blocks = governance_blocks(&w);
    let (block_3, cert_3) = w.certified[2].clone();

    // Block 1 (bank-e's admission) skipped: block 2's proposal was approved against version 1.
    let mut skipping = EpochTracker::new(&genesis).unwrap();
    match skipping.follow(&blocks[1].0, &blocks[1].1) {
        Err(FinalityError::Governance { height: 2, index: 0, source }) => {
            assert!(matches!(source, GovernanceError::StaleProposal { proposed: 1, current: 0 }), "{source}")
        }
        other => panic!("expected the skipped block named, got {other:?}"),
    }
    assert_eq!(skipping.followed_height(), 0, "a refused block changes nothing");

    // Block 2 withheld: the tracker knows no epoch 1, and epoch 1's signatures do not verify as epoch 0's.
    let mut withheld = EpochTracker::new(&genesis).unwrap();
    withheld.follow(&blocks[0].0, &blocks[0].1).unwrap();
    assert!(matches!(withheld.verify(&block_3, &cert_3), Err(FinalityError::Invalid(_))));

    // Out of order: block 1 after block 2.
    let mut tracker = EpochTracker::new(&genesis).unwrap();
    tracker.follow(&blocks[0].0, &blocks[0].1).unwrap();
    tracker.follow(&blocks[1].0, &blocks[1].1).unwrap();
    assert!(matches!(tracker.follow(&blocks[0].0, &blocks[0].1), Err(FinalityError::OutOfOrder { height: 1, .. })));
}

#[test]
fn a_block_of_the_new_epoch_signed_in_the_old_epoch_is_refused() {
    let w = fifth_bank_joins();
    let genesis = w.chain.ledger.genesis().clone();
    let (block_3, _) = w.certified[2].clone();
    // The four genesis validators are validators 0..=3 of epoch 1 too: their four signatures are a quorum of
    // epoch 1 when they sign as epoch 1, and nothing when they sign as epoch 0.
    let old = w.chain.ledger.epochs().unwrap()[0].validators.clone();
    let as_epoch_0 = w.certify(&block_3, &old, 4, 0);
    let as_epoch_1 = w.certify(&block_3, &old, 4, 1);
    let mut tracker = EpochTracker::new(&genesis).unwrap();
    for (block, certificate) in governance_blocks(&w) {
        tracker.follow(&block, &certificate).unwrap();
    }
    assert_eq!(CommitCertificate::from_bytes(&as_epoch_0).unwrap().signatures.len(), 4);
    assert!(matches!(tracker.verify(&block_3, &as_epoch_0), Err(FinalityError::Invalid(_))));
    tracker.verify(&block_3, &as_epoch_1).expect("the same keys, signing in their epoch");
    // A certificate naming another sequence number than the header is refused before its signatures.
    let (block_2, cert_2) = governance_blocks(&w)[1].clone();
    let mut moved = block_2.clone();
    moved.header.seq = 3;
    assert!(matches!(tracker.verify(&moved, &cert_2), Err(FinalityError::WrongSeq { header: 3, certificate: 2 })));
}

#[test]
fn an_audit_key_rotation_changes_the_keys_reported_but_not_the_consensus_epoch() {
    let mut w = World::new(72);
    let new_auditor = AuditSecretKey::random(&mut w.rng);
    let rotate = w.governance(
        Action::RotateAuditKey { index: 0, key: new_auditor.public() },
        &["bank-a", "bank-b", "bank-c", "regulator"],
    );
    w.commit(vec![rotate], 1, 0);
    w.chain.ledger.note_consensus_seq(59);
    let (block_2, cert_2) = w.commit(Vec::new(), 60, 0);
    let genesis = w.chain.ledger.genesis().clone();
    let old_key = genesis.audit_keys[0];

    let mut tracker = EpochTracker::new(&genesis).unwrap();
    let (block_1, cert_1) = governance_blocks(&w)[0].clone();
    tracker.follow(&block_1, &cert_1).unwrap();
    assert_eq!(tracker.schedule().latest(), 0, "the same validators: the same consensus epoch");
    tracker.verify(&block_2, &cert_2).expect("still the genesis validators' signatures");
    assert_eq!(tracker.epoch_for_seq(1).audit_keys, vec![old_key]);
    assert_eq!(tracker.epoch_for_seq(60).audit_keys, vec![new_auditor.public()]);
    assert_eq!(tracker.epochs().len(), 2);
}

/// The snapshot's entries, owned (to rebuild it with another governance history).
fn entries(snapshot: &StateSnapshot) -> Vec<(Cf, Vec<u8>, Vec<u8>)> {
    snapshot.entries().map(|(cf, k, v)| (cf, k.to_vec(), v.to_vec())).collect()
}

#[test]
fn a_snapshot_after_a_validator_change_restores_through_its_governance_history_and_only_through_it() {
    let w = fifth_bank_joins();
    let genesis = w.chain.ledger.genesis().clone();
    let snapshot = w.chain.ledger.state_snapshot().unwrap();
    let history = w.chain.ledger.governance_history().unwrap();
    let certificates: Vec<Vec<u8>> = history.iter().map(|(_, c)| c.clone()).collect();
    assert_eq!(snapshot.governance.len(), 2);
    let (_, cert_3) = w.certified[2].clone();
    let dir = tempfile::tempdir().unwrap();
    let refused = |snapshot: &StateSnapshot, certificates: &[Vec<u8>], name: &str| -> String {
        let path = dir.path().join(name);
        match Ledger::restore_snapshot(&path, &genesis, snapshot, &cert_3, certificates) {
            Err(LedgerError::Snapshot(why)) => {
                assert!(!path.exists(), "a refused restore leaves nothing behind");
                why
            }
            other => panic!("expected the snapshot refused, got {:?}", other.map(|l| l.height())),
        }
    };

    // Without its history, block 3's certificate is of validators the genesis does not know.
    let bare = StateSnapshot::from_parts(snapshot.block.clone(), entries(&snapshot), Vec::new()).unwrap();
    let why = refused(&bare, &[], "bare");
    assert!(why.starts_with("block 3:"), "{why}");
    // Cut short after bank-e's admission: still no epoch 1.
    let short =
        StateSnapshot::from_parts(snapshot.block.clone(), entries(&snapshot), vec![history[0].0.clone()]).unwrap();
    let why = refused(&short, &certificates[..1], "short");
    assert!(why.starts_with("block 3:"), "{why}");
    // A governance block whose certificate is short of a quorum.
    let genesis_validators = w.chain.ledger.epochs().unwrap()[0].validators.clone();
    let weak = w.certify(&history[1].0, &genesis_validators, 2, 0);
    let why = refused(&snapshot, &[certificates[0].clone(), weak], "weak");
    assert!(why.starts_with("its governance block 2:"), "{why}");
    assert!(refused(&snapshot, &certificates[..1], "count").contains("2 governance blocks but 1 certificates"));

    // With it: restored, and serving the history on (its blocks, certificates and log).
    let restored =
        Ledger::restore_snapshot(&dir.path().join("ok"), &genesis, &snapshot, &cert_3, &certificates).unwrap();
    assert_eq!(restored.height(), 3);
    assert!(restored.registry() == w.chain.ledger.registry());
    assert_eq!(restored.governance_log().unwrap().len(), 2);
    let served = restored.governance_history().unwrap();
    assert_eq!(served, history);
    let mut tracker = EpochTracker::new(&genesis).unwrap();
    for (block, certificate) in &served {
        tracker.follow(block, certificate).unwrap();
    }
    tracker.verify(&restored.block(3).unwrap().unwrap(), &cert_3).unwrap();
    // And the next snapshot it takes carries the same history.
    assert_eq!(restored.state_snapshot().unwrap().digest(), snapshot.digest());
}
