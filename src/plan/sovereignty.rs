//! The sovereignty index: for every country, the plan at `max` — how much AI compute it can
//! host on its own grid (its own plants' headroom), water and land — as one row.

use super::{Campus, Locate, Options, Plan, PlanParams, Plant, Resource, WaterBudgets};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::index::PolygonIndex;
use crate::layers::{Geometry, LayerSet};
use crate::region::{Region, Subdivision, nice_cell_for, region_grid};

/// A plan's default grid over a region: about 40,000 cells (as `region`), coarser where the
/// region's bounding box would otherwise need more than this many cells.
pub const MAX_BBOX_CELLS: f64 = 1_000_000.0;

/// The plants of the plan's plants layer with a positive capacity; also how many rows were
/// passed over for a missing, zero or negative capacity.
pub fn load_plants(layers: &LayerSet, params: &PlanParams) -> Result<(Vec<Plant>, usize)> {
    let layer = layers.load(&params.plants)?;
    let Geometry::Points(points) = &layer.geometry else {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "plan: layer \"{}\" must be points (power plants)",
                layer.name
            ),
        ));
    };
    let a = &layer.attributes;
    let col = |f: &str| {
        a.field_index(f).ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "plan: layer \"{}\" has no field \"{f}\" (fields: {})",
                    layer.name,
                    a.fields().join(", ")
                ),
            )
        })
    };
    let capacity = col(&params.capacity_field)?;
    let country = col(&params.country_field)?;
    let name = a.field_index("name");
    let mut skipped = 0;
    let mut plants = Vec::with_capacity(points.len());
    for p in points {
        match a.get(p.row, capacity).as_f64() {
            Some(mw) if mw > 0.0 && mw.is_finite() => plants.push(Plant {
                lon: p.lon,
                lat: p.lat,
                name: name.map_or_else(
                    || format!("row {}", p.row + 1),
                    |c| a.get(p.row, c).to_string(),
                ),
                country: a.get(p.row, country).to_string(),
                capacity_mw: mw,
            }),
            _ => skipped += 1,
        }
    }
    Ok((plants, skipped))
}

/// The plants a region's campuses may draw from: those of its country when it has one
/// (a country's compute runs on its own grid), else all.
pub fn plants_for(region: &Region, plants: &[Plant]) -> Vec<Plant> {
    match &region.country {
        Some(code) => plants
            .iter()
            .filter(|p| &p.country == code)
            .cloned()
            .collect(),
        None => plants.to_vec(),
    }
}

/// Everything a plan run needs besides its candidates.
pub struct Setting<'a> {
    /// The scoring engine.
    pub engine: &'a Engine,
    /// Carbon and water units.
    pub lookup: &'a dyn Locate,
    /// Planning parameters.
    pub params: &'a PlanParams,
    /// Build-out options.
    pub options: &'a Options,
    /// Water budgets by unit.
    pub budgets: &'a WaterBudgets,
    /// Candidates below this score are not used.
    pub min_score: f64,
}

/// Plan on the grid cells of `region` (cell size `cell_deg`, or the `region` default).
pub fn plan_region(
    s: &Setting<'_>,
    region: &Region,
    cell_deg: Option<f64>,
    plants: &[Plant],
) -> Plan {
    let cell = cell_deg.unwrap_or_else(|| nice_cell_for(region, MAX_BBOX_CELLS));
    let cells = region_grid(region, cell).cells;
    let points: Vec<(u64, f64, f64)> = cells.iter().map(|c| (c.id, c.lon(), c.lat())).collect();
    plan_points(s, &points, plants_for(region, plants))
}

/// Plan on `points` (id, lon, lat) drawing from `plants`.
pub fn plan_points(s: &Setting<'_>, points: &[(u64, f64, f64)], plants: Vec<Plant>) -> Plan {
    let (candidates, counts) = super::ranked_candidates(s.engine, points, s.min_score);
    let headroom = super::Headroom::new(
        plants,
        s.params.headroom_share.value,
        s.params.interconnect_km.value,
    );
    super::build_out(
        &candidates,
        counts,
        headroom,
        (s.params, s.options),
        s.lookup,
        s.budgets,
    )
}

/// One country's row of the sovereignty table.
#[derive(Debug, Clone, PartialEq)]
pub struct CountryRow {
    /// ISO 3166-1 alpha-3.
    pub code: String,
    /// Its name ("India (IND)").
    pub name: String,
    /// IT load it can host, MW.
    pub mw: f64,
    /// Campuses.
    pub campuses: usize,
    /// Generation capacity of its plants, MW.
    pub capacity_mw: f64,
    /// Grid power the campuses draw, MW.
    pub drawn_mw: f64,
    /// Energy, TWh per year.
    pub twh: f64,
    /// Water, hm³ (million m³) per year.
    pub water_hm3: f64,
    /// Carbon, Mt CO₂ per year (where the intensity is known).
    pub mt_co2: f64,
    /// Campuses whose carbon intensity is unknown.
    pub carbon_unknown: usize,
    /// Mean score of its campuses.
    pub mean_score: Option<f64>,
    /// What stopped it.
    pub binding: Resource,
    /// Candidate cells (`ok`, at or above the minimum score, boundary layers agreeing; 0 in
    /// a breakdown by state).
    pub candidates: u64,
}

impl CountryRow {
    /// Share of the country's generation capacity the campuses draw.
    pub fn share_drawn(&self) -> Option<f64> {
        (self.capacity_mw > 0.0).then(|| self.drawn_mw / self.capacity_mw)
    }

    /// The row of a country's plan.
    pub fn of(region: &Region, plan: &Plan) -> CountryRow {
        let campuses: Vec<&Campus> = plan.campuses.iter().collect();
        let capacity_mw = plan.headroom.plants().iter().map(|p| p.capacity_mw).sum();
        CountryRow {
            binding: plan.stop,
            candidates: plan.counts.used(),
            ..row_of(
                region.country.clone().unwrap_or_default(),
                region.name.clone(),
                &campuses,
                capacity_mw,
                plan.stop,
            )
        }
    }
}

/// The sovereignty table: every country's plan at `max` (the options' target is ignored),
/// sorted by MW hostable (then code). `progress` is called after each country with the
/// number done and the total.
pub fn sovereignty(
    s: &Setting<'_>,
    countries: &[Region],
    cell_deg: Option<f64>,
    plants: &[Plant],
    progress: &mut dyn FnMut(usize, usize),
) -> Vec<CountryRow> {
    let options = Options {
        target_mw: None,
        ..s.options.clone()
    };
    let s = Setting {
        options: &options,
        ..*s
    };
    let mut rows = Vec::with_capacity(countries.len());
    for (k, region) in countries.iter().enumerate() {
        let plan = plan_region(&s, region, cell_deg, plants);
        rows.push(CountryRow::of(region, &plan));
        progress(k + 1, countries.len());
    }
    rows.sort_by(|a, b| b.mw.total_cmp(&a.mw).then(a.code.cmp(&b.code)));
    rows
}

/// A country's plan broken down by its states or provinces: each campus counted in the unit
/// whose polygon holds it (so the rows add up to the country's), each unit's capacity the
/// plants inside it. Campuses in no unit (a border sliver) form a row of their own, code
/// "-". Sorted by MW hostable (then code).
pub fn by_subdivision(plan: &Plan, units: &[Subdivision]) -> Vec<CountryRow> {
    let mut polygons = Vec::new();
    for (k, u) in units.iter().enumerate() {
        polygons.extend(u.polygons.iter().cloned().map(|mut p| {
            p.row = k;
            p
        }));
    }
    let index = PolygonIndex::new(&polygons);
    // The index answers with the polygons' rows: here the unit numbers.
    let unit_of = |lon: f64, lat: f64| index.containing(lon, lat);
    let n = units.len();
    let mut campuses: Vec<Vec<&Campus>> = vec![Vec::new(); n + 1];
    for c in &plan.campuses {
        campuses[unit_of(c.site.lon, c.site.lat).unwrap_or(n)].push(c);
    }
    let mut capacity = vec![0.0; n + 1];
    for p in plan.headroom.plants() {
        capacity[unit_of(p.lon, p.lat).unwrap_or(n)] += p.capacity_mw;
    }
    let mut rows: Vec<CountryRow> = (0..=n)
        .filter(|&k| k < n || !campuses[n].is_empty())
        .map(|k| {
            let (code, name) = match units.get(k) {
                Some(u) => (u.code.clone(), u.name.clone()),
                None => ("-".into(), "in no state or province".into()),
            };
            row_of(code, name, &campuses[k], capacity[k], plan.stop)
        })
        .collect();
    rows.sort_by(|a, b| b.mw.total_cmp(&a.mw).then(a.code.cmp(&b.code)));
    rows
}

/// The figures of a group of campuses. The binding resource: what bound most of them (the
/// plan's stop when there are none).
fn row_of(
    code: String,
    name: String,
    c: &[&Campus],
    capacity_mw: f64,
    stop: Resource,
) -> CountryRow {
    let n = c.len();
    let mut tally: std::collections::BTreeMap<Resource, usize> = Default::default();
    for x in c {
        *tally.entry(x.binding).or_default() += 1;
    }
    let binding = tally
        .iter()
        .max_by_key(|(r, k)| (**k, std::cmp::Reverse(**r)))
        .map_or(stop, |(r, _)| *r);
    CountryRow {
        code,
        name,
        // `+ 0.0`: an empty sum of floats is -0.0, shown as "-0".
        mw: c.iter().map(|x| x.it_mw).sum::<f64>() + 0.0,
        campuses: n,
        capacity_mw,
        drawn_mw: c.iter().map(|x| x.grid_mw()).sum::<f64>() + 0.0,
        twh: c.iter().map(|x| x.energy_gwh).sum::<f64>() / 1000.0 + 0.0,
        water_hm3: c.iter().map(|x| x.water_m3).sum::<f64>() / 1e6 + 0.0,
        mt_co2: c.iter().filter_map(|x| x.carbon_t).sum::<f64>() / 1e6 + 0.0,
        carbon_unknown: c.iter().filter(|x| x.carbon_t.is_none()).count(),
        mean_score: (n > 0).then(|| c.iter().map(|x| x.site.score).sum::<f64>() / n as f64),
        binding,
        candidates: 0,
    }
}
