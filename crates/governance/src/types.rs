//! What the registry holds: members, validators, assets, consensus parameters, and their canonical encodings.

use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Writer};
use ctchain_crypto::{AssetId, Point};
use ctchain_membership::MemberCa;
use ctchain_sig::PublicKey;

use crate::error::GovernanceError;

/// Longest asset label, in bytes.
pub const MAX_LABEL_LEN: usize = 64;
/// Longest validator name (`member/node`), in bytes.
pub const MAX_VALIDATOR_NAME_LEN: usize = 128;
/// Most admin keys one member may have.
pub const MAX_ADMIN_KEYS: usize = 16;
/// Largest certificate (DER) the registry takes.
pub const MAX_CERTIFICATE_BYTES: usize = 8 * 1024;

/// What a member organisation is. Regulators take part in governance like banks, and a policy rule may require
/// a regulator's approval ([`crate::ApprovalRule::regulator_required`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemberRole {
    /// A bank (or another institution moving assets).
    Bank,
    /// A supervisor.
    Regulator,
}

impl MemberRole {
    /// The name used in files and listings.
    pub fn name(self) -> &'static str {
        match self {
            MemberRole::Bank => "bank",
            MemberRole::Regulator => "regulator",
        }
    }

    /// The role of a name.
    pub fn from_name(name: &str) -> Option<Self> {
        [MemberRole::Bank, MemberRole::Regulator].into_iter().find(|r| r.name() == name)
    }
}

/// A member organisation: its CA certificate (which issues its nodes' certificates) and the admin keys that
/// approve governance actions on its behalf (any one of them speaks for the member).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Its name, as its CA certificate states it (`O=<name>`).
    pub name: String,
    /// What it is.
    pub role: MemberRole,
    /// Its self-signed member CA certificate, DER.
    pub ca_certificate: Vec<u8>,
    /// Keys that sign its approvals: 1 to [`MAX_ADMIN_KEYS`], distinct.
    pub admin_keys: Vec<PublicKey>,
}

impl Member {
    /// Checks the member on its own: the CA certificate is a valid member CA of this name, and the admin keys are
    /// 1 to [`MAX_ADMIN_KEYS`] distinct keys. Returns the parsed CA.
    pub fn check(&self) -> Result<MemberCa, GovernanceError> {
        let ca = MemberCa::from_der(&self.ca_certificate)
            .map_err(|reason| GovernanceError::BadMember { member: self.name.clone(), reason: reason.to_string() })?;
        if ca.member() != self.name {
            return Err(GovernanceError::BadMember {
                member: self.name.clone(),
                reason: format!("its CA certificate is for {:?}", ca.member()),
            });
        }
        check_admin_keys(&self.name, &self.admin_keys)?;
        Ok(ca)
    }
}

pub(crate) fn check_admin_keys(member: &str, keys: &[PublicKey]) -> Result<(), GovernanceError> {
    if keys.is_empty() || keys.len() > MAX_ADMIN_KEYS {
        return Err(GovernanceError::BadMember {
            member: member.to_owned(),
            reason: format!("needs 1 to {MAX_ADMIN_KEYS} admin keys, has {}", keys.len()),
        });
    }
    for (i, key) in keys.iter().enumerate() {
        if keys[..i].contains(key) {
            return Err(GovernanceError::BadMember {
                member: member.to_owned(),
                reason: "an admin key is listed twice".into(),
            });
        }
    }
    Ok(())
}

/// A validator of an epoch, in the order that gives it its index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorInfo {
    /// Its name: `member/node` for a certified node (or the operator's name in a genesis without members).
    pub name: String,
    /// Ed25519 public key that signs consensus messages.
    pub consensus_key: [u8; 32],
    /// Ed25519 public key of its network identity (the libp2p peer id derives from it); kept apart from the
    /// consensus key so that a leaked transport key cannot sign votes.
    pub network_key: [u8; 32],
}

/// An asset the chain knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetInfo {
    /// Its id (`AssetId::from_label(label)`).
    pub id: AssetId,
    /// Ticker or name, e.g. `"CNY"`.
    pub label: String,
    /// Decimal places of the display unit: an amount `12345` with 2 decimals is `123.45`.
    pub decimals: u8,
    /// The key that must sign every issuance of this asset.
    pub issuer: Point,
}

impl AssetInfo {
    /// Checks the asset on its own: a label of 1 to [`MAX_LABEL_LEN`] bytes, the id of that label, at most 18
    /// decimals.
    pub fn check(&self) -> Result<(), GovernanceError> {
        if self.label.is_empty() || self.label.len() > MAX_LABEL_LEN {
            return Err(GovernanceError::BadAsset(format!("label must be 1 to {MAX_LABEL_LEN} bytes")));
        }
        if self.id != AssetId::from_label(&self.label) {
            return Err(GovernanceError::BadAsset(format!("the id is not the id of label {:?}", self.label)));
        }
        if self.decimals > 18 {
            return Err(GovernanceError::BadAsset("more than 18 decimals".into()));
        }
        Ok(())
    }
}

/// Parameters of the consensus protocol, per epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusParams {
    /// Sequence numbers between checkpoints.
    pub checkpoint_interval: u64,
    /// Sequence numbers in flight above the last stable checkpoint.
    pub window: u64,
    /// Most transactions per block.
    pub max_block_txs: u32,
    /// Most bytes of transactions per block.
    pub max_block_bytes: u32,
    /// Initial view-change timeout, in milliseconds (doubles with each failed view).
    pub view_timeout_ms: u64,
    /// How far a block timestamp may lie ahead of a validator's clock, in milliseconds.
    pub max_clock_drift_ms: u64,
}

impl Default for ConsensusParams {
    fn default() -> Self {
        Self {
            checkpoint_interval: 16,
            window: 32,
            max_block_txs: 1_000,
            max_block_bytes: 8 * 1024 * 1024,
            view_timeout_ms: 2_000,
            max_clock_drift_ms: 5_000,
        }
    }
}

impl ConsensusParams {
    /// Most transactions a block may carry under any parameters (the block decoder's bound).
    pub const MAX_BLOCK_TXS: u32 = 10_000;
    /// Largest block size any parameters may allow (the network's largest message is bounded by the operator).
    pub const MAX_BLOCK_BYTES: u32 = 64 << 20;

    /// Checks the parameters are usable: a checkpoint interval of 1 to 10 000 within a window of at most 8 of them,
    /// 1 to 10 000 transactions and 1 KiB to 64 MiB per block, a view timeout of 100 ms to 10 minutes, a clock
    /// drift under an hour.
    pub fn check(&self) -> Result<(), GovernanceError> {
        let bad = |why: &'static str| Err(GovernanceError::BadConsensusParams(why));
        if self.checkpoint_interval == 0 || self.checkpoint_interval > 10_000 {
            return bad("the checkpoint interval must be 1 to 10000");
        }
        if self.window < self.checkpoint_interval || self.window > 8 * self.checkpoint_interval {
            return bad("the window must be 1 to 8 checkpoint intervals");
        }
        if self.max_block_txs == 0 || self.max_block_txs > Self::MAX_BLOCK_TXS {
            return bad("a block must hold 1 to 10000 transactions");
        }
        if self.max_block_bytes < 1024 || self.max_block_bytes > Self::MAX_BLOCK_BYTES {
            return bad("the block size limit must be 1 KiB to 64 MiB");
        }
        if self.view_timeout_ms < 100 || self.view_timeout_ms > 600_000 {
            return bad("the view timeout must be 100 ms to 10 minutes");
        }
        if self.max_clock_drift_ms > 3_600_000 {
            return bad("the clock drift bound must be under an hour");
        }
        Ok(())
    }
}

// ---- encodings ----

impl Encode for MemberRole {
    fn encode_to(&self, w: &mut Writer) {
        w.u8(match self {
            MemberRole::Bank => 0,
            MemberRole::Regulator => 1,
        });
    }
}

impl Decode for MemberRole {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("member role")? {
            0 => Ok(MemberRole::Bank),
            1 => Ok(MemberRole::Regulator),
            tag => Err(DecodeError::InvalidTag { field: "member role", tag: u32::from(tag) }),
        }
    }
}

impl Encode for Member {
    fn encode_to(&self, w: &mut Writer) {
        w.str(&self.name);
        w.put(&self.role);
        w.bytes(&self.ca_certificate);
        w.seq(&self.admin_keys);
    }
}

impl Decode for Member {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            name: r.string("member name", ctchain_membership::MAX_NAME_LEN)?,
            role: r.get()?,
            ca_certificate: r.bytes("member CA certificate", MAX_CERTIFICATE_BYTES)?.to_vec(),
            admin_keys: r.seq("admin keys", MAX_ADMIN_KEYS)?,
        })
    }
}

impl Encode for ValidatorInfo {
    fn encode_to(&self, w: &mut Writer) {
        w.str(&self.name);
        w.fixed(&self.consensus_key);
        w.fixed(&self.network_key);
    }
}

impl Decode for ValidatorInfo {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            name: r.string("validator name", MAX_VALIDATOR_NAME_LEN)?,
            consensus_key: r.array("validator consensus key")?,
            network_key: r.array("validator network key")?,
        })
    }
}

impl Encode for AssetInfo {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.id);
        w.str(&self.label);
        w.u8(self.decimals);
        w.put(&self.issuer);
    }
}

impl Decode for AssetInfo {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let id = r.get()?;
        let label = r.string("asset label", MAX_LABEL_LEN)?;
        let decimals = r.u8("asset decimals")?;
        if decimals > 18 {
            return Err(DecodeError::Invalid { field: "asset decimals", reason: "more than 18" });
        }
        Ok(Self { id, label, decimals, issuer: r.get()? })
    }
}

impl Encode for ConsensusParams {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.checkpoint_interval);
        w.u64(self.window);
        w.u32(self.max_block_txs);
        w.u32(self.max_block_bytes);
        w.u64(self.view_timeout_ms);
        w.u64(self.max_clock_drift_ms);
    }
}

impl Decode for ConsensusParams {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            checkpoint_interval: r.u64("checkpoint interval")?,
            window: r.u64("window")?,
            max_block_txs: r.u32("max block transactions")?,
            max_block_bytes: r.u32("max block bytes")?,
            view_timeout_ms: r.u64("view timeout")?,
            max_clock_drift_ms: r.u64("max clock drift")?,
        })
    }
}

/// The name of the consortium chain itself among channels (in metrics, logs and RPC paths); no private channel
/// may take it.
pub const SYSTEM_CHANNEL: &str = "system";

/// Most private channels one consortium registers.
pub const MAX_CHANNELS: usize = 64;

/// A private channel: its own chain (its own genesis, ledger, mempool and consensus) among some of the
/// consortium's members, whose data only their nodes receive. The system registry records which channels exist
/// and who is in them; every node computes from it which peers may receive a channel's messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    /// Its id (a name: lowercase letters, digits, `.` and `-`); the channel's chain id is
    /// `<consortium chain id>/<id>` ([`Channel::chain_id`]).
    pub id: String,
    /// The hash of the channel's genesis: a node serves the channel only from a genesis of exactly this hash.
    pub genesis: Hash32,
    /// The member organisations in the channel, sorted and distinct (at least two).
    pub members: Vec<String>,
    /// Whether a regulator member must stay in the channel (the default for channels that carry value), so that
    /// supervision does not depend on the banks inviting it.
    pub regulator_required: bool,
}

impl Channel {
    /// The chain id of channel `id` of the consortium chain `consortium`.
    pub fn chain_id(consortium: &str, id: &str) -> String {
        format!("{consortium}/{id}")
    }

    /// Whether `member` is in the channel.
    pub fn has_member(&self, member: &str) -> bool {
        self.members.binary_search_by(|m| m.as_str().cmp(member)).is_ok()
    }

    /// The checks of the channel on its own: its id and members' names, members sorted, distinct, at least two.
    pub fn check(&self) -> Result<(), GovernanceError> {
        check_channel_members(&self.id, &self.members)
    }
}

/// A channel's id and members on their own: valid names, members sorted, distinct, at least two.
pub(crate) fn check_channel_members(id: &str, members: &[String]) -> Result<(), GovernanceError> {
    let bad = |why: String| GovernanceError::BadChannel { channel: id.to_owned(), reason: why };
    ctchain_membership::check_name(id).map_err(|e| bad(e.to_string()))?;
    if id == SYSTEM_CHANNEL {
        return Err(bad(format!("{SYSTEM_CHANNEL:?} names the consortium chain itself")));
    }
    for m in members {
        ctchain_membership::check_name(m).map_err(|e| bad(e.to_string()))?;
    }
    if members.len() < 2 {
        return Err(bad("a channel has at least two members".into()));
    }
    if members.len() > crate::registry::MAX_MEMBERS {
        return Err(bad("more members than a registry holds".into()));
    }
    if !members.windows(2).all(|p| p[0] < p[1]) {
        return Err(bad("members must be sorted and distinct".into()));
    }
    Ok(())
}

impl Encode for Channel {
    fn encode_to(&self, w: &mut Writer) {
        w.str(&self.id);
        w.put(&self.genesis);
        w.len(self.members.len());
        for m in &self.members {
            w.str(m);
        }
        w.bool(self.regulator_required);
    }
}

impl Decode for Channel {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let name_len = ctchain_membership::MAX_NAME_LEN;
        let id = r.string("channel id", name_len)?;
        let genesis = r.get()?;
        let n = r.len("channel members", crate::registry::MAX_MEMBERS)?;
        let members = (0..n).map(|_| r.string("channel member", name_len)).collect::<Result<Vec<_>, _>>()?;
        let regulator_required = r.bool("regulator required")?;
        let channel = Self { id, genesis, members, regulator_required };
        channel.check().map_err(|_| DecodeError::Invalid { field: "channel", reason: "not a valid channel" })?;
        Ok(channel)
    }
}
