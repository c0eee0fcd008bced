//! The append-only note tree: depth 32, Poseidon nodes, natively and as a gadget.
//!
//! Invariants:
//! * Leaves are appended left to right and never change; an unfilled leaf is [`EMPTY_LEAF`] (zero, which no
//!   note commitment equals except with negligible probability, since it would be a Poseidon preimage of zero).
//! * [`Frontier`] holds only the rightmost path (O(depth) memory and O(depth) hashes per append): it is what
//!   the ledger stores. Every append returns the nodes it touched ([`AppendedLeaf`]), from which each
//!   [`Witness`] brings its authentication path up to date in O(depth), so a wallet never rebuilds the tree.
//! * A node is `Poseidon_NODE(left, right)`; a path bit 1 means the current node is the right child.
//! * [`RecentRoots`] keeps the last roots as valid anchors: a proof built against a slightly old root still
//!   verifies after other transfers have been appended, and an unknown root is refused.

use std::collections::VecDeque;
use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::select::CondSelectGadget;
use ark_relations::r1cs::{ConstraintSystemRef, SynthesisError};
use ctchain_codec::{Decode, DecodeError, Encode, Reader, Writer};

use crate::note::{decode_fr, Anchor, NoteCommitment};
use crate::poseidon::{hash, hash_var, Domain};
use crate::CircuitError;

/// Depth of the note tree: 2^32 leaves.
pub const TREE_DEPTH: usize = 32;
/// Value of a leaf that holds no note.
pub const EMPTY_LEAF: Fr = ark_ff::MontFp!("0");

/// `Poseidon_NODE(left, right)`.
pub fn node_hash(left: &Fr, right: &Fr) -> Fr {
    hash(Domain::MerkleNode, &[*left, *right])
}

/// Roots of empty subtrees: `empty_roots()[h]` is the root of an empty subtree of height `h`.
pub fn empty_roots() -> &'static [Fr; TREE_DEPTH + 1] {
    static EMPTY: OnceLock<[Fr; TREE_DEPTH + 1]> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut e = [EMPTY_LEAF; TREE_DEPTH + 1];
        for h in 0..TREE_DEPTH {
            e[h + 1] = node_hash(&e[h], &e[h]);
        }
        e
    })
}

/// The rightmost path of the tree: enough to append and to know the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    /// Number of leaves appended so far (the next position).
    size: u64,
    /// `filled[h]`: the most recent left child at height `h` (a complete subtree once its sibling is used).
    filled: [Fr; TREE_DEPTH],
    root: Fr,
}

impl Default for Frontier {
    fn default() -> Self {
        Self::new()
    }
}

/// What one append changed: enough for every witness to follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendedLeaf {
    /// Position of the new leaf.
    pub position: u64,
    /// The leaf.
    pub leaf: NoteCommitment,
    /// `nodes[h]`: the value, after the append, of the height-`h` node above the new leaf.
    pub nodes: [Fr; TREE_DEPTH],
    /// The new leaf's authentication path at this moment.
    pub siblings: [Fr; TREE_DEPTH],
    /// The root after the append.
    pub root: Anchor,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        let e = empty_roots();
        let mut filled = [EMPTY_LEAF; TREE_DEPTH];
        filled.copy_from_slice(&e[..TREE_DEPTH]);
        Self { size: 0, filled, root: e[TREE_DEPTH] }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The current root.
    pub fn root(&self) -> Anchor {
        Anchor(self.root)
    }

    /// Appends a leaf; refuses once 2^32 leaves are in.
    pub fn append(&mut self, leaf: NoteCommitment) -> Result<AppendedLeaf, CircuitError> {
        if self.size >= 1u64 << TREE_DEPTH {
            return Err(CircuitError::TreeFull);
        }
        let e = empty_roots();
        let position = self.size;
        let mut nodes = [EMPTY_LEAF; TREE_DEPTH];
        let mut siblings = [EMPTY_LEAF; TREE_DEPTH];
        let mut cur = leaf.0;
        let mut idx = position;
        for h in 0..TREE_DEPTH {
            nodes[h] = cur;
            if idx & 1 == 0 {
                // A left child: its right sibling is still empty, and it is the newest left node at this height.
                self.filled[h] = cur;
                siblings[h] = e[h];
                cur = node_hash(&cur, &e[h]);
            } else {
                siblings[h] = self.filled[h];
                cur = node_hash(&self.filled[h], &cur);
            }
            idx >>= 1;
        }
        self.root = cur;
        self.size += 1;
        Ok(AppendedLeaf { position, leaf, nodes, siblings, root: Anchor(cur) })
    }
}

impl Encode for Frontier {
    fn encode_to(&self, w: &mut Writer) {
        w.u64(self.size);
        for f in &self.filled {
            w.fixed(&crate::encoding::fr_to_bytes(f));
        }
        w.fixed(&crate::encoding::fr_to_bytes(&self.root));
    }
}

impl Decode for Frontier {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let size = r.u64("frontier size")?;
        if size > 1u64 << TREE_DEPTH {
            return Err(DecodeError::Invalid { field: "frontier size", reason: "above 2^32" });
        }
        let mut filled = [EMPTY_LEAF; TREE_DEPTH];
        for f in filled.iter_mut() {
            *f = decode_fr(r, "frontier node")?;
        }
        let root = decode_fr(r, "frontier root")?;
        Ok(Self { size, filled, root })
    }
}

impl Encode for Witness {
    fn encode_to(&self, w: &mut Writer) {
        self.leaf.encode_to(w);
        w.u64(self.path.position);
        for s in &self.path.siblings {
            w.fixed(&crate::encoding::fr_to_bytes(s));
        }
        w.u64(self.next);
    }
}

impl Decode for Witness {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let leaf = NoteCommitment::decode_from(r)?;
        let position = r.u64("witness position")?;
        let mut siblings = [EMPTY_LEAF; TREE_DEPTH];
        for s in siblings.iter_mut() {
            *s = decode_fr(r, "witness sibling")?;
        }
        let next = r.u64("witness next leaf")?;
        if position >= 1u64 << TREE_DEPTH || next <= position || next > 1u64 << TREE_DEPTH {
            return Err(DecodeError::Invalid { field: "witness position", reason: "outside the tree or after next" });
        }
        Ok(Self { leaf, path: MerklePath { position, siblings }, next })
    }
}

/// An authentication path: the position of a leaf and its siblings from the leaf up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerklePath {
    /// Leaf position (its bits, least significant first, say left or right at each height).
    pub position: u64,
    /// Siblings from height 0 to height 31.
    pub siblings: [Fr; TREE_DEPTH],
}

impl MerklePath {
    /// The root this path leads to from `leaf`.
    pub fn root(&self, leaf: &NoteCommitment) -> Anchor {
        let mut cur = leaf.0;
        for (h, s) in self.siblings.iter().enumerate() {
            cur = if (self.position >> h) & 1 == 1 { node_hash(s, &cur) } else { node_hash(&cur, s) };
        }
        Anchor(cur)
    }
}

/// A leaf's authentication path kept up to date as the tree grows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    leaf: NoteCommitment,
    path: MerklePath,
    /// The next leaf position this witness expects to see appended.
    next: u64,
}

impl Witness {
    /// The witness of the leaf that `appended` added.
    pub fn new(appended: &AppendedLeaf) -> Self {
        Self {
            leaf: appended.leaf,
            path: MerklePath { position: appended.position, siblings: appended.siblings },
            next: appended.position + 1,
        }
    }

    /// Follows one later append; appends must be given in order, none skipped.
    pub fn update(&mut self, appended: &AppendedLeaf) -> Result<(), CircuitError> {
        if appended.position != self.next {
            return Err(CircuitError::WitnessOutOfOrder { expected: self.next, got: appended.position });
        }
        let p = self.path.position;
        for h in 0..TREE_DEPTH {
            // Only right siblings change after the leaf is in: the node above the new leaf at height h is our
            // sibling exactly when it is the right neighbour of our ancestor at that height.
            if (p >> h) & 1 == 0 && appended.position >> h == (p >> h) ^ 1 {
                self.path.siblings[h] = appended.nodes[h];
            }
        }
        self.next += 1;
        Ok(())
    }

    /// The leaf.
    pub fn leaf(&self) -> NoteCommitment {
        self.leaf
    }

    /// The current authentication path.
    pub fn path(&self) -> &MerklePath {
        &self.path
    }

    /// The root the path currently leads to (equal to the tree's root once every append is followed).
    pub fn root(&self) -> Anchor {
        self.path.root(&self.leaf)
    }
}

/// The last `capacity` roots, oldest first: the anchors a transfer may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentRoots {
    capacity: usize,
    roots: VecDeque<Anchor>,
}

impl RecentRoots {
    /// Keeps up to `capacity` roots (at least one).
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), roots: VecDeque::new() }
    }

    /// Records a new root, forgetting the oldest beyond the capacity. Repeating the newest root is a no-op.
    pub fn push(&mut self, root: Anchor) {
        if self.roots.back() == Some(&root) {
            return;
        }
        self.roots.push_back(root);
        while self.roots.len() > self.capacity {
            self.roots.pop_front();
        }
    }

    /// The roots kept, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Anchor> {
        self.roots.iter()
    }

    /// The newest root.
    pub fn latest(&self) -> Option<&Anchor> {
        self.roots.back()
    }

    /// Whether `root` is a valid anchor.
    pub fn contains(&self, root: &Anchor) -> bool {
        self.roots.contains(root)
    }

    /// `Ok` for a recent root, [`CircuitError::UnknownAnchor`] otherwise.
    pub fn check(&self, root: &Anchor) -> Result<(), CircuitError> {
        if self.contains(root) {
            Ok(())
        } else {
            Err(CircuitError::UnknownAnchor)
        }
    }
}

/// In-circuit root from a leaf, its position bits (least significant first) and its siblings.
pub fn root_var(
    cs: ConstraintSystemRef<Fr>,
    leaf: &FpVar<Fr>,
    position_bits: &[Boolean<Fr>],
    siblings: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    if position_bits.len() != TREE_DEPTH || siblings.len() != TREE_DEPTH {
        return Err(SynthesisError::Unsatisfiable);
    }
    let mut cur = leaf.clone();
    for (bit, sib) in position_bits.iter().zip(siblings) {
        let left = FpVar::conditionally_select(bit, sib, &cur)?;
        let right = FpVar::conditionally_select(bit, &cur, sib)?;
        cur = hash_var(cs.clone(), Domain::MerkleNode, &[left, right])?;
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::R1CSVar;
    use ark_relations::r1cs::ConstraintSystem;

    fn leaf(i: u64) -> NoteCommitment {
        NoteCommitment(Fr::from(i * 7 + 3))
    }

    #[test]
    fn witnesses_follow_every_append_and_match_the_root() {
        let mut tree = Frontier::new();
        let mut witnesses: Vec<Witness> = Vec::new();
        for i in 0..70u64 {
            let a = tree.append(leaf(i)).unwrap();
            for w in witnesses.iter_mut() {
                w.update(&a).unwrap();
            }
            witnesses.push(Witness::new(&a));
            for w in &witnesses {
                assert_eq!(w.root(), tree.root(), "witness of leaf {} after {} appends", w.path().position, i + 1);
            }
        }
    }

    #[test]
    fn empty_tree_root_is_the_empty_root() {
        assert_eq!(Frontier::new().root().0, empty_roots()[TREE_DEPTH]);
    }

    #[test]
    fn a_skipped_append_is_refused() {
        let mut tree = Frontier::new();
        let a0 = tree.append(leaf(0)).unwrap();
        let _a1 = tree.append(leaf(1)).unwrap();
        let a2 = tree.append(leaf(2)).unwrap();
        let mut w = Witness::new(&a0);
        assert_eq!(w.update(&a2), Err(CircuitError::WitnessOutOfOrder { expected: 1, got: 2 }));
    }

    #[test]
    fn frontier_round_trips_through_the_codec() {
        let mut tree = Frontier::new();
        for i in 0..5 {
            tree.append(leaf(i)).unwrap();
        }
        let bytes = tree.to_bytes();
        assert_eq!(Frontier::from_bytes(&bytes).unwrap(), tree);
    }

    #[test]
    fn witness_round_trips_and_keeps_following() {
        let mut tree = Frontier::new();
        let mut w = Witness::new(&tree.append(leaf(0)).unwrap());
        w.update(&tree.append(leaf(1)).unwrap()).unwrap();
        let mut back = Witness::from_bytes(&w.to_bytes()).unwrap();
        assert_eq!(back, w);
        back.update(&tree.append(leaf(2)).unwrap()).unwrap();
        assert_eq!(back.root(), tree.root());
    }

    #[test]
    fn recent_roots_forget_the_oldest() {
        let mut r = RecentRoots::new(2);
        r.push(Anchor(Fr::from(1u64)));
        r.push(Anchor(Fr::from(2u64)));
        r.push(Anchor(Fr::from(3u64)));
        assert_eq!(r.check(&Anchor(Fr::from(1u64))), Err(CircuitError::UnknownAnchor));
        assert!(r.contains(&Anchor(Fr::from(2u64))) && r.contains(&Anchor(Fr::from(3u64))));
    }

    #[test]
    fn gadget_root_matches_native() {
        let mut tree = Frontier::new();
        let mut wit = None;
        for i in 0..6 {
            let a = tree.append(leaf(i)).unwrap();
            if let Some(w) = wit.as_mut() {
                Witness::update(w, &a).unwrap();
            }
            if i == 3 {
                wit = Some(Witness::new(&a));
            }
        }
        let w = wit.unwrap();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let l = FpVar::new_witness(cs.clone(), || Ok(w.leaf().0)).unwrap();
        let bits: Vec<_> = (0..TREE_DEPTH)
            .map(|h| Boolean::new_witness(cs.clone(), || Ok((w.path().position >> h) & 1 == 1)).unwrap())
            .collect();
        let sibs: Vec<_> =
            w.path().siblings.iter().map(|s| FpVar::new_witness(cs.clone(), || Ok(*s)).unwrap()).collect();
        let root = root_var(cs.clone(), &l, &bits, &sibs).unwrap();
        assert_eq!(root.value().unwrap(), tree.root().0);
        assert!(cs.is_satisfied().unwrap());
    }
}
