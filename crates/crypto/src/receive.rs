//! Reading outputs: the receiver with its view key, the regulator with its audit key.

use crate::audit::{AuditDecryptError, LimbTable};
use crate::builder::{audit_memo_key, OwnedOutput, AUDIT_MEMO, RECEIVER_MEMO};
use crate::keys::{AuditSecretKey, OutputSecret, ViewingKeys, WalletKeys};
use crate::memo::{open, MemoError, MemoPlaintext};
use crate::point::Point;
use crate::tx::{Output, OutputId, TxBody};

/// An output that a wallet found to be its own, with its memo checked against the commitments.
#[derive(Clone)]
pub struct ReceivedOutput {
    /// The output's id.
    pub output_id: OutputId,
    /// The decrypted memo; its opening opens the output's commitments.
    pub memo: MemoPlaintext,
    secret: OutputSecret,
}

impl ViewingKeys {
    /// Looks at one output: `None` if it is not this wallet's; otherwise its verified memo, or why the memo is
    /// unusable (an output with a lying memo is reported, never counted in the balance).
    pub fn receive(&self, output_id: OutputId, output: &Output) -> Option<Result<ReceivedOutput, MemoError>> {
        let secret = self.scan(&output.ephemeral_key, &output.one_time_key)?;
        Some(open(&secret.memo_key_material, RECEIVER_MEMO, &output.memo_aad(), &output.receiver_memo).and_then(
            |memo| {
                if memo.opening.asset != output.asset || !memo.opening.opens(&output.limbs) {
                    return Err(MemoError::OpeningMismatch);
                }
                Ok(ReceivedOutput { output_id, memo, secret })
            },
        ))
    }
}

impl WalletKeys {
    /// What the builder needs to spend a received output.
    pub fn owned(&self, received: &ReceivedOutput) -> OwnedOutput {
        OwnedOutput {
            output_id: received.output_id,
            opening: received.memo.opening.clone(),
            one_time_secret: self.one_time_secret(&received.secret),
            owner_offset: received.secret.owner_offset,
        }
    }
}

/// What a regulator learns about one output.
#[derive(Clone, Debug)]
pub struct AuditedOutput {
    /// The exact amount, recovered from the proven handles: it cannot differ from the committed amount.
    pub amount: u64,
    /// The receiver's identity (spend key), decrypted from the proven identity ciphertext: the identity the
    /// one-time key was derived for, or one whose secret the output's maker holds, never another party's
    /// ([`notes::party_identity`](crate::notes::party_identity)). `None` if it decrypts to no point (nobody).
    pub receiver: Option<Point>,
    /// The sender's memo (addresses, note), which is *not* proven: compare with [`AuditedOutput::amount`] and
    /// [`AuditedOutput::receiver`].
    pub memo: Result<MemoPlaintext, MemoError>,
}

/// A field of a memo that contradicts what the proofs establish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemoDisagreement {
    /// The memo does not decrypt, or is malformed.
    Unreadable,
    /// Its amount is not the proven amount, or its opening does not open the commitments.
    Amount,
    /// Its asset is not the output's asset.
    Asset,
    /// Its receiver address has another spend key than the proven receiver.
    Receiver,
    /// Its sender address has another spend key than the proven sender.
    Sender,
}

impl MemoDisagreement {
    /// The field's name as reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreadable => "memo unreadable",
            Self::Amount => "amount",
            Self::Asset => "asset",
            Self::Receiver => "receiver",
            Self::Sender => "sender",
        }
    }
}

impl AuditedOutput {
    /// Whether the memo decrypted and states the proven amount and the output's asset with a valid opening.
    pub fn memo_agrees(&self, output: &Output) -> bool {
        self.memo_disagreements(output, None).iter().all(|d| *d == MemoDisagreement::Receiver)
    }

    /// Every field where the memo contradicts a proven fact: the amount, the asset, the receiver's identity and,
    /// given the transaction's proven sender, the sender's (a memo naming no sender where one is proven, or one
    /// where none is, disagrees too).
    pub fn memo_disagreements(&self, output: &Output, proven_sender: Option<&Point>) -> Vec<MemoDisagreement> {
        let memo = match &self.memo {
            Ok(memo) => memo,
            Err(_) => return vec![MemoDisagreement::Unreadable],
        };
        let mut out = Vec::new();
        if memo.opening.amount != self.amount || !memo.opening.opens(&output.limbs) {
            out.push(MemoDisagreement::Amount);
        }
        if memo.opening.asset != output.asset {
            out.push(MemoDisagreement::Asset);
        }
        if self.receiver.as_ref() != Some(&memo.receiver.spend) {
            out.push(MemoDisagreement::Receiver);
        }
        if let Some(sender) = proven_sender {
            if memo.sender.map(|a| a.spend).as_ref() != Some(sender) {
                out.push(MemoDisagreement::Sender);
            }
        }
        out
    }
}

/// The points an audit key holder contributes to decrypting one output: `s·D_i` for each limb handle, `s·E`
/// for the audit memo's ephemeral key and `s·E₂` for the receiver identity's handle. With a whole key they are
/// computed directly ([`AuditSecretKey::audit_output`]); with a key split among supervisors they are recombined
/// from verified partial decryptions (crate `ctchain-audit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditDecryptionShares {
    /// `s·D_i` for the four limb handles.
    pub handles: [curve25519_dalek::ristretto::RistrettoPoint; crate::LIMBS],
    /// `s·E` for the audit memo.
    pub memo: curve25519_dalek::ristretto::RistrettoPoint,
    /// `s·E₂` for the receiver's identity ciphertext.
    pub receiver: curve25519_dalek::ristretto::RistrettoPoint,
}

/// How many points [`audit_decryption_inputs`] gives per output.
pub const AUDIT_POINTS_PER_OUTPUT: usize = crate::LIMBS + 2;

/// The points that a holder of an audit key multiplies by its secret to decrypt the copy at `key_index`: the four
/// handles, the audit memo's ephemeral key, then the receiver identity's handle.
pub fn audit_decryption_inputs(
    output: &Output,
    key_index: usize,
) -> Result<[Point; AUDIT_POINTS_PER_OUTPUT], AuditDecryptError> {
    let handles = output.audit_handles.get(key_index).ok_or(AuditDecryptError::NoCopyForKey(key_index))?;
    let memo = output.audit_memos.get(key_index).ok_or(AuditDecryptError::NoCopyForKey(key_index))?;
    let receiver = output.receiver_identities.get(key_index).ok_or(AuditDecryptError::NoCopyForKey(key_index))?;
    Ok([handles[0], handles[1], handles[2], handles[3], memo.ephemeral, receiver.handle])
}

/// The point a holder of audit key `key_index` multiplies by its secret to decrypt the sender of `body`; `None`
/// when the transaction spends nothing (its sender, if any, is an issuer or the shielded pool, named in public or
/// in the shielded proof).
pub fn audit_sender_input(body: &TxBody, key_index: usize) -> Result<Option<Point>, AuditDecryptError> {
    if body.inputs.is_empty() {
        return Ok(None);
    }
    let sender = body.sender_identities.get(key_index).ok_or(AuditDecryptError::NoCopyForKey(key_index))?;
    Ok(Some(sender.handle))
}

/// The sender of `body` from `s·E₂` of its sender ciphertext at `key_index` ([`audit_sender_input`]). `None` if
/// it decrypts to no point.
pub fn audit_sender_from_share(
    body: &TxBody,
    key_index: usize,
    share: &curve25519_dalek::ristretto::RistrettoPoint,
) -> Result<Option<Point>, AuditDecryptError> {
    let sender = body.sender_identities.get(key_index).ok_or(AuditDecryptError::NoCopyForKey(key_index))?;
    Ok(sender.decrypt_from_share(share))
}

/// Finishes an audit decryption from the secret-times-point values.
pub fn audit_output_from_shares(
    key_index: usize,
    output: &Output,
    table: &LimbTable,
    shares: &AuditDecryptionShares,
) -> Result<AuditedOutput, AuditDecryptError> {
    if table.asset() != &output.asset {
        return Err(AuditDecryptError::WrongTable { table: *table.asset(), output: output.asset });
    }
    let audit_memo = output.audit_memos.get(key_index).ok_or(AuditDecryptError::NoCopyForKey(key_index))?;
    let receiver = output
        .receiver_identities
        .get(key_index)
        .ok_or(AuditDecryptError::NoCopyForKey(key_index))?
        .decrypt_from_share(&shares.receiver);
    let mut values = [0u16; crate::LIMBS];
    for (i, value) in values.iter_mut().enumerate() {
        *value = table
            .lookup(&(output.limbs[i].point() - shares.handles[i]))
            .ok_or(AuditDecryptError::LimbOutOfRange { limb: i })?;
    }
    let memo = open(
        &audit_memo_key(&shares.memo, &audit_memo.ephemeral),
        AUDIT_MEMO,
        &output.memo_aad(),
        &audit_memo.ciphertext,
    );
    Ok(AuditedOutput { amount: crate::join_limbs(values), receiver, memo })
}

impl AuditSecretKey {
    /// Decrypts an output's audit copy for the audit key at `key_index` of the chain's audit keys.
    pub fn audit_output(
        &self,
        key_index: usize,
        output: &Output,
        table: &LimbTable,
    ) -> Result<AuditedOutput, AuditDecryptError> {
        let inputs = audit_decryption_inputs(output, key_index)?;
        let s = self.scalar();
        let shares = AuditDecryptionShares {
            handles: std::array::from_fn(|i| s * inputs[i].point()),
            memo: s * inputs[crate::LIMBS].point(),
            receiver: s * inputs[crate::LIMBS + 1].point(),
        };
        audit_output_from_shares(key_index, output, table, &shares)
    }

    /// Decrypts the proven sender of `body` (the owner of its inputs) for the audit key at `key_index`; `None`
    /// when it spends nothing.
    pub fn audit_sender(&self, key_index: usize, body: &TxBody) -> Result<Option<Point>, AuditDecryptError> {
        match audit_sender_input(body, key_index)? {
            None => Ok(None),
            Some(handle) => audit_sender_from_share(body, key_index, &(self.scalar() * handle.point())),
        }
    }
}
