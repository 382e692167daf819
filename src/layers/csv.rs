//! CSV point layers and CSV tables joined onto layers.

use super::{Attributes, JoinSpec, LayerSpec, PointFeature, Value};
use crate::error::{Error, ErrorKind, Result};
use std::collections::HashMap;
use std::path::Path;

pub(crate) const LAT_NAMES: [&str; 3] = ["latitude", "lat", "y"];
pub(crate) const LON_NAMES: [&str; 5] = ["longitude", "lon", "lng", "long", "x"];

/// Column indexes of latitude and longitude in a CSV header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoordinateColumns {
    /// Latitude column.
    pub lat: usize,
    /// Longitude column.
    pub lon: usize,
}

/// Find the latitude and longitude columns: the named ones, else the first header matching
/// `latitude/lat/y` and `longitude/lon/lng/long/x` (case-insensitive).
///
/// ```
/// use standort::layers::detect_coordinate_columns;
/// let header = ["id", "Lat", "LNG"];
/// let c = detect_coordinate_columns(&header, None, None, "sites.csv").unwrap();
/// assert_eq!((c.lat, c.lon), (1, 2));
/// ```
pub fn detect_coordinate_columns<S: AsRef<str>>(
    header: &[S],
    lat: Option<&str>,
    lon: Option<&str>,
    file: &str,
) -> Result<CoordinateColumns> {
    let names: Vec<&str> = header.iter().map(|h| h.as_ref().trim()).collect();
    let find = |given: Option<&str>, candidates: &[&str], what: &str| -> Result<usize> {
        match given {
            Some(g) => names.iter().position(|n| *n == g).ok_or_else(|| {
                Error::at(
                    ErrorKind::Input,
                    format!("{file}:1"),
                    format!("no {what} column \"{g}\" (columns: {})", names.join(", ")),
                )
            }),
            None => candidates
                .iter()
                .find_map(|c| names.iter().position(|n| n.eq_ignore_ascii_case(c)))
                .ok_or_else(|| {
                    Error::at(
                        ErrorKind::Input,
                        format!("{file}:1"),
                        format!(
                            "no {what} column found (looked for {}; name it with --{})",
                            candidates.join("/"),
                            if what == "latitude" { "lat" } else { "lon" }
                        ),
                    )
                }),
        }
    };
    Ok(CoordinateColumns {
        lat: find(lat, &LAT_NAMES, "latitude")?,
        lon: find(lon, &LON_NAMES, "longitude")?,
    })
}

/// Parse a longitude or latitude cell, checking its range.
pub fn parse_coordinate(cell: &str, what: &str, max_abs: f64) -> std::result::Result<f64, String> {
    let t = cell.trim();
    if t.is_empty() {
        return Err(format!("{what} is empty"));
    }
    let v: f64 = t
        .parse()
        .map_err(|_| format!("{what} \"{t}\" is not a number"))?;
    if !v.is_finite() || v.abs() > max_abs {
        return Err(format!(
            "{what} {t} is out of range [-{max_abs}, {max_abs}]"
        ));
    }
    Ok(v)
}

pub(crate) fn csv_reader(
    path: &Path,
    delimiter: Option<char>,
) -> Result<::csv::Reader<std::fs::File>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    let delimiter = delimiter.unwrap_or(if path.extension().is_some_and(|e| e == "tsv") {
        '\t'
    } else {
        ','
    });
    Ok(::csv::ReaderBuilder::new()
        .delimiter(delimiter as u8)
        .flexible(false)
        .from_reader(file))
}

/// The trimmed header row of a CSV file.
fn read_header(rdr: &mut ::csv::Reader<std::fs::File>, path: &Path) -> Result<Vec<String>> {
    Ok(rdr
        .headers()
        .map_err(|e| csv_error(path, &e))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect())
}

pub(crate) fn csv_error(path: &Path, err: &::csv::Error) -> Error {
    csv_error_label(&path.display().to_string(), err)
}

/// A CSV error as `label:line: message`.
pub(crate) fn csv_error_label(label: &str, err: &::csv::Error) -> Error {
    let line = err.position().map(|p| p.line());
    let msg = match err.kind() {
        ::csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("row has {len} fields, the header has {expected_len}")
        }
        ::csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 (save the file as UTF-8)".to_string(),
        ::csv::ErrorKind::Io(e) => e.to_string(),
        _ => err.to_string(),
    };
    match line {
        Some(l) => Error::at(ErrorKind::Input, format!("{label}:{l}"), msg),
        None => Error::at(ErrorKind::Input, label.to_string(), msg),
    }
}

/// Read a CSV point layer: coordinates from the detected or named columns, typed attributes.
pub(crate) fn read_point_csv(
    path: &Path,
    spec: &LayerSpec,
) -> Result<(Vec<PointFeature>, Attributes)> {
    let file = path.display().to_string();
    let mut rdr = csv_reader(path, spec.delimiter)?;
    let header = read_header(&mut rdr, path)?;
    let cc = detect_coordinate_columns(&header, spec.lat.as_deref(), spec.lon.as_deref(), &file)?;
    let keep: Vec<usize> = match &spec.fields {
        Some(fields) => fields
            .iter()
            .map(|f| {
                header.iter().position(|h| h == f).ok_or_else(|| {
                    Error::at(
                        ErrorKind::Config,
                        format!("{file}:1"),
                        format!(
                            "layer \"{}\" has no column \"{f}\" (columns: {})",
                            spec.name,
                            header.join(", ")
                        ),
                    )
                })
            })
            .collect::<Result<_>>()?,
        None => (0..header.len())
            .filter(|&i| i != cc.lat && i != cc.lon)
            .collect(),
    };
    let mut points = Vec::new();
    let mut cells: Vec<Vec<String>> = Vec::new();
    let mut record = ::csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(path, &e)),
        }
        let line = record.position().map_or(0, |p| p.line());
        let at = |msg: String| Error::at(ErrorKind::Input, format!("{file}:{line}"), msg);
        let lat = parse_coordinate(&record[cc.lat], "latitude", 90.0).map_err(at)?;
        let lon = parse_coordinate(&record[cc.lon], "longitude", 180.0).map_err(at)?;
        points.push(PointFeature {
            lon,
            lat,
            row: points.len(),
        });
        cells.push(keep.iter().map(|&i| record[i].to_string()).collect());
    }
    let fields: Vec<String> = keep.iter().map(|&i| header[i].clone()).collect();
    Ok((points, typed_attributes(fields, cells)))
}

/// Type text columns: a column is numeric when every non-empty cell parses as a number.
pub(crate) fn typed_attributes(fields: Vec<String>, cells: Vec<Vec<String>>) -> Attributes {
    let numeric: Vec<bool> = (0..fields.len())
        .map(|c| {
            cells.iter().all(|r| {
                let t = r[c].trim();
                t.is_empty() || t.parse::<f64>().is_ok_and(f64::is_finite)
            })
        })
        .collect();
    let rows = cells
        .into_iter()
        .map(|r| {
            r.iter()
                .zip(&numeric)
                .map(|(cell, &n)| Value::from_cell(cell, n))
                .collect()
        })
        .collect();
    Attributes::new(fields, rows)
}

/// The properties of a GeoJSON file's features as a text table (geometry ignored).
fn read_geojson_properties(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let mut header: Vec<String> = Vec::new();
    let mut rows: Vec<serde_json::Map<String, serde_json::Value>> = Vec::new();
    crate::feature_stream::stream_features_file(
        path,
        &path.display().to_string(),
        &mut |_i, f: geojson::Feature| {
            let props = f.properties.unwrap_or_default();
            for k in props.keys() {
                if !header.contains(k) {
                    header.push(k.clone());
                }
            }
            rows.push(props);
            Ok(())
        },
    )?;
    let records = rows
        .iter()
        .map(|r| header.iter().map(|h| json_text(r.get(h))).collect())
        .collect();
    Ok((header, records))
}

/// A JSON value as a table cell: text as it is, null as empty, anything else as JSON.
fn json_text(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A JSON object keyed by the join key, at `member` (`"."`: the top level), as a table: the
/// key column `on` holds the member names, the other columns the members' fields.
fn read_keyed_json(path: &Path, member: &str, on: &str) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let file = path.display().to_string();
    let bad = |m: String| Error::at(ErrorKind::Input, file.clone(), m);
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("line {}: {e}", e.line())))?;
    let object = if member == "." {
        Some(&doc)
    } else {
        doc.get(member)
    };
    let Some(serde_json::Value::Object(rows)) = object else {
        return Err(bad(format!(
            "join table: no object \"{member}\" keyed by {on}"
        )));
    };
    let mut header = vec![on.to_string()];
    for (key, row) in rows {
        let serde_json::Value::Object(fields) = row else {
            return Err(bad(format!(
                "join table: \"{member}\".\"{key}\" is not an object"
            )));
        };
        for k in fields.keys() {
            if !header.contains(k) {
                header.push(k.clone());
            }
        }
    }
    let records = rows
        .iter()
        .map(|(key, row)| {
            let mut rec = vec![key.clone()];
            rec.extend(header[1..].iter().map(|h| json_text(row.get(h))));
            rec
        })
        .collect();
    Ok((header, records))
}

/// Attach the columns of a CSV table (or a GeoJSON file's properties) to `attrs`, matching `join.key` (layer) to `join.on`
/// (table); keys compare trimmed and case-insensitively. Unmatched features get nulls.
pub(crate) fn join_table(attrs: &mut Attributes, path: &Path, join: &JoinSpec) -> Result<()> {
    let file = path.display().to_string();
    let key_col = attrs.field_index(&join.key).ok_or_else(|| {
        Error::at(
            ErrorKind::Config,
            file.clone(),
            format!(
                "join key \"{}\" is not a field of the layer (fields: {})",
                join.key,
                attrs.fields().join(", ")
            ),
        )
    })?;
    let is_geojson = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("geojson") || e.eq_ignore_ascii_case("json"));
    let (header, records) = if let Some(member) = &join.member {
        read_keyed_json(path, member, &join.on)?
    } else if is_geojson {
        read_geojson_properties(path)?
    } else {
        let mut rdr = csv_reader(path, join.delimiter)?;
        let header = read_header(&mut rdr, path)?;
        let mut records = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| csv_error(path, &e))?;
            records.push(rec.iter().map(str::to_string).collect::<Vec<_>>());
        }
        (header, records)
    };
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            Error::at(
                ErrorKind::Config,
                format!("{file}:1"),
                format!("no column \"{name}\" (columns: {})", header.join(", ")),
            )
        })
    };
    let on = col(&join.on)?;
    let cols: Vec<usize> = join.fields.iter().map(|f| col(f)).collect::<Result<_>>()?;
    let table = keyed_table(&records, on, &cols, &file)?;
    let values: Vec<Vec<String>> = (0..attrs.len())
        .map(|row| {
            let key = attrs.get(row, key_col).to_string().trim().to_lowercase();
            table
                .get(&key)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| vec![String::new(); cols.len()])
        })
        .collect();
    let typed = typed_attributes(join.fields.clone(), values);
    for (c, name) in join.fields.iter().enumerate() {
        let column = (0..typed.len()).map(|r| typed.get(r, c).clone()).collect();
        attrs.add_column(name.clone(), column);
    }
    Ok(())
}

/// The join table by key (trimmed, lower case): (row, the joined columns' values). A key given
/// twice with different values is ambiguous: an error (the same values twice are harmless).
fn keyed_table(
    records: &[Vec<String>],
    on: usize,
    cols: &[usize],
    file: &str,
) -> Result<HashMap<String, (usize, Vec<String>)>> {
    let mut table: HashMap<String, (usize, Vec<String>)> = HashMap::new();
    for (row, rec) in records.iter().enumerate() {
        let key = rec[on].trim().to_lowercase();
        let values: Vec<String> = cols.iter().map(|&c| rec[c].clone()).collect();
        match table.get(&key) {
            Some((first, v)) if *v != values => {
                return Err(Error::at(
                    ErrorKind::Input,
                    file.to_string(),
                    format!(
                        "join key \"{}\" is in rows {} and {} with different values; which one applies is ambiguous",
                        rec[on].trim(),
                        first + 1,
                        row + 1
                    ),
                ));
            }
            Some(_) => {}
            None => {
                table.insert(key, (row, values));
            }
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_range_checked() {
        assert_eq!(parse_coordinate(" 12.5 ", "latitude", 90.0), Ok(12.5));
        assert_eq!(
            parse_coordinate("abc", "latitude", 90.0).unwrap_err(),
            "latitude \"abc\" is not a number"
        );
        assert_eq!(
            parse_coordinate("91", "latitude", 90.0).unwrap_err(),
            "latitude 91 is out of range [-90, 90]"
        );
        assert!(parse_coordinate("NaN", "longitude", 180.0).is_err());
        assert!(parse_coordinate("", "longitude", 180.0).is_err());
    }

    #[test]
    fn named_columns_win_and_missing_ones_are_reported() {
        let h = ["lat", "lon", "y2", "x2"];
        let c = detect_coordinate_columns(&h, Some("y2"), Some("x2"), "f.csv").unwrap();
        assert_eq!((c.lat, c.lon), (2, 3));
        let e = detect_coordinate_columns(&["a", "b"], None, None, "f.csv").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("f.csv:1: no latitude column found"),
            "{e}"
        );
    }
}
