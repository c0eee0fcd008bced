//! Payment disclosures: showing a third party that one output pays a given address a given amount.
//!
//! The receiver (or any holder of its view key) calls [`ViewingKeys::disclose_payment`]; the third party calls
//! [`PaymentDisclosure::verify`] on the output it took from the chain and learns a [`DisclosedPayment`]. The
//! statement, what the verifier checks and what it learns: [`notes::payment_disclosure`](crate::notes::payment_disclosure).

use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};

use crate::asset::AssetId;
use crate::builder::RECEIVER_MEMO;
use crate::generators::key_base;
use crate::keys::{Address, OutputSecret, ViewingKeys};
use crate::memo::{open, MemoError};
use crate::point::{read_point, read_scalar, write_scalar, Point};
use crate::transcript::ProtocolTranscript;
use crate::tx::{Output, TxId};

/// Why a disclosure could not be made or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisclosureError {
    /// The output does not belong to these viewing keys (so they cannot disclose it).
    #[error("the output does not belong to this wallet")]
    NotOwned,
    /// The DLEQ proof fails: the shared point was not derived with the address's view key.
    #[error("the proof that the shared secret belongs to the recipient's view key does not verify")]
    BadProof,
    /// The one-time key is not derived for the claimed address.
    #[error("the output's one-time key does not belong to the claimed recipient")]
    WrongRecipient,
    /// The receiver memo does not decrypt or its opening does not open the commitments.
    #[error("the output's memo does not verify under the disclosed secret: {0}")]
    Memo(MemoError),
    /// The memo names another receiver than the claimed one.
    #[error("the output's memo names another receiver")]
    MemoReceiverMismatch,
}

/// A disclosure of one output (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentDisclosure {
    /// The claimed recipient.
    pub recipient: Address,
    /// `K = a·R`.
    shared: Point,
    /// DLEQ commitments `k·G`, `k·R` and response `z = k + e·a`.
    t_base: Point,
    t_ephemeral: Point,
    z: Scalar,
}

/// What a verified disclosure shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisclosedPayment {
    /// The recipient (whose spend key controls the output).
    pub recipient: Address,
    /// The asset.
    pub asset: AssetId,
    /// The committed amount, in base units.
    pub amount: u64,
    /// The sender's note attached to the output.
    pub text: String,
}

/// The statement every transcript binds.
struct Statement<'a> {
    chain_id: &'a str,
    tx_id: &'a TxId,
    output_index: u32,
    output: &'a Output,
    recipient: &'a Address,
    shared: &'a Point,
}

impl Statement<'_> {
    fn transcript(&self) -> Transcript {
        let mut t = Transcript::payment_disclosure(self.chain_id, self.tx_id);
        t.append_u64_le(b"output-index", u64::from(self.output_index));
        t.append_point(b"recipient-view", &self.recipient.view);
        t.append_point(b"recipient-spend", &self.recipient.spend);
        t.append_message(b"asset", self.output.asset.as_bytes());
        for limb in &self.output.limbs {
            t.append_point(b"limb", limb);
        }
        t.append_point(b"one-time-key", &self.output.one_time_key);
        t.append_point(b"ephemeral-key", &self.output.ephemeral_key);
        t.append_point(b"shared", self.shared);
        t
    }
}

impl ViewingKeys {
    /// Discloses output `output_index` of transaction `tx_id` on `chain_id` to a third party. Fails unless the
    /// output is this wallet's.
    pub fn disclose_payment<R: RngCore + CryptoRng>(
        &self,
        chain_id: &str,
        tx_id: &TxId,
        output_index: u32,
        output: &Output,
        rng: &mut R,
    ) -> Result<PaymentDisclosure, DisclosureError> {
        self.scan(&output.ephemeral_key, &output.one_time_key).ok_or(DisclosureError::NotOwned)?;
        let a = self.view_secret();
        let recipient = self.address();
        let shared = Point::new(a * output.ephemeral_key.point()).ok_or(DisclosureError::NotOwned)?;
        let statement = Statement { chain_id, tx_id, output_index, output, recipient: &recipient, shared: &shared };
        let mut t = statement.transcript();
        // The nonce depends on the statement, the secret and fresh randomness, so neither a weak RNG nor a
        // repeated statement alone can leak the view key.
        let mut nonce_rng = t.build_rng().rekey_with_witness_bytes(b"view-secret", a.as_bytes()).finalize(rng);
        let (k, t_base, t_ephemeral) = loop {
            let k = Scalar::random(&mut nonce_rng);
            if let (Some(tb), Some(te)) = (Point::new(k * key_base()), Point::new(k * output.ephemeral_key.point())) {
                break (k, tb, te);
            }
        };
        t.append_point(b"t-base", &t_base);
        t.append_point(b"t-ephemeral", &t_ephemeral);
        let e = t.challenge(b"e");
        Ok(PaymentDisclosure { recipient, shared, t_base, t_ephemeral, z: k + e * a })
    }
}

impl PaymentDisclosure {
    /// Verifies the disclosure against output `output_index` of transaction `tx_id` on `chain_id`, which the
    /// caller has taken from the chain (and checked to be included in a block it trusts).
    pub fn verify(
        &self,
        chain_id: &str,
        tx_id: &TxId,
        output_index: u32,
        output: &Output,
    ) -> Result<DisclosedPayment, DisclosureError> {
        let statement =
            Statement { chain_id, tx_id, output_index, output, recipient: &self.recipient, shared: &self.shared };
        let mut t = statement.transcript();
        t.append_point(b"t-base", &self.t_base);
        t.append_point(b"t-ephemeral", &self.t_ephemeral);
        let e = t.challenge(b"e");
        let base_ok = self.z * key_base() == self.t_base.point() + e * self.recipient.view.point();
        let eph_ok = self.z * output.ephemeral_key.point() == self.t_ephemeral.point() + e * self.shared.point();
        if !(base_ok && eph_ok) {
            return Err(DisclosureError::BadProof);
        }
        let secret = OutputSecret::from_shared(self.shared.point(), &output.ephemeral_key);
        if secret.owner_offset * key_base() + self.recipient.spend.point() != *output.one_time_key.point() {
            return Err(DisclosureError::WrongRecipient);
        }
        let memo = open(&secret.memo_key_material, RECEIVER_MEMO, &output.memo_aad(), &output.receiver_memo)
            .map_err(DisclosureError::Memo)?;
        if memo.opening.asset != output.asset || !memo.opening.opens(&output.limbs) {
            return Err(DisclosureError::Memo(MemoError::OpeningMismatch));
        }
        if memo.receiver != self.recipient {
            return Err(DisclosureError::MemoReceiverMismatch);
        }
        Ok(DisclosedPayment {
            recipient: self.recipient,
            asset: output.asset,
            amount: memo.opening.amount,
            text: memo.text.clone(),
        })
    }
}

impl Encode for PaymentDisclosure {
    fn encode_to(&self, w: &mut Writer) {
        w.u8(DISCLOSURE_VERSION);
        w.put(&self.recipient);
        w.put(&self.shared);
        w.put(&self.t_base);
        w.put(&self.t_ephemeral);
        write_scalar(w, &self.z);
    }
}

impl Decode for PaymentDisclosure {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("disclosure version")?;
        if version != DISCLOSURE_VERSION {
            return Err(DecodeError::InvalidTag { field: "disclosure version", tag: u32::from(version) });
        }
        Ok(Self {
            recipient: r.get()?,
            shared: read_point(r, "disclosure shared point")?,
            t_base: read_point(r, "disclosure commitment")?,
            t_ephemeral: read_point(r, "disclosure commitment")?,
            z: read_scalar(r, "disclosure response")?,
        })
    }
}

const DISCLOSURE_VERSION: u8 = 1;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{AuditSecretKey, SigningKey, WalletKeys};
    use crate::TransactionBuilder;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const CHAIN: &str = "disclosure-test";

    struct Fixture {
        tx: crate::Transaction,
        alice: WalletKeys,
        bob: WalletKeys,
        rng: ChaCha20Rng,
    }

    /// Alice is issued 100 CNY and pays Bob 30 with a note; output 0 is Bob's, output 1 Alice's change.
    fn fixture(seed: u64) -> Fixture {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let auditor = AuditSecretKey::random(&mut rng);
        let issuer = SigningKey::random(&mut rng);
        let alice = WalletKeys::random(&mut rng);
        let bob = WalletKeys::random(&mut rng);
        let cny = AssetId::from_label("CNY");
        let mut b = TransactionBuilder::new(CHAIN, vec![auditor.public()]);
        b.issue(&issuer, cny, 100).pay(alice.address(), cny, 100, "");
        let issue = b.build(&mut rng).unwrap();
        let id = issue.id();
        let received = alice.viewing_keys().receive(crate::OutputId::new(&id, 0), &issue.body.outputs[0]).unwrap();
        let mut b = TransactionBuilder::new(CHAIN, vec![auditor.public()]);
        b.spend(alice.owned(&received.unwrap())).pay(bob.address(), cny, 30, "invoice 7").sender(alice.address());
        let tx = b.build(&mut rng).unwrap();
        Fixture { tx, alice, bob, rng }
    }

    #[test]
    fn the_receiver_discloses_one_output_and_a_third_party_verifies_it() {
        let Fixture { tx, bob, mut rng, .. } = fixture(1);
        let id = tx.id();
        let d = bob.viewing_keys().disclose_payment(CHAIN, &id, 0, &tx.body.outputs[0], &mut rng).unwrap();
        let shown = d.verify(CHAIN, &id, 0, &tx.body.outputs[0]).unwrap();
        assert_eq!(shown.amount, 30);
        assert_eq!(shown.recipient, bob.address());
        assert_eq!(shown.asset, AssetId::from_label("CNY"));
        assert_eq!(shown.text, "invoice 7");
        let bytes = d.to_bytes();
        assert_eq!(PaymentDisclosure::from_bytes(&bytes).unwrap(), d);
    }

    #[test]
    fn nobody_discloses_an_output_that_is_not_theirs() {
        let Fixture { tx, alice, bob, mut rng } = fixture(2);
        let id = tx.id();
        assert_eq!(
            alice.viewing_keys().disclose_payment(CHAIN, &id, 0, &tx.body.outputs[0], &mut rng),
            Err(DisclosureError::NotOwned)
        );
        // Alice's change (output 1) is hers to disclose, not Bob's.
        assert!(alice.viewing_keys().disclose_payment(CHAIN, &id, 1, &tx.body.outputs[1], &mut rng).is_ok());
        assert!(bob.viewing_keys().disclose_payment(CHAIN, &id, 1, &tx.body.outputs[1], &mut rng).is_err());
    }

    #[test]
    fn a_disclosure_is_bound_to_its_chain_transaction_output_and_recipient() {
        let Fixture { tx, alice, bob, mut rng } = fixture(3);
        let id = tx.id();
        let out = &tx.body.outputs[0];
        let d = bob.viewing_keys().disclose_payment(CHAIN, &id, 0, out, &mut rng).unwrap();
        assert_eq!(d.verify("other-chain", &id, 0, out), Err(DisclosureError::BadProof));
        assert_eq!(d.verify(CHAIN, &TxId(ctchain_codec::Hash32([9; 32])), 0, out), Err(DisclosureError::BadProof));
        assert_eq!(d.verify(CHAIN, &id, 1, out), Err(DisclosureError::BadProof));
        assert_eq!(d.verify(CHAIN, &id, 1, &tx.body.outputs[1]), Err(DisclosureError::BadProof));
        // Claiming another recipient breaks the proof.
        let mut other = d.clone();
        other.recipient = alice.address();
        assert_eq!(other.verify(CHAIN, &id, 0, out), Err(DisclosureError::BadProof));
    }

    #[test]
    fn every_tampered_byte_of_a_disclosure_is_rejected() {
        let Fixture { tx, bob, mut rng, .. } = fixture(4);
        let id = tx.id();
        let out = &tx.body.outputs[0];
        let bytes = bob.viewing_keys().disclose_payment(CHAIN, &id, 0, out, &mut rng).unwrap().to_bytes();
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80] {
                let mut t = bytes.clone();
                t[i] ^= flip;
                if let Ok(d) = PaymentDisclosure::from_bytes(&t) {
                    assert!(d.verify(CHAIN, &id, 0, out).is_err(), "byte {i} flip {flip:#x} accepted");
                }
            }
        }
        assert!(PaymentDisclosure::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn a_shared_point_for_a_lying_address_cannot_be_proven() {
        // A prover who knows the real K (Bob) but claims Alice's address with Bob's spend key: the DLEQ for
        // Alice's view key cannot be made, and swapping keys in the claimed address breaks the one-time key check.
        let Fixture { tx, alice, bob, mut rng } = fixture(5);
        let id = tx.id();
        let out = &tx.body.outputs[0];
        let mut d = bob.viewing_keys().disclose_payment(CHAIN, &id, 0, out, &mut rng).unwrap();
        d.recipient = Address { view: bob.address().view, spend: alice.address().spend };
        assert!(d.verify(CHAIN, &id, 0, out).is_err());
    }
}
