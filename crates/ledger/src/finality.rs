//! Checking a ledger block's commit certificate offline, against the genesis validator keys only: the evidence
//! of finality that lagging nodes, observers, light clients and auditors rely on. It lives with the ledger, not
//! with any one of them, so that all of them run the very same check.
//!
//! The consensus block of a ledger block is `Data { timestamp: header.timestamp_ms, payload: block bytes }` at the
//! certificate's sequence number (validators refuse a proposal whose header time differs from its consensus time),
//! so the certificate's `2f + 1` signatures over that digest bind exactly this block.
//!
//! Only blocks of the genesis validators' consensus epoch pass: validators sign in their epoch, and a block after
//! a change of validators is refused here (fails closed) until these checks follow the chain of epoch changes.
//! Registry epochs that only rotate audit keys or change parameters keep the consensus epoch.

use crate::{Block, Genesis};
use ctchain_codec::{Decode, Encode};
use ctchain_pbft::{CommitCertificate, CommittedBlock, Ed25519Verifier, PublicKey, ValidatorSet};

/// Why a certificate does not prove a block final.
#[derive(Debug, thiserror::Error)]
pub enum FinalityError {
    /// The certificate bytes do not decode.
    #[error("the certificate does not decode: {0}")]
    Encoding(ctchain_codec::DecodeError),
    /// The signatures do not make a quorum of the genesis validators for this block.
    #[error("the certificate does not prove this block: {0}")]
    Invalid(ctchain_pbft::CertError),
}

/// The genesis validator set as the consensus core sees it.
pub fn validator_set(genesis: &Genesis) -> ValidatorSet {
    let keys = genesis.validators.iter().map(|v| PublicKey(v.consensus_key.to_vec())).collect();
    ValidatorSet::new(genesis.chain_id.clone(), keys)
}

/// The consensus block that carried `block` (what its certificate's digest is over).
pub fn consensus_block(block: &Block) -> ctchain_pbft::Block {
    ctchain_pbft::Block::Data { timestamp: block.header.timestamp_ms, payload: block.to_bytes() }
}

/// Checks that `certificate` carries `2f + 1` valid commit signatures of the genesis validators for `block`.
pub fn verify_block_certificate(
    genesis: &Genesis,
    block: &Block,
    certificate: &[u8],
) -> Result<CommitCertificate, FinalityError> {
    let cert = CommitCertificate::from_bytes(certificate).map_err(FinalityError::Encoding)?;
    let committed = CommittedBlock { seq: cert.seq, block: consensus_block(block), cert: cert.clone() };
    ctchain_pbft::verify_committed(&validator_set(genesis), &Ed25519Verifier, &committed)
        .map_err(FinalityError::Invalid)?;
    Ok(cert)
}
