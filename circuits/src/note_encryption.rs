//! The receiver's copy: the note plaintext encrypted to the receiver's shielded address (native only).
//!
//! ECIES on Baby Jubjub with national-standard primitives: a fresh ephemeral scalar `e`, `E = e · G`, the
//! shared point `e · pk_enc = ivk · E`, a 16-byte key from HKDF-SM3 over (shared point, `E`), and SM4-GCM with
//! the output's note commitment as associated data, so a ciphertext cannot be moved to another output. Each key
//! encrypts one message, so the fixed nonce is never reused.
//!
//! The ciphertext is not proven by the circuit (a sender who garbles it only hurts its own payee, who then
//! refuses the payment); the receiver accepts a note only if the decrypted plaintext, with its own owner tag,
//! recommits to the output's commitment.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::AesGcm;
use ark_ec::CurveGroup;
use ark_ed_on_bn254::EdwardsAffine;
use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use sm3::Sm3;
use sm4::Sm4;
use zeroize::Zeroize;

use crate::audit::AuditRandomness;
use crate::encoding::{fr_from_bytes, fr_to_bytes, nonidentity_point_from_bytes, point_to_bytes};
use crate::keys::{generator, IncomingViewingKey, Owner, ShieldedAddress};
use crate::note::{AssetTag, Note, NoteCommitment};
use crate::CircuitError;

type Sm4Gcm = AesGcm<Sm4, U12>;

const VERSION: u8 = 1;
/// Plaintext: version, asset tag, value, commitment randomness.
const PLAINTEXT_BYTES: usize = 1 + 32 + 8 + 32;
/// SM4-GCM ciphertext of a note: plaintext plus the 16-byte tag.
pub const NOTE_CIPHERTEXT_BYTES: usize = PLAINTEXT_BYTES + 16;

/// A note encrypted to its receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteCiphertext {
    /// `E = e · G`.
    pub ephemeral: EdwardsAffine,
    /// SM4-GCM ciphertext and tag.
    pub ciphertext: [u8; NOTE_CIPHERTEXT_BYTES],
}

fn cipher(shared: &EdwardsAffine, ephemeral: &EdwardsAffine) -> Sm4Gcm {
    let mut ikm = [0u8; 64];
    ikm[..32].copy_from_slice(&point_to_bytes(shared));
    ikm[32..].copy_from_slice(&point_to_bytes(ephemeral));
    let hk = Hkdf::<Sm3>::new(Some(b"ctchain/shielded/note-key/v1"), &ikm);
    let mut key = [0u8; 16];
    // HKDF can produce up to 255 blocks; 16 bytes never fails. Should it, the all-zero key makes every
    // decryption fail loudly rather than leak.
    let _ = hk.expand(b"sm4-gcm", &mut key);
    let c = Sm4Gcm::new(&key.into());
    key.zeroize();
    ikm.zeroize();
    c
}

/// Encrypts `note` to `to`; the associated data is the note's commitment.
pub fn encrypt_note<R: RngCore + CryptoRng>(note: &Note, to: &ShieldedAddress, rng: &mut R) -> NoteCiphertext {
    let e = AuditRandomness::random(rng).0;
    let ephemeral = (generator() * e).into_affine();
    let shared = (to.transmission_key * e).into_affine();
    let mut pt = [0u8; PLAINTEXT_BYTES];
    pt[0] = VERSION;
    pt[1..33].copy_from_slice(&fr_to_bytes(&note.asset.0));
    pt[33..41].copy_from_slice(&note.value.to_le_bytes());
    pt[41..73].copy_from_slice(&fr_to_bytes(&note.rcm));
    let aad = note.commitment().to_bytes();
    let mut ciphertext = [0u8; NOTE_CIPHERTEXT_BYTES];
    if let Ok(ct) = cipher(&shared, &ephemeral).encrypt(&[0u8; 12].into(), Payload { msg: &pt, aad: &aad }) {
        // GCM output is exactly plaintext + tag.
        if ct.len() == NOTE_CIPHERTEXT_BYTES {
            ciphertext.copy_from_slice(&ct);
        }
    }
    pt.zeroize();
    NoteCiphertext { ephemeral, ciphertext }
}

impl IncomingViewingKey {
    /// Trial-decrypts an output for the address with owner tag `owner`; `Ok` only if the note recommits to
    /// `commitment`.
    pub fn decrypt_note(
        &self,
        owner: Owner,
        commitment: &NoteCommitment,
        ct: &NoteCiphertext,
    ) -> Result<Note, CircuitError> {
        if ct.ephemeral.is_zero() {
            return Err(CircuitError::IdentityPoint("note ephemeral point"));
        }
        let shared = (ct.ephemeral * self.0).into_affine();
        let aad = commitment.to_bytes();
        let mut pt = cipher(&shared, &ct.ephemeral)
            .decrypt(&[0u8; 12].into(), Payload { msg: &ct.ciphertext, aad: &aad })
            .map_err(|_| CircuitError::Undecryptable)?;
        let note = parse_plaintext(&pt, owner);
        pt.zeroize();
        let note = note?;
        if note.commitment() != *commitment {
            return Err(CircuitError::MalformedPlaintext("note does not open the output's commitment"));
        }
        Ok(note)
    }
}

fn parse_plaintext(pt: &[u8], owner: Owner) -> Result<Note, CircuitError> {
    if pt.len() != PLAINTEXT_BYTES || pt[0] != VERSION {
        return Err(CircuitError::MalformedPlaintext("unknown note plaintext version or length"));
    }
    let mut a = [0u8; 32];
    a.copy_from_slice(&pt[1..33]);
    let mut v = [0u8; 8];
    v.copy_from_slice(&pt[33..41]);
    let mut r = [0u8; 32];
    r.copy_from_slice(&pt[41..73]);
    Ok(Note {
        asset: AssetTag(fr_from_bytes(&a, "note asset")?),
        value: u64::from_le_bytes(v),
        owner,
        rcm: fr_from_bytes(&r, "note randomness")?,
    })
}

impl Encode for NoteCiphertext {
    fn encode_to(&self, w: &mut Writer) {
        w.fixed(&point_to_bytes(&self.ephemeral));
        w.fixed(&self.ciphertext);
    }
}

impl Decode for NoteCiphertext {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let e: [u8; 32] = r.array("note ephemeral point")?;
        let ephemeral = nonidentity_point_from_bytes(&e, "note ephemeral point").map_err(|_| DecodeError::Invalid {
            field: "note ephemeral point",
            reason: "not a non-identity subgroup point",
        })?;
        Ok(Self { ephemeral, ciphertext: r.array("note ciphertext")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SpendingKey;
    use ark_bn254::Fr;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn receiver_finds_its_note_and_nobody_else_does() {
        // Test-only deterministic randomness.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let bob = SpendingKey::random(&mut rng);
        let eve = SpendingKey::random(&mut rng);
        let note = Note::new(AssetTag(Fr::from(9u64)), 1234, bob.owner(), &mut rng);
        let ct = encrypt_note(&note, &bob.address(), &mut rng);
        let cm = note.commitment();
        assert_eq!(bob.incoming_viewing_key().decrypt_note(bob.owner(), &cm, &ct).unwrap(), note);
        assert_eq!(eve.incoming_viewing_key().decrypt_note(eve.owner(), &cm, &ct), Err(CircuitError::Undecryptable));
        let other_cm = Note::new(AssetTag(Fr::from(9u64)), 1, bob.owner(), &mut rng).commitment();
        assert_eq!(
            bob.incoming_viewing_key().decrypt_note(bob.owner(), &other_cm, &ct),
            Err(CircuitError::Undecryptable)
        );
        assert_eq!(NoteCiphertext::from_bytes(&ct.to_bytes()).unwrap(), ct);
    }
}
