//! # ctchain-crypto: confidential transfers with provable audit copies
//!
//! A transaction moves amounts of one or more assets from inputs (earlier outputs) to new outputs. Validators
//! learn the assets but no amount; the receiver learns its amounts; every regulator holding one of the chain's
//! audit keys can decrypt every amount — and the validators check, with a proof, that it will be able to.
//!
//! Build a transaction with [`TransactionBuilder`], check it with [`Verifier`] (which alone makes a
//! [`VerifiedTransaction`]), read outputs with [`ViewingKeys::receive`] (receiver) and
//! [`AuditSecretKey::audit_output`] (regulator). Every output carries four limb commitments, an aggregated range
//! proof per asset, per audit key decrypt handles with a proof that they encrypt the committed limbs and the
//! receiver's identity encrypted with a proof that it is the identity the output was made for, and a stealth
//! one-time key; a transaction that spends carries its sender's identity the same way ([`identity`]); a balance
//! signature and owner and issuer signatures cover the whole transaction.
//!
//! How each protocol works and why their composition is sound is in [`notes`]: start with
//! [`notes::composition`] (what a transaction proves, why one balance signature covers several assets, why no
//! proof can be replayed or outlive a change of its statement), then [`notes::transcripts`] (every domain
//! separator, in [`transcript`]).
//!
//! ## Invariants this crate upholds
//! * Only [`Verifier`] constructs a [`VerifiedTransaction`].
//! * Every type has one canonical encoding; decoders reject non-canonical scalars and points, the identity,
//!   oversized lengths and trailing bytes ([`ctchain_codec`]). The library does not panic on any input.
//! * Every Fiat–Shamir transcript starts in one constructor of [`ProtocolTranscript`], whose bytes are frozen
//!   (committed vectors in `vectors/` check them).
//! * Validators need no secret; verification of a batch runs on every core ([`Verifier::verify_batch`]), and all
//!   Schnorr and sigma equations of a transaction are checked with one random-weighted multiscalar multiplication.
//! * Hashes are SM3 (transaction ids, output ids, key derivation, asset bases); memos are SM4-GCM with HKDF-SM3.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod amount;
pub mod asset;
pub mod audit;
mod batch;
mod builder;
pub mod disclosure;
pub mod generators;
pub mod identity;
pub mod keys;
pub mod memo;
pub mod multiset;
mod point;
mod range;
mod receive;
mod schnorr;
pub mod threshold;
pub mod transcript;
pub mod tx;
mod verify;

#[cfg(test)]
mod tests;

/// How the protocols work and why they are sound, one page each (`crates/crypto/docs/`). The rest of the crate's
/// documentation says how to use it.
pub mod notes {
    #[doc = include_str!("../docs/composition.md")]
    pub mod composition {}
    #[doc = include_str!("../docs/transcripts.md")]
    pub mod transcripts {}
    #[doc = include_str!("../docs/audit-copy.md")]
    pub mod audit_copy {}
    #[doc = include_str!("../docs/payment-disclosure.md")]
    pub mod payment_disclosure {}
    #[doc = include_str!("../docs/access-records.md")]
    pub mod access_records {}
    #[doc = include_str!("../docs/threshold-partials.md")]
    pub mod threshold_partials {}
    #[doc = include_str!("../docs/party-identity.md")]
    pub mod party_identity {}
}

pub use amount::{join_limbs, split_limbs, AmountOpening, LIMBS, LIMB_BITS};
pub use asset::AssetId;
pub use audit::{AuditDecryptError, AuditValidityProof, LimbTable};
pub use builder::{BuildError, OwnedOutput, TransactionBuilder};
pub use disclosure::{DisclosedPayment, DisclosureError, PaymentDisclosure};
pub use identity::{IdentityCiphertext, PartyProof};
pub use keys::{Address, AuditPublicKey, AuditSecretKey, OutputSecret, SigningKey, ViewingKeys, WalletKeys};
pub use memo::{MemoError, MemoPlaintext, MEMO_TEXT_MAX};
pub use multiset::MultisetHash;
pub use point::Point;
pub use receive::{
    audit_decryption_inputs, audit_output_from_shares, audit_sender_from_share, audit_sender_input,
    AuditDecryptionShares, AuditedOutput, MemoDisagreement, ReceivedOutput, AUDIT_POINTS_PER_OUTPUT,
};
pub use schnorr::{Signature, SignaturePurpose};
pub use transcript::{Protocol, ProtocolTranscript};
pub use tx::{
    AuditMemo, Input, Output, OutputId, PublicAmount, PublicKind, Transaction, TxBody, TxId, TxWitness, MAX_AUDIT_KEYS,
    MAX_INPUTS, MAX_OUTPUTS, MAX_RANGE_PARTIES,
};
pub use verify::{StructureError, VerifiedTransaction, Verifier, VerifyError};

/// Re-exported so that callers name the same group types.
pub use curve25519_dalek::{ristretto::RistrettoPoint, scalar::Scalar};
