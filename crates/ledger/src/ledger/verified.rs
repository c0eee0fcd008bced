//! The verified types: what only the stateless phase (or a proposer) can make, and a block checked against the tip it
//! extends with the execution it ran.

use super::*;

/// A block whose every transaction passed the stateless checks and whose transaction root matches. Only
/// [`Block::verify`], [`Block::verify_with`] and [`Ledger::propose`] make one.
#[derive(Clone, Debug)]
pub struct VerifiedBlock {
    pub(super) header: BlockHeader,
    pub(super) txs: Vec<VerifiedLedgerTx>,
}

/// A block that passed phases two and three against the tip it extends (its parent), with the state changes it
/// makes: [`Ledger::apply_checked`] writes them without executing the block again.
pub struct CheckedBlock {
    pub(super) block: VerifiedBlock,
    pub(super) execution: Execution,
    pub(super) parent: Hash32,
}

impl CheckedBlock {
    /// The block.
    pub fn block(&self) -> &VerifiedBlock {
        &self.block
    }

    /// The block, without its execution.
    pub fn into_block(self) -> VerifiedBlock {
        self.block
    }
}

/// A ledger transaction that passed its stateless checks. Only the verifiers make one.
// Confidential transactions are nearly every entry; boxing them to shrink the rare audit-access record would
// cost an allocation per transaction.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum VerifiedLedgerTx {
    /// A confidential transaction (proofs and signatures checked).
    Confidential(VerifiedTransaction),
    /// An audit-access record (dealing and supervisor signatures checked).
    AuditAccess(VerifiedAccess),
    /// A shielded transaction (Groth16 proof and, if value crosses, the confidential side checked).
    Shielded(VerifiedShielded),
}

impl VerifiedLedgerTx {
    /// The transaction id.
    pub fn id(&self) -> TxId {
        match self {
            Self::Confidential(tx) => tx.id(),
            Self::AuditAccess(a) => a.id(),
            Self::Shielded(s) => s.id(),
        }
    }

    /// The plain transaction.
    pub fn to_ledger_tx(&self) -> LedgerTx {
        match self {
            Self::Confidential(tx) => LedgerTx::Confidential(tx.transaction().clone()),
            Self::AuditAccess(a) => LedgerTx::AuditAccess(a.record().clone()),
            Self::Shielded(s) => LedgerTx::Shielded(Box::new(s.tx().clone())),
        }
    }

    /// Runs the stateless checks of `tx` for the chain `verifier` is for.
    pub fn verify(tx: LedgerTx, verifier: &ChainVerifier) -> Result<Self, TxRejection> {
        match tx {
            LedgerTx::Confidential(tx) => {
                if tx.body.public.iter().any(|p| p.kind.crosses_pools()) {
                    return Err(TxRejection::CrossingOutsideShieldedTx);
                }
                Ok(Self::Confidential(verifier.confidential.verify(tx)?))
            }
            LedgerTx::AuditAccess(record) => {
                Ok(Self::AuditAccess(record.verify(verifier.chain_id(), verifier.confidential.audit_keys())?))
            }
            LedgerTx::Shielded(tx) => Ok(Self::Shielded(tx.verify(verifier)?)),
        }
    }
}

impl From<VerifiedTransaction> for VerifiedLedgerTx {
    fn from(tx: VerifiedTransaction) -> Self {
        Self::Confidential(tx)
    }
}

impl VerifiedBlock {
    /// The header.
    pub fn header(&self) -> &BlockHeader {
        &self.header
    }

    /// The verified transactions.
    pub fn txs(&self) -> &[VerifiedLedgerTx] {
        &self.txs
    }

    /// The plain block (for sending or storing).
    pub fn to_block(&self) -> Block {
        Block { header: self.header.clone(), txs: self.txs.iter().map(VerifiedLedgerTx::to_ledger_tx).collect() }
    }
}

impl Block {
    /// Phase one: checks the transaction root and runs every transaction's stateless checks in parallel.
    pub fn verify(self, verifier: &ChainVerifier) -> Result<VerifiedBlock, LedgerError> {
        self.verify_with(verifier, |_| None)
    }

    /// Like [`Block::verify`], but a transaction whose exact bytes (by Merkle leaf hash) were verified before —
    /// typically in the mempool — is taken from `known` instead of being verified again.
    pub fn verify_with(
        self,
        verifier: &ChainVerifier,
        known: impl Fn(&Hash32) -> Option<VerifiedLedgerTx> + Sync,
    ) -> Result<VerifiedBlock, LedgerError> {
        let height = self.header.height;
        if self.txs.len() > MAX_BLOCK_TXS {
            return Err(LedgerError::TooManyTransactions { height, count: self.txs.len(), max: MAX_BLOCK_TXS });
        }
        if Block::compute_tx_root(&self.txs) != self.header.tx_root {
            return Err(LedgerError::TxRootMismatch { height });
        }
        let results: Vec<Result<VerifiedLedgerTx, (TxId, TxRejection)>> = self
            .txs
            .into_par_iter()
            .map(|tx| {
                if let Some(done) = known(&tx.leaf_hash()) {
                    return Ok(done);
                }
                let id = tx.id();
                VerifiedLedgerTx::verify(tx, verifier).map_err(|e| (id, e))
            })
            .collect();
        let mut txs = Vec::with_capacity(results.len());
        for (index, r) in results.into_iter().enumerate() {
            match r {
                Ok(tx) => txs.push(tx),
                Err((tx_id, reason)) => return Err(LedgerError::InvalidTransaction { height, index, tx_id, reason }),
            }
        }
        Ok(VerifiedBlock { header: self.header, txs })
    }
}
