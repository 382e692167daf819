//! GeoJSON (RFC 7946) and GeoJSONSeq writers with simplestyle colours.
//!
//! Each site is a Point feature (lon, lat; 7 decimals at most) whose properties are the
//! input's own columns, then the results, then `marker-color` (viridis by score; grey for
//! excluded, light grey for UNKNOWN) so geojson.io and GitHub render scores as they are.
//! The collection carries a `standort` member with the profile, weights, missing-data policy,
//! counts and layer attributions.

use super::{Context, input_values, result_colour, result_columns, result_values, round};
use crate::batch::{ScoredSite, SiteRows};
use serde_json::{Map, Value as Json, json};
use std::io::Write;

fn feature(ctx: &Context, s: &ScoredSite, columns: &[String], inputs: &[String]) -> Json {
    let mut props = Map::new();
    for (k, v) in input_values(ctx.header, s) {
        props.insert(k, v);
    }
    let _ = inputs;
    for (k, v) in columns.iter().zip(result_values(ctx, s)) {
        props.insert(k.clone(), v);
    }
    props.insert("marker-color".into(), Json::from(result_colour(s)));
    json!({
        "type": "Feature",
        "id": s.site.id,
        "geometry": {"type": "Point", "coordinates": [round(s.site.lon, 7), round(s.site.lat, 7)]},
        "properties": props,
    })
}

/// Metadata about the run, shared by the GeoJSON and JSON writers.
pub(crate) fn metadata(ctx: &Context) -> Json {
    let p = ctx.engine.profile();
    let sm = ctx.summary;
    let mut m = json!({
        "profile": p.name,
        "description": p.description,
        "method": p.method,
        "aggregation": ctx.engine.aggregation(),
        "set_relative_bounds": ctx.engine.relative_notes(),
        "unknown_policy": p.unknown.to_string(),
        "criteria": p.criteria.iter().enumerate().map(|(i, c)| json!({
            "id": c.id(),
            "label": c.label,
            "measure": c.measure.name(),
            "unit": c.unit(),
            "weight": ctx.engine.weights()[i],
            "layers": ctx.engine.criterion_layers(i),
        })).collect::<Vec<_>>(),
        "constraints": p.constraints.iter().map(|k| json!({
            "criterion": k.criterion, "min": k.min, "max": k.max, "reason": k.reason,
        })).collect::<Vec<_>>(),
        "summary": {
            "sites": sm.sites, "ok": sm.ok, "excluded": sm.excluded, "unknown": sm.unknown,
            "excluded_by": sm.by_constraint.iter().map(|(r, n)| json!({"reason": r, "sites": n})).collect::<Vec<_>>(),
            "unknown_by": sm.unknown_by_criterion.iter().map(|(c, n)| json!({"criterion": c, "sites": n})).collect::<Vec<_>>(),
        },
        "attribution": ctx.engine.layers().iter().filter_map(|l| l.attribution.as_ref().map(|a| json!({"layer": l.name, "text": a}))).collect::<Vec<_>>(),
    });
    if let Some(r) = ctx.sensitivity {
        m["sensitivity"] = sensitivity_json(r);
    }
    m
}

/// How a run's sensitivity analysis was made, for metadata.
pub(crate) fn sensitivity_json(r: crate::sensitivity::Report) -> Json {
    json!({
        "draws": r.draws.n,
        "method": format!("each weight times an independent factor uniform in [{}, {}], renormalised; ChaCha8 streams of seed {}", 1.0 - r.draws.spread, 1.0 + r.draws.spread, r.draws.seed),
        "spread": r.draws.spread,
        "seed": r.draws.seed,
        "top_k": r.top_k,
        "percentiles": "nearest rank",
    })
}

/// A GeoJSON FeatureCollection written one feature at a time (never held whole), with
/// foreign members (RFC 7946 §6.1) before or after the features: the one framing that every
/// GeoJSON writer uses.
pub struct FeatureCollection<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> FeatureCollection<W> {
    /// Open the collection, writing `head` members (name, value) before the features.
    pub fn start(mut out: W, head: &[(&str, &Json)]) -> std::io::Result<Self> {
        out.write_all(b"{\"type\":\"FeatureCollection\"")?;
        for (name, value) in head {
            out.write_all(b",")?;
            serde_json::to_writer(&mut out, name)?;
            out.write_all(b":")?;
            serde_json::to_writer(&mut out, value)?;
        }
        out.write_all(b",\"features\":[\n")?;
        Ok(FeatureCollection { out, first: true })
    }

    /// Write one feature.
    pub fn feature(&mut self, f: &Json) -> std::io::Result<()> {
        if !self.first {
            self.out.write_all(b",\n")?;
        }
        self.first = false;
        serde_json::to_writer(&mut self.out, f).map_err(std::io::Error::from)
    }

    /// Close the collection, writing `tail` members after the features; flush.
    pub fn finish(mut self, tail: &[(&str, &Json)]) -> std::io::Result<W> {
        self.out.write_all(b"\n]")?;
        for (name, value) in tail {
            self.out.write_all(b",")?;
            serde_json::to_writer(&mut self.out, name)?;
            self.out.write_all(b":")?;
            serde_json::to_writer(&mut self.out, value)?;
        }
        self.out.write_all(b"}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Write a FeatureCollection, one feature at a time.
pub fn write_geojson(
    out: &mut dyn Write,
    ctx: &Context,
    results: &mut dyn SiteRows,
) -> std::io::Result<()> {
    let inputs: Vec<String> = ctx.header.columns.clone();
    let columns = result_columns(ctx, &inputs);
    let w = std::io::BufWriter::new(out);
    let mut fc = FeatureCollection::start(w, &[("standort", &metadata(ctx))])?;
    results.for_each(&mut |s| fc.feature(&feature(ctx, s, &columns, &inputs)))?;
    fc.finish(&[])?;
    Ok(())
}

/// Write a GeoJSON text sequence (RFC 8142): each feature after a record separator (0x1E)
/// and before a line feed. GDAL recognises the format by the separator, whatever the file
/// is called.
pub fn write_geojson_seq(
    out: &mut dyn Write,
    ctx: &Context,
    results: &mut dyn SiteRows,
) -> std::io::Result<()> {
    write_features(out, ctx, results, b"\x1e")
}

/// Write newline-delimited GeoJSON features (one per line, no separators).
pub fn write_geojson_lines(
    out: &mut dyn Write,
    ctx: &Context,
    results: &mut dyn SiteRows,
) -> std::io::Result<()> {
    write_features(out, ctx, results, b"")
}

/// One feature per line, each after `before`.
fn write_features(
    out: &mut dyn Write,
    ctx: &Context,
    results: &mut dyn SiteRows,
    before: &[u8],
) -> std::io::Result<()> {
    let inputs: Vec<String> = ctx.header.columns.clone();
    let columns = result_columns(ctx, &inputs);
    let mut w = std::io::BufWriter::new(out);
    results.for_each(&mut |s| {
        w.write_all(before)?;
        serde_json::to_writer(&mut w, &feature(ctx, s, &columns, &inputs))?;
        w.write_all(b"\n")
    })?;
    w.flush()
}
