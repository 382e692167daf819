//! Geodesy on the sphere: unit vectors, great-circle distances in km, chord conversions.
//!
//! All distances are great-circle distances on a sphere of radius [`EARTH_RADIUS_KM`]
//! (the IUGG mean Earth radius). Nearest-neighbour queries run on 3D unit vectors: the
//! chord between two unit vectors grows monotonically with their great-circle distance, so
//! the nearest point by chord is the nearest point on Earth — across the antimeridian and
//! over the poles, with no projection.
//!
//! ```
//! use standort::geodesy::{great_circle_km, EARTH_RADIUS_KM};
//! // One degree of longitude on the equator.
//! let d = great_circle_km(10.0, 0.0, 11.0, 0.0);
//! assert!((d - EARTH_RADIUS_KM.to_radians()).abs() < 1e-9);
//! // Across the antimeridian: 0.2 degrees, not 359.8.
//! assert!((great_circle_km(179.9, 0.0, -179.9, 0.0) - 0.2 * EARTH_RADIUS_KM.to_radians()).abs() < 1e-6);
//! ```

/// Mean Earth radius in km (IUGG R1 = 6371.0088 km).
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A point on the unit sphere as (x, y, z).
pub type UnitVector = [f64; 3];

/// The unit vector of a longitude/latitude in degrees.
#[inline]
pub fn unit_vector(lon_deg: f64, lat_deg: f64) -> UnitVector {
    let (slon, clon) = lon_deg.to_radians().sin_cos();
    let (slat, clat) = lat_deg.to_radians().sin_cos();
    [clat * clon, clat * slon, slat]
}

/// Longitude and latitude in degrees of a (not necessarily normalised) vector.
pub fn lon_lat(v: UnitVector) -> (f64, f64) {
    let lon = v[1].atan2(v[0]).to_degrees();
    let lat = v[2].atan2((v[0] * v[0] + v[1] * v[1]).sqrt()).to_degrees();
    (lon, lat)
}

#[inline]
pub(crate) fn dot(a: UnitVector, b: UnitVector) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline]
pub(crate) fn cross(a: UnitVector, b: UnitVector) -> UnitVector {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[inline]
pub(crate) fn norm(a: UnitVector) -> f64 {
    dot(a, a).sqrt()
}

/// Central angle in radians between two unit vectors (accurate at all distances).
#[inline]
pub fn central_angle(a: UnitVector, b: UnitVector) -> f64 {
    norm(cross(a, b)).atan2(dot(a, b))
}

/// Great-circle distance in km between two unit vectors.
#[inline]
pub fn vector_km(a: UnitVector, b: UnitVector) -> f64 {
    central_angle(a, b) * EARTH_RADIUS_KM
}

/// Great-circle distance in km between two longitude/latitude points in degrees.
#[inline]
pub fn great_circle_km(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    vector_km(unit_vector(lon1, lat1), unit_vector(lon2, lat2))
}

/// The chord length (on the unit sphere) of a great-circle distance in km.
///
/// Distances beyond half the circumference map to the diameter, 2.
#[inline]
pub fn km_to_chord(km: f64) -> f64 {
    let angle = (km / EARTH_RADIUS_KM).clamp(0.0, std::f64::consts::PI);
    2.0 * (angle / 2.0).sin()
}

/// The great-circle distance in km of a chord length on the unit sphere.
#[inline]
pub fn chord_to_km(chord: f64) -> f64 {
    2.0 * (chord / 2.0).clamp(0.0, 1.0).asin() * EARTH_RADIUS_KM
}

/// Great-circle distance in km from `p` to the shorter great-circle arc from `a` to `b`.
///
/// If the perpendicular foot of `p` on the great circle through `a` and `b` lies on the
/// arc, the distance is the cross-track distance; otherwise it is the distance to the nearer
/// end point.
pub fn arc_distance_km(p: UnitVector, a: UnitVector, b: UnitVector) -> f64 {
    let n = cross(a, b);
    let nn = norm(n);
    if nn < 1e-15 {
        // Degenerate (a == b) or antipodal segment: the end points decide.
        return vector_km(p, a).min(vector_km(p, b));
    }
    let n = [n[0] / nn, n[1] / nn, n[2] / nn];
    // Is the projection of p onto the great circle between a and b?
    let inside = dot(cross(a, p), n) >= 0.0 && dot(cross(p, b), n) >= 0.0;
    if inside {
        let s = dot(p, n).clamp(-1.0, 1.0);
        // Angle between p and its foot on the circle: asin(|p.n|), accurate via atan2.
        let c = (1.0 - s * s).max(0.0).sqrt();
        s.abs().atan2(c) * EARTH_RADIUS_KM
    } else {
        vector_km(p, a).min(vector_km(p, b))
    }
}

/// The largest distance (on the unit sphere, as a chord) between a great-circle arc and
/// the straight 3D segment joining its end points: the arc lies within this distance of
/// the segment.
pub(crate) fn arc_sagitta(a: UnitVector, b: UnitVector) -> f64 {
    let half = central_angle(a, b) / 2.0;
    1.0 - half.cos()
}

/// Area in km² of a longitude/latitude cell on the sphere.
///
/// ```
/// use standort::geodesy::cell_area_km2;
/// // The whole sphere.
/// let a = cell_area_km2(-180.0, -90.0, 180.0, 90.0);
/// let r = standort::geodesy::EARTH_RADIUS_KM;
/// assert!((a - 4.0 * std::f64::consts::PI * r * r).abs() < 1e-3);
/// ```
pub fn cell_area_km2(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> f64 {
    let r = EARTH_RADIUS_KM;
    (max_lon - min_lon).to_radians()
        * (max_lat.to_radians().sin() - min_lat.to_radians().sin())
        * r
        * r
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Independent haversine formula (not the vector form used above).
    fn haversine_km(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
        let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
        let dp = p2 - p1;
        let dl = (lon2 - lon1).to_radians();
        let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
    }

    #[test]
    fn equator_degree() {
        let km_per_deg = EARTH_RADIUS_KM * std::f64::consts::PI / 180.0;
        assert!((great_circle_km(0.0, 0.0, 1.0, 0.0) - km_per_deg).abs() < 1e-9);
        assert!((km_per_deg - 111.195_08).abs() < 1e-5);
    }

    #[test]
    fn across_antimeridian_and_pole() {
        let km_per_deg = EARTH_RADIUS_KM.to_radians();
        assert!((great_circle_km(179.9, 0.0, -179.9, 0.0) - 0.2 * km_per_deg).abs() < 1e-6);
        // Over the pole: (45, 85) to (-135, 85) is 10 degrees of arc.
        assert!((great_circle_km(45.0, 85.0, -135.0, 85.0) - 10.0 * km_per_deg).abs() < 1e-6);
        // Poles: any longitude is the same point.
        assert!(great_circle_km(0.0, 90.0, 123.0, 90.0) < 1e-9);
    }

    #[test]
    fn chord_round_trip() {
        for km in [0.0, 0.001, 1.0, 100.0, 5000.0, 20000.0] {
            assert!((chord_to_km(km_to_chord(km)) - km).abs() < 1e-6, "{km}");
        }
        // Half the circumference is the diameter.
        let half = std::f64::consts::PI * EARTH_RADIUS_KM;
        assert!((km_to_chord(half) - 2.0).abs() < 1e-12);
        assert!((km_to_chord(2.0 * half) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn arc_distance_to_meridian() {
        let km_per_deg = EARTH_RADIUS_KM.to_radians();
        let a = unit_vector(10.2, -5.0);
        let b = unit_vector(10.2, 5.0);
        let d = arc_distance_km(unit_vector(10.0, 0.0), a, b);
        assert!((d - 0.2 * km_per_deg).abs() < 1e-6, "{d}");
        // Beyond the end: distance to the end point.
        let d = arc_distance_km(unit_vector(10.2, 7.0), a, b);
        assert!((d - 2.0 * km_per_deg).abs() < 1e-6, "{d}");
        // On the arc.
        assert!(arc_distance_km(unit_vector(10.2, 1.0), a, b) < 1e-6);
        // A meridian at the antimeridian, written as -180.
        let d = arc_distance_km(
            unit_vector(179.9, 0.0),
            unit_vector(-180.0, -2.0),
            unit_vector(-180.0, 2.0),
        );
        assert!((d - 0.1 * km_per_deg).abs() < 1e-6, "{d}");
    }

    #[test]
    fn sagitta_bounds_arc() {
        let a = unit_vector(0.0, 0.0);
        let b = unit_vector(90.0, 0.0);
        let mid = unit_vector(45.0, 0.0);
        // Midpoint of chord is at distance cos(45deg) from origin; arc midpoint at 1.
        let chord_mid = [
            (a[0] + b[0]) / 2.0,
            (a[1] + b[1]) / 2.0,
            (a[2] + b[2]) / 2.0,
        ];
        let gap = norm([
            mid[0] - chord_mid[0],
            mid[1] - chord_mid[1],
            mid[2] - chord_mid[2],
        ]);
        assert!((arc_sagitta(a, b) - gap).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn agrees_with_haversine_within_a_metre(
            lon1 in -180.0f64..=180.0, lat1 in -90.0f64..=90.0,
            lon2 in -180.0f64..=180.0, lat2 in -90.0f64..=90.0,
        ) {
            let d = great_circle_km(lon1, lat1, lon2, lat2);
            let h = haversine_km(lon1, lat1, lon2, lat2);
            prop_assert!((d - h).abs() < 1e-3, "{} vs {}", d, h);
        }

        #[test]
        fn chord_order_is_distance_order(
            lon in -180.0f64..=180.0, lat in -90.0f64..=90.0,
            lon1 in -180.0f64..=180.0, lat1 in -90.0f64..=90.0,
            lon2 in -180.0f64..=180.0, lat2 in -90.0f64..=90.0,
        ) {
            let p = unit_vector(lon, lat);
            let (a, b) = (unit_vector(lon1, lat1), unit_vector(lon2, lat2));
            let chord = |q: UnitVector| norm([p[0]-q[0], p[1]-q[1], p[2]-q[2]]);
            let (da, db) = (vector_km(p, a), vector_km(p, b));
            if (da - db).abs() > 1e-6 {
                prop_assert_eq!(chord(a) < chord(b), da < db);
            }
        }
    }
}
