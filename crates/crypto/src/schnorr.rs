//! Schnorr signatures over Ristretto, bound to a chain, a transaction and a purpose.
//!
//! A signature `(R, s)` under public key `X = x·base` on transaction `id` satisfies `s·base = R + c·X` where
//! `c = H(header(chain, id), purpose, X, R)` is drawn from a merlin transcript. The purpose (balance,
//! owner, issuer, …) is part of the hash, so a signature made for one role can never be presented for another;
//! it also fixes the base (`B` for balance, `G` for owner and issuer), which is therefore not hashed.
//! Nonces are derived from the transcript, the secret key and fresh randomness (merlin's witness-rekeyed RNG), so
//! a weak RNG alone does not leak the key.

use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

use crate::batch::Equation;
use crate::point::{read_point, read_scalar, write_scalar, Point};
use crate::transcript::ProtocolTranscript;
use crate::tx::TxId;

/// What a signature authorises; part of the signed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignaturePurpose {
    /// The balance (excess) signature of a transaction, under base `B`.
    Balance,
    /// The signature of an input's one-time owner key, under base `G`.
    Owner,
    /// An asset issuer's authorisation of an issuance, under base `G`.
    Issuer,
    /// Any other use of a ctchain key (e.g. a payment disclosure); the label is part of the message.
    Other(&'static [u8]),
}

impl SignaturePurpose {
    fn label(&self) -> &'static [u8] {
        match self {
            Self::Balance => b"balance",
            Self::Owner => b"owner",
            Self::Issuer => b"issuer",
            Self::Other(label) => label,
        }
    }
}

/// A Schnorr signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    r: Point,
    s: Scalar,
}

fn transcript(purpose: SignaturePurpose, chain_id: &str, tx_id: &TxId, public: &Point) -> Transcript {
    let mut t = Transcript::schnorr(chain_id, tx_id);
    t.append_message(b"purpose", purpose.label());
    t.append_point(b"public-key", public);
    t
}

impl Signature {
    /// Signs `tx_id` on `chain_id` with `secret`, whose public key is `secret·base`.
    pub(crate) fn sign<R: RngCore + CryptoRng>(
        purpose: SignaturePurpose,
        chain_id: &str,
        tx_id: &TxId,
        base: &RistrettoPoint,
        secret: &Scalar,
        rng: &mut R,
    ) -> Option<Self> {
        let public = Point::new(secret * base)?;
        let mut t = transcript(purpose, chain_id, tx_id, &public);
        let mut nonce_rng = t.build_rng().rekey_with_witness_bytes(b"secret", secret.as_bytes()).finalize(rng);
        let k = Scalar::random(&mut nonce_rng);
        let r = Point::new(k * base)?;
        t.append_point(b"R", &r);
        let c = t.challenge(b"c");
        Some(Self { r, s: k + c * secret })
    }

    /// The equation `s·base − R − c·X = 0` that a valid signature satisfies, for batch verification.
    pub(crate) fn equation<L>(
        &self,
        label: L,
        purpose: SignaturePurpose,
        chain_id: &str,
        tx_id: &TxId,
        base: &RistrettoPoint,
        public: &Point,
    ) -> Equation<L> {
        let mut t = transcript(purpose, chain_id, tx_id, public);
        t.append_point(b"R", &self.r);
        let c = t.challenge(b"c");
        let mut eq = Equation::new(label);
        eq.term(self.s, *base).term(-Scalar::ONE, *self.r.point()).term(-c, *public.point());
        eq
    }

    /// Verifies one signature on its own.
    pub fn verify(
        &self,
        purpose: SignaturePurpose,
        chain_id: &str,
        tx_id: &TxId,
        base: &RistrettoPoint,
        public: &Point,
    ) -> bool {
        let mut batch = crate::batch::BatchChecker::new();
        batch.push(self.equation((), purpose, chain_id, tx_id, base, public));
        batch.check(&mut rand_core::OsRng).is_ok()
    }
}

impl Encode for Signature {
    fn encode_to(&self, w: &mut Writer) {
        w.put(&self.r);
        write_scalar(w, &self.s);
    }
}

impl Decode for Signature {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { r: read_point(r, "signature R")?, s: read_scalar(r, "signature s")? })
    }
}
