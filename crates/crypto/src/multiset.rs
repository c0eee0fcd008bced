//! An incremental multiset hash (ECMH) over Ristretto, for the ledger's state root.
//!
//! Each element `e` maps to the point `H(e) = hash_to_point(SM3-expand(e))`; a multiset's hash is the sum of
//! its elements' points. Adding or removing an element is one hash-to-point and one addition, independent of the
//! set's size, and the order of insertion does not matter, so two nodes holding the same set have the same hash
//! whatever the order they built it in. Finding two different multisets with the same hash is as hard as the
//! discrete-log problem in the group (Maitin-Shepard et al., "Elliptic Curve Multiset Hash", 2016).

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::traits::Identity;

use ctchain_codec::Sm3Hasher;

/// The running multiset hash.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MultisetHash(RistrettoPoint);

impl Default for MultisetHash {
    fn default() -> Self {
        Self(RistrettoPoint::identity())
    }
}

/// The point of one element.
fn element_point(element: &[u8]) -> RistrettoPoint {
    let mut wide = [0u8; 64];
    for (half, chunk) in wide.chunks_mut(32).enumerate() {
        let mut h = Sm3Hasher::new("ctchain/multiset/v1");
        h.update(element).update([half as u8]);
        chunk.copy_from_slice(h.finish().as_bytes());
    }
    RistrettoPoint::from_uniform_bytes(&wide)
}

impl MultisetHash {
    /// The hash of the empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one element.
    pub fn insert(&mut self, element: &[u8]) {
        self.0 += element_point(element);
    }

    /// Removes one element (that was inserted before).
    pub fn remove(&mut self, element: &[u8]) {
        self.0 -= element_point(element);
    }

    /// Adds the points of many elements, computed in parallel.
    pub fn insert_all(&mut self, elements: &[Vec<u8>]) {
        use rayon::prelude::*;
        self.0 += elements.par_iter().map(|e| element_point(e)).reduce(RistrettoPoint::identity, |a, b| a + b);
    }

    /// Removes the points of many elements, computed in parallel.
    pub fn remove_all(&mut self, elements: &[Vec<u8>]) {
        use rayon::prelude::*;
        self.0 -= elements.par_iter().map(|e| element_point(e)).reduce(RistrettoPoint::identity, |a, b| a + b);
    }

    /// The 32-byte digest.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.compress().to_bytes()
    }

    /// Parses [`MultisetHash::to_bytes`].
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        CompressedRistretto(*bytes).decompress().map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_does_not_matter_and_removal_undoes_insertion() {
        let mut a = MultisetHash::new();
        a.insert(b"x");
        a.insert(b"y");
        let mut b = MultisetHash::new();
        b.insert_all(&[b"y".to_vec(), b"x".to_vec()]);
        assert_eq!(a, b);
        a.insert(b"z");
        assert_ne!(a, b);
        a.remove(b"z");
        assert_eq!(a, b);
        b.remove_all(&[b"x".to_vec(), b"y".to_vec()]);
        assert_eq!(b, MultisetHash::new());
        assert_eq!(MultisetHash::from_bytes(&a.to_bytes()), Some(a));
    }
}
