//! `standort data fetch | status`: the public sources in the data directory.

use super::progress::{Progress, Unit};
use super::{Failure, Globals, write_failure};
use standort::ErrorKind;
use standort::catalog::{Catalog, FetchOptions, Outcome, fetch_file};
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
    };
    let bars = Progress::wanted(g.quiet);
    let mut out = std::io::stdout().lock();
    let w = |e| write_failure("<stdout>", e);
    let mut manual = Vec::new();
    let mut failed: Option<Error> = None;
    for source in &catalog.sources {
        for f in &source.files {
            let bar = Progress::new(bars, f.bytes, Unit::Bytes(f.path.display().to_string()));
            let res = fetch_file(f, &dir, &opts, &mut |done, total| {
                if let Some(t) = total {
                    bar.set_total(t);
                }
                bar.set(done);
            });
            bar.finish();
            let what = match res {
                Ok(Outcome::Present) => "present".to_string(),
                Ok(Outcome::Copied) => "copied".to_string(),
                Ok(Outcome::Downloaded) => "downloaded".to_string(),
                Ok(Outcome::Manual(how)) => {
                    manual.push((f.path.clone(), how));
                    "manual (see below)".to_string()
                }
                Err(e) => {
                    let line = format!("FAILED: {e}");
                    failed.get_or_insert(e);
                    line
                }
            };
            writeln!(out, "{:<58} {}", f.path.display(), what).map_err(w)?;
        }
    }
    for (path, how) in &manual {
        writeln!(
            out,
            "\n{}:\n  {how}\n  (or: standort data fetch --from DIR, from a mirror that has it)",
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
            .filter(|(p, _)| !dir.join(p).exists())
            .map(|(p, _)| p.display().to_string())
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
    let absent: Vec<String> = files
        .iter()
        .filter(|p| set.resolve(p).map(|r| !r.exists()).unwrap_or(true))
        .map(|p| p.display().to_string())
        .collect();
    let (state, count) = if !absent.is_empty() {
        (format!("missing {}", absent.join(", ")), "-".to_string())
    } else {
        match set.load(&spec.name) {
            Ok(l) => ("ok".to_string(), l.feature_count().to_string()),
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
