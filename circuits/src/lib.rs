//! The shielded pool of ctchain: notes, the note tree, and a Groth16 transfer circuit on BN254 whose proof also
//! shows that the regulator's copy of every output is correct.
//!
//! Invariants this crate keeps:
//! * One hash, Poseidon over the BN254 scalar field with documented parameters ([`poseidon`]), domain-separated
//!   by purpose and arity, natively and in-circuit; tests check the gadgets against the native code.
//! * Every decoder validates: field elements below the modulus, Baby Jubjub points on the curve, in the
//!   prime-order subgroup and (where it matters) not the identity, Groth16 proofs and keys with arkworks'
//!   checked deserialisation, and every encoding canonical (re-encoding gives the same bytes).
//! * The proof is bound to the transaction id (a public input), never the other way round: Groth16 proofs are
//!   malleable, so the id covers the statement and not the proof.
//! * The regulator's copy is part of the statement: a transfer whose audit ciphertexts do not encrypt its own
//!   asset, values and owners to the chain's audit key has no valid proof ([`audit`]).
//! * Library code never panics on input; every failure is a [`CircuitError`].
//!
//! The flow of a transfer is in [`transfer`]; parameter files and their hashes in [`params`]; the snarkjs export
//! in [`snarkjs`]. How the circuit works and why it is sound is in [`notes`]: the statement's public-input layout
//! and what the constraints enforce ([`notes::transfer_circuit`]), the regulator's copy
//! ([`notes::regulator_copy`]), and the Poseidon parameters ([`notes::poseidon`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod circuit;
pub mod encoding;
mod error;
pub mod keys;
pub mod note;
pub mod note_encryption;
pub mod params;
pub mod poseidon;
pub mod snarkjs;
pub mod threshold;
pub mod transfer;
pub mod tree;

#[cfg(test)]
mod circuit_tests;

/// How the circuit works and why it is sound, one page each (`circuits/docs/`). The rest of the crate's
/// documentation says how to use it.
pub mod notes {
    #[doc = include_str!("../docs/transfer-circuit.md")]
    pub mod transfer_circuit {}
    #[doc = include_str!("../docs/regulator-copy.md")]
    pub mod regulator_copy {}
    #[doc = include_str!("../docs/poseidon.md")]
    pub mod poseidon {}
}

pub use audit::{AuditCiphertext, AuditPlaintext, AuditRandomness};
pub use circuit::NUM_PUBLIC_INPUTS;
pub use error::CircuitError;
pub use keys::{
    AuditPublicKey, AuditSecretKey, IncomingViewingKey, NullifierKey, Owner, ShieldedAddress, ShieldedViewingKey,
    SpendingKey, SHIELDED_VIEWING_KEY_BYTES,
};
pub use note::{Anchor, AssetTag, Note, NoteCommitment, Nullifier};
pub use note_encryption::{encrypt_note, NoteCiphertext};
pub use transfer::{
    constraint_count, setup, verify, verify_transfer, Payment, SpendInput, TransferProof, TransferProvingKey,
    TransferRequest, TransferStatement, TransferVerifyingKey, UnprovenTransfer, VerifiedTransfer,
};
pub use tree::{AppendedLeaf, Frontier, MerklePath, RecentRoots, Witness, TREE_DEPTH};
