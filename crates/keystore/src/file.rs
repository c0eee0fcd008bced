//! The keystore file: Argon2id over the password, SM4-GCM over the secret, the public fields authenticated.

use std::fs;
use std::path::Path;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::AesGcm;
use ctchain_crypto::SigningKey;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::address::encode_address;
use crate::secret::WalletSecret;

type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

const FORMAT: &str = "ctchain-keystore";
const VERSION: u32 = 1;

/// What a keystore holds. The kind is public (it is authenticated with the ciphertext), so a tool refuses a
/// keystore of another kind before asking for its password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyKind {
    /// A wallet's 32-byte seed (`ctchain-wallet new` / `restore`).
    Full,
    /// A wallet's viewing keys: it finds and reads its outputs (and notes) but cannot spend.
    ViewOnly,
    /// An asset issuer's signing key; the public field is the issuer key the genesis names.
    Issuer,
    /// A regulator's whole audit secret (`ctchain-audit keygen`), in the audit crate's encoding.
    Audit,
    /// One supervisor's share of a split audit key, with its dealing (`ctchain-audit keygen --threshold`).
    AuditShare,
}

impl KeyKind {
    /// The name the file records (and authenticates).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Full => "full",
            KeyKind::ViewOnly => "view-only",
            KeyKind::Issuer => "issuer",
            KeyKind::Audit => "audit",
            KeyKind::AuditShare => "audit-share",
        }
    }
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// The keystore holds another kind of key than the one asked for; its password was not tried.
    #[error("this is a \"{found}\" keystore, not {expected}")]
    WrongKind {
        /// What was asked for.
        expected: String,
        /// The kind the file holds.
        found: KeyKind,
    },
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
    /// Most memory a keystore may ask for (4 GiB, 64 times the default). The parameters come from the file, so
    /// without a bound a crafted keystore would make the wallet try to allocate terabytes before any password check.
    pub const MAX_MEMORY_KIB: u32 = 4 << 20;
    /// Most passes a keystore may ask for (the default is 3).
    pub const MAX_ITERATIONS: u32 = 64;
    /// Most lanes a keystore may ask for.
    pub const MAX_PARALLELISM: u32 = 16;

    fn check_bounds(&self) -> Result<(), KeystoreError> {
        if self.memory_kib > Self::MAX_MEMORY_KIB
            || self.iterations > Self::MAX_ITERATIONS
            || self.parallelism > Self::MAX_PARALLELISM
        {
            return Err(KeystoreError::Format(format!(
                "kdf parameters {} KiB, {} passes, {} lanes exceed the bounds {} KiB, {} passes, {} lanes",
                self.memory_kib,
                self.iterations,
                self.parallelism,
                Self::MAX_MEMORY_KIB,
                Self::MAX_ITERATIONS,
                Self::MAX_PARALLELISM
            )));
        }
        Ok(())
    }
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
    /// What the keystore holds.
    pub kind: KeyKind,
    kdf: KdfJson,
    cipher: CipherJson,
    ciphertext: String,
}

fn derive_key(password: &[u8], salt: &[u8], p: &KdfParams) -> Result<Zeroizing<[u8; 16]>, KeystoreError> {
    p.check_bounds()?;
    let params = argon2::Params::new(p.memory_kib, p.iterations, p.parallelism, Some(16))
        .map_err(|e| KeystoreError::Format(format!("kdf parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 16]);
    argon.hash_password_into(password, salt, key.as_mut()).map_err(|e| KeystoreError::Format(format!("kdf: {e}")))?;
    Ok(key)
}

impl KeystoreFile {
    fn associated_data(&self) -> Vec<u8> {
        format!("{}|{}|{}|{}|{}", self.format, self.version, self.chain_id, self.address, self.kind.as_str())
            .into_bytes()
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
            WalletSecret::Full(seed) => (KeyKind::Full, Zeroizing::new(seed.to_vec())),
            WalletSecret::ViewOnly(..) => (KeyKind::ViewOnly, secret.view_key_bytes()),
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
        Self::seal_bytes(
            chain_id,
            KeyKind::Issuer,
            hex::encode(key.public().as_bytes()),
            &plaintext,
            password,
            kdf,
            rng,
        )
    }

    /// Encrypts a regulator's secret (kind [`KeyKind::Audit`] or [`KeyKind::AuditShare`]; the bytes are the
    /// audit crate's canonical encoding) under `password`; `public` (the audit public key, hex) goes in `address`.
    pub fn seal_audit<R: RngCore + CryptoRng>(
        chain_id: &str,
        kind: KeyKind,
        public: String,
        secret: &[u8],
        password: &[u8],
        kdf: KdfParams,
        rng: &mut R,
    ) -> Result<Self, KeystoreError> {
        if kind != KeyKind::Audit && kind != KeyKind::AuditShare {
            return Err(KeystoreError::Format(format!("kind {kind} is not an audit kind")));
        }
        Self::seal_bytes(chain_id, kind, public, secret, password, kdf, rng)
    }

    /// Decrypts a regulator's keystore of kind `kind`; any other kind (a wallet, a share where a whole key is
    /// expected) is refused before the password is tried.
    pub fn open_audit(&self, password: &[u8], kind: KeyKind) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        self.expect_kind(&[kind], &format!("{:?}", kind.as_str()))?;
        self.decrypt(password)
    }

    #[allow(clippy::too_many_arguments)]
    fn seal_bytes<R: RngCore + CryptoRng>(
        chain_id: &str,
        kind: KeyKind,
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
            kind,
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

    fn expect_kind(&self, allowed: &[KeyKind], expected: &str) -> Result<(), KeystoreError> {
        if allowed.contains(&self.kind) {
            Ok(())
        } else {
            Err(KeystoreError::WrongKind { expected: expected.into(), found: self.kind })
        }
    }

    /// Decrypts the secret of a wallet keystore ([`KeyKind::Full`] or [`KeyKind::ViewOnly`]).
    pub fn open(&self, password: &[u8]) -> Result<WalletSecret, KeystoreError> {
        self.expect_kind(&[KeyKind::Full, KeyKind::ViewOnly], "a wallet")?;
        let plaintext = self.decrypt(password)?;
        match self.kind {
            KeyKind::Full => {
                let seed: [u8; 32] = plaintext
                    .as_slice()
                    .try_into()
                    .map_err(|_| KeystoreError::Format("the seed is not 32 bytes".into()))?;
                Ok(WalletSecret::Full(Zeroizing::new(seed)))
            }
            _ => WalletSecret::view_only_from_bytes(&plaintext),
        }
    }

    /// Decrypts the signing key of an issuer keystore.
    pub fn open_issuer(&self, password: &[u8]) -> Result<SigningKey, KeystoreError> {
        self.expect_kind(&[KeyKind::Issuer], "an issuer key")?;
        let plaintext = self.decrypt(password)?;
        let key = SigningKey::from_bytes(&plaintext).map_err(|e| KeystoreError::Format(format!("issuer key: {e}")))?;
        if hex::encode(key.public().as_bytes()) != self.address {
            return Err(KeystoreError::Format("issuer key does not match its public key".into()));
        }
        Ok(key)
    }

    /// The key-derivation cost this file asks for.
    pub fn kdf_params(&self) -> KdfParams {
        self.kdf.params
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
        let json = serde_json::to_string_pretty(self).map_err(|e| KeystoreError::Format(e.to_string()))?;
        let replace = if overwrite { ctchain_files::Replace::Allow } else { ctchain_files::Replace::Refuse };
        ctchain_files::write_atomic(path, json.as_bytes(), replace, ctchain_files::Access::OwnerOnly).map_err(|e| {
            match e {
                ctchain_files::FileError::Exists(path) => KeystoreError::Exists(path.display().to_string()),
                ctchain_files::FileError::Io { path, source } => {
                    KeystoreError::Io { path: path.display().to_string(), error: source }
                }
            }
        })
    }
}
