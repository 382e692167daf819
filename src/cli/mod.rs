//! The command line: clap arguments → a validated plan → one module per command.
//! The only module that prints.

mod profiles;
mod score;

use clap::{Parser, Subcommand};
use standort::{Error, ErrorKind};
use std::io::Write;
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

pub fn main() -> ExitCode {
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
