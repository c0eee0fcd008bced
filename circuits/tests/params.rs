//! Parameter files: written with their SM3 hashes, loaded only when they match, validated on decoding.

mod common;

use ctchain_circuits::params::{
    self, file_hash, proving_key_from_bytes, verifying_key_from_bytes, verifying_key_to_bytes, ParameterHashes,
    HASHES_FILE, PROVING_KEY_FILE, VERIFYING_KEY_FILE,
};
use ctchain_circuits::CircuitError;

#[test]
fn parameters_round_trip_through_files_pinned_by_sm3() {
    let (pk, vk) = common::keys();
    let dir = std::env::temp_dir().join(format!("ctchain-params-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let hashes = params::write_parameters(&dir, pk, vk).unwrap();
    assert_eq!(params::read_hashes(&dir).unwrap(), hashes);
    let sums = std::fs::read_to_string(dir.join(HASHES_FILE)).unwrap();
    assert_eq!(ParameterHashes::from_sums(&sums).unwrap(), hashes);
    assert_eq!(hashes.verifying_key, file_hash(&std::fs::read(dir.join(VERIFYING_KEY_FILE)).unwrap()));

    let (pk2, vk2, h2) = params::load_directory(&dir).unwrap();
    assert_eq!(h2, hashes);
    assert!(pk2 == *pk && vk2 == *vk);

    // A key that does not match its pinned hash is refused before it is decoded.
    let wrong = file_hash(b"another key");
    let err = params::load_verifying_key(&dir.join(VERIFYING_KEY_FILE), &wrong).unwrap_err();
    assert!(err.to_string().contains("hashes to"), "{err}");

    // One flipped bit in the verifying key file: refused by its hash, and, unpinned, by validation or magic.
    let mut bytes = std::fs::read(dir.join(VERIFYING_KEY_FILE)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    assert!(verifying_key_from_bytes(&bytes, Some(&hashes.verifying_key)).is_err());
    let mut no_magic = verifying_key_to_bytes(vk).unwrap();
    no_magic[0] ^= 1;
    assert!(matches!(verifying_key_from_bytes(&no_magic, None), Err(CircuitError::Parameters(_))));
    // A verifying key file passed off as a proving key.
    let vk_bytes = verifying_key_to_bytes(vk).unwrap();
    assert!(proving_key_from_bytes(&vk_bytes, None).is_err());
    // Trailing bytes.
    let mut long = vk_bytes.clone();
    long.push(0);
    assert!(verifying_key_from_bytes(&long, None).is_err());

    // A tampered SM3SUMS names the wrong hash: the directory no longer loads.
    std::fs::write(
        dir.join(HASHES_FILE),
        format!("{}  {PROVING_KEY_FILE}\n{}  {VERIFYING_KEY_FILE}\n", hashes.proving_key, wrong),
    )
    .unwrap();
    assert!(params::load_directory(&dir).is_err());
    assert!(ParameterHashes::from_sums("zz  transfer.pk\n").is_err());
    assert!(ParameterHashes::from_sums(&format!("{}  other.bin\n", hashes.proving_key)).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
