//! Aggregation: combines the standardised criterion scores of a site into one total, in two
//! phases so that site-local and set-dependent methods fit the same interface.
//!
//! 1. **Fit** on the candidate set: a set-dependent method (TOPSIS's ideal and anti-ideal
//!    points, percentile bounds, rank-based OWA) gives a [`Fit`] accumulator that observes
//!    every `ok` candidate's scores and weights — streaming, in any order, one per thread,
//!    merged — and becomes a scorer. A site-local method (weighted sum, weighted product)
//!    has nothing to fit: [`Method::fit`] returns `None` and [`Method::local`] is the scorer.
//! 2. **Score** each site with the [`Aggregate`].
//!
//! Adding a method is one new file here plus one line in [`METHODS`].
//!
//! ```
//! use standort::profile::{Aggregate, WeightedSum};
//! let mut contributions = [0.0; 2];
//! let total = WeightedSum.aggregate(&[1.0, 0.5], &[0.75, 0.25], &mut contributions);
//! assert_eq!(total, 0.875);
//! assert_eq!(contributions, [0.75, 0.125]);
//! ```

mod weighted_sum;

pub use weighted_sum::WeightedSum;

use std::any::Any;

/// An aggregation method as named in a profile (`method = "..."`).
pub trait Method: Send + Sync {
    /// The name used in profiles.
    fn name(&self) -> &'static str;
    /// A fresh accumulator for the fit phase; `None` for a site-local method.
    fn fit(&self) -> Option<Box<dyn Fit>> {
        None
    }
    /// The scorer of a site-local method (unused when [`Method::fit`] gives an accumulator).
    fn local(&self) -> Box<dyn Aggregate>;
}

/// Phase 1 of a set-dependent method: observes the candidate set.
pub trait Fit: Send {
    /// One `ok` candidate: its standardised scores and normalised weights (criteria left out
    /// have weight 0), in profile order.
    fn observe(&mut self, scores: &[f64], weights: &[f64]);
    /// Take in what another accumulator of the same method observed.
    fn merge(&mut self, other: Box<dyn Fit>);
    /// The scorer fitted on everything observed.
    fn finish(self: Box<Self>) -> Box<dyn Aggregate>;
    /// For [`Fit::merge`]: the accumulator as `Any`, to downcast the other one.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

/// Phase 2: scores (0..1) and normalised weights (sum 1) → a total (0..1).
pub trait Aggregate: Send + Sync {
    /// The total score; writes each criterion's share of it into `contributions` (for
    /// methods that are not additive, a share that says how much the criterion mattered).
    fn aggregate(&self, scores: &[f64], weights: &[f64], contributions: &mut [f64]) -> f64;
}

/// Makes a method.
pub type MakeMethod = fn() -> Box<dyn Method>;

/// Every method: its name in profiles and its constructor. One line per method.
pub const METHODS: &[(&str, MakeMethod)] = &[
    ("weighted-sum", || Box::new(WeightedSum)),
    #[cfg(test)]
    ("test-rescaled-sum", || Box::new(tests::RescaledSum)),
];

/// The method for a name, or a message listing the available ones.
pub fn method_for(name: &str) -> Result<Box<dyn Method>, String> {
    match METHODS.iter().find(|(n, _)| *n == name) {
        Some((_, make)) => Ok(make()),
        None => {
            let names: Vec<&str> = METHODS.iter().map(|(n, _)| *n).collect();
            Err(format!(
                "method \"{name}\" is not available (available: {})",
                names.join(", ")
            ))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! A set-dependent method for tests only: the weighted sum rescaled so that the best
    //! candidate of the set scores 1. It proves the fit plumbing without being a method
    //! anyone should use.
    use super::*;

    pub(crate) struct RescaledSum;

    struct Best(f64);

    struct Rescaled(f64);

    impl Method for RescaledSum {
        fn name(&self) -> &'static str {
            "test-rescaled-sum"
        }
        fn fit(&self) -> Option<Box<dyn Fit>> {
            Some(Box::new(Best(0.0)))
        }
        fn local(&self) -> Box<dyn Aggregate> {
            Box::new(Rescaled(1.0))
        }
    }

    impl Fit for Best {
        fn observe(&mut self, scores: &[f64], weights: &[f64]) {
            let mut none = vec![0.0; scores.len()];
            self.0 = self
                .0
                .max(WeightedSum.aggregate(scores, weights, &mut none));
        }
        fn merge(&mut self, other: Box<dyn Fit>) {
            if let Ok(o) = other.into_any().downcast::<Best>() {
                self.0 = self.0.max(o.0);
            }
        }
        fn finish(self: Box<Self>) -> Box<dyn Aggregate> {
            Box::new(Rescaled(if self.0 > 0.0 { self.0 } else { 1.0 }))
        }
        fn into_any(self: Box<Self>) -> Box<dyn Any> {
            self
        }
    }

    impl Aggregate for Rescaled {
        fn aggregate(&self, scores: &[f64], weights: &[f64], contributions: &mut [f64]) -> f64 {
            let total = WeightedSum.aggregate(scores, weights, contributions);
            contributions.iter_mut().for_each(|c| *c /= self.0);
            total / self.0
        }
    }

    #[test]
    fn fits_merge_and_score() {
        let m = method_for("test-rescaled-sum").unwrap();
        let (mut a, mut b) = (m.fit().unwrap(), m.fit().unwrap());
        a.observe(&[0.5, 0.5], &[0.5, 0.5]);
        b.observe(&[0.8, 0.0], &[0.5, 0.5]);
        a.merge(b);
        let scorer = a.finish();
        let mut c = [0.0; 2];
        assert_eq!(scorer.aggregate(&[0.5, 0.5], &[0.5, 0.5], &mut c), 1.0);
        assert_eq!(c, [0.5, 0.5]);
        assert!(method_for("weighted-sum").unwrap().fit().is_none());
        let e = method_for("topsis").err().unwrap();
        assert!(e.contains("available: weighted-sum"), "{e}");
    }
}
