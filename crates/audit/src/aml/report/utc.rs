//! How the report writes a time.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

const ISO_8601_UTC_MS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// `ms` since the Unix epoch as ISO 8601 UTC with milliseconds: `2023-11-14T22:13:20.000Z`.
///
/// Past the year 9999, which four-digit ISO 8601 years cannot write, the time is given as an offset from the epoch
/// instead (`… ms after 1970-01-01T00:00:00.000Z`): block timestamps are chosen by proposers, and a garbage one
/// must show as what it is rather than fail the report.
pub fn utc_text(ms: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|time| time.format(ISO_8601_UTC_MS).ok())
        .unwrap_or_else(|| format!("{ms} ms after 1970-01-01T00:00:00.000Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_matches_known_dates() {
        assert_eq!(utc_text(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc_text(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc_text(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(utc_text(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(utc_text(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        assert_eq!(utc_text(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        // The far end of the range still formats (a garbage timestamp must not panic).
        assert_eq!(utc_text(253_402_300_800_000), "253402300800000 ms after 1970-01-01T00:00:00.000Z");
        assert!(utc_text(u64::MAX).ends_with("Z"));
    }
}
