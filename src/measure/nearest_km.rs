//! `nearest_km`: great-circle distance in km to the nearest (matching) point or line.
//!
//! - Reads: one `points` or `lines` layer.
//! - Parameters: `where` (optional filter, e.g. `"capacity_mw >= 100"`).
//! - Raw value: km on the sphere (mean Earth radius 6371.0088 km), exact across the
//!   antimeridian and near the poles; for lines, to the nearest point of any segment, each
//!   segment a great-circle arc.
//! - Direction: usually a cost (nearer is better); the standardisation says.
//! - UNKNOWN: only when the layer has no (matching) feature.
//!
//! ```toml
//! measure = { nearest_km = { where = "capacity_mw >= 100" } }
//! ```

use super::{
    Empty, Input, Kind, Position, Probe, Raw, WhereOnly, Why, check_filter, empty_reason,
    kind_error, params, select,
};
use crate::index::{LineIndex, PointIndex};
use crate::layers::Geometry;

/// `nearest_km` parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NearestKm {
    /// Only features matching this filter.
    pub filter: Option<String>,
}

pub(super) fn parse(value: toml::Value) -> Result<Box<dyn Kind>, String> {
    let p: WhereOnly = params("nearest_km", value)?;
    Ok(Box::new(NearestKm { filter: p.filter }))
}

impl Kind for NearestKm {
    fn name(&self) -> &'static str {
        "nearest_km"
    }
    fn default_unit(&self) -> &'static str {
        "km"
    }
    fn check(&self) -> Result<(), String> {
        check_filter(&self.filter)
    }
    fn bind(&self, input: &Input<'_>) -> Result<Box<dyn Probe>, String> {
        let layer = &input.layers[0];
        let keep = select(layer, &self.filter)?;
        match &layer.geometry {
            Geometry::Points(points) => {
                let pts: Vec<(f64, f64)> = points
                    .iter()
                    .filter(|p| keep[p.row])
                    .map(|p| (p.lon, p.lat))
                    .collect();
                if pts.is_empty() {
                    return Ok(Box::new(Empty(empty_reason(layer, &self.filter))));
                }
                Ok(Box::new(NearestPoint(PointIndex::new(&pts))))
            }
            Geometry::Lines(lines) => {
                let kept: Vec<_> = lines
                    .iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(l, _)| l.clone())
                    .collect();
                let index = LineIndex::new(&kept);
                if index.is_empty() {
                    return Ok(Box::new(Empty(empty_reason(layer, &self.filter))));
                }
                Ok(Box::new(NearestLine(index)))
            }
            _ => Err(kind_error(self.name(), layer, "points or lines")),
        }
    }
}

/// Distance to the nearest point (never empty).
struct NearestPoint(PointIndex);

impl Probe for NearestPoint {
    fn measure<'a>(&'a self, at: &Position) -> Result<(Raw<'a>, Option<u16>), Why> {
        self.0
            .nearest_km_from(at.lon, at.lat, at.vector())
            .map(|km| (Raw::Num(km), None))
            .ok_or(Why::Empty)
    }
    fn always_known(&self) -> bool {
        true
    }
}

/// Distance to the nearest line (never empty).
struct NearestLine(LineIndex);

impl Probe for NearestLine {
    fn measure<'a>(&'a self, at: &Position) -> Result<(Raw<'a>, Option<u16>), Why> {
        self.0
            .nearest(at.lon, at.lat)
            .map(|(_, km)| (Raw::Num(km), None))
            .ok_or(Why::Empty)
    }
    fn always_known(&self) -> bool {
        true
    }
}
