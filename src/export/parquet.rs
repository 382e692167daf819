//! GeoParquet 1.1 without GDAL (the pure-Rust `parquet` and `arrow` crates): scored sites as
//! points and region cells as rectangles, WKB in a `geometry` column, longitude/latitude on
//! WGS 84 (the `geo` metadata names no CRS, which GeoParquet reads as OGC:CRS84).
//!
//! Rows are gathered into row groups of [`ROW_GROUP_ROWS`]; each finished row group is
//! handed to the output at once, so memory does not grow with the number of rows and the
//! output may be a pipe. A column's type is fixed when the first row group is written:
//! ranks are `int64`, sub-scores and contributions `double`, other columns take the type of
//! their first non-null value (numbers `double`, everything else `string`); a column with
//! no value in the first row group is `string`. A later value of the other kind is written
//! as text in a `string` column and left null in a number column (as in [`super::fgb`]).
//!
//! The file's key-value metadata holds `geo` (the GeoParquet metadata, with the geometry
//! type and the bounding box of all rows) and `standort` (the run's summary, as in the
//! GeoJSON output's `standort` member).

use super::fgb::{INTEGER_COLUMNS, Shape};
use arrow_array::builder::{BinaryBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::{Value as Json, json};
use std::io::{self, Write};
use std::sync::Arc;

/// Rows per row group: small enough to keep memory flat (about 100 bytes a row in flight),
/// large enough for good compression and few footer entries.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Long,
    Double,
    Text,
}

impl Kind {
    fn data_type(self) -> DataType {
        match self {
            Kind::Long => DataType::Int64,
            Kind::Double => DataType::Float64,
            Kind::Text => DataType::Utf8,
        }
    }
}

/// The type a result column has whatever its values: ranks are whole numbers, scores
/// fractions, a criterion's value a number or text as its standardisation reads it;
/// `None` for other columns (typed by their values).
fn declared_kind(engine: Option<&crate::Engine>, name: &str) -> Option<Kind> {
    let name = name.strip_prefix("standort_").unwrap_or(name);
    if INTEGER_COLUMNS.contains(&name) {
        return Some(Kind::Long);
    }
    if name == "score"
        || name.ends_with("_score")
        || name.ends_with("_contribution")
        || name == "rank_mean"
        || name.starts_with("p_top_")
    {
        return Some(Kind::Double);
    }
    if ["status", "reasons", "unknown"].contains(&name) {
        return Some(Kind::Text);
    }
    let criteria = engine.map_or(&[][..], |e| &e.profile().criteria[..]);
    criteria.iter().find_map(|c| {
        if name == c.value_column() {
            Some(if c.standardise.is_numeric() {
                Kind::Double
            } else {
                Kind::Text
            })
        } else if name == format!("{}_unit", c.id()) || name == format!("{}_source", c.id()) {
            Some(Kind::Text)
        } else {
            None
        }
    })
}

fn parquet_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("Parquet: {e}"))
}

/// A GeoParquet layer being written: rows in, row groups out as they fill, the footer at
/// [`ParquetLayer::finish`].
pub struct ParquetLayer {
    columns: Vec<String>,
    geometry_column: String,
    polygons: bool,
    kinds: Vec<Option<Kind>>,
    rows: Vec<Vec<Json>>,
    shapes: Vec<Shape>,
    writer: Option<ArrowWriter<Vec<u8>>>,
    schema: Option<SchemaRef>,
    bbox: Option<[f64; 4]>,
}

impl ParquetLayer {
    /// A layer of points or polygons with these columns, then the geometry (named
    /// `geometry`, or `standort_geometry` when a column already has that name); the result
    /// columns of `engine` get their declared types.
    pub fn new(
        polygons: bool,
        columns: Vec<String>,
        engine: Option<&crate::Engine>,
    ) -> ParquetLayer {
        let kinds = columns.iter().map(|c| declared_kind(engine, c)).collect();
        let geometry_column = if columns.iter().any(|c| c == "geometry") {
            "standort_geometry".to_string()
        } else {
            "geometry".to_string()
        };
        ParquetLayer {
            columns,
            geometry_column,
            polygons,
            kinds,
            rows: Vec::with_capacity(ROW_GROUP_ROWS),
            shapes: Vec::with_capacity(ROW_GROUP_ROWS),
            writer: None,
            schema: None,
            bbox: None,
        }
    }

    /// Add a row with one value per column (`null`: no value); a full row group goes to
    /// `out`.
    pub fn add(&mut self, shape: Shape, values: &[Json], out: &mut dyn Write) -> io::Result<()> {
        let (x0, y0, x1, y1) = match shape {
            Shape::Point(x, y) => (x, y, x, y),
            Shape::Rect([x0, y0, x1, y1]) => (x0, y0, x1, y1),
        };
        let b = self.bbox.get_or_insert([x0, y0, x1, y1]);
        *b = [b[0].min(x0), b[1].min(y0), b[2].max(x1), b[3].max(y1)];
        self.shapes.push(shape);
        self.rows.push(values.to_vec());
        if self.rows.len() >= ROW_GROUP_ROWS {
            self.flush(out)?;
        }
        Ok(())
    }

    /// Write the gathered rows as a row group and hand the bytes to `out`.
    fn flush(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.writer.is_none() {
            self.start()?;
        }
        let (Some(writer), Some(schema)) = (self.writer.as_mut(), &self.schema) else {
            return Ok(());
        };
        if !self.rows.is_empty() {
            let batch = batch(schema.clone(), &self.kinds, &self.rows, &self.shapes)?;
            writer.write(&batch).map_err(parquet_error)?;
            writer.flush().map_err(parquet_error)?;
            self.rows.clear();
            self.shapes.clear();
        }
        let bytes = writer.inner_mut();
        out.write_all(bytes)?;
        bytes.clear();
        Ok(())
    }

    /// Fix the columns' types from the rows gathered so far and open the writer.
    fn start(&mut self) -> io::Result<()> {
        for (i, kind) in self.kinds.iter_mut().enumerate() {
            if kind.is_none() {
                *kind = Some(first_kind(&self.rows, i));
            }
        }
        let mut fields: Vec<Field> = self
            .columns
            .iter()
            .zip(&self.kinds)
            .map(|(name, k)| Field::new(name, k.unwrap_or(Kind::Text).data_type(), true))
            .collect();
        fields.push(Field::new(&self.geometry_column, DataType::Binary, false));
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(3).map_err(parquet_error)?,
            ))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(format!("standort {}", env!("CARGO_PKG_VERSION")))
            .build();
        let schema = Arc::new(Schema::new(fields));
        // Without the embedded Arrow schema, readers (pyarrow, GeoPandas, GDAL) take the
        // file's key-value metadata, `geo` among them, as the schema's metadata; the types
        // are plain Parquet ones either way.
        let options = ArrowWriterOptions::new()
            .with_properties(props)
            .with_skip_arrow_metadata(true);
        let writer = ArrowWriter::try_new_with_options(Vec::new(), schema.clone(), options)
            .map_err(parquet_error)?;
        self.writer = Some(writer);
        self.schema = Some(schema);
        Ok(())
    }

    /// Write the last row group and the footer, with the GeoParquet metadata and `extra`
    /// under the key `standort`.
    pub fn finish(mut self, extra: &Json, out: &mut dyn Write) -> io::Result<()> {
        self.flush(out)?;
        let geo = self.geo_metadata();
        let Some(mut writer) = self.writer.take() else {
            return Ok(());
        };
        writer.append_key_value_metadata(KeyValue::new("geo".into(), geo.to_string()));
        writer.append_key_value_metadata(KeyValue::new("standort".into(), extra.to_string()));
        writer.finish().map_err(parquet_error)?;
        out.write_all(writer.inner_mut())?;
        out.flush()
    }

    /// The GeoParquet 1.1 `geo` metadata.
    fn geo_metadata(&self) -> Json {
        let kind = if self.polygons { "Polygon" } else { "Point" };
        let mut column = json!({"encoding": "WKB", "geometry_types": [kind]});
        if let Some(b) = self.bbox {
            column["bbox"] = json!(b);
        }
        json!({
            "version": "1.1.0",
            "primary_column": self.geometry_column,
            "columns": {self.geometry_column.clone(): column},
        })
    }
}

/// A record batch of `rows` (one value per column) and their shapes as WKB.
fn batch(
    schema: SchemaRef,
    kinds: &[Option<Kind>],
    rows: &[Vec<Json>],
    shapes: &[Shape],
) -> io::Result<RecordBatch> {
    let mut arrays = arrays(kinds, rows);
    arrays.push(wkb_column(shapes));
    RecordBatch::try_new(schema, arrays).map_err(parquet_error)
}

/// One Arrow array per column of `rows` (one JSON value per column), of the kinds given.
fn arrays(kinds: &[Option<Kind>], rows: &[Vec<Json>]) -> Vec<ArrayRef> {
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(kinds.len() + 1);
    for (i, kind) in kinds.iter().enumerate() {
        let values = rows.iter().map(|r| r.get(i).unwrap_or(&Json::Null));
        arrays.push(match kind.unwrap_or(Kind::Text) {
            Kind::Long => {
                let mut b = Int64Builder::with_capacity(rows.len());
                values.for_each(|v| b.append_option(v.as_i64()));
                Arc::new(b.finish())
            }
            Kind::Double => {
                let mut b = Float64Builder::with_capacity(rows.len());
                values.for_each(|v| b.append_option(v.as_f64()));
                Arc::new(b.finish())
            }
            Kind::Text => {
                let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 8);
                values.for_each(|v| match v {
                    Json::Null => b.append_null(),
                    Json::String(s) => b.append_value(s),
                    other => b.append_value(other.to_string()),
                });
                Arc::new(b.finish())
            }
        });
    }
    arrays
}

/// Shapes as a column of WKB.
pub fn wkb_column(shapes: &[Shape]) -> ArrayRef {
    let mut geometry = BinaryBuilder::with_capacity(shapes.len(), shapes.len() * 93);
    let mut wkb = Vec::with_capacity(93);
    for s in shapes {
        wkb.clear();
        write_wkb(*s, &mut wkb);
        geometry.append_value(&wkb);
    }
    Arc::new(geometry.finish())
}

/// Typed Arrow columns of `rows` (one JSON value per name), as GeoParquet output types
/// them: result columns of `engine` by their declared type (so that every batch of a
/// stream has the same schema), others by their first non-null value.
pub fn typed_columns(
    engine: Option<&crate::Engine>,
    names: &[String],
    rows: &[Vec<Json>],
) -> (Vec<Field>, Vec<ArrayRef>) {
    let kinds: Vec<Option<Kind>> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Some(declared_kind(engine, n).unwrap_or_else(|| first_kind(rows, i))))
        .collect();
    let fields = names
        .iter()
        .zip(&kinds)
        .map(|(n, k)| Field::new(n, k.unwrap_or(Kind::Text).data_type(), true))
        .collect();
    (fields, arrays(&kinds, rows))
}

/// The kind of column `i`'s first non-null value (text when there is none).
fn first_kind(rows: &[Vec<Json>], i: usize) -> Kind {
    match rows.iter().map(|r| &r[i]).find(|v| !v.is_null()) {
        Some(Json::Number(_)) => Kind::Double,
        _ => Kind::Text,
    }
}

/// A shape as little-endian WKB (ISO): a point, or a polygon of one counter-clockwise ring.
pub fn write_wkb(shape: Shape, out: &mut Vec<u8>) {
    out.push(1);
    match shape {
        Shape::Point(x, y) => {
            out.extend(1u32.to_le_bytes());
            out.extend(x.to_le_bytes());
            out.extend(y.to_le_bytes());
        }
        Shape::Rect([x0, y0, x1, y1]) => {
            out.extend(3u32.to_le_bytes());
            out.extend(1u32.to_le_bytes());
            out.extend(5u32.to_le_bytes());
            for (x, y) in [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)] {
                out.extend(x.to_le_bytes());
                out.extend(y.to_le_bytes());
            }
        }
    }
}

/// Scored sites as GeoParquet points: the input's columns, then the results.
pub fn write_parquet(
    out: &mut dyn Write,
    ctx: &super::Context,
    results: &mut dyn crate::batch::SiteRows,
) -> io::Result<()> {
    let inputs = ctx.header.columns.clone();
    let mut columns = inputs.clone();
    columns.extend(super::result_columns(ctx, &inputs));
    let mut layer = ParquetLayer::new(false, columns, Some(ctx.engine));
    results.for_each(&mut |s| {
        let mut values: Vec<Json> = super::input_values(ctx.header, s)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        values.extend(super::result_values(ctx, s));
        layer.add(Shape::Point(s.site.lon, s.site.lat), &values, out)
    })?;
    layer.finish(&super::geojson::metadata(ctx), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wkb_of_a_point_and_a_rectangle() {
        let mut b = Vec::new();
        write_wkb(Shape::Point(1.5, -2.0), &mut b);
        assert_eq!(b.len(), 21);
        assert_eq!(&b[..5], &[1, 1, 0, 0, 0]);
        assert_eq!(f64::from_le_bytes(b[5..13].try_into().unwrap()), 1.5);
        assert_eq!(f64::from_le_bytes(b[13..21].try_into().unwrap()), -2.0);
        b.clear();
        write_wkb(Shape::Rect([0.0, 1.0, 2.0, 3.0]), &mut b);
        assert_eq!(b.len(), 93);
        assert_eq!(&b[1..13], &[3, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0]);
        let xy = |k: usize| {
            let at = 13 + 16 * k;
            (
                f64::from_le_bytes(b[at..at + 8].try_into().unwrap()),
                f64::from_le_bytes(b[at + 8..at + 16].try_into().unwrap()),
            )
        };
        // Counter-clockwise from the lower left, closed.
        assert_eq!(xy(1), (2.0, 1.0));
        assert_eq!(xy(2), (2.0, 3.0));
        assert_eq!(xy(4), xy(0));
    }

    #[test]
    fn types_are_declared_or_taken_from_the_first_row_group() {
        assert_eq!(declared_kind(None, "rank"), Some(Kind::Long));
        assert_eq!(declared_kind(None, "standort_rank"), Some(Kind::Long));
        assert_eq!(declared_kind(None, "grid_score"), Some(Kind::Double));
        assert_eq!(declared_kind(None, "grid_km"), None);
        let cols = vec!["a".into(), "b".into(), "c".into()];
        let mut layer = ParquetLayer::new(false, cols, None);
        let mut out = Vec::new();
        let rows = [
            [json!(null), json!("x"), json!(null)],
            [json!(2.5), json!(3), json!(null)],
        ];
        for r in &rows {
            layer.add(Shape::Point(0.0, 0.0), r, &mut out).unwrap();
        }
        layer.flush(&mut out).unwrap();
        assert_eq!(
            layer.kinds,
            vec![Some(Kind::Double), Some(Kind::Text), Some(Kind::Text)]
        );
        layer.finish(&json!({}), &mut out).unwrap();
        assert!(out.starts_with(b"PAR1") && out.ends_with(b"PAR1"));
    }
}
