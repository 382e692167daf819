//! A region run as a picture: the PNG writer of cells ([`png_cells`]) and what the title,
//! legend and numbered sites say ([`region_picture`]).

use super::png::{Legend, Marks, Picture, Tone, render};
use crate::engine::{Engine, Evaluation, Status};
use crate::error::{Error, Result};
use crate::export::{AtomicFile, CellOptions, CellWriter, Format, OutputError};
use crate::region::{Cell, Region, RegionSummary};
use std::io::Write;

/// The most cells a PNG map draws (a map of 1200 pixels shows about a million).
pub const MAX_CELLS: usize = 20_000_000;

/// The tone of an evaluation: its score on the ramp, or excluded, or no data.
pub fn tone(e: &Evaluation) -> Tone {
    match (e.status, e.score) {
        (Status::Ok, Some(s)) => Tone::Ramp(s),
        (Status::Excluded, _) => Tone::Excluded,
        _ => Tone::Unknown,
    }
}

/// The attribution texts of the engine's layers, each once.
pub fn attribution(engine: &Engine) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in engine.layers() {
        for part in l.attribution.iter().flat_map(|a| a.split("; ")) {
            if !out.iter().any(|o| o == part) {
                out.push(part.to_string());
            }
        }
    }
    out
}

/// The legend's lines for exclusions: the share excluded, then the main reasons (at most
/// four, largest first) with their shares; empty when nothing is excluded.
pub fn excluded_lines(reasons: &[(String, f64)], total: f64, what: &str) -> Vec<String> {
    let share: f64 = reasons.iter().map(|r| r.1).sum();
    if share <= 0.0 || total <= 0.0 {
        return Vec::new();
    }
    let mut v: Vec<&(String, f64)> = reasons.iter().filter(|r| r.1 > 0.0).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut lines = vec![format!("excluded: {}", pct(share / total, what))];
    for (r, a) in v.iter().take(4) {
        lines.push(format!("{} {r}", pct(a / total, "")));
    }
    lines
}

fn pct(share: f64, what: &str) -> String {
    let p = 100.0 * share;
    let text = if p > 0.0 && p < 0.1 {
        "<0.1%".to_string()
    } else {
        format!("{p:.1}%")
    };
    if what.is_empty() {
        text
    } else {
        format!("{text} of {what}")
    }
}

/// The ramp legend of a 0..1 score.
pub fn score_legend() -> Legend {
    Legend {
        ramp_title: "Score (1 = best)".into(),
        ramp_ends: ("0".into(), "1".into()),
        ramp_marks: vec!["0.75".into(), "0.5".into(), "0.25".into()],
        ..Legend::default()
    }
}

/// The picture of a region run from its cells' tones.
pub fn region_picture(
    engine: &Engine,
    region: &Region,
    s: &RegionSummary,
    cells: Vec<([f64; 4], Tone)>,
) -> Picture {
    let p = engine.profile();
    let reasons: Vec<(String, f64)> = p
        .constraints
        .iter()
        .zip(&s.area_by_constraint_km2)
        .map(|(k, a)| (k.reason.clone(), *a))
        .collect();
    let mut legend = score_legend();
    legend.excluded = excluded_lines(&reasons, s.area_km2, "the area");
    if s.area_unknown_km2 > 0.0 {
        legend.unknown = format!(
            "no data: {}",
            pct(s.area_unknown_km2 / s.area_km2, "the area")
        );
    }
    legend.numbered = top_lines(s);
    let mean = s
        .mean_total
        .map(|m| format!(", mean score {m:.3}"))
        .unwrap_or_default();
    Picture {
        title: format!("{}: data-centre suitability", region.name),
        subtitle: format!(
            "profile {} ({}) · {} cells of {}°{mean}",
            p.name,
            p.method,
            crate::text::thousands(s.counts.sites as f64),
            s.cell_deg
        ),
        bbox: region.bbox,
        marks: Marks::Cells(cells),
        numbered: s
            .top
            .iter()
            .map(|t| (t.rank, t.cell.lon(), t.cell.lat()))
            .collect(),
        legend,
        attribution: attribution(engine),
    }
}

/// The legend's list of the top sites.
fn top_lines(s: &RegionSummary) -> Vec<String> {
    if s.top.is_empty() {
        return Vec::new();
    }
    let mut lines = vec!["Top sites (score, lat, lon)".to_string()];
    for t in &s.top {
        lines.push(format!(
            "{:>2}  {:.3}  {:.3}, {:.3}",
            t.rank,
            t.score,
            t.cell.lat(),
            t.cell.lon()
        ));
    }
    lines
}

/// The PNG writer of region cells.
pub fn png_cells<'a>(
    _format: Format,
    file: &'a mut AtomicFile,
    options: &CellOptions,
) -> Result<Box<dyn CellWriter + 'a>> {
    super::png::check_width(options.map.width_px)?;
    Ok(Box::new(PngCells {
        file,
        options: options.clone(),
        cells: Vec::new(),
    }))
}

struct PngCells<'a> {
    file: &'a mut AtomicFile,
    options: CellOptions,
    cells: Vec<([f64; 4], Tone)>,
}

impl CellWriter for PngCells<'_> {
    fn cell(&mut self, _engine: &Engine, c: &Cell, e: &Evaluation) -> std::io::Result<()> {
        if self.cells.len() >= MAX_CELLS {
            return Err(std::io::Error::other(format!(
                "a PNG map draws at most {MAX_CELLS} cells; use a larger --cell"
            )));
        }
        self.cells.push((c.rect(), tone(e)));
        Ok(())
    }

    fn finish(
        self: Box<Self>,
        engine: &Engine,
        region: &Region,
        summary: &RegionSummary,
    ) -> std::result::Result<(), OutputError> {
        let picture = region_picture(engine, region, summary, self.cells);
        let png = render(&picture, &self.options.map)?;
        let target = self.file.target().to_path_buf();
        self.file
            .file()
            .write_all(&png)
            .map_err(|e| Error::io(&target, &e))?;
        Ok(())
    }
}
