//! `weighted-product` (weighted geometric mean): Π sᵢ^wᵢ. Site-local and non-compensatory
//! at zero: a criterion scoring 0 makes the total 0 whatever the others score, and a weak
//! criterion pulls the total down more than under the weighted sum. The total is split into
//! contributions in proportion to wᵢ·sᵢ (they add up to the total).

use super::{Aggregate, Method, split};

/// The weighted product.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeightedProduct;

impl Method for WeightedProduct {
    fn name(&self) -> &'static str {
        "weighted-product"
    }
    fn local(&self) -> Box<dyn Aggregate> {
        Box::new(WeightedProduct)
    }
}

impl Aggregate for WeightedProduct {
    fn total(&self, scores: &[f64], weights: &[f64]) -> f64 {
        let mut log_total = 0.0;
        let mut zero = false;
        for (s, w) in scores.iter().zip(weights) {
            if *w > 0.0 {
                zero |= *s <= 0.0;
                log_total += w * s.ln();
            }
        }
        if zero { 0.0 } else { log_total.exp().min(1.0) }
    }
    fn aggregate(&self, scores: &[f64], weights: &[f64], contributions: &mut [f64]) -> f64 {
        let total = self.total(scores, weights);
        split(
            total,
            scores.iter().zip(weights).map(|(s, w)| s * w),
            weights,
            contributions,
        );
        total
    }
    fn describe(&self) -> String {
        "weighted product: the product of each sub-score raised to its weight".into()
    }
}
