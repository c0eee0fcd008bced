//! Checking a ledger block's commit certificate offline, against the validators of its epoch: the evidence of
//! finality that lagging nodes, observers, light clients, snapshot restores and auditors rely on. It lives with
//! the ledger, not with any one of them, so that all of them run the very same check.
//!
//! The consensus block of a ledger block is `Data { timestamp: header.timestamp_ms, payload: block bytes }` at the
//! certificate's sequence number (validators refuse a proposal whose header time or sequence number differs from
//! its consensus ones), so the certificate's `2f + 1` signatures over that digest bind exactly this block.
//!
//! # Following the epochs from the genesis
//! Validators change only by governance, and a change is decided in a block and begins at a sequence number that
//! block fixes (`ctchain_governance::Epoch`). [`EpochTracker`] starts from the genesis and is shown, in height
//! order, every certified block that holds governance transactions: it checks each one's certificate against the
//! validators it knows for that block's sequence number, then replays the block's governance transactions on its
//! own copy of the registry, exactly as the ledger did. It so learns every later validator set from blocks that
//! the previous sets certified, and trusts nothing else than the genesis.
//!
//! Why it cannot be led astray by whoever serves it the blocks:
//! * **Skipping a governance block** makes the next one fail: every proposal names the registry version it was
//!   approved against, and the tracker's registry is a version behind ([`FinalityError::Governance`]).
//! * **Withholding the last ones** leaves the tracker on an older validator set. Every signature binds its
//!   consensus epoch, so a block of a later epoch does not verify against it: the tracker fails closed, it is not
//!   misled. (An audit-key rotation withheld likewise: the keys it reports are those of an older epoch, and a
//!   transaction built for them is refused by the validators.)
//! * **A forged block** does not carry a quorum of its epoch's signatures.
//!
//! Consensus epochs are the registry epochs that change the validators ([`ConsensusSchedule`]): an epoch that only
//! rotates audit keys or changes parameters keeps the consensus epoch, so its signatures and their checks do not
//! change. The node numbers its consensus epochs with the same type, so that both agree by construction.

use crate::{Block, Genesis, LedgerTx};
use ctchain_codec::{Decode, Encode};
use ctchain_governance::{BlockContext, Epoch, GovernanceError, Registry, ValidatorInfo};
use ctchain_pbft::{
    CommitCertificate, CommittedBlock, Ed25519Verifier, EpochSchedule, PublicKey, ScheduleError, ValidatorSet,
};

/// Why a certificate does not prove a block final, or a block cannot be followed.
#[derive(Debug, thiserror::Error)]
pub enum FinalityError {
    /// The certificate bytes do not decode.
    #[error("the certificate does not decode: {0}")]
    Encoding(ctchain_codec::DecodeError),
    /// The signatures do not make a quorum of the block's epoch's validators for this block.
    #[error("the certificate does not prove this block: {0}")]
    Invalid(ctchain_pbft::CertError),
    /// The certificate is for another sequence number than the block's header names.
    #[error("the certificate is for sequence number {certificate}, the block's header names {header}")]
    WrongSeq {
        /// The header's.
        header: u64,
        /// The certificate's.
        certificate: u64,
    },
    /// The genesis's consortium does not found a registry.
    #[error("the genesis founds no registry: {0}")]
    Genesis(GovernanceError),
    /// Blocks are followed in increasing height and sequence number.
    #[error("block {height} at sequence number {seq} does not follow block {after} at sequence number {after_seq}")]
    OutOfOrder {
        /// The block's height.
        height: u64,
        /// Its sequence number.
        seq: u64,
        /// The last block followed.
        after: u64,
        /// Its sequence number.
        after_seq: u64,
    },
    /// A certified block's governance transaction does not apply to the registry followed so far: the history
    /// served skipped a governance block (or is not this chain's).
    #[error(
        "governance transaction {index} of block {height} does not apply to the registry followed so far \
             (a governance block is missing before it): {source}"
    )]
    Governance {
        /// The block's height.
        height: u64,
        /// The transaction's index in it.
        index: usize,
        /// The registry's refusal.
        #[source]
        source: GovernanceError,
    },
    /// A registry epoch does not make a consensus schedule (it names no validators, or begins too early).
    #[error("registry epoch {epoch} does not follow the consensus epochs before it: {source}")]
    Schedule {
        /// The registry epoch.
        epoch: u64,
        /// Why.
        #[source]
        source: ScheduleError,
    },
}

/// The genesis validator set as the consensus core sees it.
pub fn validator_set(genesis: &Genesis) -> ValidatorSet {
    consensus_set(&genesis.chain_id, 0, &genesis.validators)
}

/// The consensus validator set of consensus epoch `number` made of `validators`, in index order.
pub fn consensus_set(chain_id: &str, number: u64, validators: &[ValidatorInfo]) -> ValidatorSet {
    let keys = validators.iter().map(|v| PublicKey(v.consensus_key.to_vec())).collect();
    ValidatorSet::for_epoch(chain_id, number, keys)
}

/// The consensus block that carried `block` (what its certificate's digest is over).
pub fn consensus_block(block: &Block) -> ctchain_pbft::Block {
    ctchain_pbft::Block::Data { timestamp: block.header.timestamp_ms, payload: block.to_bytes() }
}

/// Checks that `certificate` carries `2f + 1` valid commit signatures for `block` of the validators `schedule`
/// has for its sequence number.
pub fn verify_in_schedule(
    schedule: &EpochSchedule,
    block: &Block,
    certificate: &[u8],
) -> Result<CommitCertificate, FinalityError> {
    let cert = CommitCertificate::from_bytes(certificate).map_err(FinalityError::Encoding)?;
    if cert.seq != block.header.seq {
        return Err(FinalityError::WrongSeq { header: block.header.seq, certificate: cert.seq });
    }
    let committed = CommittedBlock { seq: cert.seq, block: consensus_block(block), cert: cert.clone() };
    schedule.verify_committed(&Ed25519Verifier, &committed).map_err(FinalityError::Invalid)?;
    Ok(cert)
}

/// Checks that `certificate` carries `2f + 1` valid commit signatures of the genesis validators for `block`: for
/// a block of the genesis's consensus epoch; use an [`EpochTracker`] for any block.
pub fn verify_block_certificate(
    genesis: &Genesis,
    block: &Block,
    certificate: &[u8],
) -> Result<CommitCertificate, FinalityError> {
    verify_in_schedule(&EpochSchedule::genesis(validator_set(genesis)), block, certificate)
}

/// The consensus epochs of a chain: its registry epochs that change the validators (their keys or their order),
/// numbered from 0, each beginning at its registry epoch's first sequence number.
#[derive(Clone, Debug)]
pub struct ConsensusSchedule {
    schedule: EpochSchedule,
    /// The newest registry epoch considered.
    registry_seen: u64,
    /// The validators of the newest consensus epoch.
    latest: Vec<ValidatorInfo>,
}

impl ConsensusSchedule {
    /// The schedule of `epochs`: registry epochs in order, the genesis epoch first.
    pub fn of(chain_id: &str, epochs: &[Epoch]) -> Result<Self, FinalityError> {
        let (genesis, later) =
            epochs.split_first().ok_or(FinalityError::Schedule { epoch: 0, source: ScheduleError::BadSize(0) })?;
        let mut this = Self::genesis(chain_id, genesis)?;
        for epoch in later {
            this.add(chain_id, epoch)?;
        }
        Ok(this)
    }

    /// The genesis epoch alone.
    pub fn genesis(chain_id: &str, genesis: &Epoch) -> Result<Self, FinalityError> {
        let set = consensus_set(chain_id, 0, &genesis.validators);
        let schedule = EpochSchedule::starting_at(1, set)
            .map_err(|source| FinalityError::Schedule { epoch: genesis.number, source })?;
        if genesis.number != 0 {
            return Err(FinalityError::Schedule {
                epoch: genesis.number,
                source: ScheduleError::WrongNumber { expected: 0, got: genesis.number },
            });
        }
        Ok(Self { schedule, registry_seen: 0, latest: genesis.validators.clone() })
    }

    /// Considers registry epoch `epoch` (the next after those seen): a new consensus epoch if it changes the
    /// validators, returned.
    pub fn add(&mut self, chain_id: &str, epoch: &Epoch) -> Result<Option<ValidatorSet>, FinalityError> {
        if epoch.validators == self.latest {
            self.registry_seen = epoch.number;
            return Ok(None);
        }
        let number = self.schedule.latest() + 1;
        let set = consensus_set(chain_id, number, &epoch.validators);
        self.schedule
            .push(epoch.first_seq, set.clone())
            .map_err(|source| FinalityError::Schedule { epoch: epoch.number, source })?;
        self.registry_seen = epoch.number;
        self.latest = epoch.validators.clone();
        Ok(Some(set))
    }

    /// The consensus schedule.
    pub fn schedule(&self) -> &EpochSchedule {
        &self.schedule
    }

    /// The newest registry epoch considered.
    pub fn registry_seen(&self) -> u64 {
        self.registry_seen
    }
}

/// The validators and audit keys of every epoch of a chain, learned from the genesis and the certified blocks
/// that hold governance transactions (see the module documentation).
#[derive(Clone, Debug)]
pub struct EpochTracker {
    chain_id: String,
    registry: Registry,
    /// Registry epochs that began, in order, the genesis epoch first.
    began: Vec<Epoch>,
    /// Consensus epochs of `began` and the scheduled next epoch.
    consensus: ConsensusSchedule,
    /// Height and sequence number of the last block followed (0, 0: none yet).
    followed: (u64, u64),
}

impl EpochTracker {
    /// The genesis epoch alone.
    pub fn new(genesis: &Genesis) -> Result<Self, FinalityError> {
        let registry = genesis.registry().map_err(FinalityError::Genesis)?;
        let began = vec![registry.epoch().clone()];
        let consensus = ConsensusSchedule::of(&genesis.chain_id, &began)?;
        Ok(Self { chain_id: genesis.chain_id.clone(), registry, began, consensus, followed: (0, 0) })
    }

    /// The consensus schedule known: every epoch that began, and the next one if one is scheduled.
    pub fn schedule(&self) -> &EpochSchedule {
        self.consensus.schedule()
    }

    /// The registry after the last block followed.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The registry epochs known: every one that began, then the scheduled one if any.
    pub fn epochs(&self) -> Vec<Epoch> {
        self.began.iter().chain(self.registry.next_epoch()).cloned().collect()
    }

    /// The registry epoch (validators, audit keys, parameters) of sequence number `seq`, as far as this tracker
    /// knows: the epoch of a block at `seq`, or of the next block when `seq` is the chain's latest.
    pub fn epoch_for_seq(&self, seq: u64) -> &Epoch {
        match self.registry.next_epoch() {
            Some(next) if next.first_seq <= seq => next,
            _ => self.began.iter().rev().find(|e| e.first_seq <= seq).unwrap_or(&self.began[0]),
        }
    }

    /// Height of the last block followed (0 before any).
    pub fn followed_height(&self) -> u64 {
        self.followed.0
    }

    /// Checks `block`'s certificate against the validators of its epoch.
    pub fn verify(&self, block: &Block, certificate: &[u8]) -> Result<CommitCertificate, FinalityError> {
        verify_in_schedule(self.schedule(), block, certificate)
    }

    /// Follows a certified block above the last one followed: checks its certificate, begins the epoch its
    /// sequence number is in, and replays its governance transactions. Returns how many it held. On any refusal
    /// the tracker is unchanged.
    pub fn follow(&mut self, block: &Block, certificate: &[u8]) -> Result<usize, FinalityError> {
        let header = &block.header;
        let (after, after_seq) = self.followed;
        if header.height <= after || header.seq <= after_seq {
            return Err(FinalityError::OutOfOrder { height: header.height, seq: header.seq, after, after_seq });
        }
        self.verify(block, certificate)?;
        let mut registry = self.registry.clone();
        let mut began = None;
        if registry.begin_block(header.seq) {
            began = Some(registry.epoch().clone());
        }
        let at = BlockContext { height: header.height, seq: header.seq, time_ms: header.timestamp_ms };
        let mut applied = 0;
        for (index, tx) in block.txs.iter().enumerate() {
            let LedgerTx::Governance(tx) = tx else { continue };
            let refused = |source| FinalityError::Governance { height: header.height, index, source };
            let verified = (**tx).clone().verify(&self.chain_id).map_err(refused)?;
            registry.apply(&verified, at).map_err(refused)?;
            applied += 1;
        }
        let mut consensus = self.consensus.clone();
        // Each registry epoch is considered once, in order: the one that began was considered when the block
        // that scheduled it was followed (its validators are fixed then), a newly scheduled one now.
        for epoch in began.iter().chain(registry.next_epoch()) {
            if epoch.number > consensus.registry_seen() {
                consensus.add(&self.chain_id, epoch)?;
            }
        }
        self.began.extend(began);
        self.registry = registry;
        self.consensus = consensus;
        self.followed = (header.height, header.seq);
        Ok(applied)
    }
}
