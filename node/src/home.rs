//! Creating node homes: `testnet` (a whole local chain on loopback) and `init` (one node of a real deployment).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use ctchain_crypto::{AssetId, AuditSecretKey, SigningKey};
use ctchain_governance::{GovernancePolicy, Member, MemberRole};
use ctchain_keystore::{KdfParams, KeystoreFile};
use ctchain_ledger::{AssetInfo, ConsensusParams, Genesis, ShieldedConfig, ValidatorInfo, CRYPTO_SUITE};
use ctchain_membership::{certificate_pem, MemberCa, NodeIdentity, NodeRole, ValidityWindow};
use ctchain_sig::{PublicKey, Scheme};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::config::{
    ConsensusSection, Home, LogSection, MempoolSection, MetricsSection, NetworkSection, NodeConfig, PeerEntry,
    RpcSection,
};
use crate::keys::{write_new_file, NodeKey};

/// Ports of node `i` of a testnet starting at `base`.
pub fn ports(base: u16, i: usize) -> (u16, u16, u16) {
    let i = i as u16;
    (base + i, base + 100 + i, base + 200 + i)
}

/// The demo's secrets: the regulator's audit key and the two banks' issuer keys (testnets only).
#[derive(Serialize, Deserialize)]
pub struct DemoSecrets {
    /// Always `"ctchain-testnet-secrets/v1"`.
    pub format: String,
    /// The regulator's audit secret (hex).
    pub audit_secret: String,
    /// The regulator's Baby Jubjub audit secret for the shielded pool (hex).
    pub shielded_audit_secret: String,
    /// `(bank name, asset label, issuer secret hex)`.
    pub issuers: Vec<(String, String, String)>,
}

/// What `testnet` created.
pub struct Testnet {
    /// The genesis.
    pub genesis: Genesis,
    /// Home of each validator, then each observer.
    pub homes: Vec<PathBuf>,
    /// RPC address of each home.
    pub rpc: Vec<String>,
    /// The regulator's audit key.
    pub auditor: AuditSecretKey,
    /// The regulator's audit key for the shielded pool.
    pub shielded_auditor: ctchain_circuits::AuditSecretKey,
    /// The shielded pool's parameters (proving and verifying keys, `SM3SUMS`): what wallets prove with.
    pub params_dir: PathBuf,
    /// Issuer keys: (bank, asset id, label, key).
    pub issuers: Vec<(String, AssetId, String, SigningKey)>,
    /// The private channels and their genesis.
    pub channels: Vec<(ctchain_governance::Channel, Genesis)>,
}

/// A private channel of a testnet: its id and its banks (the regulator is always a member, and its observers
/// observe it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSpec {
    /// The channel id.
    pub id: String,
    /// Its banks, by name (`bank-a`, …).
    pub banks: Vec<String>,
}

impl std::str::FromStr for ChannelSpec {
    type Err = anyhow::Error;

    /// `<id>=<bank>,<bank>,…`, e.g. `x=bank-a,bank-b`.
    fn from_str(text: &str) -> Result<Self> {
        let (id, banks) =
            text.split_once('=').ok_or_else(|| anyhow!("a channel is <id>=<bank>,<bank>,… ({text:?})"))?;
        let banks: Vec<String> = banks.split(',').map(|b| b.trim().to_owned()).filter(|b| !b.is_empty()).collect();
        Ok(Self { id: id.trim().to_owned(), banks })
    }
}

/// Creates a local chain of `validators` validators and `observers` observers under `dir`.
pub fn testnet(dir: &Path, chain_id: &str, validators: usize, observers: usize, base_port: u16) -> Result<Testnet> {
    testnet_with_channels(dir, chain_id, validators, observers, base_port, &[])
}

/// Creates a local chain as [`testnet`] does, with private channels founded in the genesis: each its own genesis
/// (`<chain id>/<id>`, the channel's banks and the regulator as members, the banks' validators as its
/// validators, the chain's audit keys and assets, no shielded pool), placed in the home of every node of its
/// members (`channels/<id>/genesis.toml`) and nowhere else.
pub fn testnet_with_channels(
    dir: &Path,
    chain_id: &str,
    validators: usize,
    observers: usize,
    base_port: u16,
    channels: &[ChannelSpec],
) -> Result<Testnet> {
    if validators == 0 {
        bail!("a chain needs at least one validator");
    }
    if validators + observers > 100 {
        bail!("at most 100 nodes on one machine");
    }
    if base_port > u16::MAX - 300 {
        bail!("base port too high");
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!("{} exists and is not empty; choose a new directory", dir.display());
    }
    let total = validators + observers;
    let names: Vec<String> = (0..validators)
        .map(|i| format!("validator-{i}"))
        .chain((0..observers).map(|j| format!("observer-{j}")))
        .collect();
    let consensus: Vec<NodeKey> = (0..validators).map(|_| NodeKey::generate()).collect();
    let network: Vec<NodeKey> = (0..total).map(|_| NodeKey::generate()).collect();

    let auditor = AuditSecretKey::random(&mut OsRng);
    let shielded_auditor = ctchain_circuits::AuditSecretKey::random(&mut OsRng);
    // A fresh trusted setup from OS randomness: fine for a throwaway local chain whose operator is the only
    // party; a real consortium runs a multi-party setup (params/README.md).
    let params_dir = dir.join("params");
    let (proving_key, verifying_key) =
        ctchain_circuits::setup(&mut OsRng).map_err(|e| anyhow!("shielded pool setup: {e}"))?;
    let hashes = ctchain_circuits::params::write_parameters(&params_dir, &proving_key, &verifying_key)
        .map_err(|e| anyhow!("writing the shielded pool parameters: {e}"))?;
    let verifying_key_file = std::fs::read(params_dir.join(ctchain_circuits::params::VERIFYING_KEY_FILE))
        .context("reading back the verifying key")?;
    let issuers: Vec<(String, AssetId, String, SigningKey)> = [("bank-a", "CNY"), ("bank-b", "USD")]
        .into_iter()
        .map(|(bank, label)| {
            (bank.to_owned(), AssetId::from_label(label), label.to_owned(), SigningKey::random(&mut OsRng))
        })
        .collect();
    let genesis_time_ms = crate::node::now_ms();
    // The consortium: one bank per validator (bank-a, bank-b, …), and the regulator, whose nodes are the
    // observers. Each member's CA certifies its nodes; its admin key signs its governance approvals.
    let mut members: Vec<TestnetMember> = (0..validators)
        .map(|i| TestnetMember::generate(&bank_name(i), MemberRole::Bank, genesis_time_ms))
        .collect::<Result<_>>()?;
    members.push(TestnetMember::generate("regulator", MemberRole::Regulator, genesis_time_ms)?);
    let mut certificates = Vec::new();
    for i in 0..total {
        let (member, role, consensus_key) = if i < validators {
            (&members[i], NodeRole::Validator, consensus[i].public)
        } else {
            // An observer never votes: its certificate's key is its network key.
            (&members[validators], NodeRole::Observer, network[i].public)
        };
        certificates.push(member.certify(
            &names[i],
            role,
            network[i].public,
            consensus_key,
            i as u64 + 2,
            genesis_time_ms,
        )?);
    }
    let genesis = Genesis {
        chain_id: chain_id.to_owned(),
        crypto_suite: CRYPTO_SUITE.into(),
        genesis_time_ms,
        validators: (0..validators)
            .map(|i| ValidatorInfo {
                name: format!("{}/{}", members[i].name, names[i]),
                consensus_key: consensus[i].public,
                network_key: network[i].public,
            })
            .collect(),
        members: members.iter().map(TestnetMember::public).collect(),
        policy: GovernancePolicy::default(),
        nodes: certificates.clone(),
        channels: vec![],
        audit_keys: vec![auditor.public()],
        assets: issuers
            .iter()
            .map(|(_, id, label, key)| AssetInfo { id: *id, label: label.clone(), decimals: 2, issuer: key.public() })
            .collect(),
        // Full-size blocks of 2 000 transfers: view changes carry digests, so block size no longer bounds them. The
        // view timeout leaves room for validators sharing one machine.
        // 2 000 transfers take about 10.4 MiB.
        consensus: ConsensusParams {
            view_timeout_ms: 4_000,
            max_block_txs: 2_000,
            max_block_bytes: 12 << 20,
            ..ConsensusParams::default()
        },
        shielded: Some(ShieldedConfig {
            verifying_key_hash: hashes.verifying_key,
            audit_key: shielded_auditor.public_key(),
            recent_roots: 100,
        }),
    };
    // The private channels: each its own genesis among its banks and the regulator.
    let node_member =
        |i: usize| if i < validators { members[i].name.clone() } else { members[validators].name.clone() };
    let mut channel_genesis = Vec::new();
    for spec in channels {
        for bank in &spec.banks {
            if !members[..validators].iter().any(|m| &m.name == bank) {
                bail!(
                    "channel {}: {bank:?} is not a bank of this testnet (bank-a … {})",
                    spec.id,
                    bank_name(validators - 1)
                );
            }
        }
        let mut in_channel: Vec<String> = spec.banks.clone();
        in_channel.push(members[validators].name.clone());
        in_channel.sort();
        in_channel.dedup();
        let g = Genesis {
            chain_id: ctchain_governance::Channel::chain_id(chain_id, &spec.id),
            validators: genesis
                .validators
                .iter()
                .enumerate()
                .filter(|(i, _)| in_channel.contains(&node_member(*i)))
                .map(|(_, v)| v.clone())
                .collect(),
            members: members.iter().filter(|m| in_channel.contains(&m.name)).map(TestnetMember::public).collect(),
            nodes: (0..total)
                .filter(|i| in_channel.contains(&node_member(*i)))
                .map(|i| certificates[i].clone())
                .collect(),
            shielded: None,
            channels: vec![],
            ..genesis.clone()
        };
        let channel = ctchain_governance::Channel {
            id: spec.id.clone(),
            genesis: g.hash(),
            members: in_channel,
            regulator_required: true,
        };
        channel_genesis.push((channel, g));
    }
    let genesis = Genesis { channels: channel_genesis.iter().map(|(c, _)| c.clone()).collect(), ..genesis };
    genesis.registry().map_err(|e| anyhow!("the testnet genesis: {e}"))?;
    for (channel, g) in &channel_genesis {
        g.registry().map_err(|e| anyhow!("the genesis of channel {}: {e}", channel.id))?;
        write_new_file(
            &dir.join("channels").join(format!("{}.genesis.toml", channel.id)),
            crate::genesis_file::to_toml(g).as_bytes(),
            false,
        )?;
    }
    let genesis_text = crate::genesis_file::to_toml(&genesis);

    let mut homes = Vec::new();
    let mut rpc = Vec::new();
    for i in 0..total {
        let home = Home(dir.join(&names[i]));
        let (p2p, rpc_port, metrics_port) = ports(base_port, i);
        let peers = (0..total)
            .filter(|j| *j != i)
            .map(|j| PeerEntry {
                name: names[j].clone(),
                network_key: hex::encode(network[j].public),
                address: Some(format!("/ip4/127.0.0.1/tcp/{}", ports(base_port, j).0)),
            })
            .collect();
        let config = NodeConfig {
            name: names[i].clone(),
            chain_id: chain_id.to_owned(),
            network: NetworkSection {
                listen: format!("/ip4/127.0.0.1/tcp/{p2p}"),
                max_message_bytes: 32 << 20,
                peers,
                ..NetworkSection::defaults()
            },
            rpc: RpcSection::on(format!("127.0.0.1:{rpc_port}").parse()?),
            metrics: MetricsSection { listen: Some(format!("127.0.0.1:{metrics_port}").parse()?) },
            mempool: MempoolSection::default(),
            consensus: ConsensusSection::default(),
            snapshots: Default::default(),
            log: LogSection::default(),
        };
        config.write_new(&home.config())?;
        write_new_file(&home.genesis(), genesis_text.as_bytes(), false)?;
        for (channel, g) in &channel_genesis {
            if channel.has_member(&node_member(i)) {
                let path = home.channels_dir().join(&channel.id).join("genesis.toml");
                write_new_file(&path, crate::genesis_file::to_toml(g).as_bytes(), false)?;
            }
        }
        if i < validators {
            consensus[i].write(&home.consensus_key(), "consensus")?;
        }
        network[i].write(&home.network_key(), "network")?;
        write_new_file(&home.shielded_verifying_key(), &verifying_key_file, false)?;
        rpc.push(format!("http://127.0.0.1:{rpc_port}"));
        homes.push(home.0);
    }
    let secrets = DemoSecrets {
        format: "ctchain-testnet-secrets/v1".into(),
        audit_secret: hex::encode(auditor.to_bytes()),
        shielded_audit_secret: hex::encode(shielded_auditor.to_bytes()),
        issuers: issuers
            .iter()
            .map(|(bank, _, label, key)| (bank.clone(), label.clone(), hex::encode(key.to_bytes())))
            .collect(),
    };
    write_new_file(
        &dir.join("testnet-secrets.json"),
        serde_json::to_string_pretty(&secrets).context("secrets serialise")?.as_bytes(),
        true,
    )?;
    write_new_file(&dir.join("genesis.toml"), genesis_text.as_bytes(), false)?;
    for member in &members {
        member.write(&dir.join("members").join(&member.name))?;
    }
    // The banks' issuer keys as wallet keystores, so that `ctchain-wallet issue --issuer-key` works at once.
    // A throwaway chain gets a random password, written beside it for its operator.
    let mut raw = [0u8; 12];
    OsRng.fill_bytes(&mut raw);
    let password = hex::encode(raw);
    write_new_file(&dir.join("testnet-password.txt"), format!("{password}\n").as_bytes(), true)?;
    for (bank, _, label, key) in &issuers {
        let file = KeystoreFile::seal_issuer(chain_id, key, password.as_bytes(), KdfParams::INTERACTIVE, &mut OsRng)
            .map_err(|e| anyhow!("issuer keystore: {e}"))?;
        file.write(&dir.join(format!("{bank}-{label}.issuer.json")), false)
            .map_err(|e| anyhow!("issuer keystore: {e}"))?;
    }
    Ok(Testnet { genesis, homes, rpc, auditor, shielded_auditor, params_dir, issuers, channels: channel_genesis })
}

/// The name of the bank of validator `i`: `bank-a` … `bank-z`, then `bank-26`, …
fn bank_name(i: usize) -> String {
    match u8::try_from(i) {
        Ok(n) if n < 26 => format!("bank-{}", (b'a' + n) as char),
        _ => format!("bank-{i}"),
    }
}

/// A testnet member with its secrets: its CA key and its admin key (Ed25519, the suite's scheme).
struct TestnetMember {
    name: String,
    role: MemberRole,
    ca_key: NodeKey,
    admin_key: NodeKey,
    ca: MemberCa,
}

/// Testnet certificates are valid from an hour before the genesis for ten years.
fn testnet_validity(genesis_time_ms: u64) -> ValidityWindow {
    let start = genesis_time_ms / 1000;
    ValidityWindow { not_before: start.saturating_sub(3600), not_after: start + 10 * 365 * 86_400 }
}

impl TestnetMember {
    fn generate(name: &str, role: MemberRole, genesis_time_ms: u64) -> Result<Self> {
        let ca_key = NodeKey::generate();
        let ca = MemberCa::issue(name, signing_key(&ca_key)?.as_ref(), testnet_validity(genesis_time_ms))
            .map_err(|e| anyhow!("member CA of {name}: {e}"))?;
        Ok(Self { name: name.to_owned(), role, ca_key, admin_key: NodeKey::generate(), ca })
    }

    fn public(&self) -> Member {
        Member {
            name: self.name.clone(),
            role: self.role,
            ca_certificate: self.ca.der().to_vec(),
            admin_keys: vec![ed25519_public(&self.admin_key.public)],
        }
    }

    fn certify(
        &self,
        node: &str,
        role: NodeRole,
        network_key: [u8; 32],
        consensus_key: [u8; 32],
        serial: u64,
        genesis_time_ms: u64,
    ) -> Result<Vec<u8>> {
        let identity =
            NodeIdentity { name: node.to_owned(), role, network_key, consensus_key: ed25519_public(&consensus_key) };
        self.ca
            .issue_node(signing_key(&self.ca_key)?.as_ref(), &identity, serial, testnet_validity(genesis_time_ms))
            .map_err(|e| anyhow!("certificate of {node}: {e}"))
    }

    /// Writes the member's CA certificate (PEM) and its two keys (mode 0600) under `dir`.
    fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        write_new_file(&dir.join("ca.pem"), certificate_pem(self.ca.der()).as_bytes(), false)?;
        self.ca_key.write(&dir.join("ca.key"), "member-ca")?;
        self.admin_key.write(&dir.join("admin.key"), "member-admin")
    }
}

fn ed25519_public(key: &[u8; 32]) -> PublicKey {
    PublicKey::new(Scheme::Ed25519, key).expect("a node key is a valid Ed25519 key")
}

/// The signing key of a key file (Ed25519, the suite's scheme).
pub fn signing_key(key: &NodeKey) -> Result<Box<dyn ctchain_sig::SigningKey>> {
    Scheme::Ed25519.signing_key(&key.secret).map_err(|e| anyhow!("{e}"))
}

/// Creates one node's home for a real deployment: keys, a configuration, and `node.csr`, the certificate request
/// its member's CA signs (`member certify`); the genesis is added by the operator once the consortium has
/// assembled it (`genesis assemble`).
pub fn init(
    home: &Path,
    name: &str,
    member: &str,
    chain_id: &str,
    validator: bool,
    listen: &str,
    rpc: &str,
) -> Result<(Option<[u8; 32]>, [u8; 32])> {
    ctchain_membership::check_name(name).map_err(|e| anyhow!("--name: {e}"))?;
    ctchain_membership::check_name(member).map_err(|e| anyhow!("--member: {e}"))?;
    let home = Home(home.to_path_buf());
    if home.config().exists() {
        bail!("{} already has a node.toml", home.0.display());
    }
    let consensus = validator.then(NodeKey::generate);
    let network = NodeKey::generate();
    let config = NodeConfig {
        name: name.to_owned(),
        chain_id: chain_id.to_owned(),
        network: NetworkSection {
            listen: listen.to_owned(),
            max_message_bytes: 32 << 20,
            ..NetworkSection::defaults()
        },
        rpc: RpcSection::on(rpc.parse().context("--rpc must be HOST:PORT")?),
        metrics: MetricsSection { listen: None },
        mempool: MempoolSection::default(),
        consensus: ConsensusSection::default(),
        snapshots: Default::default(),
        log: LogSection::default(),
    };
    listen.parse::<ctchain_net::Multiaddr>().context("--listen must be a multiaddr like /ip4/0.0.0.0/tcp/26600")?;
    if let Some(k) = &consensus {
        k.write(&home.consensus_key(), "consensus")?;
    }
    network.write(&home.network_key(), "network")?;
    config.write_new(&home.config())?;
    // The certificate's key is the consensus key; an observer, which never votes, certifies its network key.
    let (role, certified) = match &consensus {
        Some(k) => (NodeRole::Validator, k),
        None => (NodeRole::Observer, &network),
    };
    let identity = NodeIdentity {
        name: name.to_owned(),
        role,
        network_key: network.public,
        consensus_key: ed25519_public(&certified.public),
    };
    crate::consortium_cli::write_request(&home.certificate_request(), member, &identity, certified)?;
    Ok((consensus.map(|k| k.public), network.public))
}
