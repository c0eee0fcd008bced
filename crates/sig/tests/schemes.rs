//! Both schemes: known answers, round trips, and every refusal with its name.

use ctchain_codec::{Decode, DecodeError, Encode};
use ctchain_sig::{PublicKey, Scheme, SigError, Signature};
use proptest::prelude::*;
use rand_core::SeedableRng;

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

#[test]
fn ed25519_matches_rfc_8032_test_1() {
    let secret: [u8; 32] =
        unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").try_into().unwrap();
    let key = Scheme::Ed25519.signing_key(&secret).unwrap();
    assert_eq!(key.public_key().as_bytes(), unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
    let sig = key.sign(b"");
    assert_eq!(
        sig.as_bytes(),
        unhex(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        )
    );
    assert_eq!(key.public_key().verify(b"", &sig), Ok(()));
}

#[test]
fn both_schemes_sign_deterministically_and_verify() {
    for scheme in Scheme::ALL {
        let key = scheme.signing_key(&[7; 32]).unwrap();
        let public = key.public_key();
        assert_eq!(public.scheme(), scheme);
        assert_eq!(public.as_bytes().len(), scheme.public_key_len());
        let sig = key.sign(b"prepare v0 n1");
        assert_eq!(sig.as_bytes().len(), scheme.signature_len());
        assert_eq!(key.sign(b"prepare v0 n1"), sig, "{scheme}: signing is deterministic");
        assert_eq!(public.verify(b"prepare v0 n1", &sig), Ok(()));
        assert_eq!(public.verify(b"prepare v0 n2", &sig), Err(SigError::Invalid { scheme }));
        let other = scheme.signing_key(&[8; 32]).unwrap().public_key();
        assert_eq!(other.verify(b"prepare v0 n1", &sig), Err(SigError::Invalid { scheme }));
    }
}

#[test]
fn a_signature_of_one_scheme_is_refused_by_name_under_a_key_of_the_other() {
    let ed = Scheme::Ed25519.signing_key(&[1; 32]).unwrap();
    let sm = Scheme::Sm2.signing_key(&[1; 32]).unwrap();
    let ed_sig = ed.sign(b"vote");
    // Both are 64 bytes: without the tag an Ed25519 vote on an SM2 chain would only be "a bad signature".
    assert_eq!(ed_sig.as_bytes().len(), sm.sign(b"vote").as_bytes().len());
    assert_eq!(
        sm.public_key().verify(b"vote", &ed_sig),
        Err(SigError::SchemeMismatch { expected: Scheme::Sm2, found: Scheme::Ed25519 })
    );
    assert_eq!(
        ed.public_key().verify(b"vote", &sm.sign(b"vote")),
        Err(SigError::SchemeMismatch { expected: Scheme::Ed25519, found: Scheme::Sm2 })
    );
}

#[test]
fn keys_and_signatures_round_trip_through_the_canonical_encoding_with_their_tag() {
    for scheme in Scheme::ALL {
        let key = scheme.signing_key(&[3; 32]).unwrap();
        let public = key.public_key();
        let bytes = public.to_bytes();
        assert_eq!(bytes[0], scheme.tag());
        assert_eq!(bytes.len(), 1 + scheme.public_key_len());
        assert_eq!(PublicKey::from_bytes(&bytes), Ok(public.clone()));
        let sig = key.sign(b"m");
        assert_eq!(Signature::from_bytes(&sig.to_bytes()), Ok(sig.clone()));
        for cut in 0..bytes.len() {
            assert!(PublicKey::from_bytes(&bytes[..cut]).is_err());
        }
        assert_eq!(PublicKey::from_text(&public.to_text()), Ok(public));
    }
    assert_eq!(PublicKey::from_bytes(&[9; 33]), Err(DecodeError::InvalidTag { field: "public key scheme", tag: 9 }));
    assert_eq!(Scheme::from_name("rsa"), Err(SigError::UnknownScheme("rsa".into())));
}

#[test]
fn only_valid_keys_exist() {
    // The Ed25519 identity (a small-order point) verifies forged signatures for many messages.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        PublicKey::new(Scheme::Ed25519, &identity),
        Err(SigError::MalformedKey { scheme: Scheme::Ed25519, reason: "a small-order point" })
    );
    // SM2: the compressed encoding only (one encoding per key), and only points on the curve.
    let sm = Scheme::Sm2.signing_key(&[5; 32]).unwrap().public_key();
    let mut wrong_prefix = sm.as_bytes().to_vec();
    wrong_prefix[0] = 0x04;
    assert_eq!(
        PublicKey::new(Scheme::Sm2, &wrong_prefix),
        Err(SigError::MalformedKey { scheme: Scheme::Sm2, reason: "not a compressed SEC1 point" })
    );
    // About half of all x have no point: the first such x after 0 is refused.
    let off_curve = (1u8..=255)
        .map(|x| {
            let mut bytes = [0u8; 33];
            bytes[0] = 0x02;
            bytes[32] = x;
            PublicKey::new(Scheme::Sm2, &bytes)
        })
        .find(Result::is_err)
        .expect("some x is not on the curve");
    assert_eq!(off_curve, Err(SigError::MalformedKey { scheme: Scheme::Sm2, reason: "not a curve point" }));
    assert!(matches!(
        PublicKey::new(Scheme::Sm2, &[0x02; 32]),
        Err(SigError::MalformedKey { reason: "wrong length", .. })
    ));
    // SM2 secrets: zero, n − 1 and anything not below n are not keys.
    let n_minus_1 = unhex("fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54122");
    let n = unhex("fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123");
    for secret in [vec![0u8; 32], n_minus_1, n, vec![0xff; 32]] {
        let secret: [u8; 32] = secret.try_into().unwrap();
        assert!(
            matches!(Scheme::Sm2.signing_key(&secret), Err(SigError::MalformedSecret { .. })),
            "{}",
            hex::encode(secret)
        );
    }
}

#[test]
fn sm2_signatures_with_r_or_s_out_of_range_are_malformed() {
    let key = Scheme::Sm2.signing_key(&[6; 32]).unwrap();
    let zero = Signature::new(Scheme::Sm2, &[0; 64]).unwrap();
    assert!(matches!(key.public_key().verify(b"m", &zero), Err(SigError::MalformedSignature { .. })));
    assert!(matches!(Signature::new(Scheme::Sm2, &[1; 63]), Err(SigError::MalformedSignature { .. })));
}

#[test]
fn generated_keys_differ_and_sign() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    for scheme in Scheme::ALL {
        let a = scheme.generate(&mut rng);
        let b = scheme.generate(&mut rng);
        assert_ne!(a.public_key(), b.public_key());
        assert_eq!(a.public_key().verify(b"x", &a.sign(b"x")), Ok(()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Any change to the message or to any byte of the signature is refused.
    #[test]
    fn every_mutation_is_refused(message in proptest::collection::vec(any::<u8>(), 0..200), flip in 0usize..64, bit in 0u8..8, sm2 in any::<bool>()) {
        let scheme = if sm2 { Scheme::Sm2 } else { Scheme::Ed25519 };
        let key = scheme.signing_key(&[9; 32]).unwrap();
        let sig = key.sign(&message);
        prop_assert_eq!(key.public_key().verify(&message, &sig), Ok(()));
        let mut bytes = sig.as_bytes().to_vec();
        bytes[flip] ^= 1 << bit;
        let mutated = Signature::new(scheme, &bytes).unwrap();
        prop_assert!(key.public_key().verify(&message, &mutated).is_err());
        let mut other = message.clone();
        other.push(0);
        prop_assert!(key.public_key().verify(&other, &sig).is_err());
    }
}

#[test]
fn an_sm2_point_in_either_sec1_form_is_one_key() {
    use sm2::elliptic_curve::sec1::ToEncodedPoint;
    let public = Scheme::Sm2.signing_key(&[4; 32]).unwrap().public_key();
    let point = sm2::PublicKey::from_sec1_bytes(public.as_bytes()).unwrap();
    let uncompressed = point.to_encoded_point(false).as_bytes().to_vec();
    assert_eq!(uncompressed.len(), 65);
    assert_eq!(PublicKey::sm2_from_sec1(&uncompressed), Ok(public.clone()));
    assert_eq!(PublicKey::sm2_from_sec1(public.as_bytes()), Ok(public));
    // An uncompressed point whose y does not belong to x is refused (compressing it would hide that).
    let mut wrong_y = uncompressed;
    wrong_y[64] ^= 1;
    assert_eq!(
        PublicKey::sm2_from_sec1(&wrong_y),
        Err(SigError::MalformedKey { scheme: Scheme::Sm2, reason: "not a curve point" })
    );
    assert!(matches!(PublicKey::sm2_from_sec1(&[0x05; 65]), Err(SigError::MalformedKey { .. })));
}
