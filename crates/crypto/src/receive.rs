//! Reading outputs: the receiver with its view key, the regulator with its audit key.

use crate::audit::{AuditDecryptError, LimbTable};
use crate::builder::{audit_memo_key, OwnedOutput, AUDIT_MEMO, RECEIVER_MEMO};
use crate::keys::{AuditSecretKey, OutputSecret, ViewingKeys, WalletKeys};
use crate::memo::{open, MemoError, MemoPlaintext};
use crate::point::Point;
use crate::tx::{Output, OutputId};

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
        }
    }
}

/// What a regulator learns about one output.
#[derive(Clone, Debug)]
pub struct AuditedOutput {
    /// The exact amount, recovered from the proven handles: it cannot differ from the committed amount.
    pub amount: u64,
    /// The sender's memo (addresses, note), which is *not* proven: compare with [`AuditedOutput::amount`].
    pub memo: Result<MemoPlaintext, MemoError>,
}

impl AuditedOutput {
    /// Whether the memo decrypted and states the proven amount and the output's asset with a valid opening.
    pub fn memo_agrees(&self, output: &Output) -> bool {
        match &self.memo {
            Ok(memo) => {
                memo.opening.amount == self.amount
                    && memo.opening.asset == output.asset
                    && memo.opening.opens(&output.limbs)
            }
            Err(_) => false,
        }
    }
}

/// The points an audit key holder contributes to decrypting one output: `s·D_i` for each limb handle and `s·E`
/// for the audit memo's ephemeral key. With a whole key they are computed directly ([`AuditSecretKey::audit_output`]);
/// with a key split among supervisors they are recombined from verified partial decryptions (crate `ctchain-audit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditDecryptionShares {
    /// `s·D_i` for the four limb handles.
    pub handles: [curve25519_dalek::ristretto::RistrettoPoint; crate::LIMBS],
    /// `s·E` for the audit memo.
    pub memo: curve25519_dalek::ristretto::RistrettoPoint,
}

/// The points that a holder of an audit key multiplies by its secret to decrypt the copy at `key_index`: the four
/// handles, then the audit memo's ephemeral key.
pub fn audit_decryption_inputs(
    output: &Output,
    key_index: usize,
) -> Result<[Point; crate::LIMBS + 1], AuditDecryptError> {
    let handles = output.audit_handles.get(key_index).ok_or(AuditDecryptError::NoCopyForKey(key_index))?;
    let memo = output.audit_memos.get(key_index).ok_or(AuditDecryptError::NoCopyForKey(key_index))?;
    Ok([handles[0], handles[1], handles[2], handles[3], memo.ephemeral])
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
    Ok(AuditedOutput { amount: crate::join_limbs(values), memo })
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
        };
        audit_output_from_shares(key_index, output, table, &shares)
    }
}
