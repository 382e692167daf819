//! One JSON document for machines: run metadata, then every result with its criteria.

use super::geojson::metadata;
use super::{Context, input_values, round, source_label};
use crate::batch::{ScoredSite, SiteRows};
use crate::layers::Value;
use serde_json::{Map, Value as Json, json};
use std::io::Write;

fn site(ctx: &Context, s: &ScoredSite) -> Json {
    let mut criteria = Map::new();
    for (i, (c, v)) in ctx
        .engine
        .profile()
        .criteria
        .iter()
        .zip(&s.eval.values)
        .enumerate()
    {
        let raw = match &v.raw {
            Value::Num(x) => json!(round(
                *x,
                if c.source_unit(v.source) == "km" {
                    4
                } else {
                    6
                }
            )),
            Value::Text(t) => json!(t),
            Value::Null => Json::Null,
        };
        criteria.insert(
            c.id().to_string(),
            json!({
                "value": raw,
                "unit": c.source_unit(v.source),
                "score": v.score.map(|x| round(x, 6)),
                "contribution": v.contribution.map(|x| round(x, 6)),
                "source": source_label(ctx.engine, i, v.source),
                "unknown": v.unknown,
            }),
        );
    }
    let input: Map<String, Json> = input_values(ctx.header, s).into_iter().collect();
    let mut out = json!({
        "rank": s.rank,
        "tie_group": s.tie_group,
        "id": s.site.id,
        "lon": round(s.site.lon, 7),
        "lat": round(s.site.lat, 7),
        "score": s.eval.score.map(|x| round(x, 6)),
        "status": s.eval.status.to_string(),
        "reasons": s.eval.reasons,
        "criteria": criteria,
        "input": input,
    });
    if ctx.sensitivity.is_some() {
        out["sensitivity"] = match s.stability {
            Some(st) => json!({
                "rank_mean": round(st.mean_rank, 2),
                "rank_p05": st.rank_p05,
                "rank_p95": st.rank_p95,
                "p_top_k": round(st.p_top, 4),
            }),
            None => Json::Null,
        };
    }
    out
}

/// Write `{"standort": {...metadata}, "sites": [...]}`, one site at a time.
pub fn write_json(
    out: &mut dyn Write,
    ctx: &Context,
    results: &mut dyn SiteRows,
) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(out);
    w.write_all(b"{\"standort\":")?;
    serde_json::to_writer(&mut w, &metadata(ctx))?;
    w.write_all(b",\"sites\":[\n")?;
    let mut first = true;
    results.for_each(&mut |s| {
        if !first {
            w.write_all(b",\n")?;
        }
        first = false;
        serde_json::to_writer(&mut w, &site(ctx, s))?;
        Ok(())
    })?;
    w.write_all(b"\n]}\n")?;
    w.flush()
}
