//! The deterministic chain the targets verify against: its genesis (four validators, one regulator's audit key,
//! one asset), the chain's verifier, the validators' consensus keys, and wallets. Built once per process from
//! fixed seeds, so a corpus made today still means the same thing tomorrow.

use std::sync::OnceLock;

use ctchain_crypto::{AssetId, AuditSecretKey, SigningKey, Verifier, WalletKeys};
use ctchain_ledger::{AssetInfo, ChainVerifier, ConsensusParams, Genesis, ValidatorInfo, CRYPTO_SUITE};
use ctchain_pbft::{Config, Ed25519Signer, Ed25519Verifier, PublicKey, Replica, Signer, ValidatorSet};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// The fixture chain's id.
pub const CHAIN_ID: &str = "ctchain-fuzz-1";
/// Its genesis time.
pub const GENESIS_TIME_MS: u64 = 1_700_000_000_000;
/// The password of the seed keystores.
pub const PASSWORD: &[u8] = b"fuzz";

/// The fixture.
pub struct Fixture {
    /// The genesis.
    pub genesis: Genesis,
    /// The chain's verifier (no shielded pool: its parameters are too large to load per fuzzing process).
    pub verifier: ChainVerifier,
    /// The validators' consensus keys.
    pub validators: ValidatorSet,
    consensus_secrets: Vec<[u8; 32]>,
    /// The regulator's audit key.
    pub auditor: AuditSecretKey,
    /// The asset.
    pub asset: AssetId,
    /// Its issuer.
    pub issuer: SigningKey,
    /// A wallet.
    pub alice: WalletKeys,
    /// Another wallet.
    pub bob: WalletKeys,
}

/// The fixture, built on first use.
pub fn get() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

/// A deterministic generator for `label`.
pub fn rng(label: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0x6374_6675_7a7a_0000 + label)
}

fn build() -> Fixture {
    let mut rng = rng(0);
    let consensus_secrets: Vec<[u8; 32]> = (1..=4u8).map(|i| [i; 32]).collect();
    let keys: Vec<PublicKey> = consensus_secrets.iter().map(|s| Ed25519Signer::from_secret(*s).public_key()).collect();
    let auditor = AuditSecretKey::random(&mut rng);
    let issuer = SigningKey::random(&mut rng);
    let alice = WalletKeys::random(&mut rng);
    let bob = WalletKeys::random(&mut rng);
    let asset = AssetId::from_label("CNY");
    let genesis = Genesis {
        chain_id: CHAIN_ID.into(),
        crypto_suite: CRYPTO_SUITE.into(),
        genesis_time_ms: GENESIS_TIME_MS,
        validators: keys
            .iter()
            .enumerate()
            .map(|(i, key)| ValidatorInfo {
                name: format!("bank-{i}"),
                consensus_key: key.0.as_slice().try_into().expect("an Ed25519 public key is 32 bytes"),
                network_key: [100 + i as u8; 32],
            })
            .collect(),
        audit_keys: vec![auditor.public()],
        assets: vec![AssetInfo { id: asset, label: "CNY".into(), decimals: 2, issuer: issuer.public() }],
        consensus: ConsensusParams::default(),
        shielded: None,
        members: vec![],
        policy: Default::default(),
        nodes: vec![],
        channels: vec![],
    };
    let verifier = ChainVerifier { confidential: Verifier::new(CHAIN_ID, genesis.audit_keys.clone()), shielded: None };
    Fixture {
        validators: ValidatorSet::new(CHAIN_ID, keys),
        genesis,
        verifier,
        consensus_secrets,
        auditor,
        asset,
        issuer,
        alice,
        bob,
    }
}

impl Fixture {
    /// A fresh replica of validator `me` at the genesis.
    pub fn replica(&self, me: u32) -> Replica {
        let secret = self.consensus_secrets[me as usize];
        Replica::new(
            Config::new(self.validators.clone()),
            Box::new(Ed25519Signer::from_secret(secret)),
            Box::new(Ed25519Verifier),
        )
        .expect("the fixture's configuration is valid")
    }
}
