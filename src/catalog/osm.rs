//! Bring your own grid: high-voltage substations from any OpenStreetMap extract (`.osm.pbf`,
//! read with the pure-Rust `osmpbf` crate), as the points of the `substations` layer.
//!
//! A substation is a node or a way tagged `power=substation`; a way (an outline) becomes the
//! mean of its distinct vertices. `voltage` (volts; several as "380000;110000") gives
//! `voltage_kv`, the highest; one tagged below 110 kV is left out (a data-center load
//! connects at 110 kV or more), one without a usable voltage is kept with no value.
//! Relations (multipolygon substations, rare) are counted, not read.

use super::convert::{bad, write_all};
use crate::error::{Error, ErrorKind, Result};
use osmpbf::{Element, ElementReader};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

/// Substations below this voltage are left out.
pub const MIN_VOLTAGE_KV: f64 = 110.0;

/// One substation found in an extract.
#[derive(Debug, Clone, PartialEq)]
pub struct Substation {
    /// `node/ID` or `way/ID`.
    pub id: String,
    /// Longitude, latitude in degrees.
    pub lon_lat: [f64; 2],
    /// Highest tagged voltage, kV.
    pub voltage_kv: Option<f64>,
    /// `substation=*` (transmission, distribution, ...) or "substation".
    pub kind: String,
    /// `name`, `operator` tags.
    pub name: Option<String>,
    /// Operator.
    pub operator: Option<String>,
}

/// What reading an extract found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extract {
    /// The substations kept.
    pub substations: Vec<Substation>,
    /// Tagged below [`MIN_VOLTAGE_KV`].
    pub below_voltage: usize,
    /// Ways whose nodes are not in the extract (cut at its edge).
    pub incomplete_ways: usize,
    /// Relations tagged `power=substation` (not read).
    pub relations: usize,
}

/// The highest voltage of a `voltage` tag, in kV (`None` when absent or unreadable).
pub fn voltage_kv(tag: Option<&str>) -> Option<f64> {
    tag?.split(';')
        .filter_map(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(|v| v / 1000.0)
        .reduce(f64::max)
}

struct Tagged {
    id: String,
    tags: HashMap<String, String>,
}

fn substation_tags<'a>(
    tags: impl Iterator<Item = (&'a str, &'a str)>,
) -> Option<HashMap<String, String>> {
    let tags: HashMap<String, String> = tags.map(|(k, v)| (k.to_string(), v.to_string())).collect();
    (tags.get("power").map(String::as_str) == Some("substation")).then_some(tags)
}

/// The elements tagged `power=substation` of an extract: nodes with their position, ways
/// with their node ids, and the number of relations.
type Tagging = (Vec<(Tagged, [f64; 2])>, Vec<(Tagged, Vec<i64>)>, usize);

fn open(input: &Path, shown: &str) -> Result<ElementReader<std::io::BufReader<std::fs::File>>> {
    ElementReader::from_path(input).map_err(|e| bad(shown, format!("not an OSM PBF file: {e}")))
}

/// First pass: the tagged elements.
fn tagged_elements(input: &Path, shown: &str) -> Result<Tagging> {
    let (mut nodes, mut ways, mut relations) = (Vec::new(), Vec::new(), 0usize);
    let node = |id: i64, tags| Tagged {
        id: format!("node/{id}"),
        tags,
    };
    open(input, shown)?
        .for_each(|el| match el {
            Element::Node(n) => {
                if let Some(tags) = substation_tags(n.tags()) {
                    nodes.push((node(n.id(), tags), [n.lon(), n.lat()]));
                }
            }
            Element::DenseNode(n) => {
                if let Some(tags) = substation_tags(n.tags()) {
                    nodes.push((node(n.id(), tags), [n.lon(), n.lat()]));
                }
            }
            Element::Way(w) => {
                if let Some(tags) = substation_tags(w.tags()) {
                    let id = format!("way/{}", w.id());
                    ways.push((Tagged { id, tags }, w.refs().collect()));
                }
            }
            Element::Relation(r) => relations += usize::from(substation_tags(r.tags()).is_some()),
        })
        .map_err(|e| bad(shown, format!("corrupt OSM PBF file: {e}")))?;
    Ok((nodes, ways, relations))
}

/// Second pass: the positions of the nodes `wanted`.
fn node_positions(
    input: &Path,
    shown: &str,
    wanted: &HashSet<i64>,
) -> Result<HashMap<i64, [f64; 2]>> {
    let mut coords: HashMap<i64, [f64; 2]> = HashMap::with_capacity(wanted.len());
    if wanted.is_empty() {
        return Ok(coords);
    }
    open(input, shown)?
        .for_each(|el| match el {
            Element::Node(n) if wanted.contains(&n.id()) => {
                coords.insert(n.id(), [n.lon(), n.lat()]);
            }
            Element::DenseNode(n) if wanted.contains(&n.id()) => {
                coords.insert(n.id(), [n.lon(), n.lat()]);
            }
            _ => {}
        })
        .map_err(|e| bad(shown, format!("corrupt OSM PBF file: {e}")))?;
    Ok(coords)
}

/// Read the substations of an extract (two passes: tagged elements, then the ways' nodes).
pub fn read_extract(input: &Path, shown: &str) -> Result<Extract> {
    let (nodes, ways, relations) = tagged_elements(input, shown)?;
    let wanted: HashSet<i64> = ways
        .iter()
        .flat_map(|(_, refs)| refs.iter().copied())
        .collect();
    let coords = node_positions(input, shown, &wanted)?;
    let mut out = Extract {
        relations,
        ..Default::default()
    };
    for (t, at) in nodes {
        keep(t, at, &mut out);
    }
    for (t, refs) in ways {
        let mut distinct: Vec<i64> = refs;
        distinct.sort_unstable();
        distinct.dedup();
        let pts: Option<Vec<[f64; 2]>> = distinct.iter().map(|r| coords.get(r).copied()).collect();
        match pts.filter(|p| !p.is_empty()) {
            Some(p) => {
                let n = p.len() as f64;
                let lon = p.iter().map(|q| q[0]).sum::<f64>() / n;
                let lat = p.iter().map(|q| q[1]).sum::<f64>() / n;
                keep(t, [lon, lat], &mut out);
            }
            None => out.incomplete_ways += 1,
        }
    }
    Ok(out)
}

/// Keep a tagged element at `at` unless it is tagged below [`MIN_VOLTAGE_KV`].
fn keep(t: Tagged, at: [f64; 2], out: &mut Extract) {
    let v = voltage_kv(t.tags.get("voltage").map(String::as_str));
    if v.is_some_and(|v| v < MIN_VOLTAGE_KV) {
        out.below_voltage += 1;
        return;
    }
    out.substations.push(Substation {
        id: t.id,
        lon_lat: at,
        voltage_kv: v,
        kind: t
            .tags
            .get("substation")
            .cloned()
            .unwrap_or_else(|| "substation".into()),
        name: t.tags.get("name").cloned(),
        operator: t.tags.get("operator").cloned(),
    });
}

/// A substation as a GeoJSON feature with the layer's properties (id, type, voltage_kv,
/// name, operator); coordinates to 7 decimals (OSM's own precision).
pub fn feature(s: &Substation) -> Value {
    let r7 = |v: f64| (v * 1e7).round() / 1e7;
    let kv = s.voltage_kv.map(|v| {
        if v.fract() == 0.0 {
            json!(v as i64)
        } else {
            json!(v)
        }
    });
    json!({
        "type": "Feature",
        "properties": {"id": s.id, "type": s.kind, "voltage_kv": kv, "name": s.name, "operator": s.operator},
        "geometry": {"type": "Point", "coordinates": [r7(s.lon_lat[0]), r7(s.lon_lat[1])]},
    })
}

/// Write features as a GeoJSON FeatureCollection, one feature per line.
pub fn write_collection(features: &[Value], out: &mut dyn Write) -> Result<()> {
    write_all(out, b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
    for (k, f) in features.iter().enumerate() {
        if k > 0 {
            write_all(out, b",\n")?;
        }
        write_all(out, f.to_string().as_bytes())?;
    }
    write_all(out, b"\n]}\n")
}

/// The converter: an extract → the substations layer file (no merging; see
/// [`super::import_substations`] for the import that keeps other countries).
pub fn substations(input: &Path, shown: &str, out: &mut dyn Write) -> Result<()> {
    let extract = read_extract(input, shown)?;
    if extract.substations.is_empty() {
        return Err(no_substations(shown, &extract));
    }
    let features: Vec<Value> = extract.substations.iter().map(feature).collect();
    write_collection(&features, out)
}

/// The error for an extract without a usable substation.
pub fn no_substations(shown: &str, e: &Extract) -> Error {
    Error::at(
        ErrorKind::Input,
        shown.to_string(),
        format!(
            "no power=substation of {MIN_VOLTAGE_KV} kV or more (or without a voltage) in the extract ({} below {MIN_VOLTAGE_KV} kV, {} ways cut at its edge, {} relations)",
            e.below_voltage, e.incomplete_ways, e.relations
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voltages_are_the_highest_in_kv() {
        assert_eq!(voltage_kv(Some("380000;110000")), Some(380.0));
        assert_eq!(voltage_kv(Some("20000")), Some(20.0));
        assert_eq!(voltage_kv(Some("high")), None);
        assert_eq!(voltage_kv(Some("")), None);
        assert_eq!(voltage_kv(None), None);
    }
}
