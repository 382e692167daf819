//! Measures: what a criterion reads from its layers at one site, one file per kind.
//!
//! A measure is written in a profile as a one-key table, `measure = { nearest_km = { where =
//! "capacity_mw >= 100" } }`; the key picks the kind from [`REGISTRY`], the value is that
//! kind's parameters. A [`Kind`] checks its parameters and binds them to loaded layers, giving
//! a [`Probe`]: the indexed, read-only object the engine asks for a raw value at each site.
//!
//! Adding a measure is one new file here (parameters, binding, probe, docs, tests) plus one
//! line in [`REGISTRY`].
//!
//! | measure | reads | raw value | unit |
//! |---|---|---|---|
//! | [`nearest_km`] | points or lines | great-circle distance to the nearest (matching) feature | km |
//! | [`nearest_attribute`] | points | a field of the nearest (matching) point | the field's |
//! | [`sum_within_km`] | points | sum of a field (or count) over points within a radius | the field's (count) |
//! | [`attribute`] | polygons, most specific first | a field of the containing polygon | the field's |
//! | [`inside`] | polygons | 1 inside a (matching) polygon, else 0 | — |
//! | [`raster`] | a raster | the pixel value | the raster's |
//!
//! ```
//! use standort::measure::Measure;
//! let m: Measure = toml::from_str::<toml::Table>("m = { nearest_km = {} }").unwrap()["m"]
//!     .clone()
//!     .try_into()
//!     .unwrap();
//! assert_eq!(m.name(), "nearest_km");
//! assert_eq!(m.default_unit(), "km");
//! ```

pub mod attribute;
pub mod inside;
pub mod nearest_attribute;
pub mod nearest_km;
pub mod raster;
pub mod sum_within_km;

use crate::geodesy::UnitVector;
use crate::layers::{Filter, Layer, Value};
use crate::text::did_you_mean;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::cell::OnceCell;
use std::fmt;
use std::sync::Arc;

/// Parses a kind's parameters (the value under its key).
pub type Parse = fn(toml::Value) -> Result<Box<dyn Kind>, String>;

/// Every measure: its name in profiles and its parser. One line per measure.
pub const REGISTRY: &[(&str, Parse)] = &[
    ("nearest_km", nearest_km::parse),
    ("nearest_attribute", nearest_attribute::parse),
    ("sum_within_km", sum_within_km::parse),
    ("attribute", attribute::parse),
    ("inside", inside::parse),
    ("raster", raster::parse),
];

/// A measure kind with its parameters, as parsed from a profile.
pub trait Kind: fmt::Debug + Send + Sync {
    /// The name written in profiles.
    fn name(&self) -> &'static str;
    /// The unit of the raw value when the criterion names none (`km`, `count`, or empty).
    fn default_unit(&self) -> &'static str {
        ""
    }
    /// True when the measure may read several layers (most specific first).
    fn reads_several_layers(&self) -> bool {
        false
    }
    /// True when the measure accepts per-layer `sources` (own field, unit, standardisation).
    fn takes_sources(&self) -> bool {
        false
    }
    /// The field read from every layer, if the measure reads one (checked against the
    /// layer's fields when bound; `sources` may override it per layer).
    fn field(&self) -> Option<&str> {
        None
    }
    /// Check the parameters on their own (before any layer is read).
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
    /// Bind to the loaded layers: build the indexes a probe needs.
    fn bind(&self, input: &Input<'_>) -> Result<Box<dyn Probe>, String>;
}

/// What a measure is bound to.
pub struct Input<'a> {
    /// The criterion's layers, in order.
    pub layers: &'a [Arc<Layer>],
    /// Per layer: the field to read when a source overrides the measure's.
    pub fields: Vec<Option<&'a str>>,
    /// Per layer: whether the field must hold numbers (its standardisation is numeric).
    pub numeric: Vec<bool>,
    /// Per layer: where it has data, if it declares a coverage. A measure of several layers
    /// passes over a layer at a site its coverage refuses (for one layer the engine makes
    /// the criterion UNKNOWN outside the coverage).
    pub coverage: Vec<Option<Arc<crate::index::Coverage>>>,
    /// Indexes shared by the criteria of one engine.
    pub indexes: &'a crate::index::IndexCache,
}

/// A measure bound to indexed layers: answers one site at a time, from many threads.
pub trait Probe: Send + Sync {
    /// The raw value at `at` and which of the criterion's layers gave it; or why there is
    /// none (the criterion is UNKNOWN there).
    fn measure<'a>(&'a self, at: &Position) -> Result<(Raw<'a>, Option<u16>), Why>;
    /// True when [`Probe::measure`] never fails (the measure is never UNKNOWN).
    fn always_known(&self) -> bool {
        false
    }
    /// Why the value is UNKNOWN, for people; `layers` are the criterion's layer names.
    fn explain(&self, why: Why, layers: &[String]) -> String {
        match why {
            Why::Coverage => String::new(),
            Why::Empty => "no feature".into(),
            Why::Outside => format!("no data: site outside {} or value empty", layers.join(", ")),
            Why::Beyond(km) => format!("no matching feature within {km} km"),
        }
    }
    /// True when two of the measure's boundary layers disagree at `at`: a layer with a
    /// declared coverage has a polygon there although the site is outside its coverage, or
    /// the other way round (for example a cell that the countries layer puts in Mexico and
    /// the US states layer in Texas). Counted in region summaries.
    fn boundary_conflict(&self, at: &Position) -> bool {
        let _ = at;
        false
    }
    /// Read the index memory the measure reads first at each of `group`'s (lon, lat)
    /// positions, so that their cache misses overlap; `scratch` has room for the group.
    /// Returns a value only to keep the reads.
    fn touch(&self, group: &[(f64, f64)], scratch: &mut [usize]) -> f64 {
        let _ = (group, scratch);
        0.0
    }
    /// Why some values could not be read from the layer (a corrupt tile of a compressed
    /// raster, found when a site first read it), as a one-line message naming the file.
    fn failure(&self) -> Option<String> {
        None
    }
}

/// Why a value is UNKNOWN (formatted only when a result is explained).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Why {
    /// Outside the layer's declared coverage.
    Coverage,
    /// The layer (after filtering) has no feature.
    Empty,
    /// No feature (or pixel) holds a value at the site.
    Outside,
    /// No feature within the measure's cut-off distance (km).
    Beyond(f64),
}

/// A site being measured: its position and, computed once when a measure first needs it,
/// its unit vector (shared by the geodesic measures).
pub struct Position {
    /// Longitude, degrees.
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
    vector: OnceCell<UnitVector>,
}

impl Position {
    /// A site at (lon, lat) in degrees.
    pub fn new(lon: f64, lat: f64) -> Self {
        Position {
            lon,
            lat,
            vector: OnceCell::new(),
        }
    }

    /// The unit vector of the site (computed on first use).
    pub fn vector(&self) -> UnitVector {
        *self
            .vector
            .get_or_init(|| crate::geodesy::unit_vector(self.lon, self.lat))
    }
}

/// A raw value: a number, or an attribute borrowed from its layer.
pub enum Raw<'a> {
    /// A measured number.
    Num(f64),
    /// An attribute value.
    Val(&'a Value),
}

impl Raw<'_> {
    /// The number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Raw::Num(x) => Some(*x),
            Raw::Val(v) => v.as_f64(),
        }
    }

    /// An owned value.
    pub fn to_value(&self) -> Value {
        match self {
            Raw::Num(x) => Value::Num(*x),
            Raw::Val(v) => (*v).clone(),
        }
    }
}

/// A probe for a layer with no (matching) feature: every site is UNKNOWN, with the reason.
pub struct Empty(pub String);

impl Probe for Empty {
    fn measure<'a>(&'a self, _at: &Position) -> Result<(Raw<'a>, Option<u16>), Why> {
        Err(Why::Empty)
    }
    fn explain(&self, why: Why, layers: &[String]) -> String {
        match why {
            Why::Empty => self.0.clone(),
            _ => format!("no data in {}", layers.join(", ")),
        }
    }
}

/// A measure as written in a profile: a kind with its parameters.
#[derive(Debug, Clone)]
pub struct Measure(Arc<dyn Kind>);

impl std::ops::Deref for Measure {
    type Target = dyn Kind;
    fn deref(&self) -> &(dyn Kind + 'static) {
        &*self.0
    }
}

impl Measure {
    /// Parse `name = params` through the registry.
    pub fn parse(name: &str, params: toml::Value) -> Result<Measure, String> {
        match REGISTRY.iter().find(|(n, _)| *n == name) {
            Some((_, parse)) => parse(params).map(|k| Measure(Arc::from(k))),
            None => {
                let names = REGISTRY.iter().map(|(n, _)| *n);
                let hint = did_you_mean(name, names.clone())
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_default();
                Err(format!(
                    "unknown measure \"{name}\" (measures: {}){hint}",
                    names.collect::<Vec<_>>().join(", ")
                ))
            }
        }
    }
}

impl<'de> Deserialize<'de> for Measure {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Measure, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Measure;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table with one measure, e.g. { nearest_km = {} }")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Measure, A::Error> {
                let Some(name) = map.next_key::<String>()? else {
                    return Err(de::Error::custom("measure: the table is empty"));
                };
                let params: toml::Value = map.next_value()?;
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "measure: one measure per criterion (\"{name}\" and \"{extra}\")"
                    )));
                }
                Measure::parse(&name, params).map_err(de::Error::custom)
            }
        }
        d.deserialize_map(V)
    }
}

/// Deserialize a kind's parameters.
pub(crate) fn params<T: for<'de> Deserialize<'de>>(
    name: &str,
    value: toml::Value,
) -> Result<T, String> {
    value
        .try_into()
        .map_err(|e: toml::de::Error| format!("{name}: {}", e.message()))
}

/// The column of `field` in `layer`, checked to hold numbers when `numeric`.
pub(crate) fn field_column(layer: &Layer, field: &str, numeric: bool) -> Result<usize, String> {
    let attrs = &layer.attributes;
    let col = attrs.field_index(field).ok_or_else(|| {
        let hint = did_you_mean(field, attrs.fields().iter().map(String::as_str))
            .map(|s| format!("; did you mean \"{s}\"?"))
            .unwrap_or_default();
        format!(
            "layer \"{}\" has no field \"{field}\" (fields: {}){hint}",
            layer.name,
            attrs.fields().join(", ")
        )
    })?;
    if numeric && attrs.is_text(col) {
        let at = attrs.first_non_number(col);
        return Err(format!(
            "field \"{field}\" of layer \"{}\" holds text, not numbers{at}",
            layer.name
        ));
    }
    Ok(col)
}

/// Which rows of `layer` match `filter` (all without one).
pub(crate) fn select(layer: &Layer, filter: &Option<String>) -> Result<Vec<bool>, String> {
    let n = layer.attributes.len();
    match filter {
        None => Ok(vec![true; n]),
        Some(f) => {
            let cf = Filter::parse(f)?
                .compile(&layer.attributes)
                .map_err(|e| format!("layer \"{}\": {e}", layer.name))?;
            Ok((0..n).map(|r| cf.matches(&layer.attributes, r)).collect())
        }
    }
}

/// Check a `where` filter's syntax (before any layer is read).
pub(crate) fn check_filter(filter: &Option<String>) -> Result<(), String> {
    match filter {
        Some(f) => Filter::parse(f)
            .map(|_| ())
            .map_err(|e| format!("where: {e}")),
        None => Ok(()),
    }
}

/// The reason every site is UNKNOWN when a layer has no (matching) feature.
pub(crate) fn empty_reason(layer: &Layer, filter: &Option<String>) -> String {
    match filter {
        Some(f) => format!("layer {} has no feature matching {f}", layer.name),
        None => format!("layer {} has no features", layer.name),
    }
}

/// The error for a layer of the wrong kind.
pub(crate) fn kind_error(measure: &str, layer: &Layer, want: &str) -> String {
    format!(
        "measure {measure} needs a {want} layer, but \"{}\" is {}",
        layer.name,
        layer.kind()
    )
}

/// Parameters with only an optional `where` filter (shared by several measures).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhereOnly {
    /// Only features matching this filter.
    #[serde(default, rename = "where")]
    pub filter: Option<String>,
}
