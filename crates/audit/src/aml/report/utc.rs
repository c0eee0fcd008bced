//! How the report writes a time.

use super::compute::{DAY_MS, HOUR_MS, MINUTE_MS};

/// `ms` since the Unix epoch as ISO 8601 UTC with milliseconds: `2023-11-14T22:13:20.000Z`.
pub fn utc_text(ms: u64) -> String {
    let (year, month, day) = civil_from_days(ms / DAY_MS);
    let in_day = ms % DAY_MS;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / HOUR_MS,
        in_day % HOUR_MS / MINUTE_MS,
        in_day % MINUTE_MS / 1000,
        in_day % 1000
    )
}

/// Gregorian date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of a 400-year era.
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
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
        // The far end of the range still formats (a garbage timestamp must not panic).
        assert!(utc_text(u64::MAX).ends_with("Z"));
    }
}
