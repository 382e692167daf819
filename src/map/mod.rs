//! Pictures of results: PNG maps drawn in pure Rust ([`png`]), an offline HTML viewer
//! ([`html`]) and QGIS styles ([`qml`]), with the borders they draw ([`Basemap`]).

pub mod basemap;
pub mod canvas;
pub mod html;
pub mod pictures;
pub mod png;
pub mod qml;
pub mod region;

pub use basemap::Basemap;
use std::sync::Arc;

/// Default width of a PNG map in pixels.
pub const DEFAULT_WIDTH_PX: u32 = 1200;

/// What a picture draws besides the results.
#[derive(Clone, Debug)]
pub struct MapOptions {
    /// Width of a PNG in pixels (the height follows from the region's shape).
    pub width_px: u32,
    /// Country and admin-1 borders within the picture.
    pub basemap: Arc<Basemap>,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            width_px: DEFAULT_WIDTH_PX,
            basemap: Arc::new(Basemap::default()),
        }
    }
}
