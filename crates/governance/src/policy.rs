//! The governance policy: which share of the members must approve which class of action.

use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};

use crate::error::GovernanceError;

/// What approving one class of action takes: at least `⌈members × numerator / denominator⌉` distinct members
/// (never fewer than one), and, when `regulator_required`, a regulator among them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApprovalRule {
    /// Share of the members, numerator.
    pub numerator: u32,
    /// Share of the members, denominator (`numerator ≤ denominator`, both at least 1).
    pub denominator: u32,
    /// Whether a regulator member must be among the approvers.
    pub regulator_required: bool,
}

impl ApprovalRule {
    /// `numerator / denominator` of the members, regulator optional.
    pub const fn share(numerator: u32, denominator: u32) -> Self {
        Self { numerator, denominator, regulator_required: false }
    }

    /// The same share, with a regulator among the approvers.
    pub const fn with_regulator(self) -> Self {
        Self { regulator_required: true, ..self }
    }

    /// Approvals needed among `members` members.
    pub fn required(&self, members: usize) -> usize {
        let needed = (members as u64 * u64::from(self.numerator)).div_ceil(u64::from(self.denominator));
        (needed as usize).max(1)
    }

    /// The rule as operators write it: `"<numerator>/<denominator>"`, with `"+regulator"` when a regulator must
    /// approve (e.g. `"2/3+regulator"`).
    pub fn to_text(&self) -> String {
        let regulator = if self.regulator_required { "+regulator" } else { "" };
        format!("{}/{}{regulator}", self.numerator, self.denominator)
    }

    /// Reads [`ApprovalRule::to_text`]'s form (the share itself is checked by [`GovernancePolicy::check`]).
    pub fn from_text(text: &str) -> Option<Self> {
        let text = text.trim();
        let (share, regulator_required) = match text.strip_suffix("+regulator") {
            Some(share) => (share, true),
            None => (text, false),
        };
        let (n, d) = share.split_once('/')?;
        Some(Self { numerator: n.trim().parse().ok()?, denominator: d.trim().parse().ok()?, regulator_required })
    }

    fn check(&self, class: ActionClass) -> Result<(), GovernanceError> {
        if self.numerator == 0 || self.denominator == 0 || self.numerator > self.denominator {
            return Err(GovernanceError::BadPolicy(format!(
                "the {} rule's share {}/{} is not in (0, 1]",
                class.name(),
                self.numerator,
                self.denominator
            )));
        }
        Ok(())
    }
}

/// The classes of governance action, each with its own rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionClass {
    /// Admitting or removing a member, replacing a member's admin keys, changing the policy.
    Membership,
    /// Adding or removing a node, rotating a node's keys.
    Nodes,
    /// Revoking a certificate (the issuing member alone may always revoke its own node's).
    Revocation,
    /// Listing an asset or rotating its issuer key.
    Assets,
    /// Adding, rotating or retiring an audit key.
    AuditKeys,
    /// Changing consensus parameters.
    Consensus,
}

impl ActionClass {
    /// Every class.
    pub const ALL: [ActionClass; 6] = [
        ActionClass::Membership,
        ActionClass::Nodes,
        ActionClass::Revocation,
        ActionClass::Assets,
        ActionClass::AuditKeys,
        ActionClass::Consensus,
    ];

    /// Its name in files and messages.
    pub fn name(self) -> &'static str {
        match self {
            ActionClass::Membership => "membership",
            ActionClass::Nodes => "nodes",
            ActionClass::Revocation => "revocation",
            ActionClass::Assets => "assets",
            ActionClass::AuditKeys => "audit-keys",
            ActionClass::Consensus => "consensus",
        }
    }
}

/// The rule of each class of action, fixed at genesis and changed only by a membership-class action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GovernancePolicy {
    /// Admitting or removing members, their admin keys, the policy itself.
    pub membership: ApprovalRule,
    /// Adding or removing nodes, rotating node keys.
    pub nodes: ApprovalRule,
    /// Revoking certificates.
    pub revocation: ApprovalRule,
    /// Listing assets, rotating issuers.
    pub assets: ApprovalRule,
    /// Audit keys.
    pub audit_keys: ApprovalRule,
    /// Consensus parameters.
    pub consensus: ApprovalRule,
}

impl Default for GovernancePolicy {
    /// Two thirds of the members for everything; a third for revocations (a compromised key must go fast, and
    /// its own member may revoke it alone); audit keys need a regulator among the approvers, so the banks cannot
    /// move supervision away from the regulator.
    fn default() -> Self {
        Self {
            membership: ApprovalRule::share(2, 3),
            nodes: ApprovalRule::share(2, 3),
            revocation: ApprovalRule::share(1, 3),
            assets: ApprovalRule::share(2, 3),
            audit_keys: ApprovalRule::share(2, 3).with_regulator(),
            consensus: ApprovalRule::share(2, 3),
        }
    }
}

impl GovernancePolicy {
    /// The rule of a class.
    pub fn rule(&self, class: ActionClass) -> &ApprovalRule {
        match class {
            ActionClass::Membership => &self.membership,
            ActionClass::Nodes => &self.nodes,
            ActionClass::Revocation => &self.revocation,
            ActionClass::Assets => &self.assets,
            ActionClass::AuditKeys => &self.audit_keys,
            ActionClass::Consensus => &self.consensus,
        }
    }

    /// Every class with its rule.
    pub fn rules(&self) -> impl Iterator<Item = (ActionClass, &ApprovalRule)> {
        ActionClass::ALL.into_iter().map(|c| (c, self.rule(c)))
    }

    /// Checks every rule's share is in `(0, 1]`.
    pub fn check(&self) -> Result<(), GovernanceError> {
        ActionClass::ALL.iter().try_for_each(|c| self.rule(*c).check(*c))
    }
}

impl Encode for ApprovalRule {
    fn encode_to(&self, w: &mut Writer) {
        w.u32(self.numerator);
        w.u32(self.denominator);
        w.bool(self.regulator_required);
    }
}

impl Decode for ApprovalRule {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            numerator: r.u32("approval numerator")?,
            denominator: r.u32("approval denominator")?,
            regulator_required: r.bool("regulator required")?,
        })
    }
}

impl Encode for GovernancePolicy {
    fn encode_to(&self, w: &mut Writer) {
        for class in ActionClass::ALL {
            w.put(self.rule(class));
        }
    }
}

impl Decode for GovernancePolicy {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            membership: r.get()?,
            nodes: r.get()?,
            revocation: r.get()?,
            assets: r.get()?,
            audit_keys: r.get()?,
            consensus: r.get()?,
        })
    }
}
