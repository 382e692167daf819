//! Pictures of the other commands' results: a dot map of scored sites (`score --out
//! map.png`), a plan's campuses sized by their IT load (`plan --out plan.png`) and a
//! choropleth of the IT load each country can host (`sovereignty --out map.png`).

use super::png::{Legend, Marks, Picture, Tone, render};
use super::region::{attribution, excluded_lines, score_legend, tone};
use crate::batch::SiteRows;
use crate::export::Context;
use crate::layers::Polygon;
use crate::plan::Plan;
use crate::plan::sovereignty::CountryRow;
use std::io::{self, Write};

/// The box around points, padded to at least `min_deg` on each axis.
pub fn points_bbox(points: impl Iterator<Item = [f64; 2]>, min_deg: f64) -> [f64; 4] {
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for [x, y] in points {
        b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
    }
    // Nothing, or nearly the whole world: the world without Antarctica.
    if b[0] > b[2] || b[2] - b[0] > 300.0 {
        return [-180.0, -58.0, 180.0, 84.0];
    }
    for (lo, hi) in [(0, 2), (1, 3)] {
        let grow = (min_deg - (b[hi] - b[lo])).max(0.0) / 2.0;
        b[lo] -= grow;
        b[hi] += grow;
    }
    [b[0], b[1].max(-90.0), b[2], b[3].min(90.0)]
}

fn io_error(e: crate::Error) -> io::Error {
    io::Error::other(e.to_string())
}

/// Scored sites as a PNG dot map (the best ten numbered), for `score --out map.png`.
pub fn write_sites_png(
    out: &mut dyn Write,
    ctx: &Context,
    rows: &mut dyn SiteRows,
) -> io::Result<()> {
    let mut dots = Vec::new();
    let mut numbered = Vec::new();
    rows.for_each(&mut |s| {
        if let Some(r) = s.rank.filter(|r| *r <= 10) {
            numbered.push((r as usize, s.site.lon, s.site.lat));
        }
        dots.push(([s.site.lon, s.site.lat], tone(&s.eval), None));
        Ok(())
    })?;
    // The best on top.
    dots.sort_by(|a, b| key(a.1).total_cmp(&key(b.1)));
    let sm = ctx.summary;
    let mut legend = score_legend();
    let reasons: Vec<(String, f64)> = sm
        .by_constraint
        .iter()
        .map(|(r, n)| (r.clone(), *n as f64))
        .collect();
    legend.excluded = excluded_lines(&reasons, sm.sites as f64, "the sites");
    if sm.unknown > 0 {
        legend.unknown = format!(
            "no data: {} sites",
            crate::text::thousands(sm.unknown as f64)
        );
    }
    legend.numbered = numbered_lines("Best sites", &numbered);
    let p = ctx.engine.profile();
    let picture = Picture {
        title: format!(
            "{} sites: data-centre suitability",
            crate::text::thousands(sm.sites as f64)
        ),
        subtitle: format!("profile {} ({})", p.name, p.method),
        bbox: points_bbox(dots.iter().map(|d| d.0), 1.0),
        marks: Marks::Dots(dots),
        numbered,
        legend,
        attribution: attribution(ctx.engine),
    };
    let options = ctx.map.cloned().unwrap_or_default();
    out.write_all(&render(&picture, &options).map_err(io_error)?)
}

/// Order of drawing: no data, excluded, then by score.
fn key(t: Tone) -> f64 {
    match t {
        Tone::Unknown => -2.0,
        Tone::Excluded => -1.0,
        Tone::Ramp(v) => v,
    }
}

fn numbered_lines(head: &str, numbered: &[(usize, f64, f64)]) -> Vec<String> {
    let mut sorted = numbered.to_vec();
    sorted.sort_by_key(|n| n.0);
    let mut lines = Vec::new();
    if !sorted.is_empty() {
        lines.push(format!("{head} (lat, lon)"));
    }
    for (r, lon, lat) in sorted {
        lines.push(format!("{r:>2}  {lat:.3}, {lon:.3}"));
    }
    lines
}

/// A capacity plan's campuses, coloured by score and sized by IT load, numbered in build
/// order (the first ten), over `bbox` (else the campuses' box).
pub fn plan_picture(
    plan: &Plan,
    title: &str,
    bbox: Option<[f64; 4]>,
    attribution: Vec<String>,
) -> Picture {
    let max_mw = plan
        .campuses
        .iter()
        .map(|c| c.it_mw)
        .fold(0.0f64, f64::max)
        .max(1.0);
    let dots = plan
        .campuses
        .iter()
        .map(|c| {
            let r = 3.0 + 6.0 * (c.it_mw / max_mw).sqrt() as f32;
            ([c.site.lon, c.site.lat], Tone::Ramp(c.site.score), Some(r))
        })
        .collect::<Vec<_>>();
    let numbered: Vec<(usize, f64, f64)> = plan
        .campuses
        .iter()
        .take(10)
        .map(|c| (c.rank, c.site.lon, c.site.lat))
        .collect();
    let mut legend = score_legend();
    legend.ramp_title = "Campus score (size: IT load)".into();
    legend.numbered = numbered_lines("Build order", &numbered);
    legend.numbered.insert(
        0,
        format!(
            "{} campuses, {:.0} MW IT load; {}",
            plan.campuses.len(),
            plan.total_mw(),
            plan.stop.describe()
        ),
    );
    Picture {
        title: title.to_string(),
        subtitle: format!(
            "campuses of up to {:.0} MW, at least {:.0} km apart, in build order",
            plan.params.campus_mw.value, plan.options.min_spacing_km
        ),
        bbox: bbox.unwrap_or_else(|| points_bbox(dots.iter().map(|d| d.0), 2.0)),
        marks: Marks::Dots(dots),
        numbered,
        legend,
        attribution,
    }
}

/// The IT load each country (or state) can host, on a logarithmic ramp from 1 MW to the
/// largest; those hosting none in grey.
pub fn countries_picture(
    rows: &[CountryRow],
    shapes: &[(String, Vec<Polygon>)],
    title: &str,
    attribution: Vec<String>,
) -> Picture {
    let max = rows.iter().map(|r| r.mw).fold(1.0f64, f64::max);
    let scale = |mw: f64| (mw.max(1.0).ln() / max.ln().max(1e-9)).clamp(0.0, 1.0);
    let mut areas = Vec::new();
    let mut bbox_pts = Vec::new();
    for (code, polys) in shapes {
        let Some(row) = rows.iter().find(|r| &r.code == code) else {
            continue;
        };
        let t = if row.mw > 0.0 {
            Tone::Ramp(scale(row.mw))
        } else {
            Tone::Unknown
        };
        for p in polys {
            let rings: Vec<Vec<[f64; 2]>> = p
                .rings
                .iter()
                .map(|r| r.exterior().coords().map(|c| [c.x, c.y]).collect())
                .collect();
            bbox_pts.push([p.bbox[0], p.bbox[1]]);
            bbox_pts.push([p.bbox[2], p.bbox[3]]);
            areas.push((rings, t));
        }
    }
    let none = rows.iter().filter(|r| r.mw <= 0.0).count();
    let mw = |v: f64| format!("{} MW", crate::text::thousands(v));
    let legend = Legend {
        ramp_title: "IT load it can host (log scale)".into(),
        ramp_ends: ("1 MW".into(), mw(max)),
        ramp_marks: [0.75, 0.5, 0.25]
            .iter()
            .map(|f| mw(max.powf(*f).round()))
            .collect(),
        unknown: if none > 0 {
            format!("hosts none: {none}")
        } else {
            String::new()
        },
        numbered: top_countries(rows),
        ..Legend::default()
    };
    let total: f64 = rows.iter().map(|r| r.mw).sum();
    Picture {
        title: title.to_string(),
        subtitle: format!("{} MW of IT load in all", crate::text::thousands(total)),
        bbox: points_bbox(bbox_pts.into_iter(), 2.0),
        marks: Marks::Areas(areas),
        numbered: Vec::new(),
        legend,
        attribution,
    }
}

/// The ten that can host the most.
fn top_countries(rows: &[CountryRow]) -> Vec<String> {
    let mut v: Vec<&CountryRow> = rows.iter().filter(|r| r.mw > 0.0).collect();
    v.sort_by(|a, b| b.mw.total_cmp(&a.mw).then(a.code.cmp(&b.code)));
    let mut lines = vec!["Most IT load".to_string()];
    for r in v.iter().take(10) {
        lines.push(format!("{:<4} {} MW", r.code, crate::text::thousands(r.mw)));
    }
    lines
}

/// Write `picture` as PNG to `out`.
pub fn write_png(
    out: &mut dyn Write,
    picture: &Picture,
    options: &super::MapOptions,
) -> io::Result<()> {
    out.write_all(&render(picture, options).map_err(io_error)?)
}
