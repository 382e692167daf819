//! Every output format read back by GDAL's own tools (`ogrinfo`, `gdalinfo` from Debian's
//! gdal-bin, the library inside QGIS): feature counts, one geometry type per layer, typed
//! fields (numbers are Real or Integer), WGS 84, and extents, against what standort wrote.
//!
//! Without gdal-bin the tests say so on stderr and pass, unless STANDORT_REQUIRE_GDAL_BIN
//! is set (`.ci/run` installs gdal-bin and sets it), where they fail.

use crate::util::{fixtures, on_fixtures, run_ok};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// What `ogrinfo -so -al` says of a file's (single) layer.
#[derive(Debug)]
struct Info {
    geometry: String,
    features: u64,
    extent: [f64; 4],
    wgs84: bool,
    fields: HashMap<String, String>,
}

/// True when gdal-bin is there; else says why the test does nothing (or fails in CI).
#[allow(clippy::print_stderr)] // the skip must be visible in the test output
fn have_gdal_bin() -> bool {
    let found = Command::new("ogrinfo").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("STANDORT_REQUIRE_GDAL_BIN").is_none(),
            "ogrinfo is not installed but STANDORT_REQUIRE_GDAL_BIN is set"
        );
        eprintln!("SKIPPED: GDAL read-back tests need ogrinfo (Debian gdal-bin)");
    }
    found
}

fn ogrinfo(source: &str) -> Info {
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so", "-al", source])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "ogrinfo {source}: {text}");
    let layers = text.matches("Layer name:").count();
    assert_eq!(layers, 1, "{source}: one layer expected\n{text}");
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("{source}: no \"{key}\" in\n{text}"))
            .trim()
            .to_string()
    };
    let nums: Vec<f64> = value("Extent:")
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
        .filter_map(|t| t.parse().ok())
        .collect();
    let fields = text
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once(": ")?;
            let ty = rest.split(' ').next()?;
            ["Real", "Integer", "Integer64", "String"]
                .contains(&ty)
                .then(|| (name.to_string(), ty.to_string()))
        })
        .collect();
    Info {
        geometry: value("Geometry:"),
        features: value("Feature Count:").parse().unwrap(),
        extent: [nums[0], nums[1], nums[2], nums[3]],
        wgs84: text.contains("WGS 84") || text.contains("WGS_1984"),
        fields,
    }
}

/// Score the fixture sites into `file` (format from its extension).
fn score_to(file: &Path) {
    run_ok(
        on_fixtures("score")
            .arg(fixtures().join("sites.csv"))
            .arg("-q")
            .arg("-o")
            .arg(file),
    );
}

/// The fixture sites' extent [min lon, min lat, max lon, max lat] and count.
fn sites_extent() -> ([f64; 4], u64) {
    let mut rdr = csv::Reader::from_path(fixtures().join("sites.csv")).unwrap();
    let mut e = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    let mut n = 0;
    for r in rdr.deserialize::<HashMap<String, String>>() {
        let r = r.unwrap();
        let (lon, lat): (f64, f64) = (r["lon"].parse().unwrap(), r["lat"].parse().unwrap());
        e = [e[0].min(lon), e[1].min(lat), e[2].max(lon), e[3].max(lat)];
        n += 1;
    }
    (e, n)
}

fn check_sites(info: &Info, what: &str) {
    let (extent, n) = sites_extent();
    assert_eq!(info.features, n, "{what}: {info:?}");
    assert_eq!(info.geometry, "Point", "{what}: {info:?}");
    assert!(info.wgs84, "{what}: {info:?}");
    for (a, b) in info.extent.iter().zip(extent) {
        assert!(
            (a - b).abs() < 1e-6,
            "{what}: extent {:?} vs {extent:?}",
            info.extent
        );
    }
    let integer = |t: Option<&String>| t.is_some_and(|t| t == "Integer" || t == "Integer64");
    assert!(integer(info.fields.get("rank")), "{what}: rank in {info:?}");
    for (field, ty) in [
        ("score", "Real"),
        ("grid_distance_km", "Real"),
        ("lat", "Real"),
        ("status", "String"),
    ] {
        assert_eq!(
            info.fields.get(field).map(String::as_str),
            Some(ty),
            "{what}: {field} in {info:?}"
        );
    }
}

#[test]
fn scored_sites_read_back_in_every_streamed_format() {
    if !have_gdal_bin() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (file, source) in [
        ("s.geojson", None),
        ("s.geojsons", None),
        ("s.csv", None),
        // FlatGeobuf without GDAL in standort: the pure-Rust writer.
        ("s.fgb", None),
        // Newline-delimited GeoJSON is GeoJSONSeq to GDAL only when told so.
        ("s.geojsonl", Some("GeoJSONSeq:")),
    ] {
        let path = dir.path().join(file);
        score_to(&path);
        let source = format!("{}{}", source.unwrap_or(""), path.display());
        check_sites(&ogrinfo(&source), file);
    }
}

#[cfg(feature = "gdal")]
#[test]
fn scored_sites_read_back_as_geopackage() {
    if !have_gdal_bin() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.gpkg");
    score_to(&path);
    check_sites(&ogrinfo(&path.display().to_string()), "s.gpkg");
}

/// A region run on the fixtures: its cells file, and the summary it printed.
fn region_to(file: &Path) -> serde_json::Value {
    let out = run_ok(
        on_fixtures("region")
            .args([
                "--bbox",
                "9,-2,14,2",
                "--cell",
                "0.5",
                "--format",
                "json",
                "-q",
                "-o",
            ])
            .arg(file),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check_cells(info: &Info, summary: &serde_json::Value, what: &str) {
    assert_eq!(
        info.features,
        summary["cells"].as_u64().unwrap(),
        "{what}: {info:?}"
    );
    assert_eq!(info.geometry, "Polygon", "{what}: {info:?}");
    assert!(info.wgs84, "{what}: {info:?}");
    assert_eq!(info.extent, [9.0, -2.0, 14.0, 2.0], "{what}");
    assert_eq!(
        info.fields.get("score").map(String::as_str),
        Some("Real"),
        "{what}: {info:?}"
    );
}

#[test]
fn region_cells_and_top_sites_read_back_as_separate_layers() {
    if !have_gdal_bin() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.geojson");
    let summary = region_to(&path);
    check_cells(&ogrinfo(&path.display().to_string()), &summary, "r.geojson");
    // FlatGeobuf from the pure-Rust writer, with its spatial index.
    let fgb = dir.path().join("r.fgb");
    let summary_fgb = region_to(&fgb);
    check_cells(&ogrinfo(&fgb.display().to_string()), &summary_fgb, "r.fgb");
    let sites = ogrinfo(&dir.path().join("r.sites.geojson").display().to_string());
    assert_eq!(sites.geometry, "Point", "{sites:?}");
    assert_eq!(
        sites.features,
        summary["top"].as_array().unwrap().len() as u64
    );
    assert_eq!(
        sites.fields.get("top_rank").map(String::as_str),
        Some("Integer")
    );
}

#[cfg(feature = "gdal")]
#[test]
fn region_cells_read_back_as_geopackage_and_geotiff() {
    if !have_gdal_bin() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.gpkg");
    let summary = region_to(&path);
    check_cells(&ogrinfo(&path.display().to_string()), &summary, "r.gpkg");
    let tif = dir.path().join("r.tif");
    region_to(&tif);
    let out = Command::new("gdalinfo")
        .arg("-json")
        .arg(&tif)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["size"], serde_json::json!([10, 8]), "{v}");
    let wkt = v["coordinateSystem"]["wkt"].as_str().unwrap_or("");
    assert!(wkt.contains("WGS 84"), "{wkt}");
    let corner = &v["cornerCoordinates"];
    assert_eq!(
        corner["upperLeft"],
        serde_json::json!([9.0, 2.0]),
        "{corner}"
    );
    assert_eq!(
        corner["lowerRight"],
        serde_json::json!([14.0, -2.0]),
        "{corner}"
    );
}

/// A plan's campuses, the lines to their plants and the sovereignty choropleth, as GDAL
/// reads them: one geometry type per file, typed figures, WGS 84, inside ±180°.
#[test]
fn plans_and_the_choropleth_read_back() {
    if !have_gdal_bin() {
        return;
    }
    let f = fixtures().join("plan");
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.geojson");
    run_ok(
        crate::util::on_fixture_set(&f, "plan")
            .args([
                "XXA",
                "--cell",
                "0.5",
                "--min-spacing-km",
                "0",
                "-q",
                "--lines",
                "--out",
            ])
            .arg(&plan),
    );
    let info = ogrinfo(&plan.display().to_string());
    assert_eq!(
        (info.geometry.as_str(), info.features),
        ("Point", 2),
        "{info:?}"
    );
    for (field, ty) in [
        ("rank", "Integer"),
        ("it_mw", "Real"),
        ("co2_t_per_yr", "Real"),
    ] {
        assert_eq!(
            info.fields.get(field).map(String::as_str),
            Some(ty),
            "{field}: {info:?}"
        );
    }
    assert!(info.wgs84);
    let lines = ogrinfo(&dir.path().join("plan.lines.geojson").display().to_string());
    assert_eq!(
        (lines.geometry.as_str(), lines.features),
        ("Line String", 3),
        "{lines:?}"
    );
    let world = dir.path().join("world.geojson");
    run_ok(
        crate::util::on_fixture_set(&f, "sovereignty")
            .args(["--cell", "0.5", "-q", "--out"])
            .arg(&world),
    );
    let info = ogrinfo(&world.display().to_string());
    assert_eq!(
        (info.geometry.as_str(), info.features),
        ("Multi Polygon", 2),
        "{info:?}"
    );
    assert_eq!(
        info.fields.get("mw_hostable").map(String::as_str),
        Some("Real")
    );
    let [x0, _, x1, _] = info.extent;
    assert!((-180.0..=180.0).contains(&x0) && (-180.0..=180.0).contains(&x1));
}
