//! Capacity plans: place campuses in score order under grid headroom, water budgets and
//! spacing, so that nothing is counted twice (the supply-curve idea of NREL's reV, for data
//! centers), and the sovereignty index: the plan at `max` for every country.
//!
//! The build-out is greedy. Candidates (a region's `ok` cells or given sites, at or above a
//! minimum score) are visited best first, exact ties ordered by [`Engine::break_tie`] as
//! `region` orders them. A candidate is refused when it is closer than the spacing to a
//! campus already placed ("spacing"), when the headroom left at the plants within the
//! interconnection distance does not cover a campus ("grid headroom"), or when its water
//! unit's budget does not ("water budget"); with `allow_partial` it hosts what is left
//! instead, down to a minimum. A placed campus draws `campus_mw × pue` from the plants
//! within reach, nearest first ([`grid::Headroom`]), and what it draws is gone.
//!
//! Energy, water and carbon per campus: IT energy = `it_mw × 8,760 h × utilisation`; grid
//! energy = IT energy × PUE; water = IT energy × `water_l_per_kwh`; carbon = grid energy ×
//! the grid carbon intensity where the campus sits ([`lookup`]).

pub mod grid;
pub mod lookup;
pub mod params;
pub mod sovereignty;

pub use grid::{Draw, Headroom, Plant};
pub use lookup::{Lookup, Place};
pub use params::{Param, PlanParams, PlanSection, annual_use};

use crate::engine::{Engine, Status, tie_runs};
use crate::geodesy::great_circle_km;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// A candidate site, ready for the build-out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The cell id of a region, or the site's row.
    pub id: u64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Total score.
    pub score: f64,
}

/// How many candidates there were, and how many the minimum score left out.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CandidateCounts {
    /// Sites or cells offered.
    pub offered: u64,
    /// Of those, `ok` (scored, not excluded or unknown).
    pub ok: u64,
    /// Of the `ok` ones, below the minimum score.
    pub below_min_score: u64,
    /// Of the `ok` ones at or above it, left out because their boundary layers disagree
    /// there (see [`Engine::boundary_conflicts`]): the Great Lakes are land in the countries
    /// layer but water in the Census states, so a "site" there would be in a lake.
    pub boundary_conflict: u64,
}

impl CandidateCounts {
    /// The candidates the build-out visits.
    pub fn used(&self) -> u64 {
        self.ok - self.below_min_score - self.boundary_conflict
    }
}

/// The `ok` sites of `points` (id, lon, lat) scoring at least `min_score`, best first: exact
/// ties by [`Engine::break_tie`], then in the order given.
pub fn ranked_candidates(
    engine: &Engine,
    points: &[(u64, f64, f64)],
    min_score: f64,
) -> (Vec<Candidate>, CandidateCounts) {
    // Per point: the score of an `ok` one, and whether its boundary layers disagree.
    let scored: Vec<Option<(f64, bool)>> = points
        .par_iter()
        .map(|&(_, lon, lat)| {
            let q = engine.score_only(lon, lat);
            (q.status == Status::Ok).then(|| {
                let s = q.score.unwrap_or(0.0);
                (
                    s,
                    s >= min_score && engine.boundary_conflicts(lon, lat) != 0,
                )
            })
        })
        .collect();
    let mut counts = CandidateCounts {
        offered: points.len() as u64,
        ..CandidateCounts::default()
    };
    let mut found: Vec<(f64, usize)> = Vec::new();
    for (k, s) in scored.iter().enumerate() {
        if let Some((s, conflict)) = *s {
            counts.ok += 1;
            if s < min_score {
                counts.below_min_score += 1;
            } else if conflict {
                counts.boundary_conflict += 1;
            } else {
                found.push((s, k));
            }
        }
    }
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (start, end) in tie_runs(&found, |c| c.0) {
        if end - start > 1 {
            let run = &mut found[start..end];
            let at: Vec<(f64, f64)> = run
                .iter()
                .map(|&(_, k)| (points[k].1, points[k].2))
                .collect();
            let sorted: Vec<(f64, usize)> = engine.tie_order(&at).iter().map(|&j| run[j]).collect();
            run.copy_from_slice(&sorted);
        }
    }
    let candidates = found
        .into_iter()
        .map(|(score, k)| Candidate {
            id: points[k].0,
            lon: points[k].1,
            lat: points[k].2,
            score,
        })
        .collect();
    (candidates, counts)
}

/// What stops a campus, or a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// The headroom left at the plants within reach.
    GridHeadroom,
    /// The water budget of the site's water unit.
    WaterBudget,
    /// Every other candidate is too close to a campus.
    Spacing,
    /// Every candidate above the minimum score has been used.
    Candidates,
    /// The target was reached.
    Target,
}

impl Resource {
    /// For people: "grid headroom exhausted", ...
    pub fn describe(self) -> &'static str {
        match self {
            Resource::GridHeadroom => "grid headroom exhausted",
            Resource::WaterBudget => "water budget exhausted",
            Resource::Spacing => "no candidate left outside the spacing of the campuses",
            Resource::Candidates => "no candidate left above the minimum score",
            Resource::Target => "target reached",
        }
    }

    /// A short label for tables and CSV: `grid_headroom`, ...
    pub fn label(self) -> &'static str {
        match self {
            Resource::GridHeadroom => "grid_headroom",
            Resource::WaterBudget => "water_budget",
            Resource::Spacing => "spacing",
            Resource::Candidates => "candidates",
            Resource::Target => "target",
        }
    }
}

/// How the build-out runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Stop once this much IT load is placed, MW (`None`: as much as the region can host).
    pub target_mw: Option<f64>,
    /// Minimum distance between campuses, km.
    pub min_spacing_km: f64,
    /// Host a smaller campus where a full one does not fit.
    pub allow_partial: bool,
    /// The smallest partial campus, MW of IT load.
    pub min_partial_mw: f64,
}

/// Water budgets, m³ per year, by unit code (US-AZ, IND, ...).
pub type WaterBudgets = HashMap<String, f64>;

/// One campus of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Campus {
    /// 1-based, in build order.
    pub rank: usize,
    /// Its candidate.
    pub site: Candidate,
    /// IT load, MW (`campus_mw`, or less for a partial campus).
    pub it_mw: f64,
    /// What it draws from the grid, MW (`it_mw × pue`), and from which plants.
    pub draws: Vec<Draw>,
    /// IT load placed so far, including this campus, MW.
    pub cumulative_mw: f64,
    /// Energy from the grid, GWh per year.
    pub energy_gwh: f64,
    /// Water, m³ per year.
    pub water_m3: f64,
    /// Where it sits: carbon intensity and water unit.
    pub place: Place,
    /// t CO₂ per year (when the carbon intensity is known there).
    pub carbon_t: Option<f64>,
    /// What stops another campus here once the plan is done: the headroom left within
    /// reach, the water budget left, else only the spacing. For a partial campus, what cut
    /// it.
    pub binding: Resource,
}

impl Campus {
    /// Grid power drawn, MW.
    pub fn grid_mw(&self) -> f64 {
        self.draws.iter().map(|d| d.mw).sum()
    }
}

/// Candidates refused, by what refused them (each counted once, by the first check it
/// failed: spacing, then grid headroom, then water).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Refused {
    /// Closer than the spacing to a campus.
    pub spacing: u64,
    /// Not enough headroom within reach.
    pub grid_headroom: u64,
    /// Not enough water left in the unit's budget.
    pub water_budget: u64,
}

/// Water drawn in one unit.
#[derive(Debug, Clone, PartialEq)]
pub struct WaterUse {
    /// The unit's code (US-AZ, IND), or "unknown" where no water layer answers.
    pub unit: String,
    /// m³ per year drawn by the plan's campuses.
    pub m3: f64,
    /// The unit's budget, m³ per year, if one was given.
    pub budget_m3: Option<f64>,
}

/// A finished plan.
pub struct Plan {
    /// The campuses, in build order.
    pub campuses: Vec<Campus>,
    /// Why it stopped.
    pub stop: Resource,
    /// Candidates refused, by reason.
    pub refused: Refused,
    /// Candidates offered, `ok`, below the minimum score.
    pub counts: CandidateCounts,
    /// The plants, their offers and what is left.
    pub headroom: Headroom,
    /// Water by unit, in unit order.
    pub water: Vec<WaterUse>,
    /// The parameters planned with.
    pub params: PlanParams,
    /// The build-out options.
    pub options: Options,
}

impl Plan {
    /// IT load placed, MW.
    pub fn total_mw(&self) -> f64 {
        self.campuses.last().map_or(0.0, |c| c.cumulative_mw)
    }
}

/// Campuses placed so far, by latitude band, for the spacing test.
struct Spacing {
    km: f64,
    band_deg: f64,
    bands: HashMap<i64, Vec<(f64, f64)>>,
}

impl Spacing {
    fn new(km: f64) -> Spacing {
        // A degree of latitude is 111.19 km on the sphere: two points closer than `km`
        // differ by less than `band_deg` in latitude, so they sit in the same or adjacent
        // bands.
        Spacing {
            km,
            band_deg: (km / 111.0).max(1e-3),
            bands: HashMap::new(),
        }
    }

    fn band(&self, lat: f64) -> i64 {
        (lat / self.band_deg).floor() as i64
    }

    fn too_close(&self, lon: f64, lat: f64) -> bool {
        if self.km <= 0.0 {
            return false;
        }
        let b = self.band(lat);
        (b - 1..=b + 1).any(|k| {
            self.bands.get(&k).is_some_and(|v| {
                v.iter()
                    .any(|&(x, y)| great_circle_km(x, y, lon, lat) < self.km)
            })
        })
    }

    fn add(&mut self, lon: f64, lat: f64) {
        let b = self.band(lat);
        self.bands.entry(b).or_default().push((lon, lat));
    }
}

/// The state of a build-out.
struct Builder<'a> {
    params: PlanParams,
    options: Options,
    lookup: &'a dyn Locate,
    budgets: &'a WaterBudgets,
    headroom: Headroom,
    spacing: Spacing,
    water: BTreeMap<String, f64>,
    campuses: Vec<Campus>,
    refused: Refused,
    total_mw: f64,
    /// Per campus: true when it was cut short (its binding is what cut it).
    cut: Vec<bool>,
}

/// Where a campus sits: carbon intensity and water unit ([`Lookup`] in real runs).
pub trait Locate: Sync {
    /// The place at (lon, lat).
    fn place(&self, lon: f64, lat: f64) -> Place;
}

/// MW below which a quantity is nothing (float dust).
const EPS_MW: f64 = 1e-9;

/// Place campuses on `candidates` (best first) under `params` and `options`.
pub fn build_out(
    candidates: &[Candidate],
    counts: CandidateCounts,
    headroom: Headroom,
    (params, options): (&PlanParams, &Options),
    lookup: &dyn Locate,
    budgets: &WaterBudgets,
) -> Plan {
    let mut b = Builder {
        params: params.clone(),
        options: options.clone(),
        lookup,
        budgets,
        headroom,
        spacing: Spacing::new(options.min_spacing_km),
        water: BTreeMap::new(),
        campuses: Vec::new(),
        refused: Refused::default(),
        total_mw: 0.0,
        cut: Vec::new(),
    };
    let mut stop = None;
    for c in candidates {
        if b.reached() {
            stop = Some(Resource::Target);
            break;
        }
        b.consider(c);
    }
    if stop.is_none() && b.reached() {
        stop = Some(Resource::Target);
    }
    let stop = stop.unwrap_or_else(|| b.binding());
    b.finish(stop, counts)
}

impl Builder<'_> {
    fn reached(&self) -> bool {
        self.options
            .target_mw
            .is_some_and(|t| self.total_mw >= t - EPS_MW)
    }

    /// IT MW the next campus is sized for: a full campus, or (partial) what the target
    /// still needs.
    fn wanted_mw(&self) -> f64 {
        let full = self.params.campus_mw.value;
        match (self.options.allow_partial, self.options.target_mw) {
            (true, Some(t)) => full.min(t - self.total_mw),
            _ => full,
        }
    }

    /// The smallest campus acceptable here, MW.
    fn smallest_mw(&self, wanted: f64) -> f64 {
        if self.options.allow_partial {
            self.options.min_partial_mw.min(wanted)
        } else {
            wanted
        }
    }

    /// Try candidate `c`: place a campus, or count why not.
    fn consider(&mut self, c: &Candidate) {
        if self.spacing.too_close(c.lon, c.lat) {
            self.refused.spacing += 1;
            return;
        }
        let pue = self.params.pue.value;
        let wanted = self.wanted_mw();
        let smallest = self.smallest_mw(wanted);
        // Nothing anywhere covers even the smallest campus: no need to look around.
        if self.headroom.total_left_mw() < smallest * pue - EPS_MW {
            self.refused.grid_headroom += 1;
            return;
        }
        let reach = self.headroom.reachable(c.lon, c.lat);
        let grid_it_mw = self.headroom.reachable_mw(&reach) / pue;
        if grid_it_mw < smallest - EPS_MW {
            self.refused.grid_headroom += 1;
            return;
        }
        let place = self.lookup.place(c.lon, c.lat);
        let unit = place.water_unit.clone().unwrap_or_else(|| "unknown".into());
        let water_per_mw = annual_use(&self.params, 1.0).1;
        let water_it_mw = match self.budgets.get(&unit) {
            Some(budget) if water_per_mw > 0.0 => {
                let used = self.water.get(&unit).copied().unwrap_or(0.0);
                ((budget - used) / water_per_mw).max(0.0)
            }
            _ => f64::INFINITY,
        };
        if water_it_mw < smallest - EPS_MW {
            self.refused.water_budget += 1;
            return;
        }
        let it_mw = wanted.min(grid_it_mw).min(water_it_mw);
        let cut_by = if it_mw >= wanted - EPS_MW {
            None
        } else if grid_it_mw <= water_it_mw {
            Some(Resource::GridHeadroom)
        } else {
            Some(Resource::WaterBudget)
        };
        self.place(c, it_mw, &reach, place, cut_by);
    }

    fn place(
        &mut self,
        c: &Candidate,
        it_mw: f64,
        reach: &[(usize, f64)],
        place: Place,
        cut_by: Option<Resource>,
    ) {
        let draws = self.headroom.draw(reach, it_mw * self.params.pue.value);
        let (energy_gwh, water_m3) = annual_use(&self.params, it_mw);
        let unit = place.water_unit.clone().unwrap_or_else(|| "unknown".into());
        *self.water.entry(unit.clone()).or_default() += water_m3;
        self.total_mw += it_mw;
        self.spacing.add(c.lon, c.lat);
        // g/kWh × GWh = g/kWh × 1e6 kWh = t (1e6 g).
        let carbon_t = place.carbon_g_per_kwh.map(|g| g * energy_gwh);
        // Settled in `finish`, once every campus has drawn its share, unless cut short.
        let binding = cut_by.unwrap_or(Resource::Spacing);
        self.cut.push(cut_by.is_some());
        self.campuses.push(Campus {
            rank: self.campuses.len() + 1,
            site: *c,
            it_mw,
            draws,
            cumulative_mw: self.total_mw,
            energy_gwh,
            water_m3,
            place,
            carbon_t,
            binding,
        });
    }

    /// What would stop another full campus at the same place now.
    fn next_binding(&self, reach: &[(usize, f64)], unit: &str) -> Resource {
        let full = self.params.campus_mw.value;
        if self.headroom.reachable_mw(reach) < full * self.params.pue.value - EPS_MW {
            return Resource::GridHeadroom;
        }
        let water = annual_use(&self.params, full).1;
        let left = self
            .budgets
            .get(unit)
            .map(|b| b - self.water.get(unit).copied().unwrap_or(0.0));
        if left.is_some_and(|l| l < water) {
            return Resource::WaterBudget;
        }
        Resource::Spacing
    }

    /// Why a plan that did not reach its target stopped: the resource that refused the most
    /// candidates outside the spacing, else the spacing, else the candidates ran out.
    fn binding(&self) -> Resource {
        let r = self.refused;
        if r.grid_headroom + r.water_budget > 0 {
            if r.grid_headroom >= r.water_budget {
                Resource::GridHeadroom
            } else {
                Resource::WaterBudget
            }
        } else if r.spacing > 0 {
            Resource::Spacing
        } else {
            Resource::Candidates
        }
    }

    fn finish(mut self, stop: Resource, counts: CandidateCounts) -> Plan {
        let settled: Vec<Option<Resource>> = (0..self.campuses.len())
            .map(|k| {
                let c = &self.campuses[k];
                (!self.cut[k]).then(|| {
                    let reach = self.headroom.reachable(c.site.lon, c.site.lat);
                    let unit = c.place.water_unit.as_deref().unwrap_or("unknown");
                    self.next_binding(&reach, unit)
                })
            })
            .collect();
        for (c, b) in self.campuses.iter_mut().zip(settled) {
            if let Some(b) = b {
                c.binding = b;
            }
        }
        // The units the campuses draw from, in code order (BTreeMap).
        let water = self
            .water
            .iter()
            .map(|(u, &m3)| WaterUse {
                unit: u.clone(),
                m3,
                budget_m3: self.budgets.get(u).copied(),
            })
            .collect();
        Plan {
            campuses: self.campuses,
            stop,
            refused: self.refused,
            counts,
            headroom: self.headroom,
            water,
            params: self.params,
            options: self.options,
        }
    }
}

#[cfg(test)]
mod tests;
