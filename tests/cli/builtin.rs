//! The boundaries built into the binary: equal to the reference conversion in the data
//! directory, used with no data directory at all (saying which criteria lack data), and
//! overridden by a data-directory file of the same name.

use super::real_data::data_dir;
use super::util::run_ok;
use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn features(bytes: &[u8]) -> Vec<Value> {
    let v: Value = serde_json::from_slice(bytes).unwrap();
    v["features"].as_array().unwrap().clone()
}

#[test]
fn world_atlas_10m_equals_the_reference_conversion() {
    let rel = Path::new(standort::boundaries::COUNTRIES_10M);
    let built_in = standort::boundaries::built_in_path(rel).unwrap();
    let ours = features(
        standort::boundaries::built_in_bytes(&built_in)
            .unwrap()
            .unwrap(),
    );
    let reference = features(&std::fs::read(data_dir().join(rel)).unwrap());
    assert_eq!(ours.len(), reference.len());
    let mut positions = 0usize;
    for (k, (a, b)) in ours.iter().zip(&reference).enumerate() {
        for key in ["name", "iso_n3", "iso_a3", "iso_a2"] {
            // The reference writes null where there is no code; the conversion leaves it out.
            let get = |f: &Value| f["properties"].get(key).cloned().unwrap_or(Value::Null);
            assert_eq!(get(a), get(b), "feature {k} {key}");
        }
        assert_eq!(a["geometry"]["type"], b["geometry"]["type"], "feature {k}");
        assert_eq!(
            a["geometry"]["coordinates"], b["geometry"]["coordinates"],
            "feature {k} ({}): coordinates differ",
            b["properties"]["name"]
        );
        positions += a["geometry"]["coordinates"]
            .to_string()
            .matches('[')
            .count();
    }
    assert!(positions > 500_000, "{positions}");
}

fn no_data_dir(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("standort").unwrap();
    cmd.env_remove("STANDORT_DATA_DIR").args(args);
    cmd
}

#[test]
fn region_and_score_work_with_no_data_directory() {
    let out = run_ok(&mut no_data_dir(&["region", "IND", "--top", "3"]));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stdout.contains("India (IND)"), "{stdout}");
    for lacking in [
        "grid_distance",
        "grid_capacity",
        "water_stress",
        "land_cost",
    ] {
        assert!(
            stderr.contains(&format!(
                "criterion \"{lacking}\" left out: no data directory"
            )),
            "{stderr}"
        );
    }
    assert!(
        stderr.contains("scored on 1 of 6 criteria (on_land)"),
        "{stderr}"
    );
    // By name, too; a state needs the admin-1 layer, and the error says so.
    run_ok(&mut no_data_dir(&["region", "Mexico", "--top", "1"]));
    let out = no_data_dir(&["region", "Bavaria"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("states and provinces need the admin-1 layer"),
        "{stderr}"
    );
    // Scoring: the sea is excluded (on_land), land is not, as with the data directory.
    let dir = tempfile::tempdir().unwrap();
    let sites = dir.path().join("s.csv");
    std::fs::write(
        &sites,
        "id,lon,lat\nberlin,13.4,52.5\npacific,-170,10\nfiji,179.9,-16.5\n",
    )
    .unwrap();
    let run = |cmd: &mut Command| {
        let out = run_ok(cmd.arg(&sites).args(["--format", "csv"]));
        let text = String::from_utf8(out.stdout).unwrap();
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let status = rdr
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "status")
            .unwrap();
        rdr.records()
            .map(|r| {
                let r = r.unwrap();
                format!("{},{}\n", &r[0], &r[status])
            })
            .collect::<String>()
    };
    let without = run(&mut no_data_dir(&["score"]));
    let mut with = Command::cargo_bin("standort").unwrap();
    with.arg("score").arg("--data-dir").arg(data_dir());
    let with = run(&mut with);
    assert!(
        without.contains("pacific,excluded") && without.contains("berlin,ok"),
        "{without}"
    );
    assert!(without.contains("fiji,ok"), "{without}");
    assert!(with.contains("pacific,excluded"), "{with}");
}

#[test]
fn a_data_directory_file_overrides_the_built_in_countries() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(standort::boundaries::COUNTRIES_10M);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Squareland","iso_a3":"SQL","iso_a2":"SQ"},
        "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}}]}"#,
    )
    .unwrap();
    let join = dir
        .path()
        .join("water_stress/aqueduct40_country_bws_cat.csv");
    std::fs::create_dir_all(join.parent().unwrap()).unwrap();
    std::fs::write(&join, "gid_0,bws_cat_0_4\nSQL,1\n").unwrap();
    let set = standort::LayerSet::default_set(Some(dir.path())).unwrap();
    let r = standort::region::Region::resolve("SQL", &set).unwrap();
    assert!(r.name.contains("Squareland"), "{}", r.name);
    assert!(standort::region::Region::resolve("IND", &set).is_err());
    // Without the file, the built-in copy answers.
    std::fs::remove_file(&file).unwrap();
    let r = standort::region::Region::resolve("IND", &set).unwrap();
    assert!(r.name.contains("India"), "{}", r.name);
}

#[test]
fn planning_with_no_data_directory_says_what_it_needs() {
    let out = no_data_dir(&["plan", "IND"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("planning needs the power plants"),
        "{stderr}"
    );
}
