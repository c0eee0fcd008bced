//! Addresses as text: bech32m (BIP-350) with a human-readable prefix derived from the chain id.
//!
//! The 64-byte address (view key ‖ spend key) becomes `<prefix>1<data><checksum>`. The prefix is the chain id
//! lower-cased with everything but `a–z` and `0–9` removed (at most 20 characters), so an address of another
//! chain is recognised as such. The string is longer than the 90 characters BIP-350 was optimised for; its 30-bit
//! checksum still rejects a random corruption with probability 1 − 2⁻³⁰, and every single-character error in the
//! tests below is caught.
//!
//! A shielded address (owner tag ‖ compressed transmission key, 64 bytes) is written the same way with the
//! chain's prefix followed by `zs` (`ctchaindemo1zs1…`), so the two kinds cannot be confused: each decoder
//! recognises the other kind and says so.

use bech32::{Bech32m, Hrp};
use ctchain_circuits::ShieldedAddress;
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
    /// A shielded address where a confidential one is expected.
    #[error("this is a shielded address; pay it with `send --shielded`, or give a confidential address")]
    ShieldedGiven,
    /// A confidential address where a shielded one is expected.
    #[error("this is a confidential address; a shielded payment needs a shielded address (`shielded-address`)")]
    ConfidentialGiven,
    /// The payload is not a valid shielded address (owner tag and a Baby Jubjub key of the prime-order subgroup).
    #[error("shielded address does not hold a valid owner tag and transmission key")]
    BadShieldedKeys,
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

/// The shielded-address prefix of a chain: its address prefix followed by `zs`.
pub fn shielded_prefix_for_chain(chain_id: &str) -> String {
    format!("{}zs", prefix_for_chain(chain_id))
}

fn encode_with(prefix: &str, payload: &[u8]) -> String {
    let hrp = Hrp::parse(prefix).expect("prefix is 1 to 22 lowercase alphanumerics");
    bech32::encode::<Bech32m>(hrp, payload).expect("a 64-byte payload is far below bech32m's limit")
}

/// Which kind of address a prefix names, for a decoder expecting the other.
enum Kind {
    Confidential,
    Shielded,
}

/// Checks the checksum and the prefix, and returns the payload of an address of kind `kind` for `chain_id`.
fn decode_with(chain_id: &str, text: &str, kind: Kind) -> Result<Vec<u8>, AddressError> {
    let checked = bech32::primitives::decode::CheckedHrpstring::new::<Bech32m>(text.trim())
        .map_err(|e| AddressError::Invalid(e.to_string()))?;
    let (confidential, shielded) = (prefix_for_chain(chain_id), shielded_prefix_for_chain(chain_id));
    let found = checked.hrp().to_lowercase();
    match kind {
        Kind::Confidential if found == shielded => return Err(AddressError::ShieldedGiven),
        Kind::Shielded if found == confidential => return Err(AddressError::ConfidentialGiven),
        Kind::Confidential if found != confidential => {
            return Err(AddressError::ForeignChain { expected: confidential, found })
        }
        Kind::Shielded if found != shielded => return Err(AddressError::ForeignChain { expected: shielded, found }),
        _ => {}
    }
    Ok(checked.byte_iter().collect())
}

/// Formats an address for `chain_id`.
pub fn encode_address(chain_id: &str, address: &Address) -> String {
    encode_with(&prefix_for_chain(chain_id), &address.to_bytes())
}

/// Parses an address for `chain_id`.
pub fn decode_address(chain_id: &str, text: &str) -> Result<Address, AddressError> {
    let bytes = decode_with(chain_id, text, Kind::Confidential)?;
    Address::from_bytes(&bytes).map_err(|_| AddressError::BadKeys)
}

/// Parses a confidential address of any chain (for matching a party by its keys, e.g. a regulator's watch list,
/// where the chain is not the question). A shielded address is refused.
pub fn decode_any_address(text: &str) -> Result<Address, AddressError> {
    let checked = bech32::primitives::decode::CheckedHrpstring::new::<Bech32m>(text.trim())
        .map_err(|e| AddressError::Invalid(e.to_string()))?;
    if checked.hrp().to_lowercase().ends_with("zs") {
        return Err(AddressError::ShieldedGiven);
    }
    let bytes: Vec<u8> = checked.byte_iter().collect();
    Address::from_bytes(&bytes).map_err(|_| AddressError::BadKeys)
}

/// Formats a shielded address for `chain_id`.
pub fn encode_shielded_address(chain_id: &str, address: &ShieldedAddress) -> String {
    encode_with(&shielded_prefix_for_chain(chain_id), &address.to_bytes())
}

/// Parses a shielded address for `chain_id`, validating its owner tag and transmission key.
pub fn decode_shielded_address(chain_id: &str, text: &str) -> Result<ShieldedAddress, AddressError> {
    let bytes = decode_with(chain_id, text, Kind::Shielded)?;
    let bytes: [u8; ctchain_circuits::keys::ADDRESS_BYTES] =
        bytes.try_into().map_err(|_| AddressError::BadShieldedKeys)?;
    ShieldedAddress::from_bytes(&bytes).map_err(|_| AddressError::BadShieldedKeys)
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

    #[test]
    fn shielded_addresses_round_trip_and_are_told_apart_from_confidential_ones() {
        let shielded = ctchain_circuits::SpendingKey::from_seed(&[6; 32]).address();
        let text = encode_shielded_address("ctchain-demo-1", &shielded);
        assert!(text.starts_with("ctchaindemo1zs1"), "{text}");
        assert_eq!(decode_shielded_address("ctchain-demo-1", &text), Ok(shielded));
        assert_eq!(decode_address("ctchain-demo-1", &text), Err(AddressError::ShieldedGiven));
        let confidential = encode_address("ctchain-demo-1", &WalletKeys::from_seed(&[6; 32]).address());
        assert_eq!(decode_shielded_address("ctchain-demo-1", &confidential), Err(AddressError::ConfidentialGiven));
        assert_eq!(
            decode_shielded_address("other-chain", &text),
            Err(AddressError::ForeignChain { expected: "otherchainzs".into(), found: "ctchaindemo1zs".into() })
        );
    }

    #[test]
    fn a_shielded_address_with_a_typo_or_an_invalid_key_is_refused() {
        let text = encode_shielded_address("bank-net", &ctchain_circuits::SpendingKey::from_seed(&[7; 32]).address());
        let sep = text.rfind('1').unwrap();
        for i in [sep + 1, sep + 40, text.len() - 1] {
            let mut typo = text.clone();
            let replacement = if &text[i..i + 1] == "q" { "p" } else { "q" };
            typo.replace_range(i..i + 1, replacement);
            assert!(matches!(decode_shielded_address("bank-net", &typo), Err(AddressError::Invalid(_))), "{typo}");
        }
        // A well-formed string whose payload is not an address: an owner tag above the field modulus.
        let unreduced = encode_with(&shielded_prefix_for_chain("bank-net"), &[0xff; 64]);
        assert_eq!(decode_shielded_address("bank-net", &unreduced), Err(AddressError::BadShieldedKeys));
        let short = encode_with(&shielded_prefix_for_chain("bank-net"), &[1; 32]);
        assert_eq!(decode_shielded_address("bank-net", &short), Err(AddressError::BadShieldedKeys));
    }
}
