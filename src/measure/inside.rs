//! `inside`: 1 when a (matching) polygon of the layer(s) contains the site, or has an edge
//! within `within_km` of it; else 0.
//!
//! - Reads: one or more `polygons` layers (inside any of them counts).
//! - Parameters: `where` (optional filter); `within_km` (default 0): a tolerance for
//!   generalised outlines. A coastal data center a few hundred metres outside a 1:10m
//!   coastline (Hammerfest, lower Manhattan at 1:50m) is on land with `within_km = 2`.
//!   Distances are great-circle km to the polygon's edges, each edge taken as the
//!   great-circle arc between its vertices.
//! - Raw value: 1 or 0 (no unit); a point on an edge is inside.
//! - UNKNOWN: never.
//!
//! ```toml
//! measure = { inside = { within_km = 2.0 } }
//! ```

use super::{Input, Kind, Position, Probe, Raw, Why, check_filter, kind_error, params, select};
use crate::index::{LazyEdges, PolygonIndex};
use crate::layers::Geometry;
use serde::Deserialize;
use std::sync::Arc;

/// `inside` parameters.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inside {
    /// Only polygons matching this filter.
    #[serde(default, rename = "where")]
    pub filter: Option<String>,
    /// Tolerance: a site this close to a polygon's edge (great-circle km) counts as inside.
    #[serde(default)]
    pub within_km: f64,
}

/// A tolerance above this is no longer "on the outline" (and the edge index would answer
/// for half the sea).
const MAX_WITHIN_KM: f64 = 100.0;

pub(super) fn parse(value: toml::Value) -> Result<Box<dyn Kind>, String> {
    Ok(Box::new(params::<Inside>("inside", value)?))
}

/// Check a tolerance in km (of `measure`).
pub(super) fn check_within_km(measure: &str, km: f64) -> Result<(), String> {
    if km.is_finite() && (0.0..=MAX_WITHIN_KM).contains(&km) {
        Ok(())
    } else {
        Err(format!(
            "{measure}: within_km {km} must be between 0 and {MAX_WITHIN_KM}"
        ))
    }
}

impl Kind for Inside {
    fn name(&self) -> &'static str {
        "inside"
    }
    fn reads_several_layers(&self) -> bool {
        true
    }
    fn check(&self) -> Result<(), String> {
        check_within_km("inside", self.within_km)?;
        check_filter(&self.filter)
    }
    fn bind(&self, input: &Input<'_>) -> Result<Box<dyn Probe>, String> {
        let mut indexes = Vec::new();
        let mut near = Vec::new();
        for layer in input.layers {
            let Geometry::Polygons(polys) = &layer.geometry else {
                return Err(kind_error(self.name(), layer, "polygons"));
            };
            let keep = select(layer, &self.filter)?;
            let kept: Vec<_> = polys.iter().filter(|p| keep[p.row]).cloned().collect();
            let filter = self.filter.as_deref();
            indexes.push(
                input
                    .indexes
                    .polygons(&layer.path, filter, || PolygonIndex::new(&kept)),
            );
            if self.within_km > 0.0 {
                near.push(input.indexes.edges(&layer.path, filter, || kept.clone()));
            }
        }
        Ok(Box::new(InsideAny {
            indexes,
            near,
            km: self.within_km,
        }))
    }
}

struct InsideAny {
    indexes: Vec<Arc<PolygonIndex>>,
    /// The polygons' edges, per layer, when there is a tolerance.
    near: Vec<Arc<LazyEdges>>,
    /// The tolerance.
    km: f64,
}

impl Probe for InsideAny {
    fn measure<'a>(&'a self, at: &Position) -> Result<(Raw<'a>, Option<u16>), Why> {
        let inside = self
            .indexes
            .iter()
            .any(|idx| idx.containing(at.lon, at.lat).is_some())
            || self.near.iter().any(|edges| {
                edges
                    .nearest(at.lon, at.lat)
                    .is_some_and(|(_, d_km)| d_km <= self.km)
            });
        Ok((Raw::Num(if inside { 1.0 } else { 0.0 }), None))
    }
    fn always_known(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy::great_circle_km;
    use crate::layers::{Attributes, Layer, LayerSpec, repair_polygon};
    use std::sync::Arc;

    /// A polygon layer of one feature per ring list.
    fn layer(features: &[Vec<[f64; 2]>]) -> Arc<Layer> {
        let spec: LayerSpec =
            toml::from_str("name = \"land\"\npath = \"land.geojson\"\nkind = \"polygons\"")
                .unwrap();
        let polys = features
            .iter()
            .enumerate()
            .filter_map(|(row, ring)| repair_polygon(std::slice::from_ref(ring), row))
            .collect();
        Arc::new(Layer {
            name: "land".into(),
            path: "land.geojson".into(),
            spec,
            geometry: Geometry::Polygons(polys),
            attributes: Attributes::new(vec![], vec![vec![]; features.len()]),
            warnings: Vec::new(),
        })
    }

    fn probe(within_km: f64, features: &[Vec<[f64; 2]>]) -> Box<dyn Probe> {
        let kind = Inside {
            filter: None,
            within_km,
        };
        kind.check().unwrap();
        kind.bind(&Input {
            layers: &[layer(features)],
            fields: vec![None],
            numeric: vec![true],
            coverage: vec![None],
            indexes: &crate::index::IndexCache::default(),
        })
        .unwrap()
    }

    fn inside(p: &dyn Probe, lon: f64, lat: f64) -> bool {
        match p.measure(&Position::new(lon, lat)).unwrap().0 {
            Raw::Num(x) => x == 1.0,
            Raw::Val(_) => unreachable!("inside measures numbers"),
        }
    }

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<[f64; 2]> {
        vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    }

    #[test]
    fn tolerance_is_great_circle_km_from_the_edge() {
        let p = probe(2.0, &[square(0.0, 0.0, 1.0, 1.0)]);
        // 1.9 and 2.1 km east of the east edge, at the equator-ish latitude 0.5.
        let deg = |km: f64| km / great_circle_km(0.0, 0.5, 1.0, 0.5);
        assert!(inside(p.as_ref(), 1.0 + deg(1.9), 0.5));
        assert!(!inside(p.as_ref(), 1.0 + deg(2.1), 0.5));
        // On the edge and inside, with or without tolerance.
        assert!(inside(p.as_ref(), 1.0, 0.5));
        let strict = probe(0.0, &[square(0.0, 0.0, 1.0, 1.0)]);
        assert!(inside(strict.as_ref(), 1.0, 0.5) && inside(strict.as_ref(), 0.5, 0.5));
        assert!(!inside(strict.as_ref(), 1.0 + deg(0.1), 0.5));
    }

    #[test]
    fn tolerance_across_the_antimeridian_and_near_a_pole() {
        // An island from 179.5 to -179.5 (ring written across 180, as in real files).
        let fiji = vec![
            [179.5, -17.0],
            [-179.5, -17.0],
            [-179.5, -16.0],
            [179.5, -16.0],
            [179.5, -17.0],
        ];
        let p = probe(5.0, &[fiji]);
        assert!(inside(p.as_ref(), 180.0, -16.5) && inside(p.as_ref(), -180.0, -16.5));
        // 3 km west of the west edge (179.5), and 3 km east of the east edge (-179.5).
        let d = 3.0 / great_circle_km(0.0, -16.5, 1.0, -16.5);
        assert!(inside(p.as_ref(), 179.5 - d, -16.5));
        assert!(inside(p.as_ref(), -179.5 + d, -16.5));
        assert!(!inside(p.as_ref(), -179.5 + 2.0 * d, -16.5));
        // Near the north pole: a cap north of 89.9; 5 km south of its rim is 0.045 degrees.
        let cap: Vec<[f64; 2]> = (0..=36)
            .map(|k| [-180.0 + 10.0 * f64::from(k), 89.9])
            .collect();
        let p = probe(5.0, &[cap]);
        assert!(inside(p.as_ref(), 45.0, 89.95));
        assert!(inside(p.as_ref(), 45.0, 89.9 - 0.04));
        assert!(!inside(p.as_ref(), 45.0, 89.9 - 0.06));
    }

    #[test]
    fn an_empty_layer_is_never_inside() {
        let p = probe(2.0, &[]);
        assert!(!inside(p.as_ref(), 0.0, 0.0));
    }

    #[test]
    fn tolerances_are_checked() {
        for km in [-1.0, f64::NAN, 1000.0] {
            let kind = Inside {
                filter: None,
                within_km: km,
            };
            assert!(kind.check().is_err(), "{km}");
        }
    }
}
