//! The registry: the consortium as the chain knows it at one height, and the state transition of governance.

use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Sm3Hasher, Writer};
use ctchain_crypto::{AssetId, AuditPublicKey, MAX_AUDIT_KEYS};
use ctchain_membership::{MemberCa, NodeCertificate, NodeRole};
use ctchain_sig::{PublicKey, Scheme};

use crate::error::GovernanceError;
use crate::policy::GovernancePolicy;
use crate::proposal::{Action, VerifiedGovernance};
use crate::types::{
    AssetInfo, Channel, ConsensusParams, Member, MemberRole, ValidatorInfo, MAX_CERTIFICATE_BYTES, MAX_CHANNELS,
};

/// Most members.
pub const MAX_MEMBERS: usize = 256;
/// Most registered nodes.
pub const MAX_NODES: usize = 1024;
/// Most validators in an epoch.
pub const MAX_VALIDATORS: usize = 256;
/// Most assets.
pub const MAX_ASSETS: usize = 1024;
/// Most revocation list entries.
pub const MAX_REVOCATIONS: usize = 1 << 16;
/// Fewest validators a change may leave (`n = 3f + 1` with `f = 1`); a change that adds validators is allowed
/// below it, so a small chain can grow.
pub const MIN_VALIDATORS: usize = 4;

/// A registered node: what its certificate states, and the certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRecord {
    /// Its member.
    pub member: String,
    /// Its name within the member.
    pub name: String,
    /// Validator or observer.
    pub role: NodeRole,
    /// Its network (Noise) key: a peer is admitted by it.
    pub network_key: [u8; 32],
    /// Its consensus key.
    pub consensus_key: PublicKey,
    /// The certificate's serial number.
    pub serial: Vec<u8>,
    /// The certificate's validity, Unix seconds.
    pub not_before: u64,
    /// End of validity, Unix seconds.
    pub not_after: u64,
    /// The certificate, DER.
    pub certificate: Vec<u8>,
    /// The height that registered it (0: the genesis).
    pub added_height: u64,
    /// The height that removed it, for a validator kept until the end of its epoch.
    pub leaving_since: Option<u64>,
}

impl NodeRecord {
    /// `member/node`: how validators and listings name it.
    pub fn qualified_name(&self) -> String {
        format!("{}/{}", self.member, self.name)
    }

    fn validator_info(&self) -> Result<ValidatorInfo, GovernanceError> {
        let consensus_key: [u8; 32] = self.consensus_key.as_bytes().try_into().map_err(|_| {
            GovernanceError::WrongScheme { expected: Scheme::Ed25519, found: self.consensus_key.scheme() }
        })?;
        Ok(ValidatorInfo { name: self.qualified_name(), consensus_key, network_key: self.network_key })
    }
}

/// A revoked certificate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Revocation {
    /// The issuing member.
    pub member: String,
    /// The serial.
    pub serial: Vec<u8>,
    /// The height that revoked it.
    pub height: u64,
}

/// What consensus and verification run with for a range of consensus sequence numbers: the validators (in index
/// order), the audit keys every output must carry a proven copy for, and the consensus parameters.
///
/// Epochs are counted in consensus sequence numbers, not heights: PBFT orders null blocks and heartbeats that
/// carry no ledger block, and its validator set changes at a sequence number (`ctchain_pbft::EpochSchedule`,
/// whose epochs are those of these that change the validators). A block belongs to the epoch of its header's
/// sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Epoch {
    /// 0 for the genesis epoch, then one more for each change.
    pub number: u64,
    /// The first sequence number it governs.
    pub first_seq: u64,
    /// The sequence number of the block that scheduled it (0 for the genesis epoch). Consensus learns the next
    /// validator set right after that block, and it cannot change afterwards.
    pub decided_seq: u64,
    /// The validators; a validator's index is its position.
    pub validators: Vec<ValidatorInfo>,
    /// The audit keys, in the order outputs carry their copies.
    pub audit_keys: Vec<AuditPublicKey>,
    /// The consensus parameters.
    pub consensus: ConsensusParams,
}

impl Epoch {
    /// The last sequence number of the epoch that a change committed at sequence number `seq` ends: the first
    /// checkpoint at least a window above it. Nothing above it can have been proposed before the change committed
    /// (a proposal lies at most a window above the last stable checkpoint, which is below the change), so every
    /// block of the next epoch is proposed and voted on by its own validators (the rule of
    /// `ctchain_pbft::EpochSchedule`).
    pub fn last_seq_after_change(&self, seq: u64) -> u64 {
        let ci = self.consensus.checkpoint_interval;
        (seq + self.consensus.window).div_ceil(ci) * ci
    }
}

/// The consortium at one height: members, nodes and their certificates, the revocation list, the assets, the
/// policy, the current epoch and the next one if a change is pending.
///
/// Invariants (kept by [`Registry::founding`] and [`Registry::apply`], which change it only as a whole):
/// * members are sorted by name and distinct, as are their CA keys; nodes are sorted by (member, name), each of a
///   current member, and no two share a network or consensus key;
/// * every validator of the current and next epoch is a registered node of role validator, with its keys;
/// * a revoked certificate belongs to no registered node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registry {
    version: u64,
    scheme: Scheme,
    policy: GovernancePolicy,
    members: Vec<Member>,
    nodes: Vec<NodeRecord>,
    revocations: Vec<Revocation>,
    assets: Vec<AssetInfo>,
    channels: Vec<Channel>,
    epoch: Epoch,
    next: Option<Epoch>,
}

/// What a genesis founds the registry with.
#[derive(Clone, Debug)]
pub struct Founding<'a> {
    /// The chain's consensus signature scheme.
    pub scheme: Scheme,
    /// The founding members (none: a fixed consortium without governance).
    pub members: &'a [Member],
    /// The policy.
    pub policy: GovernancePolicy,
    /// The founding nodes' certificates.
    pub nodes: &'a [Vec<u8>],
    /// The genesis validators: with members, exactly the validator nodes, in the order of `nodes`.
    pub validators: &'a [ValidatorInfo],
    /// The audit keys.
    pub audit_keys: &'a [AuditPublicKey],
    /// The assets.
    pub assets: &'a [AssetInfo],
    /// The private channels founded with the chain.
    pub channels: &'a [Channel],
    /// The consensus parameters.
    pub consensus: &'a ConsensusParams,
    /// The genesis time, Unix milliseconds: every founding certificate must be valid then.
    pub time_ms: u64,
}

/// The block a governance action is applied in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// Its height.
    pub height: u64,
    /// Its consensus sequence number (epochs are counted in these).
    pub seq: u64,
    /// Its timestamp, Unix milliseconds (certificates must be valid at it).
    pub time_ms: u64,
}

impl Registry {
    /// The registry a genesis founds, with every check a governance action would make.
    pub fn founding(f: Founding<'_>) -> Result<Self, GovernanceError> {
        let bad = |why: String| GovernanceError::BadGenesis(why);
        f.policy.check()?;
        f.consensus.check()?;
        if f.validators.is_empty() {
            return Err(bad("no validators".into()));
        }
        if f.validators.len() > MAX_VALIDATORS {
            return Err(GovernanceError::TooManyValidators(MAX_VALIDATORS));
        }
        let mut registry = Registry {
            version: 0,
            scheme: f.scheme,
            policy: f.policy,
            members: Vec::new(),
            nodes: Vec::new(),
            revocations: Vec::new(),
            assets: Vec::new(),
            channels: Vec::new(),
            epoch: Epoch {
                number: 0,
                first_seq: 1,
                decided_seq: 0,
                validators: Vec::new(),
                audit_keys: Vec::new(),
                consensus: f.consensus.clone(),
            },
            next: None,
        };
        for member in f.members {
            registry.admit(member.clone())?;
        }
        let at = BlockContext { height: 0, seq: 0, time_ms: f.time_ms };
        let mut certified = Vec::new();
        for der in f.nodes {
            let record = registry.check_new_node(der, at)?;
            if record.role == NodeRole::Validator {
                certified.push(record.validator_info()?);
            }
            registry.insert_node(record);
        }
        if registry.members.is_empty() {
            if !f.nodes.is_empty() {
                return Err(bad("node certificates without members to issue them".into()));
            }
        } else if certified != f.validators {
            return Err(bad("the validators must be exactly the certified validator nodes, in their order".into()));
        }
        let mut keys = std::collections::HashSet::new();
        if !f.validators.iter().all(|v| keys.insert(v.consensus_key) && keys.insert(v.network_key)) {
            return Err(bad("validator keys must all be distinct".into()));
        }
        registry.epoch.validators = f.validators.to_vec();
        if f.audit_keys.len() > MAX_AUDIT_KEYS {
            return Err(GovernanceError::TooManyAuditKeys(MAX_AUDIT_KEYS));
        }
        for (i, key) in f.audit_keys.iter().enumerate() {
            if f.audit_keys[..i].contains(key) {
                return Err(GovernanceError::AuditKeyExists);
            }
        }
        registry.epoch.audit_keys = f.audit_keys.to_vec();
        for asset in f.assets {
            registry.list(asset.clone())?;
        }
        for channel in f.channels {
            registry.create_channel(channel.clone())?;
        }
        Ok(registry)
    }

    /// How many governance actions were applied (the version the next proposal names).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The chain's consensus signature scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The policy.
    pub fn policy(&self) -> &GovernancePolicy {
        &self.policy
    }

    /// The members, by name.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// A member by name.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.binary_search_by(|m| m.name.as_str().cmp(name)).ok().map(|i| &self.members[i])
    }

    /// The members' CA certificates, parsed (they were checked when admitted).
    pub fn certificate_authorities(&self) -> Vec<MemberCa> {
        self.members.iter().filter_map(|m| MemberCa::from_der(&m.ca_certificate).ok()).collect()
    }

    /// The registered nodes, by member and name.
    pub fn nodes(&self) -> &[NodeRecord] {
        &self.nodes
    }

    /// A node by member and name.
    pub fn node(&self, member: &str, name: &str) -> Option<&NodeRecord> {
        self.node_index(member, name).ok().map(|i| &self.nodes[i])
    }

    /// The node with this network key.
    pub fn node_by_network_key(&self, key: &[u8; 32]) -> Option<&NodeRecord> {
        self.nodes.iter().find(|n| n.network_key == *key)
    }

    /// The revocation list, by member and serial.
    pub fn revocations(&self) -> &[Revocation] {
        &self.revocations
    }

    /// Whether the certificate `serial` of `member` is revoked.
    pub fn is_revoked(&self, member: &str, serial: &[u8]) -> bool {
        self.revocation_index(member, serial).is_ok()
    }

    /// The assets, in listing order.
    pub fn assets(&self) -> &[AssetInfo] {
        &self.assets
    }

    /// An asset by id.
    pub fn asset(&self, id: &AssetId) -> Option<&AssetInfo> {
        self.assets.iter().find(|a| a.id == *id)
    }

    /// The private channels, by id.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// A channel by id.
    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.binary_search_by(|c| c.id.as_str().cmp(id)).ok().map(|i| &self.channels[i])
    }

    /// The current epoch.
    pub fn epoch(&self) -> &Epoch {
        &self.epoch
    }

    /// The next epoch, when a change is pending.
    pub fn next_epoch(&self) -> Option<&Epoch> {
        self.next.as_ref()
    }

    /// `SM3("ctchain/registry/v1", registry)`: what the state root commits to.
    pub fn digest(&self) -> Hash32 {
        let mut h = Sm3Hasher::new("ctchain/registry/v1");
        h.put(self);
        h.finish()
    }

    /// Moves to the next epoch if it has begun by sequence number `seq` (called before a block's transactions
    /// run; the sequence numbers between two blocks may be null blocks, so the first block of an epoch may lie
    /// above its first sequence number). Nodes removed while validators of the ending epoch leave the registry
    /// with it. Returns whether it moved.
    pub fn begin_block(&mut self, seq: u64) -> bool {
        match &self.next {
            Some(next) if next.first_seq <= seq => {
                self.epoch = self.next.take().expect("checked");
                self.nodes.retain(|n| n.leaving_since.is_none());
                true
            }
            _ => false,
        }
    }

    /// Applies a verified governance transaction in block `at`: the proposal names this version, its approvals
    /// are current members' admin keys and meet the policy, and the action is valid against the registry. On
    /// any refusal the registry is unchanged.
    pub fn apply(&mut self, tx: &VerifiedGovernance, at: BlockContext) -> Result<(), GovernanceError> {
        let proposal = &tx.tx().proposal;
        if self.members.is_empty() {
            return Err(GovernanceError::NoGovernance);
        }
        if proposal.registry_version != self.version {
            return Err(GovernanceError::StaleProposal { proposed: proposal.registry_version, current: self.version });
        }
        self.check_approvals(tx)?;
        let mut next = self.clone();
        next.act(&proposal.action, at)?;
        next.version += 1;
        *self = next;
        Ok(())
    }

    fn check_approvals(&self, tx: &VerifiedGovernance) -> Result<(), GovernanceError> {
        let action = &tx.tx().proposal.action;
        let mut approvers = Vec::new();
        for approval in &tx.tx().approvals {
            let member =
                self.member(&approval.member).ok_or_else(|| GovernanceError::UnknownMember(approval.member.clone()))?;
            if !member.admin_keys.contains(&approval.key) {
                return Err(GovernanceError::NotAnAdminKey(member.name.clone()));
            }
            approvers.push(member);
        }
        // A channel is decided by the members concerned: every member it will have approves, whatever the
        // consortium's policy (no member is put in a channel without consent, nor kept in one by another).
        let channel_members = match action {
            Action::CreateChannel(channel) => Some((&channel.id, &channel.members)),
            Action::SetChannelMembers { channel, members } => Some((channel, members)),
            _ => None,
        };
        if let Some((channel, members)) = channel_members {
            if let Some(missing) = members.iter().find(|m| !approvers.iter().any(|a| &a.name == *m)) {
                return Err(GovernanceError::ChannelApprovalMissing {
                    action: action.name(),
                    channel: channel.clone(),
                    member: missing.clone(),
                });
            }
            return Ok(());
        }
        // A member may always revoke its own node's certificate alone: a compromised key must not wait for a
        // quorum of other banks.
        if let Action::RevokeCertificate { member, .. } = action {
            if approvers.iter().any(|a| &a.name == member) {
                return Ok(());
            }
        }
        let rule = self.policy.rule(action.class());
        let required = rule.required(self.members.len());
        if approvers.len() < required {
            return Err(GovernanceError::NotEnoughApprovals {
                action: action.name(),
                found: approvers.len(),
                required,
            });
        }
        if rule.regulator_required && !approvers.iter().any(|m| m.role == MemberRole::Regulator) {
            return Err(GovernanceError::RegulatorApprovalRequired(action.name()));
        }
        Ok(())
    }

    fn act(&mut self, action: &Action, at: BlockContext) -> Result<(), GovernanceError> {
        match action {
            Action::AdmitMember(member) => self.admit(member.clone()),
            Action::RemoveMember { member } => {
                self.member_index(member)?;
                if let Some(channel) = self.channels.iter().find(|c| c.has_member(member)) {
                    return Err(GovernanceError::BadMember {
                        member: member.clone(),
                        reason: format!("it is in channel {:?}: take it out of the channel first", channel.id),
                    });
                }
                let nodes: Vec<String> =
                    self.nodes.iter().filter(|n| &n.member == member).map(|n| n.name.clone()).collect();
                for node in nodes {
                    self.remove_node(member, &node, at)?;
                }
                let i = self.member_index(member)?;
                self.members.remove(i);
                if self.members.is_empty() {
                    return Err(GovernanceError::BadMember {
                        member: member.clone(),
                        reason: "it is the last member".into(),
                    });
                }
                Ok(())
            }
            Action::SetMemberAdmins { member, admin_keys } => {
                let i = self.member_index(member)?;
                self.members[i].admin_keys = admin_keys.clone();
                Ok(())
            }
            Action::SetPolicy(policy) => {
                self.policy = *policy;
                Ok(())
            }
            Action::AddNode { certificate } => {
                let record = self.check_new_node(certificate, at)?;
                if record.role == NodeRole::Validator {
                    let info = record.validator_info()?;
                    self.change_next_epoch(at, |next| {
                        next.validators.push(info);
                        Ok(())
                    })?;
                }
                self.insert_node(record);
                Ok(())
            }
            Action::RemoveNode { member, node } => self.remove_node(member, node, at),
            Action::RotateNodeKeys { certificate } => self.rotate(certificate, at),
            Action::RevokeCertificate { member, serial } => {
                self.member_index(member)?;
                if self.is_revoked(member, serial) {
                    return Err(GovernanceError::AlreadyRevoked {
                        member: member.clone(),
                        serial: hex::encode(serial),
                    });
                }
                if let Some(node) = self.nodes.iter().find(|n| &n.member == member && &n.serial == serial).cloned() {
                    // Cut off at once, even a validator still serving its epoch.
                    self.drop_validator(&node, at)?;
                    let i = self.node_index(&node.member, &node.name).expect("found above");
                    self.nodes.remove(i);
                }
                self.revoke(member, serial, at.height)
            }
            Action::ListAsset(asset) => self.list(asset.clone()),
            Action::RotateIssuer { asset, issuer } => {
                let entry =
                    self.assets.iter_mut().find(|a| a.id == *asset).ok_or(GovernanceError::UnknownAsset(*asset))?;
                entry.issuer = *issuer;
                Ok(())
            }
            Action::AddAuditKey(key) => self.change_next_epoch(at, |next| {
                if next.audit_keys.contains(key) {
                    return Err(GovernanceError::AuditKeyExists);
                }
                if next.audit_keys.len() >= MAX_AUDIT_KEYS {
                    return Err(GovernanceError::TooManyAuditKeys(MAX_AUDIT_KEYS));
                }
                next.audit_keys.push(*key);
                Ok(())
            }),
            Action::RotateAuditKey { index, key } => self.change_next_epoch(at, |next| {
                if next.audit_keys.contains(key) {
                    return Err(GovernanceError::AuditKeyExists);
                }
                let slot = next.audit_keys.get_mut(*index as usize).ok_or(GovernanceError::UnknownAuditKey(*index))?;
                *slot = *key;
                Ok(())
            }),
            Action::RetireAuditKey { index } => self.change_next_epoch(at, |next| {
                if *index as usize >= next.audit_keys.len() {
                    return Err(GovernanceError::UnknownAuditKey(*index));
                }
                if next.audit_keys.len() == 1 {
                    return Err(GovernanceError::LastAuditKey);
                }
                next.audit_keys.remove(*index as usize);
                Ok(())
            }),
            Action::CreateChannel(channel) => self.create_channel(channel.clone()),
            Action::SetChannelMembers { channel, members } => {
                let i = self
                    .channels
                    .binary_search_by(|c| c.id.as_str().cmp(channel))
                    .map_err(|_| GovernanceError::UnknownChannel(channel.clone()))?;
                let changed = Channel { members: members.clone(), ..self.channels[i].clone() };
                self.check_channel(&changed)?;
                self.channels[i] = changed;
                Ok(())
            }
            Action::SetConsensusParams(params) => self.change_next_epoch(at, |next| {
                // Consensus counts epochs in checkpoints and windows: they are the chain's for good.
                for (name, was, now) in [
                    ("checkpoint interval", next.consensus.checkpoint_interval, params.checkpoint_interval),
                    ("window", next.consensus.window, params.window),
                ] {
                    if was != now {
                        return Err(GovernanceError::FixedConsensusParam { name, value: was });
                    }
                }
                next.consensus = params.clone();
                Ok(())
            }),
        }
    }

    fn admit(&mut self, member: Member) -> Result<(), GovernanceError> {
        let ca = member.check()?;
        if self.member(&member.name).is_some() {
            return Err(GovernanceError::MemberExists(member.name));
        }
        if let Some(other) = self.certificate_authorities().iter().find(|c| c.key() == ca.key()) {
            return Err(GovernanceError::CaKeyInUse(other.member().to_owned()));
        }
        if self.members.len() >= MAX_MEMBERS {
            return Err(GovernanceError::RegistryFull { what: "members", limit: MAX_MEMBERS });
        }
        let at = self.members.partition_point(|m| m.name < member.name);
        self.members.insert(at, member);
        Ok(())
    }

    fn create_channel(&mut self, channel: Channel) -> Result<(), GovernanceError> {
        channel.check()?;
        if self.channel(&channel.id).is_some() {
            return Err(GovernanceError::ChannelExists(channel.id));
        }
        if self.channels.len() >= MAX_CHANNELS {
            return Err(GovernanceError::RegistryFull { what: "channels", limit: MAX_CHANNELS });
        }
        self.check_channel(&channel)?;
        let at = self.channels.partition_point(|c| c.id < channel.id);
        self.channels.insert(at, channel);
        Ok(())
    }

    /// A channel against the registry: every member a current member, and a regulator among them when required.
    fn check_channel(&self, channel: &Channel) -> Result<(), GovernanceError> {
        channel.check()?;
        for m in &channel.members {
            self.member_index(m)?;
        }
        let regulated = channel.members.iter().any(|m| self.member(m).is_some_and(|m| m.role == MemberRole::Regulator));
        if channel.regulator_required && !regulated {
            return Err(GovernanceError::BadChannel {
                channel: channel.id.clone(),
                reason: "its genesis requires a regulator among its members".into(),
            });
        }
        Ok(())
    }

    fn list(&mut self, asset: AssetInfo) -> Result<(), GovernanceError> {
        asset.check()?;
        if self.asset(&asset.id).is_some() {
            return Err(GovernanceError::AssetExists(asset.id));
        }
        if self.assets.len() >= MAX_ASSETS {
            return Err(GovernanceError::RegistryFull { what: "assets", limit: MAX_ASSETS });
        }
        self.assets.push(asset);
        Ok(())
    }

    /// Checks a certificate for a node not yet registered: issued by a current member's CA, valid at the block's
    /// time, not revoked, of the chain's scheme, its name and keys unused.
    fn check_new_node(&self, der: &[u8], at: BlockContext) -> Result<NodeRecord, GovernanceError> {
        let record = self.check_certificate(der, at)?;
        if self.node(&record.member, &record.name).is_some() {
            return Err(GovernanceError::NodeExists { member: record.member, node: record.name });
        }
        self.check_keys_unused(&record, None)?;
        if self.nodes.len() >= MAX_NODES {
            return Err(GovernanceError::RegistryFull { what: "nodes", limit: MAX_NODES });
        }
        Ok(record)
    }

    fn check_certificate(&self, der: &[u8], at: BlockContext) -> Result<NodeRecord, GovernanceError> {
        if der.len() > MAX_CERTIFICATE_BYTES {
            return Err(GovernanceError::Certificate(format!("larger than {MAX_CERTIFICATE_BYTES} bytes")));
        }
        let cas = self.certificate_authorities();
        let cert =
            NodeCertificate::verify(der, &cas, at.time_ms / 1000, |member, serial| self.is_revoked(member, serial))
                .map_err(|e| GovernanceError::Certificate(e.to_string()))?;
        let found = cert.identity.consensus_key.scheme();
        if found != self.scheme {
            return Err(GovernanceError::WrongScheme { expected: self.scheme, found });
        }
        Ok(NodeRecord {
            member: cert.member,
            name: cert.identity.name,
            role: cert.identity.role,
            network_key: cert.identity.network_key,
            consensus_key: cert.identity.consensus_key,
            serial: cert.serial,
            not_before: cert.validity.not_before,
            not_after: cert.validity.not_after,
            certificate: cert.der,
            added_height: at.height,
            leaving_since: None,
        })
    }

    /// Refuses keys another node uses (`except` the node being rotated), or a validator of the current epoch uses.
    fn check_keys_unused(&self, record: &NodeRecord, except: Option<usize>) -> Result<(), GovernanceError> {
        for (i, node) in self.nodes.iter().enumerate() {
            if Some(i) == except {
                continue;
            }
            if node.network_key == record.network_key {
                return Err(GovernanceError::KeyInUse { what: "network", by: node.qualified_name() });
            }
            if node.consensus_key == record.consensus_key {
                return Err(GovernanceError::KeyInUse { what: "consensus", by: node.qualified_name() });
            }
        }
        let mine = except.map(|i| self.nodes[i].qualified_name());
        for v in self.epoch.validators.iter().chain(self.next.iter().flat_map(|e| &e.validators)) {
            if Some(&v.name) == mine.as_ref() {
                continue;
            }
            if v.network_key == record.network_key || record.consensus_key.as_bytes() == v.consensus_key {
                return Err(GovernanceError::KeyInUse { what: "validator", by: v.name.clone() });
            }
        }
        Ok(())
    }

    fn insert_node(&mut self, record: NodeRecord) {
        let at = self.nodes.partition_point(|n| (&n.member, &n.name) < (&record.member, &record.name));
        self.nodes.insert(at, record);
    }

    fn remove_node(&mut self, member: &str, node: &str, at: BlockContext) -> Result<(), GovernanceError> {
        let i = self
            .node_index(member, node)
            .map_err(|_| GovernanceError::UnknownNode { member: member.to_owned(), node: node.to_owned() })?;
        let record = self.nodes[i].clone();
        if record.leaving_since.is_some() {
            return Err(GovernanceError::UnknownNode { member: member.to_owned(), node: node.to_owned() });
        }
        self.drop_validator(&record, at)?;
        if self.epoch.validators.iter().any(|v| v.name == record.qualified_name()) {
            // It votes until its epoch ends; it stays admitted until then.
            self.nodes[i].leaving_since = Some(at.height);
        } else {
            self.nodes.remove(i);
        }
        Ok(())
    }

    /// Takes a node out of the next epoch's validators (if it is one), refusing to leave too few.
    fn drop_validator(&mut self, record: &NodeRecord, at: BlockContext) -> Result<(), GovernanceError> {
        if record.role != NodeRole::Validator {
            return Ok(());
        }
        let name = record.qualified_name();
        self.change_next_epoch(at, |next| {
            next.validators.retain(|v| v.name != name);
            Ok(())
        })
    }

    fn rotate(&mut self, der: &[u8], at: BlockContext) -> Result<(), GovernanceError> {
        let record = self.check_certificate(der, at)?;
        let i = self
            .node_index(&record.member, &record.name)
            .map_err(|_| GovernanceError::UnknownNode { member: record.member.clone(), node: record.name.clone() })?;
        let old = self.nodes[i].clone();
        if old.leaving_since.is_some() {
            return Err(GovernanceError::UnknownNode { member: record.member, node: record.name });
        }
        if old.role != record.role {
            return Err(GovernanceError::RoleChange(old.role.name()));
        }
        self.check_keys_unused(&record, Some(i))?;
        if record.role == NodeRole::Validator {
            let info = record.validator_info()?;
            self.change_next_epoch(at, |next| {
                if let Some(v) = next.validators.iter_mut().find(|v| v.name == info.name) {
                    *v = info;
                }
                Ok(())
            })?;
        }
        self.revoke(&old.member, &old.serial, at.height)?;
        self.nodes[i] = NodeRecord { added_height: old.added_height, ..record };
        Ok(())
    }

    fn revoke(&mut self, member: &str, serial: &[u8], height: u64) -> Result<(), GovernanceError> {
        if self.revocations.len() >= MAX_REVOCATIONS {
            return Err(GovernanceError::RegistryFull { what: "revocations", limit: MAX_REVOCATIONS });
        }
        let at = self.revocation_index(member, serial).unwrap_or_else(|at| at);
        self.revocations.insert(at, Revocation { member: member.to_owned(), serial: serial.to_vec(), height });
        Ok(())
    }

    /// Changes the next epoch (made from the current one if none is pending), which begins after the epoch that a
    /// change at `at` ends; refuses to leave fewer than [`MIN_VALIDATORS`] validators (unless growing). An epoch
    /// scheduled by an earlier block keeps its first sequence number and its validators (consensus was told
    /// them right after that block): other changes join it, a change of validators waits until it has begun.
    fn change_next_epoch(
        &mut self,
        at: BlockContext,
        change: impl FnOnce(&mut Epoch) -> Result<(), GovernanceError>,
    ) -> Result<(), GovernanceError> {
        let scheduled_earlier = self.next.as_ref().filter(|n| n.decided_seq != at.seq).cloned();
        let mut next = self.next.clone().unwrap_or_else(|| Epoch {
            number: self.epoch.number + 1,
            first_seq: self.epoch.last_seq_after_change(at.seq) + 1,
            decided_seq: at.seq,
            ..self.epoch.clone()
        });
        let before = next.validators.len();
        change(&mut next)?;
        if let Some(earlier) = scheduled_earlier {
            if earlier.validators != next.validators {
                return Err(GovernanceError::ValidatorChangePending {
                    epoch: earlier.number,
                    first_seq: earlier.first_seq,
                });
            }
        }
        let after = next.validators.len();
        if after < before && after < MIN_VALIDATORS {
            return Err(GovernanceError::TooFewValidators { remaining: after, minimum: MIN_VALIDATORS });
        }
        if after > MAX_VALIDATORS {
            return Err(GovernanceError::TooManyValidators(MAX_VALIDATORS));
        }
        self.next = Some(next);
        Ok(())
    }

    fn member_index(&self, name: &str) -> Result<usize, GovernanceError> {
        self.members
            .binary_search_by(|m| m.name.as_str().cmp(name))
            .map_err(|_| GovernanceError::UnknownMember(name.to_owned()))
    }

    fn node_index(&self, member: &str, name: &str) -> Result<usize, usize> {
        self.nodes.binary_search_by(|n| (n.member.as_str(), n.name.as_str()).cmp(&(member, name)))
    }

    fn revocation_index(&self, member: &str, serial: &[u8]) -> Result<usize, usize> {
        self.revocations.binary_search_by(|r| (r.member.as_str(), r.serial.as_slice()).cmp(&(member, serial)))
    }
}

// ---- encodings (the registry is stored and snapshotted; its digest is in the state root) ----

fn put_role(w: &mut Writer, role: NodeRole) {
    w.u8(match role {
        NodeRole::Validator => 0,
        NodeRole::Observer => 1,
    });
}

fn get_role(r: &mut Reader<'_>) -> Result<NodeRole, DecodeError> {
    match r.u8("node role")? {
        0 => Ok(NodeRole::Validator),
        1 => Ok(NodeRole::Observer),
        tag => Err(DecodeError::InvalidTag { field: "node role", tag: u32::from(tag) }),
    }
}

impl Encode for NodeRecord {
    fn encode_to(&self, w: &mut Writer) {
        w.str(&self.member);
        w.str(&self.name);
        put_role(w, self.role);
        w.fixed(&self.network_key);
        w.put(&self.consensus_key);
        w.bytes(&self.serial);
        w.u64(self.not_before);
        w.u64(self.not_after);
        w.bytes(&self.certificate);
        w.u64(self.added_height);
        w.option(&self.leaving_since);
    }
}

impl Decode for NodeRecord {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let name_len = ctchain_membership::MAX_NAME_LEN;
        Ok(Self {
            member: r.string("node member", name_len)?,
            name: r.string("node name", name_len)?,
            role: get_role(r)?,
            network_key: r.array("network key")?,
            consensus_key: r.get()?,
            serial: r.bytes("serial", crate::proposal::MAX_SERIAL_BYTES)?.to_vec(),
            not_before: r.u64("not before")?,
            not_after: r.u64("not after")?,
            certificate: r.bytes("certificate", MAX_CERTIFICATE_BYTES)?.to_vec(),
            added_height: r.u64("added height")?,
            leaving_since: r.option("leaving since")?,
        })
    }
}

impl Encode for Revocation {
    fn encode_to(&self, w: &mut Writer) {
        w.str(&self.member);
        w.bytes(&self.serial);
        w.u64(self.height);
    }
}

impl Decode for Revocation {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            member: r.string("revoked member", ctchain_membership::MAX_NAME_LEN)?,
            serial: r.bytes("revoked serial", crate::proposal::MAX_SERIAL_BYTES)?.to_vec(),
            height: r.u64("revocation height")?,
        })
    }
}

impl Encode for Epoch {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.number);
        w.u64(self.first_seq);
        w.u64(self.decided_seq);
        w.seq(&self.validators);
        w.seq(&self.audit_keys);
        w.put(&self.consensus);
    }
}

impl Decode for Epoch {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            number: r.u64("epoch number")?,
            first_seq: r.u64("epoch first sequence number")?,
            decided_seq: r.u64("epoch decided at")?,
            validators: r.seq("validators", MAX_VALIDATORS)?,
            audit_keys: r.seq("audit keys", MAX_AUDIT_KEYS)?,
            consensus: r.get()?,
        })
    }
}

impl Encode for Registry {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.version);
        w.u8(self.scheme.tag());
        w.put(&self.policy);
        w.seq(&self.members);
        w.seq(&self.nodes);
        w.seq(&self.revocations);
        w.seq(&self.assets);
        w.seq(&self.channels);
        w.put(&self.epoch);
        w.option(&self.next);
    }
}

impl Decode for Registry {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u64("registry version")?;
        let tag = r.u8("registry scheme")?;
        let scheme = [Scheme::Ed25519, Scheme::Sm2]
            .into_iter()
            .find(|s| s.tag() == tag)
            .ok_or(DecodeError::InvalidTag { field: "registry scheme", tag: u32::from(tag) })?;
        let registry = Self {
            version,
            scheme,
            policy: r.get()?,
            members: r.seq("members", MAX_MEMBERS)?,
            nodes: r.seq("nodes", MAX_NODES)?,
            revocations: r.seq("revocations", MAX_REVOCATIONS)?,
            assets: r.seq("assets", MAX_ASSETS)?,
            channels: r.seq("channels", MAX_CHANNELS)?,
            epoch: r.get()?,
            next: r.option("next epoch")?,
        };
        let sorted = registry.members.windows(2).all(|p| p[0].name < p[1].name)
            && registry.nodes.windows(2).all(|p| (&p[0].member, &p[0].name) < (&p[1].member, &p[1].name))
            && registry.revocations.windows(2).all(|p| (&p[0].member, &p[0].serial) < (&p[1].member, &p[1].serial))
            && registry.channels.windows(2).all(|p| p[0].id < p[1].id);
        if !sorted {
            return Err(DecodeError::Invalid { field: "registry", reason: "not strictly sorted" });
        }
        Ok(registry)
    }
}
