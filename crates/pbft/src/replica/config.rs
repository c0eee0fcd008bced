//! The replica's configuration, and the checks [`Replica::new`](super::Replica::new) and
//! [`Replica::restore`](super::Replica::restore) run on it before building a replica.

use crate::cert::ValidatorSet;
use crate::crypto::Signer;
use crate::types::{ReplicaId, MAX_CHAIN_ID_BYTES, MAX_VALIDATORS};

/// Tunable parameters of a replica. All durations are in milliseconds of the host's clock.
#[derive(Clone, Debug)]
pub struct Config {
    /// The validators and the chain id.
    pub validators: ValidatorSet,
    /// This replica's index.
    pub me: ReplicaId,
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
    /// Defaults for validator `me`: `K = 16`, `L = 64`, 2 s view timeout, `Δ = 5 s`, 32 MiB messages.
    pub fn new(validators: ValidatorSet, me: ReplicaId) -> Self {
        Self {
            validators,
            me,
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
    /// `me` is not an index of the validator set.
    #[error("replica {0} is not in the validator set")]
    NotAValidator(ReplicaId),
    /// The signer's key is not the key of validator `me`.
    #[error("the signer's public key is not validator {0}'s key")]
    WrongKey(ReplicaId),
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

pub(super) fn check_config(cfg: &Config, signer: &dyn Signer) -> Result<(), ConfigError> {
    let n = cfg.validators.n();
    if n == 0 || n > MAX_VALIDATORS {
        return Err(ConfigError::BadValidatorSet(n));
    }
    let key = cfg.validators.key(cfg.me).ok_or(ConfigError::NotAValidator(cfg.me))?;
    if *key != signer.public_key() {
        return Err(ConfigError::WrongKey(cfg.me));
    }
    let (k, l) = (cfg.checkpoint_interval, cfg.window);
    if k == 0 || l == 0 || l % k != 0 || l as usize > crate::types::MAX_PREPARED_CERTS {
        return Err(ConfigError::BadWindow { window: l, interval: k });
    }
    if cfg.validators.chain_id().len() > MAX_CHAIN_ID_BYTES {
        return Err(ConfigError::ChainIdTooLong);
    }
    Ok(())
}
