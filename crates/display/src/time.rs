//! Block times (milliseconds since the Unix epoch) as UTC text.
//!
//! Two styles over one conversion: [`utc_iso`] for files a machine may read back (reports, evidence bundles,
//! JSON), [`utc_text`] for a person reading a table. Past the year 9999, which four-digit years cannot write,
//! both give the offset from the epoch instead (`… ms after 1970-01-01T00:00:00.000Z`): a proposer chooses its
//! block's time, and a garbage one must show as what it is rather than fail a report.

use ::time::format_description::BorrowedFormatItem;
use ::time::macros::format_description;
use ::time::OffsetDateTime;

const ISO_8601_MS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
const READABLE: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");

/// ISO 8601 UTC with milliseconds: `2023-11-14T22:13:20.123Z`.
pub fn utc_iso(ms: u64) -> String {
    format(ms, ISO_8601_MS)
}

/// For people, to the second: `2023-11-14 22:13:20 UTC`.
pub fn utc_text(ms: u64) -> String {
    format(ms, READABLE)
}

fn format(ms: u64, style: &[BorrowedFormatItem<'static>]) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .filter(|time| time.year() <= 9999)
        .and_then(|time| time.format(style).ok())
        .unwrap_or_else(|| format!("{ms} ms after 1970-01-01T00:00:00.000Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(utc_iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc_iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc_iso(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(utc_iso(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(utc_iso(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        assert_eq!(utc_iso(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        assert_eq!(utc_text(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_text(1_700_000_000_999), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc_text(253_402_300_799_999), "9999-12-31 23:59:59 UTC");
    }

    #[test]
    fn times_past_year_9999_show_as_an_offset_in_both_styles() {
        let far = "253402300800000 ms after 1970-01-01T00:00:00.000Z";
        assert_eq!(utc_iso(253_402_300_800_000), far);
        assert_eq!(utc_text(253_402_300_800_000), far);
        assert!(utc_text(u64::MAX).starts_with("18446744073709551615 ms after"));
    }
}
