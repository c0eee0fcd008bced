//! The commands of a real deployment's set-up, before and around the chain (the steps are in
//! `docs/deployment.md`):
//!
//! * `member new`: a member organisation's CA (self-signed X.509) and admin key, and `member.toml`, the public
//!   material it hands the others (name, role, admin keys, CA certificate);
//! * `member certify`: its CA checks a node's certificate request (made by `init`) and issues the certificate;
//! * `genesis assemble`: the genesis from every founding member's `member.toml`, the founding nodes' certificates,
//!   the audit keys and the assets (the validators are the certified validator nodes, in the order given) —
//!   refused unless it is a consortium every node will accept.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use ctchain_crypto::{AssetId, AuditPublicKey};
use ctchain_governance::{GovernancePolicy, Member, MemberRole};
use ctchain_ledger::{AssetInfo, ConsensusParams, Genesis, ValidatorInfo, CRYPTO_SUITE};
use ctchain_membership::{
    certificate_from_pem, certificate_pem, MemberCa, NodeCertificate, NodeRequest, NodeRole, ValidityWindow,
};
use serde::{Deserialize, Serialize};

use crate::governance_cli::point;
use crate::home::signing_key;
use crate::keys::{write_new_file, NodeKey};

/// `ctchain-node member …`.
#[derive(Subcommand)]
pub enum MemberCommand {
    /// Create a member organisation's CA and admin key under DIR, and its public `member.toml`.
    New {
        /// The member's name (lower-case letters, digits, '.', '-').
        #[arg(long)]
        name: String,
        /// `bank` or `regulator`.
        #[arg(long, default_value = "bank")]
        role: String,
        /// Directory to create it in (must not hold a member already).
        #[arg(long)]
        dir: PathBuf,
        /// Years the CA certificate is valid.
        #[arg(long, default_value_t = 10)]
        years: u64,
    },
    /// Check a node's certificate request and issue its certificate with this member's CA.
    Certify {
        /// The member's directory (from `member new`).
        #[arg(long)]
        dir: PathBuf,
        /// The node's request (`node.csr` from `init`).
        #[arg(long)]
        request: PathBuf,
        /// Where to write the certificate (PEM; must not exist).
        #[arg(long)]
        out: PathBuf,
        /// The certificate's serial number (unique among this CA's certificates).
        #[arg(long)]
        serial: u64,
        /// Days the certificate is valid.
        #[arg(long, default_value_t = 730)]
        days: u64,
    },
}

/// `ctchain-node genesis …`.
#[derive(Subcommand)]
pub enum GenesisCommand {
    /// Assemble the genesis from the founding members' public material.
    Assemble {
        /// The chain id.
        #[arg(long)]
        chain_id: String,
        /// A founding member's `member.toml` (repeat for each).
        #[arg(long = "member", required = true)]
        members: Vec<PathBuf>,
        /// A founding node's certificate (PEM; repeat; validators take their index in this order).
        #[arg(long = "node", required = true)]
        nodes: Vec<PathBuf>,
        /// An audit public key (hex; repeat).
        #[arg(long = "audit-key")]
        audit_keys: Vec<String>,
        /// An asset, `LABEL:DECIMALS:ISSUER_KEY_HEX` (repeat).
        #[arg(long = "asset")]
        assets: Vec<String>,
        /// The genesis time, Unix milliseconds (default: now).
        #[arg(long)]
        genesis_time_ms: Option<u64>,
        /// Where to write the genesis (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `member.toml`: a member's public material.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberFile {
    name: String,
    role: String,
    admin_keys: Vec<String>,
    ca_certificate: String,
}

fn read_member(path: &Path) -> Result<Member> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: MemberFile = toml::from_str(&text).with_context(|| format!("{} is not a member.toml", path.display()))?;
    let member = Member {
        name: file.name.clone(),
        role: MemberRole::from_name(&file.role)
            .ok_or_else(|| anyhow!("{}: role must be bank or regulator", path.display()))?,
        admin_keys: file
            .admin_keys
            .iter()
            .map(|k| ctchain_sig::PublicKey::from_text(k).map_err(|e| anyhow!("{}: admin key: {e}", path.display())))
            .collect::<Result<_>>()?,
        ca_certificate: certificate_from_pem(&file.ca_certificate).map_err(|e| anyhow!("{}: {e}", path.display()))?,
    };
    member.check().map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok(member)
}

fn now_s() -> u64 {
    crate::node::now_ms() / 1000
}

/// Runs a `member` command.
pub fn run_member(command: MemberCommand) -> Result<()> {
    match command {
        MemberCommand::New { name, role, dir, years } => {
            let role = MemberRole::from_name(&role).ok_or_else(|| anyhow!("--role must be bank or regulator"))?;
            if dir.join("ca.key").exists() {
                bail!("{} already holds a member", dir.display());
            }
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let ca_key = NodeKey::generate();
            let admin_key = NodeKey::generate();
            let now = now_s();
            let window = ValidityWindow { not_before: now.saturating_sub(3600), not_after: now + years * 365 * 86_400 };
            let ca = MemberCa::issue(&name, signing_key(&ca_key)?.as_ref(), window)
                .map_err(|e| anyhow!("member CA of {name}: {e}"))?;
            ca_key.write(&dir.join("ca.key"), "member-ca")?;
            admin_key.write(&dir.join("admin.key"), "member-admin")?;
            write_new_file(&dir.join("ca.pem"), certificate_pem(ca.der()).as_bytes(), false)?;
            let admin_public = signing_key(&admin_key)?.public_key().to_text();
            let file = MemberFile {
                name: name.clone(),
                role: role.name().into(),
                admin_keys: vec![admin_public.clone()],
                ca_certificate: certificate_pem(ca.der()),
            };
            let text = format!(
                "# The public material of member {name}: hand it to the consortium (genesis assemble, admit-member).\n{}",
                toml::to_string_pretty(&file)?
            );
            write_new_file(&dir.join("member.toml"), text.as_bytes(), false)?;
            println!("member {name} ({}) created in {}", role.name(), dir.display());
            println!(
                "  CA certificate {} (key ca.key), admin key {admin_public} (admin.key)",
                dir.join("ca.pem").display()
            );
            println!("  public material for the consortium: {}", dir.join("member.toml").display());
            Ok(())
        }
        MemberCommand::Certify { dir, request, out, serial, days } => {
            let ca_der = certificate_from_pem(&std::fs::read_to_string(dir.join("ca.pem")).context("reading ca.pem")?)
                .map_err(|e| anyhow!("ca.pem: {e}"))?;
            let ca = MemberCa::from_der(&ca_der).map_err(|e| anyhow!("ca.pem: {e}"))?;
            let ca_key = signing_key(&NodeKey::read(&dir.join("ca.key"), "member-ca")?)?;
            let text =
                std::fs::read_to_string(&request).with_context(|| format!("cannot read {}", request.display()))?;
            let der = der_of_request(&text).with_context(|| format!("{}", request.display()))?;
            let request = NodeRequest::verify(&der).map_err(|e| anyhow!("the request is refused: {e}"))?;
            if request.member != ca.member() {
                bail!("the request is for member {:?}; this CA is {:?}'s", request.member, ca.member());
            }
            let now = now_s();
            let window = ValidityWindow { not_before: now.saturating_sub(3600), not_after: now + days * 86_400 };
            let cert = ca
                .issue_node(ca_key.as_ref(), &request.identity, serial, window)
                .map_err(|e| anyhow!("cannot issue the certificate: {e}"))?;
            write_new_file(&out, certificate_pem(&cert).as_bytes(), false)?;
            let id = &request.identity;
            println!(
                "certified {}/{} ({}), network key {}, serial {serial}, valid {days} days: {}",
                ca.member(),
                id.name,
                id.role.name(),
                hex::encode(id.network_key),
                out.display()
            );
            Ok(())
        }
    }
}

/// The DER of a request file: PEM (`CERTIFICATE REQUEST`).
fn der_of_request(text: &str) -> Result<Vec<u8>> {
    let (label, der) = ctchain_membership::pem_decode(text).map_err(|e| anyhow!("{e}"))?;
    if label != "CERTIFICATE REQUEST" {
        bail!("a PEM {label:?}, not a CERTIFICATE REQUEST");
    }
    Ok(der)
}

/// Writes a node's certificate request (PEM) for `identity` of `member`, signed by `key`.
pub fn write_request(
    path: &Path,
    member: &str,
    identity: &ctchain_membership::NodeIdentity,
    key: &NodeKey,
) -> Result<()> {
    let der = NodeRequest::create(member, identity, signing_key(key)?.as_ref()).map_err(|e| anyhow!("{e}"))?;
    write_new_file(path, ctchain_membership::pem_encode("CERTIFICATE REQUEST", &der).as_bytes(), false)
}

/// Runs a `genesis` command.
pub fn run_genesis(command: GenesisCommand) -> Result<()> {
    match command {
        GenesisCommand::Assemble { chain_id, members, nodes, audit_keys, assets, genesis_time_ms, out } => {
            let members = members.iter().map(|p| read_member(p)).collect::<Result<Vec<_>>>()?;
            let time_ms = genesis_time_ms.unwrap_or_else(crate::node::now_ms);
            let cas: Vec<MemberCa> =
                members.iter().map(|m| m.check()).collect::<Result<_, _>>().map_err(|e| anyhow!("{e}"))?;
            let mut certificates = Vec::new();
            let mut validators = Vec::new();
            for path in &nodes {
                let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
                let der = certificate_from_pem(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
                let cert = NodeCertificate::verify(&der, &cas, time_ms / 1000, |_, _| false)
                    .map_err(|e| anyhow!("{}: {e}", path.display()))?;
                if cert.identity.role == NodeRole::Validator {
                    validators.push(ValidatorInfo {
                        name: format!("{}/{}", cert.member, cert.identity.name),
                        consensus_key: cert
                            .identity
                            .consensus_key
                            .as_bytes()
                            .try_into()
                            .map_err(|_| anyhow!("{}: this suite's consensus keys are Ed25519", path.display()))?,
                        network_key: cert.identity.network_key,
                    });
                }
                certificates.push(der);
            }
            let audit_keys =
                audit_keys.iter().map(|k| Ok(AuditPublicKey(point("--audit-key", k)?))).collect::<Result<Vec<_>>>()?;
            let assets = assets.iter().map(|a| parse_asset(a)).collect::<Result<Vec<_>>>()?;
            let genesis = Genesis {
                chain_id,
                crypto_suite: CRYPTO_SUITE.into(),
                genesis_time_ms: time_ms,
                validators,
                audit_keys,
                assets,
                consensus: ConsensusParams::default(),
                shielded: None,
                members,
                policy: GovernancePolicy::default(),
                nodes: certificates,
                channels: vec![],
            };
            genesis.registry().map_err(|e| anyhow!("{e}"))?;
            let text = crate::genesis_file::to_toml(&genesis);
            // What was written is what every node will read.
            crate::genesis_file::from_toml(&text)?;
            write_new_file(&out, text.as_bytes(), false)?;
            println!(
                "genesis {} of chain {}: {} members, {} nodes ({} validators), {} audit keys, {} assets: {}",
                genesis.hash(),
                genesis.chain_id,
                genesis.members.len(),
                genesis.nodes.len(),
                genesis.validators.len(),
                genesis.audit_keys.len(),
                genesis.assets.len(),
                out.display()
            );
            Ok(())
        }
    }
}

fn parse_asset(text: &str) -> Result<AssetInfo> {
    let parts: Vec<&str> = text.split(':').collect();
    let [label, decimals, issuer] = parts.as_slice() else {
        bail!("--asset {text:?} is not LABEL:DECIMALS:ISSUER_KEY_HEX");
    };
    Ok(AssetInfo {
        id: AssetId::from_label(label),
        label: (*label).to_owned(),
        decimals: decimals.parse().map_err(|_| anyhow!("--asset {text:?}: decimals must be a number"))?,
        issuer: point("--asset issuer", issuer)?,
    })
}
