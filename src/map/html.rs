//! The offline HTML viewer: one self-contained page (Leaflet 1.9.4 and the viewer's script
//! inlined, no tiles, no network) that shows a region's cells coloured by the total score
//! or by any criterion's sub-score, a popup per cell (total, status, reasons, raw values
//! with units, sub-scores, sources), the legend, the borders and the top sites. It opens
//! from `file://`.
//!
//! The cells travel as columns (one array per field) and are drawn in the page as one
//! image per layer on an equirectangular map, a pixel per cell: a country of 100,000 cells
//! draws at once.

use super::Basemap;
use super::region::{attribution, excluded_lines};
use crate::engine::{Engine, Evaluation, Status};
use crate::error::{Error, Result};
use crate::export::region::raw_decimals;
use crate::export::{
    AtomicFile, CellOptions, CellWriter, Format, OutputError, round, score_colour,
};
use crate::layers::Value;
use crate::region::{Cell, Region, RegionSummary};
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use std::io::Write;

const LEAFLET_JS: &str = include_str!("../../assets/leaflet/leaflet.js");
const LEAFLET_CSS: &str = include_str!("../../assets/leaflet/leaflet.css");
const VIEWER_JS: &str = include_str!("../../assets/viewer/viewer.js");
const VIEWER_CSS: &str = include_str!("../../assets/viewer/viewer.css");

/// The most cells a page holds.
pub const MAX_CELLS: usize = 1_000_000;

/// The HTML writer of region cells.
pub fn html_cells<'a>(
    _format: Format,
    file: &'a mut AtomicFile,
    options: &CellOptions,
) -> Result<Box<dyn CellWriter + 'a>> {
    Ok(Box::new(HtmlCells {
        file,
        basemap: options.map.basemap.clone(),
        cell_deg: options.cell_deg,
        cells: Vec::new(),
        reasons: HashMap::new(),
    }))
}

/// One cell as the page needs it.
struct PageCell {
    min: [f64; 2],
    score: Option<f64>,
    status: u8,
    reason: i64,
    raw: Vec<Json>,
    sub: Vec<Option<f64>>,
    source: Vec<i64>,
}

struct HtmlCells<'a> {
    file: &'a mut AtomicFile,
    basemap: std::sync::Arc<Basemap>,
    cell_deg: f64,
    cells: Vec<PageCell>,
    reasons: HashMap<String, i64>,
}

impl CellWriter for HtmlCells<'_> {
    fn cell(&mut self, engine: &Engine, c: &Cell, e: &Evaluation) -> std::io::Result<()> {
        if self.cells.len() >= MAX_CELLS {
            return Err(std::io::Error::other(format!(
                "the HTML viewer holds at most {MAX_CELLS} cells; use a larger --cell, or .fgb or .png"
            )));
        }
        let reason = if e.reasons.is_empty() {
            -1
        } else {
            let next = self.reasons.len() as i64;
            *self.reasons.entry(e.reasons.join("; ")).or_insert(next)
        };
        let criteria = &engine.profile().criteria;
        let raw = criteria
            .iter()
            .zip(&e.values)
            .map(|(k, v)| match &v.raw {
                Value::Num(x) => json!(round(*x, raw_decimals(k.source_unit(v.source)))),
                Value::Text(t) => json!(t),
                Value::Null => Json::Null,
            })
            .collect();
        self.cells.push(PageCell {
            min: [c.min_lon, c.min_lat],
            score: e.score.map(|s| round(s, 3)),
            status: match e.status {
                Status::Ok => 0,
                Status::Excluded => 1,
                _ => 2,
            },
            reason,
            raw,
            sub: e
                .values
                .iter()
                .map(|v| v.score.map(|s| round(s, 3)))
                .collect(),
            source: e
                .values
                .iter()
                .map(|v| v.source.map_or(-1, i64::from))
                .collect(),
        });
        Ok(())
    }

    fn finish(
        self: Box<Self>,
        engine: &Engine,
        region: &Region,
        summary: &RegionSummary,
    ) -> std::result::Result<(), OutputError> {
        let data = page_data(&self, engine, region, summary);
        let page = page(engine, region, summary, &data);
        let target = self.file.target().to_path_buf();
        let mut out = std::io::BufWriter::new(self.file.file());
        out.write_all(page.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Error::io(&target, &e))?;
        Ok(())
    }
}

/// The grid the cells lie on: origin (west, north), size and shape, and each cell's place.
fn grid(cells: &[PageCell], size: f64) -> (Json, Vec<usize>) {
    let x0 = cells.iter().map(|c| c.min[0]).fold(f64::MAX, f64::min);
    let x1 = cells
        .iter()
        .map(|c| c.min[0] + size)
        .fold(f64::MIN, f64::max);
    let y0 = cells.iter().map(|c| c.min[1]).fold(f64::MAX, f64::min);
    let y1 = cells
        .iter()
        .map(|c| c.min[1] + size)
        .fold(f64::MIN, f64::max);
    let cols = ((x1 - x0) / size).round().max(1.0) as usize;
    let rows = ((y1 - y0) / size).round().max(1.0) as usize;
    let index = cells
        .iter()
        .map(|c| {
            let col = ((c.min[0] - x0) / size).round() as usize;
            let row = ((y1 - c.min[1]) / size).round() as usize - 1;
            row.min(rows - 1) * cols + col.min(cols - 1)
        })
        .collect();
    let g = json!({"x0": x0, "x1": x1, "y0": y0, "y1": y1.min(90.0), "cell": size, "cols": cols, "rows": rows});
    (g, index)
}

/// Everything the page's script reads, as JSON.
fn page_data(h: &HtmlCells, engine: &Engine, region: &Region, s: &RegionSummary) -> Json {
    let cells = &h.cells;
    let size = h.cell_deg;
    let (grid, index) = if cells.is_empty() {
        (
            json!({"x0": 0, "x1": 1, "y0": 0, "y1": 1, "cell": 1, "cols": 1, "rows": 1}),
            Vec::new(),
        )
    } else {
        grid(cells, size)
    };
    let p = engine.profile();
    let column = |f: &dyn Fn(&PageCell) -> Json| -> Json { cells.iter().map(f).collect() };
    let per_criterion = |f: &dyn Fn(&PageCell, usize) -> Json| -> Json {
        (0..p.criteria.len())
            .map(|j| cells.iter().map(|c| f(c, j)).collect::<Json>())
            .collect()
    };
    let mut reasons: Vec<(&String, &i64)> = h.reasons.iter().collect();
    reasons.sort_by_key(|r| *r.1);
    let criteria = crate::export::region::columns_json(engine)["criteria"].clone();
    json!({
        "region": region.name,
        "grid": grid,
        "ramp": (0..256).map(|i| super::canvas::hex(&score_colour(f64::from(i) / 255.0))).collect::<Vec<_>>(),
        "criteria": criteria,
        "reasons": reasons.iter().map(|r| r.0).collect::<Vec<_>>(),
        "cells": {
            "index": index,
            "lon": column(&|c| json!(round(c.min[0] + size / 2.0, 7))),
            "lat": column(&|c| json!(round((c.min[1] + size / 2.0).min(90.0), 7))),
            "score": column(&|c| json!(c.score)),
            "status": column(&|c| json!(c.status)),
            "reason": column(&|c| json!(c.reason)),
            "raw": per_criterion(&|c, j| c.raw[j].clone()),
            "sub": per_criterion(&|c, j| json!(c.sub[j])),
            "source": per_criterion(&|c, j| json!(c.source[j])),
        },
        "top": s.top.iter().map(|t| json!({"rank": t.rank, "lon": round(t.cell.lon(), 7), "lat": round(t.cell.lat(), 7), "score": round(t.score, 3)})).collect::<Vec<_>>(),
        "basemap": {"countries": simplified(&h.basemap.countries), "admin1": simplified(&h.basemap.admin1)},
        "attribution": attribution(engine),
    })
}

/// Lines with coordinates to 4 decimals (11 m), enough for borders on screen.
fn simplified(lines: &[Vec<[f64; 2]>]) -> Json {
    lines
        .iter()
        .map(|l| {
            l.iter()
                .map(|[x, y]| json!([round(*x, 4), round(*y, 4)]))
                .collect::<Json>()
        })
        .collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page.
fn page(engine: &Engine, region: &Region, s: &RegionSummary, data: &Json) -> String {
    let p = engine.profile();
    let title = format!("{}: data-centre suitability", region.name);
    let reasons: Vec<(String, f64)> = p
        .constraints
        .iter()
        .zip(&s.area_by_constraint_km2)
        .map(|(k, a)| (k.reason.clone(), *a))
        .collect();
    let mut legend = String::new();
    if let Some((head, rest)) = excluded_lines(&reasons, s.area_km2, "the area").split_first() {
        legend.push_str(&format!(
            "<div><span class='swatch excluded'></span>{}</div>",
            escape(head)
        ));
        for r in rest {
            legend.push_str(&format!("<div class='note'>{}</div>", escape(r)));
        }
    }
    if s.area_unknown_km2 > 0.0 {
        let share = 100.0 * s.area_unknown_km2 / s.area_km2.max(1e-12);
        legend.push_str(&format!(
            "<div><span class='swatch unknown'></span>no data: {share:.1}% of the area</div>"
        ));
    }
    // `</` cannot appear inside a script element.
    let json = data.to_string().replace("</", "<\\/");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>{LEAFLET_CSS}</style><style>{VIEWER_CSS}</style></head>\n\
         <body data-status=\"loading\"><div id=\"error\"></div><div id=\"map\"></div><div id=\"panel\">\
         <h1>{t}</h1><div class=\"sub\">profile {profile} ({method}) · {cells} cells of {deg}°</div>\
         <h2>Layer</h2><select id=\"layer\"><option value=\"total\">total score</option></select>\
         <h2>Legend</h2><div id=\"ramp\" class=\"ramp\"></div>\
         <div class=\"ramp-labels\"><span>0 (worst)</span><span>0.5</span><span>1 (best)</span></div>{legend}\
         <h2>Top sites</h2><table class=\"top\"><thead><tr><th>#</th><th>score</th><th>lat</th><th>lon</th></tr></thead>\
         <tbody id=\"top-rows\"></tbody></table>\
         <div class=\"attribution\">Click a cell for its values. Data: {credit}. Map: Leaflet (BSD-2-Clause).</div></div>\n\
         <script>window.onerror=function(m,u,l){{document.body.setAttribute('data-status','error: '+m+' (line '+l+')');\
         var e=document.getElementById('error');e.style.display='block';e.textContent='error: '+m;}};</script>\n\
         <script>{LEAFLET_JS}</script>\n\
         <script id=\"standort-data\" type=\"application/json\">{json}</script>\n\
         <script>{VIEWER_JS}</script>\n</body></html>\n",
        t = escape(&title),
        profile = escape(&p.name),
        method = escape(&p.method),
        cells = crate::text::thousands(s.counts.sites as f64),
        deg = s.cell_deg,
        credit = escape(&attribution(engine).join(" · ")),
    )
}
