//! Provable audit copies: twisted-ElGamal decrypt handles, their validity proof, and exact decryption.
//!
//! Each output carries, per audit key `P_k`, handles `D_{k,i} = rᵢ·P_k` for its limb commitments
//! `Cᵢ = vᵢ·V_a + rᵢ·B`, and an [`AuditValidityProof`] that they use the same `rᵢ`; the regulator decrypts
//! `Cᵢ − s_k·D_{k,i} = vᵢ·V_a` with a [`LimbTable`]. The statement, the sigma protocol and why it is sound:
//! [`notes::audit_copy`](crate::notes::audit_copy).

use std::collections::HashMap;

use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

use crate::amount::{LIMBS, LIMB_BITS};
use crate::asset::AssetId;
use crate::batch::Equation;
use crate::generators::{blinding_base, value_base};
use crate::keys::AuditPublicKey;
use crate::point::{read_point, read_scalar, write_scalar, Point};
use crate::transcript::ProtocolTranscript;
use crate::tx::{TxId, MAX_AUDIT_KEYS};

/// The proof for one limb.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LimbValidity {
    y_commitment: Point,
    y_handles: Vec<Point>,
    z_value: Scalar,
    z_blinding: Scalar,
}

/// Proof that an output's audit handles encrypt exactly the values its limb commitments hide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditValidityProof {
    limbs: [LimbValidity; LIMBS],
}

/// The public statement of an audit validity proof.
pub(crate) struct AuditStatement<'a> {
    pub chain_id: &'a str,
    pub tx_id: &'a TxId,
    pub output_index: u32,
    pub asset: &'a AssetId,
    pub audit_keys: &'a [AuditPublicKey],
    pub limbs: &'a [Point; LIMBS],
    pub handles: &'a [[Point; LIMBS]],
}

impl<'a> AuditStatement<'a> {
    /// The statement of output `index` of `body`, whose id is `tx_id`.
    pub(crate) fn for_output(body: &'a crate::tx::TxBody, tx_id: &'a TxId, index: usize) -> Option<Self> {
        let output = body.outputs.get(index)?;
        Some(Self {
            chain_id: &body.chain_id,
            tx_id,
            output_index: u32::try_from(index).ok()?,
            asset: &output.asset,
            audit_keys: &body.audit_keys,
            limbs: &output.limbs,
            handles: &output.audit_handles,
        })
    }

    fn transcript(&self) -> Transcript {
        let mut t = Transcript::audit_copy(self.chain_id, self.tx_id);
        t.append_u64_le(b"output-index", u64::from(self.output_index));
        t.append_message(b"asset", self.asset.as_bytes());
        t.append_u64_le(b"audit-keys", self.audit_keys.len() as u64);
        for key in self.audit_keys {
            t.append_point(b"audit-key", &key.0);
        }
        for c in self.limbs {
            t.append_point(b"limb-commitment", c);
        }
        for per_key in self.handles {
            for d in per_key {
                t.append_point(b"handle", d);
            }
        }
        t
    }
}

fn random_point<R: RngCore + CryptoRng>(rng: &mut R, f: impl Fn(Scalar) -> RistrettoPoint) -> (Scalar, Point) {
    loop {
        let y = Scalar::random(rng);
        if let Some(p) = Point::new(f(y)) {
            return (y, p);
        }
    }
}

impl AuditValidityProof {
    /// Proves the statement with witnesses `values[i]`, `blindings[i]` (scalars, so that tests can try to prove
    /// false statements; honest callers pass limbs below 2¹⁶).
    pub(crate) fn prove<R: RngCore + CryptoRng>(
        statement: &AuditStatement<'_>,
        values: &[Scalar; LIMBS],
        blindings: &[Scalar; LIMBS],
        rng: &mut R,
    ) -> Self {
        let mut t = statement.transcript();
        // The nonces are drawn from the statement, the witnesses and `rng` together (as the Schnorr nonces are):
        // a repeated or weak `rng` state alone does not repeat them, which would give the witnesses away.
        let mut witnesses = t.build_rng();
        for (value, blinding) in values.iter().zip(blindings) {
            witnesses = witnesses
                .rekey_with_witness_bytes(b"value", value.as_bytes())
                .rekey_with_witness_bytes(b"blinding", blinding.as_bytes());
        }
        let mut nonce_rng = witnesses.finalize(rng);
        let v_base = value_base(statement.asset);
        let b_base = blinding_base();
        let mut nonces = Vec::with_capacity(LIMBS);
        let mut commitments = Vec::with_capacity(LIMBS);
        for _ in 0..LIMBS {
            let y_v = Scalar::random(&mut nonce_rng);
            let (y_r, y_commitment) = random_point(&mut nonce_rng, |y_r| y_v * v_base + y_r * b_base);
            let y_handles: Vec<Point> = statement
                .audit_keys
                .iter()
                .map(|key| Point::new(y_r * key.0.point()).expect("non-zero nonce times a non-identity key"))
                .collect();
            t.append_point(b"Y-commitment", &y_commitment);
            for y in &y_handles {
                t.append_point(b"Y-handle", y);
            }
            nonces.push((y_v, y_r));
            commitments.push((y_commitment, y_handles));
        }
        let c = t.challenge(b"c");
        let mut limbs =
            commitments.into_iter().zip(nonces).enumerate().map(|(i, ((y_commitment, y_handles), (y_v, y_r)))| {
                LimbValidity {
                    y_commitment,
                    y_handles,
                    z_value: y_v + c * values[i],
                    z_blinding: y_r + c * blindings[i],
                }
            });
        let limbs = std::array::from_fn(|_| limbs.next().expect("exactly LIMBS limbs"));
        Self { limbs }
    }

    /// The equations a valid proof satisfies, for batch verification. `None` if the proof's shape does not match
    /// the statement (wrong number of audit keys).
    pub(crate) fn equations<L: Clone>(&self, label: L, statement: &AuditStatement<'_>) -> Option<Vec<Equation<L>>> {
        let keys = statement.audit_keys.len();
        if statement.handles.len() != keys || self.limbs.iter().any(|l| l.y_handles.len() != keys) {
            return None;
        }
        let mut t = statement.transcript();
        for limb in &self.limbs {
            t.append_point(b"Y-commitment", &limb.y_commitment);
            for y in &limb.y_handles {
                t.append_point(b"Y-handle", y);
            }
        }
        let c = t.challenge(b"c");
        let v_base = value_base(statement.asset);
        let b_base = blinding_base();
        let mut out = Vec::with_capacity(LIMBS * (1 + keys));
        for (i, limb) in self.limbs.iter().enumerate() {
            let mut eq = Equation::new(label.clone());
            eq.term(limb.z_value, v_base)
                .term(limb.z_blinding, b_base)
                .term(-Scalar::ONE, *limb.y_commitment.point())
                .term(-c, *statement.limbs[i].point());
            out.push(eq);
            for (k, key) in statement.audit_keys.iter().enumerate() {
                let mut eq = Equation::new(label.clone());
                eq.term(limb.z_blinding, *key.0.point())
                    .term(-Scalar::ONE, *limb.y_handles[k].point())
                    .term(-c, *statement.handles[k][i].point());
                out.push(eq);
            }
        }
        Some(out)
    }
}

impl Encode for AuditValidityProof {
    fn encode_to(&self, w: &mut Writer) {
        for limb in &self.limbs {
            w.put(&limb.y_commitment);
            w.seq(&limb.y_handles);
            write_scalar(w, &limb.z_value);
            write_scalar(w, &limb.z_blinding);
        }
    }
}

impl Decode for AuditValidityProof {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut limbs = Vec::with_capacity(LIMBS);
        for _ in 0..LIMBS {
            let y_commitment = read_point(r, "audit proof Y commitment")?;
            let y_handles = r.seq("audit proof Y handles", MAX_AUDIT_KEYS)?;
            let z_value = read_scalar(r, "audit proof z value")?;
            let z_blinding = read_scalar(r, "audit proof z blinding")?;
            limbs.push(LimbValidity { y_commitment, y_handles, z_value, z_blinding });
        }
        let mut limbs = limbs.into_iter();
        Ok(Self { limbs: std::array::from_fn(|_| limbs.next().expect("read exactly LIMBS limbs")) })
    }
}

/// Computes the four decrypt handles `rᵢ·P` of an audit key.
pub(crate) fn handles_for(key: &AuditPublicKey, blindings: &[Scalar; LIMBS]) -> Option<[Point; LIMBS]> {
    let hs: Vec<Point> = blindings.iter().map(|r| Point::new(r * key.0.point())).collect::<Option<_>>()?;
    hs.try_into().ok()
}

/// A lookup table from `v·V_a` to `v` for every `v < 2¹⁶`, for one asset.
///
/// Built once per asset (65 536 points, compressed in a batch with one field inversion) and then decrypts any limb
/// with one scalar multiplication, one compression and one hash lookup.
pub struct LimbTable {
    asset: AssetId,
    base: RistrettoPoint,
    by_prefix: HashMap<u64, u16>,
}

impl LimbTable {
    /// Builds the table for `asset`.
    pub fn new(asset: AssetId) -> Self {
        let base = value_base(&asset);
        // double_and_compress_batch returns compress(2·Pᵢ); feed it j·(V/2) to get compress(j·V) in one batch.
        let half = Scalar::from(2u8).invert() * base;
        let mut multiples = Vec::with_capacity(1 << LIMB_BITS);
        let mut acc = RistrettoPoint::default();
        for _ in 0..(1usize << LIMB_BITS) {
            multiples.push(acc);
            acc += half;
        }
        let compressed = RistrettoPoint::double_and_compress_batch(&multiples);
        let by_prefix = compressed.iter().enumerate().map(|(v, c)| (prefix(c.as_bytes()), v as u16)).collect();
        Self { asset, base, by_prefix }
    }

    /// The asset this table decrypts.
    pub fn asset(&self) -> &AssetId {
        &self.asset
    }

    /// Finds `v < 2¹⁶` with `point = v·V_a`.
    pub fn lookup(&self, point: &RistrettoPoint) -> Option<u16> {
        let v = *self.by_prefix.get(&prefix(point.compress().as_bytes()))?;
        // An 8-byte prefix could collide with a point outside the table; confirm.
        (Scalar::from(v) * self.base == *point).then_some(v)
    }
}

fn prefix(bytes: &[u8; 32]) -> u64 {
    let mut p = [0u8; 8];
    p.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(p)
}

/// Why an audit decryption failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditDecryptError {
    /// The table given is for another asset.
    #[error("lookup table is for asset {table}, the output is of asset {output}")]
    WrongTable {
        /// The table's asset.
        table: AssetId,
        /// The output's asset.
        output: AssetId,
    },
    /// The output has no audit copy at this key index.
    #[error("the output has no audit copy for audit key {0}")]
    NoCopyForKey(usize),
    /// A limb did not decrypt to a value below 2¹⁶: the handles were not made for this key. On a validated chain
    /// this cannot happen for the chain's audit keys.
    #[error("limb {limb} does not decrypt to a 16-bit value under this key")]
    LimbOutOfRange {
        /// Which limb.
        limb: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn a_repeated_rng_state_does_not_repeat_the_nonces_of_different_witnesses() {
        // Two proofs from one RNG state: were their nonces equal, z − z' = c·v − c'·v' would give the values away.
        let point = |i: u64| Point::new(Scalar::from(i + 2) * blinding_base()).unwrap();
        let key = AuditPublicKey(point(100));
        let (tx_id, asset) = (TxId(ctchain_codec::Hash32([7; 32])), AssetId::from_label("CNY"));
        let limbs = std::array::from_fn(|i| point(i as u64));
        let handles = [std::array::from_fn(|i| point(10 + i as u64))];
        let statement = AuditStatement {
            chain_id: "c",
            tx_id: &tx_id,
            output_index: 0,
            asset: &asset,
            audit_keys: std::slice::from_ref(&key),
            limbs: &limbs,
            handles: &handles,
        };
        let blindings = [Scalar::from(5u8); LIMBS];
        let prove = |value: u8| {
            let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
            AuditValidityProof::prove(&statement, &[Scalar::from(value); LIMBS], &blindings, &mut rng)
        };
        let (a, b) = (prove(1), prove(2));
        assert_ne!(a.limbs[0].y_commitment, b.limbs[0].y_commitment);
        assert_eq!(prove(1), a, "deterministic in the statement, the witnesses and the RNG state");
    }

    #[test]
    fn table_finds_every_edge_value_and_nothing_outside() {
        let asset = AssetId::from_label("CNY");
        let table = LimbTable::new(asset);
        let v = value_base(&asset);
        for x in [0u16, 1, 2, 255, 256, 40_000, u16::MAX] {
            assert_eq!(table.lookup(&(Scalar::from(x) * v)), Some(x));
        }
        assert_eq!(table.lookup(&(Scalar::from(1u64 << 16) * v)), None);
        assert_eq!(table.lookup(&(-v)), None);
    }
}
