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

mod fuzzy;
mod owa;
mod topsis;
mod weighted_product;
mod weighted_sum;

pub use fuzzy::Fuzzy;
pub use owa::Owa;
pub use topsis::Topsis;
pub use weighted_product::WeightedProduct;
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
    /// The total alone (the quick path: ranking without explanations). Must equal
    /// [`Aggregate::aggregate`]'s total bit for bit; a method whose contributions cost more
    /// than its total overrides it.
    fn total(&self, scores: &[f64], weights: &[f64]) -> f64 {
        let mut small = [0.0; 16];
        let mut large = Vec::new();
        let contributions = if scores.len() <= 16 {
            &mut small[..scores.len()]
        } else {
            large.resize(scores.len(), 0.0);
            &mut large[..]
        };
        self.aggregate(scores, weights, contributions)
    }
    /// How the total is formed, for people (outputs carry it).
    fn describe(&self) -> String;
}

/// Makes a method from its section of the profile (`[owa]`, ...; `None` when absent) for a
/// profile of `n` criteria.
pub type MakeMethod = fn(Option<&toml::Table>, usize) -> Result<Box<dyn Method>, String>;

/// Every method: its name in profiles and its constructor. One line per method.
pub const METHODS: &[(&str, MakeMethod)] = &[
    ("weighted-sum", |_, _| Ok(Box::new(WeightedSum))),
    ("weighted-product", |_, _| Ok(Box::new(WeightedProduct))),
    ("owa", |t, n| Ok(Box::new(Owa::from_options(t, n)?))),
    ("fuzzy", |t, _| Ok(Box::new(Fuzzy::from_options(t)?))),
    ("topsis", |t, _| Ok(Box::new(Topsis::from_options(t)?))),
    #[cfg(test)]
    ("test-rescaled-sum", |_, _| Ok(Box::new(tests::RescaledSum))),
];

/// Split `total` into `contributions` in proportion to `shares` (one per criterion; only
/// criteria with a positive weight take part). Infinite shares take all of it, equally; when
/// every share is 0 the participants share equally.
pub(crate) fn split(
    total: f64,
    shares: impl Iterator<Item = f64>,
    weights: &[f64],
    contributions: &mut [f64],
) {
    let mut infinite = 0usize;
    let (mut sum, mut taking) = (0.0, 0usize);
    for ((c, s), w) in contributions.iter_mut().zip(shares).zip(weights) {
        *c = if *w > 0.0 { s.max(0.0) } else { f64::NAN };
        if *w > 0.0 {
            taking += 1;
            if c.is_infinite() {
                infinite += 1;
            } else {
                sum += *c;
            }
        }
    }
    for c in contributions.iter_mut() {
        *c = if c.is_nan() {
            0.0
        } else if infinite > 0 {
            if c.is_infinite() {
                total / infinite as f64
            } else {
                0.0
            }
        } else if sum > 0.0 {
            total * *c / sum
        } else {
            total / taking.max(1) as f64
        };
    }
}

/// The method for a name (with its section of the profile, for `n` criteria), or a message
/// listing the available ones.
pub fn method_for(
    name: &str,
    options: Option<&toml::Table>,
    n: usize,
) -> Result<Box<dyn Method>, String> {
    match METHODS.iter().find(|(n, _)| *n == name) {
        Some((_, make)) => make(options, n),
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
        fn describe(&self) -> String {
            "test".into()
        }
        fn aggregate(&self, scores: &[f64], weights: &[f64], contributions: &mut [f64]) -> f64 {
            let total = WeightedSum.aggregate(scores, weights, contributions);
            contributions.iter_mut().for_each(|c| *c /= self.0);
            total / self.0
        }
    }

    #[test]
    fn fits_merge_and_score() {
        let m = method_for("test-rescaled-sum", None, 2).unwrap();
        let (mut a, mut b) = (m.fit().unwrap(), m.fit().unwrap());
        a.observe(&[0.5, 0.5], &[0.5, 0.5]);
        b.observe(&[0.8, 0.0], &[0.5, 0.5]);
        a.merge(b);
        let scorer = a.finish();
        let mut c = [0.0; 2];
        assert_eq!(scorer.aggregate(&[0.5, 0.5], &[0.5, 0.5], &mut c), 1.0);
        assert_eq!(c, [0.5, 0.5]);
        assert!(method_for("weighted-sum", None, 2).unwrap().fit().is_none());
        let e = method_for("topsys", None, 2).err().unwrap();
        assert!(
            e.contains("available: weighted-sum, weighted-product, owa"),
            "{e}"
        );
    }
}

#[cfg(test)]
mod method_tests {
    //! The methods against hand-computed and published examples, and their properties.
    use super::*;
    use proptest::prelude::*;

    fn total(m: &dyn Aggregate, s: &[f64], w: &[f64]) -> f64 {
        let mut c = vec![0.0; s.len()];
        m.aggregate(s, w, &mut c)
    }

    fn fitted(m: &dyn Method, set: &[Vec<f64>], w: &[f64]) -> Box<dyn Aggregate> {
        let mut fit = m.fit().unwrap();
        for s in set {
            fit.observe(s, w);
        }
        fit.finish()
    }

    /// Hwang & Yoon (1981), the fighter-aircraft example: 4 alternatives, 6 attributes
    /// (price, the 4th, a cost), weights 0.2, 0.1, 0.1, 0.1, 0.2, 0.3, vector
    /// normalisation; closeness 0.643, 0.268, 0.614, 0.312. A cost enters as its negative:
    /// the same distances to the ideal (its minimum) and anti-ideal.
    #[test]
    fn topsis_fighter_aircraft() {
        let raw = [
            [2.0, 1500.0, 20000.0, 5.5, 5.0, 9.0],
            [2.5, 2700.0, 18000.0, 6.5, 3.0, 5.0],
            [1.8, 2000.0, 21000.0, 4.5, 7.0, 7.0],
            [2.2, 1800.0, 20000.0, 5.0, 5.0, 5.0],
        ];
        let set: Vec<Vec<f64>> = raw
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .map(|(j, x)| if j == 3 { -x } else { *x })
                    .collect()
            })
            .collect();
        let w = [0.2, 0.1, 0.1, 0.1, 0.2, 0.3];
        let table: toml::Table = toml::from_str("normalise = \"vector\"").unwrap();
        let m = Topsis::from_options(Some(&table)).unwrap();
        let scorer = fitted(&m, &set, &w);
        let got: Vec<f64> = set.iter().map(|s| total(&*scorer, s, &w)).collect();
        for (g, e) in got.iter().zip([0.643, 0.268, 0.614, 0.312]) {
            assert!((g - e).abs() < 5e-4, "{got:?}");
        }
        assert!(scorer.describe().contains("of the 4 candidates"));
    }

    #[test]
    fn owa_orness_spans_min_mean_max() {
        let s = [0.2, 0.9, 0.5];
        let equal = [1.0 / 3.0; 3];
        let at = |r: f64, w: &[f64]| total(&Owa::with_orness(r).unwrap(), &s, w);
        assert_eq!(at(0.0, &equal), 0.2);
        assert_eq!(at(1.0, &equal), 0.9);
        assert!((at(0.5, &equal) - 1.6 / 3.0).abs() < 1e-12);
        // With importance weights, orness 0.5 is the weighted sum.
        let w = [0.5, 0.3, 0.2];
        assert!((at(0.5, &w) - total(&WeightedSum, &s, &w)).abs() < 1e-12);
        // In between, the order of the attitudes holds.
        assert!(at(0.2, &w) < at(0.5, &w) && at(0.5, &w) < at(0.8, &w));
        assert!(Owa::with_orness(1.5).is_err());
    }

    #[test]
    fn owa_order_weights_are_used_as_given() {
        let owa = Owa::with_order_weights(&[0.5, 0.3, 0.2], 3).unwrap();
        let s = [0.2, 0.9, 0.5];
        let expected = 0.5 * 0.9 + 0.3 * 0.5 + 0.2 * 0.2;
        assert!((total(&owa, &s, &[1.0 / 3.0; 3]) - expected).abs() < 1e-12);
        assert!(
            owa.describe().contains("orness 0.650"),
            "{}",
            owa.describe()
        );
        assert!(Owa::with_order_weights(&[0.5, 0.5], 3).is_err());
        assert!(Owa::with_order_weights(&[0.5, -0.5, 1.0], 3).is_err());
    }

    #[test]
    fn weighted_product_and_zero() {
        let w = [0.75, 0.25];
        let t = total(&WeightedProduct, &[0.5, 0.8], &w);
        assert!((t - 0.5f64.powf(0.75) * 0.8f64.powf(0.25)).abs() < 1e-12);
        assert_eq!(total(&WeightedProduct, &[0.0, 1.0], &w), 0.0);
        // A criterion left out (weight 0) does not take part, even at 0.
        assert_eq!(total(&WeightedProduct, &[0.0, 0.6], &[0.0, 1.0]), 0.6);
    }

    #[test]
    fn fuzzy_operators() {
        let s = [0.5, 0.8];
        let w = [0.9, 0.1]; // unweighted: only "taking part" matters
        let op = |text: &str| {
            let t: toml::Table = toml::from_str(text).unwrap();
            Fuzzy::from_options(Some(&t)).unwrap()
        };
        assert_eq!(total(&op("operator = \"and\""), &s, &w), 0.5);
        assert_eq!(total(&op("operator = \"or\""), &s, &w), 0.8);
        assert!((total(&op("operator = \"product\""), &s, &w) - 0.4).abs() < 1e-12);
        assert!((total(&op("operator = \"sum\""), &s, &w) - 0.9).abs() < 1e-12);
        let g = total(&op("operator = \"gamma\"\ngamma = 0.9"), &s, &w);
        assert!((g - 0.9f64.powf(0.9) * 0.4f64.powf(0.1)).abs() < 1e-12);
        assert_eq!(Fuzzy::from_options(None).unwrap(), Fuzzy::Gamma(0.9));
        let bad = |text: &str| {
            let t: toml::Table = toml::from_str(text).unwrap();
            Fuzzy::from_options(Some(&t)).unwrap_err()
        };
        assert!(bad("operator = \"xor\"").contains("not one of"));
        assert!(bad("operator = \"and\"\ngamma = 0.5").contains("gamma is for"));
        assert!(bad("gamma = 2.0").contains("outside 0..1"));
    }

    fn scores_and_weights() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
        (1usize..8)
            .prop_flat_map(|n| {
                (
                    proptest::collection::vec(0.0f64..=1.0, n),
                    proptest::collection::vec(0.01f64..1.0, n),
                )
            })
            .prop_map(|(s, w)| {
                let sum: f64 = w.iter().sum();
                (s, w.iter().map(|x| x / sum).collect())
            })
    }

    fn site_local() -> Vec<Box<dyn Aggregate>> {
        vec![
            Box::new(WeightedSum),
            Box::new(WeightedProduct),
            Box::new(Owa::with_orness(0.0).unwrap()),
            Box::new(Owa::with_orness(0.3).unwrap()),
            Box::new(Owa::with_orness(1.0).unwrap()),
            Box::new(Fuzzy::And),
            Box::new(Fuzzy::Or),
        ]
    }

    proptest! {
        /// Equal sub-scores give that sub-score (weighted product, OWA, fuzzy and/or).
        #[test]
        fn equal_scores_are_returned((s, w) in scores_and_weights(), x in 0.0f64..=1.0) {
            let same = vec![x; s.len()];
            for m in site_local() {
                prop_assert!((total(&*m, &same, &w) - x).abs() < 1e-9, "{}", m.describe());
            }
        }

        /// Every method's total is in 0..1 and its contributions add up to it.
        #[test]
        fn contributions_add_up((s, w) in scores_and_weights()) {
            let mut all = site_local();
            all.push(Box::new(Fuzzy::Product));
            all.push(Box::new(Fuzzy::Sum));
            all.push(Box::new(Fuzzy::Gamma(0.7)));
            all.push(fitted(&Topsis::from_options(None).unwrap(), &[s.clone(), vec![0.5; s.len()]], &w));
            for m in all {
                let mut c = vec![0.0; s.len()];
                let t = m.aggregate(&s, &w, &mut c);
                prop_assert!((0.0..=1.0 + 1e-12).contains(&t), "{} {t}", m.describe());
                prop_assert!((c.iter().sum::<f64>() - t).abs() < 1e-9, "{} {c:?} {t}", m.describe());
            }
        }

        /// The quick total equals the explained one bit for bit, for every method.
        #[test]
        fn total_equals_aggregate((s, w) in scores_and_weights()) {
            let mut all = site_local();
            all.push(Box::new(Fuzzy::Product));
            all.push(Box::new(Fuzzy::Sum));
            all.push(Box::new(Fuzzy::Gamma(0.7)));
            all.push(Box::new(Owa::with_order_weights(&vec![1.0; s.len()], s.len()).unwrap()));
            all.push(fitted(&Topsis::from_options(None).unwrap(), &[s.clone(), vec![0.5; s.len()]], &w));
            for m in all {
                let t = total(&*m, &s, &w);
                prop_assert_eq!(m.total(&s, &w).to_bits(), t.to_bits(), "{}", m.describe());
            }
        }

        /// TOPSIS: a candidate inside the set's box (not an extreme on any criterion) changes
        /// no one's score.
        #[test]
        fn topsis_ignores_a_dominated_inner_candidate(
            set in proptest::collection::vec(proptest::collection::vec(0.0f64..=1.0, 3), 2..12),
            t in 0.05f64..0.95,
        ) {
            let w = [0.5, 0.3, 0.2];
            let m = Topsis::from_options(None).unwrap();
            let lo: Vec<f64> = (0..3).map(|j| set.iter().map(|s| s[j]).fold(f64::INFINITY, f64::min)).collect();
            let hi: Vec<f64> = (0..3).map(|j| set.iter().map(|s| s[j]).fold(f64::NEG_INFINITY, f64::max)).collect();
            let inner: Vec<f64> = lo.iter().zip(&hi).map(|(a, b)| a + t * (b - a)).collect();
            let mut more = set.clone();
            more.push(inner);
            let (a, b) = (fitted(&m, &set, &w), fitted(&m, &more, &w));
            for s in &set {
                prop_assert!((total(&*a, s, &w) - total(&*b, s, &w)).abs() < 1e-12);
            }
        }
    }
}
