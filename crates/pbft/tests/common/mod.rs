//! Helpers shared by the integration tests: a 4-validator chain with known keys, and short descriptions of
//! outputs so that step tables read as the protocol does.
#![allow(dead_code)]

use ctchain_codec::{Encode, Hash32};
use ctchain_pbft::sim::{sim_secret, sim_validators, CHAIN_ID};
use ctchain_pbft::types::{signing_digest, Signable};
use ctchain_pbft::{
    Block, Commit, Config, Ed25519Signer, Ed25519Verifier, Input, Message, Output, PrePrepare, Prepare, Proposal,
    Replica, ReplicaId, Seq, Signed, Signer, View,
};

/// Local time of the replica under test in every step.
pub const NOW: u64 = 1_000_000;

pub fn config() -> Config {
    let mut c = Config::new(sim_validators(4));
    c.checkpoint_interval = 4;
    c.window = 8;
    c.view_timeout_ms = 500;
    c.max_clock_skew_ms = 2_000;
    c.max_message_bytes = 64 * 1024;
    c.max_view_ahead = 16;
    c
}

pub fn replica(me: ReplicaId) -> Replica {
    let signer = Box::new(Ed25519Signer::from_secret(sim_secret(me)));
    Replica::new(config(), signer, Box::new(Ed25519Verifier)).expect("valid config")
}

pub fn sign<T: Signable>(id: ReplicaId, body: T) -> Signed<T> {
    let digest = signing_digest(CHAIN_ID, 0, id, &body);
    Signed { body, epoch: 0, signer: id, signature: Ed25519Signer::from_secret(sim_secret(id)).sign(digest.as_bytes()) }
}

pub fn block(ts: u64, payload: &str) -> Block {
    Block::Data { timestamp: ts, payload: payload.as_bytes().to_vec() }
}

pub fn digest(b: &Block, seq: Seq) -> Hash32 {
    b.digest(CHAIN_ID, seq)
}

pub fn bytes(m: Message) -> Input {
    Input::Message(m.to_bytes())
}

/// A proposal: the header signed by `from`, with the block it names.
pub fn proposal(from: ReplicaId, view: View, seq: Seq, b: &Block) -> Proposal {
    Proposal { pre_prepare: sign(from, PrePrepare { view, seq, digest: digest(b, seq) }), block: b.clone() }
}

pub fn pre_prepare(from: ReplicaId, view: View, seq: Seq, b: &Block) -> Input {
    bytes(Message::PrePrepare(proposal(from, view, seq, b)))
}

pub fn prepare(from: ReplicaId, view: View, seq: Seq, d: Hash32) -> Input {
    bytes(Message::Prepare(sign(from, Prepare { view, seq, digest: d })))
}

pub fn commit(from: ReplicaId, view: View, seq: Seq, d: Hash32) -> Input {
    bytes(Message::Commit(sign(from, Commit { view, seq, digest: d })))
}

/// A short description of one output, e.g. `broadcast prepare v0 n1`, `deliver n1`, `persist`, `timer`.
pub fn describe(o: &Output) -> String {
    fn msg(m: &Message) -> String {
        match m {
            Message::PrePrepare(m) => format!("pre-prepare v{} n{}", m.pre_prepare.body.view, m.pre_prepare.body.seq),
            Message::Prepare(m) => format!("prepare v{} n{}", m.body.view, m.body.seq),
            Message::Commit(m) => format!("commit v{} n{}", m.body.view, m.body.seq),
            Message::Checkpoint(m) => format!("checkpoint n{}", m.body.seq),
            Message::ViewChange(m) => format!("view-change v{}", m.body.new_view),
            Message::NewView(m) => format!("new-view v{}", m.body.view),
            Message::FetchRequest(m) => format!("fetch {}..{}", m.body.from, m.body.to),
            Message::FetchResponse(m) => format!("blocks x{}", m.body.blocks.len()),
            Message::BlockRequest(m) => format!("block-request n{}", m.body.seq),
            Message::BlockResponse(m) => format!("block n{}", m.body.seq),
        }
    }
    match o {
        Output::Persist(_) => "persist".into(),
        Output::Send { to, message } => format!("send {to} {}", msg(message)),
        Output::Broadcast(m) => format!("broadcast {}", msg(m)),
        Output::SetTimer { .. } => "timer".into(),
        Output::Validate { seq, .. } => format!("validate n{seq}"),
        Output::NeedProposal { seq, .. } => format!("need proposal n{seq}"),
        Output::Deliver(d) => format!("deliver n{}", d.committed.seq),
    }
}

pub fn describe_all(outs: &[Output]) -> Vec<String> {
    outs.iter().map(describe).collect()
}

/// Runs a table of `(input, expected outputs)` steps on `r`, failing with the step number on the first mismatch.
pub fn run_table(r: &mut Replica, steps: Vec<(Input, Vec<&str>)>) -> Vec<Vec<Output>> {
    let mut all = Vec::new();
    for (i, (input, expected)) in steps.into_iter().enumerate() {
        let outs = r.handle(NOW, input);
        assert_eq!(describe_all(&outs), expected, "step {i}");
        all.push(outs);
    }
    all
}

/// Drives backup `r` (not replica 0) through the normal case for `seq` in view 0 with block `b`, with the other
/// replicas' votes, until it delivers.
pub fn commit_block(r: &mut Replica, seq: Seq, b: &Block) -> Vec<Output> {
    let d = digest(b, seq);
    let mut outs = Vec::new();
    outs.extend(r.handle(NOW, pre_prepare(0, 0, seq, b)));
    outs.extend(r.handle(NOW, Input::Verdict { view: 0, seq, digest: d, valid: true }));
    for id in [2, 3] {
        outs.extend(r.handle(NOW, prepare(id, 0, seq, d)));
    }
    for id in [0, 2, 3] {
        outs.extend(r.handle(NOW, commit(id, 0, seq, d)));
    }
    outs
}
