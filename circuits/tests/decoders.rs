//! Every decoder of untrusted bytes: no panic on any input, and whatever decodes re-encodes to the same bytes
//! (one encoding per value, so an id computed over bytes cannot be changed by re-encoding).

mod common;

use ctchain_circuits::{AuditCiphertext, NoteCiphertext, ShieldedAddress, TransferProof, TransferStatement};
use ctchain_codec::{Decode, Encode};
use proptest::prelude::*;

fn honest_statement_bytes() -> Vec<u8> {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES
        .get_or_init(|| {
            let world = common::World::new(31);
            let mut rng = common::test_rng(331);
            world.alice_pays_bob(5).build(&mut rng).unwrap().statement.to_bytes()
        })
        .clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        if let Ok(s) = TransferStatement::from_bytes(&bytes) {
            prop_assert_eq!(s.to_bytes(), bytes.clone());
        }
        if let Ok(a) = AuditCiphertext::from_bytes(&bytes) {
            prop_assert_eq!(a.to_bytes(), bytes.clone());
        }
        if let Ok(n) = NoteCiphertext::from_bytes(&bytes) {
            prop_assert_eq!(n.to_bytes(), bytes.clone());
        }
        if let Ok(arr) = <[u8; 128]>::try_from(&bytes[..]) {
            if let Ok(p) = TransferProof::from_bytes(&arr) {
                prop_assert_eq!(p.to_bytes(), arr);
            }
        }
        if let Ok(arr) = <[u8; 64]>::try_from(&bytes[..]) {
            if let Ok(a) = ShieldedAddress::from_bytes(&arr) {
                prop_assert_eq!(a.to_bytes(), arr);
            }
        }
    }

    #[test]
    fn mutated_statements_are_refused_or_canonical(pos in 0usize..560, bit in 0u8..8) {
        let mut bytes = honest_statement_bytes();
        prop_assume!(pos < bytes.len());
        bytes[pos] ^= 1 << bit;
        if let Ok(s) = TransferStatement::from_bytes(&bytes) {
            prop_assert_eq!(s.to_bytes(), bytes);
        }
    }
}
