//! Building an engine: the profile's layers are read once each, every criterion's measure is
//! bound to them (in parallel, each as soon as its layers are read), and the order in which
//! the quick path measures criteria is fixed.

use super::{Compiled, Engine, LayerInfo};
use crate::error::{Error, ErrorKind, Result};
use crate::index::Coverage;
use crate::layers::{Geometry, Layer, LayerSet};
use crate::measure::Input;
use crate::profile::{Criterion, Profile};
use crate::text::did_you_mean;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Layers read on first use, each at most once, from any thread.
struct Loader<'a> {
    set: &'a LayerSet,
    cells: HashMap<&'a str, OnceLock<Result<Arc<Layer>>>>,
    /// Indexes shared by the criteria that use the same layer file.
    indexes: crate::index::IndexCache,
}

impl<'a> Loader<'a> {
    /// Every layer the profile reads, with the coverage layers they declare.
    fn new(set: &'a LayerSet, profile: &'a Profile) -> Self {
        let mut names: Vec<&str> = Vec::new();
        for c in &profile.criteria {
            for name in c.layer_names() {
                let cov = set.spec(name).and_then(|s| s.coverage.as_ref());
                for n in std::iter::once(name).chain(cov.map(|c| c.layer.as_str())) {
                    if set.spec(n).is_some() && !names.contains(&n) {
                        names.push(n);
                    }
                }
            }
        }
        let cells = names.iter().map(|n| (*n, OnceLock::new())).collect();
        Loader {
            set,
            cells,
            indexes: match set.disk_cache() {
                Some(disk) => crate::index::IndexCache::with_disk(disk.clone()),
                None => Default::default(),
            },
        }
    }

    // Note: `LayerSet::load` runs inside a `OnceLock` initialisation on a rayon worker, so it
    // must not use rayon itself: while waiting for nested jobs the worker could steal another
    // criterion's task, which would wait on the same initialisation: a deadlock.
    fn get(&self, name: &str) -> Result<Arc<Layer>> {
        match self.cells.get(name) {
            Some(cell) => cell
                .get_or_init(|| self.set.load(name).map(Arc::new))
                .clone(),
            None => self.set.load(name).map(Arc::new),
        }
    }

    /// What was read, sorted by name.
    fn infos(&self) -> Result<Vec<LayerInfo>> {
        let mut names: Vec<&str> = self.cells.keys().copied().collect();
        names.sort_unstable();
        names
            .into_iter()
            .map(|n| {
                let l = self.get(n)?;
                let joined = l
                    .spec
                    .join
                    .as_ref()
                    .filter(|j| self.set.is_available(&j.path))
                    .map(|j| self.set.resolve(&j.path))
                    .transpose()?;
                Ok(LayerInfo {
                    name: l.name.clone(),
                    path: l.path.clone(),
                    joined: joined.clone(),
                    warnings: l.warnings.clone(),
                    kind: l.kind(),
                    features: l.feature_count(),
                    // Without its join table a layer is only its own file: the first
                    // part of the attribution.
                    attribution: match (&l.spec.join, &joined) {
                        (Some(_), None) => l
                            .spec
                            .attribution
                            .as_ref()
                            .map(|a| a.split("; ").next().unwrap_or_default().to_string()),
                        _ => l.spec.attribution.clone(),
                    },
                })
            })
            .collect()
    }
}

/// An error about a criterion of the profile.
fn criterion_error(profile: &Profile, c: &Criterion, msg: String) -> Error {
    Error::new(
        ErrorKind::Config,
        format!(
            "profile \"{}\", criterion \"{}\": {msg}",
            profile.name,
            c.id()
        ),
    )
}

/// Every layer the criterion names exists in the set.
fn check_layer_names(set: &LayerSet, c: &Criterion) -> std::result::Result<(), String> {
    for name in c.layer_names() {
        if set.spec(name).is_none() {
            let names = set.specs().iter().map(|s| s.name.as_str());
            let hint = did_you_mean(name, names.clone())
                .map(|s| format!("; did you mean \"{s}\"?"))
                .unwrap_or_default();
            return Err(format!(
                "unknown layer \"{name}\" (layers in {}: {}){hint}",
                set.source(),
                names.collect::<Vec<_>>().join(", ")
            ));
        }
    }
    Ok(())
}

/// A coverage and the reason sites outside it are UNKNOWN.
type CoverageWhy = (Arc<Coverage>, String);

/// A layer's declared coverage, with the reason sites outside are UNKNOWN.
fn coverage(
    loader: &Loader<'_>,
    layer: &Layer,
) -> Result<std::result::Result<Option<CoverageWhy>, String>> {
    let Some(cov) = &layer.spec.coverage else {
        return Ok(Ok(None));
    };
    let cov_layer = loader.get(&cov.layer)?;
    let Geometry::Polygons(polys) = &cov_layer.geometry else {
        return Ok(Err(format!(
            "coverage layer \"{}\" must be polygons",
            cov.layer
        )));
    };
    let attrs = &cov_layer.attributes;
    let Some(col) = attrs.field_index(&cov.field) else {
        return Ok(Err(format!(
            "coverage layer \"{}\" has no field \"{}\"",
            cov.layer, cov.field
        )));
    };
    let index = loader.indexes.layer_polygons(&cov_layer.path, polys);
    let why = format!("outside the coverage of layer {}", layer.name);
    if let Some(same_as) = &cov.same_as {
        let codes = |a: &crate::layers::Attributes, c: usize| {
            (0..a.len())
                .map(|r| a.get(r, c).to_string())
                .collect::<Vec<_>>()
        };
        let Some(own) = layer.attributes.field_index(same_as) else {
            return Ok(Err(format!(
                "coverage of layer \"{}\": it has no field \"{same_as}\" (same_as)",
                layer.name
            )));
        };
        let matching = Coverage::matching(index, codes(attrs, col), codes(&layer.attributes, own));
        return Ok(Ok(Some((Arc::new(matching), why))));
    }
    let values = loader.set.coverage_values(cov)?;
    let covered = (0..attrs.len())
        .map(|r| values.contains(&attrs.get(r, col).to_string()))
        .collect();
    Ok(Ok(Some((Arc::new(Coverage::new(index, covered)), why))))
}

/// Bind one criterion's measure to its layers.
fn compile(profile: &Profile, loader: &Loader<'_>, c: &Criterion) -> Result<Compiled> {
    let err = |msg| criterion_error(profile, c, msg);
    check_layer_names(loader.set, c).map_err(err)?;
    let layers = c
        .layer_names()
        .iter()
        .map(|n| loader.get(n))
        .collect::<Result<Vec<_>>>()?;
    let sources: Vec<_> = (0..layers.len()).map(|k| c.source(k)).collect();
    let mut coverages = Vec::with_capacity(layers.len());
    for layer in &layers {
        coverages.push(coverage(loader, layer)?.map_err(err)?);
    }
    let standardise: Vec<_> = sources
        .iter()
        .map(|s| s.and_then(|s| s.standardise.clone()))
        .collect();
    let input = Input {
        layers: &layers,
        fields: sources
            .iter()
            .map(|s| s.and_then(|s| s.field.as_deref()))
            .collect(),
        numeric: standardise
            .iter()
            .map(|s| s.as_ref().unwrap_or(&c.standardise).is_numeric())
            .collect(),
        coverage: coverages
            .iter()
            .map(|cov| cov.as_ref().map(|(index, _)| index.clone()))
            .collect(),
        indexes: &loader.indexes,
    };
    for (k, layer) in layers.iter().enumerate() {
        let st = standardise[k].as_ref().unwrap_or(&c.standardise);
        let field = input.fields[k].or(c.measure.field());
        if let Some(field) = field {
            check_categories(layer, field, st).map_err(err)?;
        }
    }
    let probe = c.measure.bind(&input).map_err(err)?;
    // A measure of one layer is UNKNOWN outside its coverage (checked by the engine); a
    // measure of several layers passes over a layer where the site is outside its coverage.
    let coverage = if layers.len() == 1 {
        coverages.pop().flatten()
    } else {
        None
    };
    Ok(Compiled {
        probe,
        layer_names: layers.iter().map(|l| l.name.clone()).collect(),
        coverage,
        policy: c.unknown.unwrap_or(profile.unknown),
        standardise,
    })
}

/// A categorical standardisation must name at least one value the field holds: else every
/// site would get the default (or be UNKNOWN), e.g. categories "Low", "High" on a numeric
/// score field.
fn check_categories(
    layer: &Layer,
    field: &str,
    st: &crate::profile::Standardise,
) -> std::result::Result<(), String> {
    let crate::profile::Standardise::Categorical { scores, .. } = st else {
        return Ok(());
    };
    if scores.is_empty() {
        return Ok(()); // a constant (only a default): nothing to match
    }
    let attrs = &layer.attributes;
    let Some(col) = attrs.field_index(field) else {
        return Ok(()); // the measure reports a missing field
    };
    let values: Vec<String> = (0..attrs.len())
        .map(|r| attrs.get(r, col))
        .filter(|v| !v.is_null())
        .map(|v| v.to_string())
        .collect();
    if values.is_empty() || values.iter().any(|v| scores.contains_key(v)) {
        return Ok(());
    }
    let mut examples: Vec<&str> = values.iter().map(String::as_str).take(3).collect();
    examples.dedup();
    Err(format!(
        "categorical standardisation: no value of field \"{field}\" in layer \"{}\" is one of its categories ({}); the field holds e.g. {}",
        layer.name,
        scores
            .keys()
            .map(|k| format!("\"{k}\""))
            .collect::<Vec<_>>()
            .join(", "),
        examples
            .iter()
            .map(|e| format!("\"{e}\""))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

impl Engine {
    /// Check `profile` against `layers`, load what it uses and build the indexes.
    ///
    /// With a partial layer set (no data directory), criteria without data are left out
    /// first; [`Engine::warnings`] names them (see [`super::partial`]).
    pub fn new(profile: Profile, layers: &LayerSet) -> Result<Engine> {
        let (profile, lacking) = super::partial::without_lacking(profile, layers);
        let notes = super::partial::notes(&lacking, &profile);
        let method = profile
            .aggregation()
            .map_err(|m| Error::new(ErrorKind::Config, m))?;
        let loader = Loader::new(layers, &profile);
        // Criteria are built in parallel, each as soon as its layers are read (a layer two
        // criteria share is read once; the second waits for it). The first error in profile
        // order wins.
        let compiled = profile
            .criteria
            .par_iter()
            .map(|c| compile(&profile, &loader, c))
            .collect::<Vec<_>>()
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        let infos = loader.infos()?;
        let constraints_of: Vec<Vec<usize>> = profile
            .criteria
            .iter()
            .map(|c| {
                let on_c = |(k, x): (usize, &crate::profile::Constraint)| {
                    (x.criterion == c.id()).then_some(k)
                };
                profile
                    .constraints
                    .iter()
                    .enumerate()
                    .filter_map(on_c)
                    .collect()
            })
            .collect();
        let (mut order, rest): (Vec<usize>, Vec<usize>) =
            (0..compiled.len()).partition(|&i| !constraints_of[i].is_empty());
        order.extend(rest);
        // An excluded site may skip a measure only when nothing reported depends on it:
        // always known (never UNKNOWN) and without a constraint of its own (whose failure
        // is counted, so it must be checked).
        let skippable = compiled
            .iter()
            .zip(&profile.criteria)
            .zip(&constraints_of)
            .map(|((c, crit), constrained)| {
                c.probe.always_known()
                    && c.coverage.is_none()
                    && crit.standardise.scores_every_number()
                    && constrained.is_empty()
            })
            .collect();
        let profile_criteria = profile.criteria.len();
        let relative_at: Vec<bool> = profile
            .criteria
            .iter()
            .map(|c| c.standardise.is_set_relative())
            .collect();
        Ok(Engine {
            weights: profile.normalised_weights(),
            constraints_of,
            order,
            skippable,
            profile,
            compiled,
            aggregate: method.local(),
            method,
            fitted: false,
            relative: (0..profile_criteria).filter(|&i| relative_at[i]).collect(),
            resolved: vec![None; profile_criteria],
            relative_done: false,
            layers: infos,
            notes,
        })
    }
}
