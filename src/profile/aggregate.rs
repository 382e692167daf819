//! Aggregation: combines standardised criterion scores into one total.
//!
//! ```
//! use standort::profile::{Aggregation, WeightedSum};
//! let mut contributions = [0.0; 2];
//! let total = WeightedSum.aggregate(&[1.0, 0.5], &[0.75, 0.25], &mut contributions);
//! assert_eq!(total, 0.875);
//! assert_eq!(contributions, [0.75, 0.125]);
//! ```

/// A method that turns scores (0..1) and normalised weights (sum 1) into a total (0..1).
///
/// Weighted product, TOPSIS and OWA can implement it later.
pub trait Aggregation: Send + Sync {
    /// The name used in profiles (`method = "..."`).
    fn name(&self) -> &'static str;

    /// The total score; writes each criterion's share of it into `contributions`.
    fn aggregate(&self, scores: &[f64], weights: &[f64], contributions: &mut [f64]) -> f64;
}

/// The weighted sum (weighted linear combination): Σ wᵢ·sᵢ.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeightedSum;

impl Aggregation for WeightedSum {
    fn name(&self) -> &'static str {
        "weighted-sum"
    }

    fn aggregate(&self, scores: &[f64], weights: &[f64], contributions: &mut [f64]) -> f64 {
        let mut total = 0.0;
        for ((s, w), c) in scores.iter().zip(weights).zip(contributions.iter_mut()) {
            *c = s * w;
            total += *c;
        }
        total
    }
}

/// The aggregation for a method name, or a message listing the available ones.
pub fn aggregation_for(method: &str) -> Result<Box<dyn Aggregation>, String> {
    match method {
        "weighted-sum" => Ok(Box::new(WeightedSum)),
        other => Err(format!(
            "method \"{other}\" is not available (available: weighted-sum)"
        )),
    }
}
