//! Checking a ledger block's commit certificate offline, against the genesis validator keys only. The logic lives
//! in `ctchain_audit::finality`, so that auditors verifying evidence bundles and nodes following the chain run the
//! very same check.

pub use ctchain_audit::finality::{validator_set, verify_block_certificate, FinalityError};
