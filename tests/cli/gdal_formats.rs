//! The `gdal` feature: the same layer as a Shapefile in EPSG:3857, a GeoPackage in UTM zone
//! 32N and GeoJSON in WGS84 gives the same scores (distances within 1 m).

use super::util::{by_id, fixtures, num, run_csv, run_ok};
use assert_cmd::Command;
use gdal::DriverManager;
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::vector::{
    Feature, Geometry, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType,
};
use std::path::Path;

/// Plants near the equator between 10E and 13E (inside what UTM 32N can represent).
const PLANTS: [(&str, f64, f64, f64); 3] = [
    ("Equator North", 300.0, 10.4, 0.0),
    ("Small Hydro", 50.0, 10.9, 0.0),
    ("Delta Gas", 200.0, 13.0, 0.0),
];

fn srs(epsg: u32) -> SpatialRef {
    let mut s = SpatialRef::from_epsg(epsg).unwrap();
    s.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    s
}

fn write_plants(path: &Path, driver: &str, epsg: u32) {
    let drv = DriverManager::get_driver_by_name(driver).unwrap();
    let mut ds = drv.create_vector_only(path).unwrap();
    let target = srs(epsg);
    let ct = CoordTransform::new(&srs(4326), &target).unwrap();
    let layer = ds
        .create_layer(LayerOptions {
            name: "plants",
            srs: Some(&target),
            ty: OGRwkbGeometryType::wkbPoint,
            options: None,
        })
        .unwrap();
    layer
        .create_defn_fields(&[
            ("name", OGRFieldType::OFTString),
            ("cap_mw", OGRFieldType::OFTReal),
        ])
        .unwrap();
    for (name, cap, lon, lat) in PLANTS {
        let (mut x, mut y, mut z) = ([lon], [lat], [0.0]);
        ct.transform_coords(&mut x, &mut y, &mut z).unwrap();
        let mut f = Feature::new(layer.defn()).unwrap();
        f.set_field_string(0, name).unwrap();
        f.set_field_double(1, cap).unwrap();
        f.set_geometry(Geometry::from_wkt(&format!("POINT ({} {})", x[0], y[0])).unwrap())
            .unwrap();
        f.create(&layer).unwrap();
    }
}

/// `standort ARGS -q` on the fixture layers and profile, writing `out`; asserts success.
fn run_on_fixtures(args: &[&str], out: &Path) {
    let f = fixtures();
    run_ok(
        Command::cargo_bin("standort")
            .unwrap()
            .env_remove("STANDORT_DATA_DIR")
            .args(args)
            .args(["-q", "--data-dir"])
            .arg(&f)
            .arg("--layers")
            .arg(f.join("layers.toml"))
            .arg("--profile")
            .arg(f.join("profile.toml"))
            .arg("--out")
            .arg(out),
    );
}

#[test]
fn shapefile_geopackage_and_geojson_give_the_same_scores() {
    let dir = tempfile::tempdir().unwrap();
    write_plants(&dir.path().join("plants_3857.shp"), "ESRI Shapefile", 3857);
    write_plants(&dir.path().join("plants_utm.gpkg"), "GPKG", 32632);
    let features: Vec<String> = PLANTS
        .iter()
        .map(|(n, c, lon, lat)| {
            format!(r#"{{"type":"Feature","properties":{{"name":"{n}","cap_mw":{c}}},"geometry":{{"type":"Point","coordinates":[{lon},{lat}]}}}}"#)
        })
        .collect();
    std::fs::write(
        dir.path().join("plants.geojson"),
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",")
        ),
    )
    .unwrap();
    let profile = r#"
name = "formats"
[[criterion]]
id = "grid_distance"
layer = "plants"
measure = { nearest_km = { where = "cap_mw >= 100" } }
standardise = { linear = { best = 10.0, worst = 110.0 } }
[[criterion]]
id = "grid_capacity"
layer = "plants"
measure = { sum_within_km = { radius_km = 100.0, field = "cap_mw" } }
unit = "mw"
standardise = { linear = { best = 1000.0, worst = 0.0 } }
"#;
    std::fs::write(dir.path().join("profile.toml"), profile).unwrap();
    let run = |file: &str, extra: &str| {
        let set = dir.path().join(format!("{file}.toml"));
        std::fs::write(
            &set,
            format!("[[layer]]\nname = \"plants\"\npath = \"{file}\"\nkind = \"points\"\n{extra}"),
        )
        .unwrap();
        let mut cmd = Command::cargo_bin("standort").unwrap();
        cmd.env_remove("STANDORT_DATA_DIR")
            .args(["score", "--format", "csv", "--layers"])
            .arg(&set)
            .arg("--profile")
            .arg(dir.path().join("profile.toml"))
            .arg(fixtures().join("sites.csv"));
        run_csv(&mut cmd)
    };
    let geojson = run("plants.geojson", "");
    let shp = run("plants_3857.shp", "");
    let gpkg = run("plants_utm.gpkg", "source_layer = \"plants\"\n");
    for id in ["alpha", "bravo", "delta", "foxtrot"] {
        let reference = by_id(&geojson, id);
        for (what, rows) in [("shapefile EPSG:3857", &shp), ("GeoPackage UTM 32N", &gpkg)] {
            let r = by_id(rows, id);
            let d = (num(r, "grid_distance_km") - num(reference, "grid_distance_km")).abs();
            assert!(
                d < 1e-3,
                "{what}, {id}: {} vs {}",
                r["grid_distance_km"],
                reference["grid_distance_km"]
            );
            assert_eq!(
                r["grid_capacity_mw"], reference["grid_capacity_mw"],
                "{what}, {id}"
            );
            assert!(
                (num(r, "score") - num(reference, "score")).abs() < 1e-5,
                "{what}, {id}"
            );
        }
    }
    // alpha: 0.4 degrees along the equator to the 300 MW plant.
    assert!((num(by_id(&shp, "alpha"), "grid_distance_km") - 44.478).abs() < 1e-3);
}

#[test]
fn missing_gpkg_layer_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    write_plants(&dir.path().join("p.gpkg"), "GPKG", 32632);
    let set = dir.path().join("set.toml");
    std::fs::write(&set, "[[layer]]\nname = \"plants\"\npath = \"p.gpkg\"\nkind = \"points\"\nsource_layer = \"plantz\"\n").unwrap();
    let out = Command::cargo_bin("standort")
        .unwrap()
        .env_remove("STANDORT_DATA_DIR")
        .args(["score", "--layers"])
        .arg(&set)
        .arg("--profile")
        .arg(fixtures().join("profile.toml"))
        .arg(fixtures().join("sites.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("has no layer \"plantz\" (layers: plants)"),
        "{err}"
    );
}

#[test]
fn region_geotiff_matches_the_geojson_cells() {
    let dir = tempfile::tempdir().unwrap();
    let region = |out: &Path| {
        let args = [
            "region",
            "--bbox=9,-1,14,1",
            "--cell",
            "0.5",
            "--sub-scores",
        ];
        run_on_fixtures(&args, out)
    };
    let tif = dir.path().join("suit.tif");
    let gj = dir.path().join("suit.geojson");
    region(&tif);
    region(&gj);
    let ds = gdal::Dataset::open(&tif).unwrap();
    assert_eq!(ds.raster_size(), (10, 4));
    let gt = ds.geo_transform().unwrap();
    assert_eq!(gt, [9.0, 0.5, 0.0, 1.0, 0.0, -0.5]);
    let srs = ds.spatial_ref().unwrap();
    assert_eq!(srs.auth_code().unwrap(), 4326);
    let names: Vec<String> = (1..=ds.raster_count())
        .map(|b| gdal::Metadata::description(&ds.rasterband(b).unwrap()).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "score",
            "grid_distance_score",
            "grid_capacity_score",
            "line_distance_score",
            "water_stress_score",
            "land_cost_score",
            "status (1 ok, 2 excluded, 3 unknown)"
        ]
    );
    // gdalinfo (gdal-bin; CI installs it) shows the same extent, CRS, band names and nodata.
    if let Ok(out) = std::process::Command::new("gdalinfo")
        .arg("-json")
        .arg(&tif)
        .output()
    {
        let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(info["size"], serde_json::json!([10, 4]));
        assert_eq!(
            info["cornerCoordinates"]["upperLeft"],
            serde_json::json!([9.0, 1.0])
        );
        assert_eq!(
            info["cornerCoordinates"]["lowerRight"],
            serde_json::json!([14.0, -1.0])
        );
        assert!(
            info["coordinateSystem"]["wkt"]
                .as_str()
                .unwrap()
                .contains("ID[\"EPSG\",4326]")
        );
        let bands = info["bands"].as_array().unwrap();
        assert_eq!(bands[0]["description"], "score");
        assert_eq!(
            bands[6]["description"],
            "status (1 ok, 2 excluded, 3 unknown)"
        );
        assert!(
            bands
                .iter()
                .all(|b| b["noDataValue"] == serde_json::json!(-9999.0))
        );
        assert_eq!(info["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"], "COG");
    }
    let read = |b: usize| {
        ds.rasterband(b)
            .unwrap()
            .read_band_as::<f32>()
            .unwrap()
            .data()
            .to_vec()
    };
    for b in 1..=ds.raster_count() {
        assert_eq!(ds.rasterband(b).unwrap().no_data_value(), Some(-9999.0));
    }
    let (score, water, status) = (read(1), read(5), read(7));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&gj).unwrap()).unwrap();
    let mut cells = 0;
    for feat in v["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["geometry"]["type"] == "Polygon")
    {
        let p = &feat["properties"];
        // The cell's centre, from its rectangle.
        let ring = &feat["geometry"]["coordinates"][0];
        let mid = |k: usize| (ring[0][k].as_f64().unwrap() + ring[2][k].as_f64().unwrap()) / 2.0;
        let (lon, lat) = (mid(0), mid(1));
        let (col, row) = (
            ((lon - 9.0) / 0.5).floor() as usize,
            ((1.0 - lat) / 0.5).floor() as usize,
        );
        let i = row * 10 + col;
        match p["score"].as_f64() {
            // The GeoJSON's scores have 3 decimals, the GeoTIFF's are float32.
            Some(s) => assert!(
                (f64::from(score[i]) - s).abs() <= 5e-4 + 1e-7,
                "cell {i}: {} vs {s}",
                score[i]
            ),
            None => assert_eq!(score[i], -9999.0),
        }
        match p["water_stress_score"].as_f64() {
            Some(s) => assert!((f64::from(water[i]) - s).abs() <= 5e-4 + 1e-7),
            None => assert_eq!(water[i], -9999.0),
        }
        let want = match p["status"].as_str().unwrap() {
            "ok" => 1.0,
            "excluded" => 2.0,
            _ => 3.0,
        };
        assert_eq!(status[i], want, "cell {i}");
        cells += 1;
    }
    assert_eq!(cells, 40);
    assert!(status.contains(&1.0) && status.contains(&2.0) && status.contains(&3.0));
}

#[test]
fn score_and_region_write_geopackage_and_flatgeobuf() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixtures();
    let run = run_on_fixtures;
    let gpkg = dir.path().join("ranked.gpkg");
    run(&["score", f.join("sites.csv").to_str().unwrap()], &gpkg);
    let ds = gdal::Dataset::open(&gpkg).unwrap();
    let mut layer = ds.layer_by_name("sites").unwrap();
    assert_eq!(layer.feature_count(), 7);
    assert_eq!(layer.spatial_ref().unwrap().auth_code().unwrap(), 4326);
    let first = layer.features().next().unwrap();
    let idx = first.field_index("grid_distance_km").unwrap();
    assert!((first.field_as_double(idx).unwrap().unwrap() - 44.478).abs() < 1e-3);
    let idx = first.field_index("id").unwrap();
    assert_eq!(first.field_as_string(idx).unwrap().unwrap(), "alpha");

    let fgb = dir.path().join("cells.fgb");
    run(&["region", "--bbox=9,-1,14,1", "--cell", "0.5"], &fgb);
    let ds = gdal::Dataset::open(&fgb).unwrap();
    let layer = ds.layer(0).unwrap();
    assert_eq!(layer.feature_count(), 40);
    // No partial files are left beside the outputs (the region's top sites go beside its
    // cells, as GeoJSON points).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "cells.fgb",
            "cells.qml",
            "cells.sites.geojson",
            "cells.sites.qml",
            "ranked.gpkg",
            "ranked.qml"
        ]
    );
}

#[test]
fn projected_raster_is_sampled_through_the_inverse_transform() {
    // A 5 km Web Mercator grid over 9E..14E, 1S..1N whose pixels hold col * 100 + row.
    let dir = tempfile::tempdir().unwrap();
    let to_merc = CoordTransform::new(&srs(4326), &srs(3857)).unwrap();
    let merc = |lon: f64, lat: f64| {
        let (mut x, mut y, mut z) = ([lon], [lat], [0.0]);
        to_merc.transform_coords(&mut x, &mut y, &mut z).unwrap();
        (x[0], y[0])
    };
    let (x0, y0) = merc(9.0, 1.0);
    let (x1, y1) = merc(14.0, -1.0);
    let px = 5000.0;
    let (w, h) = (
        ((x1 - x0) / px).ceil() as usize,
        ((y0 - y1) / px).ceil() as usize,
    );
    let data: Vec<f32> = (0..h)
        .flat_map(|r| (0..w).map(move |c| (c * 100 + r) as f32))
        .collect();
    let path = dir.path().join("land_3857.tif");
    {
        let drv = DriverManager::get_driver_by_name("GTiff").unwrap();
        let mut ds = drv.create_with_band_type::<f32, _>(&path, w, h, 1).unwrap();
        ds.set_geo_transform(&[x0, px, 0.0, y0, 0.0, -px]).unwrap();
        ds.set_spatial_ref(&SpatialRef::from_epsg(3857).unwrap())
            .unwrap();
        let mut band = ds.rasterband(1).unwrap();
        band.write((0, 0), (w, h), &mut gdal::raster::Buffer::new((w, h), data))
            .unwrap();
    }
    let set = dir.path().join("layers.toml");
    let text = std::fs::read_to_string(fixtures().join("layers.toml")).unwrap();
    let text = text.replace(
        "path = \"land.tif\"",
        &format!("path = \"{}\"", path.display()),
    );
    std::fs::write(&set, text).unwrap();
    let mut cmd = Command::cargo_bin("standort").unwrap();
    cmd.env_remove("STANDORT_DATA_DIR")
        .args(["score", "--format", "csv", "--data-dir"])
        .arg(fixtures())
        .arg("--layers")
        .arg(&set)
        .arg("--profile")
        .arg(fixtures().join("profile.toml"))
        .arg(fixtures().join("sites.csv"));
    let rows = run_csv(&mut cmd);
    for (id, lon, lat) in [
        ("alpha", 10.0, 0.0),
        ("bravo", 11.0, 0.0),
        ("delta", 12.5, 0.0),
        ("foxtrot", 12.0, 0.5),
    ] {
        let (x, y) = merc(lon, lat);
        let (c, r) = (
            ((x - x0) / px).floor() as usize,
            ((y0 - y) / px).floor() as usize,
        );
        let expected = (c * 100 + r) as f64;
        assert_eq!(
            num(by_id(&rows, id), "land_cost_usd_per_acre"),
            expected,
            "{id}"
        );
    }
    // Outside the raster: UNKNOWN.
    assert_eq!(by_id(&rows, "charlie")["land_cost_usd_per_acre"], "");
}

#[test]
fn ogr_polygon_out_of_range_is_a_clear_error() {
    // Found by the OGR fuzz: a huge longitude in a polygon read through GDAL hung the ring
    // repair; every vertex is now checked as the native readers check it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("fuzz/ogr-geojson-huge-longitude"),
        dir.path().join("z.geojson"),
    )
    .unwrap();
    let text = "[[layer]]\nname = \"z\"\npath = \"z.geojson\"\nkind = \"polygons\"\nsource_layer = \"z\"\n";
    let set = standort::layers::LayerSet::parse(
        text,
        Path::new("set.toml"),
        Some(dir.path().to_path_buf()),
    )
    .unwrap();
    let err = match set.load("z") {
        Ok(_) => panic!("the layer was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("z.geojson"), "{err}");
    assert!(err.contains("longitude 1e308 is out of range"), "{err}");
}
