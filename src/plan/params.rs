//! Planning parameters: the `[plan]` section of a profile, each value with its reason.
//!
//! ```toml
//! [plan]
//! campus_mw = { value = 100.0, reason = "IT load of one AI campus phase" }
//! pue = { value = 1.3, reason = "liquid-cooled AI halls with evaporative heat rejection" }
//! headroom_share = { value = 0.1, reason = "...", source = "Norris et al. 2025" }
//! interconnect_km = 100.0            # a bare number is a value without a reason
//! water_l_per_kwh = { value = 1.8, reason = "..." }
//! utilisation = { value = 0.8, reason = "..." }
//! ```
//!
//! A profile without `[plan]` (or without one of its keys) plans with [`PlanParams::DEFAULT`]'s
//! values, and says so in every output.

use crate::error::{Error, Result};
use serde::Deserialize;

/// One parameter: its value, why it is what it is, and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The value, in the unit the parameter's name gives.
    pub value: f64,
    /// Why (for people; shown in outputs).
    pub reason: String,
    /// A published source for the value, where there is one.
    pub source: Option<String>,
}

impl Param {
    fn new(value: f64, reason: &str) -> Param {
        Param {
            value,
            reason: reason.into(),
            source: None,
        }
    }

    /// The value set on the command line (`--name`), replacing the profile's.
    pub fn from_command_line(value: f64, flag: &str) -> Param {
        Param {
            value,
            reason: format!("set on the command line ({flag})"),
            source: None,
        }
    }
}

/// As written in a profile: a number, or a table with value, reason and source.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum ParamText {
    Bare(f64),
    Full {
        value: f64,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        source: Option<String>,
    },
}

/// The `[plan]` section of a profile.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSection {
    campus_mw: Option<ParamText>,
    pue: Option<ParamText>,
    headroom_share: Option<ParamText>,
    interconnect_km: Option<ParamText>,
    water_l_per_kwh: Option<ParamText>,
    utilisation: Option<ParamText>,
    /// The point layer of power plants whose headroom campuses draw (default
    /// `power_plants`).
    #[serde(default)]
    plants: Option<String>,
    /// Its capacity field, MW (default `capacity_mw`).
    #[serde(default)]
    capacity_field: Option<String>,
    /// Its country field, ISO 3166-1 alpha-3 (default `country`).
    #[serde(default)]
    country_field: Option<String>,
}

/// The validated planning parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanParams {
    /// IT load of one campus, MW.
    pub campus_mw: Param,
    /// Power usage effectiveness: grid power = IT load × PUE (at least 1).
    pub pue: Param,
    /// Share of each plant's capacity offered to new large loads, in (0, 1].
    pub headroom_share: Param,
    /// How far a campus may draw from a plant, km (great-circle).
    pub interconnect_km: Param,
    /// Water used per kWh of IT energy, litres (the Green Grid's WUE).
    pub water_l_per_kwh: Param,
    /// Average IT load over the year as a share of `campus_mw`, in (0, 1].
    pub utilisation: Param,
    /// The plants layer and its capacity and country fields.
    pub plants: String,
    /// Capacity field of the plants layer, MW.
    pub capacity_field: String,
    /// Country field of the plants layer (ISO 3166-1 alpha-3).
    pub country_field: String,
}

const DEFAULT_REASON: &str = "standort's default (the profile has no value)";

impl PlanParams {
    /// The values a profile without `[plan]` plans with.
    pub fn default_params() -> PlanParams {
        PlanParams {
            campus_mw: Param::new(100.0, DEFAULT_REASON),
            pue: Param::new(1.3, DEFAULT_REASON),
            headroom_share: Param::new(0.1, DEFAULT_REASON),
            interconnect_km: Param::new(100.0, DEFAULT_REASON),
            water_l_per_kwh: Param::new(1.8, DEFAULT_REASON),
            utilisation: Param::new(0.8, DEFAULT_REASON),
            plants: "power_plants".into(),
            capacity_field: "capacity_mw".into(),
            country_field: "country".into(),
        }
    }

    /// The parameters of a profile's `[plan]` section, defaults for what it leaves out.
    pub fn from_section(section: Option<&PlanSection>) -> Result<PlanParams> {
        let mut p = PlanParams::default_params();
        let Some(s) = section else {
            return Ok(p);
        };
        let take = |slot: &mut Param, t: &Option<ParamText>| {
            if let Some(t) = t {
                *slot = match t.clone() {
                    ParamText::Bare(value) => Param::new(value, "given in the profile"),
                    ParamText::Full {
                        value,
                        reason,
                        source,
                    } => Param {
                        value,
                        reason: reason.unwrap_or_else(|| "given in the profile".into()),
                        source,
                    },
                };
            }
        };
        take(&mut p.campus_mw, &s.campus_mw);
        take(&mut p.pue, &s.pue);
        take(&mut p.headroom_share, &s.headroom_share);
        take(&mut p.interconnect_km, &s.interconnect_km);
        take(&mut p.water_l_per_kwh, &s.water_l_per_kwh);
        take(&mut p.utilisation, &s.utilisation);
        p.plants = s.plants.clone().unwrap_or(p.plants);
        p.capacity_field = s.capacity_field.clone().unwrap_or(p.capacity_field);
        p.country_field = s.country_field.clone().unwrap_or(p.country_field);
        p.check()?;
        Ok(p)
    }

    /// Every value in range; the message names the parameter.
    pub fn check(&self) -> Result<()> {
        let bad = |name: &str, v: f64, want: &str| {
            Err(Error::usage(format!("plan: {name} = {v}: {want}")))
        };
        let finite = |v: f64| v.is_finite();
        if !(finite(self.campus_mw.value) && self.campus_mw.value > 0.0) {
            return bad("campus_mw", self.campus_mw.value, "expected MW above 0");
        }
        if !(finite(self.pue.value) && (1.0..=5.0).contains(&self.pue.value)) {
            return bad(
                "pue",
                self.pue.value,
                "a PUE is at least 1 (grid power over IT power) and at most 5",
            );
        }
        let share = self.headroom_share.value;
        if !(finite(share) && share > 0.0 && share <= 1.0) {
            return bad("headroom_share", share, "expected a share in (0, 1]");
        }
        let km = self.interconnect_km.value;
        if !(finite(km) && km > 0.0 && km <= 2000.0) {
            return bad(
                "interconnect_km",
                km,
                "expected km above 0 and at most 2000",
            );
        }
        let w = self.water_l_per_kwh.value;
        if !(finite(w) && (0.0..=20.0).contains(&w)) {
            return bad("water_l_per_kwh", w, "expected litres per kWh from 0 to 20");
        }
        let u = self.utilisation.value;
        if !(finite(u) && u > 0.0 && u <= 1.0) {
            return bad("utilisation", u, "expected a share in (0, 1]");
        }
        Ok(())
    }

    /// Grid power one full campus draws, MW: `campus_mw × pue`.
    pub fn grid_mw(&self) -> f64 {
        self.campus_mw.value * self.pue.value
    }
}

/// Hours in a (non-leap) year.
pub const HOURS_PER_YEAR: f64 = 8760.0;

/// A campus of `it_mw` under `p`: (energy from the grid GWh/yr, water m³/yr).
pub fn annual_use(p: &PlanParams, it_mw: f64) -> (f64, f64) {
    let it_mwh = it_mw * HOURS_PER_YEAR * p.utilisation.value;
    let grid_gwh = it_mwh * p.pue.value / 1000.0;
    // L/kWh × kWh = L; 1 MWh = 1000 kWh; 1 m³ = 1000 L.
    let water_m3 = it_mwh * 1000.0 * p.water_l_per_kwh.value / 1000.0;
    (grid_gwh, water_m3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> PlanSection {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn values_reasons_and_defaults() {
        let p = PlanParams::from_section(Some(&section(
            "pue = { value = 1.2, reason = \"liquid cooling\" }\ncampus_mw = 50",
        )))
        .unwrap();
        assert_eq!(p.pue.value, 1.2);
        assert_eq!(p.pue.reason, "liquid cooling");
        assert_eq!(p.campus_mw.value, 50.0);
        assert_eq!(p.campus_mw.reason, "given in the profile");
        assert_eq!(p.headroom_share.reason, DEFAULT_REASON);
        assert!((p.grid_mw() - 60.0).abs() < 1e-12);
    }

    #[test]
    fn out_of_range_values_are_refused() {
        for (text, says) in [
            ("pue = 0.9", "pue = 0.9: a PUE is at least 1"),
            (
                "headroom_share = 0",
                "headroom_share = 0: expected a share in (0, 1]",
            ),
            ("headroom_share = 1.5", "headroom_share = 1.5"),
            ("campus_mw = -5", "campus_mw = -5"),
            ("utilisation = 0", "utilisation = 0"),
        ] {
            let e = PlanParams::from_section(Some(&section(text))).unwrap_err();
            assert!(e.to_string().contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn annual_energy_and_water() {
        let p = PlanParams::default_params();
        // 100 MW × 8760 h × 0.8 = 700,800 MWh IT; × 1.3 = 911.04 GWh from the grid.
        let (gwh, m3) = annual_use(&p, 100.0);
        assert!((gwh - 911.04).abs() < 1e-9, "{gwh}");
        // 700,800,000 kWh × 1.8 L = 1,261,440,000 L = 1,261,440 m³.
        assert!((m3 - 1_261_440.0).abs() < 1e-6, "{m3}");
    }
}
