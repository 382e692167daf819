//! Bad input: one-line errors naming the file and line or feature, exit codes, nothing
//! written.

use super::util::*;
use assert_cmd::Command;
use std::path::Path;

#[test]
fn bad_sites_input() {
    let mut cmd = score();
    cmd.arg("/no/such/sites.csv");
    fails(cmd, 1, "/no/such/sites.csv: no such file or directory");

    let (_d, p) = with_sites("id,lat,lon\na,0,10\nb,zero,10\n", "sites.csv");
    let mut cmd = score();
    cmd.arg(&p);
    fails(cmd, 1, "sites.csv:3: latitude \"zero\" is not a number");

    let (_d, p) = with_sites("id,lat,lon\na,0,10\nb,0,10\nc,95,10\n", "sites.csv");
    let mut cmd = score();
    cmd.arg(&p);
    fails(cmd, 1, "sites.csv:4: latitude 95 is out of range [-90, 90]");

    let (_d, p) = with_sites("id,lat,lon\na,0,181\n", "sites.csv");
    let mut cmd = score();
    cmd.arg(&p);
    fails(
        cmd,
        1,
        "sites.csv:2: longitude 181 is out of range [-180, 180]",
    );

    let (_d, p) = with_sites("name,where\na,here\n", "sites.csv");
    let mut cmd = score();
    cmd.arg(&p);
    fails(cmd, 1, "sites.csv:1: no latitude column found");

    let (_d, p) = with_sites(
        "{\"type\": \"FeatureCollection\", \"features\": [\n{\"type\": \"Feature\", \"geometry\": {\"type\": \"Point\", \"coordinates\": [1, 2]}, \"properties\": {}},\n{\"type\": \"Feature\" \"geometry\": null}\n]}",
        "sites.geojson",
    );
    let mut cmd = score();
    cmd.arg(&p);
    fails(cmd, 1, "sites.geojson:3: expected `,` or `}`");

    let (_d, p) = with_sites(
        "{\"type\": \"FeatureCollection\", \"features\": [\n{\"type\": \"Feature\", \"geometry\": {\"type\": \"Pointy\", \"coordinates\": [1, 2]}, \"properties\": {}}\n]}",
        "sites.geojson",
    );
    let mut cmd = score();
    cmd.arg(&p);
    fails(
        cmd,
        1,
        "sites.geojson:2: feature 1: unknown variant `Pointy`",
    );
}

#[test]
fn bad_profiles() {
    // (edit of the fixture profile, expected part of the one-line message)
    let cases: [(&str, &str, &str); 9] = [
        ("weight = 3", "weight = = 3", "profile.toml:12: "),
        (
            "layer = \"plants\"",
            "layer = \"plant\"",
            "criterion \"grid_distance\": unknown layer \"plant\"",
        ),
        (
            "attribute = \"bws\"",
            "attribute = \"bsw\"",
            "layer \"zones\" has no field \"bsw\"",
        ),
        (
            "capacity_mw >= 100",
            "capacity >= 100",
            "did you mean \"capacity_mw\"",
        ),
        (
            "weight = 3",
            "weight = -3",
            "profile.toml:8: criterion \"grid_distance\": weight -3 must be zero or positive",
        ),
        (
            "weight = ",
            "weight = 0 #",
            "all criterion weights are zero",
        ),
        (
            "best = 1000.0, worst = 10000.0",
            "best = 1000.0, worst = 1000.0",
            "best and worst are both 1000",
        ),
        ("max = 4.0", "min = 4.5\nmax = 4.0", "bounds are inverted"),
        (
            "layer = \"lines\"",
            "layer = \"zones\"",
            "measure nearest_km needs a points or lines layer, but \"zones\" is polygons",
        ),
    ];
    for (from, to, message) in cases {
        let (_d, p) = with_profile(|t| t.replace(from, to));
        let mut cmd = score();
        cmd.arg(fixtures().join("sites.csv"))
            .arg("--profile")
            .arg(&p);
        fails(cmd, 1, message);
    }
}

/// Criteria are built in parallel, but the first error in profile order is the one reported.
#[test]
fn first_error_in_profile_order_wins() {
    let (_d, p) = with_profile(|t| {
        t.replace("capacity_mw >= 100", "capacity >= 100")
            .replace("layer = \"lines\"", "layer = \"line\"")
    });
    let mut cmd = score();
    cmd.arg(fixtures().join("sites.csv"))
        .arg("--profile")
        .arg(&p);
    fails(cmd, 1, "criterion \"grid_distance\"");
    let (_d, p) = with_profile(|t| t.replace("layer = \"lines\"", "layer = \"line\""));
    let mut cmd = score();
    cmd.arg(fixtures().join("sites.csv"))
        .arg("--profile")
        .arg(&p);
    fails(
        cmd,
        1,
        "criterion \"line_distance\": unknown layer \"line\"",
    );
}

#[test]
fn bad_layers() {
    let dir = fixture_copy(&[
        "layers.toml",
        "plants.csv",
        "lines.geojson",
        "countries.geojson",
        "land.tif",
    ]);
    let cmd_in = |dir: &Path| {
        let mut cmd = Command::cargo_bin("standort").unwrap();
        cmd.env_remove("STANDORT_DATA_DIR")
            .args(["score", "--layers"])
            .arg(dir.join("layers.toml"))
            .arg("--profile")
            .arg(fixtures().join("profile.toml"))
            .arg(fixtures().join("sites.csv"));
        cmd
    };
    // Missing layer file.
    fails(
        cmd_in(dir.path()),
        1,
        "zones.geojson: layer \"zones\" is missing",
    );
    // Malformed GeoJSON layer.
    std::fs::write(
        dir.path().join("zones.geojson"),
        "{\"type\": \"FeatureCollection\",\n\"features\": [\n{\"type\": \"Feature\",\n]}",
    )
    .unwrap();
    fails(cmd_in(dir.path()), 1, "zones.geojson:4: ");
    // Wrong geometry for the layer's kind.
    std::fs::copy(
        fixtures().join("lines.geojson"),
        dir.path().join("zones.geojson"),
    )
    .unwrap();
    fails(
        cmd_in(dir.path()),
        1,
        "zones.geojson: feature 1 (id \"L1\"): layer \"zones\" is polygons, expected Polygon or MultiPolygon, found LineString",
    );
    // A plant row with a bad coordinate.
    std::fs::copy(
        fixtures().join("zones.geojson"),
        dir.path().join("zones.geojson"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("plants.csv"),
        "name,capacity_mw,latitude,longitude\nA,300,0,10.4\nB,50,north,10\n",
    )
    .unwrap();
    fails(
        cmd_in(dir.path()),
        1,
        "plants.csv:3: latitude \"north\" is not a number",
    );
    // Not a GeoTIFF.
    std::fs::copy(fixtures().join("plants.csv"), dir.path().join("plants.csv")).unwrap();
    std::fs::write(dir.path().join("land.tif"), "not a tiff").unwrap();
    fails(cmd_in(dir.path()), 1, "land.tif: not a readable TIFF");
    // Layer-set syntax error.
    std::fs::write(
        dir.path().join("layers.toml"),
        "[[layer]]\nname = \"plants\"\npath = \n",
    )
    .unwrap();
    fails(cmd_in(dir.path()), 1, "layers.toml:3: ");
}

#[test]
fn usage_errors_exit_2() {
    let mut cmd = score();
    cmd.arg(fixtures().join("sites.csv"))
        .args(["--format", "xml"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    let dir = tempfile::tempdir().unwrap();
    let out = score()
        .arg(fixtures().join("sites.csv"))
        .arg("--out")
        .arg(dir.path().join(if cfg!(feature = "gdal") {
            "x.kml"
        } else {
            "x.gpkg"
        }))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let expected = if cfg!(feature = "gdal") {
        "is not implemented yet"
    } else {
        "needs the `gdal` feature"
    };
    assert!(stderr.contains(expected), "{stderr}");
    assert_eq!(stderr.lines().count(), 1);

    let mut cmd = score();
    cmd.arg(fixtures().join("sites.csv"))
        .args(["--profile", "ai-campos"]);
    fails(cmd, 2, "did you mean \"ai-campus\"");

    // Never overwrite an input.
    let (_d, p) = with_sites("id,lat,lon\na,0,10\n", "sites.csv");
    let before = std::fs::read(&p).unwrap();
    let out = score()
        .arg(&p)
        .arg("--out")
        .arg(&p)
        .args(["--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to overwrite"));
    assert_eq!(std::fs::read(&p).unwrap(), before);
}

#[test]
fn missing_layers_say_how_to_get_them() {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("standort")
        .unwrap()
        .args(["score", "--data-dir"])
        .arg(empty.path())
        .arg(fixtures().join("candidates.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("layer \"power_plants\" is missing")
            && stderr.contains("standort data fetch"),
        "{stderr}"
    );
    let out = Command::cargo_bin("standort")
        .unwrap()
        .args(["data", "status", "--data-dir"])
        .arg(empty.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stdout.contains("missing power_plants/gppd_global_v1.2.0.csv"),
        "{stdout}"
    );
    // Scripts can trust the exit code: not every layer is there.
    assert_eq!(out.status.code(), Some(1));
    let layers = standort::layers::LayerSet::default_set(None).unwrap();
    let missing = format!("error: {} layer(s) missing", layers.specs().len());
    assert!(stderr.starts_with(&missing), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn data_status_exits_1_when_a_layer_is_unreadable() {
    let dir = fixture_copy(&[
        "plants.csv",
        "lines.geojson",
        "zones.geojson",
        "countries.geojson",
        "land.tif",
    ]);
    let layers = fixtures().join("layers.toml");
    let status = || {
        Command::cargo_bin("standort")
            .unwrap()
            .args(["data", "status", "--data-dir"])
            .arg(dir.path())
            .arg("--layers")
            .arg(&layers)
            .output()
            .unwrap()
    };
    assert_eq!(status().status.code(), Some(0));
    std::fs::write(dir.path().join("zones.geojson"), "{ not json").unwrap();
    let out = status();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stdout.contains("unreadable"), "{stdout}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("1 layer(s) unreadable"), "{stderr}");
}

/// Broken layer data is never accepted silently: features without a usable geometry are a
/// warning naming them (an error with `--strict`); a negative amount in a summed field, a
/// join key given twice with different values, text in a numeric field and a GeoJSON `crs`
/// that is not WGS84 are one-line errors naming the file and the feature or row.
#[test]
fn broken_layer_data_is_named() {
    let dir = fixture_copy(&[
        "layers.toml",
        "plants.csv",
        "lines.geojson",
        "countries.geojson",
        "land.tif",
    ]);
    let d = dir.path();
    let zones = std::fs::read_to_string(fixtures().join("zones.geojson")).unwrap();
    let cmd_in = |extra: &[&str]| {
        let mut cmd = Command::cargo_bin("standort").unwrap();
        cmd.env_remove("STANDORT_DATA_DIR")
            .args(["score", "--layers"])
            .arg(d.join("layers.toml"))
            .arg("--profile")
            .arg(fixtures().join("profile.toml"))
            .arg(fixtures().join("sites.csv"))
            .args(extra);
        cmd
    };
    // A null geometry and a two-position ring: skipped, with a warning naming them.
    let broken = zones.replacen(
        "\"features\": [",
        "\"features\": [\n{\"type\": \"Feature\", \"id\": \"N1\", \"properties\": {\"name\": \"Null\", \"bws\": 0.1}, \"geometry\": null},\n{\"type\": \"Feature\", \"id\": \"T2\", \"properties\": {\"name\": \"Thin\", \"bws\": 0.1}, \"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[9, 0], [10, 0]]]}},",
        1,
    );
    std::fs::write(d.join("zones.geojson"), &broken).unwrap();
    let out = run_ok(&mut cmd_in(&["-f", "csv"]));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("layer \"zones\": 2 feature(s) without a usable geometry")
            && stderr.contains("feature 1 (id \"N1\"), feature 2 (id \"T2\")"),
        "{stderr}"
    );
    fails(cmd_in(&["--strict"]), 1, "--strict makes warnings errors");
    std::fs::write(d.join("zones.geojson"), &zones).unwrap();
    // A negative capacity would cancel others in a sum.
    let plants = std::fs::read_to_string(fixtures().join("plants.csv")).unwrap();
    std::fs::write(
        d.join("plants.csv"),
        plants.replace("Small Hydro,50,", "Small Hydro,-50000,"),
    )
    .unwrap();
    fails(cmd_in(&[]), 1, "is negative at feature 2 (-50000)");
    // Text in a numeric field names the feature.
    std::fs::write(
        d.join("plants.csv"),
        plants.replace("Small Hydro,50,", "Small Hydro,NaN,"),
    )
    .unwrap();
    fails(
        cmd_in(&[]),
        1,
        "holds text, not numbers (feature 2: \"NaN\")",
    );
    std::fs::write(d.join("plants.csv"), &plants).unwrap();
    // A CRS other than WGS84.
    let projected = zones.replacen(
        "\"features\"",
        "\"crs\": {\"type\": \"name\", \"properties\": {\"name\": \"urn:ogc:def:crs:EPSG::3857\"}},\n\"features\"",
        1,
    );
    std::fs::write(d.join("zones.geojson"), projected).unwrap();
    fails(
        cmd_in(&[]),
        1,
        "declares the CRS \"urn:ogc:def:crs:EPSG::3857\"",
    );
}

/// A join table that gives one key two different values is ambiguous: an error naming both
/// rows (the first used to win silently).
#[test]
fn duplicate_join_keys_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(fixtures().join("zones.geojson"), d.join("zones.geojson")).unwrap();
    std::fs::write(
        d.join("stress.csv"),
        "zone,stress\nGreen,1.0\nRed,4.5\nGreen,3.0\n",
    )
    .unwrap();
    std::fs::write(
        d.join("layers.toml"),
        "[[layer]]\nname = \"zones\"\npath = \"zones.geojson\"\nkind = \"polygons\"\njoin = { path = \"stress.csv\", key = \"name\", on = \"zone\", fields = [\"stress\"] }\n",
    )
    .unwrap();
    let out = Command::cargo_bin("standort")
        .unwrap()
        .args(["data", "status", "--data-dir"])
        .arg(d)
        .arg("--layers")
        .arg(d.join("layers.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("join key \"Green\" is in rows 1 and 3 with different values"),
        "{stdout}"
    );
}

/// Regression: a categorical standardisation on a numeric field scored every site 0.5 (the
/// default): now an error naming the field and what it holds.
#[test]
fn categories_the_field_never_holds_are_an_error() {
    let (_d, p) = with_profile(|t| {
        t.replace(
            "measure = { attribute = \"bws\" }\nstandardise = { linear = { best = 0.0, worst = 5.0 } }",
            "measure = { attribute = \"bws\" }\nstandardise = { categorical = { scores = { \"Low\" = 1.0, \"High\" = 0.0 }, default = 0.5 } }",
        )
    });
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains("categorical"), "the edit did not apply");
    let mut cmd = score();
    cmd.arg(fixtures().join("sites.csv"))
        .arg("--profile")
        .arg(&p);
    fails(
        cmd,
        1,
        "no value of field \"bws\" in layer \"zones\" is one of its categories (\"High\", \"Low\")",
    );
}

/// The fixtures' land raster compressed (DEFLATE, floating-point predictor, a strip per row)
/// scores exactly as the plain one, at sites in both rows. With its second strip garbled, a
/// run whose sites read only the first succeeds; one with a site in the second row fails with
/// one line naming the file and the strip, and writes nothing. With the first strip garbled,
/// the layer is refused as it is read.
#[test]
fn a_corrupt_tile_of_a_compressed_raster_fails_the_run() {
    let plain = fixture_copy(&[&FIXTURE_LAYERS[..], &["sites.csv"]].concat());
    let dir = fixture_layers_compressed(&["sites.csv"]);
    // One more site, in the raster's second row (latitude -1).
    let mut sites = std::fs::read_to_string(dir.path().join("sites.csv")).unwrap();
    sites.push_str("hotel,Hotel (south),-1,10\n");
    std::fs::write(dir.path().join("both_rows.csv"), sites).unwrap();
    let run = |dir: &Path, sites: &str| {
        let mut cmd = Command::cargo_bin("standort").unwrap();
        cmd.env_remove("STANDORT_DATA_DIR")
            .args(["score", "--format", "csv", "--no-cache", "--layers"])
            .arg(dir.join("layers.toml"))
            .arg("--profile")
            .arg(fixtures().join("profile.toml"))
            .arg(dir.join(sites));
        cmd
    };
    std::fs::copy(
        dir.path().join("both_rows.csv"),
        plain.path().join("both_rows.csv"),
    )
    .unwrap();
    let plain = run(plain.path(), "both_rows.csv").output().unwrap();
    assert!(plain.status.success());
    let packed = fixtures().join("raster/land-deflate.tif");
    let compressed = run(dir.path(), "both_rows.csv").output().unwrap();
    assert!(compressed.status.success());
    assert_eq!(
        String::from_utf8(compressed.stdout).unwrap(),
        String::from_utf8(plain.stdout).unwrap()
    );
    let mut dec = tiff::decoder::Decoder::new(std::fs::File::open(&packed).unwrap()).unwrap();
    let offsets = dec.get_tag_u64_vec(tiff::tags::Tag::StripOffsets).unwrap();
    let counts = dec
        .get_tag_u64_vec(tiff::tags::Tag::StripByteCounts)
        .unwrap();
    assert_eq!(offsets.len(), 2, "a strip per row");
    let garble = |strip: usize| {
        let mut bytes = std::fs::read(&packed).unwrap();
        let (at, n) = (offsets[strip] as usize, counts[strip] as usize);
        bytes[at..at + n].fill(0x5A);
        std::fs::write(dir.path().join("land.tif"), bytes).unwrap();
    };
    garble(1);
    assert!(
        run(dir.path(), "sites.csv")
            .output()
            .unwrap()
            .status
            .success()
    );
    fails(
        run(dir.path(), "both_rows.csv"),
        1,
        "land.tif: tile or strip 1 cannot be decoded",
    );
    garble(0);
    fails(
        run(dir.path(), "sites.csv"),
        1,
        "land.tif: cannot decode pixels",
    );
}
