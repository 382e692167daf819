//! `owa`: ordered weighted averaging with importance weights (Yager 1996, quantifier-guided;
//! Torra's WOWA for given order weights). Each site's sub-scores are ordered best first, and
//! the j-th best gets the order weight pⱼ = Q(Sⱼ) − Q(Sⱼ₋₁), where Sⱼ is the sum of the
//! importance (criterion) weights of the j best. The quantifier Q sets the attitude:
//!
//! - `orness = r` (0..1): Q(x) = x^α with α = 1/r − 1. r = 0 is the minimum (AND: the worst
//!   criterion decides), 0.5 the weighted mean (the weighted sum), 1 the maximum (OR).
//! - `order_weights = [v₁, …, vₙ]` (one per criterion, best first): Q interpolates the
//!   points (j/n, v₁ + … + vⱼ) linearly; with equal criterion weights the order weights
//!   are exactly vⱼ.
//!
//! Site-local. Each criterion's contribution is pⱼ·sⱼ; they add up to the total.

use super::{Aggregate, Method};
use serde::Deserialize;

/// The `[owa]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    #[serde(default)]
    orness: Option<f64>,
    #[serde(default)]
    order_weights: Option<Vec<f64>>,
}

/// The quantifier Q: [0, 1] → [0, 1], non-decreasing, Q(0) = 0, Q(1) = 1.
#[derive(Debug, Clone, PartialEq)]
enum Quantifier {
    /// x^α (0 < α < ∞).
    Power(f64),
    /// The minimum: Q(x) = 0 below 1.
    All,
    /// The maximum: Q(x) = 1 above 0.
    Any,
    /// Piecewise linear through (j/n, cumulative[j]), cumulative[0] = 0.
    Linear(Vec<f64>),
}

impl Quantifier {
    fn at(&self, x: f64) -> f64 {
        let x = x.clamp(0.0, 1.0);
        match self {
            Quantifier::Power(a) => x.powf(*a),
            Quantifier::All => {
                if x >= 1.0 - 1e-12 {
                    1.0
                } else {
                    0.0
                }
            }
            Quantifier::Any => {
                if x > 1e-12 {
                    1.0
                } else {
                    0.0
                }
            }
            Quantifier::Linear(cum) => {
                let n = cum.len() - 1;
                let t = x * n as f64;
                let j = (t.floor() as usize).min(n - 1);
                cum[j] + (cum[j + 1] - cum[j]) * (t - j as f64)
            }
        }
    }
}

/// Ordered weighted averaging.
#[derive(Debug, Clone)]
pub struct Owa {
    q: Quantifier,
    label: String,
}

impl Owa {
    /// From the `[owa]` section (`orness` or `order_weights`) for `n` criteria.
    pub fn from_options(table: Option<&toml::Table>, n: usize) -> Result<Owa, String> {
        let o: Options = match table {
            Some(t) => t
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| format!("[owa]: {}", e.message()))?,
            None => return Err("method owa needs [owa] with orness or order_weights".into()),
        };
        match (o.orness, o.order_weights) {
            (Some(r), None) => Owa::with_orness(r),
            (None, Some(v)) => Owa::with_order_weights(&v, n),
            _ => Err("[owa] needs orness or order_weights (one of them)".into()),
        }
    }

    /// Quantifier-guided, with ORness `r` in 0..1.
    pub fn with_orness(r: f64) -> Result<Owa, String> {
        if !(0.0..=1.0).contains(&r) {
            return Err(format!("[owa] orness {r} is outside 0..1"));
        }
        let q = if r == 0.0 {
            Quantifier::All
        } else if r == 1.0 {
            Quantifier::Any
        } else {
            Quantifier::Power(1.0 / r - 1.0)
        };
        Ok(Owa {
            q,
            label: format!("orness {r}"),
        })
    }

    /// With order weights `v` (best first), one per criterion.
    pub fn with_order_weights(v: &[f64], n: usize) -> Result<Owa, String> {
        if v.len() != n {
            return Err(format!(
                "[owa] order_weights has {} values for {n} criteria",
                v.len()
            ));
        }
        if v.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Err("[owa] order_weights must be zero or positive".into());
        }
        let sum: f64 = v.iter().sum();
        if sum <= 0.0 {
            return Err("[owa] order_weights are all zero".into());
        }
        let mut cum = vec![0.0];
        for x in v {
            cum.push(cum.last().copied().unwrap_or(0.0) + x / sum);
        }
        let orness: f64 = if n > 1 {
            v.iter()
                .enumerate()
                .map(|(j, x)| (n - 1 - j) as f64 / (n - 1) as f64 * x / sum)
                .sum()
        } else {
            0.5
        };
        Ok(Owa {
            q: Quantifier::Linear(cum),
            label: format!("order weights, orness {orness:.3}"),
        })
    }
}

impl Method for Owa {
    fn name(&self) -> &'static str {
        "owa"
    }
    fn local(&self) -> Box<dyn Aggregate> {
        Box::new(self.clone())
    }
}

impl Owa {
    /// Visit each taking-part criterion best first with its part of the total,
    /// (order weight) × score; returns the total. Equal scores go in criterion order (the
    /// total does not depend on it). No allocation for up to 16 criteria.
    fn ordered(&self, scores: &[f64], weights: &[f64], mut each: impl FnMut(usize, f64)) -> f64 {
        let mut small = [0usize; 16];
        let mut large = Vec::new();
        let taking = (0..scores.len()).filter(|&i| weights[i] > 0.0);
        let order: &mut [usize] = if scores.len() <= 16 {
            let mut n = 0;
            for i in taking {
                small[n] = i;
                n += 1;
            }
            &mut small[..n]
        } else {
            large.extend(taking);
            &mut large[..]
        };
        order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        let (mut before, mut q_before, mut total) = (0.0, 0.0, 0.0);
        for (k, &i) in order.iter().enumerate() {
            before += weights[i];
            // The last one closes at Q(1) = 1: the order weights sum to 1 exactly.
            let q = if k + 1 == order.len() {
                1.0
            } else {
                self.q.at(before)
            };
            let part = (q - q_before) * scores[i];
            each(i, part);
            total += part;
            q_before = q;
        }
        total
    }
}

impl Aggregate for Owa {
    fn total(&self, scores: &[f64], weights: &[f64]) -> f64 {
        self.ordered(scores, weights, |_, _| {})
    }
    fn aggregate(&self, scores: &[f64], weights: &[f64], contributions: &mut [f64]) -> f64 {
        contributions.iter_mut().for_each(|c| *c = 0.0);
        self.ordered(scores, weights, |i, part| contributions[i] = part)
    }
    fn describe(&self) -> String {
        format!("ordered weighted average ({})", self.label)
    }
}
