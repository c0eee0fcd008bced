//! Encrypted memos: what the receiver and each regulator can read about an output.
//!
//! The plaintext holds the amount, the four limb blindings, the asset, the sender's and receiver's addresses and
//! a free-text note, padded to a fixed size so that the ciphertext length reveals nothing. It is encrypted with
//! SM4-GCM under a key derived by HKDF-SM3 from an ECDH secret; the associated data is the output's public part
//! (asset, limb commitments, one-time and ephemeral keys), so a memo cannot be moved to another output.
//!
//! A memo is the sender's claim, not a proof: the receiver checks the opening against the commitments
//! ([`crate::AmountOpening::opens`]) and rejects a memo that disagrees; the regulator compares the memo's amount
//! with the amount recovered from the proven audit handles.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::AesGcm;
use ctchain_codec::{DecodeError, Reader, Writer};
use curve25519_dalek::scalar::Scalar;
use hkdf::Hkdf;
use sm3::Sm3;
use sm4::Sm4;
use zeroize::Zeroize;

use crate::amount::{AmountOpening, LIMBS};
use crate::asset::AssetId;
use crate::keys::Address;
use crate::point::{read_scalar, write_scalar};

/// Longest free-text note, in bytes of UTF-8.
pub const MEMO_TEXT_MAX: usize = 256;

/// Plaintext size: version, amount, blindings, asset, sender tag and address, receiver, text length and text.
pub(crate) const MEMO_PLAINTEXT_LEN: usize = 1 + 8 + 32 * LIMBS + 32 + 1 + 64 + 64 + 2 + MEMO_TEXT_MAX;
/// SM4-GCM tag size.
const TAG_LEN: usize = 16;
/// Ciphertext size of every memo.
pub const MEMO_CIPHERTEXT_LEN: usize = MEMO_PLAINTEXT_LEN + TAG_LEN;

const MEMO_VERSION: u8 = 1;

type Sm4Gcm = AesGcm<Sm4, U12>;

/// Why a memo could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoError {
    /// Authentication failed: wrong key, or the memo or its output was altered.
    #[error("memo does not decrypt under this key")]
    Undecryptable,
    /// It decrypted but its contents are malformed.
    #[error("memo is malformed: {0}")]
    Malformed(#[from] DecodeError),
    /// It decrypted but the opening it gives does not open the output's commitments.
    #[error("memo's amount and blindings do not open the output's commitments")]
    OpeningMismatch,
    /// The note is longer than [`MEMO_TEXT_MAX`].
    #[error("memo text is {0} bytes, the maximum is {MEMO_TEXT_MAX}")]
    TextTooLong(usize),
}

/// The contents of a memo.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MemoPlaintext {
    /// The amount and blindings of the output.
    pub opening: AmountOpening,
    /// The sender's address, if the sender disclosed one (an issuance has none).
    pub sender: Option<Address>,
    /// The receiver's address.
    pub receiver: Address,
    /// A free-text note.
    pub text: String,
}

impl MemoPlaintext {
    fn encode(&self) -> Result<Vec<u8>, MemoError> {
        if self.text.len() > MEMO_TEXT_MAX {
            return Err(MemoError::TextTooLong(self.text.len()));
        }
        let mut w = Writer::new();
        w.u8(MEMO_VERSION);
        w.u64(self.opening.amount);
        for b in &self.opening.blindings {
            write_scalar(&mut w, b);
        }
        w.put(&self.opening.asset);
        match &self.sender {
            Some(sender) => {
                w.u8(1);
                w.put(sender);
            }
            None => {
                w.u8(0);
                w.fixed(&[0u8; 64]);
            }
        }
        w.put(&self.receiver);
        w.u16(self.text.len() as u16);
        w.fixed(self.text.as_bytes());
        w.fixed(&vec![0u8; MEMO_TEXT_MAX - self.text.len()]);
        let out = w.into_bytes();
        debug_assert_eq!(out.len(), MEMO_PLAINTEXT_LEN);
        Ok(out)
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("memo version")?;
        if version != MEMO_VERSION {
            return Err(DecodeError::InvalidTag { field: "memo version", tag: u32::from(version) });
        }
        let amount = r.u64("memo amount")?;
        let mut blindings = [Scalar::ZERO; LIMBS];
        for b in &mut blindings {
            *b = read_scalar(&mut r, "memo blinding")?;
        }
        let asset: AssetId = r.get()?;
        let sender = match r.u8("memo sender tag")? {
            0 => {
                if r.take("memo sender", 64)?.iter().any(|b| *b != 0) {
                    return Err(DecodeError::Invalid { field: "memo sender", reason: "absent sender is not zeroed" });
                }
                None
            }
            1 => Some(r.get()?),
            tag => return Err(DecodeError::InvalidTag { field: "memo sender tag", tag: u32::from(tag) }),
        };
        let receiver = r.get()?;
        let text_len = usize::from(r.u16("memo text length")?);
        if text_len > MEMO_TEXT_MAX {
            return Err(DecodeError::LengthTooLarge {
                field: "memo text",
                len: text_len as u64,
                max: MEMO_TEXT_MAX as u64,
            });
        }
        let text = std::str::from_utf8(r.take("memo text", text_len)?)
            .map_err(|_| DecodeError::InvalidUtf8 { field: "memo text" })?
            .to_owned();
        if r.take("memo padding", MEMO_TEXT_MAX - text_len)?.iter().any(|b| *b != 0) {
            return Err(DecodeError::Invalid { field: "memo padding", reason: "not zero" });
        }
        r.finish()?;
        Ok(Self { opening: AmountOpening { asset, amount, blindings }, sender, receiver, text })
    }
}

fn cipher(key_material: &[u8; 32], purpose: &[u8]) -> Sm4Gcm {
    let hk = Hkdf::<Sm3>::new(Some(b"ctchain/memo-key/v1"), key_material);
    let mut key = [0u8; 16];
    // 16 bytes is far below HKDF's 255-block limit: expand cannot fail.
    hk.expand(purpose, &mut key).expect("16-byte HKDF output");
    let cipher = Sm4Gcm::new(&key.into());
    key.zeroize();
    cipher
}

/// Encrypts a memo. Each key is used for exactly one memo, so the fixed nonce is never reused.
pub(crate) fn seal(
    key_material: &[u8; 32],
    purpose: &[u8],
    aad: &[u8],
    plaintext: &MemoPlaintext,
) -> Result<Vec<u8>, MemoError> {
    let mut pt = plaintext.encode()?;
    let ct = cipher(key_material, purpose)
        .encrypt(&[0u8; 12].into(), Payload { msg: &pt, aad })
        .map_err(|_| MemoError::Undecryptable)?;
    pt.zeroize();
    Ok(ct)
}

/// Decrypts a memo.
pub(crate) fn open(key_material: &[u8; 32], purpose: &[u8], aad: &[u8], ct: &[u8]) -> Result<MemoPlaintext, MemoError> {
    let mut pt = cipher(key_material, purpose)
        .decrypt(&[0u8; 12].into(), Payload { msg: ct, aad })
        .map_err(|_| MemoError::Undecryptable)?;
    let memo = MemoPlaintext::decode(&pt);
    pt.zeroize();
    Ok(memo?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::WalletKeys;

    fn sample() -> MemoPlaintext {
        MemoPlaintext {
            opening: AmountOpening {
                asset: AssetId::from_label("CNY"),
                amount: 1234,
                blindings: [Scalar::from(1u8), Scalar::from(2u8), Scalar::from(3u8), Scalar::from(4u8)],
            },
            sender: Some(WalletKeys::from_seed(&[1; 32]).address()),
            receiver: WalletKeys::from_seed(&[2; 32]).address(),
            text: "invoice 42 — 发票".into(),
        }
    }

    #[test]
    fn memo_round_trips_with_fixed_size() {
        let ct = seal(&[9; 32], b"receiver", b"aad", &sample()).unwrap();
        assert_eq!(ct.len(), MEMO_CIPHERTEXT_LEN);
        assert_eq!(open(&[9; 32], b"receiver", b"aad", &ct).unwrap(), sample());
    }

    #[test]
    fn wrong_key_purpose_or_aad_is_undecryptable() {
        let ct = seal(&[9; 32], b"receiver", b"aad", &sample()).unwrap();
        assert_eq!(open(&[8; 32], b"receiver", b"aad", &ct), Err(MemoError::Undecryptable));
        assert_eq!(open(&[9; 32], b"audit", b"aad", &ct), Err(MemoError::Undecryptable));
        assert_eq!(open(&[9; 32], b"receiver", b"other", &ct), Err(MemoError::Undecryptable));
    }

    #[test]
    fn overlong_text_is_refused() {
        let mut memo = sample();
        memo.text = "x".repeat(MEMO_TEXT_MAX + 1);
        assert_eq!(seal(&[9; 32], b"r", b"", &memo), Err(MemoError::TextTooLong(MEMO_TEXT_MAX + 1)));
    }
}
