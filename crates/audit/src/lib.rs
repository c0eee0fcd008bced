//! # ctchain-audit: what regulators do with their audit keys
//!
//! Every output on a ctchain chain carries, for each audit key, decrypt handles proven (at validation time) to
//! encrypt its amount. This crate holds the regulators' side beyond single-key decryption (which is
//! `ctchain_crypto::AuditSecretKey::audit_output`):
//!
//! * [`threshold`]: an audit key split among `n` supervisors so that any `k` of them — and no fewer — can decrypt.
//!   The chain sees an ordinary audit public key; validators and senders cannot tell it is split. Each supervisor's
//!   partial decryption carries a DLEQ proof, so a wrong partial is detected and named before it spoils a result.
//!
//! * [`threshold_shielded`]: the same k-of-n split for the shielded pool's Baby Jubjub audit key, with
//!   Chaum–Pedersen-proven partials of the shared points its audit copies are read from. One on-chain access
//!   record carries both dealings, so the same supervisors authorise and decrypt both pools; a supervisor hands on
//!   one [`partials::PartialFile`] with its partial of each.
//!
//! * [`aml`]: anti-money-laundering rules (large-value, structuring, velocity, watch-list, rapid pass-through,
//!   memo mismatch) over decrypted audit records, and the JSON, CSV and HTML reports a supervisor reads.
//!
//! * [`decrypt`]: from chain outputs to the points a decryption needs and, once multiplied by the secret (whole or
//!   recombined), to exact amounts and [`aml::AuditRecord`]s — for the shielded pool too, whose outputs' audit
//!   copies (proven in the Groth16 circuit) the regulator's Baby Jubjub key reads; [`db`]: the regulator's local
//!   RocksDB audit database.
//!
//! * [`directory`]: the supervisor's KYC directory (address → customer, member bank), imported from CSV, which
//!   names the customers of the proven parties in records, reports and watch lists.
//!
//! * [`keys`]: a regulator's whole secrets (the confidential pool's Ristretto key and the shielded pool's Baby
//!   Jubjub key) and the keystore payload that holds both; a supervisor's shares of both ([`keys::SupervisorKeys`]).
//!
//! * [`evidence`]: bundles (transaction, block, commit certificate, inclusion proof, proven decryptions) that
//!   anyone checks offline against the genesis (the commit-certificate check is `ctchain_ledger::finality`).
//!
//! * [`cli`]: the `ctchain-audit` command line (keygen, decrypt, scan, access, partial, combine, log, aml, watch,
//!   evidence, verify-evidence); see `crates/audit/README.md` for a supervisor's workflow.
//!
//! ## Invariants
//! * A secret share never leaves [`threshold::KeyShare`]; what supervisors exchange ([`threshold::PartialDecryption`])
//!   reveals only `s_j·X` for the requested points `X`, proven consistent with the supervisor's public share key.
//! * Combination uses only partials whose proofs verify; fewer than `k` valid partials is an error, never a guess.
//! * A record's parties are the proven ones (receiver of each output, owner of a transaction's inputs, issuer): a
//!   memo's addresses only name them when they agree, and a memo that contradicts a proven field is flagged.
//! * Every partial decryption is bound to a request context (the on-chain audit-access record it answers), so a
//!   partial made for one authorised request cannot be reused for another.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aml;
pub mod cli;
pub mod db;
pub mod decrypt;
pub mod directory;
pub mod evidence;
pub mod keys;
pub mod partials;
pub mod threshold;
pub mod threshold_shielded;
