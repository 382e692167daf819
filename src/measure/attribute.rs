//! `attribute`: a field of the polygon containing the site, from the most specific layer
//! that has a value there.
//!
//! - Reads: one or more `polygons` layers, most specific first (e.g. US states before
//!   countries); with `sources`, each layer may name its own field, unit and standardisation.
//! - Parameters: the field name; or a table with `field` and `within_km` (default 0): a
//!   site in no polygon of a layer takes the value of the polygon with the nearest edge
//!   within that many great-circle km (a coastal site just outside a generalised outline,
//!   as for [`super::inside`]).
//! - Raw value: the field's value (a number, or text for categorical standardisations).
//!   A point on an edge shared by two polygons takes the first polygon in file order.
//! - UNKNOWN: when no layer's polygon contains the site with a non-empty value.
//! - Boundary truth: a layer that declares a `coverage` (the US states layers: where the
//!   countries layer says USA) is passed over at a site outside it, even where one of its
//!   polygons contains the site; the next layer answers. So a cell that the countries layer
//!   puts in Mexico never takes a Texas value from the Census outlines of Texas.
//!   A coverage by matching codes (`same_as`: the provinces of the whole world) passes over
//!   a polygon whose country code differs from the country the coverage layer puts the
//!   site in: a province of Mexico never answers for a site in Texas.
//!
//! ```toml
//! measure = { attribute = "bws_score" }
//! measure = { attribute = { field = "bws_score", within_km = 2.0 } }
//! ```

use super::{Input, Kind, Position, Probe, Raw, Why, field_column, kind_error};
use crate::index::{Coverage, LazyEdges, PolygonIndex};
use crate::layers::{Geometry, Value};
use std::sync::Arc;

/// `attribute` parameters: the field read.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    /// The field read from the containing polygon.
    pub field: String,
    /// Tolerance: a site in no polygon takes the value of the polygon whose edge is nearest,
    /// within this many km.
    #[serde(default)]
    pub within_km: f64,
}

pub(super) fn parse(value: toml::Value) -> Result<Box<dyn Kind>, String> {
    match value {
        toml::Value::String(field) => Ok(Box::new(Attribute {
            field,
            within_km: 0.0,
        })),
        toml::Value::Table(_) => Ok(Box::new(super::params::<Attribute>("attribute", value)?)),
        other => Err(format!(
            "attribute: expected a field name, e.g. {{ attribute = \"bws_score\" }}, or a table {{ field = ..., within_km = ... }}, not {}",
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
    fn check(&self) -> Result<(), String> {
        super::inside::check_within_km("attribute", self.within_km)
    }
    fn bind(&self, input: &Input<'_>) -> Result<Box<dyn Probe>, String> {
        let mut sources = Vec::new();
        for (k, layer) in input.layers.iter().enumerate() {
            let Geometry::Polygons(polys) = &layer.geometry else {
                return Err(kind_error(self.name(), layer, "polygons"));
            };
            let field = input.fields[k].unwrap_or(&self.field);
            let col = field_column(layer, field, input.numeric[k])?;
            let column: Vec<Value> = (0..layer.attributes.len())
                .map(|r| layer.attributes.get(r, col).clone())
                .collect();
            // A layer without a single value (an optional table that is not there) never
            // answers: it is passed over without an index.
            if column.iter().all(Value::is_null) {
                sources.push(None);
                continue;
            }
            let near = (self.within_km > 0.0).then(|| Near {
                edges: input.indexes.edges(&layer.path, None, || polys.clone()),
                rows: polys.iter().map(|p| p.row).collect(),
                km: self.within_km,
            });
            sources.push(Some(Source {
                index: input.indexes.layer_polygons(&layer.path, polys),
                column,
                coverage: input.coverage.get(k).cloned().flatten(),
                near,
            }));
        }
        Ok(Box::new(ContainingAttribute(sources)))
    }
}

/// The polygons' edges, for the tolerance.
struct Near {
    edges: Arc<LazyEdges>,
    /// Attribute row of each polygon (the edge index's items).
    rows: Vec<usize>,
    km: f64,
}

struct Source {
    index: Arc<PolygonIndex>,
    column: Vec<Value>,
    coverage: Option<Arc<Coverage>>,
    near: Option<Near>,
}

impl Source {
    /// False when the layer declares a coverage that puts the site elsewhere (in a polygon
    /// of the coverage layer it does not cover).
    fn covers(&self, at: &Position) -> bool {
        self.coverage
            .as_ref()
            .is_none_or(|c| !c.refuses(at.lon, at.lat))
    }

    /// The row of the polygon containing the site, else of the one with the nearest edge
    /// within the tolerance.
    fn row(&self, at: &Position) -> Option<usize> {
        self.index.containing(at.lon, at.lat).or_else(|| {
            let near = self.near.as_ref()?;
            let (item, km) = near.edges.nearest(at.lon, at.lat)?;
            (km <= near.km).then(|| near.rows[item])
        })
    }

    /// The non-empty value of the site's polygon, if any (and if a coverage by matching
    /// codes admits that polygon there).
    fn value(&self, at: &Position) -> Option<&Value> {
        let row = self.row(at)?;
        if let Some(c) = &self.coverage {
            if !c.admits(at.lon, at.lat, row) {
                return None;
            }
        }
        Some(&self.column[row]).filter(|v| !v.is_null())
    }
}

/// The layers' sources in order; `None` for a layer without any value.
struct ContainingAttribute(Vec<Option<Source>>);

impl Probe for ContainingAttribute {
    fn measure<'a>(&'a self, at: &Position) -> Result<(Raw<'a>, Option<u16>), Why> {
        for (k, s) in self.0.iter().enumerate() {
            let Some(s) = s else { continue };
            if !s.covers(at) {
                continue;
            }
            if let Some(v) = s.value(at) {
                return Ok((Raw::Val(v), Some(k as u16)));
            }
        }
        Err(Why::Outside)
    }
    fn boundary_conflict(&self, at: &Position) -> bool {
        self.0.iter().flatten().any(|s| {
            // A coverage by matching codes passes a polygon of another country on to the
            // next layer: that is its purpose, not a disagreement worth reporting.
            s.coverage
                .as_ref()
                .filter(|c| !c.is_matching())
                .is_some_and(|c| {
                    // A polygon of the layer holds a site the coverage puts in another country;
                    // or the coverage holds a site the layer has no polygon for (not even
                    // within the tolerance, which would give the layer's value).
                    let inside = s.index.containing(at.lon, at.lat).is_some();
                    (inside && c.refuses(at.lon, at.lat))
                        || (s.row(at).is_none() && c.contains(at.lon, at.lat))
                })
        })
    }
    fn touch(&self, group: &[(f64, f64)], scratch: &mut [usize]) -> f64 {
        let Some(Some(s)) = self.0.first() else {
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
