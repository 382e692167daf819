//! Set-relative standardisations (`percentile`, `min_max`): their bounds come from the raw
//! values of the candidate set, read in a pass of their own before anything is scored
//! ([`Engine::fit`], [`crate::batch::fit_stream`]). Every site or cell of the run whose
//! value is known counts, whatever its status, so that the bounds do not depend on the
//! profile's constraints; values from a source with a standardisation of its own are on
//! another scale and do not count.

use super::Engine;
use crate::measure::Position;
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

    /// Read the set-relative criteria's raw values at one site of the candidate set.
    pub fn relative_observe(&self, acc: &mut RelativeValues, lon: f64, lat: f64) {
        let at = Position::new(lon, lat);
        for (list, &i) in acc.lists.iter_mut().zip(&self.relative) {
            let Ok((raw, source)) = self.measure(i, &at) else {
                continue;
            };
            let own = source
                .and_then(|k| self.compiled[i].standardise.get(usize::from(k)))
                .is_some_and(Option::is_some);
            if let Some(x) = raw.as_f64().filter(|x| x.is_finite() && !own) {
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
                    None => format!("{}: {what}: no known value in the set", c.id()),
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
