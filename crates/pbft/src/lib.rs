//! PBFT consensus core for ctchain.
//!
//! DOCS-PLACEHOLDER
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cert;
pub mod crypto;
pub mod metrics;
pub mod replica;
pub mod safety;
pub mod sim;
pub mod types;

pub use cert::{verify_committed, CertError, ValidatorSet};
pub use crypto::{Ed25519Signer, Ed25519Verifier, Signer, Verifier};
pub use metrics::{DropReason, Metrics};
pub use replica::{compute_o, Config, ConfigError, Delivered, Input, LedgerTip, Output, Replica, Timer};
pub use safety::{PersistedState, SafetyError, SafetyRules};
pub use types::{
    Block, Checkpoint, CheckpointProof, Commit, CommitCertificate, CommittedBlock, FetchRequest, FetchResponse,
    Message, NewView, PrePrepare, PreparedCert, Prepare, PublicKey, ReplicaId, Seq, Signature, Signed, View,
    ViewChange,
};
