//! Who may connect: the peers the consortium's registry admits, recomputed whenever the registry changes (and as
//! certificates expire), so that a revoked or removed node is cut off by every node within a block, with no restart
//! and no configuration edit.
//!
//! * A chain whose genesis names members admits exactly the registry's nodes whose certificate is valid now —
//!   validators leaving at the end of their epoch included — and every registered validator of the current and
//!   next epoch, even past its certificate's validity (a revoked one is no longer registered: it is cut off at
//!   once, though it stays in the epoch's set until the epoch ends): the validator set changes by governance only, and cutting off a
//!   validator because its certificate lapsed would cost the chain its liveness silently (its member rotates it).
//!   `node.toml`'s `[[network.peers]]` then only gives addresses to dial (bootstrap): naming a peer there admits
//!   nobody once the node has a ledger. A node with none yet also reaches the bootstrap peers, to ask them for
//!   state snapshots only ([`bootstrap_peers`], `restore`): what they send is checked against the history
//!   certified from the genesis, and the registry's list replaces them as soon as the ledger is open.
//! * A chain without members (a fixed consortium) admits its genesis validators and the peers `node.toml` names.

use anyhow::{anyhow, Result};
use ctchain_governance::Registry;
use ctchain_net::{Multiaddr, PeerId};

use crate::config::PeerEntry;
use crate::keys::public_from_hex;

/// A peer this node accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmittedPeer {
    /// Its peer id (from its network key).
    pub id: PeerId,
    /// Its network key.
    pub network_key: [u8; 32],
    /// Its name: `member/node` for a registered node.
    pub name: String,
    /// Whether it validates in the current or next epoch.
    pub validator: bool,
    /// Where to dial it, if `node.toml` says.
    pub address: Option<Multiaddr>,
}

/// The peers the registry admits at `now_s` (Unix seconds), this node (`own`) left out.
pub fn admitted_peers(
    registry: &Registry,
    config_peers: &[PeerEntry],
    own: &[u8; 32],
    now_s: u64,
) -> Result<Vec<AdmittedPeer>> {
    let address_of = |key: &[u8; 32]| -> Result<Option<Multiaddr>> {
        let hex_key = hex::encode(key);
        match config_peers.iter().find(|p| p.network_key == hex_key).and_then(|p| p.address.as_ref()) {
            Some(a) => Ok(Some(a.parse().map_err(|e| anyhow!("address {a:?} of peer {hex_key}: {e}"))?)),
            None => Ok(None),
        }
    };
    let validators: Vec<_> =
        registry.epoch().validators.iter().chain(registry.next_epoch().iter().flat_map(|e| &e.validators)).collect();
    let mut out: Vec<AdmittedPeer> = Vec::new();
    let mut add = |key: [u8; 32], name: String| -> Result<()> {
        if key == *own || out.iter().any(|p| p.network_key == key) {
            return Ok(());
        }
        let id = ctchain_net::peer_id_from_public(&key).ok_or_else(|| anyhow!("bad network key of {name}"))?;
        let validator = validators.iter().any(|v| v.network_key == key);
        out.push(AdmittedPeer { id, network_key: key, name, validator, address: address_of(&key)? });
        Ok(())
    };
    for v in &validators {
        // A validator whose certificate was revoked is out of the registry at once, though it is still in the
        // epoch's set: a leaked key is cut off now, not at the end of the epoch (the others make the quorum).
        if registry.members().is_empty() || registry.node_by_network_key(&v.network_key).is_some() {
            add(v.network_key, v.name.clone())?;
        }
    }
    if registry.members().is_empty() {
        for p in config_peers {
            add(public_from_hex(&p.network_key).map_err(|e| anyhow!("peer {}: {e}", p.name))?, p.name.clone())?;
        }
    } else {
        for node in registry.nodes() {
            if (node.not_before..=node.not_after).contains(&now_s) {
                add(node.network_key, node.qualified_name())?;
            }
        }
    }
    Ok(out)
}

/// The peers `node.toml` names to dial (with an address), this node left out: what a node with no ledger reaches
/// besides the genesis's nodes, to ask for snapshots (see `restore`).
pub fn bootstrap_peers(config_peers: &[PeerEntry], own: &[u8; 32]) -> Result<Vec<AdmittedPeer>> {
    let mut out = Vec::new();
    for p in config_peers {
        let Some(address) = &p.address else { continue };
        let key = public_from_hex(&p.network_key).map_err(|e| anyhow!("peer {}: {e}", p.name))?;
        if key == *own {
            continue;
        }
        let id = ctchain_net::peer_id_from_public(&key).ok_or_else(|| anyhow!("bad network key of {}", p.name))?;
        let address = address.parse().map_err(|e| anyhow!("address {address:?} of peer {}: {e}", p.name))?;
        out.push(AdmittedPeer { id, network_key: key, name: p.name.clone(), validator: false, address: Some(address) });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctchain_governance::testing::{approved, TestConsortium, NOW_MS};
    use ctchain_governance::{Action, BlockContext, ConsensusParams, Founding, GovernancePolicy, Proposal};
    use rand_core::SeedableRng;

    fn registry(c: &TestConsortium) -> Registry {
        Registry::founding(Founding {
            scheme: ctchain_sig::Scheme::Ed25519,
            members: &c.public_members(),
            policy: GovernancePolicy::default(),
            nodes: &c.certificates(),
            validators: &c.validators(),
            audit_keys: &[],
            assets: &[],
            channels: &[],
            consensus: &ConsensusParams::default(),
            time_ms: NOW_MS,
        })
        .unwrap()
    }

    #[test]
    fn the_registry_admits_its_valid_nodes_and_a_revoked_one_is_gone() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let c = TestConsortium::new(4, &mut rng);
        let mut r = registry(&c);
        let own = c.nodes[0].identity.network_key;
        let now = NOW_MS / 1000;
        // A peer named only in node.toml is not admitted on a chain with members.
        let stranger = PeerEntry { name: "stranger".into(), network_key: hex::encode([7u8; 32]), address: None };
        let peers = admitted_peers(&r, &[stranger], &own, now).unwrap();
        let names: Vec<&str> = peers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["bank-b/v1", "bank-c/v1", "bank-d/v1", "regulator/obs"]);
        assert!(peers[..3].iter().all(|p| p.validator) && !peers[3].validator);

        let serial = r.node("regulator", "obs").unwrap().serial.clone();
        let proposal = Proposal {
            chain_id: "c".into(),
            registry_version: 0,
            action: Action::RevokeCertificate { member: "regulator".into(), serial },
        };
        let tx = approved(proposal, &[c.member("regulator")]).verify("c").unwrap();
        r.apply(&tx, BlockContext { height: 3, seq: 3, time_ms: NOW_MS }).unwrap();
        let peers = admitted_peers(&r, &[], &own, now).unwrap();
        assert!(peers.iter().all(|p| p.name != "regulator/obs"));

        // Past their certificates' validity, only the epoch's validators stay admitted.
        let later = ctchain_governance::testing::VALIDITY.not_after + 1;
        let peers = admitted_peers(&r, &[], &own, later).unwrap();
        assert_eq!(peers.len(), 3);
    }

    #[test]
    fn a_revoked_validator_is_cut_off_at_once_though_its_epoch_goes_on() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(10);
        let c = TestConsortium::new(5, &mut rng);
        let mut r = registry(&c);
        let own = c.nodes[0].identity.network_key;
        let serial = r.node("bank-e", "v1").unwrap().serial.clone();
        let proposal = Proposal {
            chain_id: "c".into(),
            registry_version: 0,
            action: Action::RevokeCertificate { member: "bank-e".into(), serial },
        };
        let tx = approved(proposal, &[c.member("bank-e")]).verify("c").unwrap();
        r.apply(&tx, BlockContext { height: 3, seq: 3, time_ms: NOW_MS }).unwrap();
        assert!(r.epoch().validators.iter().any(|v| v.name == "bank-e/v1"), "still in the current epoch's set");
        let peers = admitted_peers(&r, &[], &own, NOW_MS / 1000).unwrap();
        let names: Vec<&str> = peers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["bank-b/v1", "bank-c/v1", "bank-d/v1", "regulator/obs"]);
    }
}
