//! Scoring with what there is: with no data directory (a partial [`LayerSet`]), the
//! criteria whose layers have no file are left out of the profile, with a note naming each
//! and the files it lacks, so that what needs only the built-in boundaries (`on_land`,
//! regions) still runs.

use crate::layers::LayerSet;
use crate::profile::{Criterion, Profile};
use std::path::PathBuf;

/// A criterion left out for want of data.
#[derive(Debug, Clone, PartialEq)]
pub struct Lacking {
    /// The criterion's id.
    pub criterion: String,
    /// The data-directory files it needs that are not there.
    pub files: Vec<PathBuf>,
}

/// The files criterion `c` needs that `layers` does not have. A join table counts only when
/// the criterion reads a field (a joined one may be among them).
fn missing_for(c: &Criterion, layers: &LayerSet) -> Vec<PathBuf> {
    let reads_field =
        c.measure.field().is_some() || c.sources.iter().flatten().any(|s| s.field.is_some());
    let mut files: Vec<PathBuf> = Vec::new();
    for name in c.layer_names() {
        for f in layers.missing_files(name, reads_field) {
            if !files.contains(&f) {
                files.push(f);
            }
        }
    }
    files
}

/// The profile without the criteria `layers` has no data for (and the constraints on them),
/// and what was left out. When no criterion with a positive weight is left, those that are
/// weigh equally: the score then says where a site is possible, not how good it is (the
/// note says so). A complete layer set changes nothing.
pub fn without_lacking(mut profile: Profile, layers: &LayerSet) -> (Profile, Vec<Lacking>) {
    if !layers.is_partial() {
        return (profile, Vec::new());
    }
    let lacking: Vec<Lacking> = profile
        .criteria
        .iter()
        .map(|c| Lacking {
            criterion: c.id().to_string(),
            files: missing_for(c, layers),
        })
        .filter(|l| !l.files.is_empty())
        .collect();
    if lacking.is_empty() || lacking.len() == profile.criteria.len() {
        return (profile, lacking);
    }
    let gone = |id: &str| lacking.iter().any(|l| l.criterion == id);
    profile.criteria.retain(|c| !gone(c.id()));
    profile.constraints.retain(|k| !gone(&k.criterion));
    if profile.criteria.iter().all(|c| c.weight <= 0.0) {
        for c in &mut profile.criteria {
            c.weight = 1.0;
        }
    }
    (profile, lacking)
}

/// The notes for criteria left out: one line each, then what the score means.
pub fn notes(lacking: &[Lacking], left: &Profile) -> Vec<String> {
    if lacking.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<String> = lacking
        .iter()
        .map(|l| {
            let files: Vec<String> = l.files.iter().map(|f| f.display().to_string()).collect();
            format!(
                "criterion \"{}\" left out: no data directory, and it needs {} (get it with `standort data fetch --data-dir DIR`)",
                l.criterion,
                files.join(", ")
            )
        })
        .collect();
    let ids: Vec<&str> = left.criteria.iter().map(|c| c.id()).collect();
    out.push(format!(
        "scored on {} of {} criteria ({}): the built-in boundaries only",
        ids.len(),
        ids.len() + lacking.len(),
        ids.join(", ")
    ));
    out
}
