//! `sum_within_km`: the sum of a numeric field (or the count) over the points within a
//! great-circle radius.
//!
//! - Reads: one `points` layer.
//! - Parameters: `radius_km` (positive, at most half the Earth's circumference), `field`
//!   (optional; a count of points without it), `where` (optional filter).
//! - Raw value: the sum, in the field's unit (`count` without a field); points at exactly
//!   `radius_km` count. Points whose field is empty are left out.
//! - Direction: usually a benefit (more generation nearby is better).
//! - UNKNOWN: never (no point within the radius sums to 0).
//!
//! ```toml
//! measure = { sum_within_km = { radius_km = 100.0, field = "capacity_mw" } }
//! ```

use super::{
    Input, Kind, Position, Probe, Raw, Why, check_filter, field_column, kind_error, params, select,
};
use crate::index::RadiusSum;
use crate::layers::Geometry;
use serde::Deserialize;

/// Half the Earth's circumference (km): a radius beyond it covers the whole sphere.
const MAX_RADIUS_KM: f64 = 20_015.1;

/// `sum_within_km` parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SumWithinKm {
    /// Search radius in km (great-circle).
    pub radius_km: f64,
    /// Numeric field to sum; a count of points when absent.
    #[serde(default)]
    pub field: Option<String>,
    /// Only features matching this filter.
    #[serde(default, rename = "where")]
    pub filter: Option<String>,
}

pub(super) fn parse(value: toml::Value) -> Result<Box<dyn Kind>, String> {
    Ok(Box::new(params::<SumWithinKm>("sum_within_km", value)?))
}

impl Kind for SumWithinKm {
    fn name(&self) -> &'static str {
        "sum_within_km"
    }
    fn default_unit(&self) -> &'static str {
        if self.field.is_none() { "count" } else { "" }
    }
    fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
    fn check(&self) -> Result<(), String> {
        if !(self.radius_km.is_finite() && self.radius_km > 0.0) {
            return Err(format!("radius_km {} must be positive", self.radius_km));
        }
        if self.radius_km > MAX_RADIUS_KM {
            return Err(format!(
                "radius_km {} is beyond half the Earth's circumference ({MAX_RADIUS_KM} km)",
                self.radius_km
            ));
        }
        check_filter(&self.filter)
    }
    fn bind(&self, input: &Input<'_>) -> Result<Box<dyn Probe>, String> {
        let layer = &input.layers[0];
        let Geometry::Points(points) = &layer.geometry else {
            return Err(kind_error(self.name(), layer, "points"));
        };
        let col = self
            .field
            .as_deref()
            .map(|f| field_column(layer, f, true))
            .transpose()?;
        let keep = select(layer, &self.filter)?;
        let mut pts = Vec::new();
        let mut values = Vec::new();
        for p in points.iter().filter(|p| keep[p.row]) {
            let v = match col {
                Some(col) => layer.attributes.get(p.row, col).as_f64(),
                None => Some(1.0),
            };
            if let Some(v) = v {
                if v < 0.0 {
                    // Sums of amounts (capacity, population, a count): a negative one is a
                    // data error, which would silently cancel others within the radius.
                    return Err(format!(
                        "field \"{}\" of layer \"{}\" is negative at feature {} ({v}); sum_within_km sums amounts, which cannot be negative",
                        self.field.as_deref().unwrap_or(""),
                        layer.name,
                        p.row + 1
                    ));
                }
                pts.push((p.lon, p.lat));
                values.push(v);
            }
        }
        Ok(Box::new(Sum(RadiusSum::new(&pts, &values, self.radius_km))))
    }
}

struct Sum(RadiusSum);

impl Probe for Sum {
    fn measure<'a>(&'a self, at: &Position) -> Result<(Raw<'a>, Option<u16>), Why> {
        Ok((Raw::Num(self.0.sum_from(at.lon, at.lat, at.vector())), None))
    }
    fn always_known(&self) -> bool {
        true
    }
}
