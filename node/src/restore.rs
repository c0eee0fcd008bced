//! Starting from a state snapshot: a node with no ledger (one that joins late, or lost its disk) asks every peer it
//! reaches for the snapshots it offers, takes the newest one that `f + 1` validators of the snapshot's own epoch
//! offer alike, downloads it piece by piece from those validators, and restores its ledger from it
//! ([`ctchain_ledger::Ledger::restore_snapshot`]), then logs the snapshot's block as its first consensus-log entry
//! and follows the chain from the next sequence number like any lagging node.
//!
//! The peers asked are the genesis's nodes and the bootstrap peers of `node.toml`: on a chain whose validators
//! have all changed since the genesis, only the bootstrap peers reach the current ones. Which offers vouch is only
//! known once the snapshot is here: its governance history, certified block by block from the genesis validators
//! on ([`ctchain_ledger::Ledger::follow_snapshot_history`]), says which validators certified its block, and only
//! their offers count. Before a download, a snapshot must be offered by more peers than the smallest `f` any
//! epoch can have (governance keeps every later epoch at four validators or more), so that one peer alone cannot
//! make the node download what nobody vouches for.
//!
//! Trust: the governance history, the certificate and the state root make the state exactly the certified one;
//! `f + 1` matching offers of the epoch's validators (at least one honest) vouch for the rest (the transaction
//! index, the shielded pool's recent roots) and for the block's place in the consensus log. Nothing a single peer
//! says is taken.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use ctchain_codec::{Decode, Encode};
use ctchain_ledger::snapshot::StateSnapshot;
use ctchain_ledger::{Genesis, Ledger};
use ctchain_net::{GossipVerdict, PeerId};

use crate::channels::{ChannelLink, LinkEvent};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::consensus_store::{ConsensusStore, LogEntry};
use crate::node::snapshots::SnapshotOffer;
use crate::node::Wire;

/// How long to wait for a first peer to answer.
const CONNECT_WAIT: Duration = Duration::from_secs(30);
/// How long to collect offers once a first peer answered.
const OFFER_WAIT: Duration = Duration::from_secs(5);
/// How long to wait for one piece before asking another validator.
const CHUNK_WAIT: Duration = Duration::from_secs(15);

/// Restores the ledger at `ledger_dir` from the snapshots the peers offer; `known_peers` is how many peers the
/// node may reach (it stops collecting offers once all have answered). Returns the restored height, or `None`
/// when no snapshot is vouched for by `f + 1` validators of its epoch (a young chain: the node then starts from
/// the genesis).
pub async fn from_peers(
    net: &ChannelLink,
    events: &mut mpsc::Receiver<LinkEvent>,
    genesis: &Genesis,
    known_peers: usize,
    ledger_dir: &Path,
    store: &ConsensusStore,
) -> Result<Option<u64>> {
    let offers = collect_offers(net, events, known_peers).await?;
    // The smallest f an epoch can have: the genesis's, and 1 for every later epoch (four validators or more).
    let least_f = ((genesis.validators.len().max(1) - 1) / 3).min(1);
    for vouchers in candidates(&offers, least_f) {
        let offer = vouchers[0].1.clone();
        info!(
            height = offer.height,
            seq = offer.seq,
            bytes = offer.len,
            offered_by = vouchers.len(),
            "trying a state snapshot"
        );
        let bytes = match download(net, events, &offer, &vouchers).await {
            Ok(bytes) => bytes,
            Err(e) => {
                warn!(height = offer.height, "{e:#}");
                continue;
            }
        };
        let snapshot = match StateSnapshot::from_bytes(&bytes) {
            Ok(s) if s.digest() == offer.digest && s.height() == offer.height => s,
            Ok(_) => {
                warn!(
                    height = offer.height,
                    "the snapshot downloaded is not the one offered (digest or height differs)"
                );
                continue;
            }
            Err(e) => {
                warn!(height = offer.height, "the snapshot downloaded does not decode: {e}");
                continue;
            }
        };
        let Some((voucher, vouched_by)) = vouched(genesis, &snapshot, &vouchers) else { continue };
        info!(height = offer.height, vouched_by, "restoring a state snapshot vouched for by its epoch's validators");
        return match Ledger::restore_snapshot(
            ledger_dir,
            genesis,
            &snapshot,
            &voucher.certificate,
            &voucher.governance_certificates,
        ) {
            Ok(ledger) => {
                drop(ledger);
                let cert = ctchain_pbft::CommitCertificate::from_bytes(&voucher.certificate)
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
                Ok(Some(offer.height))
            }
            // Vouched for by an honest validator, yet refused: something is wrong here, not with the peers.
            Err(e) => Err(anyhow!("the snapshot at height {} was refused: {e}", offer.height)),
        };
    }
    info!(
        answered = offers.len(),
        "no snapshot vouched for by f + 1 validators of its epoch: starting from the genesis"
    );
    Ok(None)
}

/// Every answering peer's offers: each peer that connects is asked once; collecting stops `OFFER_WAIT` after the
/// first answer, once `known_peers` answered, or after `CONNECT_WAIT` with no answer.
async fn collect_offers(
    net: &ChannelLink,
    events: &mut mpsc::Receiver<LinkEvent>,
    known_peers: usize,
) -> Result<BTreeMap<PeerId, Vec<SnapshotOffer>>> {
    let mut asked = BTreeSet::new();
    let mut offers: BTreeMap<PeerId, Vec<SnapshotOffer>> = BTreeMap::new();
    let connect_deadline = Instant::now() + CONNECT_WAIT;
    let mut offer_deadline: Option<Instant> = None;
    info!(known_peers, "no ledger yet: asking the peers for the state snapshots they offer");
    loop {
        let deadline = offer_deadline.unwrap_or(connect_deadline);
        let event = match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => bail!("the network stopped"),
            Err(_) => break,
        };
        match event {
            LinkEvent::PeerConnected(peer) if asked.insert(peer) => {
                let _ = net.send(peer, Wire::SnapshotOffersRequest.to_bytes());
            }
            LinkEvent::Direct { from, bytes } if asked.contains(&from) => {
                if let Ok(Wire::SnapshotOffers(list)) = Wire::from_bytes(&bytes) {
                    offers.insert(from, list);
                    offer_deadline.get_or_insert_with(|| Instant::now() + OFFER_WAIT);
                    if offers.len() >= known_peers {
                        break;
                    }
                }
            }
            LinkEvent::Gossip { id, .. } => net.report(id, GossipVerdict::Ignore),
            _ => {}
        }
    }
    Ok(offers)
}

/// The snapshots worth downloading, newest first, each as the peers offering it alike (with their offers, whose
/// certificates differ): more than `least_f` of them.
fn candidates(offers: &BTreeMap<PeerId, Vec<SnapshotOffer>>, least_f: usize) -> Vec<Vec<(PeerId, SnapshotOffer)>> {
    let mut alike: BTreeMap<_, Vec<(PeerId, SnapshotOffer)>> = BTreeMap::new();
    for (peer, list) in offers {
        for offer in list {
            let vouchers = alike.entry(offer.key()).or_default();
            if vouchers.iter().all(|(p, _)| p != peer) {
                vouchers.push((*peer, offer.clone()));
            }
        }
    }
    alike.into_values().rev().filter(|vouchers| vouchers.len() > least_f).collect()
}

/// The offer whose certificates lead from the genesis to the snapshot's block, if the validators of the epoch that
/// certified that block make `f + 1` of the peers offering it; with how many of them do.
fn vouched<'a>(
    genesis: &Genesis,
    snapshot: &StateSnapshot,
    vouchers: &'a [(PeerId, SnapshotOffer)],
) -> Option<(&'a SnapshotOffer, usize)> {
    for (peer, offer) in vouchers {
        let tracker = match Ledger::follow_snapshot_history(
            genesis,
            snapshot,
            &offer.certificate,
            &offer.governance_certificates,
        ) {
            Ok(tracker) => tracker,
            Err(e) => {
                warn!(%peer, height = offer.height, "its certificates do not lead from the genesis to the snapshot: {e}");
                continue;
            }
        };
        let epoch = tracker.epoch_for_seq(offer.seq);
        let validators: Vec<PeerId> =
            epoch.validators.iter().filter_map(|v| ctchain_net::peer_id_from_public(&v.network_key)).collect();
        let f = (validators.len().max(1) - 1) / 3;
        let vouched_by = vouchers.iter().filter(|(p, _)| validators.contains(p)).count();
        if vouched_by > f {
            return Some((offer, vouched_by));
        }
        warn!(
            height = offer.height,
            epoch = epoch.number,
            vouched_by,
            needed = f + 1,
            "the snapshot is not offered by enough validators of its epoch"
        );
        return None;
    }
    None
}

/// The snapshot's bytes, piece by piece, asking the next voucher whenever one does not answer.
async fn download(
    net: &ChannelLink,
    events: &mut mpsc::Receiver<LinkEvent>,
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
                Ok(Some(LinkEvent::Direct { from, bytes: msg })) if from == peer => {
                    if let Ok(Wire::SnapshotChunk { height, offset: at, bytes: piece }) = Wire::from_bytes(&msg) {
                        if height == offer.height && at == offset {
                            break Some(piece);
                        }
                    }
                }
                Ok(Some(LinkEvent::Gossip { id, .. })) => net.report(id, GossipVerdict::Ignore),
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

#[cfg(test)]
mod tests {
    use super::*;
    use ctchain_codec::Hash32;

    fn offer(height: u64, digest: u8, certificate: u8) -> SnapshotOffer {
        SnapshotOffer {
            height,
            seq: height + 10,
            timestamp: 1,
            chain_digest: Hash32([1; 32]),
            digest: Hash32([digest; 32]),
            len: 100,
            certificate: vec![certificate],
            governance_certificates: Vec::new(),
        }
    }

    #[test]
    fn a_snapshot_one_peer_alone_offers_is_not_downloaded_and_the_newest_vouched_comes_first() {
        let peers: Vec<PeerId> = (0..3).map(|_| PeerId::random()).collect();
        let mut offers = BTreeMap::new();
        // Two peers offer heights 4 and 6 alike (their certificates differ); the third alone a "newer" one.
        offers.insert(peers[0], vec![offer(4, 4, 0), offer(6, 6, 0)]);
        offers.insert(peers[1], vec![offer(6, 6, 1), offer(4, 4, 1)]);
        offers.insert(peers[2], vec![offer(8, 8, 2), offer(6, 7, 2)]);
        let found = candidates(&offers, 1);
        let heights: Vec<(u64, usize)> = found.iter().map(|v| (v[0].1.height, v.len())).collect();
        assert_eq!(heights, [(6, 2), (4, 2)], "height 8 and the odd digest at 6 are offered by one peer each");
        let certificates: BTreeSet<Vec<u8>> = found[0].iter().map(|(_, o)| o.certificate.clone()).collect();
        assert_eq!(certificates.len(), 2, "each voucher keeps its own certificate");
        // On a genesis of fewer than four validators (f = 0) one offer is enough to try.
        assert_eq!(candidates(&offers, 0)[0][0].1.height, 8);
    }
}
