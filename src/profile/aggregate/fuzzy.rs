//! `fuzzy`: fuzzy overlay as in ArcGIS Fuzzy Overlay, with the sub-scores as fuzzy
//! memberships. `[fuzzy] operator =`
//!
//! - `"and"`: the minimum (the worst criterion decides);
//! - `"or"`: the maximum;
//! - `"product"`: Π sᵢ (decreasing: every criterion pulls down);
//! - `"sum"`: 1 − Π(1 − sᵢ) (increasing: every criterion adds evidence);
//! - `"gamma"` (default, with `gamma = 0.9` as ArcGIS): sum^γ · product^(1−γ).
//!
//! Fuzzy overlay is unweighted: criteria with a positive weight take part, equally (a
//! criterion left out at a site, or of weight 0, does not). Site-local. Contributions: for
//! and/or all of the total goes to the deciding criterion; for product to each criterion in
//! proportion to −ln sᵢ (how much it pulled down), for sum to −ln(1 − sᵢ) (how much it
//! added), for gamma the γ-mix of the two.

use super::{Aggregate, Method, split};
use serde::Deserialize;

/// The `[fuzzy]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    #[serde(default = "gamma_default")]
    operator: String,
    #[serde(default)]
    gamma: Option<f64>,
}

fn gamma_default() -> String {
    "gamma".into()
}

/// A fuzzy overlay operator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fuzzy {
    /// Minimum.
    And,
    /// Maximum.
    Or,
    /// Algebraic product.
    Product,
    /// Algebraic sum.
    Sum,
    /// sum^γ · product^(1−γ).
    Gamma(f64),
}

impl Fuzzy {
    /// From the `[fuzzy]` section (default: gamma 0.9).
    pub fn from_options(table: Option<&toml::Table>) -> Result<Fuzzy, String> {
        let o: Options = match table {
            Some(t) => t
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| format!("[fuzzy]: {}", e.message()))?,
            None => Options {
                operator: gamma_default(),
                gamma: None,
            },
        };
        if o.gamma.is_some() && o.operator != "gamma" {
            return Err(format!(
                "[fuzzy] gamma is for operator \"gamma\", not \"{}\"",
                o.operator
            ));
        }
        Ok(match o.operator.as_str() {
            "and" => Fuzzy::And,
            "or" => Fuzzy::Or,
            "product" => Fuzzy::Product,
            "sum" => Fuzzy::Sum,
            "gamma" => {
                let g = o.gamma.unwrap_or(0.9);
                if !(0.0..=1.0).contains(&g) {
                    return Err(format!("[fuzzy] gamma {g} is outside 0..1"));
                }
                Fuzzy::Gamma(g)
            }
            other => {
                return Err(format!(
                    "[fuzzy] operator \"{other}\" is not one of and, or, product, sum, gamma"
                ));
            }
        })
    }

    fn parts(scores: &[f64], weights: &[f64]) -> (f64, f64) {
        let mut product = 1.0;
        let mut not_sum = 1.0;
        for (s, w) in scores.iter().zip(weights) {
            if *w > 0.0 {
                product *= s;
                not_sum *= 1.0 - s;
            }
        }
        (product, 1.0 - not_sum)
    }
}

impl Method for Fuzzy {
    fn name(&self) -> &'static str {
        "fuzzy"
    }
    fn local(&self) -> Box<dyn Aggregate> {
        Box::new(*self)
    }
}

/// −ln x, infinite at 0.
fn pull(x: f64) -> f64 {
    -x.max(0.0).ln()
}

impl Aggregate for Fuzzy {
    fn total(&self, scores: &[f64], weights: &[f64]) -> f64 {
        let taking = || scores.iter().zip(weights).filter(|(_, w)| **w > 0.0);
        let total = match *self {
            Fuzzy::And => taking().map(|(s, _)| *s).fold(f64::INFINITY, f64::min),
            Fuzzy::Or => taking().map(|(s, _)| *s).fold(f64::NEG_INFINITY, f64::max),
            Fuzzy::Product => Fuzzy::parts(scores, weights).0,
            Fuzzy::Sum => Fuzzy::parts(scores, weights).1,
            Fuzzy::Gamma(g) => {
                let (product, sum) = Fuzzy::parts(scores, weights);
                sum.powf(g) * product.powf(1.0 - g)
            }
        };
        if total.is_finite() { total } else { 0.0 }
    }
    fn aggregate(&self, scores: &[f64], weights: &[f64], contributions: &mut [f64]) -> f64 {
        let total = self.total(scores, weights);
        let deciding = |s: f64| scores.iter().map(move |x| if *x == s { 1.0 } else { 0.0 });
        match *self {
            Fuzzy::And | Fuzzy::Or => split(total, deciding(total), weights, contributions),
            Fuzzy::Product => split(
                total,
                scores.iter().map(|s| pull(*s)),
                weights,
                contributions,
            ),
            Fuzzy::Sum => split(
                total,
                scores.iter().map(|s| pull(1.0 - s)),
                weights,
                contributions,
            ),
            Fuzzy::Gamma(g) => {
                let mut down = vec![0.0; scores.len()];
                split(1.0, scores.iter().map(|s| pull(*s)), weights, &mut down);
                let mut up = vec![0.0; scores.len()];
                split(1.0, scores.iter().map(|s| pull(1.0 - s)), weights, &mut up);
                let mix = down.iter().zip(&up).map(|(d, u)| (1.0 - g) * d + g * u);
                split(total, mix, weights, contributions);
            }
        }
        total
    }
    fn describe(&self) -> String {
        match self {
            Fuzzy::And => "fuzzy AND: the lowest sub-score".into(),
            Fuzzy::Or => "fuzzy OR: the highest sub-score".into(),
            Fuzzy::Product => "fuzzy product of the sub-scores".into(),
            Fuzzy::Sum => "fuzzy sum: 1 minus the product of (1 - sub-score)".into(),
            Fuzzy::Gamma(g) => {
                let rest = crate::text::format_number(((1.0 - g) * 1e9).round() / 1e9);
                format!("fuzzy gamma {g}: fuzzy sum^{g} x fuzzy product^{rest}")
            }
        }
    }
}
