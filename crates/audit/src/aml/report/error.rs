//! Why a report could not be built, read or written.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Why a report could not be built, read or written.
#[derive(Debug, Error)]
pub enum ReportError {
    /// Two sources disagree on an asset's decimals, so amounts of that asset cannot be shown unambiguously.
    #[error(
        "asset {asset:?}: transaction {tx_id} says {found} decimals but {expected_from} says {expected}; amounts \
         would be shown off by a power of ten"
    )]
    DecimalsDisagree {
        /// Asset label.
        asset: String,
        /// Decimals the report uses for the asset.
        expected: u8,
        /// Where `expected` comes from: `"the rule file"` or the first record's transaction id.
        expected_from: String,
        /// The record that disagrees.
        tx_id: String,
        /// Its decimals.
        found: u8,
    },
    /// A bucket size of zero.
    #[error("the flow bucket size must be at least one millisecond")]
    ZeroBucket,
    /// The chosen bucket size cuts the period into more than [`MAX_BUCKETS`](super::MAX_BUCKETS) buckets.
    #[error("a bucket of {bucket_ms} ms cuts the period into {count} buckets; at most {max} are allowed")]
    TooManyBuckets {
        /// The bucket size asked for.
        bucket_ms: u64,
        /// How many buckets it gives.
        count: u64,
        /// [`MAX_BUCKETS`](super::MAX_BUCKETS).
        max: u64,
    },
    /// JSON that is not a report, or an amount field that is not a plain decimal string.
    #[error("report JSON is not valid: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON of another report format or version.
    #[error("report format {found:?} is not supported (expected {expected:?})")]
    UnsupportedFormat {
        /// The `format` field found.
        found: String,
        /// [`REPORT_FORMAT`](super::REPORT_FORMAT).
        expected: &'static str,
    },
    /// A report file is already there and replacing was not asked for. Nothing was written.
    #[error("{}: already exists; nothing was written (ask to overwrite to replace it)", path.display())]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// A file-system operation failed. No half-written report file is left behind.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}
