//! Notes, their commitments and nullifiers.
//!
//! A note is `(asset, value, owner, rcm)`. Its commitment `cm = Poseidon_NOTE(asset, value, owner, rcm)` is
//! hiding (rcm is a uniformly random field element) and binding (Poseidon is collision resistant). Its nullifier
//! `nf = Poseidon_NF(nk, cm, position)` can only be computed with the owner's nullifier key, is unlinkable to
//! `cm` without it, and includes the leaf position so that two notes with equal commitments (a sender reusing
//! rcm) still have different nullifiers: the receiver can spend both (the "Faerie Gold" attack fails).

use ark_bn254::Fr;
use ark_ff::UniformRand;
use ctchain_codec::{Decode, DecodeError, Encode, Reader, Sm3Hasher, Writer};
use rand_core::{CryptoRng, RngCore};

use crate::encoding::{fr_from_bytes, fr_to_bytes, FIELD_BYTES};
use crate::keys::{NullifierKey, Owner};
use crate::poseidon::{hash, Domain};
use crate::CircuitError;

/// An asset in the shielded pool: the field element an asset id maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct AssetTag(pub Fr);

impl AssetTag {
    /// The tag of a 32-byte asset id (as used by the confidential pool): the first 31 bytes of a
    /// domain-separated SM3 digest, so it is always a canonical field element. Distinct ids collide with
    /// probability 2^-248; the regulator maps tags back to ids with the chain's asset registry.
    pub fn from_asset_id(id: &[u8; 32]) -> Self {
        let digest = Sm3Hasher::digest("ctchain/shielded/asset-tag/v1", id);
        let mut bytes = [0u8; 32];
        bytes[..31].copy_from_slice(&digest.as_bytes()[..31]);
        // 248 bits are below the 254-bit modulus: always canonical.
        Self(fr_from_bytes(&bytes, "asset tag").unwrap_or_default())
    }
}

/// A note: `value` units of `asset` spendable by the holder of the key behind `owner`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Note {
    /// Which asset.
    pub asset: AssetTag,
    /// How many units.
    pub value: u64,
    /// Who may spend it.
    pub owner: Owner,
    /// Commitment randomness.
    pub rcm: Fr,
}

impl Note {
    /// A note with fresh commitment randomness.
    pub fn new<R: RngCore + CryptoRng>(asset: AssetTag, value: u64, owner: Owner, rng: &mut R) -> Self {
        Self { asset, value, owner, rcm: Fr::rand(rng) }
    }

    /// The note's commitment, the leaf that goes into the tree.
    pub fn commitment(&self) -> NoteCommitment {
        NoteCommitment(hash(Domain::NoteCommitment, &[self.asset.0, Fr::from(self.value), self.owner.0, self.rcm]))
    }

    /// The nullifier revealed when this note, at leaf `position`, is spent.
    pub fn nullifier(&self, nk: &NullifierKey, position: u64) -> Nullifier {
        Nullifier(hash(Domain::Nullifier, &[nk.0, self.commitment().0, Fr::from(position)]))
    }
}

impl Encode for Note {
    fn encode_to(&self, w: &mut Writer) {
        self.asset.encode_to(w);
        w.u64(self.value);
        w.fixed(&fr_to_bytes(&self.owner.0));
        w.fixed(&fr_to_bytes(&self.rcm));
    }
}

impl Decode for Note {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let asset = AssetTag::decode_from(r)?;
        let value = r.u64("note value")?;
        let owner = Owner(decode_fr(r, "note owner")?);
        let rcm = decode_fr(r, "note randomness")?;
        Ok(Self { asset, value, owner, rcm })
    }
}

/// Reads a canonical field element, naming `field` in the error.
pub(crate) fn decode_fr(r: &mut Reader<'_>, field: &'static str) -> Result<Fr, DecodeError> {
    let bytes: [u8; FIELD_BYTES] = r.array(field)?;
    fr_from_bytes(&bytes, field)
        .map_err(|_| DecodeError::Invalid { field, reason: "not reduced below the BN254 modulus" })
}

macro_rules! field_newtype {
    ($name:ident, $what:literal) => {
        impl $name {
            /// Canonical 32 bytes.
            pub fn to_bytes(&self) -> [u8; FIELD_BYTES] {
                fr_to_bytes(&self.0)
            }

            /// Decodes, rejecting values not reduced below the modulus.
            pub fn from_bytes(bytes: &[u8; FIELD_BYTES]) -> Result<Self, CircuitError> {
                fr_from_bytes(bytes, $what).map(Self)
            }
        }

        impl Encode for $name {
            fn encode_to(&self, w: &mut Writer) {
                w.fixed(&self.to_bytes());
            }
        }

        impl Decode for $name {
            fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                decode_fr(r, $what).map(Self)
            }
        }
    };
}

/// A note commitment (a leaf of the note tree).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NoteCommitment(pub Fr);
field_newtype!(NoteCommitment, "note commitment");

/// A nullifier: the ledger refuses one it has seen before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nullifier(pub Fr);
field_newtype!(Nullifier, "nullifier");

/// A root of the note tree; a recent one is a valid anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Anchor(pub Fr);
field_newtype!(Anchor, "anchor");
field_newtype!(AssetTag, "asset tag");

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn note_round_trips_and_refuses_an_unreduced_owner() {
        // Test-only deterministic randomness.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let note = Note::new(AssetTag::from_asset_id(&[3; 32]), 77, Owner(Fr::from(5u64)), &mut rng);
        let bytes = note.to_bytes();
        assert_eq!(Note::from_bytes(&bytes).unwrap(), note);
        let mut bad = bytes.clone();
        bad[40..72].copy_from_slice(&[0xff; 32]);
        assert!(Note::from_bytes(&bad).is_err());
    }

    #[test]
    fn a_note_at_two_positions_has_two_nullifiers() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let nk = crate::keys::SpendingKey::random(&mut rng).nullifier_key();
        let note = Note::new(AssetTag::default(), 1, nk.owner(), &mut rng);
        assert_ne!(note.nullifier(&nk, 0), note.nullifier(&nk, 1));
    }
}
