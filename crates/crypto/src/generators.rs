//! The fixed group elements every statement is made over.
//!
//! * `G`, the Ristretto basepoint, is the base of every secret key (spend, view, issuer, one-time keys).
//! * `B`, the blinding base, is `bulletproofs::PedersenGens::default().B_blinding`. It is the base of every
//!   commitment's blinding term, of the balance excess, and of the audit keys (`P = s⁻¹·B`).
//! * `V_a`, the value base of asset `a`, is a hash-to-point of the asset id (SM3-expanded, then the Ristretto
//!   Elligator map), so nobody knows a discrete-log relation between any two of `G`, `B`, `V_a`, `V_b`.
//!   This is what makes one balance equation over several assets sound (see the crate docs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use bulletproofs::{BulletproofGens, PedersenGens};
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;

use crate::asset::AssetId;
use crate::{LIMB_BITS, MAX_RANGE_PARTIES};

/// The key base `G`.
pub fn key_base() -> RistrettoPoint {
    RISTRETTO_BASEPOINT_POINT
}

/// The blinding base `B`.
pub fn blinding_base() -> RistrettoPoint {
    static B: OnceLock<RistrettoPoint> = OnceLock::new();
    *B.get_or_init(|| PedersenGens::default().B_blinding)
}

/// The value base `V_a` of an asset.
pub fn value_base(asset: &AssetId) -> RistrettoPoint {
    // Hash-to-point is ~20 µs; validators ask for the same few assets constantly.
    static CACHE: OnceLock<Mutex<HashMap<AssetId, RistrettoPoint>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Ok(map) = cache.lock() {
        if let Some(p) = map.get(asset) {
            return *p;
        }
    }
    let mut wide = [0u8; 64];
    for (half, chunk) in wide.chunks_mut(32).enumerate() {
        let mut h = ctchain_codec::Sm3Hasher::new("ctchain/asset-value-base/v1");
        h.update(asset.as_bytes()).update([half as u8]);
        chunk.copy_from_slice(h.finish().as_bytes());
    }
    let point = RistrettoPoint::from_uniform_bytes(&wide);
    if let Ok(mut map) = cache.lock() {
        // Bound the cache: a chain has few assets, an attacker could name many.
        if map.len() < 4096 {
            map.insert(*asset, point);
        }
    }
    point
}

/// The Pedersen generators of an asset, in the shape the `bulletproofs` crate expects.
pub fn pedersen_gens(asset: &AssetId) -> PedersenGens {
    PedersenGens { B: value_base(asset), B_blinding: blinding_base() }
}

/// The Bulletproofs generators, large enough for the largest aggregated proof a transaction may carry.
pub fn bulletproof_gens() -> Arc<BulletproofGens> {
    static GENS: OnceLock<Arc<BulletproofGens>> = OnceLock::new();
    GENS.get_or_init(|| Arc::new(BulletproofGens::new(LIMB_BITS, MAX_RANGE_PARTIES))).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_bases_differ_per_asset_and_from_the_other_bases() {
        let a = value_base(&AssetId::from_label("CNY"));
        let b = value_base(&AssetId::from_label("USD"));
        assert_ne!(a, b);
        assert_ne!(a, key_base());
        assert_ne!(a, blinding_base());
        assert_ne!(key_base(), blinding_base());
        // Cached and uncached paths agree.
        assert_eq!(a, value_base(&AssetId::from_label("CNY")));
    }

    /// Pins the hash-to-point: changing it would make every existing commitment unverifiable.
    #[test]
    fn value_base_matches_the_test_vector() {
        let v = value_base(&AssetId::from_label("CNY"));
        assert_eq!(hex::encode(v.compress().as_bytes()), include_str!("../vectors/value_base_cny.hex").trim());
    }
}
