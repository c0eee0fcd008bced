//! Payment proofs: a file that shows a third party, checked against the chain, that one output of one
//! transaction pays an address a given amount — and nothing about any other output.
//!
//! ```json
//! { "format": "ctchain-payment-proof", "version": 1, "chain_id": "…", "genesis_hash": "…",
//!   "tx_id": "…", "output_index": 0, "height": 12, "disclosure": "<hex>" }
//! ```
//!
//! `disclosure` is a [`PaymentDisclosure`]: the output's shared secret with a DLEQ proof that it was derived with
//! the recipient's view key, bound by its transcript to the chain, the transaction id and the output index (see
//! `ctchain_crypto::disclosure`). The verifier fetches the transaction and its inclusion proof (`tx_get`) and the
//! block header at that height (`chain_getBlock`), then checks, in order: the proof is for this chain; the
//! transaction hashes to the claimed id; the inclusion proof leads from it to that header; the disclosure
//! verifies against the output. It learns the output's amount, asset and recipient, and — because the shared
//! secret opens that one output's memo — the note and the sender's address written in it.

use ctchain_codec::{Decode, Encode};
use ctchain_crypto::{PaymentDisclosure, Transaction, TxId, ViewingKeys};
use ctchain_ledger::{BlockHeader, LedgerTx, TxInclusionProof};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::chain::{parse_hash, ChainInfo};
use crate::error::{Result, WalletError};
use ctchain_keystore::address::encode_address;

const FORMAT: &str = "ctchain-payment-proof";
const VERSION: u32 = 1;

/// A payment proof file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentProof {
    format: String,
    version: u32,
    /// The chain.
    pub chain_id: String,
    /// Its genesis hash.
    pub genesis_hash: String,
    /// The transaction.
    pub tx_id: String,
    /// The output's index in it.
    pub output_index: u32,
    /// The block height (a hint; the verifier checks it).
    pub height: u64,
    /// The disclosure (hex of its canonical encoding).
    pub disclosure: String,
}

/// What the chain says about a transaction, for checking a proof: all as the node sent it.
#[derive(Clone, Debug)]
pub struct TxEvidence {
    /// Canonical ledger-transaction bytes (`tx_get`'s `hex`).
    pub ledger_tx: Vec<u8>,
    /// Canonical inclusion proof (`tx_get`'s `inclusion_proof`).
    pub inclusion_proof: Vec<u8>,
    /// The header the verifier trusts at that height (`chain_getBlock`'s `header_hex`).
    pub header: Vec<u8>,
}

/// A verified payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedPayment {
    /// Transaction id.
    pub tx_id: String,
    /// Output index.
    pub output_index: u32,
    /// Block height.
    pub height: u64,
    /// Block hash.
    pub block_hash: String,
    /// Block time, ms since the Unix epoch.
    pub time_ms: u64,
    /// Recipient address.
    pub recipient: String,
    /// Asset id (hex).
    pub asset: String,
    /// Asset label.
    pub asset_label: String,
    /// Base units.
    pub amount: u64,
    /// In display units.
    pub amount_display: String,
    /// The note in the output's memo.
    pub memo: String,
}

impl PaymentProof {
    /// Discloses output `index` of `tx` (committed at `height`), which must belong to `keys`.
    pub fn create<R: RngCore + CryptoRng>(
        keys: &ViewingKeys,
        chain: &ChainInfo,
        tx: &Transaction,
        height: u64,
        index: u32,
        rng: &mut R,
    ) -> Result<Self> {
        let tx_id = tx.id();
        let output = tx
            .body
            .outputs
            .get(index as usize)
            .ok_or_else(|| WalletError::NotFound(format!("output {index} of transaction {tx_id}")))?;
        let disclosure = keys
            .disclose_payment(&chain.chain_id, &tx_id, index, output, rng)
            .map_err(|e| WalletError::BadProof(format!("cannot prove output {index}: {e}")))?;
        Ok(Self {
            format: FORMAT.into(),
            version: VERSION,
            chain_id: chain.chain_id.clone(),
            genesis_hash: chain.genesis_hash.clone(),
            tx_id: tx_id.to_string(),
            output_index: index,
            height,
            disclosure: hex::encode(disclosure.to_bytes()),
        })
    }

    /// Parses a proof file.
    pub fn from_json(text: &str) -> Result<Self> {
        let proof: Self = serde_json::from_str(text).map_err(|e| WalletError::BadProof(format!("not a proof: {e}")))?;
        if proof.format != FORMAT || proof.version != VERSION {
            return Err(WalletError::BadProof(format!("format {:?} version {}", proof.format, proof.version)));
        }
        Ok(proof)
    }

    /// The proof as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks the proof against the chain's evidence.
    pub fn verify(&self, chain: &ChainInfo, evidence: &TxEvidence) -> Result<VerifiedPayment> {
        if self.chain_id != chain.chain_id || self.genesis_hash != chain.genesis_hash {
            return Err(WalletError::BadProof(format!(
                "it is for chain {:?} (genesis {}), the node serves {:?}",
                self.chain_id, self.genesis_hash, chain.chain_id
            )));
        }
        let tx_id = TxId(parse_hash("transaction id", &self.tx_id).map_err(|e| WalletError::BadProof(e.to_string()))?);
        let bad = |what: String| WalletError::BadNodeData(what);
        let ledger_tx = LedgerTx::from_bytes(&evidence.ledger_tx).map_err(|e| bad(format!("transaction: {e}")))?;
        if ledger_tx.id() != tx_id {
            return Err(bad(format!("asked for transaction {tx_id}, got {}", ledger_tx.id())));
        }
        let inclusion = TxInclusionProof::from_bytes(&evidence.inclusion_proof)
            .map_err(|e| bad(format!("inclusion proof: {e}")))?;
        let block_hash =
            inclusion.verify(&ledger_tx).ok_or_else(|| bad("the inclusion proof does not verify".into()))?;
        let header = BlockHeader::from_bytes(&evidence.header).map_err(|e| bad(format!("block header: {e}")))?;
        if header.hash() != block_hash {
            return Err(bad(format!(
                "transaction is proven in block {block_hash}, the chain's block is {}",
                header.hash()
            )));
        }
        let LedgerTx::Confidential(tx) = &ledger_tx else {
            return Err(WalletError::BadProof("the transaction is an audit-access record, which pays nobody".into()));
        };
        let output = tx.body.outputs.get(self.output_index as usize).ok_or_else(|| {
            WalletError::BadProof(format!(
                "transaction has {} outputs, not {}",
                tx.body.outputs.len(),
                self.output_index
            ))
        })?;
        let disclosure = hex::decode(&self.disclosure)
            .ok()
            .and_then(|b| PaymentDisclosure::from_bytes(&b).ok())
            .ok_or_else(|| WalletError::BadProof("the disclosure is not a canonical encoding".into()))?;
        let shown = disclosure
            .verify(&chain.chain_id, &tx_id, self.output_index, output)
            .map_err(|e| WalletError::BadProof(e.to_string()))?;
        Ok(VerifiedPayment {
            tx_id: self.tx_id.clone(),
            output_index: self.output_index,
            height: header.height,
            block_hash: block_hash.to_string(),
            time_ms: header.timestamp_ms,
            recipient: encode_address(&chain.chain_id, &shown.recipient),
            asset: shown.asset.to_string(),
            asset_label: chain.label(&shown.asset),
            amount: shown.amount,
            amount_display: chain.format(&shown.asset, shown.amount),
            memo: shown.text,
        })
    }
}
