//! Error codes of the ctchain RPC (besides JSON-RPC's own `-32700`, `-32600`, `-32601`, `-32602`, `-32603`).
//! Every error of a transaction check also carries `data.check`, the name of the failed check.

/// A parameter is malformed: bad hex, wrong length, bad range (`-32602`, JSON-RPC's "invalid params").
pub const INVALID_PARAMS: i32 = -32602;
/// The transaction is not a canonical encoding (trailing bytes, bad point, bad tag, …).
pub const TX_ENCODING: i32 = 1001;
/// A stateless check failed: a proof, a signature, the chain id, the audit keys, ….
pub const TX_INVALID: i32 = 1002;
/// A check against the committed ledger failed: unknown or spent input, unknown asset, already on chain, ….
pub const TX_REJECTED: i32 = 1003;
/// The same transaction is already pending.
pub const TX_DUPLICATE: i32 = 1004;
/// The transaction spends an output that a pending transaction already spends.
pub const TX_CONFLICT: i32 = 1005;
/// The mempool is at its limit; retry later.
pub const MEMPOOL_FULL: i32 = 1006;
/// The transaction exceeds the largest allowed size.
pub const TX_TOO_LARGE: i32 = 1007;
/// A requested range is larger than the server serves in one call.
pub const RANGE_TOO_LARGE: i32 = 1010;
/// The chain has no shielded pool (its genesis names no shielded parameters).
pub const NO_SHIELDED_POOL: i32 = 1011;
/// The node could not read its storage or is shutting down.
pub const NODE_ERROR: i32 = 1020;
/// The request's path names no channel this node serves (`/channels/<id>`: the node is not a member, or the
/// channel does not exist).
pub const UNKNOWN_CHANNEL: i32 = 1030;
