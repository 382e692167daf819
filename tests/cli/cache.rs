//! The layer cache from the command line: runs with a cold, warm, damaged or no cache write
//! the same bytes; `data index` builds the entries ahead and then finds them up to date.

use super::util::*;
use assert_cmd::Command;
use std::path::Path;

fn standort(cache: &Path) -> Command {
    let mut cmd = Command::cargo_bin("standort").unwrap();
    cmd.env_remove("STANDORT_DATA_DIR")
        .env("STANDORT_CACHE_DIR", cache);
    cmd
}

fn score(data: &Path, cache: &Path, extra: &[&str]) -> Vec<u8> {
    let mut cmd = standort(cache);
    cmd.args(["score", "--format", "csv", "-q", "--layers"])
        .arg(data.join("layers.toml"))
        .arg("--profile")
        .arg(fixtures().join("profile.toml"))
        .arg(fixtures().join("sites.csv"))
        .args(extra);
    run_ok(&mut cmd).stdout
}

fn index(data: &Path, cache: &Path) -> String {
    let mut cmd = standort(cache);
    cmd.args(["data", "index", "--data-dir"])
        .arg(data)
        .arg("--layers")
        .arg(data.join("layers.toml"));
    String::from_utf8(run_ok(&mut cmd).stdout).unwrap()
}

fn entries(cache: &Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(cache) {
        Ok(d) => d.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn cold_warm_damaged_and_uncached_runs_write_the_same_bytes() {
    let data = fixture_layers_compressed(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let uncached = score(data.path(), &cache, &["--no-cache"]);
    assert!(entries(&cache).is_empty(), "--no-cache wrote to the cache");
    let cold = score(data.path(), &cache, &[]);
    // The five layers, and the polygon indexes of the two polygon layers the profile reads.
    let built = entries(&cache);
    assert_eq!(built.len(), 7, "{built:?}");
    let warm = score(data.path(), &cache, &[]);
    assert_eq!(cold, uncached);
    assert_eq!(warm, uncached);
    for (k, e) in built.iter().enumerate() {
        let mut bytes = std::fs::read(e).unwrap();
        if k % 2 == 0 {
            bytes.truncate(bytes.len() / 3);
        } else {
            let at = bytes.len() - 1;
            bytes[at] ^= 0xFF;
        }
        std::fs::write(e, bytes).unwrap();
    }
    assert_eq!(score(data.path(), &cache, &[]), uncached);
    let report = index(data.path(), &cache);
    assert!(report.contains("0 built, 5 up to date"), "{report}");
    assert_eq!(score(data.path(), &cache, &["-j", "1"]), uncached);
}

#[test]
fn data_index_builds_ahead_then_finds_entries_up_to_date() {
    let data = fixture_layers_compressed(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let first = index(data.path(), &cache);
    assert!(first.contains("5 built, 0 up to date"), "{first}");
    assert!(first.contains("land"), "{first}");
    let second = index(data.path(), &cache);
    assert!(second.contains("0 built, 5 up to date"), "{second}");
    // A changed layer file is built again; the others stay.
    let zones = data.path().join("zones.geojson");
    let text = std::fs::read_to_string(&zones).unwrap();
    std::fs::write(&zones, text.replacen("\"Green\"", "\"Olive\"", 1)).unwrap();
    let third = index(data.path(), &cache);
    assert!(third.contains("1 built, 4 up to date"), "{third}");
}
