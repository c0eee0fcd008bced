//! The regulator's copy of each output, encrypted inside the circuit.
//!
//! Each output's [`AuditCiphertext`] encrypts `(asset, value, receiver, sender)` to the chain's Baby Jubjub audit
//! key; the regulator reads it with [`crate::AuditSecretKey`] exactly and instantly. The design (ECIES with a
//! Poseidon keystream), why it is secure, and why a sender cannot hide a payment:
//! [`notes::regulator_copy`](crate::notes::regulator_copy).

use ark_bn254::Fr;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ed_on_bn254::constraints::EdwardsVar;
use ark_ed_on_bn254::{EdwardsAffine, EdwardsProjective, Fr as JubScalar};
use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::groups::CurveVar;
use ark_relations::r1cs::{ConstraintSystemRef, SynthesisError};
use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use rand_core::{CryptoRng, RngCore};

use crate::encoding::{fr_to_bytes, fr_to_u64, nonidentity_point_from_bytes, point_to_bytes};
use crate::keys::{generator, AuditPublicKey, AuditSecretKey, Owner};
use crate::note::AssetTag;
use crate::poseidon::{hash_n, hash_n_var, Domain};
use crate::CircuitError;

/// Bits of a Baby Jubjub scalar (the subgroup order is just below 2^251).
pub const SCALAR_BITS: usize = 251;
/// Field elements of plaintext per output.
pub const AUDIT_FIELDS: usize = 4;
/// Bytes of an encoded [`AuditCiphertext`]: compressed `R` and four field elements.
pub const AUDIT_CIPHERTEXT_BYTES: usize = 32 * (1 + AUDIT_FIELDS);

/// What the regulator learns about one output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditPlaintext {
    /// The asset moved.
    pub asset: AssetTag,
    /// The output's value.
    pub value: u64,
    /// The output note's owner tag.
    pub receiver: Owner,
    /// The spender's owner tag.
    pub sender: Owner,
}

impl AuditPlaintext {
    fn fields(&self) -> [Fr; AUDIT_FIELDS] {
        [self.asset.0, Fr::from(self.value), self.receiver.0, self.sender.0]
    }
}

/// The audit copy of one output: `R = r · G` and the masked plaintext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditCiphertext {
    /// The ephemeral point `R` (prime-order subgroup, not the identity).
    pub ephemeral: EdwardsAffine,
    /// `(asset, value, receiver, sender) + keystream`.
    pub masked: [Fr; AUDIT_FIELDS],
}

/// The ephemeral secret of one audit encryption, kept until the proof is made.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditRandomness(pub(crate) JubScalar);

impl std::fmt::Debug for AuditRandomness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditRandomness(..)")
    }
}

impl AuditRandomness {
    /// Fresh non-zero randomness (zero would make `R` the identity, which verifiers refuse).
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(crate::keys::nonzero_scalar(rng))
    }

    /// Little-endian bits for the circuit.
    pub(crate) fn bits(&self) -> Vec<bool> {
        let mut bits = self.0.into_bigint().to_bits_le();
        bits.truncate(SCALAR_BITS);
        bits
    }
}

/// The keystream of output `index`, which must be 0 or 1 (a transfer has two outputs).
fn keystream(index: usize, shared: &EdwardsAffine) -> Result<Vec<Fr>, CircuitError> {
    if index > 1 {
        return Err(CircuitError::MalformedStatement("an audit copy belongs to output 0 or 1"));
    }
    Ok(hash_n(Domain::audit_keystream(index), &[shared.x, shared.y], AUDIT_FIELDS))
}

/// Encrypts the audit copy of output `index` (0 or 1) to `key`.
pub fn encrypt(
    key: &AuditPublicKey,
    index: usize,
    plaintext: &AuditPlaintext,
    randomness: &AuditRandomness,
) -> Result<AuditCiphertext, CircuitError> {
    let ephemeral = (generator() * randomness.0).into_affine();
    let shared = (key.point() * randomness.0).into_affine();
    let k = keystream(index, &shared)?;
    let m = plaintext.fields();
    let mut masked = [Fr::from(0u64); AUDIT_FIELDS];
    for i in 0..AUDIT_FIELDS {
        masked[i] = m[i] + k[i];
    }
    Ok(AuditCiphertext { ephemeral, masked })
}

impl AuditSecretKey {
    /// Decrypts the audit copy of output `index`. A ciphertext that verified with its proof always decrypts;
    /// an unproven one whose value field is not a 64-bit integer is refused.
    pub fn decrypt(&self, index: usize, ct: &AuditCiphertext) -> Result<AuditPlaintext, CircuitError> {
        if ct.ephemeral.is_zero() {
            return Err(CircuitError::IdentityPoint("audit ephemeral point"));
        }
        Self::decrypt_with_shared(index, ct, &(ct.ephemeral * self.0).into_affine())
    }

    /// Decrypts the audit copy of output `index` from the shared point `s·R` of its ephemeral key `R`: what a
    /// whole key computes itself, and what supervisors of a split key combine from their partials.
    pub fn decrypt_with_shared(
        index: usize,
        ct: &AuditCiphertext,
        shared: &EdwardsAffine,
    ) -> Result<AuditPlaintext, CircuitError> {
        let k = keystream(index, shared)?;
        let value = fr_to_u64(&(ct.masked[1] - k[1]))
            .ok_or(CircuitError::MalformedPlaintext("audit value does not fit in 64 bits"))?;
        Ok(AuditPlaintext {
            asset: AssetTag(ct.masked[0] - k[0]),
            value,
            receiver: Owner(ct.masked[2] - k[2]),
            sender: Owner(ct.masked[3] - k[3]),
        })
    }
}

impl AuditSecretKey {
    /// Decrypts both outputs' copies of a (verified) transfer statement, in output order.
    pub fn decrypt_statement(&self, statement: &crate::TransferStatement) -> Result<[AuditPlaintext; 2], CircuitError> {
        Ok([self.decrypt(0, &statement.audit[0])?, self.decrypt(1, &statement.audit[1])?])
    }
}

impl AuditCiphertext {
    /// The six public inputs: `R.x, R.y, c0..c3`.
    pub fn public_inputs(&self) -> [Fr; 2 + AUDIT_FIELDS] {
        [self.ephemeral.x, self.ephemeral.y, self.masked[0], self.masked[1], self.masked[2], self.masked[3]]
    }
}

impl Encode for AuditCiphertext {
    fn encode_to(&self, w: &mut Writer) {
        w.fixed(&point_to_bytes(&self.ephemeral));
        for m in &self.masked {
            w.fixed(&fr_to_bytes(m));
        }
    }
}

impl Decode for AuditCiphertext {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let e: [u8; 32] = r.array("audit ephemeral point")?;
        let ephemeral = nonidentity_point_from_bytes(&e, "audit ephemeral point").map_err(|_| {
            DecodeError::Invalid { field: "audit ephemeral point", reason: "not a non-identity subgroup point" }
        })?;
        let mut masked = [Fr::from(0u64); AUDIT_FIELDS];
        for m in masked.iter_mut() {
            *m = crate::note::decode_fr(r, "audit masked field")?;
        }
        Ok(Self { ephemeral, masked })
    }
}

/// `G · 2^i` for the fixed-base multiplication in the circuit.
fn generator_powers() -> Vec<EdwardsProjective> {
    let mut powers = Vec::with_capacity(SCALAR_BITS);
    let mut p = generator().into_group();
    for _ in 0..SCALAR_BITS {
        powers.push(p);
        p = p + p;
    }
    powers
}

/// In-circuit encryption: returns `(R, masked)` computed from the randomness bits, the audit key and the
/// plaintext; the caller equates them with the public inputs.
pub(crate) fn encrypt_var(
    cs: ConstraintSystemRef<Fr>,
    index: usize,
    key: &EdwardsVar,
    randomness_bits: &[Boolean<Fr>],
    plaintext: &[FpVar<Fr>; AUDIT_FIELDS],
) -> Result<(EdwardsVar, Vec<FpVar<Fr>>), SynthesisError> {
    let powers = generator_powers();
    let mut ephemeral = EdwardsVar::zero();
    ephemeral.precomputed_base_scalar_mul_le(randomness_bits.iter().zip(powers.iter()))?;
    let shared = key.scalar_mul_le(randomness_bits.iter())?;
    let k = hash_n_var(cs, Domain::audit_keystream(index), &[shared.x.clone(), shared.y.clone()], AUDIT_FIELDS)?;
    let masked = plaintext.iter().zip(k).map(|(m, k)| m + k).collect();
    Ok((ephemeral, masked))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::R1CSVar;
    use ark_relations::r1cs::ConstraintSystem;
    use rand_chacha::rand_core::SeedableRng;

    // Test-only deterministic randomness.
    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(7)
    }

    fn plaintext() -> AuditPlaintext {
        AuditPlaintext {
            asset: AssetTag(Fr::from(5u64)),
            value: u64::MAX,
            receiver: Owner(Fr::from(11u64)),
            sender: Owner(-Fr::from(1u64)),
        }
    }

    #[test]
    fn regulator_recovers_every_field_exactly() {
        let mut rng = rng();
        let sk = AuditSecretKey::random(&mut rng);
        for index in 0..2 {
            let ct = encrypt(&sk.public_key(), index, &plaintext(), &AuditRandomness::random(&mut rng)).unwrap();
            assert_eq!(sk.decrypt(index, &ct).unwrap(), plaintext());
            assert_eq!(AuditCiphertext::from_bytes(&ct.to_bytes()).unwrap(), ct);
        }
    }

    #[test]
    fn another_key_or_index_does_not_recover_the_value() {
        let mut rng = rng();
        let sk = AuditSecretKey::random(&mut rng);
        let other = AuditSecretKey::random(&mut rng);
        let ct = encrypt(&sk.public_key(), 0, &plaintext(), &AuditRandomness::random(&mut rng)).unwrap();
        assert_ne!(other.decrypt(0, &ct).ok(), Some(plaintext()));
        assert_ne!(sk.decrypt(1, &ct).ok(), Some(plaintext()));
        assert!(sk.decrypt(2, &ct).is_err());
        assert!(encrypt(&sk.public_key(), 2, &plaintext(), &AuditRandomness::random(&mut rng)).is_err());
    }

    #[test]
    fn gadget_matches_native() {
        let mut rng = rng();
        let sk = AuditSecretKey::random(&mut rng);
        let r = AuditRandomness::random(&mut rng);
        let ct = encrypt(&sk.public_key(), 1, &plaintext(), &r).unwrap();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let key = EdwardsVar::new_input(cs.clone(), || Ok(sk.public_key().point())).unwrap();
        let bits: Vec<_> = r.bits().iter().map(|b| Boolean::new_witness(cs.clone(), || Ok(*b)).unwrap()).collect();
        let m = plaintext().fields().map(|x| FpVar::new_witness(cs.clone(), || Ok(x)).unwrap());
        let (eph, masked) = encrypt_var(cs.clone(), 1, &key, &bits, &m).unwrap();
        assert_eq!(eph.value().unwrap().into_affine(), ct.ephemeral);
        assert_eq!(masked.iter().map(|v| v.value().unwrap()).collect::<Vec<_>>(), ct.masked.to_vec());
        assert!(cs.is_satisfied().unwrap());
    }
}
