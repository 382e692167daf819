//! `attribute`: a field of the polygon containing the site, from the most specific layer
//! that has a value there.
//!
//! - Reads: one or more `polygons` layers, most specific first (e.g. US states before
//!   countries); with `sources`, each layer may name its own field, unit and standardisation.
//! - Parameters: the field name.
//! - Raw value: the field's value (a number, or text for categorical standardisations).
//!   A point on an edge shared by two polygons takes the first polygon in file order.
//! - UNKNOWN: when no layer's polygon contains the site with a non-empty value.
//!
//! ```toml
//! measure = { attribute = "bws_score" }
//! ```

use super::{Input, Kind, Position, Probe, Raw, Why, field_column, kind_error};
use crate::index::PolygonIndex;
use crate::layers::{Geometry, Value};

/// `attribute` parameters: the field read.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The field read from the containing polygon.
    pub field: String,
}

pub(super) fn parse(value: toml::Value) -> Result<Box<dyn Kind>, String> {
    match value {
        toml::Value::String(field) => Ok(Box::new(Attribute { field })),
        other => Err(format!(
            "attribute: expected a field name, e.g. {{ attribute = \"bws_score\" }}, not {}",
            other.type_str()
        )),
    }
}

impl Kind for Attribute {
    fn name(&self) -> &'static str {
        "attribute"
    }
    fn reads_several_layers(&self) -> bool {
        true
    }
    fn takes_sources(&self) -> bool {
        true
    }
    fn field(&self) -> Option<&str> {
        Some(&self.field)
    }
    fn bind(&self, input: &Input<'_>) -> Result<Box<dyn Probe>, String> {
        let mut sources = Vec::new();
        for (k, layer) in input.layers.iter().enumerate() {
            let Geometry::Polygons(polys) = &layer.geometry else {
                return Err(kind_error(self.name(), layer, "polygons"));
            };
            let field = input.fields[k].unwrap_or(&self.field);
            let col = field_column(layer, field, input.numeric[k])?;
            let column = (0..layer.attributes.len())
                .map(|r| layer.attributes.get(r, col).clone())
                .collect();
            sources.push(Source {
                index: PolygonIndex::new(polys),
                column,
            });
        }
        Ok(Box::new(ContainingAttribute(sources)))
    }
}

struct Source {
    index: PolygonIndex,
    column: Vec<Value>,
}

struct ContainingAttribute(Vec<Source>);

impl Probe for ContainingAttribute {
    fn measure<'a>(&'a self, at: &Position) -> Result<(Raw<'a>, Option<u16>), Why> {
        for (k, s) in self.0.iter().enumerate() {
            if let Some(row) = s.index.containing(at.lon, at.lat) {
                if !s.column[row].is_null() {
                    return Ok((Raw::Val(&s.column[row]), Some(k as u16)));
                }
            }
        }
        Err(Why::Outside)
    }
    fn touch(&self, group: &[(f64, f64)], scratch: &mut [usize]) -> f64 {
        let Some(s) = self.0.first() else {
            return 0.0;
        };
        for (k, &(lon, lat)) in scratch.iter_mut().zip(group) {
            *k = s.index.cell_of(lon, lat);
        }
        scratch[..group.len()]
            .iter()
            .map(|&k| f64::from(s.index.touch(k)))
            .sum()
    }
}
