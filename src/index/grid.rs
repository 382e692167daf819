//! A longitude/latitude grid of points on the sphere, for exact scans of the points near a
//! query: radius sums ([`super::RadiusSum`]) and nearest points ([`super::PointIndex`]).
//!
//! Points are stored cell by cell (row-major) as separate columns of unit-vector
//! coordinates and values, so that the cells of a row under a query's bounding box are one
//! contiguous run the compiler can scan with vector instructions. Rows cover only the points'
//! latitudes; columns all longitudes, so runs split at the antimeridian need no special grid.

use crate::geodesy::unit_vector;

/// Points binned into a longitude/latitude grid (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct PointGrid {
    cell_deg: f64,
    min_lat: f64,
    rows: usize,
    cols: usize,
    /// Per cell: start offset into the columns (cells in row-major order), with a sentinel.
    start: Vec<u32>,
    /// Unit-vector coordinates and values of the points, in cell order.
    pub(crate) xs: Vec<f64>,
    pub(crate) ys: Vec<f64>,
    pub(crate) zs: Vec<f64>,
    pub(crate) ws: Vec<f64>,
}

impl PointGrid {
    /// Bin `points` (lon, lat in degrees) with their `values` into cells of about
    /// `cell_deg` (clamped to 0.01-1 degree, coarser if the grid would exceed 4M cells).
    pub(crate) fn new(points: &[(f64, f64)], values: &[f64], cell_deg: f64) -> Self {
        let mut cell_deg = if cell_deg.is_finite() {
            cell_deg.clamp(0.01, 1.0)
        } else {
            1.0
        };
        let (lat_min, lat_max) = points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                (a.min(p.1), b.max(p.1))
            });
        let (lat_min, lat_max) = if points.is_empty() {
            (0.0, 0.0)
        } else {
            (lat_min, lat_max)
        };
        let dims = |cell: f64| {
            let min_lat = ((lat_min / cell).floor() * cell).max(-90.0);
            let rows = (((lat_max - min_lat) / cell).floor() as usize + 1).max(1);
            let cols = (360.0 / cell).ceil() as usize;
            (min_lat, rows, cols)
        };
        let (mut min_lat, mut rows, mut cols) = dims(cell_deg);
        while rows * cols > 4_000_000 {
            cell_deg *= 1.25;
            (min_lat, rows, cols) = dims(cell_deg);
        }
        let cell_of = |lon: f64, lat: f64| -> usize {
            // `as` truncates towards zero and saturates: the floor for x >= 0, and 0 below.
            let r = (((lat - min_lat) / cell_deg) as usize).min(rows - 1);
            let c = (((lon + 180.0) / cell_deg) as usize).min(cols - 1);
            r * cols + c
        };
        let mut order: Vec<(usize, usize)> = points
            .iter()
            .enumerate()
            .map(|(i, &(lon, lat))| (cell_of(lon, lat), i))
            .collect();
        order.sort_unstable();
        let mut start = vec![0u32; rows * cols + 1];
        for &(cell, _) in &order {
            start[cell + 1] += 1;
        }
        for k in 1..start.len() {
            start[k] += start[k - 1];
        }
        let vs: Vec<[f64; 3]> = order
            .iter()
            .map(|&(_, i)| unit_vector(points[i].0, points[i].1))
            .collect();
        PointGrid {
            cell_deg,
            min_lat,
            rows,
            cols,
            start,
            xs: vs.iter().map(|v| v[0]).collect(),
            ys: vs.iter().map(|v| v[1]).collect(),
            zs: vs.iter().map(|v| v[2]).collect(),
            ws: order.iter().map(|&(_, i)| values[i]).collect(),
        }
    }

    /// Call `f(a, b)` for runs `a..b` of points that together hold every point within
    /// `angle` radians of (lon, lat) (unit vector `q`): row by row, the cells under the
    /// circle's bounding box on the sphere (its latitude span and its exact widest longitude
    /// extent, or every longitude when it holds a pole).
    pub(crate) fn runs(
        &self,
        lon: f64,
        lat: f64,
        q: [f64; 3],
        angle: f64,
        mut f: impl FnMut(usize, usize),
    ) {
        let d_deg = angle.to_degrees();
        let lat_lo = lat - d_deg;
        let lat_hi = lat + d_deg;
        let r0 = self.row_of(lat_lo.max(-90.0));
        let r1 = self.row_of(lat_hi.min(90.0));
        if lat_lo > self.max_lat() || lat_hi < self.min_lat {
            return;
        }
        // Widest longitude extent of the circle, asin(sin d / cos lat), unless it holds a
        // pole; bounded from above without libm calls (they cost more than the scan saves):
        // sin d <= d, and asin x <= x / sqrt(1 - x^2) (tan t >= t), so
        // asin(sin d / cos lat) <= d / sqrt(cos^2 lat - d^2) when d < cos lat.
        let cos2_lat = q[0] * q[0] + q[1] * q[1];
        let d2 = angle * angle;
        let w = if lat_lo <= -90.0 || lat_hi >= 90.0 || d2 >= cos2_lat * 0.25 {
            180.0
        } else {
            (angle / (cos2_lat - d2).sqrt()).to_degrees() * (1.0 + 1e-12) + 1e-9
        };
        let mut run = |c0: usize, c1: usize| {
            for r in r0..=r1 {
                let a = self.start[r * self.cols + c0] as usize;
                let b = self.start[r * self.cols + c1] as usize;
                if a < b {
                    f(a, b);
                }
            }
        };
        if w >= 180.0 {
            return run(0, self.cols);
        }
        // Column runs of [lon - w, lon + w], split at the antimeridian.
        let (lo, hi) = (lon - w, lon + w);
        if lo < -180.0 {
            run(self.col_of(lo + 360.0), self.cols);
            run(0, self.col_of(hi) + 1);
        } else if hi > 180.0 {
            run(self.col_of(lo), self.cols);
            run(0, self.col_of(hi - 360.0) + 1);
        } else {
            run(self.col_of(lo), self.col_of(hi) + 1);
        }
    }

    /// The cell size in degrees.
    pub(crate) fn cell_deg(&self) -> f64 {
        self.cell_deg
    }

    fn max_lat(&self) -> f64 {
        self.min_lat + self.rows as f64 * self.cell_deg
    }

    fn row_of(&self, lat: f64) -> usize {
        (((lat - self.min_lat) / self.cell_deg) as usize).min(self.rows - 1)
    }

    fn col_of(&self, lon: f64) -> usize {
        (((lon + 180.0) / self.cell_deg) as usize).min(self.cols - 1)
    }
}
