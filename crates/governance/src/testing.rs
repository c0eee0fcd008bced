//! Generated consortia for tests (feature `testing`): member CAs, admin keys and node certificates made with the
//! real certificate code, so tests exercise exactly what a deployment runs.

use ctchain_membership::{MemberCa, NodeIdentity, NodeRole, ValidityWindow};
use ctchain_sig::{Scheme, SigningKey};
use rand_core::CryptoRngCore;

use crate::{Approval, GovernanceTx, Member, MemberRole, Proposal, ValidatorInfo};

/// Certificates are valid from 2023-11 to 2030-03 (Unix seconds).
pub const VALIDITY: ValidityWindow = ValidityWindow { not_before: 1_700_000_000, not_after: 1_900_000_000 };
/// A time inside [`VALIDITY`], Unix milliseconds.
pub const NOW_MS: u64 = 1_800_000_000_000;

/// A member with its secrets.
pub struct TestMember {
    /// The public member.
    pub member: Member,
    /// Its CA.
    pub ca: MemberCa,
    /// The CA's key.
    pub ca_key: Box<dyn SigningKey>,
    /// Its (one) admin key.
    pub admin: Box<dyn SigningKey>,
    next_serial: u64,
}

/// A node with its secrets.
pub struct TestNode {
    /// Its certificate, DER.
    pub certificate: Vec<u8>,
    /// Its identity.
    pub identity: NodeIdentity,
    /// Its member.
    pub member: String,
    /// Its consensus key.
    pub consensus: Box<dyn SigningKey>,
    /// Its network key.
    pub network: Box<dyn SigningKey>,
}

impl TestNode {
    /// The validator entry it makes.
    pub fn validator_info(&self) -> ValidatorInfo {
        ValidatorInfo {
            name: format!("{}/{}", self.member, self.identity.name),
            consensus_key: self.identity.consensus_key.as_bytes().try_into().expect("an Ed25519 key"),
            network_key: self.identity.network_key,
        }
    }
}

impl TestMember {
    /// A member of `role` whose CA and admin keys are of `scheme`.
    pub fn new(name: &str, role: MemberRole, scheme: Scheme, rng: &mut dyn CryptoRngCore) -> Self {
        let ca_key = scheme.generate(rng);
        let admin = scheme.generate(rng);
        let ca = MemberCa::issue(name, ca_key.as_ref(), VALIDITY).expect("a valid CA");
        let member = Member {
            name: name.to_owned(),
            role,
            ca_certificate: ca.der().to_vec(),
            admin_keys: vec![admin.public_key()],
        };
        Self { member, ca, ca_key, admin, next_serial: 1 }
    }

    /// A node certificate of this member (fresh keys, the next serial), valid over `window`.
    pub fn node_with_window(
        &mut self,
        name: &str,
        role: NodeRole,
        window: ValidityWindow,
        rng: &mut dyn CryptoRngCore,
    ) -> TestNode {
        let consensus = self.ca_key.scheme().generate(rng);
        let network = Scheme::Ed25519.generate(rng);
        let identity = NodeIdentity {
            name: name.to_owned(),
            role,
            network_key: network.public_key().as_bytes().try_into().expect("32 bytes"),
            consensus_key: consensus.public_key(),
        };
        self.next_serial += 1;
        let certificate =
            self.ca.issue_node(self.ca_key.as_ref(), &identity, self.next_serial, window).expect("a valid certificate");
        TestNode { certificate, identity, member: self.member.name.clone(), consensus, network }
    }

    /// A node certificate valid over [`VALIDITY`].
    pub fn node(&mut self, name: &str, role: NodeRole, rng: &mut dyn CryptoRngCore) -> TestNode {
        self.node_with_window(name, role, VALIDITY, rng)
    }

    /// This member's approval of `proposal`.
    pub fn approve(&self, proposal: &Proposal) -> Approval {
        Approval::sign(&proposal.id(), &self.member.name, self.admin.as_ref())
    }
}

/// A proposal approved by `approvers`.
pub fn approved(proposal: Proposal, approvers: &[&TestMember]) -> GovernanceTx {
    let mut tx = GovernanceTx { approvals: Vec::new(), proposal };
    for m in approvers {
        tx.add_approval(m.approve(&tx.proposal));
    }
    tx
}

/// A consortium of banks `bank-a`, `bank-b`, … (one validator `v1` each) and a regulator `regulator` (one
/// observer `obs`), all Ed25519.
pub struct TestConsortium {
    /// The banks, then the regulator.
    pub members: Vec<TestMember>,
    /// The founding nodes: the validators in bank order, then the regulator's observer.
    pub nodes: Vec<TestNode>,
}

impl TestConsortium {
    /// `banks` banks with a validator each, and the regulator with an observer.
    pub fn new(banks: usize, rng: &mut dyn CryptoRngCore) -> Self {
        let mut members: Vec<TestMember> = (0..banks)
            .map(|i| {
                TestMember::new(&format!("bank-{}", (b'a' + i as u8) as char), MemberRole::Bank, Scheme::Ed25519, rng)
            })
            .collect();
        members.push(TestMember::new("regulator", MemberRole::Regulator, Scheme::Ed25519, rng));
        let mut nodes: Vec<TestNode> =
            members[..banks].iter_mut().map(|m| m.node("v1", NodeRole::Validator, rng)).collect();
        nodes.push(members[banks].node("obs", NodeRole::Observer, rng));
        Self { members, nodes }
    }

    /// The public members.
    pub fn public_members(&self) -> Vec<Member> {
        self.members.iter().map(|m| m.member.clone()).collect()
    }

    /// The founding nodes' certificates.
    pub fn certificates(&self) -> Vec<Vec<u8>> {
        self.nodes.iter().map(|n| n.certificate.clone()).collect()
    }

    /// The founding validators.
    pub fn validators(&self) -> Vec<ValidatorInfo> {
        self.nodes.iter().filter(|n| n.identity.role == NodeRole::Validator).map(TestNode::validator_info).collect()
    }

    /// The member of this name.
    pub fn member(&self, name: &str) -> &TestMember {
        self.members.iter().find(|m| m.member.name == name).expect("a member of the consortium")
    }

    /// The member of this name, mutable (to issue certificates).
    pub fn member_mut(&mut self, name: &str) -> &mut TestMember {
        self.members.iter_mut().find(|m| m.member.name == name).expect("a member of the consortium")
    }
}
