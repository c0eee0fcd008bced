//! The one door through which every transaction enters a node: RPC submissions of every kind and gossip arrive
//! here as the tagged bytes of a [`LedgerTx`] and pass the same checks in the same order, cheapest first:
//!
//! 1. size (before anything is decoded);
//! 2. the Merkle leaf hash of the bytes — once: the bytes are canonical, so it identifies them exactly; bytes
//!    already pending are refused here, and bytes verified before (by admission or inside a proposed block, kept in
//!    [`VerifiedCache`]) are taken from there, neither decoded nor verified again;
//!    bytes refused before for what they are (undecodable, a failed proof) are refused again here, for nothing;
//! 3. decoding — once — then the id, and duplicates: already pending, or already on chain (gossip brings every
//!    transaction to every node, often after its block committed — refused before paying for its proofs);
//! 4. the stateless phase (proofs, signatures); a failure is remembered by leaf hash;
//! 5. the stateful checks against the ledger and the conflicts with pending transactions
//!    ([`Mempool`]'s own rules).
//!
//! Proofs are checked with no lock held; the ledger is locked before the mempool, always (the node's order).

use std::cell::{RefCell, RefMut};
use std::collections::{HashMap, VecDeque};
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use ctchain_codec::Hash32;
use ctchain_crypto::TxId;
use ctchain_ledger::{ChainVerifier, EncodedTx, Ledger, TxRejection, TxTag, VerifiedLedgerTx};

use crate::{AdmitError, Mempool};

/// Up to `capacity` values by Merkle leaf hash (the hash of a transaction's exact tagged bytes); the oldest
/// entries are forgotten first.
struct ByLeaf<V> {
    entries: HashMap<Hash32, V>,
    order: VecDeque<Hash32>,
    capacity: usize,
}

impl<V: Clone> ByLeaf<V> {
    fn with_capacity(capacity: usize) -> Self {
        Self { entries: HashMap::new(), order: VecDeque::new(), capacity }
    }

    fn get(&self, leaf: &Hash32) -> Option<V> {
        self.entries.get(leaf).cloned()
    }

    fn insert(&mut self, leaf: Hash32, value: V) {
        if self.entries.insert(leaf, value).is_none() {
            self.order.push_back(leaf);
            while self.order.len() > self.capacity {
                if let Some(old) = self.order.pop_front() {
                    self.entries.remove(&old);
                }
            }
        }
    }
}

/// Transactions verified recently, by Merkle leaf hash, so that a transaction is verified once whichever way it
/// arrives first: in a proposed block, by RPC or by gossip. Bounded; the oldest entries are forgotten first.
pub struct VerifiedCache(ByLeaf<VerifiedLedgerTx>);

impl Default for VerifiedCache {
    fn default() -> Self {
        Self::with_capacity(Self::CAPACITY)
    }
}

impl VerifiedCache {
    /// Entries a node keeps (a transfer is about 5 KiB, so about 20 MiB).
    pub const CAPACITY: usize = 4_096;

    /// A cache keeping at most `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Self(ByLeaf::with_capacity(capacity))
    }

    /// The verified transaction with exactly these bytes, if verified recently.
    pub fn get(&self, leaf: &Hash32) -> Option<VerifiedLedgerTx> {
        self.0.get(leaf)
    }

    /// Remembers a verified transaction, under the leaf hash of the bytes it carries.
    pub fn insert(&mut self, tx: VerifiedLedgerTx) {
        self.0.insert(tx.leaf(), tx);
    }
}

/// Bytes refused for what they are — they do not decode, or a proof or signature in them fails — by leaf hash,
/// with the refusal: the same bytes sent again (a flood of one bad transaction, by RPC or gossip) are refused
/// again without being decoded or verified. Only refusals that depend on nothing but the bytes are kept; one
/// against the ledger's state (an input already spent) may not hold later. Bounded like [`VerifiedCache`].
struct RefusedCache(ByLeaf<AdmitError>);

impl RefusedCache {
    /// Refusals kept (an error is small; the bytes are not kept).
    const CAPACITY: usize = 16_384;
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
    /// Replaced when the audit keys change with an epoch ([`Admission::set_verifier`]).
    verifier: std::sync::RwLock<ChainVerifier>,
    max_tx_bytes: usize,
    verified: Mutex<VerifiedCache>,
    refused: Mutex<RefusedCache>,
}

fn poisoned(what: &str) -> AdmitError {
    AdmitError::Ledger(format!("{what} lock poisoned"))
}

impl Admission {
    /// A door checking with `verifier`, refusing transactions over `max_tx_bytes`.
    pub fn new(verifier: ChainVerifier, max_tx_bytes: usize) -> Self {
        let refused = Mutex::new(RefusedCache(ByLeaf::with_capacity(RefusedCache::CAPACITY)));
        Self { verifier: std::sync::RwLock::new(verifier), max_tx_bytes, verified: Mutex::default(), refused }
    }

    /// The chain's verifier (for the next block's epoch).
    pub fn verifier(&self) -> ChainVerifier {
        self.verifier.read().map(|v| v.clone()).unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Checks with `verifier` from now on (the next block's epoch changed the audit keys). The refusals remembered
    /// so far are forgotten: a transaction made for the new keys was refused under the old ones.
    pub fn set_verifier(&self, verifier: ChainVerifier) {
        if let Ok(mut current) = self.verifier.write() {
            *current = verifier;
        }
        if let Ok(mut refused) = self.refused.lock() {
            *refused = RefusedCache(ByLeaf::with_capacity(RefusedCache::CAPACITY));
        }
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
        let encoded = EncodedTx::new(tagged);
        // These exact bytes are pending already (gossip brings each transaction from every peer): refused
        // before they are decoded.
        if let Some(pending) = mempool.lock_pool()?.known(&encoded.leaf()) {
            return Err(AdmitError::Duplicate(pending.id()));
        }
        if let Some(refusal) = self.refused.lock().map_err(|_| poisoned("refused-cache"))?.0.get(&encoded.leaf()) {
            return Err(refusal);
        }
        let cached = self.verified.lock().map_err(|_| poisoned("verified-cache"))?.get(&encoded.leaf());
        let (verified, verified_in) = match cached {
            // Verified before (in a proposed block, or admitted and since committed or evicted): not decoded
            // again either.
            Some(v) => {
                refuse_if_on_chain(ledger, &v.id())?;
                (v, None)
            }
            None => {
                let leaf = encoded.leaf();
                let decoded = match encoded.into_decoded() {
                    Ok(decoded) => decoded,
                    Err(e) => return Err(self.refuse(leaf, AdmitError::Encoding(e))),
                };
                let id = decoded.tx().id();
                if mempool.lock_pool()?.contains(&id) {
                    return Err(AdmitError::Duplicate(id));
                }
                refuse_if_on_chain(ledger, &id)?;
                let tag = decoded.tx().tag();
                let started = Instant::now();
                // Every failure of the stateless phase depends on the bytes alone: remembered.
                let verifier = self.verifier();
                let verified = VerifiedLedgerTx::verify_decoded(decoded, &verifier).map_err(|e| {
                    let refusal = match (tag, e) {
                        (TxTag::Confidential, TxRejection::Stateless(v)) => AdmitError::Invalid(v),
                        (_, other) => AdmitError::Rejected(other),
                    };
                    self.refuse(leaf, refusal)
                })?;
                let took = started.elapsed();
                self.remember(&verified);
                (verified, Some(took))
            }
        };
        let ledger = ledger.read_ledger()?;
        let mut mempool = mempool.lock_pool()?;
        let id = mempool.admit_ledger_tx(&ledger, verified)?;
        Ok(Admitted { id, verified_in })
    }

    /// The verified transaction with exactly these bytes (by leaf hash), pending in `mempool` or verified
    /// recently: what a block's stateless check need not redo.
    pub fn known(&self, mempool: &Mempool, leaf: &Hash32) -> Option<VerifiedLedgerTx> {
        mempool.known(leaf).or_else(|| self.verified.lock().ok()?.get(leaf))
    }

    /// Remembers why these bytes were refused, and gives the refusal back.
    fn refuse(&self, leaf: Hash32, refusal: AdmitError) -> AdmitError {
        if let Ok(mut refused) = self.refused.lock() {
            refused.0.insert(leaf, refusal.clone());
        }
        refusal
    }

    /// Remembers a transaction verified elsewhere (inside a proposed block), so that a copy arriving later by
    /// gossip is not decoded or verified again.
    pub fn remember(&self, tx: &VerifiedLedgerTx) {
        if let Ok(mut cache) = self.verified.lock() {
            cache.insert(tx.clone());
        }
    }
}

/// Refuses a transaction already on chain (before its proofs are paid for).
fn refuse_if_on_chain(ledger: &impl LedgerAccess, id: &TxId) -> Result<(), AdmitError> {
    let on_chain = ledger.read_ledger()?.contains_transaction(id);
    if on_chain.map_err(|e| AdmitError::Ledger(e.to_string()))? {
        return Err(AdmitError::Rejected(TxRejection::Duplicate));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctchain_codec::Encode;
    use ctchain_crypto::{AssetId, AuditSecretKey, SigningKey, Transaction, TransactionBuilder, Verifier, WalletKeys};
    use ctchain_ledger::LedgerTx;
    use rand_core::OsRng;

    fn issuance(auditor: &AuditSecretKey) -> Transaction {
        let issuer = SigningKey::random(&mut OsRng);
        let asset = AssetId::from_label("CNY");
        let mut b = TransactionBuilder::new("ctchain-mempool-test", vec![auditor.public()]);
        b.issue(&issuer, asset, 10).pay(WalletKeys::random(&mut OsRng).address(), asset, 10, "");
        b.build(&mut OsRng).unwrap()
    }

    #[test]
    fn a_transaction_is_cached_under_the_leaf_its_block_will_carry() {
        let tx = issuance(&AuditSecretKey::random(&mut OsRng));
        let in_block = LedgerTx::Confidential(tx.clone()).leaf_hash();
        let tagged = TxTag::Confidential.tagged(&tx.to_bytes());
        assert_eq!(EncodedTx::new(tagged.clone()).leaf(), in_block);
        assert_eq!(EncodedTx::confidential(&tx).leaf(), in_block);
        let mut flipped = tagged.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_ne!(EncodedTx::new(flipped).leaf(), in_block, "other bytes, another entry");
    }

    #[test]
    fn the_verified_cache_forgets_its_oldest_entries_first() {
        let auditor = AuditSecretKey::random(&mut OsRng);
        let verifier = Verifier::new("ctchain-mempool-test", vec![auditor.public()]);
        let txs: Vec<VerifiedLedgerTx> = (0..4).map(|_| verifier.verify(issuance(&auditor)).unwrap().into()).collect();
        let mut cache = VerifiedCache::with_capacity(3);
        for tx in &txs {
            cache.insert(tx.clone());
        }
        assert!(cache.get(&txs[0].leaf()).is_none(), "the oldest is forgotten");
        for tx in &txs[1..] {
            assert_eq!(cache.get(&tx.leaf()).map(|t| t.id()), Some(tx.id()));
        }
        cache.insert(txs[3].clone());
        assert!(cache.get(&txs[1].leaf()).is_some(), "inserting a known entry again evicts nothing");
    }
}
