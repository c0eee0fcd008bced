//! Addresses as text: bech32m (BIP-350) with a human-readable prefix derived from the chain id.
//!
//! The 64-byte address (view key ‖ spend key) becomes `<prefix>1<data><checksum>`. The prefix is the chain id
//! lower-cased with everything but `a–z` and `0–9` removed (at most 20 characters), so an address of another
//! chain is recognised as such. The string is longer than the 90 characters BIP-350 was optimised for; its 30-bit
//! checksum still rejects a random corruption with probability 1 − 2⁻³⁰, and every single-character error in the
//! tests below is caught.

use bech32::{Bech32m, Hrp};
use ctchain_codec::{Decode, Encode};
use ctchain_crypto::Address;

/// Why a text address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The text is not bech32m or its checksum fails (a typo).
    #[error("not a valid address (mistyped?): {0}")]
    Invalid(String),
    /// The address belongs to another chain.
    #[error("address is for chain prefix {found:?}, this chain's prefix is {expected:?}")]
    ForeignChain {
        /// This chain's prefix.
        expected: String,
        /// The address's prefix.
        found: String,
    },
    /// The payload is not a pair of valid keys.
    #[error("address does not hold two valid public keys")]
    BadKeys,
}

/// The address prefix of a chain.
pub fn prefix_for_chain(chain_id: &str) -> String {
    let p: String =
        chain_id.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).take(20).collect();
    if p.is_empty() {
        "ct".into()
    } else {
        p
    }
}

/// Formats an address for `chain_id`.
pub fn encode_address(chain_id: &str, address: &Address) -> String {
    let hrp = Hrp::parse(&prefix_for_chain(chain_id)).expect("prefix is 1 to 20 lowercase alphanumerics");
    bech32::encode::<Bech32m>(hrp, &address.to_bytes()).expect("a 64-byte payload is far below bech32m's limit")
}

/// Parses an address for `chain_id`.
pub fn decode_address(chain_id: &str, text: &str) -> Result<Address, AddressError> {
    let checked = bech32::primitives::decode::CheckedHrpstring::new::<Bech32m>(text.trim())
        .map_err(|e| AddressError::Invalid(e.to_string()))?;
    let expected = prefix_for_chain(chain_id);
    let found = checked.hrp().to_lowercase();
    if found != expected {
        return Err(AddressError::ForeignChain { expected, found });
    }
    let bytes: Vec<u8> = checked.byte_iter().collect();
    Address::from_bytes(&bytes).map_err(|_| AddressError::BadKeys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctchain_crypto::WalletKeys;

    #[test]
    fn addresses_round_trip_and_carry_the_chain_prefix() {
        let addr = WalletKeys::from_seed(&[3; 32]).address();
        let text = encode_address("ctchain-demo-1", &addr);
        assert!(text.starts_with("ctchaindemo11"), "{text}");
        assert_eq!(decode_address("ctchain-demo-1", &text), Ok(addr));
        assert_eq!(decode_address("ctchain-demo-1", &text.to_uppercase()), Ok(addr));
    }

    #[test]
    fn every_single_character_typo_is_rejected() {
        let addr = WalletKeys::from_seed(&[4; 32]).address();
        let text = encode_address("bank-net", &addr);
        let alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
        let sep = text.rfind('1').unwrap();
        for (i, original) in text.char_indices().skip(sep + 1) {
            for replacement in alphabet.chars().filter(|c| *c != original) {
                let mut typo = text.clone();
                typo.replace_range(i..i + 1, &replacement.to_string());
                assert!(decode_address("bank-net", &typo).is_err(), "typo at {i} accepted");
            }
        }
        let mut swapped: Vec<char> = text.chars().collect();
        swapped.swap(sep + 5, sep + 6);
        let swapped: String = swapped.into_iter().collect();
        if swapped != text {
            assert!(decode_address("bank-net", &swapped).is_err());
        }
    }

    #[test]
    fn an_address_of_another_chain_is_refused() {
        let addr = WalletKeys::from_seed(&[5; 32]).address();
        let text = encode_address("other-chain", &addr);
        assert_eq!(
            decode_address("ctchain-demo-1", &text),
            Err(AddressError::ForeignChain { expected: "ctchaindemo1".into(), found: "otherchain".into() })
        );
        assert!(matches!(decode_address("x", "not an address"), Err(AddressError::Invalid(_))));
    }
}
