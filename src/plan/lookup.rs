//! Where a campus sits: the grid carbon intensity and the water unit, read through the
//! layer set like any criterion (most specific layer first, with the layers' coverage).
//!
//! - Carbon intensity, g CO₂ per kWh generated: layer `carbon_us_states` (EPA eGRID2023),
//!   then `carbon_cn_provinces` (China, 2023 provincial factors), then `carbon_countries`
//!   (Our World in Data).
//! - Water unit: the US state's ISO 3166-2 code from `water_us_states` (US-AZ), else the
//!   country's ISO 3166-1 alpha-3 code from `countries` (IND) — the units the water-stress
//!   criterion reads its values from.

use super::Locate;
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::layers::{LayerSet, Value};
use crate::profile::Profile;
use std::path::Path;

/// The lookups as a profile of two criteria, bound to the layer set like any profile.
const LOOKUPS: &str = r#"
name = "plan-lookups"
unknown = "ignore"

[[criterion]]
id = "carbon_intensity"
sources = [
  { layer = "carbon_us_states", field = "co2e_g_per_kwh" },
  { layer = "carbon_cn_provinces", field = "emission_factor" },
  { layer = "carbon_countries", field = "carbon_intensity" },
]
measure = { attribute = { field = "carbon_intensity", within_km = 2.0 } }
unit = "g_per_kwh"
standardise = { linear = { best = 0.0, worst = 1000.0 } }

[[criterion]]
id = "water_unit"
sources = [
  { layer = "water_us_states", field = "iso_3166_2" },
  { layer = "countries", field = "iso_a3" },
]
measure = { attribute = { field = "iso_a3", within_km = 2.0 } }
# Only the raw code is used: every code scores the same.
standardise = { categorical = { scores = {}, default = 0.5 } }
"#;

/// Labels of the carbon sources, in the order of the lookup's layers.
const CARBON_SOURCES: [&str; 3] = [
    "EPA eGRID2023, US state",
    "China MEE 2023, province",
    "Our World in Data, country",
];

/// Where a campus sits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place {
    /// Grid carbon intensity, g CO₂ per kWh (location-based grid average).
    pub carbon_g_per_kwh: Option<f64>,
    /// Where that figure comes from ("EPA eGRID2023, US state", ...).
    pub carbon_source: Option<&'static str>,
    /// The water unit: a US state's ISO 3166-2 code or a country's alpha-3 code.
    pub water_unit: Option<String>,
}

/// Carbon intensity and water unit at any point, from the layer set.
pub struct Lookup {
    engine: Engine,
    files: Vec<std::path::PathBuf>,
}

impl Lookup {
    /// Bind the lookups to `layers` (which must declare the carbon and water layers).
    pub fn new(layers: &LayerSet) -> Result<Lookup> {
        for name in [
            "carbon_us_states",
            "carbon_cn_provinces",
            "carbon_countries",
            "water_us_states",
            "countries",
        ] {
            if layers.spec(name).is_none() {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "{}: a plan needs the layer \"{name}\" (carbon intensity and water units; see the built-in layer set)",
                        layers.source()
                    ),
                ));
            }
        }
        let profile = Profile::parse(LOOKUPS, Path::new("<plan lookups>"))?;
        let engine = Engine::new(profile, layers)?;
        let mut files = Vec::new();
        for l in engine.layers() {
            files.push(l.path.clone());
            files.extend(l.joined.clone());
        }
        Ok(Lookup { engine, files })
    }

    /// Every file the lookups read (never to be overwritten).
    pub fn files(&self) -> &[std::path::PathBuf] {
        &self.files
    }

    /// What was wrong with the lookup layers' data but did not stop reading them.
    pub fn warnings(&self) -> Vec<String> {
        self.engine.warnings()
    }
}

impl Locate for Lookup {
    fn place(&self, lon: f64, lat: f64) -> Place {
        let e = self.engine.evaluate(lon, lat);
        let carbon = &e.values[0];
        let unit = &e.values[1];
        Place {
            carbon_g_per_kwh: carbon.raw.as_f64(),
            carbon_source: carbon
                .source
                .filter(|_| !carbon.raw.is_null())
                .and_then(|k| CARBON_SOURCES.get(usize::from(k)).copied()),
            water_unit: match &unit.raw {
                Value::Null => None,
                v => Some(v.to_string()),
            },
        }
    }
}
