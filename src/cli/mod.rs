//! The command line: clap arguments → a validated plan → one module per command.
//! The only module that prints.

mod data;
mod plan;
mod profiles;
mod progress;
mod region;
mod score;

use clap::{Parser, Subcommand};
use standort::{Engine, Error, ErrorKind, LayerSet, Profile};
use std::io::Write;
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;

/// standort — site planner for data centers: grid capacity, water scarcity and land cost,
/// joined through spatial indexes into a suitability score for any point on Earth.
#[derive(Debug, Parser)]
#[command(
    name = "standort",
    version,
    propagate_version = true,
    max_term_width = 100,
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Data directory that layer paths are relative to [default: the layer-set file's folder]
    #[arg(long, global = true, env = "STANDORT_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// No progress or summary on stderr
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Score and rank candidate sites from a CSV or GeoJSON file (or - for stdin)
    Score(score::ScoreArgs),
    /// Score a region (ISO3 code, country or admin-1 name, --bbox or --polygon) on a grid
    Region(region::RegionArgs),
    /// Place campuses in a region under grid headroom, water budgets and spacing: how much
    /// AI compute it can host, where, and at what cost in power, water and carbon
    Plan(plan::PlanArgs),
    /// The plan at max for every country: MW of AI compute each can host on its own grid
    Sovereignty(plan::SovereigntyArgs),
    /// Get the public layers (fetch) and see what is there (status)
    Data(data::DataArgs),
    /// List the built-in profiles, or print one as TOML to start your own
    Profiles(profiles::ProfilesArgs),
}

/// Global options every command sees.
pub struct Globals {
    pub data_dir: Option<PathBuf>,
    pub quiet: bool,
}

/// An error from a command, or a closed stdout (not an error).
pub enum Failure {
    Error(Error),
    BrokenPipe,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

/// Map an I/O error while writing output: a closed pipe ends quietly.
pub fn write_failure(target: &str, e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::BrokenPipe
    } else {
        Failure::Error(Error::at(
            ErrorKind::Io,
            target.to_string(),
            format!("cannot write: {e}"),
        ))
    }
}

/// The arguments that open an engine, shared by every command that scores.
#[derive(Debug, clap::Args)]
pub struct EngineArgs {
    /// Built-in profile name or a profile .toml file
    #[arg(short, long, default_value = "ai-campus", value_name = "NAME|FILE")]
    profile: String,

    /// Layer-set .toml file [default: the built-in layer set, in the data directory]
    #[arg(short, long, value_name = "FILE")]
    layers: Option<PathBuf>,

    /// Worker threads [default: all cores]
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,

    /// Treat warnings about the layers' data (skipped features, ...) as errors
    #[arg(long)]
    strict: bool,

    /// Read every layer from its file, neither using nor updating the layer cache
    /// ($STANDORT_CACHE_DIR, else ~/.cache/standort; see `standort data index`)
    #[arg(long)]
    no_cache: bool,
}

/// Rank stability under random weights (`score` and `region`).
#[derive(Debug, clap::Args)]
pub struct SensitivityArgs {
    /// Rank stability: re-rank under N random draws of the weights around the profile's
    /// (each weight times a factor uniform in [1-SPREAD, 1+SPREAD]) and report each listed
    /// site's mean rank, 5-95% rank interval and top-k probability
    #[arg(long, value_name = "N")]
    sensitivity: Option<usize>,

    /// How far each weight may move in the draws, as a fraction of it
    #[arg(
        long,
        value_name = "SPREAD",
        default_value_t = 0.25,
        requires = "sensitivity"
    )]
    spread: f64,

    /// Seed of the draws (the same seed, the same draws, for any thread count)
    #[arg(
        long,
        value_name = "SEED",
        default_value_t = 1,
        requires = "sensitivity"
    )]
    seed: u64,
}

/// At most this many draws (1,000 take a few seconds for 100,000 sites).
const MAX_DRAWS: usize = 100_000;

impl SensitivityArgs {
    /// The validated draws, if asked for.
    pub fn draws(&self) -> Result<Option<standort::sensitivity::Draws>, Error> {
        let Some(n) = self.sensitivity else {
            return Ok(None);
        };
        if !(1..=MAX_DRAWS).contains(&n) {
            return Err(Error::usage(format!(
                "--sensitivity {n}: expected between 1 and {MAX_DRAWS} draws"
            )));
        }
        if !(self.spread.is_finite() && (0.0..1.0).contains(&self.spread)) {
            return Err(Error::usage(format!(
                "--spread {}: expected a fraction from 0 up to (not including) 1",
                self.spread
            )));
        }
        Ok(Some(standort::sensitivity::Draws {
            n,
            spread: self.spread,
            seed: self.seed,
        }))
    }
}

/// The one-line description of a sensitivity analysis, for summaries.
pub fn describe_draws(d: &standort::sensitivity::Draws) -> String {
    format!(
        "{} draws of the weights (each times a factor uniform in [{}, {}], renormalised; seed {})",
        d.n,
        1.0 - d.spread,
        1.0 + d.spread,
        d.seed
    )
}

/// A validated engine set-up: the profile and layer set parsed, the thread pool sized. The
/// layers are read only by [`EngineSetup::open`].
pub struct EngineSetup {
    pub profile: Profile,
    profile_path: Option<PathBuf>,
    pub layers: LayerSet,
    layers_path: Option<PathBuf>,
    strict: bool,
    quiet: bool,
}

/// An open engine and every file the run reads through it (never to be overwritten).
pub struct Opened {
    pub engine: Engine,
    pub inputs: Vec<PathBuf>,
}

impl EngineArgs {
    /// Parse and check the profile and the layer set; size the thread pool.
    pub fn setup(&self, g: &Globals) -> Result<EngineSetup, Error> {
        set_threads(self.threads)?;
        let (profile, profile_path) = load_profile(&self.profile)?;
        let mut layers = load_layers(self.layers.as_deref(), g)?;
        if !self.no_cache {
            layers = with_layer_cache(layers);
        }
        Ok(EngineSetup {
            profile,
            profile_path,
            layers,
            layers_path: self.layers.clone(),
            strict: self.strict,
            quiet: g.quiet,
        })
    }
}

impl EngineSetup {
    /// Read the layers and build the engine; warnings about the layers' data go to stderr
    /// (or, with `--strict`, the first is an error).
    pub fn open(self) -> Result<Opened, Error> {
        let engine = Engine::new(self.profile, &self.layers)?;
        let warnings = engine.warnings();
        if let (true, Some(first)) = (self.strict, warnings.first()) {
            return Err(Error::new(
                ErrorKind::Input,
                format!("{first} (--strict makes warnings errors)"),
            ));
        }
        if !self.quiet {
            let mut err = std::io::stderr().lock();
            for w in &warnings {
                let _ = writeln!(err, "warning: {w}");
            }
        }
        let mut inputs: Vec<PathBuf> = Vec::new();
        for l in engine.layers() {
            inputs.push(l.path.clone());
            inputs.extend(l.joined.clone());
            // The coverage file a layer reads (written by `data import osm-substations`).
            let cov_file = self.layers.spec(&l.name).and_then(|s| s.coverage.as_ref());
            let cov_file = cov_file.and_then(|c| c.values_file.as_ref());
            inputs.extend(cov_file.and_then(|f| self.layers.resolve(f).ok()));
        }
        inputs.extend(self.profile_path);
        inputs.extend(self.layers_path);
        Ok(Opened { engine, inputs })
    }
}

/// A profile from a built-in name or a file (anything that exists, ends in .toml or has a
/// slash); returns the file when there is one.
fn load_profile(arg: &str) -> Result<(Profile, Option<PathBuf>), Error> {
    let p = Path::new(arg);
    if p.exists() || arg.ends_with(".toml") || arg.contains('/') {
        Ok((Profile::from_file(p)?, Some(p.to_path_buf())))
    } else {
        Ok((Profile::embedded(arg)?, None))
    }
}

/// The layer set reading through the default layer cache, when there is a directory for it.
pub fn with_layer_cache(layers: LayerSet) -> LayerSet {
    match standort::layers::LayerCache::default_dir() {
        Some(dir) => layers.with_cache(standort::layers::LayerCache::new(dir)),
        None => layers,
    }
}

/// The layer set: a file, or the built-in one in the data directory.
fn load_layers(file: Option<&Path>, g: &Globals) -> Result<LayerSet, Error> {
    match file {
        Some(p) => LayerSet::from_file(p, g.data_dir.as_deref()),
        // Without a data directory the built-in set is partial: the built-in boundaries
        // answer and the criteria without data are left out, with a warning each.
        None => LayerSet::default_set(g.data_dir.as_deref()),
    }
}

/// More worker threads than this is a usage error (thousands of threads take minutes to
/// start and gain nothing).
const MAX_THREADS: usize = 256;

/// Size rayon's pool.
fn set_threads(threads: Option<usize>) -> Result<(), Error> {
    match threads {
        Some(0) => Err(Error::usage("--threads must be at least 1")),
        Some(n) if n > MAX_THREADS => Err(Error::usage(format!(
            "--threads {n}: at most {MAX_THREADS} (this machine has {} cores)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ))),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| Error::usage(format!("--threads {n}: {e}"))),
        None => Ok(()),
    }
}

/// The attribution line of the layers an engine read, each part once.
pub fn attributions(engine: &Engine) -> Vec<&str> {
    let mut parts: Vec<&str> = Vec::new();
    for a in engine
        .layers()
        .iter()
        .filter_map(|l| l.attribution.as_deref())
    {
        for part in a.split("; ") {
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
    }
    parts
}

/// On SIGINT, SIGTERM or SIGHUP: remove the partial output files and exit with 130 (the
/// run is abandoned; nothing half-written stays behind).
fn on_signals_remove_partial_files() {
    let _ = ctrlc::set_handler(|| {
        standort::export::remove_partial_files();
        let _ = writeln!(
            std::io::stderr(),
            "\nstandort: interrupted; partial output removed"
        );
        std::process::exit(130);
    });
}

pub fn main() -> ExitCode {
    on_signals_remove_partial_files();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    let globals = Globals {
        data_dir: cli.data_dir,
        quiet: cli.quiet,
    };
    let result = match cli.command {
        Command::Score(args) => score::run(args, &globals),
        Command::Region(args) => region::run(args, &globals),
        Command::Plan(args) => plan::run_plan(args, &globals),
        Command::Sovereignty(args) => plan::run_sovereignty(args, &globals),
        Command::Data(args) => data::run(args, &globals),
        Command::Profiles(args) => profiles::run(args),
    };
    match result {
        Ok(()) | Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Error(e)) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(if e.kind() == ErrorKind::Usage { 2 } else { 1 })
        }
    }
}

/// A QGIS style (`.qml`) to write beside a vector output, opened before the run (so that a
/// clash is found before any work) and committed after the output.
pub struct Style {
    file: standort::export::AtomicFile,
    text: String,
}

impl Style {
    /// The style of `out` in `format` when it gets one ([`standort::map::qml::sidecar`]).
    pub fn beside(
        out: Option<&Path>,
        format: standort::export::Format,
        geometry: standort::map::qml::Geometry,
        label: Option<&str>,
        inputs: &[PathBuf],
    ) -> Result<Option<Style>, Error> {
        let Some(path) = out.and_then(|o| standort::map::qml::sidecar(o, format)) else {
            return Ok(None);
        };
        Ok(Some(Style {
            file: standort::export::AtomicFile::create(&path, inputs)?,
            text: standort::map::qml::style(geometry, label),
        }))
    }

    /// Write and rename it into place.
    pub fn commit(mut self) -> Result<(), Failure> {
        let label = self.file.target().display().to_string();
        self.file
            .file()
            .write_all(self.text.as_bytes())
            .map_err(|e| write_failure(&label, e))?;
        self.file.commit()?;
        Ok(())
    }
}
