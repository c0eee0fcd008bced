//! Why a governance transaction, a registry or a genesis consortium was refused.

use ctchain_crypto::AssetId;
use ctchain_sig::{Scheme, SigError};

/// Why a governance transaction (or a founding registry) was refused. Every refusal leaves the registry as it
/// was.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GovernanceError {
    /// Made for another chain.
    #[error("the proposal is for chain {found:?}, this chain is {expected:?}")]
    WrongChain {
        /// This chain.
        expected: String,
        /// The proposal's.
        found: String,
    },
    /// The genesis named no members: the consortium is fixed and nothing can be governed.
    #[error("this chain's genesis names no members, so it has no governance")]
    NoGovernance,
    /// Made against another registry version (another action landed since, or it is a replay).
    #[error("the proposal was made against registry version {proposed}, the registry is at version {current}; propose again")]
    StaleProposal {
        /// The version it names.
        proposed: u64,
        /// The registry's.
        current: u64,
    },
    /// Approvals not in strictly increasing member order (or one member twice).
    #[error("approvals must be in strictly increasing member order, once per member (at {0:?})")]
    ApprovalsOutOfOrder(String),
    /// An approval's signature does not verify under the key it carries.
    #[error("the approval of {member} does not verify: {reason}")]
    BadApprovalSignature {
        /// The member it names.
        member: String,
        /// Why.
        reason: SigError,
    },
    /// An approval names a member the registry does not have.
    #[error("{0} is not a member")]
    UnknownMember(String),
    /// An approval is signed by a key that is not one of the member's admin keys.
    #[error("the approval of {0} is not signed by one of its admin keys")]
    NotAnAdminKey(String),
    /// Too few members approved.
    #[error("{action} needs the approval of {required} members, it has {found}")]
    NotEnoughApprovals {
        /// The action.
        action: &'static str,
        /// Approvals present.
        found: usize,
        /// Approvals needed.
        required: usize,
    },
    /// The rule requires a regulator's approval and none approved.
    #[error("{0} needs a regulator member's approval")]
    RegulatorApprovalRequired(&'static str),
    /// A member that is not valid on its own (CA certificate, admin keys).
    #[error("member {member}: {reason}")]
    BadMember {
        /// The member.
        member: String,
        /// What is wrong.
        reason: String,
    },
    /// A member of this name exists.
    #[error("{0} is already a member")]
    MemberExists(String),
    /// Another member already uses this CA key.
    #[error("the CA key of {0} is already another member's")]
    CaKeyInUse(String),
    /// A name that is not `[a-z0-9][a-z0-9.-]*` of at most 63 characters.
    #[error("{0}")]
    BadName(String),
    /// A policy rule out of range.
    #[error("bad policy: {0}")]
    BadPolicy(String),
    /// A node certificate that does not check against the registry (issuer, validity, revocation, form).
    #[error("node certificate refused: {0}")]
    Certificate(String),
    /// A certificate key of another scheme than the chain's.
    #[error("the certificate's consensus key is {found}, this chain signs with {expected}")]
    WrongScheme {
        /// The chain's scheme.
        expected: Scheme,
        /// The certificate's.
        found: Scheme,
    },
    /// A node of this member and name is registered.
    #[error("node {member}/{node} is already registered")]
    NodeExists {
        /// The member.
        member: String,
        /// The node.
        node: String,
    },
    /// No node of this member and name is registered.
    #[error("no node {member}/{node} is registered")]
    UnknownNode {
        /// The member.
        member: String,
        /// The node.
        node: String,
    },
    /// A key another node already uses.
    #[error("the {what} key is already used by node {by}")]
    KeyInUse {
        /// Which key.
        what: &'static str,
        /// The node using it.
        by: String,
    },
    /// A rotation whose new certificate changes the node's role.
    #[error("a key rotation keeps the node's role ({0}); remove and add the node to change it")]
    RoleChange(&'static str),
    /// The change would leave fewer validators than consensus needs.
    #[error("the next epoch would have {remaining} validators; at least {minimum} are needed")]
    TooFewValidators {
        /// Validators left.
        remaining: usize,
        /// The minimum.
        minimum: usize,
    },
    /// Too many validators.
    #[error("at most {0} validators")]
    TooManyValidators(usize),
    /// The next epoch's validators were scheduled by an earlier block (consensus already runs towards them).
    #[error(
        "the validators of epoch {epoch} are already scheduled (it begins at sequence number {first_seq}); \
         propose this change again once that epoch has begun"
    )]
    ValidatorChangePending {
        /// The pending epoch.
        epoch: u64,
        /// Its first sequence number.
        first_seq: u64,
    },
    /// The checkpoint interval and window are fixed at the genesis.
    #[error("the {name} is fixed for the chain's life (it is {value})")]
    FixedConsensusParam {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: u64,
    },
    /// The serial is on the revocation list already.
    #[error("serial {serial} of {member} is already revoked")]
    AlreadyRevoked {
        /// The issuing member.
        member: String,
        /// The serial, hex.
        serial: String,
    },
    /// An asset that is not valid on its own.
    #[error("bad asset: {0}")]
    BadAsset(String),
    /// An asset with this id is listed.
    #[error("asset {0} is already listed")]
    AssetExists(AssetId),
    /// No asset with this id is listed.
    #[error("asset {0} is not listed")]
    UnknownAsset(AssetId),
    /// No audit key at this index.
    #[error("the audit key set has no key {0}")]
    UnknownAuditKey(u32),
    /// The key is in the audit key set already.
    #[error("that audit key is already in the set")]
    AuditKeyExists,
    /// The key set is full.
    #[error("at most {0} audit keys")]
    TooManyAuditKeys(usize),
    /// Retiring the last audit key would leave the chain unsupervised.
    #[error("the last audit key cannot be retired; rotate it instead")]
    LastAuditKey,
    /// Consensus parameters out of range.
    #[error("bad consensus parameters: {0}")]
    BadConsensusParams(&'static str),
    /// The genesis consortium is inconsistent.
    #[error("bad genesis consortium: {0}")]
    BadGenesis(String),
    /// A limit of the registry's size.
    #[error("the registry holds at most {limit} {what}")]
    RegistryFull {
        /// What is full.
        what: &'static str,
        /// Its limit.
        limit: usize,
    },
    /// A channel that is not valid on its own or against the registry.
    #[error("bad channel {channel:?}: {reason}")]
    BadChannel {
        /// The channel id.
        channel: String,
        /// Why.
        reason: String,
    },
    /// A channel with this id exists.
    #[error("channel {0:?} already exists")]
    ChannelExists(String),
    /// No channel with this id exists.
    #[error("no channel {0:?}")]
    UnknownChannel(String),
    /// A channel changes only with the approval of every member it will have: nobody is put in a channel, or
    /// keeps another in it, without consent.
    #[error("{action} of channel {channel:?} needs the approval of its member {member}")]
    ChannelApprovalMissing {
        /// The action.
        action: &'static str,
        /// The channel.
        channel: String,
        /// The member whose approval is missing.
        member: String,
    },
}
