//! `standort region` on the fixtures: the grid, the map it writes, the formats it refuses.

use super::util::*;
use assert_cmd::Command;

/// `standort region` on the fixtures over a box along the equator.
fn region() -> Command {
    let mut cmd = on_fixtures("region");
    cmd.args(["--bbox", "9,-1,14,1", "--cell", "0.5"]);
    cmd
}

#[test]
fn region_map_holds_every_cell_and_the_top_sites() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("map.geojson");
    run_ok(region().arg("--out").arg(&out).args(["-n", "3"]));
    let map: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let features = map["features"].as_array().unwrap();
    let cells: Vec<_> = features
        .iter()
        .filter(|f| f["geometry"]["type"] == "Polygon")
        .collect();
    // The top sites are in a file of their own: one geometry type per file.
    assert_eq!(cells.len(), features.len());
    let sites = dir.path().join("map.sites.geojson");
    let sites: serde_json::Value = serde_json::from_slice(&std::fs::read(&sites).unwrap()).unwrap();
    let tops = sites["features"].as_array().unwrap();
    assert!(tops.iter().all(|f| f["geometry"]["type"] == "Point"));
    // 5 x 2 degrees in cells of 0.5 degrees.
    assert_eq!(cells.len(), 40);
    assert_eq!(tops.len(), 3);
    assert_eq!(map["standort"]["cells"], 40, "{}", map["standort"]);
    assert_eq!(map["standort"]["top"].as_array().unwrap().len(), 3);
    // Counter-clockwise exterior rings (RFC 7946).
    for c in &cells {
        let ring = c["geometry"]["coordinates"][0].as_array().unwrap();
        let xy: Vec<(f64, f64)> = ring
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        let area2: f64 = xy
            .windows(2)
            .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
            .sum();
        assert!(area2 > 0.0, "{xy:?}");
    }
    // The cells and the top sites with their QGIS styles, nothing else.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "map.geojson",
            "map.qml",
            "map.sites.geojson",
            "map.sites.qml"
        ]
    );
}

#[test]
fn region_summary_as_json_counts_every_cell() {
    let out = run_ok(region().args(["--format", "json", "-q"]));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["cells"], 40);
    let shares = ["share_ok", "share_excluded", "share_unknown"]
        .iter()
        .map(|k| summary[k].as_f64().unwrap())
        .sum::<f64>();
    assert!((shares - 1.0).abs() < 1e-4, "{summary}");
    assert!(out.stderr.is_empty());
}

#[test]
fn region_refuses_formats_that_cannot_hold_cells() {
    let dir = tempfile::tempdir().unwrap();
    for (name, needle) in [
        ("cells.csv", "not implemented yet for `region`"),
        ("cells.xyz", "unknown extension"),
    ] {
        let target = dir.path().join(name);
        let out = region().arg("--out").arg(&target).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!target.exists());
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A region file above 1 GB is refused without --force, with its expected size; nothing is
/// written.
#[test]
fn huge_region_files_need_force() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("world.geojson");
    let out = on_fixtures("region")
        .args(["--bbox=-180,-60,180,80", "--cell", "0.1", "-o"])
        .arg(&target)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("would take about") && stderr.contains("give --force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
