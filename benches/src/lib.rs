//! Benchmarks that cross crates live in `benches/benches/` (each crate's own benchmarks stay in its `benches/`):
//! `admission` measures the node's one door for transactions (`ctchain_mempool::Admission`: decoding, duplicate
//! checks, proofs, the stateful check against a RocksDB ledger, the pool) against the raw verification of the
//! same transactions. This library is empty on purpose.
