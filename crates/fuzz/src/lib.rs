//! # ctchain-fuzz: fuzz targets for every decoder of outside bytes, and for the verifiers
//!
//! Each target takes arbitrary bytes and panics only on a bug. The properties, beyond "no panic, no hang":
//!
//! * **canonical decoding** — whatever a decoder accepts re-encodes to exactly the bytes it was given (the codec's
//!   promise of one encoding per value; a second encoding of one transaction would give it a second id);
//! * **verification never panics** on what decodes: transactions and blocks go through the chain's verifier,
//!   consensus messages through a live PBFT replica, committed blocks through the certificate check;
//! * **keystores** parse, and open (under a cheap KDF) to an error or a secret, never a panic;
//! * **the node's own decoders**: direct messages between nodes (whose sync responses are checked as catch-up
//!   checks them), the genesis file (TOML; what reads back is what was written), and the JSON-RPC parameters
//!   (the node's parameter parsers, routed by method name as the server routes them).
//!
//! The targets are plain functions ([`TARGETS`]), run three ways: by AFL++ through `src/bin/fuzz.rs` (`cargo afl`,
//! on the stable toolchain; see the README), by `tests/afl.rs` for a bounded time per target in CI, and by
//! `tests/corpus.rs`, which runs every committed corpus input and every crash ever found (`crashes/<target>/`)
//! as a regression test in the ordinary test suite. Seed corpora (`corpus/<target>/`) are real values made by
//! [`seeds`] from a deterministic chain ([`fixture`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod fixture;
pub mod seeds;

use ctchain_codec::{Decode, Encode};
use ctchain_crypto::Transaction;
use ctchain_keystore::KeystoreFile;
use ctchain_ledger::{Block, EncodedBlock, Genesis, LedgerTx, VerifiedLedgerTx};
use ctchain_pbft::{CommittedBlock, Input, Message};

/// A fuzz target: arbitrary bytes in, a panic only on a bug.
pub type Target = fn(&[u8]);

/// Every target, by name (the name is the corpus directory and the argument of the AFL++ binary).
pub const TARGETS: &[(&str, Target)] = &[
    ("transaction", transaction),
    ("ledger_tx", ledger_tx),
    ("block", block),
    ("genesis", genesis),
    ("consensus", consensus),
    ("committed", committed),
    ("keystore", keystore),
    ("direct", direct),
    ("genesis_toml", genesis_toml),
    ("rpc_params", rpc_params),
];

/// The target named `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Decodes `data` as a `T`; when that succeeds, checks the encoding is canonical and returns the value.
fn canonical<T: Decode + Encode>(what: &str, data: &[u8]) -> Option<T> {
    let value = T::from_bytes(data).ok()?;
    assert!(value.to_bytes() == data, "{what}: a non-canonical encoding was accepted");
    Some(value)
}

/// A confidential transaction (`tx_submit`'s bytes); what decodes is verified.
pub fn transaction(data: &[u8]) {
    if let Some(tx) = canonical::<Transaction>("transaction", data) {
        let _ = fixture::get().verifier.confidential.verify(tx);
    }
}

/// A tagged ledger transaction (gossip and blocks carry these): every kind, verified as admission does.
pub fn ledger_tx(data: &[u8]) {
    if let Some(tx) = canonical::<LedgerTx>("ledger transaction", data) {
        let _ = VerifiedLedgerTx::verify(tx, &fixture::get().verifier);
    }
}

/// A ledger block (a proposal's payload, a synced block), decoded both ways a node does and verified.
pub fn block(data: &[u8]) {
    if let Some(block) = canonical::<Block>("block", data) {
        let _ = block.verify(&fixture::get().verifier);
    }
    if let Ok(encoded) = EncodedBlock::from_bytes(data) {
        let _ = encoded.verify(&fixture::get().verifier);
    }
}

/// A genesis in its canonical encoding (what its hash covers).
pub fn genesis(data: &[u8]) {
    if let Some(genesis) = canonical::<Genesis>("genesis", data) {
        let _ = genesis.hash();
    }
}

/// A consensus message from a peer, decoded and handed to a live replica (validator 1 of the fixture's four,
/// fresh for every input), whose outputs are then encoded again.
pub fn consensus(data: &[u8]) {
    let _ = canonical::<Message>("consensus message", data);
    let mut replica = fixture::get().replica(1);
    let now = fixture::GENESIS_TIME_MS + 1_000;
    let _ = replica.handle(now, Input::Start);
    for output in replica.handle(now, Input::Message(data.to_vec())) {
        if let ctchain_pbft::Output::Send { message, .. } | ctchain_pbft::Output::Broadcast(message) = output {
            let _ = message.to_bytes();
        }
    }
}

/// A committed block with its certificate (catch-up responses, block gossip), checked against the validators.
pub fn committed(data: &[u8]) {
    if let Some(block) = canonical::<CommittedBlock>("committed block", data) {
        let f = fixture::get();
        let _ = ctchain_pbft::verify_committed(&f.validators, &ctchain_pbft::Ed25519Verifier, &block);
    }
}

/// A keystore file: parsed, and opened with the fixture's password when its KDF is cheap enough to run per input
/// (costlier parameters are bounded by the keystore itself: [`ctchain_keystore::KdfParams::MAX_MEMORY_KIB`]).
pub fn keystore(data: &[u8]) {
    let Ok(file) = serde_json::from_slice::<KeystoreFile>(data) else { return };
    let kdf = file.kdf_params();
    if kdf.memory_kib <= 256 && kdf.iterations <= 2 && kdf.parallelism <= 2 {
        let _ = file.open(fixture::PASSWORD);
        let _ = file.open_issuer(fixture::PASSWORD);
    }
}

/// A direct message between nodes: its channel frame, then the chain's message (consensus, sync request, sync
/// response), as the node decodes them; the entries of a sync response are checked as catch-up checks them.
pub fn direct(data: &[u8]) {
    use ctchain_node::channels::{Frame, FrameBody};
    let Some(frame) = canonical::<Frame>("channel frame", data) else { return };
    let FrameBody::Direct(wire) = frame.body else { return };
    if let Some(ctchain_node::node::Wire::SyncResponse(entries)) = canonical("direct message", &wire) {
        let f = fixture::get();
        for entry in entries {
            let _ = ctchain_pbft::verify_committed(&f.validators, &ctchain_pbft::Ed25519Verifier, &entry.committed);
        }
    }
}

/// A genesis file as `ctchain-node` reads it (TOML): what it accepts, written out again, reads back the same.
pub fn genesis_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(genesis) = ctchain_node::genesis_file::from_toml(text) {
        let again = ctchain_node::genesis_file::from_toml(&ctchain_node::genesis_file::to_toml(&genesis));
        assert!(again.as_ref().ok() == Some(&genesis), "a genesis written out does not read back: {again:?}");
    }
}

/// A JSON-RPC request body: the parameters of each method go through the node's own parsers (the server routes
/// by method name the same way), and a submission's bytes through the ledger decoder admission starts with.
pub fn rpc_params(data: &[u8]) {
    use ctchain_ledger::TxTag;
    use ctchain_node::rpc_server::{parse_hash, tagged_submission};
    let Ok(request) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let method = request.get("method").and_then(serde_json::Value::as_str).unwrap_or_default();
    let params = request.get("params").cloned().unwrap_or(serde_json::Value::Null);
    let first = params.get(0).cloned().unwrap_or(serde_json::Value::Null);
    let text = first.as_str().unwrap_or_default();
    let submit = |tag| {
        if let Ok(tagged) = tagged_submission(tag, text) {
            let _ = LedgerTx::from_bytes(&tagged);
        }
    };
    match method {
        "tx_submit" => submit(TxTag::Confidential),
        "audit_submitAccess" => submit(TxTag::AuditAccess),
        "shielded_submit" => submit(TxTag::Shielded),
        "tx_get" | "output_get" | "shielded_nullifier" | "tx_subscribeStatus" => {
            let _ = parse_hash("id", text);
        }
        "chain_getBlock" => {
            if let Ok(ctchain_rpc::BlockRef::Hash(hash)) = serde_json::from_value::<ctchain_rpc::BlockRef>(first) {
                let _ = parse_hash("hash", &hash);
            }
        }
        "outputs_range" => {
            let _ = serde_json::from_value::<(u64, u64)>(params);
        }
        "shielded_notes" => {
            let _ = serde_json::from_value::<(u64, u32)>(params);
        }
        _ => {}
    }
}
