//! Shared helpers: the fixture folder, a `standort score` command pinned to it, an
//! independent haversine, and runners that check success or a one-line failure.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// One degree of longitude on the equator, km (R = 6371.0088 km).
pub const KM_PER_DEG: f64 = 6371.0088 * std::f64::consts::PI / 180.0;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `standort score` on the fixtures, with the data directory pinned to them.
pub fn score() -> Command {
    on_fixtures("score")
}

/// `standort SUBCOMMAND` with the fixture data directory, layer set and profile.
pub fn on_fixtures(subcommand: &str) -> Command {
    on_fixture_set(&fixtures(), subcommand)
}

/// `standort SUBCOMMAND` with the data directory `f` and its `layers.toml` and `profile.toml`.
pub fn on_fixture_set(f: &Path, subcommand: &str) -> Command {
    let mut cmd = Command::cargo_bin("standort").unwrap();
    cmd.env_remove("STANDORT_DATA_DIR")
        .arg(subcommand)
        .arg("--data-dir")
        .arg(f)
        .arg("--layers")
        .arg(f.join("layers.toml"))
        .arg("--profile")
        .arg(f.join("profile.toml"));
    cmd
}

/// Independent haversine (not the library's vector formula).
pub fn haversine_km(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2)
        + p1.cos() * p2.cos() * ((lon2 - lon1).to_radians() / 2.0).sin().powi(2);
    2.0 * 6371.0088 * h.sqrt().asin()
}

/// Run `cmd`, asserting that it succeeds (showing its stderr if not); its output.
pub fn run_ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn run_csv(cmd: &mut Command) -> Vec<std::collections::HashMap<String, String>> {
    csv_rows(run_ok(cmd).stdout.as_slice())
}

/// The rows of CSV text with a header, as maps from column to cell.
pub fn csv_rows(text: impl std::io::Read) -> Vec<std::collections::HashMap<String, String>> {
    let mut rdr = csv::Reader::from_reader(text);
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    rdr.records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

pub fn num(row: &std::collections::HashMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {:?}", row[col]))
}

pub fn by_id<'a>(
    rows: &'a [std::collections::HashMap<String, String>],
    id: &str,
) -> &'a std::collections::HashMap<String, String> {
    rows.iter().find(|r| r["id"] == id).unwrap()
}

/// Runs `standort score` expecting failure: checks the exit code, that stderr is exactly
/// one line starting with `error: ` and containing `needle`, no panic, and that the output
/// file (if any) does not exist and nothing is left in its folder.
pub fn fails(mut cmd: Command, code: i32, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out.csv");
    let out = cmd.arg("--out").arg(&out_file).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    assert!(!out_file.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no partial files"
    );
}

pub fn with_sites(text: &str, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    (dir, p)
}

pub fn with_profile(edit: impl Fn(&str) -> String) -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(fixtures().join("profile.toml")).unwrap();
    with_sites(&edit(&text), "profile.toml")
}

/// The fixture layer set and its layers' files.
pub const FIXTURE_LAYERS: [&str; 6] = [
    "layers.toml",
    "plants.csv",
    "lines.geojson",
    "zones.geojson",
    "countries.geojson",
    "land.tif",
];

/// A temporary folder holding the fixture layer set with its land raster compressed
/// (DEFLATE, floating-point predictor, a strip per row), and `more` fixture files.
pub fn fixture_layers_compressed(more: &[&str]) -> tempfile::TempDir {
    let dir = fixture_copy(&[&FIXTURE_LAYERS[..], more].concat());
    let packed = fixtures().join("raster/land-deflate.tif");
    std::fs::copy(packed, dir.path().join("land.tif")).unwrap();
    dir
}

/// A temporary folder holding copies of these fixture files.
pub fn fixture_copy(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        std::fs::copy(fixtures().join(f), dir.path().join(f)).unwrap();
    }
    dir
}
