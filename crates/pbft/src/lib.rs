//! PBFT consensus core for ctchain: a pure, deterministic state machine and its seeded simulator.
//!
//! The core is Castro and Liskov's Practical Byzantine Fault Tolerance (OSDI 1999; TOCS 2002) with signatures,
//! ordering opaque block payloads for a permissioned chain of `n = 3f + 1` validators. It does no I/O: no network,
//! no disk, no clock, no threads, no randomness. A host (the node) feeds it [`Input`]s with its local time and
//! performs the [`Output`]s it returns, in order:
//!
//! ```text
//! let outputs = replica.handle(now_ms, input);   // same state + same inputs => same outputs
//! ```
//!
//! | input | meaning |
//! |---|---|
//! | [`Input::Message`] | bytes from the network (decoded, size-checked and signature-checked by the core) |
//! | [`Input::Timeout`] | a timer the core armed with [`Output::SetTimer`] expired |
//! | [`Input::Verdict`] | the application's answer to [`Output::Validate`] |
//! | [`Input::Propose`] | the application's payload after [`Output::NeedProposal`] (primary only) |
//! | [`Input::SyncedBlocks`] | committed blocks obtained elsewhere; accepted only with valid certificates |
//! | [`Input::NextEpoch`] | the application decided the next validator set in a block just delivered |
//! | [`Input::Start`] | arm the first timers after [`Replica::new`] or [`Replica::restore`] |
//!
//! | output | the host must |
//! |---|---|
//! | [`Output::Persist`] | make the state durable **before** performing any later output of the same call |
//! | [`Output::Send`], [`Output::Broadcast`] | transmit ([`Message`] has a canonical encoding) to validators of the message's epoch ([`Message::epoch`]) |
//! | [`Output::SetTimer`] | report [`Input::Timeout`] after the delay (stale timers are ignored, never cancel) |
//! | [`Output::Validate`] | check the payload, answer with [`Input::Verdict`] |
//! | [`Output::NeedProposal`] | answer with [`Input::Propose`] (an empty payload is fine) |
//! | [`Output::Deliver`] | store the block with its [`CommitCertificate`] and execute it; heights are gapless |
//!
//! # Map to the paper
//!
//! | paper | code |
//! |---|---|
//! | §4.1 views, primary `p = v mod n`, quorums | [`ValidatorSet::primary`], [`ValidatorSet::quorum`] (`n − f`, i.e. `2f + 1`) |
//! | §4.2 pre-prepare / prepare / commit, watermarks `h < n ≤ H` | `replica/normal_case.rs`: `Replica::{on_pre_prepare, on_prepare, on_commit, accept_pre_prepares, vote, execute}`; window [`Config::window`] |
//! | §4.2 `prepared(m, v, n, i)`, `committed-local` | `replica/normal_case.rs`: `Replica::vote`: pre-prepare + `2f` matching prepares from backups; `2f + 1` commits → [`CommitCertificate`] |
//! | §4.3 checkpoints, stable checkpoints, garbage collection | `replica/checkpoint.rs`: `Replica::{on_checkpoint, update_stable, set_stable}`, taken in `Replica::execute`; interval [`Config::checkpoint_interval`] |
//! | §4.4 VIEW-CHANGE with `C` and `P` | `replica/view_change.rs`: `Replica::{start_view_change, on_view_change}`, [`ViewChange`], [`ValidatorSet::verify_view_change`] |
//! | §4.2 `⟨⟨PRE-PREPARE, v, n, d⟩σp, m⟩`: the block beside the signed header; §4.4 "obtain the missing requests" | [`PrePrepare`] (signed header), [`Proposal`] (header and block); `replica/block_fetch.rs`: [`BlockRequest`] / [`BlockResponse`] by digest |
//! | §4.4 NEW-VIEW with `V` and `O` (`min-s`, `max-s`, null requests) | `replica/view_change.rs`: [`compute_o`], `Replica::{send_new_view, on_new_view, enter_new_view}` |
//! | §4.5.2 liveness: join on `f + 1` view changes, timer from `2f + 1`, doubling timeouts | `Replica::join_view_change` (`replica/view_change.rs`), `Replica::advance` (`replica/mod.rs`), `Replica::on_timeout` (`replica/timeout.rs`) |
//! | §4.3 "a replica that is behind obtains the missing state" (state transfer, detailed in the TOCS paper), simplified | `replica/catch_up.rs`: `FetchRequest` / `FetchResponse` of committed blocks with certificates, [`verify_committed`] |
//! | signatures on every message, as in the OSDI paper (BFT-PK in TOCS 2002), not MAC authenticators | [`Signed`], [`types::signing_digest`], [`Signer`] / [`Verifier`], [`Ed25519Signer`] |
//!
//! # Where the code is
//!
//! | module | what |
//! |---|---|
//! | [`replica`] | the state machine. `replica/mod.rs` holds [`Input`], [`Output`], the replica's state and [`Replica::handle`], which only dispatches to the handler of each input, in the file named after its message or phase: |
//! | `replica/normal_case.rs` | §4.2: pre-prepare, prepare, commit, the application's verdict, the primary's proposal, execution |
//! | `replica/checkpoint.rs` | §4.3: checkpoints, the stable checkpoint, garbage collection |
//! | `replica/view_change.rs` | §4.4, §4.5.2: view change, new view, [`compute_o`] |
//! | `replica/block_fetch.rs` | blocks that a new view's `O` names by digest, fetched from the replicas that prepared them |
//! | `replica/catch_up.rs` | fetch requests and responses, [`Input::SyncedBlocks`] |
//! | `replica/timeout.rs` | [`Input::Start`], [`Input::Timeout`], the doubling view timeout |
//! | `replica/config.rs` | [`Config`], [`ConfigError`] |
//! | `replica/epochs.rs` | [`Input::NextEpoch`], entering the next epoch, messages of earlier and later epochs |
//! | [`safety`] | [`SafetyRules`], the only holder of the key, and the [`PersistedState`] it guards |
//! | [`cert`] | [`ValidatorSet`] and every certificate check, shared with auditors and lagging nodes |
//! | [`epoch`] | [`EpochSchedule`]: the validator sets from the genesis on, and the rule that makes a change safe |
//! | [`types`] | the protocol values and their canonical encoding |
//! | [`crypto`] | the [`Signer`] / [`Verifier`] traits and Ed25519 |
//! | [`metrics`] | counters, every dropped input under its [`DropReason`] |
//! | [`sim`] | the seeded deterministic simulator and its checkers |
//!
//! # Invariants
//!
//! * **Agreement.** No two honest replicas deliver different blocks at one height. Within a view this follows
//!   from quorum intersection (two quorums of `2f + 1` share an honest replica, which prepares one digest per
//!   `(v, n)`); across views from `P`/`O`: a block committed at `n` was prepared by `f + 1` honest replicas, one of
//!   which is in every view-change quorum, so `O` re-proposes it (highest view wins), and [`compute_o`] is checked by
//!   every backup.
//! * **No honest double signing.** Only [`SafetyRules`] holds the key. It refuses a second digest for one
//!   `(kind, view, seq)`, anything below the highest view entered or asked for, anything at or below the stable
//!   checkpoint, and a second view change or new view for one view.
//! * **Persist before send.** [`Replica::handle`] puts [`Output::Persist`] first whenever the safety state changed
//!   (votes, prepared certificates `P`, stable checkpoint `C`, the view changes it signed). A replica restarted with
//!   [`Replica::restore`] from that state is therefore not a faulty one: it reports the same `P`, re-sends the same
//!   view changes, and cannot be led to sign a conflicting message.
//! * **Validity.** A data block is prepared by an honest backup only after the application accepted it
//!   ([`Output::Validate`]); a committed block had `f + 1` honest preparers. Null blocks are only created by `O`.
//! * **Finality evidence.** Every delivered block carries `2f + 1` commit signatures from distinct validators for
//!   exactly this block at exactly this height ([`Block::digest`] binds the chain id and the height).
//! * **Bad input never changes state.** Every input that is dropped is counted under a [`DropReason`] in
//!   [`Metrics`] and returns before any mutation.
//! * **Bounded view changes.** Prepared certificates, view changes and new views name blocks by digest, so their
//!   size depends on the window and the validator count, never on the block size. A block is executed only once
//!   held and checked against the digest its certificate names; a block fetched from a peer is checked the same way.
//! * **Determinism.** All collections whose order reaches outputs are `BTreeMap`/`BTreeSet`; the only time is
//!   `now_ms`.
//! * **Reconfiguration.** Every certificate is checked against the validator set of the epoch its sequence number
//!   lies in, and every signature binds its epoch. An epoch ends at a checkpoint at least one window above the
//!   block that decided the change, so no sequence number of the new epoch was ever voted on by the old set; the
//!   high-water mark never passes the epoch's end; a replica enters the next epoch when it executes that end,
//!   which becomes its stable checkpoint without signatures (as the genesis is), and views begin again at 0. A
//!   replica whose key is not in its epoch's set follows the chain from certified blocks without voting, and
//!   becomes a validator when it enters an epoch that names it. See [`epoch`] and `replica/epochs.rs`.
//!
//! # Time rule (fault-tolerant block time)
//!
//! The primary stamps a block with `max(now, previous block time + 1)`. A backup accepts a proposed data block at
//! `n` only if, with `prev` the block time after `n − 1` (so proposals are checked in sequence order),
//!
//! ```text
//! timestamp > prev   and   |timestamp − local_now| ≤ Δ        (Δ = Config::max_clock_skew_ms)
//! ```
//!
//! Otherwise it refuses to prepare and asks for a view change. Since a committed block was accepted by at least
//! `f + 1` honest replicas, **its timestamp is within Δ of some honest replica's clock at the time it accepted it**:
//! a Byzantine primary can shift block time by at most Δ (plus the skew between honest clocks), never further.
//! The delivered block time ([`Delivered::timestamp`]) is `max(timestamp, previous block time + 1)`, so it strictly
//! increases over data blocks even in the rare case where `O` re-proposes prepared blocks of different views out of
//! timestamp order; null blocks keep the previous block time.
//!
//! # Catch-up without trusting a peer
//!
//! A replica that learns from `f + 1` checkpoint messages (so from at least one honest replica) that the others
//! are ahead, or that adopts a new view's stable checkpoint above its last block, asks one peer at a time for the
//! missing committed blocks and accepts each only if [`verify_committed`] passes. A peer that lies or stays silent
//! costs one fetch timeout; the next peer is asked.
//!
//! # Simulation
//!
//! [`sim`] runs `n = 4` and `n = 7` replicas, and chains whose validator set changes (4 to 7 of 8 nodes, added,
//! removed and replaced, [`sim::Scenario::random_reconfiguring`]), deterministically from a seed, with delays, drops, duplicates,
//! reordering, two-way and one-way partitions, large blocks, crashes (including crashes between `Persist` and the
//! sends that follow it) and Byzantine replicas (equivocating primary, double voting, silence, invalid proposals,
//! replay, twins, lying fetch responses).
//! Independent checkers in [`sim::checkers`] assert agreement, validity, no honest double signing, persist-before-
//! send, the time rule, and liveness after healing. See `crates/pbft/README.md` for the campaign commands.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cert;
pub mod crypto;
pub mod epoch;
pub mod metrics;
pub mod replica;
pub mod safety;
pub mod sim;
pub mod types;

pub use cert::{verify_committed, CertError, EpochStart, ValidatorSet};
pub use crypto::{Ed25519Signer, Ed25519Verifier, SchemeSigner, SchemeVerifier, Signer, Verifier};
pub use epoch::{EpochSchedule, ScheduleError};
pub use metrics::{DropReason, Metrics};
pub use replica::{compute_o, Config, ConfigError, Delivered, Input, LedgerTip, Output, Replica, Timer};
pub use safety::{PersistedState, SafetyError, SafetyRules};
pub use types::{
    Block, BlockRequest, BlockResponse, Checkpoint, CheckpointProof, Commit, CommitCertificate, CommittedBlock, Epoch,
    FetchRequest, FetchResponse, Message, NewView, PrePrepare, Prepare, PreparedCert, Proposal, PublicKey, ReplicaId,
    Seq, Signature, Signed, View, ViewChange,
};
