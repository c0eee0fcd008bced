//! Reconfiguration: the chain of validator sets ("epochs") a chain has gone through, each with the first sequence
//! number it orders.
//!
//! Epoch 0 is the genesis set and begins at sequence number 1. The application decides a change (in ctchain, a
//! governance transaction) in some block `h`; the host then schedules the next epoch with
//! [`Input::NextEpoch`](crate::Input::NextEpoch), to begin after the last block `L` of the current one. The rule
//! that makes this safe without the core reading payloads:
//!
//! * `L` is a checkpoint (a multiple of `K`) at least one window above `h` (`L ≥ h + window`). Nothing above
//!   `h + window` can have been proposed or voted on by an honest replica before `h` was executed, since the
//!   watermarks keep votes within one window of the last stable checkpoint, so no message of the new epoch was
//!   ever judged against the old set.
//! * The host reports the change after performing the [`Output::Deliver`](crate::Output::Deliver) of `h` and
//!   before feeding any other input. Within one call the core never accepts a block more than one window above
//!   the last block delivered before the call, so it never verifies a block against a schedule that a block of
//!   the same call could still change.
//!
//! Every certificate is then checked against the set of the epoch its sequence number lies in
//! ([`EpochSchedule::for_seq`]), and every signed message names its epoch, which the signature binds.

use crate::cert::{verify_committed, CertError, ValidatorSet};
use crate::crypto::Verifier;
use crate::types::{CommittedBlock, Epoch, Seq, MAX_VALIDATORS};

/// Why an epoch cannot be added to a schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Epochs are numbered in order from 0.
    #[error("the next epoch is number {expected}, not {got}")]
    WrongNumber {
        /// The number the next epoch must have.
        expected: Epoch,
        /// The number given.
        got: Epoch,
    },
    /// An epoch begins after the previous one's first sequence number.
    #[error("epoch beginning at {first} does not follow the epoch beginning at {previous}")]
    NotAfter {
        /// The new epoch's first sequence number.
        first: Seq,
        /// The previous epoch's first sequence number.
        previous: Seq,
    },
    /// The validator set names another chain.
    #[error("the validator set is for chain {0}")]
    OtherChain(String),
    /// The validator set is empty or too large.
    #[error("validator set of size {0} is not supported")]
    BadSize(usize),
}

/// The validator sets of a chain in order, each with the first sequence number it orders: from the genesis, or
/// from a later epoch for a host that no longer holds the earlier ones (a node restored from a state snapshot).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochSchedule {
    /// The number of the earliest epoch held.
    base: Epoch,
    /// `(first sequence number, validators)`, index = epoch number − `base`.
    epochs: Vec<(Seq, ValidatorSet)>,
}

impl EpochSchedule {
    /// A schedule with the genesis set only (renumbered as epoch 0 if it was not).
    pub fn genesis(validators: ValidatorSet) -> Self {
        let set = ValidatorSet::for_epoch(validators.chain_id(), 0, validators.keys().to_vec());
        Self { base: 0, epochs: vec![(1, set)] }
    }

    /// A schedule beginning with the epoch of `validators`, which orders from `first_seq` on. Sequence numbers
    /// before it belong to no epoch this schedule knows: their certificates are refused.
    pub fn starting_at(first_seq: Seq, validators: ValidatorSet) -> Result<Self, ScheduleError> {
        if validators.epoch() == 0 && first_seq != 1 {
            return Err(ScheduleError::NotAfter { first: first_seq, previous: 0 });
        }
        if validators.n() == 0 || validators.n() > MAX_VALIDATORS {
            return Err(ScheduleError::BadSize(validators.n()));
        }
        Ok(Self { base: validators.epoch(), epochs: vec![(first_seq.max(1), validators)] })
    }

    /// Adds the next epoch, beginning at `first_seq`.
    pub fn push(&mut self, first_seq: Seq, validators: ValidatorSet) -> Result<(), ScheduleError> {
        let expected = self.base + self.epochs.len() as Epoch;
        if validators.epoch() != expected {
            return Err(ScheduleError::WrongNumber { expected, got: validators.epoch() });
        }
        let previous = self.epochs.last().map_or(0, |(f, _)| *f);
        if first_seq <= previous {
            return Err(ScheduleError::NotAfter { first: first_seq, previous });
        }
        if validators.chain_id() != self.chain_id() {
            return Err(ScheduleError::OtherChain(validators.chain_id().to_owned()));
        }
        if validators.n() == 0 || validators.n() > MAX_VALIDATORS {
            return Err(ScheduleError::BadSize(validators.n()));
        }
        self.epochs.push((first_seq, validators));
        Ok(())
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        self.epochs[0].1.chain_id()
    }

    /// The earliest validator set held (the genesis set unless the schedule starts later).
    pub fn earliest_set(&self) -> &ValidatorSet {
        &self.epochs[0].1
    }

    /// The earliest epoch held.
    pub fn earliest(&self) -> Epoch {
        self.base
    }

    /// The newest epoch scheduled.
    pub fn latest(&self) -> Epoch {
        self.base + (self.epochs.len() - 1) as Epoch
    }

    fn slot(&self, epoch: Epoch) -> Option<&(Seq, ValidatorSet)> {
        self.epochs.get(usize::try_from(epoch.checked_sub(self.base)?).ok()?)
    }

    /// The validator set of `epoch`, if scheduled.
    pub fn get(&self, epoch: Epoch) -> Option<&ValidatorSet> {
        self.slot(epoch).map(|(_, v)| v)
    }

    /// The first sequence number of `epoch`, if scheduled.
    pub fn first_seq(&self, epoch: Epoch) -> Option<Seq> {
        self.slot(epoch).map(|(f, _)| *f)
    }

    /// The last sequence number of `epoch`: the one before the next epoch's first, `None` while no next epoch is
    /// scheduled.
    pub fn last_seq(&self, epoch: Epoch) -> Option<Seq> {
        self.first_seq(epoch.checked_add(1)?).map(|f| f - 1)
    }

    /// The epoch sequence number `seq` lies in (the earliest held for a sequence number before it, and 0 for the
    /// genesis checkpoint, sequence number 0).
    pub fn epoch_of(&self, seq: Seq) -> Epoch {
        self.base + self.epochs.iter().rposition(|(first, _)| *first <= seq).unwrap_or(0) as Epoch
    }

    /// The validator set that certifies sequence number `seq` (the earliest held for one before it).
    pub fn for_seq(&self, seq: Seq) -> &ValidatorSet {
        &self.epochs[(self.epoch_of(seq) - self.base) as usize].1
    }

    /// Verifies a committed block against the validator set of its epoch; a block before the earliest epoch held
    /// is refused ([`CertError::BeforeSchedule`]).
    pub fn verify_committed(&self, verifier: &dyn Verifier, block: &CommittedBlock) -> Result<(), CertError> {
        if self.base > 0 && block.seq < self.epochs[0].0 {
            return Err(CertError::BeforeSchedule { seq: block.seq, first: self.epochs[0].0 });
        }
        verify_committed(self.for_seq(block.seq), verifier, block)
    }

    /// Every epoch with its first sequence number, in order.
    pub fn iter(&self) -> impl Iterator<Item = (Seq, &ValidatorSet)> {
        self.epochs.iter().map(|(f, v)| (*f, v))
    }
}

impl From<ValidatorSet> for EpochSchedule {
    fn from(validators: ValidatorSet) -> Self {
        Self::genesis(validators)
    }
}
