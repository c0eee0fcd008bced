//! Fiat–Shamir transcripts: the one place where ctchain's protocols get their `merlin` transcripts.
//!
//! Every proof and signature of ctchain draws its challenges from a transcript made by one constructor of
//! [`ProtocolTranscript`], named after the protocol; the versioned domain separators are the [`Protocol`]
//! labels, listed once. A caller appends its statement after the header and before any challenge. How the
//! headers bind each statement, and why that makes the composition sound, is in
//! [`notes::transcripts`](crate::notes::transcripts).
//!
//! The bytes a constructor appends are frozen: changing a label, a field or their order orphans every proof,
//! signature and committed test vector made under it. A new statement gets a new version, never an edit.

use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;

use crate::keys::AuditPublicKey;
use crate::point::Point;
use crate::tx::TxId;

/// The label every ctchain transcript is created with; the protocol follows as its first message.
pub const TRANSCRIPT_LABEL: &[u8] = b"ctchain";

/// The protocols that draw Fiat–Shamir challenges, each with its versioned domain separator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// The aggregated Bulletproof over an asset's limb commitments.
    RangeProof,
    /// Schnorr signatures of a transaction (balance, owner, issuer, other purposes).
    Schnorr,
    /// The validity proof of an output's audit copy.
    AuditCopy,
    /// A receiver's disclosure of one payment to a third party.
    PaymentDisclosure,
    /// A supervisor's signature on an audit-access record.
    AccessSignature,
    /// A supervisor's DLEQ-proven partial decryption.
    ThresholdPartial,
    /// The proof that a transaction's party identities (receivers, sender) are encrypted to the audit keys.
    PartyIdentity,
    /// A supervisor's DLEQ-proven partial decryption under a split shielded (Baby Jubjub) audit key.
    ShieldedThresholdPartial,
}

impl Protocol {
    /// Every protocol, for checks over all of them.
    pub const ALL: [Protocol; 8] = [
        Self::RangeProof,
        Self::Schnorr,
        Self::AuditCopy,
        Self::PaymentDisclosure,
        Self::AccessSignature,
        Self::ThresholdPartial,
        Self::PartyIdentity,
        Self::ShieldedThresholdPartial,
    ];

    /// The domain separator, with its version.
    pub const fn label(self) -> &'static [u8] {
        match self {
            Self::RangeProof => b"range/v1",
            Self::Schnorr => b"schnorr/v1",
            Self::AuditCopy => b"audit-validity/v1",
            Self::PaymentDisclosure => b"payment-disclosure/v1",
            Self::AccessSignature => b"audit-access-signature/v1",
            Self::ThresholdPartial => b"audit-partial-decryption/v1",
            Self::PartyIdentity => b"party-identity/v1",
            Self::ShieldedThresholdPartial => b"audit-partial-decryption-shielded/v1",
        }
    }
}

/// One constructor per protocol, and the appends every ctchain proof uses, on `merlin::Transcript`.
///
/// Transaction-bound protocols take the chain id and the transaction id, which hashes the whole body, so each
/// challenge depends on the whole statement. Supervisor protocols take what they are bound to (the record id,
/// the request context) and the supervisor's place in the dealing.
pub trait ProtocolTranscript {
    /// A transcript for the range proof of one asset of transaction `tx_id` on `chain_id`.
    fn range_proof(chain_id: &str, tx_id: &TxId) -> Self;
    /// A transcript for a Schnorr signature on transaction `tx_id` on `chain_id`.
    fn schnorr(chain_id: &str, tx_id: &TxId) -> Self;
    /// A transcript for the audit-copy validity proof of an output of `tx_id` on `chain_id`.
    fn audit_copy(chain_id: &str, tx_id: &TxId) -> Self;
    /// A transcript for a payment disclosure of an output of `tx_id` on `chain_id`.
    fn payment_disclosure(chain_id: &str, tx_id: &TxId) -> Self;
    /// A transcript for the proof of a party's encrypted identity in `tx_id` on `chain_id`.
    fn party_identity(chain_id: &str, tx_id: &TxId) -> Self;
    /// A transcript for supervisor `supervisor`'s signature, under share key `share_key` of a dealing of
    /// `audit_key`, on the audit-access record `record_id`.
    fn access_signature(record_id: &TxId, audit_key: &AuditPublicKey, supervisor: u32, share_key: &Point) -> Self;
    /// A transcript for supervisor `supervisor`'s partial decryption, under share key `share_key` of a dealing of
    /// `audit_key`, answering the request bound to `context` (the audit-access record's id).
    fn threshold_partial(context: &[u8], audit_key: &AuditPublicKey, supervisor: u32, share_key: &Point) -> Self;

    /// Appends a point's canonical encoding.
    fn append_point(&mut self, label: &'static [u8], p: &Point);
    /// Appends a `u64` as 8 little-endian bytes (what merlin's own `append_u64` does).
    fn append_u64_le(&mut self, label: &'static [u8], v: u64);
    /// Draws a uniform scalar (64 bytes reduced, so the bias is negligible).
    fn challenge(&mut self, label: &'static [u8]) -> Scalar;
}

fn header(protocol: Protocol) -> Transcript {
    let mut t = Transcript::new(TRANSCRIPT_LABEL);
    t.append_message(b"protocol", protocol.label());
    t
}

fn for_transaction(protocol: Protocol, chain_id: &str, tx_id: &TxId) -> Transcript {
    let mut t = header(protocol);
    t.append_message(b"chain-id", chain_id.as_bytes());
    t.append_message(b"tx-id", tx_id.as_bytes());
    t
}

fn for_supervisor(
    protocol: Protocol,
    bound_label: &'static [u8],
    bound_to: &[u8],
    audit_key: &AuditPublicKey,
    supervisor: u32,
    share_key: &Point,
) -> Transcript {
    let mut t = header(protocol);
    t.append_message(bound_label, bound_to);
    t.append_point(b"audit-key", &audit_key.0);
    t.append_u64_le(b"supervisor", u64::from(supervisor));
    t.append_point(b"share-key", share_key);
    t
}

impl ProtocolTranscript for Transcript {
    fn range_proof(chain_id: &str, tx_id: &TxId) -> Self {
        for_transaction(Protocol::RangeProof, chain_id, tx_id)
    }

    fn schnorr(chain_id: &str, tx_id: &TxId) -> Self {
        for_transaction(Protocol::Schnorr, chain_id, tx_id)
    }

    fn audit_copy(chain_id: &str, tx_id: &TxId) -> Self {
        for_transaction(Protocol::AuditCopy, chain_id, tx_id)
    }

    fn payment_disclosure(chain_id: &str, tx_id: &TxId) -> Self {
        for_transaction(Protocol::PaymentDisclosure, chain_id, tx_id)
    }

    fn party_identity(chain_id: &str, tx_id: &TxId) -> Self {
        for_transaction(Protocol::PartyIdentity, chain_id, tx_id)
    }

    fn access_signature(record_id: &TxId, audit_key: &AuditPublicKey, supervisor: u32, share_key: &Point) -> Self {
        for_supervisor(Protocol::AccessSignature, b"record", record_id.as_bytes(), audit_key, supervisor, share_key)
    }

    fn threshold_partial(context: &[u8], audit_key: &AuditPublicKey, supervisor: u32, share_key: &Point) -> Self {
        for_supervisor(Protocol::ThresholdPartial, b"context", context, audit_key, supervisor, share_key)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_has_its_own_versioned_label() {
        let labels: std::collections::HashSet<&[u8]> = Protocol::ALL.iter().map(|p| p.label()).collect();
        assert_eq!(labels.len(), Protocol::ALL.len());
        for label in labels {
            let label = std::str::from_utf8(label).unwrap();
            let (_, version) = label.rsplit_once("/v").expect("a version suffix");
            assert!(version.parse::<u32>().is_ok(), "{label} ends in /v<number>");
        }
    }

    /// The headers are the bytes the protocols appended before they shared this module; the committed vectors
    /// (`vectors/`, `crates/ledger/vectors/`, `crates/audit/vectors/`) check the same end to end.
    #[test]
    fn headers_are_the_frozen_byte_sequences() {
        let tx = TxId(ctchain_codec::Hash32([7; 32]));
        let mut expected = Transcript::new(b"ctchain");
        expected.append_message(b"protocol", b"range/v1");
        expected.append_message(b"chain-id", b"chain");
        expected.append_message(b"tx-id", &[7; 32]);
        assert_eq!(Transcript::range_proof("chain", &tx).challenge(b"c"), expected.challenge(b"c"));

        let b = Point::new(crate::generators::blinding_base()).unwrap();
        let key = AuditPublicKey(b);
        let mut expected = Transcript::new(b"ctchain");
        expected.append_message(b"protocol", b"audit-partial-decryption/v1");
        expected.append_message(b"context", b"case");
        expected.append_message(b"audit-key", b.as_bytes());
        expected.append_u64(b"supervisor", 3);
        expected.append_message(b"share-key", b.as_bytes());
        assert_eq!(Transcript::threshold_partial(b"case", &key, 3, &b).challenge(b"c"), expected.challenge(b"c"));
    }
}
