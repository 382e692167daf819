//! Standardisation: maps a raw criterion value to a 0..1 suitability score (1 = best).
//!
//! Every function has the same template — what it does, direction, example:
//!
//! - `linear = { best, worst }`: 1 at `best`, 0 at `worst`, straight in between, clamped
//!   outside. `best < worst` is a cost (less is better: distance, price), `best > worst` a
//!   benefit (more is better: capacity).
//! - `log = { best, worst }`: 1 at `best`, 0 at `worst`, straight in the logarithm of the
//!   value in between (both bounds positive), clamped outside: diminishing returns, each
//!   doubling worth the same (generation capacity nearby: 200 MW to 400 MW matters as much
//!   as 20 GW to 40 GW). Zero and negative values score as the smallest.
//! - `sigmoid = { best, worst }`: the same end points on an S-curve (IDRISI/TerrSet's
//!   sigmoidal fuzzy membership, cos²), flat near both ends.
//! - `piecewise = { points = [[x, score], ...] }`: straight lines between breakpoints with
//!   strictly increasing `x`, clamped to the end scores outside.
//! - `categorical = { scores = { "Low" = 1.0, ... }, default = 0.5 }`: a table of scores by
//!   value (numbers match by their shortest text: `2`, `2.5`); a value not in the table
//!   takes `default`, or is UNKNOWN when there is none.
//!
//! Set-relative, over the run's candidate set (the sites of a `score` run, the cells of a
//! `region` run, that pass every constraint, with a known value), read in a first pass:
//!
//! - `percentile = { low = 1, high = 99, best = "low" }`: straight between the `low` and
//!   `high` percentiles of the set's values (linear interpolation between closest ranks,
//!   as pandas' and numpy's default `quantile`), clamped outside; `best` says which end
//!   scores 1 (`"low"`: a cost, `"high"`: a benefit).
//! - `min_max = { best = "high" }`: the same between the set's minimum and maximum.
//!
//! When the two bounds coincide (every value equal) the criterion does not tell sites apart
//! and every value scores 0.5. Outputs report the bounds found.
//!
//! ```
//! use standort::profile::Standardise;
//! let cost = Standardise::Linear { best: 10.0, worst: 110.0 };
//! assert_eq!(cost.score_number(60.0), Some(0.5));
//! assert_eq!(cost.score_number(5.0), Some(1.0));
//! let s = Standardise::Sigmoid { best: 0.0, worst: 100.0 };
//! assert!((s.score_number(50.0).unwrap() - 0.5).abs() < 1e-12);
//! ```

use crate::layers::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A standardisation function (see the module docs).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Standardise {
    /// Straight line from `best` (1) to `worst` (0).
    Linear {
        /// Raw value scoring 1.
        best: f64,
        /// Raw value scoring 0.
        worst: f64,
    },
    /// Straight in the logarithm from `best` (1) to `worst` (0); both positive.
    Log {
        /// Raw value scoring 1.
        best: f64,
        /// Raw value scoring 0.
        worst: f64,
    },
    /// S-curve from `best` (1) to `worst` (0).
    Sigmoid {
        /// Raw value scoring 1.
        best: f64,
        /// Raw value scoring 0.
        worst: f64,
    },
    /// Straight lines between `[x, score]` breakpoints.
    Piecewise {
        /// Breakpoints, `x` strictly increasing, scores in 0..1.
        points: Vec<[f64; 2]>,
    },
    /// Set-relative: straight between two percentiles of the candidate set's values.
    Percentile {
        /// Lower percentile (0..100).
        low: f64,
        /// Upper percentile (0..100), above `low`.
        high: f64,
        /// Which end scores 1.
        best: End,
    },
    /// Set-relative: straight between the candidate set's minimum and maximum.
    MinMax {
        /// Which end scores 1.
        best: End,
    },
    /// A score per category.
    Categorical {
        /// Score by value.
        scores: BTreeMap<String, f64>,
        /// Score of values not in the table (UNKNOWN when absent).
        #[serde(default)]
        default: Option<f64>,
    },
}

/// Which end of a set-relative range scores 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// Less is better (a cost: distance, price).
    Low,
    /// More is better (a benefit: capacity).
    High,
}

impl Standardise {
    /// True for a set-relative standardisation (percentile, min_max): it scores nothing
    /// until [`Standardise::resolve`] has seen the candidate set's values.
    pub fn is_set_relative(&self) -> bool {
        matches!(
            self,
            Standardise::Percentile { .. } | Standardise::MinMax { .. }
        )
    }

    /// The fixed standardisation a set-relative one stands for on the set's known
    /// `values` (reordered in place), with the bounds found; `None` for one that is not
    /// set-relative or an empty set.
    pub fn resolve(&self, values: &mut [f64]) -> Option<(Standardise, [f64; 2])> {
        let (lo, hi, best) = match self {
            Standardise::Percentile { low, high, best } => {
                (percentile(values, *low)?, percentile(values, *high)?, *best)
            }
            Standardise::MinMax { best } => {
                let lo = values.iter().copied().reduce(f64::min)?;
                let hi = values.iter().copied().reduce(f64::max)?;
                (lo, hi, *best)
            }
            _ => return None,
        };
        let fixed = if lo == hi {
            // Every value alike: the criterion tells no site apart.
            Standardise::Categorical {
                scores: BTreeMap::new(),
                default: Some(0.5),
            }
        } else {
            match best {
                End::Low => Standardise::Linear {
                    best: lo,
                    worst: hi,
                },
                End::High => Standardise::Linear {
                    best: hi,
                    worst: lo,
                },
            }
        };
        Some((fixed, [lo, hi]))
    }

    /// Check the parameters; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let finite = |x: f64, what: &str| {
            if x.is_finite() {
                Ok(())
            } else {
                Err(format!("{what} must be a finite number"))
            }
        };
        match self {
            Standardise::Linear { best, worst } | Standardise::Sigmoid { best, worst } => {
                finite(*best, "best")?;
                finite(*worst, "worst")?;
                if best == worst {
                    return Err(format!(
                        "best and worst are both {best}: the bounds must differ"
                    ));
                }
            }
            Standardise::Log { best, worst } => {
                if !(best.is_finite() && worst.is_finite() && *best > 0.0 && *worst > 0.0) {
                    return Err(format!(
                        "log needs positive finite bounds (best {best}, worst {worst})"
                    ));
                }
                if best == worst {
                    return Err(format!(
                        "best and worst are both {best}: the bounds must differ"
                    ));
                }
            }
            Standardise::Piecewise { points } => check_piecewise(points)?,
            Standardise::Percentile { low, high, .. } => {
                if !(0.0..=100.0).contains(low) || !(0.0..=100.0).contains(high) {
                    return Err(format!(
                        "percentile bounds {low} and {high} must be within 0..100"
                    ));
                }
                if low >= high {
                    return Err(format!(
                        "percentile low {low} must be below high {high}: bounds are inverted"
                    ));
                }
            }
            Standardise::MinMax { .. } => {}
            Standardise::Categorical { scores, default } => {
                // An empty table with a default scores every value the same: only the raw
                // value matters (the plan's water-unit lookup reads codes this way).
                if scores.is_empty() && default.is_none() {
                    return Err("categorical needs at least one score (or a default)".into());
                }
                for (k, v) in scores
                    .iter()
                    .map(|(k, v)| (k.as_str(), *v))
                    .chain(default.map(|d| ("default", d)))
                {
                    if !(0.0..=1.0).contains(&v) {
                        return Err(format!("categorical score {v} for \"{k}\" is outside 0..1"));
                    }
                }
            }
        }
        Ok(())
    }

    /// True when the function reads numbers (all but categorical).
    pub fn is_numeric(&self) -> bool {
        !matches!(self, Standardise::Categorical { .. })
    }

    /// True when [`Self::score_number`] scores every number (only a categorical
    /// standardisation, or a piecewise one without points, may leave one without a score).
    pub fn scores_every_number(&self) -> bool {
        match self {
            Standardise::Linear { .. } | Standardise::Log { .. } | Standardise::Sigmoid { .. } => {
                true
            }
            Standardise::Piecewise { points } => !points.is_empty(),
            // Set-relative ones score nothing before they are resolved.
            Standardise::Categorical { .. }
            | Standardise::Percentile { .. }
            | Standardise::MinMax { .. } => false,
        }
    }

    /// Score a number (categorical looks the number up by its text).
    pub fn score_number(&self, x: f64) -> Option<f64> {
        match self {
            Standardise::Linear { best, worst } => Some(linear(x, *best, *worst)),
            Standardise::Log { best, worst } => {
                // ln 0 = -inf clamps to the low end; negative values are taken as 0.
                let lx = if x > 0.0 { x.ln() } else { f64::NEG_INFINITY };
                Some(linear(lx, best.ln(), worst.ln()))
            }
            Standardise::Sigmoid { best, worst } => {
                let t = linear(x, *best, *worst);
                // cos^2 of the distance from best: 1 at best, 0 at worst, 0.5 midway.
                Some((std::f64::consts::FRAC_PI_2 * (1.0 - t)).cos().powi(2))
            }
            Standardise::Piecewise { points } => {
                let first = points.first()?;
                let last = points.last()?;
                if x <= first[0] {
                    return Some(first[1]);
                }
                if x >= last[0] {
                    return Some(last[1]);
                }
                let i = points.partition_point(|p| p[0] <= x);
                let (a, b) = (points[i - 1], points[i]);
                Some(a[1] + (b[1] - a[1]) * (x - a[0]) / (b[0] - a[0]))
            }
            Standardise::Categorical { .. } => self.score(&Value::Num(x)),
            Standardise::Percentile { .. } | Standardise::MinMax { .. } => None,
        }
    }

    /// +1 when a larger raw value scores at least as well (a benefit), -1 when a smaller one
    /// does (a cost), `None` for a categorical table or a piecewise curve that goes both
    /// ways. Used to break ties by raw values.
    pub fn direction(&self) -> Option<f64> {
        match self {
            Standardise::Linear { best, worst }
            | Standardise::Log { best, worst }
            | Standardise::Sigmoid { best, worst } => Some(if best > worst { 1.0 } else { -1.0 }),
            Standardise::Piecewise { points } => {
                let up = points.windows(2).all(|w| w[1][1] >= w[0][1]);
                let down = points.windows(2).all(|w| w[1][1] <= w[0][1]);
                match (up, down) {
                    (true, false) => Some(1.0),
                    (false, true) => Some(-1.0),
                    _ => None,
                }
            }
            Standardise::Percentile { best, .. } | Standardise::MinMax { best } => {
                Some(if *best == End::High { 1.0 } else { -1.0 })
            }
            Standardise::Categorical { .. } => None,
        }
    }

    /// Score a raw value; `None` when it cannot be scored (text for a numeric function, a
    /// category without a score).
    pub fn score(&self, v: &Value) -> Option<f64> {
        match (self, v) {
            (_, Value::Null) => None,
            (Standardise::Categorical { scores, default }, v) => {
                scores.get(&v.to_string()).copied().or(*default)
            }
            (_, Value::Num(x)) => self.score_number(*x),
            (_, Value::Text(_)) => None,
        }
    }
}

/// Check a piecewise curve's breakpoints.
fn check_piecewise(points: &[[f64; 2]]) -> Result<(), String> {
    if points.len() < 2 {
        return Err("piecewise needs at least two [x, score] points".into());
    }
    for w in points.windows(2) {
        if w[1][0] <= w[0][0] {
            return Err(format!(
                "piecewise x values must increase strictly ({} then {}): bounds are inverted",
                w[0][0], w[1][0]
            ));
        }
    }
    for p in points {
        if !p[0].is_finite() {
            return Err("x must be a finite number".into());
        }
        if !(0.0..=1.0).contains(&p[1]) {
            return Err(format!("piecewise score {} is outside 0..1", p[1]));
        }
    }
    Ok(())
}

/// The `p`-th percentile (0..100) of `values` by linear interpolation between closest
/// ranks (numpy's and pandas' default), reordering `values`; `None` when empty.
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * p / 100.0;
    let k = (h.floor() as usize).min(n - 1);
    let (_, at, above) = values.select_nth_unstable_by(k, f64::total_cmp);
    let a = *at;
    let b = above.iter().copied().reduce(f64::min).unwrap_or(a);
    Some(a + (h - k as f64) * (b - a))
}

fn linear(x: f64, best: f64, worst: f64) -> f64 {
    ((x - worst) / (best - worst)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_benefit_and_cost() {
        let benefit = Standardise::Linear {
            best: 1000.0,
            worst: 0.0,
        };
        assert_eq!(benefit.score_number(300.0), Some(0.3));
        assert_eq!(benefit.score_number(5000.0), Some(1.0));
        assert_eq!(benefit.score_number(-1.0), Some(0.0));
        let cost = Standardise::Linear {
            best: 0.0,
            worst: 5.0,
        };
        assert_eq!(cost.score_number(1.0), Some(0.8));
    }

    #[test]
    fn log_scores_each_doubling_alike() {
        let s = Standardise::Log {
            best: 51200.0,
            worst: 100.0,
        };
        s.validate().unwrap();
        let at = |x: f64| s.score_number(x).unwrap();
        // 100 -> 51,200 MW is 9 doublings: each is worth 1/9.
        assert!((at(200.0) - 1.0 / 9.0).abs() < 1e-12);
        assert!((at(25600.0) - 8.0 / 9.0).abs() < 1e-12);
        assert_eq!((at(100.0), at(51200.0)), (0.0, 1.0));
        assert_eq!((at(0.0), at(-5.0), at(1e9)), (0.0, 0.0, 1.0));
        let cost = Standardise::Log {
            best: 1.0,
            worst: 100.0,
        };
        assert!((cost.score_number(10.0).unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(cost.score_number(0.0), Some(1.0));
        assert_eq!((s.direction(), cost.direction()), (Some(1.0), Some(-1.0)));
        for bad in [(0.0, 10.0), (-1.0, 10.0), (5.0, 5.0)] {
            let s = Standardise::Log {
                best: bad.0,
                worst: bad.1,
            };
            assert!(s.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn directions() {
        let up = Standardise::Piecewise {
            points: vec![[0.0, 0.0], [1.0, 1.0]],
        };
        let hump = Standardise::Piecewise {
            points: vec![[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]],
        };
        assert_eq!((up.direction(), hump.direction()), (Some(1.0), None));
        let cost = Standardise::Linear {
            best: 0.0,
            worst: 5.0,
        };
        assert_eq!(cost.direction(), Some(-1.0));
    }

    #[test]
    fn sigmoid_is_monotone_and_flat_at_ends() {
        let s = Standardise::Sigmoid {
            best: 0.0,
            worst: 10.0,
        };
        let v: Vec<f64> = (0..=10)
            .map(|i| s.score_number(f64::from(i)).unwrap())
            .collect();
        assert_eq!(v[0], 1.0);
        assert!(v[10].abs() < 1e-15);
        assert!(v.windows(2).all(|w| w[1] <= w[0]));
        assert!(
            1.0 - v[1] < v[5] - v[6],
            "flatter near the best end than in the middle"
        );
    }

    #[test]
    fn piecewise_interpolates_and_clamps() {
        let p = Standardise::Piecewise {
            points: vec![[1000.0, 1.0], [5000.0, 0.5], [20000.0, 0.0]],
        };
        assert_eq!(p.score_number(0.0), Some(1.0));
        assert_eq!(p.score_number(3000.0), Some(0.75));
        assert_eq!(p.score_number(5000.0), Some(0.5));
        assert_eq!(p.score_number(12500.0), Some(0.25));
        assert_eq!(p.score_number(1e9), Some(0.0));
    }

    #[test]
    fn categorical_by_text() {
        let mut scores = BTreeMap::new();
        scores.insert("Low".to_string(), 1.0);
        scores.insert("2".to_string(), 0.5);
        let c = Standardise::Categorical {
            scores: scores.clone(),
            default: None,
        };
        assert_eq!(c.score(&Value::Text("Low".into())), Some(1.0));
        assert_eq!(c.score(&Value::Num(2.0)), Some(0.5));
        assert_eq!(c.score(&Value::Text("High".into())), None);
        let c = Standardise::Categorical {
            scores,
            default: Some(0.1),
        };
        assert_eq!(c.score(&Value::Text("High".into())), Some(0.1));
        assert_eq!(c.score(&Value::Null), None);
    }

    #[test]
    fn invalid_parameters() {
        assert!(
            Standardise::Linear {
                best: 1.0,
                worst: 1.0
            }
            .validate()
            .unwrap_err()
            .contains("must differ")
        );
        let e = Standardise::Piecewise {
            points: vec![[5.0, 1.0], [1.0, 0.0]],
        }
        .validate()
        .unwrap_err();
        assert!(e.contains("inverted"), "{e}");
        assert!(
            Standardise::Piecewise {
                points: vec![[0.0, 1.5], [1.0, 0.0]]
            }
            .validate()
            .is_err()
        );
        assert!(
            Standardise::Categorical {
                scores: BTreeMap::new(),
                default: None
            }
            .validate()
            .is_err()
        );
        assert!(
            Standardise::Linear {
                best: f64::NAN,
                worst: 1.0
            }
            .validate()
            .is_err()
        );
    }
}
