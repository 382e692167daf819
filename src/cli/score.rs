//! `standort score SITES`: rank candidate sites.

use super::progress::{Progress, Unit};
use super::{
    EngineArgs, EngineSetup, Failure, Globals, SensitivityArgs, Style, attributions,
    describe_draws, write_failure,
};
use clap::ValueEnum;
use standort::batch::{
    Batch, InputOrder, Ranking, SiteRows, SiteStream, candidate_stream, fit_stream, rank_sites,
    score_stream,
};
use standort::map::{Basemap, MapOptions};
use std::collections::HashMap;

use standort::export::{
    AtomicFile, Context, Destination, Format, OutputError, Product, WGS84_PRJ, write_sites,
};
use standort::sensitivity::{Draws, Report, Stability, site_stability};
use standort::sites::SiteFormat;
use standort::{Engine, Error, SiteOptions, SiteSource};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum InFormat {
    Csv,
    Geojson,
    Parquet,
}

#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// Candidate sites: CSV with latitude/longitude columns, a GeoJSON FeatureCollection of
    /// points, (Geo)Parquet with WKB points or longitude/latitude columns, or - for stdin
    /// (CSV or GeoJSON)
    sites: String,

    #[command(flatten)]
    engine: EngineArgs,

    /// Output format: table, csv, geojson, geojsonseq (RFC 8142), geojsonl (one feature per
    /// line), json, fgb, parquet (GeoParquet 1.1), png (a dot map; with --out), html (an
    /// offline viewer) (gpkg with the `gdal` feature)
    /// [default: from --out's extension, else table]
    #[arg(short, long, value_parser = parse_format, value_name = "FORMAT")]
    format: Option<Format>,

    /// Write to this file (atomically) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// Width of a .png dot map in pixels [default: 1200]
    #[arg(long, value_name = "PX")]
    width: Option<u32>,

    /// Keep only the N best sites (memory stays bounded)
    #[arg(short = 'n', long, value_name = "N")]
    top: Option<usize>,

    /// Id column (CSV, Parquet) or property (GeoJSON) [default: id, else the row number]
    #[arg(long, value_name = "COLUMN")]
    id: Option<String>,

    /// Latitude column of CSV or Parquet sites [default: detected]
    #[arg(long, value_name = "COLUMN")]
    lat: Option<String>,

    /// Longitude column of CSV or Parquet sites [default: detected]
    #[arg(long, value_name = "COLUMN")]
    lon: Option<String>,

    /// Input format [default: from the extension, else sniffed]
    #[arg(long, value_enum)]
    input_format: Option<InFormat>,

    #[command(flatten)]
    sensitivity: SensitivityArgs,
}

fn parse_format(name: &str) -> Result<Format, String> {
    Format::from_name(name)
        .filter(|f| f.entry().products.contains(&Product::Sites))
        .ok_or_else(|| {
            "expected table, csv, geojson, geojsonseq, geojsonl or json (gpkg, fgb with the `gdal` feature)"
                .to_string()
        })
}

/// A validated `score` run.
struct ScorePlan {
    source: SiteSource,
    options: SiteOptions,
    setup: EngineSetup,
    format: Format,
    out: Option<PathBuf>,
    top: Option<usize>,
    draws: Option<Draws>,
    map: Option<MapOptions>,
}

impl ScorePlan {
    fn new(args: ScoreArgs, g: &Globals) -> Result<ScorePlan, Error> {
        let format =
            standort::export::format::choose(Product::Sites, args.format, args.out.as_deref())?;
        if args.top == Some(0) {
            return Err(Error::usage("--top must be at least 1"));
        }
        if format == Format::Png && args.out.is_none() {
            return Err(Error::usage(
                "png is written to a file only; give --out FILE",
            ));
        }
        if let Some(w) = args.width {
            if format != Format::Png {
                return Err(Error::usage("--width applies to a .png --out only"));
            }
            standort::map::png::check_width(w)?;
        }
        let options = SiteOptions {
            id: args.id,
            lat: args.lat,
            lon: args.lon,
            format: args.input_format.map(|f| match f {
                InFormat::Csv => SiteFormat::Csv,
                InFormat::Geojson => SiteFormat::GeoJson,
                InFormat::Parquet => SiteFormat::Parquet,
            }),
            delimiter: None,
        };
        let setup = args.engine.setup(g)?;
        // A dot map may fall anywhere: the borders of the world (admin-1 only when zoomed in).
        let map = match format {
            Format::Png | Format::Html => Some(MapOptions {
                width_px: args.width.unwrap_or(standort::map::DEFAULT_WIDTH_PX),
                basemap: std::sync::Arc::new(Basemap::load(
                    &setup.layers,
                    [-180.0, -90.0, 180.0, 90.0],
                )?),
            }),
            _ => None,
        };
        Ok(ScorePlan {
            source: SiteSource::from_arg(&args.sites),
            options,
            setup,
            format,
            out: args.out,
            top: args.top,
            draws: args.sensitivity.draws()?,
            map,
        })
    }
}

/// What a run produced, for the report.
struct Scored {
    engine: Engine,
    /// The results (none kept for a full run, which writes them as it scores them), the
    /// header and the counts.
    batch: Batch,
    loaded: Duration,
    scored: Duration,
    sensitivity: Option<Report>,
    /// With `--sensitivity`: the listed sites' ranks and stability, best first.
    listed: Vec<(u64, Stability)>,
    /// What a picture draws besides the sites.
    map: Option<MapOptions>,
}

pub fn run(args: ScoreArgs, g: &Globals) -> Result<(), Failure> {
    let started = Instant::now();
    let plan = ScorePlan::new(args, g)?;
    // Sites are read and parsed while the layers load.
    let sites = SiteStream::open(&plan.source, &plan.options);
    let full = full_run(&plan);
    let opened = plan.setup.open()?;
    let mut engine = opened.engine;
    let mut inputs = opened.inputs;
    if let SiteSource::File(p) = &plan.source {
        inputs.push(p.clone());
    }
    let mut file = plan
        .out
        .as_ref()
        .map(|p| AtomicFile::create(p, &inputs))
        .transpose()?;
    let sidecars = csv_sidecars((plan.format, plan.out.as_deref()), &inputs)?;
    let style = Style::beside(
        plan.out.as_deref(),
        plan.format,
        standort::map::qml::Geometry::Point,
        Some(standort::map::qml::RANK_LABEL),
        &inputs,
    )?;
    if plan.draws.is_some() && plan.source == SiteSource::Stdin {
        return Err(Error::usage(
            "--sensitivity ranks every site again under each draw: give a file, not stdin",
        )
        .into());
    }
    // The layers' time; a fitting pass counts as scoring.
    let loaded = started.elapsed();
    if engine.needs_fit() {
        // A set-dependent method: a first pass over the sites fits it.
        if plan.source == SiteSource::Stdin {
            return Err(Error::usage(format!(
                "profile {} scores each site against the others ({}): give a file, not stdin",
                engine.profile().name,
                engine.set_dependence().unwrap_or_default()
            ))
            .into());
        }
        fit_stream(&mut engine, &|| {
            SiteStream::open(&plan.source, &plan.options)
        })?;
    }
    let what = Full {
        source: &plan.source,
        options: &plan.options,
        format: plan.format,
        draws: plan.draws,
        top: plan.top,
        map: plan.map.clone(),
    };
    let run = if full {
        run_full(&what, sites, engine, (started, loaded), file.as_mut(), g)?
    } else {
        run_in_memory(&what, sites, engine, (started, loaded), file.as_mut(), g)?
    };
    if let Some(f) = file {
        f.commit()?;
    }
    if let Some(sidecars) = sidecars {
        write_sidecars(sidecars, &run)?;
    }
    if let Some(style) = style {
        style.commit()?;
    }
    if !g.quiet {
        report(plan.out.as_ref(), &run);
    }
    // The process ends here: the system takes back the results and indexes at once, where
    // freeing them one by one takes 75 ms per 100,000 explained results.
    std::mem::forget(run);
    Ok(())
}

/// A run whose results are kept in memory: a `--top` list (bounded), the terminal table,
/// or every site from stdin or a pipe (read once; written in input order).
fn run_in_memory(
    plan: &Full<'_>,
    sites: SiteStream,
    engine: Engine,
    (started, loaded): (Instant, Duration),
    file: Option<&mut AtomicFile>,
    g: &Globals,
) -> Result<Scored, Failure> {
    let progress = Progress::new(Progress::wanted(g.quiet), None, Unit::Items("scored sites"));
    let mut batch = score_stream(&engine, sites, plan.top, &mut |n| progress.set(n))?;
    progress.finish();
    engine.failure()?;
    if plan.top.is_none() && plan.format != Format::Table {
        // A full output keeps the input order, as a full run from a file does.
        batch.results.sort_by_key(|s| s.site.index);
    }
    let sensitivity = match plan.draws {
        Some(draws) => {
            let again = SiteStream::open(plan.source, plan.options);
            Some(stability((again, plan.top), &engine, &mut batch, draws)?)
        }
        None => None,
    };
    let listed = listed_stability(&batch);
    let run = Scored {
        engine,
        batch,
        loaded,
        scored: started.elapsed(),
        sensitivity,
        listed,
        map: plan.map.clone(),
    };
    let mut rows: &[standort::ScoredSite] = &run.batch.results;
    write(plan.format, &run, file, &mut rows)?;
    Ok(run)
}

/// The `.csvt` and `.prj` beside a CSV output.
fn write_sidecars(
    (mut csvt, mut prj): (AtomicFile, AtomicFile),
    run: &Scored,
) -> Result<(), Failure> {
    let ctx = context(run);
    let text = standort::export::csvt(&ctx);
    for (f, text) in [(&mut csvt, text.as_str()), (&mut prj, WGS84_PRJ)] {
        let label = f.target().display().to_string();
        f.file()
            .write_all(text.as_bytes())
            .map_err(|e| write_failure(&label, e))?;
    }
    csvt.commit()?;
    prj.commit()?;
    Ok(())
}

/// Sites tracked by `--sensitivity` without `--top`: the best this many.
const TRACKED_WITHOUT_TOP: usize = 1000;

/// Rank stability of the listed sites (the `--top` list, or the best
/// [`TRACKED_WITHOUT_TOP`]) among every candidate, from a second pass over the sites.
fn stability(
    (sites, top): (SiteStream, Option<usize>),
    engine: &Engine,
    batch: &mut Batch,
    draws: Draws,
) -> Result<Report, Failure> {
    let (set, index) = candidate_stream(engine, sites)?;
    let cap = top.unwrap_or(TRACKED_WITHOUT_TOP);
    let listed: Vec<usize> = (0..batch.results.len())
        .filter(|&i| batch.results[i].rank.is_some_and(|r| r <= cap as u64))
        .collect();
    let tracked: Vec<usize> = listed
        .iter()
        .filter_map(|&i| index.binary_search(&batch.results[i].site.index).ok())
        .collect();
    if tracked.len() != listed.len() {
        return Err(Error::new(
            standort::ErrorKind::Input,
            "the sites changed between the two passes of --sensitivity",
        )
        .into());
    }
    let top_k = top.unwrap_or(10) as u64;
    let found = site_stability(engine, &set, &tracked, &draws, top_k);
    for (&i, st) in listed.iter().zip(found) {
        batch.results[i].stability = Some(st);
    }
    Ok(Report { draws, top_k })
}

/// The `.csvt` and `.prj` files beside a CSV output file (GeoCSV: GDAL, and so QGIS, open
/// it as typed WGS 84 points); none for other formats or for a device or FIFO.
fn csv_sidecars(
    (format, out): (Format, Option<&std::path::Path>),
    inputs: &[PathBuf],
) -> Result<Option<(AtomicFile, AtomicFile)>, Error> {
    let Some(out) = out else {
        return Ok(None);
    };
    let regular = out.metadata().is_ok_and(|m| m.is_file()) || !out.exists();
    if format != Format::Csv || !regular {
        return Ok(None);
    }
    let csvt = AtomicFile::create(&out.with_extension("csvt"), inputs)?;
    let prj = AtomicFile::create(&out.with_extension("prj"), inputs)?;
    Ok(Some((csvt, prj)))
}

/// What the writers need to know of a run.
fn context(run: &Scored) -> Context<'_> {
    Context {
        engine: &run.engine,
        header: &run.batch.header,
        summary: &run.batch.summary,
        sensitivity: run.sensitivity,
        map: run.map.as_ref(),
    }
}

/// What scoring needs of the plan once the engine is open.
struct Full<'a> {
    source: &'a SiteSource,
    options: &'a SiteOptions,
    format: Format,
    draws: Option<Draws>,
    top: Option<usize>,
    map: Option<MapOptions>,
}

/// A full run (every site, in input order, two passes with bounded memory): no `--top`,
/// sites from a regular file (read twice), and not the terminal table (which is best
/// first). Sites from stdin or a pipe are kept in memory, then written in input order too.
fn full_run(plan: &ScorePlan) -> bool {
    // A named pipe or a device cannot be read twice.
    let regular =
        matches!(&plan.source, SiteSource::File(p) if p.metadata().is_ok_and(|m| m.is_file()));
    plan.top.is_none() && regular && plan.format != Format::Table
}

/// A full run: rank every site (pass 1), then write them in input order as they are
/// explained again (pass 2); with `--sensitivity`, the best [`TRACKED_WITHOUT_TOP`] are
/// tracked.
fn run_full(
    plan: &Full<'_>,
    sites: SiteStream,
    engine: Engine,
    (started, loaded): (Instant, Duration),
    file: Option<&mut AtomicFile>,
    g: &Globals,
) -> Result<Scored, Failure> {
    let open = || SiteStream::open(plan.source, plan.options);
    let progress = Progress::new(Progress::wanted(g.quiet), None, Unit::Items("ranked sites"));
    let ranking = rank_sites(&engine, sites, &open, TRACKED_WITHOUT_TOP, &mut |n| {
        progress.set(n)
    })?;
    progress.finish();
    let (sensitivity, stable) = match plan.draws {
        Some(draws) => {
            let (report, found) = full_stability(open(), &engine, &ranking, draws)?;
            (Some(report), found)
        }
        None => (None, HashMap::new()),
    };
    let mut listed: Vec<(u64, Stability)> = ranking
        .best()
        .iter()
        .filter_map(|i| Some((ranking.rank_of(*i)?, *stable.get(i)?)))
        .collect();
    listed.sort_by_key(|l| l.0);
    let Ranking {
        header, summary, ..
    } = &ranking;
    let run = Scored {
        batch: Batch {
            header: header.clone(),
            results: Vec::new(),
            summary: summary.clone(),
        },
        engine,
        loaded,
        scored: Duration::ZERO,
        sensitivity,
        listed,
        map: plan.map.clone(),
    };
    let written = Progress::new(
        Progress::wanted(g.quiet),
        Some(ranking.len()),
        Unit::Items("written sites"),
    );
    let mut tell = |n| written.set(n);
    let mut rows = InputOrder::new(&run.engine, open(), &ranking, &stable).with_progress(&mut tell);
    let output = write(plan.format, &run, file, &mut rows);
    let error = rows.error.take();
    drop(rows);
    written.finish();
    if let Some(e) = error {
        return Err(e.into());
    }
    output?;
    run.engine.failure()?;
    Ok(Scored {
        scored: started.elapsed(),
        ..run
    })
}

/// Rank stability of the best [`TRACKED_WITHOUT_TOP`] sites of a full run, by input
/// position.
fn full_stability(
    sites: SiteStream,
    engine: &Engine,
    ranking: &Ranking,
    draws: Draws,
) -> Result<(Report, HashMap<u64, Stability>), Failure> {
    let (set, index) = candidate_stream(engine, sites)?;
    let best = ranking.best();
    let tracked: Vec<usize> = best
        .iter()
        .filter_map(|i| index.binary_search(i).ok())
        .collect();
    if tracked.len() != best.len() {
        return Err(Error::new(
            standort::ErrorKind::Input,
            "the sites changed between the passes of --sensitivity",
        )
        .into());
    }
    let top_k = 10;
    let found = site_stability(engine, &set, &tracked, &draws, top_k);
    let by_index = best.iter().copied().zip(found).collect();
    Ok((Report { draws, top_k }, by_index))
}

/// The listed sites' ranks and stability, best first.
fn listed_stability(batch: &Batch) -> Vec<(u64, Stability)> {
    batch
        .results
        .iter()
        .filter_map(|s| Some((s.rank?, s.stability?)))
        .collect()
}

/// Write the results to the output file or stdout.
fn write(
    format: Format,
    run: &Scored,
    file: Option<&mut AtomicFile>,
    rows: &mut dyn SiteRows,
) -> Result<(), Failure> {
    let ctx = context(run);
    let mut stdout;
    let (dest, label) = match file {
        Some(f) => {
            let label = f.target().display().to_string();
            (Destination::File(f), label)
        }
        None => {
            stdout = std::io::stdout().lock();
            (Destination::Stream(&mut stdout), "<stdout>".to_string())
        }
    };
    write_sites(format, dest, &ctx, rows).map_err(|e| match e {
        OutputError::Io(e) => write_failure(&label, e),
        OutputError::Other(e) => Failure::Error(e),
    })
}

/// The summary on stderr.
fn report(out: Option<&PathBuf>, run: &Scored) {
    let s = &run.batch.summary;
    let p = run.engine.profile();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "standort: {} sites scored with profile {} ({}, unknown: {}) in {:.2} s (layers {:.2} s): {} ok, {} excluded, {} unknown{}",
        s.sites,
        p.name,
        p.method,
        p.unknown,
        run.scored.as_secs_f64(),
        run.loaded.as_secs_f64(),
        s.ok,
        s.excluded,
        s.unknown,
        out.map(|o| format!("; wrote {}", o.display()))
            .unwrap_or_default(),
    );
    if p.method != "weighted-sum" {
        let _ = writeln!(err, "  scores: {}", run.engine.aggregation());
    }
    for note in run.engine.relative_notes() {
        let _ = writeln!(err, "  standardised on these sites: {note}");
    }
    for (reason, n) in s.by_constraint.iter().filter(|(_, n)| *n > 0) {
        let _ = writeln!(err, "  {n} failing: {reason}");
    }
    for (c, n) in s.unknown_by_criterion.iter().filter(|(_, n)| *n > 0) {
        let _ = writeln!(err, "  {n} without data for {c}");
    }
    if let Some(r) = &run.sensitivity {
        report_stability(&mut err, r, &run.listed);
    }
    let attributions = attributions(&run.engine);
    if !attributions.is_empty() {
        let _ = writeln!(err, "  data: {}", attributions.join("; "));
    }
}

/// How stable the head of the ranking is, in two figures.
fn report_stability(err: &mut dyn Write, r: &Report, listed: &[(u64, Stability)]) {
    let listed: Vec<Stability> = listed
        .iter()
        .filter(|(rank, _)| *rank <= r.top_k)
        .map(|(_, s)| *s)
        .collect();
    let Some(first) = listed.first() else {
        return;
    };
    let mean_in = listed.iter().map(|s| s.p_top).sum::<f64>() / listed.len() as f64;
    let _ = writeln!(
        err,
        "  sensitivity: {}: #1 ranks {}-{} (5-95%); the top {} stay in the top {} in {:.0}% of draws on average",
        describe_draws(&r.draws),
        first.rank_p05,
        first.rank_p95,
        listed.len(),
        r.top_k,
        100.0 * mean_in
    );
}
