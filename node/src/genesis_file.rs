//! The genesis as operators read and exchange it: a TOML file with hex keys. The chain identifies it by the
//! SM3 hash of its canonical encoding, so formatting and comments do not matter, only the values.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use ctchain_codec::Hash32;
use ctchain_crypto::{AssetId, AuditPublicKey, Point};
use ctchain_governance::{ActionClass, ApprovalRule, Channel, GovernancePolicy, Member, MemberRole};
use ctchain_ledger::{AssetInfo, ConsensusParams, Genesis, ShieldedConfig, ValidatorInfo, CRYPTO_SUITE};
use ctchain_membership::{certificate_from_pem, certificate_pem};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenesisToml {
    chain_id: String,
    crypto_suite: String,
    genesis_time_ms: u64,
    consensus: ConsensusToml,
    validators: Vec<ValidatorToml>,
    audit_keys: Vec<String>,
    assets: Vec<AssetToml>,
    /// Absent: the chain has no shielded pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shielded: Option<ShieldedToml>,
    /// Absent: the default policy (two thirds; a third for revocations; audit keys with a regulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    policy: Option<PolicyToml>,
    /// The founding members; none: a fixed consortium without governance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    members: Vec<MemberToml>,
    /// The founding nodes' certificates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    nodes: Vec<NodeToml>,
    /// The private channels founded with the chain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    channels: Vec<ChannelToml>,
}

/// `[[channels]]`: a private channel, the SM3 hash of its genesis (hex) and its members.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelToml {
    id: String,
    genesis: String,
    members: Vec<String>,
    regulator_required: bool,
}

/// `[[members]]`: a member organisation, its CA certificate (PEM) and its admin keys (`ed25519:<hex>`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberToml {
    name: String,
    /// `bank` or `regulator`.
    role: String,
    admin_keys: Vec<String>,
    ca_certificate: String,
}

/// `[[nodes]]`: a node certificate (PEM) issued by a member's CA; the node's name, role and keys are in it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeToml {
    certificate: String,
}

/// `[policy]`: one rule per class of action, e.g. `audit_keys = "2/3+regulator"`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyToml {
    membership: String,
    nodes: String,
    revocation: String,
    assets: String,
    audit_keys: String,
    consensus: String,
}

fn parse_rule(class: ActionClass, text: &str) -> Result<ApprovalRule> {
    ApprovalRule::from_text(text)
        .ok_or_else(|| anyhow!("policy {}: {text:?} is not <n>/<d> or <n>/<d>+regulator", class.name()))
}

fn policy_toml(p: &GovernancePolicy) -> PolicyToml {
    PolicyToml {
        membership: p.membership.to_text(),
        nodes: p.nodes.to_text(),
        revocation: p.revocation.to_text(),
        assets: p.assets.to_text(),
        audit_keys: p.audit_keys.to_text(),
        consensus: p.consensus.to_text(),
    }
}

fn policy_from(t: &PolicyToml) -> Result<GovernancePolicy> {
    Ok(GovernancePolicy {
        membership: parse_rule(ActionClass::Membership, &t.membership)?,
        nodes: parse_rule(ActionClass::Nodes, &t.nodes)?,
        revocation: parse_rule(ActionClass::Revocation, &t.revocation)?,
        assets: parse_rule(ActionClass::Assets, &t.assets)?,
        audit_keys: parse_rule(ActionClass::AuditKeys, &t.audit_keys)?,
        consensus: parse_rule(ActionClass::Consensus, &t.consensus)?,
    })
}

/// `[shielded]`: the shielded pool's pinned verifying key, the regulator's Baby Jubjub key, the anchor window.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShieldedToml {
    verifying_key_sm3: String,
    audit_key: String,
    recent_roots: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsensusToml {
    checkpoint_interval: u64,
    window: u64,
    max_block_txs: u32,
    max_block_bytes: u32,
    view_timeout_ms: u64,
    max_clock_drift_ms: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidatorToml {
    name: String,
    consensus_key: String,
    network_key: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssetToml {
    label: String,
    decimals: u8,
    issuer: String,
}

fn hex32(what: &str, s: &str) -> Result<[u8; 32]> {
    let bytes = hex::decode(s).with_context(|| format!("{what}: not hex"))?;
    bytes.try_into().map_err(|_| anyhow!("{what}: expected 32 bytes"))
}

fn point(what: &str, s: &str) -> Result<Point> {
    Point::from_bytes(&hex32(what, s)?).map_err(|e| anyhow!("{what}: {e}"))
}

/// Renders a genesis as TOML.
pub fn to_toml(g: &Genesis) -> String {
    let doc = GenesisToml {
        chain_id: g.chain_id.clone(),
        crypto_suite: g.crypto_suite.clone(),
        genesis_time_ms: g.genesis_time_ms,
        consensus: ConsensusToml {
            checkpoint_interval: g.consensus.checkpoint_interval,
            window: g.consensus.window,
            max_block_txs: g.consensus.max_block_txs,
            max_block_bytes: g.consensus.max_block_bytes,
            view_timeout_ms: g.consensus.view_timeout_ms,
            max_clock_drift_ms: g.consensus.max_clock_drift_ms,
        },
        validators: g
            .validators
            .iter()
            .map(|v| ValidatorToml {
                name: v.name.clone(),
                consensus_key: hex::encode(v.consensus_key),
                network_key: hex::encode(v.network_key),
            })
            .collect(),
        audit_keys: g.audit_keys.iter().map(|k| hex::encode(k.0.as_bytes())).collect(),
        assets: g
            .assets
            .iter()
            .map(|a| AssetToml {
                label: a.label.clone(),
                decimals: a.decimals,
                issuer: hex::encode(a.issuer.as_bytes()),
            })
            .collect(),
        shielded: g.shielded.as_ref().map(|s| ShieldedToml {
            verifying_key_sm3: s.verifying_key_hash.to_hex(),
            audit_key: hex::encode(s.audit_key.to_bytes()),
            recent_roots: s.recent_roots,
        }),
        policy: (!g.members.is_empty()).then(|| policy_toml(&g.policy)),
        members: g
            .members
            .iter()
            .map(|m| MemberToml {
                name: m.name.clone(),
                role: m.role.name().into(),
                admin_keys: m.admin_keys.iter().map(|k| k.to_text()).collect(),
                ca_certificate: certificate_pem(&m.ca_certificate),
            })
            .collect(),
        nodes: g.nodes.iter().map(|der| NodeToml { certificate: certificate_pem(der) }).collect(),
        channels: g
            .channels
            .iter()
            .map(|c| ChannelToml {
                id: c.id.clone(),
                genesis: c.genesis.to_hex(),
                members: c.members.clone(),
                regulator_required: c.regulator_required,
            })
            .collect(),
    };
    let body = toml::to_string_pretty(&doc).expect("the genesis always serialises");
    format!(
        "# ctchain genesis. Its identity is SM3 of the canonical encoding of these values (not of this text).\n{body}"
    )
}

/// Parses and checks a genesis TOML.
pub fn from_toml(text: &str) -> Result<Genesis> {
    let doc: GenesisToml = toml::from_str(text).context("genesis is not valid TOML of the expected shape")?;
    if doc.crypto_suite != CRYPTO_SUITE {
        bail!("genesis crypto suite {:?} is not this node's {:?}", doc.crypto_suite, CRYPTO_SUITE);
    }
    if doc.validators.is_empty() {
        bail!("genesis names no validators");
    }
    let validators = doc
        .validators
        .iter()
        .enumerate()
        .map(|(i, v)| {
            Ok(ValidatorInfo {
                name: v.name.clone(),
                consensus_key: hex32(&format!("validator {i} consensus key"), &v.consensus_key)?,
                network_key: hex32(&format!("validator {i} network key"), &v.network_key)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let audit_keys = doc
        .audit_keys
        .iter()
        .enumerate()
        .map(|(i, k)| Ok(AuditPublicKey(point(&format!("audit key {i}"), k)?)))
        .collect::<Result<Vec<_>>>()?;
    let assets = doc
        .assets
        .iter()
        .map(|a| {
            Ok(AssetInfo {
                id: AssetId::from_label(&a.label),
                label: a.label.clone(),
                decimals: a.decimals,
                issuer: point(&format!("issuer of {}", a.label), &a.issuer)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let shielded = doc
        .shielded
        .as_ref()
        .map(|s| -> Result<ShieldedConfig> {
            Ok(ShieldedConfig {
                verifying_key_hash: Hash32(hex32("shielded verifying_key_sm3", &s.verifying_key_sm3)?),
                audit_key: ctchain_circuits::AuditPublicKey::from_bytes(&hex32("shielded audit key", &s.audit_key)?)
                    .map_err(|e| anyhow!("shielded audit key: {e}"))?,
                recent_roots: s.recent_roots,
            })
        })
        .transpose()?;
    let members = doc
        .members
        .iter()
        .map(|m| {
            Ok(Member {
                name: m.name.clone(),
                role: MemberRole::from_name(&m.role)
                    .ok_or_else(|| anyhow!("member {}: role {:?} is not bank or regulator", m.name, m.role))?,
                admin_keys: m
                    .admin_keys
                    .iter()
                    .map(|k| {
                        ctchain_sig::PublicKey::from_text(k).map_err(|e| anyhow!("member {} admin key: {e}", m.name))
                    })
                    .collect::<Result<_>>()?,
                ca_certificate: certificate_from_pem(&m.ca_certificate)
                    .map_err(|e| anyhow!("member {} CA certificate: {e}", m.name))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let nodes = doc
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| certificate_from_pem(&n.certificate).map_err(|e| anyhow!("node certificate {i}: {e}")))
        .collect::<Result<Vec<_>>>()?;
    let policy = doc.policy.as_ref().map(policy_from).transpose()?.unwrap_or_default();
    let channels = doc
        .channels
        .iter()
        .map(|c| {
            Ok(Channel {
                id: c.id.clone(),
                genesis: Hash32(hex32(&format!("channel {} genesis hash", c.id), &c.genesis)?),
                members: c.members.clone(),
                regulator_required: c.regulator_required,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let c = &doc.consensus;
    let genesis = Genesis {
        chain_id: doc.chain_id,
        crypto_suite: doc.crypto_suite,
        genesis_time_ms: doc.genesis_time_ms,
        validators,
        audit_keys,
        assets,
        consensus: ConsensusParams {
            checkpoint_interval: c.checkpoint_interval,
            window: c.window,
            max_block_txs: c.max_block_txs,
            max_block_bytes: c.max_block_bytes,
            view_timeout_ms: c.view_timeout_ms,
            max_clock_drift_ms: c.max_clock_drift_ms,
        },
        shielded,
        members,
        policy,
        nodes,
        channels,
    };
    genesis.registry().map_err(|e| anyhow!("{e}"))?;
    Ok(genesis)
}

/// Reads a genesis file.
pub fn read(path: &Path) -> Result<Genesis> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read genesis {}", path.display()))?;
    from_toml(&text).with_context(|| format!("genesis {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctchain_crypto::{AuditSecretKey, SigningKey};
    use rand_core::{OsRng, SeedableRng};

    #[test]
    fn toml_round_trip_keeps_the_hash_and_bad_keys_are_named() {
        let g = Genesis {
            chain_id: "ctchain-t".into(),
            crypto_suite: CRYPTO_SUITE.into(),
            genesis_time_ms: 1,
            validators: vec![ValidatorInfo { name: "a".into(), consensus_key: [1; 32], network_key: [2; 32] }],
            audit_keys: vec![AuditSecretKey::random(&mut OsRng).public()],
            assets: vec![AssetInfo {
                id: AssetId::from_label("CNY"),
                label: "CNY".into(),
                decimals: 2,
                issuer: SigningKey::random(&mut OsRng).public(),
            }],
            consensus: ConsensusParams::default(),
            shielded: Some(ShieldedConfig {
                verifying_key_hash: Hash32([7; 32]),
                audit_key: ctchain_circuits::AuditSecretKey::random(&mut OsRng).public_key(),
                recent_roots: 100,
            }),
            members: vec![],
            policy: GovernancePolicy::default(),
            nodes: vec![],
            channels: vec![],
        };
        let text = to_toml(&g);
        let back = from_toml(&text).unwrap();
        assert_eq!(back.hash(), g.hash());
        let broken = text.replace(&hex::encode(g.audit_keys[0].0.as_bytes()), &"00".repeat(31));
        let err = format!("{:#}", from_toml(&broken).unwrap_err());
        assert!(err.contains("audit key 0"), "{err}");
        let unknown = format!("{text}\nsurprise = 1\n");
        assert!(from_toml(&unknown).is_err());
        let bad_key = text.replace(&hex::encode(g.shielded.unwrap().audit_key.to_bytes()), &"ff".repeat(32));
        let err = format!("{:#}", from_toml(&bad_key).unwrap_err());
        assert!(err.contains("shielded audit key"), "{err}");
        let without_pool = Genesis { shielded: None, ..g.clone() };
        assert_eq!(from_toml(&to_toml(&without_pool)).unwrap().hash(), without_pool.hash());
    }

    #[test]
    fn a_consortium_genesis_round_trips_with_its_certificates_and_policy() {
        use ctchain_governance::testing::{TestConsortium, NOW_MS};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let consortium = TestConsortium::new(4, &mut rng);
        let policy = GovernancePolicy { assets: ApprovalRule::share(1, 2).with_regulator(), ..Default::default() };
        let g = Genesis {
            chain_id: "ctchain-c".into(),
            crypto_suite: CRYPTO_SUITE.into(),
            genesis_time_ms: NOW_MS,
            validators: consortium.validators(),
            audit_keys: vec![AuditSecretKey::random(&mut OsRng).public()],
            assets: vec![],
            consensus: ConsensusParams::default(),
            shielded: None,
            members: consortium.public_members(),
            policy,
            nodes: consortium.certificates(),
            channels: vec![],
        };
        let text = to_toml(&g);
        assert!(text.contains("-----BEGIN CERTIFICATE-----"), "{text}");
        assert!(text.contains("assets = \"1/2+regulator\""), "{text}");
        let back = from_toml(&text).unwrap();
        assert_eq!(back, g);
        // A validator list that is not the certified validators is refused, naming why.
        let mut wrong = g.clone();
        wrong.validators.swap(0, 1);
        let err = format!("{:#}", from_toml(&to_toml(&wrong)).unwrap_err());
        assert!(err.contains("certified validator nodes"), "{err}");
        let bad_rule = text.replace("1/2+regulator", "1/2+bank");
        assert!(format!("{:#}", from_toml(&bad_rule).unwrap_err()).contains("policy assets"));
    }
}
