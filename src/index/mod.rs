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

use crate::geodesy::{
    self, UnitVector, arc_distance_km, arc_sagitta, km_to_chord, unit_vector, vector_km,
};
use crate::layers::Polygon;
use geo::coordinate_position::CoordPos;
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
#[derive(Debug, Clone)]
pub struct PointIndex {
    tree: RTree<PointEntry>,
}

impl PointIndex {
    /// Index points given as (lon, lat) in degrees; queries return positions in this slice.
    pub fn new(points: &[(f64, f64)]) -> Self {
        let entries = points
            .iter()
            .enumerate()
            .map(|(i, &(lon, lat))| PointEntry {
                v: unit_vector(lon, lat),
                item: i as u32,
            })
            .collect();
        PointIndex {
            tree: RTree::bulk_load(entries),
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
    bbox: [f64; 4],
    shift: f64,
    polygon: u32,
}

impl RTreeObject for PolygonEntry {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(
            [self.bbox[0] + self.shift, self.bbox[1]],
            [self.bbox[2] + self.shift, self.bbox[3]],
        )
    }
}

/// Point-in-polygon queries over repaired polygons (see [`crate::layers::Polygon`]).
#[derive(Debug, Clone)]
pub struct PolygonIndex {
    tree: RTree<PolygonEntry>,
    polygons: Vec<Polygon>,
}

impl PolygonIndex {
    /// Index polygons. Polygons that pass ±180° are indexed again shifted by ∓360°.
    pub fn new(polygons: Vec<Polygon>) -> Self {
        let mut entries = Vec::with_capacity(polygons.len());
        for (i, p) in polygons.iter().enumerate() {
            for shift in [-360.0, 0.0, 360.0] {
                if p.bbox[0] + shift <= 180.0 && p.bbox[2] + shift >= -180.0 {
                    entries.push(PolygonEntry {
                        bbox: p.bbox,
                        shift,
                        polygon: i as u32,
                    });
                }
            }
        }
        PolygonIndex {
            tree: RTree::bulk_load(entries),
            polygons,
        }
    }

    /// True when there is no polygon.
    pub fn is_empty(&self) -> bool {
        self.polygons.is_empty()
    }

    /// The attribute row of the first polygon (in layer order) that contains (lon, lat) or
    /// has it on its boundary.
    pub fn containing(&self, lon: f64, lat: f64) -> Option<usize> {
        let mut best: Option<u32> = None;
        for e in self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point([lon, lat]))
        {
            if best.is_some_and(|b| b <= e.polygon) {
                continue;
            }
            let poly = &self.polygons[e.polygon as usize];
            let pos = poly.position(lon - e.shift, lat);
            if pos != CoordPos::Outside {
                best = Some(e.polygon);
            }
        }
        best.map(|b| self.polygons[b as usize].row)
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
        assert!(PolygonIndex::new(vec![]).containing(0.0, 0.0).is_none());
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
        let idx = PolygonIndex::new(vec![sq(9.0, 12.0, 0), sq(12.0, 14.0, 1)]);
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
        let idx = PolygonIndex::new(vec![repair_polygon(&[ring], 7).unwrap()]);
        assert_eq!(idx.containing(-179.9, 0.0), Some(7));
        assert_eq!(idx.containing(179.5, 0.5), Some(7));
        assert_eq!(idx.containing(-180.0, 0.0), Some(7));
        assert_eq!(idx.containing(178.9, 0.0), None);
    }
}
