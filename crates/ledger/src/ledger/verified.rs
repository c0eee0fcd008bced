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

/// A ledger transaction that passed its stateless checks, with the canonical bytes it was checked as (and their
/// leaf hash): blocks, gossip and storage reuse them. Only the verifiers make one.
#[derive(Clone, Debug)]
pub struct VerifiedLedgerTx {
    kind: VerifiedTxKind,
    encoded: EncodedTx,
}

/// What a [`VerifiedLedgerTx`] is.
// Confidential transactions are nearly every entry; boxing them to shrink the rare audit-access record would
// cost an allocation per transaction.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum VerifiedTxKind {
    /// A confidential transaction (proofs and signatures checked).
    Confidential(VerifiedTransaction),
    /// An audit-access record (dealing and supervisor signatures checked).
    AuditAccess(VerifiedAccess),
    /// A shielded transaction (Groth16 proof and, if value crosses, the confidential side checked).
    Shielded(VerifiedShielded),
    /// A governance transaction (its form and approval signatures checked).
    Governance(Box<ctchain_governance::VerifiedGovernance>),
}

impl VerifiedTxKind {
    /// The transaction id.
    pub fn id(&self) -> TxId {
        match self {
            Self::Confidential(tx) => tx.id(),
            Self::AuditAccess(a) => a.id(),
            Self::Shielded(s) => s.id(),
            Self::Governance(g) => g.id(),
        }
    }
}

impl AsRef<VerifiedTxKind> for VerifiedTxKind {
    fn as_ref(&self) -> &VerifiedTxKind {
        self
    }
}

impl AsRef<VerifiedTxKind> for VerifiedLedgerTx {
    fn as_ref(&self) -> &VerifiedTxKind {
        &self.kind
    }
}

impl VerifiedLedgerTx {
    /// The transaction id.
    pub fn id(&self) -> TxId {
        self.kind.id()
    }

    /// What the transaction is.
    pub fn kind(&self) -> &VerifiedTxKind {
        &self.kind
    }

    /// The canonical bytes it was verified as, with their leaf hash.
    pub fn encoded(&self) -> &EncodedTx {
        &self.encoded
    }

    /// The Merkle leaf hash of its bytes.
    pub fn leaf(&self) -> Hash32 {
        self.encoded.leaf()
    }

    /// The plain transaction (a copy).
    pub fn to_ledger_tx(&self) -> LedgerTx {
        match &self.kind {
            VerifiedTxKind::Confidential(tx) => LedgerTx::Confidential(tx.transaction().clone()),
            VerifiedTxKind::AuditAccess(a) => LedgerTx::AuditAccess(a.record().clone()),
            VerifiedTxKind::Shielded(s) => LedgerTx::Shielded(Box::new(s.tx().clone())),
            VerifiedTxKind::Governance(g) => LedgerTx::Governance(Box::new(g.tx().clone())),
        }
    }

    /// Runs the stateless checks of `tx`, built or held in memory, for the chain `verifier` is for (encoding it
    /// once).
    pub fn verify(tx: LedgerTx, verifier: &ChainVerifier) -> Result<Self, TxRejection> {
        Self::verify_decoded(DecodedTx::of(tx), verifier)
    }

    /// Decodes received bytes (once) and runs the stateless checks of the transaction they encode.
    pub fn verify_encoded(encoded: EncodedTx, verifier: &ChainVerifier) -> Result<Self, TxRejection> {
        Self::verify_decoded(encoded.into_decoded().map_err(TxRejection::Undecodable)?, verifier)
    }

    /// Runs the stateless checks of a transaction held with its bytes.
    pub fn verify_decoded(decoded: DecodedTx, verifier: &ChainVerifier) -> Result<Self, TxRejection> {
        let (tx, encoded) = decoded.into_parts();
        let kind = match tx {
            LedgerTx::Confidential(tx) => {
                if tx.body.public.iter().any(|p| p.kind.crosses_pools()) {
                    return Err(TxRejection::CrossingOutsideShieldedTx);
                }
                VerifiedTxKind::Confidential(verifier.confidential.verify(tx)?)
            }
            LedgerTx::AuditAccess(record) => {
                VerifiedTxKind::AuditAccess(record.verify(verifier.chain_id(), verifier.confidential.audit_keys())?)
            }
            LedgerTx::Shielded(tx) => VerifiedTxKind::Shielded(tx.verify(verifier)?),
            LedgerTx::Governance(tx) => VerifiedTxKind::Governance(Box::new(tx.verify(verifier.chain_id())?)),
        };
        Ok(Self { kind, encoded })
    }
}

impl From<VerifiedTransaction> for VerifiedLedgerTx {
    /// A confidential transaction verified on its own, encoded once as a ledger transaction.
    fn from(tx: VerifiedTransaction) -> Self {
        let encoded = EncodedTx::confidential(tx.transaction());
        Self { kind: VerifiedTxKind::Confidential(tx), encoded }
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

    /// The block's canonical bytes (the same as [`Block`]'s), from the bytes its transactions carry: nothing is
    /// encoded again.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.put(&self.header);
        w.len(self.txs.len());
        for tx in &self.txs {
            w.bytes(tx.encoded.bytes());
        }
        w.into_bytes()
    }

    /// The plain block (a copy, for tests and tools).
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
    /// typically in the mempool — is taken from `known` instead of being verified again. Encodes each
    /// transaction once (a block received as bytes is checked as an [`EncodedBlock`] instead, with no encoding).
    pub fn verify_with(
        self,
        verifier: &ChainVerifier,
        known: impl Fn(&Hash32) -> Option<VerifiedLedgerTx> + Sync,
    ) -> Result<VerifiedBlock, LedgerError> {
        let txs = self.txs.into_par_iter().map(|tx| Received::Decoded(DecodedTx::of(tx))).collect();
        verify_block(self.header, txs, verifier, known)
    }
}

impl EncodedBlock {
    /// Phase one for a block received as bytes: checks the transaction root over the leaves hashed on receipt,
    /// takes every transaction verified before from `known` (by leaf hash: no decoding, no checks), and decodes
    /// and checks the others in parallel.
    pub fn verify_with(
        self,
        verifier: &ChainVerifier,
        known: impl Fn(&Hash32) -> Option<VerifiedLedgerTx> + Sync,
    ) -> Result<VerifiedBlock, LedgerError> {
        let txs = self.txs.into_iter().map(Received::Encoded).collect();
        verify_block(self.header, txs, verifier, known)
    }

    /// [`EncodedBlock::verify_with`] with nothing known.
    pub fn verify(self, verifier: &ChainVerifier) -> Result<VerifiedBlock, LedgerError> {
        self.verify_with(verifier, |_| None)
    }
}

/// A block's transaction as phase one gets it: as bytes, or decoded already.
enum Received {
    Encoded(EncodedTx),
    Decoded(DecodedTx),
}

impl Received {
    fn encoded(&self) -> &EncodedTx {
        match self {
            Self::Encoded(e) => e,
            Self::Decoded(d) => d.encoded(),
        }
    }
}

/// Phase one over a block's transactions.
fn verify_block(
    header: BlockHeader,
    txs: Vec<Received>,
    verifier: &ChainVerifier,
    known: impl Fn(&Hash32) -> Option<VerifiedLedgerTx> + Sync,
) -> Result<VerifiedBlock, LedgerError> {
    let height = header.height;
    if txs.len() > MAX_BLOCK_TXS {
        return Err(LedgerError::TooManyTransactions { height, count: txs.len(), max: MAX_BLOCK_TXS });
    }
    let leaves: Vec<Hash32> = txs.iter().map(|tx| tx.encoded().leaf()).collect();
    if merkle::root(&leaves) != header.tx_root {
        return Err(LedgerError::TxRootMismatch { height });
    }
    let results: Vec<Result<VerifiedLedgerTx, LedgerError>> = txs
        .into_par_iter()
        .enumerate()
        .map(|(index, received)| {
            if let Some(done) = known(&received.encoded().leaf()) {
                return Ok(done);
            }
            let decoded = match received {
                Received::Decoded(d) => d,
                Received::Encoded(e) => {
                    e.into_decoded().map_err(|error| LedgerError::UndecodableTransaction { height, index, error })?
                }
            };
            let tx_id = decoded.tx().id();
            VerifiedLedgerTx::verify_decoded(decoded, verifier).map_err(|reason| LedgerError::InvalidTransaction {
                height,
                index,
                tx_id,
                reason,
            })
        })
        .collect();
    let txs = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(VerifiedBlock { header, txs })
}
