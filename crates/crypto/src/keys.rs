//! Wallet, issuer and audit keys, and stealth (one-time) output keys.
//!
//! A wallet has a spend secret `b` and a view secret `a`; its [`Address`] is `(A = a·G, S = b·G)`. To pay an
//! address the sender draws a fresh `r`, publishes `R = r·G` and the one-time owner key `O = h·G + S` with
//! `h = H(r·A, R)`. Only the holder of `a` can compute `a·R = r·A` and so recognise `O` (outsiders cannot link two
//! outputs to the same address); only the holder of `b` knows the one-time secret `h + b` that signs a spend.
//!
//! An audit key is a twisted-ElGamal key: secret `s`, public `P = s⁻¹·B`. A limb commitment `C = v·V_a + r·B`
//! with handle `D = r·P` decrypts as `C − s·D = v·V_a`.

use ctchain_codec::{Decode, DecodeError, Encode, Reader, Sm3Hasher, Writer};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::generators::{blinding_base, key_base};
use crate::point::{read_point, read_scalar, Point};

/// Derives a non-zero scalar from a seed under a domain (wide reduction of two SM3 blocks).
fn scalar_from_seed(domain: &str, seed: &[u8]) -> Scalar {
    let mut counter = 0u8;
    loop {
        let mut wide = [0u8; 64];
        for (half, chunk) in wide.chunks_mut(32).enumerate() {
            let mut h = Sm3Hasher::new(domain);
            h.update(seed).update([counter, half as u8]);
            chunk.copy_from_slice(h.finish().as_bytes());
        }
        let s = Scalar::from_bytes_mod_order_wide(&wide);
        wide.zeroize();
        if s != Scalar::ZERO {
            return s;
        }
        counter = counter.wrapping_add(1);
    }
}

/// A hash to a scalar, used for stealth key derivation.
pub(crate) fn hash_to_scalar(domain: &str, parts: &[&[u8]]) -> Scalar {
    let mut wide = [0u8; 64];
    for (half, chunk) in wide.chunks_mut(32).enumerate() {
        let mut h = Sm3Hasher::new(domain);
        for part in parts {
            h.update((part.len() as u32).to_le_bytes()).update(part);
        }
        h.update([half as u8]);
        chunk.copy_from_slice(h.finish().as_bytes());
    }
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn random_nonzero<R: RngCore + CryptoRng>(rng: &mut R) -> Scalar {
    loop {
        let s = Scalar::random(rng);
        if s != Scalar::ZERO {
            return s;
        }
    }
}

/// A public wallet address: the view public key and the spend public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    /// `A = a·G`.
    pub view: Point,
    /// `S = b·G`.
    pub spend: Point,
}

impl Encode for Address {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.view);
        w.put(&self.spend);
    }
}

impl Decode for Address {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { view: read_point(r, "address view key")?, spend: read_point(r, "address spend key")? })
    }
}

/// A wallet's full keys: it can find, read and spend its outputs.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct WalletKeys {
    spend_secret: Scalar,
    view_secret: Scalar,
}

impl WalletKeys {
    /// Deterministic keys from a 32-byte seed (what a recovery phrase encodes).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            spend_secret: scalar_from_seed("ctchain/wallet/spend/v1", seed),
            view_secret: scalar_from_seed("ctchain/wallet/view/v1", seed),
        }
    }

    /// Fresh random keys.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let keys = Self::from_seed(&seed);
        seed.zeroize();
        keys
    }

    /// The public address.
    pub fn address(&self) -> Address {
        self.viewing_keys().address()
    }

    /// The keys of a view-only wallet: they find and read outputs but cannot spend them.
    pub fn viewing_keys(&self) -> ViewingKeys {
        let spend_public = Point::new(self.spend_secret * key_base()).expect("spend secret is non-zero");
        ViewingKeys { view_secret: self.view_secret, spend_public }
    }

    /// The secret of the one-time key of an output found with [`ViewingKeys::scan`].
    pub fn one_time_secret(&self, found: &OutputSecret) -> Scalar {
        found.owner_offset + self.spend_secret
    }
}

/// A view-only wallet's keys: the view secret and the spend public key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ViewingKeys {
    view_secret: Scalar,
    #[zeroize(skip)]
    spend_public: Point,
}

impl ViewingKeys {
    /// The public address these keys watch.
    pub fn address(&self) -> Address {
        let view = Point::new(self.view_secret * key_base()).expect("view secret is non-zero");
        Address { view, spend: self.spend_public }
    }

    /// Checks whether an output with ephemeral key `ephemeral` and one-time key `one_time_key` belongs to this
    /// wallet; if so returns what is needed to decrypt its memo and, with the spend key, to spend it.
    pub fn scan(&self, ephemeral: &Point, one_time_key: &Point) -> Option<OutputSecret> {
        let shared = self.view_secret * ephemeral.point();
        let secret = OutputSecret::from_shared(&shared, ephemeral);
        let expected = secret.owner_offset * key_base() + self.spend_public.point();
        (expected == *one_time_key.point()).then_some(secret)
    }

    /// The view secret `a`, for proofs about this wallet's outputs ([`crate::disclosure`]).
    pub(crate) fn view_secret(&self) -> &Scalar {
        &self.view_secret
    }

    /// Canonical bytes of the viewing keys (view secret, spend public key), for export to a view-only wallet.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(self.view_secret.as_bytes());
        out[32..].copy_from_slice(self.spend_public.as_bytes());
        out
    }

    /// Parses [`ViewingKeys::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let view_secret = read_scalar(&mut r, "view secret")?;
        let spend_public = read_point(&mut r, "spend public key")?;
        r.finish()?;
        if view_secret == Scalar::ZERO {
            return Err(DecodeError::Invalid { field: "view secret", reason: "zero" });
        }
        Ok(Self { view_secret, spend_public })
    }
}

/// The per-output secrets a receiver derives with its view key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct OutputSecret {
    /// `h = H(r·A, R)`: the one-time key is `h·G + S`.
    pub(crate) owner_offset: Scalar,
    /// Key material for the receiver's memo.
    pub(crate) memo_key_material: [u8; 32],
}

impl OutputSecret {
    pub(crate) fn from_shared(shared: &RistrettoPoint, ephemeral: &Point) -> Self {
        let shared_bytes = shared.compress().to_bytes();
        let owner_offset = hash_to_scalar("ctchain/stealth/owner/v1", &[&shared_bytes, ephemeral.as_bytes()]);
        let memo_key_material = Sm3Hasher::new("ctchain/stealth/memo/v1")
            .update(shared_bytes)
            .update(ephemeral.as_bytes())
            .clone()
            .finish()
            .0;
        Self { owner_offset, memo_key_material }
    }
}

/// What a sender derives to pay an address: the published keys and the receiver's secrets.
pub(crate) struct StealthOutput {
    pub ephemeral: Point,
    pub one_time_key: Point,
    pub secret: OutputSecret,
}

/// Derives a fresh one-time key for `to`.
pub(crate) fn stealth_output<R: RngCore + CryptoRng>(to: &Address, rng: &mut R) -> StealthOutput {
    loop {
        let r = random_nonzero(rng);
        let Some(ephemeral) = Point::new(r * key_base()) else { continue };
        let shared = r * to.view.point();
        let secret = OutputSecret::from_shared(&shared, &ephemeral);
        let Some(one_time_key) = Point::new(secret.owner_offset * key_base() + to.spend.point()) else { continue };
        return StealthOutput { ephemeral, one_time_key, secret };
    }
}

/// A Schnorr key pair on base `G` (asset issuers, node operators).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SigningKey {
    secret: Scalar,
    #[zeroize(skip)]
    public: Point,
}

impl SigningKey {
    /// A fresh key.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self::from_secret(random_nonzero(rng)).expect("non-zero secret")
    }

    /// Deterministic key from a seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self::from_secret(scalar_from_seed("ctchain/signing-key/v1", seed)).expect("non-zero secret")
    }

    fn from_secret(secret: Scalar) -> Option<Self> {
        Some(Self { public: Point::new(secret * key_base())?, secret })
    }

    /// The public key `x·G`.
    pub fn public(&self) -> Point {
        self.public
    }

    pub(crate) fn secret(&self) -> &Scalar {
        &self.secret
    }

    /// Canonical secret bytes, for keystores.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.secret.to_bytes()
    }

    /// Parses [`SigningKey::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let secret = read_scalar(&mut r, "signing secret")?;
        r.finish()?;
        Self::from_secret(secret).ok_or(DecodeError::Invalid { field: "signing secret", reason: "zero" })
    }
}

/// A regulator's audit public key `P = s⁻¹·B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AuditPublicKey(pub Point);

impl Encode for AuditPublicKey {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.0);
    }
}

impl Decode for AuditPublicKey {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(read_point(r, "audit public key")?))
    }
}

/// A regulator's audit secret key `s`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct AuditSecretKey {
    secret: Scalar,
}

impl AuditSecretKey {
    /// A fresh audit key.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self { secret: random_nonzero(rng) }
    }

    /// Wraps a secret scalar (e.g. one recombined from threshold shares). Zero is not a key.
    pub fn from_scalar(secret: Scalar) -> Option<Self> {
        (secret != Scalar::ZERO).then_some(Self { secret })
    }

    /// The public key `s⁻¹·B`.
    pub fn public(&self) -> AuditPublicKey {
        AuditPublicKey(Point::new(self.secret.invert() * blinding_base()).expect("non-zero secret"))
    }

    /// The secret scalar.
    pub fn scalar(&self) -> &Scalar {
        &self.secret
    }

    /// Canonical secret bytes, for keystores.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.secret.to_bytes()
    }

    /// Parses [`AuditSecretKey::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let secret = read_scalar(&mut r, "audit secret")?;
        r.finish()?;
        Self::from_scalar(secret).ok_or(DecodeError::Invalid { field: "audit secret", reason: "zero" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn receiver_finds_its_output_and_others_do_not() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let alice = WalletKeys::random(&mut rng);
        let bob = WalletKeys::random(&mut rng);
        let out = stealth_output(&alice.address(), &mut rng);
        let found = alice.viewing_keys().scan(&out.ephemeral, &out.one_time_key).expect("alice finds it");
        assert!(bob.viewing_keys().scan(&out.ephemeral, &out.one_time_key).is_none());
        // The one-time secret opens the one-time key.
        assert_eq!(alice.one_time_secret(&found) * key_base(), *out.one_time_key.point());
    }

    #[test]
    fn two_outputs_to_one_address_are_unlinkable_by_their_keys() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let alice = WalletKeys::random(&mut rng);
        let a = stealth_output(&alice.address(), &mut rng);
        let b = stealth_output(&alice.address(), &mut rng);
        assert_ne!(a.one_time_key, b.one_time_key);
        assert_ne!(a.ephemeral, b.ephemeral);
        assert_ne!(a.one_time_key, alice.address().spend);
    }

    #[test]
    fn viewing_keys_round_trip_and_see_the_same_address() {
        let alice = WalletKeys::from_seed(&[7u8; 32]);
        let vk = ViewingKeys::from_bytes(&alice.viewing_keys().to_bytes()).unwrap();
        assert_eq!(vk.address(), alice.address());
    }

    #[test]
    fn audit_key_decrypts_twisted_elgamal() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let sk = AuditSecretKey::random(&mut rng);
        let pk = sk.public();
        let v = crate::generators::value_base(&crate::AssetId::from_label("CNY"));
        let r = Scalar::random(&mut rng);
        let c = Scalar::from(42u64) * v + r * blinding_base();
        let d = r * pk.0.point();
        assert_eq!(c - sk.scalar() * d, Scalar::from(42u64) * v);
    }
}
