//! A wallet's secret: its seed (from which both pools' keys derive, and which the recovery phrase encodes) or,
//! for a view-only wallet, its viewing keys.

use ctchain_circuits::{ShieldedViewingKey, SpendingKey, SHIELDED_VIEWING_KEY_BYTES};
use ctchain_crypto::{ViewingKeys, WalletKeys};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::file::KeystoreError;

/// What a keystore holds.
// One per opened wallet: the size difference between the variants costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum WalletSecret {
    /// A full wallet: the seed its keys derive from (and the recovery phrase encodes).
    Full(Zeroizing<[u8; 32]>),
    /// A view-only wallet: it finds and reads its outputs but cannot spend them; with a shielded viewing key it
    /// also finds its notes and sees when they are spent.
    ViewOnly(ViewingKeys, Option<ShieldedViewingKey>),
}

impl WalletSecret {
    /// The viewing keys (both kinds have them).
    pub fn viewing_keys(&self) -> ViewingKeys {
        match self {
            WalletSecret::Full(seed) => WalletKeys::from_seed(seed).viewing_keys(),
            WalletSecret::ViewOnly(vk, _) => vk.clone(),
        }
    }

    /// The spending keys, if this is a full wallet.
    pub fn wallet_keys(&self) -> Result<WalletKeys, KeystoreError> {
        match self {
            WalletSecret::Full(seed) => Ok(WalletKeys::from_seed(seed)),
            WalletSecret::ViewOnly(..) => Err(KeystoreError::ViewOnly),
        }
    }

    /// The shielded spending key, if this is a full wallet.
    pub fn spending_key(&self) -> Result<SpendingKey, KeystoreError> {
        match self {
            WalletSecret::Full(seed) => Ok(SpendingKey::from_seed(seed.as_ref())),
            WalletSecret::ViewOnly(..) => Err(KeystoreError::ViewOnly),
        }
    }

    /// The shielded viewing key: a full wallet always has one, a view-only wallet if its view key included it.
    pub fn shielded_viewing_key(&self) -> Option<ShieldedViewingKey> {
        match self {
            WalletSecret::Full(seed) => {
                Some(ShieldedViewingKey::from_spending_key(&SpendingKey::from_seed(seed.as_ref())))
            }
            WalletSecret::ViewOnly(_, shielded) => shielded.clone(),
        }
    }

    /// The view key as `export-view-key` prints it: the 64-byte viewing keys, then (always for a full wallet)
    /// the 64-byte shielded viewing key.
    pub fn view_key_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut bytes = Zeroizing::new(self.viewing_keys().to_bytes().to_vec());
        if let Some(shielded) = self.shielded_viewing_key() {
            bytes.extend_from_slice(shielded.to_bytes().as_ref());
        }
        bytes
    }

    /// A view-only wallet from [`WalletSecret::view_key_bytes`]: 64 bytes (confidential outputs only) or 128
    /// (notes too).
    pub fn view_only_from_bytes(bytes: &[u8]) -> Result<Self, KeystoreError> {
        let bad = |e: String| KeystoreError::Format(format!("view key: {e}"));
        let confidential_len = bytes.len().checked_sub(SHIELDED_VIEWING_KEY_BYTES).filter(|n| *n == 64);
        let (confidential, shielded) = match confidential_len {
            Some(n) => (&bytes[..n], Some(&bytes[n..])),
            None => (bytes, None),
        };
        let keys = ViewingKeys::from_bytes(confidential).map_err(|e| bad(e.to_string()))?;
        let shielded = shielded
            .map(|b| {
                let b: &[u8; SHIELDED_VIEWING_KEY_BYTES] = b.try_into().map_err(|_| bad("length".into()))?;
                ShieldedViewingKey::from_bytes(b).map_err(|e| bad(e.to_string()))
            })
            .transpose()?;
        Ok(WalletSecret::ViewOnly(keys, shielded))
    }

    /// The 24-word recovery phrase of a full wallet.
    pub fn recovery_phrase(&self) -> Result<Zeroizing<String>, KeystoreError> {
        match self {
            WalletSecret::Full(seed) => {
                let m =
                    bip39::Mnemonic::from_entropy(seed.as_ref()).map_err(|e| KeystoreError::Phrase(e.to_string()))?;
                Ok(Zeroizing::new(m.to_string()))
            }
            WalletSecret::ViewOnly(..) => Err(KeystoreError::ViewOnly),
        }
    }

    /// A fresh full wallet.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        WalletSecret::Full(seed)
    }

    /// The full wallet a recovery phrase encodes.
    pub fn from_phrase(phrase: &str) -> Result<Self, KeystoreError> {
        let m = bip39::Mnemonic::parse_normalized(phrase.trim()).map_err(|e| KeystoreError::Phrase(e.to_string()))?;
        let entropy = Zeroizing::new(m.to_entropy());
        let seed: [u8; 32] = entropy
            .as_slice()
            .try_into()
            .map_err(|_| KeystoreError::Phrase(format!("{} words; a ctchain phrase has 24", m.word_count())))?;
        Ok(WalletSecret::Full(Zeroizing::new(seed)))
    }
}
