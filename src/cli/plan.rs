//! `standort plan REGION` and `standort sovereignty`: capacity plans under grid headroom,
//! water budgets and spacing.

use super::progress::{Progress, Unit};
use super::{EngineArgs, Failure, Globals, attributions, write_failure};
use serde_json::json;
use standort::export::format::choose;
use standort::export::plan as out;
use standort::export::{AtomicFile, Format, Product};
use standort::map::{Basemap, MapOptions};
use standort::plan::sovereignty::{
    Setting, by_subdivision, load_plants, plan_points, plan_region, sovereignty,
};
use standort::plan::{Lookup, Options, Param, Plan, PlanParams, WaterBudgets};
use standort::region::{Region, bbox_cells, subdivisions};
use standort::sites::{SiteOptions, SiteSource, read_sites};
use standort::{Engine, Error, ErrorKind, LayerSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The planning options `plan` and `sovereignty` share.
#[derive(Debug, clap::Args)]
pub struct PlanningArgs {
    /// IT load of one campus, MW [default: the profile's `[plan] campus_mw`]
    #[arg(long, value_name = "MW")]
    campus_mw: Option<f64>,

    /// Power usage effectiveness, at least 1 [default: the profile's]
    #[arg(long, value_name = "PUE")]
    pue: Option<f64>,

    /// Share of each plant's capacity offered to new large loads, in (0, 1] [default: the
    /// profile's]
    #[arg(long, value_name = "SHARE")]
    headroom_share: Option<f64>,

    /// How far a campus may draw from a plant, km [default: the profile's]
    #[arg(long, value_name = "KM")]
    interconnect_km: Option<f64>,

    /// Minimum distance between campuses, km
    #[arg(long, default_value_t = 50.0, value_name = "KM")]
    min_spacing_km: f64,

    /// Width of a .png map in pixels [default: 1200]
    #[arg(long, value_name = "PX")]
    width: Option<u32>,

    /// Candidates scoring below this are not used
    #[arg(long, default_value_t = 0.0, value_name = "SCORE")]
    min_score: f64,

    /// Where a full campus does not fit, host a smaller one (down to --min-partial-mw)
    #[arg(long)]
    allow_partial: bool,

    /// The smallest partial campus, MW of IT load
    #[arg(
        long,
        default_value_t = 10.0,
        value_name = "MW",
        requires = "allow_partial"
    )]
    min_partial_mw: f64,

    /// Water budgets: a CSV of unit (US-AZ, IND, ...) and m3_per_year
    #[arg(long, value_name = "FILE")]
    water_budget: Option<PathBuf>,

    /// Grid cell size in degrees [default: about 40,000 cells over each region, as `region`]
    #[arg(long, value_name = "DEG")]
    cell: Option<f64>,

    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// ISO3 code (IND), country name or admin-1 name or code (Arizona, US-AZ)
    region: Option<String>,

    /// Candidate sites from a CSV or GeoJSON file instead of a region's cells
    #[arg(long, value_name = "FILE", conflicts_with = "region")]
    sites: Option<PathBuf>,

    /// IT load to place, MW, or `max` for as much as the region can host
    #[arg(
        long,
        default_value = "max",
        value_name = "MW|max",
        allow_hyphen_values = true
    )]
    target_mw: String,

    /// Write the campuses to this file: .geojson, .csv, .json or .png (a map)
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// Output format on stdout (or of --out)
    #[arg(short, long, value_name = "FORMAT", value_parser = parse_format)]
    format: Option<Format>,

    /// With a GeoJSON --out, also write a line from each campus to each plant it draws from,
    /// to NAME.lines.geojson beside it
    #[arg(long, requires = "out")]
    lines: bool,

    /// Write the supply curve (cumulative MW against score) to this CSV file
    #[arg(long, value_name = "FILE")]
    supply_curve: Option<PathBuf>,

    /// Campuses listed in the terminal table
    #[arg(short = 'n', long, default_value_t = 20, value_name = "N")]
    top: usize,

    #[command(flatten)]
    planning: PlanningArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
enum By {
    /// One row per country of the countries layer
    Country,
    /// One row per state or province of COUNTRY, from the country's plan
    Admin1,
}

#[derive(Debug, clap::Args)]
pub struct SovereigntyArgs {
    /// With --by admin1: the country (ISO3 code or name) whose states or provinces to list
    country: Option<String>,

    /// Rows: countries of the world, or the states or provinces of one country
    #[arg(long, value_enum, default_value = "country")]
    by: By,

    /// Write the table to this file: .csv, .json, or .geojson (a world choropleth)
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// Output format on stdout (or of --out)
    #[arg(short, long, value_name = "FORMAT", value_parser = parse_format)]
    format: Option<Format>,

    /// Countries listed in the terminal table
    #[arg(short = 'n', long, default_value_t = 30, value_name = "N")]
    top: usize,

    #[command(flatten)]
    planning: PlanningArgs,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::from_name(s)
        .ok_or_else(|| format!("unknown format \"{s}\" (table, csv, json, geojson)"))
}

/// The validated target: `None` for max.
fn parse_target(s: &str) -> Result<Option<f64>, Error> {
    if s.eq_ignore_ascii_case("max") {
        return Ok(None);
    }
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
        _ => Err(Error::usage(format!(
            "--target-mw {s}: expected MW above 0, or max"
        ))),
    }
}

/// The profile's parameters with the command line's overrides, checked.
fn params(a: &PlanningArgs, engine: &Engine) -> Result<PlanParams, Error> {
    let profile = engine.profile();
    let mut p = PlanParams::from_section(profile.plan.as_ref())?;
    let set = |slot: &mut Param, v: Option<f64>, flag: &str| {
        if let Some(v) = v {
            *slot = Param::from_command_line(v, flag);
        }
    };
    set(&mut p.campus_mw, a.campus_mw, "--campus-mw");
    set(&mut p.pue, a.pue, "--pue");
    set(&mut p.headroom_share, a.headroom_share, "--headroom-share");
    set(
        &mut p.interconnect_km,
        a.interconnect_km,
        "--interconnect-km",
    );
    p.check()
        .map_err(|e| Error::usage(e.message().replace("plan: ", "")))?;
    Ok(p)
}

fn options(a: &PlanningArgs, target_mw: Option<f64>) -> Result<Options, Error> {
    if !(a.min_spacing_km.is_finite() && a.min_spacing_km >= 0.0) {
        return Err(Error::usage("--min-spacing-km must be zero or positive"));
    }
    if !(a.min_score.is_finite() && (0.0..=1.0).contains(&a.min_score)) {
        return Err(Error::usage("--min-score: expected a score from 0 to 1"));
    }
    if !(a.min_partial_mw.is_finite() && a.min_partial_mw > 0.0) {
        return Err(Error::usage("--min-partial-mw: expected MW above 0"));
    }
    if let Some(c) = a.cell {
        if !(c.is_finite() && c > 0.0 && c <= 10.0) {
            return Err(Error::usage(format!(
                "--cell {c}: expected a size in degrees, above 0 and at most 10"
            )));
        }
    }
    Ok(Options {
        target_mw,
        min_spacing_km: a.min_spacing_km,
        allow_partial: a.allow_partial,
        min_partial_mw: a.min_partial_mw,
    })
}

/// Water budgets from a CSV of `unit,m3_per_year`; every unit must be one the water layers
/// know (`known`), every volume zero or positive.
fn read_budgets(path: &Path, known: &dyn Fn(&str) -> bool) -> Result<WaterBudgets, Error> {
    let file = path.display().to_string();
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| Error::at(ErrorKind::Io, file.clone(), e.to_string()))?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::at(ErrorKind::Input, format!("{file}:1"), e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    if header.len() < 2 || header[0] != "unit" || header[1] != "m3_per_year" {
        return Err(Error::at(
            ErrorKind::Input,
            format!("{file}:1"),
            format!(
                "expected the columns unit,m3_per_year (found {})",
                header.join(",")
            ),
        ));
    }
    let mut budgets = WaterBudgets::new();
    for (k, rec) in rdr.records().enumerate() {
        let line = format!("{file}:{}", k + 2);
        let rec = rec.map_err(|e| Error::at(ErrorKind::Input, line.clone(), e.to_string()))?;
        let unit = rec.get(0).unwrap_or("").to_string();
        if !known(&unit) {
            return Err(Error::at(
                ErrorKind::Input,
                line,
                format!(
                    "unknown water unit \"{unit}\" (a US state's ISO 3166-2 code such as US-AZ, or a country's ISO3 code)"
                ),
            ));
        }
        let m3 = rec.get(1).unwrap_or("");
        match m3.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => {
                if budgets.insert(unit.clone(), v).is_some() {
                    return Err(Error::at(
                        ErrorKind::Input,
                        line,
                        format!("unit \"{unit}\" is given twice"),
                    ));
                }
            }
            _ => {
                return Err(Error::at(
                    ErrorKind::Input,
                    line,
                    format!("m3_per_year \"{m3}\" is not a volume (a number zero or above)"),
                ));
            }
        }
    }
    Ok(budgets)
}

/// An open engine, lookups, plants, parameters and the files read.
struct Opened {
    engine: Engine,
    lookup: Lookup,
    plants: Vec<standort::plan::Plant>,
    params: PlanParams,
    budgets: WaterBudgets,
    inputs: Vec<PathBuf>,
    layers: standort::LayerSet,
    attribution: String,
}

fn open(a: &PlanningArgs, g: &Globals) -> Result<Opened, Error> {
    let setup = a.engine.setup(g)?;
    if setup.layers.is_partial() {
        return Err(Error::usage(
            "planning needs the power plants, water and carbon layers: pass --data-dir DIR or set STANDORT_DATA_DIR (get the data with `standort data fetch --data-dir DIR`)",
        ));
    }
    let layers = setup.layers.clone();
    let opened = setup.open()?;
    if let Some(why) = opened.engine.set_dependence() {
        // A plan sites campuses country by country from a score that must not move when
        // another country's cells join the set.
        return Err(Error::usage(format!(
            "planning needs a site-local score, but profile {} scores each site against the others ({why}): use weighted-sum, weighted-product, owa or fuzzy with fixed standardisations",
            opened.engine.profile().name
        )));
    }
    let params = params(a, &opened.engine)?;
    let lookup = Lookup::new(&layers)?;
    let (plants, skipped) = load_plants(&layers, &params)?;
    let mut warnings = lookup.warnings();
    if skipped > 0 {
        warnings.push(format!(
            "{skipped} plant(s) of layer {} without a positive {} are not drawn from",
            params.plants, params.capacity_field
        ));
    }
    if let (true, Some(first)) = (a.engine.strict, warnings.first()) {
        return Err(Error::new(
            ErrorKind::Input,
            format!("{first} (--strict makes warnings errors)"),
        ));
    }
    for w in warnings.iter().filter(|_| !g.quiet) {
        let _ = writeln!(std::io::stderr(), "warning: {w}");
    }
    let mut inputs = opened.inputs;
    inputs.extend(lookup.files().iter().cloned());
    let budgets = match &a.water_budget {
        Some(p) => {
            inputs.push(p.clone());
            read_budgets(p, &|u| water_unit_known(&layers, u))?
        }
        None => WaterBudgets::new(),
    };
    let mut parts = attributions(&opened.engine);
    for s in [
        "US EPA eGRID2023",
        "Our World in Data (Ember, Energy Institute; CC-BY 4.0)",
        "China MEE 2023 provincial factors",
    ] {
        parts.push(s);
    }
    let attribution = parts.join("; ");
    Ok(Opened {
        engine: opened.engine,
        lookup,
        plants,
        params,
        budgets,
        inputs,
        layers,
        attribution,
    })
}

/// True when `unit` is a US state code the water layer knows or a country code.
fn water_unit_known(layers: &standort::LayerSet, unit: &str) -> bool {
    let field_has = |layer: &str, field: &str| {
        layers.load(layer).ok().is_some_and(|l| {
            l.attributes.field_index(field).is_some_and(|c| {
                (0..l.attributes.len()).any(|r| l.attributes.get(r, c).to_string() == unit)
            })
        })
    };
    field_has("water_us_states", "iso_3166_2") || field_has("countries", "iso_a3")
}

fn setting<'a>(o: &'a Opened, options: &'a Options, min_score: f64) -> Setting<'a> {
    Setting {
        engine: &o.engine,
        lookup: &o.lookup,
        params: &o.params,
        options,
        budgets: &o.budgets,
        min_score,
    }
}

/// Refuse a `--cell` that would lay more than 50,000,000 cells over the region's box (as
/// `region` does).
fn check_grid(region: &Region, cell: Option<f64>) -> Result<(), Error> {
    let Some(c) = cell else {
        return Ok(());
    };
    let n = bbox_cells(region, c);
    if n > 50_000_000.0 {
        return Err(Error::usage(format!(
            "--cell {c}: {} would need a grid of {n:.0} cells (at most 50,000,000); use a larger --cell",
            region.name
        )));
    }
    Ok(())
}

/// Candidate points from a sites file: (row, lon, lat).
fn site_points(path: &Path) -> Result<Vec<(u64, f64, f64)>, Error> {
    let mut points = Vec::new();
    let source = SiteSource::File(path.to_path_buf());
    read_sites(&source, &SiteOptions::default(), 65_536, &mut |chunk| {
        points.extend(chunk.iter().map(|s| (s.index, s.lon, s.lat)));
        Ok(())
    })?;
    Ok(points)
}

pub fn run_plan(args: PlanArgs, g: &Globals) -> Result<(), Failure> {
    let started = Instant::now();
    let target = parse_target(&args.target_mw)?;
    let format = choose(Product::Plan, args.format, args.out.as_deref())?;
    check_picture(format, args.out.as_deref(), args.planning.width)?;
    let options = options(&args.planning, target)?;
    let o = open(&args.planning, g)?;
    let s = setting(&o, &options, args.planning.min_score);
    let mut bbox = None;
    let (plan, what, whose) = match (&args.region, &args.sites) {
        (_, Some(path)) => {
            let points = site_points(path)?;
            (
                plan_points(&s, &points, o.plants.clone()),
                path.display().to_string(),
                "every plant of the layer".to_string(),
            )
        }
        (Some(q), None) => {
            let region = Region::resolve(q, &o.layers)?;
            check_grid(&region, args.planning.cell)?;
            bbox = Some(region.bbox);
            let whose = match &region.country {
                Some(c) => format!("{c}'s plants: a country's campuses draw on its own grid"),
                None => "every plant of the layer".into(),
            };
            (
                plan_region(&s, &region, args.planning.cell, &o.plants),
                region.name.clone(),
                whose,
            )
        }
        (None, None) => {
            return Err(Error::usage("give a REGION (ISO3 code or name) or --sites FILE").into());
        }
    };
    o.engine.failure()?;
    let mut inputs = o.inputs.clone();
    inputs.extend(args.sites.clone());
    let head = json!({
        "region": what,
        "profile": o.engine.profile().name,
        "attribution": o.attribution,
        "notes": notes(),
    });
    let picture = match format {
        Format::Png => {
            let title = format!("{what}: capacity plan");
            let attribution = standort::map::region::attribution(&o.engine);
            let p = standort::map::pictures::plan_picture(&plan, &title, bbox, attribution);
            let options = map_options(&args.planning, &o.layers, p.bbox)?;
            Some((p, options))
        }
        _ => None,
    };
    write_plan(&args, (format, picture), &plan, head, &inputs)?;
    if !g.quiet {
        report(&plan, &what, &whose, &o, started.elapsed().as_secs_f64());
        let mut e = std::io::stderr().lock();
        let lines = args.out.as_ref().and_then(|_| lines_path(&args, format));
        for p in args.out.iter().chain(&lines).chain(&args.supply_curve) {
            let _ = writeln!(e, "wrote {}", p.display());
        }
    }
    Ok(())
}

/// What every plan output says about its assumptions.
fn notes() -> Vec<&'static str> {
    vec![
        "Headroom: each plant offers headroom_share of its nameplate capacity to new large loads; campuses draw from plants within interconnect_km, nearest first, and what they draw is gone.",
        "A region named by a country or state draws only from its country's plants.",
        "Carbon: location-based grid averages (g CO2 per kWh generated), not contracts or plants.",
    ]
}

/// A PNG is written to a file only; `--width` is for a PNG only.
fn check_picture(format: Format, out: Option<&Path>, width: Option<u32>) -> Result<(), Error> {
    if format == Format::Png && out.is_none() {
        return Err(Error::usage(
            "png is written to a file only; give --out FILE",
        ));
    }
    if let Some(w) = width {
        if format != Format::Png {
            return Err(Error::usage("--width applies to a .png --out only"));
        }
        standort::map::png::check_width(w)?;
    }
    Ok(())
}

/// The width and the borders of a map of `bbox`.
fn map_options(a: &PlanningArgs, layers: &LayerSet, bbox: [f64; 4]) -> Result<MapOptions, Error> {
    Ok(MapOptions {
        width_px: a.width.unwrap_or(standort::map::DEFAULT_WIDTH_PX),
        basemap: std::sync::Arc::new(Basemap::load(layers, bbox)?),
    })
}

/// A picture and how to draw it.
type Drawn = Option<(standort::map::png::Picture, MapOptions)>;

fn write_plan(
    args: &PlanArgs,
    (format, picture): (Format, Drawn),
    plan: &Plan,
    head: serde_json::Value,
    inputs: &[PathBuf],
) -> Result<(), Failure> {
    let write = |w: &mut dyn Write| -> std::io::Result<()> {
        if let Some((p, options)) = &picture {
            return standort::map::pictures::write_png(w, p, options);
        }
        match format {
            Format::Csv => out::write_plan_csv(w, plan),
            Format::Json => out::write_plan_json(w, plan, head.clone()),
            Format::GeoJson => out::write_plan_geojson(w, plan, head.clone()),
            _ => out::write_plan_table(w, plan, args.top),
        }
    };
    to_target(args.out.as_deref(), inputs, &write)?;
    if let Some(p) = lines_path(args, format) {
        to_target(Some(&p), inputs, &|w| {
            out::write_plan_lines_geojson(w, plan)
        })?;
    }
    if let Some(p) = &args.supply_curve {
        to_target(Some(p), inputs, &|w| out::write_supply_curve(w, plan))?;
    }
    Ok(())
}

/// Where `--lines` go: `NAME.lines.geojson` beside a GeoJSON `--out`.
fn lines_path(args: &PlanArgs, format: Format) -> Option<PathBuf> {
    let out = args
        .out
        .as_ref()
        .filter(|_| args.lines && format == Format::GeoJson)?;
    let stem = out.file_stem()?.to_string_lossy().into_owned();
    Some(out.with_file_name(format!("{stem}.lines.geojson")))
}

/// Write to `path` safely (temporary file, renamed on success; never an input), or stdout.
fn to_target(
    path: Option<&Path>,
    inputs: &[PathBuf],
    write: &dyn Fn(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Failure> {
    match path {
        Some(p) => {
            let mut f = AtomicFile::create(p, inputs)?;
            let label = p.display().to_string();
            {
                let mut w = std::io::BufWriter::new(f.file());
                write(&mut w)
                    .and_then(|()| w.flush())
                    .map_err(|e| write_failure(&label, e))?;
            }
            f.commit()?;
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            write(&mut w)
                .and_then(|()| w.flush())
                .map_err(|e| write_failure("<stdout>", e))?;
        }
    }
    Ok(())
}

/// The summary on stderr.
fn report(plan: &Plan, what: &str, whose: &str, o: &Opened, secs: f64) {
    let p = &plan.params;
    let c = &plan.campuses;
    let gwh: f64 = c.iter().map(|x| x.energy_gwh).sum();
    let water: f64 = c.iter().map(|x| x.water_m3).sum();
    let co2: f64 = c.iter().filter_map(|x| x.carbon_t).sum();
    let offered: f64 = (0..plan.headroom.plants().len())
        .map(|i| plan.headroom.offered_mw(i))
        .sum();
    let mut e = std::io::stderr().lock();
    let _ = writeln!(
        e,
        "plan {what} under profile {}: {} campuses, {:.0} MW of IT load ({:.0} MW from the grid)",
        o.engine.profile().name,
        c.len(),
        plan.total_mw(),
        c.iter().map(|x| x.grid_mw()).sum::<f64>()
    );
    let _ = writeln!(e, "  stopped: {}", plan.stop.describe());
    let _ = writeln!(
        e,
        "  per year: {:.2} TWh, {:.1} million m3 of water, {:.2} Mt CO2",
        gwh / 1000.0,
        water / 1e6,
        co2 / 1e6
    );
    let n = &plan.counts;
    let _ = writeln!(
        e,
        "  candidates: {} ok of {} ({} below --min-score, {} where the boundary layers disagree, e.g. lakes); refused: {} spacing, {} grid headroom, {} water budget",
        n.ok,
        n.offered,
        n.below_min_score,
        n.boundary_conflict,
        plan.refused.spacing,
        plan.refused.grid_headroom,
        plan.refused.water_budget
    );
    let _ = writeln!(
        e,
        "  grid: {} plants ({whose}), headroom offered {:.0} MW, left {:.0} MW",
        plan.headroom.plants().len(),
        offered,
        plan.headroom.total_left_mw()
    );
    let _ = writeln!(
        e,
        "  campus {} MW, PUE {}, headroom share {}, reach {} km, water {} L/kWh, utilisation {} (reasons and sources: --format json)",
        p.campus_mw.value,
        p.pue.value,
        p.headroom_share.value,
        p.interconnect_km.value,
        p.water_l_per_kwh.value,
        p.utilisation.value
    );
    report_water(&mut e, plan);
    let _ = writeln!(e, "  data: {}", o.attribution);
    let _ = writeln!(e, "  {secs:.2} s");
}

/// The water lines of the summary: the units drawn from most, and the budgeted ones.
fn report_water(e: &mut dyn Write, plan: &Plan) {
    let mut units: Vec<&standort::plan::WaterUse> = plan.water.iter().collect();
    units.sort_by(|a, b| b.m3.total_cmp(&a.m3).then(a.unit.cmp(&b.unit)));
    let shown: Vec<String> = units
        .iter()
        .take(5)
        .map(|u| format!("{} {:.1}", u.unit, u.m3 / 1e6))
        .collect();
    if !shown.is_empty() {
        let more = units.len().saturating_sub(5);
        let rest = if more > 0 {
            format!("; {more} more")
        } else {
            String::new()
        };
        let _ = writeln!(
            e,
            "  water by unit, million m3/yr: {}{rest}",
            shown.join(", ")
        );
    }
    for u in plan.water.iter().filter(|u| u.budget_m3.is_some()) {
        let _ = writeln!(
            e,
            "  water {}: {:.0} of {:.0} m3/yr",
            u.unit,
            u.m3,
            u.budget_m3.unwrap_or(0.0)
        );
    }
}

pub fn run_sovereignty(args: SovereigntyArgs, g: &Globals) -> Result<(), Failure> {
    let started = Instant::now();
    let format = choose(Product::Countries, args.format, args.out.as_deref())?;
    check_picture(format, args.out.as_deref(), args.planning.width)?;
    let options = options(&args.planning, None)?;
    let o = open(&args.planning, g)?;
    let s = setting(&o, &options, args.planning.min_score);
    let (rows, shapes) = sovereignty_rows(&args, &o, &s, g)?;
    o.engine.failure()?;
    let head = json!({
        "profile": o.engine.profile().name,
        "parameters": out::parameters_json(&o.params, &options),
        "attribution": o.attribution,
        "notes": notes(),
    });
    let picture = match format {
        Format::Png => {
            let title = match args.by {
                By::Country => "IT load each country can host".to_string(),
                _ => "IT load each state or province can host".to_string(),
            };
            let attribution = standort::map::region::attribution(&o.engine);
            let p = standort::map::pictures::countries_picture(&rows, &shapes, &title, attribution);
            let options = map_options(&args.planning, &o.layers, p.bbox)?;
            Some((p, options))
        }
        _ => None,
    };
    let write = |w: &mut dyn Write| -> std::io::Result<()> {
        if let Some((p, options)) = &picture {
            return standort::map::pictures::write_png(w, p, options);
        }
        match format {
            Format::Csv => out::write_countries_csv(w, &rows),
            Format::Json => out::write_countries_json(w, &rows, head.clone()),
            Format::GeoJson => out::write_countries_geojson(w, &rows, &shapes, head.clone()),
            _ => out::write_countries_table(w, &rows, args.top),
        }
    };
    to_target(args.out.as_deref(), &o.inputs, &write)?;
    if !g.quiet {
        let mw: f64 = rows.iter().map(|r| r.mw).sum();
        let _ = writeln!(
            std::io::stderr(),
            "sovereignty under profile {}: {} {}, {:.0} MW hostable in all ({} host none); {:.1} s",
            o.engine.profile().name,
            rows.len(),
            if args.by == By::Country {
                "countries"
            } else {
                "states or provinces"
            },
            mw,
            rows.iter().filter(|r| r.mw == 0.0).count(),
            started.elapsed().as_secs_f64()
        );
        if let Some(p) = &args.out {
            let _ = writeln!(std::io::stderr(), "wrote {}", p.display());
        }
    }
    Ok(())
}

/// Rows of countries and their shapes (the table), or of one country's states or provinces.
type Rows = (
    Vec<standort::plan::sovereignty::CountryRow>,
    Vec<(String, Vec<standort::layers::Polygon>)>,
);

/// The sovereignty rows `args` ask for, and the shapes of their choropleth.
fn sovereignty_rows(
    args: &SovereigntyArgs,
    o: &Opened,
    s: &Setting<'_>,
    g: &Globals,
) -> Result<Rows, Failure> {
    Ok(match (args.by, &args.country) {
        (By::Country, None) => {
            let countries = Region::countries(&o.layers)?;
            for r in &countries {
                check_grid(r, args.planning.cell)?;
            }
            let progress = Progress::new(
                Progress::wanted(g.quiet),
                Some(countries.len() as u64),
                Unit::Items("countries"),
            );
            let rows = sovereignty(s, &countries, args.planning.cell, &o.plants, &mut |k, _| {
                progress.set(k as u64)
            });
            progress.finish();
            (rows, out::country_shapes(&o.layers.load("countries")?))
        }
        (By::Admin1, Some(q)) => {
            let region = Region::resolve(q, &o.layers)?;
            let code = match (&region.country, region.clip_note()) {
                (Some(code), None) => code.clone(),
                _ => {
                    return Err(Error::usage(format!(
                        "--by admin1 {q}: {} is not a country",
                        region.name
                    ))
                    .into());
                }
            };
            check_grid(&region, args.planning.cell)?;
            let units = subdivisions(&o.layers, &code)?;
            let plan = plan_region(s, &region, args.planning.cell, &o.plants);
            let shapes = units
                .iter()
                .map(|u| (u.code.clone(), u.polygons.clone()))
                .collect();
            (by_subdivision(&plan, &units), shapes)
        }
        (By::Country, Some(c)) => {
            return Err(Error::usage(format!(
                "a country ({c}) is given with --by admin1 only (--by admin1 {c})"
            ))
            .into());
        }
        (By::Admin1, None) => {
            return Err(Error::usage("--by admin1 needs a COUNTRY (ISO3 code or name)").into());
        }
    })
}
