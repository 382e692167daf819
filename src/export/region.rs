//! Region maps: grid cells as GeoJSON polygons; the top sites as points, in a file of their
//! own (`NAME.sites.geojson` beside the cells), so that every layer has one geometry type.
//!
//! Cells are written one at a time as they are scored. Each cell is a counter-clockwise
//! rectangle (RFC 7946, at most 7 decimals) with the total score, status, reasons and every
//! criterion's raw value, lean ([`cell_properties`]): what is the same for every cell is in
//! the collection's `standort` member ([`columns_json`]). Sub-scores and simplestyle `fill`
//! (viridis; grey for excluded, light grey for UNKNOWN) are there when asked for
//! ([`CellDetail`]); QGIS gets a `.qml` style beside the file instead.

use super::{EXCLUDED_COLOUR, FeatureCollection, UNKNOWN_COLOUR, round, score_colour};
use crate::engine::{Engine, Evaluation, Status};
use crate::layers::Value;
use crate::region::{Cell, Region, RegionSummary};
use serde_json::{Map, Value as Json, json};
use std::io::Write;

fn raw_json(v: &Value, decimals: i32) -> Json {
    match v {
        Value::Num(x) => {
            serde_json::Number::from_f64(round(*x, decimals)).map_or(Json::Null, Json::Number)
        }
        Value::Text(t) => Json::from(t.as_str()),
        Value::Null => Json::Null,
    }
}

/// Decimals a raw value in `unit` has: 3 for km (1 m), 1 for MW (0.1 MW: plant capacities
/// are published to 0.1 MW or coarser), none for dollars, 3 otherwise.
pub fn raw_decimals(unit: &str) -> i32 {
    match unit {
        "mw" => 1,
        u if u.starts_with("usd") => 0,
        _ => 3,
    }
}

/// What a cell carries besides its score, status, reasons and raw values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CellDetail {
    /// Each criterion's sub-score (`ID_score`).
    pub sub_scores: bool,
    /// simplestyle `fill` and `stroke-width` (geojson.io, GitHub).
    pub simplestyle: bool,
}

/// The properties of a scored cell, in a fixed order, lean: what is the same for every
/// cell (units, source descriptions, scoring curves, profile, attribution) is in the
/// collection's `standort` member ([`columns_json`]); scores have 3 decimals, raw values 3
/// (1 m for distances in km); a criterion with several sources names the layer used;
/// `reasons` is there when there are any. With `detail.sub_scores`, each criterion's
/// sub-score too (`ID_score`; otherwise it follows from the raw value by the curve in the
/// member); with `detail.simplestyle`, the colour. The cell's centre and size follow from
/// its rectangle.
pub fn cell_properties(engine: &Engine, e: &Evaluation, detail: CellDetail) -> Map<String, Json> {
    let mut p = Map::new();
    p.insert(
        "score".into(),
        e.score.map_or(Json::Null, |s| json!(round(s, 3))),
    );
    p.insert("status".into(), json!(e.status.to_string()));
    if !e.reasons.is_empty() {
        p.insert("reasons".into(), json!(e.reasons.join("; ")));
    }
    for (i, (c, v)) in engine.profile().criteria.iter().zip(&e.values).enumerate() {
        let decimals = raw_decimals(c.source_unit(v.source));
        p.insert(c.value_column(), raw_json(&v.raw, decimals));
        if detail.sub_scores {
            p.insert(
                format!("{}_score", c.id()),
                v.score.map_or(Json::Null, |s| json!(round(s, 3))),
            );
        }
        if c.has_sources() {
            let layers = engine.criterion_layers(i);
            let layer = match v.source {
                Some(k) => layers.get(usize::from(k)),
                None if layers.len() == 1 => layers.first(),
                None => None,
            };
            p.insert(
                format!("{}_source", c.id()),
                layer.map_or(Json::Null, |l| json!(l)),
            );
        }
    }
    if detail.simplestyle {
        let fill = match (e.status, e.score) {
            (Status::Ok, Some(s)) => score_colour(s),
            (Status::Excluded, _) => EXCLUDED_COLOUR.to_string(),
            _ => UNKNOWN_COLOUR.to_string(),
        };
        // The fill colour at simplestyle's default opacity (0.6), no outline.
        p.insert("fill".into(), json!(fill));
        p.insert("stroke-width".into(), json!(0));
    }
    p
}

/// A cell's values in the order of `columns` (from [`cell_columns`]; null where a cell
/// has none).
pub fn cell_values(
    engine: &Engine,
    e: &Evaluation,
    detail: CellDetail,
    columns: &[String],
) -> Vec<Json> {
    let props = cell_properties(engine, e, detail);
    columns
        .iter()
        .map(|k| props.get(k).cloned().unwrap_or_default())
        .collect()
}

/// The columns of a cell in [`cell_properties`]' order, for writers that need a schema
/// (`reasons` is always among them).
pub fn cell_columns(engine: &Engine, detail: CellDetail) -> Vec<String> {
    let mut cols = vec!["score".to_string(), "status".into(), "reasons".into()];
    for c in &engine.profile().criteria {
        cols.push(c.value_column());
        if detail.sub_scores {
            cols.push(format!("{}_score", c.id()));
        }
        if c.has_sources() {
            cols.push(format!("{}_source", c.id()));
        }
    }
    if detail.simplestyle {
        cols.extend(["fill".to_string(), "stroke-width".into()]);
    }
    cols
}

/// What the cells' columns mean: each criterion's value column with its unit (per source
/// when the sources differ), its sub-score column and its sources with their notes.
pub fn columns_json(engine: &Engine) -> Json {
    let p = engine.profile();
    let criteria: Vec<Json> = p
        .criteria
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let sources: Vec<Json> = engine
                .criterion_layers(i)
                .iter()
                .enumerate()
                .map(|(k, layer)| {
                    let src = c.source(k);
                    json!({
                        "layer": layer,
                        "unit": c.source_unit(u16::try_from(k).ok()),
                        "field": src.and_then(|s| s.field.clone()),
                        "note": src.and_then(|s| s.note.clone()),
                        "scoring": src.and_then(|s| s.standardise.clone()),
                    })
                })
                .collect();
            json!({
                "id": c.id(),
                "label": c.label,
                "value_column": c.value_column(),
                "unit": c.unit(),
                "score_column": format!("{}_score", c.id()),
                "source_column": c.has_sources().then(|| format!("{}_source", c.id())),
                "weight": engine.weights()[i],
                "scoring": c.standardise,
                "sources": sources,
            })
        })
        .collect();
    json!({
        "geometry": "each cell's rectangle (lon/lat, WGS 84); its centre is the point scored",
        "score": "total score 0..1 (3 decimals); null unless status is ok",
        "criteria": criteria,
    })
}

/// A cell as a GeoJSON Feature with a counter-clockwise rectangle (no feature `id`: a
/// cell's grid position follows from its rectangle).
pub fn cell_feature(engine: &Engine, cell: &Cell, e: &Evaluation, detail: CellDetail) -> Json {
    let [x0, y0, x1, y1] = cell.rect().map(|v| round(v, 7));
    json!({
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]},
        "properties": cell_properties(engine, e, detail),
    })
}

/// Streams a region map as a GeoJSON FeatureCollection.
pub struct RegionGeoJson<W: Write>(FeatureCollection<W>);

impl<W: Write> RegionGeoJson<W> {
    /// Start the collection.
    pub fn new(out: W) -> std::io::Result<Self> {
        Ok(RegionGeoJson(FeatureCollection::start(out, &[])?))
    }

    /// Write one feature.
    pub fn feature(&mut self, f: &Json) -> std::io::Result<()> {
        self.0.feature(f)
    }

    /// Write the run's metadata and close the collection (the top sites go to their own
    /// file, [`write_top_sites`]: one geometry type per layer).
    pub fn finish(
        self,
        engine: &Engine,
        region: &Region,
        summary: &RegionSummary,
    ) -> std::io::Result<W> {
        self.0
            .finish(&[("standort", &cells_member(engine, region, summary))])
    }
}

/// The collection's `standort` member: the summary with the columns' meaning.
pub(super) fn cells_member(engine: &Engine, region: &Region, summary: &RegionSummary) -> Json {
    let mut m = summary_json(engine, region, summary);
    m["columns"] = columns_json(engine);
    m
}

/// The top sites of a region run as a GeoJSON FeatureCollection of numbered points (the
/// cells' properties, the rank, tie group and stability), with the run's summary.
pub fn write_top_sites(
    out: &mut dyn Write,
    engine: &Engine,
    region: &Region,
    summary: &RegionSummary,
) -> std::io::Result<()> {
    let mut fc = FeatureCollection::start(out, &[])?;
    for t in &summary.top {
        let e = engine.evaluate(t.cell.lon(), t.cell.lat());
        let full = CellDetail {
            sub_scores: true,
            simplestyle: false,
        };
        let mut p = cell_properties(engine, &e, full);
        p.insert("cell".into(), json!(t.cell.id));
        p.insert("lon".into(), json!(round(t.cell.lon(), 7)));
        p.insert("lat".into(), json!(round(t.cell.lat(), 7)));
        p.insert("top_rank".into(), json!(t.rank));
        p.insert("tie_group".into(), json!(t.tie_group));
        if let Some(st) = t.stability {
            p.insert("rank_mean".into(), json!(round(st.mean_rank, 2)));
            p.insert("rank_p05".into(), json!(st.rank_p05));
            p.insert("rank_p95".into(), json!(st.rank_p95));
            p.insert("p_top_k".into(), json!(round(st.p_top, 4)));
        }
        p.insert("marker-color".into(), json!("#e41a1c"));
        p.insert("marker-size".into(), json!("medium"));
        if t.rank < 10 {
            p.insert("marker-symbol".into(), json!(t.rank.to_string()));
        }
        let f = json!({
            "type": "Feature",
            "id": format!("top-{}", t.rank),
            "geometry": {"type": "Point", "coordinates": [round(t.cell.lon(), 7), round(t.cell.lat(), 7)]},
            "properties": p,
        });
        fc.feature(&f)?;
    }
    let w = fc.finish(&[("standort", &summary_json(engine, region, summary))])?;
    w.flush()
}

/// The region summary as JSON (also `standort region --format json`).
pub fn summary_json(engine: &Engine, region: &Region, s: &RegionSummary) -> Json {
    let p = engine.profile();
    let share = |a: f64| {
        if s.area_km2 > 0.0 {
            round(a / s.area_km2, 6)
        } else {
            0.0
        }
    };
    json!({
        "region": region.name,
        "profile": p.name,
        "method": p.method,
        "aggregation": engine.aggregation(),
        "set_relative_bounds": engine.relative_notes(),
        "unknown_policy": p.unknown.to_string(),
        "cell_deg": s.cell_deg,
        "cells": s.counts.sites,
        "area_km2": round(s.area_km2, 1),
        "share_ok": share(s.area_ok_km2),
        "share_excluded": share(s.area_excluded_km2),
        "share_unknown": share(s.area_unknown_km2),
        "excluded_by": p.constraints.iter().zip(&s.area_by_constraint_km2).map(|(k, a)| json!({
            "reason": k.reason, "share": share(*a), "cells": s.counts.by_constraint.iter().find(|(r, _)| *r == k.reason).map_or(0, |x| x.1),
        })).collect::<Vec<_>>(),
        "unknown_by": p.criteria.iter().zip(&s.area_unknown_by_criterion_km2).map(|(c, a)| json!({
            "criterion": c.id(), "share": share(*a),
        })).collect::<Vec<_>>(),
        "mean_scores": p.criteria.iter().zip(&s.mean_scores).map(|(c, m)| json!({
            "criterion": c.id(), "weight": c.weight, "mean_score": m.map(|x| round(x, 4)),
        })).collect::<Vec<_>>(),
        "mean_total_ok": s.mean_total.map(|x| round(x, 4)),
        "sensitivity": s.sensitivity.map(crate::export::geojson::sensitivity_json),
        "boundary": {
            "clip": region.clip_note(),
            "cells_left_out": s.left_out,
            "cells_in_conflict": s.boundary_conflict_cells,
            "conflicts_by_criterion": p.criteria.iter().zip(&s.boundary_conflicts).enumerate().filter(|(_, (_, n))| **n > 0).map(|(i, (c, n))| json!({
                "criterion": c.id(), "cells": n, "layers": engine.criterion_layers(i),
                "treatment": format!("valued from {}, not from {}", engine.criterion_layers(i)[1..].join(", "), engine.criterion_layers(i)[0]),
            })).collect::<Vec<_>>(),
        },
        "top": s.top.iter().map(|t| json!({
            "rank": t.rank, "lon": round(t.cell.lon(), 7), "lat": round(t.cell.lat(), 7), "score": round(t.score, 6), "tie_group": t.tie_group,
            "sensitivity": t.stability.map(|st| json!({"rank_mean": round(st.mean_rank, 2), "rank_p05": st.rank_p05, "rank_p95": st.rank_p95, "p_top_k": round(st.p_top, 4)})),
        })).collect::<Vec<_>>(),
        "attribution": engine.layers().iter().filter_map(|l| l.attribution.as_ref().map(|a| json!({"layer": l.name, "text": a}))).collect::<Vec<_>>(),
    })
}
