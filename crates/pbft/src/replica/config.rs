//! The replica's configuration, and the checks [`Replica::new`](super::Replica::new) and
//! [`Replica::restore`](super::Replica::restore) run on it before building a replica.

use crate::epoch::EpochSchedule;
use crate::types::{Epoch, MAX_CHAIN_ID_BYTES, MAX_VALIDATORS};

/// Tunable parameters of a replica. All durations are in milliseconds of the host's clock.
#[derive(Clone, Debug)]
pub struct Config {
    /// The validator sets known so far, from the genesis: the chain id, and which keys certify which sequence
    /// numbers. The replica finds its own index in each epoch from its signer's key; in an epoch whose set does not
    /// hold that key it follows the chain without voting ([`Input::SyncedBlocks`](super::Input::SyncedBlocks)).
    pub epochs: EpochSchedule,
    /// `K`: a checkpoint is taken every `K` sequence numbers (§4.3).
    pub checkpoint_interval: u64,
    /// `L`: sequence numbers in flight above the low-water mark, a multiple of `K` (§4.3, high-water mark).
    pub window: u64,
    /// Base view timeout; it doubles with every consecutive view change without progress (§4.5.2).
    pub view_timeout_ms: u64,
    /// Cap of the doubling view timeout.
    pub max_view_timeout_ms: u64,
    /// How long to wait for a catch-up response before asking another peer.
    pub fetch_timeout_ms: u64,
    /// `Δ`: a backup rejects a proposal whose timestamp is more than `Δ` away from its own clock.
    pub max_clock_skew_ms: u64,
    /// Larger messages are dropped before decoding.
    pub max_message_bytes: usize,
    /// Messages for views more than this far ahead are dropped.
    pub max_view_ahead: u64,
    /// Checkpoint claims further than this above the low-water mark are dropped.
    pub max_checkpoint_ahead: u64,
    /// Committed blocks kept in memory to serve catch-up requests.
    pub retain_blocks: u64,
    /// Messages buffered for a view not yet entered, shared equally among the validators (each signer has its own
    /// share, so that a flooding one cannot crowd out the others).
    pub max_buffered: usize,
    /// Encoded bytes buffered for a view not yet entered, shared equally among the validators the same way.
    pub max_buffered_bytes: usize,
}

impl Config {
    /// Defaults: `K = 16`, `L = 64`, 2 s view timeout, `Δ = 5 s`, 32 MiB messages.
    pub fn new(epochs: impl Into<EpochSchedule>) -> Self {
        Self {
            epochs: epochs.into(),
            checkpoint_interval: 16,
            window: 64,
            view_timeout_ms: 2_000,
            max_view_timeout_ms: 60_000,
            fetch_timeout_ms: 1_000,
            max_clock_skew_ms: 5_000,
            max_message_bytes: 32 << 20,
            max_view_ahead: 64,
            max_checkpoint_ahead: 1 << 20,
            retain_blocks: 1024,
            max_buffered: 4096,
            max_buffered_bytes: 128 << 20,
        }
    }
}

/// Why a replica cannot be built from a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The validator set is empty or too large.
    #[error("validator set of size {0} is not supported")]
    BadValidatorSet(usize),
    /// The persisted state is of an epoch the schedule does not hold.
    #[error("the persisted state is of epoch {0}, which is not scheduled")]
    UnknownEpoch(Epoch),
    /// The ledger is past the start of an epoch the persisted state has not entered: the host must say where that
    /// epoch began ([`PersistedState::entering`](crate::PersistedState::entering)).
    #[error("the ledger is in epoch {ledger}, the persisted state in epoch {persisted}; give the epoch's start")]
    EpochStartUnknown {
        /// The epoch of the ledger's next block.
        ledger: Epoch,
        /// The epoch of the persisted state.
        persisted: Epoch,
    },
    /// `K` or `L` is invalid.
    #[error("window {window} must be a positive multiple of the checkpoint interval {interval}")]
    BadWindow {
        /// `L`.
        window: u64,
        /// `K`.
        interval: u64,
    },
    /// The chain id is longer than [`MAX_CHAIN_ID_BYTES`].
    #[error("chain id is too long")]
    ChainIdTooLong,
}

pub(super) fn check_config(cfg: &Config) -> Result<(), ConfigError> {
    for (_, set) in cfg.epochs.iter() {
        if set.n() == 0 || set.n() > MAX_VALIDATORS {
            return Err(ConfigError::BadValidatorSet(set.n()));
        }
    }
    let (k, l) = (cfg.checkpoint_interval, cfg.window);
    if k == 0 || l == 0 || l % k != 0 || l as usize > crate::types::MAX_PREPARED_CERTS {
        return Err(ConfigError::BadWindow { window: l, interval: k });
    }
    if cfg.epochs.chain_id().len() > MAX_CHAIN_ID_BYTES {
        return Err(ConfigError::ChainIdTooLong);
    }
    Ok(())
}
