//! Ties: the rule that orders sites whose total scores are exactly equal.
//!
//! Equal totals are ordered by the criteria in order of weight (heaviest first, then
//! profile order; weight-0 criteria are left out), each by its raw value in its better
//! direction — nearer, more capacity, less water stress, cheaper — as the criterion's
//! standardisation defines it. Where the two values come from different layers (a state
//! value against a country value) or the standardisation has no direction (categories), the
//! sub-scores are compared instead. A value that is UNKNOWN ranks after a known one. What is
//! still equal after every criterion keeps the caller's order (input order for `score`,
//! north-west first for `region`), and every output says how large the tie group is.

use super::{Engine, Evaluation};
use crate::layers::Value;
use std::cmp::Ordering;

impl Engine {
    /// The criteria that break ties, heaviest first (weight-0 ones left out).
    fn tie_criteria(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.weights.len())
            .filter(|&i| self.weights[i] > 0.0)
            .collect();
        order.sort_by(|&a, &b| self.weights[b].total_cmp(&self.weights[a]));
        order
    }

    /// How `a` and `b`, two evaluations with exactly equal total scores, rank: `Less` when
    /// `a` ranks first (see the module docs for the rule).
    pub fn break_tie(&self, a: &Evaluation, b: &Evaluation) -> Ordering {
        for i in self.tie_criteria() {
            let order = self.compare_values(i, a, b);
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    }

    /// The order of sites whose total scores are exactly equal: a permutation of
    /// `0..points.len()` by [`Engine::break_tie`], stable (what is still equal keeps the
    /// caller's order). The sites are evaluated in parallel.
    pub fn tie_order(&self, points: &[(f64, f64)]) -> Vec<usize> {
        use rayon::prelude::*;
        let evals: Vec<Evaluation> = points
            .par_iter()
            .map(|&(lon, lat)| self.evaluate(lon, lat))
            .collect();
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by(|&a, &b| self.break_tie(&evals[a], &evals[b]));
        order
    }

    /// Criterion `i` of `a` against `b`: `Less` when `a`'s value is better.
    fn compare_values(&self, i: usize, a: &Evaluation, b: &Evaluation) -> Ordering {
        let (va, vb) = (&a.values[i], &b.values[i]);
        let raw = |v: &Value| v.as_f64();
        let direction = (va.source == vb.source)
            .then(|| self.source_standardise(i, va.source).direction())
            .flatten();
        let (ka, kb) = match (direction, raw(&va.raw), raw(&vb.raw)) {
            (Some(d), Some(x), Some(y)) => (Some(x * d), Some(y * d)),
            _ => (va.score, vb.score),
        };
        match (ka, kb) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }

    /// The standardisation a value of criterion `i` from layer `source` is scored with.
    fn source_standardise(&self, i: usize, source: Option<u16>) -> &crate::profile::Standardise {
        source
            .and_then(|k| self.compiled[i].standardise.get(usize::from(k)))
            .and_then(Option::as_ref)
            .unwrap_or(&self.profile.criteria[i].standardise)
    }
}

/// The runs of exactly equal `score` in `items` (already sorted by score): (start, end).
pub fn tie_runs<T>(items: &[T], score: impl Fn(&T) -> f64) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=items.len() {
        if i == items.len() || score(&items[i]).to_bits() != score(&items[start]).to_bits() {
            runs.push((start, i));
            start = i;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_equal_scores() {
        let v = [0.9, 0.8, 0.8, 0.8, 0.5, 0.4, 0.4];
        assert_eq!(tie_runs(&v, |x| *x), vec![(0, 1), (1, 4), (4, 5), (5, 7)]);
        assert!(tie_runs(&[] as &[f64], |x| *x).is_empty());
    }
}
