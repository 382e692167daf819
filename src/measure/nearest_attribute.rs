//! `nearest_attribute`: a field of the nearest (matching) point, e.g. the `voltage_kv` of
//! the nearest substation or the `capacity_mw` of the nearest plant.
//!
//! - Reads: one `points` layer.
//! - Parameters: `field` (required), `where` (optional filter), `max_km` (optional cut-off:
//!   beyond it the value is UNKNOWN rather than that of a point far away).
//! - Candidates: the points matching `where` whose `field` is not empty.
//! - Ties: of points at the same great-circle distance to within [`TIE_KM`] (1 mm: several
//!   units at one plant's coordinates, or points placed symmetrically about the site), the
//!   largest value wins for a numeric field; for a text field, the first in the layer's order.
//! - Raw value: the field's value, in its unit (name it with the criterion's `unit`).
//! - UNKNOWN: when no candidate exists, or none lies within `max_km`.
//!
//! ```toml
//! measure = { nearest_attribute = { field = "voltage_kv", max_km = 50.0 } }
//! ```

use super::{
    Empty, Input, Kind, Position, Probe, Raw, Why, check_filter, empty_reason, field_column,
    kind_error, params, select,
};
use crate::index::PointIndex;
use crate::layers::{Geometry, Value};
use serde::Deserialize;

/// Points this much farther (km) than the nearest one tie with it.
pub const TIE_KM: f64 = 1e-6;

/// `nearest_attribute` parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearestAttribute {
    /// The field of the nearest point that is read.
    pub field: String,
    /// Only points matching this filter.
    #[serde(default, rename = "where")]
    pub filter: Option<String>,
    /// Beyond this great-circle distance (km) the value is UNKNOWN.
    #[serde(default)]
    pub max_km: Option<f64>,
}

pub(super) fn parse(value: toml::Value) -> Result<Box<dyn Kind>, String> {
    Ok(Box::new(params::<NearestAttribute>(
        "nearest_attribute",
        value,
    )?))
}

impl Kind for NearestAttribute {
    fn name(&self) -> &'static str {
        "nearest_attribute"
    }
    fn field(&self) -> Option<&str> {
        Some(&self.field)
    }
    fn check(&self) -> Result<(), String> {
        if let Some(km) = self.max_km {
            if !(km.is_finite() && km > 0.0) {
                return Err(format!("max_km {km} must be positive"));
            }
        }
        check_filter(&self.filter)
    }
    fn bind(&self, input: &Input<'_>) -> Result<Box<dyn Probe>, String> {
        let layer = &input.layers[0];
        let Geometry::Points(points) = &layer.geometry else {
            return Err(kind_error(self.name(), layer, "points"));
        };
        let col = field_column(layer, &self.field, input.numeric[0])?;
        let keep = select(layer, &self.filter)?;
        let mut kept: Vec<(f64, f64, Value)> = points
            .iter()
            .filter(|p| keep[p.row])
            .map(|p| (p.lon, p.lat, layer.attributes.get(p.row, col).clone()))
            .filter(|(_, _, v)| !v.is_null())
            .collect();
        if kept.is_empty() {
            return Ok(Box::new(Empty(empty_reason(layer, &self.filter))));
        }
        // The index breaks exact ties by the lower position: put larger numbers first (a
        // stable sort, so text keeps the layer's order).
        kept.sort_by(|a, b| match (b.2.as_f64(), a.2.as_f64()) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => std::cmp::Ordering::Equal,
        });
        let positions: Vec<(f64, f64)> = kept.iter().map(|k| (k.0, k.1)).collect();
        Ok(Box::new(NearestValue {
            index: PointIndex::new(&positions),
            values: kept.into_iter().map(|k| k.2).collect(),
            max_km: self.max_km,
        }))
    }
}

struct NearestValue {
    index: PointIndex,
    values: Vec<Value>,
    max_km: Option<f64>,
}

impl Probe for NearestValue {
    fn measure<'a>(&'a self, at: &Position) -> Result<(Raw<'a>, Option<u16>), Why> {
        let (nearest, km) = self.index.nearest(at.lon, at.lat).ok_or(Why::Empty)?;
        if let Some(max) = self.max_km.filter(|max| km > *max) {
            return Err(Why::Beyond(max));
        }
        // Points are stored best value first: of the tied ones, the lowest position wins.
        let mut best = nearest;
        self.index
            .for_each_within(at.lon, at.lat, km + TIE_KM, |i, _| best = best.min(i));
        Ok((Raw::Val(&self.values[best]), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Attributes, Layer, LayerSpec, PointFeature};
    use std::sync::Arc;

    fn layer(points: &[(f64, f64, f64)]) -> Arc<Layer> {
        let spec: LayerSpec =
            toml::from_str("name = \"subs\"\npath = \"subs.csv\"\nkind = \"points\"").unwrap();
        let rows = points.iter().map(|p| vec![Value::Num(p.2)]).collect();
        Arc::new(Layer {
            name: "subs".into(),
            path: "subs.csv".into(),
            spec,
            geometry: Geometry::Points(
                points
                    .iter()
                    .enumerate()
                    .map(|(row, p)| PointFeature {
                        lon: p.0,
                        lat: p.1,
                        row,
                    })
                    .collect(),
            ),
            attributes: Attributes::new(vec!["kv".into()], rows),
            warnings: Vec::new(),
        })
    }

    fn probe(spec: &str, points: &[(f64, f64, f64)]) -> Box<dyn Probe> {
        let value: toml::Value =
            toml::from_str::<toml::Table>(&format!("m = {spec}")).unwrap()["m"].clone();
        let kind = parse(value).unwrap();
        kind.check().unwrap();
        let layers = [layer(points)];
        kind.bind(&Input {
            layers: &layers,
            fields: vec![None],
            numeric: vec![true],
            coverage: vec![None],
            indexes: &crate::index::IndexCache::default(),
        })
        .unwrap()
    }

    fn value(p: &dyn Probe, lon: f64, lat: f64) -> Result<f64, Why> {
        p.measure(&Position::new(lon, lat))
            .map(|(raw, _)| raw.as_f64().unwrap())
    }

    #[test]
    fn the_nearest_point_across_the_antimeridian() {
        let p = probe(
            "{ field = \"kv\" }",
            &[(179.9, 0.0, 380.0), (170.0, 0.0, 110.0)],
        );
        assert_eq!(value(&*p, -179.9, 0.0), Ok(380.0));
        assert_eq!(value(&*p, 171.0, 0.0), Ok(110.0));
    }

    #[test]
    fn ties_take_the_largest_value() {
        let p = probe(
            "{ field = \"kv\" }",
            &[(10.0, 0.0, 110.0), (10.0, 0.0, 380.0), (10.0, 0.0, 220.0)],
        );
        assert_eq!(value(&*p, 10.5, 0.3), Ok(380.0));
        // Symmetric placement: equidistant points on either side.
        let p = probe(
            "{ field = \"kv\" }",
            &[(9.0, 0.0, 110.0), (11.0, 0.0, 220.0)],
        );
        assert_eq!(value(&*p, 10.0, 0.0), Ok(220.0));
    }

    #[test]
    fn cut_off_filter_and_empty_layer() {
        let pts = [(10.0, 0.0, 110.0), (12.0, 0.0, 380.0)];
        // 1 degree on the equator is 111.195 km.
        let p = probe("{ field = \"kv\", max_km = 111.2 }", &pts);
        assert_eq!(value(&*p, 11.0, 0.0), Ok(380.0));
        assert_eq!(value(&*p, 13.5, 0.0), Err(Why::Beyond(111.2)));
        let p = probe("{ field = \"kv\", where = \"kv >= 200\" }", &pts);
        assert_eq!(value(&*p, 10.0, 0.0), Ok(380.0));
        let p = probe("{ field = \"kv\", where = \"kv >= 1000\" }", &pts);
        assert_eq!(value(&*p, 10.0, 0.0), Err(Why::Empty));
        assert!(
            p.explain(Why::Empty, &["subs".into()])
                .contains("no feature matching")
        );
    }

    #[test]
    fn bad_parameters_are_errors() {
        let parse_str = |s: &str| {
            parse(toml::from_str::<toml::Table>(&format!("m = {s}")).unwrap()["m"].clone())
                .and_then(|k| k.check())
        };
        assert!(parse_str("{ max_km = 5.0 }").unwrap_err().contains("field"));
        assert!(
            parse_str("{ field = \"kv\", max_km = -1.0 }")
                .unwrap_err()
                .contains("positive")
        );
        assert!(
            parse_str("{ field = \"kv\", radius = 1 }")
                .unwrap_err()
                .contains("radius")
        );
    }
}
