//! The registry's state transitions: every governance action applied, and every refusal named and harmless.

use ctchain_codec::{Decode, Encode};
use ctchain_crypto::{AssetId, AuditSecretKey, SigningKey as IssuerKey};
use ctchain_governance::testing::{approved, TestConsortium, TestMember, NOW_MS, VALIDITY};
use ctchain_governance::{
    Action, Approval, AssetInfo, BlockContext, ConsensusParams, Founding, GovernanceError, GovernancePolicy,
    GovernanceTx, MemberRole, Proposal, Registry,
};
use ctchain_membership::{NodeRole, ValidityWindow};
use ctchain_sig::Scheme;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const CHAIN: &str = "governance-test";

struct World {
    rng: ChaCha20Rng,
    consortium: TestConsortium,
    registry: Registry,
    audit_key: ctchain_crypto::AuditPublicKey,
}

fn world(banks: usize) -> World {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let consortium = TestConsortium::new(banks, &mut rng);
    let audit_key = AuditSecretKey::random(&mut rng).public();
    let assets = vec![AssetInfo {
        id: AssetId::from_label("CNY"),
        label: "CNY".into(),
        decimals: 2,
        issuer: IssuerKey::random(&mut rng).public(),
    }];
    let registry = Registry::founding(Founding {
        scheme: Scheme::Ed25519,
        members: &consortium.public_members(),
        policy: GovernancePolicy::default(),
        nodes: &consortium.certificates(),
        validators: &consortium.validators(),
        audit_keys: &[audit_key],
        assets: &assets,
        channels: &[],
        consensus: &ConsensusParams::default(),
        time_ms: NOW_MS,
    })
    .expect("a valid founding");
    World { rng, consortium, registry, audit_key }
}

impl World {
    fn proposal(&self, action: Action) -> Proposal {
        Proposal { chain_id: CHAIN.into(), registry_version: self.registry.version(), action }
    }

    /// The proposal approved by the named members.
    fn tx(&self, action: Action, approvers: &[&str]) -> GovernanceTx {
        let members: Vec<&TestMember> = approvers.iter().map(|n| self.consortium.member(n)).collect();
        approved(self.proposal(action), &members)
    }

    fn apply_at(&mut self, tx: GovernanceTx, height: u64) -> Result<(), GovernanceError> {
        let verified = tx.verify(CHAIN)?;
        self.registry.apply(&verified, BlockContext { height, seq: height, time_ms: NOW_MS })
    }

    fn apply(&mut self, tx: GovernanceTx) -> Result<(), GovernanceError> {
        self.apply_at(tx, 5)
    }

    /// Applies and asserts the refusal, and that the registry did not change.
    fn refused(&mut self, tx: GovernanceTx) -> GovernanceError {
        let before = self.registry.clone();
        let err = self.apply(tx).expect_err("the transaction must be refused");
        assert_eq!(self.registry, before, "a refusal must change nothing ({err})");
        err
    }
}

const BANKS4: [&str; 4] = ["bank-a", "bank-b", "bank-c", "bank-d"];

#[test]
fn the_founding_registry_is_the_genesis_consortium() {
    let w = world(4);
    let r = &w.registry;
    assert_eq!(r.version(), 0);
    assert_eq!(r.members().len(), 5);
    assert_eq!(r.nodes().len(), 5);
    assert_eq!(r.epoch().number, 0);
    assert_eq!(r.epoch().validators, w.consortium.validators());
    assert_eq!(r.epoch().validators[0].name, "bank-a/v1");
    assert!(r.next_epoch().is_none());
    assert_eq!(r.node("regulator", "obs").map(|n| n.role), Some(NodeRole::Observer));
    let decoded = Registry::from_bytes(&r.to_bytes()).expect("decodes");
    assert_eq!(&decoded, r);
    assert_eq!(decoded.digest(), r.digest());
}

#[test]
fn a_founding_whose_validators_are_not_its_certified_nodes_is_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let c = TestConsortium::new(4, &mut rng);
    let mut validators = c.validators();
    validators.swap(0, 1);
    let err = Registry::founding(Founding {
        scheme: Scheme::Ed25519,
        members: &c.public_members(),
        policy: GovernancePolicy::default(),
        nodes: &c.certificates(),
        validators: &validators,
        audit_keys: &[],
        assets: &[],
        channels: &[],
        consensus: &ConsensusParams::default(),
        time_ms: NOW_MS,
    })
    .unwrap_err();
    assert!(matches!(err, GovernanceError::BadGenesis(_)), "{err}");
}

#[test]
fn a_fifth_bank_joins_and_its_validator_enters_at_the_epoch_boundary() {
    let mut w = world(4);
    let bank_e = TestMember::new("bank-e", MemberRole::Bank, Scheme::Ed25519, &mut w.rng);
    // Two thirds of five members: four approvals.
    w.apply(w.tx(Action::AdmitMember(bank_e.member.clone()), &["bank-a", "bank-b", "bank-c", "regulator"])).unwrap();
    assert_eq!(w.registry.version(), 1);
    assert!(w.registry.member("bank-e").is_some());
    w.consortium.members.push(bank_e);

    let node = w.consortium.member_mut("bank-e").node("v1", NodeRole::Validator, &mut w.rng);
    let certificate = node.certificate.clone();
    // Six members now: four approvals still suffice (⌈6·2/3⌉ = 4).
    w.apply_at(w.tx(Action::AddNode { certificate }, &["bank-a", "bank-b", "bank-e", "regulator"]), 20).unwrap();
    let record = w.registry.node("bank-e", "v1").expect("registered at once");
    assert_eq!(record.added_height, 20);
    assert_eq!(w.registry.epoch().validators.len(), 4, "the current epoch is unchanged");
    let next = w.registry.next_epoch().expect("a pending epoch").clone();
    assert_eq!(next.validators.len(), 5);
    assert_eq!(next.validators[4], node.validator_info());
    // The first checkpoint at least a window (32) above sequence number 20, with checkpoints every 16: 64.
    assert_eq!(next.first_seq, 65);
    assert_eq!(next.number, 1);

    assert!(!w.registry.begin_block(64));
    assert_eq!(w.registry.epoch().number, 0);
    assert!(w.registry.begin_block(65));
    assert_eq!(w.registry.epoch(), &next);
    assert!(w.registry.next_epoch().is_none());
}

#[test]
fn a_proposal_short_of_approvals_is_refused_and_changes_nothing() {
    let mut w = world(4);
    let bank_e = TestMember::new("bank-e", MemberRole::Bank, Scheme::Ed25519, &mut w.rng);
    let err = w.refused(w.tx(Action::AdmitMember(bank_e.member.clone()), &["bank-a", "bank-b", "bank-c"]));
    assert_eq!(err, GovernanceError::NotEnoughApprovals { action: "admit-member", found: 3, required: 4 });
}

#[test]
fn a_forged_admin_signature_is_refused_before_the_registry_is_read() {
    let mut w = world(4);
    let mut tx = w.tx(Action::RemoveNode { member: "regulator".into(), node: "obs".into() }, &BANKS4);
    // bank-b's approval, its signature replaced by one over another proposal.
    let other = w.proposal(Action::RemoveMember { member: "bank-d".into() });
    tx.approvals[1].signature = w.consortium.member("bank-b").approve(&other).signature;
    let err = w.refused(tx);
    assert!(matches!(err, GovernanceError::BadApprovalSignature { ref member, .. } if member == "bank-b"), "{err}");
}

#[test]
fn an_approval_by_a_key_that_is_not_the_members_admin_key_is_refused() {
    let mut w = world(4);
    let mut tx = w.tx(Action::RemoveNode { member: "regulator".into(), node: "obs".into() }, &BANKS4);
    // A valid signature, made by bank-c's CA key instead of its admin key.
    let c = w.consortium.member("bank-c");
    tx.approvals[2] = Approval::sign(&tx.id(), "bank-c", c.ca_key.as_ref());
    assert_eq!(w.refused(tx), GovernanceError::NotAnAdminKey("bank-c".into()));
}

#[test]
fn an_approval_naming_an_unknown_member_is_refused() {
    let mut w = world(4);
    let outsider = TestMember::new("bank-z", MemberRole::Bank, Scheme::Ed25519, &mut w.rng);
    let mut tx = w.tx(Action::RemoveNode { member: "regulator".into(), node: "obs".into() }, &BANKS4);
    tx.add_approval(outsider.approve(&tx.proposal));
    assert_eq!(w.refused(tx), GovernanceError::UnknownMember("bank-z".into()));
}

#[test]
fn approvals_out_of_member_order_are_refused() {
    let mut w = world(4);
    let mut tx = w.tx(Action::RemoveNode { member: "regulator".into(), node: "obs".into() }, &BANKS4);
    tx.approvals.swap(0, 1);
    assert!(matches!(w.refused(tx), GovernanceError::ApprovalsOutOfOrder(_)));
}

#[test]
fn a_stale_or_replayed_proposal_is_refused() {
    let mut w = world(4);
    let tx = w.tx(Action::RemoveNode { member: "regulator".into(), node: "obs".into() }, &BANKS4);
    w.apply(tx.clone()).unwrap();
    assert!(w.registry.node("regulator", "obs").is_none(), "an observer leaves at once");
    assert_eq!(w.refused(tx), GovernanceError::StaleProposal { proposed: 0, current: 1 });
}

#[test]
fn a_proposal_for_another_chain_is_refused() {
    let mut w = world(4);
    let mut tx = w.tx(Action::RemoveMember { member: "bank-d".into() }, &BANKS4);
    tx.proposal.chain_id = "other".into();
    assert!(matches!(w.refused(tx), GovernanceError::WrongChain { .. }));
}

#[test]
fn removing_a_validator_that_would_leave_fewer_than_four_is_refused() {
    let mut w = world(4);
    let err = w.refused(w.tx(Action::RemoveNode { member: "bank-d".into(), node: "v1".into() }, &BANKS4));
    assert_eq!(err, GovernanceError::TooFewValidators { remaining: 3, minimum: 4 });
    let err = w.refused(w.tx(Action::RemoveMember { member: "bank-d".into() }, &BANKS4));
    assert_eq!(err, GovernanceError::TooFewValidators { remaining: 3, minimum: 4 });
}

#[test]
fn a_removed_validator_serves_until_its_epoch_ends() {
    let mut w = world(5);
    let approvers = ["bank-a", "bank-b", "bank-c", "bank-d"];
    w.apply_at(w.tx(Action::RemoveNode { member: "bank-e".into(), node: "v1".into() }, &approvers), 40).unwrap();
    let node = w.registry.node("bank-e", "v1").expect("still admitted");
    assert_eq!(node.leaving_since, Some(40));
    assert_eq!(w.registry.epoch().validators.len(), 5);
    let next = w.registry.next_epoch().unwrap().clone();
    assert_eq!(next.validators.len(), 4);
    assert!(next.validators.iter().all(|v| v.name != "bank-e/v1"));
    assert!(w.registry.begin_block(next.first_seq));
    assert!(w.registry.node("bank-e", "v1").is_none(), "gone with its epoch");
}

#[test]
fn a_member_revokes_its_own_nodes_certificate_alone_and_the_node_is_out_at_once() {
    let mut w = world(4);
    let serial = w.registry.node("regulator", "obs").unwrap().serial.clone();
    w.apply(w.tx(Action::RevokeCertificate { member: "regulator".into(), serial: serial.clone() }, &["regulator"]))
        .unwrap();
    assert!(w.registry.node("regulator", "obs").is_none());
    assert!(w.registry.is_revoked("regulator", &serial));
    // The same certificate cannot come back.
    let certificate = w.consortium.nodes[4].certificate.clone();
    let err = w.refused(w.tx(Action::AddNode { certificate }, &BANKS4));
    assert!(matches!(err, GovernanceError::Certificate(ref why) if why.contains("revoked")), "{err}");
    // And revoking it again is named.
    let err = w.refused(w.tx(Action::RevokeCertificate { member: "regulator".into(), serial }, &["regulator"]));
    assert!(matches!(err, GovernanceError::AlreadyRevoked { .. }), "{err}");
}

#[test]
fn another_members_certificate_needs_the_revocation_rule() {
    let mut w = world(4);
    let serial = w.registry.node("regulator", "obs").unwrap().serial.clone();
    // A third of five: two approvals, bank-a alone is short.
    let err =
        w.refused(w.tx(Action::RevokeCertificate { member: "regulator".into(), serial: serial.clone() }, &["bank-a"]));
    assert_eq!(err, GovernanceError::NotEnoughApprovals { action: "revoke-certificate", found: 1, required: 2 });
    w.apply(w.tx(Action::RevokeCertificate { member: "regulator".into(), serial }, &["bank-a", "bank-b"])).unwrap();
}

#[test]
fn certificates_from_an_unknown_ca_expired_or_of_another_scheme_are_refused() {
    let mut w = world(4);
    let mut outsider = TestMember::new("bank-z", MemberRole::Bank, Scheme::Ed25519, &mut w.rng);
    let foreign = outsider.node("v1", NodeRole::Validator, &mut w.rng).certificate;
    let err = w.refused(w.tx(Action::AddNode { certificate: foreign }, &BANKS4));
    assert!(matches!(err, GovernanceError::Certificate(ref why) if why.contains("no member CA")), "{err}");

    let expired_window = ValidityWindow { not_before: VALIDITY.not_before, not_after: NOW_MS / 1000 - 1 };
    let expired =
        w.consortium.member_mut("bank-a").node_with_window("v2", NodeRole::Validator, expired_window, &mut w.rng);
    let err = w.refused(w.tx(Action::AddNode { certificate: expired.certificate }, &BANKS4));
    assert!(matches!(err, GovernanceError::Certificate(ref why) if why.contains("expired")), "{err}");

    // An SM2 member (admitted: its CA is valid) cannot put an SM2 validator on an Ed25519 chain.
    let mut sm2 = TestMember::new("bank-s", MemberRole::Bank, Scheme::Sm2, &mut w.rng);
    w.apply(w.tx(Action::AdmitMember(sm2.member.clone()), &["bank-a", "bank-b", "bank-c", "bank-d"])).unwrap();
    let node = sm2.node("v1", NodeRole::Validator, &mut w.rng);
    let tx = w.tx(Action::AddNode { certificate: node.certificate }, &["bank-a", "bank-b", "bank-c", "bank-d"]);
    assert_eq!(w.refused(tx), GovernanceError::WrongScheme { expected: Scheme::Ed25519, found: Scheme::Sm2 });
}

#[test]
fn a_node_reusing_another_nodes_key_is_refused() {
    let mut w = world(4);
    // bank-a certifies a second node with bank-b's validator keys.
    let stolen = w.consortium.nodes[1].identity.clone();
    let identity = ctchain_membership::NodeIdentity { name: "v2".into(), ..stolen };
    let a = w.consortium.member("bank-a");
    let certificate = a.ca.issue_node(a.ca_key.as_ref(), &identity, 99, VALIDITY).unwrap();
    let err = w.refused(w.tx(Action::AddNode { certificate }, &BANKS4));
    assert!(matches!(err, GovernanceError::KeyInUse { what: "network", ref by } if by == "bank-b/v1"), "{err}");
}

#[test]
fn rotating_a_validators_keys_revokes_the_old_certificate_and_changes_the_next_epoch() {
    let mut w = world(4);
    let old_serial = w.registry.node("bank-c", "v1").unwrap().serial.clone();
    let new = w.consortium.member_mut("bank-c").node("v1", NodeRole::Validator, &mut w.rng);
    w.apply(w.tx(Action::RotateNodeKeys { certificate: new.certificate.clone() }, &BANKS4)).unwrap();
    assert!(w.registry.is_revoked("bank-c", &old_serial));
    let record = w.registry.node("bank-c", "v1").unwrap();
    assert_eq!(record.network_key, new.identity.network_key);
    assert_eq!(record.added_height, 0);
    assert_eq!(w.registry.epoch().validators[2], w.consortium.nodes[2].validator_info(), "the old keys vote on");
    assert_eq!(w.registry.next_epoch().unwrap().validators[2], new.validator_info());

    let observer = w.consortium.member_mut("bank-c").node("v1", NodeRole::Observer, &mut w.rng);
    let err = w.refused(w.tx(Action::RotateNodeKeys { certificate: observer.certificate }, &BANKS4));
    assert_eq!(err, GovernanceError::RoleChange("validator"));
}

#[test]
fn audit_keys_change_with_the_regulators_approval_from_the_next_epoch() {
    let mut w = world(4);
    let new_key = AuditSecretKey::random(&mut w.rng).public();
    let rotate = Action::RotateAuditKey { index: 0, key: new_key };
    let err = w.refused(w.tx(rotate.clone(), &BANKS4));
    assert_eq!(err, GovernanceError::RegulatorApprovalRequired("rotate-audit-key"));
    w.apply(w.tx(rotate, &["bank-a", "bank-b", "bank-c", "regulator"])).unwrap();
    assert_eq!(w.registry.epoch().audit_keys, vec![w.audit_key], "outputs until the boundary use the old key");
    assert_eq!(w.registry.next_epoch().unwrap().audit_keys, vec![new_key]);

    let approvers = ["bank-a", "bank-b", "bank-c", "regulator"];
    let err = w.refused(w.tx(Action::RetireAuditKey { index: 0 }, &approvers));
    assert_eq!(err, GovernanceError::LastAuditKey);
    let err = w.refused(w.tx(Action::AddAuditKey(new_key), &approvers));
    assert_eq!(err, GovernanceError::AuditKeyExists);
    let second = AuditSecretKey::random(&mut w.rng).public();
    w.apply(w.tx(Action::AddAuditKey(second), &approvers)).unwrap();
    w.apply(w.tx(Action::RetireAuditKey { index: 0 }, &approvers)).unwrap();
    assert_eq!(w.registry.next_epoch().unwrap().audit_keys, vec![second]);
    let err = w.refused(w.tx(Action::RotateAuditKey { index: 3, key: new_key }, &approvers));
    assert_eq!(err, GovernanceError::UnknownAuditKey(3));
}

#[test]
fn assets_are_listed_and_their_issuers_rotated() {
    let mut w = world(4);
    let usd = AssetInfo {
        id: AssetId::from_label("USD"),
        label: "USD".into(),
        decimals: 2,
        issuer: IssuerKey::random(&mut w.rng).public(),
    };
    w.apply(w.tx(Action::ListAsset(usd.clone()), &BANKS4)).unwrap();
    assert_eq!(w.registry.asset(&usd.id), Some(&usd));
    let err = w.refused(w.tx(Action::ListAsset(usd.clone()), &BANKS4));
    assert_eq!(err, GovernanceError::AssetExists(usd.id));
    let issuer = IssuerKey::random(&mut w.rng).public();
    w.apply(w.tx(Action::RotateIssuer { asset: usd.id, issuer }, &BANKS4)).unwrap();
    assert_eq!(w.registry.asset(&usd.id).unwrap().issuer, issuer);
    let gold = AssetId::from_label("XAU");
    let err = w.refused(w.tx(Action::RotateIssuer { asset: gold, issuer }, &BANKS4));
    assert_eq!(err, GovernanceError::UnknownAsset(gold));
    let mislabelled = AssetInfo { label: "EUR".into(), ..usd };
    assert!(matches!(w.refused(w.tx(Action::ListAsset(mislabelled), &BANKS4)), GovernanceError::BadAsset(_)));
}

#[test]
fn consensus_parameters_change_from_the_next_epoch_and_are_range_checked() {
    let mut w = world(4);
    let params = ConsensusParams { max_block_txs: 500, view_timeout_ms: 3_000, ..ConsensusParams::default() };
    w.apply(w.tx(Action::SetConsensusParams(params.clone()), &BANKS4)).unwrap();
    assert_eq!(w.registry.epoch().consensus, ConsensusParams::default());
    assert_eq!(w.registry.next_epoch().unwrap().consensus, params);
    let bad = ConsensusParams { window: 8, ..ConsensusParams::default() };
    let err = w.refused(w.tx(Action::SetConsensusParams(bad), &BANKS4));
    assert!(matches!(err, GovernanceError::BadConsensusParams(_)), "{err}");
}

#[test]
fn a_later_change_joins_the_scheduled_epoch_without_moving_it_and_validator_changes_wait_for_it() {
    let mut w = world(5);
    let approvers = ["bank-a", "bank-b", "bank-c", "bank-d"];
    w.apply_at(w.tx(Action::RemoveNode { member: "bank-e".into(), node: "v1".into() }, &approvers), 10).unwrap();
    let scheduled = w.registry.next_epoch().unwrap().clone();
    assert_eq!((scheduled.first_seq, scheduled.decided_seq), (49, 10));
    // Consensus was told epoch 1's start and validators after block 10: a parameter change joins it as it is.
    let params = ConsensusParams { max_block_txs: 10, ..ConsensusParams::default() };
    w.apply_at(w.tx(Action::SetConsensusParams(params.clone()), &approvers), 30).unwrap();
    let next = w.registry.next_epoch().unwrap().clone();
    assert_eq!((next.first_seq, next.decided_seq, next.number), (49, 10, 1));
    assert_eq!(next.validators, scheduled.validators);
    assert_eq!(next.consensus, params);
    // A change of its validators is refused until it has begun, with when to try again.
    let bank_a_node = w.consortium.member_mut("bank-a").node("v2", NodeRole::Validator, &mut w.rng);
    let add = w.tx(Action::AddNode { certificate: bank_a_node.certificate.clone() }, &approvers);
    let verified = add.verify(CHAIN).unwrap();
    let before = w.registry.clone();
    let err = w.registry.apply(&verified, BlockContext { height: 31, seq: 31, time_ms: NOW_MS }).unwrap_err();
    assert_eq!(err, GovernanceError::ValidatorChangePending { epoch: 1, first_seq: 49 });
    assert_eq!(w.registry, before, "a refused change changes nothing");
    assert!(err.to_string().contains("sequence number 49"), "{err}");
    // Once epoch 1 has begun, the same change schedules epoch 2 a window above it.
    assert!(w.registry.begin_block(52), "the first block of an epoch may lie above its first sequence number");
    assert_eq!(w.registry.epoch().number, 1);
    w.apply_at(w.tx(Action::AddNode { certificate: bank_a_node.certificate }, &approvers), 60).unwrap();
    let next = w.registry.next_epoch().unwrap();
    assert_eq!((next.number, next.first_seq, next.decided_seq), (2, 97, 60));
}

#[test]
fn changes_in_one_block_schedule_one_epoch() {
    let mut w = world(5);
    let approvers = ["bank-a", "bank-b", "bank-c", "bank-d"];
    w.apply_at(w.tx(Action::RemoveNode { member: "bank-e".into(), node: "v1".into() }, &approvers), 10).unwrap();
    let node = w.consortium.member_mut("bank-a").node("v2", NodeRole::Validator, &mut w.rng);
    // The same block: consensus hears of the epoch only after it, so both changes make it.
    w.apply_at(w.tx(Action::AddNode { certificate: node.certificate.clone() }, &approvers), 10).unwrap();
    let next = w.registry.next_epoch().unwrap();
    assert_eq!((next.number, next.first_seq), (1, 49));
    assert!(next.validators.iter().any(|v| v == &node.validator_info()));
    assert!(next.validators.iter().all(|v| v.name != "bank-e/v1"));
}

#[test]
fn the_checkpoint_interval_and_window_are_fixed() {
    let mut w = world(4);
    for params in [
        ConsensusParams { window: 48, ..ConsensusParams::default() },
        ConsensusParams { checkpoint_interval: 8, ..ConsensusParams::default() },
    ] {
        let err = w.refused(w.tx(Action::SetConsensusParams(params), &BANKS4));
        assert!(matches!(err, GovernanceError::FixedConsensusParam { .. }), "{err}");
    }
}

#[test]
fn governance_transactions_round_trip_and_bind_their_content() {
    let w = world(4);
    let tx = w.tx(Action::RemoveNode { member: "regulator".into(), node: "obs".into() }, &BANKS4);
    let bytes = tx.to_bytes();
    assert_eq!(GovernanceTx::from_bytes(&bytes).unwrap(), tx);
    let other = w.tx(Action::RemoveNode { member: "regulator".into(), node: "obs2".into() }, &BANKS4);
    assert_ne!(other.id(), tx.id());
    // Approvals are not part of the id: collecting them does not change what is signed.
    let fewer = w.tx(Action::RemoveNode { member: "regulator".into(), node: "obs".into() }, &["bank-a"]);
    assert_eq!(fewer.id(), tx.id());
    let mut truncated = bytes.clone();
    truncated.pop();
    assert!(GovernanceTx::from_bytes(&truncated).is_err());
}

#[test]
fn a_chain_without_members_has_no_governance() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let c = TestConsortium::new(4, &mut rng);
    let mut registry = Registry::founding(Founding {
        scheme: Scheme::Ed25519,
        members: &[],
        policy: GovernancePolicy::default(),
        nodes: &[],
        validators: &c.validators(),
        audit_keys: &[],
        assets: &[],
        channels: &[],
        consensus: &ConsensusParams::default(),
        time_ms: NOW_MS,
    })
    .unwrap();
    let proposal = Proposal {
        chain_id: CHAIN.into(),
        registry_version: 0,
        action: Action::RemoveMember { member: "bank-a".into() },
    };
    let tx = approved(proposal, &[c.member("bank-a")]).verify(CHAIN).unwrap();
    assert_eq!(
        registry.apply(&tx, BlockContext { height: 1, seq: 1, time_ms: NOW_MS }),
        Err(GovernanceError::NoGovernance)
    );
}

fn channel(id: &str, members: &[&str], regulator_required: bool) -> ctchain_governance::Channel {
    ctchain_governance::Channel {
        id: id.into(),
        genesis: ctchain_codec::Hash32([9; 32]),
        members: members.iter().map(|m| m.to_string()).collect(),
        regulator_required,
    }
}

#[test]
fn a_channel_is_decided_by_every_member_it_will_have_and_nobody_else() {
    let mut w = world(6);
    let x = channel("x", &["bank-a", "bank-b", "bank-c", "bank-d", "regulator"], true);
    // Five of seven members is more than any policy share, but bank-d did not consent: refused, by name.
    let err = w.refused(
        w.tx(Action::CreateChannel(x.clone()), &["bank-a", "bank-b", "bank-c", "bank-e", "bank-f", "regulator"]),
    );
    assert!(matches!(&err, GovernanceError::ChannelApprovalMissing { member, .. } if member == "bank-d"), "{err}");
    w.apply(w.tx(Action::CreateChannel(x.clone()), &["bank-a", "bank-b", "bank-c", "bank-d", "regulator"])).unwrap();
    assert_eq!(w.registry.channel("x"), Some(&x));
    let err = w.refused(w.tx(Action::CreateChannel(x.clone()), &["bank-a", "bank-b", "bank-c", "bank-d", "regulator"]));
    assert!(matches!(err, GovernanceError::ChannelExists(_)), "{err}");

    // Bank-e joins: it and every current member approve; without bank-e's own consent it cannot be put in.
    let joined: Vec<String> =
        ["bank-a", "bank-b", "bank-c", "bank-d", "bank-e", "regulator"].iter().map(|m| m.to_string()).collect();
    let join = Action::SetChannelMembers { channel: "x".into(), members: joined.clone() };
    let err = w.refused(w.tx(join.clone(), &["bank-a", "bank-b", "bank-c", "bank-d", "regulator"]));
    assert!(matches!(&err, GovernanceError::ChannelApprovalMissing { member, .. } if member == "bank-e"), "{err}");
    w.apply(w.tx(join, &["bank-a", "bank-b", "bank-c", "bank-d", "bank-e", "regulator"])).unwrap();
    assert!(w.registry.channel("x").unwrap().has_member("bank-e"));

    // The required regulator cannot be taken out, whoever approves.
    let without_regulator = Action::SetChannelMembers {
        channel: "x".into(),
        members: ["bank-a", "bank-b", "bank-c", "bank-d", "bank-e"].iter().map(|m| m.to_string()).collect(),
    };
    let err = w.refused(w.tx(without_regulator, &["bank-a", "bank-b", "bank-c", "bank-d", "bank-e", "regulator"]));
    assert!(matches!(&err, GovernanceError::BadChannel { reason, .. } if reason.contains("regulator")), "{err}");

    // A member in a channel cannot leave the consortium before it leaves the channel.
    let err = w.refused(w.tx(
        Action::RemoveMember { member: "bank-e".into() },
        &["bank-a", "bank-b", "bank-c", "bank-d", "bank-f", "regulator"],
    ));
    assert!(matches!(&err, GovernanceError::BadMember { reason, .. } if reason.contains("channel")), "{err}");

    // Unknown members and unknown channels are named.
    let err = w.refused(w.tx(Action::CreateChannel(channel("y", &["bank-a", "bank-z"], false)), &["bank-a"]));
    assert!(matches!(&err, GovernanceError::ChannelApprovalMissing { member, .. } if member == "bank-z"), "{err}");
    let err = w.refused(w.tx(
        Action::SetChannelMembers { channel: "nope".into(), members: vec!["bank-a".into(), "bank-b".into()] },
        &["bank-a", "bank-b"],
    ));
    assert!(matches!(err, GovernanceError::UnknownChannel(_)), "{err}");
}

#[test]
fn channels_are_checked_on_their_own_and_survive_the_registry_encoding() {
    let mut w = world(4);
    for (bad, why) in [
        (channel("x", &["bank-a"], false), "at least two"),
        (channel("x", &["bank-b", "bank-a"], false), "sorted"),
        (channel("X", &["bank-a", "bank-b"], false), "name"),
    ] {
        let err = Action::CreateChannel(bad).check_form().unwrap_err();
        assert!(matches!(&err, GovernanceError::BadChannel { .. }) && err.to_string().contains(why), "{err}");
    }
    let err = w.refused(w.tx(Action::CreateChannel(channel("x", &["bank-a", "bank-b"], true)), &["bank-a", "bank-b"]));
    assert!(err.to_string().contains("requires a regulator"), "{err}");
    w.apply(w.tx(Action::CreateChannel(channel("bilateral", &["bank-a", "bank-b"], false)), &["bank-a", "bank-b"]))
        .unwrap();
    let back = Registry::from_bytes(&w.registry.to_bytes()).unwrap();
    assert_eq!(back, w.registry);
    assert_eq!(back.channels().len(), 1);
}
