//! GeoPackage and FlatGeobuf output through OGR (the `gdal` feature).
//!
//! One layer in EPSG:4326 whose fields are the result columns, typed from their values
//! (integer, real or text); features are written in one transaction.

use crate::error::{Error, ErrorKind, Result};
use gdal::DriverManager;
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{
    Feature, Geometry, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType,
};
use serde_json::Value as Json;
use std::path::Path;

/// The OGR driver for an output path, by extension.
pub fn driver_for(path: &Path) -> Option<&'static str> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "gpkg" => Some("GPKG"),
        "fgb" => Some("FlatGeobuf"),
        _ => None,
    }
}

fn field_type(column: usize, rows: &[(Geometry, Vec<Json>)]) -> OGRFieldType::Type {
    let mut ty = None;
    for (_, values) in rows {
        match (&values[column], ty) {
            (Json::Null, _) => {}
            (Json::Number(n), None | Some(OGRFieldType::OFTInteger64))
                if n.is_i64() || n.is_u64() =>
            {
                ty = Some(OGRFieldType::OFTInteger64)
            }
            (
                Json::Number(_),
                None | Some(OGRFieldType::OFTInteger64) | Some(OGRFieldType::OFTReal),
            ) => ty = Some(OGRFieldType::OFTReal),
            _ => return OGRFieldType::OFTString,
        }
    }
    ty.unwrap_or(OGRFieldType::OFTString)
}

/// A point geometry.
pub fn point(lon: f64, lat: f64) -> Result<Geometry> {
    Geometry::from_wkt(&format!("POINT ({lon} {lat})"))
        .map_err(|e| Error::new(ErrorKind::Io, format!("GDAL: {e}")))
}

/// A counter-clockwise rectangle.
pub fn rectangle(x0: f64, y0: f64, x1: f64, y1: f64) -> Result<Geometry> {
    Geometry::from_wkt(&format!(
        "POLYGON (({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"
    ))
    .map_err(|e| Error::new(ErrorKind::Io, format!("GDAL: {e}")))
}

/// Write `rows` (geometry, values in the order of `columns`) to `path` with `driver`.
pub fn write_layer(
    path: &Path,
    driver: &str,
    layer_name: &str,
    geometry: OGRwkbGeometryType::Type,
    columns: &[String],
    rows: Vec<(Geometry, Vec<Json>)>,
) -> Result<()> {
    let io = super::gdal_error(path);
    let drv = DriverManager::get_driver_by_name(driver).map_err(io)?;
    // GDAL will not overwrite an existing (empty temporary) file for every driver.
    let _ = std::fs::remove_file(path);
    let mut ds = drv.create_vector_only(path).map_err(io)?;
    let srs = SpatialRef::from_epsg(4326).map_err(io)?;
    let types: Vec<OGRFieldType::Type> = (0..columns.len()).map(|c| field_type(c, &rows)).collect();
    let fill = |ds: &mut gdal::Dataset| -> Result<()> {
        let layer = ds
            .create_layer(LayerOptions {
                name: layer_name,
                srs: Some(&srs),
                ty: geometry,
                options: None,
            })
            .map_err(io)?;
        let defs: Vec<(&str, OGRFieldType::Type)> = columns
            .iter()
            .map(String::as_str)
            .zip(types.iter().copied())
            .collect();
        layer.create_defn_fields(&defs).map_err(io)?;
        for (geom, values) in &rows {
            let mut f = Feature::new(layer.defn()).map_err(io)?;
            for (i, (v, ty)) in values.iter().zip(&types).enumerate() {
                match (v, *ty) {
                    (Json::Null, _) => f.set_field_null(i).map_err(io)?,
                    (Json::Number(n), OGRFieldType::OFTInteger64) => f
                        .set_field_integer64(i, n.as_i64().unwrap_or_default())
                        .map_err(io)?,
                    (Json::Number(n), OGRFieldType::OFTReal) => f
                        .set_field_double(i, n.as_f64().unwrap_or(f64::NAN))
                        .map_err(io)?,
                    (Json::String(s), _) => f.set_field_string(i, s).map_err(io)?,
                    (other, _) => f.set_field_string(i, &other.to_string()).map_err(io)?,
                }
            }
            f.set_geometry(geom.clone()).map_err(io)?;
            f.create(&layer).map_err(io)?;
        }
        Ok(())
    };
    if driver == "GPKG" {
        let mut txn = ds.start_transaction().map_err(io)?;
        fill(&mut txn)?;
        txn.commit().map_err(io)?;
    } else {
        fill(&mut ds)?;
    }
    Ok(())
}
