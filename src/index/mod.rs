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

mod cache;
mod grid;
mod line;
mod point;
mod polygon;
mod sum;

pub use cache::{IndexCache, LazyEdges};
pub use line::LineIndex;
pub use point::PointIndex;
pub use polygon::{Coverage, PolygonIndex};
pub use sum::RadiusSum;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy;
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
    use crate::geodesy;
    use crate::layers::Polygon;
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
