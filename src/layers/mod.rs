//! Layers: named sources of geodata, declared in a layer-set TOML file and read from disk.
//!
//! A layer set names each layer, its file (relative to the data directory), its kind and the
//! fields to keep:
//!
//! ```toml
//! [[layer]]
//! name = "power_plants"
//! path = "power_plants/gppd_global_v1.2.0.csv"
//! kind = "points"
//! fields = ["capacity_mw", "primary_fuel"]
//! attribution = "WRI Global Power Plant Database v1.2.0, CC-BY 4.0"
//! ```
//!
//! Kinds: `points` (CSV with latitude/longitude columns, or GeoJSON Point/MultiPoint),
//! `lines` (GeoJSON LineString/MultiLineString), `polygons` (GeoJSON Polygon/MultiPolygon)
//! and `raster` (single-band GeoTIFF in EPSG:4326). A polygon or point layer may `join` the
//! columns of a CSV table by key (for example a water-stress table by state name).

mod cache;
mod csv;
mod filter;
#[cfg(feature = "gdal")]
mod gdal;
mod geojson;
mod polygons;
mod raster;

pub use self::cache::{CacheOutcome, LayerCache};
pub use self::csv::{CoordinateColumns, detect_coordinate_columns, parse_coordinate};
pub(crate) use self::csv::{LAT_NAMES, LON_NAMES, csv_error_label};
pub use self::filter::{CompiledFilter, Filter};
pub use self::polygons::{Polygon, repair_polygon};
pub use self::raster::Raster;

use crate::error::{Error, ErrorKind, Result, toml_error};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The embedded default layer set: the public sources of the catalog, by their paths in a
/// data directory laid out like `standort data fetch` leaves it.
pub const DEFAULT_LAYER_SET: &str = include_str!("../../data/layers/default.toml");

/// An attribute value of a feature.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    /// No value (empty CSV cell, JSON null, missing property).
    Null,
    /// A number.
    Num(f64),
    /// Text.
    Text(String),
}

impl Value {
    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Num(x) => Some(*x),
            _ => None,
        }
    }

    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A value from a text cell: empty is null, numbers when `numeric`.
    pub(crate) fn from_cell(cell: &str, numeric: bool) -> Value {
        let t = cell.trim();
        if t.is_empty() {
            Value::Null
        } else if numeric {
            t.parse().map(Value::Num).unwrap_or(Value::Null)
        } else {
            Value::Text(t.to_string())
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str(""),
            Value::Num(x) if x.fract() == 0.0 && x.abs() < 1e15 => write!(f, "{}", *x as i64),
            Value::Num(x) => write!(f, "{x}"),
            Value::Text(s) => f.write_str(s),
        }
    }
}

/// Typed attribute columns of a layer: one row per feature.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Attributes {
    fields: Vec<String>,
    numeric: Vec<bool>,
    rows: Vec<Vec<Value>>,
}

impl Attributes {
    /// Build from field names and rows; a column is numeric when every non-null value is a number.
    pub fn new(fields: Vec<String>, rows: Vec<Vec<Value>>) -> Self {
        let numeric = (0..fields.len())
            .map(|c| {
                rows.iter()
                    .all(|r| matches!(r[c], Value::Num(_) | Value::Null))
                    && rows.iter().any(|r| matches!(r[c], Value::Num(_)))
            })
            .collect();
        Attributes {
            fields,
            numeric,
            rows,
        }
    }

    /// Field names.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Column index of a field.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f == name)
    }

    /// True when the column holds numbers (and at least one).
    pub fn is_numeric(&self, col: usize) -> bool {
        self.numeric[col]
    }

    /// True when the column holds text (and at least one value).
    pub fn is_text(&self, col: usize) -> bool {
        !self.numeric[col] && self.rows.iter().any(|r| matches!(r[col], Value::Text(_)))
    }

    /// Where a text column first holds something that is not a number: " (feature N:
    /// \"value\")", for messages (empty when there is none).
    pub fn first_non_number(&self, col: usize) -> String {
        let bad = |v: &Value| match v {
            Value::Text(t) => !t.trim().parse::<f64>().is_ok_and(f64::is_finite),
            _ => false,
        };
        (0..self.rows.len())
            .find(|&r| bad(&self.rows[r][col]))
            .map(|r| format!(" (feature {}: \"{}\")", r + 1, self.rows[r][col]))
            .unwrap_or_default()
    }

    /// The value of a feature's field.
    pub fn get(&self, row: usize, col: usize) -> &Value {
        &self.rows[row][col]
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Empty every value of `field` equal to one of the no-data `codes` (numbers, or text
    /// that reads as one); the column's type is then decided again.
    fn clear_codes(&mut self, field: &str, codes: &[f64]) -> std::result::Result<(), String> {
        let col = self
            .field_index(field)
            .ok_or_else(|| format!("no field \"{field}\" (fields: {})", self.fields.join(", ")))?;
        let is_code = |v: &Value| {
            let x = match v {
                Value::Num(x) => Some(*x),
                Value::Text(t) => t.trim().parse::<f64>().ok(),
                Value::Null => None,
            };
            x.is_some_and(|x| codes.contains(&x))
        };
        for row in &mut self.rows {
            if is_code(&row[col]) {
                row[col] = Value::Null;
            }
        }
        let column = &self.rows;
        self.numeric[col] = column
            .iter()
            .all(|r| matches!(r[col], Value::Num(_) | Value::Null))
            && column.iter().any(|r| matches!(r[col], Value::Num(_)));
        Ok(())
    }

    fn add_column(&mut self, name: String, values: Vec<Value>) {
        let numeric = values
            .iter()
            .all(|v| matches!(v, Value::Num(_) | Value::Null))
            && values.iter().any(|v| matches!(v, Value::Num(_)));
        for (row, v) in self.rows.iter_mut().zip(values) {
            row.push(v);
        }
        self.fields.push(name);
        self.numeric.push(numeric);
    }
}

/// What kind of geodata a layer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// Points: power plants, substations.
    Points,
    /// Lines: transmission lines.
    Lines,
    /// Polygons: basins, countries, states.
    Polygons,
    /// A single-band raster: land price, population.
    Raster,
}

impl fmt::Display for LayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LayerKind::Points => "points",
            LayerKind::Lines => "lines",
            LayerKind::Polygons => "polygons",
            LayerKind::Raster => "raster",
        })
    }
}

/// Columns of a CSV table joined onto a layer's features by key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinSpec {
    /// The CSV table, relative to the data directory.
    pub path: PathBuf,
    /// The layer's key field.
    pub key: String,
    /// The table's key column.
    pub on: String,
    /// Table columns to attach to the layer.
    pub fields: Vec<String>,
    /// Field delimiter of the table (default `,`).
    #[serde(default)]
    pub delimiter: Option<char>,
    /// For a `.json` table that is one object keyed by the join key: the member holding it
    /// (`"data"` in `{"data": {"CN-BJ": {"emission_factor": 555.4}, ...}}`; `"."` for the
    /// top level). Each member's name is the `on` column, its fields the other columns.
    #[serde(default)]
    pub member: Option<String>,
    /// The layer works without the table: when it is not there the joined fields are empty
    /// (every feature without a value: a measure reading several layers passes on to the
    /// next), not an error.
    #[serde(default)]
    pub optional: bool,
}

/// A field computed from others: a lookup table (`from` + `map`), a ratio
/// (`ratio = [numerator, denominator]`, times `scale`), or the ISO 3166-2 code of a state or
/// province from its name (`iso_3166_2`, matched as `standort region` matches names; computed
/// before the join, so that a join may use it as its key).
///
/// ```toml
/// derive = [
///   { field = "bws_score", from = "bws_cat_0_4", map = { "0" = 0.5, "1" = 1.5 } },
///   { field = "gdp_per_capita_usd", ratio = ["GDP_MD_EST", "POP_EST"], scale = 1e6 },
///   { field = "code", iso_3166_2 = { name = "name", country_field = "iso_a2" } },
///   { field = "code", iso_3166_2 = { name = "NAME", country = "US" } },
/// ]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeriveSpec {
    /// Name of the new field.
    pub field: String,
    /// Source field of a lookup.
    #[serde(default)]
    pub from: Option<String>,
    /// Lookup table: source value (as text) to number; unmatched values become empty.
    #[serde(default)]
    pub map: Option<std::collections::BTreeMap<String, f64>>,
    /// Numerator and denominator fields of a ratio.
    #[serde(default)]
    pub ratio: Option<[String; 2]>,
    /// Factor applied to a ratio (default 1).
    #[serde(default)]
    pub scale: Option<f64>,
    /// The ISO 3166-2 code from a name and a country.
    #[serde(default)]
    pub iso_3166_2: Option<IsoCodeSpec>,
}

/// Where the name and the country (ISO 3166-1 alpha-2) of an `iso_3166_2` derive come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IsoCodeSpec {
    /// The field holding the state's or province's name.
    pub name: String,
    /// One country for every feature (alpha-2, e.g. "US").
    #[serde(default)]
    pub country: Option<String>,
    /// Or the field holding each feature's country (alpha-2).
    #[serde(default)]
    pub country_field: Option<String>,
}

/// Where a layer has data: inside the polygons of another layer whose `field` is one of
/// `values` (for example the countries an extract covers).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageSpec {
    /// A polygon layer of the same layer set.
    pub layer: String,
    /// Field of that layer.
    pub field: String,
    /// Values of `field` that are covered.
    #[serde(default)]
    pub values: Vec<String>,
    /// A CSV file (relative to the data directory) whose column `field` lists more covered
    /// values, when it exists: `standort data import osm-substations` writes it for the
    /// countries an extract covers.
    #[serde(default)]
    pub values_file: Option<PathBuf>,
    /// Coverage by matching codes instead of a list: a polygon of the layer answers (in an
    /// `attribute` measure) only where the coverage layer's `field` at the site equals this
    /// field of the polygon (admin-1 provinces answer only inside their own country).
    #[serde(default)]
    pub same_as: Option<String>,
}

/// A polygon layer that holds the subdivisions (states) of one country, as the state-level
/// data of the layer set draws them: `standort region` resolves a state of that country
/// through these polygons, so that a state means the same area for the region and its data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubdividesSpec {
    /// The country, as its code in the `countries` layer (`iso_a3`).
    pub country: String,
    /// The field holding the subdivision's name (matched against the admin-1 names).
    pub name: String,
}

/// One `[[layer]]` entry of a layer-set file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// The name profiles refer to.
    pub name: String,
    /// File path, relative to the data directory (absolute paths are used as they are).
    pub path: PathBuf,
    /// Kind of geodata.
    pub kind: LayerKind,
    /// Attribute fields to keep (default: all).
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// Latitude column of a CSV point layer (default: detected).
    #[serde(default)]
    pub lat: Option<String>,
    /// Longitude column of a CSV point layer (default: detected).
    #[serde(default)]
    pub lon: Option<String>,
    /// Field delimiter of a CSV layer (default `,`).
    #[serde(default)]
    pub delimiter: Option<char>,
    /// The layer inside a multi-layer file (GeoPackage, ...; `gdal` feature).
    #[serde(default)]
    pub source_layer: Option<String>,
    /// A CSV table joined onto the features.
    #[serde(default)]
    pub join: Option<JoinSpec>,
    /// No-data codes per field (`nodata = { bws_cat_0_4 = [-9999] }`): a value equal to one
    /// of them is empty (UNKNOWN to every measure), never a number. Applied after the join,
    /// before `derive`.
    #[serde(default)]
    pub nodata: std::collections::BTreeMap<String, Vec<f64>>,
    /// Fields computed from others after the join.
    #[serde(default)]
    pub derive: Vec<DeriveSpec>,
    /// Where the layer has data; outside it, measures on the layer are UNKNOWN.
    #[serde(default)]
    pub coverage: Option<CoverageSpec>,
    /// The subdivisions of one country that regions resolve through.
    #[serde(default)]
    pub subdivides: Option<SubdividesSpec>,
    /// Attribution text to show wherever the layer's data is used.
    #[serde(default)]
    pub attribution: Option<String>,
    /// Licence of the data.
    #[serde(default)]
    pub licence: Option<String>,
    /// What the layer is.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerSetFile {
    #[serde(default, rename = "layer")]
    layers: Vec<LayerSpec>,
}

/// A set of layer declarations and the directory their paths are relative to.
#[derive(Debug, Clone)]
pub struct LayerSet {
    specs: Vec<LayerSpec>,
    base_dir: Option<PathBuf>,
    source: String,
    /// Files already read, shared by the layers that read the same file the same way (the
    /// countries and the GDP proxy; the US states of water, land and regions).
    read_cache: ReadCache,
    /// Where layers as read are kept between runs, if anywhere (see [`LayerCache`]).
    disk_cache: Option<LayerCache>,
    /// No data directory: layers whose files are missing are left out (see
    /// [`LayerSet::is_partial`]) instead of being errors.
    partial: bool,
}

/// What [`read_geometry`] made of a file, by everything it depends on.
type ReadKey = (PathBuf, String);
type ReadCache = std::sync::Arc<
    std::sync::Mutex<HashMap<ReadKey, std::sync::Arc<std::sync::OnceLock<Result<Read>>>>>,
>;

impl LayerSet {
    /// Parse a layer-set TOML text. `source` names it in errors; `base_dir` resolves relative
    /// paths (the data directory).
    pub fn parse(text: &str, source: &Path, base_dir: Option<PathBuf>) -> Result<Self> {
        let file: LayerSetFile = toml::from_str(text).map_err(|e| toml_error(source, text, &e))?;
        let mut seen = HashMap::new();
        for spec in &file.layers {
            if spec.name.trim().is_empty() {
                return Err(Error::at(
                    ErrorKind::Config,
                    source.display().to_string(),
                    "a layer has an empty name",
                ));
            }
            if seen.insert(spec.name.clone(), ()).is_some() {
                return Err(Error::at(
                    ErrorKind::Config,
                    source.display().to_string(),
                    format!("layer \"{}\" is declared twice", spec.name),
                ));
            }
        }
        Ok(LayerSet {
            specs: file.layers,
            base_dir,
            source: source.display().to_string(),
            read_cache: Default::default(),
            disk_cache: None,
            partial: false,
        })
    }

    /// Read a layer-set file. Relative layer paths resolve against `data_dir` when given,
    /// else against the folder of the layer-set file.
    pub fn from_file(path: &Path, data_dir: Option<&Path>) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
        let base = match data_dir {
            Some(d) => Some(d.to_path_buf()),
            None => Some(path.parent().map(Path::to_path_buf).unwrap_or_default()),
        };
        Self::parse(&text, path, base)
    }

    /// A layer set from declarations made in code.
    pub fn from_specs(specs: Vec<LayerSpec>, base_dir: Option<PathBuf>) -> Self {
        LayerSet {
            specs,
            base_dir,
            source: "<layers>".into(),
            read_cache: Default::default(),
            disk_cache: None,
            partial: false,
        }
    }

    /// The embedded default layer set, resolved against `data_dir`. Without a data directory
    /// the set is partial: the built-in boundaries answer, and criteria whose layers have no
    /// file are left out of a profile (see [`LayerSet::is_partial`]).
    pub fn default_set(data_dir: Option<&Path>) -> Result<Self> {
        let mut set = Self::parse(
            DEFAULT_LAYER_SET,
            Path::new("<default layer set>"),
            data_dir.map(Path::to_path_buf),
        )?;
        set.partial = data_dir.is_none();
        Ok(set)
    }

    /// The same set, partial: missing join tables are skipped and criteria without data are
    /// left out (for reading what is there, e.g. the countries' outlines without their
    /// water table).
    pub fn into_partial(mut self) -> Self {
        self.partial = true;
        self
    }

    /// True when the set may lack files (no data directory): a layer's join table that is
    /// not there is skipped (with the fields it would add and those derived after it), and
    /// [`crate::Engine::new`] leaves out the criteria that need a missing file, saying so.
    pub fn is_partial(&self) -> bool {
        self.partial
    }

    /// The file a layer path reads: the file in the data directory, else the built-in copy
    /// when the binary carries one (see [`crate::boundaries`]), else the data-directory path.
    pub fn resolve_file(&self, path: &Path) -> Result<PathBuf> {
        let resolved = self.resolve(path);
        if resolved.as_ref().is_ok_and(|p| p.exists()) {
            return resolved;
        }
        match crate::boundaries::built_in_path(path) {
            Some(built_in) => Ok(built_in),
            None => resolved,
        }
    }

    /// True when a layer path can be read (a file, a GDAL virtual path, or built in).
    pub fn is_available(&self, path: &Path) -> bool {
        self.resolve_file(path).is_ok_and(|p| {
            p.exists()
                || crate::boundaries::built_in_bytes(&p).is_some()
                || p.to_str().is_some_and(|p| p.starts_with("/vsi"))
        })
    }

    /// The covered values of a coverage: its `values` and those its `values_file` lists.
    pub fn coverage_values(&self, cov: &CoverageSpec) -> Result<Vec<String>> {
        let mut values = cov.values.clone();
        let Some(file) = &cov.values_file else {
            return Ok(values);
        };
        let path = match self.resolve(file) {
            Ok(p) if p.exists() => p,
            _ => return Ok(values),
        };
        let (header, rows) = read_csv_table(&path)?;
        let col = header.iter().position(|h| h == &cov.field).ok_or_else(|| {
            Error::at(
                ErrorKind::Input,
                path.display().to_string(),
                format!("no column \"{}\"", cov.field),
            )
        })?;
        for row in rows {
            let v = row.get(col).cloned().unwrap_or_default();
            if !v.is_empty() && !values.contains(&v) {
                values.push(v);
            }
        }
        Ok(values)
    }

    /// The files layer `name` needs that are not there (its own file, its join table, its
    /// coverage layer's files); with `fields` false, a missing join table is not counted
    /// (the reader uses only the geometry and the layer's own fields).
    pub fn missing_files(&self, name: &str, fields: bool) -> Vec<PathBuf> {
        let Some(spec) = self.spec(name) else {
            return Vec::new();
        };
        let mut out: Vec<PathBuf> = Vec::new();
        if !self.is_available(&spec.path) {
            out.push(spec.path.clone());
        }
        if let Some(j) = spec
            .join
            .as_ref()
            .filter(|j| fields && !j.optional && !self.is_available(&j.path))
        {
            out.push(j.path.clone());
        }
        if let Some(cov) = &spec.coverage {
            if cov.layer != name {
                out.extend(self.missing_files(&cov.layer, false));
            }
        }
        out
    }

    /// The declared layers.
    pub fn specs(&self) -> &[LayerSpec] {
        &self.specs
    }

    /// The declaration of a layer.
    pub fn spec(&self, name: &str) -> Option<&LayerSpec> {
        self.specs.iter().find(|s| s.name == name)
    }

    /// Where the set came from (for messages).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The absolute or working-directory path of a layer file.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf> {
        if path.is_absolute() {
            return Ok(path.to_path_buf());
        }
        match &self.base_dir {
            Some(base) => Ok(base.join(path)),
            None => Err(Error::usage(format!(
                "layer file {} is relative to the data directory, but none is set: pass --data-dir or set STANDORT_DATA_DIR",
                path.display()
            ))),
        }
    }

    /// [`read_geometry`], once per file and way of reading it. Reads run outside the lock
    /// (a `OnceLock` per key), so different files are read in parallel.
    fn read_cached(&self, path: &Path, spec: &LayerSpec) -> Result<Read> {
        let how = read_how(spec);
        // Only a file that several layers read the same way is kept (a copy of its
        // geometry stays in memory for the run).
        let same = |s: &&LayerSpec| {
            s.kind == spec.kind
                && s.fields == spec.fields
                && s.lat == spec.lat
                && s.lon == spec.lon
                && s.delimiter == spec.delimiter
                && s.source_layer == spec.source_layer
                && self.resolve_file(&s.path).is_ok_and(|p| p == path)
        };
        if self.specs.iter().filter(same).count() < 2 {
            return self.read_file(path, spec).map(|(read, _)| read);
        }
        let cell = {
            let mut map = self.read_cache.lock().unwrap_or_else(|e| e.into_inner());
            map.entry((path.to_path_buf(), how)).or_default().clone()
        };
        cell.get_or_init(|| self.read_file(path, spec).map(|(read, _)| read))
            .clone()
    }

    /// Read a layer's file, through the layer cache when the set has one.
    fn read_file(&self, path: &Path, spec: &LayerSpec) -> Result<(Read, CacheOutcome)> {
        // Built-in layers (embedded in the binary) and non-files are read directly.
        let Some(cache) = self.disk_cache.as_ref().filter(|_| path.is_file()) else {
            return read_geometry(path, spec).map(|r| (r, CacheOutcome::Skipped));
        };
        let raster = spec.kind == LayerKind::Raster;
        cache.read(path, &read_how(spec), raster, || read_geometry(path, spec))
    }

    /// The layer cache the set reads through, if any.
    pub fn disk_cache(&self) -> Option<&LayerCache> {
        self.disk_cache.as_ref()
    }

    /// Keep layers as read in `cache` between runs (see [`LayerCache`]).
    pub fn with_cache(mut self, cache: LayerCache) -> Self {
        self.disk_cache = Some(cache);
        self
    }

    /// Layer `name`'s declaration, or an error naming the layer set.
    fn declared(&self, name: &str) -> Result<&LayerSpec> {
        self.spec(name).ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("no layer named \"{name}\" in {}", self.source),
            )
        })
    }

    /// Read layer `name`'s file through the layer cache (building its entry, and a polygon
    /// layer's index, when missing or stale), without the rest of loading (joins, derived
    /// fields).
    pub fn index(&self, name: &str) -> Result<CacheOutcome> {
        let spec = self.declared(name)?;
        let path = self.resolve_file(&spec.path)?;
        let ((geometry, ..), outcome) = self.read_file(&path, spec)?;
        // A polygon layer's index too, as a run builds it for the whole layer.
        if let (Some(cache), Geometry::Polygons(polys)) = (&self.disk_cache, &geometry) {
            cache.polygon_index(&path, polys);
        }
        Ok(outcome)
    }

    /// Attach the layer's join table; false when a partial set skipped a missing one (what
    /// is declared after the join is then skipped too).
    fn join_onto(&self, spec: &LayerSpec, attributes: &mut Attributes) -> Result<bool> {
        // A partial set (no data directory) reads a layer without its missing join table;
        // what is declared after the join (no-data codes, derived fields) is about the
        // joined fields, so it is skipped with it.
        Ok(match &spec.join {
            Some(join) if join.optional && !self.is_available(&join.path) => {
                for f in &join.fields {
                    attributes.add_column(f.clone(), vec![Value::Null; attributes.len()]);
                }
                true
            }
            Some(join) if !self.partial || self.is_available(&join.path) => {
                let table = self.resolve(&join.path)?;
                self::csv::join_table(attributes, &table, join)?;
                true
            }
            Some(_) => false,
            None => true,
        })
    }

    /// Read one layer from disk.
    ///
    /// Runs sequentially (no rayon): [`crate::Engine::new`] calls it inside a once-only
    /// initialisation on a rayon worker, where a nested parallel job could deadlock.
    pub fn load(&self, name: &str) -> Result<Layer> {
        let spec = self.declared(name)?;
        let path = self.resolve_file(&spec.path)?;
        if !self.is_available(&spec.path) {
            return Err(Error::at(
                ErrorKind::Io,
                path.display().to_string(),
                match crate::catalog::Catalog::embedded().find(&spec.path) {
                    Some((source, _)) => format!(
                        "layer \"{name}\" is missing: no such file; get it with `standort data fetch` ({}, {})",
                        source.title, source.homepage
                    ),
                    None => format!(
                        "layer \"{name}\" is missing: no such file (check the data directory)"
                    ),
                },
            ));
        }
        let (geometry, mut attributes, skipped) = self.read_cached(&path, spec)?;
        let derive_err = |d: &DeriveSpec, m: String| {
            Error::new(
                ErrorKind::Config,
                format!("{}: layer \"{name}\", derive {}: {m}", self.source, d.field),
            )
        };
        // ISO codes first: a join may use them as its key.
        for d in spec.derive.iter().filter(|d| d.iso_3166_2.is_some()) {
            derive_field(&mut attributes, d).map_err(|m| derive_err(d, m))?;
        }
        let joined = self.join_onto(spec, &mut attributes)?;
        let after_join = if joined {
            spec.nodata.iter().collect()
        } else {
            Vec::new()
        };
        for (field, codes) in after_join {
            attributes.clear_codes(field, codes).map_err(|m| {
                Error::new(
                    ErrorKind::Config,
                    format!("{}: layer \"{name}\", nodata: {m}", self.source),
                )
            })?;
        }
        for d in spec
            .derive
            .iter()
            .filter(|d| joined && d.iso_3166_2.is_none())
        {
            derive_field(&mut attributes, d).map_err(|m| derive_err(d, m))?;
        }
        let warnings = skipped_warning(&skipped).into_iter().collect();
        Ok(Layer {
            name: name.into(),
            spec: spec.clone(),
            path,
            geometry,
            attributes,
            warnings,
        })
    }
}

/// A small CSV file (a coverage list): its header and rows, cells trimmed; errors name the
/// file and the line.
pub fn read_csv_table(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let shown = path.display().to_string();
    let at = |line: Option<usize>, e: ::csv::Error| {
        let loc = line.map_or(shown.clone(), |l| format!("{shown}:{l}"));
        Error::at(ErrorKind::Input, loc, e.to_string())
    };
    let mut rdr = ::csv::Reader::from_path(path).map_err(|e| at(None, e))?;
    let header = rdr.headers().map_err(|e| at(Some(1), e))?;
    let header: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    let rows = rdr
        .records()
        .enumerate()
        .map(|(i, rec)| {
            let rec = rec.map_err(|e| at(Some(i + 2), e))?;
            Ok(rec.iter().map(|c| c.trim().to_string()).collect())
        })
        .collect::<Result<Vec<Vec<String>>>>()?;
    Ok((header, rows))
}

/// The warning for features skipped without a usable geometry, naming the first few.
fn skipped_warning(skipped: &[String]) -> Option<String> {
    let (first, rest) = (skipped.iter().take(3), skipped.len().saturating_sub(3));
    let more = if rest > 0 {
        format!(" and {rest} more")
    } else {
        String::new()
    };
    (!skipped.is_empty()).then(|| {
        format!(
            "{} feature(s) without a usable geometry (none, or a ring of fewer than 3 positions) skipped: {}{more}",
            skipped.len(),
            first.cloned().collect::<Vec<_>>().join(", ")
        )
    })
}

/// A layer's geometry, attributes and the labels of the features skipped for want of a
/// usable geometry.
type Read = (Geometry, Attributes, Vec<String>);

/// Everything of a declaration that what [`read_geometry`] makes of a file depends on (the
/// layer's name appears only in errors, which are not kept): layers that read one file the
/// same way share one read and one cache entry.
fn read_how(spec: &LayerSpec) -> String {
    format!(
        "{:?}",
        (
            spec.kind,
            &spec.fields,
            &spec.lat,
            &spec.lon,
            spec.delimiter,
            &spec.source_layer
        )
    )
}

/// Read a layer's file with the reader for its kind and extension.
fn read_geometry(path: &Path, spec: &LayerSpec) -> Result<Read> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let raster = |r: Raster| {
        let geometry = Geometry::Raster(std::sync::Arc::new(r));
        (geometry, Attributes::default(), Vec::new())
    };
    match (spec.kind, ext.as_str()) {
        // GeoTIFF: the pure-Rust reader first; with the `gdal` feature GDAL gets a chance at
        // what it cannot read (compressions, layouts), but its own error is kept.
        (LayerKind::Raster, "tif" | "tiff") => match Raster::read(path) {
            Ok(r) => Ok(raster(r)),
            #[cfg(feature = "gdal")]
            Err(native) => Ok(raster(self::gdal::read_raster(path).map_err(|_| native)?)),
            #[cfg(not(feature = "gdal"))]
            Err(native) => Err(native),
        },
        #[cfg(feature = "gdal")]
        (LayerKind::Raster, _) => Ok(raster(self::gdal::read_raster(path)?)),
        #[cfg(not(feature = "gdal"))]
        (LayerKind::Raster, _) => Err(Error::at(
            ErrorKind::Usage,
            path.display().to_string(),
            format!(
                "raster layer \"{}\": only GeoTIFF (.tif) is read without the `gdal` feature (cargo build --release --features gdal)",
                spec.name
            ),
        )),
        (LayerKind::Points, "csv" | "tsv" | "txt") if spec.source_layer.is_none() => {
            let (points, attributes) = self::csv::read_point_csv(path, spec)?;
            Ok((Geometry::Points(points), attributes, Vec::new()))
        }
        (_, "geojson" | "json") if spec.source_layer.is_none() => {
            self::geojson::read_layer(path, spec)
        }
        #[cfg(feature = "gdal")]
        (_, _) => self::gdal::read_vector(path, spec),
        #[cfg(not(feature = "gdal"))]
        (kind, ext) => Err(Error::at(
            ErrorKind::Usage,
            path.display().to_string(),
            format!(
                "cannot read a {kind} layer from a .{ext} file without the `gdal` feature (cargo build --release --features gdal; or use CSV points or GeoJSON)"
            ),
        )),
    }
}

/// The ISO 3166-2 code of every feature (empty where none matches, or where several
/// features claim the same code).
fn iso_codes(
    attrs: &Attributes,
    iso: &IsoCodeSpec,
    col: impl Fn(&str) -> std::result::Result<usize, String>,
) -> std::result::Result<Vec<Value>, String> {
    let name = col(&iso.name)?;
    let country = match (&iso.country, &iso.country_field) {
        (Some(c), None) => Err(c.clone()),
        (None, Some(f)) => Ok(col(f)?),
        _ => return Err("iso_3166_2: give either country or country_field".into()),
    };
    let pairs: Vec<(String, String)> = (0..attrs.len())
        .map(|r| {
            let alpha2 = match &country {
                Err(fixed) => fixed.clone(),
                Ok(c) => attrs.get(r, *c).to_string(),
            };
            (alpha2, attrs.get(r, name).to_string())
        })
        .collect();
    Ok(crate::region::names::codes_for(&pairs)
        .into_iter()
        .map(|c| c.map_or(Value::Null, |c| Value::Text(c.into())))
        .collect())
}

fn derive_field(attrs: &mut Attributes, d: &DeriveSpec) -> std::result::Result<(), String> {
    let col = |name: &str| {
        attrs.field_index(name).ok_or_else(|| {
            format!(
                "no field \"{name}\" (fields: {})",
                attrs.fields().join(", ")
            )
        })
    };
    if let Some(iso) = &d.iso_3166_2 {
        let values = iso_codes(attrs, iso, col)?;
        attrs.add_column(d.field.clone(), values);
        return Ok(());
    }
    let values: Vec<Value> = match (&d.from, &d.map, &d.ratio) {
        (Some(from), Some(map), None) => {
            let c = col(from)?;
            (0..attrs.len())
                .map(|r| {
                    let v = attrs.get(r, c);
                    map.get(&v.to_string())
                        .map_or(Value::Null, |x| Value::Num(*x))
                })
                .collect()
        }
        (None, None, Some([num, den])) => {
            let (a, b) = (col(num)?, col(den)?);
            let scale = d.scale.unwrap_or(1.0);
            (0..attrs.len())
                .map(
                    |r| match (attrs.get(r, a).as_f64(), attrs.get(r, b).as_f64()) {
                        (Some(x), Some(y)) if y != 0.0 && x >= 0.0 && y > 0.0 => {
                            Value::Num(x / y * scale)
                        }
                        _ => Value::Null,
                    },
                )
                .collect()
        }
        _ => return Err("give either from + map, or ratio".into()),
    };
    attrs.add_column(d.field.clone(), values);
    Ok(())
}

/// The geometry of a loaded layer, in longitude/latitude degrees (WGS84).
#[derive(Debug, Clone)]
pub enum Geometry {
    /// One position per point feature (a MultiPoint contributes several with the same row).
    Points(Vec<PointFeature>),
    /// Line features: each a list of parts, each a list of positions.
    Lines(Vec<Vec<Vec<[f64; 2]>>>),
    /// Polygon features after antimeridian/pole repair; several per MultiPolygon.
    Polygons(Vec<Polygon>),
    /// A raster grid (shared, not copied, by the criteria that sample it).
    Raster(std::sync::Arc<Raster>),
}

/// A point of a point layer and the attribute row it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PointFeature {
    /// Longitude in degrees.
    pub lon: f64,
    /// Latitude in degrees.
    pub lat: f64,
    /// Attribute row.
    pub row: usize,
}

/// A loaded layer: its declaration, geometry and attributes.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The layer's name.
    pub name: String,
    /// Its declaration.
    pub spec: LayerSpec,
    /// The file it was read from.
    pub path: PathBuf,
    /// Geometry.
    pub geometry: Geometry,
    /// Attribute rows (one per feature; empty for rasters).
    pub attributes: Attributes,
    /// What was wrong with the data but did not stop reading it, for people.
    pub warnings: Vec<String>,
}

impl Layer {
    /// The layer's kind, from its geometry.
    pub fn kind(&self) -> LayerKind {
        match self.geometry {
            Geometry::Points(_) => LayerKind::Points,
            Geometry::Lines(_) => LayerKind::Lines,
            Geometry::Polygons(_) => LayerKind::Polygons,
            Geometry::Raster(_) => LayerKind::Raster,
        }
    }

    /// Number of features (rows), or pixels for a raster.
    pub fn feature_count(&self) -> usize {
        match &self.geometry {
            Geometry::Raster(r) => r.width() * r.height(),
            _ => self.attributes.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_files_extend_the_values_and_bad_rows_name_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let cov = CoverageSpec {
            layer: "countries".into(),
            field: "iso_a3".into(),
            values: vec!["DEU".into()],
            values_file: Some("cov.csv".into()),
            same_as: None,
        };
        let set = LayerSet::from_specs(vec![], Some(dir.path().to_path_buf()));
        // No file yet: the listed values.
        assert_eq!(set.coverage_values(&cov).unwrap(), ["DEU"]);
        std::fs::write(
            dir.path().join("cov.csv"),
            "iso_a3,substations\nIND,13\n DEU ,2\n",
        )
        .unwrap();
        assert_eq!(set.coverage_values(&cov).unwrap(), ["DEU", "IND"]);
        std::fs::write(
            dir.path().join("cov.csv"),
            "iso_a3,substations\nIND,13\nJPN,1,extra\n",
        )
        .unwrap();
        let e = set.coverage_values(&cov).unwrap_err().to_string();
        assert!(e.contains("cov.csv:3"), "{e}");
        std::fs::write(dir.path().join("cov.csv"), "code\nIND\n").unwrap();
        let e = set.coverage_values(&cov).unwrap_err().to_string();
        assert!(e.contains("no column \"iso_a3\""), "{e}");
    }

    #[test]
    fn duplicate_layer_names_are_an_error() {
        let text = "[[layer]]\nname='a'\npath='a.csv'\nkind='points'\n[[layer]]\nname='a'\npath='b.csv'\nkind='points'\n";
        let e = LayerSet::parse(text, Path::new("set.toml"), None).unwrap_err();
        assert_eq!(e.to_string(), "set.toml: layer \"a\" is declared twice");
    }

    #[test]
    fn unknown_kind_names_the_line() {
        let text = "[[layer]]\nname='a'\npath='a.csv'\nkind='pointz'\n";
        let e = LayerSet::parse(text, Path::new("set.toml"), None).unwrap_err();
        assert!(e.to_string().starts_with("set.toml:4: "), "{e}");
    }

    #[test]
    fn attributes_type_columns() {
        let a = Attributes::new(
            vec!["n".into(), "t".into(), "empty".into()],
            vec![
                vec![Value::Num(1.0), Value::Text("x".into()), Value::Null],
                vec![Value::Null, Value::Text("y".into()), Value::Null],
            ],
        );
        assert!(a.is_numeric(0));
        assert!(!a.is_numeric(1));
        assert!(!a.is_numeric(2));
    }

    #[test]
    fn nodata_codes_become_empty() {
        let mut a = Attributes::new(
            vec!["cat".into(), "t".into()],
            vec![
                vec![Value::Num(-9999.0), Value::Text("-9999".into())],
                vec![Value::Num(2.0), Value::Text("x".into())],
            ],
        );
        a.clear_codes("cat", &[-9999.0]).unwrap();
        a.clear_codes("t", &[-9999.0]).unwrap();
        assert!(a.get(0, 0).is_null() && a.get(0, 1).is_null());
        assert_eq!(a.get(1, 0), &Value::Num(2.0));
        assert!(a.is_numeric(0));
        assert!(
            a.clear_codes("nope", &[0.0])
                .unwrap_err()
                .contains("no field")
        );
    }

    #[test]
    fn default_layer_set_parses() {
        let set = LayerSet::default_set(Some(Path::new("/data"))).unwrap();
        assert!(set.spec("power_plants").is_some());
    }
}
