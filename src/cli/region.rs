//! `standort region REGION`: score a region on a grid, summarise, map.

use super::{Failure, Globals, write_failure};
use clap::ValueEnum;
use standort::export::AtomicFile;
use standort::export::region::{RegionGeoJson, cell_feature, summary_json};
use standort::region::{Region, RegionSummary, nice_cell_deg, region_cells, score_cells};
use standort::text::format_number;
use standort::{Engine, Error};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SummaryFormat {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct RegionArgs {
    /// ISO3 code (IND), country name (India) or admin-1 name or code (Arizona, US-AZ)
    region: Option<String>,

    /// A bounding box instead: minlon,minlat,maxlon,maxlat (minlon > maxlon crosses 180)
    #[arg(long, value_name = "BOX", allow_hyphen_values = true, conflicts_with_all = ["region", "polygon"])]
    bbox: Option<String>,

    /// A GeoJSON file of Polygon/MultiPolygon features instead
    #[arg(long, value_name = "FILE", conflicts_with = "region")]
    polygon: Option<PathBuf>,

    /// Grid cell size in degrees [default: about 40,000 cells over the region]
    #[arg(long, value_name = "DEG")]
    cell: Option<f64>,

    /// Number of top candidate sites to list
    #[arg(short = 'n', long, default_value_t = 10, value_name = "N")]
    top: usize,

    /// Minimum distance between top sites, km
    #[arg(long, default_value_t = 50.0, value_name = "KM")]
    min_spacing_km: f64,

    /// Write the cells (and top sites) as a GeoJSON map to this file
    #[arg(short, long, value_name = "FILE.geojson")]
    out: Option<PathBuf>,

    /// Summary format on stdout
    #[arg(short, long, value_enum, default_value = "table")]
    format: SummaryFormat,

    /// Built-in profile name or a profile .toml file
    #[arg(short, long, default_value = "ai-campus", value_name = "NAME|FILE")]
    profile: String,

    /// Layer-set .toml file [default: the built-in layer set, in the data directory]
    #[arg(short, long, value_name = "FILE")]
    layers: Option<PathBuf>,

    /// Worker threads [default: all cores]
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,
}

fn parse_bbox(s: &str) -> Result<[f64; 4], Error> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            Error::usage(format!(
                "--bbox {s}: expected four numbers minlon,minlat,maxlon,maxlat"
            ))
        })?;
    if v.len() != 4 {
        return Err(Error::usage(format!(
            "--bbox {s}: expected four numbers minlon,minlat,maxlon,maxlat"
        )));
    }
    Ok([v[0], v[1], v[2], v[3]])
}

pub fn run(args: RegionArgs, g: &Globals) -> Result<(), Failure> {
    let started = Instant::now();
    if let Some(out) = &args.out {
        let ext = out
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "geojson" | "json" => {}
            #[cfg(feature = "gdal")]
            "tif" | "tiff" => {}
            #[cfg(feature = "gdal")]
            "gpkg" | "fgb" => {}
            #[cfg(not(feature = "gdal"))]
            "tif" | "tiff" | "gpkg" | "fgb" => {
                return Err(Error::usage(format!(
                    "--out {}: .{ext} output needs the `gdal` feature (cargo build --release --features gdal)",
                    out.display()
                ))
                .into());
            }
            _ => {
                return Err(Error::usage(format!(
                    "--out {}: region maps are written as .geojson",
                    out.display()
                ))
                .into());
            }
        }
    }
    if let Some(c) = args.cell {
        if !(c.is_finite() && c > 0.0 && c <= 10.0) {
            return Err(Error::usage(format!(
                "--cell {c}: expected a size in degrees, above 0 and at most 10"
            ))
            .into());
        }
    }
    if args.min_spacing_km.is_nan() || args.min_spacing_km < 0.0 {
        return Err(Error::usage("--min-spacing-km must be zero or positive").into());
    }
    super::set_threads(args.threads)?;
    let (profile, profile_path) = super::load_profile(&args.profile)?;
    let layers = super::load_layers(args.layers.as_deref(), g)?;
    let region = match (&args.region, &args.bbox, &args.polygon) {
        (_, Some(b), _) => Region::from_bbox(parse_bbox(b)?)?,
        (_, _, Some(p)) => Region::from_geojson(p)?,
        (Some(q), _, _) => Region::resolve(q, &layers)?,
        (None, None, None) => {
            return Err(
                Error::usage("give a REGION (ISO3 code or name), --bbox or --polygon").into(),
            );
        }
    };
    let engine = Engine::new(profile, &layers)?;
    let mut inputs: Vec<PathBuf> = engine.layers().iter().map(|l| l.path.clone()).collect();
    inputs.extend(profile_path);
    inputs.extend(args.layers.clone());
    inputs.extend(args.polygon.clone());
    let mut file = args
        .out
        .as_ref()
        .map(|p| AtomicFile::create(p, &inputs))
        .transpose()?;
    let cell_deg = args.cell.unwrap_or_else(|| nice_cell_deg(region.area_deg2));
    let [x0, y0, x1, y1] = region.bbox;
    let grid_cells = ((x1 - x0) / cell_deg).ceil() * ((y1 - y0) / cell_deg).ceil();
    if grid_cells > 50_000_000.0 {
        return Err(Error::usage(format!(
            "--cell {cell_deg}: {} would need a grid of {grid_cells:.0} cells (at most 50,000,000); use a larger --cell",
            region.name
        ))
        .into());
    }
    let cells = region_cells(&region, cell_deg);
    if cells.is_empty() {
        return Err(Error::usage(format!(
            "no cell of {cell_deg} degrees has its centre inside {}; use a smaller --cell",
            region.name
        ))
        .into());
    }
    let loaded = started.elapsed();
    let scoring_started = Instant::now();
    let show_progress = !g.quiet && std::io::stderr().is_terminal();
    let label = args
        .out
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let is_tif = args
        .out
        .as_ref()
        .and_then(|p| p.extension())
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("tif") || e.eq_ignore_ascii_case("tiff"));
    let summary: RegionSummary = match &mut file {
        #[cfg(feature = "gdal")]
        Some(f) if is_tif => {
            let s = score_cells(&engine, &cells, args.top, args.min_spacing_km, None)
                .map_err(|e| write_failure("<memory>", e))?;
            standort::export::raster::write_region_geotiff(
                &engine,
                &region,
                cell_deg,
                &cells,
                f.path(),
            )?;
            s
        }
        #[cfg(feature = "gdal")]
        Some(f)
            if args
                .out
                .as_deref()
                .and_then(standort::export::ogr::driver_for)
                .is_some() =>
        {
            let s = score_cells(&engine, &cells, args.top, args.min_spacing_km, None)
                .map_err(|e| write_failure("<memory>", e))?;
            let driver = args
                .out
                .as_deref()
                .and_then(standort::export::ogr::driver_for)
                .unwrap_or("GPKG");
            let mut columns: Vec<String> = Vec::new();
            let mut rows = Vec::with_capacity(cells.len());
            for c in &cells {
                let e = engine.evaluate(c.lon(), c.lat());
                let props = standort::export::region::cell_properties(&engine, c, &e);
                if columns.is_empty() {
                    columns = props.keys().cloned().collect();
                }
                let values = columns
                    .iter()
                    .map(|k| props.get(k).cloned().unwrap_or_default())
                    .collect();
                let (x1, y1) = (c.min_lon + c.size_deg, (c.min_lat + c.size_deg).min(90.0));
                rows.push((
                    standort::export::ogr::rectangle(c.min_lon, c.min_lat, x1, y1)?,
                    values,
                ));
            }
            standort::export::ogr::write_layer(
                f.path(),
                driver,
                "cells",
                gdal::vector::OGRwkbGeometryType::wkbPolygon,
                &columns,
                rows,
            )?;
            s
        }
        Some(f) => {
            let _ = is_tif;
            let mut map = RegionGeoJson::new(std::io::BufWriter::new(f.file()))
                .map_err(|e| write_failure(&label, e))?;
            let mut n = 0u64;
            let s = score_cells(
                &engine,
                &cells,
                args.top,
                args.min_spacing_km,
                Some(&mut |cell, e| {
                    n += 1;
                    if show_progress && n % 8192 == 0 {
                        let _ = write!(std::io::stderr(), "\rscored {n} of {} cells", cells.len());
                    }
                    map.feature(&cell_feature(&engine, cell, e))
                }),
            )
            .map_err(|e| write_failure(&label, e))?;
            map.finish(&engine, &region, &s)
                .map_err(|e| write_failure(&label, e))?;
            s
        }
        None => score_cells(&engine, &cells, args.top, args.min_spacing_km, None)
            .map_err(|e| write_failure("<memory>", e))?,
    };
    let scoring = scoring_started.elapsed();
    if show_progress {
        let _ = write!(std::io::stderr(), "\r\x1b[K");
    }
    if let Some(f) = file {
        f.commit()?;
    }
    let elapsed = started.elapsed();
    let mut out = std::io::stdout().lock();
    let w = |e| write_failure("<stdout>", e);
    match args.format {
        SummaryFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &summary_json(&engine, &region, &summary))
                .map_err(|e| w(e.into()))?;
            writeln!(out).map_err(w)?;
        }
        SummaryFormat::Table => {
            write_summary(&mut out, &engine, &region, &summary, args.min_spacing_km).map_err(w)?
        }
    }
    if !g.quiet {
        let _ = writeln!(
            std::io::stderr(),
            "standort: {} cells of {cell_deg} degrees scored in {:.2} s (layers and grid {:.2} s; scoring{} {:.0} cells/s){}",
            summary.counts.sites,
            elapsed.as_secs_f64(),
            loaded.as_secs_f64(),
            if args.out.is_some() {
                " and writing"
            } else {
                ""
            },
            summary.counts.sites as f64 / scoring.as_secs_f64().max(1e-9),
            args.out
                .map(|o| format!("; wrote {}", o.display()))
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn pct(a: f64, total: f64) -> String {
    if total > 0.0 {
        format!("{:5.1}%", 100.0 * a / total)
    } else {
        "    -".into()
    }
}

fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x);
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn write_summary(
    out: &mut dyn Write,
    engine: &Engine,
    region: &Region,
    s: &RegionSummary,
    spacing: f64,
) -> std::io::Result<()> {
    let p = engine.profile();
    let a = s.area_km2;
    writeln!(out, "region    {}", region.name)?;
    writeln!(
        out,
        "profile   {} ({}, unknown: {})",
        p.name, p.method, p.unknown
    )?;
    writeln!(
        out,
        "grid      {} cells of {} degrees, {} km² on the sphere",
        thousands(s.counts.sites as f64),
        s.cell_deg,
        thousands(a)
    )?;
    writeln!(
        out,
        "ok        {} of the area{}",
        pct(s.area_ok_km2, a),
        s.mean_total
            .map(|m| format!(", mean score {m:.3}"))
            .unwrap_or_default()
    )?;
    writeln!(out, "excluded  {}", pct(s.area_excluded_km2, a))?;
    for (k, area) in p.constraints.iter().zip(&s.area_by_constraint_km2) {
        if *area > 0.0 {
            writeln!(out, "  {}  {}", pct(*area, a), k.reason)?;
        }
    }
    writeln!(out, "unknown   {}", pct(s.area_unknown_km2, a))?;
    let ignored = |i: usize| engine.criterion_policy(i) == standort::UnknownPolicy::Ignore;
    let unknown_areas = p
        .criteria
        .iter()
        .zip(&s.area_unknown_by_criterion_km2)
        .enumerate();
    for (i, (c, area)) in unknown_areas.clone() {
        if *area > 0.0 && !ignored(i) {
            let policy = engine.criterion_policy(i);
            writeln!(
                out,
                "  {}  no data for {} (policy {policy})",
                pct(*area, a),
                c.id()
            )?;
        }
    }
    for (i, (c, area)) in unknown_areas {
        if *area > 0.0 && ignored(i) {
            let id = c.id();
            writeln!(
                out,
                "left out  {}  {id} (no data there; weights renormalised)",
                pct(*area, a)
            )?;
        }
    }
    writeln!(out, "sub-scores (area-weighted mean where known; weight)")?;
    let width = p.criteria.iter().map(|c| c.id().len()).max().unwrap_or(0);
    for ((c, m), w) in p.criteria.iter().zip(&s.mean_scores).zip(engine.weights()) {
        let m = m.map_or_else(|| "-".to_string(), |m| format!("{m:.3}"));
        writeln!(out, "  {:<width$}  {m:>5}  ({:.2})", c.id(), w)?;
    }
    if s.top.is_empty() {
        writeln!(out, "no candidate site: every cell is excluded or unknown")?;
        return Ok(());
    }
    writeln!(
        out,
        "top {} candidate sites (cell centres at least {} km apart)",
        s.top.len(),
        format_number(spacing)
    )?;
    let mut header = vec![
        "rank".to_string(),
        "lon".into(),
        "lat".into(),
        "score".into(),
    ];
    header.extend(
        p.criteria
            .iter()
            .filter(|c| c.weight > 0.0)
            .map(|c| c.value_column()),
    );
    let mut rows = vec![header];
    for t in &s.top {
        let e = engine.evaluate(t.cell.lon(), t.cell.lat());
        let mut r = vec![
            t.rank.to_string(),
            format!("{:.3}", t.cell.lon()),
            format!("{:.3}", t.cell.lat()),
            format!("{:.3}", t.score),
        ];
        for (c, v) in p.criteria.iter().zip(&e.values) {
            if c.weight > 0.0 {
                let noted = v
                    .source
                    .and_then(|k| c.source(usize::from(k)))
                    .is_some_and(|s| s.note.is_some());
                let text = match &v.raw {
                    standort::layers::Value::Num(x) => format_number(*x),
                    standort::layers::Value::Text(t) => t.clone(),
                    standort::layers::Value::Null => "?".into(),
                };
                r.push(if noted { format!("{text}*") } else { text });
            }
        }
        rows.push(r);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect();
        writeln!(out, "  {}", line.join("  "))?;
    }
    for c in &p.criteria {
        for src in c.sources.iter().flatten() {
            if let Some(note) = &src.note {
                writeln!(out, "  * {} from {}: {note}", c.value_column(), src.layer)?;
            }
        }
    }
    Ok(())
}
