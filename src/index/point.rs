//! Nearest-neighbour and radius queries over points on the sphere.

use super::grid;
use crate::geodesy::{UnitVector, chord_to_km, km_to_chord, unit_vector, vector_km};
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
