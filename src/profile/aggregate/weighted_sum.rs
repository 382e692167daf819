//! `weighted-sum` (weighted linear combination): Σ wᵢ·sᵢ. Site-local: a site's total depends
//! only on its own scores. Each criterion's contribution is wᵢ·sᵢ; they add up to the total.

use super::{Aggregate, Method};

/// The weighted sum.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeightedSum;

impl Method for WeightedSum {
    fn name(&self) -> &'static str {
        "weighted-sum"
    }
    fn local(&self) -> Box<dyn Aggregate> {
        Box::new(WeightedSum)
    }
}

impl Aggregate for WeightedSum {
    fn aggregate(&self, scores: &[f64], weights: &[f64], contributions: &mut [f64]) -> f64 {
        let mut total = 0.0;
        for ((s, w), c) in scores.iter().zip(weights).zip(contributions.iter_mut()) {
            *c = s * w;
            total += *c;
        }
        total
    }
    fn describe(&self) -> String {
        "weighted sum of the sub-scores".into()
    }
}
