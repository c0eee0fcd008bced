//! Batched verification of linear group equations.
//!
//! Every sigma-protocol and Schnorr check of a transaction is an equation `Σ cᵢ·Pᵢ = 0`. Instead of one
//! multiscalar multiplication each, the verifier multiplies each equation by an independent random weight and
//! checks the sum with a single variable-time multiscalar multiplication. If any equation is false, the sum is
//! zero only with probability about 2⁻²⁵² over the weights, which the prover cannot see. When the sum fails, the
//! equations are re-checked one by one so that the error names the first failing check.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand_core::{CryptoRng, RngCore};

/// One equation `Σ scalars[i]·points[i] = 0`, tagged with what it checks.
pub(crate) struct Equation<L> {
    pub label: L,
    pub scalars: Vec<Scalar>,
    pub points: Vec<RistrettoPoint>,
}

impl<L> Equation<L> {
    pub fn new(label: L) -> Self {
        Self { label, scalars: Vec::new(), points: Vec::new() }
    }

    pub fn term(&mut self, scalar: Scalar, point: RistrettoPoint) -> &mut Self {
        self.scalars.push(scalar);
        self.points.push(point);
        self
    }

    fn holds(&self) -> bool {
        RistrettoPoint::vartime_multiscalar_mul(&self.scalars, &self.points).is_identity()
    }
}

/// Checks many equations at once.
pub(crate) struct BatchChecker<L> {
    equations: Vec<Equation<L>>,
}

impl<L: Clone> BatchChecker<L> {
    pub fn new() -> Self {
        Self { equations: Vec::new() }
    }

    pub fn push(&mut self, eq: Equation<L>) {
        self.equations.push(eq);
    }

    /// `Ok` if every equation holds, otherwise the label of the first that does not.
    pub fn check<R: RngCore + CryptoRng>(self, rng: &mut R) -> Result<(), L> {
        let total: usize = self.equations.iter().map(|e| e.scalars.len()).sum();
        let mut scalars = Vec::with_capacity(total);
        let mut points = Vec::with_capacity(total);
        for eq in &self.equations {
            let weight = Scalar::random(rng);
            scalars.extend(eq.scalars.iter().map(|s| weight * s));
            points.extend_from_slice(&eq.points);
        }
        if RistrettoPoint::vartime_multiscalar_mul(&scalars, &points).is_identity() {
            return Ok(());
        }
        match self.equations.iter().find(|eq| !eq.holds()) {
            Some(eq) => Err(eq.label.clone()),
            // Cannot happen unless the random weights hit a 2^-252 event; fail closed anyway.
            None => Err(self.equations[0].label.clone()),
        }
    }
}
