//! The `gdal` feature: the same layer as a Shapefile in EPSG:3857, a GeoPackage in UTM zone
//! 32N and GeoJSON in WGS84 gives the same scores (distances within 1 m).

use super::{by_id, fixtures, num, run_csv};
use assert_cmd::Command;
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::vector::{Feature, Geometry, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType};
use gdal::DriverManager;
use std::path::Path;

/// Plants near the equator between 10E and 13E (inside what UTM 32N can represent).
const PLANTS: [(&str, f64, f64, f64); 3] =
    [("Equator North", 300.0, 10.4, 0.0), ("Small Hydro", 50.0, 10.9, 0.0), ("Delta Gas", 200.0, 13.0, 0.0)];

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
        .create_layer(LayerOptions { name: "plants", srs: Some(&target), ty: OGRwkbGeometryType::wkbPoint, options: None })
        .unwrap();
    layer.create_defn_fields(&[("name", OGRFieldType::OFTString), ("cap_mw", OGRFieldType::OFTReal)]).unwrap();
    for (name, cap, lon, lat) in PLANTS {
        let (mut x, mut y, mut z) = ([lon], [lat], [0.0]);
        ct.transform_coords(&mut x, &mut y, &mut z).unwrap();
        let mut f = Feature::new(layer.defn()).unwrap();
        f.set_field_string(0, name).unwrap();
        f.set_field_double(1, cap).unwrap();
        f.set_geometry(Geometry::from_wkt(&format!("POINT ({} {})", x[0], y[0])).unwrap()).unwrap();
        f.create(&layer).unwrap();
    }
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
        format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, features.join(",")),
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
        std::fs::write(&set, format!("[[layer]]\nname = \"plants\"\npath = \"{file}\"\nkind = \"points\"\n{extra}")).unwrap();
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
            assert!(d < 1e-3, "{what}, {id}: {} vs {}", r["grid_distance_km"], reference["grid_distance_km"]);
            assert_eq!(r["grid_capacity_mw"], reference["grid_capacity_mw"], "{what}, {id}");
            assert!((num(r, "score") - num(reference, "score")).abs() < 1e-5, "{what}, {id}");
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
    assert!(err.contains("has no layer \"plantz\" (layers: plants)"), "{err}");
}
