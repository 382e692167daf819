//! Regions and region grids: resolve "IND", "India", "Arizona", a bounding box or a polygon
//! file to polygons, lay a longitude/latitude grid over them, and score every cell whose
//! centre is inside.
//!
//! Names resolve through two layers of the layer set: `countries` (fields `name`, `iso_a3`)
//! and `admin1` (fields `name`, `iso_3166_2`, `adm0_a3`). Matching is case-insensitive; a
//! name that matches nothing gets a "did you mean".
//!
//! ```
//! use standort::region::{Region, nice_cell_deg};
//! let r = Region::from_bbox([170.0, -20.0, -170.0, -10.0]).unwrap(); // across 180
//! assert!(r.contains(179.0, -15.0) && r.contains(-175.0, -15.0) && !r.contains(0.0, -15.0));
//! assert_eq!(nice_cell_deg(400.0), 0.1); // about 40,000 cells
//! ```

use crate::batch::Summary;
use crate::engine::{Engine, Evaluation, Status, tie_runs};
use crate::error::{Error, ErrorKind, Result};
use crate::geodesy::{cell_area_km2, great_circle_km};
use crate::index::PolygonIndex;
use crate::layers::{Geometry, LayerKind, LayerSet, LayerSpec, Polygon, repair_polygon};
use crate::text::{did_you_mean, format_number};

pub mod names;
use rayon::prelude::*;
use std::path::Path;

/// A region to score: repaired polygons and their longitude extent on the circle.
#[derive(Debug, Clone)]
pub struct Region {
    /// What the user asked for, resolved ("India (IND)").
    pub name: String,
    index: PolygonIndex,
    /// `[min_lon, min_lat, max_lon, max_lat]`; `max_lon` may exceed 180 for a region
    /// across the antimeridian.
    pub bbox: [f64; 4],
    /// Planar area of the polygons in square degrees (for choosing a cell size).
    pub area_deg2: f64,
    /// For a state or province: its country's polygons in the `countries` layer. A cell
    /// the region's own polygons hold but the countries layer puts elsewhere is left out.
    clip: Option<(PolygonIndex, String)>,
    /// The country it is or lies in (ISO 3166-1 alpha-3), when it was named by a country,
    /// a state or a province.
    pub country: Option<String>,
}

/// A code the boundaries lack: (code, name in the countries layer — or the parent's code
/// with a point inside the part).
type Alias = (&'static str, &'static str, Option<(f64, f64)>);

/// Aliases for GPPD country codes that the Natural Earth / world-atlas boundaries lack.
const ALIASES: &[Alias] = &[
    ("KOS", "Kosovo", None),
    ("XKX", "Kosovo", None),
    // French Guiana is part of France's MultiPolygon in world-atlas: take that part.
    ("GUF", "FRA", Some((-53.1, 3.9))),
];

impl Region {
    fn from_polygons(name: String, polygons: Vec<Polygon>) -> Result<Region> {
        if polygons.is_empty() {
            return Err(Error::new(
                ErrorKind::Input,
                format!("region {name} has no polygons"),
            ));
        }
        let bbox = circular_bbox(&polygons);
        let area_deg2 = polygons.iter().map(Polygon::area_deg2).sum();
        Ok(Region {
            name,
            index: PolygonIndex::new(&polygons),
            bbox,
            area_deg2,
            clip: None,
            country: None,
        })
    }

    /// The region as lying in `country` (ISO 3166-1 alpha-3).
    fn in_country(mut self, country: &str) -> Region {
        self.country = Some(country.to_string());
        self
    }

    /// Every country of the `countries` layer with an ISO 3166-1 alpha-3 code, in code
    /// order, as [`Region::resolve`] gives it for that code.
    pub fn countries(layers: &LayerSet) -> Result<Vec<Region>> {
        let countries = Named::load(layers, "countries", "iso_a3")?;
        let mut codes: Vec<String> = (0..countries.layer.attributes.len())
            .map(|r| countries.code_of(r))
            .filter(|c| c.len() == 3 && c.chars().all(|x| x.is_ascii_alphabetic()))
            .collect();
        codes.sort();
        codes.dedup();
        codes
            .iter()
            .filter_map(|c| countries.by_iso3(c).transpose())
            .collect()
    }

    /// Keep the region's cells to `polygons` (its country in the countries layer), named
    /// `what` in summaries.
    fn clipped(mut self, polygons: &[Polygon], what: String) -> Region {
        if !polygons.is_empty() {
            self.clip = Some((PolygonIndex::new(polygons), what));
        }
        self
    }

    /// What cells of the region are kept to, when it is a state or province: "inside USA
    /// in the countries layer".
    pub fn clip_note(&self) -> Option<&str> {
        self.clip.as_ref().map(|(_, w)| w.as_str())
    }

    /// A rectangle `[min_lon, min_lat, max_lon, max_lat]`; `min_lon > max_lon` crosses 180.
    pub fn from_bbox(b: [f64; 4]) -> Result<Region> {
        let [x0, y0, x1, y1] = b;
        let shown = b.map(format_number).join(",");
        let lon_ok = |x: f64| (-180.0..=180.0).contains(&x);
        let lat_ok = |y: f64| (-90.0..=90.0).contains(&y);
        if !(lon_ok(x0) && lon_ok(x1)) {
            return Err(Error::usage(format!(
                "--bbox {shown}: a longitude is out of range [-180, 180]"
            )));
        }
        if !(lat_ok(y0) && lat_ok(y1)) {
            return Err(Error::usage(format!(
                "--bbox {shown}: a latitude is out of range [-90, 90]"
            )));
        }
        if y0 >= y1 || x0 == x1 {
            return Err(Error::usage(format!(
                "--bbox {shown}: expected minlon,minlat,maxlon,maxlat with minlat < maxlat and minlon != maxlon (minlon > maxlon crosses 180)"
            )));
        }
        let x1u = if x1 < x0 { x1 + 360.0 } else { x1 };
        // Edges split into steps of at most 90 degrees, so that ring repair never reads a
        // long edge (the whole world is -180..180) as a jump across the antimeridian.
        let steps = ((x1u - x0) / 90.0).ceil().max(1.0) as usize;
        let xs: Vec<f64> = (0..=steps)
            .map(|k| x0 + (x1u - x0) * k as f64 / steps as f64)
            .collect();
        let mut ring: Vec<[f64; 2]> = xs.iter().map(|&x| [x, y0]).collect();
        ring.extend(xs.iter().rev().map(|&x| [x, y1]));
        ring.push([x0, y0]);
        let poly = repair_polygon(&[ring], 0).ok_or_else(|| Error::usage("--bbox is empty"))?;
        Region::from_polygons(format!("bbox {x0},{y0},{x1},{y1}"), vec![poly])
    }

    /// All Polygon/MultiPolygon features of a GeoJSON file, as one region.
    pub fn from_geojson(path: &Path) -> Result<Region> {
        let spec = LayerSpec {
            name: "region".into(),
            path: path.to_path_buf(),
            kind: LayerKind::Polygons,
            fields: Some(vec![]),
            lat: None,
            lon: None,
            delimiter: None,
            source_layer: None,
            join: None,
            derive: vec![],
            nodata: Default::default(),
            coverage: None,
            subdivides: None,
            attribution: None,
            licence: None,
            description: None,
        };
        let set = LayerSet::from_specs(vec![spec], Some(std::path::PathBuf::new()));
        let layer = set.load("region")?;
        let polys = match layer.geometry {
            Geometry::Polygons(p) => p,
            _ => Vec::new(),
        };
        if polys.is_empty() {
            return Err(Error::at(
                ErrorKind::Input,
                path.display().to_string(),
                "has no Polygon or MultiPolygon feature",
            ));
        }
        Region::from_polygons(path.display().to_string(), polys)
    }

    /// Resolve a country (ISO 3166-1 alpha-3 code or name) or a state or province (name or
    /// ISO 3166-2 code, worldwide) through the `countries` and `admin1` layers; "Name, CCC"
    /// narrows a name to one country. A name that several regions carry is an error that
    /// lists them (see [`names`]).
    pub fn resolve(query: &str, layers: &LayerSet) -> Result<Region> {
        let q = query.trim();
        let countries = Named::load(layers, "countries", "iso_a3")?;
        if let Some(region) = countries.by_iso3(q)? {
            return Ok(region);
        }
        let (name_part, within) = match q.rsplit_once(',') {
            Some((n, c)) if !c.trim().is_empty() => (n.trim(), Some(c.trim().to_uppercase())),
            _ => (q, None),
        };
        // Without a data directory there are no states or provinces to resolve.
        let admin = match layers.spec("admin1") {
            Some(_) if layers.is_partial() && !layers.missing_files("admin1", false).is_empty() => {
                None
            }
            Some(_) => Some(Admin::load(layers, &countries)?),
            None => None,
        };
        let mut found = candidates(
            &names::fold(name_part),
            within.as_deref(),
            &countries,
            admin.as_ref(),
        );
        match found.len() {
            1 => match found.remove(0) {
                Found::Country(r) => countries.region(r),
                Found::Unit(u) => match &admin {
                    Some(admin) => Region::subdivision(admin, &u, &countries),
                    None => Err(no_region(q, &countries, None)),
                },
            },
            0 => Err(no_region(q, &countries, admin.as_ref())),
            _ => {
                let list: Vec<String> = found.iter().map(|f| f.label(&countries)).collect();
                Err(Error::usage(format!(
                    "region \"{q}\" is ambiguous: {}; give the code, or \"name, CCC\" with the country's ISO3 code",
                    list.join("; ")
                )))
            }
        }
    }

    /// A state or province, kept to its country's polygons in `countries`.
    fn subdivision(admin: &Admin, unit: &names::Unit, countries: &Named) -> Result<Region> {
        let code = unit
            .iso
            .map_or_else(|| "no ISO 3166-2 code".to_string(), |i| i.code.to_string());
        let layer = &admin.layers[unit.layer];
        let from = if unit.layer == 0 {
            String::new()
        } else {
            format!("; outline from layer {}", layer.layer.name)
        };
        let name = format!("{}, {} ({code}{from})", unit.name(), unit.country);
        let polygons = layer.polygons(&|x| x == unit.row);
        let clip = countries.polygons(&|r| countries.code_of(r) == unit.country);
        let what = format!("inside {} in the countries layer", unit.country);
        Ok(Region::from_polygons(name, polygons)?
            .clipped(&clip, what)
            .in_country(&unit.country))
    }

    /// True when (lon, lat) is inside the region (boundary included) — and, for a state or
    /// province, inside its country in the countries layer.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        self.in_outline(lon, lat) && self.in_clip(lon, lat)
    }

    /// Inside the region's own polygons.
    fn in_outline(&self, lon: f64, lat: f64) -> bool {
        self.index.containing(lon, lat).is_some()
    }

    /// Inside the clip (true when there is none).
    fn in_clip(&self, lon: f64, lat: f64) -> bool {
        self.clip
            .as_ref()
            .is_none_or(|(c, _)| c.containing(lon, lat).is_some())
    }
}

/// The smallest longitude interval covering all polygons, on the circle, as a bbox.
fn circular_bbox(polys: &[Polygon]) -> [f64; 4] {
    let min_lat = polys
        .iter()
        .map(|p| p.bbox[1])
        .fold(f64::INFINITY, f64::min);
    let max_lat = polys
        .iter()
        .map(|p| p.bbox[3])
        .fold(f64::NEG_INFINITY, f64::max);
    // Intervals normalised to start in [-180, 180).
    let mut iv: Vec<(f64, f64)> = polys
        .iter()
        .map(|p| {
            let w = (p.bbox[2] - p.bbox[0]).min(360.0);
            let a = (p.bbox[0] + 180.0).rem_euclid(360.0) - 180.0;
            (a, a + w)
        })
        .collect();
    iv.sort_by(|a, b| a.0.total_cmp(&b.0));
    if iv.iter().any(|(a, b)| b - a >= 360.0) {
        return [-180.0, min_lat, 180.0, max_lat];
    }
    // Merge, then find the largest gap (including the wrap-around gap).
    let mut merged: Vec<(f64, f64)> = Vec::new();
    for (a, b) in iv {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    // Intervals that reach past 180 wrap onto the first ones.
    let first_start = merged[0].0;
    let last_end = merged.iter().map(|m| m.1).fold(f64::NEG_INFINITY, f64::max);
    let mut best_gap = first_start + 360.0 - last_end; // wrap-around gap
    let mut start = first_start;
    for w in merged.windows(2) {
        let gap = w[1].0 - w[0].1;
        if gap > best_gap {
            best_gap = gap;
            start = w[1].0;
        }
    }
    if best_gap <= 0.0 {
        return [-180.0, min_lat, 180.0, max_lat];
    }
    [start, min_lat, start + 360.0 - best_gap, max_lat]
}

/// A cell size from 1/2/2.5/5 x 10^k degrees giving about 40,000 cells for a region of
/// `area_deg2` square degrees.
pub fn nice_cell_deg(area_deg2: f64) -> f64 {
    let exact = (area_deg2 / 40_000.0).sqrt();
    let mut best = 1.0;
    let mut best_err = f64::INFINITY;
    for k in -4..=1 {
        for m in [1.0, 2.0, 2.5, 5.0] {
            let c = m * 10f64.powi(k);
            let err = (c / exact).ln().abs();
            if err < best_err {
                best_err = err;
                best = c;
            }
        }
    }
    // Round away float noise (0.1 not 0.10000000000000002).
    (best * 1e6).round() / 1e6
}

/// Cells of the grid over a region's bounding box at `size_deg` (those inside and outside).
pub fn bbox_cells(region: &Region, size_deg: f64) -> f64 {
    let [x0, y0, x1, y1] = region.bbox;
    ((x1 - x0) / size_deg).ceil() * ((y1 - y0) / size_deg).ceil()
}

/// [`nice_cell_deg`] for a region, coarsened along the same 1/2/2.5/5 ladder until the grid
/// over its bounding box has at most `max_bbox_cells` cells: a scatter of small islands over
/// an ocean (Kiribati, French Polynesia) has a tiny area but a huge box, which a cell sized
/// by area alone would fill with billions of cells.
pub fn nice_cell_for(region: &Region, max_bbox_cells: f64) -> f64 {
    let mut cell = nice_cell_deg(region.area_deg2);
    let ladder = [1.0, 2.0, 2.5, 5.0];
    while bbox_cells(region, cell) > max_bbox_cells && cell < 10.0 {
        let k = cell.log10().floor();
        let m = cell / 10f64.powf(k);
        let next = ladder
            .iter()
            .map(|x| x * 10f64.powf(k))
            .chain([10f64.powf(k + 1.0)])
            .find(|&c| c > cell * (1.0 + 1e-9) && m > 0.0)
            .unwrap_or(cell * 2.0);
        cell = (next * 1e6).round() / 1e6;
    }
    cell
}

/// A grid cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// Row-major number of the cell in the grid (north-west first).
    pub id: u64,
    /// West edge, degrees in [-180, 180).
    pub min_lon: f64,
    /// South edge.
    pub min_lat: f64,
    /// Cell size in degrees.
    pub size_deg: f64,
}

impl Cell {
    /// Centre longitude.
    pub fn lon(&self) -> f64 {
        self.min_lon + self.size_deg / 2.0
    }
    /// Centre latitude.
    pub fn lat(&self) -> f64 {
        self.min_lat + self.size_deg / 2.0
    }
    /// `[min_lon, min_lat, max_lon, max_lat]`, the north edge kept at the pole.
    pub fn rect(&self) -> [f64; 4] {
        [
            self.min_lon,
            self.min_lat,
            self.min_lon + self.size_deg,
            (self.min_lat + self.size_deg).min(90.0),
        ]
    }
    /// Area in km² on the sphere.
    pub fn area_km2(&self) -> f64 {
        cell_area_km2(
            self.min_lon,
            self.min_lat,
            self.min_lon + self.size_deg,
            (self.min_lat + self.size_deg).min(90.0),
        )
    }
}

/// The cells of a grid aligned to multiples of `size_deg` whose centre is in the region,
/// north row first, west to east.
pub fn region_cells(region: &Region, size_deg: f64) -> Vec<Cell> {
    region_grid(region, size_deg).cells
}

/// The cells of a region, and how many were left out by its clip.
#[derive(Debug, Clone)]
pub struct RegionGrid {
    /// The cells (see [`region_cells`]).
    pub cells: Vec<Cell>,
    /// Cells whose centre is inside the region's own polygons but outside its country in
    /// the countries layer ([`Region::clip_note`]).
    pub left_out: u64,
}

/// [`region_cells`], counting the cells the clip leaves out.
pub fn region_grid(region: &Region, size_deg: f64) -> RegionGrid {
    let [x0, y0, x1, y1] = region.bbox;
    let c0 = (x0 / size_deg).floor() as i64;
    let c1 = (x1 / size_deg).ceil() as i64;
    let r0 = (y0 / size_deg).floor() as i64;
    let r1 = (y1 / size_deg).ceil() as i64;
    let ncols = (c1 - c0).max(0) as u64;
    let rows: Vec<i64> = (r0..r1).rev().collect();
    // Per cell in the outline: the cell and whether the clip keeps it.
    let found: Vec<(Cell, bool)> = rows
        .par_iter()
        .enumerate()
        .flat_map_iter(|(ri, &r)| {
            (c0..c1).filter_map(move |c| {
                let min_lat = r as f64 * size_deg;
                let mut min_lon = c as f64 * size_deg;
                if min_lon >= 180.0 {
                    min_lon -= 360.0;
                }
                let cell = Cell {
                    id: ri as u64 * ncols + (c - c0) as u64,
                    min_lon,
                    min_lat,
                    size_deg,
                };
                let (lon, lat) = (cell.lon(), cell.lat());
                (lat < 90.0 && lat > -90.0 && region.in_outline(lon, lat))
                    .then(|| (cell, region.in_clip(lon, lat)))
            })
        })
        .collect();
    let left_out = found.iter().filter(|(_, kept)| !kept).count() as u64;
    RegionGrid {
        cells: found
            .into_iter()
            .filter_map(|(c, kept)| kept.then_some(c))
            .collect(),
        left_out,
    }
}

/// A top candidate site: the centre of a high-scoring cell.
#[derive(Debug, Clone, PartialEq)]
pub struct TopSite {
    /// 1-based rank.
    pub rank: usize,
    /// The cell.
    pub cell: Cell,
    /// Its total score.
    pub score: f64,
    /// How many `ok` cells of the region have exactly this score (1: no tie). Ties are
    /// ordered by [`Engine::break_tie`], then north-west first.
    pub tie_group: u64,
    /// With a sensitivity analysis ([`top_stability`]): how stable its place is.
    pub stability: Option<crate::sensitivity::Stability>,
}

/// Totals over a region run.
#[derive(Debug, Clone, Default)]
pub struct RegionSummary {
    /// Cell size in degrees.
    pub cell_deg: f64,
    /// Counts of cells by status, and per constraint / UNKNOWN criterion (as in a batch).
    pub counts: Summary,
    /// Area of all cells, km² on the sphere.
    pub area_km2: f64,
    /// Area of ok / excluded / unknown cells, km².
    pub area_ok_km2: f64,
    /// Area of excluded cells.
    pub area_excluded_km2: f64,
    /// Area of unknown cells.
    pub area_unknown_km2: f64,
    /// Area failing each constraint (profile order), km².
    pub area_by_constraint_km2: Vec<f64>,
    /// Area where each criterion is UNKNOWN, km².
    pub area_unknown_by_criterion_km2: Vec<f64>,
    /// Area-weighted mean standardised score per criterion over the cells where it is known.
    pub mean_scores: Vec<Option<f64>>,
    /// Area-weighted mean total over ok cells.
    pub mean_total: Option<f64>,
    /// The best cells at least `min_spacing_km` apart.
    pub top: Vec<TopSite>,
    /// Per criterion: cells where its boundary layers disagree (a state layer and the
    /// countries layer; see [`crate::measure::Probe::boundary_conflict`]); such a cell is
    /// valued from the countries layer.
    pub boundary_conflicts: Vec<u64>,
    /// Cells where any criterion's boundary layers disagree.
    pub boundary_conflict_cells: u64,
    /// Cells inside a state's own outline but outside its country in the countries layer,
    /// left out of the region ([`Region::clip_note`]).
    pub left_out: u64,
    /// The sensitivity analysis of the top sites, when one was made.
    pub sensitivity: Option<crate::sensitivity::Report>,
}

/// Receives each explained cell of a region run, in grid order.
pub type CellSink<'a> = dyn FnMut(&Cell, &Evaluation) -> std::io::Result<()> + 'a;

/// Score every cell of `cells` and summarise. With a `sink`, every cell is also explained
/// ([`Engine::evaluate`]) and handed to it in grid order; without one, cells are scored on
/// the allocation-free path ([`Engine::score_detail`]). Evaluation runs in parallel; the
/// order and the figures do not depend on the thread count.
pub fn score_cells(
    engine: &Engine,
    cells: &[Cell],
    top_n: usize,
    min_spacing_km: f64,
    mut sink: Option<&mut CellSink<'_>>,
) -> std::io::Result<RegionSummary> {
    let n = engine.profile().criteria.len();
    let mut acc = Accumulator::new(engine, cells);
    const CHUNK: usize = 65_536;
    for (chunk_no, chunk) in cells.chunks(CHUNK).enumerate() {
        // Per cell: the quick outcome and the criterion scores (NaN = unknown).
        let detail: Vec<(crate::engine::Quick, Vec<f64>, u64)> = chunk
            .par_iter()
            .map(|c| {
                let mut sc = vec![0.0; n];
                let q = engine.score_detail(c.lon(), c.lat(), &mut sc);
                (q, sc, engine.boundary_conflicts(c.lon(), c.lat()))
            })
            .collect();
        let evals: Option<Vec<Evaluation>> = sink.as_ref().map(|_| {
            chunk
                .par_iter()
                .map(|c| engine.evaluate(c.lon(), c.lat()))
                .collect()
        });
        for (k, (cell, (q, sc, conflicts))) in chunk.iter().zip(&detail).enumerate() {
            acc.add(cell, q, sc, chunk_no * CHUNK + k);
            acc.conflicts(*conflicts);
            if let (Some(f), Some(ev)) = (sink.as_deref_mut(), &evals) {
                f(cell, &ev[k])?;
            }
        }
    }
    Ok(acc.finish(engine, cells, top_n, min_spacing_km))
}

/// Rank stability of the top sites of `summary` (see
/// [`crate::sensitivity::region_stability`]): every `ok` cell of `cells` is a candidate, and
/// each draw picks the top list again with the same spacing.
pub fn top_stability(
    engine: &Engine,
    cells: &[Cell],
    summary: &mut RegionSummary,
    draws: &crate::sensitivity::Draws,
    min_spacing_km: f64,
) {
    let n = engine.profile().criteria.len();
    let found: Vec<(u64, (f64, f64), Vec<f64>)> = cells
        .par_iter()
        .filter_map(|c| {
            let mut scores = vec![0.0; n];
            engine
                .candidate_scores(c.lon(), c.lat(), &mut scores)
                .map(|_| (c.id, (c.lon(), c.lat()), scores))
        })
        .collect();
    let mut set = crate::sensitivity::CandidateSet::new(n);
    let mut centres = Vec::with_capacity(found.len());
    let mut position = std::collections::HashMap::new();
    for (k, (id, centre, scores)) in found.iter().enumerate() {
        set.push(scores);
        centres.push(*centre);
        position.insert(*id, k);
    }
    let tracked: Vec<usize> = summary
        .top
        .iter()
        .filter_map(|t| position.get(&t.cell.id).copied())
        .collect();
    let k = summary.top.len();
    let found = crate::sensitivity::region_stability(
        engine,
        &set,
        &centres,
        &tracked,
        draws,
        (k, min_spacing_km),
    );
    for (t, st) in summary.top.iter_mut().zip(found) {
        t.stability = Some(st);
    }
    summary.sensitivity = Some(crate::sensitivity::Report {
        draws: *draws,
        top_k: k as u64,
    });
}

/// Area-weighted sums and counts over the cells of a region, in grid order.
struct Accumulator {
    s: RegionSummary,
    score_sum: Vec<f64>,
    score_area: Vec<f64>,
    total_sum: f64,
    /// (total score, cell position) of every `ok` cell.
    ok_cells: Vec<(f64, usize)>,
}

impl Accumulator {
    fn new(engine: &Engine, cells: &[Cell]) -> Self {
        let p = engine.profile();
        let n = p.criteria.len();
        let by_constraint = p
            .constraints
            .iter()
            .map(|c| (c.reason.clone(), 0))
            .collect();
        let unknown_by_criterion = p.criteria.iter().map(|c| (c.id().to_string(), 0)).collect();
        Accumulator {
            s: RegionSummary {
                cell_deg: cells.first().map_or(0.0, |c| c.size_deg),
                area_by_constraint_km2: vec![0.0; p.constraints.len()],
                area_unknown_by_criterion_km2: vec![0.0; n],
                boundary_conflicts: vec![0; n],
                counts: Summary {
                    by_constraint,
                    unknown_by_criterion,
                    ..Summary::default()
                },
                ..RegionSummary::default()
            },
            score_sum: vec![0.0; n],
            score_area: vec![0.0; n],
            total_sum: 0.0,
            ok_cells: Vec::new(),
        }
    }

    /// Count a cell's boundary conflicts (bit i: criterion i).
    fn conflicts(&mut self, mask: u64) {
        if mask != 0 {
            self.s.boundary_conflict_cells += 1;
            for (i, n) in self.s.boundary_conflicts.iter_mut().enumerate().take(64) {
                *n += (mask >> i) & 1;
            }
        }
    }

    /// Count cell number `position` with its quick outcome and criterion scores.
    fn add(&mut self, cell: &Cell, q: &crate::engine::Quick, sc: &[f64], position: usize) {
        let s = &mut self.s;
        let a = cell.area_km2();
        s.area_km2 += a;
        s.counts.sites += 1;
        for (i, &x) in sc.iter().enumerate() {
            if x.is_nan() {
                s.counts.unknown_by_criterion[i].1 += 1;
                s.area_unknown_by_criterion_km2[i] += a;
            } else {
                self.score_sum[i] += x * a;
                self.score_area[i] += a;
            }
        }
        for j in 0..s.counts.by_constraint.len().min(64) {
            if q.failed & (1 << j) != 0 {
                s.counts.by_constraint[j].1 += 1;
                s.area_by_constraint_km2[j] += a;
            }
        }
        match q.status {
            Status::Ok => {
                s.counts.ok += 1;
                s.area_ok_km2 += a;
                let t = q.score.unwrap_or(0.0);
                self.total_sum += t * a;
                self.ok_cells.push((t, position));
            }
            Status::Excluded => {
                s.counts.excluded += 1;
                s.area_excluded_km2 += a;
            }
            Status::Unknown => {
                s.counts.unknown += 1;
                s.area_unknown_km2 += a;
            }
        }
    }

    /// Means, and the top sites: best first (exact ties by [`Engine::break_tie`], then grid
    /// order), greedily at least `min_spacing_km` apart.
    fn finish(
        mut self,
        engine: &Engine,
        cells: &[Cell],
        top_n: usize,
        min_spacing_km: f64,
    ) -> RegionSummary {
        let s = &mut self.s;
        s.mean_scores = self
            .score_sum
            .iter()
            .zip(&self.score_area)
            .map(|(x, a)| (*a > 0.0).then(|| x / a))
            .collect();
        s.mean_total = (s.area_ok_km2 > 0.0).then(|| self.total_sum / s.area_ok_km2);
        self.ok_cells
            .sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (start, end) in tie_runs(&self.ok_cells, |c| c.0) {
            if s.top.len() >= top_n {
                break;
            }
            let run = &mut self.ok_cells[start..end];
            if run.len() > 1 {
                order_tied_cells(engine, cells, run);
            }
            for &(score, i) in run.iter() {
                if s.top.len() >= top_n {
                    break;
                }
                let c = cells[i];
                let far = s.top.iter().all(|t| {
                    great_circle_km(t.cell.lon(), t.cell.lat(), c.lon(), c.lat()) >= min_spacing_km
                });
                if far {
                    let rank = s.top.len() + 1;
                    s.top.push(TopSite {
                        rank,
                        cell: c,
                        score,
                        tie_group: (end - start) as u64,
                        stability: None,
                    });
                }
            }
        }
        self.s
    }
}

/// Order a run of cells with exactly equal scores by [`Engine::break_tie`] (stable: grid
/// order decides what is still equal).
fn order_tied_cells(engine: &Engine, cells: &[Cell], run: &mut [(f64, usize)]) {
    let points: Vec<(f64, f64)> = run
        .iter()
        .map(|&(_, i)| (cells[i].lon(), cells[i].lat()))
        .collect();
    let order = engine.tie_order(&points);
    let sorted: Vec<(f64, usize)> = order.iter().map(|&k| run[k]).collect();
    run.copy_from_slice(&sorted);
}

/// A region a query names.
enum Found {
    /// A row of the countries layer.
    Country(usize),
    /// A state or province.
    Unit(names::Unit),
}

impl Found {
    fn label(&self, countries: &Named) -> String {
        match self {
            Found::Country(r) => {
                let a = &countries.layer.attributes;
                format!(
                    "{} ({}, country)",
                    a.get(*r, countries.name),
                    countries.code_of(*r)
                )
            }
            Found::Unit(u) => u.label(),
        }
    }
}

/// The countries and units whose name (or code) is `folded`, in the country `within`
/// (alpha-3) when given.
fn candidates(
    folded: &str,
    within: Option<&str>,
    countries: &Named,
    admin: Option<&Admin>,
) -> Vec<Found> {
    let in_scope = |country: &str| within.is_none_or(|w| w == country);
    let mut found: Vec<Found> = countries
        .rows_named(folded)
        .into_iter()
        .filter(|&r| in_scope(&countries.code_of(r)))
        .map(Found::Country)
        .collect();
    // A country beats its own states of the same name ("Mexico" is the country, not the
    // state of México); a state of another country does not (Georgia).
    let own: Vec<String> = found
        .iter()
        .filter_map(|f| match f {
            Found::Country(r) => Some(countries.code_of(*r)),
            Found::Unit(_) => None,
        })
        .collect();
    if let Some(admin) = admin {
        found.extend(
            admin
                .units
                .iter()
                .filter(|u| u.matches(folded) && in_scope(&u.country))
                .filter(|u| !own.contains(&u.country))
                .map(|u| Found::Unit(u.clone())),
        );
    }
    found
}

/// The states and provinces: the admin-1 layer's, except for a country whose subdivisions a
/// layer of the set holds (`subdivides`: the US states of the state-level data), whose units
/// come from that layer.
struct Admin {
    /// The layers the units are in: admin-1 first.
    layers: Vec<Named>,
    units: Vec<names::Unit>,
}

impl Admin {
    fn load(layers: &LayerSet, countries: &Named) -> Result<Admin> {
        let admin1 = Named::load_with(layers, "admin1", "name", "adm0_a3")?;
        let a = &admin1.layer.attributes;
        let alpha2 = a.field_index("iso_a2").ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "layer admin1 needs a field \"iso_a2\" (the country's ISO 3166-1 alpha-2 code) to resolve regions",
            )
        })?;
        let columns = names::Either::Columns(admin1.code, alpha2);
        let mut units = names::units(0, a, admin1.name, columns);
        let mut named = vec![admin1];
        for spec in layers.specs() {
            let Some(sub) = &spec.subdivides else {
                continue;
            };
            let layer = Named::load_with(layers, &spec.name, &sub.name, &sub.name)?;
            let alpha2 = countries.alpha2_of(&sub.country);
            let fixed = names::Either::Fixed(sub.country.clone(), alpha2);
            units.retain(|u| u.country != sub.country);
            let attrs = &layer.layer.attributes;
            units.extend(names::units(named.len(), attrs, layer.name, fixed));
            named.push(layer);
        }
        Ok(Admin {
            layers: named,
            units,
        })
    }
}

/// A state or province of a country, for breaking a country's figures down.
#[derive(Debug, Clone)]
pub struct Subdivision {
    /// Its ISO 3166-2 code, or its name where it has none.
    pub code: String,
    /// Its name (the ISO name where there is one).
    pub name: String,
    /// Its polygons.
    pub polygons: Vec<Polygon>,
}

/// The states or provinces of `country` (ISO 3166-1 alpha-3) as `standort region` resolves
/// them: from the layer that `subdivides` it (the US states the state-level data uses),
/// else from `admin1`.
pub fn subdivisions(layers: &LayerSet, country: &str) -> Result<Vec<Subdivision>> {
    let countries = Named::load(layers, "countries", "iso_a3")?;
    let admin = Admin::load(layers, &countries)?;
    let found: Vec<Subdivision> = admin
        .units
        .iter()
        .filter(|u| u.country == country)
        .map(|u| Subdivision {
            code: u
                .iso
                .map_or_else(|| u.ne_name.clone(), |i| i.code.to_string()),
            name: u.name().to_string(),
            polygons: admin.layers[u.layer].polygons(&|x| x == u.row),
        })
        .filter(|s| !s.polygons.is_empty())
        .collect();
    if found.is_empty() {
        return Err(Error::usage(format!(
            "no states or provinces of {country} in the admin1 layer"
        )));
    }
    Ok(found)
}

/// The error for a query that names nothing, with a suggestion.
fn no_region(q: &str, countries: &Named, admin: Option<&Admin>) -> Error {
    let mut candidates = countries.names();
    if let Some(admin) = admin {
        for u in &admin.units {
            candidates.push(u.ne_name.clone());
            if let Some(i) = u.iso {
                candidates.push(i.name.to_string());
                candidates.push(i.code.to_string());
            }
        }
    }
    let hint = did_you_mean(q, candidates.iter().map(String::as_str))
        .map(|s| format!("; did you mean \"{s}\"?"))
        .unwrap_or_default();
    let states = if admin.is_none()
        && countries
            .layer
            .path
            .starts_with(crate::boundaries::BUILT_IN)
    {
        " (states and provinces need the admin-1 layer: `standort data fetch --data-dir DIR`)"
    } else {
        ""
    };
    Error::usage(format!(
        "no region \"{q}\": not an ISO3 code, country, state or province name or ISO 3166-2 code in the countries/admin1 layers{hint}{states}"
    ))
}

/// A polygon layer of named units with codes (countries, admin-1), for resolving names.
struct Named {
    layer: std::sync::Arc<crate::layers::Layer>,
    name: usize,
    code: usize,
}

impl Named {
    fn load(layers: &LayerSet, layer: &str, code_field: &str) -> Result<Named> {
        Self::load_with(layers, layer, "name", code_field)
    }

    /// A layer whose names are in `name_field`.
    fn load_with(
        layers: &LayerSet,
        layer: &str,
        name_field: &str,
        code_field: &str,
    ) -> Result<Named> {
        let layer = std::sync::Arc::new(layers.load(layer)?);
        if !matches!(layer.geometry, Geometry::Polygons(_)) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("layer {} must be polygons", layer.name),
            ));
        }
        let col = |f: &str| {
            layer.attributes.field_index(f).ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "layer {} needs a field \"{f}\" to resolve regions",
                        layer.name
                    ),
                )
            })
        };
        let (name, code) = (col(name_field)?, col(code_field)?);
        Ok(Named { layer, name, code })
    }

    /// The polygons of the rows `rows` accepts.
    fn polygons(&self, rows: &dyn Fn(usize) -> bool) -> Vec<Polygon> {
        match &self.layer.geometry {
            Geometry::Polygons(polys) => polys.iter().filter(|p| rows(p.row)).cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The rows whose name, folded ([`names::fold`]), is `folded`.
    fn rows_named(&self, folded: &str) -> Vec<usize> {
        let a = &self.layer.attributes;
        (0..a.len())
            .filter(|&r| names::fold(&a.get(r, self.name).to_string()) == folded)
            .collect()
    }

    /// The code of row `r`.
    fn code_of(&self, r: usize) -> String {
        self.layer.attributes.get(r, self.code).to_string()
    }

    /// The ISO 3166-1 alpha-2 code (field `iso_a2`) of the country with alpha-3 `code`;
    /// empty when unknown.
    fn alpha2_of(&self, code: &str) -> String {
        let a = &self.layer.attributes;
        let Some(c2) = a.field_index("iso_a2") else {
            return String::new();
        };
        (0..a.len())
            .find(|&r| self.code_of(r) == code)
            .map(|r| a.get(r, c2).to_string())
            .unwrap_or_default()
    }

    /// The region of country row `r`: the polygons of every row with its code (or, for a
    /// row without a code, its own).
    fn region(&self, r: usize) -> Result<Region> {
        let a = &self.layer.attributes;
        let code = self.code_of(r);
        let name = format!("{} ({code})", a.get(r, self.name));
        if code.is_empty() || code == "-99" {
            return Region::from_polygons(name, self.polygons(&|x| x == r));
        }
        Region::from_polygons(name, self.polygons(&|x| self.code_of(x) == code))
            .map(|r| r.in_country(&code))
    }

    /// Every name and code, for suggestions.
    fn names(&self) -> Vec<String> {
        let a = &self.layer.attributes;
        (0..a.len())
            .flat_map(|r| {
                [
                    a.get(r, self.name).to_string(),
                    a.get(r, self.code).to_string(),
                ]
            })
            .filter(|s| !s.is_empty() && s != "-99")
            .collect()
    }

    /// A country by ISO3 code, then by the aliases of codes the layer lacks.
    fn by_iso3(&self, q: &str) -> Result<Option<Region>> {
        if q.len() != 3 || !q.chars().all(|c| c.is_ascii_alphabetic()) {
            return Ok(None);
        }
        let a = &self.layer.attributes;
        let code = q.to_uppercase();
        let rows = |r: usize| a.get(r, self.code).to_string() == code;
        let polys = self.polygons(&rows);
        if !polys.is_empty() {
            let name = (0..a.len())
                .find(|&r| rows(r))
                .map(|r| a.get(r, self.name).to_string())
                .unwrap_or_default();
            return Region::from_polygons(format!("{name} ({code})"), polys)
                .map(|r| Some(r.in_country(&code)));
        }
        let Some((_, target, part)) = ALIASES.iter().find(|(c, _, _)| *c == code) else {
            return Ok(None);
        };
        let polys = match part {
            None => self.polygons(&|r| a.get(r, self.name).to_string() == *target),
            Some((lon, lat)) => self
                .polygons(&|r| a.get(r, self.code).to_string() == *target)
                .into_iter()
                .filter(|p| {
                    PolygonIndex::new(std::slice::from_ref(p))
                        .containing(*lon, *lat)
                        .is_some()
                })
                .collect(),
        };
        if polys.is_empty() {
            return Ok(None);
        }
        Region::from_polygons(format!("{code} (via {target})"), polys)
            .map(|r| Some(r.in_country(&code)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, x1: f64, row: usize) -> Polygon {
        repair_polygon(
            &[vec![[x0, 0.0], [x1, 0.0], [x1, 1.0], [x0, 1.0], [x0, 0.0]]],
            row,
        )
        .unwrap()
    }

    #[test]
    fn circular_bbox_across_the_antimeridian() {
        // Parts at 172..180 and -180..-170 (like the Aleutians or Fiji): 18 degrees wide.
        let b = circular_bbox(&[square(172.0, 180.0, 0), square(-180.0, -170.0, 0)]);
        assert_eq!(b, [172.0, 0.0, 190.0, 1.0]);
        // Parts far apart the other way round.
        let b = circular_bbox(&[square(-10.0, 10.0, 0), square(100.0, 120.0, 0)]);
        assert_eq!(b, [-10.0, 0.0, 120.0, 1.0]);
    }

    #[test]
    fn cells_across_the_antimeridian_are_normalised() {
        let r = Region::from_bbox([179.0, 0.0, -179.0, 1.0]).unwrap();
        let cells = region_cells(&r, 0.5);
        assert_eq!(cells.len(), 8);
        assert!(cells.iter().all(|c| (-180.0..180.0).contains(&c.min_lon)));
        assert!(cells.iter().any(|c| c.min_lon == -180.0));
        assert!(cells.iter().any(|c| c.min_lon == 179.5));
    }

    #[test]
    fn cell_sizes_are_nice() {
        assert_eq!(nice_cell_deg(40_000.0), 1.0);
        assert_eq!(nice_cell_deg(250.0), 0.1);
        assert_eq!(nice_cell_deg(1.0), 0.005);
        // India is about 290 square degrees: ~29,000 cells of 0.1 degree.
        let c = nice_cell_deg(290.0);
        let cells = 290.0 / (c * c);
        assert!((10_000.0..=100_000.0).contains(&cells), "{c} {cells}");
    }

    #[test]
    fn whole_world_bbox() {
        let r = Region::from_bbox([-180.0, -90.0, 180.0, 90.0]).unwrap();
        assert!(r.contains(0.0, 0.0) && r.contains(179.9, 89.0) && r.contains(-179.9, -89.0));
        assert_eq!(region_cells(&r, 10.0).len(), 36 * 18);
    }

    #[test]
    fn bad_bboxes_are_usage_errors() {
        assert_eq!(
            Region::from_bbox([0.0, 10.0, 1.0, 5.0]).unwrap_err().kind(),
            ErrorKind::Usage
        );
        assert!(Region::from_bbox([0.0, 0.0, 200.0, 5.0]).is_err());
    }
}
