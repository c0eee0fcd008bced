//! The validator set and every certificate check: single signatures, quorums, prepared certificates (§4.4),
//! stable-checkpoint proofs (§4.3), commit certificates (finality evidence) and view-change messages.
//!
//! These functions are pure and independent of any replica state, so auditors and lagging nodes use the same code
//! as the core: [`verify_committed`] is what a node runs on a block it did not see being agreed.

use std::collections::BTreeSet;

use ctchain_codec::Hash32;

use crate::crypto::Verifier;
use crate::types::{
    genesis_digest, signing_digest, Checkpoint, CheckpointProof, Commit, CommitCertificate, CommittedBlock, Epoch,
    Prepare, PreparedCert, PublicKey, QuorumSignatures, ReplicaId, Seq, Signable, Signed, View, ViewChange,
};

/// Why a signature, certificate or proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// The signer index is not in the validator set.
    #[error("signer {0} is not a validator")]
    NotValidator(ReplicaId),
    /// A signature does not verify.
    #[error("bad signature from validator {0}")]
    BadSignature(ReplicaId),
    /// Signers are not strictly increasing (a repeat, or a non-canonical order).
    #[error("signers are repeated or not sorted")]
    NotCanonical,
    /// Fewer distinct valid signers than the quorum requires.
    #[error("{have} signatures, {need} needed")]
    TooFewSignatures {
        /// Distinct valid signers.
        have: usize,
        /// Required.
        need: usize,
    },
    /// A signer who may not sign this kind of statement (the primary cannot prepare its own pre-prepare).
    #[error("validator {0} may not sign this")]
    UnexpectedSigner(ReplicaId),
    /// The certificate's fields are inconsistent with what it claims to certify.
    #[error("inconsistent certificate: {0}")]
    Inconsistent(&'static str),
    /// A signature made for another epoch's validator set.
    #[error("signed for epoch {got}, checked against epoch {expected}")]
    WrongEpoch {
        /// The epoch of the set checking it.
        expected: Epoch,
        /// The epoch the signer named.
        got: Epoch,
    },
    /// The sequence number lies before the earliest epoch the verifier knows.
    #[error("sequence number {seq} lies before the earliest epoch known, which begins at {first}")]
    BeforeSchedule {
        /// The sequence number.
        seq: Seq,
        /// The earliest epoch's first sequence number.
        first: Seq,
    },
}

/// Where an epoch's log begins: the sequence number just before its first block and the chain digest there. It is
/// the epoch's first stable checkpoint, and needs no signatures: every replica of the epoch executed that block
/// before it entered the epoch (the genesis is the start of epoch 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochStart {
    /// The last sequence number of the previous epoch (0 for the genesis).
    pub seq: Seq,
    /// The chain digest after it.
    pub digest: Hash32,
}

impl EpochStart {
    /// The start of epoch 0.
    pub fn genesis(chain_id: &str) -> Self {
        Self { seq: 0, digest: genesis_digest(chain_id) }
    }
}

/// The validators of one epoch of one chain: their public keys in index order, the chain id and the epoch number
/// every signature binds to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    chain_id: String,
    epoch: Epoch,
    keys: Vec<PublicKey>,
}

impl ValidatorSet {
    /// The genesis validator set (epoch 0). `n = keys.len()` tolerates `f = (n - 1) / 3` faults.
    pub fn new(chain_id: impl Into<String>, keys: Vec<PublicKey>) -> Self {
        Self::for_epoch(chain_id, 0, keys)
    }

    /// The validator set of `epoch`.
    pub fn for_epoch(chain_id: impl Into<String>, epoch: Epoch, keys: Vec<PublicKey>) -> Self {
        Self { chain_id: chain_id.into(), epoch, keys }
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The epoch number.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The keys, in index order.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// The index of `key` in this set.
    pub fn index_of(&self, key: &PublicKey) -> Option<ReplicaId> {
        self.keys.iter().position(|k| k == key).map(|i| i as ReplicaId)
    }

    /// Number of validators.
    pub fn n(&self) -> usize {
        self.keys.len()
    }

    /// Faults tolerated: `f = ⌊(n − 1) / 3⌋`.
    pub fn f(&self) -> usize {
        self.n().saturating_sub(1) / 3
    }

    /// Quorum size `n − f` (equal to `2f + 1` when `n = 3f + 1`): any two quorums share an honest replica.
    pub fn quorum(&self) -> usize {
        self.n() - self.f()
    }

    /// The primary of `view` (§4.1: `p = v mod |R|`).
    pub fn primary(&self, view: View) -> ReplicaId {
        let n = self.n().max(1) as u64;
        (view % n) as ReplicaId
    }

    /// The key of validator `id`.
    pub fn key(&self, id: ReplicaId) -> Option<&PublicKey> {
        self.keys.get(id as usize)
    }

    /// Verifies one signature of `signer` over `body`.
    pub fn verify_sig<T: Signable>(
        &self,
        verifier: &dyn Verifier,
        signer: ReplicaId,
        body: &T,
        sig: &crate::types::Signature,
    ) -> Result<(), CertError> {
        let key = self.key(signer).ok_or(CertError::NotValidator(signer))?;
        let digest = signing_digest(&self.chain_id, self.epoch, signer, body);
        if verifier.verify(key, digest.as_bytes(), sig) {
            Ok(())
        } else {
            Err(CertError::BadSignature(signer))
        }
    }

    /// Verifies a signed message, which must name this set's epoch.
    pub fn verify_signed<T: Signable>(&self, verifier: &dyn Verifier, m: &Signed<T>) -> Result<(), CertError> {
        if m.epoch != self.epoch {
            return Err(CertError::WrongEpoch { expected: self.epoch, got: m.epoch });
        }
        self.verify_sig(verifier, m.signer, &m.body, &m.signature)
    }

    /// Verifies that `sigs` holds at least `need` valid signatures over `body` from distinct validators, listed in
    /// strictly increasing order, none of them `exclude`.
    pub fn verify_quorum<T: Signable>(
        &self,
        verifier: &dyn Verifier,
        body: &T,
        sigs: &QuorumSignatures,
        need: usize,
        exclude: Option<ReplicaId>,
    ) -> Result<(), CertError> {
        let mut previous: Option<ReplicaId> = None;
        for (id, sig) in sigs {
            if previous.is_some_and(|p| p >= *id) {
                return Err(CertError::NotCanonical);
            }
            previous = Some(*id);
            if exclude == Some(*id) {
                return Err(CertError::UnexpectedSigner(*id));
            }
            self.verify_sig(verifier, *id, body, sig)?;
        }
        if sigs.len() < need {
            return Err(CertError::TooFewSignatures { have: sigs.len(), need });
        }
        Ok(())
    }

    /// Verifies a commit certificate: a quorum of commits for `(view, seq, digest)`.
    pub fn verify_commit_certificate(
        &self,
        verifier: &dyn Verifier,
        cert: &CommitCertificate,
    ) -> Result<(), CertError> {
        let body = Commit { view: cert.view, seq: cert.seq, digest: cert.digest };
        self.verify_quorum(verifier, &body, &cert.signatures, self.quorum(), None)
    }

    /// Verifies a stable-checkpoint proof of this epoch, which begins at `start`: the start itself is valid
    /// without signatures (the genesis, or the last block of the previous epoch), a later checkpoint needs a quorum
    /// of this epoch, an earlier one belongs to another epoch.
    pub fn verify_checkpoint_proof(
        &self,
        verifier: &dyn Verifier,
        proof: &CheckpointProof,
        start: &EpochStart,
    ) -> Result<(), CertError> {
        if proof.seq < start.seq {
            return Err(CertError::Inconsistent("checkpoint before the epoch began"));
        }
        if proof.seq == start.seq {
            if proof.digest == start.digest && proof.signatures.is_empty() {
                return Ok(());
            }
            return Err(CertError::Inconsistent("the epoch's first checkpoint"));
        }
        let body = Checkpoint { seq: proof.seq, digest: proof.digest };
        self.verify_quorum(verifier, &body, &proof.signatures, self.quorum(), None)
    }

    /// Verifies a prepared certificate: a pre-prepare signed by the primary of its view and `quorum − 1` matching
    /// prepares from other validators.
    pub fn verify_prepared_cert(&self, verifier: &dyn Verifier, cert: &PreparedCert) -> Result<(), CertError> {
        let pp = &cert.pre_prepare;
        let primary = self.primary(pp.body.view);
        if pp.signer != primary {
            return Err(CertError::UnexpectedSigner(pp.signer));
        }
        self.verify_signed(verifier, pp)?;
        let body = Prepare { view: pp.body.view, seq: pp.body.seq, digest: pp.body.digest };
        self.verify_quorum(verifier, &body, &cert.prepares, self.quorum() - 1, Some(primary))
    }

    /// Verifies the content of a view-change message of this epoch, which begins at `start` (not its outer
    /// signature): its checkpoint proof, and that each prepared certificate is valid, from an earlier view, above
    /// the checkpoint and inside the window, and unique per sequence number.
    pub fn verify_view_change(
        &self,
        verifier: &dyn Verifier,
        vc: &ViewChange,
        window: u64,
        start: &EpochStart,
    ) -> Result<(), CertError> {
        self.verify_checkpoint_proof(verifier, &vc.stable, start)?;
        let mut seqs: BTreeSet<Seq> = BTreeSet::new();
        for cert in &vc.prepared {
            let b = &cert.pre_prepare.body;
            if b.view >= vc.new_view {
                return Err(CertError::Inconsistent("prepared certificate from a view not before the new view"));
            }
            if b.seq <= vc.stable.seq || b.seq > vc.stable.seq.saturating_add(window) {
                return Err(CertError::Inconsistent("prepared certificate outside the window"));
            }
            if !seqs.insert(b.seq) {
                return Err(CertError::Inconsistent("two prepared certificates for one sequence number"));
            }
            self.verify_prepared_cert(verifier, cert)?;
        }
        Ok(())
    }
}

/// Verifies a committed block against a validator set: the certificate is a quorum of valid commit signatures from
/// distinct validators, and it certifies exactly this block at exactly this height. This is the check auditors and
/// lagging nodes run; no single peer has to be trusted.
pub fn verify_committed(
    validators: &ValidatorSet,
    verifier: &dyn Verifier,
    block: &CommittedBlock,
) -> Result<(), CertError> {
    if block.cert.seq != block.seq {
        return Err(CertError::Inconsistent("certificate is for another height"));
    }
    let digest: Hash32 = block.block.digest(validators.chain_id(), block.seq);
    if block.cert.digest != digest {
        return Err(CertError::Inconsistent("certificate is for another block"));
    }
    validators.verify_commit_certificate(verifier, &block.cert)
}
