//! Set-relative standardisations (`percentile`, `min_max`): their bounds come from the raw
//! values of the candidate set, read in a pass of their own before anything is scored
//! ([`Engine::fit`], [`crate::batch::fit_stream`]). The candidates are the sites or cells
//! of the run that pass every constraint (as an analyst filters before normalising: a point
//! at sea 1,300 km from any plant must not stretch the distance scale of the sites on
//! land); each counts with its known value, whatever else is UNKNOWN there. Values from a
//! source with a standardisation of its own are on another scale and do not count.

use super::Engine;
use super::score::Sink;
use crate::measure::{Raw, Why};
use crate::profile::Standardise;
use crate::text::{format_number, thousands};

/// The raw values of the set-relative criteria seen so far, one list per criterion (8
/// bytes per site and criterion: percentiles are exact).
#[derive(Debug, Default)]
pub struct RelativeValues {
    lists: Vec<Vec<f64>>,
}

impl RelativeValues {
    /// Take in what another accumulator saw.
    pub fn merge(&mut self, other: RelativeValues) {
        for (a, b) in self.lists.iter_mut().zip(other.lists) {
            a.extend(b);
        }
    }
}

/// What a set-relative standardisation of one criterion resolved to.
#[derive(Debug, Clone)]
pub(super) struct Resolved {
    /// The fixed standardisation used.
    pub standardise: Standardise,
    /// The bounds found (low, high).
    pub bounds: [f64; 2],
    /// How many values they were found on.
    pub values: usize,
}

impl Engine {
    /// A fresh accumulator of raw values; `None` when no criterion is set-relative.
    pub fn relative_start(&self) -> Option<RelativeValues> {
        (!self.relative.is_empty()).then(|| RelativeValues {
            lists: vec![Vec::new(); self.relative.len()],
        })
    }

    /// Read the set-relative criteria's raw values at one site of the candidate set: a site
    /// that fails a constraint is not a candidate and does not count.
    pub fn relative_observe(&self, acc: &mut RelativeValues, lon: f64, lat: f64) {
        let mut sink = Raws {
            engine: self,
            values: [f64::NAN; 8],
            more: Vec::new(),
        };
        if self.assess(lon, lat, &mut sink).failed != 0 {
            return;
        }
        for (k, list) in acc.lists.iter_mut().enumerate() {
            let x = if k < 8 {
                sink.values[k]
            } else {
                sink.more.get(k - 8).copied().unwrap_or(f64::NAN)
            };
            if !x.is_nan() {
                list.push(x);
            }
        }
    }

    /// Resolve the set-relative standardisations on everything observed. A criterion
    /// without any known value stays unresolved: it is UNKNOWN everywhere.
    pub fn relative_finish(&mut self, acc: RelativeValues) {
        for (mut values, &i) in acc.lists.into_iter().zip(&self.relative) {
            let found = self.profile.criteria[i].standardise.resolve(&mut values);
            self.resolved[i] = found.map(|(standardise, bounds)| Resolved {
                standardise,
                bounds,
                values: values.len(),
            });
        }
        self.relative_done = true;
    }

    /// The resolved standardisation of criterion `i`, if it is set-relative and resolved.
    pub(super) fn resolved(&self, i: usize) -> Option<&Standardise> {
        self.resolved[i].as_ref().map(|r| &r.standardise)
    }

    /// Why a site's score depends on the other sites of the run, for people ("method
    /// topsis; the set-relative standardisation of grid_distance"); `None` when it does not.
    pub fn set_dependence(&self) -> Option<String> {
        let mut why = Vec::new();
        if self.method.fit().is_some() {
            why.push(format!("method {}", self.profile.method));
        }
        if !self.relative.is_empty() {
            let ids: Vec<&str> = self
                .relative
                .iter()
                .map(|&i| self.profile.criteria[i].id())
                .collect();
            why.push(format!(
                "the set-relative standardisation of {}",
                ids.join(", ")
            ));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// For people and outputs: each set-relative criterion's bounds, e.g.
    /// "grid_distance: percentile 1-99 of 10,000 values: 3.2 km scores 1, 148 km scores 0".
    pub fn relative_notes(&self) -> Vec<String> {
        self.relative
            .iter()
            .map(|&i| {
                let c = &self.profile.criteria[i];
                let what = match &c.standardise {
                    Standardise::Percentile { low, high, .. } => {
                        format!("percentile {low}-{high}")
                    }
                    _ => "min-max".to_string(),
                };
                match &self.resolved[i] {
                    None => format!(
                        "{}: {what}: no candidate passing every constraint has a value; unresolved",
                        c.id()
                    ),
                    Some(r) => {
                        let (best, worst) = match c.standardise.direction() {
                            Some(d) if d > 0.0 => (r.bounds[1], r.bounds[0]),
                            _ => (r.bounds[0], r.bounds[1]),
                        };
                        let unit = match c.unit() {
                            "" => String::new(),
                            u => format!(" {u}"),
                        };
                        format!(
                            "{}: {what} of {} values: {}{unit} scores 1, {}{unit} scores 0",
                            c.id(),
                            thousands(r.values as f64),
                            format_number(best),
                            format_number(worst),
                        )
                    }
                }
            })
            .collect()
    }
}

/// Records the raw values of the set-relative criteria (NaN: unknown, or from a source on
/// its own scale), in the order of [`Engine::relative_start`]'s lists.
struct Raws<'e> {
    engine: &'e Engine,
    values: [f64; 8],
    more: Vec<f64>,
}

impl Sink for Raws<'_> {
    fn wants_every_value(&self) -> bool {
        false
    }
    fn measured(&mut self, i: usize, raw: Result<(&Raw<'_>, Option<u16>), Why>, _: Option<f64>) {
        let Some(k) = self.engine.relative.iter().position(|&r| r == i) else {
            return;
        };
        let Ok((raw, source)) = raw else { return };
        let own = source
            .and_then(|s| self.engine.compiled[i].standardise.get(usize::from(s)))
            .is_some_and(Option::is_some);
        let x = raw.as_f64().filter(|x| x.is_finite() && !own);
        let x = x.unwrap_or(f64::NAN);
        if k < 8 {
            self.values[k] = x;
        } else {
            if self.more.len() < k - 7 {
                self.more.resize(k - 7, f64::NAN);
            }
            self.more[k - 8] = x;
        }
    }
    fn aggregated(&mut self, _: &[f64], _: &[f64]) {}
}
