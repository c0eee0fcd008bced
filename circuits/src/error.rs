//! The one error type of the shielded pool: every failure a caller can see, flat and typed.

/// Why a shielded-pool operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CircuitError {
    /// A field element's bytes encode an integer at or above the BN254 scalar modulus.
    #[error("{0} is not a canonical field element (not reduced below the modulus)")]
    NonCanonicalField(&'static str),
    /// A Baby Jubjub point's bytes are not on the curve, not in the prime-order subgroup, or not canonical.
    #[error("{0} is not a canonical point of the Baby Jubjub prime-order subgroup")]
    InvalidPoint(&'static str),
    /// A point that must not be the identity is the identity (it would make an encryption transparent).
    #[error("{0} is the identity point")]
    IdentityPoint(&'static str),
    /// A Groth16 proof's bytes are malformed, non-canonical, or hold points off the curve or outside the subgroup.
    #[error("proof encoding is invalid: points must be canonical, on BN254 and in the prime-order subgroups")]
    InvalidProofEncoding,
    /// The proof does not verify against the statement, transaction id and verifying key.
    #[error("the transfer proof does not verify for this statement and transaction id")]
    ProofRejected,
    /// The statement is malformed before any proof is checked.
    #[error("malformed statement: {0}")]
    MalformedStatement(&'static str),
    /// The anchor is not one of the recent roots of the note tree.
    #[error("the anchor is not a recent root of the note tree")]
    UnknownAnchor,
    /// A nullifier was already revealed by an earlier transfer: the note is spent (double spend).
    #[error("nullifier already spent")]
    NullifierSpent,
    /// The transfer encrypts its audit copies to another key than the chain's current audit key.
    #[error("the audit copies are encrypted to another key than the chain's audit key")]
    WrongAuditKey,
    /// The note tree holds 2^32 leaves and can take no more.
    #[error("the note tree is full")]
    TreeFull,
    /// A witness was asked to follow an append that is not the next leaf it expects.
    #[error("witness expected leaf {expected} but was given leaf {got}")]
    WitnessOutOfOrder {
        /// The leaf position the witness expected next.
        expected: u64,
        /// The leaf position it was given.
        got: u64,
    },
    /// A transfer's values do not balance, or a sum does not fit in 64 bits.
    #[error("values do not balance: inputs plus public in must equal outputs plus public out")]
    Unbalanced,
    /// An input note is not owned by the spending key.
    #[error("input note {0} is not owned by the spending key")]
    NotOwner(usize),
    /// An input note's authentication path does not lead to the anchor.
    #[error("input note {0} is not in the tree at the anchor")]
    NotInTree(usize),
    /// An input or output note is of another asset than the transfer.
    #[error("note {0} is of another asset than the transfer")]
    AssetMismatch(usize),
    /// A ciphertext does not decrypt under the key: wrong key, altered ciphertext, or another output's ciphertext.
    #[error("ciphertext does not decrypt under this key")]
    Undecryptable,
    /// A decrypted plaintext is malformed (for instance a value that does not fit in 64 bits).
    #[error("decrypted plaintext is malformed: {0}")]
    MalformedPlaintext(&'static str),
    /// The constraint system could not be built or proved (a witness inconsistent with the statement).
    #[error("proving failed: {0}")]
    Synthesis(String),
    /// A parameter file is missing, unreadable, of another circuit, or does not match its pinned hash.
    #[error("parameters: {0}")]
    Parameters(String),
}

impl From<ark_relations::r1cs::SynthesisError> for CircuitError {
    fn from(e: ark_relations::r1cs::SynthesisError) -> Self {
        CircuitError::Synthesis(e.to_string())
    }
}
