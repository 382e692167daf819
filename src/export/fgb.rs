//! FlatGeobuf without GDAL (the pure-Rust `flatgeobuf` crate): scored sites as points and
//! region cells as rectangles, in WGS 84 (EPSG:4326), with the packed Hilbert R-tree index
//! that lets QGIS and `ogrinfo -spat` read a window without reading the whole file.
//!
//! Features are spilled to an unnamed temporary file as they come (the crate's writer) and
//! written sorted along the Hilbert curve at the end. A column's type is declared (`Long`
//! for ranks) or that of its first non-null value: numbers are `Double`, everything else
//! `String`; a later value of the other kind is written as text in a `String` column and left
//! null in a number column.

use super::{Context, input_values, result_columns, result_values};
use crate::batch::SiteRows;
use flatgeobuf::{ColumnType, FgbCrs, FgbWriter, FgbWriterOptions, GeometryType};
use geozero::error::Result as GeozeroResult;
use geozero::{ColumnValue, GeomProcessor, GeozeroGeometry, PropertyProcessor};
use serde_json::Value as Json;
use std::io::{self, Write};

/// A feature's geometry.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A point (lon, lat).
    Point(f64, f64),
    /// A rectangle `[min_lon, min_lat, max_lon, max_lat]`, written counter-clockwise.
    Rect([f64; 4]),
}

impl GeozeroGeometry for Shape {
    fn process_geom<P: GeomProcessor>(&self, p: &mut P) -> GeozeroResult<()> {
        match *self {
            Shape::Point(x, y) => {
                p.point_begin(0)?;
                p.xy(x, y, 0)?;
                p.point_end(0)
            }
            Shape::Rect([x0, y0, x1, y1]) => {
                p.polygon_begin(true, 1, 0)?;
                p.linestring_begin(false, 5, 0)?;
                for (i, (x, y)) in [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
                    .into_iter()
                    .enumerate()
                {
                    p.xy(x, y, i)?;
                }
                p.linestring_end(false, 0)?;
                p.polygon_end(true, 0)
            }
        }
    }
}

/// A FlatGeobuf layer being written: features in, the file out at [`FgbLayer::finish`].
pub struct FgbLayer<'a> {
    writer: FgbWriter<'a>,
    columns: Vec<String>,
    types: Vec<Option<ColumnType>>,
}

fn fgb_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("FlatGeobuf: {e}"))
}

impl FgbLayer<'_> {
    /// A layer `name` of points or polygons with these columns (those in [`INTEGER_COLUMNS`]
    /// are integers).
    pub fn new(name: &str, polygons: bool, columns: Vec<String>) -> io::Result<Self> {
        let geometry = if polygons {
            GeometryType::Polygon
        } else {
            GeometryType::Point
        };
        let options = FgbWriterOptions {
            write_index: true,
            crs: FgbCrs {
                code: 4326,
                ..Default::default()
            },
            ..Default::default()
        };
        let writer = FgbWriter::create_with_options(name, geometry, options).map_err(fgb_error)?;
        let types = columns
            .iter()
            .map(|c| {
                INTEGER_COLUMNS
                    .contains(&c.as_str())
                    .then_some(ColumnType::Long)
            })
            .collect();
        Ok(FgbLayer {
            writer,
            columns,
            types,
        })
    }

    /// Add a feature with one value per column (`null`: no value).
    pub fn add(&mut self, shape: Shape, values: &[Json]) -> io::Result<()> {
        let (columns, types) = (&self.columns, &mut self.types);
        let mut failed = None;
        self.writer
            .add_feature_geom(shape, |f| {
                for (i, v) in values.iter().enumerate().take(columns.len()) {
                    if let Err(e) = property(f, i, &columns[i], &mut types[i], v) {
                        failed = Some(e);
                    }
                }
            })
            .map_err(fgb_error)?;
        failed.map_or(Ok(()), |e| Err(fgb_error(e)))
    }

    /// Declare the columns with the types seen and write the file to `out`.
    pub fn finish(mut self, out: &mut dyn Write) -> io::Result<()> {
        for (name, ty) in self.columns.iter().zip(&self.types) {
            let ty = ty.unwrap_or(ColumnType::String);
            self.writer.add_column(name, ty, |_, c| c.nullable = true);
        }
        self.writer.write(&mut *out).map_err(fgb_error)?;
        out.flush()
    }
}

/// Columns that hold whole numbers.
pub const INTEGER_COLUMNS: &[&str] = &["rank", "tie_group", "rank_p05", "rank_p95", "top_rank"];

/// Write one property, fixing the column's type at its first non-null value.
fn property(
    f: &mut impl PropertyProcessor,
    i: usize,
    name: &str,
    ty: &mut Option<ColumnType>,
    v: &Json,
) -> GeozeroResult<()> {
    let text;
    let value = match (v, *ty) {
        (Json::Null, _) => return Ok(()),
        (Json::Number(n), Some(ColumnType::Long)) => match n.as_i64() {
            Some(v) => ColumnValue::Long(v),
            None => return Ok(()),
        },
        (Json::Number(n), None | Some(ColumnType::Double)) => {
            *ty = Some(ColumnType::Double);
            ColumnValue::Double(n.as_f64().unwrap_or(f64::NAN))
        }
        (_, Some(ColumnType::Double | ColumnType::Long)) => return Ok(()),
        (Json::String(s), _) => {
            *ty = Some(ColumnType::String);
            ColumnValue::String(s)
        }
        (other, _) => {
            *ty = Some(ColumnType::String);
            text = other.to_string();
            ColumnValue::String(&text)
        }
    };
    f.property(i, name, &value).map(|_| ())
}

/// Scored sites as a FlatGeobuf layer of points: the input's columns, then the results.
pub fn write_fgb(out: &mut dyn Write, ctx: &Context, results: &mut dyn SiteRows) -> io::Result<()> {
    let inputs = ctx.header.columns.clone();
    let mut columns = inputs.clone();
    columns.extend(result_columns(ctx, &inputs));
    let mut layer = FgbLayer::new("sites", false, columns)?;
    results.for_each(&mut |s| {
        let mut values: Vec<Json> = input_values(ctx.header, s)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        values.extend(result_values(ctx, s));
        layer.add(Shape::Point(s.site.lon, s.site.lat), &values)
    })?;
    layer.finish(out)
}
