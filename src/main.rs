//! The `standort` command: parse, run, map errors to exit codes.

mod cli;

use std::process::ExitCode;

/// mimalloc: sites are allocated on the reader thread and freed on the scoring thread;
/// glibc's allocator spends measurable time consolidating across threads there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
