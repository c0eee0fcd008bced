//! # ctchain-display: amounts and times as people read and type them
//!
//! The chain counts in integer base units and milliseconds since the Unix epoch; people read `50,000.00 CNY`
//! and `2023-11-14 22:13:20 UTC`. Every client — the wallet, the regulator's tools, the devnet — converts through
//! this crate, so an amount typed into the wallet and the same amount in a rule file follow one rule, and a
//! report and a listing print a block's time the same way.
//!
//! ## Invariants
//! * Conversions are exact: [`amount::parse_amount`] never rounds (too many decimal places is an error), and
//!   formatting then parsing gives back the same base units.
//! * Formatting never fails or panics, whatever the input: a block time is chosen by its proposer, and a garbage
//!   one shows as what it is ([`time`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod amount;
pub mod time;
