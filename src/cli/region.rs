//! `standort region REGION`: score a region on a grid, summarise, map.

use super::progress::{Progress, Unit};
use super::{
    EngineArgs, EngineSetup, Failure, Globals, SensitivityArgs, Style, describe_draws,
    write_failure,
};
use clap::ValueEnum;
use standort::export::format::choose;
use standort::export::region::{CellDetail, summary_json, write_top_sites};
use standort::export::{AtomicFile, CellOptions, Format, OutputError, Product, cell_writer};
use standort::map::{Basemap, MapOptions};
use standort::region::{
    Cell, Region, RegionSummary, TopSite, nice_cell_deg, region_grid, score_cells, top_stability,
};
use standort::sensitivity::Draws;
use standort::text::format_number;
use standort::text::thousands;
use standort::{Engine, Error};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

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

    /// Write the cells (and top sites) to this file: .geojson, .fgb, .parquet (GeoParquet),
    /// .png (a map), .html (an offline viewer); .gpkg, .tif with the `gdal` feature
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// Summary format on stdout
    #[arg(short, long, value_enum, default_value = "table")]
    format: SummaryFormat,

    /// Write the --out file even when it will be larger than 1 GB
    #[arg(long)]
    force: bool,

    /// Width of a .png map in pixels [default: 1200]
    #[arg(long, value_name = "PX")]
    width: Option<u32>,

    /// Also write each criterion's sub-score in every cell (.geojson, .fgb, .parquet, .gpkg;
    /// larger files)
    #[arg(long)]
    sub_scores: bool,

    /// Colour the cells of a .geojson with simplestyle `fill` (geojson.io, GitHub)
    #[arg(long)]
    simplestyle: bool,

    #[command(flatten)]
    engine: EngineArgs,

    #[command(flatten)]
    sensitivity: SensitivityArgs,
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

/// A validated `region` run.
struct RegionPlan {
    region: Region,
    cell_deg: f64,
    top: usize,
    min_spacing_km: f64,
    out: Option<(PathBuf, Format)>,
    polygon: Option<PathBuf>,
    summary_format: SummaryFormat,
    force: bool,
    draws: Option<Draws>,
    cell_options: CellOptions,
}

impl RegionPlan {
    /// The plan and the engine set-up it needs.
    fn new(args: RegionArgs, g: &Globals) -> Result<(RegionPlan, EngineSetup), Error> {
        let out = match &args.out {
            Some(p) => Some((p.clone(), choose(Product::Cells, None, Some(p))?)),
            None => None,
        };
        let picture = out
            .as_ref()
            .is_some_and(|(_, f)| matches!(f, Format::Png | Format::Html));
        if let Some(w) = args.width {
            if !out.as_ref().is_some_and(|(_, f)| *f == Format::Png) {
                return Err(Error::usage("--width applies to a .png --out only"));
            }
            standort::map::png::check_width(w)?;
        }
        if let Some(c) = args.cell {
            if !(c.is_finite() && c > 0.0 && c <= 10.0) {
                return Err(Error::usage(format!(
                    "--cell {c}: expected a size in degrees, above 0 and at most 10"
                )));
            }
        }
        if args.min_spacing_km.is_nan() || args.min_spacing_km < 0.0 {
            return Err(Error::usage("--min-spacing-km must be zero or positive"));
        }
        let setup = args.engine.setup(g)?;
        let region = match (&args.region, &args.bbox, &args.polygon) {
            (_, Some(b), _) => Region::from_bbox(parse_bbox(b)?)?,
            (_, _, Some(p)) => Region::from_geojson(p)?,
            (Some(q), _, _) => Region::resolve(q, &setup.layers)?,
            (None, None, None) => {
                return Err(Error::usage(
                    "give a REGION (ISO3 code or name), --bbox or --polygon",
                ));
            }
        };
        let cell_deg = args.cell.unwrap_or_else(|| nice_cell_deg(region.area_deg2));
        let basemap = if picture {
            Basemap::load(&setup.layers, region.bbox)?
        } else {
            Basemap::default()
        };
        let cell_options = CellOptions {
            cell_deg,
            detail: CellDetail {
                sub_scores: args.sub_scores,
                simplestyle: args.simplestyle,
            },
            map: MapOptions {
                width_px: args.width.unwrap_or(standort::map::DEFAULT_WIDTH_PX),
                basemap: std::sync::Arc::new(basemap),
            },
        };
        let [x0, y0, x1, y1] = region.bbox;
        let grid_cells = ((x1 - x0) / cell_deg).ceil() * ((y1 - y0) / cell_deg).ceil();
        if grid_cells > 50_000_000.0 {
            return Err(Error::usage(format!(
                "--cell {cell_deg}: {} would need a grid of {grid_cells:.0} cells (at most 50,000,000); use a larger --cell",
                region.name
            )));
        }
        let plan = RegionPlan {
            region,
            cell_deg,
            top: args.top,
            min_spacing_km: args.min_spacing_km,
            out,
            polygon: args.polygon,
            summary_format: args.format,
            force: args.force,
            draws: args.sensitivity.draws()?,
            cell_options,
        };
        Ok((plan, setup))
    }
}

/// What a run produced, for the report.
struct Scored {
    engine: Engine,
    summary: RegionSummary,
    loaded: Duration,
    scoring: Duration,
}

pub fn run(args: RegionArgs, g: &Globals) -> Result<(), Failure> {
    let started = Instant::now();
    let (plan, setup) = RegionPlan::new(args, g)?;
    let opened = setup.open()?;
    let mut engine = opened.engine;
    let mut inputs = opened.inputs;
    inputs.extend(plan.polygon.clone());
    let mut file = match &plan.out {
        Some((p, _)) => Some(AtomicFile::create(p, &inputs)?),
        None => None,
    };
    // The top sites go beside the cells, in a file of their own (one geometry per layer);
    // not beside a device or FIFO (`--out /dev/null`), nor beside a picture (it shows them).
    let mut sites_file = match &plan.out {
        Some((_, Format::Png | Format::Html)) => None,
        Some((p, _)) if p.metadata().is_ok_and(|m| m.is_file()) || !p.exists() => {
            Some(AtomicFile::create(&sites_path(p), &inputs)?)
        }
        _ => None,
    };
    let styles = styles(&plan, &inputs)?;
    let grid = region_grid(&plan.region, plan.cell_deg);
    let cells = grid.cells;
    if cells.is_empty() {
        return Err(Error::usage(format!(
            "no cell of {} degrees has its centre inside {}; use a smaller --cell",
            plan.cell_deg, plan.region.name
        ))
        .into());
    }
    check_output_size(&plan, &engine, cells.len())?;
    if engine.needs_fit() {
        let centres: Vec<(f64, f64)> = cells.iter().map(|c| (c.lon(), c.lat())).collect();
        engine.fit(&centres);
    }
    let loaded = started.elapsed();
    let scoring_started = Instant::now();
    let progress = Progress::new(
        Progress::wanted(g.quiet),
        Some(cells.len() as u64),
        Unit::Items("scored cells"),
    );
    let summary = score(
        &plan,
        &engine,
        (&cells, grid.left_out),
        file.as_mut(),
        &progress,
    )?;
    progress.finish();
    engine.failure()?;
    let run = Scored {
        engine,
        summary,
        loaded,
        scoring: scoring_started.elapsed(),
    };
    if let Some(mut f) = sites_file.take() {
        let label = f.target().display().to_string();
        let mut w = std::io::BufWriter::new(f.file());
        write_top_sites(&mut w, &run.engine, &plan.region, &run.summary)
            .and_then(|()| w.flush())
            .map_err(|e| write_failure(&label, e))?;
        drop(w);
        sites_file = Some(f);
    }
    if let Some(f) = file {
        f.commit()?;
    }
    if let Some(f) = sites_file {
        f.commit()?;
    }
    for style in styles.into_iter().flatten() {
        style.commit()?;
    }
    report(&plan, &run, started.elapsed(), g.quiet)
}

/// The QGIS styles beside the cells and beside the top sites.
fn styles(plan: &RegionPlan, inputs: &[PathBuf]) -> Result<[Option<Style>; 2], Error> {
    use standort::map::qml::{Geometry, TOP_RANK_LABEL};
    let Some((out, format)) = &plan.out else {
        return Ok([None, None]);
    };
    let cells = Style::beside(Some(out), *format, Geometry::Polygon, None, inputs)?;
    let sites = match &cells {
        Some(_) => Style::beside(
            Some(&sites_path(out)),
            Format::GeoJson,
            Geometry::Point,
            Some(TOP_RANK_LABEL),
            inputs,
        )?,
        None => None,
    };
    Ok([cells, sites])
}

/// Where the top sites of a region written to `out` go: `NAME.sites.geojson` beside it.
fn sites_path(out: &std::path::Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "region".into());
    out.with_file_name(format!("{stem}.sites.geojson"))
}

/// Files above this size are written only with `--force`.
const LARGE_OUTPUT_BYTES: f64 = 1e9;

/// Refuse to write a region file above [`LARGE_OUTPUT_BYTES`] without `--force`, saying how
/// large it would be. GeoJSON takes about 160 bytes per cell plus 40 per criterion
/// (measured: 394 bytes per cell with the six criteria of `ai-campus`), twice that with
/// `--sub-scores`; GeoParquet (compressed: 19 bytes per cell for Germany) as a tenth of
/// that, the other formats as half.
fn check_output_size(plan: &RegionPlan, engine: &Engine, cells: usize) -> Result<(), Error> {
    let Some((path, format)) = &plan.out else {
        return Ok(());
    };
    let picture_max = match format {
        Format::Html => Some(standort::map::html::MAX_CELLS),
        Format::Png => Some(standort::map::region::MAX_CELLS),
        _ => None,
    };
    if let Some(max) = picture_max.filter(|m| cells > *m) {
        return Err(Error::usage(format!(
            "--out {}: {cells} cells are more than a {} map holds ({max}); use a larger --cell, or write .fgb",
            path.display(),
            format.entry().name
        )));
    }
    let per_criterion = if plan.cell_options.detail.sub_scores {
        80.0
    } else {
        40.0
    };
    let per_cell = 160.0 + per_criterion * engine.profile().criteria.len() as f64;
    let factor = match format {
        Format::GeoJson => 1.0,
        Format::GeoParquet => 0.1,
        _ => 0.5,
    };
    let bytes = cells as f64 * per_cell * factor;
    if bytes > LARGE_OUTPUT_BYTES && !plan.force {
        return Err(Error::usage(format!(
            "--out {}: {cells} cells would take about {:.1} GB; give --force to write it anyway, or use a larger --cell",
            path.display(),
            bytes / 1e9
        )));
    }
    Ok(())
}

/// Score the cells, writing them to `file` in the plan's format as they are scored.
fn score(
    plan: &RegionPlan,
    engine: &Engine,
    (cells, left_out): (&[Cell], u64),
    file: Option<&mut AtomicFile>,
    progress: &Progress,
) -> Result<RegionSummary, Failure> {
    let finish = |s: RegionSummary| {
        let mut s = RegionSummary { left_out, ..s };
        if let Some(draws) = &plan.draws {
            top_stability(engine, cells, &mut s, draws, plan.min_spacing_km);
        }
        s
    };
    let (Some(file), Some((path, format))) = (file, &plan.out) else {
        return score_cells(engine, cells, plan.top, plan.min_spacing_km, None)
            .map(finish)
            .map_err(|e| write_failure("<memory>", e));
    };
    let label = path.display().to_string();
    let failure = |e: OutputError| match e {
        OutputError::Io(e) => write_failure(&label, e),
        OutputError::Other(e) => Failure::Error(e),
    };
    let mut writer = cell_writer(*format, file, &plan.cell_options)?;
    let mut n = 0u64;
    let summary = score_cells(
        engine,
        cells,
        plan.top,
        plan.min_spacing_km,
        Some(&mut |cell, e| {
            n += 1;
            if n % 8192 == 0 {
                progress.set(n);
            }
            writer.cell(engine, cell, e)
        }),
    )
    .map(finish)
    .map_err(|e| write_failure(&label, e))?;
    writer
        .finish(engine, &plan.region, &summary)
        .map_err(failure)?;
    Ok(summary)
}

/// The summary on stdout (table or JSON) and the timing line on stderr.
fn report(plan: &RegionPlan, run: &Scored, elapsed: Duration, quiet: bool) -> Result<(), Failure> {
    let (engine, summary) = (&run.engine, &run.summary);
    let mut out = std::io::stdout().lock();
    let w = |e| write_failure("<stdout>", e);
    match plan.summary_format {
        SummaryFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &summary_json(engine, &plan.region, summary))
                .map_err(|e| w(e.into()))?;
            writeln!(out).map_err(w)?;
        }
        SummaryFormat::Table => {
            write_summary(&mut out, engine, &plan.region, summary, plan.min_spacing_km)
                .map_err(w)?
        }
    }
    if !quiet {
        let _ = writeln!(
            std::io::stderr(),
            "standort: {} cells of {} degrees scored in {:.2} s (layers and grid {:.2} s; scoring{} {:.0} cells/s){}",
            summary.counts.sites,
            plan.cell_deg,
            elapsed.as_secs_f64(),
            run.loaded.as_secs_f64(),
            match (plan.out.is_some(), &plan.draws) {
                (_, Some(d)) => format!(", {} sensitivity draws", d.n),
                (true, None) => " and writing".to_string(),
                (false, None) => String::new(),
            },
            summary.counts.sites as f64 / run.scoring.as_secs_f64().max(1e-9),
            plan.out
                .as_ref()
                .map(|(o, _)| format!("; wrote {}", o.display()))
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
    if p.method != "weighted-sum" {
        writeln!(out, "scores    {}", engine.aggregation())?;
    }
    for note in engine.relative_notes() {
        writeln!(out, "bounds    {note} (on these cells)")?;
    }
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
    write_boundaries(out, engine, region, s)?;
    write_sub_scores(out, engine, s)?;
    if s.top.is_empty() {
        writeln!(out, "no candidate site: every cell is excluded or unknown")?;
        return Ok(());
    }
    write_top(out, engine, s, spacing)
}

/// Where boundary layers disagree, and what was done about it.
fn write_boundaries(
    out: &mut dyn Write,
    engine: &Engine,
    region: &Region,
    s: &RegionSummary,
) -> std::io::Result<()> {
    if let Some(note) = region.clip_note() {
        writeln!(
            out,
            "boundary  {} cells left out: in the region's outline but not {note}",
            thousands(s.left_out as f64)
        )?;
    }
    let p = engine.profile();
    for (i, n) in s.boundary_conflicts.iter().enumerate() {
        if *n > 0 {
            let layers = engine.criterion_layers(i);
            writeln!(
                out,
                "boundary  {} cells where {} disagree: {} valued from {}",
                thousands(*n as f64),
                layers.join(" and "),
                p.criteria[i].id(),
                layers[1..].join(", ")
            )?;
        }
    }
    Ok(())
}

/// The area-weighted mean sub-scores with the weights.
fn write_sub_scores(
    out: &mut dyn Write,
    engine: &Engine,
    s: &RegionSummary,
) -> std::io::Result<()> {
    let p = engine.profile();
    // Fuzzy overlay is unweighted: a weight only says whether a criterion takes part.
    let unweighted = p.method == "fuzzy";
    let what = if unweighted {
        "takes part; fuzzy overlay is unweighted"
    } else {
        "weight"
    };
    writeln!(out, "sub-scores (area-weighted mean where known; {what})")?;
    let width = p.criteria.iter().map(|c| c.id().len()).max().unwrap_or(0);
    for ((c, m), w) in p.criteria.iter().zip(&s.mean_scores).zip(engine.weights()) {
        let m = m.map_or_else(|| "-".to_string(), |m| format!("{m:.3}"));
        let w = match (unweighted, *w > 0.0) {
            (false, _) => format!("{w:.2}"),
            (true, true) => "yes".into(),
            (true, false) => "no".into(),
        };
        writeln!(out, "  {:<width$}  {m:>5}  ({w})", c.id())?;
    }
    Ok(())
}

/// The top sites table and the notes on fallback sources.
fn write_top(
    out: &mut dyn Write,
    engine: &Engine,
    s: &RegionSummary,
    spacing: f64,
) -> std::io::Result<()> {
    let p = engine.profile();
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
    if s.sensitivity.is_some() {
        header.extend(["rank 5-95%".to_string(), format!("P(top {})", s.top.len())]);
    }
    let mut rows = vec![header];
    let mut used = vec![vec![false; 0]; p.criteria.len()];
    for t in &s.top {
        rows.push(top_row(engine, s, t, &mut used));
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
    // Notes on the sources the listed sites took a value from.
    for (c, used) in p.criteria.iter().zip(&used) {
        for (k, src) in c.sources.iter().flatten().enumerate() {
            if let (Some(note), true) = (&src.note, used.get(k).copied().unwrap_or(false)) {
                writeln!(out, "  * {} from {}: {note}", c.value_column(), src.layer)?;
            }
        }
    }
    write_ties(out, s)?;
    if let Some(r) = &s.sensitivity {
        writeln!(
            out,
            "  stability: {}; each draw picks the top {} again, a site keeps its place when a pick lies within {} km of it",
            describe_draws(&r.draws),
            r.top_k,
            format_number(spacing / 2.0)
        )?;
    }
    Ok(())
}

/// A top site's row: rank, centre, score, the raw values of the weighted criteria (marked
/// `*` when from a source with a note; `used[i][k]` records that source `k` of criterion `i`
/// was used) and, with a sensitivity analysis, its rank interval and top-k share.
fn top_row(engine: &Engine, s: &RegionSummary, t: &TopSite, used: &mut [Vec<bool>]) -> Vec<String> {
    let p = engine.profile();
    let e = engine.evaluate(t.cell.lon(), t.cell.lat());
    let mut r = vec![
        t.rank.to_string(),
        format!("{:.3}", t.cell.lon()),
        format!("{:.3}", t.cell.lat()),
        format!("{:.3}", t.score),
    ];
    for (i, (c, v)) in p.criteria.iter().zip(&e.values).enumerate() {
        if c.weight <= 0.0 {
            continue;
        }
        if let Some(k) = v.source.map(usize::from) {
            if used[i].len() <= k {
                used[i].resize(k + 1, false);
            }
            used[i][k] = true;
        }
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
    if let Some(st) = t.stability {
        let p95 = if st.rank_p95 > s.top.len() as u64 {
            format!(">{}", s.top.len())
        } else {
            st.rank_p95.to_string()
        };
        r.push(format!("{}-{p95}", st.rank_p05));
        r.push(format!("{:.2}", st.p_top));
    }
    r
}

/// One line per group of top sites that tie exactly, with the size of the tie.
fn write_ties(out: &mut dyn Write, s: &RegionSummary) -> std::io::Result<()> {
    let tied: Vec<&TopSite> = s.top.iter().filter(|t| t.tie_group > 1).collect();
    for group in tied.chunk_by(|a, b| a.score.to_bits() == b.score.to_bits()) {
        let (first, last) = (group[0].rank, group[group.len() - 1].rank);
        let ranks = if first == last {
            format!("rank {first} is")
        } else {
            format!("ranks {first}-{last} are")
        };
        writeln!(
            out,
            "  = {ranks} {} of {} cells scoring exactly {:.6}: ordered by the raw values of the heaviest criteria, then north-west first",
            group.len(),
            thousands(group[0].tie_group as f64),
            group[0].score
        )?;
    }
    Ok(())
}
