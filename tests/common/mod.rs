//! Helpers of the end-to-end tests: a local chain of real `ctchain-node` processes and funded wallets.
#![allow(dead_code)]

use std::time::Duration;

use ctchain_crypto::{AssetId, SigningKey, Transaction, TransactionBuilder, WalletKeys};
use ctchain_node::cluster::{submit_and_wait, Cluster, ScanningWallet};
use jsonrpsee::http_client::HttpClient;
use rand_core::OsRng;

pub const CHAIN_ID: &str = "ctchain-e2e-1";
pub const COMMIT: Duration = Duration::from_secs(60);

pub struct Chain {
    pub cluster: Cluster,
    pub dir: tempfile::TempDir,
}

impl Chain {
    /// Creates and starts `validators` validators and `observers` observers; waits until every validator
    /// commits.
    pub async fn start(validators: usize, observers: usize, base_port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_ctchain-node"));
        let mut cluster = Cluster::create(&bin, &dir.path().join("chain"), CHAIN_ID, validators, observers, base_port)
            .expect("testnet homes");
        cluster.start_all().unwrap();
        for i in 0..validators {
            cluster.wait_seq(i, 1, Duration::from_secs(60)).await.unwrap();
        }
        Self { cluster, dir }
    }

    pub fn client(&self, i: usize) -> HttpClient {
        self.cluster.client(i)
    }

    pub fn builder(&self) -> TransactionBuilder {
        TransactionBuilder::new(CHAIN_ID, self.cluster.testnet.genesis.audit_keys.clone())
    }

    /// The CNY asset and its issuer key.
    pub fn cny(&self) -> (AssetId, SigningKey) {
        let (_, id, _, key) = &self.cluster.testnet.issuers[0];
        (*id, key.clone())
    }

    /// Issues `amount` CNY to a new wallet and waits for it to commit.
    pub async fn funded_wallet(&self, name: &str, amount: u64, via: usize) -> ScanningWallet {
        let mut wallet = ScanningWallet::new(name, WalletKeys::random(&mut OsRng));
        let (cny, issuer) = self.cny();
        let mut b = self.builder();
        b.issue(&issuer, cny, amount).pay(wallet.keys.address(), cny, amount, "funding");
        let tx = b.build(&mut OsRng).unwrap();
        submit_and_wait(&self.client(via), &tx, COMMIT).await.unwrap();
        wallet.sync(&self.client(via)).await.unwrap();
        wallet
    }

    /// Waits until node `via` holds every block any running node has committed (nodes lag each other by a block
    /// at times, and a wallet that syncs from a lagging node would miss its latest change output).
    pub async fn wait_caught_up(&self, via: usize) {
        let mut target = 0;
        for i in 0..self.cluster.len() {
            if let Ok(s) = ctchain_rpc::ChainApiClient::chain_status(&self.client(i)).await {
                target = target.max(s.height);
            }
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while ctchain_rpc::ChainApiClient::chain_status(&self.client(via)).await.map_or(0, |s| s.height) < target {
            assert!(std::time::Instant::now() < deadline, "node {via} did not reach height {target}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A signed transfer of `amount` CNY from `from` to `to` (not submitted).
    pub async fn transfer(&self, from: &mut ScanningWallet, to: &WalletKeys, amount: u64, via: usize) -> Transaction {
        let client = self.client(via);
        self.wait_caught_up(via).await;
        from.sync(&client).await.unwrap();
        let (cny, _) = self.cny();
        let mut b = self.builder();
        for o in from.select(&client, cny, amount).await.unwrap() {
            b.spend(o);
        }
        b.pay(to.address(), cny, amount, "e2e").sender(from.keys.address()).change_to(from.keys.address());
        b.build(&mut OsRng).unwrap()
    }
}
