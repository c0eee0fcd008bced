//! An opened wallet on a chain: the keystore's secret, the chain as its genesis describes it, the local store,
//! and the whole flow of each operation — sync both pools, build, record and submit, wait for the block, sync
//! again. The command line is a thin layer over it; a node's demo or end-to-end test drives a wallet the same way:
//!
//! ```no_run
//! # async fn demo() -> ctchain_wallet::Result<()> {
//! use ctchain_wallet::client::RpcSource;
//! use ctchain_wallet::session::{Session, Wait};
//! use ctchain_wallet::shielded::Prover;
//!
//! let mut alice = Session::open(RpcSource::new("http://127.0.0.1:26700")?, "alice.json".as_ref(), b"pw").await?;
//! let prover = Prover::load("localnet/params".as_ref(), &alice.chain)?;
//! let wait = Some(Wait::default());
//! alice.shield(&prover, "CNY", "100.00", wait).await?;
//! let bob_address = "ctchaintestnet1zs1…"; // `shielded-address` of another wallet
//! let bob_confidential_address = "ctchaintestnet1…"; // `address` of another wallet
//! alice.send_shielded(&prover, bob_address, "CNY", "40.00", wait).await?;
//! alice.unshield(&prover, "CNY", "50.00", None, "", wait).await?;
//! let (confidential, shielded) = alice.balances();
//! alice.send(bob_confidential_address, "CNY", "12.50", "invoice 7", wait).await?;
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use ctchain_circuits::ShieldedAddress;
use ctchain_crypto::{Address, SigningKey};
use rand_core::OsRng;

use crate::chain::ChainInfo;
use crate::error::{Result, WalletError};
use crate::history::{balances, shielded_balances, Balance};
use crate::notes::{sync_shielded, ShieldedSyncReport, ShieldedViewingKey};
use crate::shielded::{check_wallet_anchor, newest_anchor, submit_shielded, BuiltShielded, Prover, ShieldedSpender};
use crate::spend::{build_burn, build_issue, build_transfer, Built};
use crate::store::WalletStore;
use crate::sync::{chain_info, submit, sync, wait_committed, ShieldedSource, SyncReport};
use ctchain_keystore::address::{decode_address, decode_shielded_address};
use ctchain_keystore::{KeystoreFile, WalletSecret};

/// How long to wait for a submitted transaction's block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// Time between status requests.
    pub interval: Duration,
    /// Give up (the transaction may still commit; `sync` settles it) after this long.
    pub timeout: Duration,
}

impl Default for Wait {
    fn default() -> Self {
        Self { interval: Duration::from_millis(300), timeout: Duration::from_secs(60) }
    }
}

/// A built transaction of either pool, ready to record and submit.
// Both variants are large (a proven transaction and its record); one exists at a time, so no box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Outgoing {
    /// A confidential transfer, issuance or burn.
    Confidential(Built),
    /// A shield, shielded send or unshield.
    Shielded(BuiltShielded),
}

impl Outgoing {
    /// Its id (hex).
    pub fn tx_id(&self) -> &str {
        match self {
            Outgoing::Confidential(b) => &b.record.tx_id,
            Outgoing::Shielded(b) => &b.record.tx_id,
        }
    }

    /// Hex of its canonical bytes (what the node's submit method for its kind takes).
    pub fn hex(&self) -> String {
        match self {
            Outgoing::Confidential(b) => b.hex(),
            Outgoing::Shielded(b) => b.hex(),
        }
    }
}

/// What is known of a submitted transaction's fate.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// In a block at this height.
    Committed {
        /// The block's height.
        height: u64,
    },
    /// Accepted by the node, not waited for.
    Pending,
    /// Submitted — or perhaps not: the node's answer was lost — and not seen committed in time. It may still
    /// commit: it stays pending in the store with its inputs reserved, and the next sync learns its fate (and
    /// submits it again if no node knows it). Never reported as a failure.
    Unknown {
        /// Why the outcome is not known.
        reason: String,
    },
}

/// A submitted transaction.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Submitted {
    /// Its id (hex).
    pub tx_id: String,
    /// What is known of its fate.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Submitted {
    /// Its block's height, when it was seen committed.
    pub fn height(&self) -> Option<u64> {
        match self.outcome {
            Outcome::Committed { height } => Some(height),
            _ => None,
        }
    }
}

/// What a sync of both pools did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Synced {
    /// The confidential pool.
    pub confidential: SyncReport,
    /// The shielded pool (`None` when the chain has none, or a view-only wallet has no shielded viewing key).
    pub shielded: Option<ShieldedSyncReport>,
}

/// An opened wallet (see the module documentation).
pub struct Session<S> {
    /// The node (or any chain source).
    pub source: S,
    /// The chain, from the node's genesis (hashed here, not taken from the node's word).
    pub chain: ChainInfo,
    /// The keystore's public fields.
    pub keystore: KeystoreFile,
    /// The decrypted secret.
    pub secret: WalletSecret,
    /// The local store.
    pub store: WalletStore,
    /// Where the store is saved.
    pub store_path: PathBuf,
}

impl<S: ShieldedSource> Session<S> {
    /// Opens the keystore at `keystore_path` with `password`, reads the chain from `source` (refusing another
    /// chain than the keystore's) and loads the store next to the keystore.
    pub async fn open(source: S, keystore_path: &Path, password: &[u8]) -> Result<Self> {
        let keystore = KeystoreFile::read(keystore_path)?;
        let secret = keystore.open(password)?;
        Self::with_secret(source, keystore_path, keystore, secret).await
    }

    /// Like [`Session::open`], with the keystore already opened.
    pub async fn with_secret(
        source: S,
        keystore_path: &Path,
        keystore: KeystoreFile,
        secret: WalletSecret,
    ) -> Result<Self> {
        let chain = chain_info(&source, Some(&keystore.chain_id)).await?;
        let store_path = WalletStore::path_for(keystore_path);
        let store = WalletStore::load_or_new(&store_path, &chain.chain_id, &chain.genesis_hash, &keystore.address)?;
        Ok(Self { source, chain, keystore, secret, store, store_path })
    }

    /// Saves the store.
    pub fn save(&self) -> Result<()> {
        self.store.save(&self.store_path)
    }

    /// The shielded viewing key (a full wallet always has one).
    pub fn shielded_viewing_key(&self) -> Result<ShieldedViewingKey> {
        self.secret.shielded_viewing_key().ok_or(WalletError::NoShieldedKey)
    }

    /// The wallet's shielded address.
    pub fn shielded_address(&self) -> Result<ShieldedAddress> {
        Ok(self.shielded_viewing_key()?.address())
    }

    /// Syncs the confidential pool, then (when the chain has one and the wallet can see notes) the shielded
    /// pool; `progress(scanned, height)` follows the confidential scan.
    pub async fn sync(&mut self, progress: &mut dyn FnMut(u64, u64)) -> Result<Synced> {
        let path = self.store_path.clone();
        let mut save = |s: &WalletStore| s.save(&path);
        let keys = self.secret.viewing_keys();
        self.follow_chain_rules().await?;
        let confidential = sync(&self.source, &keys, &self.chain, &mut self.store, &mut save, progress).await?;
        let shielded = match (&self.chain.shielded, self.secret.shielded_viewing_key()) {
            (Some(_), Some(viewer)) => {
                Some(sync_shielded(&self.source, &viewer, &self.chain, &mut self.store, &mut save).await?)
            }
            _ => None,
        };
        Ok(Synced { confidential, shielded })
    }

    /// Takes the audit keys of the next block's epoch and the assets listed by governance, as the chain's
    /// governance (followed from the genesis) has them: what transactions are built for from now on.
    pub async fn follow_chain_rules(&mut self) -> Result<()> {
        let rules = self.source.chain_rules().await?;
        self.chain.follow_rules(rules);
        Ok(())
    }

    /// Balances of the confidential pool and of the shielded pool, as of the last sync.
    pub fn balances(&self) -> (Vec<Balance>, Vec<Balance>) {
        (balances(&self.store), shielded_balances(&self.store))
    }

    /// Records and submits a built transaction (with the submit method of its kind), then, if asked, waits for
    /// its block and syncs again. Only a definite answer is an error: the node's refusal, or a rejection seen
    /// while waiting. A lost answer or a wait that ran out is [`Outcome::Unknown`] — the transaction may commit.
    pub async fn submit(&mut self, outgoing: &Outgoing, wait: Option<Wait>) -> Result<Submitted> {
        let path = self.store_path.clone();
        let mut save = |s: &WalletStore| s.save(&path);
        let submission = match outgoing {
            Outgoing::Confidential(built) => submit(&self.source, &mut self.store, &mut save, built).await,
            Outgoing::Shielded(built) => submit_shielded(&self.source, &mut self.store, &mut save, built).await,
        };
        let tx_id = outgoing.tx_id().to_owned();
        let unknown =
            |tx_id: String, e: WalletError| Submitted { tx_id, outcome: Outcome::Unknown { reason: e.to_string() } };
        match submission {
            Ok(id) if id == tx_id => {}
            Ok(other) => return Err(WalletError::BadNodeData(format!("submitted {tx_id}, the node says {other}"))),
            Err(e) if e.outcome_unknown() => return Ok(unknown(tx_id, e)),
            Err(e) => return Err(e),
        }
        let Some(wait) = wait else { return Ok(Submitted { tx_id, outcome: Outcome::Pending }) };
        let height = match wait_committed(&self.source, &tx_id, wait.interval, wait.timeout).await {
            Ok(height) => height,
            Err(e) if e.outcome_unknown() => return Ok(unknown(tx_id, e)),
            Err(e) => return Err(e),
        };
        // Committed is final whatever happens next; a node gone before the sync only delays the store's update.
        match self.sync(&mut |_, _| {}).await {
            Err(e) if !e.outcome_unknown() => return Err(e),
            _ => {}
        }
        Ok(Submitted { tx_id, outcome: Outcome::Committed { height } })
    }

    /// What every confidential build checks before touching the network: a known asset and a non-zero amount.
    /// Returns the asset and the amount in base units.
    pub fn confidential_request(&self, asset: &str, amount: &str) -> Result<(ctchain_ledger::AssetInfo, u64)> {
        let asset = self.chain.asset(asset)?.clone();
        let units = self.chain.parse(&asset, amount)?;
        Ok((asset, units))
    }

    /// Syncs, then builds a confidential transfer of `amount` (display units) of `asset` to the address `to`
    /// (text), with change back to this wallet.
    pub async fn build_transfer(&mut self, to: &str, asset: &str, amount: &str, memo: &str) -> Result<Built> {
        let to = decode_address(&self.chain.chain_id, to)?;
        let keys = self.secret.wallet_keys()?;
        self.follow_chain_rules().await?;
        let (asset, units) = self.confidential_request(asset, amount)?;
        self.sync(&mut |_, _| {}).await?;
        build_transfer(&self.store, &keys, &self.chain, &to, &asset, units, memo, &mut OsRng)
    }

    /// Builds an issuance of `amount` of `asset`, signed by its issuer key, to the address `to` (this wallet's
    /// own by default). Needs no sync: an issuance spends nothing.
    pub fn build_issue(
        &self,
        issuer: &SigningKey,
        asset: &str,
        amount: &str,
        to: Option<&str>,
        memo: &str,
    ) -> Result<Built> {
        let to = to.map(|t| decode_address(&self.chain.chain_id, t)).transpose()?;
        let (asset, units) = self.confidential_request(asset, amount)?;
        let to = to.unwrap_or_else(|| self.secret.viewing_keys().address());
        build_issue(&self.chain, issuer, &asset, units, &to, memo, &mut OsRng)
    }

    /// Syncs, then builds a burn of `amount` of `asset` from this wallet's outputs.
    pub async fn build_burn(&mut self, asset: &str, amount: &str) -> Result<Built> {
        let keys = self.secret.wallet_keys()?;
        self.follow_chain_rules().await?;
        let (asset, units) = self.confidential_request(asset, amount)?;
        self.sync(&mut |_, _| {}).await?;
        build_burn(&self.store, &keys, &self.chain, &asset, units, &mut OsRng)
    }

    /// Pays `amount` of `asset` to the confidential address `to`: sync, build, submit, and (if asked) wait.
    pub async fn send(
        &mut self,
        to: &str,
        asset: &str,
        amount: &str,
        memo: &str,
        wait: Option<Wait>,
    ) -> Result<Submitted> {
        let built = self.build_transfer(to, asset, amount, memo).await?;
        self.submit(&Outgoing::Confidential(built), wait).await
    }

    /// Issues `amount` of `asset` to `to` (this wallet by default): build, submit, and (if asked) wait.
    pub async fn issue(
        &mut self,
        issuer: &SigningKey,
        asset: &str,
        amount: &str,
        to: Option<&str>,
        memo: &str,
        wait: Option<Wait>,
    ) -> Result<Submitted> {
        self.follow_chain_rules().await?;
        let built = self.build_issue(issuer, asset, amount, to, memo)?;
        self.submit(&Outgoing::Confidential(built), wait).await
    }

    /// Burns `amount` of `asset`: sync, build, submit, and (if asked) wait.
    pub async fn burn(&mut self, asset: &str, amount: &str, wait: Option<Wait>) -> Result<Submitted> {
        let built = self.build_burn(asset, amount).await?;
        self.submit(&Outgoing::Confidential(built), wait).await
    }

    /// What every shielded build checks before touching the network: a full wallet, a chain with a shielded
    /// pool, a known asset and a non-zero amount. Returns the asset and the amount in base units.
    pub fn shielded_request(&self, asset: &str, amount: &str) -> Result<(ctchain_ledger::AssetInfo, u64)> {
        self.secret.spending_key()?;
        self.chain.shielded_pool()?;
        let asset = self.chain.asset(asset)?.clone();
        let units = self.chain.parse(&asset, amount)?;
        Ok((asset, units))
    }

    /// Syncs, then builds a shield of `amount` (display units) of `asset` into this wallet's own notes.
    pub async fn build_shield(&mut self, prover: &Prover, asset: &str, amount: &str) -> Result<BuiltShielded> {
        let (asset, units) = self.shielded_request(asset, amount)?;
        self.sync(&mut |_, _| {}).await?;
        let anchor = newest_anchor(&self.source).await?;
        let (keys, sk) = (self.secret.wallet_keys()?, self.secret.spending_key()?);
        let spender = ShieldedSpender { keys: &keys, spending_key: &sk, chain: &self.chain, prover };
        spender.build_shield(&self.store, &asset, units, anchor, &mut OsRng)
    }

    /// Syncs, then builds a shielded payment to the shielded address `to` (text).
    pub async fn build_send_shielded(
        &mut self,
        prover: &Prover,
        to: &str,
        asset: &str,
        amount: &str,
    ) -> Result<BuiltShielded> {
        let to = decode_shielded_address(&self.chain.chain_id, to)?;
        let (asset, units) = self.shielded_request(asset, amount)?;
        self.sync(&mut |_, _| {}).await?;
        check_wallet_anchor(&self.source, &self.store).await?;
        let (keys, sk) = (self.secret.wallet_keys()?, self.secret.spending_key()?);
        let spender = ShieldedSpender { keys: &keys, spending_key: &sk, chain: &self.chain, prover };
        spender.build_send(&self.store, &to, &asset, units, &mut OsRng)
    }

    /// Syncs, then builds an unshield to the confidential address `to` (text; this wallet's own by default).
    pub async fn build_unshield(
        &mut self,
        prover: &Prover,
        asset: &str,
        amount: &str,
        to: Option<&str>,
        memo: &str,
    ) -> Result<BuiltShielded> {
        let to: Option<Address> = to.map(|t| decode_address(&self.chain.chain_id, t)).transpose()?;
        let (asset, units) = self.shielded_request(asset, amount)?;
        self.sync(&mut |_, _| {}).await?;
        check_wallet_anchor(&self.source, &self.store).await?;
        let (keys, sk) = (self.secret.wallet_keys()?, self.secret.spending_key()?);
        let to = to.unwrap_or_else(|| keys.address());
        let spender = ShieldedSpender { keys: &keys, spending_key: &sk, chain: &self.chain, prover };
        spender.build_unshield(&self.store, &to, &asset, units, memo, &mut OsRng)
    }

    /// Shields `amount` of `asset`: build, submit, and (if asked) wait and sync.
    pub async fn shield(
        &mut self,
        prover: &Prover,
        asset: &str,
        amount: &str,
        wait: Option<Wait>,
    ) -> Result<Submitted> {
        let built = self.build_shield(prover, asset, amount).await?;
        self.submit(&Outgoing::Shielded(built), wait).await
    }

    /// Pays `amount` of `asset` from notes to the shielded address `to`: build, submit, and (if asked) wait.
    pub async fn send_shielded(
        &mut self,
        prover: &Prover,
        to: &str,
        asset: &str,
        amount: &str,
        wait: Option<Wait>,
    ) -> Result<Submitted> {
        let built = self.build_send_shielded(prover, to, asset, amount).await?;
        self.submit(&Outgoing::Shielded(built), wait).await
    }

    /// Unshields `amount` of `asset` to `to` (this wallet by default): build, submit, and (if asked) wait.
    pub async fn unshield(
        &mut self,
        prover: &Prover,
        asset: &str,
        amount: &str,
        to: Option<&str>,
        memo: &str,
        wait: Option<Wait>,
    ) -> Result<Submitted> {
        let built = self.build_unshield(prover, asset, amount, to, memo).await?;
        self.submit(&Outgoing::Shielded(built), wait).await
    }
}
