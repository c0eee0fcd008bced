//! Blocks by digest: `BLOCK-REQUEST` and `BLOCK-RESPONSE`. View-change and new-view messages name blocks by digest
//! only (§4.4 carries digests in `P` and `O`; the paper's replicas "obtain the missing requests" from others), so a
//! replica that enters a view whose `O` names a block it never received, or lost in a restart, fetches it.
//!
//! Invariants:
//!
//! * A block is asked for only for a slot of the current view that holds a pre-prepare header and no block, above
//!   the last executed sequence number; a response is accepted only for such a slot and only if the block's digest
//!   is the header's, so the responder need not be trusted and an unsolicited response changes nothing.
//! * Peers are asked one at a time, first those whose view change in `V` reported a prepared certificate for the
//!   digest (they held the block when they prepared it), then the others; the next one after
//!   [`Config::fetch_timeout_ms`](super::Config::fetch_timeout_ms). A lying or silent peer costs one timeout.
//! * At most [`MAX_BLOCKS_PER_REQUEST_ROUND`] blocks are asked for per round, so one round's answers stay within a
//!   bounded number of full-size messages.
//! * A replica answers with a block it holds whose digest is the one asked for (a slot, a committed block it keeps,
//!   or a prepared block it persisted), and with nothing otherwise.

use ctchain_codec::Hash32;

use super::{Output, Replica, SlotState, Timer};
use crate::metrics::DropReason;
use crate::types::{Block, BlockRequest, BlockResponse, Message, ReplicaId, Seq, Signed};

/// Blocks asked for in one round (from one peer).
pub const MAX_BLOCKS_PER_REQUEST_ROUND: usize = 8;

impl Replica {
    pub(super) fn on_block_request(&mut self, m: Signed<BlockRequest>, out: &mut Vec<Output>) {
        let BlockRequest { seq, digest } = m.body;
        if m.signer == self.me() {
            return;
        }
        let Some(block) = self.held_block(seq, digest) else {
            return self.metrics.drop(DropReason::Unexpected);
        };
        if let Some(response) = self.safety.sign_unchecked(BlockResponse { seq, block }) {
            out.push(Output::Send { to: m.signer, message: Message::BlockResponse(response) });
        }
    }

    fn held_block(&self, seq: Seq, digest: Hash32) -> Option<Block> {
        if let Some(block) = self.slots.get(&seq).filter(|s| s.digest == digest).and_then(|s| s.block.clone()) {
            return Some(block);
        }
        if let Some(cb) = self.store.get(&seq).filter(|cb| cb.cert.digest == digest) {
            return Some(cb.block.clone());
        }
        let state = self.safety.state();
        state
            .prepared
            .get(&seq)
            .filter(|c| c.pre_prepare.body.digest == digest)
            .and_then(|_| state.prepared_blocks.get(&seq).cloned())
    }

    pub(super) fn on_block_response(&mut self, m: Signed<BlockResponse>) {
        let BlockResponse { seq, block } = m.body;
        let chain_id = self.validators().chain_id().to_owned();
        let Some(slot) = self.slots.get_mut(&seq).filter(|s| s.pre_prepare.is_some()) else {
            return self.metrics.drop(DropReason::Unexpected);
        };
        if slot.block.is_some() {
            return self.metrics.drop(DropReason::Duplicate);
        }
        if block.digest(&chain_id, seq) != slot.digest {
            return self.metrics.drop(DropReason::InvalidProof);
        }
        let digest = slot.digest;
        self.safety.keep_prepared_block(seq, digest, &block);
        slot.block = Some(block);
        self.metrics.blocks_fetched_by_digest += 1;
        if self.missing_blocks().is_empty() {
            self.block_fetch_in_flight = false;
        }
    }

    /// The slots of the current view that wait for their block, lowest first.
    fn missing_blocks(&self) -> Vec<(Seq, Hash32)> {
        if !self.normal {
            return Vec::new();
        }
        self.slots
            .range(self.last_exec + 1..)
            .filter(|(_, s)| s.pre_prepare.is_some() && s.block.is_none() && s.state == SlotState::Accepted)
            .map(|(n, s)| (*n, s.digest))
            .collect()
    }

    /// Asks one peer for the blocks this replica lacks, rotating on [`Timer::BlockFetch`].
    pub(super) fn fetch_missing_blocks(&mut self, out: &mut Vec<Output>) {
        if self.block_fetch_in_flight || self.n() < 2 {
            return;
        }
        let missing = self.missing_blocks();
        let Some((first_seq, first_digest)) = missing.first().copied() else { return };
        let peers = self.block_holders(first_seq, first_digest);
        let Some(peer) = peers.get(self.block_fetch_attempt % peers.len().max(1)).copied() else { return };
        for (seq, digest) in missing.into_iter().take(MAX_BLOCKS_PER_REQUEST_ROUND) {
            if let Some(request) = self.safety.sign_unchecked(BlockRequest { seq, digest }) {
                out.push(Output::Send { to: peer, message: Message::BlockRequest(request) });
            }
        }
        self.block_fetch_in_flight = true;
        self.block_fetch_generation += 1;
        out.push(Output::SetTimer {
            timer: Timer::BlockFetch { generation: self.block_fetch_generation },
            after_ms: self.cfg.fetch_timeout_ms,
        });
    }

    /// Every other replica, those that reported a prepared certificate for `(seq, digest)` in the new view's `V`
    /// first (each in index order).
    fn block_holders(&self, seq: Seq, digest: Hash32) -> Vec<ReplicaId> {
        let me = self.me();
        let reported: Vec<ReplicaId> = self
            .new_view
            .as_ref()
            .map(|nv| {
                nv.body
                    .view_changes
                    .iter()
                    .filter(|vc| {
                        vc.signer != me
                            && vc
                                .body
                                .prepared
                                .iter()
                                .any(|c| c.pre_prepare.body.seq == seq && c.pre_prepare.body.digest == digest)
                    })
                    .map(|vc| vc.signer)
                    .collect()
            })
            .unwrap_or_default();
        let others = (0..self.n() as ReplicaId).filter(|id| *id != me && !reported.contains(id));
        reported.iter().copied().chain(others).collect()
    }

    pub(super) fn on_block_fetch_timeout(&mut self, generation: u64) {
        if generation == self.block_fetch_generation && self.block_fetch_in_flight {
            self.block_fetch_in_flight = false;
            self.block_fetch_attempt = self.block_fetch_attempt.wrapping_add(1);
        }
    }
}
