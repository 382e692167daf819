//! The engine: a profile bound to indexed layers; sites → values → scores → results.
//!
//! [`Engine::new`] checks the profile against the layers (every layer exists and has the
//! right kind, every field exists and has the right type), loads each layer once and builds
//! its index. [`Engine::evaluate`] is then a pure function of a site's position, safe to call
//! from many threads.

use crate::error::{Error, ErrorKind, Result};
use crate::geodesy::UnitVector;
use crate::index::{LineIndex, PointIndex, PolygonIndex};
use crate::layers::{Geometry, Layer, LayerKind, LayerSet, Raster, Value};
use crate::profile::{
    Aggregation, Criterion, Filter, Measure, Profile, Standardise, UnknownPolicy, aggregation_for,
};
use crate::text::{did_you_mean, format_number};
use rayon::prelude::*;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

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

/// A site being measured: its position and, computed once when a measure first needs it,
/// its unit vector (shared by the geodesic measures).
struct At {
    lon: f64,
    lat: f64,
    vector: std::cell::OnceCell<UnitVector>,
}

impl At {
    fn new(lon: f64, lat: f64) -> Self {
        At {
            lon,
            lat,
            vector: std::cell::OnceCell::new(),
        }
    }

    fn vector(&self) -> UnitVector {
        *self
            .vector
            .get_or_init(|| crate::geodesy::unit_vector(self.lon, self.lat))
    }
}

/// A raw value: a number, or an attribute borrowed from its layer.
enum Raw<'a> {
    Num(f64),
    Val(&'a Value),
}

impl Raw<'_> {
    fn as_f64(&self) -> Option<f64> {
        match self {
            Raw::Num(x) => Some(*x),
            Raw::Val(v) => v.as_f64(),
        }
    }
    fn to_value(&self) -> Value {
        match self {
            Raw::Num(x) => Value::Num(*x),
            Raw::Val(v) => (*v).clone(),
        }
    }
}

/// Why a value is UNKNOWN, formatted only when a result is explained.
#[derive(Debug, Clone, Copy)]
enum Why {
    Coverage,
    Empty,
    Outside,
}

/// The outcome of [`Engine::score_only`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quick {
    /// ok / excluded / unknown.
    pub status: Status,
    /// Total score of `ok` sites.
    pub score: Option<f64>,
    /// Bit `k` set: constraint `k` failed (constraints beyond 63 share bit 63).
    pub failed: u64,
    /// Bit `i` set: criterion `i` was UNKNOWN (criteria beyond 63 share bit 63).
    pub unknown: u64,
}

struct AttributeSource {
    index: PolygonIndex,
    column: Vec<Value>,
    standardise: Option<Standardise>,
}

enum Probe {
    NearestPoint(Box<PointIndex>),
    NearestLine(LineIndex),
    SumWithin {
        index: crate::index::RadiusSum,
    },
    Attribute(Vec<AttributeSource>),
    Inside(Vec<PolygonIndex>),
    Raster(Arc<Raster>),
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
    /// For each criterion, the constraints on it.
    constraints_of: Vec<Vec<usize>>,
    /// Criterion indexes in the order [`Engine::score_only`] measures them: those with
    /// constraints first, so that a site already excluded can skip the rest.
    order: Vec<usize>,
    /// Per criterion: always known (its measure and standardisation never fail) and without
    /// a constraint, so that an excluded site need not measure it — nothing reported about
    /// the site would change.
    skippable: Vec<bool>,
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

impl Engine {
    /// Check `profile` against `layers`, load what it uses and build the indexes.
    pub fn new(profile: Profile, layers: &LayerSet) -> Result<Engine> {
        let aggregation =
            aggregation_for(&profile.method).map_err(|m| Error::new(ErrorKind::Config, m))?;
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
        // The layers the profile reads (and their coverage layers), each read once.
        let mut names: Vec<&str> = Vec::new();
        for c in &profile.criteria {
            for name in c.layer_names() {
                let cov = layers.spec(name).and_then(|s| s.coverage.as_ref());
                for n in std::iter::once(name).chain(cov.map(|c| c.layer.as_str())) {
                    if layers.spec(n).is_some() && !names.contains(&n) {
                        names.push(n);
                    }
                }
            }
        }
        // Note: `LayerSet::load` runs inside a `OnceLock` initialisation on a rayon worker, so
        // it must not use rayon itself: while waiting for nested jobs the worker could steal
        // another criterion's task, which would wait on the same initialisation: a deadlock.
        let cells: HashMap<&str, OnceLock<Result<Arc<Layer>>>> =
            names.iter().map(|n| (*n, OnceLock::new())).collect();
        let get = |name: &str| -> Result<Arc<Layer>> {
            match cells.get(name) {
                Some(cell) => cell.get_or_init(|| layers.load(name).map(Arc::new)).clone(),
                None => layers.load(name).map(Arc::new),
            }
        };
        // Criteria are built in parallel, each as soon as its layers are read (a layer two
        // criteria share is read once; the second waits for it). The first error in profile
        // order wins.
        let built: Vec<Result<Compiled>> = profile
            .criteria
            .par_iter()
            .map(|c| -> Result<Compiled> {
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
                }
                let layer_refs = c
                    .layer_names()
                    .iter()
                    .map(|n| get(n))
                    .collect::<Result<Vec<_>>>()?;
                let probe = compile(c, &layer_refs).map_err(|m| profile_err(c, m))?;
                let coverage = match &layer_refs[0].spec.coverage {
                    Some(cov) if layer_refs.len() == 1 => {
                        let cov_layer = get(&cov.layer)?;
                        let Geometry::Polygons(polys) = &cov_layer.geometry else {
                            return Err(profile_err(
                                c,
                                format!("coverage layer \"{}\" must be polygons", cov.layer),
                            ));
                        };
                        let col =
                            cov_layer
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
                            PolygonIndex::new(&kept),
                            format!("outside the coverage of layer {}", layer_refs[0].name),
                        ))
                    }
                    _ => None,
                };
                Ok(Compiled {
                    probe,
                    layer_names: layer_refs.iter().map(|l| l.name.clone()).collect(),
                    coverage,
                    policy: c.unknown.unwrap_or(profile.unknown),
                })
            })
            .collect();
        let compiled = built.into_iter().collect::<Result<Vec<_>>>()?;
        let loaded: Vec<Arc<Layer>> = names.iter().map(|n| get(n)).collect::<Result<_>>()?;
        let mut infos: Vec<LayerInfo> = loaded
            .iter()
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
        let constraints_of = profile
            .criteria
            .iter()
            .map(|c| {
                profile
                    .constraints
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| k.criterion == c.id())
                    .map(|(k, _)| k)
                    .collect()
            })
            .collect::<Vec<Vec<usize>>>();
        let (mut order, rest): (Vec<usize>, Vec<usize>) =
            (0..compiled.len()).partition(|&i| !constraints_of[i].is_empty());
        order.extend(rest);
        let skippable = compiled
            .iter()
            .zip(&profile.criteria)
            .zip(&constraints_of)
            .map(|((c, crit), constrained)| {
                let measured = match &c.probe {
                    Probe::SumWithin { .. } | Probe::Inside(_) => true,
                    Probe::NearestPoint(idx) => !idx.is_empty(),
                    Probe::NearestLine(idx) => !idx.is_empty(),
                    _ => false,
                };
                measured
                    && c.coverage.is_none()
                    && crit.standardise.scores_every_number()
                    && constrained.is_empty()
            })
            .collect();
        Ok(Engine {
            constraints_of,
            order,
            skippable,
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

    /// The raw value of criterion `i` at a site, borrowed where it is an attribute; the error
    /// says why it is UNKNOWN (formatted only when asked, see [`Why`]).
    fn measure(&self, i: usize, at: &At) -> std::result::Result<(Raw<'_>, Option<u16>), Why> {
        let (lon, lat) = (at.lon, at.lat);
        let c = &self.compiled[i];
        if let Some((cov, _)) = &c.coverage {
            if cov.containing(lon, lat).is_none() {
                return Err(Why::Coverage);
            }
        }
        match &c.probe {
            Probe::Empty(_) => Err(Why::Empty),
            Probe::NearestPoint(idx) => idx
                .nearest_km_from(lon, lat, at.vector())
                .map(|km| (Raw::Num(km), None))
                .ok_or(Why::Empty),
            Probe::NearestLine(idx) => idx
                .nearest(lon, lat)
                .map(|(_, km)| (Raw::Num(km), None))
                .ok_or(Why::Empty),
            Probe::SumWithin { index, .. } => {
                Ok((Raw::Num(index.sum_from(lon, lat, at.vector())), None))
            }
            Probe::Attribute(sources) => {
                for (k, s) in sources.iter().enumerate() {
                    if let Some(row) = s.index.containing(lon, lat) {
                        if !s.column[row].is_null() {
                            return Ok((Raw::Val(&s.column[row]), Some(k as u16)));
                        }
                    }
                }
                Err(Why::Outside)
            }
            Probe::Inside(indexes) => {
                let inside = indexes.iter().any(|idx| idx.containing(lon, lat).is_some());
                Ok((Raw::Num(if inside { 1.0 } else { 0.0 }), None))
            }
            Probe::Raster(r) => r
                .sample(lon, lat)
                .map(|v| (Raw::Num(v), None))
                .ok_or(Why::Outside),
        }
    }

    fn why(&self, i: usize, why: Why) -> String {
        let c = &self.compiled[i];
        match (why, &c.probe) {
            (Why::Coverage, _) => c
                .coverage
                .as_ref()
                .map(|(_, w)| w.clone())
                .unwrap_or_default(),
            (Why::Empty, Probe::Empty(w)) => w.clone(),
            (Why::Empty, _) => "no feature".into(),
            (Why::Outside, Probe::Raster(_)) => {
                format!("no data: outside raster {} or nodata", c.layer_names[0])
            }
            (Why::Outside, _) => format!(
                "no data: site outside {} or value empty",
                c.layer_names.join(", ")
            ),
        }
    }

    fn standardise(&self, i: usize, raw: &Raw<'_>, source: Option<u16>) -> Option<f64> {
        let st = match (&self.compiled[i].probe, source) {
            (Probe::Attribute(sources), Some(k)) => sources[k as usize]
                .standardise
                .as_ref()
                .unwrap_or(&self.profile.criteria[i].standardise),
            _ => &self.profile.criteria[i].standardise,
        };
        match raw {
            Raw::Num(x) => st.score_number(*x),
            Raw::Val(v) => st.score(v),
        }
    }

    /// Read the index memory the measures at `sites` (lon, lat) will read first (raster
    /// pixels, polygon grid cells), without evaluating anything. Touching a group of
    /// neighbouring sites before scoring them lets their cache misses overlap: all addresses
    /// are computed first, then read in one tight loop. Returns a value only to keep the
    /// reads.
    pub fn touch(&self, sites: &[(f64, f64)]) -> f64 {
        const GROUP: usize = 32;
        let mut t = 0.0;
        let mut at = [0usize; GROUP];
        for group in sites.chunks(GROUP) {
            let at = &mut at[..group.len()];
            for c in &self.compiled {
                match &c.probe {
                    Probe::Raster(r) => {
                        for (k, &(lon, lat)) in at.iter_mut().zip(group) {
                            *k = r.index_of(lon, lat).unwrap_or(0);
                        }
                        t += at.iter().map(|&k| r.pixel(k)).sum::<f64>();
                    }
                    Probe::Attribute(sources) => {
                        if let Some(s) = sources.first() {
                            for (k, &(lon, lat)) in at.iter_mut().zip(group) {
                                *k = s.index.cell_of(lon, lat);
                            }
                            t += at.iter().map(|&k| f64::from(s.index.touch(k))).sum::<f64>();
                        }
                    }
                    _ => {}
                }
            }
        }
        t
    }

    /// Status and total score of a site without explanations: no allocation for up to 16
    /// criteria. Also returns bit masks of the failed constraints and the UNKNOWN criteria
    /// (first 64). [`Engine::evaluate`] gives the same status and score, explained.
    pub fn score_only(&self, lon: f64, lat: f64) -> Quick {
        self.quick(lon, lat, None)
    }

    /// [`Engine::score_only`], also writing each criterion's standardised score into
    /// `scores` (NaN where UNKNOWN, before any policy substitution).
    pub fn score_detail(&self, lon: f64, lat: f64, scores: &mut [f64]) -> Quick {
        self.quick(lon, lat, Some(scores))
    }

    fn quick(&self, lon: f64, lat: f64, mut known: Option<&mut [f64]>) -> Quick {
        let n = self.compiled.len();
        let mut scores_buf = [0.0f64; 16];
        let mut weights_buf = [0.0f64; 16];
        let mut contrib_buf = [0.0f64; 16];
        let mut heap_bufs;
        let (scores, weights, contrib): (&mut [f64], &mut [f64], &mut [f64]) = if n <= 16 {
            (
                &mut scores_buf[..n],
                &mut weights_buf[..n],
                &mut contrib_buf[..n],
            )
        } else {
            heap_bufs = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            (
                &mut heap_bufs.0[..],
                &mut heap_bufs.1[..],
                &mut heap_bufs.2[..],
            )
        };
        let mut q = Quick {
            status: Status::Ok,
            score: None,
            failed: 0,
            unknown: 0,
        };
        let mut exclude_unknown = false;
        let at = At::new(lon, lat);
        for &i in &self.order {
            // An excluded site may skip a measure only when nothing reported depends on it:
            // always known (never UNKNOWN) and no constraint of its own (whose failure is
            // counted, so it must be checked).
            if q.failed != 0 && known.is_none() && self.skippable[i] {
                continue;
            }
            let (raw_num, score) = match self.measure(i, &at) {
                Ok((raw, src)) => (raw.as_f64(), self.standardise(i, &raw, src)),
                Err(_) => (None, None),
            };
            for &k in &self.constraints_of[i] {
                if let Some(v) = raw_num {
                    if !self.profile.constraints[k].passes(v) {
                        q.failed |= 1u64 << k.min(63);
                    }
                }
            }
            let w = self.weights[i];
            if let Some(k) = known.as_deref_mut() {
                k[i] = score.unwrap_or(f64::NAN);
            }
            match score {
                Some(s) => {
                    scores[i] = s;
                    weights[i] = w;
                }
                None => {
                    q.unknown |= 1u64 << i.min(63);
                    match self.compiled[i].policy {
                        UnknownPolicy::Exclude => exclude_unknown = true,
                        UnknownPolicy::Ignore => weights[i] = 0.0,
                        p => {
                            scores[i] = p.substitute().unwrap_or(0.5);
                            weights[i] = w;
                        }
                    }
                }
            }
        }
        // In profile order (zeros for criteria left out), whatever order they were measured in.
        let weight_left = weights.iter().fold(0.0, |a, w| a + w);
        q.status = if q.failed != 0 {
            Status::Excluded
        } else if exclude_unknown || weight_left <= 0.0 {
            Status::Unknown
        } else {
            Status::Ok
        };
        if q.status == Status::Ok {
            if (weight_left - 1.0).abs() > 1e-12 {
                for w in weights.iter_mut() {
                    *w /= weight_left;
                }
            }
            q.score = Some(self.aggregation.aggregate(scores, weights, contrib));
        }
        q
    }

    /// Evaluate one site at (lon, lat) in degrees.
    pub fn evaluate(&self, lon: f64, lat: f64) -> Evaluation {
        let n = self.compiled.len();
        let criteria = &self.profile.criteria;
        let mut values = Vec::with_capacity(n);
        let mut notes = Vec::new();
        let mut exclude_unknown = false;
        let mut ignored = vec![false; n];
        let at = At::new(lon, lat);
        for (i, c) in criteria.iter().enumerate() {
            let (raw, source, score, unknown) = match self.measure(i, &at) {
                Ok((r, src)) => match self.standardise(i, &r, src) {
                    Some(sc) => (r.to_value(), src, Some(sc), None),
                    None => {
                        let v = r.to_value();
                        let why = format!("no score for value \"{v}\"");
                        (v, src, None, Some(why))
                    }
                },
                Err(why) => (Value::Null, None, None, Some(self.why(i, why))),
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
                Ok(Probe::NearestPoint(Box::new(PointIndex::new(&pts))))
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
                index: crate::index::RadiusSum::new(&pts, &values, spec.radius_km),
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
                    index: PolygonIndex::new(polys),
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
                let kept: Vec<_> = polys.iter().filter(|p| keep[p.row]).cloned().collect();
                indexes.push(PolygonIndex::new(&kept));
            }
            Ok(Probe::Inside(indexes))
        }
        Measure::Raster(_) => match &first.geometry {
            Geometry::Raster(r) => Ok(Probe::Raster(r.clone())),
            _ => Err(kind_err(first, "raster")),
        },
    }
}
