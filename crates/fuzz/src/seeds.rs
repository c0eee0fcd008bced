//! Seed inputs for every target: real values of the fixture chain — an issuance and a transfer, the blocks that
//! carry them, the genesis, every message four replicas exchange to commit those blocks and the committed blocks
//! with their certificates, and keystores of each kind. `tests/corpus.rs` writes them to `corpus/<target>/` when
//! asked (`CTCHAIN_FUZZ_WRITE_SEEDS=1`) and otherwise checks the committed corpus still holds them.

use std::collections::{BTreeSet, VecDeque};

use ctchain_codec::Encode;
use ctchain_crypto::{OutputId, Transaction};
use ctchain_keystore::{KdfParams, KeystoreFile, WalletSecret};
use ctchain_ledger::{Block, Ledger, LedgerTx, VerifiedLedgerTx};
use ctchain_pbft::{Input, Output};

use crate::fixture::{self, Fixture, CHAIN_ID, GENESIS_TIME_MS, PASSWORD};

/// Every target's seeds, by target name.
pub fn all() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let f = fixture::get();
    let (issuance, transfer) = transactions(f);
    let blocks = blocks(f, &issuance, &transfer);
    let (messages, committed) = consensus(&blocks);
    let (messages_for_direct, committed_for_direct) = (messages.clone(), committed.clone());
    vec![
        ("transaction", vec![issuance.to_bytes(), transfer.to_bytes()]),
        (
            "ledger_tx",
            vec![
                LedgerTx::Confidential(issuance.clone()).to_bytes(),
                LedgerTx::Confidential(transfer.clone()).to_bytes(),
            ],
        ),
        ("block", blocks.iter().map(Encode::to_bytes).collect()),
        ("genesis", vec![f.genesis.to_bytes()]),
        ("consensus", messages),
        ("committed", committed),
        ("keystore", keystores()),
        ("direct", direct(&messages_for_direct, &committed_for_direct)),
        ("genesis_toml", vec![ctchain_node::genesis_file::to_toml(&f.genesis).into_bytes()]),
        ("rpc_params", rpc_requests(&issuance, &blocks)),
    ]
}

/// An issuance of 1 000 CNY to Alice, and Alice paying Bob 250 of it.
fn transactions(f: &Fixture) -> (Transaction, Transaction) {
    let mut rng = fixture::rng(1);
    let builder = || ctchain_crypto::TransactionBuilder::new(CHAIN_ID, f.genesis.audit_keys.clone());
    let mut b = builder();
    b.issue(&f.issuer, f.asset, 1_000).pay(f.alice.address(), f.asset, 1_000, "issuance");
    let issuance = b.build(&mut rng).expect("the fixture's issuance builds");
    let vk = f.alice.viewing_keys();
    let owned = issuance
        .body
        .outputs
        .iter()
        .enumerate()
        .find_map(|(i, o)| vk.receive(OutputId::new(&issuance.id(), i as u32), o).and_then(Result::ok))
        .map(|received| f.alice.owned(&received))
        .expect("Alice receives the issuance");
    let mut b = builder();
    b.spend(owned).pay(f.bob.address(), f.asset, 250, "fuzz").change_to(f.alice.address());
    (issuance, b.build(&mut rng).expect("the fixture's transfer builds"))
}

/// Blocks 1 (the issuance) and 2 (the transfer) of the fixture chain, proposed and applied by a real ledger.
fn blocks(f: &Fixture, issuance: &Transaction, transfer: &Transaction) -> Vec<Block> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut ledger = Ledger::open(dir.path(), &f.genesis).expect("the fixture's genesis opens");
    let mut out = Vec::new();
    for (i, tx) in [issuance, transfer].into_iter().enumerate() {
        let verified = VerifiedLedgerTx::verify(LedgerTx::Confidential(tx.clone()), ledger.verifier())
            .expect("the fixture's transactions verify");
        let proposed = ledger
            .propose(vec![verified], i as u64 + 1, GENESIS_TIME_MS + 1_000 * (i as u64 + 1), i as u32, 0)
            .expect("the fixture's blocks apply");
        out.push(proposed.to_block());
        ledger.apply(proposed, None).expect("the fixture's blocks apply");
    }
    out
}

/// Four replicas committing `blocks` as payloads: every distinct message they send, and the committed blocks.
fn consensus(blocks: &[Block]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let f = fixture::get();
    let mut replicas: Vec<_> = (0..4).map(|i| f.replica(i)).collect();
    let mut payloads: VecDeque<Vec<u8>> = blocks.iter().map(Encode::to_bytes).collect();
    let mut queue: VecDeque<(usize, Input)> = (0..4).map(|i| (i, Input::Start)).collect();
    let mut messages = BTreeSet::new();
    let mut committed = BTreeSet::new();
    let now = GENESIS_TIME_MS + 10_000;
    let mut steps = 0;
    while let Some((at, input)) = queue.pop_front() {
        steps += 1;
        if steps > 20_000 {
            break;
        }
        for output in replicas[at].handle(now, input) {
            match output {
                Output::Send { to, message } => {
                    let bytes = message.to_bytes();
                    messages.insert(bytes.clone());
                    queue.push_back((to as usize, Input::Message(bytes)));
                }
                Output::Broadcast(message) => {
                    let bytes = message.to_bytes();
                    messages.insert(bytes.clone());
                    (0..4).filter(|to| *to != at).for_each(|to| queue.push_back((to, Input::Message(bytes.clone()))));
                }
                Output::Validate { view, seq, digest, .. } => {
                    queue.push_back((at, Input::Verdict { view, seq, digest, valid: true }))
                }
                Output::NeedProposal { .. } => {
                    if let Some(payload) = payloads.pop_front() {
                        queue.push_back((at, Input::Propose { payload }));
                    }
                }
                Output::Deliver(delivered) => {
                    committed.insert(delivered.committed.to_bytes());
                }
                Output::Persist(_) | Output::SetTimer { .. } => {}
            }
        }
    }
    (messages.into_iter().collect(), committed.into_iter().collect())
}

/// A full wallet, a view-only wallet and an issuer key, sealed with the cheap test KDF.
fn keystores() -> Vec<Vec<u8>> {
    let f = fixture::get();
    let mut rng = fixture::rng(2);
    let full = WalletSecret::generate(&mut rng);
    let view_only = WalletSecret::view_only_from_bytes(&full.view_key_bytes()).expect("a view key");
    let files = [
        KeystoreFile::seal(CHAIN_ID, &full, PASSWORD, KdfParams::TEST_ONLY, &mut rng),
        KeystoreFile::seal(CHAIN_ID, &view_only, PASSWORD, KdfParams::TEST_ONLY, &mut rng),
        KeystoreFile::seal_issuer(CHAIN_ID, &f.issuer, PASSWORD, KdfParams::TEST_ONLY, &mut rng),
    ];
    files
        .into_iter()
        .map(|file| serde_json::to_vec_pretty(&file.expect("the fixture's keystores seal")).expect("JSON"))
        .collect()
}

/// Direct messages: a consensus message, a sync request, and a sync response carrying the committed blocks.
fn direct(messages: &[Vec<u8>], committed: &[Vec<u8>]) -> Vec<Vec<u8>> {
    use ctchain_codec::Decode;
    use ctchain_node::consensus_store::LogEntry;
    use ctchain_node::node::Wire;
    let entries = committed
        .iter()
        .map(|bytes| {
            let committed = ctchain_pbft::CommittedBlock::from_bytes(bytes).expect("a committed seed decodes");
            let timestamp = committed.block.timestamp().unwrap_or(GENESIS_TIME_MS);
            LogEntry { committed, timestamp, chain_digest: ctchain_codec::Hash32([7; 32]) }
        })
        .collect();
    use ctchain_node::channels::{direct_frame, Scope};
    vec![
        direct_frame(Scope::System, Wire::Consensus(messages[0].clone()).to_bytes()),
        direct_frame(Scope::Channel("x".into()), Wire::SyncRequest { from: 1, to: 64 }.to_bytes()),
        direct_frame(Scope::System, Wire::SyncResponse(entries).to_bytes()),
    ]
}

/// A request for each method that takes parameters.
fn rpc_requests(issuance: &Transaction, blocks: &[Block]) -> Vec<Vec<u8>> {
    let id = issuance.id().to_string();
    let hash = hex::encode(blocks[0].header.hash().0);
    let requests = [
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tx_submit", "params": [hex::encode(issuance.to_bytes())]}),
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tx_get", "params": [id]}),
        serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "chain_getBlock", "params": [{"hash": hash}]}),
        serde_json::json!({"jsonrpc": "2.0", "id": 4, "method": "chain_getBlock", "params": [{"height": 1}]}),
        serde_json::json!({"jsonrpc": "2.0", "id": 5, "method": "outputs_range", "params": [1, 2]}),
        serde_json::json!({"jsonrpc": "2.0", "id": 6, "method": "shielded_notes", "params": [0, 10]}),
        serde_json::json!({"jsonrpc": "2.0", "id": 7, "method": "audit_submitAccess", "params": ["00"]}),
    ];
    requests.iter().map(|r| serde_json::to_vec(r).expect("JSON")).collect()
}
