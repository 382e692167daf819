//! Polygons on the sphere: rings repaired on load so that containment can be tested in
//! longitude/latitude.
//!
//! Real boundary files hold rings that jump across ±180° (Fiji, Chukotka) and rings that go
//! around a pole (Antarctica). On load every ring is *unwrapped*: each longitude is shifted by
//! a multiple of 360° so that consecutive vertices are never more than 180° apart. A ring
//! that then ends 360° from where it started goes around a pole; it is closed through that
//! pole (the pole on the ring's side of the equator). The repaired polygon may extend past
//! ±180°; the polygon index tests a point at its longitude and at ±360° from it, which is the
//! same as cutting the polygon at the antimeridian.
//!
//! Containment uses the even-odd rule over all rings of a polygon: a point is inside when an
//! odd number of rings enclose it (or it lies on a ring). For ordinary polygons this is
//! "inside the exterior and outside the holes"; it also gives the right answer for files made
//! for spherical rendering, such as world-atlas's Antarctica: a tiny ring around the South
//! Pole as exterior and the coastline as a "hole" — the land is the band between them.

use geo::coordinate_position::{CoordPos, CoordinatePosition};
use geo::{Area, Coord, LineString};

/// A repaired polygon of a polygon layer and the attribute row it belongs to.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Polygon {
    /// The rings (exterior first), each closed, in unwrapped longitude/latitude (longitudes
    /// may pass ±180°).
    pub rings: Vec<geo::Polygon<f64>>,
    /// Attribute row of the feature.
    pub row: usize,
    /// Bounding box `[min_lon, min_lat, max_lon, max_lat]` of all rings.
    pub bbox: [f64; 4],
}

impl Polygon {
    /// Where (x, y) — unwrapped longitude, latitude — lies: on a ring, or inside by the
    /// even-odd rule.
    pub fn position(&self, x: f64, y: f64) -> CoordPos {
        let c = Coord { x, y };
        let mut inside = false;
        for r in &self.rings {
            match r.coordinate_position(&c) {
                CoordPos::OnBoundary => return CoordPos::OnBoundary,
                CoordPos::Inside => inside = !inside,
                CoordPos::Outside => {}
            }
        }
        if inside {
            CoordPos::Inside
        } else {
            CoordPos::Outside
        }
    }

    /// Planar area in square degrees (even-odd: exterior minus holes, in absolute value).
    pub fn area_deg2(&self) -> f64 {
        let mut a: Vec<f64> = self.rings.iter().map(|r| r.unsigned_area()).collect();
        let first = if a.is_empty() { 0.0 } else { a.remove(0) };
        (first - a.iter().sum::<f64>()).abs()
    }
}

/// Unwrap a ring's longitudes; returns the ring and whether it goes around a pole.
fn unwrap_ring(ring: &[[f64; 2]]) -> (Vec<[f64; 2]>, f64) {
    let mut out: Vec<[f64; 2]> = Vec::with_capacity(ring.len() + 3);
    let mut offset = 0.0;
    for &[lon, lat] in ring {
        let mut x = lon + offset;
        if let Some(&[prev, _]) = out.last() {
            // Whole turns to bring the step within ±180° (one division, not a loop: a loop
            // never ends on a huge coordinate, where subtracting 360 changes nothing).
            let step = x - prev;
            let turns = if step > 180.0 {
                ((step - 180.0) / 360.0).ceil()
            } else if step < -180.0 {
                -((-180.0 - step) / 360.0).ceil()
            } else {
                0.0
            };
            if turns != 0.0 && turns.is_finite() {
                x -= turns * 360.0;
                offset -= turns * 360.0;
            }
        }
        out.push([x, lat]);
    }
    let net = match (out.first(), out.last()) {
        (Some(a), Some(b)) => b[0] - a[0],
        _ => 0.0,
    };
    (out, net)
}

fn repair_ring(ring: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let (mut out, net) = unwrap_ring(ring);
    if net.abs() > 180.0 && out.len() >= 2 {
        // Around a pole: close the ring through the pole on its side of the equator.
        let mean_lat = out.iter().map(|p| p[1]).sum::<f64>() / out.len() as f64;
        let pole = if mean_lat < 0.0 { -90.0 } else { 90.0 };
        let first = out[0];
        let last = *out.last().unwrap_or(&first);
        out.push([last[0], pole]);
        out.push([first[0], pole]);
        out.push(first);
    }
    out
}

fn bbox(points: &[[f64; 2]]) -> [f64; 4] {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for p in points {
        b[0] = b[0].min(p[0]);
        b[1] = b[1].min(p[1]);
        b[2] = b[2].max(p[0]);
        b[3] = b[3].max(p[1]);
    }
    b
}

fn line_string(points: Vec<[f64; 2]>) -> LineString<f64> {
    LineString::new(points.into_iter().map(|[x, y]| Coord { x, y }).collect())
}

/// Repair the rings of one GeoJSON polygon (exterior first, then holes) for containment
/// tests in longitude/latitude. Returns `None` for a polygon with fewer than three vertices.
///
/// ```
/// use standort::layers::repair_polygon;
/// // A square across the antimeridian, written with a jump from 179 to -179.
/// let ring = vec![[179.0, -1.0], [-179.0, -1.0], [-179.0, 1.0], [179.0, 1.0], [179.0, -1.0]];
/// let p = repair_polygon(&[ring], 0).unwrap();
/// assert_eq!(p.bbox, [179.0, -1.0, 181.0, 1.0]);
/// ```
pub fn repair_polygon<R: AsRef<[[f64; 2]]>>(rings_src: &[R], row: usize) -> Option<Polygon> {
    let exterior = rings_src.first()?.as_ref();
    if exterior.len() < 3 {
        return None;
    }
    let ext = repair_ring(exterior);
    let ext_box = bbox(&ext);
    let ext_mid = (ext_box[0] + ext_box[2]) / 2.0;
    let mut all_box = ext_box;
    let mut rings = vec![geo::Polygon::new(line_string(ext), vec![])];
    for r in rings_src[1..]
        .iter()
        .map(|r| r.as_ref())
        .filter(|r| r.len() >= 3)
    {
        let mut hole = repair_ring(r);
        // Put the hole in the exterior's longitude frame.
        let hb = bbox(&hole);
        let shift = (((ext_mid - (hb[0] + hb[2]) / 2.0) / 360.0).round()) * 360.0;
        if shift != 0.0 {
            for p in hole.iter_mut() {
                p[0] += shift;
            }
        }
        let hb = bbox(&hole);
        all_box = [
            all_box[0].min(hb[0]),
            all_box[1].min(hb[1]),
            all_box[2].max(hb[2]),
            all_box[3].max(hb[3]),
        ];
        rings.push(geo::Polygon::new(line_string(hole), vec![]));
    }
    Some(Polygon {
        rings,
        row,
        bbox: all_box,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(p: &Polygon, lon: f64, lat: f64) -> bool {
        [-360.0, 0.0, 360.0]
            .iter()
            .any(|s| p.position(lon - s, lat) != CoordPos::Outside)
    }

    /// The unwrapping as first written, step by step (the reference for the one below).
    fn unwrap_by_steps(ring: &[[f64; 2]]) -> Vec<[f64; 2]> {
        let mut out: Vec<[f64; 2]> = Vec::new();
        let mut offset = 0.0;
        for &[lon, lat] in ring {
            let mut x = lon + offset;
            if let Some(&[prev, _]) = out.last() {
                while x - prev > 180.0 {
                    x -= 360.0;
                    offset -= 360.0;
                }
                while x - prev < -180.0 {
                    x += 360.0;
                    offset += 360.0;
                }
            }
            out.push([x, lat]);
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn unwrap_equals_the_stepwise_version(
            ring in proptest::collection::vec((-180.0f64..=180.0, -90.0f64..=90.0), 0..40)
        ) {
            let ring: Vec<[f64; 2]> = ring.into_iter().map(|(x, y)| [x, y]).collect();
            proptest::prop_assert_eq!(unwrap_ring(&ring).0, unwrap_by_steps(&ring));
        }
    }

    #[test]
    fn huge_longitudes_end() {
        // Found by the OGR fuzz: the stepwise loop never ended on 1e308.
        let ring = vec![[0.0, 0.0], [1e308, 0.0], [-1e308, 1.0], [0.0, 0.0]];
        let (out, _) = unwrap_ring(&ring);
        assert_eq!(out.len(), 4);
        assert!(repair_polygon(&[ring], 0).is_some());
    }

    #[test]
    fn exact_half_turns_stay() {
        let ring = [[-90.0, 0.0], [90.0, 0.0], [-90.0, 1.0]];
        assert_eq!(unwrap_ring(&ring).0, ring.to_vec());
    }

    #[test]
    fn antimeridian_square() {
        let ring = vec![
            [179.0, -1.0],
            [-179.0, -1.0],
            [-179.0, 1.0],
            [179.0, 1.0],
            [179.0, -1.0],
        ];
        let p = repair_polygon(&[ring], 0).unwrap();
        assert!(inside(&p, -179.9, 0.0));
        assert!(inside(&p, 179.9, 0.0));
        assert!(inside(&p, 180.0, 0.0));
        assert!(!inside(&p, 0.0, 0.0));
        assert!(!inside(&p, -178.0, 0.0));
    }

    #[test]
    fn north_polar_cap() {
        // A ring along 80N all the way round, written as a plain lon/lat ring.
        let ring: Vec<[f64; 2]> = (0..=8)
            .map(|i| [-180.0 + 45.0 * f64::from(i), 80.0])
            .collect();
        // Make the last vertex equal the first as GeoJSON requires (180 == -180).
        let p = repair_polygon(&[ring], 0).unwrap();
        assert!(inside(&p, 45.0, 85.0));
        assert!(inside(&p, -135.0, 89.9));
        assert!(inside(&p, 0.0, 90.0));
        assert!(!inside(&p, 0.0, 70.0));
        assert!(!inside(&p, 10.0, -85.0));
    }

    #[test]
    fn south_polar_cap_with_jumps() {
        // Around the south pole at -70, crossing the antimeridian mid-ring.
        let ring = vec![[0.0, -70.0], [120.0, -70.0], [-120.0, -70.0], [0.0, -70.0]];
        let p = repair_polygon(&[ring], 0).unwrap();
        assert!(inside(&p, 179.0, -80.0));
        assert!(inside(&p, -60.0, -89.0));
        assert!(!inside(&p, 0.0, -60.0));
    }

    #[test]
    fn hole_across_antimeridian_is_put_in_frame() {
        let ext = vec![
            [170.0, -10.0],
            [-170.0, -10.0],
            [-170.0, 10.0],
            [170.0, 10.0],
            [170.0, -10.0],
        ];
        let hole = vec![
            [-179.0, -1.0],
            [179.0, -1.0],
            [179.0, 1.0],
            [-179.0, 1.0],
            [-179.0, -1.0],
        ];
        let p = repair_polygon(&[ext, hole], 0).unwrap();
        assert!(!inside(&p, 180.0, 0.0));
        assert!(!inside(&p, -179.5, 0.0));
        assert!(inside(&p, -175.0, 0.0));
        assert!(inside(&p, 175.0, 5.0));
    }

    #[test]
    fn band_between_two_polar_rings() {
        // Like world-atlas's Antarctica: exterior a tiny ring around the South Pole, the
        // coastline (here at -70) stored as a hole. The land is the band between them.
        let tiny: Vec<[f64; 2]> = (0..=8)
            .map(|i| [-180.0 + 45.0 * f64::from(i), -89.999])
            .collect();
        let coast: Vec<[f64; 2]> = (0..=8)
            .map(|i| [180.0 - 45.0 * f64::from(i), -70.0])
            .collect();
        let p = repair_polygon(&[tiny, coast], 0).unwrap();
        assert!(inside(&p, 0.0, -85.0));
        assert!(inside(&p, 179.9, -75.0));
        assert!(inside(&p, -120.0, -89.0));
        assert!(!inside(&p, 0.0, -65.0));
        assert!(!inside(&p, 0.0, 10.0));
        assert_eq!(p.bbox[1], -90.0);
        assert_eq!(p.bbox[3], -70.0);
        assert!(
            (p.area_deg2() - 360.0 * 20.0).abs() < 1.0,
            "{}",
            p.area_deg2()
        );
    }

    #[test]
    fn degenerate_polygons_are_dropped() {
        assert!(repair_polygon(&[vec![[0.0, 0.0], [1.0, 1.0]]], 0).is_none());
        assert!(repair_polygon::<Vec<[f64; 2]>>(&[], 0).is_none());
    }
}
