//! `standort profiles`: the built-in profiles.

use super::{Failure, write_failure};
use standort::Profile;
use standort::profile::EMBEDDED_PROFILES;
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct ProfilesArgs {
    /// Print this profile's TOML (to copy and adapt)
    name: Option<String>,
}

pub fn run(args: ProfilesArgs) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match args.name {
        Some(name) => {
            Profile::embedded(&name)?;
            let text = EMBEDDED_PROFILES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| *t)
                .unwrap_or_default();
            out.write_all(text.as_bytes())
                .map_err(|e| write_failure("<stdout>", e))?;
        }
        None => {
            for (name, _) in EMBEDDED_PROFILES {
                let p = Profile::embedded(name)?;
                writeln!(out, "{name:<24} {}", p.description)
                    .map_err(|e| write_failure("<stdout>", e))?;
            }
        }
    }
    Ok(())
}
