//! Writing a run's results in the format the registry chose: one entry point for scored
//! sites ([`write_sites`]) and one for region cells ([`CellWriter`]), whatever the format —
//! streamed to stdout or a file, or written through GDAL.

use super::format::Format;
use super::region::{RegionGeoJson, cell_feature};
use super::write_table;
use super::{AtomicFile, Context, write_csv, write_geojson, write_geojson_seq, write_json};
use crate::batch::ScoredSite;
use crate::engine::{Engine, Evaluation};
use crate::error::{Error, ErrorKind, Result};
use crate::region::{Cell, Region, RegionSummary};
use std::io::Write;

/// Why writing failed: an I/O error on the stream (a closed pipe among them, which callers
/// may treat as the end of the run) or any other error.
#[derive(Debug)]
pub enum OutputError {
    /// Writing the stream failed.
    Io(std::io::Error),
    /// Anything else (GDAL, a format that cannot go to a stream).
    Other(Error),
}

impl From<std::io::Error> for OutputError {
    fn from(e: std::io::Error) -> Self {
        OutputError::Io(e)
    }
}

impl From<Error> for OutputError {
    fn from(e: Error) -> Self {
        OutputError::Other(e)
    }
}

/// Where a run's output goes.
pub enum Destination<'a> {
    /// A stream (stdout): streaming formats only.
    Stream(&'a mut dyn Write),
    /// An output file, renamed into place by its owner once everything is written.
    File(&'a mut AtomicFile),
}

/// Write scored sites in `format` to `dest`.
pub fn write_sites(
    format: Format,
    dest: Destination<'_>,
    ctx: &Context,
    results: &[ScoredSite],
) -> std::result::Result<(), OutputError> {
    let stream = |format: Format, out: &mut dyn Write| -> std::io::Result<()> {
        match format {
            Format::Csv => write_csv(out, ctx, results),
            Format::GeoJson => write_geojson(out, ctx, results),
            Format::GeoJsonSeq => write_geojson_seq(out, ctx, results),
            Format::Json => write_json(out, ctx, results),
            _ => write_table(out, ctx, results),
        }
    };
    match dest {
        _ if !format.streams() => match dest {
            Destination::File(f) => write_sites_ogr(format, f, ctx, results),
            Destination::Stream(_) => Err(not_a_stream(format).into()),
        },
        Destination::Stream(out) => {
            stream(format, out)?;
            out.flush()?;
            Ok(())
        }
        Destination::File(f) => {
            let mut w = std::io::BufWriter::new(f.file());
            stream(format, &mut w)?;
            w.flush()?;
            Ok(())
        }
    }
}

fn not_a_stream(format: Format) -> Error {
    Error::usage(format!(
        "{} is written through GDAL to a file only; give --out FILE",
        format.entry().name
    ))
}

#[cfg(feature = "gdal")]
fn write_sites_ogr(
    format: Format,
    file: &mut AtomicFile,
    ctx: &Context,
    results: &[ScoredSite],
) -> std::result::Result<(), OutputError> {
    use super::{input_values, ogr, result_columns, result_values};
    let inputs: Vec<String> = ctx.header.columns.clone();
    let mut columns = inputs.clone();
    columns.extend(result_columns(ctx.engine, &inputs));
    let mut rows = Vec::with_capacity(results.len());
    for s in results {
        let mut values: Vec<serde_json::Value> = input_values(ctx.header, s)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        values.extend(result_values(ctx.engine, s));
        rows.push((ogr::point(s.site.lon, s.site.lat)?, values));
    }
    let geometry = gdal::vector::OGRwkbGeometryType::wkbPoint;
    ogr::write_layer(
        file.path(),
        ogr_driver(format),
        "sites",
        geometry,
        &columns,
        rows,
    )?;
    Ok(())
}

#[cfg(not(feature = "gdal"))]
fn write_sites_ogr(
    format: Format,
    _file: &mut AtomicFile,
    _ctx: &Context,
    _results: &[ScoredSite],
) -> std::result::Result<(), OutputError> {
    Err(needs_gdal(format).into())
}

#[cfg(not(feature = "gdal"))]
fn needs_gdal(format: Format) -> Error {
    Error::new(
        ErrorKind::Usage,
        format!(
            "{} output needs the `gdal` feature (cargo build --release --features gdal)",
            format.entry().name
        ),
    )
}

#[cfg(feature = "gdal")]
fn ogr_driver(format: Format) -> &'static str {
    match format {
        Format::FlatGeobuf => "FlatGeobuf",
        _ => "GPKG",
    }
}

/// Receives a region's cells as they are scored (explained, in grid order), then the
/// summary; writes them in one format.
pub trait CellWriter {
    /// One scored cell.
    fn cell(&mut self, engine: &Engine, cell: &Cell, e: &Evaluation) -> std::io::Result<()>;
    /// Everything is scored: write what is left and close the output.
    fn finish(
        self: Box<Self>,
        engine: &Engine,
        region: &Region,
        summary: &RegionSummary,
    ) -> std::result::Result<(), OutputError>;
}

/// The writer of region cells in `format` to `file` (`cell_deg`: the grid's cell size).
pub fn cell_writer<'a>(
    format: Format,
    file: &'a mut AtomicFile,
    cell_deg: f64,
) -> Result<Box<dyn CellWriter + 'a>> {
    let _ = cell_deg;
    match format {
        Format::GeoJson => {
            let target = file.target().to_path_buf();
            let out = std::io::BufWriter::new(file.file());
            let map = RegionGeoJson::new(out).map_err(|e| Error::io(&target, &e))?;
            Ok(Box::new(GeoJsonCells(map)))
        }
        #[cfg(feature = "gdal")]
        Format::GeoPackage | Format::FlatGeobuf => Ok(Box::new(OgrCells {
            file,
            format,
            columns: Vec::new(),
            rows: Vec::new(),
        })),
        #[cfg(feature = "gdal")]
        Format::GeoTiff => Ok(Box::new(TiffCells {
            file,
            cell_deg,
            cells: Vec::new(),
        })),
        other => Err(Error::new(
            ErrorKind::Usage,
            format!("{} cannot hold region cells", other.entry().name),
        )),
    }
}

struct GeoJsonCells<'a>(RegionGeoJson<std::io::BufWriter<&'a mut std::fs::File>>);

impl CellWriter for GeoJsonCells<'_> {
    fn cell(&mut self, engine: &Engine, cell: &Cell, e: &Evaluation) -> std::io::Result<()> {
        self.0.feature(&cell_feature(engine, cell, e))
    }
    fn finish(
        self: Box<Self>,
        engine: &Engine,
        region: &Region,
        summary: &RegionSummary,
    ) -> std::result::Result<(), OutputError> {
        self.0.finish(engine, region, summary)?;
        Ok(())
    }
}

#[cfg(feature = "gdal")]
struct OgrCells<'a> {
    file: &'a mut AtomicFile,
    format: Format,
    columns: Vec<String>,
    rows: Vec<(gdal::vector::Geometry, Vec<serde_json::Value>)>,
}

#[cfg(feature = "gdal")]
impl CellWriter for OgrCells<'_> {
    fn cell(&mut self, engine: &Engine, c: &Cell, e: &Evaluation) -> std::io::Result<()> {
        let props = super::region::cell_properties(engine, c, e);
        if self.columns.is_empty() {
            self.columns = props.keys().cloned().collect();
        }
        let values = self
            .columns
            .iter()
            .map(|k| props.get(k).cloned().unwrap_or_default())
            .collect();
        let (x1, y1) = (c.min_lon + c.size_deg, (c.min_lat + c.size_deg).min(90.0));
        let geometry = super::ogr::rectangle(c.min_lon, c.min_lat, x1, y1)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.rows.push((geometry, values));
        Ok(())
    }
    fn finish(
        self: Box<Self>,
        _engine: &Engine,
        _region: &Region,
        _summary: &RegionSummary,
    ) -> std::result::Result<(), OutputError> {
        let geometry = gdal::vector::OGRwkbGeometryType::wkbPolygon;
        let driver = ogr_driver(self.format);
        let path = self.file.path();
        super::ogr::write_layer(path, driver, "cells", geometry, &self.columns, self.rows)?;
        Ok(())
    }
}

#[cfg(feature = "gdal")]
struct TiffCells<'a> {
    file: &'a mut AtomicFile,
    cell_deg: f64,
    cells: Vec<Cell>,
}

#[cfg(feature = "gdal")]
impl CellWriter for TiffCells<'_> {
    fn cell(&mut self, _engine: &Engine, c: &Cell, _e: &Evaluation) -> std::io::Result<()> {
        self.cells.push(*c);
        Ok(())
    }
    fn finish(
        self: Box<Self>,
        engine: &Engine,
        region: &Region,
        _summary: &RegionSummary,
    ) -> std::result::Result<(), OutputError> {
        let path = self.file.path();
        super::raster::write_region_geotiff(engine, region, self.cell_deg, &self.cells, path)?;
        Ok(())
    }
}
