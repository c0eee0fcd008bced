//! Fiat–Shamir transcripts.
//!
//! Every proof and signature of ctchain starts its `merlin` transcript with the same header: the protocol name
//! with its version, the chain id, and the transaction id. The transaction id is the SM3 hash of the whole
//! transaction body (every commitment, handle, key, memo and public amount), so every challenge depends on the
//! whole statement, not only on the part a given proof talks about. Each proof then appends its own statement
//! before drawing any challenge (defence in depth against Frozen-Heart-style omissions).

use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;

use crate::point::Point;
use crate::tx::TxId;

/// Extension methods used by every ctchain proof.
pub(crate) trait TranscriptExt {
    /// A transcript for `protocol`, bound to the chain and the transaction.
    fn for_statement(protocol: &'static [u8], chain_id: &str, tx_id: &TxId) -> Transcript;
    fn append_point(&mut self, label: &'static [u8], p: &Point);
    fn append_u64_le(&mut self, label: &'static [u8], v: u64);
    fn challenge(&mut self, label: &'static [u8]) -> Scalar;
}

impl TranscriptExt for Transcript {
    fn for_statement(protocol: &'static [u8], chain_id: &str, tx_id: &TxId) -> Transcript {
        let mut t = Transcript::new(b"ctchain");
        t.append_message(b"protocol", protocol);
        t.append_message(b"chain-id", chain_id.as_bytes());
        t.append_message(b"tx-id", tx_id.as_bytes());
        t
    }

    fn append_point(&mut self, label: &'static [u8], p: &Point) {
        self.append_message(label, p.as_bytes());
    }

    fn append_u64_le(&mut self, label: &'static [u8], v: u64) {
        self.append_message(label, &v.to_le_bytes());
    }

    fn challenge(&mut self, label: &'static [u8]) -> Scalar {
        let mut wide = [0u8; 64];
        self.challenge_bytes(label, &mut wide);
        Scalar::from_bytes_mod_order_wide(&wide)
    }
}
