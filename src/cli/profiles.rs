//! `standort profiles`: the built-in profiles.

use super::{Failure, write_failure};
use standort::Profile;
use standort::profile::EMBEDDED_PROFILES;
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct ProfilesArgs {
    /// Print this profile's TOML (to copy and adapt)
    name: Option<String>,
    /// Check a profile (a file or a built-in name): print its method and weights, and for
    /// [ahp] comparisons the derived weights, λmax, CI and CR
    #[arg(long, value_name = "PROFILE", conflicts_with = "name")]
    check: Option<String>,
}

pub fn run(args: ProfilesArgs) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    if let Some(p) = &args.check {
        let (profile, _) = super::load_profile(p)?;
        return write_check(&mut out, &profile).map_err(|e| write_failure("<stdout>", e));
    }
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

/// `profiles --check`: the method, each criterion's weight and, for `[ahp]`, the
/// consistency of the comparisons.
fn write_check(out: &mut impl Write, p: &Profile) -> std::io::Result<()> {
    writeln!(
        out,
        "profile {}: method {}, {} criteria",
        p.name,
        p.method,
        p.criteria.len()
    )?;
    let weights = p.normalised_weights();
    let source = if p.ahp_weights.is_some() {
        "from [ahp]"
    } else {
        "as given"
    };
    writeln!(
        out,
        "{:<24} {:>8}  ({source}, normalised)",
        "criterion", "weight"
    )?;
    for (c, w) in p.criteria.iter().zip(&weights) {
        writeln!(out, "{:<24} {:>8.4}", c.id(), w)?;
    }
    if let Some(a) = &p.ahp_weights {
        let verdict = if a.cr <= standort::profile::ahp::MAX_CR {
            "consistent"
        } else {
            "inconsistent, allowed by allow_inconsistent"
        };
        writeln!(
            out,
            "lambda_max {:.4}  CI {:.4}  RI {:.2}  CR {:.4} ({verdict}: CR <= {} is acceptable)",
            a.lambda_max,
            a.ci,
            a.ri,
            a.cr,
            standort::profile::ahp::MAX_CR
        )?;
    }
    Ok(())
}
