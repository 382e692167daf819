//! Candidate sites: read as a stream from CSV or GeoJSON, in chunks.
//!
//! CSV: a header row; latitude/longitude columns are detected (`latitude/lat/y`,
//! `longitude/lon/lng/long/x`) or named; the id column is named, else `id` when present, else
//! the row number. GeoJSON: a FeatureCollection of Points; the id is the named property, else
//! the feature `id`, else the feature number.

use crate::error::{Error, ErrorKind, Result};
use crate::layers::{FeatureVisitor, detect_coordinate_columns, parse_coordinate, stream_features};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where sites come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SiteSource {
    /// A file.
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl SiteSource {
    /// `-` is stdin, anything else a file.
    pub fn from_arg(arg: &str) -> SiteSource {
        if arg == "-" {
            SiteSource::Stdin
        } else {
            SiteSource::File(PathBuf::from(arg))
        }
    }

    /// Name for messages.
    pub fn label(&self) -> String {
        match self {
            SiteSource::File(p) => p.display().to_string(),
            SiteSource::Stdin => "<stdin>".to_string(),
        }
    }
}

/// Input format of sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteFormat {
    /// CSV with a header.
    Csv,
    /// GeoJSON FeatureCollection of points.
    GeoJson,
}

/// How to read sites.
#[derive(Debug, Clone, Default)]
pub struct SiteOptions {
    /// Id column or property.
    pub id: Option<String>,
    /// Latitude column (CSV).
    pub lat: Option<String>,
    /// Longitude column (CSV).
    pub lon: Option<String>,
    /// Format; detected from the extension or the first byte when absent.
    pub format: Option<SiteFormat>,
    /// CSV delimiter (default `,`; `\t` for .tsv).
    pub delimiter: Option<u8>,
}

/// A candidate site.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Position in the input, from 0.
    pub index: u64,
    /// Identifier.
    pub id: String,
    /// Longitude in degrees.
    pub lon: f64,
    /// Latitude in degrees.
    pub lat: f64,
    /// The input's own columns or properties.
    pub record: Record,
}

/// A site's input columns.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// CSV cells, in header order.
    Csv(csv::StringRecord),
    /// GeoJSON properties.
    Json(serde_json::Map<String, serde_json::Value>),
}

/// What the input looked like, known once reading is done.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteHeader {
    /// The format read.
    pub format: SiteFormat,
    /// CSV header, or the union of GeoJSON property names in first-seen order.
    pub columns: Vec<String>,
    /// The source's label.
    pub source: String,
}

fn detect_format(source: &SiteSource, first: Option<u8>) -> SiteFormat {
    if let SiteSource::File(p) = source {
        match p
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("geojson" | "json") => return SiteFormat::GeoJson,
            Some("csv" | "tsv" | "txt") => return SiteFormat::Csv,
            _ => {}
        }
    }
    if first == Some(b'{') {
        SiteFormat::GeoJson
    } else {
        SiteFormat::Csv
    }
}

/// Read sites from `source` and hand them to `on_chunk` in chunks of `chunk_size`, in input
/// order. Returns the header. Errors name the source and the line or feature.
pub fn read_sites(
    source: &SiteSource,
    options: &SiteOptions,
    chunk_size: usize,
    on_chunk: &mut dyn FnMut(Vec<Site>) -> Result<()>,
) -> Result<SiteHeader> {
    let label = source.label();
    let reader: Box<dyn Read> = match source {
        SiteSource::File(p) => Box::new(std::fs::File::open(p).map_err(|e| Error::io(p, &e))?),
        SiteSource::Stdin => Box::new(std::io::stdin().lock()),
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
    let first = {
        use std::io::BufRead;
        let buf = reader
            .fill_buf()
            .map_err(|e| Error::io(Path::new(&label), &e))?;
        buf.iter()
            .copied()
            .find(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF)
    };
    if first.is_none() {
        return Err(Error::at(
            ErrorKind::Input,
            label,
            "is empty: no header and no sites",
        ));
    }
    match options
        .format
        .unwrap_or_else(|| detect_format(source, first))
    {
        SiteFormat::Csv => read_csv(reader, &label, source, options, chunk_size, on_chunk),
        SiteFormat::GeoJson => read_geojson(reader, &label, options, chunk_size, on_chunk),
    }
}

fn read_csv(
    reader: impl Read,
    label: &str,
    source: &SiteSource,
    options: &SiteOptions,
    chunk_size: usize,
    on_chunk: &mut dyn FnMut(Vec<Site>) -> Result<()>,
) -> Result<SiteHeader> {
    let tsv = matches!(source, SiteSource::File(p) if p.extension().is_some_and(|e| e == "tsv"));
    let delimiter = options.delimiter.unwrap_or(if tsv { b'\t' } else { b',' });
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(reader);
    let err = |e: csv::Error| crate::layers::csv_error_label(label, &e);
    let header: Vec<String> = rdr
        .headers()
        .map_err(err)?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let cc = detect_coordinate_columns(
        &header,
        options.lat.as_deref(),
        options.lon.as_deref(),
        label,
    )?;
    let id_col = match &options.id {
        Some(name) => Some(header.iter().position(|h| h == name).ok_or_else(|| {
            Error::at(
                ErrorKind::Input,
                format!("{label}:1"),
                format!("no id column \"{name}\" (columns: {})", header.join(", ")),
            )
        })?),
        None => header.iter().position(|h| h.eq_ignore_ascii_case("id")),
    };
    let mut chunk = Vec::with_capacity(chunk_size);
    let mut record = csv::StringRecord::new();
    let mut index = 0u64;
    while rdr.read_record(&mut record).map_err(err)? {
        let line = record.position().map_or(0, |p| p.line());
        let at = |msg: String| Error::at(ErrorKind::Input, format!("{label}:{line}"), msg);
        let lat = parse_coordinate(&record[cc.lat], "latitude", 90.0).map_err(at)?;
        let lon = parse_coordinate(&record[cc.lon], "longitude", 180.0).map_err(at)?;
        let id = match id_col {
            Some(c) => record[c].trim().to_string(),
            None => (index + 1).to_string(),
        };
        chunk.push(Site {
            index,
            id,
            lon,
            lat,
            record: Record::Csv(record.clone()),
        });
        index += 1;
        if chunk.len() >= chunk_size {
            on_chunk(std::mem::replace(
                &mut chunk,
                Vec::with_capacity(chunk_size),
            ))?;
        }
    }
    if !chunk.is_empty() {
        on_chunk(chunk)?;
    }
    Ok(SiteHeader {
        format: SiteFormat::Csv,
        columns: header,
        source: label.to_string(),
    })
}

struct GeoJsonSites<'a> {
    label: &'a str,
    id: Option<&'a str>,
    chunk: Vec<Site>,
    chunk_size: usize,
    columns: Vec<String>,
    on_chunk: &'a mut dyn FnMut(Vec<Site>) -> Result<()>,
}

impl FeatureVisitor for GeoJsonSites<'_> {
    fn feature(&mut self, index: usize, feature: geojson::Feature) -> Result<()> {
        let label = crate::layers::feature_label(index, &feature);
        let at = |msg: String| {
            Error::at(
                ErrorKind::Input,
                self.label.to_string(),
                format!("{label}: {msg}"),
            )
        };
        let (lon, lat) = match feature.geometry.as_ref().map(|g| &g.value) {
            Some(geojson::GeometryValue::Point { coordinates }) => {
                let c = coordinates.as_slice();
                if c.len() < 2 {
                    return Err(at("a position needs two coordinates".into()));
                }
                let lon = parse_coordinate(&c[0].to_string(), "longitude", 180.0).map_err(at)?;
                let lat = parse_coordinate(&c[1].to_string(), "latitude", 90.0).map_err(at)?;
                (lon, lat)
            }
            Some(other) => {
                return Err(at(format!(
                    "sites must be Points, found {}",
                    other.type_name()
                )));
            }
            None => return Err(at("has no geometry".into())),
        };
        let props = feature.properties.unwrap_or_default();
        for k in props.keys() {
            if !self.columns.contains(k) {
                self.columns.push(k.clone());
            }
        }
        let id = match self.id {
            Some(name) => match props.get(name) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => {
                    return Err(at(format!("no id property \"{name}\"")));
                }
                Some(v) => v.to_string(),
            },
            None => match &feature.id {
                Some(geojson::feature::Id::String(s)) => s.clone(),
                Some(geojson::feature::Id::Number(n)) => n.to_string(),
                None => match props.get("id") {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v @ serde_json::Value::Number(_)) => v.to_string(),
                    _ => (index + 1).to_string(),
                },
            },
        };
        self.chunk.push(Site {
            index: index as u64,
            id,
            lon,
            lat,
            record: Record::Json(props),
        });
        if self.chunk.len() >= self.chunk_size {
            (self.on_chunk)(std::mem::replace(
                &mut self.chunk,
                Vec::with_capacity(self.chunk_size),
            ))?;
        }
        Ok(())
    }
}

fn read_geojson(
    reader: impl Read,
    label: &str,
    options: &SiteOptions,
    chunk_size: usize,
    on_chunk: &mut dyn FnMut(Vec<Site>) -> Result<()>,
) -> Result<SiteHeader> {
    if options.lat.is_some() || options.lon.is_some() {
        return Err(Error::usage(
            "--lat/--lon name CSV columns; GeoJSON sites take their position from the geometry",
        ));
    }
    let mut v = GeoJsonSites {
        label,
        id: options.id.as_deref(),
        chunk: Vec::with_capacity(chunk_size),
        chunk_size,
        columns: Vec::new(),
        on_chunk,
    };
    stream_features(reader, label, &mut v)?;
    if !v.chunk.is_empty() {
        let rest = std::mem::take(&mut v.chunk);
        (v.on_chunk)(rest)?;
    }
    Ok(SiteHeader {
        format: SiteFormat::GeoJson,
        columns: v.columns,
        source: label.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, name: &str, opts: SiteOptions) -> Result<(SiteHeader, Vec<Site>)> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let mut all = Vec::new();
        let h = read_sites(&SiteSource::File(p), &opts, 2, &mut |c| {
            assert!(c.len() <= 2);
            all.extend(c);
            Ok(())
        })?;
        Ok((h, all))
    }

    #[test]
    fn csv_sites_in_chunks() {
        let (h, s) = read(
            "id,lat,lon\na,1,2\nb,3,4\nc,-5,-6\n",
            "s.csv",
            SiteOptions::default(),
        )
        .unwrap();
        assert_eq!(h.columns, vec!["id", "lat", "lon"]);
        assert_eq!(
            s.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            vec!["a", "b", "c"]
        );
        assert_eq!((s[2].lon, s[2].lat), (-6.0, -5.0));
        assert_eq!(s[2].index, 2);
    }

    #[test]
    fn csv_errors_name_the_line() {
        let e = read(
            "id,lat,lon\na,1,2\nb,x,4\n",
            "s.csv",
            SiteOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:3: latitude \"x\" is not a number",
                e.location().unwrap().rsplit_once(':').unwrap().0
            )
        );
        assert!(
            e.to_string()
                .ends_with("s.csv:3: latitude \"x\" is not a number")
        );
        let e = read("id,lat,lon\na,1,200\n", "s.csv", SiteOptions::default()).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("s.csv:2: longitude 200 is out of range [-180, 180]"),
            "{e}"
        );
        let e = read("id,lat,lon\na,1\n", "s.csv", SiteOptions::default()).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("s.csv:2: row has 2 fields, the header has 3"),
            "{e}"
        );
        let e = read("", "s.csv", SiteOptions::default()).unwrap_err();
        assert!(e.to_string().contains("is empty"), "{e}");
    }

    #[test]
    fn geojson_sites() {
        let text = r#"{"type":"FeatureCollection","features":[
{"type":"Feature","id":"x1","geometry":{"type":"Point","coordinates":[10,0]},"properties":{"name":"A"}},
{"type":"Feature","geometry":{"type":"Point","coordinates":[11,1]},"properties":{"kind":"B"}},
{"type":"Feature","geometry":{"type":"Point","coordinates":[12,2]},"properties":null}]}"#;
        let (h, s) = read(text, "s.geojson", SiteOptions::default()).unwrap();
        assert_eq!(h.columns, vec!["name", "kind"]);
        assert_eq!(
            s.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            vec!["x1", "2", "3"]
        );
        let bad = text.replace("[11,1]", "[11,100]");
        let e = read(&bad, "s.geojson", SiteOptions::default()).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("s.geojson: feature 2: latitude 100 is out of range [-90, 90]"),
            "{e}"
        );
        let bad = text.replace(
            "\"Point\",\"coordinates\":[12,2]",
            "\"LineString\",\"coordinates\":[[12,2],[1,1]]",
        );
        let e = read(&bad, "s.geojson", SiteOptions::default()).unwrap_err();
        assert!(
            e.to_string()
                .contains("feature 3: sites must be Points, found LineString"),
            "{e}"
        );
    }
}
