//! `standort data fetch | status`: the public sources in the data directory.

use super::progress::{Progress, Unit};
use super::{Failure, Globals, write_failure};
use standort::ErrorKind;
use standort::catalog::{Catalog, FetchOptions, Outcome, fetch_file};
use standort::layers::CacheOutcome;
use standort::{Error, LayerSet};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DataCommand {
    /// Download the catalog's sources into the data directory (or copy them from a mirror)
    Fetch(FetchArgs),
    /// List the layers, whether their files are present, row counts, versions and licences
    Status(StatusArgs),
    /// Read every layer whose file is present into the layer cache ahead of a run
    /// ($STANDORT_CACHE_DIR, else ~/.cache/standort), so that runs start scoring at once
    Index(StatusArgs),
    /// Convert a file you downloaded from a publisher into the data directory
    /// (`aqueduct FILE.xlsx`, `usda-land-values FILE.csv`, `osm-substations FILE.osm.pbf`, ...)
    Import(ImportArgs),
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    /// What the file is: osm-substations, or a source's import name (see `standort data
    /// import --list`)
    #[arg(required_unless_present = "list")]
    source: Option<String>,
    /// The publisher's file (an archive holding it is read too)
    #[arg(required_unless_present = "list")]
    file: Option<PathBuf>,
    /// Accept a file whose converted result differs from the catalog's reference copy
    #[arg(long)]
    no_verify: bool,
    /// List what can be imported, and from which publisher's file
    #[arg(long)]
    list: bool,
}

#[derive(Debug, clap::Args)]
struct FetchArgs {
    /// Copy from this local mirror (laid out like the data directory) instead of downloading
    #[arg(long, value_name = "DIR")]
    from: Option<PathBuf>,
    /// Replace files that are already present
    #[arg(long)]
    force: bool,
    /// Accept files whose size or checksum differs from the catalog's reference copy
    #[arg(long)]
    no_verify: bool,
    /// Use this catalog instead of the built-in one
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    /// Layer-set .toml file [default: the built-in layer set]
    #[arg(short, long, value_name = "FILE")]
    layers: Option<PathBuf>,
}

fn data_dir(g: &Globals) -> Result<PathBuf, Error> {
    g.data_dir.clone().ok_or_else(|| {
        Error::usage("no data directory: pass --data-dir DIR or set STANDORT_DATA_DIR")
    })
}

pub fn run(args: DataArgs, g: &Globals) -> Result<(), Failure> {
    match args.command {
        DataCommand::Fetch(a) => fetch(a, g),
        DataCommand::Status(a) => status(a, g),
        DataCommand::Index(a) => index(a, g),
        DataCommand::Import(a) => import(a, g),
    }
}

fn fetch(args: FetchArgs, g: &Globals) -> Result<(), Failure> {
    let dir = data_dir(g)?;
    let catalog = match &args.catalog {
        Some(p) => Catalog::from_file(p)?,
        None => Catalog::embedded(),
    };
    if let Some(m) = &args.from {
        if !m.is_dir() {
            return Err(Error::usage(format!("--from {}: not a directory", m.display())).into());
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, &e))?;
    let opts = FetchOptions {
        from: args.from.clone(),
        force: args.force,
        no_verify: args.no_verify,
        ..Default::default()
    };
    let bars = Progress::wanted(g.quiet);
    let mut out = std::io::stdout().lock();
    let w = |e| write_failure("<stdout>", e);
    let mut manual = Vec::new();
    let mut failed: Option<Error> = None;
    for source in &catalog.sources {
        for f in &source.files {
            let what = fetch_one(f, &dir, &opts, bars, &mut manual, &mut failed);
            writeln!(out, "{:<58} {}", f.path.display(), what).map_err(w)?;
        }
    }
    for (path, how, optional) in &manual {
        let optional = if *optional { " (optional)" } else { "" };
        writeln!(
            out,
            "\n{}{optional}:\n  {how}\n  (or: standort data fetch --from DIR, from a mirror that has it)",
            path.display()
        )
        .map_err(w)?;
    }
    if let Some(e) = failed {
        return Err(e.into());
    }
    if !manual.is_empty() {
        let missing: Vec<String> = manual
            .iter()
            .filter(|(p, _, optional)| !optional && !dir.join(p).exists())
            .map(|(p, _, _)| p.display().to_string())
            .collect();
        if !missing.is_empty() {
            return Err(Error::new(
                standort::ErrorKind::Io,
                format!(
                    "{} file(s) still missing, to be fetched by hand: {}",
                    missing.len(),
                    missing.join(", ")
                ),
            )
            .into());
        }
    }
    Ok(())
}

/// Fetch one file with a progress bar; what it did, for the listing (a file to get by hand
/// is added to `manual`, the first failure kept in `failed`).
fn fetch_one(
    f: &standort::catalog::SourceFile,
    dir: &Path,
    opts: &FetchOptions,
    bars: bool,
    manual: &mut Vec<(PathBuf, String, bool)>,
    failed: &mut Option<Error>,
) -> String {
    let bar = Progress::new(bars, f.bytes, Unit::Bytes(f.path.display().to_string()));
    let res = fetch_file(f, dir, opts, &mut |done, total| {
        if let Some(t) = total {
            bar.set_total(t);
        }
        bar.set(done);
    });
    bar.finish();
    match res {
        Ok(Outcome::Present) => "present".to_string(),
        Ok(Outcome::Copied) => "copied".to_string(),
        Ok(Outcome::Downloaded) => "downloaded".to_string(),
        Ok(Outcome::Imported) => "imported".to_string(),
        Ok(Outcome::Skipped) => "optional, not in the mirror".to_string(),
        Ok(Outcome::Manual(how)) => {
            manual.push((f.path.clone(), how, f.optional));
            "manual (see below)".to_string()
        }
        Err(e) => {
            let line = format!("FAILED: {e}");
            failed.get_or_insert(e);
            line
        }
    }
}

/// `data index`: each present layer read through the layer cache, with what the cache did.
fn index(args: StatusArgs, g: &Globals) -> Result<(), Failure> {
    let dir = data_dir(g)?;
    let set = match &args.layers {
        Some(p) => LayerSet::from_file(p, Some(&dir))?,
        None => LayerSet::default_set(Some(&dir))?,
    };
    let cache = standort::layers::LayerCache::default_dir()
        .ok_or_else(|| Error::usage("no cache directory: set STANDORT_CACHE_DIR or HOME"))?;
    std::fs::create_dir_all(&cache).map_err(|e| {
        Error::at(
            ErrorKind::Io,
            cache.display().to_string(),
            format!("cannot create the layer cache directory: {e}"),
        )
    })?;
    let set = set.with_cache(standort::layers::LayerCache::new(cache.clone()));
    let mut out = std::io::stdout().lock();
    let w = |e| write_failure("<stdout>", e);
    writeln!(out, "layer cache: {}", cache.display()).map_err(w)?;
    let (mut built, mut fresh) = (0, 0);
    for spec in set.specs() {
        if !set.is_available(&spec.path) {
            writeln!(out, "  {:<24} missing (not cached)", spec.name).map_err(w)?;
            continue;
        }
        let started = std::time::Instant::now();
        let what = match set.index(&spec.name)? {
            CacheOutcome::Hit => {
                fresh += 1;
                "up to date"
            }
            CacheOutcome::Built => {
                built += 1;
                "built"
            }
            CacheOutcome::Skipped => "read in place (not cached)",
        };
        let secs = started.elapsed().as_secs_f64();
        writeln!(out, "  {:<24} {what} ({secs:.2} s)", spec.name).map_err(w)?;
    }
    writeln!(out, "{built} built, {fresh} up to date").map_err(w)?;
    Ok(())
}

fn status(args: StatusArgs, g: &Globals) -> Result<(), Failure> {
    let dir = data_dir(g)?;
    let set = match &args.layers {
        Some(p) => LayerSet::from_file(p, Some(&dir))?,
        None => LayerSet::default_set(Some(&dir))?,
    };
    let catalog = Catalog::embedded();
    let mut rows = vec![vec![
        "layer".to_string(),
        "kind".into(),
        "status".into(),
        "features".into(),
        "version".into(),
        "licence".into(),
        "file".into(),
    ]];
    let (mut missing, mut unreadable) = (0, 0);
    for spec in set.specs() {
        let row = status_row(&set, &catalog, spec);
        missing += usize::from(row[2].starts_with("missing"));
        unreadable += usize::from(row[2].starts_with("unreadable"));
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = std::io::stdout().lock();
    let w = |e| write_failure("<stdout>", e);
    writeln!(out, "data directory: {}", dir.display()).map_err(w)?;
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, wd))| {
                if i == 3 {
                    format!("{c:>wd$}")
                } else {
                    format!("{c:<wd$}")
                }
            })
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end()).map_err(w)?;
    }
    out.flush().map_err(w)?;
    // Scripts can trust the exit code: 0 only when every layer is there and readable.
    match (missing, unreadable) {
        (0, 0) => Ok(()),
        (0, n) => Err(Error::new(
            ErrorKind::Input,
            format!("{n} layer(s) unreadable (see the status column)"),
        )
        .into()),
        (m, n) => Err(Error::new(
            ErrorKind::Io,
            format!(
                "{m} layer(s) missing{}: run `standort data fetch` (or --from DIR)",
                if n > 0 {
                    format!(", {n} unreadable")
                } else {
                    String::new()
                }
            ),
        )
        .into()),
    }
}

/// One layer's row of `data status`: name, kind, state, features, version, licence, file.
fn status_row(
    set: &LayerSet,
    catalog: &Catalog,
    spec: &standort::layers::LayerSpec,
) -> Vec<String> {
    let files: Vec<&Path> = std::iter::once(spec.path.as_path())
        .chain(spec.join.as_ref().map(|j| j.path.as_path()))
        .collect();
    let optional = spec
        .join
        .as_ref()
        .filter(|j| j.optional)
        .map(|j| j.path.as_path());
    let absent: Vec<String> = files
        .iter()
        .filter(|p| !set.is_available(p) && Some(**p) != optional)
        .map(|p| p.display().to_string())
        .collect();
    let without = optional
        .filter(|p| !set.is_available(p))
        .map(|p| format!(" (without optional {})", p.display()))
        .unwrap_or_default();
    let (state, count) = if !absent.is_empty() {
        (format!("missing {}", absent.join(", ")), "-".to_string())
    } else {
        match set.load(&spec.name) {
            Ok(l) if l.path.starts_with(standort::boundaries::BUILT_IN) => (
                format!("ok (built in){without}"),
                l.feature_count().to_string(),
            ),
            Ok(l) => (format!("ok{without}"), l.feature_count().to_string()),
            Err(e) => (format!("unreadable: {e}"), "-".to_string()),
        }
    };
    // Versions and licences of the layer's file and of the table joined onto it.
    let found: Vec<_> = files
        .iter()
        .filter_map(|p| catalog.find(p))
        .map(|(s, _)| s)
        .collect();
    let (version, licence) = if found.is_empty() {
        (
            "-".into(),
            spec.licence.clone().unwrap_or_else(|| "-".into()),
        )
    } else {
        let mut licences: Vec<&str> = found.iter().map(|s| s.licence.as_str()).collect();
        licences.dedup();
        let versions: Vec<String> = found
            .iter()
            .map(|s| format!("{} {}", s.id, s.version))
            .collect();
        (versions.join(" + "), licences.join(" + "))
    };
    vec![
        spec.name.clone(),
        spec.kind.to_string(),
        state,
        count,
        version,
        licence,
        spec.path.display().to_string(),
    ]
}

/// The import names of the catalog: (name, sources, the file they read).
fn import_names(catalog: &Catalog) -> Vec<(String, Vec<&standort::catalog::Source>)> {
    let mut out: Vec<(String, Vec<&standort::catalog::Source>)> = vec![];
    for s in &catalog.sources {
        let Some(name) = &s.import else { continue };
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(s),
            None => out.push((name.clone(), vec![s])),
        }
    }
    out
}

fn import(args: ImportArgs, g: &Globals) -> Result<(), Failure> {
    let catalog = Catalog::embedded();
    let names = import_names(&catalog);
    let mut out = std::io::stdout().lock();
    let w = |e| write_failure("<stdout>", e);
    if args.list {
        writeln!(out, "{:<18} from", "name").map_err(w)?;
        writeln!(out, "{:<18} an OpenStreetMap extract (.osm.pbf), e.g. from download.geofabrik.de: power=substation, 110 kV or more", "osm-substations").map_err(w)?;
        for (name, sources) in &names {
            let from: Vec<String> = sources
                .iter()
                .map(|s| format!("{} ({})", s.title, s.homepage))
                .collect();
            writeln!(out, "{name:<18} {}", from.join("; ")).map_err(w)?;
        }
        return Ok(());
    }
    let (Some(source), Some(file)) = (args.source, args.file) else {
        return Err(Error::usage("give SOURCE and FILE (or --list)").into());
    };
    let dir = data_dir(g)?;
    if source == "osm-substations" {
        return import_osm(&file, &dir, &mut out);
    }
    let Some((_, sources)) = names.iter().find(|(n, _)| *n == source) else {
        let mut known: Vec<&str> = vec!["osm-substations"];
        known.extend(names.iter().map(|(n, _)| n.as_str()));
        return Err(Error::usage(format!(
            "data import: unknown source \"{source}\" (known: {})",
            known.join(", ")
        ))
        .into());
    };
    let opts = FetchOptions {
        no_verify: args.no_verify,
        ..Default::default()
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, &e))?;
    let files: Vec<&standort::catalog::SourceFile> =
        sources.iter().flat_map(|s| &s.files).collect();
    standort::catalog::import_files(&files, &file, &dir, &opts)?;
    for f in files {
        writeln!(
            out,
            "{:<58} imported from {}",
            f.path.display(),
            file.display()
        )
        .map_err(w)?;
    }
    Ok(())
}

fn import_osm(file: &Path, dir: &Path, out: &mut dyn Write) -> Result<(), Failure> {
    let w = |e| write_failure("<stdout>", e);
    // Only the countries' outlines and codes are read: their water table need not be there.
    let layers = LayerSet::default_set(Some(dir))?.into_partial();
    let r = standort::catalog::import::import_substations(file, &layers)?;
    let e = &r.extract;
    writeln!(
        out,
        "{}: {} substations of 110 kV or more (or without a voltage); left out: {} below 110 kV, {} ways cut at the extract's edge, {} relations",
        file.display(),
        e.substations.len(),
        e.below_voltage,
        e.incomplete_ways,
        e.relations
    )
    .map_err(w)?;
    let counts: Vec<String> = r
        .by_country
        .iter()
        .map(|(c, n)| {
            format!(
                "{}: {n}",
                if c.is_empty() {
                    "outside every country"
                } else {
                    c
                }
            )
        })
        .collect();
    writeln!(out, "by country: {}", counts.join(", ")).map_err(w)?;
    writeln!(
        out,
        "covered now: {} (at least {} substations and 1% of the extract); kept {} substations of other countries",
        if r.covered.is_empty() { "none".to_string() } else { r.covered.join(", ") },
        standort::catalog::import::MIN_COVERED,
        r.kept
    )
    .map_err(w)?;
    for p in &r.written {
        writeln!(out, "wrote {}", p.display()).map_err(w)?;
    }
    Ok(())
}
