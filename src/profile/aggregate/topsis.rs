//! `topsis` (Hwang & Yoon 1981): closeness of a site's weighted sub-scores to the ideal and
//! away from the anti-ideal point of the candidate set, d⁻/(d⁺ + d⁻), with
//! d± = √Σⱼ (wⱼ·nⱼ·(sⱼ − s±ⱼ))², s⁺ⱼ and s⁻ⱼ the best and worst sub-score of criterion j
//! among the candidates (the `ok` sites of a `score` run, the `ok` cells of a `region` run),
//! and nⱼ the normalisation: `[topsis] normalise = "none"` (default: sub-scores are already
//! on 0..1) or `"vector"` (Hwang & Yoon's 1/√Σ s², over the candidates).
//!
//! Set-dependent: a site's score depends on the other candidates, so the set is read twice
//! (a first, streaming pass keeps only each criterion's best, worst and Σ s²: memory does
//! not grow with the number of sites). The fit is independent of the weights, so the same
//! fit serves every weight draw of `--sensitivity`. Where all candidates are equal on every
//! criterion, every site scores 0.5. Contributions: the total split in proportion to each
//! criterion's part of d⁻².

use super::{Aggregate, Fit, Method, split};
use serde::Deserialize;
use std::any::Any;

/// The `[topsis]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    #[serde(default = "none")]
    normalise: String,
}

fn none() -> String {
    "none".into()
}

/// TOPSIS.
#[derive(Debug, Clone, Copy)]
pub struct Topsis {
    vector: bool,
}

impl Topsis {
    /// From the `[topsis]` section.
    pub fn from_options(table: Option<&toml::Table>) -> Result<Topsis, String> {
        let o: Options = match table {
            Some(t) => t
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| format!("[topsis]: {}", e.message()))?,
            None => Options { normalise: none() },
        };
        match o.normalise.as_str() {
            "none" => Ok(Topsis { vector: false }),
            "vector" => Ok(Topsis { vector: true }),
            other => Err(format!(
                "[topsis] normalise \"{other}\" is not \"none\" or \"vector\""
            )),
        }
    }
}

/// What the first pass keeps, per criterion.
#[derive(Debug, Clone, Default)]
struct Extremes {
    vector: bool,
    best: Vec<f64>,
    worst: Vec<f64>,
    squares: Vec<f64>,
    candidates: u64,
}

/// The fitted scorer.
#[derive(Debug, Clone)]
pub struct Fitted {
    best: Vec<f64>,
    worst: Vec<f64>,
    scale: Vec<f64>,
    candidates: u64,
    vector: bool,
}

impl Method for Topsis {
    fn name(&self) -> &'static str {
        "topsis"
    }
    fn fit(&self) -> Option<Box<dyn Fit>> {
        Some(Box::new(Extremes {
            vector: self.vector,
            ..Extremes::default()
        }))
    }
    fn local(&self) -> Box<dyn Aggregate> {
        Extremes::default().fitted()
    }
}

impl Extremes {
    fn grow(&mut self, n: usize) {
        if self.best.len() < n {
            self.best.resize(n, f64::NEG_INFINITY);
            self.worst.resize(n, f64::INFINITY);
            self.squares.resize(n, 0.0);
        }
    }

    fn fitted(self) -> Box<dyn Aggregate> {
        let scale = self
            .squares
            .iter()
            .map(|q| {
                if self.vector && *q > 0.0 {
                    1.0 / q.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        Box::new(Fitted {
            best: self.best,
            worst: self.worst,
            scale,
            candidates: self.candidates,
            vector: self.vector,
        })
    }
}

impl Fit for Extremes {
    fn observe(&mut self, scores: &[f64], weights: &[f64]) {
        self.grow(scores.len());
        self.candidates += 1;
        for (j, (s, w)) in scores.iter().zip(weights).enumerate() {
            if *w > 0.0 {
                self.best[j] = self.best[j].max(*s);
                self.worst[j] = self.worst[j].min(*s);
                self.squares[j] += s * s;
            }
        }
    }
    fn merge(&mut self, other: Box<dyn Fit>) {
        let Ok(o) = other.into_any().downcast::<Extremes>() else {
            return;
        };
        self.grow(o.best.len());
        self.candidates += o.candidates;
        for j in 0..o.best.len() {
            self.best[j] = self.best[j].max(o.best[j]);
            self.worst[j] = self.worst[j].min(o.worst[j]);
            self.squares[j] += o.squares[j];
        }
    }
    fn finish(self: Box<Self>) -> Box<dyn Aggregate> {
        self.fitted()
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

impl Aggregate for Fitted {
    fn total(&self, scores: &[f64], weights: &[f64]) -> f64 {
        let (mut plus, mut minus) = (0.0, 0.0);
        for (j, (s, w)) in scores.iter().zip(weights).enumerate() {
            // A criterion no candidate had (or none at all fitted) does not discriminate.
            let (Some(b), Some(v)) = (self.best.get(j), self.worst.get(j)) else {
                continue;
            };
            if *w > 0.0 && b.is_finite() && v.is_finite() {
                let k = w * self.scale[j];
                plus += (k * (b - s)).powi(2);
                minus += (k * (s - v)).powi(2);
            }
        }
        let (plus, minus) = (plus.sqrt(), minus.sqrt());
        if plus + minus > 0.0 {
            minus / (plus + minus)
        } else {
            0.5
        }
    }
    fn aggregate(&self, scores: &[f64], weights: &[f64], contributions: &mut [f64]) -> f64 {
        let total = self.total(scores, weights);
        let part = |j: usize, s: f64, w: f64| match (self.worst.get(j), self.scale.get(j)) {
            (Some(v), Some(k)) if v.is_finite() => (w * k * (s - v)).powi(2),
            _ => 0.0,
        };
        let shares: Vec<f64> = (0..scores.len())
            .map(|j| part(j, scores[j], weights[j]))
            .collect();
        split(total, shares.into_iter(), weights, contributions);
        total
    }
    fn describe(&self) -> String {
        format!(
            "TOPSIS closeness to the ideal of the {} candidates{} (set-dependent: a site's score depends on the other candidates of the run)",
            crate::text::thousands(self.candidates as f64),
            if self.vector {
                ", vector-normalised"
            } else {
                ""
            }
        )
    }
}
