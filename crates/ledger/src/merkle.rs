//! SM3 Merkle trees with domain separation, and inclusion proofs checkable offline.
//!
//! Leaves are `SM3("ctchain/merkle/leaf/v1", data)` and inner nodes `SM3("ctchain/merkle/node/v1", left ‖ right)`,
//! so a node can never be presented as a leaf (the second-preimage trick). A level with an odd number of nodes
//! promotes its last node unchanged instead of duplicating it, so two different transaction lists never share a
//! root (the duplicated-last-leaf ambiguity of Bitcoin, CVE-2012-2459).

use ctchain_codec::{Decode, DecodeError, Encode, Hash32, Reader, Sm3Hasher, Writer};

/// The hash of a leaf.
pub fn leaf_hash(data: &[u8]) -> Hash32 {
    Sm3Hasher::digest("ctchain/merkle/leaf/v1", data)
}

fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut h = Sm3Hasher::new("ctchain/merkle/node/v1");
    h.update(left.as_bytes()).update(right.as_bytes());
    h.finish()
}

/// The root of an empty tree.
pub fn empty_root() -> Hash32 {
    Sm3Hasher::digest("ctchain/merkle/empty/v1", b"")
}

/// The root over leaf hashes.
pub fn root(leaves: &[Hash32]) -> Hash32 {
    if leaves.is_empty() {
        return empty_root();
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level =
            level.chunks(2).map(|pair| if pair.len() == 2 { node_hash(&pair[0], &pair[1]) } else { pair[0] }).collect();
    }
    level[0]
}

/// Which side a sibling is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The sibling is the left child.
    Left,
    /// The sibling is the right child.
    Right,
}

/// A path from a leaf to the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerklePath {
    /// The leaf's index.
    pub index: u64,
    /// The number of leaves.
    pub leaf_count: u64,
    /// Siblings from the leaf level up; levels where the node was promoted have none.
    pub siblings: Vec<(Side, Hash32)>,
}

/// The path of leaf `index`.
pub fn path(leaves: &[Hash32], index: usize) -> Option<MerklePath> {
    if index >= leaves.len() {
        return None;
    }
    let mut siblings = Vec::new();
    let mut level = leaves.to_vec();
    let mut i = index;
    while level.len() > 1 {
        let sibling = i ^ 1;
        if sibling < level.len() {
            siblings.push((if sibling < i { Side::Left } else { Side::Right }, level[sibling]));
        }
        level =
            level.chunks(2).map(|pair| if pair.len() == 2 { node_hash(&pair[0], &pair[1]) } else { pair[0] }).collect();
        i /= 2;
    }
    Some(MerklePath { index: index as u64, leaf_count: leaves.len() as u64, siblings })
}

impl MerklePath {
    /// Recomputes the root from a leaf hash, checking that the sides are those the index and leaf count imply
    /// (so a path cannot be replayed for another position).
    pub fn root_from(&self, leaf: &Hash32) -> Option<Hash32> {
        if self.index >= self.leaf_count {
            return None;
        }
        let mut acc = *leaf;
        let mut i = self.index;
        let mut width = self.leaf_count;
        let mut siblings = self.siblings.iter();
        while width > 1 {
            let sibling = i ^ 1;
            if sibling < width {
                let (side, hash) = siblings.next()?;
                let expected = if sibling < i { Side::Left } else { Side::Right };
                if *side != expected {
                    return None;
                }
                acc = match side {
                    Side::Left => node_hash(hash, &acc),
                    Side::Right => node_hash(&acc, hash),
                };
            }
            i /= 2;
            width = width.div_ceil(2);
        }
        siblings.next().is_none().then_some(acc)
    }
}

impl Encode for MerklePath {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.index);
        w.u64(self.leaf_count);
        w.len(self.siblings.len());
        for (side, hash) in &self.siblings {
            w.u8(match side {
                Side::Left => 0,
                Side::Right => 1,
            });
            w.put(hash);
        }
    }
}

impl Decode for MerklePath {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let index = r.u64("merkle index")?;
        let leaf_count = r.u64("merkle leaf count")?;
        let n = r.len("merkle siblings", 64)?;
        let mut siblings = Vec::with_capacity(n);
        for _ in 0..n {
            let side = match r.u8("merkle side")? {
                0 => Side::Left,
                1 => Side::Right,
                tag => return Err(DecodeError::InvalidTag { field: "merkle side", tag: u32::from(tag) }),
            };
            siblings.push((side, r.get()?));
        }
        Ok(Self { index, leaf_count, siblings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash32> {
        (0..n).map(|i| leaf_hash(&(i as u64).to_le_bytes())).collect()
    }

    #[test]
    fn every_leaf_of_every_size_proves_its_inclusion_and_nothing_else() {
        for n in 1..=17 {
            let ls = leaves(n);
            let r = root(&ls);
            for i in 0..n {
                let p = path(&ls, i).unwrap();
                assert_eq!(p.root_from(&ls[i]), Some(r), "n={n} i={i}");
                assert_ne!(p.root_from(&ls[(i + 1) % n]), Some(r).filter(|_| n > 1), "wrong leaf n={n} i={i}");
                let mut moved = p.clone();
                moved.index = (i as u64 + 1) % n as u64;
                if n > 1 {
                    assert_ne!(moved.root_from(&ls[i]), Some(r), "moved index n={n} i={i}");
                }
                assert_eq!(MerklePath::from_bytes(&p.to_bytes()).unwrap(), p);
            }
        }
    }

    #[test]
    fn a_node_cannot_pose_as_a_leaf_and_odd_trees_are_not_padded() {
        let ls = leaves(4);
        let inner = node_hash(&ls[0], &ls[1]);
        assert_ne!(
            root(&[inner, node_hash(&ls[2], &ls[3])]),
            root(&[leaf_hash(inner.as_bytes()), node_hash(&ls[2], &ls[3])])
        );
        // [a, b, c] and [a, b, c, c] differ.
        let three = leaves(3);
        let mut four = three.clone();
        four.push(three[2]);
        assert_ne!(root(&three), root(&four));
    }

    #[test]
    fn empty_tree_has_a_distinct_root() {
        assert_ne!(root(&[]), root(&leaves(1)));
    }
}
