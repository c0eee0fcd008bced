//! The genesis as operators read and exchange it: a TOML file with hex keys. The chain identifies it by the
//! SM3 hash of its canonical encoding, so formatting and comments do not matter, only the values.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use ctchain_codec::Hash32;
use ctchain_crypto::{AssetId, AuditPublicKey, Point};
use ctchain_ledger::{AssetInfo, ConsensusParams, Genesis, ShieldedConfig, ValidatorInfo, CRYPTO_SUITE};
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
    let c = &doc.consensus;
    Ok(Genesis {
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
    })
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
    use rand_core::OsRng;

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
}
