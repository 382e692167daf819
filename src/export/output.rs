//! Writing a run's results in the format the registry chose: one entry point for scored
//! sites ([`write_sites`]) and one for region cells ([`cell_writer`]), whatever the format —
//! streamed to stdout or a file, or written through GDAL. The writers themselves are named
//! in the registry ([`super::format::REGISTRY`]).

use super::format::Format;
use super::region::{RegionGeoJson, cell_feature};
use super::{AtomicFile, Context};
use crate::batch::{ScoredSite, SiteRows};
use crate::engine::{Engine, Evaluation};
use crate::error::{Error, ErrorKind, Result};
use crate::region::{Cell, Region, RegionSummary};
use serde_json::Value as Json;
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

/// Writes scored sites to any stream.
pub type StreamSites = fn(&mut dyn Write, &Context, &mut dyn SiteRows) -> std::io::Result<()>;

/// How a format writes scored sites.
#[derive(Clone, Copy)]
pub enum SitesWriter {
    /// To any stream (stdout or a file).
    Stream(StreamSites),
    /// To a file by name (GDAL drivers), in the given format.
    File(fn(Format, &mut AtomicFile, &Context, &[ScoredSite]) -> Result<()>),
}

/// How a region's cells are written.
#[derive(Clone, Default)]
pub struct CellOptions {
    /// The grid's cell size in degrees.
    pub cell_deg: f64,
    /// What each cell carries besides the lean columns (`region --sub-scores`,
    /// `--simplestyle`).
    pub detail: super::region::CellDetail,
    /// What pictures (PNG, HTML) draw besides the cells.
    pub map: crate::map::MapOptions,
}

/// Opens a writer of a region's cells in the given format on an output file.
pub type CellsWriter =
    for<'a> fn(Format, &'a mut AtomicFile, &CellOptions) -> Result<Box<dyn CellWriter + 'a>>;

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
    results: &mut dyn SiteRows,
) -> std::result::Result<(), OutputError> {
    match (format.entry().sites, dest) {
        (Some(SitesWriter::Stream(write)), Destination::Stream(out)) => {
            write(out, ctx, results)?;
            out.flush()?;
        }
        (Some(SitesWriter::Stream(write)), Destination::File(f)) => {
            let mut w = std::io::BufWriter::new(f.file());
            write(&mut w, ctx, results)?;
            w.flush()?;
        }
        (Some(SitesWriter::File(write)), Destination::File(f)) => {
            // GDAL writes a layer from all its rows.
            let mut all: Vec<ScoredSite> = Vec::new();
            results.for_each(&mut |s| {
                all.push(s.clone());
                Ok(())
            })?;
            write(format, f, ctx, &all)?
        }
        (Some(SitesWriter::File(_)), Destination::Stream(_)) => {
            return Err(Error::usage(format!(
                "{} is written to a file only; give --out FILE",
                format.entry().name
            ))
            .into());
        }
        (None, _) => return Err(unavailable(format, "scored sites").into()),
    }
    Ok(())
}

/// The writer of region cells in `format` to `file`.
pub fn cell_writer<'a>(
    format: Format,
    file: &'a mut AtomicFile,
    options: &CellOptions,
) -> Result<Box<dyn CellWriter + 'a>> {
    match format.entry().cells {
        Some(open) => open(format, file, options),
        None => Err(unavailable(format, "region cells")),
    }
}

/// The error for a format without a writer of `what` in this build.
fn unavailable(format: Format, what: &str) -> Error {
    let e = format.entry();
    let why = if e.needs_gdal && !cfg!(feature = "gdal") {
        "needs the `gdal` feature (cargo build --release --features gdal)"
    } else {
        "is not written"
    };
    Error::new(ErrorKind::Usage, format!("{what} as {}: {why}", e.name))
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

/// Region cells as a streamed GeoJSON FeatureCollection.
pub(super) fn geojson_cells<'a>(
    _format: Format,
    file: &'a mut AtomicFile,
    options: &CellOptions,
) -> Result<Box<dyn CellWriter + 'a>> {
    let target = file.target().to_path_buf();
    let out = std::io::BufWriter::new(file.file());
    let map = RegionGeoJson::new(out).map_err(|e| Error::io(&target, &e))?;
    Ok(Box::new(GeoJsonCells(map, options.detail)))
}

struct GeoJsonCells<'a>(
    RegionGeoJson<std::io::BufWriter<&'a mut std::fs::File>>,
    super::region::CellDetail,
);

impl CellWriter for GeoJsonCells<'_> {
    fn cell(&mut self, engine: &Engine, cell: &Cell, e: &Evaluation) -> std::io::Result<()> {
        self.0.feature(&cell_feature(engine, cell, e, self.1))
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

/// Region cells as a FlatGeobuf layer of rectangles (no simplestyle columns: the `.qml`
/// beside it styles it in QGIS).
pub(super) fn fgb_cells<'a>(
    _format: Format,
    file: &'a mut AtomicFile,
    options: &CellOptions,
) -> Result<Box<dyn CellWriter + 'a>> {
    Ok(Box::new(LayerCells::<super::fgb::FgbLayer<'static>>::new(
        file, options,
    )))
}

/// Region cells as GeoParquet rectangles (no simplestyle columns, as for FlatGeobuf).
pub(super) fn parquet_cells<'a>(
    _format: Format,
    file: &'a mut AtomicFile,
    options: &CellOptions,
) -> Result<Box<dyn CellWriter + 'a>> {
    Ok(Box::new(LayerCells::<super::parquet::ParquetLayer>::new(
        file, options,
    )))
}

/// A layer of cell rectangles with columns fixed at its first cell (FlatGeobuf, GeoParquet).
trait CellLayer: Sized {
    /// A layer with these columns.
    fn open(engine: &Engine, columns: Vec<String>) -> std::io::Result<Self>;
    /// One cell's rectangle and values (one per column); what is ready goes to `out`.
    fn add(&mut self, rect: [f64; 4], values: &[Json], out: &mut dyn Write) -> std::io::Result<()>;
    /// Write the rest to `out`; `member` is the run's summary with the columns' meaning.
    fn close(self, member: &Json, out: &mut dyn Write) -> std::io::Result<()>;
}

impl CellLayer for super::fgb::FgbLayer<'static> {
    fn open(_engine: &Engine, columns: Vec<String>) -> std::io::Result<Self> {
        super::fgb::FgbLayer::new("cells", true, columns)
    }
    fn add(&mut self, rect: [f64; 4], values: &[Json], _: &mut dyn Write) -> std::io::Result<()> {
        super::fgb::FgbLayer::add(self, super::fgb::Shape::Rect(rect), values)
    }
    fn close(self, _member: &Json, out: &mut dyn Write) -> std::io::Result<()> {
        self.finish(out)
    }
}

impl CellLayer for super::parquet::ParquetLayer {
    fn open(engine: &Engine, columns: Vec<String>) -> std::io::Result<Self> {
        Ok(super::parquet::ParquetLayer::new(
            true,
            columns,
            Some(engine),
        ))
    }
    fn add(&mut self, rect: [f64; 4], values: &[Json], out: &mut dyn Write) -> std::io::Result<()> {
        super::parquet::ParquetLayer::add(self, super::fgb::Shape::Rect(rect), values, out)
    }
    fn close(self, member: &Json, out: &mut dyn Write) -> std::io::Result<()> {
        self.finish(member, out)
    }
}

/// Writes a region's cells through a [`CellLayer`].
struct LayerCells<'a, L> {
    out: std::io::BufWriter<&'a mut std::fs::File>,
    layer: Option<L>,
    columns: Vec<String>,
    detail: super::region::CellDetail,
}

impl<'a, L: CellLayer> LayerCells<'a, L> {
    fn new(file: &'a mut AtomicFile, options: &CellOptions) -> Self {
        LayerCells {
            out: std::io::BufWriter::new(file.file()),
            layer: None,
            columns: Vec::new(),
            detail: super::region::CellDetail {
                simplestyle: false,
                ..options.detail
            },
        }
    }
}

impl<L: CellLayer> CellWriter for LayerCells<'_, L> {
    fn cell(&mut self, engine: &Engine, cell: &Cell, e: &Evaluation) -> std::io::Result<()> {
        if self.layer.is_none() {
            self.columns = super::region::cell_columns(engine, self.detail);
            self.layer = Some(L::open(engine, self.columns.clone())?);
        }
        let values = super::region::cell_values(engine, e, self.detail, &self.columns);
        match &mut self.layer {
            Some(layer) => layer.add(cell.rect(), &values, &mut self.out),
            None => Ok(()),
        }
    }
    fn finish(
        mut self: Box<Self>,
        engine: &Engine,
        region: &Region,
        summary: &RegionSummary,
    ) -> std::result::Result<(), OutputError> {
        let layer = match self.layer.take() {
            Some(layer) => layer,
            None => L::open(engine, super::region::cell_columns(engine, self.detail))?,
        };
        let member = super::region::cells_member(engine, region, summary);
        layer.close(&member, &mut self.out)?;
        self.out.flush()?;
        Ok(())
    }
}

/// The OGR writer of scored sites, with the `gdal` feature.
#[cfg(feature = "gdal")]
pub(super) const OGR_SITES: Option<SitesWriter> = Some(SitesWriter::File(gdal::ogr_sites));
/// The OGR writer of scored sites, with the `gdal` feature.
#[cfg(not(feature = "gdal"))]
pub(super) const OGR_SITES: Option<SitesWriter> = None;
/// The OGR writer of region cells, with the `gdal` feature.
#[cfg(feature = "gdal")]
pub(super) const OGR_CELLS: Option<CellsWriter> = Some(gdal::ogr_cells);
/// The OGR writer of region cells, with the `gdal` feature.
#[cfg(not(feature = "gdal"))]
pub(super) const OGR_CELLS: Option<CellsWriter> = None;
/// The GeoTIFF writer of region cells, with the `gdal` feature.
#[cfg(feature = "gdal")]
pub(super) const TIFF_CELLS: Option<CellsWriter> = Some(gdal::tiff_cells);
/// The GeoTIFF writer of region cells, with the `gdal` feature.
#[cfg(not(feature = "gdal"))]
pub(super) const TIFF_CELLS: Option<CellsWriter> = None;

/// The writers through GDAL.
#[cfg(feature = "gdal")]
mod gdal {
    use super::{CellOptions, CellWriter, Format, OutputError};
    use crate::batch::ScoredSite;
    use crate::engine::{Engine, Evaluation};
    use crate::error::Result;
    use crate::export::{AtomicFile, Context, ogr};
    use crate::region::{Cell, Region, RegionSummary};

    fn driver(_format: Format) -> &'static str {
        "GPKG"
    }

    pub(super) fn ogr_sites(
        format: Format,
        file: &mut AtomicFile,
        ctx: &Context,
        results: &[ScoredSite],
    ) -> Result<()> {
        use crate::export::{input_values, result_columns, result_values};
        let inputs: Vec<String> = ctx.header.columns.clone();
        let mut columns = inputs.clone();
        columns.extend(result_columns(ctx, &inputs));
        let mut rows = Vec::with_capacity(results.len());
        for s in results {
            let mut values: Vec<serde_json::Value> = input_values(ctx.header, s)
                .into_iter()
                .map(|(_, v)| v)
                .collect();
            values.extend(result_values(ctx, s));
            rows.push((ogr::point(s.site.lon, s.site.lat)?, values));
        }
        let geometry = ::gdal::vector::OGRwkbGeometryType::wkbPoint;
        ogr::write_layer(
            file.path()?,
            driver(format),
            "sites",
            geometry,
            &columns,
            rows,
        )
    }

    pub(super) fn ogr_cells<'a>(
        format: Format,
        file: &'a mut AtomicFile,
        options: &CellOptions,
    ) -> Result<Box<dyn CellWriter + 'a>> {
        Ok(Box::new(OgrCells {
            file,
            format,
            detail: options.detail,
            columns: Vec::new(),
            rows: Vec::new(),
        }))
    }

    pub(super) fn tiff_cells<'a>(
        _format: Format,
        file: &'a mut AtomicFile,
        options: &CellOptions,
    ) -> Result<Box<dyn CellWriter + 'a>> {
        Ok(Box::new(TiffCells {
            file,
            cell_deg: options.cell_deg,
            cells: Vec::new(),
        }))
    }

    struct OgrCells<'a> {
        file: &'a mut AtomicFile,
        format: Format,
        detail: crate::export::region::CellDetail,
        columns: Vec<String>,
        rows: Vec<(::gdal::vector::Geometry, Vec<serde_json::Value>)>,
    }

    impl CellWriter for OgrCells<'_> {
        fn cell(&mut self, engine: &Engine, c: &Cell, e: &Evaluation) -> std::io::Result<()> {
            use crate::export::region::{cell_columns, cell_properties};
            let props = cell_properties(engine, e, self.detail);
            if self.columns.is_empty() {
                self.columns = cell_columns(engine, self.detail);
            }
            let values = self
                .columns
                .iter()
                .map(|k| props.get(k).cloned().unwrap_or_default())
                .collect();
            let [x0, y0, x1, y1] = c.rect();
            let geometry =
                ogr::rectangle(x0, y0, x1, y1).map_err(|e| std::io::Error::other(e.to_string()))?;
            self.rows.push((geometry, values));
            Ok(())
        }
        fn finish(
            self: Box<Self>,
            _engine: &Engine,
            _region: &Region,
            _summary: &RegionSummary,
        ) -> std::result::Result<(), OutputError> {
            let geometry = ::gdal::vector::OGRwkbGeometryType::wkbPolygon;
            let path = self.file.path()?;
            let driver = driver(self.format);
            ogr::write_layer(path, driver, "cells", geometry, &self.columns, self.rows)?;
            Ok(())
        }
    }

    struct TiffCells<'a> {
        file: &'a mut AtomicFile,
        cell_deg: f64,
        cells: Vec<Cell>,
    }

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
            let path = self.file.path()?;
            crate::export::raster::write_region_geotiff(
                engine,
                region,
                self.cell_deg,
                &self.cells,
                path,
            )?;
            Ok(())
        }
    }
}
