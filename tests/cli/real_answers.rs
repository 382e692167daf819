//! The answers an analyst acts on, on the real layers (issue "answers an analyst can
//! defend"): values from the polygon a cell is in, land where the data centers are, no-data
//! codes, worldwide region names, no tie plateaus in the top lists. Expected values come from
//! the source tables themselves, read here independently.

use super::real_data::data_dir;
use super::util::run_ok;
use assert_cmd::Command;
use serde_json::Value as Json;
use std::collections::HashMap;

fn standort() -> Command {
    let mut cmd = Command::cargo_bin("standort").unwrap();
    cmd.arg("--data-dir").arg(data_dir());
    cmd
}

/// A column of a source CSV, by the value of another.
fn table_value(file: &str, key_col: &str, key: &str, col: &str) -> String {
    let mut rdr = csv::Reader::from_path(data_dir().join(file)).unwrap();
    rdr.deserialize::<HashMap<String, String>>()
        .map(Result::unwrap)
        .find(|r| r[key_col] == key)
        .unwrap_or_else(|| panic!("{key} not in {file}"))[col]
        .clone()
}

/// Every cell of a region run, written to GeoJSON.
fn region_cells(region: &str, cell: &str) -> Vec<Json> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cells.geojson");
    run_ok(
        standort()
            .args(["region", region, "--cell", cell, "-q", "--out"])
            .arg(&out),
    );
    let v: Json = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    v["features"].as_array().unwrap().to_vec()
}

#[test]
fn arizona_cells_carry_arizona_values_and_mexico_cells_mexican_ones() {
    let az_water: f64 = table_value(
        "water_stress/aqueduct_us_state_bws.csv",
        "state_name",
        "Arizona",
        "bws_score",
    )
    .parse()
    .unwrap();
    let az_land: f64 = table_value(
        "land_cost/usda_farm_real_estate_usd_per_acre_by_state.csv",
        "name",
        "Arizona",
        "usd_per_acre_2017",
    )
    .parse()
    .unwrap();
    let cells = region_cells("Arizona", "0.1");
    assert!(cells.len() > 2500, "{}", cells.len());
    for f in &cells {
        let p = &f["properties"];
        assert_eq!(p["water_stress"], az_water, "{p}");
        assert_eq!(p["land_cost_value"], az_land, "{p}");
    }
    // Mexico: every cell valued from the countries layer, never from a US state (the Census
    // outlines reach across the Rio Grande).
    let mex_cat: f64 = table_value(
        "water_stress/aqueduct40_country_bws_cat.csv",
        "gid_0",
        "MEX",
        "bws_cat_0_4",
    )
    .parse()
    .unwrap();
    for f in region_cells("MEX", "0.2") {
        let p = &f["properties"];
        assert_eq!(p["water_stress_source"], "countries", "{p}");
        assert_eq!(p["water_stress"], mex_cat + 0.5, "{p}");
    }
}

#[test]
fn coastal_data_centers_are_on_land_and_fiji_water_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let sites = dir.path().join("s.csv");
    std::fs::write(
        &sites,
        "id,lat,lon\nmanhattan,40.7199,-74.0045\nmiami,25.7824,-80.1931\nbronx,40.8296,-73.8773\nhammerfest,70.6634,23.6821\nsuva,-18.1248,178.4501\nsea,40.0,-60.0\n",
    )
    .unwrap();
    let out = run_ok(
        standort()
            .arg("score")
            .arg(&sites)
            .args(["--format", "json", "-q"]),
    );
    let v: Json = serde_json::from_slice(&out.stdout).unwrap();
    let site = |id: &str| {
        v["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    for id in ["manhattan", "miami", "bronx", "hammerfest"] {
        let s = site(id);
        assert_eq!(s["criteria"]["on_land"]["value"], 1.0, "{s}");
        assert!(s["criteria"]["water_stress"]["value"].is_number(), "{s}");
    }
    assert_eq!(
        site("miami")["criteria"]["water_stress"]["source"],
        "water_us_states"
    );
    assert_eq!(site("sea")["criteria"]["on_land"]["value"], 0.0);
    // Aqueduct's -9999 for Fiji is no data: UNKNOWN, never a (best) number.
    let suva = site("suva");
    assert!(
        suva["criteria"]["water_stress"]["value"].is_null(),
        "{suva}"
    );
    assert_eq!(suva["status"], "unknown");
}

#[test]
fn states_and_provinces_resolve_worldwide() {
    for (query, code) in [
        ("Maharashtra", "IN-MH"),
        ("Querétaro", "MX-QUE"),
        ("queretaro", "MX-QUE"),
        ("JP-27", "JP-27"),
        ("Osaka", "JP-27"),
        ("Bayern", "DE-BY"),
        ("US-AZ", "US-AZ"),
        ("Georgia, USA", "US-GA"),
    ] {
        let out = run_ok(standort().args(["region", query, "--format", "json", "-q"]));
        let v: Json = serde_json::from_slice(&out.stdout).unwrap();
        let name = v["region"].as_str().unwrap();
        assert!(name.contains(code), "{query}: {name}");
        assert!(v["cells"].as_u64().unwrap() > 1000, "{query}: {v}");
    }
    let out = standort().args(["region", "georgia"]).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("GEO, country") && err.contains("US-GA"),
        "{err}"
    );
}

#[test]
fn top_lists_are_not_tie_plateaus() {
    for args in [
        vec!["DEU"],
        vec!["JPN"],
        vec!["IND", "-p", "ai-campus-dry-cooling"],
    ] {
        let out = run_ok(
            standort()
                .arg("region")
                .args(&args)
                .args(["--format", "json", "-q"]),
        );
        let v: Json = serde_json::from_slice(&out.stdout).unwrap();
        let top = v["top"].as_array().unwrap();
        assert_eq!(top.len(), 10, "{args:?}");
        let mut scores: Vec<u64> = top
            .iter()
            .map(|t| t["score"].as_f64().unwrap().to_bits())
            .collect();
        scores.dedup();
        assert!(
            scores.len() >= 8,
            "{args:?}: {} distinct scores in {v}",
            scores.len()
        );
        assert!(
            top.iter().all(|t| t["tie_group"].as_u64().unwrap() <= 2),
            "{args:?}: {v}"
        );
        // No criterion saturated across the country: the mean sub-score of every weighted
        // criterion that varies in space is below 0.9.
        for m in v["mean_scores"].as_array().unwrap() {
            if m["criterion"] == "grid_capacity" || m["criterion"] == "grid_distance" {
                assert!(m["mean_score"].as_f64().unwrap() < 0.9, "{args:?}: {m}");
            }
        }
    }
}

#[test]
fn sensitivity_on_real_sites_is_the_same_on_one_and_two_threads() {
    let candidates =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/candidates.csv");
    let run = |j: &str| {
        let out = run_ok(standort().arg("score").arg(&candidates).args([
            "--sensitivity",
            "1000",
            "--format",
            "json",
            "-q",
            "-j",
            j,
        ]));
        String::from_utf8(out.stdout).unwrap()
    };
    let one = run("1");
    assert!(one == run("2"), "1 and 2 threads differ");
    let v: Json = serde_json::from_str(&one).unwrap();
    assert_eq!(v["standort"]["sensitivity"]["draws"], 1000);
    let sites = v["sites"].as_array().unwrap();
    let first = sites.iter().find(|s| s["rank"] == 1).unwrap();
    let s = &first["sensitivity"];
    let (lo, hi) = (
        s["rank_p05"].as_u64().unwrap(),
        s["rank_p95"].as_u64().unwrap(),
    );
    assert!(1 <= lo && lo <= hi, "{s}");
    assert!(s["rank_mean"].as_f64().unwrap() >= 1.0, "{s}");
    // Excluded sites have no interval.
    let excluded = v["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == "excluded");
    assert!(excluded.is_some_and(|s| s["sensitivity"].is_null()));
}
