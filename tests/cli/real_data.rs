//! Tests on the real public layers, read through the data-directory setting
//! (`STANDORT_DATA_DIR`, which `.ci/run` points at the shared mirror). They fail — loudly,
//! never skip — when the data is not there.

use super::util::{haversine_km, run_ok};
use assert_cmd::Command;
use standort::region::{Region, region_cells};
use standort::{Engine, LayerSet, Profile};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("STANDORT_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| {
        panic!("STANDORT_DATA_DIR is not set: real-data tests need the data directory (.ci/run sets it)")
    });
    assert!(
        dir.join("power_plants/gppd_global_v1.2.0.csv").is_file(),
        "STANDORT_DATA_DIR={} does not hold power_plants/gppd_global_v1.2.0.csv",
        dir.display()
    );
    dir
}

fn layers() -> LayerSet {
    LayerSet::default_set(Some(&data_dir())).unwrap()
}

fn engine() -> Engine {
    Engine::new(Profile::embedded("ai-campus").unwrap(), &layers()).unwrap()
}

struct Plant {
    country: String,
    capacity_mw: f64,
    lat: f64,
    lon: f64,
}

fn plants() -> Vec<Plant> {
    let mut rdr =
        csv::Reader::from_path(data_dir().join("power_plants/gppd_global_v1.2.0.csv")).unwrap();
    rdr.deserialize::<HashMap<String, String>>()
        .map(|r| {
            let r = r.unwrap();
            Plant {
                country: r["country"].clone(),
                capacity_mw: r["capacity_mw"].parse().unwrap(),
                lat: r["latitude"].parse().unwrap(),
                lon: r["longitude"].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn nearest_large_plant_matches_brute_force_haversine() {
    let plants = plants();
    assert_eq!(plants.len(), 29_910);
    let e = engine();
    let grid = e
        .profile()
        .criteria
        .iter()
        .position(|c| c.id() == "grid_distance")
        .unwrap();
    let cap = e
        .profile()
        .criteria
        .iter()
        .position(|c| c.id() == "grid_capacity")
        .unwrap();
    // Frankfurt, Phoenix, Mumbai, Sao Paulo, across the antimeridian in Chukotka and Fiji,
    // and near the north pole on Svalbard.
    for (lon, lat) in [
        (8.68, 50.11),
        (-112.07, 33.45),
        (72.88, 19.08),
        (-46.63, -23.55),
        (-179.5, 65.5),
        (179.9, -16.5),
        (15.6, 78.2),
    ] {
        let expected = plants
            .iter()
            .filter(|p| p.capacity_mw >= 100.0)
            .map(|p| haversine_km(lon, lat, p.lon, p.lat))
            .fold(f64::INFINITY, f64::min);
        let got = e.evaluate(lon, lat).values[grid].raw.as_f64().unwrap();
        assert!(
            (got - expected).abs() < 1e-3,
            "({lon}, {lat}): {got} vs {expected}"
        );
        let sum: f64 = plants
            .iter()
            .filter(|p| haversine_km(lon, lat, p.lon, p.lat) <= 100.0)
            .map(|p| p.capacity_mw)
            .sum();
        let got = e.evaluate(lon, lat).values[cap].raw.as_f64().unwrap();
        assert!((got - sum).abs() < 1e-6, "({lon}, {lat}): {got} vs {sum}");
    }
}

#[test]
fn every_gppd_country_code_resolves_to_its_plants_boundary() {
    let set = layers();
    let mut by_country: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for p in plants() {
        by_country
            .entry(p.country)
            .or_default()
            .push((p.lon, p.lat));
    }
    assert_eq!(by_country.len(), 164);
    let (mut total, mut inside_total) = (0usize, 0usize);
    let mut misplaced = vec![];
    for (code, pts) in &by_country {
        let region = Region::resolve(code, &set).unwrap_or_else(|e| panic!("{code}: {e}"));
        let inside = pts
            .iter()
            .filter(|(lon, lat)| region.contains(*lon, *lat))
            .count();
        total += pts.len();
        inside_total += inside;
        // Coastal and offshore plants (Singapore's Jurong Island, Dutch offshore wind) can
        // fall outside 1:50m coastlines, but every plant must be near its country.
        let [x0, y0, x1, y1] = region.bbox;
        let near = pts
            .iter()
            .filter(|(lon, lat)| {
                let lon = if *lon < x0 - 1.0 { lon + 360.0 } else { *lon };
                (x0 - 1.0..=x1 + 1.0).contains(&lon) && (y0 - 1.0..=y1 + 1.0).contains(lat)
            })
            .count();
        // GPPD has a few misplaced rows (v1.2.0: AUT "Neuötting" at 40.1N 8.8W in Portugal,
        // NLD "Outside the Northeast" in Indiana, SEN "Cap Des Biches" at 17.7N) and codes
        // Guam's plants USA; so one plant or 10% may be far, not more.
        if (pts.len() - near) as f64 > (0.1 * pts.len() as f64).max(1.0) {
            misplaced.push(format!("{code}: {near}/{} near", pts.len()));
        }
    }
    assert!(
        misplaced.is_empty(),
        "plants far from their country: {misplaced:?}"
    );
    assert!(
        inside_total as f64 >= 0.95 * total as f64,
        "{inside_total} of {total} plants inside their country"
    );
}

#[test]
fn boundaries_are_repaired_across_the_antimeridian_and_poles() {
    let set = layers();
    let country = |lon: f64, lat: f64| -> Vec<String> {
        ["RUS", "FJI", "ATA", "GRL", "CAN", "FIN", "USA", "NZL"]
            .iter()
            .filter(|c| Region::resolve(c, &set).unwrap().contains(lon, lat))
            .map(|c| c.to_string())
            .collect()
    };
    assert_eq!(country(-175.0, 66.0), ["RUS"], "Chukotka, east of 180");
    assert_eq!(country(177.0, 65.0), ["RUS"], "Chukotka, west of 180");
    assert_eq!(country(178.0, -17.8), ["FJI"], "Viti Levu");
    assert_eq!(country(-179.87, -16.72), ["FJI"], "an islet east of 180");
    assert_eq!(country(0.0, -85.0), ["ATA"], "Antarctic plateau");
    assert_eq!(country(0.0, -89.9), ["ATA"], "near the south pole");
    assert_eq!(country(-40.0, 72.0), ["GRL"], "Greenland is not in Russia");
    assert_eq!(country(-100.0, 60.0), ["CAN"]);
    assert_eq!(country(25.0, 62.0), ["FIN"]);
    assert_eq!(country(-170.0, 0.0), Vec::<String>::new(), "Pacific");
    assert_eq!(
        country(0.0, -60.0),
        Vec::<String>::new(),
        "Southern Ocean, north of Antarctica"
    );
}

#[test]
fn arizona_and_india_carry_high_water_stress() {
    let e = engine();
    let water = e
        .profile()
        .criteria
        .iter()
        .position(|c| c.id() == "water_stress")
        .unwrap();
    for (place, lon, lat) in [
        ("Phoenix, Arizona", -112.07, 33.45),
        ("Delhi, India", 77.21, 28.61),
        ("Mumbai", 72.88, 19.08),
    ] {
        let v = e.evaluate(lon, lat).values[water].raw.as_f64().unwrap();
        assert!(v >= 3.0, "{place}: water stress {v}");
    }
    // And a wet place does not.
    let v = e.evaluate(-69.7, 45.1).values[water].raw.as_f64().unwrap();
    assert!(v < 1.0, "Maine: {v}");
}

fn check_rfc7946(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["type"], "FeatureCollection");
    let features = v["features"].as_array().unwrap();
    assert!(!features.is_empty());
    for f in features {
        assert_eq!(f["type"], "Feature");
        let g = &f["geometry"];
        let positions: Vec<&serde_json::Value> = match g["type"].as_str().unwrap() {
            "Polygon" => {
                let ring = g["coordinates"][0].as_array().unwrap();
                assert_eq!(ring.first(), ring.last(), "closed ring");
                // Counter-clockwise exterior: positive shoelace area.
                let pts: Vec<(f64, f64)> = ring
                    .iter()
                    .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
                    .collect();
                let area: f64 = pts
                    .windows(2)
                    .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
                    .sum();
                assert!(area > 0.0, "exterior ring must be counter-clockwise");
                ring.iter().collect()
            }
            "Point" => vec![&g["coordinates"]],
            other => panic!("unexpected geometry {other}"),
        };
        for p in positions {
            let (lon, lat) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
            assert!(
                (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat),
                "lon/lat order"
            );
        }
        assert!(f["properties"].is_object());
    }
    // At most 7 decimals anywhere in coordinates.
    for cap in text.split("\"coordinates\":").skip(1) {
        let coords = &cap[..cap.find('}').unwrap()];
        for num in coords
            .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .filter(|s| s.contains('.'))
        {
            assert!(num.split('.').nth(1).unwrap().len() <= 7, "{num}");
        }
    }
    v
}

#[test]
fn region_deu_and_arizona_write_valid_geojson() {
    let dir = tempfile::tempdir().unwrap();
    for (region, file) in [("DEU", "deu.geojson"), ("Arizona", "az.geojson")] {
        let out = dir.path().join(file);
        let res = run_ok(
            Command::cargo_bin("standort")
                .unwrap()
                .args(["region", region, "--cell", "0.1", "--data-dir"])
                .arg(data_dir())
                .arg("--out")
                .arg(&out),
        );
        let v = check_rfc7946(&out);
        let features = v["features"].as_array().unwrap();
        let cells = features
            .iter()
            .filter(|f| f["geometry"]["type"] == "Polygon")
            .count();
        assert_eq!(
            cells,
            features.len(),
            "cells only: one geometry type per file"
        );
        let sites = check_rfc7946(&out.with_file_name(file.replace(".geojson", ".sites.geojson")));
        let tops = sites["features"].as_array().unwrap().len();
        assert_eq!(v["standort"]["cells"].as_u64().unwrap() as usize, cells);
        assert!((1..=10).contains(&tops), "{tops}");
        // Lean cells: no simplestyle unless asked for; a QGIS style beside the file.
        let first = &features[0]["properties"];
        assert!(first.get("fill").is_none(), "{first}");
        assert!(first["score"].is_number() && first["grid_distance_km"].is_number());
        assert!(out.with_extension("qml").exists());
        let summary = String::from_utf8(res.stdout).unwrap();
        assert!(
            summary.contains("top ") && summary.contains("candidate sites"),
            "{summary}"
        );
    }
}

#[test]
fn region_cells_cover_the_region_area() {
    // Germany is about 357,000 km²; its 0.1-degree cells should add up to within 2%.
    let set = layers();
    let deu = Region::resolve("Germany", &set).unwrap();
    let area: f64 = region_cells(&deu, 0.1).iter().map(|c| c.area_km2()).sum();
    assert!((area - 357_000.0).abs() < 0.02 * 357_000.0, "{area}");
    // Arizona, 295,000 km².
    let az = Region::resolve("arizona", &set).unwrap();
    let area: f64 = region_cells(&az, 0.05).iter().map(|c| c.area_km2()).sum();
    assert!((area - 295_000.0).abs() < 0.02 * 295_000.0, "{area}");
}

#[test]
fn region_typos_get_did_you_mean() {
    let out = Command::cargo_bin("standort")
        .unwrap()
        .args(["region", "Germny", "--data-dir"])
        .arg(data_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("did you mean \"Germany\""), "{err}");
}

/// Regression: with `--top`, the quick path skipped the `on_land` measure of a site already
/// excluded by another constraint, so "1 failing: not on land" vanished from the summary.
/// The summary's tallies are the same with and without `--top`.
#[test]
fn summary_tallies_do_not_depend_on_top() {
    let candidates =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/candidates.csv");
    let tallies = |top: bool| {
        let mut cmd = Command::cargo_bin("standort").unwrap();
        cmd.arg("score")
            .arg(&candidates)
            .arg("--data-dir")
            .arg(data_dir());
        if top {
            cmd.args(["--top", "100"]);
        }
        let out = run_ok(&mut cmd);
        let err = String::from_utf8(out.stderr).unwrap();
        err.lines()
            .filter(|l| l.contains("failing:") || l.contains("without data for"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let all = tallies(false);
    assert!(
        all.iter().any(|l| l.trim() == "1 failing: not on land"),
        "{all:?}"
    );
    assert_eq!(all, tallies(true));
}

/// A sub-score from a raw value by a `linear` or `log` curve of the `standort.columns`
/// member; `None` for other curves.
fn curve(scoring: &serde_json::Value, x: f64) -> Option<f64> {
    let (kind, p) = scoring.as_object()?.iter().next()?;
    let (best, worst) = (p["best"].as_f64()?, p["worst"].as_f64()?);
    let t = match kind.as_str() {
        "linear" => (x - worst) / (best - worst),
        "log" => (x.max(1e-12).ln() - worst.ln()) / (best.ln() - worst.ln()),
        _ => return None,
    };
    Some(t.clamp(0.0, 1.0))
}

#[test]
fn germany_geojson_is_lean_and_its_sub_scores_follow_from_the_member() {
    let dir = tempfile::tempdir().unwrap();
    let region = |name: &str, file: &str, more: &[&str]| {
        let out = dir.path().join(file);
        run_ok(
            Command::cargo_bin("standort")
                .unwrap()
                .args(["region", name, "-q", "--data-dir"])
                .arg(data_dir())
                .args(more)
                .arg("--out")
                .arg(&out),
        );
        out
    };
    // Germany at the default cell: at most 30 MB, at most 400 bytes a cell.
    let deu = region("DEU", "deu.geojson", &[]);
    let bytes = std::fs::metadata(&deu).unwrap().len();
    let v = check_rfc7946(&deu);
    let cells = v["standort"]["cells"].as_u64().unwrap();
    assert!(cells > 50_000, "{cells}");
    assert!(bytes <= 30_000_000, "{bytes} bytes");
    assert!(bytes <= 400 * cells, "{} bytes a cell", bytes / cells);
    // Sub-scores are not in the cells but follow from each raw value by the curve in the
    // member; `--sub-scores` writes them, and they agree (Arizona, every cell).
    let az = region("Arizona", "az.geojson", &["--sub-scores"]);
    let v = check_rfc7946(&az);
    let criteria = v["standort"]["columns"]["criteria"]
        .as_array()
        .unwrap()
        .clone();
    let mut checked = 0;
    for f in v["features"].as_array().unwrap() {
        let p = &f["properties"];
        for c in &criteria {
            let (Some(x), Some(s)) = (
                p[c["value_column"].as_str().unwrap()].as_f64(),
                p[c["score_column"].as_str().unwrap()].as_f64(),
            ) else {
                continue;
            };
            // The curve of the source used (a source may have its own).
            let source = c["source_column"]
                .as_str()
                .and_then(|col| p[col].as_str())
                .and_then(|l| {
                    c["sources"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|s| s["layer"] == l)
                });
            let scoring = match source.map(|s| &s["scoring"]) {
                Some(s) if !s.is_null() => s,
                _ => &c["scoring"],
            };
            if let Some(want) = curve(scoring, x) {
                // Both rounded to 3 decimals in the file.
                assert!((want - s).abs() < 2e-3, "{} {x}: {s} vs {want}", c["id"]);
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000, "{checked}");
}

#[test]
fn germany_as_png_html_and_flatgeobuf() {
    let dir = tempfile::tempdir().unwrap();
    let mut cells = 0;
    for file in ["deu.png", "deu.html", "deu.fgb"] {
        let out = dir.path().join(file);
        let res = run_ok(
            Command::cargo_bin("standort")
                .unwrap()
                .args(["region", "DEU", "-q", "--format", "json", "--data-dir"])
                .arg(data_dir())
                .arg("--out")
                .arg(&out),
        );
        let summary: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
        cells = summary["cells"].as_u64().unwrap();
        let bytes = std::fs::read(&out).unwrap();
        match file {
            "deu.png" => assert_eq!(&bytes[1..4], b"PNG"),
            "deu.html" => {
                let text = String::from_utf8(bytes).unwrap();
                assert!(text.contains("Germany (DEU)") && text.contains("\"index\":["));
            }
            _ => {
                let mut r = std::io::Cursor::new(bytes);
                let fgb = flatgeobuf::FgbReader::open(&mut r).unwrap();
                assert_eq!(fgb.header().features_count(), cells);
            }
        }
    }
    assert!(cells > 50_000, "{cells}");
}
