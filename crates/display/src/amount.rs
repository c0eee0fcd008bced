//! Exact conversion between an asset's display units (`"12.50"`) and its base units (`1250` with 2 decimals).
//!
//! One grammar for every amount a person writes — on the wallet's command line or in a rule file: ASCII digits,
//! optionally a point followed by at least one digit (`12`, `12.5`, `0.05`; not `.5`, `5.`, `1,000`, `+1`,
//! `1e3` or surrounding spaces). Trailing zeros past the asset's decimals are not extra precision (`1.230` at 2
//! decimals is `1.23`); any other digit there is refused, never rounded away.

/// Why an amount text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Nothing was given.
    #[error("the amount is empty")]
    Empty,
    /// Not a plain non-negative decimal number.
    #[error("{0:?} is not an amount (expected digits with an optional decimal point, e.g. 12.50)")]
    NotDecimal(String),
    /// More significant decimal places than the asset has.
    #[error("{text:?} has {places} decimal places, the asset has {decimals}")]
    TooManyDecimals {
        /// The text.
        text: String,
        /// Places given.
        places: usize,
        /// The asset's decimals.
        decimals: u8,
    },
    /// Larger than 2⁶⁴ − 1 base units.
    #[error("{0:?} is too large for this asset")]
    Overflow(String),
}

/// Parses `text` into base units of an asset with `decimals` decimal places, exactly (see the module
/// documentation for the grammar).
pub fn parse_amount(text: &str, decimals: u8) -> Result<u64, AmountError> {
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || (text.contains('.') && fraction.is_empty()) {
        return Err(AmountError::NotDecimal(text.to_owned()));
    }
    let significant = fraction.trim_end_matches('0');
    if significant.len() > usize::from(decimals) {
        return Err(AmountError::TooManyDecimals { text: text.to_owned(), places: fraction.len(), decimals });
    }
    let overflow = || AmountError::Overflow(text.to_owned());
    let padding = usize::from(decimals) - significant.len();
    let mut units: u64 = 0;
    for digit in whole.bytes().chain(significant.bytes()).chain(std::iter::repeat_n(b'0', padding)) {
        units = units.checked_mul(10).and_then(|u| u.checked_add(u64::from(digit - b'0'))).ok_or_else(overflow)?;
    }
    Ok(units)
}

/// Base units in display units with exactly `decimals` places and no separators (`1250` at 2 → `"12.50"`): what
/// JSON output and the wallet's tables show, and what [`parse_amount`] reads back.
pub fn format_amount(units: u128, decimals: u8) -> String {
    let (whole, fraction) = split(units, decimals);
    join(&whole, &fraction)
}

/// Base units in display units with all decimals and thousands separators (`5000000` at 2 → `"50,000.00"`):
/// what reports and alerts show.
pub fn format_grouped(units: u128, decimals: u8) -> String {
    let (whole, fraction) = split(units, decimals);
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (position, character) in whole.chars().enumerate() {
        if position > 0 && (whole.len() - position) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(character);
    }
    join(&grouped, &fraction)
}

/// The whole part's digits and the fraction's `decimals` digits.
fn split(units: u128, decimals: u8) -> (String, String) {
    let digits = units.to_string();
    let decimals = usize::from(decimals);
    let padded = if digits.len() <= decimals { format!("{digits:0>width$}", width = decimals + 1) } else { digits };
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    (whole.to_owned(), fraction.to_owned())
}

fn join(whole: &str, fraction: &str) -> String {
    if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimal_text_converts_exactly() {
        assert_eq!(parse_amount("12.50", 2), Ok(1250));
        assert_eq!(parse_amount("0.1", 2), Ok(10));
        assert_eq!(parse_amount("7", 2), Ok(700));
        assert_eq!(parse_amount("50000.00", 2), Ok(5_000_000));
        assert_eq!(parse_amount("1.230", 2), Ok(123), "trailing zeros are not extra precision");
        assert_eq!(parse_amount("18446744073709551615", 0), Ok(u64::MAX));
        assert_eq!(parse_amount("184467440737095516.15", 2), Ok(u64::MAX));
    }

    #[test]
    fn bad_amounts_are_refused_with_the_reason() {
        assert_eq!(parse_amount("", 2), Err(AmountError::Empty));
        assert!(matches!(parse_amount("1.234", 2), Err(AmountError::TooManyDecimals { places: 3, decimals: 2, .. })));
        assert!(matches!(parse_amount("0.5", 0), Err(AmountError::TooManyDecimals { .. })));
        for bad in [".", ".5", "5.", "-1", "+1", "1,000", "1e3", "abc", "1.2.3", " 1", "1 ", "١"] {
            assert!(matches!(parse_amount(bad, 2), Err(AmountError::NotDecimal(_))), "{bad:?}");
        }
        assert!(matches!(parse_amount("18446744073709551616", 0), Err(AmountError::Overflow(_))));
        assert!(matches!(parse_amount("184467440737095516.16", 2), Err(AmountError::Overflow(_))));
    }

    #[test]
    fn amounts_format_plain_or_grouped() {
        assert_eq!(format_amount(1250u128, 2), "12.50");
        assert_eq!(format_amount(5u128, 3), "0.005");
        assert_eq!(format_amount(42u128, 0), "42");
        assert_eq!(format_amount(5_000_000u128, 2), "50000.00");
        assert_eq!(format_grouped(5_000_000u128, 2), "50,000.00");
        assert_eq!(format_grouped(5u128, 2), "0.05");
        assert_eq!(format_grouped(1_234_567u128, 0), "1,234,567");
        assert_eq!(format_grouped(0u128, 3), "0.000");
        assert_eq!(format_grouped(u128::MAX, 18), "340,282,366,920,938,463,463.374607431768211455");
    }

    proptest! {
        #[test]
        fn formatting_then_parsing_is_the_identity(units in any::<u64>(), decimals in 0u8..=18) {
            prop_assert_eq!(parse_amount(&format_amount(units.into(), decimals), decimals), Ok(units));
            let grouped = format_grouped(units.into(), decimals);
            prop_assert_eq!(grouped.replace(',', ""), format_amount(units.into(), decimals));
        }
    }
}
