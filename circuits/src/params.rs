//! Parameter files: the transfer circuit's proving and verifying keys on disk, pinned by SM3 hashes.
//!
//! Layout of a parameter directory (written by `ctchain-params setup`):
//!
//! * `transfer.pk`: [`PROVING_KEY_MAGIC`] then the arkworks uncompressed proving key;
//! * `transfer.vk`: [`VERIFYING_KEY_MAGIC`] then the arkworks compressed verifying key;
//! * `SM3SUMS`: one line per file, `<64 hex digits of SM3(file bytes)>  <file name>`, the format of
//!   `sha256sum`, so any standard SM3 tool can check the files.
//!
//! Loading is validated end to end: the bytes must hash to the pinned value (the genesis pins the verifying
//! key's hash), carry the right magic, deserialise with arkworks' checked mode (every point on its curve and
//! in the prime-order subgroup, every coordinate reduced), use every byte, and have exactly the transfer
//! circuit's number of public inputs.

use std::path::Path;

use ark_bn254::Bn254;
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, SerializationError, Valid, Validate};
use ctchain_codec::hash::sm3_plain;
use ctchain_codec::Hash32;
use rayon::prelude::*;

use crate::transfer::{TransferProvingKey, TransferVerifyingKey};
use crate::CircuitError;

/// File name of the proving key.
pub const PROVING_KEY_FILE: &str = "transfer.pk";
/// File name of the verifying key.
pub const VERIFYING_KEY_FILE: &str = "transfer.vk";
/// File name of the hash list.
pub const HASHES_FILE: &str = "SM3SUMS";
/// First bytes of a proving key file: which circuit, which curve, which format version.
pub const PROVING_KEY_MAGIC: &[u8] = b"ctchain/groth16-bn254/transfer-2x2/v1/pk\n";
/// First bytes of a verifying key file.
pub const VERIFYING_KEY_MAGIC: &[u8] = b"ctchain/groth16-bn254/transfer-2x2/v1/vk\n";

/// The proving key is stored uncompressed: decompression takes a square root per point (about 9 s for the
/// 5.8 MB compressed key on this machine), while checking uncompressed points needs none. The verifying key is
/// small and stays compressed.
const PROVING_KEY_COMPRESS: Compress = Compress::No;

/// SM3 of a parameter file's bytes (plain SM3, so external tools can check it).
pub fn file_hash(bytes: &[u8]) -> Hash32 {
    sm3_plain(bytes)
}

/// The bytes of a proving key file.
pub fn proving_key_to_bytes(pk: &TransferProvingKey) -> Result<Vec<u8>, CircuitError> {
    let mut out = PROVING_KEY_MAGIC.to_vec();
    pk.0.serialize_with_mode(&mut out, PROVING_KEY_COMPRESS)
        .map_err(|e| CircuitError::Parameters(format!("serialise proving key: {e}")))?;
    Ok(out)
}

/// The bytes of a verifying key file.
pub fn verifying_key_to_bytes(vk: &TransferVerifyingKey) -> Result<Vec<u8>, CircuitError> {
    let mut out = VERIFYING_KEY_MAGIC.to_vec();
    vk.vk
        .serialize_compressed(&mut out)
        .map_err(|e| CircuitError::Parameters(format!("serialise verifying key: {e}")))?;
    Ok(out)
}

fn check_hash(bytes: &[u8], expected: Option<&Hash32>, what: &str) -> Result<(), CircuitError> {
    if let Some(expected) = expected {
        let got = file_hash(bytes);
        if got != *expected {
            return Err(CircuitError::Parameters(format!("{what} hashes to {got}, expected {expected}")));
        }
    }
    Ok(())
}

fn strip_magic<'a>(bytes: &'a [u8], magic: &[u8], what: &str) -> Result<&'a [u8], CircuitError> {
    bytes
        .strip_prefix(magic)
        .ok_or_else(|| CircuitError::Parameters(format!("{what} is not a transfer-circuit key of this version")))
}

/// Checks the hash and the magic, then decodes the (small) body with arkworks' checked mode, using every byte.
fn decode_key<T: CanonicalDeserialize>(
    bytes: &[u8],
    expected: Option<&Hash32>,
    magic: &[u8],
    what: &str,
) -> Result<T, CircuitError> {
    check_hash(bytes, expected, what)?;
    let mut body = strip_magic(bytes, magic, what)?;
    let key = T::deserialize_with_mode(&mut body, Compress::Yes, Validate::Yes)
        .map_err(|e| CircuitError::Parameters(format!("{what} does not decode: {e}")))?;
    if !body.is_empty() {
        return Err(CircuitError::Parameters(format!("{} trailing bytes after the {what}", body.len())));
    }
    Ok(key)
}

/// Checks every point of a proving key (on its curve, in the prime-order subgroup), in parallel: the ~30k G2
/// subgroup checks are what loading costs, and arkworks' own batch check runs them on one thread.
fn validate_proving_key(pk: &ProvingKey<Bn254>) -> Result<(), SerializationError> {
    fn all<T: Valid + Sync>(points: &[T]) -> Result<(), SerializationError> {
        points.par_chunks(256).try_for_each(|chunk| chunk.iter().try_for_each(Valid::check))
    }
    pk.vk.check()?;
    pk.beta_g1.check()?;
    pk.delta_g1.check()?;
    all(&pk.a_query)?;
    all(&pk.b_g1_query)?;
    all(&pk.b_g2_query)?;
    all(&pk.h_query)?;
    all(&pk.l_query)
}

/// Decodes a proving key file, checking its hash when `expected` is given.
pub fn proving_key_from_bytes(bytes: &[u8], expected: Option<&Hash32>) -> Result<TransferProvingKey, CircuitError> {
    check_hash(bytes, expected, "proving key")?;
    let mut body = strip_magic(bytes, PROVING_KEY_MAGIC, "proving key")?;
    // Decoded unchecked, then every point is validated below (in parallel) before the key is used.
    let pk = ProvingKey::<Bn254>::deserialize_with_mode(&mut body, PROVING_KEY_COMPRESS, Validate::No)
        .map_err(|e| CircuitError::Parameters(format!("proving key does not decode: {e}")))?;
    if !body.is_empty() {
        return Err(CircuitError::Parameters(format!("{} trailing bytes after the proving key", body.len())));
    }
    validate_proving_key(&pk)
        .map_err(|e| CircuitError::Parameters(format!("proving key has an invalid point: {e}")))?;
    let pk = TransferProvingKey(pk);
    // Refuse a proving key of another circuit shape.
    pk.verifying_key()?;
    Ok(pk)
}

/// Decodes a verifying key file, checking its hash when `expected` is given.
pub fn verifying_key_from_bytes(bytes: &[u8], expected: Option<&Hash32>) -> Result<TransferVerifyingKey, CircuitError> {
    TransferVerifyingKey::new(decode_key::<VerifyingKey<Bn254>>(bytes, expected, VERIFYING_KEY_MAGIC, "verifying key")?)
}

/// The hashes of a parameter directory's two key files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParameterHashes {
    /// SM3 of `transfer.pk`.
    pub proving_key: Hash32,
    /// SM3 of `transfer.vk` (what the genesis pins).
    pub verifying_key: Hash32,
}

impl ParameterHashes {
    /// The `SM3SUMS` text.
    pub fn to_sums(&self) -> String {
        format!("{}  {PROVING_KEY_FILE}\n{}  {VERIFYING_KEY_FILE}\n", self.proving_key, self.verifying_key)
    }

    /// Parses `SM3SUMS` text; both files must be listed exactly once, nothing else.
    pub fn from_sums(text: &str) -> Result<Self, CircuitError> {
        let mut pk = None;
        let mut vk = None;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (hex, name) = line
                .split_once("  ")
                .ok_or_else(|| CircuitError::Parameters(format!("{HASHES_FILE}: malformed line {line:?}")))?;
            let hash = Hash32::from_hex(hex)
                .ok_or_else(|| CircuitError::Parameters(format!("{HASHES_FILE}: bad hash {hex:?}")))?;
            let slot = match name {
                PROVING_KEY_FILE => &mut pk,
                VERIFYING_KEY_FILE => &mut vk,
                other => return Err(CircuitError::Parameters(format!("{HASHES_FILE}: unknown file {other:?}"))),
            };
            if slot.replace(hash).is_some() {
                return Err(CircuitError::Parameters(format!("{HASHES_FILE}: {name} listed twice")));
            }
        }
        match (pk, vk) {
            (Some(proving_key), Some(verifying_key)) => Ok(Self { proving_key, verifying_key }),
            _ => Err(CircuitError::Parameters(format!(
                "{HASHES_FILE} must list {PROVING_KEY_FILE} and {VERIFYING_KEY_FILE}"
            ))),
        }
    }
}

fn io(path: &Path, e: std::io::Error) -> CircuitError {
    CircuitError::Parameters(format!("{}: {e}", path.display()))
}

/// Writes `bytes` to `path` whole, so a crash never leaves half a key; parameters are public.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CircuitError> {
    ctchain_files::write_atomic(path, bytes, ctchain_files::Replace::Allow, ctchain_files::Access::Default)
        .map_err(|e| CircuitError::Parameters(e.to_string()))
}

/// Writes both keys and `SM3SUMS` into `dir` (created if missing).
pub fn write_parameters(
    dir: &Path,
    pk: &TransferProvingKey,
    vk: &TransferVerifyingKey,
) -> Result<ParameterHashes, CircuitError> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let pk_bytes = proving_key_to_bytes(pk)?;
    let vk_bytes = verifying_key_to_bytes(vk)?;
    let hashes = ParameterHashes { proving_key: file_hash(&pk_bytes), verifying_key: file_hash(&vk_bytes) };
    write_atomic(&dir.join(PROVING_KEY_FILE), &pk_bytes)?;
    write_atomic(&dir.join(VERIFYING_KEY_FILE), &vk_bytes)?;
    write_atomic(&dir.join(HASHES_FILE), hashes.to_sums().as_bytes())?;
    Ok(hashes)
}

/// Reads `dir/SM3SUMS`.
pub fn read_hashes(dir: &Path) -> Result<ParameterHashes, CircuitError> {
    let path = dir.join(HASHES_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
    ParameterHashes::from_sums(&text)
}

/// Loads the verifying key from `path`, refusing it unless it hashes to `expected`.
pub fn load_verifying_key(path: &Path, expected: &Hash32) -> Result<TransferVerifyingKey, CircuitError> {
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    verifying_key_from_bytes(&bytes, Some(expected))
}

/// Loads the proving key from `path`, refusing it unless it hashes to `expected`.
pub fn load_proving_key(path: &Path, expected: &Hash32) -> Result<TransferProvingKey, CircuitError> {
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    proving_key_from_bytes(&bytes, Some(expected))
}

/// Loads both keys of `dir` against its `SM3SUMS` and checks that they belong together.
pub fn load_directory(dir: &Path) -> Result<(TransferProvingKey, TransferVerifyingKey, ParameterHashes), CircuitError> {
    let hashes = read_hashes(dir)?;
    let pk = load_proving_key(&dir.join(PROVING_KEY_FILE), &hashes.proving_key)?;
    let vk = load_verifying_key(&dir.join(VERIFYING_KEY_FILE), &hashes.verifying_key)?;
    if pk.verifying_key()? != vk {
        return Err(CircuitError::Parameters("the proving key and the verifying key are from different setups".into()));
    }
    Ok((pk, vk, hashes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fq2, G1Affine, G2Affine};
    use ark_ec::AffineRepr;

    /// A structurally valid proving key of the transfer's shape with `b_g2` as its one B query point.
    fn toy_key_bytes(b_g2: G2Affine) -> Vec<u8> {
        let (g1, g2) = (G1Affine::generator(), G2Affine::generator());
        let vk = VerifyingKey::<Bn254> {
            alpha_g1: g1,
            beta_g2: g2,
            gamma_g2: g2,
            delta_g2: g2,
            gamma_abc_g1: vec![g1; crate::NUM_PUBLIC_INPUTS + 1],
        };
        let pk = ProvingKey::<Bn254> {
            vk,
            beta_g1: g1,
            delta_g1: g1,
            a_query: vec![g1],
            b_g1_query: vec![g1],
            b_g2_query: vec![b_g2],
            h_query: vec![g1],
            l_query: vec![g1],
        };
        proving_key_to_bytes(&TransferProvingKey(pk)).unwrap()
    }

    #[test]
    fn a_proving_key_with_a_point_outside_the_subgroup_is_refused() {
        assert!(proving_key_from_bytes(&toy_key_bytes(G2Affine::generator()), None).is_ok());
        let mut x = Fq2::from(1u64);
        let outside = loop {
            if let Some(p) = G2Affine::get_point_from_x_unchecked(x, false) {
                if !p.is_in_correct_subgroup_assuming_on_curve() {
                    break p;
                }
            }
            x += Fq2::from(1u64);
        };
        let err = proving_key_from_bytes(&toy_key_bytes(outside), None).unwrap_err();
        assert!(err.to_string().contains("invalid point"), "{err}");
    }

    #[test]
    fn a_proving_key_with_a_point_off_the_curve_is_refused() {
        let mut bytes = toy_key_bytes(G2Affine::generator());
        // The last G1 point (l_query[0]) is the last 64 uncompressed bytes; bump its y coordinate.
        let n = bytes.len();
        bytes[n - 32] ^= 1;
        assert!(proving_key_from_bytes(&bytes, None).is_err());
    }
}
