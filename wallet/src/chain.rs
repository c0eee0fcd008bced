//! What the wallet needs to know about a chain, read from its genesis: id, audit keys, assets, shielded pool.

use ctchain_circuits::AssetTag;
use ctchain_codec::{Decode, Encode};
use ctchain_crypto::{AssetId, AuditPublicKey};
use ctchain_ledger::{AssetInfo, Genesis, ShieldedConfig};

use crate::error::{Result, WalletError};
use ctchain_display::amount::{format_amount, parse_amount};

/// A chain as the wallet sees it.
#[derive(Clone, Debug)]
pub struct ChainInfo {
    /// The chain id.
    pub chain_id: String,
    /// Hash of the canonical genesis (hex): a store is tied to it.
    pub genesis_hash: String,
    /// The regulators' audit keys, in order; every output must carry a copy for each.
    pub audit_keys: Vec<AuditPublicKey>,
    /// The assets.
    pub assets: Vec<AssetInfo>,
    /// Genesis time, ms since the Unix epoch.
    pub genesis_time_ms: u64,
    /// The shielded pool's parameters (`None`: the chain has no shielded pool).
    pub shielded: Option<ShieldedConfig>,
}

impl ChainInfo {
    /// From a decoded genesis.
    pub fn from_genesis(genesis: &Genesis) -> Self {
        Self {
            chain_id: genesis.chain_id.clone(),
            genesis_hash: genesis.hash().to_string(),
            audit_keys: genesis.audit_keys.clone(),
            assets: genesis.assets.clone(),
            genesis_time_ms: genesis.genesis_time_ms,
            shielded: genesis.shielded,
        }
    }

    /// The shielded pool's parameters, or [`WalletError::NoShieldedPool`].
    pub fn shielded_pool(&self) -> Result<&ShieldedConfig> {
        self.shielded.as_ref().ok_or(WalletError::NoShieldedPool)
    }

    /// Takes the audit keys and assets the chain's governance has set since the genesis (what the next
    /// transaction is built for).
    pub fn follow_rules(&mut self, rules: crate::sync::ChainRules) {
        self.audit_keys = rules.audit_keys;
        for asset in rules.assets {
            if !self.assets.iter().any(|a| a.id == asset.id) {
                self.assets.push(asset);
            }
        }
    }

    /// From the canonical genesis bytes (as `chain_getGenesis` returns them). The hash is computed here, not
    /// taken from the node's summary.
    pub fn from_genesis_bytes(bytes: &[u8]) -> Result<Self> {
        let genesis = Genesis::from_bytes(bytes).map_err(|e| WalletError::BadNodeData(format!("genesis: {e}")))?;
        debug_assert_eq!(genesis.to_bytes(), bytes);
        Ok(Self::from_genesis(&genesis))
    }

    /// An asset by label (case-insensitive) or by id (hex).
    pub fn asset(&self, name: &str) -> Result<&AssetInfo> {
        let name = name.trim();
        self.assets
            .iter()
            .find(|a| a.label.eq_ignore_ascii_case(name) || a.id.to_string().eq_ignore_ascii_case(name))
            .ok_or_else(|| WalletError::UnknownAsset {
                name: name.into(),
                known: self.assets.iter().map(|a| a.label.as_str()).collect::<Vec<_>>().join(", "),
            })
    }

    /// An asset by id.
    pub fn asset_by_id(&self, id: &AssetId) -> Option<&AssetInfo> {
        self.assets.iter().find(|a| a.id == *id)
    }

    /// The asset whose shielded-pool tag is `tag` (notes carry tags, not ids).
    pub fn asset_by_tag(&self, tag: &AssetTag) -> Option<&AssetInfo> {
        self.assets.iter().find(|a| AssetTag::from_asset_id(&a.id.0) == *tag)
    }

    /// The label of an asset, or its id for an asset the genesis does not name.
    pub fn label(&self, id: &AssetId) -> String {
        self.asset_by_id(id).map(|a| a.label.clone()).unwrap_or_else(|| id.to_string())
    }

    /// Formats base units of `id` in its display unit.
    pub fn format(&self, id: &AssetId, units: u64) -> String {
        format_amount(u128::from(units), self.asset_by_id(id).map(|a| a.decimals).unwrap_or(0))
    }

    /// Parses a display amount of `asset` into base units; zero is refused.
    pub fn parse(&self, asset: &AssetInfo, text: &str) -> Result<u64> {
        let units = parse_amount(text, asset.decimals)?;
        if units == 0 {
            return Err(WalletError::ZeroAmount);
        }
        Ok(units)
    }
}

/// Parses 64 hex digits.
pub(crate) fn parse_hash(what: &str, text: &str) -> Result<ctchain_codec::Hash32> {
    ctchain_codec::Hash32::from_hex(text.trim())
        .ok_or_else(|| WalletError::BadNodeData(format!("{what} {text:?} is not 64 hex digits")))
}
