//! # ctchain-crypto: confidential transfers with provable audit copies
//!
//! A transaction moves amounts of one or more assets from inputs (earlier outputs) to new outputs. Validators
//! learn the assets but no amount; the receiver learns its amounts; every regulator holding one of the chain's
//! audit keys can decrypt every amount — and the validators check, with a proof, that it will be able to.
//!
//! ## What a transaction proves
//! For every output of asset `a` (value base `V_a`, see [`generators`]):
//!
//! 1. **Limb commitments** `Cᵢ = vᵢ·V_a + rᵢ·B`, `i = 0..3`, with amount `v = Σ 2¹⁶ⁱ·vᵢ` ([`amount`]).
//! 2. **Range**: one aggregated Bulletproof per asset over every limb of that asset's outputs shows each
//!    `vᵢ < 2¹⁶`, hence `v < 2⁶⁴` ([`range`](crate::range)).
//! 3. **Audit copy**: for each audit key `P_k = s_k⁻¹·B`, handles `D_{k,i} = rᵢ·P_k` and a sigma proof that they
//!    use the same `rᵢ` as `Cᵢ` ([`audit`]); so `Cᵢ − s_k·D_{k,i} = vᵢ·V_a`, found in a 2¹⁶ table.
//! 4. **Stealth ownership**: a one-time key `O = H(r·A, R)·G + S` for the receiver's address `(A, S)` ([`keys`]).
//!
//! And for the whole transaction:
//!
//! 5. **Balance**: with `E = Σ C_in − Σ C_out + Σ issued_a·V_a − Σ (burned_a + fee_a)·V_a`, a Schnorr signature
//!    under `E` to base `B` on the transaction id proves knowledge of `x` with `E = x·B`.
//! 6. **Spend authority**: each input's one-time key signs the transaction id; each issuance is signed by the
//!    issuer key it names (the ledger checks that key is the asset's issuer).
//!
//! ## Why one balance signature covers several assets
//! Collect the equation by generator: `E = Σ_a δ_a·V_a + ρ·B` where `δ_a` is asset `a`'s net value (inputs +
//! issued − outputs − burned − fees) and `ρ` the net blinding. The range proofs give knowledge of every output's
//! opening (and, inductively, of every input's, since inputs are earlier proven outputs). A signer who knows `x`
//! with `E = x·B` therefore knows `Σ_a δ_a·V_a + (ρ − x)·B = 0`. The `V_a` are hash-to-point outputs with no known
//! discrete-log relation to each other or to `B`, so unless every `δ_a = 0`, this is a non-trivial relation among
//! independent generators — breaking the discrete-log assumption in Ristretto. So each asset balances on its
//! own, and no value moves from one asset to another. Amounts cannot wrap around the group order either: at most
//! 16 inputs and 16 outputs of less than 2⁶⁴ each, plus 16 public amounts, sum far below `ℓ ≈ 2²⁵²`.
//!
//! ## Why the composition is sound
//! Every proof and signature draws its challenges from a merlin transcript whose header binds a versioned
//! protocol label, the chain id and the transaction id, and the transaction id is the SM3 hash of the entire
//! body: every commitment, handle, key, memo, input reference and public amount ([`tx`]). Each proof also appends
//! its own statement before any challenge. Consequently no proof can be replayed in another transaction or on
//! another chain, and changing any field after proving invalidates every proof (the Frozen Heart family of
//! attacks needs a statement element outside the hash). Proofs and signatures are excluded from the id, so
//! re-randomising one cannot change the id. Signatures carry a purpose label, so a balance signature cannot be
//! used as an owner signature or vice versa. The sigma proofs are special-sound and honest-verifier
//! zero-knowledge; Bulletproofs is a zero-knowledge argument of knowledge; their conjunction under one id is an
//! argument of knowledge of all witnesses at once.
//!
//! ## Invariants this crate upholds
//! * Only [`Verifier`] constructs a [`VerifiedTransaction`].
//! * Every type has one canonical encoding; decoders reject non-canonical scalars and points, the identity,
//!   oversized lengths and trailing bytes ([`ctchain_codec`]). The library does not panic on any input.
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

pub use amount::{join_limbs, split_limbs, AmountOpening, LIMBS, LIMB_BITS};
pub use asset::AssetId;
pub use audit::{AuditDecryptError, AuditValidityProof, LimbTable};
pub use builder::{BuildError, OwnedOutput, TransactionBuilder};
pub use disclosure::{DisclosedPayment, DisclosureError, PaymentDisclosure};
pub use keys::{Address, AuditPublicKey, AuditSecretKey, OutputSecret, SigningKey, ViewingKeys, WalletKeys};
pub use memo::{MemoError, MemoPlaintext, MEMO_TEXT_MAX};
pub use multiset::MultisetHash;
pub use point::Point;
pub use receive::{
    audit_decryption_inputs, audit_output_from_shares, AuditDecryptionShares, AuditedOutput, ReceivedOutput,
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
