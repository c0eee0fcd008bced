//! Exact conversion between display-unit decimal strings and integer base units.

use thiserror::Error;

/// Why a decimal amount string was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AmountError {
    /// Empty string.
    #[error("amount is empty")]
    Empty,
    /// A sign, exponent, space or other non-digit character.
    #[error("amount {0:?} is not a plain non-negative decimal number")]
    NotDecimal(String),
    /// More fractional digits than the asset has decimals.
    #[error("amount {text:?} has {found} decimals but the asset has only {allowed}")]
    TooManyDecimals {
        /// The text given.
        text: String,
        /// Fractional digits found.
        found: usize,
        /// The asset's decimals.
        allowed: u8,
    },
    /// Does not fit in a `u64` of base units.
    #[error("amount {0:?} is too large")]
    Overflow(String),
}

/// Parses `"50000.00"` into base units with `decimals` fractional digits, exactly.
///
/// `"0.1"` with 2 decimals is 10; `"1.234"` with 2 decimals is refused rather than rounded.
pub fn parse_display_amount(text: &str, decimals: u8) -> Result<u64, AmountError> {
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    // "5." and ".5" are refused: a rule file should say what it means.
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || (text.contains('.') && fraction.is_empty()) {
        return Err(AmountError::NotDecimal(text.to_owned()));
    }
    if fraction.len() > usize::from(decimals) {
        return Err(AmountError::TooManyDecimals { text: text.to_owned(), found: fraction.len(), allowed: decimals });
    }
    let overflow = || AmountError::Overflow(text.to_owned());
    let mut units: u64 = 0;
    let padding = usize::from(decimals) - fraction.len();
    for digit in whole.bytes().chain(fraction.bytes()).chain(std::iter::repeat_n(b'0', padding)) {
        units = units.checked_mul(10).and_then(|u| u.checked_add(u64::from(digit - b'0'))).ok_or_else(overflow)?;
    }
    Ok(units)
}

/// Formats base units in display units with all decimals and thousands separators: `5000000` at 2 → `"50,000.00"`.
pub fn format_display_amount(units: u128, decimals: u8) -> String {
    let digits = units.to_string();
    let decimals = usize::from(decimals);
    let padded = if digits.len() <= decimals {
        format!("{}{}", "0".repeat(decimals + 1 - digits.len()), digits)
    } else {
        digits
    };
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (position, character) in whole.chars().enumerate() {
        if position > 0 && (whole.len() - position) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(character);
    }
    if decimals == 0 {
        grouped
    } else {
        format!("{grouped}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly_and_refuses_rounding() {
        assert_eq!(parse_display_amount("0.1", 2), Ok(10));
        assert_eq!(parse_display_amount("50000.00", 2), Ok(5_000_000));
        assert_eq!(parse_display_amount("7", 0), Ok(7));
        assert_eq!(parse_display_amount("18446744073709551615", 0), Ok(u64::MAX));
        assert!(matches!(parse_display_amount("1.234", 2), Err(AmountError::TooManyDecimals { found: 3, .. })));
        assert!(matches!(parse_display_amount("18446744073709551616", 0), Err(AmountError::Overflow(_))));
        for bad in ["-1", "1e3", " 1", "1.", ".5", "1,000", "+1", "1.2.3"] {
            assert!(matches!(parse_display_amount(bad, 2), Err(AmountError::NotDecimal(_))), "{bad}");
        }
    }

    #[test]
    fn formats_with_separators_and_all_decimals() {
        assert_eq!(format_display_amount(5_000_000, 2), "50,000.00");
        assert_eq!(format_display_amount(5, 2), "0.05");
        assert_eq!(format_display_amount(1_234_567, 0), "1,234,567");
        assert_eq!(format_display_amount(0, 3), "0.000");
    }
}
