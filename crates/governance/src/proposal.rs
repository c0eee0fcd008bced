//! Governance transactions: a proposal (an action against one registry version), approved by members' admin
//! signatures, and its stateless checks.

use ctchain_codec::{Decode, DecodeError, Encode, Reader, Sm3Hasher, Writer};
use ctchain_crypto::{AssetId, AuditPublicKey, Point, TxId};
use ctchain_membership::check_name;
use ctchain_sig::{PublicKey, Signature, SigningKey};

use crate::error::GovernanceError;
use crate::policy::{ActionClass, GovernancePolicy};
use crate::types::{
    check_admin_keys, check_channel_members, AssetInfo, Channel, ConsensusParams, Member, MAX_ADMIN_KEYS,
    MAX_CERTIFICATE_BYTES,
};

/// Most approvals one transaction carries (one per member at most).
pub const MAX_APPROVALS: usize = crate::registry::MAX_MEMBERS;
/// Longest certificate serial number, in bytes (RFC 5280 4.1.2.2: at most 20 octets).
pub const MAX_SERIAL_BYTES: usize = 20;

/// What a governance transaction changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// A new member organisation, with its CA certificate and admin keys.
    AdmitMember(Member),
    /// A member leaves; its nodes go with it (a validator at the end of its epoch).
    RemoveMember {
        /// The member.
        member: String,
    },
    /// Replaces a member's admin keys (a compromised or lost admin key).
    SetMemberAdmins {
        /// The member.
        member: String,
        /// Its new admin keys.
        admin_keys: Vec<PublicKey>,
    },
    /// Replaces the governance policy.
    SetPolicy(GovernancePolicy),
    /// Registers a node by its certificate (issued by a member's CA); a validator joins the next epoch's set.
    AddNode {
        /// The node certificate, DER.
        certificate: Vec<u8>,
    },
    /// Removes a node (a validator stays until the end of its epoch).
    RemoveNode {
        /// Its member.
        member: String,
        /// Its name.
        node: String,
    },
    /// Replaces a node's certificate (and so its keys) by a new one of the same member, name and role; the old
    /// certificate is revoked.
    RotateNodeKeys {
        /// The new certificate, DER.
        certificate: Vec<u8>,
    },
    /// Puts a certificate on the revocation list; the node it certified is cut off at once.
    RevokeCertificate {
        /// The issuing member.
        member: String,
        /// Its serial number (DER integer bytes).
        serial: Vec<u8>,
    },
    /// Lists a new asset with its issuer key.
    ListAsset(AssetInfo),
    /// Replaces an asset's issuer key.
    RotateIssuer {
        /// The asset.
        asset: AssetId,
        /// The new issuer key.
        issuer: Point,
    },
    /// Adds an audit key (from the next epoch, every output carries a proven copy for it).
    AddAuditKey(AuditPublicKey),
    /// Replaces the audit key at `index` (from the next epoch).
    RotateAuditKey {
        /// Its index in the key set.
        index: u32,
        /// The new key.
        key: AuditPublicKey,
    },
    /// Retires the audit key at `index` (from the next epoch); the others keep their order.
    RetireAuditKey {
        /// Its index in the key set.
        index: u32,
    },
    /// New consensus parameters (from the next epoch).
    SetConsensusParams(ConsensusParams),
    /// Registers a private channel: its id, the hash of its genesis, its members. Every member of the channel
    /// must approve (not the policy's share of the consortium: the members concerned decide).
    CreateChannel(Channel),
    /// Changes who is in a channel. Every member the channel will have must approve (a joining member consents; a
    /// leaving one cannot keep itself in); a required regulator cannot be removed.
    SetChannelMembers {
        /// The channel.
        channel: String,
        /// Its members from now on, sorted and distinct.
        members: Vec<String>,
    },
}

impl Action {
    /// The class whose rule approves it.
    pub fn class(&self) -> ActionClass {
        match self {
            Action::AdmitMember(_) | Action::RemoveMember { .. } | Action::SetMemberAdmins { .. } => {
                ActionClass::Membership
            }
            Action::SetPolicy(_) => ActionClass::Membership,
            Action::AddNode { .. } | Action::RemoveNode { .. } | Action::RotateNodeKeys { .. } => ActionClass::Nodes,
            Action::RevokeCertificate { .. } => ActionClass::Revocation,
            Action::ListAsset(_) | Action::RotateIssuer { .. } => ActionClass::Assets,
            Action::AddAuditKey(_) | Action::RotateAuditKey { .. } | Action::RetireAuditKey { .. } => {
                ActionClass::AuditKeys
            }
            Action::SetConsensusParams(_) => ActionClass::Consensus,
            // Counted by the channel's own members, not by a class rule (`Registry::apply`).
            Action::CreateChannel(_) | Action::SetChannelMembers { .. } => ActionClass::Membership,
        }
    }

    /// Its name on the command line and in listings.
    pub fn name(&self) -> &'static str {
        match self {
            Action::AdmitMember(_) => "admit-member",
            Action::RemoveMember { .. } => "remove-member",
            Action::SetMemberAdmins { .. } => "set-member-admins",
            Action::SetPolicy(_) => "set-policy",
            Action::AddNode { .. } => "add-node",
            Action::RemoveNode { .. } => "remove-node",
            Action::RotateNodeKeys { .. } => "rotate-node-keys",
            Action::RevokeCertificate { .. } => "revoke-certificate",
            Action::ListAsset(_) => "list-asset",
            Action::RotateIssuer { .. } => "rotate-issuer",
            Action::AddAuditKey(_) => "add-audit-key",
            Action::RotateAuditKey { .. } => "rotate-audit-key",
            Action::RetireAuditKey { .. } => "retire-audit-key",
            Action::SetConsensusParams(_) => "set-consensus-params",
            Action::CreateChannel(_) => "create-channel",
            Action::SetChannelMembers { .. } => "set-channel-members",
        }
    }

    /// The checks of the action's own form, which need no registry (names, a member's CA certificate, admin keys,
    /// policy and parameter ranges, an asset's label and id).
    pub fn check_form(&self) -> Result<(), GovernanceError> {
        let name = |n: &str| check_name(n).map_err(|e| GovernanceError::BadName(e.to_string()));
        match self {
            Action::AdmitMember(member) => member.check().map(|_| ()),
            Action::RemoveMember { member } => name(member),
            Action::SetMemberAdmins { member, admin_keys } => {
                name(member)?;
                check_admin_keys(member, admin_keys)
            }
            Action::SetPolicy(policy) => policy.check(),
            Action::AddNode { certificate } | Action::RotateNodeKeys { certificate } => {
                if certificate.is_empty() {
                    return Err(GovernanceError::Certificate("empty".into()));
                }
                Ok(())
            }
            Action::RemoveNode { member, node } => {
                name(member)?;
                name(node)
            }
            Action::RevokeCertificate { member, serial } => {
                name(member)?;
                if serial.is_empty() || serial.len() > MAX_SERIAL_BYTES {
                    return Err(GovernanceError::Certificate(format!("a serial is 1 to {MAX_SERIAL_BYTES} bytes")));
                }
                Ok(())
            }
            Action::ListAsset(asset) => asset.check(),
            Action::SetConsensusParams(params) => params.check(),
            Action::CreateChannel(channel) => channel.check(),
            Action::SetChannelMembers { channel, members } => check_channel_members(channel, members),
            Action::RotateIssuer { .. }
            | Action::AddAuditKey(_)
            | Action::RotateAuditKey { .. }
            | Action::RetireAuditKey { .. } => Ok(()),
        }
    }
}

/// An action against one version of the registry. Naming the version makes a proposal stale as soon as any
/// other governance action lands: approvals are always counted against the members and policy they were given
/// under, and an old proposal cannot be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// The chain it is for.
    pub chain_id: String,
    /// The registry version it was made against ([`crate::Registry::version`]).
    pub registry_version: u64,
    /// What it does.
    pub action: Action,
}

impl Proposal {
    /// `SM3("ctchain/governance/v1", proposal)`: the transaction id, and what approvals sign.
    pub fn id(&self) -> TxId {
        let mut h = Sm3Hasher::new("ctchain/governance/v1");
        h.put(self);
        TxId(h.finish())
    }

    /// The bytes an admin key signs to approve the proposal with this id.
    pub fn approval_message(id: &TxId) -> Vec<u8> {
        let mut message = b"ctchain/governance-approval/v1".to_vec();
        message.extend_from_slice(id.as_bytes());
        message
    }
}

/// One member's approval: a signature over the proposal id by one of its admin keys. The key is carried so that
/// the signature is checked without the registry; the registry then checks it is the member's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    /// The approving member.
    pub member: String,
    /// The admin key that signed.
    pub key: PublicKey,
    /// Its signature over [`Proposal::approval_message`].
    pub signature: Signature,
}

impl Approval {
    /// `member`'s approval of the proposal `id`, signed with `key`.
    pub fn sign(id: &TxId, member: &str, key: &dyn SigningKey) -> Self {
        Self { member: member.to_owned(), key: key.public_key(), signature: key.sign(&Proposal::approval_message(id)) }
    }
}

/// A governance transaction: a proposal and its approvals, in strictly increasing member order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GovernanceTx {
    /// What is proposed.
    pub proposal: Proposal,
    /// Who approved it.
    pub approvals: Vec<Approval>,
}

/// A governance transaction that passed its stateless checks. Only [`GovernanceTx::verify`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedGovernance {
    tx: GovernanceTx,
    id: TxId,
}

impl VerifiedGovernance {
    /// The transaction.
    pub fn tx(&self) -> &GovernanceTx {
        &self.tx
    }

    /// Its id.
    pub fn id(&self) -> TxId {
        self.id
    }
}

impl GovernanceTx {
    /// The id (of the proposal; approvals are not part of it, so collecting them does not change it).
    pub fn id(&self) -> TxId {
        self.proposal.id()
    }

    /// Adds an approval in member order, replacing an earlier one of the same member.
    pub fn add_approval(&mut self, approval: Approval) {
        self.approvals.retain(|a| a.member != approval.member);
        let at = self.approvals.partition_point(|a| a.member < approval.member);
        self.approvals.insert(at, approval);
    }

    /// The checks that need no registry: the chain, the action's own form, approvals in strictly increasing
    /// member order, each signature valid under the key it carries.
    pub fn verify(self, chain_id: &str) -> Result<VerifiedGovernance, GovernanceError> {
        if self.proposal.chain_id != chain_id {
            return Err(GovernanceError::WrongChain {
                expected: chain_id.to_owned(),
                found: self.proposal.chain_id.clone(),
            });
        }
        self.proposal.action.check_form()?;
        if self.approvals.is_empty() {
            return Err(GovernanceError::NotEnoughApprovals {
                action: self.proposal.action.name(),
                found: 0,
                required: 1,
            });
        }
        for pair in self.approvals.windows(2) {
            if pair[0].member >= pair[1].member {
                return Err(GovernanceError::ApprovalsOutOfOrder(pair[1].member.clone()));
            }
        }
        let id = self.id();
        let message = Proposal::approval_message(&id);
        for approval in &self.approvals {
            approval
                .key
                .verify(&message, &approval.signature)
                .map_err(|reason| GovernanceError::BadApprovalSignature { member: approval.member.clone(), reason })?;
        }
        Ok(VerifiedGovernance { tx: self, id })
    }
}

// ---- encodings ----

impl Encode for Action {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            Action::AdmitMember(member) => {
                w.u8(0);
                w.put(member);
            }
            Action::RemoveMember { member } => {
                w.u8(1);
                w.str(member);
            }
            Action::SetMemberAdmins { member, admin_keys } => {
                w.u8(2);
                w.str(member);
                w.seq(admin_keys);
            }
            Action::SetPolicy(policy) => {
                w.u8(3);
                w.put(policy);
            }
            Action::AddNode { certificate } => {
                w.u8(4);
                w.bytes(certificate);
            }
            Action::RemoveNode { member, node } => {
                w.u8(5);
                w.str(member);
                w.str(node);
            }
            Action::RotateNodeKeys { certificate } => {
                w.u8(6);
                w.bytes(certificate);
            }
            Action::RevokeCertificate { member, serial } => {
                w.u8(7);
                w.str(member);
                w.bytes(serial);
            }
            Action::ListAsset(asset) => {
                w.u8(8);
                w.put(asset);
            }
            Action::RotateIssuer { asset, issuer } => {
                w.u8(9);
                w.put(asset);
                w.put(issuer);
            }
            Action::AddAuditKey(key) => {
                w.u8(10);
                w.put(key);
            }
            Action::RotateAuditKey { index, key } => {
                w.u8(11);
                w.u32(*index);
                w.put(key);
            }
            Action::RetireAuditKey { index } => {
                w.u8(12);
                w.u32(*index);
            }
            Action::SetConsensusParams(params) => {
                w.u8(13);
                w.put(params);
            }
            Action::CreateChannel(channel) => {
                w.u8(14);
                w.put(channel);
            }
            Action::SetChannelMembers { channel, members } => {
                w.u8(15);
                w.str(channel);
                w.len(members.len());
                for m in members {
                    w.str(m);
                }
            }
        }
    }
}

impl Decode for Action {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let name_len = ctchain_membership::MAX_NAME_LEN;
        Ok(match r.u8("governance action")? {
            0 => Action::AdmitMember(r.get()?),
            1 => Action::RemoveMember { member: r.string("member", name_len)? },
            2 => Action::SetMemberAdmins {
                member: r.string("member", name_len)?,
                admin_keys: r.seq("admin keys", MAX_ADMIN_KEYS)?,
            },
            3 => Action::SetPolicy(r.get()?),
            4 => Action::AddNode { certificate: r.bytes("certificate", MAX_CERTIFICATE_BYTES)?.to_vec() },
            5 => Action::RemoveNode { member: r.string("member", name_len)?, node: r.string("node", name_len)? },
            6 => Action::RotateNodeKeys { certificate: r.bytes("certificate", MAX_CERTIFICATE_BYTES)?.to_vec() },
            7 => Action::RevokeCertificate {
                member: r.string("member", name_len)?,
                serial: r.bytes("serial", MAX_SERIAL_BYTES)?.to_vec(),
            },
            8 => Action::ListAsset(r.get()?),
            9 => Action::RotateIssuer { asset: r.get()?, issuer: r.get()? },
            10 => Action::AddAuditKey(r.get()?),
            11 => Action::RotateAuditKey { index: r.u32("audit key index")?, key: r.get()? },
            12 => Action::RetireAuditKey { index: r.u32("audit key index")? },
            13 => Action::SetConsensusParams(r.get()?),
            14 => Action::CreateChannel(r.get()?),
            15 => {
                let channel = r.string("channel", name_len)?;
                let n = r.len("channel members", crate::registry::MAX_MEMBERS)?;
                let members = (0..n).map(|_| r.string("channel member", name_len)).collect::<Result<_, _>>()?;
                Action::SetChannelMembers { channel, members }
            }
            tag => return Err(DecodeError::InvalidTag { field: "governance action", tag: u32::from(tag) }),
        })
    }
}

impl Encode for Proposal {
    fn encode_to(&self, w: &mut Writer) {
        w.str(&self.chain_id);
        w.u64(self.registry_version);
        w.put(&self.action);
    }
}

impl Decode for Proposal {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            chain_id: r.string("chain id", ctchain_crypto::tx::MAX_CHAIN_ID_LEN)?,
            registry_version: r.u64("registry version")?,
            action: r.get()?,
        })
    }
}

impl Encode for Approval {
    fn encode_to(&self, w: &mut Writer) {
        w.str(&self.member);
        w.put(&self.key);
        w.put(&self.signature);
    }
}

impl Decode for Approval {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            member: r.string("approving member", ctchain_membership::MAX_NAME_LEN)?,
            key: r.get()?,
            signature: r.get()?,
        })
    }
}

impl Encode for GovernanceTx {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.proposal);
        w.seq(&self.approvals);
    }
}

impl Decode for GovernanceTx {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { proposal: r.get()?, approvals: r.seq("approvals", MAX_APPROVALS)? })
    }
}
