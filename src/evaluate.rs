//! The engine: a profile bound to indexed layers; sites → values → scores → results.
//!
//! [`Engine::new`] checks the profile against the layers (every layer exists and has the
//! right kind, every field exists and has the right type), loads each layer once and builds
//! its index. [`Engine::evaluate`] is then a pure function of a site's position, safe to call
//! from many threads.

use crate::error::{Error, ErrorKind, Result};
use crate::index::{LineIndex, PointIndex, PolygonIndex};
use crate::layers::{Geometry, Layer, LayerKind, LayerSet, Raster, Value, did_you_mean};
use crate::profile::{
    Aggregation, Criterion, Filter, Measure, Profile, Standardise, UnknownPolicy, aggregation_for,
};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// How a site came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Scored and ranked.
    Ok,
    /// Failed a constraint.
    Excluded,
    /// A criterion had no data and its policy is `exclude`.
    Unknown,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Excluded => "excluded",
            Status::Unknown => "unknown",
        })
    }
}

/// One criterion's outcome at one site.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionValue {
    /// The raw measured value (null when UNKNOWN).
    pub raw: Value,
    /// Which of the criterion's layers gave the value (index into its layers).
    pub source: Option<u16>,
    /// Standardised score 0..1 (the substituted score when UNKNOWN under neutral/penalty).
    pub score: Option<f64>,
    /// Weighted contribution to the total (when the site is scored).
    pub contribution: Option<f64>,
    /// Why the value is UNKNOWN.
    pub unknown: Option<String>,
}

/// The outcome for one site.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Per criterion, in profile order.
    pub values: Vec<CriterionValue>,
    /// Total score 0..1 for `ok` sites.
    pub score: Option<f64>,
    /// ok / excluded / unknown.
    pub status: Status,
    /// Constraint failures first, then UNKNOWN notes, for people.
    pub reasons: Vec<String>,
}

struct AttributeSource {
    index: PolygonIndex,
    column: Vec<Value>,
    standardise: Option<Standardise>,
}

enum Probe {
    NearestPoint(PointIndex),
    NearestLine(LineIndex),
    SumWithin {
        index: PointIndex,
        values: Vec<f64>,
        radius_km: f64,
    },
    Attribute(Vec<AttributeSource>),
    Inside(Vec<PolygonIndex>),
    Raster(Raster),
    /// The layer (after filtering) has no features: every site is UNKNOWN.
    Empty(String),
}

struct Compiled {
    probe: Probe,
    layer_names: Vec<String>,
    /// Where the (first) layer has data, if it declares a coverage.
    coverage: Option<(PolygonIndex, String)>,
    policy: UnknownPolicy,
}

/// A profile bound to indexed layers.
pub struct Engine {
    profile: Profile,
    weights: Vec<f64>,
    compiled: Vec<Compiled>,
    aggregation: Box<dyn Aggregation>,
    layers: Vec<LayerInfo>,
}

/// What the engine used of a layer, for summaries and attribution.
#[derive(Debug, Clone)]
pub struct LayerInfo {
    /// Layer name.
    pub name: String,
    /// File read.
    pub path: std::path::PathBuf,
    /// Kind.
    pub kind: LayerKind,
    /// Features (or pixels) read.
    pub features: usize,
    /// Attribution text, if declared.
    pub attribution: Option<String>,
}

struct Loader<'a> {
    set: &'a LayerSet,
    loaded: HashMap<String, Arc<Layer>>,
}

impl Loader<'_> {
    fn get(&mut self, name: &str) -> Result<Arc<Layer>> {
        if let Some(l) = self.loaded.get(name) {
            return Ok(l.clone());
        }
        let l = Arc::new(self.set.load(name)?);
        self.loaded.insert(name.to_string(), l.clone());
        Ok(l)
    }
}

impl Engine {
    /// Check `profile` against `layers`, load what it uses and build the indexes.
    pub fn new(profile: Profile, layers: &LayerSet) -> Result<Engine> {
        let aggregation =
            aggregation_for(&profile.method).map_err(|m| Error::new(ErrorKind::Config, m))?;
        let mut loader = Loader {
            set: layers,
            loaded: HashMap::new(),
        };
        let mut compiled = Vec::new();
        let profile_err = |c: &Criterion, msg: String| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "profile \"{}\", criterion \"{}\": {msg}",
                    profile.name,
                    c.id()
                ),
            )
        };
        for c in &profile.criteria {
            let mut layer_refs = Vec::new();
            for name in c.layer_names() {
                if layers.spec(name).is_none() {
                    let names = layers.specs().iter().map(|s| s.name.as_str());
                    let hint = did_you_mean(name, names.clone())
                        .map(|s| format!("; did you mean \"{s}\"?"))
                        .unwrap_or_default();
                    return Err(profile_err(
                        c,
                        format!(
                            "unknown layer \"{name}\" (layers in {}: {}){hint}",
                            layers.source(),
                            names.collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                layer_refs.push(loader.get(name)?);
            }
            let probe = compile(c, &layer_refs).map_err(|m| profile_err(c, m))?;
            let coverage = match &layer_refs[0].spec.coverage {
                Some(cov) if layer_refs.len() == 1 => {
                    let cov_layer = loader.get(&cov.layer)?;
                    let Geometry::Polygons(polys) = &cov_layer.geometry else {
                        return Err(profile_err(
                            c,
                            format!("coverage layer \"{}\" must be polygons", cov.layer),
                        ));
                    };
                    let col = cov_layer
                        .attributes
                        .field_index(&cov.field)
                        .ok_or_else(|| {
                            profile_err(
                                c,
                                format!(
                                    "coverage layer \"{}\" has no field \"{}\"",
                                    cov.layer, cov.field
                                ),
                            )
                        })?;
                    let kept: Vec<_> = polys
                        .iter()
                        .filter(|p| {
                            let v = cov_layer.attributes.get(p.row, col).to_string();
                            cov.values.contains(&v)
                        })
                        .cloned()
                        .collect();
                    Some((
                        PolygonIndex::new(kept),
                        format!("outside the coverage of layer {}", layer_refs[0].name),
                    ))
                }
                _ => None,
            };
            compiled.push(Compiled {
                probe,
                layer_names: layer_refs.iter().map(|l| l.name.clone()).collect(),
                coverage,
                policy: c.unknown.unwrap_or(profile.unknown),
            });
        }
        let mut infos: Vec<LayerInfo> = loader
            .loaded
            .values()
            .map(|l| LayerInfo {
                name: l.name.clone(),
                path: l.path.clone(),
                kind: l.kind(),
                features: l.feature_count(),
                attribution: l.spec.attribution.clone(),
            })
            .collect();
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        let weights = profile.normalised_weights();
        Ok(Engine {
            profile,
            weights,
            compiled,
            aggregation,
            layers: infos,
        })
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Normalised weights, in criterion order.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The layers in use.
    pub fn layers(&self) -> &[LayerInfo] {
        &self.layers
    }

    /// Names of the layers a criterion reads, in order (indexes of [`CriterionValue::source`]).
    pub fn criterion_layers(&self, criterion: usize) -> &[String] {
        &self.compiled[criterion].layer_names
    }

    /// The missing-data policy in force for a criterion.
    pub fn criterion_policy(&self, criterion: usize) -> UnknownPolicy {
        self.compiled[criterion].policy
    }

    fn measure(
        &self,
        i: usize,
        lon: f64,
        lat: f64,
    ) -> std::result::Result<(Value, Option<u16>), String> {
        let c = &self.compiled[i];
        if let Some((cov, why)) = &c.coverage {
            if cov.containing(lon, lat).is_none() {
                return Err(why.clone());
            }
        }
        match &c.probe {
            Probe::Empty(why) => Err(why.clone()),
            Probe::NearestPoint(idx) => idx
                .nearest(lon, lat)
                .map(|(_, km)| (Value::Num(km), None))
                .ok_or_else(|| "no point".into()),
            Probe::NearestLine(idx) => idx
                .nearest(lon, lat)
                .map(|(_, km)| (Value::Num(km), None))
                .ok_or_else(|| "no line".into()),
            Probe::SumWithin {
                index,
                values,
                radius_km,
            } => {
                let mut sum = 0.0;
                index.for_each_within(lon, lat, *radius_km, |j, _| sum += values[j]);
                Ok((Value::Num(sum), None))
            }
            Probe::Attribute(sources) => {
                for (k, s) in sources.iter().enumerate() {
                    if let Some(row) = s.index.containing(lon, lat) {
                        if !s.column[row].is_null() {
                            return Ok((s.column[row].clone(), Some(k as u16)));
                        }
                    }
                }
                Err(format!(
                    "no data: site outside {} or value empty",
                    c.layer_names.join(", ")
                ))
            }
            Probe::Inside(indexes) => {
                let inside = indexes.iter().any(|idx| idx.containing(lon, lat).is_some());
                Ok((Value::Num(if inside { 1.0 } else { 0.0 }), None))
            }
            Probe::Raster(r) => r
                .sample(lon, lat)
                .map(|v| (Value::Num(v), None))
                .ok_or_else(|| format!("no data: outside raster {} or nodata", c.layer_names[0])),
        }
    }

    fn standardise(&self, i: usize, raw: &Value, source: Option<u16>) -> Option<f64> {
        let c = &self.profile.criteria[i];
        if let (Probe::Attribute(sources), Some(k)) = (&self.compiled[i].probe, source) {
            if let Some(st) = &sources[k as usize].standardise {
                return st.score(raw);
            }
        }
        c.standardise.score(raw)
    }

    /// Evaluate one site at (lon, lat) in degrees.
    pub fn evaluate(&self, lon: f64, lat: f64) -> Evaluation {
        let n = self.compiled.len();
        let criteria = &self.profile.criteria;
        let mut values = Vec::with_capacity(n);
        let mut notes = Vec::new();
        let mut exclude_unknown = false;
        let mut ignored = vec![false; n];
        for (i, c) in criteria.iter().enumerate() {
            let (raw, source, unknown) = match self.measure(i, lon, lat) {
                Ok((v, s)) => (v, s, None),
                Err(why) => (Value::Null, None, Some(why)),
            };
            let (score, unknown) = match unknown {
                Some(u) => (None, Some(u)),
                None => match self.standardise(i, &raw, source) {
                    Some(s) => (Some(s), None),
                    None => (None, Some(format!("no score for value \"{raw}\""))),
                },
            };
            let mut score = score;
            if let Some(u) = &unknown {
                let policy = self.compiled[i].policy;
                match policy {
                    UnknownPolicy::Exclude => {
                        exclude_unknown = true;
                        notes.push(format!("{} unknown ({u})", c.id()));
                    }
                    UnknownPolicy::Ignore => {
                        ignored[i] = true;
                        notes.push(format!("{} left out ({u})", c.id()));
                    }
                    UnknownPolicy::Neutral | UnknownPolicy::Penalty(_) => {
                        let s = policy.substitute().unwrap_or(0.5);
                        score = Some(s);
                        notes.push(format!(
                            "{} unknown ({u}); scored {s} by policy {policy}",
                            c.id()
                        ));
                    }
                }
            }
            values.push(CriterionValue {
                raw,
                source,
                score,
                contribution: None,
                unknown,
            });
        }
        // Constraint failures first: they are why a site is out.
        let mut reasons = Vec::new();
        let mut excluded = false;
        for k in &self.profile.constraints {
            let Some(i) = criteria.iter().position(|c| c.id() == k.criterion) else {
                continue;
            };
            match values[i].raw.as_f64() {
                Some(v) if !k.passes(v) => {
                    excluded = true;
                    let unit = criteria[i].unit();
                    let shown = format_number(v);
                    reasons.push(if unit.is_empty() {
                        format!("{} ({} = {shown})", k.reason, k.criterion)
                    } else {
                        format!("{} ({} = {shown} {unit})", k.reason, k.criterion)
                    });
                }
                Some(_) => {}
                None if values[i].unknown.is_some()
                    && self.compiled[i].policy != UnknownPolicy::Exclude =>
                {
                    notes.push(format!(
                        "constraint on {} not checked: value unknown",
                        k.criterion
                    ));
                }
                None => {}
            }
        }
        reasons.append(&mut notes);
        let weight_left: f64 = self
            .weights
            .iter()
            .zip(&ignored)
            .filter(|(_, ig)| !**ig)
            .map(|(w, _)| w)
            .sum();
        let status = if excluded {
            Status::Excluded
        } else if exclude_unknown || weight_left <= 0.0 {
            Status::Unknown
        } else {
            Status::Ok
        };
        let score = if status == Status::Ok {
            let scores: Vec<f64> = values.iter().map(|v| v.score.unwrap_or(0.0)).collect();
            let weights: Vec<f64> = if ignored.iter().any(|x| *x) {
                self.weights
                    .iter()
                    .zip(&ignored)
                    .map(|(w, ig)| if *ig { 0.0 } else { w / weight_left })
                    .collect()
            } else {
                self.weights.clone()
            };
            let mut contributions = vec![0.0; n];
            let total = self
                .aggregation
                .aggregate(&scores, &weights, &mut contributions);
            for ((v, c), ig) in values.iter_mut().zip(contributions).zip(&ignored) {
                v.contribution = if *ig { None } else { Some(c) };
            }
            Some(total)
        } else {
            None
        };
        Evaluation {
            values,
            score,
            status,
            reasons,
        }
    }
}

/// A number for people: integers plain, others with up to 3 decimals.
pub fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn compile(c: &Criterion, layers: &[Arc<Layer>]) -> std::result::Result<Probe, String> {
    let first = &layers[0];
    let kind_err = |layer: &Layer, want: &str| {
        format!(
            "measure {} needs a {want} layer, but \"{}\" is {}",
            c.measure.name(),
            layer.name,
            layer.kind()
        )
    };
    let field_col =
        |layer: &Layer, field: &str, numeric: bool| -> std::result::Result<usize, String> {
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
                return Err(format!(
                    "field \"{field}\" of layer \"{}\" holds text, not numbers",
                    layer.name
                ));
            }
            Ok(col)
        };
    let select =
        |layer: &Layer, filter: &Option<String>| -> std::result::Result<Vec<bool>, String> {
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
        };
    let empty_msg = |layer: &Layer, filter: &Option<String>| match filter {
        Some(f) => format!("layer {} has no feature matching {f}", layer.name),
        None => format!("layer {} has no features", layer.name),
    };
    match &c.measure {
        Measure::NearestKm(spec) => match &first.geometry {
            Geometry::Points(points) => {
                let keep = select(first, &spec.filter)?;
                let pts: Vec<(f64, f64)> = points
                    .iter()
                    .filter(|p| keep[p.row])
                    .map(|p| (p.lon, p.lat))
                    .collect();
                if pts.is_empty() {
                    return Ok(Probe::Empty(empty_msg(first, &spec.filter)));
                }
                Ok(Probe::NearestPoint(PointIndex::new(&pts)))
            }
            Geometry::Lines(lines) => {
                let keep = select(first, &spec.filter)?;
                let kept: Vec<_> = lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| keep[*i])
                    .map(|(_, l)| l.clone())
                    .collect();
                let idx = LineIndex::new(&kept);
                if idx.is_empty() {
                    return Ok(Probe::Empty(empty_msg(first, &spec.filter)));
                }
                Ok(Probe::NearestLine(idx))
            }
            _ => Err(kind_err(first, "points or lines")),
        },
        Measure::SumWithinKm(spec) => {
            let Geometry::Points(points) = &first.geometry else {
                return Err(kind_err(first, "points"));
            };
            let col = spec
                .field
                .as_deref()
                .map(|f| field_col(first, f, true))
                .transpose()?;
            let keep = select(first, &spec.filter)?;
            let mut pts = Vec::new();
            let mut values = Vec::new();
            for p in points.iter().filter(|p| keep[p.row]) {
                let v = match col {
                    Some(col) => first.attributes.get(p.row, col).as_f64(),
                    None => Some(1.0),
                };
                if let Some(v) = v {
                    pts.push((p.lon, p.lat));
                    values.push(v);
                }
            }
            Ok(Probe::SumWithin {
                index: PointIndex::new(&pts),
                values,
                radius_km: spec.radius_km,
            })
        }
        Measure::Attribute(field) => {
            let mut sources = Vec::new();
            for (k, layer) in layers.iter().enumerate() {
                let Geometry::Polygons(polys) = &layer.geometry else {
                    return Err(kind_err(layer, "polygons"));
                };
                let src = c.source(k);
                let standardise = src.and_then(|s| s.standardise.clone());
                let numeric = standardise.as_ref().unwrap_or(&c.standardise).is_numeric();
                let field = src.and_then(|s| s.field.as_deref()).unwrap_or(field);
                let col = field_col(layer, field, numeric)?;
                let column = (0..layer.attributes.len())
                    .map(|r| layer.attributes.get(r, col).clone())
                    .collect();
                sources.push(AttributeSource {
                    index: PolygonIndex::new(polys.clone()),
                    column,
                    standardise,
                });
            }
            Ok(Probe::Attribute(sources))
        }
        Measure::Inside(spec) => {
            let mut indexes = Vec::new();
            for layer in layers {
                let Geometry::Polygons(polys) = &layer.geometry else {
                    return Err(kind_err(layer, "polygons"));
                };
                let keep = select(layer, &spec.filter)?;
                indexes.push(PolygonIndex::new(
                    polys.iter().filter(|p| keep[p.row]).cloned().collect(),
                ));
            }
            Ok(Probe::Inside(indexes))
        }
        Measure::Raster(_) => match &first.geometry {
            Geometry::Raster(r) => Ok(Probe::Raster(r.clone())),
            _ => Err(kind_err(first, "raster")),
        },
    }
}
