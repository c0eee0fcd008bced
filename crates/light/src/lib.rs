//! # ctchain-light: reading a chain without trusting the node that serves it
//!
//! A wallet, a supervisor's tools and the local-chain tooling each talk to one node's RPC. A node can lie: serve
//! another chain's genesis, a block it made up, a genuine block under another height, or a transaction that no
//! block holds. [`LightClient`] checks everything it hands out against the chain's genesis, the way Tendermint
//! light clients and `lightwalletd` clients trust no single server:
//!
//! * **Genesis pinned by its hash.** The client starts from a genesis whose SM3 hash it was given
//!   ([`GenesisTrust::Pinned`], e.g. from a supervisor's database or a wallet's store) or, on first use, the one
//!   the node serves, checked to hash to what the node reports ([`GenesisTrust::FirstUse`]); every later check
//!   goes back to that genesis.
//! * **Every block certified.** [`LightClient::block`] returns a [`CertifiedBlock`] only if its commit
//!   certificate carries `2f + 1` signatures of its epoch's validators over exactly these block bytes
//!   (`ctchain_ledger::finality`), its header names the height asked for, and its transaction root is the root
//!   of its transactions. A certificate binds the whole block, so a node cannot swap a transaction or move a
//!   genuine block to another height.
//! * **The hash chain.** Every block's `prev_hash` must be the hash of the certified block below it whenever the
//!   client has seen that one, and of the one above it likewise; [`LightClient::blocks`] checks a whole range.
//! * **Inclusion.** [`LightClient::committed_tx`] returns a transaction only with a Merkle path from its leaf to
//!   the transaction root of a certified block at the height the node named.
//!
//! * **The epochs, followed from the genesis.** Validators change by governance. The client reads the node's
//!   governance log and follows every block it names, in order, with an
//!   [`EpochTracker`](ctchain_ledger::finality::EpochTracker): each such block is certified by the validators
//!   known for its sequence number, and its governance transactions are replayed on the client's own registry,
//!   which so learns the next validator sets and audit keys from the chain alone. A node that skips a governance
//!   block is caught at the next one (each names the registry version it applies to); one that withholds the
//!   latest leaves the client on older validators, whose signatures no later block carries: the client fails
//!   closed, it is not misled. A certificate that does not verify makes the client re-read the log once before
//!   refusing the block.
//!
//! What is *not* checked, and why: the height a node reports as its tip ([`LightClient::height`]) is a hint —
//! a node can always withhold new blocks, and anything read below it is checked; a transaction's pending or
//! rejected status is the node's word (only a commitment is evidence), which is why
//! [`LightClient::wait_committed`] is a progress signal and [`LightClient::committed_tx`] the proof.
//!
//! ## Invariants
//! * No value of type [`CertifiedBlock`] or [`CommittedTx`] exists that did not pass the checks above against
//!   this client's genesis and the epochs followed from it.
//! * The epochs are learned from certified governance blocks only, in chain order; nothing else the node says
//!   (its registry summary, its epochs list, its status) changes which signatures the client accepts.
//! * A refusal names what the node got wrong ([`LightError`]); nothing a node sends makes this crate panic.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod wait;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use ctchain_codec::{Decode, Hash32};
use ctchain_governance::{Epoch, Registry};
use ctchain_ledger::finality::EpochTracker;
use ctchain_ledger::{Block, BlockHeader, Genesis, LedgerTx, TxInclusionProof};
use ctchain_pbft::CommitCertificate;
use ctchain_rpc::{BlockRef, ChainApiClient, TxStatus};
use jsonrpsee::core::client::Error as ClientError;

pub use wait::{wait_for_commit, WaitError};

/// Certified block hashes remembered for the hash-chain check (the lowest heights are forgotten first).
const SEEN_BLOCKS: usize = 4_096;

/// Which genesis the client trusts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenesisTrust {
    /// The genesis with this SM3 hash, and no other: a node serving another one is refused.
    Pinned(Hash32),
    /// The node's genesis, on first use (its bytes must hash to the hash the node reports); the caller should
    /// keep [`LightClient::genesis_hash`] and pin it next time.
    FirstUse,
}

/// Why the client refused what a node served, or could not get it.
#[derive(Debug, thiserror::Error)]
pub enum LightError {
    /// The node did not answer (or answered with an RPC error) while being asked for `what`.
    #[error("cannot reach the node (asking for {what}): {source}")]
    Unreachable {
        /// What was asked for.
        what: String,
        /// The transport's or the node's error.
        #[source]
        source: ClientError,
    },
    /// The node serves another chain than the pinned genesis.
    #[error("the node serves genesis {served}, not the pinned genesis {pinned}")]
    WrongGenesis {
        /// The pinned hash.
        pinned: Hash32,
        /// The hash of what the node served.
        served: Hash32,
    },
    /// The node's genesis bytes are malformed or do not hash to the hash it reports.
    #[error("the node's genesis is invalid: {0}")]
    BadGenesis(String),
    /// The node has no block at this height.
    #[error("the node has no block {0}")]
    MissingBlock(u64),
    /// The node served a block that is not the chain's block at this height.
    #[error("the node served a block {height} that is not the chain's: {reason}")]
    ForgedBlock {
        /// The height asked for.
        height: u64,
        /// What failed (certificate, height, transaction root, hash chain, encoding).
        reason: String,
    },
    /// The node's answer about a transaction does not check out.
    #[error("the node's answer for transaction {id} does not check out: {reason}")]
    ForgedTransaction {
        /// The transaction id asked for.
        id: String,
        /// What failed (decoding, id, inclusion proof, block).
        reason: String,
    },
    /// The node's governance history does not lead from the genesis to the chain's validators.
    #[error("the node's governance history does not check out: {0}")]
    ForgedGovernance(String),
    /// The transaction is not committed (yet, or ever).
    #[error("transaction {id} is not committed ({status})")]
    NotCommitted {
        /// The transaction id.
        id: String,
        /// The node's status for it.
        status: String,
    },
}

/// A block whose commit certificate was checked against the validators of its epoch.
#[derive(Clone, Debug)]
pub struct CertifiedBlock {
    /// The block.
    pub block: Block,
    /// Its header's hash.
    pub hash: Hash32,
    /// Its checked commit certificate.
    pub certificate: CommitCertificate,
    /// The certificate's canonical bytes, as served (for evidence bundles).
    pub certificate_bytes: Vec<u8>,
}

impl CertifiedBlock {
    /// The block's header.
    pub fn header(&self) -> &BlockHeader {
        &self.block.header
    }
}

/// A transaction shown to be in a certified block.
#[derive(Clone, Debug)]
pub struct CommittedTx {
    /// The transaction.
    pub tx: LedgerTx,
    /// The height of its block.
    pub height: u64,
    /// Its path to the block's transaction root (with the block's header).
    pub proof: TxInclusionProof,
    /// Its block's hash, certified.
    pub block_hash: Hash32,
}

/// A node's RPC, read through the checks of this crate (see the crate documentation).
pub struct LightClient<C> {
    client: C,
    genesis: Genesis,
    genesis_hash: Hash32,
    genesis_bytes: Vec<u8>,
    /// `height → (hash, prev_hash)` of every block certified so far: what the hash chain is checked against.
    seen: Mutex<BTreeMap<u64, (Hash32, Hash32)>>,
    /// The epochs followed so far (held across the reads of one refresh, so that two do not interleave).
    epochs: tokio::sync::Mutex<Followed>,
}

/// The tracker of the epochs and the certified governance blocks it followed, in chain order: what an offline
/// verifier (an evidence bundle's) needs to follow the same epochs.
struct Followed {
    tracker: EpochTracker,
    history: Vec<(Block, Vec<u8>)>,
}

impl Followed {
    fn follow(&mut self, block: &Block, certificate: &[u8]) -> Result<usize, ctchain_ledger::finality::FinalityError> {
        let followed = self.tracker.follow(block, certificate)?;
        self.history.push((block.clone(), certificate.to_vec()));
        Ok(followed)
    }
}

impl std::ops::Deref for Followed {
    type Target = EpochTracker;
    fn deref(&self) -> &EpochTracker {
        &self.tracker
    }
}

impl<C: ChainApiClient + Send + Sync> LightClient<C> {
    /// Fetches the node's genesis and checks it against `trust`.
    pub async fn connect(client: C, trust: GenesisTrust) -> Result<Self, LightError> {
        let served = client.chain_get_genesis().await.map_err(unreachable("the genesis"))?;
        let bytes = hex::decode(&served.hex).map_err(|_| LightError::BadGenesis("its bytes are not hex".into()))?;
        let genesis = Genesis::from_bytes(&bytes).map_err(|e| LightError::BadGenesis(e.to_string()))?;
        let genesis_hash = genesis.hash();
        if genesis_hash.to_hex() != served.hash.to_ascii_lowercase() {
            return Err(LightError::BadGenesis(format!(
                "its bytes hash to {genesis_hash}, the node reports {}",
                served.hash
            )));
        }
        if let GenesisTrust::Pinned(pinned) = trust {
            if pinned != genesis_hash {
                return Err(LightError::WrongGenesis { pinned, served: genesis_hash });
            }
        }
        let tracker = EpochTracker::new(&genesis).map_err(|e| LightError::BadGenesis(e.to_string()))?;
        let this = Self {
            client,
            genesis,
            genesis_hash,
            genesis_bytes: bytes,
            seen: Mutex::default(),
            epochs: tokio::sync::Mutex::new(Followed { tracker, history: Vec::new() }),
        };
        this.follow_epochs().await?;
        Ok(this)
    }

    /// Reads the node's governance log and follows every governance block not followed yet (see the crate
    /// documentation): afterwards the client knows the validators and audit keys of every epoch the node has
    /// reported.
    pub async fn follow_epochs(&self) -> Result<(), LightError> {
        let mut tracker = self.epochs.lock().await;
        self.follow_locked(&mut tracker).await
    }

    async fn follow_locked(&self, tracker: &mut Followed) -> Result<(), LightError> {
        let log = self.client.governance_log().await.map_err(unreachable("the governance log"))?;
        let mut heights: Vec<u64> = log.iter().map(|g| g.height).filter(|h| *h > tracker.followed_height()).collect();
        if heights.windows(2).any(|w| w[0] > w[1]) {
            return Err(LightError::ForgedGovernance("its log is not in chain order".into()));
        }
        heights.dedup();
        for height in heights {
            let (block, certificate_bytes) = self.fetch(height).await?;
            tracker
                .follow(&block, &certificate_bytes)
                .map_err(|e| LightError::ForgedBlock { height, reason: format!("as a governance block: {e}") })?;
            let hash = block.header.hash();
            self.link(height, hash, block.header.prev_hash)
                .map_err(|reason| LightError::ForgedBlock { height, reason })?;
        }
        Ok(())
    }

    /// The registry epochs known (every one that began, then the scheduled one), after following the node's
    /// governance log.
    pub async fn epochs(&self) -> Result<Vec<Epoch>, LightError> {
        let mut tracker = self.epochs.lock().await;
        self.follow_locked(&mut tracker).await?;
        Ok(tracker.epochs())
    }

    /// The registry epoch of consensus sequence number `seq` (that of a block's header), as far as the
    /// governance followed so far knows.
    pub async fn epoch_for_seq(&self, seq: u64) -> Epoch {
        self.epochs.lock().await.epoch_for_seq(seq).clone()
    }

    /// The certified governance blocks below `height`, each with its certificate's bytes, in chain order, after
    /// following the node's governance log: from them and the genesis alone anyone can follow the epochs up to
    /// that height ([`EpochTracker::follow`]), as an evidence bundle's verifier does.
    pub async fn governance_history(&self, below_height: u64) -> Result<Vec<(Block, Vec<u8>)>, LightError> {
        let mut tracker = self.epochs.lock().await;
        self.follow_locked(&mut tracker).await?;
        Ok(tracker.history.iter().filter(|(b, _)| b.header.height < below_height).cloned().collect())
    }

    /// The consortium's registry after the last governance block followed.
    pub async fn registry(&self) -> Registry {
        self.epochs.lock().await.registry().clone()
    }

    /// The epoch the node's next block will be in, as far as the chain's governance says (the node's consensus
    /// sequence number is a hint: a node that understates it makes transactions built for this epoch's audit
    /// keys be refused, never accepted with the wrong keys). What a wallet builds its transactions for.
    pub async fn next_block_epoch(&self) -> Result<Epoch, LightError> {
        let status = self.client.chain_status().await.map_err(unreachable("its status"))?;
        let mut tracker = self.epochs.lock().await;
        self.follow_locked(&mut tracker).await?;
        Ok(tracker.epoch_for_seq(status.consensus_seq.saturating_add(1)).clone())
    }

    /// The checked genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The genesis's SM3 hash (what to pin next time).
    pub fn genesis_hash(&self) -> Hash32 {
        self.genesis_hash
    }

    /// The genesis's canonical bytes.
    pub fn genesis_bytes(&self) -> &[u8] {
        &self.genesis_bytes
    }

    /// The RPC client, for what is not a read of chain data (submitting, status, subscriptions).
    pub fn rpc(&self) -> &C {
        &self.client
    }

    /// The height the node reports as its tip: a hint (see the crate documentation); every block read below it
    /// is checked.
    pub async fn height(&self) -> Result<u64, LightError> {
        Ok(self.client.chain_status().await.map_err(unreachable("its status"))?.height)
    }

    /// The block at `height`, certified, with its place in the hash chain checked against the neighbours this
    /// client has seen.
    pub async fn block(&self, height: u64) -> Result<CertifiedBlock, LightError> {
        let (block, certificate_bytes) = self.fetch(height).await?;
        let forged = |reason: String| LightError::ForgedBlock { height, reason };
        let certificate = {
            let mut tracker = self.epochs.lock().await;
            let certificate = match tracker.verify(&block, &certificate_bytes) {
                Ok(certificate) => certificate,
                // Perhaps of an epoch the client has not followed yet: read the governance log once more.
                Err(_) => {
                    self.follow_locked(&mut tracker).await?;
                    tracker.verify(&block, &certificate_bytes).map_err(|e| forged(e.to_string()))?
                }
            };
            // A governance block above those followed (a reader going up the chain, such as `watch`): follow it
            // now, so that the epochs of the blocks read next (an audit-key rotation changes no signature) are
            // known; after a gap in what was followed, through the node's log.
            let governs = block.txs.iter().any(|t| matches!(t, LedgerTx::Governance(_)));
            if governs && height > tracker.followed_height() && tracker.follow(&block, &certificate_bytes).is_err() {
                self.follow_locked(&mut tracker).await?;
            }
            certificate
        };
        let hash = block.header.hash();
        self.link(height, hash, block.header.prev_hash).map_err(forged)?;
        Ok(CertifiedBlock { block, hash, certificate, certificate_bytes })
    }

    /// The block at `height` and its certificate's bytes, with the block's own consistency checked (its height,
    /// its transaction root) but not yet its certificate.
    async fn fetch(&self, height: u64) -> Result<(Block, Vec<u8>), LightError> {
        let served = self
            .client
            .chain_get_block(BlockRef::Height(height))
            .await
            .map_err(unreachable(format!("block {height}")))?
            .ok_or(LightError::MissingBlock(height))?;
        let forged = |reason: String| LightError::ForgedBlock { height, reason };
        let header_bytes = hex::decode(&served.header_hex).map_err(|_| forged("header is not hex".into()))?;
        let header = BlockHeader::from_bytes(&header_bytes).map_err(|e| forged(format!("header: {e}")))?;
        let txs = served
            .txs
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let bytes = hex::decode(&t.hex).map_err(|_| forged(format!("transaction {i} is not hex")))?;
                LedgerTx::from_bytes(&bytes).map_err(|e| forged(format!("transaction {i}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if header.height != height {
            return Err(forged(format!("its header is for height {}", header.height)));
        }
        if Block::compute_tx_root(&txs) != header.tx_root {
            return Err(forged("its transactions are not the ones its header's root commits to".into()));
        }
        let certificate_hex = served.certificate.ok_or_else(|| forged("it has no commit certificate".into()))?;
        let certificate_bytes =
            hex::decode(&certificate_hex).map_err(|_| forged("its certificate is not hex".into()))?;
        Ok((Block { header, txs }, certificate_bytes))
    }

    /// Blocks `from..=to`, each certified, each linked to the one below it.
    pub async fn blocks(&self, from: u64, to: u64) -> Result<Vec<CertifiedBlock>, LightError> {
        let mut blocks = Vec::new();
        for height in from..=to {
            blocks.push(self.block(height).await?);
        }
        Ok(blocks)
    }

    /// A committed transaction with its inclusion in a certified block checked.
    pub async fn committed_tx(&self, id: &str) -> Result<CommittedTx, LightError> {
        let id = id.trim().to_ascii_lowercase();
        let forged = |reason: &str| LightError::ForgedTransaction { id: id.clone(), reason: reason.into() };
        let status = self.client.tx_get(id.clone()).await.map_err(unreachable(format!("transaction {id}")))?;
        let TxStatus::Committed { height, hex: tx_hex, inclusion_proof, .. } = status else {
            return Err(LightError::NotCommitted { id, status: status_text(&status) });
        };
        let tx_bytes = hex::decode(&tx_hex).map_err(|_| forged("its bytes are not hex"))?;
        let tx = LedgerTx::from_bytes(&tx_bytes).map_err(|_| forged("its bytes do not decode"))?;
        // A shielded transaction's confidential side (its crossing) is located with it: asked for the crossing's
        // id, the node returns the whole shielded transaction.
        let crossing_id = match &tx {
            LedgerTx::Shielded(s) => s.crossing.as_ref().map(|c| c.id().to_string()),
            _ => None,
        };
        if tx.id().to_string() != id && crossing_id.as_deref() != Some(id.as_str()) {
            return Err(forged("the node returned another transaction"));
        }
        let proof_bytes = hex::decode(&inclusion_proof).map_err(|_| forged("its inclusion proof is not hex"))?;
        let proof =
            TxInclusionProof::from_bytes(&proof_bytes).map_err(|_| forged("its inclusion proof does not decode"))?;
        let proven_block = proof.verify(&tx).ok_or_else(|| forged("its inclusion proof does not lead to its block"))?;
        let block = self.block(height).await?;
        if proven_block != block.hash {
            return Err(forged(&format!("its inclusion proof is for another block than the chain's block {height}")));
        }
        Ok(CommittedTx { tx, height, proof, block_hash: block.hash })
    }

    /// Polls the node's status of `id` until it says committed (returning the height it names) or rejected, or
    /// `timeout` passes. A progress signal only (the crate documentation says why); rely on
    /// [`LightClient::committed_tx`].
    pub async fn wait_committed(&self, id: &str, poll: Duration, timeout: Duration) -> Result<u64, WaitError> {
        let id = id.trim().to_ascii_lowercase();
        wait_for_commit(&id, poll, timeout, || async {
            self.client.tx_get(id.clone()).await.map_err(|e| e.to_string())
        })
        .await
    }

    /// Records a certified block and checks it against its certified neighbours.
    fn link(&self, height: u64, hash: Hash32, prev_hash: Hash32) -> Result<(), String> {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((below, _)) = height.checked_sub(1).and_then(|h| seen.get(&h)) {
            if *below != prev_hash {
                return Err(format!("its previous hash is not the hash of the certified block {}", height - 1));
            }
        }
        if let Some((_, above_prev)) = seen.get(&(height + 1)) {
            if *above_prev != hash {
                return Err(format!("the certified block {} does not follow it", height + 1));
            }
        }
        match seen.get(&height) {
            // Two certified blocks at one height would be a safety failure of the chain itself: report it.
            Some((known, _)) if *known != hash => Err("another certified block is known at this height".into()),
            _ => {
                seen.insert(height, (hash, prev_hash));
                // A long `watch` reads every block: keep the hashes near the most recent reads, not all of them.
                while seen.len() > SEEN_BLOCKS {
                    let Some(&lowest) = seen.keys().next() else { break };
                    seen.remove(&lowest);
                }
                Ok(())
            }
        }
    }
}

fn unreachable(what: impl Into<String>) -> impl FnOnce(ClientError) -> LightError {
    let what = what.into();
    move |source| LightError::Unreachable { what, source }
}

fn status_text(status: &TxStatus) -> String {
    match status {
        TxStatus::Unknown => "unknown to the node".into(),
        TxStatus::Pending => "pending".into(),
        TxStatus::Rejected { reason } => format!("rejected: {reason}"),
        TxStatus::Committed { height, .. } => format!("committed at height {height}"),
    }
}
