//! Node key files: an Ed25519 secret in a small JSON file readable only by its owner. A validator has two,
//! kept apart: the consensus key signs votes, the network key authenticates libp2p connections, so that the
//! compromise of a transport key cannot forge consensus messages.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

/// What a key file holds.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    format: String,
    purpose: String,
    public: String,
    secret: String,
}

const FORMAT: &str = "ctchain-node-key/v1";

/// An Ed25519 key pair read from or written to a key file.
pub struct NodeKey {
    /// The 32-byte secret seed.
    pub secret: [u8; 32],
    /// The public key.
    pub public: [u8; 32],
}

impl NodeKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        Self::from_secret(secret)
    }

    /// The key with this secret.
    pub fn from_secret(secret: [u8; 32]) -> Self {
        let public = ed25519_public(&secret);
        Self { secret, public }
    }

    /// Writes the key (mode 0600), refusing to overwrite.
    pub fn write(&self, path: &Path, purpose: &str) -> Result<()> {
        let file = KeyFile {
            format: FORMAT.into(),
            purpose: purpose.into(),
            public: hex::encode(self.public),
            secret: hex::encode(self.secret),
        };
        let text = serde_json::to_string_pretty(&file)?;
        write_new_file(path, text.as_bytes(), true)
    }

    /// Reads a key and checks that its public half matches its secret.
    pub fn read(path: &Path, purpose: &str) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read key {}", path.display()))?;
        let file: KeyFile =
            serde_json::from_str(&text).with_context(|| format!("{} is not a key file", path.display()))?;
        if file.format != FORMAT {
            bail!("{}: unknown key format {:?}", path.display(), file.format);
        }
        if file.purpose != purpose {
            bail!("{} holds a {} key, not a {purpose} key", path.display(), file.purpose);
        }
        let secret: [u8; 32] = hex::decode(&file.secret)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| anyhow!("{}: secret is not 32 bytes of hex", path.display()))?;
        let key = Self::from_secret(secret);
        if hex::encode(key.public) != file.public {
            bail!("{}: public key does not match the secret", path.display());
        }
        Ok(key)
    }
}

fn ed25519_public(secret: &[u8; 32]) -> [u8; 32] {
    use ctchain_pbft::Signer;
    let signer = ctchain_pbft::Ed25519Signer::from_secret(*secret);
    signer.public_key().0.try_into().expect("an Ed25519 public key has 32 bytes")
}

/// Parses a 32-byte public key from hex.
pub fn public_from_hex(s: &str) -> Result<[u8; 32]> {
    hex::decode(s).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| anyhow!("expected 32 bytes of hex"))
}

/// Writes a new file atomically (temporary file, sync, rename), refusing to replace an existing one; `private`
/// files are readable by their owner only.
pub fn write_new_file(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let access = if private { ctchain_files::Access::OwnerOnly } else { ctchain_files::Access::Default };
    Ok(ctchain_files::write_atomic(path, bytes, ctchain_files::Replace::Refuse, access)?)
}
