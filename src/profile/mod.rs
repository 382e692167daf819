//! Profiles: criteria, weights, aggregation, constraints and the missing-data policy, in TOML.
//!
//! ```toml
//! name = "ai-campus"
//! description = "100 MW IT load AI campus, evaporative cooling"
//! method = "weighted-sum"
//! unknown = "exclude"          # or "neutral" / { penalty = 0.2 }
//!
//! [[criterion]]
//! id = "grid_distance"
//! layer = "power_plants"
//! measure = { nearest_km = { where = "capacity_mw >= 100" } }
//! standardise = { linear = { best = 5.0, worst = 150.0 } }     # km
//! weight = 3
//!
//! [[constraint]]
//! criterion = "grid_distance"
//! max = 150.0
//! reason = "no plant of 100 MW or more within 150 km"
//! ```
//!
//! Measures (what a criterion reads for one site, and its unit) are documented one per file
//! in [`crate::measure`].
//!
//! Missing data: `unknown = "exclude"` makes a site with any UNKNOWN criterion UNKNOWN (not
//! ranked); `"neutral"` scores an UNKNOWN criterion 0.5; `{ penalty = p }` scores it
//! `0.5 - p`. Outputs always list the UNKNOWN criteria and the policy applied.

mod aggregate;
pub mod ahp;
mod standardise;

pub use aggregate::{
    Aggregate, Fit, Fuzzy, METHODS, Method, Owa, Topsis, WeightedProduct, WeightedSum, method_for,
};
pub use standardise::Standardise;

use crate::error::{Error, ErrorKind, Result, line_of_offset, toml_error};
pub use crate::measure::Measure;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::collections::HashSet;
use std::fmt;
use std::path::Path;

/// Profiles shipped with standort, by name: `(name, TOML text)`.
pub const EMBEDDED_PROFILES: &[(&str, &str)] = &[
    (
        "ai-campus",
        include_str!("../../data/profiles/ai-campus.toml"),
    ),
    (
        "ai-campus-dry-cooling",
        include_str!("../../data/profiles/ai-campus-dry-cooling.toml"),
    ),
    (
        "ai-campus-ahp",
        include_str!("../../data/profiles/ai-campus-ahp.toml"),
    ),
    (
        "ai-campus-topsis",
        include_str!("../../data/profiles/ai-campus-topsis.toml"),
    ),
    (
        "ai-campus-owa",
        include_str!("../../data/profiles/ai-campus-owa.toml"),
    ),
    (
        "ai-campus-product",
        include_str!("../../data/profiles/ai-campus-product.toml"),
    ),
    (
        "ai-campus-fuzzy",
        include_str!("../../data/profiles/ai-campus-fuzzy.toml"),
    ),
];

/// What an UNKNOWN criterion does to a site.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum UnknownPolicy {
    /// The site is UNKNOWN and not ranked.
    #[default]
    Exclude,
    /// The criterion scores 0.5.
    Neutral,
    /// The criterion scores 0.5 minus the penalty.
    Penalty(f64),
    /// The criterion is left out at that site; the other weights are renormalised.
    Ignore,
}

impl UnknownPolicy {
    /// The score an UNKNOWN criterion gets: `None` when it gets none (exclude, ignore).
    pub fn substitute(&self) -> Option<f64> {
        match self {
            UnknownPolicy::Exclude | UnknownPolicy::Ignore => None,
            UnknownPolicy::Neutral => Some(0.5),
            UnknownPolicy::Penalty(p) => Some((0.5 - p).max(0.0)),
        }
    }
}

impl fmt::Display for UnknownPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnknownPolicy::Exclude => f.write_str("exclude"),
            UnknownPolicy::Neutral => f.write_str("neutral"),
            UnknownPolicy::Penalty(p) => write!(f, "penalty {p}"),
            UnknownPolicy::Ignore => f.write_str("ignore"),
        }
    }
}

impl<'de> Deserialize<'de> for UnknownPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UnknownPolicy;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"exclude\", \"neutral\", \"ignore\" or { penalty = 0.2 }")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<UnknownPolicy, E> {
                match s {
                    "exclude" => Ok(UnknownPolicy::Exclude),
                    "neutral" => Ok(UnknownPolicy::Neutral),
                    "ignore" => Ok(UnknownPolicy::Ignore),
                    other => Err(E::custom(format!(
                        "unknown = \"{other}\": expected \"exclude\", \"neutral\", \"ignore\" or {{ penalty = 0.2 }}"
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<UnknownPolicy, A::Error> {
                let mut penalty = None;
                while let Some(k) = map.next_key::<String>()? {
                    if k != "penalty" {
                        return Err(de::Error::custom(format!(
                            "unknown: unexpected key \"{k}\" (expected penalty)"
                        )));
                    }
                    penalty = Some(map.next_value::<f64>()?);
                }
                let p = penalty.ok_or_else(|| de::Error::custom("unknown: missing penalty"))?;
                if !(0.0..=0.5).contains(&p) {
                    return Err(de::Error::custom(format!(
                        "unknown penalty {p} is outside 0..0.5"
                    )));
                }
                Ok(UnknownPolicy::Penalty(p))
            }
        }
        d.deserialize_any(V)
    }
}

/// One criterion of a profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// Identifier, used in output column names.
    pub id: toml::Spanned<String>,
    /// Human-readable label.
    #[serde(default)]
    pub label: Option<String>,
    /// The layer read (or use `layers`).
    #[serde(default)]
    pub layer: Option<String>,
    /// Layers read most specific first (for `attribute`).
    #[serde(default)]
    pub layers: Option<Vec<String>>,
    /// What is measured.
    pub measure: Measure,
    /// How the raw value maps to 0..1.
    pub standardise: Standardise,
    /// Relative weight (normalised to sum 1): as given (`weight`, default 1) or derived
    /// from the profile's `[ahp]` comparisons.
    #[serde(skip)]
    pub weight: f64,
    /// The weight as written in the profile, if it was.
    #[serde(rename = "weight", default)]
    pub weight_given: Option<toml::Spanned<f64>>,
    /// Unit of the raw value, used in column names (`km` for `nearest_km` by default).
    #[serde(default)]
    pub unit: Option<String>,
    /// Sources with their own field, standardisation and note, most specific first (for
    /// `attribute`; instead of `layer`/`layers`).
    #[serde(default)]
    pub sources: Option<Vec<Source>>,
    /// What an UNKNOWN value of this criterion does (default: the profile's `unknown`).
    #[serde(default)]
    pub unknown: Option<UnknownPolicy>,
}

/// One source of an `attribute` criterion: a layer, optionally with its own field,
/// standardisation, unit and a note shown wherever its values are used (e.g. "proxy").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The polygon layer.
    pub layer: String,
    /// The field read (default: the measure's).
    #[serde(default)]
    pub field: Option<String>,
    /// Standardisation of this source's values (default: the criterion's).
    #[serde(default)]
    pub standardise: Option<Standardise>,
    /// Unit of this source's values (default: the criterion's).
    #[serde(default)]
    pub unit: Option<String>,
    /// Shown with every value from this source, e.g. "proxy: GDP per capita, not land price".
    #[serde(default)]
    pub note: Option<String>,
}

impl Criterion {
    /// The criterion's id.
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }

    /// The layers read, in order.
    pub fn layer_names(&self) -> Vec<&str> {
        match (&self.layer, &self.layers, &self.sources) {
            (Some(l), _, _) => vec![l.as_str()],
            (None, Some(ls), _) => ls.iter().map(String::as_str).collect(),
            (None, None, Some(ss)) => ss.iter().map(|s| s.layer.as_str()).collect(),
            (None, None, None) => vec![],
        }
    }

    /// The source overrides for the `k`-th layer, if declared with `sources`.
    pub fn source(&self, k: usize) -> Option<&Source> {
        self.sources.as_ref().and_then(|s| s.get(k))
    }

    /// True when a source declares a unit other than the criterion's: outputs then name the
    /// value column `{id}_value` and add `{id}_unit`.
    pub fn has_mixed_units(&self) -> bool {
        self.sources
            .iter()
            .flatten()
            .any(|s| s.unit.as_deref().is_some_and(|u| u != self.unit()))
    }

    /// The unit of a value from the `k`-th source.
    pub fn source_unit(&self, k: Option<u16>) -> &str {
        k.and_then(|k| self.source(usize::from(k)))
            .and_then(|s| s.unit.as_deref())
            .unwrap_or(self.unit())
    }

    /// True when the criterion reads more than one layer or declares sources: outputs then
    /// say which source gave each value.
    pub fn has_sources(&self) -> bool {
        self.sources.is_some() || self.layers.as_ref().is_some_and(|l| l.len() > 1)
    }

    /// The unit of the raw value (may be empty).
    pub fn unit(&self) -> &str {
        match (&self.unit, &self.measure) {
            (Some(u), _) => u.as_str(),
            (None, m) => m.default_unit(),
        }
    }

    /// The output column of the raw value: `{id}_{unit}`, or `{id}` without a unit; a unit
    /// already ending the id is not repeated.
    pub fn value_column(&self) -> String {
        if self.has_mixed_units() {
            return format!("{}_value", self.id());
        }
        let unit: String = self
            .unit()
            .to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '_' })
            .collect();
        if unit.is_empty() || self.id().ends_with(&format!("_{unit}")) {
            self.id().to_string()
        } else {
            format!("{}_{unit}", self.id())
        }
    }
}

/// A hard gate on a criterion's raw value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraint {
    /// The criterion whose raw value is checked.
    pub criterion: String,
    /// Smallest allowed value (inclusive).
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest allowed value (inclusive).
    #[serde(default)]
    pub max: Option<f64>,
    /// Why a site failing it is excluded, for people.
    pub reason: String,
}

impl Constraint {
    /// True when `value` passes.
    pub fn passes(&self, value: f64) -> bool {
        self.min.is_none_or(|m| value >= m) && self.max.is_none_or(|m| value <= m)
    }
}

/// A scoring profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Short name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Aggregation method (`weighted-sum`).
    #[serde(default = "default_method")]
    pub method: String,
    /// Missing-data policy.
    #[serde(default)]
    pub unknown: UnknownPolicy,
    /// Criteria.
    #[serde(rename = "criterion", default)]
    pub criteria: Vec<Criterion>,
    /// Hard constraints.
    #[serde(rename = "constraint", default)]
    pub constraints: Vec<Constraint>,
    /// Planning parameters for `standort plan` (campus size, PUE, headroom share, ...).
    #[serde(default)]
    pub plan: Option<crate::plan::PlanSection>,
    /// Pairwise comparisons the weights are derived from (instead of `weight`).
    #[serde(default)]
    pub ahp: Option<toml::Spanned<ahp::AhpSection>>,
    /// Parameters of method `owa` (orness or order weights).
    #[serde(default)]
    pub owa: Option<toml::Spanned<toml::Table>>,
    /// Parameters of method `fuzzy` (operator, gamma).
    #[serde(default)]
    pub fuzzy: Option<toml::Spanned<toml::Table>>,
    /// Parameters of method `topsis` (normalise).
    #[serde(default)]
    pub topsis: Option<toml::Spanned<toml::Table>>,
    /// The weights derived from `[ahp]`, with their consistency.
    #[serde(skip)]
    pub ahp_weights: Option<ahp::AhpWeights>,
}

fn default_method() -> String {
    "weighted-sum".into()
}

impl Profile {
    /// Parse and validate a profile; `source` names it in errors.
    pub fn parse(text: &str, source: &Path) -> Result<Profile> {
        let mut profile: Profile =
            toml::from_str(text).map_err(|e| toml_error(source, text, &e))?;
        profile.set_weights(text, source)?;
        profile.validate(text, source)?;
        if let Err(e) = crate::plan::PlanParams::from_section(profile.plan.as_ref()) {
            return Err(Error::at(
                ErrorKind::Config,
                source.display().to_string(),
                e.message(),
            ));
        }
        Ok(profile)
    }

    /// Read a profile file.
    pub fn from_file(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
        Profile::parse(&text, path)
    }

    /// An embedded profile by name.
    pub fn embedded(name: &str) -> Result<Profile> {
        match EMBEDDED_PROFILES.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => Profile::parse(text, Path::new(&format!("<profile {n}>"))),
            None => {
                let names = EMBEDDED_PROFILES.iter().map(|(n, _)| *n);
                let hint = crate::text::did_you_mean(name, names.clone())
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_default();
                Err(Error::usage(format!(
                    "no profile named \"{name}\" (built in: {}; or give a .toml file){hint}",
                    names.collect::<Vec<_>>().join(", ")
                )))
            }
        }
    }

    /// Each criterion's weight: as given, or derived from `[ahp]` (then no criterion may
    /// give one, and an inconsistent matrix is refused unless `allow_inconsistent`).
    fn set_weights(&mut self, text: &str, source: &Path) -> Result<()> {
        let at = |offset: Option<usize>, msg: String| {
            let loc = match offset {
                Some(o) => format!("{}:{}", source.display(), line_of_offset(text, o)),
                None => source.display().to_string(),
            };
            Error::at(ErrorKind::Config, loc, msg)
        };
        let Some(section) = &self.ahp else {
            for c in &mut self.criteria {
                c.weight = c.weight_given.as_ref().map_or(1.0, |w| *w.get_ref());
            }
            return Ok(());
        };
        // `weight = 0` keeps a criterion out of the comparisons (a gate for a constraint);
        // any other weight would contradict the derived one.
        let gate = |c: &Criterion| c.weight_given.as_ref().is_some_and(|w| *w.get_ref() == 0.0);
        if let Some(c) = self
            .criteria
            .iter()
            .find(|c| c.weight_given.is_some() && !gate(c))
        {
            let w = c.weight_given.as_ref().map(|w| w.span().start);
            return Err(at(
                w,
                format!(
                    "criterion \"{}\" gives a weight, but [ahp] derives the weights: remove it (weight = 0 keeps a criterion out of the comparisons)",
                    c.id()
                ),
            ));
        }
        let compared: Vec<usize> = (0..self.criteria.len())
            .filter(|&i| !gate(&self.criteria[i]))
            .collect();
        let ids: Vec<&str> = compared.iter().map(|&i| self.criteria[i].id()).collect();
        let matrix = ahp::matrix_of(section, &ids).map_err(|(o, m)| at(o, m))?;
        let derived = ahp::derive(&matrix);
        if derived.cr > ahp::MAX_CR && !section.get_ref().allow_inconsistent {
            let worst = derived.worst.map(|[i, j, k]| {
                let show = crate::text::format_number;
                format!(
                    "; most inconsistent: {a} vs {b} {} and {b} vs {c} {} imply {a} vs {c} {}, but it is {}",
                    show(matrix[i][j]),
                    show(matrix[j][k]),
                    show(matrix[i][j] * matrix[j][k]),
                    show(matrix[i][k]),
                    a = ids[i],
                    b = ids[j],
                    c = ids[k],
                )
            });
            return Err(at(
                Some(section.span().start),
                format!(
                    "[ahp] comparisons are inconsistent: consistency ratio {:.3} > {} (set allow_inconsistent = true to use them){}",
                    derived.cr,
                    ahp::MAX_CR,
                    worst.unwrap_or_default()
                ),
            ));
        }
        for c in &mut self.criteria {
            c.weight = 0.0;
        }
        for (&i, w) in compared.iter().zip(&derived.weights) {
            self.criteria[i].weight = *w;
        }
        self.ahp_weights = Some(derived);
        Ok(())
    }

    /// The aggregation method, built from `method` and its section.
    pub fn aggregation(&self) -> std::result::Result<Box<dyn Method>, String> {
        let options = self.method_section().map(|t| t.get_ref());
        method_for(&self.method, options, self.criteria.len())
    }

    /// The section of the profile's method (`[owa]`, `[fuzzy]`, `[topsis]`), if given.
    fn method_section(&self) -> Option<&toml::Spanned<toml::Table>> {
        match self.method.as_str() {
            "owa" => self.owa.as_ref(),
            "fuzzy" => self.fuzzy.as_ref(),
            "topsis" => self.topsis.as_ref(),
            _ => None,
        }
    }

    /// Weights normalised to sum 1, in criterion order.
    pub fn normalised_weights(&self) -> Vec<f64> {
        let total: f64 = self.criteria.iter().map(|c| c.weight).sum();
        self.criteria.iter().map(|c| c.weight / total).collect()
    }

    fn validate(&self, text: &str, source: &Path) -> Result<()> {
        let file = source.display().to_string();
        let err = |msg: String| Error::at(ErrorKind::Config, file.clone(), msg);
        let crit_err = |c: &Criterion, msg: String| {
            let line = line_of_offset(text, c.id.span().start);
            Error::at(
                ErrorKind::Config,
                format!("{file}:{line}"),
                format!("criterion \"{}\": {msg}", c.id()),
            )
        };
        for (section, given) in [
            ("owa", &self.owa),
            ("fuzzy", &self.fuzzy),
            ("topsis", &self.topsis),
        ] {
            if given.is_some() && self.method != section {
                return Err(err(format!(
                    "[{section}] is given, but method is \"{}\" (set method = \"{section}\" or remove it)",
                    self.method
                )));
            }
        }
        self.aggregation()
            .map_err(|m| match self.method_section() {
                Some(t) => Error::at(
                    ErrorKind::Config,
                    format!("{file}:{}", line_of_offset(text, t.span().start)),
                    m,
                ),
                None => err(m),
            })?;
        if self.criteria.is_empty() {
            return Err(err("the profile has no [[criterion]]".into()));
        }
        let mut ids = HashSet::new();
        for c in &self.criteria {
            Self::check_criterion(c, &mut ids, &crit_err)?;
        }
        if self.criteria.iter().all(|c| c.weight == 0.0) {
            return Err(err(
                "all criterion weights are zero; at least one must be positive".into(),
            ));
        }
        for k in &self.constraints {
            Self::check_constraint(k, &ids, &err)?;
        }
        Ok(())
    }

    /// Check one criterion on its own; `ids` are those seen before it.
    fn check_criterion<'a>(
        c: &'a Criterion,
        ids: &mut HashSet<&'a str>,
        crit_err: &dyn Fn(&Criterion, String) -> Error,
    ) -> Result<()> {
        let id = c.id();
        if id.is_empty() || !id.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            return Err(crit_err(
                c,
                "ids may hold only letters, digits and _".into(),
            ));
        }
        if !ids.insert(id) {
            return Err(crit_err(c, "the id is used twice".into()));
        }
        let given = [c.layer.is_some(), c.layers.is_some(), c.sources.is_some()];
        match given.iter().filter(|g| **g).count() {
            0 => return Err(crit_err(c, "needs a layer (layer = \"...\")".into())),
            1 => {}
            _ => {
                return Err(crit_err(c, "give one of layer, layers or sources".into()));
            }
        }
        let n_layers = c.layer_names().len();
        if n_layers == 0 {
            return Err(crit_err(c, "layers is empty".into()));
        }
        if n_layers > 1 && !c.measure.reads_several_layers() {
            return Err(crit_err(
                c,
                format!(
                    "only attribute and inside measures read several layers, not {}",
                    c.measure.name()
                ),
            ));
        }
        if c.sources.is_some() && !c.measure.takes_sources() {
            return Err(crit_err(
                c,
                format!(
                    "sources are for attribute measures, not {}",
                    c.measure.name()
                ),
            ));
        }
        for s in c.sources.iter().flatten() {
            if s.standardise
                .as_ref()
                .is_some_and(Standardise::is_set_relative)
            {
                return Err(crit_err(
                    c,
                    format!(
                        "source {}: percentile and min_max standardise a criterion over the run's sites, not one source",
                        s.layer
                    ),
                ));
            }
            if let Some(st) = &s.standardise {
                st.validate()
                    .map_err(|e| crit_err(c, format!("source {}: {e}", s.layer)))?;
            }
        }
        if !c.weight.is_finite() || c.weight < 0.0 {
            return Err(crit_err(
                c,
                format!("weight {} must be zero or positive", c.weight),
            ));
        }
        c.measure.check().map_err(|e| crit_err(c, e))?;
        c.standardise.validate().map_err(|e| crit_err(c, e))?;
        Ok(())
    }

    /// Check one constraint against the criteria's ids.
    fn check_constraint(
        k: &Constraint,
        ids: &HashSet<&str>,
        err: &dyn Fn(String) -> Error,
    ) -> Result<()> {
        if !ids.contains(k.criterion.as_str()) {
            let hint = crate::text::did_you_mean(&k.criterion, ids.iter().copied())
                .map(|s| format!("; did you mean \"{s}\"?"))
                .unwrap_or_default();
            return Err(err(format!(
                "constraint on unknown criterion \"{}\"{hint}",
                k.criterion
            )));
        }
        if k.min.is_none() && k.max.is_none() {
            return Err(err(format!(
                "constraint on \"{}\" needs min or max",
                k.criterion
            )));
        }
        if let (Some(lo), Some(hi)) = (k.min, k.max) {
            if lo > hi {
                return Err(err(format!(
                    "constraint on \"{}\" has min {lo} above max {hi}: bounds are inverted",
                    k.criterion
                )));
            }
        }
        if k.reason.trim().is_empty() {
            return Err(err(format!(
                "constraint on \"{}\" needs a reason",
                k.criterion
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
name = "t"
[[criterion]]
id = "grid"
layer = "plants"
measure = { nearest_km = { where = "capacity_mw >= 100" } }
standardise = { linear = { best = 10, worst = 110 } }
weight = 3
[[criterion]]
id = "water"
layers = ["a", "b"]
measure = { attribute = "bws" }
standardise = { linear = { best = 0, worst = 5 } }
[[constraint]]
criterion = "water"
max = 4.0
reason = "too dry"
"#;

    fn parse(text: &str) -> Result<Profile> {
        Profile::parse(text, Path::new("p.toml"))
    }

    #[test]
    fn parses_and_normalises() {
        let p = parse(BASE).unwrap();
        assert_eq!(p.criteria.len(), 2);
        assert_eq!(p.normalised_weights(), vec![0.75, 0.25]);
        assert_eq!(p.unknown, UnknownPolicy::Exclude);
        assert_eq!(p.criteria[0].value_column(), "grid_km");
        assert_eq!(p.criteria[1].value_column(), "water");
        assert_eq!(p.criteria[1].layer_names(), vec!["a", "b"]);
    }

    #[test]
    fn unknown_policies() {
        let p = parse(&BASE.replace("name = \"t\"", "name = \"t\"\nunknown = { penalty = 0.2 }"))
            .unwrap();
        assert_eq!(p.unknown, UnknownPolicy::Penalty(0.2));
        assert!((p.unknown.substitute().unwrap() - 0.3).abs() < 1e-12);
        let p =
            parse(&BASE.replace("name = \"t\"", "name = \"t\"\nunknown = \"neutral\"")).unwrap();
        assert_eq!(p.unknown.substitute(), Some(0.5));
        let p = parse(&BASE.replace("name = \"t\"", "name = \"t\"\nunknown = \"ignore\"")).unwrap();
        assert_eq!(p.unknown, UnknownPolicy::Ignore);
        let e =
            parse(&BASE.replace("name = \"t\"", "name = \"t\"\nunknown = \"skip\"")).unwrap_err();
        assert!(e.to_string().starts_with("p.toml:3: "), "{e}");
        // A criterion can override the profile's policy.
        let p = parse(&BASE.replace("weight = 3", "weight = 3\nunknown = \"neutral\"")).unwrap();
        assert_eq!(p.criteria[0].unknown, Some(UnknownPolicy::Neutral));
        assert_eq!(p.criteria[1].unknown, None);
    }

    #[test]
    fn errors_name_file_line_and_criterion() {
        let e = parse(&BASE.replace("weight = 3", "weight = -1")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.toml:4: criterion \"grid\": weight -1 must be zero or positive"
        );
        let e = parse(&BASE.replace("weight = 3", "weight = 0").replace(
            "[[criterion]]\nid = \"water\"",
            "[[criterion]]\nweight = 0\nid = \"water\"",
        ))
        .unwrap_err();
        assert!(
            e.to_string().contains("all criterion weights are zero"),
            "{e}"
        );
        let e =
            parse(&BASE.replace("best = 10, worst = 110", "best = 10, worst = 10")).unwrap_err();
        assert!(
            e.to_string().contains("criterion \"grid\": best and worst"),
            "{e}"
        );
        let e = parse(&BASE.replace("max = 4.0", "min = 5.0\nmax = 4.0")).unwrap_err();
        assert!(e.to_string().contains("inverted"), "{e}");
        let e = parse(&BASE.replace("criterion = \"water\"", "criterion = \"watr\"")).unwrap_err();
        assert!(e.to_string().contains("did you mean \"water\""), "{e}");
        let e = parse(&BASE.replace("nearest_km = {", "nearest = {")).unwrap_err();
        assert!(e.to_string().starts_with("p.toml:"), "{e}");
        let e = parse(&BASE.replace(">= 100", ">= lots")).unwrap_err();
        assert!(e.to_string().contains("where:"), "{e}");
        let e = parse(&BASE.replace("layers = [\"a\", \"b\"]", "")).unwrap_err();
        assert!(e.to_string().contains("needs a layer"), "{e}");
        let e = parse(
            &BASE
                .replace("method", "x")
                .replace("name = \"t\"", "name = \"t\"\nmethod = \"topsys\""),
        )
        .unwrap_err();
        assert!(e.to_string().contains("\"topsys\" is not available"), "{e}");
        let e = parse(&BASE.replace("name = \"t\"", "name = \"t\"\n[owa]\norness = 0.2\n[x]"))
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `x`"), "{e}");
        let e = parse(&format!("{BASE}[owa]\norness = 0.2\n")).unwrap_err();
        assert!(
            e.to_string()
                .contains("[owa] is given, but method is \"weighted-sum\""),
            "{e}"
        );
        let e = parse(&format!("method = \"owa\"\n{BASE}[owa]\norness = 2\n")).unwrap_err();
        assert!(e.to_string().contains("orness 2 is outside 0..1"), "{e}");
        assert!(e.to_string().starts_with("p.toml:19: "), "{e}");
    }

    #[test]
    fn ahp_derives_the_weights() {
        let no_weight = BASE.replace("weight = 3\n", "");
        let p = parse(&format!(
            "{no_weight}[ahp]\npairs = [[\"grid\", \"water\", 3]]\n"
        ))
        .unwrap();
        assert_eq!(p.normalised_weights(), vec![0.75, 0.25]);
        assert_eq!(p.ahp_weights.as_ref().unwrap().cr, 0.0);
        // A weight beside [ahp] is an error at the weight's line.
        let e = parse(&format!(
            "{BASE}[ahp]\npairs = [[\"grid\", \"water\", 3]]\n"
        ))
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("p.toml:8: criterion \"grid\" gives a weight"),
            "{e}"
        );
        let e = parse(&format!(
            "{no_weight}[ahp]\npairs = [[\"grid\", \"watr\", 3]]\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("did you mean \"water\""), "{e}");
    }

    #[test]
    fn inconsistent_ahp_is_refused_unless_allowed() {
        let three = format!(
            "{}[[criterion]]\nid = \"land\"\nlayer = \"l\"\nmeasure = {{ attribute = \"usd\" }}\nstandardise = {{ linear = {{ best = 0, worst = 9 }} }}\n",
            BASE.replace("weight = 3\n", "")
        );
        let pairs = "[ahp]\npairs = [[\"grid\", \"water\", 5], [\"water\", \"land\", 5], [\"grid\", \"land\", \"1/5\"]]\n";
        let e = parse(&format!("{three}{pairs}")).unwrap_err().to_string();
        assert!(e.contains("consistency ratio"), "{e}");
        assert!(
            e.contains("most inconsistent: grid vs water 5 and water vs land 5 imply grid vs land 25, but it is 0.2"),
            "{e}"
        );
        let p = parse(&format!("{three}{pairs}allow_inconsistent = true\n")).unwrap();
        assert!(p.ahp_weights.unwrap().cr > 0.1);
    }

    #[test]
    fn embedded_profiles_parse() {
        for (name, _) in EMBEDDED_PROFILES {
            let p = Profile::embedded(name).unwrap();
            assert_eq!(&p.name, name);
        }
        let e = Profile::embedded("ai-campos").unwrap_err();
        assert!(e.to_string().contains("did you mean \"ai-campus\""), "{e}");
    }
}
