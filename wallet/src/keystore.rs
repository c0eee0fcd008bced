//! The keystore: a wallet's secret, encrypted under a password, in a versioned JSON file.
//!
//! ```json
//! {
//!   "format": "ctchain-keystore",
//!   "version": 1,
//!   "chain_id": "ctchain-demo-1",
//!   "address": "ctchaindemo11…",           // public: the address, or an issuer's public key (hex)
//!   "kind": "full" | "view-only" | "issuer" | "audit" | "audit-share",
//!   "kdf": { "name": "argon2id", "memory_kib": 65536, "iterations": 3, "parallelism": 1, "salt": "<hex 16>" },
//!   "cipher": { "name": "sm4-gcm", "nonce": "<hex 12>" },
//!   "ciphertext": "<hex>"                   // 32-byte seed (full), 64-byte viewing keys (view-only), followed
//!                                          // by the 64-byte shielded viewing key in a view-only wallet that
//!                                          // sees notes, or 32-byte issuer signing secret (issuer), or a
//!                                          // regulator's audit secret / key share with its dealing (ctchain-audit)
//! }
//! ```
//!
//! A full wallet's shielded spending key is derived from the same seed (`SpendingKey::from_seed`), so existing
//! keystores and recovery phrases hold one without any change to the file.
//!
//! The key is Argon2id(password, salt) truncated to SM4's 16 bytes; the associated data is the file's public
//! fields, so editing the address, chain or kind makes decryption fail. A wrong password is reported as such.
//! Files are written to a temporary file in the same directory, synced, then renamed over the target, so a crash
//! leaves either the old file or the new one, never half of one.

use std::fs;
use std::path::Path;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::AesGcm;
use ctchain_circuits::SpendingKey;
use ctchain_crypto::{SigningKey, ViewingKeys, WalletKeys};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::address::encode_address;
use crate::notes::{ShieldedViewingKey, SHIELDED_VIEWING_KEY_BYTES};

type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

const FORMAT: &str = "ctchain-keystore";
const VERSION: u32 = 1;
const ISSUER: &str = "issuer";
/// Kind of a keystore holding a regulator's whole audit secret key (`ctchain-audit keygen`).
pub const AUDIT_KIND: &str = "audit";
/// Kind of a keystore holding one supervisor's share of a split audit key (`ctchain-audit keygen --threshold`).
pub const AUDIT_SHARE_KIND: &str = "audit-share";

/// Why a keystore could not be created, read or opened.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The password does not open this keystore (or the file was altered).
    #[error("wrong password (or the keystore file was altered)")]
    WrongPassword,
    /// The file is not a keystore this version understands.
    #[error("not a ctchain keystore: {0}")]
    Format(String),
    /// Reading or writing the file failed.
    #[error("keystore file {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        error: std::io::Error,
    },
    /// The recovery phrase is not valid.
    #[error("invalid recovery phrase: {0}")]
    Phrase(String),
    /// A view-only keystore cannot give spending keys.
    #[error("this is a view-only wallet: it cannot spend")]
    ViewOnly,
    /// The file already exists and would be overwritten.
    #[error("keystore {0} already exists; refusing to overwrite it")]
    Exists(String),
}

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

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// The default for interactive use (64 MiB, 3 passes; about a second on a laptop).
    pub const INTERACTIVE: KdfParams = KdfParams { memory_kib: 64 * 1024, iterations: 3, parallelism: 1 };
    /// Cheap parameters for tests only.
    pub const TEST_ONLY: KdfParams = KdfParams { memory_kib: 64, iterations: 1, parallelism: 1 };
}

#[derive(Serialize, Deserialize)]
struct KdfJson {
    name: String,
    #[serde(flatten)]
    params: KdfParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct CipherJson {
    name: String,
    nonce: String,
}

/// The file's contents.
#[derive(Serialize, Deserialize)]
pub struct KeystoreFile {
    format: String,
    version: u32,
    /// The chain the wallet is for.
    pub chain_id: String,
    /// The wallet's address (public).
    pub address: String,
    /// `"full"` or `"view-only"`.
    pub kind: String,
    kdf: KdfJson,
    cipher: CipherJson,
    ciphertext: String,
}

fn derive_key(password: &[u8], salt: &[u8], p: &KdfParams) -> Result<Zeroizing<[u8; 16]>, KeystoreError> {
    let params = argon2::Params::new(p.memory_kib, p.iterations, p.parallelism, Some(16))
        .map_err(|e| KeystoreError::Format(format!("kdf parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 16]);
    argon.hash_password_into(password, salt, key.as_mut()).map_err(|e| KeystoreError::Format(format!("kdf: {e}")))?;
    Ok(key)
}

impl KeystoreFile {
    fn associated_data(&self) -> Vec<u8> {
        format!("{}|{}|{}|{}|{}", self.format, self.version, self.chain_id, self.address, self.kind).into_bytes()
    }

    /// Encrypts a wallet secret under `password`.
    pub fn seal<R: RngCore + CryptoRng>(
        chain_id: &str,
        secret: &WalletSecret,
        password: &[u8],
        kdf: KdfParams,
        rng: &mut R,
    ) -> Result<Self, KeystoreError> {
        let (kind, plaintext) = match secret {
            WalletSecret::Full(seed) => ("full", Zeroizing::new(seed.to_vec())),
            WalletSecret::ViewOnly(..) => ("view-only", secret.view_key_bytes()),
        };
        let address = encode_address(chain_id, &secret.viewing_keys().address());
        Self::seal_bytes(chain_id, kind, address, &plaintext, password, kdf, rng)
    }

    /// Encrypts an asset issuer's signing key under `password`. The file's `kind` is `"issuer"` and its
    /// `address` field holds the issuer public key (hex), which is what a genesis names as the asset's issuer.
    pub fn seal_issuer<R: RngCore + CryptoRng>(
        chain_id: &str,
        key: &SigningKey,
        password: &[u8],
        kdf: KdfParams,
        rng: &mut R,
    ) -> Result<Self, KeystoreError> {
        let plaintext = Zeroizing::new(key.to_bytes().to_vec());
        Self::seal_bytes(chain_id, ISSUER, hex::encode(key.public().as_bytes()), &plaintext, password, kdf, rng)
    }

    /// Encrypts a regulator's secret (kind [`AUDIT_KIND`] or [`AUDIT_SHARE_KIND`]; the bytes are the audit
    /// crate's canonical encoding) under `password`; `public` (the audit public key, hex) goes in `address`.
    pub fn seal_audit<R: RngCore + CryptoRng>(
        chain_id: &str,
        kind: &str,
        public: String,
        secret: &[u8],
        password: &[u8],
        kdf: KdfParams,
        rng: &mut R,
    ) -> Result<Self, KeystoreError> {
        if kind != AUDIT_KIND && kind != AUDIT_SHARE_KIND {
            return Err(KeystoreError::Format(format!("kind {kind:?} is not an audit kind")));
        }
        Self::seal_bytes(chain_id, kind, public, secret, password, kdf, rng)
    }

    /// Decrypts a regulator's keystore of kind `kind`; any other kind (a wallet, a share where a whole key is
    /// expected) is refused before the password is tried.
    pub fn open_audit(&self, password: &[u8], kind: &str) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        if self.kind != kind {
            return Err(KeystoreError::Format(format!("this is a {:?} keystore, not {kind:?}", self.kind)));
        }
        self.decrypt(password)
    }

    #[allow(clippy::too_many_arguments)]
    fn seal_bytes<R: RngCore + CryptoRng>(
        chain_id: &str,
        kind: &str,
        address: String,
        plaintext: &[u8],
        password: &[u8],
        kdf: KdfParams,
        rng: &mut R,
    ) -> Result<Self, KeystoreError> {
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut salt);
        rng.fill_bytes(&mut nonce);
        let mut file = KeystoreFile {
            format: FORMAT.into(),
            version: VERSION,
            chain_id: chain_id.into(),
            address,
            kind: kind.into(),
            kdf: KdfJson { name: "argon2id".into(), params: kdf, salt: hex::encode(salt) },
            cipher: CipherJson { name: "sm4-gcm".into(), nonce: hex::encode(nonce) },
            ciphertext: String::new(),
        };
        let key = derive_key(password, &salt, &kdf)?;
        let aad = file.associated_data();
        let ct = Sm4Gcm::new(key.as_ref().into())
            .encrypt(&nonce.into(), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| KeystoreError::Format("encryption failed".into()))?;
        file.ciphertext = hex::encode(ct);
        Ok(file)
    }

    fn decrypt(&self, password: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        if self.format != FORMAT || self.version != VERSION {
            return Err(KeystoreError::Format(format!("format {:?} version {}", self.format, self.version)));
        }
        if self.kdf.name != "argon2id" || self.cipher.name != "sm4-gcm" {
            return Err(KeystoreError::Format(format!("kdf {:?} cipher {:?}", self.kdf.name, self.cipher.name)));
        }
        let bad = |what: &str| KeystoreError::Format(format!("{what} is not valid hex of the right length"));
        let salt = hex::decode(&self.kdf.salt).map_err(|_| bad("salt"))?;
        let nonce: [u8; 12] =
            hex::decode(&self.cipher.nonce).ok().and_then(|n| n.try_into().ok()).ok_or_else(|| bad("nonce"))?;
        let ct = hex::decode(&self.ciphertext).map_err(|_| bad("ciphertext"))?;
        let key = derive_key(password, &salt, &self.kdf.params)?;
        Ok(Zeroizing::new(
            Sm4Gcm::new(key.as_ref().into())
                .decrypt(&nonce.into(), Payload { msg: &ct, aad: &self.associated_data() })
                .map_err(|_| KeystoreError::WrongPassword)?,
        ))
    }

    /// Decrypts the secret of a wallet keystore (`full` or `view-only`).
    pub fn open(&self, password: &[u8]) -> Result<WalletSecret, KeystoreError> {
        if self.kind == ISSUER {
            return Err(KeystoreError::Format("this is an issuer keystore, not a wallet".into()));
        }
        let plaintext = self.decrypt(password)?;
        let bad = |what: &str| KeystoreError::Format(format!("{what} is not valid hex of the right length"));
        match self.kind.as_str() {
            "full" => {
                let seed: [u8; 32] = plaintext.as_slice().try_into().map_err(|_| bad("seed"))?;
                Ok(WalletSecret::Full(Zeroizing::new(seed)))
            }
            "view-only" => WalletSecret::view_only_from_bytes(&plaintext),
            other => Err(KeystoreError::Format(format!("kind {other:?}"))),
        }
    }

    /// Decrypts the signing key of an issuer keystore.
    pub fn open_issuer(&self, password: &[u8]) -> Result<SigningKey, KeystoreError> {
        if self.kind != ISSUER {
            return Err(KeystoreError::Format(format!("this is a {:?} wallet keystore, not an issuer key", self.kind)));
        }
        let plaintext = self.decrypt(password)?;
        let key = SigningKey::from_bytes(&plaintext).map_err(|e| KeystoreError::Format(format!("issuer key: {e}")))?;
        if hex::encode(key.public().as_bytes()) != self.address {
            return Err(KeystoreError::Format("issuer key does not match its public key".into()));
        }
        Ok(key)
    }

    /// Reads a keystore file.
    pub fn read(path: &Path) -> Result<Self, KeystoreError> {
        let io = |error| KeystoreError::Io { path: path.display().to_string(), error };
        let text = fs::read_to_string(path).map_err(io)?;
        serde_json::from_str(&text).map_err(|e| KeystoreError::Format(e.to_string()))
    }

    /// Writes the keystore to `path` atomically (temporary file, sync, rename). Refuses to overwrite unless
    /// `overwrite` is set (changing the password of an existing wallet).
    pub fn write(&self, path: &Path, overwrite: bool) -> Result<(), KeystoreError> {
        let io = |error| KeystoreError::Io { path: path.display().to_string(), error };
        if path.exists() && !overwrite {
            return Err(KeystoreError::Exists(path.display().to_string()));
        }
        let json = serde_json::to_string_pretty(self).map_err(|e| KeystoreError::Format(e.to_string()))?;
        crate::fsutil::write_atomic(path, json.as_bytes()).map_err(io)
    }
}
