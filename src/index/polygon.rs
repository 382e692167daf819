//! Point-in-polygon queries over repaired polygons.

use crate::layers::Polygon;
use rayon::prelude::*;

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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

/// The uniform grid of a [`PolygonIndex`]: its extent (within the globe), cell size and
/// dimensions.
#[derive(Debug, Clone, Copy)]
struct Grid {
    ext: [f64; 4],
    cell_deg: f64,
    cols: usize,
    rows: usize,
}

impl Grid {
    /// A grid over the entries' extent with about [`CELLS_PER_ENTRY`] cells per entry (at
    /// most 4 million cells).
    fn over(entries: &[PolygonEntry]) -> Grid {
        let mut ext = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for e in entries {
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
        Grid {
            ext,
            cell_deg,
            cols,
            rows,
        }
    }

    // Truncating a non-negative value is its floor (and cheaper without SSE4.1).
    fn col_of(&self, x: f64) -> usize {
        (((x - self.ext[0]) / self.cell_deg).max(0.0) as usize).min(self.cols - 1)
    }

    fn row_of(&self, y: f64) -> usize {
        (((y - self.ext[1]) / self.cell_deg).max(0.0) as usize).min(self.rows - 1)
    }

    /// The columns and rows (first, last) an entry's box spans.
    fn span(&self, e: &PolygonEntry) -> (usize, usize, usize, usize) {
        (
            self.col_of(e.bbox[0]),
            self.col_of(e.bbox[2]),
            self.row_of(e.bbox[1]),
            self.row_of(e.bbox[3]),
        )
    }

    /// Cell `k`'s rectangle [x0, y0, x1, y1].
    fn rect(&self, k: usize) -> [f64; 4] {
        let (r, c) = (k / self.cols, k % self.cols);
        let d = self.cell_deg;
        [
            self.ext[0] + c as f64 * d,
            self.ext[1] + r as f64 * d,
            self.ext[0] + (c + 1) as f64 * d,
            self.ext[1] + (r + 1) as f64 * d,
        ]
    }
}

/// Every polygon, entered again shifted by ∓360° where it passes ±180°.
fn shifted_entries(polygons: &[Polygon]) -> Vec<PolygonEntry> {
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
    entries
}

/// Each cell's entries (those whose box meets it, in polygon order, as entries are):
/// cell `k`'s are `list[start[k]..start[k + 1]]`.
fn bucket(grid: &Grid, entries: &[PolygonEntry]) -> (Vec<u32>, Vec<u32>) {
    let cols = grid.cols;
    let mut start = vec![0u32; cols * grid.rows + 1];
    for e in entries {
        let (c0, c1, r0, r1) = grid.span(e);
        for r in r0..=r1 {
            for c in c0..=c1 {
                start[r * cols + c + 1] += 1;
            }
        }
    }
    for k in 1..start.len() {
        start[k] += start[k - 1];
    }
    let mut fill = start.clone();
    let mut list = vec![0u32; start[cols * grid.rows] as usize];
    for (j, e) in entries.iter().enumerate() {
        let (c0, c1, r0, r1) = grid.span(e);
        for r in r0..=r1 {
            for c in c0..=c1 {
                let k = r * cols + c;
                list[fill[k] as usize] = j as u32;
                fill[k] += 1;
            }
        }
    }
    (start, list)
}

/// Prepared edges: every polygon's ring vertices, flattened, and for each entry and each
/// grid row its box spans the edges that reach into the row (with a hair of margin), so
/// that a point-in-polygon test in a mixed cell reads only the edges its ray can meet.
struct Bands {
    verts: Vec<geo::Coord<f64>>,
    entry_rows: Vec<(u32, u32, u32)>,
    band_start: Vec<u32>,
    band_edges: Vec<u32>,
}

impl Bands {
    fn new(grid: &Grid, polygons: &[Polygon], entries: &[PolygonEntry]) -> Bands {
        let mut verts = Vec::new();
        let mut poly_base = Vec::with_capacity(polygons.len());
        for p in polygons {
            poly_base.push(verts.len());
            for ring in &p.rings {
                verts.extend(ring.exterior().0.iter().copied());
            }
        }
        let bands: Vec<(u32, Vec<u32>, Vec<u32>)> = entries
            .par_iter()
            .map(|e| {
                let i = e.polygon as usize;
                entry_bands(grid, &verts, &polygons[i], poly_base[i], e)
            })
            .collect();
        let mut b = Bands {
            verts,
            entry_rows: Vec::with_capacity(entries.len()),
            band_start: vec![0u32],
            band_edges: Vec::new(),
        };
        for (r0, start, list) in bands {
            let first = b.band_start.len() as u32 - 1;
            b.entry_rows.push((r0, start.len() as u32 - 1, first));
            let offset = b.band_edges.len() as u32;
            b.band_start.extend(start[1..].iter().map(|s| s + offset));
            b.band_edges.extend(list);
        }
        b
    }

    /// Entry `j`'s edges that reach into grid row `r` (one of the rows its box spans).
    fn band(&self, j: usize, r: usize) -> &[u32] {
        let (r0, _, base) = self.entry_rows[j];
        let k = base as usize + (r - r0 as usize);
        &self.band_edges[self.band_start[k] as usize..self.band_start[k + 1] as usize]
    }
}

/// One entry's first row and its rows' edge lists (`start`, `list`), easternmost edges first
/// in every row's list: a query stops at the first edge wholly west of it.
fn entry_bands(
    grid: &Grid,
    verts: &[geo::Coord<f64>],
    poly: &Polygon,
    base: usize,
    e: &PolygonEntry,
) -> (u32, Vec<u32>, Vec<u32>) {
    let (_, _, r0, r1) = grid.span(e);
    let n_rows = r1 - r0 + 1;
    let margin = grid.cell_deg * 1e-6;
    let mut ranges: Vec<(f64, u32, usize, usize)> = Vec::new();
    let mut i = base;
    for ring in &poly.rings {
        let n = ring.exterior().0.len();
        for k in i..i + n.saturating_sub(1) {
            // The edge's rows: its latitude range with the margin, within the entry's.
            let (a, b) = (verts[k], verts[k + 1]);
            let lo = grid.row_of(a.y.min(b.y) - margin).max(r0);
            let hi = grid.row_of(a.y.max(b.y) + margin).min(r1);
            ranges.push((a.x.max(b.x), k as u32, lo - r0, hi.saturating_sub(r0)));
        }
        i += n;
    }
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
}

/// Resolve the cells no boundary crosses: each belongs wholly to one entry, or to none
/// ([`EMPTY`]); the others are [`MIXED`]. Only an entry's edges that reach into the cell's
/// row can cross the cell.
fn resolve_cells(
    grid: &Grid,
    entries: &[PolygonEntry],
    (start, list): (&[u32], &[u32]),
    bands: &Bands,
) -> Vec<u32> {
    (0..grid.cols * grid.rows)
        .into_par_iter()
        .map(|k| {
            let (r, rect) = (k / grid.cols, grid.rect(k));
            for &j in &list[start[k] as usize..start[k + 1] as usize] {
                let e = &entries[j as usize];
                let local = [rect[0] - e.shift, rect[1], rect[2] - e.shift, rect[3]];
                let edges = bands.band(j as usize, r);
                let v = &bands.verts;
                let crossed = edges
                    .iter()
                    .any(|&i| segment_meets_rect(v[i as usize], v[i as usize + 1], local));
                if crossed {
                    return MIXED;
                }
                let (cx, cy) = ((local[0] + local[2]) / 2.0, (local[1] + local[3]) / 2.0);
                if band_contains(v, edges, cx, cy) {
                    return j;
                }
            }
            EMPTY
        })
        .collect()
}

impl PolygonIndex {
    /// Index polygons (what the index keeps of them: their edges and attribute rows).
    pub fn new(polygons: &[Polygon]) -> Self {
        let entries = shifted_entries(polygons);
        let grid = Grid::over(&entries);
        let (cell_start, cell_entries) = bucket(&grid, &entries);
        let bands = Bands::new(&grid, polygons, &entries);
        let cell_owner = resolve_cells(&grid, &entries, (&cell_start, &cell_entries), &bands);
        PolygonIndex {
            rows_of: polygons.iter().map(|p| p.row).collect(),
            entries,
            origin: [grid.ext[0], grid.ext[1]],
            cell_deg: grid.cell_deg,
            cols: grid.cols,
            rows: grid.rows,
            cell_start,
            cell_entries,
            cell_owner,
            verts: bands.verts,
            entry_rows: bands.entry_rows,
            band_start: bands.band_start,
            band_edges: bands.band_edges,
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

    /// Whether this index (read back from the layer cache) is one of `polygons`: the same
    /// attribute rows, and every position it stores within its arrays, so that no query can
    /// read out of bounds.
    pub(crate) fn is_index_of(&self, polygons: &[Polygon]) -> bool {
        let cells = self.cols.checked_mul(self.rows);
        let within = |v: &[u32], n: usize| v.iter().all(|&x| (x as usize) < n);
        let rising = |v: &[u32], end: usize| {
            v.windows(2).all(|w| w[0] <= w[1]) && v.last().is_none_or(|&x| x as usize <= end)
        };
        let n = self.entries.len();
        self.rows_of.len() == polygons.len()
            && self.rows_of.iter().zip(polygons).all(|(&r, p)| r == p.row)
            && self.cols > 0
            && self.rows > 0
            && cells == Some(self.cell_owner.len())
            && self.cell_start.len() == self.cell_owner.len() + 1
            && rising(&self.cell_start, self.cell_entries.len())
            && within(&self.cell_entries, n)
            && self
                .cell_owner
                .iter()
                .all(|&o| o >= EMPTY || (o as usize) < n)
            && self
                .entries
                .iter()
                .all(|e| (e.polygon as usize) < polygons.len())
            && self.entry_rows.len() == n
            && self.entry_rows.iter().all(|&(_, rows, base)| {
                (base as usize).saturating_add(rows as usize) < self.band_start.len()
            })
            && rising(&self.band_start, self.band_edges.len())
            && within(&self.band_edges, self.verts.len().saturating_sub(1))
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

/// Where a layer has data: the polygons of another layer (the countries), each covered or
/// not (by its field's value). Built from the whole layer, so that "in a country the layer
/// does not cover" and "in no country at all" (sea, a gap between outlines) can be told
/// apart.
#[derive(Debug, Clone)]
pub struct Coverage {
    index: std::sync::Arc<PolygonIndex>,
    /// Per attribute row of the coverage layer: covered or not.
    covered: Vec<bool>,
    /// For a coverage by matching codes (`same_as`): the code of each row of the coverage
    /// layer, and of each row of the layer it covers.
    codes: Option<(Vec<String>, Vec<String>)>,
}

impl Coverage {
    /// `covered[row]` for each attribute row of the polygons `index` holds.
    pub fn new(index: std::sync::Arc<PolygonIndex>, covered: Vec<bool>) -> Self {
        Coverage {
            index,
            covered,
            codes: None,
        }
    }

    /// A coverage by matching codes: a polygon (row `r`) of the covered layer answers at a
    /// site only where the coverage layer's polygon there has the same code
    /// (`coverage_codes[row] == layer_codes[r]`), or where no polygon of the coverage layer
    /// is (a coast just outside its outline).
    pub fn matching(
        index: std::sync::Arc<PolygonIndex>,
        coverage_codes: Vec<String>,
        layer_codes: Vec<String>,
    ) -> Self {
        Coverage {
            covered: vec![true; coverage_codes.len()],
            index,
            codes: Some((coverage_codes, layer_codes)),
        }
    }

    /// True for a coverage by matching codes.
    pub fn is_matching(&self) -> bool {
        self.codes.is_some()
    }

    /// True when the covered layer's polygon `row` may answer at (lon, lat).
    pub fn admits(&self, lon: f64, lat: f64, row: usize) -> bool {
        let Some((coverage_codes, layer_codes)) = &self.codes else {
            return true;
        };
        match self.index.containing(lon, lat) {
            None => true,
            Some(c) => {
                let code = coverage_codes.get(c).map(String::as_str).unwrap_or("");
                !code.is_empty() && Some(code) == layer_codes.get(row).map(String::as_str)
            }
        }
    }

    /// True when a covered polygon contains (lon, lat).
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        self.index
            .containing(lon, lat)
            .is_some_and(|r| self.covered.get(r).copied().unwrap_or(false))
    }

    /// True when a polygon that is not covered contains (lon, lat): the coverage layer puts
    /// the site somewhere else (not merely nowhere).
    pub fn refuses(&self, lon: f64, lat: f64) -> bool {
        self.index
            .containing(lon, lat)
            .is_some_and(|r| !self.covered.get(r).copied().unwrap_or(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::repair_polygon;

    fn square(x0: f64, x1: f64, row: usize) -> Polygon {
        let ring = vec![[x0, -1.0], [x1, -1.0], [x1, 1.0], [x0, 1.0], [x0, -1.0]];
        repair_polygon(&[ring], row).unwrap()
    }

    /// A built index is one of its polygons; a copy with any stored position out of range,
    /// or built from other polygons, is not (the layer cache then builds it again).
    #[test]
    fn only_a_consistent_index_is_taken_as_one_of_its_polygons() {
        let polys = vec![
            square(9.0, 12.0, 0),
            square(12.0, 14.0, 1),
            square(179.0, 181.0, 2),
        ];
        let ix = PolygonIndex::new(&polys);
        assert!(ix.is_index_of(&polys));
        assert!(PolygonIndex::new(&[]).is_index_of(&[]));
        assert!(!ix.is_index_of(&polys[..2]));
        type Tamper = fn(&mut PolygonIndex);
        let tampered: Vec<(&str, Tamper)> = vec![
            ("cell entry", |i| i.cell_entries[0] = 1000),
            ("cell start", |i| *i.cell_start.last_mut().unwrap() += 1),
            ("owner", |i| i.cell_owner[0] = 999),
            ("entry polygon", |i| i.entries[0].polygon = 7),
            ("band start", |i| i.band_start[1] = u32::MAX),
            ("band edge", |i| i.band_edges[0] = u32::MAX),
            ("entry rows", |i| i.entry_rows[0].1 = u32::MAX),
            ("grid", |i| i.cols += 1),
        ];
        for (what, tamper) in tampered {
            let mut t = ix.clone();
            tamper(&mut t);
            assert!(!t.is_index_of(&polys), "{what}");
        }
    }
}
