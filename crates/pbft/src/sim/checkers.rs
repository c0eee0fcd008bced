//! Checkers of the simulation, written against the observable behaviour only (what honest replicas sent and
//! delivered), not against the core's internal state. They verify certificates with their own Ed25519 calls.

use std::collections::{BTreeMap, BTreeSet};

use ctchain_codec::Hash32;
use ed25519_dalek::{Signature as EdSig, VerifyingKey};

use crate::epoch::EpochSchedule;
use crate::replica::Delivered;
use crate::safety::PersistedState;
use crate::types::{signing_digest, Block, Commit, Epoch, Message, ReplicaId, Seq, View};

/// What the application accepts: everything except payloads starting with `INVALID`.
pub fn app_accepts(payload: &[u8]) -> bool {
    !payload.starts_with(b"INVALID")
}

/// Collects observations during a run and reports violations.
#[derive(Default)]
pub struct Checker {
    /// `(kind, epoch, signer, view, seq)` → digest of every vote an honest replica sent.
    signed: BTreeMap<(u8, Epoch, ReplicaId, View, Seq), Hash32>,
    /// Sequence number → block digest of the first honest delivery.
    decided: BTreeMap<Seq, Hash32>,
    /// Every payload some host proposed.
    proposed: BTreeSet<Vec<u8>>,
    /// Violations found, in order.
    pub violations: Vec<String>,
}

impl Checker {
    /// Records that a host proposed `payload`.
    pub fn proposed(&mut self, payload: &[u8]) {
        self.proposed.insert(payload.to_vec());
    }

    /// No honest double signing: an honest replica never signs two digests for one `(kind, view, seq)` of one
    /// epoch, across crashes, restarts and epoch changes.
    pub fn honest_sent(&mut self, msg: &Message) {
        let epoch = msg.epoch();
        let (kind, signer, view, seq, digest) = match msg {
            Message::PrePrepare(m) => {
                // The digest is recomputed here rather than trusted: an honest primary sends the block it signed.
                let h = &m.pre_prepare;
                if block_id(&m.block, h.body.seq) != h.body.digest {
                    self.violations.push(format!(
                        "honest replica {} sent a block that is not the one its pre-prepare for seq {} names",
                        h.signer, h.body.seq
                    ));
                }
                (1u8, h.signer, h.body.view, h.body.seq, Some(h.body.digest))
            }
            Message::Prepare(m) => (2, m.signer, m.body.view, m.body.seq, Some(m.body.digest)),
            Message::Commit(m) => (3, m.signer, m.body.view, m.body.seq, Some(m.body.digest)),
            Message::Checkpoint(m) => (4, m.signer, 0, m.body.seq, Some(m.body.digest)),
            Message::NewView(m) => {
                for pp in &m.body.pre_prepares {
                    self.record_signed((1, epoch, pp.signer, pp.body.view, pp.body.seq), pp.body.digest);
                }
                return;
            }
            _ => (0, 0, 0, 0, None),
        };
        if let Some(digest) = digest {
            self.record_signed((kind, epoch, signer, view, seq), digest);
        }
    }

    fn record_signed(&mut self, slot: (u8, Epoch, ReplicaId, View, Seq), digest: Hash32) {
        match self.signed.get(&slot) {
            Some(d) if *d != digest => {
                let (kind, epoch, signer, view, seq) = slot;
                self.violations.push(format!(
                    "honest double signing: replica {signer} of epoch {epoch} signed kind {kind} view {view} seq \
                     {seq} twice"
                ))
            }
            Some(_) => {}
            None => {
                self.signed.insert(slot, digest);
            }
        }
    }

    /// Durability: every statement an honest replica sends (signed with its own key: the caller checks) is
    /// already in the state it last persisted (the `Persist` output came before the send), or below what that
    /// state has garbage-collected (for checkpoints: below the newest one it holds; for any statement: of an epoch
    /// that state has left, in which nothing is ever signed again).
    pub fn persisted_before_send(&mut self, node: usize, msg: &Message, disk: Option<&PersistedState>) {
        let Some(disk) = disk else {
            if !matches!(
                msg,
                Message::FetchRequest(_)
                    | Message::FetchResponse(_)
                    | Message::BlockRequest(_)
                    | Message::BlockResponse(_)
            ) {
                self.violations.push(format!("durability: node {node} sent a {} before persisting", msg.kind()));
            }
            return;
        };
        if msg.epoch() > disk.epoch {
            self.violations.push(format!("durability: node {node} sent a {} of an epoch not persisted", msg.kind()));
            return;
        }
        let left = msg.epoch() < disk.epoch;
        let covered = |kind: u8, view: View, seq: Seq, digest: Hash32| {
            left || seq <= disk.low_water()
                || (kind != 4 && view < disk.view)
                || disk
                    .votes
                    .iter()
                    .any(|((k, v, s), d)| *k == kind && (kind == 4 || *v == view) && *s == seq && *d == digest)
        };
        let ok = match msg {
            Message::PrePrepare(m) => {
                let h = &m.pre_prepare.body;
                covered(1, h.view, h.seq, h.digest)
            }
            Message::Prepare(m) => covered(2, m.body.view, m.body.seq, m.body.digest),
            Message::Commit(m) => covered(3, m.body.view, m.body.seq, m.body.digest),
            // Below the newest checkpoint on disk nothing is signed again (`SafetyRules::sign_checkpoint`), so an
            // older one needs no record of its own.
            Message::Checkpoint(m) => {
                covered(4, 0, m.body.seq, m.body.digest)
                    || disk.votes.keys().any(|(k, _, s)| *k == 4 && *s > m.body.seq)
            }
            Message::ViewChange(m) => left || disk.view_change >= m.body.new_view || disk.view >= m.body.new_view,
            Message::NewView(m) => {
                m.body.pre_prepares.iter().all(|pp| covered(1, pp.body.view, pp.body.seq, pp.body.digest))
            }
            Message::FetchRequest(_)
            | Message::FetchResponse(_)
            | Message::BlockRequest(_)
            | Message::BlockResponse(_) => true,
        };
        if !ok {
            self.violations.push(format!("durability: node {node} sent a {} it had not persisted", msg.kind()));
        }
    }

    /// Agreement, validity and the time rule, on one honest delivery. `height` is the node's ledger height before
    /// this delivery; `local_now` its clock.
    #[allow(clippy::too_many_arguments)]
    pub fn honest_delivered(
        &mut self,
        node: usize,
        height: Seq,
        previous_ts: Option<u64>,
        d: &Delivered,
        epochs: &EpochSchedule,
        latest_honest_clock: u64,
        delta: u64,
    ) {
        let cb = &d.committed;
        let chain_id = epochs.chain_id();
        if cb.seq != height + 1 {
            self.violations.push(format!("node {node} delivered seq {} after height {height}", cb.seq));
        }
        let digest = block_id_on(chain_id, &cb.block, cb.seq);
        match self.decided.get(&cb.seq) {
            Some(x) if *x != digest => {
                self.violations.push(format!("agreement: node {node} delivered a different block at seq {}", cb.seq))
            }
            Some(_) => {}
            None => {
                self.decided.insert(cb.seq, digest);
            }
        }
        if let Block::Data { payload, timestamp } = &cb.block {
            if !self.proposed.contains(payload) {
                self.violations.push(format!("validity: seq {} carries a payload nobody proposed", cb.seq));
            }
            if !app_accepts(payload) {
                self.violations.push(format!("validity: seq {} carries a payload the application rejects", cb.seq));
            }
            if let Some(prev) = previous_ts {
                if d.timestamp <= prev {
                    self.violations.push(format!("time: seq {} block time does not increase", cb.seq));
                }
            }
            if *timestamp > latest_honest_clock + delta {
                self.violations.push(format!("time: seq {} timestamp beyond every honest clock + Δ", cb.seq));
            }
        }
        if let Err(e) = check_certificate(epochs, cb.seq, &digest, &cb.cert) {
            self.violations.push(format!("certificate at seq {}: {e}", cb.seq));
        }
    }
}

fn block_id(block: &Block, seq: Seq) -> Hash32 {
    block_id_on(super::CHAIN_ID, block, seq)
}

fn block_id_on(chain_id: &str, block: &Block, seq: Seq) -> Hash32 {
    block.digest(chain_id, seq)
}

/// Independent certificate check: a quorum of distinct validators of the block's epoch, valid Ed25519 signatures
/// over the commit.
fn check_certificate(
    epochs: &EpochSchedule,
    seq: Seq,
    digest: &Hash32,
    cert: &crate::types::CommitCertificate,
) -> Result<(), String> {
    if cert.seq != seq || cert.digest != *digest {
        return Err("certificate for another block".into());
    }
    let set = epochs.for_seq(seq);
    let (keys, chain_id, epoch) = (set.keys(), epochs.chain_id(), set.epoch());
    let n = keys.len();
    let quorum = n - (n - 1) / 3;
    let mut signers = BTreeSet::new();
    for (id, sig) in &cert.signatures {
        let key = keys.get(*id as usize).ok_or("signer out of range")?;
        let body = Commit { view: cert.view, seq, digest: *digest };
        let msg = signing_digest(chain_id, epoch, *id, &body);
        let vk = VerifyingKey::from_bytes(&key.0.as_slice().try_into().map_err(|_| "key")?).map_err(|_| "key")?;
        let sig = EdSig::from_slice(&sig.0).map_err(|_| "signature bytes")?;
        vk.verify_strict(msg.as_bytes(), &sig).map_err(|_| format!("bad signature of {id}"))?;
        signers.insert(*id);
    }
    if signers.len() < quorum {
        return Err(format!("{} distinct signers, {quorum} needed", signers.len()));
    }
    Ok(())
}
