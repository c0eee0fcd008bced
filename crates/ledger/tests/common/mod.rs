//! A test chain: a genesis with two assets, a regulator, two banks' wallets, and helpers to commit blocks.
#![allow(dead_code)]

use std::collections::HashMap;

use ctchain_crypto::{
    AssetId, AuditSecretKey, OwnedOutput, SigningKey, Transaction, TransactionBuilder, VerifiedTransaction, WalletKeys,
};
use ctchain_ledger::{AssetInfo, Block, ConsensusParams, Genesis, Ledger, ValidatorInfo, CRYPTO_SUITE};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

pub const CHAIN: &str = "ctchain-ledger-test";

pub struct Keys {
    pub auditor: AuditSecretKey,
    pub issuers: HashMap<AssetId, SigningKey>,
    pub alice: WalletKeys,
    pub bob: WalletKeys,
    pub cny: AssetId,
    pub usd: AssetId,
}

pub fn keys(seed: u64) -> (Keys, ChaCha20Rng) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let cny = AssetId::from_label("CNY");
    let usd = AssetId::from_label("USD");
    let keys = Keys {
        auditor: AuditSecretKey::random(&mut rng),
        issuers: [(cny, SigningKey::random(&mut rng)), (usd, SigningKey::random(&mut rng))].into_iter().collect(),
        alice: WalletKeys::random(&mut rng),
        bob: WalletKeys::random(&mut rng),
        cny,
        usd,
    };
    (keys, rng)
}

pub fn genesis(keys: &Keys) -> Genesis {
    Genesis {
        chain_id: CHAIN.into(),
        crypto_suite: CRYPTO_SUITE.into(),
        genesis_time_ms: 1_700_000_000_000,
        validators: (0..4u8)
            .map(|i| ValidatorInfo { name: format!("bank-{i}"), consensus_key: [i; 32], network_key: [100 + i; 32] })
            .collect(),
        audit_keys: vec![keys.auditor.public()],
        assets: [("CNY", keys.cny), ("USD", keys.usd)]
            .into_iter()
            .map(|(label, id)| AssetInfo { id, label: label.into(), decimals: 2, issuer: keys.issuers[&id].public() })
            .collect(),
        consensus: ConsensusParams::default(),
        shielded: None,
        members: vec![],
        policy: Default::default(),
        nodes: vec![],
        channels: vec![],
    }
}

pub struct TestChain {
    pub dir: tempfile::TempDir,
    pub ledger: Ledger,
    pub keys: Keys,
    pub rng: ChaCha20Rng,
    pub blocks: Vec<Block>,
}

impl TestChain {
    pub fn new(seed: u64) -> Self {
        Self::with_genesis(seed, |_| {})
    }

    /// A chain whose genesis `adjust` changes first (e.g. to enable the shielded pool).
    pub fn with_genesis(seed: u64, adjust: impl FnOnce(&mut Genesis)) -> Self {
        let (keys, rng) = keys(seed);
        let dir = tempfile::tempdir().unwrap();
        let mut g = genesis(&keys);
        adjust(&mut g);
        let ledger = Ledger::open(dir.path(), &g).unwrap();
        Self { dir, ledger, keys, rng, blocks: Vec::new() }
    }

    /// Proposes, verifies as a receiving node would, and applies a block of ledger transactions of any kind.
    pub fn commit_ledger(&mut self, txs: Vec<ctchain_ledger::VerifiedLedgerTx>) -> Block {
        let ts = self.ledger.tip_timestamp_ms() + 1_000;
        let proposed =
            self.ledger.propose(txs, self.ledger.next_block_seq(), ts, (self.ledger.height() % 4) as u32, 0).unwrap();
        let block = proposed.to_block();
        let received = block.clone().verify(self.ledger.verifier()).unwrap();
        self.ledger.apply(received, Some(b"test-certificate")).unwrap();
        self.blocks.push(block.clone());
        block
    }

    pub fn builder(&self) -> TransactionBuilder {
        TransactionBuilder::new(CHAIN, vec![self.keys.auditor.public()])
    }

    pub fn verify(&self, tx: Transaction) -> VerifiedTransaction {
        self.ledger.verifier().confidential.verify(tx).expect("test transaction verifies")
    }

    /// Proposes, verifies as a receiving node would, and applies a block of `txs`.
    pub fn commit(&mut self, txs: Vec<Transaction>) -> Block {
        let verified = txs.into_iter().map(|t| self.verify(t)).collect();
        let ts = self.ledger.tip_timestamp_ms() + 1_000;
        let proposed = self
            .ledger
            .propose(verified, self.ledger.next_block_seq(), ts, (self.ledger.height() % 4) as u32, 0)
            .unwrap();
        let block = proposed.to_block();
        let received = block.clone().verify(self.ledger.verifier()).unwrap();
        self.ledger.apply(received, Some(b"test-certificate")).unwrap();
        self.blocks.push(block.clone());
        block
    }

    pub fn issue(&mut self, to: &WalletKeys, asset: AssetId, amount: u64) -> Transaction {
        let issuer = self.keys.issuers[&asset].clone();
        let mut b = self.builder();
        b.issue(&issuer, asset, amount).pay(to.address(), asset, amount, "issuance");
        b.build(&mut self.rng).unwrap()
    }

    /// The wallet's unspent outputs, found by scanning the ledger with its view key.
    pub fn unspent(&self, wallet: &WalletKeys) -> Vec<OwnedOutput> {
        let vk = wallet.viewing_keys();
        self.ledger
            .outputs_range(1, self.ledger.height())
            .unwrap()
            .into_iter()
            .filter_map(|r| vk.receive(r.id, &r.output).map(|found| found.unwrap()))
            .filter(|r| self.ledger.output(&r.output_id).unwrap().unwrap().spent.is_none())
            .map(|r| wallet.owned(&r))
            .collect()
    }

    pub fn balance(&self, wallet: &WalletKeys, asset: AssetId) -> u64 {
        self.unspent(wallet).iter().filter(|o| o.opening.asset == asset).map(|o| o.opening.amount).sum()
    }
}
