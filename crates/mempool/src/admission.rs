//! The one door through which every transaction enters a node: RPC submissions of every kind and gossip arrive
//! here as the tagged bytes of a [`LedgerTx`] and pass the same checks in the same order, cheapest first:
//!
//! 1. size (before anything is decoded);
//! 2. decoding — once: the bytes are canonical, so their Merkle leaf hash identifies them exactly;
//! 3. the id, and duplicates: already pending, or already on chain (gossip brings every transaction to every node,
//!    often after its block committed — refused before paying for its proofs);
//! 4. the stateless phase (proofs, signatures), or its result from [`VerifiedCache`] when these exact bytes were
//!    verified before — by admission or inside a proposed block;
//! 5. the stateful checks against the ledger and the conflicts with pending transactions
//!    ([`Mempool`]'s own rules).
//!
//! Proofs are checked with no lock held; the ledger is locked before the mempool, always (the node's order).

use std::cell::{RefCell, RefMut};
use std::collections::{HashMap, VecDeque};
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use ctchain_codec::{Decode, Hash32};
use ctchain_crypto::TxId;
use ctchain_ledger::{ChainVerifier, Ledger, LedgerTx, TxRejection, TxTag, VerifiedLedgerTx};

use crate::{AdmitError, Mempool};

/// Transactions verified recently, by Merkle leaf hash (the hash of their exact tagged bytes), so that a
/// transaction is verified once whichever way it arrives first: in a proposed block, by RPC or by gossip.
/// Bounded; the oldest entries are forgotten first.
#[derive(Default)]
pub struct VerifiedCache {
    entries: HashMap<Hash32, VerifiedLedgerTx>,
    order: VecDeque<Hash32>,
}

impl VerifiedCache {
    /// Entries kept (a transfer is about 5 KiB, so about 20 MiB).
    pub const CAPACITY: usize = 4_096;

    /// The verified transaction with exactly these bytes, if verified recently.
    pub fn get(&self, leaf: &Hash32) -> Option<VerifiedLedgerTx> {
        self.entries.get(leaf).cloned()
    }

    /// Remembers a verified transaction.
    pub fn insert(&mut self, leaf: Hash32, tx: VerifiedLedgerTx) {
        if self.entries.insert(leaf, tx).is_none() {
            self.order.push_back(leaf);
            while self.order.len() > Self::CAPACITY {
                if let Some(old) = self.order.pop_front() {
                    self.entries.remove(&old);
                }
            }
        }
    }
}

/// Where the door reads the ledger: behind the node's lock, or a ledger held plainly (tests, tools).
pub trait LedgerAccess {
    /// A read guard.
    type Guard<'a>: Deref<Target = Ledger>
    where
        Self: 'a;
    /// Reads the ledger (a poisoned lock is a node error).
    fn read_ledger(&self) -> Result<Self::Guard<'_>, AdmitError>;
}

impl LedgerAccess for RwLock<Ledger> {
    type Guard<'a> = RwLockReadGuard<'a, Ledger>;
    fn read_ledger(&self) -> Result<Self::Guard<'_>, AdmitError> {
        self.read().map_err(|_| poisoned("ledger"))
    }
}

impl LedgerAccess for Ledger {
    type Guard<'a> = &'a Ledger;
    fn read_ledger(&self) -> Result<Self::Guard<'_>, AdmitError> {
        Ok(self)
    }
}

/// Where the door finds the pool: behind the node's lock, or in a cell (tests, tools).
pub trait PoolAccess {
    /// A write guard.
    type Guard<'a>: DerefMut<Target = Mempool>
    where
        Self: 'a;
    /// Locks the pool (a poisoned lock is a node error).
    fn lock_pool(&self) -> Result<Self::Guard<'_>, AdmitError>;
}

impl PoolAccess for Mutex<Mempool> {
    type Guard<'a> = MutexGuard<'a, Mempool>;
    fn lock_pool(&self) -> Result<Self::Guard<'_>, AdmitError> {
        self.lock().map_err(|_| poisoned("mempool"))
    }
}

impl PoolAccess for RefCell<Mempool> {
    type Guard<'a> = RefMut<'a, Mempool>;
    fn lock_pool(&self) -> Result<Self::Guard<'_>, AdmitError> {
        self.try_borrow_mut().map_err(|_| AdmitError::Ledger("the mempool is borrowed elsewhere".into()))
    }
}

/// A transaction let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admitted {
    /// Its id.
    pub id: TxId,
    /// How long its stateless checks took; `None` when their result was known already.
    pub verified_in: Option<Duration>,
}

/// The door: the chain's verifier and what it verified recently.
pub struct Admission {
    verifier: ChainVerifier,
    max_tx_bytes: usize,
    verified: Mutex<VerifiedCache>,
}

fn poisoned(what: &str) -> AdmitError {
    AdmitError::Ledger(format!("{what} lock poisoned"))
}

impl Admission {
    /// A door checking with `verifier`, refusing transactions over `max_tx_bytes`.
    pub fn new(verifier: ChainVerifier, max_tx_bytes: usize) -> Self {
        Self { verifier, max_tx_bytes, verified: Mutex::default() }
    }

    /// The chain's verifier.
    pub fn verifier(&self) -> &ChainVerifier {
        &self.verifier
    }

    /// Admits the tagged ledger encoding of a transaction of any kind into `mempool` (see the module
    /// documentation for the order of the checks). Blocking: proofs are checked on the calling thread.
    pub fn admit(
        &self,
        ledger: &impl LedgerAccess,
        mempool: &impl PoolAccess,
        tagged: &[u8],
    ) -> Result<Admitted, AdmitError> {
        if tagged.len() > self.max_tx_bytes {
            return Err(AdmitError::TooLarge { size: tagged.len(), max: self.max_tx_bytes });
        }
        let tx = LedgerTx::from_bytes(tagged).map_err(AdmitError::Encoding)?;
        let id = tx.id();
        if mempool.lock_pool()?.contains(&id) {
            return Err(AdmitError::Duplicate(id));
        }
        let on_chain = ledger.read_ledger()?.transaction(&id);
        if on_chain.map_err(|e| AdmitError::Ledger(e.to_string()))?.is_some() {
            return Err(AdmitError::Rejected(TxRejection::Duplicate));
        }
        let leaf = ctchain_ledger::merkle::leaf_hash(tagged);
        let cached = self.verified.lock().map_err(|_| poisoned("verified-cache"))?.get(&leaf);
        let (verified, verified_in) = match cached {
            Some(v) => (v, None),
            None => {
                let tag = tx.tag();
                let started = Instant::now();
                let verified = VerifiedLedgerTx::verify(tx, &self.verifier).map_err(|e| match (tag, e) {
                    (TxTag::Confidential, TxRejection::Stateless(v)) => AdmitError::Invalid(v),
                    (_, other) => AdmitError::Rejected(other),
                })?;
                let took = started.elapsed();
                self.remember(leaf, &verified);
                (verified, Some(took))
            }
        };
        let ledger = ledger.read_ledger()?;
        let mut mempool = mempool.lock_pool()?;
        let id = mempool.admit_ledger_tx(&ledger, verified, leaf, tagged)?;
        Ok(Admitted { id, verified_in })
    }

    /// The verified transaction with exactly these bytes (by leaf hash), pending in `mempool` or verified
    /// recently: what a block's stateless check need not redo.
    pub fn known(&self, mempool: &Mempool, leaf: &Hash32) -> Option<VerifiedLedgerTx> {
        mempool.known(leaf).or_else(|| self.verified.lock().ok()?.get(leaf))
    }

    /// Remembers a transaction verified elsewhere (inside a proposed block), so that a copy arriving later by
    /// gossip is not verified again.
    pub fn remember(&self, leaf: Hash32, tx: &VerifiedLedgerTx) {
        if let Ok(mut cache) = self.verified.lock() {
            cache.insert(leaf, tx.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctchain_codec::Encode;
    use ctchain_crypto::{AssetId, AuditSecretKey, SigningKey, Transaction, TransactionBuilder, Verifier, WalletKeys};
    use rand_core::OsRng;

    fn issuance() -> Transaction {
        let auditor = AuditSecretKey::random(&mut OsRng);
        let issuer = SigningKey::random(&mut OsRng);
        let asset = AssetId::from_label("CNY");
        let mut b = TransactionBuilder::new("ctchain-mempool-test", vec![auditor.public()]);
        b.issue(&issuer, asset, 10).pay(WalletKeys::random(&mut OsRng).address(), asset, 10, "");
        b.build(&mut OsRng).unwrap()
    }

    #[test]
    fn a_transaction_is_cached_under_the_leaf_its_block_will_carry() {
        let tx = issuance();
        let in_block = LedgerTx::Confidential(tx.clone()).leaf_hash();
        let tagged = TxTag::Confidential.tagged(&tx.to_bytes());
        assert_eq!(ctchain_ledger::merkle::leaf_hash(&tagged), in_block);
        let mut flipped = tagged.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_ne!(ctchain_ledger::merkle::leaf_hash(&flipped), in_block, "other bytes, another entry");
    }

    #[test]
    fn the_verified_cache_forgets_its_oldest_entries_first() {
        let tx = issuance();
        let verifier = Verifier::new("ctchain-mempool-test", tx.body.audit_keys.clone());
        let verified = VerifiedLedgerTx::Confidential(verifier.verify(tx).unwrap());
        let mut cache = VerifiedCache::default();
        let leaf = |i: u32| {
            let mut h = [0u8; 32];
            h[..4].copy_from_slice(&i.to_le_bytes());
            Hash32(h)
        };
        for i in 0..=VerifiedCache::CAPACITY as u32 {
            cache.insert(leaf(i), verified.clone());
        }
        assert!(cache.get(&leaf(0)).is_none());
        assert!(cache.get(&leaf(1)).is_some());
        assert!(cache.get(&leaf(VerifiedCache::CAPACITY as u32)).is_some());
    }
}
