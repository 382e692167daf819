//! Sites in Arrow record batches (GeoParquet files, Python tables): where a table keeps its
//! positions, and the positions and columns of each row.
//!
//! A position is read from, in this order: the longitude/latitude columns named in the
//! options; the primary geometry column of GeoParquet's `geo` metadata; a column marked as
//! GeoArrow (`geoarrow.wkb` or `geoarrow.point`); a binary column named `geometry` or
//! `geom`; else longitude/latitude columns found by name, as in a CSV (`lon`, `longitude`,
//! `x`, ...). Geometries are WKB points (ISO or EWKB, either byte order, Z and M ignored) or
//! GeoArrow points (a struct of `x` and `y`). Rows are counted from 0 in messages, as
//! pandas and pyarrow count them.

use super::SiteOptions;
use crate::error::{Error, ErrorKind, Result};
use crate::layers::{LAT_NAMES, LON_NAMES};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, StructArray};
use arrow_schema::{DataType, Schema};
use serde_json::Value as Json;

/// Where a table keeps its sites' positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// Longitude and latitude columns (numbers), by index.
    Columns {
        /// The longitude column.
        lon: usize,
        /// The latitude column.
        lat: usize,
    },
    /// A column of WKB points.
    Wkb(usize),
    /// A GeoArrow point column (a struct of `x` and `y`).
    Point(usize),
}

impl Position {
    /// The columns that hold the position (not carried as a site's own columns when they
    /// are a geometry).
    pub fn geometry_column(&self) -> Option<usize> {
        match *self {
            Position::Wkb(i) | Position::Point(i) => Some(i),
            Position::Columns { .. } => None,
        }
    }
}

fn is_binary(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView
    )
}

fn is_point_struct(t: &DataType) -> bool {
    match t {
        DataType::Struct(f) => {
            f.len() >= 2
                && f[0].name() == "x"
                && f[1].name() == "y"
                && f[0].data_type().is_numeric()
        }
        _ => false,
    }
}

/// A geometry column by its type: WKB or GeoArrow points.
fn geometry_at(schema: &Schema, i: usize, label: &str) -> Result<Position> {
    let f = schema.field(i);
    if is_binary(f.data_type()) {
        Ok(Position::Wkb(i))
    } else if is_point_struct(f.data_type()) {
        Ok(Position::Point(i))
    } else {
        Err(Error::at(
            ErrorKind::Input,
            label,
            format!(
                "geometry column \"{}\" is {}: sites need WKB points or GeoArrow points (x, y)",
                f.name(),
                f.data_type()
            ),
        ))
    }
}

/// Where `schema`'s sites are (see the module docs); `geo` is GeoParquet's `geo` metadata.
pub fn locate(
    schema: &Schema,
    geo: Option<&str>,
    options: &SiteOptions,
    label: &str,
) -> Result<Position> {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if options.lat.is_none() && options.lon.is_none() {
        let primary = geo
            .and_then(|g| serde_json::from_str::<Json>(g).ok())
            .and_then(|g| g["primary_column"].as_str().map(str::to_string));
        if let Some(i) = primary.and_then(|p| names.iter().position(|n| *n == p)) {
            return geometry_at(schema, i, label);
        }
        let marked = schema.fields().iter().position(|f| {
            matches!(
                f.metadata().get("ARROW:extension:name").map(String::as_str),
                Some("geoarrow.wkb" | "geoarrow.point")
            )
        });
        let named = || {
            names
                .iter()
                .zip(schema.fields())
                .position(|(n, f)| ["geometry", "geom"].contains(n) && is_binary(f.data_type()))
        };
        if let Some(i) = marked.or_else(named) {
            return geometry_at(schema, i, label);
        }
    }
    let find = |given: Option<&str>, candidates: &[&str], what: &str| -> Result<usize> {
        let found = match given {
            Some(g) => names.iter().position(|n| *n == g),
            None => candidates
                .iter()
                .find_map(|c| names.iter().position(|n| n.eq_ignore_ascii_case(c))),
        };
        found.ok_or_else(|| {
            let msg = match given {
                Some(g) => format!("no {what} column \"{g}\" (columns: {})", names.join(", ")),
                None => format!(
                    "no geometry column (WKB or GeoArrow points) and no {what} column (looked for {}; columns: {})",
                    candidates.join("/"),
                    names.join(", ")
                ),
            };
            Error::at(ErrorKind::Input, label, msg)
        })
    };
    let cc = (
        find(options.lon.as_deref(), &LON_NAMES, "longitude")?,
        find(options.lat.as_deref(), &LAT_NAMES, "latitude")?,
    );
    for i in [cc.0, cc.1] {
        let f = schema.field(i);
        if !f.data_type().is_numeric() {
            return Err(Error::at(
                ErrorKind::Input,
                label,
                format!(
                    "coordinate column \"{}\" is {}, not a number",
                    f.name(),
                    f.data_type()
                ),
            ));
        }
    }
    Ok(Position::Columns {
        lon: cc.0,
        lat: cc.1,
    })
}

/// A numeric column as f64 values (null: `None`).
fn numbers(a: &ArrayRef) -> Result<Vec<Option<f64>>> {
    let a = arrow_cast::cast(a, &DataType::Float64)
        .map_err(|e| Error::new(ErrorKind::Input, format!("coordinates: {e}")))?;
    let a = a.as_primitive::<arrow_array::types::Float64Type>();
    Ok((0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect())
}

/// A point's (x, y) from WKB, or why not.
pub fn wkb_point(b: &[u8]) -> std::result::Result<(f64, f64), String> {
    let (&order, rest) = b.split_first().ok_or("empty WKB")?;
    let word = |at: usize| -> std::result::Result<[u8; 4], String> {
        rest.get(at..at + 4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| "truncated WKB".to_string())
    };
    let u32_at = |at: usize| {
        word(at).map(|w| match order {
            0 => u32::from_be_bytes(w),
            _ => u32::from_le_bytes(w),
        })
    };
    if order > 1 {
        return Err(format!("WKB byte order {order} is neither 0 nor 1"));
    }
    let ty = u32_at(0)?;
    // EWKB flags (Z, M, SRID) in the high bits; ISO codes 1001/2001/3001 for Z, M, ZM.
    let srid = ty & 0x2000_0000 != 0;
    let base = (ty & 0x0fff_ffff) % 1000;
    if base != 1 {
        let name = match base {
            2 => "a LineString",
            3 => "a Polygon",
            4 => "a MultiPoint",
            5 => "a MultiLineString",
            6 => "a MultiPolygon",
            7 => "a GeometryCollection",
            _ => "not a geometry WKB knows",
        };
        return Err(format!("sites must be Points, found {name}"));
    }
    let at = if srid { 8 } else { 4 };
    let f = |at: usize| -> std::result::Result<f64, String> {
        let lo = word(at)?;
        let hi = word(at + 4)?;
        let bytes = [lo, hi].concat();
        let b: [u8; 8] = bytes.try_into().map_err(|_| "truncated WKB".to_string())?;
        Ok(match order {
            0 => f64::from_be_bytes(b),
            _ => f64::from_le_bytes(b),
        })
    };
    let (x, y) = (f(at)?, f(at + 8)?);
    if x.is_nan() && y.is_nan() {
        return Err("the point is empty".into());
    }
    Ok((x, y))
}

/// A coordinate within [-max_abs, max_abs].
fn check(v: f64, what: &str, max_abs: f64) -> std::result::Result<f64, String> {
    if v.is_finite() && v.abs() <= max_abs {
        Ok(v)
    } else {
        Err(format!(
            "{what} {} is out of range [-{max_abs}, {max_abs}]",
            crate::text::format_number(v)
        ))
    }
}

/// The (lon, lat) of every row of `batch`, checked; `first_row` numbers the rows in
/// messages, which name `label`.
pub fn positions(
    batch: &RecordBatch,
    at: &Position,
    first_row: u64,
    label: &str,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let err = |row: usize, msg: String| {
        Error::at(
            ErrorKind::Input,
            label,
            format!("row {}: {msg}", first_row + row as u64),
        )
    };
    let n = batch.num_rows();
    let (mut lon, mut lat) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut push = |row: usize, x: f64, y: f64| -> Result<()> {
        lon.push(check(x, "longitude", 180.0).map_err(|m| err(row, m))?);
        lat.push(check(y, "latitude", 90.0).map_err(|m| err(row, m))?);
        Ok(())
    };
    match *at {
        Position::Columns { lon: x, lat: y } => {
            let (xs, ys) = (numbers(batch.column(x))?, numbers(batch.column(y))?);
            for (row, (x, y)) in xs.into_iter().zip(ys).enumerate() {
                match (x, y) {
                    (Some(x), Some(y)) => push(row, x, y)?,
                    (None, _) => return Err(err(row, "longitude is null".into())),
                    (_, None) => return Err(err(row, "latitude is null".into())),
                }
            }
        }
        Position::Wkb(i) => {
            let c = batch.column(i);
            for row in 0..n {
                let b = wkb_bytes(c, row).ok_or_else(|| err(row, "geometry is null".into()))?;
                let (x, y) = wkb_point(b).map_err(|m| err(row, m))?;
                push(row, x, y)?;
            }
        }
        Position::Point(i) => {
            let s: &StructArray = batch.column(i).as_struct();
            let (xs, ys) = (numbers(s.column(0))?, numbers(s.column(1))?);
            for row in 0..n {
                match (s.is_valid(row), xs[row], ys[row]) {
                    (true, Some(x), Some(y)) => push(row, x, y)?,
                    _ => return Err(err(row, "geometry is null".into())),
                }
            }
        }
    }
    Ok((lon, lat))
}

/// The WKB of a row of a binary column (`None`: null).
fn wkb_bytes(c: &ArrayRef, row: usize) -> Option<&[u8]> {
    if c.is_null(row) {
        return None;
    }
    Some(match c.data_type() {
        DataType::LargeBinary => c.as_binary::<i64>().value(row),
        DataType::BinaryView => c.as_binary_view().value(row),
        _ => c.as_binary::<i32>().value(row),
    })
}

/// A cell of `column` as JSON: numbers, text and booleans as they are; anything else
/// (dates, lists, ...) as its text.
pub fn json_value(column: &ArrayRef, row: usize) -> Json {
    use arrow_array::types::*;
    if column.is_null(row) {
        return Json::Null;
    }
    let c = column;
    match c.data_type() {
        DataType::Boolean => Json::from(c.as_boolean().value(row)),
        DataType::Int8 => Json::from(c.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => Json::from(c.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => Json::from(c.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => Json::from(c.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => Json::from(c.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => Json::from(c.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => Json::from(c.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => Json::from(c.as_primitive::<UInt64Type>().value(row)),
        DataType::Float32 => number(f64::from(c.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => number(c.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Json::from(c.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Json::from(c.as_string::<i64>().value(row)),
        DataType::Utf8View => Json::from(c.as_string_view().value(row)),
        _ => arrow_cast::display::ArrayFormatter::try_new(c.as_ref(), &Default::default())
            .map_or(Json::Null, |f| Json::from(f.value(row).to_string())),
    }
}

fn number(x: f64) -> Json {
    serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{BinaryArray, Float64Array, Int32Array};
    use arrow_schema::Field;
    use std::sync::Arc;

    fn wkb(order: u8, ty: u32, x: f64, y: f64) -> Vec<u8> {
        let mut b = vec![order];
        if order == 0 {
            b.extend(ty.to_be_bytes());
            b.extend(x.to_be_bytes());
            b.extend(y.to_be_bytes());
        } else {
            b.extend(ty.to_le_bytes());
            b.extend(x.to_le_bytes());
            b.extend(y.to_le_bytes());
        }
        b
    }

    #[test]
    fn wkb_points_in_both_byte_orders_and_with_z() {
        assert_eq!(wkb_point(&wkb(1, 1, 1.5, -2.0)), Ok((1.5, -2.0)));
        assert_eq!(wkb_point(&wkb(0, 1, 1.5, -2.0)), Ok((1.5, -2.0)));
        let mut z = wkb(1, 1001, 3.0, 4.0);
        z.extend(9.0f64.to_le_bytes());
        assert_eq!(wkb_point(&z), Ok((3.0, 4.0)));
        // EWKB with an SRID.
        let mut e = vec![1];
        e.extend(0x2000_0001u32.to_le_bytes());
        e.extend(4326u32.to_le_bytes());
        e.extend(5.0f64.to_le_bytes());
        e.extend(6.0f64.to_le_bytes());
        assert_eq!(wkb_point(&e), Ok((5.0, 6.0)));
        assert!(
            wkb_point(&wkb(1, 3, 0.0, 0.0))
                .unwrap_err()
                .contains("Polygon")
        );
        assert!(
            wkb_point(&wkb(1, 1, 0.0, 0.0)[..10])
                .unwrap_err()
                .contains("truncated")
        );
        assert!(
            wkb_point(&wkb(1, 1, f64::NAN, f64::NAN))
                .unwrap_err()
                .contains("empty")
        );
        assert!(wkb_point(&[]).is_err());
    }

    #[test]
    fn positions_from_columns_or_geometry_with_row_numbers_in_errors() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Int32, true),
            Field::new("x", DataType::Float64, true),
            Field::new("Latitude", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int32Array::from(vec![1, 2])),
                Arc::new(Float64Array::from(vec![Some(10.0), Some(200.0)])),
                Arc::new(Float64Array::from(vec![Some(5.0), Some(6.0)])),
            ],
        )
        .unwrap();
        let at = locate(&schema, None, &SiteOptions::default(), "t").unwrap();
        assert_eq!(at, Position::Columns { lon: 1, lat: 2 });
        let e = positions(&batch, &at, 10, "t").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t: row 11: longitude 200 is out of range [-180, 180]"
        );
        let one = batch.slice(0, 1);
        assert_eq!(
            positions(&one, &at, 0, "t").unwrap(),
            (vec![10.0], vec![5.0])
        );
        assert_eq!(json_value(batch.column(0), 1), Json::from(2));

        let schema = Arc::new(Schema::new(vec![Field::new(
            "geometry",
            DataType::Binary,
            true,
        )]));
        let points = [wkb(1, 1, -179.5, 89.0), wkb(1, 3, 0.0, 0.0)];
        let col = BinaryArray::from_iter([Some(points[0].as_slice()), Some(&points[1][..]), None]);
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(col)]).unwrap();
        let at = locate(&schema, None, &SiteOptions::default(), "t").unwrap();
        assert_eq!(at, Position::Wkb(0));
        let e = positions(&batch, &at, 0, "t").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t: row 1: sites must be Points, found a Polygon"
        );
        assert_eq!(
            positions(&batch.slice(0, 1), &at, 0, "t").unwrap(),
            (vec![-179.5], vec![89.0])
        );
        let e = positions(&batch.slice(2, 1), &at, 2, "t").unwrap_err();
        assert_eq!(e.to_string(), "t: row 2: geometry is null");
    }

    #[test]
    fn geoarrow_points_and_large_wkb_are_read_like_wkb() {
        use arrow_array::{Float64Array, LargeBinaryArray};
        let xs = Arc::new(Float64Array::from(vec![Some(179.9), Some(0.0)]));
        let ys = Arc::new(Float64Array::from(vec![Some(-89.9), None]));
        let fields = vec![
            Field::new("x", DataType::Float64, true),
            Field::new("y", DataType::Float64, true),
        ];
        let points = StructArray::new(fields.into(), vec![xs as ArrayRef, ys as ArrayRef], None);
        let meta = std::collections::HashMap::from([(
            "ARROW:extension:name".to_string(),
            "geoarrow.point".to_string(),
        )]);
        let field = Field::new("where", points.data_type().clone(), true).with_metadata(meta);
        let schema = Arc::new(Schema::new(vec![field]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(points)]).unwrap();
        let at = locate(&schema, None, &SiteOptions::default(), "t").unwrap();
        assert_eq!(at, Position::Point(0));
        assert_eq!(
            positions(&batch.slice(0, 1), &at, 0, "t").unwrap(),
            (vec![179.9], vec![-89.9])
        );
        let e = positions(&batch, &at, 0, "t").unwrap_err();
        assert_eq!(e.to_string(), "t: row 1: geometry is null");

        let wkb = wkb(0, 1, -0.5, 0.25);
        let large = LargeBinaryArray::from_iter_values([wkb.as_slice()]);
        let schema = Arc::new(Schema::new(vec![Field::new(
            "geom",
            DataType::LargeBinary,
            false,
        )]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(large)]).unwrap();
        let at = locate(&schema, None, &SiteOptions::default(), "t").unwrap();
        assert_eq!(
            positions(&batch, &at, 0, "t").unwrap(),
            (vec![-0.5], vec![0.25])
        );
    }

    #[test]
    fn a_table_without_positions_is_an_error_naming_what_was_looked_for() {
        let schema = Schema::new(vec![Field::new("name", DataType::Utf8, true)]);
        let e = locate(&schema, None, &SiteOptions::default(), "t").unwrap_err();
        assert!(e.to_string().contains("no geometry column"), "{e}");
        let schema = Schema::new(vec![
            Field::new("lon", DataType::Utf8, true),
            Field::new("lat", DataType::Float64, true),
        ]);
        let e = locate(&schema, None, &SiteOptions::default(), "t").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t: coordinate column \"lon\" is Utf8, not a number"
        );
    }
}
