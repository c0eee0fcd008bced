//! Keys and addresses of the shielded pool, and the regulator's audit key.
//!
//! ```text
//! spending key sk (BN254 scalar, random)
//!   ├─ nullifier key  nk    = Poseidon_NK(sk)        in-circuit: only sk's holder can derive it
//!   │    └─ owner tag owner = Poseidon_OWNER(nk)     in-circuit: notes are owned by this tag
//!   └─ incoming viewing key ivk = wide-SM3(sk) mod ℓ  native only: decrypts incoming notes
//!        └─ transmission key pk_enc = ivk · G         Baby Jubjub, prime-order subgroup
//! shielded address = (owner, pk_enc)
//! ```
//!
//! Spending needs `sk` (the circuit derives `nk` and `owner` from it, so a prover that knows only `nk` cannot
//! spend); `nk` alone lets a watcher recognise the nullifiers of its notes (so a view-only wallet can tell when
//! they are spent); `ivk` alone lets it find incoming notes.

use ark_bn254::Fr;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ed_on_bn254::{EdwardsAffine, Fr as JubScalar};
use ark_ff::{PrimeField, UniformRand};
use ctchain_codec::Sm3Hasher;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, Zeroizing};

use crate::encoding::{fr_from_bytes, fr_to_bytes, nonidentity_point_from_bytes, point_to_bytes, FIELD_BYTES};
use crate::note::{Note, NoteCommitment, Nullifier};
use crate::note_encryption::NoteCiphertext;
use crate::poseidon::{hash, Domain};
use crate::threshold::scalar_to_bytes;
use crate::CircuitError;

/// The generator of Baby Jubjub's prime-order subgroup used for every key and encryption.
pub fn generator() -> EdwardsAffine {
    EdwardsAffine::generator()
}

/// A scalar of Baby Jubjub from 64 bytes of SM3 output: the reduction of a 512-bit integer modulo the 251-bit
/// group order has negligible bias.
pub(crate) fn wide_scalar(domain: &str, parts: &[&[u8]]) -> JubScalar {
    wide_reduce(domain, parts)
}

/// An element of a prime field from 64 bytes of domain-separated SM3 output: reducing a 512-bit integer modulo a
/// modulus of about 254 bits leaves a bias of about 2^-258, far below anything observable.
fn wide_reduce<F: PrimeField>(domain: &str, parts: &[&[u8]]) -> F {
    let mut wide = [0u8; 64];
    for (i, half) in wide.chunks_mut(32).enumerate() {
        let mut h = Sm3Hasher::new(domain);
        h.update([i as u8]);
        for p in parts {
            h.update(p);
        }
        half.copy_from_slice(h.finish().as_bytes());
    }
    let s = F::from_le_bytes_mod_order(&wide);
    wide.zeroize();
    s
}

/// A uniformly random non-zero Baby Jubjub scalar: zero (probability 2^-251) is redrawn, because it would make
/// a public key or an ephemeral point the identity.
pub(crate) fn nonzero_scalar<R: RngCore + CryptoRng>(rng: &mut R) -> JubScalar {
    loop {
        let s = JubScalar::rand(rng);
        if s != JubScalar::from(0u64) {
            return s;
        }
    }
}

/// A secret Baby Jubjub scalar: canonical (below the group order) and non-zero.
fn jub_scalar_from_bytes(bytes: &[u8; FIELD_BYTES], what: &'static str) -> Result<JubScalar, CircuitError> {
    use ark_serialize::CanonicalDeserialize;
    let s = JubScalar::deserialize_compressed(&bytes[..]).map_err(|_| CircuitError::NonCanonicalField(what))?;
    if s == JubScalar::from(0u64) || scalar_to_bytes(&s) != *bytes {
        return Err(CircuitError::NonCanonicalField(what));
    }
    Ok(s)
}

/// The secret that authorises spending: whoever knows it can spend every note of its address.
#[derive(Clone, PartialEq, Eq)]
pub struct SpendingKey(Fr);

impl Drop for SpendingKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for SpendingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpendingKey(..)")
    }
}

impl SpendingKey {
    /// A fresh random spending key.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(Fr::rand(rng))
    }

    /// The key a wallet derives from its seed: SM3 under its own domain, widened to 512 bits and reduced modulo
    /// the field order, so a wallet's recovery phrase restores its shielded notes too. The seed must be secret
    /// and uniformly random (a wallet seed is 32 bytes of OS randomness); the domain keeps this key independent
    /// of every other key derived from the same seed.
    pub fn from_seed(seed: &[u8]) -> Self {
        Self(wide_reduce("ctchain/shielded/spending-key/v1", &[seed]))
    }

    /// The key from its 32 canonical bytes.
    pub fn from_bytes(bytes: &[u8; FIELD_BYTES]) -> Result<Self, CircuitError> {
        fr_from_bytes(bytes, "spending key").map(Self)
    }

    /// Its 32 canonical bytes (secret).
    pub fn to_bytes(&self) -> [u8; FIELD_BYTES] {
        fr_to_bytes(&self.0)
    }

    pub(crate) fn scalar(&self) -> Fr {
        self.0
    }

    /// The nullifier key.
    pub fn nullifier_key(&self) -> NullifierKey {
        NullifierKey(hash(Domain::NullifierKey, &[self.0]))
    }

    /// The incoming viewing key.
    pub fn incoming_viewing_key(&self) -> IncomingViewingKey {
        IncomingViewingKey(wide_scalar("ctchain/shielded/ivk/v1", &[&self.to_bytes()]))
    }

    /// The owner tag of this key's notes.
    pub fn owner(&self) -> Owner {
        self.nullifier_key().owner()
    }

    /// The address others pay to.
    pub fn address(&self) -> ShieldedAddress {
        ShieldedAddress { owner: self.owner(), transmission_key: self.incoming_viewing_key().transmission_key() }
    }
}

/// Derives nullifiers; reveals which notes of the address are spent, but cannot spend.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NullifierKey(pub(crate) Fr);

impl std::fmt::Debug for NullifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NullifierKey(..)")
    }
}

impl NullifierKey {
    /// The owner tag of notes this key can nullify.
    pub fn owner(&self) -> Owner {
        Owner(hash(Domain::Owner, &[self.0]))
    }

    /// Its 32 canonical bytes (secret).
    pub fn to_bytes(&self) -> [u8; FIELD_BYTES] {
        fr_to_bytes(&self.0)
    }

    /// The key from its bytes.
    pub fn from_bytes(bytes: &[u8; FIELD_BYTES]) -> Result<Self, CircuitError> {
        fr_from_bytes(bytes, "nullifier key").map(Self)
    }
}

/// Finds and decrypts incoming notes.
#[derive(Clone, PartialEq, Eq)]
pub struct IncomingViewingKey(pub(crate) JubScalar);

impl std::fmt::Debug for IncomingViewingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IncomingViewingKey(..)")
    }
}

impl IncomingViewingKey {
    /// Its 32 canonical bytes (secret: reveals every incoming note).
    pub fn to_bytes(&self) -> [u8; FIELD_BYTES] {
        scalar_to_bytes(&self.0)
    }

    /// The key from its bytes: reduced below the group order and non-zero.
    pub fn from_bytes(bytes: &[u8; FIELD_BYTES]) -> Result<Self, CircuitError> {
        jub_scalar_from_bytes(bytes, "incoming viewing key").map(Self)
    }

    /// The public key senders encrypt notes to.
    pub fn transmission_key(&self) -> EdwardsAffine {
        (generator() * self.0).into_affine()
    }
}

/// The public half of a shielded identity: notes are owned by `owner`; their plaintexts are encrypted to
/// `transmission_key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShieldedAddress {
    /// The owner tag committed in the notes.
    pub owner: Owner,
    /// Baby Jubjub key for note encryption (prime-order subgroup, not the identity).
    pub transmission_key: EdwardsAffine,
}

/// Bytes of an encoded [`ShieldedAddress`].
pub const ADDRESS_BYTES: usize = 2 * FIELD_BYTES;

impl ShieldedAddress {
    /// `owner || compressed transmission key`.
    pub fn to_bytes(&self) -> [u8; ADDRESS_BYTES] {
        let mut out = [0u8; ADDRESS_BYTES];
        out[..32].copy_from_slice(&fr_to_bytes(&self.owner.0));
        out[32..].copy_from_slice(&point_to_bytes(&self.transmission_key));
        out
    }

    /// Decodes and validates an address (canonical owner, subgroup point that is not the identity).
    pub fn from_bytes(bytes: &[u8; ADDRESS_BYTES]) -> Result<Self, CircuitError> {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        a.copy_from_slice(&bytes[..32]);
        b.copy_from_slice(&bytes[32..]);
        Ok(Self {
            owner: Owner(fr_from_bytes(&a, "address owner")?),
            transmission_key: nonidentity_point_from_bytes(&b, "address transmission key")?,
        })
    }
}

/// The tag that owns a note: `Poseidon_OWNER(nk)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner(pub Fr);

/// The regulator's secret: decrypts the audit copy of every shielded output.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditSecretKey(pub(crate) JubScalar);

impl Drop for AuditSecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for AuditSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditSecretKey(..)")
    }
}

impl AuditSecretKey {
    /// A fresh random audit key (never zero, so the public key is never the identity).
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(nonzero_scalar(rng))
    }

    /// The secret's 32 canonical bytes.
    pub fn to_bytes(&self) -> [u8; FIELD_BYTES] {
        scalar_to_bytes(&self.0)
    }

    /// The secret from its bytes: reduced below the group order and non-zero.
    pub fn from_bytes(bytes: &[u8; FIELD_BYTES]) -> Result<Self, CircuitError> {
        jub_scalar_from_bytes(bytes, "audit secret key").map(Self)
    }

    /// The public audit key that transfers encrypt to.
    pub fn public_key(&self) -> AuditPublicKey {
        AuditPublicKey((generator() * self.0).into_affine())
    }
}

/// The chain's audit key: a Baby Jubjub point in the prime-order subgroup, never the identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditPublicKey(pub(crate) EdwardsAffine);

impl AuditPublicKey {
    /// The point.
    pub fn point(&self) -> EdwardsAffine {
        self.0
    }

    /// Compressed bytes.
    pub fn to_bytes(&self) -> [u8; FIELD_BYTES] {
        point_to_bytes(&self.0)
    }

    /// Decodes and validates (on curve, in the subgroup, not the identity).
    pub fn from_bytes(bytes: &[u8; FIELD_BYTES]) -> Result<Self, CircuitError> {
        nonidentity_point_from_bytes(bytes, "audit public key").map(Self)
    }
}

/// Bytes of an encoded [`ShieldedViewingKey`].
pub const SHIELDED_VIEWING_KEY_BYTES: usize = 64;

/// What finds and follows an address's notes without being able to spend them: the nullifier key (which notes
/// are spent; it also gives the owner tag) and the incoming viewing key (which notes are received).
#[derive(Clone, PartialEq, Eq)]
pub struct ShieldedViewingKey {
    nullifier_key: NullifierKey,
    incoming: IncomingViewingKey,
}

impl std::fmt::Debug for ShieldedViewingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShieldedViewingKey(..)")
    }
}

impl ShieldedViewingKey {
    /// The viewing key of a spending key.
    pub fn from_spending_key(sk: &SpendingKey) -> Self {
        Self { nullifier_key: sk.nullifier_key(), incoming: sk.incoming_viewing_key() }
    }

    /// `nullifier key || incoming viewing key` (secret: it reveals every note of the address and its spends).
    pub fn to_bytes(&self) -> Zeroizing<[u8; SHIELDED_VIEWING_KEY_BYTES]> {
        let mut out = Zeroizing::new([0u8; SHIELDED_VIEWING_KEY_BYTES]);
        out[..32].copy_from_slice(&self.nullifier_key.to_bytes());
        out[32..].copy_from_slice(&self.incoming.to_bytes());
        out
    }

    /// Decodes and validates (both halves canonical, the viewing key non-zero).
    pub fn from_bytes(bytes: &[u8; SHIELDED_VIEWING_KEY_BYTES]) -> Result<Self, CircuitError> {
        let mut nk = Zeroizing::new([0u8; 32]);
        let mut ivk = Zeroizing::new([0u8; 32]);
        nk.copy_from_slice(&bytes[..32]);
        ivk.copy_from_slice(&bytes[32..]);
        Ok(Self { nullifier_key: NullifierKey::from_bytes(&nk)?, incoming: IncomingViewingKey::from_bytes(&ivk)? })
    }

    /// The owner tag of this address's notes.
    pub fn owner(&self) -> Owner {
        self.nullifier_key.owner()
    }

    /// The shielded address.
    pub fn address(&self) -> ShieldedAddress {
        ShieldedAddress { owner: self.owner(), transmission_key: self.incoming.transmission_key() }
    }

    /// The nullifier a note at `position` reveals when spent.
    pub fn nullifier(&self, note: &Note, position: u64) -> Nullifier {
        note.nullifier(&self.nullifier_key, position)
    }

    /// Trial-decrypts a leaf: the note if it is this address's and opens `commitment`.
    pub fn decrypt(&self, commitment: &NoteCommitment, ciphertext: &NoteCiphertext) -> Result<Note, CircuitError> {
        self.incoming.decrypt_note(self.owner(), commitment, ciphertext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn secrets_and_addresses_round_trip() {
        // Test-only deterministic randomness.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(12);
        let sk = SpendingKey::random(&mut rng);
        assert_eq!(SpendingKey::from_bytes(&sk.to_bytes()).unwrap(), sk);
        let ivk = sk.incoming_viewing_key();
        assert_eq!(IncomingViewingKey::from_bytes(&ivk.to_bytes()).unwrap(), ivk);
        assert_eq!(NullifierKey::from_bytes(&sk.nullifier_key().to_bytes()).unwrap(), sk.nullifier_key());
        assert_eq!(ShieldedAddress::from_bytes(&sk.address().to_bytes()).unwrap(), sk.address());
        let audit = AuditSecretKey::random(&mut rng);
        assert_eq!(AuditSecretKey::from_bytes(&audit.to_bytes()).unwrap(), audit);
        assert_eq!(AuditPublicKey::from_bytes(&audit.public_key().to_bytes()).unwrap(), audit.public_key());
        assert!(AuditSecretKey::from_bytes(&[0; 32]).is_err());
        assert!(IncomingViewingKey::from_bytes(&[0xff; 32]).is_err());
    }

    #[test]
    fn a_spending_key_from_a_seed_is_deterministic_canonical_and_pinned() {
        let sk = SpendingKey::from_seed(&[7; 32]);
        assert_eq!(SpendingKey::from_seed(&[7; 32]), sk, "the same seed gives the same key");
        assert_ne!(SpendingKey::from_seed(&[8; 32]), sk, "another seed gives another key");
        assert_eq!(SpendingKey::from_bytes(&sk.to_bytes()).unwrap(), sk, "the key is a canonical field element");
        // Pinned: a wallet restored from its phrase must find the same notes in every later version.
        assert_eq!(hex::encode(sk.to_bytes()), PINNED_SEED_7_KEY);
    }

    const PINNED_SEED_7_KEY: &str = "297551a82bfda7bb3e79ff5b459f4b7553a89a508aac9f90583e74b406cee321";
}
