//! `inside`: 1 when a (matching) polygon of the layer(s) contains the site, else 0.
//!
//! - Reads: one or more `polygons` layers (inside any of them counts).
//! - Parameters: `where` (optional filter).
//! - Raw value: 1 or 0 (no unit); a point on an edge is inside.
//! - UNKNOWN: never.
//!
//! ```toml
//! measure = { inside = {} }
//! ```

use super::{
    Input, Kind, Position, Probe, Raw, WhereOnly, Why, check_filter, kind_error, params, select,
};
use crate::index::PolygonIndex;
use crate::layers::Geometry;

/// `inside` parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inside {
    /// Only polygons matching this filter.
    pub filter: Option<String>,
}

pub(super) fn parse(value: toml::Value) -> Result<Box<dyn Kind>, String> {
    let p: WhereOnly = params("inside", value)?;
    Ok(Box::new(Inside { filter: p.filter }))
}

impl Kind for Inside {
    fn name(&self) -> &'static str {
        "inside"
    }
    fn reads_several_layers(&self) -> bool {
        true
    }
    fn check(&self) -> Result<(), String> {
        check_filter(&self.filter)
    }
    fn bind(&self, input: &Input<'_>) -> Result<Box<dyn Probe>, String> {
        let mut indexes = Vec::new();
        for layer in input.layers {
            let Geometry::Polygons(polys) = &layer.geometry else {
                return Err(kind_error(self.name(), layer, "polygons"));
            };
            let keep = select(layer, &self.filter)?;
            let kept: Vec<_> = polys.iter().filter(|p| keep[p.row]).cloned().collect();
            indexes.push(PolygonIndex::new(&kept));
        }
        Ok(Box::new(InsideAny(indexes)))
    }
}

struct InsideAny(Vec<PolygonIndex>);

impl Probe for InsideAny {
    fn measure<'a>(&'a self, at: &Position) -> Result<(Raw<'a>, Option<u16>), Why> {
        let inside = self
            .0
            .iter()
            .any(|idx| idx.containing(at.lon, at.lat).is_some());
        Ok((Raw::Num(if inside { 1.0 } else { 0.0 }), None))
    }
    fn always_known(&self) -> bool {
        true
    }
}
