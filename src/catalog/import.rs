//! `standort data import osm-substations FILE.osm.pbf`: a user's own OpenStreetMap extract
//! into the `substations` layer, keeping what the layer had for other countries.
//!
//! The countries the extract covers are those holding at least [`MIN_COVERED`] of its
//! substations and at least 1% of them (a country extract also catches a few substations
//! across its borders; those countries are not covered). Their substations in the layer
//! file are replaced by the extract's (so a second import of the same country replaces the
//! first; so does an element of the extract met again anywhere), and their codes are added to the coverage file the layer's `coverage` names
//! (`values_file`), so the substation criterion answers there and stays UNKNOWN elsewhere.

use super::osm::{Extract, feature, no_substations, read_extract, write_collection};
use super::{persist, temp_in};
use crate::error::{Error, ErrorKind, Result};
use crate::index::PolygonIndex;
use crate::layers::{Geometry, LayerSet};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A country counts as covered with at least this many substations of the extract.
pub const MIN_COVERED: usize = 10;

/// What an import did.
#[derive(Debug, Clone)]
pub struct SubstationImport {
    /// The extract as read.
    pub extract: Extract,
    /// Substations of the extract per country (ISO3; "" outside every country).
    pub by_country: BTreeMap<String, usize>,
    /// The countries now covered by the extract.
    pub covered: Vec<String>,
    /// Features of the previous layer file kept (other countries).
    pub kept: usize,
    /// The layer file and the coverage file written.
    pub written: Vec<std::path::PathBuf>,
}

/// The ISO3 code of the country each point is in ("" for none).
fn countries_of(layers: &LayerSet, points: &[[f64; 2]]) -> Result<Vec<String>> {
    let countries = layers.load("countries")?;
    let Geometry::Polygons(polys) = &countries.geometry else {
        return Err(Error::new(
            ErrorKind::Config,
            "layer countries must be polygons",
        ));
    };
    let col = countries
        .attributes
        .field_index("iso_a3")
        .ok_or_else(|| Error::new(ErrorKind::Config, "layer countries has no field iso_a3"))?;
    let index = PolygonIndex::new(polys);
    Ok(points
        .iter()
        .map(|p| {
            index
                .containing(p[0], p[1])
                .map(|r| countries.attributes.get(r, col).to_string())
                .unwrap_or_default()
        })
        .collect())
}

/// Import the substations of `pbf` into the `substations` layer of `layers` (the data
/// directory's built-in layer set): see the module documentation.
pub fn import_substations(pbf: &Path, layers: &LayerSet) -> Result<SubstationImport> {
    let shown = pbf.display().to_string();
    if !pbf.is_file() {
        return Err(Error::at(ErrorKind::Io, shown, "no such file"));
    }
    let spec = layers.spec("substations").ok_or_else(|| {
        Error::new(
            ErrorKind::Config,
            "the layer set has no layer \"substations\"",
        )
    })?;
    let cov_file = spec
        .coverage
        .as_ref()
        .and_then(|c| c.values_file.clone())
        .ok_or_else(|| Error::new(ErrorKind::Config, "layer substations has no coverage values_file to record the extract's countries in"))?;
    let extract = read_extract(pbf, &shown)?;
    if extract.substations.is_empty() {
        return Err(no_substations(&shown, &extract));
    }
    let points: Vec<[f64; 2]> = extract.substations.iter().map(|s| s.lon_lat).collect();
    let countries = countries_of(layers, &points)?;
    let mut by_country: BTreeMap<String, usize> = BTreeMap::new();
    for c in &countries {
        *by_country.entry(c.clone()).or_default() += 1;
    }
    let total = countries.len();
    let covered: Vec<String> = by_country
        .iter()
        .filter(|(c, n)| !c.is_empty() && **n >= MIN_COVERED && **n * 100 >= total)
        .map(|(c, _)| c.clone())
        .collect();
    let layer_path = layers.resolve(&spec.path)?;
    let mut features: Vec<Value> = Vec::new();
    let mut kept = 0;
    if layer_path.exists() {
        let (old, old_points) = read_points(&layer_path)?;
        let old_countries = countries_of(layers, &old_points)?;
        // An element of the extract replaces its earlier copy wherever it is.
        let ids: std::collections::HashSet<&str> =
            extract.substations.iter().map(|s| s.id.as_str()).collect();
        for (f, c) in old.into_iter().zip(old_countries) {
            let again = f["properties"]["id"]
                .as_str()
                .is_some_and(|id| ids.contains(id));
            if !covered.contains(&c) && !again {
                features.push(f);
                kept += 1;
            }
        }
    }
    features.extend(extract.substations.iter().map(feature));
    let cov_path = layers.resolve(&cov_file)?;
    let coverage_text = merged_coverage(&cov_path, &covered, &by_country, pbf)?;
    // Both files are written beside their targets and renamed only when both are complete.
    let mut layer_tmp = temp_in(&layer_path)?;
    {
        let mut w = std::io::BufWriter::new(layer_tmp.as_file_mut());
        write_collection(&features, &mut w)?;
        std::io::Write::flush(&mut w).map_err(|e| Error::io(&layer_path, &e))?;
    }
    let mut cov_tmp = temp_in(&cov_path)?;
    std::io::Write::write_all(cov_tmp.as_file_mut(), coverage_text.as_bytes())
        .map_err(|e| Error::io(&cov_path, &e))?;
    persist(layer_tmp, &layer_path)?;
    persist(cov_tmp, &cov_path)?;
    Ok(SubstationImport {
        extract,
        by_country,
        covered,
        kept,
        written: vec![layer_path, cov_path],
    })
}

/// The features of a point layer file and their positions.
fn read_points(path: &Path) -> Result<(Vec<Value>, Vec<[f64; 2]>)> {
    let shown = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    let v: Value =
        serde_json::from_slice(&text).map_err(|e| crate::feature_stream::json_error(&shown, &e))?;
    let features = v["features"].as_array().cloned().ok_or_else(|| {
        Error::at(
            ErrorKind::Input,
            shown.clone(),
            "not a GeoJSON FeatureCollection",
        )
    })?;
    let points = features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let c = &f["geometry"]["coordinates"];
            match (f["geometry"]["type"].as_str(), c[0].as_f64(), c[1].as_f64()) {
                (Some("Point"), Some(lon), Some(lat)) => Ok([lon, lat]),
                _ => Err(Error::at(
                    ErrorKind::Input,
                    shown.clone(),
                    format!("feature {}: not a Point", i + 1),
                )),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((features, points))
}

/// The coverage file after the import: the countries listed before (their rows kept, unless
/// the extract covers them again) and the extract's, with counts and the extract's name.
fn merged_coverage(
    path: &Path,
    covered: &[String],
    by_country: &BTreeMap<String, usize>,
    pbf: &Path,
) -> Result<String> {
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if path.exists() {
        for row in crate::layers::read_csv_table(path)?.1 {
            let code = row.first().cloned().unwrap_or_default();
            rows.insert(code, row.into_iter().skip(1).take(2).collect());
        }
    }
    let name = pbf
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    for c in covered {
        rows.insert(c.clone(), vec![by_country[c].to_string(), name.clone()]);
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| Error::new(ErrorKind::Io, e.to_string());
    w.write_record(["iso_a3", "substations", "extract"])
        .map_err(csv_err)?;
    for (code, rest) in rows {
        let mut rec = vec![code];
        rec.extend(rest);
        rec.resize(3, String::new());
        w.write_record(&rec).map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
}
