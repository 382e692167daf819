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
        items: Items::default(),
    }))
}

/// One cell or site as the page needs it.
struct Item {
    /// A cell's south-west corner, or a site's position.
    at: [f64; 2],
    score: Option<f64>,
    status: u8,
    reason: i64,
    rank: Option<u64>,
    raw: Vec<Json>,
    sub: Vec<Option<f64>>,
    source: Vec<i64>,
}

/// The cells or sites of a page, with their reasons numbered.
#[derive(Default)]
struct Items {
    list: Vec<Item>,
    reasons: HashMap<String, i64>,
}

impl Items {
    fn push(&mut self, engine: &Engine, at: [f64; 2], e: &Evaluation, rank: Option<u64>) {
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
        let values = &e.values;
        self.list.push(Item {
            at,
            score: e.score.map(|s| round(s, 3)),
            status: match e.status {
                Status::Ok => 0,
                Status::Excluded => 1,
                _ => 2,
            },
            reason,
            rank,
            raw,
            sub: values
                .iter()
                .map(|v| v.score.map(|s| round(s, 3)))
                .collect(),
            source: values
                .iter()
                .map(|v| v.source.map_or(-1, i64::from))
                .collect(),
        });
    }

    /// The reasons in their numbers' order.
    fn reasons(&self) -> Vec<&String> {
        let mut reasons: Vec<(&String, &i64)> = self.reasons.iter().collect();
        reasons.sort_by_key(|r| *r.1);
        reasons.into_iter().map(|r| r.0).collect()
    }

    /// The items as columns (one array per field), each at `centre(item)`.
    fn columns(&self, criteria: usize, centre: &dyn Fn(&Item) -> [f64; 2]) -> Json {
        let items = &self.list;
        let column = |f: &dyn Fn(&Item) -> Json| -> Json { items.iter().map(f).collect() };
        let per_criterion = |f: &dyn Fn(&Item, usize) -> Json| -> Json {
            (0..criteria)
                .map(|j| items.iter().map(|c| f(c, j)).collect::<Json>())
                .collect()
        };
        json!({
            "lon": column(&|c| json!(round(centre(c)[0], 7))),
            "lat": column(&|c| json!(round(centre(c)[1], 7))),
            "score": column(&|c| json!(c.score)),
            "status": column(&|c| json!(c.status)),
            "reason": column(&|c| json!(c.reason)),
            "rank": column(&|c| json!(c.rank)),
            "raw": per_criterion(&|c, j| c.raw[j].clone()),
            "sub": per_criterion(&|c, j| json!(c.sub[j])),
            "source": per_criterion(&|c, j| json!(c.source[j])),
        })
    }
}

struct HtmlCells<'a> {
    file: &'a mut AtomicFile,
    basemap: std::sync::Arc<Basemap>,
    cell_deg: f64,
    items: Items,
}

impl CellWriter for HtmlCells<'_> {
    fn cell(&mut self, engine: &Engine, c: &Cell, e: &Evaluation) -> std::io::Result<()> {
        if self.items.list.len() >= MAX_CELLS {
            return Err(std::io::Error::other(format!(
                "the HTML viewer holds at most {MAX_CELLS} cells; use a larger --cell, or .fgb or .png"
            )));
        }
        self.items.push(engine, [c.min_lon, c.min_lat], e, None);
        Ok(())
    }

    fn finish(
        self: Box<Self>,
        engine: &Engine,
        region: &Region,
        summary: &RegionSummary,
    ) -> std::result::Result<(), OutputError> {
        let mut this = self;
        // A region across the antimeridian: its cells east of 180° in one run with the west.
        let west = region.bbox[0] - this.cell_deg / 2.0;
        for c in &mut this.items.list {
            if c.at[0] < west {
                c.at[0] += 360.0;
            }
        }
        let data = cells_data(&this, engine, region, summary);
        let p = engine.profile();
        let text = PageText {
            title: format!("{}: data-centre suitability", region.name),
            subtitle: format!(
                "profile {} ({}) · {} cells of {}°",
                p.name,
                p.method,
                crate::text::thousands(summary.counts.sites as f64),
                summary.cell_deg
            ),
            legend: region_legend(engine, summary),
        };
        let target = this.file.target().to_path_buf();
        write_page(this.file.file(), engine, &text, &data).map_err(|e| Error::io(&target, &e))?;
        Ok(())
    }
}

/// The grid the cells lie on: origin (west, north), size and shape, and each cell's place.
fn grid(cells: &[Item], size: f64) -> (Json, Vec<usize>) {
    let x0 = cells.iter().map(|c| c.at[0]).fold(f64::MAX, f64::min);
    let x1 = cells
        .iter()
        .map(|c| c.at[0] + size)
        .fold(f64::MIN, f64::max);
    let y0 = cells.iter().map(|c| c.at[1]).fold(f64::MAX, f64::min);
    let y1 = cells
        .iter()
        .map(|c| c.at[1] + size)
        .fold(f64::MIN, f64::max);
    let cols = ((x1 - x0) / size).round().max(1.0) as usize;
    let rows = ((y1 - y0) / size).round().max(1.0) as usize;
    let index = cells
        .iter()
        .map(|c| {
            let col = ((c.at[0] - x0) / size).round() as usize;
            let row = (((y1 - c.at[1]) / size).round() as usize).saturating_sub(1);
            row.min(rows - 1) * cols + col.min(cols - 1)
        })
        .collect();
    let g = json!({"x0": x0, "x1": x1, "y0": y0, "y1": y1.min(90.0), "cell": size, "cols": cols, "rows": rows});
    (g, index)
}

/// What the page's script reads of a region run, as JSON.
fn cells_data(h: &HtmlCells, engine: &Engine, region: &Region, s: &RegionSummary) -> Json {
    let size = h.cell_deg;
    let (grid, index) = if h.items.list.is_empty() {
        let one = json!({"x0": 0, "x1": 1, "y0": 0, "y1": 1, "cell": 1, "cols": 1, "rows": 1});
        (one, Vec::new())
    } else {
        grid(&h.items.list, size)
    };
    let criteria = engine.profile().criteria.len();
    let centre = |c: &Item| [c.at[0] + size / 2.0, (c.at[1] + size / 2.0).min(90.0)];
    let mut cells = h.items.columns(criteria, &centre);
    cells["index"] = json!(index);
    json!({
        "region": region.name,
        "grid": grid,
        "cells": cells,
        "top": s.top.iter().map(|t| json!({"rank": t.rank, "lon": round(t.cell.lon(), 7), "lat": round(t.cell.lat(), 7), "score": round(t.score, 3)})).collect::<Vec<_>>(),
        "reasons": h.items.reasons(),
        "basemap": basemap_json(&h.basemap),
    })
}

/// The borders as lines of lon/lat pairs.
fn basemap_json(b: &Basemap) -> Json {
    json!({"countries": simplified(&b.countries), "admin1": simplified(&b.admin1)})
}

/// The most sites a page holds (each is a marker).
pub const MAX_SITES: usize = 200_000;

/// Scored sites as an offline HTML page (`score --out sites.html`): a marker per site,
/// coloured by the total or a sub-score, the best ten numbered.
pub fn write_sites_html(
    out: &mut dyn Write,
    ctx: &crate::export::Context,
    rows: &mut dyn crate::batch::SiteRows,
) -> std::io::Result<()> {
    let engine = ctx.engine;
    let mut items = Items::default();
    rows.for_each(&mut |s| {
        if items.list.len() >= MAX_SITES {
            return Err(std::io::Error::other(format!(
                "the HTML viewer holds at most {MAX_SITES} sites; use --top N, or .fgb or .png"
            )));
        }
        items.push(engine, [s.site.lon, s.site.lat], &s.eval, s.rank);
        Ok(())
    })?;
    let criteria = engine.profile().criteria.len();
    let sites = items.columns(criteria, &|c| c.at);
    let mut best: Vec<(u64, &Item)> = items
        .list
        .iter()
        .filter_map(|c| c.rank.filter(|r| *r <= 10).map(|r| (r, c)))
        .collect();
    best.sort_by_key(|b| b.0);
    let top: Vec<Json> = best
        .iter()
        .map(|(r, c)| json!({"rank": r, "lon": round(c.at[0], 7), "lat": round(c.at[1], 7), "score": c.score}))
        .collect();
    let bbox = super::pictures::points_bbox(items.list.iter().map(|c| c.at), 1.0);
    // The borders around the sites only.
    let around = [bbox[0] - 5.0, bbox[1] - 5.0, bbox[2] + 5.0, bbox[3] + 5.0];
    let within = |lines: &[Vec<[f64; 2]>]| -> Vec<Vec<[f64; 2]>> {
        lines
            .iter()
            .filter_map(|l| super::basemap::shifted_into(l, around))
            .collect()
    };
    let basemap = match ctx.map {
        Some(m) => Basemap {
            countries: within(&m.basemap.countries),
            admin1: within(&m.basemap.admin1),
        },
        None => Basemap::default(),
    };
    let data = json!({
        "grid": {"x0": bbox[0], "x1": bbox[2], "y0": bbox[1], "y1": bbox[3]},
        "points": sites,
        "top": top,
        "reasons": items.reasons(),
        "basemap": basemap_json(&basemap),
    });
    let sm = ctx.summary;
    let p = engine.profile();
    let reasons: Vec<(String, f64)> = sm
        .by_constraint
        .iter()
        .map(|(r, n)| (r.clone(), *n as f64))
        .collect();
    let text = PageText {
        title: format!(
            "{} sites: data-centre suitability",
            crate::text::thousands(sm.sites as f64)
        ),
        subtitle: format!("profile {} ({})", p.name, p.method),
        legend: legend_html(
            &excluded_lines(&reasons, sm.sites as f64, "the sites"),
            (sm.unknown > 0).then(|| format!("no data: {} sites", sm.unknown)),
        ),
    };
    write_page(out, engine, &text, &data)
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

/// The title, subtitle and legend of a page.
struct PageText {
    title: String,
    subtitle: String,
    legend: String,
}

/// The legend of a region run: the excluded share with its reasons, the no-data share.
fn region_legend(engine: &Engine, s: &RegionSummary) -> String {
    let reasons: Vec<(String, f64)> = engine
        .profile()
        .constraints
        .iter()
        .zip(&s.area_by_constraint_km2)
        .map(|(k, a)| (k.reason.clone(), *a))
        .collect();
    let unknown = (s.area_unknown_km2 > 0.0).then(|| {
        let share = 100.0 * s.area_unknown_km2 / s.area_km2.max(1e-12);
        format!("no data: {share:.1}% of the area")
    });
    legend_html(&excluded_lines(&reasons, s.area_km2, "the area"), unknown)
}

/// The excluded swatch with its lines, and the no-data swatch.
fn legend_html(excluded: &[String], unknown: Option<String>) -> String {
    let mut legend = String::new();
    if let Some((head, rest)) = excluded.split_first() {
        legend.push_str(&format!(
            "<div><span class='swatch excluded'></span>{}</div>",
            escape(head)
        ));
        for r in rest {
            legend.push_str(&format!("<div class='note'>{}</div>", escape(r)));
        }
    }
    if let Some(u) = unknown {
        legend.push_str(&format!(
            "<div><span class='swatch unknown'></span>{}</div>",
            escape(&u)
        ));
    }
    legend
}

/// Write the page: `data` with what every page adds (the ramp, the criteria, the
/// attribution) inlined as JSON with Leaflet and the viewer.
fn write_page(
    out: &mut dyn Write,
    engine: &Engine,
    text: &PageText,
    data: &Json,
) -> std::io::Result<()> {
    let mut data = data.clone();
    data["ramp"] = (0..256)
        .map(|i| super::canvas::hex(&score_colour(f64::from(i) / 255.0)))
        .collect::<Vec<_>>()
        .into();
    data["criteria"] = crate::export::region::columns_json(engine)["criteria"].clone();
    data["attribution"] = json!(attribution(engine));
    // `</` cannot appear inside a script element.
    let json = data.to_string().replace("</", "<\\/");
    let mut w = std::io::BufWriter::new(out);
    write!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>{LEAFLET_CSS}</style><style>{VIEWER_CSS}</style></head>\n\
         <body data-status=\"loading\"><div id=\"error\"></div><div id=\"map\"></div><div id=\"panel\">\
         <h1>{t}</h1><div class=\"sub\">{sub}</div>\
         <h2>Layer</h2><select id=\"layer\"><option value=\"total\">total score</option></select>\
         <h2>Legend</h2><div id=\"ramp\" class=\"ramp\"></div>\
         <div class=\"ramp-labels\"><span>0 (worst)</span><span>0.5</span><span>1 (best)</span></div>{legend}\
         <h2>Top sites</h2><table class=\"top\"><thead><tr><th>#</th><th>score</th><th>lat</th><th>lon</th></tr></thead>\
         <tbody id=\"top-rows\"></tbody></table>\
         <div class=\"attribution\">Click a cell or site for its values. Data: {credit}. Map: Leaflet (BSD-2-Clause).</div></div>\n\
         <script>window.onerror=function(m,u,l){{document.body.setAttribute('data-status','error: '+m+' (line '+l+')');\
         var e=document.getElementById('error');e.style.display='block';e.textContent='error: '+m;}};</script>\n\
         <script>{LEAFLET_JS}</script>\n\
         <script id=\"standort-data\" type=\"application/json\">{json}</script>\n\
         <script>{VIEWER_JS}</script>\n</body></html>\n",
        t = escape(&text.title),
        sub = escape(&text.subtitle),
        legend = text.legend,
        credit = escape(&attribution(engine).join(" · ")),
    )?;
    w.flush()
}
