//! Sums of a value over the points within a fixed great-circle radius, fast.
//!
//! Points are binned into a longitude/latitude grid whose cells are about half the
//! radius high. For a query, each grid row the circle touches splits into cells wholly inside
//! the circle — summed in O(1) from per-row prefix sums — and the cells on its rim, whose
//! points are tested one by one with the exact great-circle distance. The result is exactly
//! the sum over the points within the radius (inclusive), as a plain scan would give.
//!
//! ```
//! use standort::index::RadiusSum;
//! let s = RadiusSum::new(&[(10.4, 0.0), (10.9, 0.0)], &[300.0, 50.0], 100.0);
//! assert_eq!(s.sum(10.0, 0.0), 300.0); // 10.9E is 100.08 km away
//! ```

use crate::geodesy::{EARTH_RADIUS_KM, UnitVector, dot, km_to_chord, unit_vector, vector_km};

/// A fixed-radius sum index (see the module docs).
#[derive(Debug, Clone)]
pub struct RadiusSum {
    radius_km: f64,
    /// Cosine of the radius as a central angle, and chord thresholds for quick decisions.
    chord2_lo: f64,
    chord2_hi: f64,
    cell_deg: f64,
    min_lat: f64,
    rows: usize,
    cols: usize,
    /// Per cell: start offset into `points` (cells in row-major order), with a sentinel.
    start: Vec<u32>,
    /// Per row: prefix sums over its cells (`cols + 1` entries per row).
    prefix: Vec<f64>,
    points: Vec<(UnitVector, f64)>,
    total: f64,
}

impl RadiusSum {
    /// Index `points` (lon, lat in degrees) with their `values` for sums within `radius_km`.
    pub fn new(points: &[(f64, f64)], values: &[f64], radius_km: f64) -> Self {
        let radius_deg = (radius_km / EARTH_RADIUS_KM).to_degrees();
        // About 2 cells per radius (measured fastest: rim cells are scanned in memory order,
        // and fewer rows mean fewer acos), between 0.01 and 1 degree; rows only over the points'
        // latitudes, all longitudes (so circles across the antimeridian need no special grid).
        let mut cell_deg = (radius_deg / 2.0).clamp(0.01, 1.0);
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
            let r = (((lat - min_lat) / cell_deg).floor().max(0.0) as usize).min(rows - 1);
            let c = (((lon + 180.0) / cell_deg).floor().max(0.0) as usize).min(cols - 1);
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
        let pts: Vec<(UnitVector, f64)> = order
            .iter()
            .map(|&(_, i)| (unit_vector(points[i].0, points[i].1), values[i]))
            .collect();
        let mut prefix = vec![0.0; rows * (cols + 1)];
        for r in 0..rows {
            let base = r * (cols + 1);
            for c in 0..cols {
                let cell = r * cols + c;
                let sum: f64 = pts[start[cell] as usize..start[cell + 1] as usize]
                    .iter()
                    .map(|p| p.1)
                    .sum();
                prefix[base + c + 1] = prefix[base + c] + sum;
            }
        }
        let chord = km_to_chord(radius_km);
        RadiusSum {
            radius_km,
            chord2_lo: (chord * (1.0 - 1e-9)).powi(2),
            chord2_hi: (chord * (1.0 + 1e-9)).powi(2) + 1e-24,
            cell_deg,
            min_lat,
            rows,
            cols,
            start,
            prefix,
            total: values.iter().sum(),
            points: pts,
        }
    }

    fn row_sum(&self, r: usize, c0: usize, c1: usize) -> f64 {
        // Cells c0..c1 (exclusive) of row r.
        let base = r * (self.cols + 1);
        self.prefix[base + c1] - self.prefix[base + c0]
    }

    fn rim(&self, q: UnitVector, r: usize, c0: usize, c1: usize) -> f64 {
        let mut sum = 0.0;
        let a = self.start[r * self.cols + c0] as usize;
        let b = self.start[r * self.cols + c1] as usize;
        for (v, w) in &self.points[a..b] {
            let d2 = 2.0 - 2.0 * dot(q, *v);
            if d2 <= self.chord2_lo || (d2 <= self.chord2_hi && vector_km(q, *v) <= self.radius_km)
            {
                sum += w;
            }
        }
        sum
    }

    /// Sum of the values of the points within the radius of (lon, lat), inclusive.
    pub fn sum(&self, lon: f64, lat: f64) -> f64 {
        let d = self.radius_km / EARTH_RADIUS_KM; // radians
        if d >= std::f64::consts::PI {
            return self.total;
        }
        let phi0 = lat.to_radians();
        let lat_lo = lat - d.to_degrees();
        let lat_hi = lat + d.to_degrees();
        let q = unit_vector(lon, lat);
        if lat_lo <= -90.0 || lat_hi >= 90.0 {
            // The circle holds a pole: test every row it touches across all longitudes.
            let r0 = self.row_of(lat_lo.max(-90.0));
            let r1 = self.row_of(lat_hi.min(90.0));
            return (r0..=r1).map(|r| self.rim(q, r, 0, self.cols)).sum();
        }
        let cd = d.cos();
        let (sp0, cp0) = phi0.sin_cos();
        // Half-width in longitude of the circle at latitude phi (radians), or None if the
        // parallel misses the circle.
        let half = |phi: f64| -> Option<f64> {
            let (sp, cp) = phi.sin_cos();
            let denom = cp * cp0;
            if denom <= 1e-15 {
                return None;
            }
            let x = (cd - sp * sp0) / denom;
            if x > 1.0 {
                None
            } else {
                Some(x.max(-1.0).acos())
            }
        };
        // Latitude of the circle's widest point (where its extent in longitude peaks).
        let phi_m = (sp0 / cd).clamp(-1.0, 1.0).asin();
        let r0 = self.row_of(lat_lo);
        let r1 = self.row_of(lat_hi);
        let mut sum = 0.0;
        // Half-widths at the row boundaries, each computed once (shared by adjacent rows).
        let mut h_below = half((self.min_lat + r0 as f64 * self.cell_deg).to_radians());
        for r in r0..=r1 {
            let y0 = (self.min_lat + r as f64 * self.cell_deg).to_radians();
            let y1 = (self.min_lat + (r + 1) as f64 * self.cell_deg).to_radians();
            let (h0, h1) = (h_below, half(y1));
            h_below = h1;
            // Widest extent within the band: at an end, or at phi_m when it lies inside.
            let mut outer = h0.unwrap_or(0.0).max(h1.unwrap_or(0.0));
            if phi_m > y0 && phi_m < y1 {
                outer = outer.max(half(phi_m).unwrap_or(0.0));
            }
            if outer <= 0.0 {
                // The circle misses both edges of the band: it lies within it (or misses it).
                let band_lo = y0.to_degrees().max(lat_lo);
                let band_hi = y1.to_degrees().min(lat_hi);
                if band_lo > band_hi {
                    continue;
                }
                let widest = band_lo
                    .abs()
                    .max(band_hi.abs())
                    .min(89.9)
                    .to_radians()
                    .cos();
                outer = (d / widest).min(std::f64::consts::PI);
            }
            // Cells wholly inside: within the narrower end extent (the extent is unimodal in
            // latitude, so its minimum over the band is at an end).
            let inner = match (h0, h1) {
                (Some(a), Some(b)) => Some(a.min(b)),
                _ => None,
            };
            let outer_deg = outer.to_degrees() + 1e-9;
            sum += self.row_range(q, r, lon, outer_deg, inner.map(|x| x.to_degrees() - 1e-9));
        }
        sum
    }

    fn row_of(&self, lat: f64) -> usize {
        (((lat - self.min_lat) / self.cell_deg).floor().max(0.0) as usize).min(self.rows - 1)
    }

    /// Sum over row `r` for a circle centred at `lon` spanning `outer` degrees either side,
    /// of which `inner` degrees either side are wholly inside.
    fn row_range(&self, q: UnitVector, r: usize, lon: f64, outer: f64, inner: Option<f64>) -> f64 {
        if outer >= 180.0 {
            return self.rim(q, r, 0, self.cols);
        }
        let mut sum = 0.0;
        // Column span of [lon - outer, lon + outer], split at the antimeridian.
        let lo = lon - outer;
        let hi = lon + outer;
        let (spans, n_spans) = if lo < -180.0 {
            ([(lo + 360.0, 180.0), (-180.0, hi)], 2)
        } else if hi > 180.0 {
            ([(lo, 180.0), (-180.0, hi - 360.0)], 2)
        } else {
            ([(lo, hi), (0.0, 0.0)], 1)
        };
        // Inner span in columns (wholly inside cells), as absolute longitudes.
        let inner_span = inner.filter(|w| *w > 0.0).map(|w| (lon - w, lon + w));
        for &(a, b) in &spans[..n_spans] {
            let c0 = self.col_floor(a);
            let c1 = (self.col_floor(b) + 1).min(self.cols);
            // Wholly-inside columns: cells [x, x + cell] within the inner span (same frame).
            let (mut i0, mut i1) = (c1, c1);
            if let Some((ia, ib)) = inner_span {
                for shift in [-360.0, 0.0, 360.0] {
                    let (ia, ib) = (ia + shift, ib + shift);
                    let first = ((ia + 180.0) / self.cell_deg).ceil().max(0.0) as usize;
                    let last =
                        (((ib + 180.0) / self.cell_deg).floor().max(0.0) as usize).min(self.cols);
                    let (first, last) = (first.max(c0), last.min(c1));
                    if first < last {
                        i0 = first;
                        i1 = last;
                        break;
                    }
                }
            }
            if i0 < i1 {
                sum += self.rim(q, r, c0, i0);
                sum += self.row_sum(r, i0, i1);
                sum += self.rim(q, r, i1, c1);
            } else {
                sum += self.rim(q, r, c0, c1);
            }
        }
        sum
    }

    fn col_floor(&self, lon: f64) -> usize {
        (((lon + 180.0) / self.cell_deg).floor().max(0.0) as usize).min(self.cols - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    fn brute(points: &[(f64, f64)], values: &[f64], lon: f64, lat: f64, r: f64) -> f64 {
        points
            .iter()
            .zip(values)
            .filter(|(p, _)| crate::geodesy::great_circle_km(lon, lat, p.0, p.1) <= r)
            .map(|(_, v)| v)
            .sum()
    }

    #[test]
    fn matches_brute_force_everywhere() {
        let mut rng = StdRng::seed_from_u64(7);
        // Clustered points, some near the antimeridian and the poles.
        let mut points = vec![];
        for _ in 0..3000 {
            let (cx, cy): (f64, f64) = match rng.random_range(0..4) {
                0 => (179.5, 10.0),
                1 => (0.0, 88.5),
                2 => (-100.0, 40.0),
                _ => (
                    rng.random_range(-180.0..180.0),
                    rng.random_range(-80.0..80.0),
                ),
            };
            let lon = cx + rng.random_range(-3.0..3.0);
            let lon = if lon > 180.0 {
                lon - 360.0
            } else if lon < -180.0 {
                lon + 360.0
            } else {
                lon
            };
            points.push((
                lon,
                (cy + rng.random_range(-3.0f64..3.0)).clamp(-90.0, 90.0),
            ));
        }
        let values: Vec<f64> = (0..points.len()).map(|i| 1.0 + (i % 7) as f64).collect();
        for radius in [10.0, 100.0, 500.0] {
            let idx = RadiusSum::new(&points, &values, radius);
            for _ in 0..400 {
                let (lon, lat) = match rng.random_range(0..4) {
                    0 => (rng.random_range(178.0..180.0), rng.random_range(8.0..12.0)),
                    1 => (
                        rng.random_range(-180.0..180.0),
                        rng.random_range(86.0..90.0),
                    ),
                    2 => (
                        rng.random_range(-103.0..-97.0),
                        rng.random_range(37.0..43.0),
                    ),
                    _ => (
                        rng.random_range(-180.0..180.0),
                        rng.random_range(-90.0..90.0),
                    ),
                };
                let got = idx.sum(lon, lat);
                let want = brute(&points, &values, lon, lat, radius);
                assert!(
                    (got - want).abs() < 1e-6,
                    "r={radius} at ({lon}, {lat}): {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn boundary_is_inclusive_and_empty_is_zero() {
        let s = RadiusSum::new(
            &[(1.0, 0.0)],
            &[5.0],
            crate::geodesy::great_circle_km(0.0, 0.0, 1.0, 0.0),
        );
        assert_eq!(s.sum(0.0, 0.0), 5.0);
        assert_eq!(RadiusSum::new(&[], &[], 100.0).sum(0.0, 0.0), 0.0);
    }
}
