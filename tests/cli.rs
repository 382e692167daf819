//! The one integration-test binary: the `standort` command on hand-made fixtures.
//!
//! Fixture world (tests/fixtures): plants on the equator and near the poles, a meridian
//! transmission line and one on the antimeridian, water zones (one across the antimeridian)
//! with a country layer as fallback (one polygon a polar cap), a 1-degree land-value raster.
//! Expected values below are worked out by hand: on the equator one degree of longitude is
//! R·π/180 = 111.195080 km (R = 6371.0088 km).
//!
//! One file per topic under tests/cli/, with shared helpers in tests/cli/util.rs.

#[path = "cli/util.rs"]
mod util;

#[path = "cli/score.rs"]
mod score;

#[path = "cli/region.rs"]
mod region;

#[path = "cli/maps.rs"]
mod maps;

#[path = "cli/geoparquet.rs"]
mod geoparquet;

#[path = "cli/boundary.rs"]
mod boundary;

#[path = "cli/sensitivity.rs"]
mod sensitivity;

#[path = "cli/readback.rs"]
mod readback;

#[path = "cli/plan.rs"]
mod plan;

#[path = "cli/errors.rs"]
mod errors;

#[path = "cli/data.rs"]
mod data;

#[path = "cli/builtin.rs"]
mod builtin;

#[path = "cli/import.rs"]
mod import;

#[cfg(unix)]
#[path = "cli/safety.rs"]
mod safety;

#[path = "cli/real_data.rs"]
mod real_data;

#[path = "cli/real_answers.rs"]
mod real_answers;

#[path = "cli/readme.rs"]
mod readme;

#[path = "cli/fuzz.rs"]
mod fuzz;

#[path = "cli/methods.rs"]
mod methods;

#[path = "cli/cache.rs"]
mod cache;

#[cfg(feature = "gdal")]
#[path = "cli/gdal_formats.rs"]
mod gdal_formats;
