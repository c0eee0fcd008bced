//! Exact conversion between an asset's display units (`"12.50"`) and its base units (`1250` with 2 decimals).

/// Why an amount text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not a plain non-negative decimal number.
    #[error("{0:?} is not an amount (expected digits with an optional decimal point, e.g. 12.50)")]
    Invalid(String),
    /// More decimal places than the asset has.
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

/// Parses `text` into base units of an asset with `decimals` decimal places, exactly.
pub fn parse_amount(text: &str, decimals: u8) -> Result<u64, AmountError> {
    let t = text.trim();
    let invalid = || AmountError::Invalid(text.to_owned());
    let (int_part, frac_part) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
        || (t.contains('.') && frac_part.is_empty())
    {
        return Err(invalid());
    }
    let significant_frac = frac_part.trim_end_matches('0');
    if significant_frac.len() > usize::from(decimals) {
        return Err(AmountError::TooManyDecimals { text: text.to_owned(), places: frac_part.len(), decimals });
    }
    let overflow = || AmountError::Overflow(text.to_owned());
    let scale = 10u64.checked_pow(u32::from(decimals)).ok_or_else(overflow)?;
    let int_value: u64 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| overflow())? };
    let mut frac_value = 0u64;
    for (i, d) in significant_frac.bytes().enumerate() {
        let place = 10u64.pow(u32::from(decimals) - 1 - i as u32);
        frac_value += u64::from(d - b'0') * place;
    }
    int_value.checked_mul(scale).and_then(|v| v.checked_add(frac_value)).ok_or_else(overflow)
}

/// Formats base units in display units, with exactly `decimals` places.
pub fn format_amount(units: u64, decimals: u8) -> String {
    if decimals == 0 {
        return units.to_string();
    }
    let scale = 10u128.pow(u32::from(decimals));
    let units = u128::from(units);
    format!("{}.{:0width$}", units / scale, units % scale, width = usize::from(decimals))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimal_text_converts_exactly() {
        assert_eq!(parse_amount("12.50", 2), Ok(1250));
        assert_eq!(parse_amount("0.1", 2), Ok(10));
        assert_eq!(parse_amount(".5", 2), Ok(50));
        assert_eq!(parse_amount("7", 2), Ok(700));
        assert_eq!(parse_amount("1.230", 2), Ok(123), "trailing zeros are not extra precision");
        assert_eq!(parse_amount("18446744073709551615", 0), Ok(u64::MAX));
        assert_eq!(format_amount(1250, 2), "12.50");
        assert_eq!(format_amount(5, 3), "0.005");
        assert_eq!(format_amount(42, 0), "42");
    }

    #[test]
    fn bad_amounts_are_refused_with_the_reason() {
        assert!(matches!(parse_amount("1.234", 2), Err(AmountError::TooManyDecimals { places: 3, decimals: 2, .. })));
        assert!(matches!(parse_amount("0.5", 0), Err(AmountError::TooManyDecimals { .. })));
        for bad in ["", ".", "-1", "1.", "1,5", "1e3", "abc", "1.2.3", " + 1"] {
            assert!(matches!(parse_amount(bad, 2), Err(AmountError::Invalid(_))), "{bad:?}");
        }
        assert!(matches!(parse_amount("18446744073709551616", 0), Err(AmountError::Overflow(_))));
        assert!(matches!(parse_amount("184467440737095516.16", 2), Err(AmountError::Overflow(_))));
    }

    proptest! {
        #[test]
        fn formatting_then_parsing_is_the_identity(units in any::<u64>(), decimals in 0u8..=18) {
            prop_assert_eq!(parse_amount(&format_amount(units, decimals), decimals), Ok(units));
        }
    }
}
