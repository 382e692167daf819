//! Region results as a Cloud-Optimised GeoTIFF (the `gdal` feature).
//!
//! Float32, EPSG:4326, one band per value: `score` (the total; nodata where the cell is
//! outside the region, excluded or UNKNOWN), one `{criterion}_score` band per criterion
//! (nodata outside the region or where UNKNOWN), and a `status` band (1 ok, 2 excluded,
//! 3 unknown; nodata outside the region) that tells excluded cells apart. Nodata is -9999.
//! Written through GDAL's COG driver: tiled, deflate-compressed, with overviews.

use crate::engine::{Engine, Status};
use crate::error::Result;
use crate::region::{Cell, Region};
use gdal::raster::{Buffer, RasterCreationOptions};
use gdal::spatial_ref::SpatialRef;
use gdal::{DriverManager, Metadata};
use rayon::prelude::*;
use std::path::Path;

/// The nodata value of every band.
pub const NODATA: f32 = -9999.0;

/// Score `cells` (from [`crate::region::region_cells`] with the same `region` and
/// `cell_deg`) and write the bands to `path` as a COG.
pub fn write_region_geotiff(
    engine: &Engine,
    region: &Region,
    cell_deg: f64,
    cells: &[Cell],
    path: &Path,
) -> Result<()> {
    let io = super::gdal_error(path);
    let [x0, y0, x1, y1] = region.bbox;
    let c0 = (x0 / cell_deg).floor() as i64;
    let c1 = (x1 / cell_deg).ceil() as i64;
    let r0 = (y0 / cell_deg).floor() as i64;
    let r1 = (y1 / cell_deg).ceil() as i64;
    let (w, h) = ((c1 - c0).max(1) as usize, (r1 - r0).max(1) as usize);
    let bands = cell_bands(engine, cells, w * h);
    let bands_n = bands.len();
    let mem = DriverManager::get_driver_by_name("MEM").map_err(io)?;
    let mut ds = mem
        .create_with_band_type::<f32, _>("", w, h, bands_n)
        .map_err(io)?;
    ds.set_geo_transform(&[
        c0 as f64 * cell_deg,
        cell_deg,
        0.0,
        r1 as f64 * cell_deg,
        0.0,
        -cell_deg,
    ])
    .map_err(io)?;
    ds.set_spatial_ref(&SpatialRef::from_epsg(4326).map_err(io)?)
        .map_err(io)?;
    let mut names = vec!["score".to_string()];
    names.extend(
        engine
            .profile()
            .criteria
            .iter()
            .map(|c| format!("{}_score", c.id())),
    );
    names.push("status (1 ok, 2 excluded, 3 unknown)".into());
    for (b, (data, name)) in bands.into_iter().zip(&names).enumerate() {
        let mut band = ds.rasterband(b + 1).map_err(io)?;
        band.set_no_data_value(Some(f64::from(NODATA)))
            .map_err(io)?;
        band.set_description(name).map_err(io)?;
        let mut buf = Buffer::new((w, h), data);
        band.write((0, 0), (w, h), &mut buf).map_err(io)?;
    }
    ds.set_description(&format!(
        "standort {} suitability, {}",
        engine.profile().name,
        region.name
    ))
    .map_err(io)?;
    let cog = DriverManager::get_driver_by_name("COG").map_err(io)?;
    let mut opts = RasterCreationOptions::new();
    opts.set_name_value("COMPRESS", "DEFLATE").map_err(io)?;
    opts.set_name_value("OVERVIEWS", "AUTO").map_err(io)?;
    opts.set_name_value("BLOCKSIZE", "256").map_err(io)?;
    ds.create_copy(&cog, path, &opts).map_err(io)?;
    Ok(())
}

/// The bands' pixels (row-major, `pixels` each): the total score, each criterion's score
/// and the status of every cell (by its id), nodata elsewhere.
fn cell_bands(engine: &Engine, cells: &[Cell], pixels: usize) -> Vec<Vec<f32>> {
    let n = engine.profile().criteria.len();
    let mut bands: Vec<Vec<f32>> = vec![vec![NODATA; pixels]; n + 2];
    let values: Vec<(usize, Vec<f32>)> = cells
        .par_iter()
        .map(|c| {
            let mut sc = vec![0.0; n];
            let q = engine.score_detail(c.lon(), c.lat(), &mut sc);
            let mut v = Vec::with_capacity(n + 2);
            v.push(q.score.map_or(NODATA, |s| s as f32));
            v.extend(
                sc.iter()
                    .map(|s| if s.is_nan() { NODATA } else { *s as f32 }),
            );
            v.push(match q.status {
                Status::Ok => 1.0,
                Status::Excluded => 2.0,
                Status::Unknown => 3.0,
            });
            (c.id as usize, v)
        })
        .collect();
    for (id, v) in values {
        if id < pixels {
            for (b, x) in v.into_iter().enumerate() {
                bands[b][id] = x;
            }
        }
    }
    bands
}
