//! `raster`: the value of the pixel containing the site.
//!
//! - Reads: one `raster` layer (single band; EPSG:4326, or any CRS with the `gdal` feature).
//! - Parameters: none.
//! - Raw value: the pixel value, in the raster's unit (name it with the criterion's `unit`).
//! - UNKNOWN: outside the raster or on a nodata pixel.
//!
//! ```toml
//! measure = { raster = {} }
//! ```

use super::{Input, Kind, Position, Probe, Raw, Why, kind_error, params};
use crate::layers::{Geometry, Raster};
use serde::Deserialize;
use std::sync::Arc;

/// `raster` parameters (none yet).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RasterValue {}

pub(super) fn parse(value: toml::Value) -> Result<Box<dyn Kind>, String> {
    Ok(Box::new(params::<RasterValue>("raster", value)?))
}

impl Kind for RasterValue {
    fn name(&self) -> &'static str {
        "raster"
    }
    fn bind(&self, input: &Input<'_>) -> Result<Box<dyn Probe>, String> {
        let layer = &input.layers[0];
        match &layer.geometry {
            Geometry::Raster(r) => Ok(Box::new(Pixel(r.clone()))),
            _ => Err(kind_error(self.name(), layer, "raster")),
        }
    }
}

struct Pixel(Arc<Raster>);

impl Probe for Pixel {
    fn measure<'a>(&'a self, at: &Position) -> Result<(Raw<'a>, Option<u16>), Why> {
        self.0
            .sample(at.lon, at.lat)
            .map(|v| (Raw::Num(v), None))
            .ok_or(Why::Outside)
    }
    fn explain(&self, why: Why, layers: &[String]) -> String {
        match why {
            Why::Outside => format!("no data: outside raster {} or nodata", layers[0]),
            _ => String::new(),
        }
    }
    fn failure(&self) -> Option<String> {
        self.0.failure()
    }
    fn touch(&self, group: &[(f64, f64)], scratch: &mut [usize]) -> f64 {
        for (k, &(lon, lat)) in scratch.iter_mut().zip(group) {
            *k = self.0.index_of(lon, lat).unwrap_or(0);
        }
        scratch[..group.len()]
            .iter()
            .map(|&k| self.0.pixel(k))
            .sum()
    }
}
