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

/// The validator sets of a chain in order, each with the first sequence number it orders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochSchedule {
    /// `(first sequence number, validators)`, index = epoch number.
    epochs: Vec<(Seq, ValidatorSet)>,
}

impl EpochSchedule {
    /// A schedule with the genesis set only (renumbered as epoch 0 if it was not).
    pub fn genesis(validators: ValidatorSet) -> Self {
        let set = ValidatorSet::for_epoch(validators.chain_id(), 0, validators.keys().to_vec());
        Self { epochs: vec![(1, set)] }
    }

    /// Adds the next epoch, beginning at `first_seq`.
    pub fn push(&mut self, first_seq: Seq, validators: ValidatorSet) -> Result<(), ScheduleError> {
        let expected = self.epochs.len() as Epoch;
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

    /// The genesis validator set.
    pub fn genesis_set(&self) -> &ValidatorSet {
        &self.epochs[0].1
    }

    /// The newest epoch scheduled.
    pub fn latest(&self) -> Epoch {
        (self.epochs.len() - 1) as Epoch
    }

    /// The validator set of `epoch`, if scheduled.
    pub fn get(&self, epoch: Epoch) -> Option<&ValidatorSet> {
        self.epochs.get(usize::try_from(epoch).ok()?).map(|(_, v)| v)
    }

    /// The first sequence number of `epoch`, if scheduled.
    pub fn first_seq(&self, epoch: Epoch) -> Option<Seq> {
        self.epochs.get(usize::try_from(epoch).ok()?).map(|(f, _)| *f)
    }

    /// The last sequence number of `epoch`: the one before the next epoch's first, `None` while no next epoch is
    /// scheduled.
    pub fn last_seq(&self, epoch: Epoch) -> Option<Seq> {
        self.first_seq(epoch.checked_add(1)?).map(|f| f - 1)
    }

    /// The epoch sequence number `seq` lies in (0 for the genesis checkpoint, sequence number 0).
    pub fn epoch_of(&self, seq: Seq) -> Epoch {
        self.epochs.iter().rposition(|(first, _)| *first <= seq).unwrap_or(0) as Epoch
    }

    /// The validator set that certifies sequence number `seq`.
    pub fn for_seq(&self, seq: Seq) -> &ValidatorSet {
        &self.epochs[self.epoch_of(seq) as usize].1
    }

    /// Verifies a committed block against the validator set of its epoch.
    pub fn verify_committed(&self, verifier: &dyn Verifier, block: &CommittedBlock) -> Result<(), CertError> {
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
