//! `standort score SITES`: rank candidate sites.

use super::{Failure, Globals, write_failure};
use clap::ValueEnum;
use standort::batch::{SiteStream, score_stream};
use standort::export::{self, AtomicFile, Context, Format};
use standort::sites::SiteFormat;
use standort::{Engine, Error, LayerSet, Profile, SiteOptions, SiteSource};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutFormat {
    Table,
    Csv,
    Geojson,
    Geojsonseq,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum InFormat {
    Csv,
    Geojson,
}

#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// Candidate sites: CSV with latitude/longitude columns, a GeoJSON FeatureCollection of
    /// points, or - for stdin
    sites: String,

    /// Built-in profile name or a profile .toml file
    #[arg(short, long, default_value = "ai-campus", value_name = "NAME|FILE")]
    profile: String,

    /// Layer-set .toml file [default: the built-in layer set, in the data directory]
    #[arg(short, long, value_name = "FILE")]
    layers: Option<PathBuf>,

    /// Output format [default: from --out's extension, else table]
    #[arg(short, long, value_enum)]
    format: Option<OutFormat>,

    /// Write to this file (atomically) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// Keep only the N best sites (memory stays bounded)
    #[arg(short = 'n', long, value_name = "N")]
    top: Option<usize>,

    /// Id column (CSV) or property (GeoJSON) [default: id, else the row number]
    #[arg(long, value_name = "COLUMN")]
    id: Option<String>,

    /// Latitude column of CSV sites [default: detected]
    #[arg(long, value_name = "COLUMN")]
    lat: Option<String>,

    /// Longitude column of CSV sites [default: detected]
    #[arg(long, value_name = "COLUMN")]
    lon: Option<String>,

    /// Input format [default: from the extension, else sniffed]
    #[arg(long, value_enum)]
    input_format: Option<InFormat>,

    /// Worker threads [default: all cores]
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,
}

struct Plan {
    source: SiteSource,
    options: SiteOptions,
    profile: Profile,
    profile_path: Option<PathBuf>,
    layers: LayerSet,
    layers_path: Option<PathBuf>,
    format: Format,
    out: Option<PathBuf>,
    top: Option<usize>,
}

/// The OGR driver for `--out` (GeoPackage, FlatGeobuf), with the `gdal` feature.
fn ogr_driver(path: &std::path::Path) -> Option<&'static str> {
    #[cfg(feature = "gdal")]
    {
        standort::export::ogr::driver_for(path)
    }
    #[cfg(not(feature = "gdal"))]
    {
        let _ = path;
        None
    }
}

const NEEDS_GDAL: &[&str] = &["gpkg", "fgb", "shp", "tif", "tiff", "kml"];

fn plan(args: ScoreArgs, g: &Globals) -> Result<Plan, Error> {
    let from_flag = args.format.map(|f| match f {
        OutFormat::Table => Format::Table,
        OutFormat::Csv => Format::Csv,
        OutFormat::Geojson => Format::GeoJson,
        OutFormat::Geojsonseq => Format::GeoJsonSeq,
        OutFormat::Json => Format::Json,
    });
    let from_out = match &args.out {
        Some(p) => match Format::from_path(p) {
            Some(f) => Some(f),
            None => {
                let ext = p
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if ogr_driver(p).is_some() {
                    // Written through OGR after scoring (see `run`); the format is unused.
                    if from_flag.is_some() {
                        return Err(Error::usage(format!(
                            "--out {}: --format does not apply to .{ext}",
                            p.display()
                        )));
                    }
                    return finish_plan(args, g, Format::GeoJson);
                }
                if NEEDS_GDAL.contains(&ext.as_str()) {
                    let why = if cfg!(feature = "gdal") {
                        "is not implemented yet for `score` (write .geojson and convert with ogr2ogr)"
                    } else {
                        "needs the `gdal` feature (cargo build --release --features gdal)"
                    };
                    return Err(Error::usage(format!(
                        "--out {}: .{ext} output {why}",
                        p.display()
                    )));
                }
                if from_flag.is_none() {
                    return Err(Error::usage(format!(
                        "--out {}: unknown extension; use .csv, .geojson, .geojsonl, .json or .txt, or give --format",
                        p.display()
                    )));
                }
                None
            }
        },
        None => None,
    };
    let format = match (from_flag, from_out) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::usage(format!(
                "--format {a:?} disagrees with the extension of --out (which means {b:?})"
            )));
        }
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => Format::Table,
    };
    finish_plan(args, g, format)
}

/// The rest of the plan once the output format is known.
fn finish_plan(args: ScoreArgs, g: &Globals, format: Format) -> Result<Plan, Error> {
    if args.top == Some(0) {
        return Err(Error::usage("--top must be at least 1"));
    }
    let (profile, profile_path) = super::load_profile(&args.profile)?;
    let layers = super::load_layers(args.layers.as_deref(), g)?;
    let options = SiteOptions {
        id: args.id,
        lat: args.lat,
        lon: args.lon,
        format: args.input_format.map(|f| match f {
            InFormat::Csv => SiteFormat::Csv,
            InFormat::Geojson => SiteFormat::GeoJson,
        }),
        delimiter: None,
    };
    super::set_threads(args.threads)?;
    Ok(Plan {
        source: SiteSource::from_arg(&args.sites),
        options,
        profile,
        profile_path,
        layers,
        layers_path: args.layers,
        format,
        out: args.out,
        top: args.top,
    })
}

pub fn run(args: ScoreArgs, g: &Globals) -> Result<(), Failure> {
    let started = Instant::now();
    let plan = plan(args, g)?;
    // Sites are read and parsed while the layers load.
    let sites = SiteStream::open(&plan.source, &plan.options);
    let engine = Engine::new(plan.profile, &plan.layers)?;
    let mut inputs: Vec<PathBuf> = engine.layers().iter().map(|l| l.path.clone()).collect();
    inputs.extend(plan.profile_path.clone());
    inputs.extend(plan.layers_path.clone());
    if let SiteSource::File(p) = &plan.source {
        inputs.push(p.clone());
    }
    let mut file = plan
        .out
        .as_ref()
        .map(|p| AtomicFile::create(p, &inputs))
        .transpose()?;
    let loaded = started.elapsed();
    let show_progress = !g.quiet && std::io::stderr().is_terminal();
    let mut progress = |n: u64| {
        if show_progress {
            let _ = write!(std::io::stderr(), "\rscored {n} sites");
        }
    };
    let batch = score_stream(&engine, sites, plan.top, &mut progress)?;
    if show_progress {
        let _ = write!(std::io::stderr(), "\r\x1b[K");
    }
    let scored = started.elapsed();
    let ctx = Context {
        engine: &engine,
        header: &batch.header,
        summary: &batch.summary,
    };
    match (&mut file, &plan.out) {
        #[cfg(feature = "gdal")]
        (Some(f), Some(path)) if ogr_driver(path).is_some() => {
            let inputs: Vec<String> = batch.header.columns.clone();
            let mut columns = inputs.clone();
            columns.extend(export::result_columns(&engine, &inputs));
            let mut rows = Vec::with_capacity(batch.results.len());
            for s in &batch.results {
                let mut values: Vec<serde_json::Value> = export::input_values(&batch.header, s)
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect();
                values.extend(export::result_values(&engine, s));
                rows.push((export::ogr::point(s.site.lon, s.site.lat)?, values));
            }
            let driver = ogr_driver(path).unwrap_or("GPKG");
            export::ogr::write_layer(
                f.path(),
                driver,
                "sites",
                gdal::vector::OGRwkbGeometryType::wkbPoint,
                &columns,
                rows,
            )?;
        }
        (Some(f), Some(path)) => {
            let label = path.display().to_string();
            let mut w = std::io::BufWriter::new(f.file());
            export::write(plan.format, &mut w, &ctx, &batch.results)
                .map_err(|e| write_failure(&label, e))?;
            w.flush().map_err(|e| write_failure(&label, e))?;
        }
        _ => {
            let mut out = std::io::stdout().lock();
            export::write(plan.format, &mut out, &ctx, &batch.results)
                .map_err(|e| write_failure("<stdout>", e))?;
            out.flush().map_err(|e| write_failure("<stdout>", e))?;
        }
    }
    if let Some(f) = file {
        f.commit()?;
    }
    if !g.quiet {
        let s = &batch.summary;
        let p = engine.profile();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "standort: {} sites scored with profile {} ({}, unknown: {}) in {:.2} s (layers {:.2} s): {} ok, {} excluded, {} unknown{}",
            s.sites,
            p.name,
            p.method,
            p.unknown,
            scored.as_secs_f64(),
            loaded.as_secs_f64(),
            s.ok,
            s.excluded,
            s.unknown,
            plan.out
                .as_ref()
                .map(|o| format!("; wrote {}", o.display()))
                .unwrap_or_default(),
        );
        for (reason, n) in s.by_constraint.iter().filter(|(_, n)| *n > 0) {
            let _ = writeln!(err, "  {n} failing: {reason}");
        }
        for (c, n) in s.unknown_by_criterion.iter().filter(|(_, n)| *n > 0) {
            let _ = writeln!(err, "  {n} without data for {c}");
        }
        let mut attributions: Vec<&str> = Vec::new();
        for a in engine
            .layers()
            .iter()
            .filter_map(|l| l.attribution.as_deref())
        {
            for part in a.split("; ") {
                if !attributions.contains(&part) {
                    attributions.push(part);
                }
            }
        }
        if !attributions.is_empty() {
            let _ = writeln!(err, "  data: {}", attributions.join("; "));
        }
    }
    // The process ends here: the system takes back the results and indexes at once, where
    // freeing them one by one takes 75 ms per 100,000 explained results.
    std::mem::forget(batch);
    std::mem::forget(engine);
    Ok(())
}
