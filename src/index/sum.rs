//! Sums of a value over the points within a fixed great-circle radius, fast.
//!
//! Points are binned into a longitude/latitude grid whose cells are a quarter of the radius
//! high, stored cell by cell as columns of unit-vector coordinates and values. A query scans,
//! row by row, the contiguous run of cells under the circle's bounding box on the sphere (its
//! latitude span and its exact widest longitude extent), with a branch-free chord test the
//! compiler vectorises; points within a hair of the radius are decided by the exact
//! great-circle distance. The result is exactly the sum over the points within the radius
//! (inclusive), as a plain scan would give.
//!
//! ```
//! use standort::index::RadiusSum;
//! let s = RadiusSum::new(&[(10.4, 0.0), (10.9, 0.0)], &[300.0, 50.0], 100.0);
//! assert_eq!(s.sum(10.0, 0.0), 300.0); // 10.9E is 100.08 km away
//! ```

use super::grid::PointGrid;
use crate::geodesy::{EARTH_RADIUS_KM, UnitVector, km_to_chord, vector_km};

/// Grid cells per radius, in latitude (measured fastest on clustered grid points).
const CELLS_PER_RADIUS: f64 = 4.0;

/// A fixed-radius sum index (see the module docs).
#[derive(Debug, Clone)]
pub struct RadiusSum {
    radius_km: f64,
    /// The radius as a central angle in radians.
    angle: f64,
    /// Chord thresholds for quick decisions: surely inside at or below `lo`, unsure up to `hi`.
    chord2_lo: f64,
    chord2_hi: f64,
    grid: PointGrid,
    total: f64,
}

impl RadiusSum {
    /// Index `points` (lon, lat in degrees) with their `values` for sums within `radius_km`.
    pub fn new(points: &[(f64, f64)], values: &[f64], radius_km: f64) -> Self {
        let radius_deg = (radius_km / EARTH_RADIUS_KM).to_degrees();
        let grid = PointGrid::new(points, values, radius_deg / CELLS_PER_RADIUS);
        let chord = km_to_chord(radius_km);
        RadiusSum {
            radius_km,
            angle: (radius_km / EARTH_RADIUS_KM).min(std::f64::consts::PI),
            chord2_lo: (chord * (1.0 - 1e-9)).powi(2),
            chord2_hi: (chord * (1.0 + 1e-9)).powi(2) + 1e-24,
            grid,
            total: values.iter().sum(),
        }
    }

    /// Add the values of the grid's points `a..b` that are surely within the radius into
    /// `acc` (four lanes: a branch-free chord test the compiler vectorises), and flag in
    /// `unsure` any point within a hair of the radius.
    fn scan(&self, q: UnitVector, a: usize, b: usize, acc: &mut [f64; 4], unsure: &mut [u64; 4]) {
        let g = &self.grid;
        let (xs, ys, zs, ws) = (&g.xs[a..b], &g.ys[a..b], &g.zs[a..b], &g.ws[a..b]);
        // Inside for sure: chord^2 <= lo, i.e. dot >= dot_lo; unsure within (lo, hi].
        let (dot_lo, dot_hi) = self.dots();
        let (q0, q1, q2) = (q[0], q[1], q[2]);
        let lane = |x: f64, y: f64, z: f64, w: f64, acc: &mut f64, unsure: &mut u64| {
            let d = q0 * x + q1 * y + q2 * z;
            let inside = ((d >= dot_lo) as u64).wrapping_neg();
            *acc += f64::from_bits(w.to_bits() & inside);
            *unsure |= ((d >= dot_hi) as u64) & !inside;
        };
        let lanes = xs
            .chunks_exact(4)
            .zip(ys.chunks_exact(4))
            .zip(zs.chunks_exact(4).zip(ws.chunks_exact(4)));
        for ((x, y), (z, w)) in lanes {
            for l in 0..4 {
                lane(x[l], y[l], z[l], w[l], &mut acc[l], &mut unsure[l]);
            }
        }
        for k in xs.len() / 4 * 4..xs.len() {
            lane(xs[k], ys[k], zs[k], ws[k], &mut acc[0], &mut unsure[0]);
        }
    }

    /// The dot products of unit vectors at which a point is surely inside (at or above the
    /// first) and within a hair of the radius (between the two).
    fn dots(&self) -> (f64, f64) {
        (1.0 - self.chord2_lo / 2.0, 1.0 - self.chord2_hi / 2.0)
    }

    /// The values of the points `a..b` within a hair of the radius that are within it by
    /// the exact great-circle distance.
    fn borderline(&self, q: UnitVector, a: usize, b: usize) -> f64 {
        let g = &self.grid;
        let (dot_lo, dot_hi) = self.dots();
        (a..b)
            .filter(|&k| {
                let p = [g.xs[k], g.ys[k], g.zs[k]];
                let d = q[0] * p[0] + q[1] * p[1] + q[2] * p[2];
                d < dot_lo && d >= dot_hi && vector_km(q, p) <= self.radius_km
            })
            .map(|k| g.ws[k])
            .sum()
    }

    /// Sum of the values of the points within the radius of (lon, lat), inclusive.
    pub fn sum(&self, lon: f64, lat: f64) -> f64 {
        self.sum_from(lon, lat, crate::geodesy::unit_vector(lon, lat))
    }

    /// [`Self::sum`] with the query's unit vector `q` already computed.
    pub(crate) fn sum_from(&self, lon: f64, lat: f64, q: UnitVector) -> f64 {
        if self.angle >= std::f64::consts::PI {
            return self.total;
        }
        // One set of lanes for all the runs under the circle; borderline points (rare) are
        // decided exactly in a second pass.
        let mut acc = [0.0f64; 4];
        let mut unsure = [0u64; 4];
        self.grid.runs(lon, lat, q, self.angle, |a, b| {
            self.scan(q, a, b, &mut acc, &mut unsure)
        });
        if (unsure[0] | unsure[1]) | (unsure[2] | unsure[3]) != 0 {
            let mut extra = 0.0;
            self.grid.runs(lon, lat, q, self.angle, |a, b| {
                extra += self.borderline(q, a, b)
            });
            acc[0] += extra;
        }
        (acc[0] + acc[1]) + (acc[2] + acc[3])
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
