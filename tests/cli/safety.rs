//! No run loses or clobbers data: inputs (join tables, profiles, layer sets, layers, sites)
//! are never written, through symlinks, `..` and hard links; devices and FIFOs are written
//! in place, never replaced; an interrupted run leaves no partial file. Inputs are compared
//! by content hash before and after.

use super::util::*;
use assert_cmd::Command;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn hash(p: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(p).unwrap()).to_vec()
}

/// A data directory with the fixture layers and a zone layer whose values are joined from a
/// CSV table; returns (dir, layer set, sites).
fn joined_world() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = fixture_copy(&["plants.csv", "zones.geojson", "sites.csv"]);
    std::fs::create_dir(dir.path().join("tables")).unwrap();
    std::fs::write(
        dir.path().join("tables/stress.csv"),
        "zone,stress\nGreen,1.0\nRed,4.5\nDateline,2.0\n",
    )
    .unwrap();
    let layers = dir.path().join("layers.toml");
    std::fs::write(
        &layers,
        r#"[[layer]]
name = "plants"
path = "plants.csv"
kind = "points"

[[layer]]
name = "zones"
path = "zones.geojson"
kind = "polygons"
join = { path = "tables/stress.csv", key = "name", on = "zone", fields = ["stress"] }
"#,
    )
    .unwrap();
    let profile = dir.path().join("profile.toml");
    std::fs::write(
        &profile,
        r#"name = "joined"
[[criterion]]
id = "grid"
layer = "plants"
measure = { nearest_km = {} }
standardise = { linear = { best = 0.0, worst = 500.0 } }
[[criterion]]
id = "stress"
layer = "zones"
measure = { attribute = "stress" }
standardise = { linear = { best = 0.0, worst = 5.0 } }
"#,
    )
    .unwrap();
    let sites = dir.path().join("sites.csv");
    (dir, layers, sites)
}

fn score_in(dir: &Path, layers: &Path, sites: &Path) -> Command {
    let mut cmd = Command::cargo_bin("standort").unwrap();
    cmd.env_remove("STANDORT_DATA_DIR")
        .args(["score", "-q", "--data-dir"])
        .arg(dir)
        .arg("--layers")
        .arg(layers)
        .arg("--profile")
        .arg(dir.join("profile.toml"))
        .arg(sites);
    cmd
}

/// Regression: `-o` naming a layer's join table exited 0 and broke the next run.
#[test]
fn no_input_is_ever_written_not_even_a_join_table() {
    let (dir, layers, sites) = joined_world();
    let d = dir.path();
    run_ok(score_in(d, &layers, &sites).args(["-f", "csv"]));
    std::os::unix::fs::symlink(d.join("tables/stress.csv"), d.join("link.csv")).unwrap();
    std::fs::hard_link(d.join("plants.csv"), d.join("hard.csv")).unwrap();
    let inputs = [
        "tables/stress.csv",
        "plants.csv",
        "zones.geojson",
        "layers.toml",
        "profile.toml",
        "sites.csv",
    ];
    let before: Vec<Vec<u8>> = inputs.iter().map(|f| hash(&d.join(f))).collect();
    let targets = [
        "tables/stress.csv",
        "tables/../tables/stress.csv",
        "link.csv",
        "hard.csv",
        "zones.geojson",
        "layers.toml",
        "profile.toml",
        "sites.csv",
    ];
    for target in targets {
        // A format the extension agrees with (an unknown one takes --format).
        let format: &[&str] = if target.ends_with(".toml") {
            &["-f", "table"]
        } else {
            &[]
        };
        let out = score_in(d, &layers, &sites)
            .args(format)
            .arg("-o")
            .arg(d.join(target))
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{target}: {stderr}");
        assert!(
            stderr.contains("refusing to overwrite"),
            "{target}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let after: Vec<Vec<u8>> = inputs.iter().map(|f| hash(&d.join(f))).collect();
    assert_eq!(before, after, "an input changed");
    let partial = std::fs::read_dir(d.join("tables"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".partial")
        })
        .count();
    assert_eq!(partial, 0);
}

/// Regression: `-o /dev/null` (as root) was replaced by a regular file; a FIFO target was
/// renamed over. Both are written in place.
#[test]
fn devices_and_fifos_are_written_in_place() {
    let out = score()
        .arg(fixtures().join("sites.csv"))
        .args(["-q", "-f", "csv", "-o", "/dev/null"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    run_ok(
        score()
            .arg(fixtures().join("sites.csv"))
            .args(["-q", "-f", "csv", "-o"])
            .arg(&fifo),
    );
    let text = reader.join().unwrap();
    assert!(text.starts_with("id,"), "{text}");
    assert!(!std::fs::metadata(&fifo).unwrap().is_file(), "still a FIFO");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Regression: Ctrl-C or SIGTERM during `score … -o out.csv` left
/// `.standort-XXXX.partial.csv` beside the target. The sites come from a FIFO that is held
/// open, so the run is caught mid-way with its output file open.
#[test]
fn interrupted_runs_leave_no_partial_file() {
    for signal in ["INT", "TERM", "HUP"] {
        let dir = tempfile::tempdir().unwrap();
        let sites = dir.path().join("sites.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&sites)
            .status()
            .unwrap();
        assert!(made.success());
        let out = dir.path().join("out.csv");
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("standort"))
            .env_remove("STANDORT_DATA_DIR")
            .args(["score", "-q", "--data-dir"])
            .arg(fixtures())
            .arg("--layers")
            .arg(fixtures().join("layers.toml"))
            .arg("--profile")
            .arg(fixtures().join("profile.toml"))
            .arg(&sites)
            .arg("-o")
            .arg(&out)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut writer = std::fs::OpenOptions::new()
            .write(true)
            .open(&sites)
            .unwrap();
        use std::io::Write;
        writer.write_all(b"id,lat,lon\na,0,10\n").unwrap();
        let partial = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| {
                    let name = e.as_ref().unwrap().file_name();
                    name.to_string_lossy().starts_with(".standort-")
                })
                .count()
        };
        let started = std::time::Instant::now();
        while partial() == 0 && started.elapsed().as_secs() < 20 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // The output and, for CSV, its .csvt and .prj.
        assert!(partial() >= 1, "the run never opened its output");
        let killed = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        drop(writer);
        assert_eq!(status.code(), Some(130), "SIG{signal}");
        assert_eq!(partial(), 0, "SIG{signal} left a partial file");
        assert!(!out.exists());
    }
}

/// Limits scripts can trust: a thread count in the thousands, a box out of range and a
/// coordinate of 1e308 are one-line usage or input errors, printed briefly.
#[test]
fn limits_and_ranges_are_clear_errors() {
    let mut cmd = score();
    cmd.arg(fixtures().join("sites.csv")).args(["-j", "5000"]);
    fails(cmd, 2, "--threads 5000: at most 256");
    let out = on_fixtures("region")
        .args(["--bbox", "200,100,210,110"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("out of range [-180, 180]"), "{stderr}");
    let (_d, p) = with_sites(
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1e308,0]}}]}"#,
        "sites.geojson",
    );
    let mut cmd = score();
    cmd.arg(&p);
    fails(cmd, 1, "longitude 1e308 is out of range");
}
