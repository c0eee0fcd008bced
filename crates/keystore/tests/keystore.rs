//! The keystore: round trips, wrong passwords, tampering, recovery phrases, view-only wallets, atomic writes.

use ctchain_keystore::address::encode_address;
use ctchain_keystore::{KdfParams, KeyKind, KeystoreError, KeystoreFile, WalletSecret};
use rand_core::OsRng;

const CHAIN: &str = "ctchain-demo-1";

#[test]
fn a_keystore_opens_with_its_password_and_not_without() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.json");
    let secret = WalletSecret::generate(&mut OsRng);
    let address = secret.viewing_keys().address();
    KeystoreFile::seal(CHAIN, &secret, b"correct horse", KdfParams::TEST_ONLY, &mut OsRng)
        .unwrap()
        .write(&path, false)
        .unwrap();

    let file = KeystoreFile::read(&path).unwrap();
    assert_eq!(file.address, encode_address(CHAIN, &address), "the address is readable without the password");
    let opened = file.open(b"correct horse").unwrap();
    assert_eq!(opened.wallet_keys().unwrap().address(), address);
    assert!(matches!(file.open(b"wrong"), Err(KeystoreError::WrongPassword)));

    // Refuses to overwrite an existing wallet by accident; nothing changes.
    let other =
        KeystoreFile::seal(CHAIN, &WalletSecret::generate(&mut OsRng), b"x", KdfParams::TEST_ONLY, &mut OsRng).unwrap();
    assert!(matches!(other.write(&path, false), Err(KeystoreError::Exists(_))));
    assert!(KeystoreFile::read(&path).unwrap().open(b"correct horse").is_ok());
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn editing_the_public_fields_makes_the_keystore_unopenable() {
    let secret = WalletSecret::generate(&mut OsRng);
    let file = KeystoreFile::seal(CHAIN, &secret, b"pw", KdfParams::TEST_ONLY, &mut OsRng).unwrap();
    let json = serde_json::to_string(&file).unwrap();
    let other_address = encode_address(CHAIN, &WalletSecret::generate(&mut OsRng).viewing_keys().address());
    let tampered: KeystoreFile = serde_json::from_str(&json.replace(&file.address, &other_address)).unwrap();
    assert!(matches!(tampered.open(b"pw"), Err(KeystoreError::WrongPassword)));
    let wrong_version = json.replace("\"version\": 1", "\"version\": 9").replace("\"version\":1", "\"version\":9");
    let wrong_version: KeystoreFile = serde_json::from_str(&wrong_version).unwrap();
    assert!(matches!(wrong_version.open(b"pw"), Err(KeystoreError::Format(_))));
}

/// The KDF parameters come from the file: a crafted keystore asking for terabytes of memory (or years of passes)
/// is refused by its numbers, before anything is allocated or derived.
#[test]
fn a_keystore_asking_for_an_unbounded_kdf_cost_is_refused_before_any_work() {
    let secret = WalletSecret::generate(&mut OsRng);
    let file = KeystoreFile::seal(CHAIN, &secret, b"pw", KdfParams::TEST_ONLY, &mut OsRng).unwrap();
    let json = serde_json::to_string(&file).unwrap();
    assert!(json.contains("\"memory_kib\":64"), "{json}");
    for (field, value) in [("memory_kib", "4294967295"), ("iterations", "4294967295"), ("parallelism", "1000")] {
        let crafted = json.replace(
            &format!("\"{field}\":{}", if field == "memory_kib" { 64 } else { 1 }),
            &format!("\"{field}\":{value}"),
        );
        assert_ne!(crafted, json, "{field} was not replaced");
        let crafted: KeystoreFile = serde_json::from_str(&crafted).unwrap();
        match crafted.open(b"pw") {
            Err(KeystoreError::Format(reason)) => assert!(reason.contains("exceed the bounds"), "{field}: {reason}"),
            other => panic!("{field} = {value}: {:?}", other.map(|_| "opened")),
        }
    }
    // The default parameters stay well inside the bounds.
    let interactive = KdfParams::INTERACTIVE;
    assert!(interactive.memory_kib * 16 <= KdfParams::MAX_MEMORY_KIB);
}

#[test]
fn the_recovery_phrase_restores_exactly_the_same_wallet() {
    let secret = WalletSecret::generate(&mut OsRng);
    let phrase = secret.recovery_phrase().unwrap();
    assert_eq!(phrase.split_whitespace().count(), 24);
    let restored = WalletSecret::from_phrase(&phrase).unwrap();
    assert_eq!(restored.wallet_keys().unwrap().address(), secret.wallet_keys().unwrap().address());
    // A fixed phrase (all-zero entropy, BIP-39's test vector) so that the typo check below is deterministic: a
    // random phrase's 8-bit checksum would accept one word change in 256.
    let secret = WalletSecret::from_phrase(&format!("{} art", "abandon ".repeat(23).trim())).unwrap();
    let phrase = secret.recovery_phrase().unwrap();
    let restored = WalletSecret::from_phrase(&phrase).unwrap();
    assert_eq!(restored.wallet_keys().unwrap().address(), secret.wallet_keys().unwrap().address());
    // A changed word breaks the phrase's checksum.
    let mut words: Vec<&str> = phrase.split_whitespace().collect();
    words[3] = if words[3] == "abandon" { "ability" } else { "abandon" };
    assert!(matches!(WalletSecret::from_phrase(&words.join(" ")), Err(KeystoreError::Phrase(_))));
    // A 12-word phrase is not a ctchain phrase.
    let twelve = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    assert!(matches!(WalletSecret::from_phrase(twelve), Err(KeystoreError::Phrase(_))));
}

#[test]
fn a_view_only_keystore_sees_but_cannot_spend() {
    let full = WalletSecret::generate(&mut OsRng);
    let view = WalletSecret::ViewOnly(full.viewing_keys(), None);
    let file = KeystoreFile::seal(CHAIN, &view, b"pw", KdfParams::TEST_ONLY, &mut OsRng).unwrap();
    assert_eq!(file.kind, KeyKind::ViewOnly);
    let opened = file.open(b"pw").unwrap();
    assert_eq!(opened.viewing_keys().address(), full.viewing_keys().address());
    assert!(matches!(opened.wallet_keys(), Err(KeystoreError::ViewOnly)));
    assert!(matches!(opened.spending_key(), Err(KeystoreError::ViewOnly)));
    assert!(matches!(opened.recovery_phrase(), Err(KeystoreError::ViewOnly)));
    assert!(opened.shielded_viewing_key().is_none(), "a 64-byte view key sees no notes");
}

#[test]
fn a_full_wallet_has_a_shielded_key_from_its_seed_and_its_view_key_carries_the_shielded_part() {
    let full = WalletSecret::generate(&mut OsRng);
    let phrase = full.recovery_phrase().unwrap();
    let restored = WalletSecret::from_phrase(&phrase).unwrap();
    let address = full.spending_key().unwrap().address();
    assert_eq!(restored.spending_key().unwrap().address(), address, "the phrase restores the shielded key");
    assert_ne!(WalletSecret::generate(&mut OsRng).spending_key().unwrap().address(), address);

    // export-view-key → new --view-only: 128 bytes, and the view-only wallet sees the same notes' address.
    let view_key = full.view_key_bytes();
    assert_eq!(view_key.len(), 128);
    let view = WalletSecret::view_only_from_bytes(&view_key).unwrap();
    assert_eq!(view.shielded_viewing_key().unwrap().address(), address);
    let file = KeystoreFile::seal(CHAIN, &view, b"pw", KdfParams::TEST_ONLY, &mut OsRng).unwrap();
    let opened = file.open(b"pw").unwrap();
    assert_eq!(opened.shielded_viewing_key().unwrap().address(), address);
    assert_eq!(opened.view_key_bytes().as_slice(), view_key.as_slice());
    assert!(matches!(opened.spending_key(), Err(KeystoreError::ViewOnly)));

    // The legacy 64-byte key still makes a (notes-blind) view-only wallet; other lengths and bad keys are refused.
    assert!(WalletSecret::view_only_from_bytes(&view_key[..64]).unwrap().shielded_viewing_key().is_none());
    assert!(matches!(WalletSecret::view_only_from_bytes(&view_key[..100]), Err(KeystoreError::Format(_))));
    let mut bad = view_key.to_vec();
    bad[96..].fill(0); // a zero incoming viewing key
    assert!(matches!(WalletSecret::view_only_from_bytes(&bad), Err(KeystoreError::Format(_))));
}

#[test]
fn an_issuer_keystore_holds_a_signing_key_and_shows_its_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cny-issuer.json");
    let key = ctchain_crypto::SigningKey::random(&mut OsRng);
    let file = KeystoreFile::seal_issuer(CHAIN, &key, b"pw", KdfParams::TEST_ONLY, &mut OsRng).unwrap();
    assert_eq!(file.kind, KeyKind::Issuer);
    assert_eq!(file.address, hex::encode(key.public().as_bytes()), "the public key is readable for the genesis");
    file.write(&path, false).unwrap();
    let file = KeystoreFile::read(&path).unwrap();
    assert_eq!(file.open_issuer(b"pw").unwrap().public(), key.public());
    assert!(matches!(file.open_issuer(b"wrong"), Err(KeystoreError::WrongPassword)));
    // An issuer keystore is not a wallet, and a wallet is not an issuer key.
    assert!(matches!(file.open(b"pw"), Err(KeystoreError::WrongKind { found: KeyKind::Issuer, .. })));
    let wallet =
        KeystoreFile::seal(CHAIN, &WalletSecret::generate(&mut OsRng), b"pw", KdfParams::TEST_ONLY, &mut OsRng)
            .unwrap();
    assert!(matches!(wallet.open_issuer(b"pw"), Err(KeystoreError::WrongKind { found: KeyKind::Full, .. })));
    // The kind is refused before the password is tried: a wrong password still names the kind.
    let Err(err) = wallet.open_issuer(b"not the password") else { panic!("a wallet opened as an issuer key") };
    assert_eq!(err.to_string(), "this is a \"full\" keystore, not an issuer key");
}
