//! Asset identifiers.

use ctchain_codec::{Decode, DecodeError, Encode, Reader, Sm3Hasher, Writer};

/// A 32-byte asset identifier. Each asset has its own value base, so commitments to different assets never mix.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AssetId(pub [u8; 32]);

impl AssetId {
    /// The id of an asset named by a human-readable label (e.g. `"CNY"`): `SM3("ctchain/asset-id/v1", label)`.
    pub fn from_label(label: &str) -> Self {
        Self(Sm3Hasher::digest("ctchain/asset-id/v1", label.as_bytes()).0)
    }

    /// The id as bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for AssetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AssetId({})", hex::encode(&self.0[..8]))
    }
}

impl std::fmt::Display for AssetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl Encode for AssetId {
    fn encode_to(&self, w: &mut Writer) {
        w.fixed(&self.0);
    }
}

impl Decode for AssetId {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.array("asset id")?))
    }
}
