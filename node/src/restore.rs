//! Starting from a state snapshot: a node with no ledger (one that joins late, or lost its disk) takes the
//! newest snapshot that `f + 1` validators offer alike, downloads it piece by piece from those validators,
//! and restores its ledger from it ([`ctchain_ledger::Ledger::restore_snapshot`]: the block's commit certificate
//! and the state root are checked there), then logs the snapshot's block as its first consensus-log entry and
//! follows the chain from the next sequence number like any lagging node.
//!
//! Trust: the governance history (certified block by block from the genesis validators on), the certificate and
//! the state root make the state exactly the certified one; `f + 1` matching offers
//! (at least one from an honest validator) vouch for the rest (the transaction index, the shielded pool's recent
//! roots) and for the block's place in the consensus log. Nothing a single peer says is taken.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use ctchain_codec::{Decode, Encode};
use ctchain_ledger::snapshot::StateSnapshot;
use ctchain_ledger::{Genesis, Ledger};
use ctchain_net::{GossipVerdict, NetEvent, NetHandle, PeerId};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::consensus_store::{ConsensusStore, LogEntry};
use crate::node::snapshots::SnapshotOffer;
use crate::node::Wire;

/// How long to wait for `f + 1` validators to connect.
const CONNECT_WAIT: Duration = Duration::from_secs(30);
/// How long to collect offers once asked.
const OFFER_WAIT: Duration = Duration::from_secs(5);
/// How long to wait for one piece before asking another validator.
const CHUNK_WAIT: Duration = Duration::from_secs(15);

/// Restores the ledger at `ledger_dir` from the validators' snapshots. Returns the restored height, or `None`
/// when no snapshot is offered by `f + 1` validators (a young chain: the node then starts from the genesis).
pub async fn from_peers(
    net: &NetHandle,
    events: &mut mpsc::Receiver<NetEvent>,
    genesis: &Genesis,
    validators: &[PeerId],
    ledger_dir: &Path,
    store: &ConsensusStore,
) -> Result<Option<u64>> {
    let f = (genesis.validators.len() - 1) / 3;
    let is_validator = |p: &PeerId| validators.contains(p);
    let mut asked = BTreeSet::new();
    let mut offers: BTreeMap<PeerId, Vec<SnapshotOffer>> = BTreeMap::new();
    let connect_deadline = Instant::now() + CONNECT_WAIT;
    let mut offer_deadline: Option<Instant> = None;
    info!("no ledger yet: asking the validators for a state snapshot");
    loop {
        let deadline = offer_deadline.unwrap_or(connect_deadline);
        let event = match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => bail!("the network stopped"),
            Err(_) => break,
        };
        match event {
            NetEvent::PeerConnected(peer) if is_validator(&peer) && asked.insert(peer) => {
                let _ = net.send(peer, Wire::SnapshotOffersRequest.to_bytes());
                if asked.len() > f && offer_deadline.is_none() {
                    offer_deadline = Some(Instant::now() + OFFER_WAIT);
                }
            }
            NetEvent::Direct { from, bytes } if is_validator(&from) => {
                if let Ok(Wire::SnapshotOffers(list)) = Wire::from_bytes(&bytes) {
                    offers.insert(from, list);
                    if offers.len() == validators.len() {
                        break;
                    }
                }
            }
            NetEvent::Gossip { id, .. } => net.report(id, GossipVerdict::Ignore),
            _ => {}
        }
    }
    // The newest snapshot that f + 1 validators offer alike.
    let mut vouched: BTreeMap<_, Vec<(PeerId, SnapshotOffer)>> = BTreeMap::new();
    for (peer, list) in &offers {
        for offer in list {
            vouched.entry(offer.key()).or_default().push((*peer, offer.clone()));
        }
    }
    let Some((_, vouchers)) = vouched.into_iter().rev().find(|(_, v)| v.len() > f) else {
        info!(answered = offers.len(), "no snapshot offered alike by f + 1 validators: starting from the genesis");
        return Ok(None);
    };
    let offer = vouchers[0].1.clone();
    info!(
        height = offer.height,
        seq = offer.seq,
        bytes = offer.len,
        vouched_by = vouchers.len(),
        "restoring a state snapshot"
    );

    let bytes = download(net, events, &offer, &vouchers).await?;
    let snapshot = StateSnapshot::from_bytes(&bytes).map_err(|e| anyhow!("the snapshot does not decode: {e}"))?;
    if snapshot.digest() != offer.digest || snapshot.height() != offer.height {
        bail!("the snapshot downloaded is not the one offered (digest or height differs)");
    }
    // Each voucher's certificate in turn: a wrong one is refused by the restore, and leaves nothing behind.
    let mut last_error = None;
    for (peer, o) in &vouchers {
        match Ledger::restore_snapshot(ledger_dir, genesis, &snapshot, &o.certificate, &o.governance_certificates) {
            Ok(ledger) => {
                drop(ledger);
                let cert = ctchain_pbft::CommitCertificate::from_bytes(&o.certificate)
                    .map_err(|e| anyhow!("certificate: {e}"))?;
                let entry = LogEntry {
                    committed: ctchain_pbft::CommittedBlock {
                        seq: offer.seq,
                        block: ctchain_ledger::finality::consensus_block(&snapshot.block),
                        cert,
                    },
                    timestamp: offer.timestamp,
                    chain_digest: offer.chain_digest,
                };
                store.append(&entry).context("cannot log the snapshot's block")?;
                info!(height = offer.height, seq = offer.seq, "ledger restored from a state snapshot");
                return Ok(Some(offer.height));
            }
            Err(e) => {
                warn!(%peer, "snapshot refused with this validator's certificate: {e}");
                last_error = Some(e);
            }
        }
    }
    Err(anyhow!(
        "the snapshot at height {} was refused: {}",
        offer.height,
        last_error.map_or_else(String::new, |e| e.to_string())
    ))
}

/// The snapshot's bytes, piece by piece, asking the next voucher whenever one does not answer.
async fn download(
    net: &NetHandle,
    events: &mut mpsc::Receiver<NetEvent>,
    offer: &SnapshotOffer,
    vouchers: &[(PeerId, SnapshotOffer)],
) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(offer.len.min(1 << 30) as usize);
    let mut source = 0usize;
    let mut misses = 0usize;
    while (bytes.len() as u64) < offer.len {
        let peer = vouchers[source % vouchers.len()].0;
        let offset = bytes.len() as u64;
        let _ = net.send(peer, Wire::SnapshotChunkRequest { height: offer.height, offset }.to_bytes());
        let deadline = Instant::now() + CHUNK_WAIT;
        let piece = loop {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(NetEvent::Direct { from, bytes: msg })) if from == peer => {
                    if let Ok(Wire::SnapshotChunk { height, offset: at, bytes: piece }) = Wire::from_bytes(&msg) {
                        if height == offer.height && at == offset {
                            break Some(piece);
                        }
                    }
                }
                Ok(Some(NetEvent::Gossip { id, .. })) => net.report(id, GossipVerdict::Ignore),
                Ok(Some(_)) => {}
                Ok(None) => bail!("the network stopped"),
                Err(_) => break None,
            }
        };
        match piece {
            Some(piece) if !piece.is_empty() && offset + piece.len() as u64 <= offer.len => {
                bytes.extend_from_slice(&piece);
            }
            _ => {
                misses += 1;
                if misses > 3 * vouchers.len() {
                    bail!("no validator sent the snapshot at height {} (stopped at byte {offset})", offer.height);
                }
                source += 1;
            }
        }
    }
    Ok(bytes)
}
