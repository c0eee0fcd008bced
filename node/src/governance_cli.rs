//! `ctchain-node governance`: the operator's side of governance, the same flow as audit-access records — one
//! member proposes an action against the chain's current registry (a proposal file), each approving member's
//! admin signs it (adding its approval to the file), and anyone submits it once it has enough approvals.
//!
//! The proposal file is JSON for people to read, but only its `tx` (the canonical governance transaction, hex) is
//! authoritative: every command decodes it and shows what it really says before signing or submitting.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use ctchain_codec::{Decode, Encode};
use ctchain_crypto::{AssetId, AuditPublicKey, Point};
use ctchain_governance::{
    Action, Approval, ApprovalRule, AssetInfo, GovernanceTx, Member, MemberRole, Proposal, Registry,
};
use ctchain_membership::certificate_from_pem;
use ctchain_rpc::ChainApiClient;
use serde::{Deserialize, Serialize};

use crate::keys::NodeKey;

/// How long `submit` waits for the proposal's block.
const SUBMIT_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// The proposal file's format tag.
pub const PROPOSAL_FORMAT: &str = "ctchain-governance-proposal/v1";

/// `ctchain-node governance …`.
#[derive(Subcommand)]
pub enum GovernanceCommand {
    /// Write a proposal file for an action against the chain's current registry (read from `--rpc`).
    Propose {
        /// A node's JSON-RPC URL.
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        rpc: String,
        /// The proposal file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// The action.
        #[command(subcommand)]
        action: ActionArgs,
    },
    /// Add a member's approval to a proposal file, signed with one of its admin keys.
    Approve {
        /// The proposal file (rewritten with the approval).
        file: PathBuf,
        /// The approving member.
        #[arg(long)]
        member: String,
        /// The member's admin key file.
        #[arg(long)]
        admin_key: PathBuf,
    },
    /// Show what a proposal file says and who approved it.
    Show {
        /// The proposal file.
        file: PathBuf,
    },
    /// Submit a proposal file to a node and wait until the chain commits or refuses it.
    Submit {
        /// The proposal file.
        file: PathBuf,
        /// A node's JSON-RPC URL.
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        rpc: String,
        /// Return once the node admitted it, without waiting for the block.
        #[arg(long)]
        no_wait: bool,
    },
    /// Print the chain's registry: members, nodes, revocations, assets, policy, epochs.
    Registry {
        /// A node's JSON-RPC URL.
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        rpc: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The actions, as the command line names them.
#[derive(Subcommand)]
pub enum ActionArgs {
    /// Admit a member organisation.
    AdmitMember {
        /// Its name (as its CA certificate states it).
        #[arg(long)]
        name: String,
        /// `bank` or `regulator`.
        #[arg(long, default_value = "bank")]
        role: String,
        /// Its member CA certificate (PEM).
        #[arg(long)]
        ca_certificate: PathBuf,
        /// Its admin public keys (`ed25519:<hex>`), or admin key files; at least one.
        #[arg(long = "admin-key", required = true)]
        admin_keys: Vec<String>,
    },
    /// Remove a member and its nodes.
    RemoveMember {
        /// The member.
        #[arg(long)]
        member: String,
    },
    /// Register a node by its certificate (PEM), issued by its member's CA.
    AddNode {
        /// The node certificate.
        #[arg(long)]
        certificate: PathBuf,
    },
    /// Remove a node.
    RemoveNode {
        /// Its member.
        #[arg(long)]
        member: String,
        /// Its name.
        #[arg(long)]
        node: String,
    },
    /// Replace a node's certificate (and keys) by a new one of the same member, name and role.
    RotateNodeKeys {
        /// The new certificate (PEM).
        #[arg(long)]
        certificate: PathBuf,
    },
    /// Revoke a certificate: by the node's member and name (its current certificate), or by serial.
    RevokeCertificate {
        /// The issuing member.
        #[arg(long)]
        member: String,
        /// The node whose current certificate to revoke.
        #[arg(long, conflicts_with = "serial")]
        node: Option<String>,
        /// The serial (hex) of the certificate to revoke.
        #[arg(long)]
        serial: Option<String>,
    },
    /// List a new asset.
    ListAsset {
        /// Its label, e.g. `EUR`.
        #[arg(long)]
        label: String,
        /// Decimal places of its display unit.
        #[arg(long, default_value_t = 2)]
        decimals: u8,
        /// The issuer's public key (hex).
        #[arg(long)]
        issuer: String,
    },
    /// Replace an asset's issuer key.
    RotateIssuer {
        /// The asset (label or id).
        #[arg(long)]
        asset: String,
        /// The new issuer key (hex).
        #[arg(long)]
        issuer: String,
    },
    /// Add an audit key (from the next epoch).
    AddAuditKey {
        /// The audit public key (hex).
        #[arg(long)]
        key: String,
    },
    /// Replace the audit key at an index (from the next epoch).
    RotateAuditKey {
        /// Its index.
        #[arg(long)]
        index: u32,
        /// The new audit public key (hex).
        #[arg(long)]
        key: String,
    },
    /// Retire the audit key at an index (from the next epoch).
    RetireAuditKey {
        /// Its index.
        #[arg(long)]
        index: u32,
    },
    /// Replace a member's admin keys (a lost or compromised admin key).
    SetMemberAdmins {
        /// The member.
        #[arg(long)]
        member: String,
        /// Its new admin public keys (`ed25519:<hex>`), or admin key files; at least one.
        #[arg(long = "admin-key", required = true)]
        admin_keys: Vec<String>,
    },
    /// Replace the governance policy; unnamed classes keep their current rule. A rule is `<n>/<d>` of the members,
    /// with `+regulator` when a regulator must approve (e.g. `2/3+regulator`).
    SetPolicy {
        /// Admitting or removing members, their admin keys, the policy.
        #[arg(long)]
        membership: Option<String>,
        /// Adding or removing nodes, rotating node keys.
        #[arg(long)]
        nodes: Option<String>,
        /// Revoking certificates.
        #[arg(long)]
        revocation: Option<String>,
        /// Listing assets, rotating issuers.
        #[arg(long)]
        assets: Option<String>,
        /// Audit keys.
        #[arg(long)]
        audit_keys: Option<String>,
        /// Consensus parameters.
        #[arg(long)]
        consensus: Option<String>,
    },
    /// Change consensus parameters (from the next epoch); unnamed ones keep their current values.
    SetConsensusParams {
        /// Most transactions per block.
        #[arg(long)]
        max_block_txs: Option<u32>,
        /// Most bytes per block.
        #[arg(long)]
        max_block_bytes: Option<u32>,
        /// Initial view timeout, ms.
        #[arg(long)]
        view_timeout_ms: Option<u64>,
        /// Largest clock drift accepted, ms.
        #[arg(long)]
        max_clock_drift_ms: Option<u64>,
    },
    /// Register a private channel from its genesis file: its id is the part of the genesis's chain id after
    /// `<this chain id>/`, its members the genesis's member organisations. Every member of the channel approves.
    CreateChannel {
        /// The channel's genesis (TOML).
        #[arg(long)]
        genesis: PathBuf,
        /// Let the channel run without a regulator among its members (by default a regulator must stay in it).
        #[arg(long)]
        without_regulator: bool,
    },
    /// Set who is in a private channel (every member it will have approves; a required regulator stays).
    SetChannelMembers {
        /// The channel id.
        #[arg(long)]
        channel: String,
        /// Its members from now on (member organisation names).
        #[arg(long = "member", required = true)]
        members: Vec<String>,
    },
}

/// A proposal file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProposalFile {
    format: String,
    /// What the transaction says (informational: rebuilt from `tx` on every read).
    summary: String,
    /// Its id.
    id: String,
    /// Who approved it so far.
    approvers: Vec<String>,
    /// The governance transaction, canonical bytes in hex: the only authoritative field.
    tx: String,
}

fn read_proposal(path: &Path) -> Result<GovernanceTx> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: ProposalFile =
        serde_json::from_str(&text).with_context(|| format!("{} is not a proposal file", path.display()))?;
    if file.format != PROPOSAL_FORMAT {
        bail!("{} is a {:?}, not a {PROPOSAL_FORMAT}", path.display(), file.format);
    }
    let bytes = hex::decode(file.tx.trim()).context("the proposal's tx is not hex")?;
    GovernanceTx::from_bytes(&bytes).map_err(|e| anyhow!("the proposal's tx does not decode: {e}"))
}

fn write_proposal(path: &Path, tx: &GovernanceTx, replace: bool) -> Result<()> {
    let file = ProposalFile {
        format: PROPOSAL_FORMAT.into(),
        summary: describe(&tx.proposal),
        id: tx.id().to_string(),
        approvers: tx.approvals.iter().map(|a| a.member.clone()).collect(),
        tx: hex::encode(tx.to_bytes()),
    };
    let text = serde_json::to_string_pretty(&file)? + "\n";
    let replace = if replace { ctchain_files::Replace::Allow } else { ctchain_files::Replace::Refuse };
    ctchain_files::write_atomic(path, text.as_bytes(), replace, ctchain_files::Access::Default)
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))
}

/// What a proposal does, in one line.
pub fn describe(p: &Proposal) -> String {
    let what = match &p.action {
        Action::AdmitMember(m) => format!("admit {} {} ({} admin keys)", m.role.name(), m.name, m.admin_keys.len()),
        Action::RemoveMember { member } => format!("remove member {member} and its nodes"),
        Action::SetMemberAdmins { member, admin_keys } => format!("give {member} {} new admin keys", admin_keys.len()),
        Action::SetPolicy(_) => "replace the governance policy".into(),
        Action::AddNode { certificate } | Action::RotateNodeKeys { certificate } => {
            let verb = if matches!(p.action, Action::AddNode { .. }) { "add node" } else { "rotate the keys of" };
            match ctchain_membership::certificate_summary(certificate) {
                Ok(who) => format!("{verb} {who}"),
                Err(e) => format!("{verb} an unreadable certificate ({e})"),
            }
        }
        Action::RemoveNode { member, node } => format!("remove node {member}/{node}"),
        Action::RevokeCertificate { member, serial } => {
            format!("revoke certificate {} of {member}", hex::encode(serial))
        }
        Action::ListAsset(a) => {
            format!("list asset {} ({} decimals), issuer {}", a.label, a.decimals, hex::encode(a.issuer.as_bytes()))
        }
        Action::RotateIssuer { asset, issuer } => {
            format!("rotate the issuer of {asset} to {}", hex::encode(issuer.as_bytes()))
        }
        Action::AddAuditKey(k) => format!("add audit key {}", hex::encode(k.0.as_bytes())),
        Action::RotateAuditKey { index, key } => {
            format!("replace audit key {index} by {}", hex::encode(key.0.as_bytes()))
        }
        Action::RetireAuditKey { index } => format!("retire audit key {index}"),
        Action::CreateChannel(c) => format!(
            "create private channel {} (genesis {}) among {}{}",
            c.id,
            c.genesis,
            c.members.join(", "),
            if c.regulator_required { ", a regulator required" } else { "" }
        ),
        Action::SetChannelMembers { channel, members } => {
            format!("private channel {channel} is from now on among {}", members.join(", "))
        }
        Action::SetConsensusParams(c) => format!(
            "consensus parameters: {} txs / {} bytes per block, view timeout {} ms, clock drift {} ms",
            c.max_block_txs, c.max_block_bytes, c.view_timeout_ms, c.max_clock_drift_ms
        ),
    };
    format!("{} on {} against registry version {}: {what}", p.action.name(), p.chain_id, p.registry_version)
}

/// A Ristretto point given as 32 bytes of hex (issuer and audit keys).
pub(crate) fn point(what: &str, text: &str) -> Result<Point> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow!("{what} must be 32 bytes of hex"))?;
    Point::from_bytes(&bytes).map_err(|e| anyhow!("{what}: {e}"))
}

fn read_pem(path: &Path) -> Result<Vec<u8>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    certificate_from_pem(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// An admin key given as `scheme:hex` or as a key file.
fn admin_public_key(text: &str) -> Result<ctchain_sig::PublicKey> {
    if let Ok(key) = ctchain_sig::PublicKey::from_text(text) {
        return Ok(key);
    }
    let path = Path::new(text);
    if path.exists() {
        let key = NodeKey::read(path, "member-admin")?;
        return ctchain_sig::PublicKey::new(ctchain_sig::Scheme::Ed25519, &key.public).map_err(|e| anyhow!("{e}"));
    }
    bail!("admin key {text:?} is neither <scheme>:<hex> nor a key file")
}

fn action(args: ActionArgs, registry: &Registry, chain_id: &str) -> Result<Action> {
    Ok(match args {
        ActionArgs::AdmitMember { name, role, ca_certificate, admin_keys } => Action::AdmitMember(Member {
            name,
            role: MemberRole::from_name(&role).ok_or_else(|| anyhow!("--role must be bank or regulator"))?,
            ca_certificate: read_pem(&ca_certificate)?,
            admin_keys: admin_keys.iter().map(|k| admin_public_key(k)).collect::<Result<_>>()?,
        }),
        ActionArgs::RemoveMember { member } => Action::RemoveMember { member },
        ActionArgs::AddNode { certificate } => Action::AddNode { certificate: read_pem(&certificate)? },
        ActionArgs::RemoveNode { member, node } => Action::RemoveNode { member, node },
        ActionArgs::RotateNodeKeys { certificate } => Action::RotateNodeKeys { certificate: read_pem(&certificate)? },
        ActionArgs::RevokeCertificate { member, node, serial } => {
            let serial = match (node, serial) {
                (Some(node), None) => registry
                    .node(&member, &node)
                    .map(|n| n.serial.clone())
                    .ok_or_else(|| anyhow!("no node {member}/{node} is registered"))?,
                (None, Some(serial)) => hex::decode(serial.trim()).context("--serial must be hex")?,
                _ => bail!("name the certificate by --node or by --serial"),
            };
            Action::RevokeCertificate { member, serial }
        }
        ActionArgs::ListAsset { label, decimals, issuer } => Action::ListAsset(AssetInfo {
            id: AssetId::from_label(&label),
            label,
            decimals,
            issuer: point("--issuer", &issuer)?,
        }),
        ActionArgs::RotateIssuer { asset, issuer } => {
            let id = registry
                .assets()
                .iter()
                .find(|a| a.label == asset || a.id.to_string() == asset.to_lowercase())
                .map(|a| a.id)
                .ok_or_else(|| anyhow!("the chain lists no asset {asset:?}"))?;
            Action::RotateIssuer { asset: id, issuer: point("--issuer", &issuer)? }
        }
        ActionArgs::AddAuditKey { key } => Action::AddAuditKey(AuditPublicKey(point("--key", &key)?)),
        ActionArgs::RotateAuditKey { index, key } => {
            Action::RotateAuditKey { index, key: AuditPublicKey(point("--key", &key)?) }
        }
        ActionArgs::RetireAuditKey { index } => Action::RetireAuditKey { index },
        ActionArgs::SetMemberAdmins { member, admin_keys } => Action::SetMemberAdmins {
            member,
            admin_keys: admin_keys.iter().map(|k| admin_public_key(k)).collect::<Result<_>>()?,
        },
        ActionArgs::SetPolicy { membership, nodes, revocation, assets, audit_keys, consensus } => {
            let mut policy = *registry.policy();
            let rule = |flag: &str, text: Option<String>, current: ApprovalRule| -> Result<ApprovalRule> {
                match text {
                    None => Ok(current),
                    Some(t) => ApprovalRule::from_text(t.trim())
                        .ok_or_else(|| anyhow!("--{flag} {t:?} is not <n>/<d> or <n>/<d>+regulator")),
                }
            };
            policy.membership = rule("membership", membership, policy.membership)?;
            policy.nodes = rule("nodes", nodes, policy.nodes)?;
            policy.revocation = rule("revocation", revocation, policy.revocation)?;
            policy.assets = rule("assets", assets, policy.assets)?;
            policy.audit_keys = rule("audit-keys", audit_keys, policy.audit_keys)?;
            policy.consensus = rule("consensus", consensus, policy.consensus)?;
            if policy == *registry.policy() {
                bail!("the policy would not change: name at least one class with a new rule");
            }
            Action::SetPolicy(policy)
        }
        ActionArgs::SetConsensusParams { max_block_txs, max_block_bytes, view_timeout_ms, max_clock_drift_ms } => {
            // Start from what the next epoch would run with, so that two changes in one epoch compose.
            let mut params = registry.next_epoch().unwrap_or(registry.epoch()).consensus.clone();
            params.max_block_txs = max_block_txs.unwrap_or(params.max_block_txs);
            params.max_block_bytes = max_block_bytes.unwrap_or(params.max_block_bytes);
            params.view_timeout_ms = view_timeout_ms.unwrap_or(params.view_timeout_ms);
            params.max_clock_drift_ms = max_clock_drift_ms.unwrap_or(params.max_clock_drift_ms);
            Action::SetConsensusParams(params)
        }
        ActionArgs::CreateChannel { genesis, without_regulator } => {
            let channel_genesis = crate::genesis_file::read(&genesis)?;
            let prefix = format!("{chain_id}/");
            let Some(id) = channel_genesis.chain_id.strip_prefix(&prefix) else {
                bail!(
                    "the channel genesis's chain id {:?} is not {prefix}<channel id>: a channel of this consortium \
                     names it",
                    channel_genesis.chain_id
                );
            };
            let mut members: Vec<String> = channel_genesis.members.iter().map(|m| m.name.clone()).collect();
            members.sort();
            Action::CreateChannel(ctchain_governance::Channel {
                id: id.to_owned(),
                genesis: channel_genesis.hash(),
                members,
                regulator_required: !without_regulator,
            })
        }
        ActionArgs::SetChannelMembers { channel, mut members } => {
            members.sort();
            members.dedup();
            Action::SetChannelMembers { channel, members }
        }
    })
}

async fn fetch_registry(client: &jsonrpsee::http_client::HttpClient, rpc: &str) -> Result<Registry> {
    let json = client.governance_registry().await.with_context(|| format!("cannot reach the node at {rpc}"))?;
    let bytes = hex::decode(&json.hex).context("the node's registry is not hex")?;
    Registry::from_bytes(&bytes).map_err(|e| anyhow!("the node's registry does not decode: {e}"))
}

/// Runs a governance command.
pub async fn run(command: GovernanceCommand) -> Result<()> {
    match command {
        GovernanceCommand::Propose { rpc, out, action: args } => {
            let client = jsonrpsee::http_client::HttpClientBuilder::default().build(&rpc)?;
            let status = client.chain_status().await.with_context(|| format!("cannot reach the node at {rpc}"))?;
            let registry = fetch_registry(&client, &rpc).await?;
            let action = action(args, &registry, &status.chain_id)?;
            let proposal = Proposal { chain_id: status.chain_id, registry_version: registry.version(), action };
            let tx = GovernanceTx { proposal, approvals: Vec::new() };
            // The form is checked now (names, a member's CA, ranges), not after every member signed.
            tx.proposal.action.check_form().map_err(|e| anyhow!("the proposal is malformed: {e}"))?;
            write_proposal(&out, &tx, false)?;
            println!("{}", describe(&tx.proposal));
            println!("proposal {} written to {}", tx.id(), out.display());
            println!(
                "each approving member: ctchain-node governance approve {} --member <name> --admin-key <file>",
                out.display()
            );
            Ok(())
        }
        GovernanceCommand::Approve { file, member, admin_key } => {
            let mut tx = read_proposal(&file)?;
            let key = NodeKey::read(&admin_key, "member-admin")?;
            let signer = crate::home::signing_key(&key)?;
            tx.add_approval(Approval::sign(&tx.id(), &member, signer.as_ref()));
            write_proposal(&file, &tx, true)?;
            println!("{}", describe(&tx.proposal));
            println!(
                "approved by {member}; approvals now: {}",
                tx.approvals.iter().map(|a| a.member.as_str()).collect::<Vec<_>>().join(", ")
            );
            Ok(())
        }
        GovernanceCommand::Show { file } => {
            let tx = read_proposal(&file)?;
            println!("{}", describe(&tx.proposal));
            println!("id {}", tx.id());
            match tx.clone().verify(&tx.proposal.chain_id) {
                Ok(_) => println!("approvals (signatures valid): {}", approvers(&tx)),
                Err(e) => println!("approvals: {} — not valid: {e}", approvers(&tx)),
            }
            Ok(())
        }
        GovernanceCommand::Submit { file, rpc, no_wait } => {
            let tx = read_proposal(&file)?;
            let client = jsonrpsee::http_client::HttpClientBuilder::default().build(&rpc)?;
            let result = client
                .governance_submit(hex::encode(tx.to_bytes()))
                .await
                .map_err(|e| anyhow!("the node refused the proposal: {e}"))?;
            println!("{}", describe(&tx.proposal));
            println!("submitted: {} (approved by {})", result.id, approvers(&tx));
            if no_wait {
                return Ok(());
            }
            // The door checks against the registry as it stands; the block checks again at its own time (a
            // certificate may have expired since, another action may have come first): say how it ended.
            let deadline = std::time::Instant::now() + SUBMIT_WAIT;
            loop {
                match client.tx_get(result.id.clone()).await.context("asking the node about the proposal")? {
                    ctchain_rpc::TxStatus::Committed { height, .. } => {
                        let r = client.governance_registry().await.context("reading the registry")?;
                        println!("committed at height {height}: registry version {}", r.version);
                        return Ok(());
                    }
                    ctchain_rpc::TxStatus::Rejected { reason } => bail!("the chain refused the proposal: {reason}"),
                    ctchain_rpc::TxStatus::Unknown | ctchain_rpc::TxStatus::Pending => {}
                }
                if std::time::Instant::now() > deadline {
                    bail!(
                        "the proposal {} is not committed after {} s: ask `tx_get` later (it may still commit)",
                        result.id,
                        SUBMIT_WAIT.as_secs()
                    );
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        GovernanceCommand::Registry { rpc, json } => {
            let client = jsonrpsee::http_client::HttpClientBuilder::default().build(&rpc)?;
            let r = client.governance_registry().await.with_context(|| format!("cannot reach the node at {rpc}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            println!("registry version {} at height {}", r.version, r.height);
            println!("policy: {}", r.policy.iter().map(|(c, p)| format!("{c} {p}")).collect::<Vec<_>>().join(", "));
            for m in &r.members {
                println!("member {} ({}), {} admin keys", m.name, m.role, m.admin_keys.len());
                for n in r.nodes.iter().filter(|n| n.member == m.name) {
                    let leaving = n.leaving_since.map_or(String::new(), |h| format!(", leaving since {h}"));
                    println!(
                        "  node {} ({}), serial {}, network key {}{leaving}",
                        n.name,
                        n.role,
                        n.serial,
                        &n.network_key[..16]
                    );
                }
            }
            for v in &r.revocations {
                println!("revoked: serial {} of {} at height {}", v.serial, v.member, v.height);
            }
            for a in &r.assets {
                println!("asset {} ({} decimals)", a.label, a.decimals);
            }
            for c in &r.channels {
                println!(
                    "private channel {} among {}{} (genesis {})",
                    c.id,
                    c.members.join(", "),
                    if c.regulator_required { ", a regulator required" } else { "" },
                    c.genesis_hash
                );
            }
            let epoch = |label: &str, e: &ctchain_rpc::EpochJson| {
                println!(
                    "{label} epoch {} from sequence number {}: {} validators ({}), {} audit keys, {} txs per block",
                    e.number,
                    e.first_seq,
                    e.validators.len(),
                    e.validators.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(", "),
                    e.audit_keys.len(),
                    e.max_block_txs
                );
            };
            epoch("current", &r.epoch);
            if let Some(next) = &r.next_epoch {
                epoch("next", next);
            }
            Ok(())
        }
    }
}

fn approvers(tx: &GovernanceTx) -> String {
    if tx.approvals.is_empty() {
        return "nobody yet".into();
    }
    tx.approvals.iter().map(|a| a.member.as_str()).collect::<Vec<_>>().join(", ")
}
