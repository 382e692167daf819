//! The engine: a profile bound to indexed layers; sites → raw values → scores → results.
//!
//! - [`build`]: [`Engine::new`] checks the profile against the layers (every layer exists and
//!   has the right kind, every field exists and has the right type), loads each layer once
//!   and binds every criterion's [measure](crate::measure) to it.
//! - [`probe`]: one site → the raw value of each criterion, or why it is UNKNOWN.
//! - [`score`]: raw values → statuses, standardised scores, constraints, the aggregate and
//!   reasons. One definition, [`Engine::assess`], used by both the explained evaluation
//!   ([`Engine::evaluate`]) and the quick one ([`Engine::score_only`]).
//!
//! - [`ties`]: the rule that orders exactly equal scores ([`Engine::break_tie`]).
//!
//! [`Engine::evaluate`] and [`Engine::score_only`] are pure functions of a site's position,
//! safe to call from many threads.

mod build;
pub mod partial;
pub use relative::RelativeValues;
mod probe;
mod relative;
mod score;
#[cfg(test)]
pub(crate) mod tests;
mod ties;

pub use score::Quick;
pub use ties::tie_runs;

use crate::layers::{LayerKind, Value};
use crate::measure::Probe;
use crate::profile::{Aggregate, Method, Profile, Standardise, UnknownPolicy};
use std::fmt;

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

/// A criterion bound to its layers.
struct Compiled {
    probe: Box<dyn Probe>,
    layer_names: Vec<String>,
    /// Where the (first) layer has data, if it declares a coverage.
    coverage: Option<(std::sync::Arc<crate::index::Coverage>, String)>,
    policy: UnknownPolicy,
    /// Per layer: the source's own standardisation, if it declares one.
    standardise: Vec<Option<Standardise>>,
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
    /// The profile's aggregation method.
    method: Box<dyn Method>,
    /// Its scorer: for a set-dependent method, the site-local stand-in until
    /// [`Engine::fit`] fits it on the candidate set.
    aggregate: Box<dyn Aggregate>,
    /// True once a set-dependent method has been fitted.
    fitted: bool,
    /// The criteria with a set-relative standardisation (percentile, min_max).
    relative: Vec<usize>,
    /// Per criterion: what its set-relative standardisation resolved to.
    resolved: Vec<Option<relative::Resolved>>,
    /// True once the set-relative standardisations are resolved.
    relative_done: bool,
    layers: Vec<LayerInfo>,
    /// Criteria left out for want of data (a partial layer set), one line each.
    notes: Vec<String>,
}

/// What the engine used of a layer, for summaries and attribution.
#[derive(Debug, Clone)]
pub struct LayerInfo {
    /// Layer name.
    pub name: String,
    /// File read.
    pub path: std::path::PathBuf,
    /// The table joined onto it, if any.
    pub joined: Option<std::path::PathBuf>,
    /// What was wrong with its data but did not stop reading it.
    pub warnings: Vec<String>,
    /// Kind.
    pub kind: LayerKind,
    /// Features (or pixels) read.
    pub features: usize,
    /// Attribution text, if declared.
    pub attribution: Option<String>,
}

impl Engine {
    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// How the total is formed (for a set-dependent method, after [`Engine::fit`]: with the
    /// size of the candidate set).
    pub fn aggregation(&self) -> String {
        self.aggregate.describe()
    }

    /// True when the profile's method is set-dependent (a site's score depends on the other
    /// candidates of the run).
    pub fn set_dependent(&self) -> bool {
        self.method.fit().is_some()
    }

    /// Normalised weights, in criterion order.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Warnings about the layers' data, each naming its layer and file.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = self.notes.clone();
        for l in &self.layers {
            for w in &l.warnings {
                out.push(format!("{}: layer \"{}\": {w}", l.path.display(), l.name));
            }
        }
        out
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
}
