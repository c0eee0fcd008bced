//! # ctchain-governance: the consortium's registry on the chain, and the governance that changes it
//!
//! The genesis founds a [`Registry`] ([`Registry::founding`]): the member organisations (each with its member CA
//! certificate and admin keys), the governance policy, the founding nodes' X.509 certificates, the assets and the
//! first [`Epoch`] (validators, audit keys, consensus parameters). From then on only governance transactions
//! ([`GovernanceTx`]) change it, each applied in a block:
//!
//! 1. **Stateless** ([`GovernanceTx::verify`]): the chain id, the action's own form (names, a member's CA
//!    certificate, policy and parameter ranges), approvals in strictly increasing member order, and every
//!    approval's signature over the proposal id under the admin key it carries.
//! 2. **Stateful** ([`Registry::apply`]): the proposal names the registry's current version; each approval is a
//!    current member's admin key; the approvers meet the policy's rule for the action's class
//!    ([`GovernancePolicy`]); and the action is valid against the registry (a node certificate chains to a
//!    current member's CA, is valid at the block's time, unrevoked, of the chain's scheme, with keys no other node
//!    uses; no change leaves fewer than [`MIN_VALIDATORS`] validators; …).
//!
//! ## Invariants
//! * The registry changes only through [`Registry::apply`] (and [`Registry::begin_block`] at an epoch boundary),
//!   as a whole: a refused action changes nothing. Its version counts the actions applied, so every proposal is
//!   approved against exactly the members and policy it is applied with, and none can be replayed.
//! * Membership, nodes, certificates, revocations and assets change at once. What consensus and verification run
//!   with — validators, audit keys, consensus parameters — changes only at an epoch boundary, counted in
//!   consensus sequence numbers: the first checkpoint at least a window above the change
//!   ([`Epoch::last_seq_after_change`]), so that every block of an epoch is proposed and certified by that
//!   epoch's validators. The next epoch's first sequence number and validators are fixed by the block that
//!   schedules it (consensus is told them then); a later validator change waits until it has begun. The
//!   checkpoint interval and window never change.
//! * A revoked certificate's node is out of the registry at once (a validator too: it is no longer admitted and
//!   leaves the validator set at the boundary); a removed validator stays admitted until its epoch ends.
//! * A private channel ([`Channel`]) changes only with the approval of every member it will have; a member in a
//!   channel cannot be removed from the consortium before it leaves the channel; a channel whose genesis requires
//!   a regulator keeps one.
//! * Its canonical encoding is a function of its content, so its [`Registry::digest`] can sit in the state root.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod policy;
mod proposal;
mod registry;
mod types;

pub use error::GovernanceError;
pub use policy::{ActionClass, ApprovalRule, GovernancePolicy};
pub use proposal::{Action, Approval, GovernanceTx, Proposal, VerifiedGovernance, MAX_APPROVALS, MAX_SERIAL_BYTES};
pub use registry::{
    BlockContext, Epoch, Founding, NodeRecord, Registry, Revocation, MAX_ASSETS, MAX_MEMBERS, MAX_NODES,
    MAX_REVOCATIONS, MAX_VALIDATORS, MIN_VALIDATORS,
};
pub use types::{
    AssetInfo, Channel, ConsensusParams, Member, MemberRole, ValidatorInfo, MAX_ADMIN_KEYS, MAX_CERTIFICATE_BYTES,
    MAX_CHANNELS, MAX_LABEL_LEN, MAX_VALIDATOR_NAME_LEN, SYSTEM_CHANNEL,
};

#[cfg(feature = "testing")]
pub mod testing;
