//! Spatial indexes over loaded layers (rstar 0.12), built once and shared read-only.
//!
//! - [`PointIndex`]: nearest point and points within a radius, on 3D unit vectors.
//! - [`LineIndex`]: nearest line, with segments as great-circle arcs.
//! - [`PolygonIndex`]: the first polygon containing a point (boundary included), with an
//!   envelope prefilter.
//!
//! ```
//! use standort::index::PointIndex;
//! let idx = PointIndex::new(&[(179.9, 0.0), (10.0, 0.0)]);
//! let (i, km) = idx.nearest(-179.9, 0.0).unwrap();
//! assert_eq!(i, 0);
//! assert!((km - 22.239).abs() < 0.001); // 0.2 degrees across the antimeridian
//! ```

mod grid;
mod sum;

pub use sum::RadiusSum;

use crate::geodesy::{
    self, UnitVector, arc_distance_km, arc_sagitta, chord_to_km, km_to_chord, unit_vector,
    vector_km,
};
use crate::layers::Polygon;
use rayon::prelude::*;
use rstar::{AABB, PointDistance, RTree, RTreeObject};

#[derive(Debug, Clone, Copy)]
struct PointEntry {
    v: UnitVector,
    item: u32,
}

impl RTreeObject for PointEntry {
    type Envelope = AABB<[f64; 3]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_point(self.v)
    }
}

impl PointDistance for PointEntry {
    fn distance_2(&self, p: &[f64; 3]) -> f64 {
        let d = [self.v[0] - p[0], self.v[1] - p[1], self.v[2] - p[2]];
        d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
    }
}

/// Nearest-neighbour and radius queries over points on the sphere.
///
/// Radius queries and tie-aware nearest queries run in an rstar R-tree over unit vectors;
/// [`PointIndex::nearest_km`], the hot path of `nearest_km` measures, runs in a kiddo
/// k-d tree over the same vectors (same chord metric, about 4x faster).
#[derive(Debug, Clone)]
pub struct PointIndex {
    tree: RTree<PointEntry>,
    kd: kiddo::ImmutableKdTree<f64, 3>,
    vectors: Vec<UnitVector>,
    /// The same points in a grid, for [`PointIndex::nearest_km`]: the first search radius
    /// (radians) and the radius beyond which the k-d tree answers instead.
    grid: grid::PointGrid,
    first_angle: f64,
    last_angle: f64,
}

/// Grid searches for the nearest point double their radius this many times at most before
/// the k-d tree takes over (a query far from every point).
const NEAREST_GRID_DOUBLINGS: u32 = 4;

impl PointIndex {
    /// Index points given as (lon, lat) in degrees; queries return positions in this slice.
    pub fn new(points: &[(f64, f64)]) -> Self {
        let vectors: Vec<UnitVector> = points
            .iter()
            .map(|&(lon, lat)| unit_vector(lon, lat))
            .collect();
        let kd = kiddo::ImmutableKdTree::new_from_slice(&vectors);
        let entries = points
            .iter()
            .enumerate()
            .map(|(i, &(lon, lat))| PointEntry {
                v: unit_vector(lon, lat),
                item: i as u32,
            })
            .collect();
        // Grid cells sized for a few points each were the points spread evenly over their
        // bounding box; the first search radius is one cell.
        let (mut lo, mut hi) = ([180.0f64, 90.0f64], [-180.0f64, -90.0f64]);
        for &(lon, lat) in points {
            lo = [lo[0].min(lon), lo[1].min(lat)];
            hi = [hi[0].max(lon), hi[1].max(lat)];
        }
        let area_deg2 = ((hi[0] - lo[0]).max(1.0)) * ((hi[1] - lo[1]).max(1.0));
        let cell_deg = (2.0 * (area_deg2 / points.len().max(1) as f64).sqrt()).clamp(0.01, 1.0);
        let zeros = vec![0.0; points.len()];
        let grid = grid::PointGrid::new(points, &zeros, cell_deg);
        let first_angle = grid.cell_deg().to_radians();
        PointIndex {
            tree: RTree::bulk_load(entries),
            kd,
            vectors,
            grid,
            first_angle,
            last_angle: first_angle * f64::from(1u32 << NEAREST_GRID_DOUBLINGS),
        }
    }

    /// Number of indexed points.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// True when no point is indexed.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// The nearest point and its great-circle distance in km; ties go to the lower index.
    pub fn nearest(&self, lon: f64, lat: f64) -> Option<(usize, f64)> {
        let p = unit_vector(lon, lat);
        let mut iter = self.tree.nearest_neighbor_iter_with_distance_2(&p);
        let (first, d2) = iter.next()?;
        let mut best = first;
        // Exact ties (duplicate positions, symmetric placements): lowest index wins.
        for (e, e2) in iter {
            if e2 > d2 {
                break;
            }
            if e.item < best.item {
                best = e;
            }
        }
        Some((best.item as usize, vector_km(p, best.v)))
    }

    /// The great-circle distance in km to the nearest point (faster than [`Self::nearest`]:
    /// which of several equidistant points is nearest does not matter here).
    pub fn nearest_km(&self, lon: f64, lat: f64) -> Option<f64> {
        self.nearest_km_from(lon, lat, unit_vector(lon, lat))
    }

    /// [`Self::nearest_km`] with the query's unit vector `p` already computed.
    pub(crate) fn nearest_km_from(&self, lon: f64, lat: f64, p: UnitVector) -> Option<f64> {
        if self.vectors.is_empty() {
            return None;
        }
        // Scan the grid cells within a radius; if the nearest point found lies within that
        // radius, no point outside the scanned cells can be nearer. Else widen the radius:
        // to just past the nearest point found beyond it (the next scan then ends the
        // search), at most doubling it; doubling it if none was found.
        // The bounds below stand in for libm calls: the chord of an angle t is 2 sin(t/2)
        // >= t - t^3/24, and the angle of a chord c is 2 asin(c/2) <= c / sqrt(1 - c^2/4).
        let mut angle = self.first_angle;
        while angle <= self.last_angle {
            let mut lanes = [f64::INFINITY; 4];
            self.grid.runs(lon, lat, p, angle, |a, b| {
                self.min_chord2(p, a, b, &mut lanes)
            });
            let best = lanes[0].min(lanes[1]).min(lanes[2].min(lanes[3]));
            let reach = angle - angle * angle * angle / 24.0;
            if best <= reach * reach * (1.0 - 1e-12) {
                return Some(chord_to_km(best.sqrt()));
            }
            angle = if best.is_finite() && best < 2.0 {
                let to_best = (best / (1.0 - best / 4.0)).sqrt();
                (to_best * (1.0 + 1e-9) + 1e-12).min(angle * 2.0)
            } else {
                angle * 2.0
            };
        }
        let hit = self.kd.nearest_one::<kiddo::SquaredEuclidean>(&p);
        Some(vector_km(p, self.vectors[hit.item as usize]))
    }

    /// Lower `m` (four lanes) to the smallest squared chords from `q` to the grid's points
    /// `a..b` (branch-free: the compiler vectorises it).
    fn min_chord2(&self, q: UnitVector, a: usize, b: usize, m: &mut [f64; 4]) {
        let g = &self.grid;
        let (xs, ys, zs) = (&g.xs[a..b], &g.ys[a..b], &g.zs[a..b]);
        let lane = |x: f64, y: f64, z: f64, m: &mut f64| {
            let (dx, dy, dz) = (x - q[0], y - q[1], z - q[2]);
            let c2 = dx * dx + dy * dy + dz * dz;
            *m = if c2 < *m { c2 } else { *m };
        };
        let lanes = xs
            .chunks_exact(4)
            .zip(ys.chunks_exact(4))
            .zip(zs.chunks_exact(4));
        for ((x, y), z) in lanes {
            for l in 0..4 {
                lane(x[l], y[l], z[l], &mut m[l]);
            }
        }
        for k in xs.len() / 4 * 4..xs.len() {
            lane(xs[k], ys[k], zs[k], &mut m[0]);
        }
    }

    /// Visit every point within `radius_km` (great-circle, inclusive) with its distance in km.
    pub fn for_each_within(
        &self,
        lon: f64,
        lat: f64,
        radius_km: f64,
        mut f: impl FnMut(usize, f64),
    ) {
        let p = unit_vector(lon, lat);
        // Query slightly wider by chord, then decide exactly by great-circle distance.
        let chord = km_to_chord(radius_km) * (1.0 + 1e-9) + 1e-12;
        for e in self.tree.locate_within_distance(p, chord * chord) {
            let km = vector_km(p, e.v);
            if km <= radius_km {
                f(e.item as usize, km);
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct SegmentEntry {
    a: UnitVector,
    b: UnitVector,
    item: u32,
}

impl RTreeObject for SegmentEntry {
    type Envelope = AABB<[f64; 3]>;
    fn envelope(&self) -> Self::Envelope {
        // The arc lies within its sagitta of the chord a-b.
        let s = arc_sagitta(self.a, self.b) + 1e-12;
        let lo = [
            self.a[0].min(self.b[0]) - s,
            self.a[1].min(self.b[1]) - s,
            self.a[2].min(self.b[2]) - s,
        ];
        let hi = [
            self.a[0].max(self.b[0]) + s,
            self.a[1].max(self.b[1]) + s,
            self.a[2].max(self.b[2]) + s,
        ];
        AABB::from_corners(lo, hi)
    }
}

impl PointDistance for SegmentEntry {
    fn distance_2(&self, p: &[f64; 3]) -> f64 {
        let c = km_to_chord(arc_distance_km(*p, self.a, self.b));
        c * c
    }
}

/// Nearest-line queries; every segment is the great-circle arc between its vertices.
#[derive(Debug, Clone)]
pub struct LineIndex {
    tree: RTree<SegmentEntry>,
}

/// Segments longer than this are split so that envelopes stay tight.
const MAX_SEGMENT_DEG: f64 = 2.0;

impl LineIndex {
    /// Index lines; `lines[i]` is one feature's parts, each a list of (lon, lat) vertices.
    pub fn new(lines: &[Vec<Vec<[f64; 2]>>]) -> Self {
        let mut entries = Vec::new();
        for (item, parts) in lines.iter().enumerate() {
            for part in parts {
                if part.len() == 1 {
                    let v = unit_vector(part[0][0], part[0][1]);
                    entries.push(SegmentEntry {
                        a: v,
                        b: v,
                        item: item as u32,
                    });
                }
                for w in part.windows(2) {
                    let (a, b) = (unit_vector(w[0][0], w[0][1]), unit_vector(w[1][0], w[1][1]));
                    let angle = geodesy::central_angle(a, b).to_degrees();
                    let pieces = (angle / MAX_SEGMENT_DEG).ceil().max(1.0) as usize;
                    let mut prev = a;
                    for k in 1..=pieces {
                        let next = if k == pieces {
                            b
                        } else {
                            slerp(a, b, k as f64 / pieces as f64)
                        };
                        entries.push(SegmentEntry {
                            a: prev,
                            b: next,
                            item: item as u32,
                        });
                        prev = next;
                    }
                }
            }
        }
        LineIndex {
            tree: RTree::bulk_load(entries),
        }
    }

    /// True when there is no segment.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// The nearest line feature and the great-circle distance to it in km; ties go to the
    /// lower feature index.
    pub fn nearest(&self, lon: f64, lat: f64) -> Option<(usize, f64)> {
        let p = unit_vector(lon, lat);
        let mut iter = self.tree.nearest_neighbor_iter_with_distance_2(&p);
        let (first, d2) = iter.next()?;
        let mut best = first.item;
        for (e, e2) in iter {
            if e2 > d2 {
                break;
            }
            best = best.min(e.item);
        }
        Some((best as usize, arc_distance_km(p, first.a, first.b)))
    }
}

/// Spherical linear interpolation between unit vectors.
fn slerp(a: UnitVector, b: UnitVector, t: f64) -> UnitVector {
    let omega = geodesy::central_angle(a, b);
    if omega < 1e-12 {
        return a;
    }
    let (s, sa, sb) = (omega.sin(), ((1.0 - t) * omega).sin(), (t * omega).sin());
    [
        (sa * a[0] + sb * b[0]) / s,
        (sa * a[1] + sb * b[1]) / s,
        (sa * a[2] + sb * b[2]) / s,
    ]
}

#[derive(Debug, Clone, Copy)]
struct PolygonEntry {
    /// Bounding box, already shifted.
    bbox: [f64; 4],
    shift: f64,
    polygon: u32,
}

/// Point-in-polygon queries over repaired polygons (see [`crate::layers::Polygon`]).
///
/// Candidates come from a uniform grid: every cell lists the polygons whose bounding box
/// meets it, in layer order, so a query reads one cell and stops at the first polygon that
/// contains the point. Polygons that pass ±180° are entered again shifted by ∓360°.
#[derive(Debug, Clone)]
pub struct PolygonIndex {
    /// Attribute row of each polygon.
    rows_of: Vec<usize>,
    entries: Vec<PolygonEntry>,
    origin: [f64; 2],
    cell_deg: f64,
    cols: usize,
    rows: usize,
    /// Cell `k`'s entries are `cell_entries[cell_start[k]..cell_start[k + 1]]`.
    cell_start: Vec<u32>,
    cell_entries: Vec<u32>,
    /// Per cell: the entry that holds the whole cell, [`EMPTY`] when no polygon touches it,
    /// or [`MIXED`] when a boundary crosses it (then the entries are tested one by one).
    cell_owner: Vec<u32>,
    /// Prepared edges for the mixed cells: every polygon's ring vertices, flattened.
    verts: Vec<geo::Coord<f64>>,
    /// Per entry: its first grid row, number of rows, and where its rows' edge lists start
    /// in `band_start`.
    entry_rows: Vec<(u32, u32, u32)>,
    /// Edge list `k` is `band_edges[band_start[k]..band_start[k + 1]]`: the edges (index `i`
    /// = segment `verts[i]`-`verts[i + 1]`) of one entry that reach into one grid row.
    band_start: Vec<u32>,
    band_edges: Vec<u32>,
}

/// Grid cells per polygon entry: finer grids resolve more cells to a single polygon.
const CELLS_PER_ENTRY: f64 = 16.0;
const MIXED: u32 = u32::MAX;
const EMPTY: u32 = u32::MAX - 1;

/// True when segment a-b meets the closed rectangle [x0, x1] x [y0, y1].
fn segment_meets_rect(a: geo::Coord<f64>, b: geo::Coord<f64>, r: [f64; 4]) -> bool {
    if a.x.max(b.x) < r[0] || a.x.min(b.x) > r[2] || a.y.max(b.y) < r[1] || a.y.min(b.y) > r[3] {
        return false;
    }
    let inside = |p: geo::Coord<f64>| p.x >= r[0] && p.x <= r[2] && p.y >= r[1] && p.y <= r[3];
    if inside(a) || inside(b) {
        return true;
    }
    // The segment's line separates the corners unless all lie on one side.
    let side = |x: f64, y: f64| (b.x - a.x) * (y - a.y) - (b.y - a.y) * (x - a.x);
    let s = [
        side(r[0], r[1]),
        side(r[2], r[1]),
        side(r[2], r[3]),
        side(r[0], r[3]),
    ];
    !(s.iter().all(|v| *v > 0.0) || s.iter().all(|v| *v < 0.0))
}

/// Whether (x, y) lies on one of `edges` (index `i` = segment `verts[i]`-`verts[i + 1]`) or
/// an odd number of them cross the ray from it towards +x — inside, by the even-odd rule, when
/// `edges` holds every edge of a polygon that reaches the point's latitude. `edges` are
/// sorted easternmost first (by their larger longitude, descending): the scan stops at the
/// first edge wholly west of the point, which neither holds it nor crosses its ray. Exact
/// orientation predicates.
fn band_contains(verts: &[geo::Coord<f64>], edges: &[u32], x: f64, y: f64) -> bool {
    use geo::kernels::{Kernel, Orientation, RobustKernel};
    let q = geo::Coord { x, y };
    let mut inside = false;
    for &i in edges {
        let (a, b) = (verts[i as usize], verts[i as usize + 1]);
        if a.x.max(b.x) < x {
            break;
        }
        let up = a.y <= y && y < b.y;
        let down = b.y <= y && y < a.y;
        let in_box =
            y >= a.y.min(b.y) && y <= a.y.max(b.y) && x >= a.x.min(b.x) && x <= a.x.max(b.x);
        if !(up || down || in_box) {
            continue;
        }
        if !in_box {
            // The edge crosses the point's latitude wholly to one side of it: no predicate
            // needed (the crossing lies between the edge's end longitudes).
            if a.x.min(b.x) > x {
                inside = !inside;
            }
            continue;
        }
        let o = RobustKernel::orient2d(a, b, q);
        if in_box && o == Orientation::Collinear {
            return true; // on the boundary
        }
        if (up && o == Orientation::CounterClockwise) || (down && o == Orientation::Clockwise) {
            inside = !inside;
        }
    }
    inside
}

impl PolygonIndex {
    /// Index polygons (what the index keeps of them: their edges and attribute rows).
    pub fn new(polygons: &[Polygon]) -> Self {
        let mut entries = Vec::with_capacity(polygons.len());
        for (i, p) in polygons.iter().enumerate() {
            for shift in [-360.0, 0.0, 360.0] {
                if p.bbox[0] + shift <= 180.0 && p.bbox[2] + shift >= -180.0 {
                    let b = [p.bbox[0] + shift, p.bbox[1], p.bbox[2] + shift, p.bbox[3]];
                    entries.push(PolygonEntry {
                        bbox: b,
                        shift,
                        polygon: i as u32,
                    });
                }
            }
        }
        // Grid over the entries' extent (within the globe), about 4 cells per entry.
        let mut ext = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for e in &entries {
            ext = [
                ext[0].min(e.bbox[0]),
                ext[1].min(e.bbox[1]),
                ext[2].max(e.bbox[2]),
                ext[3].max(e.bbox[3]),
            ];
        }
        let ext = if entries.is_empty() {
            [0.0, 0.0, 1.0, 1.0]
        } else {
            [
                ext[0].max(-180.0),
                ext[1].max(-90.0),
                ext[2].min(180.0).max(ext[0].max(-180.0) + 1e-9),
                ext[3].min(90.0).max(ext[1].max(-90.0) + 1e-9),
            ]
        };
        let area = (ext[2] - ext[0]) * (ext[3] - ext[1]);
        let mut cell_deg = (area / (CELLS_PER_ENTRY * entries.len().max(1) as f64))
            .sqrt()
            .clamp(1e-3, 10.0);
        let dims = |c: f64| {
            (
                ((ext[2] - ext[0]) / c).ceil().max(1.0) as usize,
                ((ext[3] - ext[1]) / c).ceil().max(1.0) as usize,
            )
        };
        let (mut cols, mut rows) = dims(cell_deg);
        while cols * rows > 4_000_000 {
            cell_deg *= 1.25;
            (cols, rows) = dims(cell_deg);
        }
        // Truncating a non-negative value is its floor (and cheaper without SSE4.1).
        let col_of = |x: f64| (((x - ext[0]) / cell_deg).max(0.0) as usize).min(cols - 1);
        let row_of = |y: f64| (((y - ext[1]) / cell_deg).max(0.0) as usize).min(rows - 1);
        let mut counts = vec![0u32; cols * rows + 1];
        let span = |e: &PolygonEntry| {
            (
                col_of(e.bbox[0]),
                col_of(e.bbox[2]),
                row_of(e.bbox[1]),
                row_of(e.bbox[3]),
            )
        };
        for e in &entries {
            let (c0, c1, r0, r1) = span(e);
            for r in r0..=r1 {
                for c in c0..=c1 {
                    counts[r * cols + c + 1] += 1;
                }
            }
        }
        for k in 1..counts.len() {
            counts[k] += counts[k - 1];
        }
        let mut fill = counts.clone();
        let mut cell_entries = vec![0u32; counts[cols * rows] as usize];
        // Entries are in polygon order, so every cell's list is too.
        for (j, e) in entries.iter().enumerate() {
            let (c0, c1, r0, r1) = span(e);
            for r in r0..=r1 {
                for c in c0..=c1 {
                    let k = r * cols + c;
                    cell_entries[fill[k] as usize] = j as u32;
                    fill[k] += 1;
                }
            }
        }
        // Prepared edges: for each entry and each grid row its box spans, the edges that
        // reach into the row (with a hair of margin), so that a point-in-polygon test in a
        // mixed cell reads only the edges its horizontal ray can meet.
        let mut verts = Vec::new();
        let mut poly_base = Vec::with_capacity(polygons.len());
        for p in polygons {
            poly_base.push(verts.len() as u32);
            for ring in &p.rings {
                verts.extend(ring.exterior().0.iter().copied());
            }
        }
        let margin = cell_deg * 1e-6;
        let bands: Vec<(u32, Vec<u32>, Vec<u32>)> = entries
            .par_iter()
            .map(|e| {
                let (_, _, r0, r1) = span(e);
                let n_rows = r1 - r0 + 1;
                let poly = &polygons[e.polygon as usize];
                let base = poly_base[e.polygon as usize] as usize;
                // Each edge's rows (its latitude range with the margin, within the entry's).
                let row_range = |k: usize| {
                    let (a, b) = (verts[k], verts[k + 1]);
                    let lo = row_of(a.y.min(b.y) - margin).max(r0);
                    let hi = row_of(a.y.max(b.y) + margin).min(r1);
                    (lo - r0, hi.saturating_sub(r0))
                };
                let mut ranges: Vec<(f64, u32, usize, usize)> = Vec::new();
                let mut i = base;
                for ring in &poly.rings {
                    let n = ring.exterior().0.len();
                    for k in i..i + n.saturating_sub(1) {
                        let (lo, hi) = row_range(k);
                        let east = verts[k].x.max(verts[k + 1].x);
                        ranges.push((east, k as u32, lo, hi));
                    }
                    i += n;
                }
                // Easternmost edges first in every row's list (filled in this order): a query
                // stops at the first edge wholly west of it.
                ranges.sort_unstable_by(|p, q| q.0.total_cmp(&p.0));
                let mut start = vec![0u32; n_rows + 1];
                for &(_, _, lo, hi) in &ranges {
                    for r in lo..=hi {
                        start[r + 1] += 1;
                    }
                }
                for r in 0..n_rows {
                    start[r + 1] += start[r];
                }
                let mut fill = start.clone();
                let mut list = vec![0u32; start[n_rows] as usize];
                for &(_, k, lo, hi) in &ranges {
                    for r in lo..=hi {
                        list[fill[r] as usize] = k;
                        fill[r] += 1;
                    }
                }
                (r0 as u32, start, list)
            })
            .collect();
        let mut entry_rows = Vec::with_capacity(entries.len());
        let mut band_start = vec![0u32];
        let mut band_edges = Vec::new();
        for (r0, start, list) in bands {
            entry_rows.push((r0, start.len() as u32 - 1, band_start.len() as u32 - 1));
            let offset = band_edges.len() as u32;
            band_start.extend(start[1..].iter().map(|s| s + offset));
            band_edges.extend(list);
        }
        // Resolve cells no boundary crosses: they belong wholly to one polygon, or to none.
        // Only the entry's edges that reach into the cell's row can cross the cell.
        let band = |j: usize, r: usize| -> &[u32] {
            let (r0, _, base) = entry_rows[j];
            let k = base as usize + (r - r0 as usize);
            &band_edges[band_start[k] as usize..band_start[k + 1] as usize]
        };
        let cell_owner: Vec<u32> = (0..cols * rows)
            .into_par_iter()
            .map(|k| {
                let (r, c) = (k / cols, k % cols);
                let rect = [
                    ext[0] + c as f64 * cell_deg,
                    ext[1] + r as f64 * cell_deg,
                    ext[0] + (c + 1) as f64 * cell_deg,
                    ext[1] + (r + 1) as f64 * cell_deg,
                ];
                for &j in &cell_entries[counts[k] as usize..counts[k + 1] as usize] {
                    let e = &entries[j as usize];
                    let local = [rect[0] - e.shift, rect[1], rect[2] - e.shift, rect[3]];
                    let edges = band(j as usize, r);
                    let crossed = edges.iter().any(|&i| {
                        segment_meets_rect(verts[i as usize], verts[i as usize + 1], local)
                    });
                    if crossed {
                        return MIXED;
                    }
                    let cx = (local[0] + local[2]) / 2.0;
                    let cy = (local[1] + local[3]) / 2.0;
                    if band_contains(&verts, edges, cx, cy) {
                        return j;
                    }
                }
                EMPTY
            })
            .collect();
        PolygonIndex {
            rows_of: polygons.iter().map(|p| p.row).collect(),
            entries,
            origin: [ext[0], ext[1]],
            cell_deg,
            cols,
            rows,
            cell_start: counts,
            cell_entries,
            cell_owner,
            verts,
            entry_rows,
            band_start,
            band_edges,
        }
    }

    /// Whether (x, y) — in the entry's unshifted frame — lies inside or on the polygon of
    /// entry `j`, from the edges reaching into grid row `r` (the point's row): on an edge, or
    /// an odd number of edges crossing the ray from the point towards +x (even-odd over all
    /// rings, as [`Polygon::position`]; exact orientation predicates).
    fn prepared_contains(&self, j: usize, r: usize, x: f64, y: f64) -> bool {
        let (r0, n, base) = self.entry_rows[j];
        let Some(d) = r.checked_sub(r0 as usize).filter(|d| *d < n as usize) else {
            return false;
        };
        let k = base as usize + d;
        let edges = &self.band_edges[self.band_start[k] as usize..self.band_start[k + 1] as usize];
        band_contains(&self.verts, edges, x, y)
    }

    /// True when there is no polygon.
    pub fn is_empty(&self) -> bool {
        self.rows_of.is_empty()
    }

    /// The grid cell a [`PolygonIndex::containing`] query at (lon, lat) reads first (clamped
    /// to the grid), for reading a group of cells ahead of the queries ([`Self::touch`]).
    pub(crate) fn cell_of(&self, lon: f64, lat: f64) -> usize {
        let fx = (lon - self.origin[0]) / self.cell_deg;
        let fy = (lat - self.origin[1]) / self.cell_deg;
        let c = (fx.max(0.0) as usize).min(self.cols - 1);
        let r = (fy.max(0.0) as usize).min(self.rows - 1);
        r * self.cols + c
    }

    /// Read grid cell `k` (from [`Self::cell_of`]), so that a query that follows soon finds
    /// it in cache; returns a value only to keep the read.
    pub(crate) fn touch(&self, k: usize) -> u32 {
        self.cell_owner[k]
    }

    /// The attribute row of the first polygon (in layer order) that contains (lon, lat) or
    /// has it on its boundary.
    pub fn containing(&self, lon: f64, lat: f64) -> Option<usize> {
        let fx = (lon - self.origin[0]) / self.cell_deg;
        let fy = (lat - self.origin[1]) / self.cell_deg;
        // A point on the grid's far edge belongs to the last cell.
        let eps = 1e-9;
        if !(fx >= -eps
            && fy >= -eps
            && fx <= self.cols as f64 + eps
            && fy <= self.rows as f64 + eps)
        {
            return None;
        }
        // Truncating a non-negative value is its floor (and cheaper without SSE4.1).
        let c = (fx.max(0.0) as usize).min(self.cols - 1);
        let r = (fy.max(0.0) as usize).min(self.rows - 1);
        let k = r * self.cols + c;
        match self.cell_owner[k] {
            EMPTY => return None,
            MIXED => {}
            j => return Some(self.rows_of[self.entries[j as usize].polygon as usize]),
        }
        let list = &self.cell_entries[self.cell_start[k] as usize..self.cell_start[k + 1] as usize];
        for &j in list {
            let e = &self.entries[j as usize];
            if lon < e.bbox[0] || lon > e.bbox[2] || lat < e.bbox[1] || lat > e.bbox[3] {
                continue;
            }
            if self.prepared_contains(j as usize, r, lon - e.shift, lat) {
                return Some(self.rows_of[e.polygon as usize]);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::repair_polygon;

    const KM_PER_DEG: f64 = geodesy::EARTH_RADIUS_KM * std::f64::consts::PI / 180.0;

    #[test]
    fn nearest_across_the_pole() {
        let idx = PointIndex::new(&[(-135.0, 85.0), (45.0, 70.0)]);
        let (i, km) = idx.nearest(45.0, 85.0).unwrap();
        assert_eq!(
            i, 0,
            "10 degrees over the pole beats 15 degrees along the meridian"
        );
        assert!((km - 10.0 * KM_PER_DEG).abs() < 1e-6);
    }

    #[test]
    fn empty_indexes_answer_none() {
        assert!(PointIndex::new(&[]).nearest(0.0, 0.0).is_none());
        assert!(LineIndex::new(&[]).nearest(0.0, 0.0).is_none());
        assert!(PolygonIndex::new(&[]).containing(0.0, 0.0).is_none());
        let mut n = 0;
        PointIndex::new(&[]).for_each_within(0.0, 0.0, 100.0, |_, _| n += 1);
        assert_eq!(n, 0);
    }

    #[test]
    fn within_radius_is_exact_at_the_boundary() {
        // 0.9 degrees = 100.0756 km: just outside 100 km, inside 100.1 km.
        let idx = PointIndex::new(&[(10.9, 0.0), (10.4, 0.0)]);
        let mut hits = vec![];
        idx.for_each_within(10.0, 0.0, 100.0, |i, _| hits.push(i));
        assert_eq!(hits, vec![1]);
        hits.clear();
        idx.for_each_within(10.0, 0.0, 100.1, |i, _| hits.push(i));
        hits.sort();
        assert_eq!(hits, vec![0, 1]);
    }

    #[test]
    fn ties_go_to_the_first_point() {
        let idx = PointIndex::new(&[(12.0, 0.0), (11.0, 0.0), (13.0, 0.0), (11.0, 0.0)]);
        assert_eq!(idx.nearest(10.0, 0.0).unwrap().0, 1);
    }

    #[test]
    fn nearest_line_long_segment_and_antimeridian() {
        let lines = vec![
            vec![vec![[10.2, -5.0], [10.2, 5.0]]],
            vec![vec![[-180.0, -2.0], [-180.0, 2.0]]],
            // A long equatorial line: split into pieces, still exact.
            vec![vec![[-60.0, 0.0], [-20.0, 0.0]]],
        ];
        let idx = LineIndex::new(&lines);
        let (i, km) = idx.nearest(10.0, 0.0).unwrap();
        assert_eq!(i, 0);
        assert!((km - 0.2 * KM_PER_DEG).abs() < 1e-6);
        let (i, km) = idx.nearest(179.9, 1.0).unwrap();
        assert_eq!(i, 1);
        assert!(
            (km - geodesy::great_circle_km(179.9, 1.0, 180.0, 1.0)).abs() < 1e-3,
            "{km}"
        );
        let (i, km) = idx.nearest(-40.0, 1.0).unwrap();
        assert_eq!(i, 2);
        assert!((km - KM_PER_DEG).abs() < 1e-6);
    }

    #[test]
    fn polygon_edges_and_shared_borders() {
        let sq = |x0: f64, x1: f64, row| {
            repair_polygon(
                &[vec![
                    [x0, -1.0],
                    [x1, -1.0],
                    [x1, 1.0],
                    [x0, 1.0],
                    [x0, -1.0],
                ]],
                row,
            )
            .unwrap()
        };
        let idx = PolygonIndex::new(&[sq(9.0, 12.0, 0), sq(12.0, 14.0, 1)]);
        assert_eq!(idx.containing(10.0, 0.0), Some(0));
        assert_eq!(idx.containing(13.0, 0.0), Some(1));
        // On the shared edge: the first polygon in layer order.
        assert_eq!(idx.containing(12.0, 0.5), Some(0));
        // On an outer edge and a vertex: inside.
        assert_eq!(idx.containing(14.0, 0.0), Some(1));
        assert_eq!(idx.containing(9.0, -1.0), Some(0));
        assert_eq!(idx.containing(14.0001, 0.0), None);
    }

    #[test]
    fn polygon_across_antimeridian() {
        let ring = vec![
            [179.0, -1.0],
            [-179.0, -1.0],
            [-179.0, 1.0],
            [179.0, 1.0],
            [179.0, -1.0],
        ];
        let idx = PolygonIndex::new(&[repair_polygon(&[ring], 7).unwrap()]);
        assert_eq!(idx.containing(-179.9, 0.0), Some(7));
        assert_eq!(idx.containing(179.5, 0.5), Some(7));
        assert_eq!(idx.containing(-180.0, 0.0), Some(7));
        assert_eq!(idx.containing(178.9, 0.0), None);
    }
}

#[cfg(test)]
mod nearest_tests {
    use super::*;
    use geo::coordinate_position::CoordPos;
    use proptest::prelude::*;

    /// A jagged star-shaped ring around (cx, cy) with `radii.len()` vertices on a 1/64 degree
    /// lattice (so vertices and axis-aligned edges are exact), closed.
    fn star(cx: f64, cy: f64, radii: &[f64]) -> Vec<[f64; 2]> {
        let n = radii.len();
        let snap = |v: f64| (v * 64.0).round() / 64.0;
        let mut ring: Vec<[f64; 2]> = radii
            .iter()
            .enumerate()
            .map(|(k, r)| {
                let a = k as f64 / n as f64 * std::f64::consts::TAU;
                [snap(cx + r * a.cos()), snap(cy + r * a.sin())]
            })
            .collect();
        ring.push(ring[0]);
        ring
    }

    proptest! {
        /// The grid with prepared edges answers exactly what testing every polygon in layer
        /// order with `Polygon::position` answers: for random points, for every vertex and
        /// for points on the lattice the vertices lie on (many on edges).
        #[test]
        fn containing_matches_testing_every_polygon(
            shapes in proptest::collection::vec(
                (-3.0f64..3.0, -3.0f64..3.0, proptest::collection::vec(0.2f64..2.0, 3..60), proptest::bool::ANY),
                1..25,
            ),
            shift in proptest::prop_oneof![Just(0.0f64), Just(178.0f64)],
            queries in proptest::collection::vec((-5.0f64..5.0, -5.0f64..5.0), 50),
        ) {
            let wrap = |x: f64| if x > 180.0 { x - 360.0 } else if x < -180.0 { x + 360.0 } else { x };
            let polys: Vec<Polygon> = shapes
                .iter()
                .enumerate()
                .filter_map(|(i, (cx, cy, radii, hole))| {
                    let mut rings = vec![star(cx + shift, *cy, radii)];
                    if *hole {
                        let inner: Vec<f64> = radii.iter().map(|r| r * 0.3).collect();
                        rings.push(star(cx + shift, *cy, &inner));
                    }
                    let rings: Vec<Vec<[f64; 2]>> = rings
                        .into_iter()
                        .map(|r| r.into_iter().map(|p| [wrap(p[0]), p[1]]).collect())
                        .collect();
                    crate::layers::repair_polygon(&rings, i)
                })
                .collect();
            let idx = PolygonIndex::new(&polys);
            let brute = |x: f64, y: f64| {
                polys.iter().find(|p| {
                    [0.0, 360.0, -360.0].iter().any(|s| p.position(x + s, y) != CoordPos::Outside)
                }).map(|p| p.row)
            };
            let mut points: Vec<(f64, f64)> = queries.iter().map(|q| (q.0 + shift, q.1)).collect();
            for p in &polys {
                for ring in &p.rings {
                    points.extend(ring.exterior().0.iter().map(|c| (c.x, c.y)));
                }
            }
            for q in &queries {
                points.push((((q.0 + shift) * 64.0).round() / 64.0, (q.1 * 64.0).round() / 64.0));
            }
            for (x, y) in points {
                let x = wrap(x);
                prop_assert_eq!(idx.containing(x, y), brute(x, y), "at ({}, {})", x, y);
            }
        }

        #[test]
        fn nearest_km_is_the_brute_force_minimum(
            pts in proptest::collection::vec((-180.0f64..=180.0, -90.0f64..=90.0), 1..200),
            lon in -180.0f64..=180.0, lat in -90.0f64..=90.0,
        ) {
            let idx = PointIndex::new(&pts);
            let want = pts.iter().map(|p| geodesy::great_circle_km(lon, lat, p.0, p.1)).fold(f64::INFINITY, f64::min);
            let got = idx.nearest_km(lon, lat).unwrap();
            prop_assert!((got - want).abs() < 1e-6, "{} vs {}", got, want);
            prop_assert!((idx.nearest(lon, lat).unwrap().1 - want).abs() < 1e-6);
        }

        /// Clustered points (small grid cells, so the grid search expands or falls back to
        /// the k-d tree), clusters across the antimeridian and at the poles, queries near and
        /// far.
        #[test]
        fn nearest_km_in_clusters_is_the_brute_force_minimum(
            centres in proptest::collection::vec(
                proptest::prop_oneof![
                    (-180.0f64..=180.0, -90.0f64..=90.0),
                    (179.0f64..=180.0, -10.0f64..=10.0),
                    (-180.0f64..=180.0, 88.0f64..=90.0),
                ],
                1..6,
            ),
            offsets in proptest::collection::vec((-0.3f64..=0.3, -0.3f64..=0.3), 1..300),
            query in (-1.0f64..=1.0, -1.0f64..=1.0, 0usize..6, proptest::bool::ANY),
            far in (-180.0f64..=180.0, -90.0f64..=90.0),
        ) {
            let wrap = |lon: f64| if lon > 180.0 { lon - 360.0 } else if lon < -180.0 { lon + 360.0 } else { lon };
            let pts: Vec<(f64, f64)> = offsets
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    let c = centres[i % centres.len()];
                    (wrap(c.0 + o.0), (c.1 + o.1).clamp(-90.0, 90.0))
                })
                .collect();
            let (lon, lat) = if query.3 {
                far
            } else {
                let c = centres[query.2 % centres.len()];
                (wrap(c.0 + query.0), (c.1 + query.1).clamp(-90.0, 90.0))
            };
            let idx = PointIndex::new(&pts);
            let want = pts.iter().map(|p| geodesy::great_circle_km(lon, lat, p.0, p.1)).fold(f64::INFINITY, f64::min);
            let got = idx.nearest_km(lon, lat).unwrap();
            prop_assert!((got - want).abs() < 1e-6, "{} vs {}", got, want);
        }
    }
}
