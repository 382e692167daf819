//! `standort plan` and `standort sovereignty` on the hand-computable plan fixture
//! (tests/fixtures/plan): two plants of 1,000 and 500 MW offering 20% = 300 MW; a 100 MW
//! campus at PUE 1.3 draws 130 MW, so exactly two campuses fit and the third is refused
//! for grid headroom. Each campus: 100 MW × 8,760 h × 0.8 = 700,800 MWh of IT energy;
//! × 1.3 = 911.04 GWh from the grid; × 1.8 L/kWh = 1,261,440 m³ of water; × 500 g/kWh in
//! country XXA = 455,520 t CO₂.

use super::real_data::data_dir;
use super::util::{fixtures, on_fixture_set, run_csv, run_ok};
use assert_cmd::Command;
use serde_json::Value as Json;

fn plan() -> Command {
    let mut cmd = on_fixture_set(&fixtures().join("plan"), "plan");
    cmd.args(["--cell", "0.5", "--min-spacing-km", "0"]);
    cmd
}

fn json_of(cmd: &mut Command) -> Json {
    serde_json::from_slice(&run_ok(cmd.args(["--format", "json"])).stdout).unwrap()
}

#[test]
fn two_campuses_fit_and_the_third_is_refused_for_headroom() {
    let v = json_of(plan().arg("XXA"));
    let s = &v["summary"];
    assert_eq!(s["campuses"], 2);
    assert_eq!(s["it_mw"], 200.0);
    assert_eq!(s["grid_mw"], 260.0);
    assert_eq!(s["stop"], "grid_headroom");
    assert_eq!(s["stop_reason"], "grid headroom exhausted");
    assert_eq!(s["refused"]["grid_headroom"], 6, "8 cells, 2 used");
    assert_eq!(s["headroom_offered_mw"], 300.0);
    assert_eq!(s["headroom_left_mw"], 40.0);
    // The plant of -50 MW is not drawn from (and says so on stderr).
    assert_eq!(s["plants"], 2);
    let c = &v["campuses"][0];
    assert_eq!(c["energy_gwh_per_yr"], 911.04);
    assert_eq!(c["water_m3_per_yr"], 1_261_440.0);
    assert_eq!(c["co2_t_per_yr"], 455_520.0);
    assert_eq!(c["carbon_g_per_kwh"], 500.0);
    assert_eq!(c["carbon_source"], "Our World in Data, country");
    assert_eq!(c["water_unit"], "XXA");
    let drawn: f64 = v["campuses"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["drawn_from"].as_array().unwrap().clone())
        .map(|d| d["mw"].as_f64().unwrap())
        .sum();
    assert!((drawn - 260.0).abs() < 1e-9);
    assert_eq!(v["plan"]["profile"], "plan-fixture");
    let pue = &s["parameters"]["pue"];
    assert_eq!(
        (pue["value"].as_f64(), pue["reason"].as_str()),
        (Some(1.3), Some("fixture"))
    );
}

#[test]
fn the_target_stops_it_and_partial_campuses_fill_it() {
    let v = json_of(plan().args(["XXA", "--target-mw", "100"]));
    assert_eq!(v["summary"]["campuses"], 1);
    assert_eq!(v["summary"]["stop"], "target");
    let v = json_of(plan().args(["XXA", "--allow-partial"]));
    // 40 MW of headroom left: a third campus of 40 / 1.3 = 30.77 MW.
    assert_eq!(v["summary"]["campuses"], 3);
    let third = &v["campuses"][2];
    assert!((third["it_mw"].as_f64().unwrap() - 40.0 / 1.3).abs() < 1e-3);
    assert_eq!(third["binding"], "grid_headroom");
}

#[test]
fn a_water_budget_caps_its_unit() {
    let dir = tempfile::tempdir().unwrap();
    let budget = dir.path().join("budget.csv");
    std::fs::write(&budget, "unit,m3_per_year\nXXA,1500000\n").unwrap();
    let v = json_of(plan().arg("XXA").arg("--water-budget").arg(&budget));
    assert_eq!(v["summary"]["campuses"], 1);
    assert_eq!(v["summary"]["stop"], "water_budget");
    assert_eq!(v["summary"]["refused"]["water_budget"], 7);
    assert_eq!(v["summary"]["water"][0]["unit"], "XXA");
    assert_eq!(v["summary"]["water"][0]["budget_m3_per_yr"], 1_500_000.0);
}

#[test]
fn csv_geojson_and_the_supply_curve() {
    let dir = tempfile::tempdir().unwrap();
    let geo = dir.path().join("plan.geojson");
    let curve = dir.path().join("curve.csv");
    run_ok(
        plan()
            .args(["XXA", "--lines", "-q", "--out"])
            .arg(&geo)
            .arg("--supply-curve")
            .arg(&curve),
    );
    let g: Json = serde_json::from_slice(&std::fs::read(&geo).unwrap()).unwrap();
    let features = g["features"].as_array().unwrap();
    assert_eq!(features.len(), 2);
    assert!(features.iter().all(|f| f["geometry"]["type"] == "Point"));
    let l: Json =
        serde_json::from_slice(&std::fs::read(dir.path().join("plan.lines.geojson")).unwrap())
            .unwrap();
    let lines = l["features"].as_array().unwrap();
    // Campus 1 draws from one plant, campus 2 from two.
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|f| f["geometry"]["type"] == "LineString"));
    let rows = run_csv(Command::new("cat").arg(&curve));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["cumulative_mw"], "200.000");
    assert!(rows[0]["score"] >= rows[1]["score"]);
    let rows = run_csv(plan().args(["XXA", "--format", "csv"]));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["grid_mw"], "130.0");
    // Once both are placed, 40 MW are left anywhere: less than a campus draws.
    assert_eq!(rows[0]["binding"], "grid_headroom");
    assert_eq!(rows[1]["binding"], "grid_headroom");
}

#[test]
fn sovereignty_rows_equal_the_country_plans() {
    let table = |threads: &str| {
        let mut cmd = on_fixture_set(&fixtures().join("plan"), "sovereignty");
        cmd.args([
            "--cell",
            "0.5",
            "--min-spacing-km",
            "0",
            "--format",
            "json",
            "-j",
            threads,
        ]);
        run_ok(&mut cmd).stdout
    };
    let one = table("1");
    assert_eq!(one, table("2"), "-j 1 and -j 2 differ");
    let v: Json = serde_json::from_slice(&one).unwrap();
    let rows = v["countries"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["code"], "XXA");
    let single = json_of(plan().arg("XXA"));
    assert_eq!(rows[0]["mw_hostable"], single["summary"]["it_mw"]);
    assert_eq!(rows[0]["campuses"], single["summary"]["campuses"]);
    // 260 MW drawn of 1,500 MW.
    let share = rows[0]["share_of_capacity_drawn"].as_f64().unwrap();
    assert!((share - 260.0 / 1500.0).abs() < 1e-6, "{share}");
    assert_eq!(rows[1]["code"], "XXB");
    assert_eq!(rows[1]["mw_hostable"], 0.0);
    // The choropleth: one MultiPolygon per country, filled.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("world.geojson");
    let mut cmd = on_fixture_set(&fixtures().join("plan"), "sovereignty");
    run_ok(cmd.args(["--cell", "0.5", "-q", "--out"]).arg(&out));
    let g: Json = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let f = g["features"].as_array().unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0]["geometry"]["type"], "MultiPolygon");
    assert!(
        f[0]["properties"]["fill"]
            .as_str()
            .unwrap()
            .starts_with('#')
    );
}

#[test]
fn provinces_add_up_to_their_country() {
    let mut cmd = on_fixture_set(&fixtures().join("plan"), "sovereignty");
    cmd.args([
        "--by",
        "admin1",
        "XXA",
        "--cell",
        "0.5",
        "--min-spacing-km",
        "0",
    ]);
    let v: Json = serde_json::from_slice(&run_ok(cmd.args(["--format", "json"])).stdout).unwrap();
    let rows = v["countries"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["country"].as_str().unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{names:?}");
    let sum: f64 = rows
        .iter()
        .map(|r| r["mw_hostable"].as_f64().unwrap())
        .sum();
    assert_eq!(sum, 200.0);
    // Each province's capacity is the plants inside it: Big (1,000 MW) in West, Small in East.
    let cap =
        |name: &str| rows.iter().find(|r| r["country"] == name).unwrap()["capacity_mw"].as_f64();
    assert_eq!((cap("West"), cap("East")), (Some(1000.0), Some(500.0)));
    let mut cmd = on_fixture_set(&fixtures().join("plan"), "sovereignty");
    let out = cmd.args(["--by", "admin1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--by admin1 needs a COUNTRY"));
}

#[test]
fn carbon_comes_from_the_most_specific_layer() {
    // A site in US-ZZ (lon 3..4) takes the state's 50 g/kWh, one in XXB west of it the
    // country's 100; the plan draws from every plant (no country: --sites).
    let dir = tempfile::tempdir().unwrap();
    let sites = dir.path().join("sites.csv");
    std::fs::write(&sites, "id,lon,lat\na,3.5,0.5\nb,2.5,0.5\n").unwrap();
    let mut cmd = on_fixture_set(&fixtures().join("plan"), "plan");
    cmd.arg("--sites")
        .arg(&sites)
        .args(["--min-spacing-km", "0", "--interconnect-km", "500"]);
    let v = json_of(&mut cmd);
    let c = v["campuses"].as_array().unwrap();
    assert_eq!(c.len(), 2);
    let by_lon = |lon: f64| c.iter().find(|x| x["lon"] == lon).unwrap();
    assert_eq!(by_lon(3.5)["carbon_g_per_kwh"], 50.0);
    assert_eq!(by_lon(3.5)["carbon_source"], "EPA eGRID2023, US state");
    assert_eq!(by_lon(3.5)["water_unit"], "US-ZZ");
    assert_eq!(by_lon(2.5)["carbon_g_per_kwh"], 100.0);
    assert_eq!(by_lon(2.5)["water_unit"], "XXB");
}

#[test]
fn bad_plan_input_gets_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let budget = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let unknown = budget("unknown.csv", "unit,m3_per_year\nXXC,5\n");
    let negative = budget("negative.csv", "unit,m3_per_year\nXXA,-5\n");
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec!["--target-mw".into(), "0".into()],
            2,
            "--target-mw 0: expected MW above 0",
        ),
        (vec!["--target-mw".into(), "-5".into()], 2, "--target-mw -5"),
        (
            vec!["--pue".into(), "0.9".into()],
            2,
            "pue = 0.9: a PUE is at least 1",
        ),
        (
            vec!["--headroom-share".into(), "0".into()],
            2,
            "headroom_share = 0",
        ),
        (
            vec!["--headroom-share".into(), "1.5".into()],
            2,
            "headroom_share = 1.5",
        ),
        (
            vec!["--water-budget".into(), unknown.display().to_string()],
            1,
            "unknown.csv:2: unknown water unit \"XXC\"",
        ),
        (
            vec!["--water-budget".into(), negative.display().to_string()],
            1,
            "negative.csv:2: m3_per_year \"-5\" is not a volume",
        ),
    ];
    for (args, code, needle) in cases {
        let out_dir = tempfile::tempdir().unwrap();
        let out_file = out_dir.path().join("plan.geojson");
        let out = plan()
            .args(["XXA", "-q"])
            .args(&args)
            .arg("--out")
            .arg(&out_file)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?}: expected {needle:?} in {stderr}"
        );
        assert!(!out_file.exists());
    }
    // A profile with a PUE below 1 is refused when it is read, naming the file.
    let p = budget(
        "bad.toml",
        &std::fs::read_to_string(fixtures().join("plan/profile.toml"))
            .unwrap()
            .replace("value = 1.3", "value = 0.8"),
    );
    let out = plan().arg("XXA").arg("-p").arg(&p).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("bad.toml") && stderr.contains("pue = 0.8"),
        "{stderr}"
    );
}

#[test]
fn a_plan_never_overwrites_what_it_reads() {
    let f = fixtures().join("plan");
    let before = std::fs::read(f.join("plants.csv")).unwrap();
    let out = plan()
        .args(["XXA", "-q", "--out"])
        .arg(f.join("plants.csv"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("refusing to overwrite"), "{stderr}");
    assert_eq!(std::fs::read(f.join("plants.csv")).unwrap(), before);
}

/// On the real layers: India at 5 GW under dry cooling and the US at max, byte-identical
/// for one and two threads, and numbers an analyst can check.
#[test]
fn real_plans_are_deterministic_and_add_up() {
    let run = |args: &[&str], threads: &str| {
        let mut cmd = Command::cargo_bin("standort").unwrap();
        cmd.arg("--data-dir").arg(data_dir()).arg("plan").args(args);
        cmd.args(["-q", "--format", "json", "-j", threads]);
        run_ok(&mut cmd).stdout
    };
    let ind = ["IND", "--target-mw", "5000", "-p", "ai-campus-dry-cooling"];
    let one = run(&ind, "1");
    assert_eq!(one, run(&ind, "2"), "-j 1 and -j 2 differ");
    let v: Json = serde_json::from_slice(&one).unwrap();
    assert_eq!(v["summary"]["stop"], "target");
    assert_eq!(v["summary"]["it_mw"], 5000.0);
    for c in v["campuses"].as_array().unwrap() {
        // India's plants only, within 100 km; India's carbon intensity (OWID).
        for d in c["drawn_from"].as_array().unwrap() {
            assert!(d["km"].as_f64().unwrap() <= 100.0);
        }
        assert_eq!(c["water_unit"], "IND");
        assert_eq!(c["carbon_source"], "Our World in Data, country");
    }
    let usa = run(&["USA"], "2");
    let v: Json = serde_json::from_slice(&usa).unwrap();
    let s = &v["summary"];
    assert_eq!(s["stop"], "grid_headroom");
    let campuses = v["campuses"].as_array().unwrap();
    assert!(campuses.len() > 100, "{} campuses", campuses.len());
    // Carbon from eGRID in the states; water counted by state.
    assert!(
        campuses
            .iter()
            .all(|c| c["carbon_source"] == "EPA eGRID2023, US state")
    );
    assert!(
        campuses
            .iter()
            .all(|c| c["water_unit"].as_str().unwrap().starts_with("US-"))
    );
    let sum: f64 = campuses.iter().map(|c| c["it_mw"].as_f64().unwrap()).sum();
    assert!((sum - s["it_mw"].as_f64().unwrap()).abs() < 1e-6);
}

#[test]
fn plan_refuses_a_set_dependent_profile() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixtures().join("plan/profile.toml")).unwrap();
    let text = if text.contains("method = ") {
        text.replace("method = \"weighted-sum\"", "method = \"topsis\"")
    } else {
        format!("method = \"topsis\"\n{text}")
    };
    let p = dir.path().join("p.toml");
    std::fs::write(&p, text).unwrap();
    let f = fixtures().join("plan");
    let out = Command::cargo_bin("standort")
        .unwrap()
        .env_remove("STANDORT_DATA_DIR")
        .args(["plan", "--data-dir"])
        .arg(&f)
        .arg("--layers")
        .arg(f.join("layers.toml"))
        .arg("--profile")
        .arg(&p)
        .args(["--cell", "0.5", "XXA"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("planning needs a site-local score") && err.contains("(method topsis)"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
