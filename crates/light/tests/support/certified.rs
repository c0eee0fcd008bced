//! A certified chain made in a test: a genesis of four Ed25519 validators, blocks, and commit certificates signed
//! by any of them — what a lying node in a test serves, honestly or not. Shared by the light client's and the
//! wallet's tests against lying nodes.

use ctchain_codec::{Encode, Hash32};
use ctchain_crypto::{AssetId, AuditSecretKey, SigningKey};
use ctchain_ledger::{AssetInfo, Block, BlockHeader, ConsensusParams, Genesis, LedgerTx, ValidatorInfo, CRYPTO_SUITE};
use ctchain_pbft::{Commit, CommitCertificate, Ed25519Signer, Signer};
use ctchain_rpc::{BlockJson, BlockTxJson, HeaderJson};

/// The asset every test chain lists, with the issuer key [`issuer`] signs with.
pub fn cny() -> AssetId {
    AssetId::from_label("CNY")
}

/// The issuer of [`cny`].
pub fn issuer() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32]).unwrap()
}

/// The secret of the one audit key every test chain lists (fixed, so that a regulator's test decrypts).
pub fn auditor() -> AuditSecretKey {
    AuditSecretKey::from_bytes(&[9u8; 32]).unwrap()
}

/// A genesis naming `validators`, the audit key of [`auditor`] and CNY (2 decimals, issued by [`issuer`]).
pub fn genesis(validators: &[Ed25519Signer], chain_id: &str) -> Genesis {
    let issuer = issuer();
    Genesis {
        chain_id: chain_id.into(),
        crypto_suite: CRYPTO_SUITE.into(),
        genesis_time_ms: 1_700_000_000_000,
        validators: validators
            .iter()
            .enumerate()
            .map(|(i, v)| ValidatorInfo {
                name: format!("bank-{i}"),
                consensus_key: v.public_key().0.try_into().unwrap(),
                network_key: [i as u8; 32],
            })
            .collect(),
        audit_keys: vec![auditor().public()],
        assets: vec![AssetInfo { id: cny(), label: "CNY".into(), decimals: 2, issuer: issuer.public() }],
        consensus: ConsensusParams::default(),
        shielded: None,
        members: vec![],
        policy: Default::default(),
        nodes: vec![],
        channels: vec![],
    }
}

pub fn certify(genesis: &Genesis, validators: &[Ed25519Signer], block: &Block, signers: &[u32]) -> Vec<u8> {
    let seq = block.header.height;
    let consensus_block = ctchain_pbft::Block::Data { timestamp: block.header.timestamp_ms, payload: block.to_bytes() };
    let digest = consensus_block.digest(&genesis.chain_id, seq);
    let body = Commit { view: 0, seq, digest };
    let signatures = signers
        .iter()
        .map(|&i| {
            let msg = ctchain_pbft::types::signing_digest(&genesis.chain_id, 0, i, &body);
            (i, validators[i as usize].sign(msg.as_bytes()))
        })
        .collect();
    CommitCertificate { view: 0, seq, digest, signatures }.to_bytes()
}

/// A block at `height` after `prev`, holding `txs`.
pub fn block(height: u64, prev_hash: Hash32, txs: Vec<LedgerTx>) -> Block {
    let header = BlockHeader {
        height,
        seq: height,
        prev_hash,
        tx_root: Block::compute_tx_root(&txs),
        state_root: Hash32([height as u8; 32]),
        timestamp_ms: 1_700_000_000_000 + height * 1_000,
        proposer: 0,
        view: 0,
    };
    Block { header, txs }
}

/// The RPC form of a block with its certificate.
pub fn block_json(b: &Block, certificate: &[u8]) -> BlockJson {
    let h = &b.header;
    BlockJson {
        header: HeaderJson {
            hash: h.hash().to_hex(),
            height: h.height,
            prev_hash: h.prev_hash.to_hex(),
            tx_root: h.tx_root.to_hex(),
            state_root: h.state_root.to_hex(),
            timestamp_ms: h.timestamp_ms,
            proposer: h.proposer,
            view: h.view,
            seq: h.seq,
            tx_count: b.txs.len() as u32,
        },
        header_hex: hex::encode(h.to_bytes()),
        txs: b
            .txs
            .iter()
            .map(|t| BlockTxJson { id: t.id().to_string(), kind: "issue".into(), hex: hex::encode(t.to_bytes()) })
            .collect(),
        certificate: Some(hex::encode(certificate)),
    }
}
