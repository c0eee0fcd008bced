//! Proven parties: each output's receiver and each transaction's sender, encrypted to every audit key.
//!
//! A party's identity is its address's spend key `S = b·G`. Every output carries, per audit key `P = s⁻¹·B`, an
//! ElGamal encryption `(E₁, E₂) = (S + k·B, k·P)` of its receiver's identity, which the regulator decrypts as
//! `E₁ − s·E₂ = S`; a transaction that spends inputs carries one more per audit key for its sender. A
//! [`PartyProof`] shows, for one-time keys `O_j` (the output's, or every input's) and the ciphertexts of every
//! audit key, knowledge of offsets `h_j` and randomness `k_κ` with
//!
//! ```text
//! O_j − E₁^κ = h_j·G − k_κ·B      and      E₂^κ = k_κ·P_κ        for every j and every audit key κ.
//! ```
//!
//! So every audit key decrypts the same point `D = O_j − h_j·G`, the same for every `j`. What that binds — the true
//! receiver, an identity whose spend secret the maker holds, or a point that is nobody's identity, never another
//! party's — is argued in [`notes::party_identity`](crate::notes::party_identity).

use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

use crate::batch::Equation;
use crate::generators::{blinding_base, key_base};
use crate::keys::AuditPublicKey;
use crate::point::{read_point, read_scalar, write_scalar, Point};
use crate::transcript::ProtocolTranscript;
use crate::tx::{TxBody, TxId, MAX_AUDIT_KEYS, MAX_INPUTS};

/// A party's identity encrypted to one audit key: `(S + k·B, k·P)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IdentityCiphertext {
    /// `E₁ = S + k·B`.
    pub masked: Point,
    /// `E₂ = k·P`: the audit key's holder computes `s·E₂ = k·B`.
    pub handle: Point,
}

impl IdentityCiphertext {
    /// Encrypts `identity` to `key` with randomness `k`; `None` in the negligible case of an identity point.
    pub(crate) fn encrypt(identity: &Point, key: &AuditPublicKey, k: &Scalar) -> Option<Self> {
        Some(Self {
            masked: Point::new(identity.point() + k * blinding_base())?,
            handle: Point::new(k * key.0.point())?,
        })
    }

    /// The identity, from `s·E₂` (computed by the key's holder, or combined from supervisors' partials). `None`
    /// when it is the identity element: a maker's choice that names nobody.
    pub fn decrypt_from_share(&self, handle_share: &RistrettoPoint) -> Option<Point> {
        Point::new(self.masked.point() - handle_share)
    }
}

impl Encode for IdentityCiphertext {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.masked);
        w.put(&self.handle);
    }
}

impl Decode for IdentityCiphertext {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { masked: read_point(r, "identity ciphertext")?, handle: read_point(r, "identity handle")? })
    }
}

/// Whose identity a proof is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Party {
    /// The receiver of output `index`.
    Receiver(u32),
    /// The owner of every input: the sender.
    Sender,
}

/// The public statement of a [`PartyProof`].
pub(crate) struct PartyStatement<'a> {
    pub chain_id: &'a str,
    pub tx_id: &'a TxId,
    pub party: Party,
    pub audit_keys: &'a [AuditPublicKey],
    /// The one-time keys the identity owns: the output's, or every input's.
    pub one_time_keys: Vec<Point>,
    /// One ciphertext per audit key.
    pub ciphertexts: &'a [IdentityCiphertext],
}

impl<'a> PartyStatement<'a> {
    /// The statement about the receiver of output `index` of `body`, whose id is `tx_id`.
    pub(crate) fn receiver(body: &'a TxBody, tx_id: &'a TxId, index: usize) -> Option<Self> {
        let output = body.outputs.get(index)?;
        Some(Self {
            chain_id: &body.chain_id,
            tx_id,
            party: Party::Receiver(u32::try_from(index).ok()?),
            audit_keys: &body.audit_keys,
            one_time_keys: vec![output.one_time_key],
            ciphertexts: &output.receiver_identities,
        })
    }

    /// The statement about the sender of `body` (the owner of every input), whose id is `tx_id`.
    pub(crate) fn sender(body: &'a TxBody, tx_id: &'a TxId) -> Self {
        Self {
            chain_id: &body.chain_id,
            tx_id,
            party: Party::Sender,
            audit_keys: &body.audit_keys,
            one_time_keys: body.inputs.iter().map(|i| i.owner_key).collect(),
            ciphertexts: &body.sender_identities,
        }
    }

    fn transcript(&self) -> Transcript {
        let mut t = Transcript::party_identity(self.chain_id, self.tx_id);
        match self.party {
            Party::Receiver(index) => {
                t.append_message(b"party", b"receiver");
                t.append_u64_le(b"output-index", u64::from(index));
            }
            Party::Sender => t.append_message(b"party", b"sender"),
        }
        t.append_u64_le(b"audit-keys", self.audit_keys.len() as u64);
        for key in self.audit_keys {
            t.append_point(b"audit-key", &key.0);
        }
        t.append_u64_le(b"one-time-keys", self.one_time_keys.len() as u64);
        for o in &self.one_time_keys {
            t.append_point(b"one-time-key", o);
        }
        for c in self.ciphertexts {
            t.append_point(b"masked", &c.masked);
            t.append_point(b"handle", &c.handle);
        }
        t
    }
}

/// What one audit key's part of the proof commits to: `T_j = a_j·G − a_κ·B` for every one-time key, and
/// `U = a_κ·P_κ`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct KeyCommitments {
    offsets: Vec<Point>,
    handle: Point,
}

/// Proof that the identity ciphertexts of every audit key encrypt `O_j − h_j·G` for known offsets `h_j`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyProof {
    per_key: Vec<KeyCommitments>,
    z_offsets: Vec<Scalar>,
    z_randomness: Vec<Scalar>,
}

impl PartyProof {
    /// Proves the statement with one offset per one-time key and one randomness per audit key (scalars as given,
    /// so that tests can try false statements).
    pub(crate) fn prove<R: RngCore + CryptoRng>(
        statement: &PartyStatement<'_>,
        offsets: &[Scalar],
        randomness: &[Scalar],
        rng: &mut R,
    ) -> Self {
        let mut t = statement.transcript();
        // Nonces from the statement, the witnesses and `rng` together, as for every ctchain proof.
        let mut witness_rng = t.build_rng();
        for h in offsets {
            witness_rng = witness_rng.rekey_with_witness_bytes(b"offset", h.as_bytes());
        }
        for k in randomness {
            witness_rng = witness_rng.rekey_with_witness_bytes(b"randomness", k.as_bytes());
        }
        let mut nonce_rng = witness_rng.finalize(rng);
        let (g, b) = (key_base(), blinding_base());
        let (a_offsets, a_randomness, per_key) = loop {
            let a_offsets: Vec<Scalar> = offsets.iter().map(|_| Scalar::random(&mut nonce_rng)).collect();
            let a_randomness: Vec<Scalar> = randomness.iter().map(|_| Scalar::random(&mut nonce_rng)).collect();
            let per_key: Option<Vec<KeyCommitments>> = statement
                .audit_keys
                .iter()
                .zip(&a_randomness)
                .map(|(key, a_k)| {
                    Some(KeyCommitments {
                        offsets: a_offsets.iter().map(|a_h| Point::new(a_h * g - a_k * b)).collect::<Option<_>>()?,
                        handle: Point::new(a_k * key.0.point())?,
                    })
                })
                .collect();
            // An identity commitment has probability about 2⁻²⁵²; draw again rather than fail.
            if let Some(per_key) = per_key {
                break (a_offsets, a_randomness, per_key);
            }
        };
        append_commitments(&mut t, &per_key);
        let c = t.challenge(b"c");
        Self {
            z_offsets: a_offsets.iter().zip(offsets).map(|(a, h)| a + c * h).collect(),
            z_randomness: a_randomness.iter().zip(randomness).map(|(a, k)| a + c * k).collect(),
            per_key,
        }
    }

    /// The equations a valid proof satisfies, for batch verification. `None` if the proof's shape does not match
    /// the statement.
    pub(crate) fn equations<L: Clone>(&self, label: L, statement: &PartyStatement<'_>) -> Option<Vec<Equation<L>>> {
        let (keys, owned) = (statement.audit_keys.len(), statement.one_time_keys.len());
        if statement.ciphertexts.len() != keys
            || self.per_key.len() != keys
            || self.z_randomness.len() != keys
            || self.z_offsets.len() != owned
            || self.per_key.iter().any(|k| k.offsets.len() != owned)
            || owned == 0
        {
            return None;
        }
        let mut t = statement.transcript();
        append_commitments(&mut t, &self.per_key);
        let c = t.challenge(b"c");
        let (g, b) = (key_base(), blinding_base());
        let mut out = Vec::with_capacity(keys * (owned + 1));
        for (((key, ciphertext), commitments), z_k) in
            statement.audit_keys.iter().zip(statement.ciphertexts).zip(&self.per_key).zip(&self.z_randomness)
        {
            for ((o, t_j), z_h) in statement.one_time_keys.iter().zip(&commitments.offsets).zip(&self.z_offsets) {
                // z_h·G − z_k·B = T_j + c·(O_j − E₁)
                let mut eq = Equation::new(label.clone());
                eq.term(*z_h, g)
                    .term(-z_k, b)
                    .term(-Scalar::ONE, *t_j.point())
                    .term(-c, *o.point())
                    .term(c, *ciphertext.masked.point());
                out.push(eq);
            }
            // z_k·P = U + c·E₂
            let mut eq = Equation::new(label.clone());
            eq.term(*z_k, *key.0.point())
                .term(-Scalar::ONE, *commitments.handle.point())
                .term(-c, *ciphertext.handle.point());
            out.push(eq);
        }
        Some(out)
    }
}

fn append_commitments(t: &mut Transcript, per_key: &[KeyCommitments]) {
    for k in per_key {
        for p in &k.offsets {
            t.append_point(b"T", p);
        }
        t.append_point(b"U", &k.handle);
    }
}

impl Encode for PartyProof {
    fn encode_to(&self, w: &mut Writer) {
        w.len(self.per_key.len());
        for k in &self.per_key {
            w.seq(&k.offsets);
            w.put(&k.handle);
        }
        w.len(self.z_offsets.len());
        for z in &self.z_offsets {
            write_scalar(w, z);
        }
        w.len(self.z_randomness.len());
        for z in &self.z_randomness {
            write_scalar(w, z);
        }
    }
}

impl Decode for PartyProof {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let keys = r.len("party proof keys", MAX_AUDIT_KEYS)?;
        let mut per_key = Vec::with_capacity(keys);
        for _ in 0..keys {
            per_key.push(KeyCommitments {
                offsets: r.seq("party proof T", MAX_INPUTS)?,
                handle: read_point(r, "party proof U")?,
            });
        }
        let n = r.len("party proof offset responses", MAX_INPUTS)?;
        let z_offsets = (0..n).map(|_| read_scalar(r, "party proof z offset")).collect::<Result<_, _>>()?;
        let n = r.len("party proof randomness responses", MAX_AUDIT_KEYS)?;
        let z_randomness = (0..n).map(|_| read_scalar(r, "party proof z randomness")).collect::<Result<_, _>>()?;
        Ok(Self { per_key, z_offsets, z_randomness })
    }
}

/// Fresh ElGamal randomness for each audit key, giving non-identity ciphertexts of `identity`.
pub(crate) fn encrypt_to_all<R: RngCore + CryptoRng>(
    identity: &Point,
    keys: &[AuditPublicKey],
    rng: &mut R,
) -> (Vec<IdentityCiphertext>, Vec<Scalar>) {
    keys.iter()
        .map(|key| loop {
            let k = Scalar::random(rng);
            if let Some(c) = IdentityCiphertext::encrypt(identity, key, &k) {
                break (c, k);
            }
        })
        .unzip()
}
