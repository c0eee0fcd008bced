//! A regulator's whole (non-threshold) audit secrets, and how one keystore holds them.
//!
//! A chain with a shielded pool has two audit keys, one per pool:
//!
//! * the **confidential** pool's Ristretto key ([`ctchain_crypto::AuditSecretKey`]), listed in the genesis
//!   `audit_keys`: every confidential output (including the confidential side of a shield or unshield) carries
//!   decrypt handles proven for it;
//! * the **shielded** pool's Baby Jubjub key ([`ctchain_circuits::AuditSecretKey`]), the genesis `[shielded]
//!   audit_key`: every shielded output carries an audit ciphertext proven inside the Groth16 circuit.
//!
//! [`RegulatorKeys`] holds both; a keystore of kind `audit` stores them as one payload:
//!
//! | version | bytes | content |
//! |---|---|---|
//! | 1 | 32 | the Ristretto secret (keystores written before the shielded pool; still written when there is no Baby Jubjub key) |
//! | 2 | 65 | `0x02`, the Ristretto secret (32), the Baby Jubjub secret (32) |
//!
//! A version-1 keystore opens with [`RegulatorKeys::shielded`] `None`: its holder decrypts every confidential output
//! and the tools report each shielded transaction as not decryptable without the shielded audit key.
//!
//! ## Split keys
//! A k-of-n split gives each supervisor a keystore of kind `audit-share` holding a [`SupervisorKeys`]: its share
//! of the confidential key with that key's public dealing ([`crate::threshold`]) and, when the regulator has a
//! shielded key, its share of that key with the shielded dealing ([`crate::threshold_shielded`]), for the same
//! supervisor index and threshold. The public dealings of a split are [`Dealings`] (`dealing.hex`).
//!
//! | part | bytes |
//! |---|---|
//! | confidential share | length-prefixed (index, secret), as [`KeyShare::to_bytes`] |
//! | confidential dealing | [`ThresholdKey`] |
//! | shielded share and dealing (optional) | [`ShieldedShare`], [`ShieldedDealing`] |
//!
//! A keystore written before the shielded key could be split ends after the confidential dealing and opens with
//! no shielded share: its supervisor takes part in confidential decryptions only.

use ctchain_circuits::{AuditPublicKey as ShieldedAuditPublicKey, AuditSecretKey as ShieldedAuditSecretKey};
use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use ctchain_crypto::AuditSecretKey;
use ctchain_keystore::{KdfParams, KeyKind, KeystoreError, KeystoreFile};
use rand_core::{CryptoRng, RngCore};
use serde::Deserialize;
use zeroize::{Zeroize, Zeroizing};

use crate::threshold::{KeyShare, ThresholdKey};
use crate::threshold_shielded::{ShieldedDealing, ShieldedShare};

/// Bytes of one secret.
const SECRET_BYTES: usize = 32;
/// The version byte of a payload holding both secrets.
const PAIR_VERSION: u8 = 2;
/// Bytes of a version-2 payload.
const PAIR_BYTES: usize = 1 + 2 * SECRET_BYTES;

/// Why a regulator's keys could not be read, made or sealed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The payload is neither a single secret nor a pair.
    #[error(
        "the audit keystore holds {0} bytes: neither one audit secret ({SECRET_BYTES} bytes) nor a key pair \
         ({PAIR_BYTES} bytes)"
    )]
    Length(usize),
    /// A payload version this tool does not know.
    #[error("audit keystore payload version {0} is not supported by this version of ctchain-audit")]
    Version(u8),
    /// The Ristretto secret is not a valid scalar.
    #[error("the confidential-pool audit secret is invalid: {0}")]
    Confidential(ctchain_codec::DecodeError),
    /// The Baby Jubjub secret is not a valid scalar (not reduced, or zero).
    #[error("the shielded-pool audit secret is invalid: {0}")]
    Shielded(ctchain_circuits::CircuitError),
    /// A field of a secrets file is not hex of 32 bytes.
    #[error("{0} is not hex of 32 bytes")]
    Hex(&'static str),
    /// A secrets file is not the JSON expected.
    #[error("the secrets file is not JSON with an \"audit_secret\" (and optionally \"shielded_audit_secret\"): {0}")]
    SecretsFile(String),
    /// The keystore refused (wrong password, wrong kind, damaged file).
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
}

/// A regulator's whole audit secrets: always the confidential pool's, and the shielded pool's when it has one.
#[derive(Clone)]
pub struct RegulatorKeys {
    /// The confidential pool's audit secret (its public key is a genesis `audit_keys` entry).
    pub confidential: AuditSecretKey,
    /// The shielded pool's audit secret (its public key is the genesis `[shielded] audit_key`); `None` for a
    /// keystore written before the shielded pool existed.
    pub shielded: Option<ShieldedAuditSecretKey>,
}

impl std::fmt::Debug for RegulatorKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegulatorKeys")
            .field("confidential_public", &self.confidential_public_hex())
            .field("shielded_public", &self.shielded_public_hex())
            .finish()
    }
}

/// The secrets file `ctchain-node testnet` writes (`testnet-secrets.json`); other fields are ignored.
#[derive(Deserialize)]
struct SecretsFile {
    audit_secret: String,
    #[serde(default)]
    shielded_audit_secret: Option<String>,
}

impl Drop for SecretsFile {
    fn drop(&mut self) {
        self.audit_secret.zeroize();
        self.shielded_audit_secret.zeroize();
    }
}

fn secret_from_hex(text: &str, field: &'static str) -> Result<Zeroizing<[u8; SECRET_BYTES]>, KeyError> {
    let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| KeyError::Hex(field))?);
    let mut out = Zeroizing::new([0u8; SECRET_BYTES]);
    if bytes.len() != SECRET_BYTES {
        return Err(KeyError::Hex(field));
    }
    out.copy_from_slice(&bytes);
    Ok(out)
}

impl RegulatorKeys {
    /// Fresh keys for both pools.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self { confidential: AuditSecretKey::random(rng), shielded: Some(ShieldedAuditSecretKey::random(rng)) }
    }

    /// The confidential pool's public audit key, hex (what a genesis `audit_keys` entry holds).
    pub fn confidential_public_hex(&self) -> String {
        hex::encode(self.confidential.public().0.as_bytes())
    }

    /// The shielded pool's public audit key, if there is a shielded secret.
    pub fn shielded_public(&self) -> Option<ShieldedAuditPublicKey> {
        self.shielded.as_ref().map(ShieldedAuditSecretKey::public_key)
    }

    /// The shielded pool's public audit key, hex of its compressed bytes (what a genesis `[shielded] audit_key`
    /// holds).
    pub fn shielded_public_hex(&self) -> Option<String> {
        self.shielded_public().map(|k| hex::encode(k.to_bytes()))
    }

    /// The keystore payload (see the module documentation): version 1 without a shielded secret, else version 2.
    pub fn to_keystore_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(PAIR_BYTES));
        match &self.shielded {
            None => out.extend_from_slice(&self.confidential.to_bytes()),
            Some(shielded) => {
                out.push(PAIR_VERSION);
                out.extend_from_slice(&self.confidential.to_bytes());
                out.extend_from_slice(&shielded.to_bytes());
            }
        }
        out
    }

    /// Reads a keystore payload of either version.
    pub fn from_keystore_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        match bytes.len() {
            SECRET_BYTES => Ok(Self {
                confidential: AuditSecretKey::from_bytes(bytes).map_err(KeyError::Confidential)?,
                shielded: None,
            }),
            PAIR_BYTES if bytes[0] == PAIR_VERSION => {
                let confidential =
                    AuditSecretKey::from_bytes(&bytes[1..1 + SECRET_BYTES]).map_err(KeyError::Confidential)?;
                let mut shielded = Zeroizing::new([0u8; SECRET_BYTES]);
                shielded.copy_from_slice(&bytes[1 + SECRET_BYTES..]);
                let shielded = ShieldedAuditSecretKey::from_bytes(&shielded).map_err(KeyError::Shielded)?;
                Ok(Self { confidential, shielded: Some(shielded) })
            }
            PAIR_BYTES => Err(KeyError::Version(bytes[0])),
            other => Err(KeyError::Length(other)),
        }
    }

    /// Imports secrets from JSON with `audit_secret` (hex of the Ristretto secret) and optionally
    /// `shielded_audit_secret` (hex of the Baby Jubjub secret): the `testnet-secrets.json` a local testnet writes.
    pub fn from_secrets_json(text: &str) -> Result<Self, KeyError> {
        let file: SecretsFile = serde_json::from_str(text).map_err(|e| KeyError::SecretsFile(e.to_string()))?;
        let confidential = AuditSecretKey::from_bytes(secret_from_hex(&file.audit_secret, "audit_secret")?.as_ref())
            .map_err(KeyError::Confidential)?;
        let shielded = match &file.shielded_audit_secret {
            None => None,
            Some(text) => Some(
                ShieldedAuditSecretKey::from_bytes(&*secret_from_hex(text, "shielded_audit_secret")?)
                    .map_err(KeyError::Shielded)?,
            ),
        };
        Ok(Self { confidential, shielded })
    }

    /// Seals the keys in a keystore of kind `audit` for `chain_id`; its public field is the confidential public
    /// key (hex), as it always was.
    pub fn seal<R: RngCore + CryptoRng>(
        &self,
        chain_id: &str,
        password: &[u8],
        kdf: KdfParams,
        rng: &mut R,
    ) -> Result<KeystoreFile, KeyError> {
        Ok(KeystoreFile::seal_audit(
            chain_id,
            KeyKind::Audit,
            self.confidential_public_hex(),
            &self.to_keystore_bytes(),
            password,
            kdf,
            rng,
        )?)
    }

    /// Opens a keystore of kind `audit` (either payload version).
    pub fn open(file: &KeystoreFile, password: &[u8]) -> Result<Self, KeyError> {
        Self::from_keystore_bytes(&file.open_audit(password, KeyKind::Audit)?)
    }
}

/// One supervisor's share of a split: of the confidential key always, of the shielded key when it was split too.
#[derive(Clone)]
pub struct SupervisorKeys {
    /// The confidential share.
    pub share: KeyShare,
    /// The public dealing of the confidential key.
    pub dealing: ThresholdKey,
    /// The shielded share and the shielded key's dealing, for the same supervisor and threshold.
    pub shielded: Option<(ShieldedShare, ShieldedDealing)>,
}

/// The public dealings of a split (what `dealing.hex` holds): the confidential key's, and the shielded key's when
/// it was split too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dealings {
    /// The confidential key's dealing.
    pub confidential: ThresholdKey,
    /// The shielded key's dealing.
    pub shielded: Option<ShieldedDealing>,
}

/// Refuses a shielded dealing that is not for the same supervisors and threshold as the confidential one.
fn same_supervisors(confidential: &ThresholdKey, shielded: &ShieldedDealing) -> Result<(), DecodeError> {
    if shielded.threshold != confidential.threshold || shielded.share_keys.len() != confidential.share_keys.len() {
        return Err(DecodeError::Invalid {
            field: "shielded dealing",
            reason: "another threshold or number of supervisors than the confidential dealing",
        });
    }
    Ok(())
}

impl SupervisorKeys {
    /// The supervisor's index (1-based).
    pub fn index(&self) -> u32 {
        self.share.index()
    }

    /// The public dealings this share belongs to.
    pub fn dealings(&self) -> Dealings {
        Dealings { confidential: self.dealing.clone(), shielded: self.shielded.as_ref().map(|(_, d)| d.clone()) }
    }

    /// The keystore payload (see the module documentation).
    pub fn to_keystore_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = self.share.to_keystore_bytes(&self.dealing);
        if let Some((share, dealing)) = &self.shielded {
            let mut w = Writer::new();
            w.put(share);
            w.put(dealing);
            let tail = Zeroizing::new(w.into_bytes());
            out.extend_from_slice(&tail);
        }
        out
    }

    /// Parses [`SupervisorKeys::to_keystore_bytes`] (with or without the shielded part), refusing a share that
    /// does not belong to its dealing or a shielded part of another supervisor or threshold.
    pub fn from_keystore_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let share = KeyShare::from_bytes(r.bytes("share", 64)?)?;
        let dealing: ThresholdKey = r.get()?;
        if !share.belongs_to(&dealing) {
            return Err(DecodeError::Invalid { field: "share", reason: "does not belong to the dealing" });
        }
        let shielded = match r.remaining() {
            0 => None,
            _ => {
                let shielded_share: ShieldedShare = r.get()?;
                let shielded_dealing: ShieldedDealing = r.get()?;
                same_supervisors(&dealing, &shielded_dealing)?;
                if shielded_share.index() != share.index() || !shielded_share.belongs_to(&shielded_dealing) {
                    return Err(DecodeError::Invalid {
                        field: "shielded share",
                        reason: "of another supervisor, or does not belong to the shielded dealing",
                    });
                }
                Some((shielded_share, shielded_dealing))
            }
        };
        r.finish()?;
        Ok(Self { share, dealing, shielded })
    }
}

impl Encode for Dealings {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.confidential);
        if let Some(shielded) = &self.shielded {
            w.put(shielded);
        }
    }
}

impl Decode for Dealings {
    /// A dealing file ends after the confidential dealing when the split has no shielded part, so this reads to
    /// the end of its input: decode it from its own bytes.
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let confidential: ThresholdKey = r.get()?;
        let shielded = match r.remaining() {
            0 => None,
            _ => {
                let shielded: ShieldedDealing = r.get()?;
                same_supervisors(&confidential, &shielded)?;
                Some(shielded)
            }
        };
        Ok(Self { confidential, shielded })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    // TEST ONLY: deterministic randomness, so a failure replays.
    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(0xa0d1)
    }

    #[test]
    fn a_key_pair_round_trips_through_a_keystore() {
        let mut rng = rng();
        let keys = RegulatorKeys::generate(&mut rng);
        let file = keys.seal("ctchain-test", b"pw", KdfParams::TEST_ONLY, &mut rng).unwrap();
        assert_eq!(file.address, keys.confidential_public_hex());
        let opened = RegulatorKeys::open(&file, b"pw").unwrap();
        assert_eq!(opened.confidential.to_bytes(), keys.confidential.to_bytes());
        assert_eq!(opened.shielded, keys.shielded);
        assert_eq!(keys.to_keystore_bytes().len(), PAIR_BYTES);
        assert!(matches!(RegulatorKeys::open(&file, b"wrong"), Err(KeyError::Keystore(KeystoreError::WrongPassword))));
    }

    #[test]
    fn an_old_single_secret_keystore_still_opens_without_a_shielded_key() {
        let mut rng = rng();
        let old = AuditSecretKey::random(&mut rng);
        // Exactly what `keygen` wrote before the shielded pool: the 32 secret bytes.
        let file = KeystoreFile::seal_audit(
            "ctchain-test",
            KeyKind::Audit,
            hex::encode(old.public().0.as_bytes()),
            &old.to_bytes(),
            b"pw",
            KdfParams::TEST_ONLY,
            &mut rng,
        )
        .unwrap();
        let opened = RegulatorKeys::open(&file, b"pw").unwrap();
        assert_eq!(opened.confidential.to_bytes(), old.to_bytes());
        assert!(opened.shielded.is_none());
        assert_eq!(opened.shielded_public_hex(), None);
        // And keys without a shielded secret are written in the old format, which old tools read.
        assert_eq!(&opened.to_keystore_bytes()[..], &old.to_bytes()[..]);
    }

    #[test]
    fn malformed_payloads_are_refused_by_name() {
        let mut rng = rng();
        let keys = RegulatorKeys::generate(&mut rng);
        let good = keys.to_keystore_bytes();
        assert!(matches!(RegulatorKeys::from_keystore_bytes(&good[..40]), Err(KeyError::Length(40))));
        let mut version = good.to_vec();
        version[0] = 3;
        assert!(matches!(RegulatorKeys::from_keystore_bytes(&version), Err(KeyError::Version(3))));
        // A zero Baby Jubjub secret (public key the identity) is refused.
        let mut zero = good.to_vec();
        zero[1 + SECRET_BYTES..].fill(0);
        assert!(matches!(RegulatorKeys::from_keystore_bytes(&zero), Err(KeyError::Shielded(_))));
    }

    #[test]
    fn testnet_secrets_import_with_and_without_the_shielded_secret() {
        let mut rng = rng();
        let keys = RegulatorKeys::generate(&mut rng);
        let shielded = keys.shielded.as_ref().unwrap();
        let both = format!(
            r#"{{"format":"ctchain-testnet-secrets/v1","audit_secret":"{}","shielded_audit_secret":"{}","issuers":[]}}"#,
            hex::encode(keys.confidential.to_bytes()),
            hex::encode(shielded.to_bytes())
        );
        let imported = RegulatorKeys::from_secrets_json(&both).unwrap();
        assert_eq!(imported.confidential_public_hex(), keys.confidential_public_hex());
        assert_eq!(imported.shielded_public_hex(), keys.shielded_public_hex());

        let old = format!(r#"{{"audit_secret":"{}"}}"#, hex::encode(keys.confidential.to_bytes()));
        assert!(RegulatorKeys::from_secrets_json(&old).unwrap().shielded.is_none());

        let short = r#"{"audit_secret":"abcd"}"#;
        assert!(matches!(RegulatorKeys::from_secrets_json(short), Err(KeyError::Hex("audit_secret"))));
        assert!(matches!(RegulatorKeys::from_secrets_json("{}"), Err(KeyError::SecretsFile(_))));
    }

    #[test]
    fn a_supervisor_keystore_holds_both_shares_and_an_old_one_opens_with_the_confidential_share_only() {
        let mut rng = rng();
        let keys = RegulatorKeys::generate(&mut rng);
        let (dealing, shares) = crate::threshold::split(&keys.confidential, 2, 3, &mut rng).unwrap();
        let (shielded_dealing, shielded_shares) =
            crate::threshold_shielded::split_shielded(keys.shielded.as_ref().unwrap(), 2, 3, &mut rng).unwrap();
        let both = SupervisorKeys {
            share: shares[1].clone(),
            dealing: dealing.clone(),
            shielded: Some((shielded_shares[1].clone(), shielded_dealing.clone())),
        };
        let opened = SupervisorKeys::from_keystore_bytes(&both.to_keystore_bytes()).unwrap();
        assert_eq!(opened.index(), 2);
        assert_eq!(opened.dealings(), both.dealings());
        let dealings = Dealings::from_bytes(&both.dealings().to_bytes()).unwrap();
        assert_eq!(dealings.shielded.as_ref(), Some(&shielded_dealing));

        // What `keygen --threshold` wrote before the shielded split: the confidential share and dealing only.
        let old = SupervisorKeys::from_keystore_bytes(&shares[0].to_keystore_bytes(&dealing)).unwrap();
        assert!(old.shielded.is_none());
        assert_eq!(Dealings::from_bytes(&dealing.to_bytes()).unwrap().shielded, None);

        // Another supervisor's shielded share beside this one's confidential share is refused.
        let crossed =
            SupervisorKeys { shielded: Some((shielded_shares[2].clone(), shielded_dealing.clone())), ..both.clone() };
        assert!(SupervisorKeys::from_keystore_bytes(&crossed.to_keystore_bytes()).is_err());
        // So is a shielded dealing of another threshold.
        let (three, three_shares) =
            crate::threshold_shielded::split_shielded(keys.shielded.as_ref().unwrap(), 3, 3, &mut rng).unwrap();
        let other_threshold = SupervisorKeys { shielded: Some((three_shares[1].clone(), three)), ..both };
        assert!(SupervisorKeys::from_keystore_bytes(&other_threshold.to_keystore_bytes()).is_err());
    }
}
