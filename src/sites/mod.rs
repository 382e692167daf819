//! Candidate sites: read as a stream from CSV, GeoJSON or (Geo)Parquet, in chunks.
//!
//! CSV: a header row; latitude/longitude columns are detected (`latitude/lat/y`,
//! `longitude/lon/lng/long/x`) or named; the id column is named, else `id` when present, else
//! the row number. GeoJSON: a FeatureCollection of Points; the id is the named property, else
//! the feature `id`, else the feature number. Parquet (recognised by its extension or its
//! `PAR1` magic; from a file only): WKB or GeoArrow points, or longitude/latitude columns
//! (see [`arrow`]); the id is the named column, else `id`, else the row number.

pub mod arrow;
mod chunk;
mod csv_records;
mod fast_csv;
mod geojson;
mod parquet;

pub use chunk::{SiteBlock, SiteChunk};

use crate::error::{Error, ErrorKind, Result};
use chunk::BlockKind;
use fast_csv::read_csv;
use geojson::read_geojson;
use std::io::{BufRead, Read};
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
    /// (Geo)Parquet: WKB or GeoArrow points, or longitude/latitude columns.
    Parquet,
}

/// How to read sites.
#[derive(Debug, Clone, Default)]
pub struct SiteOptions {
    /// Id column or property.
    pub id: Option<String>,
    /// Latitude column (CSV, Parquet).
    pub lat: Option<String>,
    /// Longitude column (CSV, Parquet).
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
    /// For CSV: the (longitude, latitude) columns read.
    pub coordinates: Option<(usize, usize)>,
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
            Some("parquet" | "geoparquet") => return SiteFormat::Parquet,
            _ => {}
        }
    }
    if first == Some(b'{') {
        SiteFormat::GeoJson
    } else {
        SiteFormat::Csv
    }
}

/// Read sites from `source` and hand them to `on_chunk` in chunks of at most `chunk_size`,
/// in input order. Returns the header. Errors name the source and the line or feature.
///
/// This materialises every site; [`read_site_blocks`] is the fast path used for scoring.
pub fn read_sites(
    source: &SiteSource,
    options: &SiteOptions,
    chunk_size: usize,
    on_chunk: &mut dyn FnMut(Vec<Site>) -> Result<()>,
) -> Result<SiteHeader> {
    let mut next = 0u64;
    read_site_blocks(source, options, chunk_size, &mut |block| {
        let chunk = block.parse(next)?;
        next += chunk.len() as u64;
        let mut sites = chunk.into_sites().into_iter();
        loop {
            let part: Vec<Site> = sites.by_ref().take(chunk_size.max(1)).collect();
            if part.is_empty() {
                return Ok(());
            }
            on_chunk(part)?;
        }
    })
}

/// Bytes of CSV text per block handed out by [`read_site_blocks`].
pub const CSV_BLOCK_BYTES: usize = 4 << 20;

/// Read sites from `source` as blocks, in input order, without parsing them: CSV text is cut
/// at line ends into blocks of about [`CSV_BLOCK_BYTES`] that [`SiteBlock::parse`] parses in
/// parallel. (Once a block holds a quote character, the rest of the file is parsed here, one
/// record at a time, by the `csv` crate: quoted fields may span lines.) GeoJSON sites come in
/// blocks of `chunk_size` features. Returns the header.
pub fn read_site_blocks(
    source: &SiteSource,
    options: &SiteOptions,
    chunk_size: usize,
    on_block: &mut dyn FnMut(SiteBlock) -> Result<()>,
) -> Result<SiteHeader> {
    let label = source.label();
    let reader: Box<dyn Read + Send> = match source {
        SiteSource::File(p) => Box::new(std::fs::File::open(p).map_err(|e| Error::io(p, &e))?),
        SiteSource::Stdin => Box::new(std::io::stdin()),
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
    let (first, magic) = {
        let buf = reader
            .fill_buf()
            .map_err(|e| Error::io(Path::new(&label), &e))?;
        let first = buf
            .iter()
            .copied()
            .find(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
        (first, parquet::is_parquet(buf))
    };
    if first.is_none() {
        return Err(Error::at(
            ErrorKind::Input,
            label,
            "is empty: no header and no sites",
        ));
    }
    let format = match (options.format, magic) {
        (Some(f), _) => f,
        (None, true) => SiteFormat::Parquet,
        (None, false) => detect_format(source, first),
    };
    match format {
        SiteFormat::Parquet => {
            let SiteSource::File(path) = source else {
                return Err(Error::at(
                    ErrorKind::Input,
                    label,
                    "Parquet sites are read from a file, not a stream (the file's index is at its end)",
                ));
            };
            drop(reader);
            parquet::read_parquet(path, &label, options, chunk_size, &mut |sites| {
                on_block(SiteBlock(BlockKind::Sites {
                    sites,
                    number_ids: false,
                }))
            })
        }
        SiteFormat::Csv => read_csv(reader, &label, source, options, chunk_size, on_block),
        SiteFormat::GeoJson => read_geojson(reader, &label, options, chunk_size, &mut |sites| {
            on_block(SiteBlock(BlockKind::Sites {
                sites,
                number_ids: false,
            }))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::csv_records::read_csv_records;
    use super::fast_csv::CsvLayout;
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

    /// Sites (or the error) from CSV `body` after the header `id,lat,lon`, by the fast block
    /// parser and by the csv crate's record reader.
    fn both_ways(body: &str) -> (Result<Vec<Site>>, Result<Vec<Site>>) {
        let (fast, _) = match read(
            &format!("id,lat,lon\n{body}"),
            "s.csv",
            SiteOptions::default(),
        ) {
            Ok((h, s)) => (Ok(s), Some(h)),
            Err(e) => (Err(e), None),
        };
        let layout = CsvLayout {
            label: "s.csv".into(),
            delimiter: b',',
            fields: 3,
            lat: 1,
            lon: 2,
            id: Some(0),
        };
        let mut slow = Vec::new();
        let r = read_csv_records(body.as_bytes(), &layout, 1, 2, &mut |b| {
            slow.extend(b.parse(slow.len() as u64)?.into_sites());
            Ok(())
        });
        (fast, r.map(|_| slow))
    }

    fn outcome(r: &Result<Vec<Site>>) -> String {
        match r {
            Ok(sites) => format!("{sites:?}"),
            // Without the line number: after a blank line the csv crate reports the blank
            // line's number (the fast parser's line numbers are tested on their own).
            Err(e) => e.message().to_string(),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// The parallel quote-free parser reads exactly what the csv crate reads: the same
        /// sites, ids and records, or the same error.
        #[test]
        fn fast_csv_matches_the_csv_crate(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    "[a-c]{0,2},-?[0-9]{1,2}(\\.[0-9]{1,3})?, ?-?[0-9]{1,3}",
                    "[a-c ]{0,2},[0-9x ]{0,3},[0-9]{0,2}(,[0-9])?",
                    proptest::strategy::Just(String::new()),
                ],
                0..12,
            ),
            crlf in proptest::bool::ANY,
            final_newline in proptest::bool::ANY,
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut body = lines.join(eol);
            if final_newline && !body.is_empty() {
                body.push_str(eol);
            }
            let (fast, slow) = both_ways(&body);
            proptest::prop_assert_eq!(outcome(&fast), outcome(&slow), "body {:?}", body);
        }
    }

    #[test]
    fn line_numbers_count_blank_lines_and_crlf() {
        for eol in ["\n", "\r\n"] {
            let text = ["id,lat,lon", "a,1,2", "", "b,3,4", "", "", "c,x,1", ""].join(eol);
            let e = read(&text, "s.csv", SiteOptions::default()).unwrap_err();
            assert!(
                e.to_string()
                    .ends_with("s.csv:7: latitude \"x\" is not a number"),
                "{e}"
            );
        }
    }

    /// A mapped site file is cut into blocks at line ends, also around a line longer than a
    /// block, switches to the csv crate at the first block with a quote, and keeps line
    /// numbers; the last line needs no line end.
    #[test]
    fn mapped_blocks_long_lines_and_quotes() {
        let long_id = "x".repeat(CSV_BLOCK_BYTES + 100);
        let mut text = String::from("id,lat,lon\na,1,2\n");
        text.push_str(&format!("{long_id},3,4\n"));
        let filler = CSV_BLOCK_BYTES / 10;
        for i in 0..filler {
            text.push_str(&format!("f{i},5,6\n"));
        }
        text.push_str("\"q,1\",7,8\nlast,9,10");
        let (_, s) = read(&text, "s.csv", SiteOptions::default()).unwrap();
        assert_eq!(s.len(), filler + 4);
        assert_eq!(s[1].id.len(), long_id.len());
        assert_eq!((s[1].lat, s[1].lon), (3.0, 4.0));
        assert_eq!(s[filler + 2].id, "q,1");
        assert_eq!(
            (s[filler + 3].id.as_str(), s[filler + 3].lon),
            ("last", 10.0)
        );
        assert!(s.iter().enumerate().all(|(i, s)| s.index == i as u64));
        let bad = text.replace("last,9,10", "last,x,10");
        let e = read(&bad, "s.csv", SiteOptions::default()).unwrap_err();
        let want = format!("s.csv:{}: latitude \"x\" is not a number", filler + 5);
        assert!(e.to_string().ends_with(&want), "{e}");
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.csv");
        for bad_line in [b"b\xff,3,4\n".as_slice(), b"b,3,4\xe2\x82\n"] {
            let mut text = b"id,lat,lon\na,1,2\n".to_vec();
            text.extend_from_slice(bad_line);
            text.extend_from_slice(b"c,5,6\n");
            std::fs::write(&p, &text).unwrap();
            let e = read_sites(
                &SiteSource::File(p.clone()),
                &SiteOptions::default(),
                10,
                &mut |_| Ok(()),
            )
            .unwrap_err();
            assert!(
                e.to_string()
                    .ends_with("s.csv:3: not valid UTF-8 (save the file as UTF-8)"),
                "{e}"
            );
        }
        // Multi-byte text elsewhere in a valid file is fine.
        let (_, s) = read(
            "id,lat,lon\nZürich,47.4,8.5\n",
            "s.csv",
            SiteOptions::default(),
        )
        .unwrap();
        assert_eq!((s[0].id.as_str(), s[0].lat), ("Zürich", 47.4));
    }

    #[test]
    fn quoted_fields_switch_to_the_csv_crate() {
        let (h, s) = read(
            "id,lat,lon\na,1,2\n\"b,\nc\",3,4\nd,5,6\n",
            "s.csv",
            SiteOptions::default(),
        )
        .unwrap();
        assert_eq!(h.columns.len(), 3);
        let ids: Vec<&str> = s.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "b,\nc", "d"]);
        assert_eq!(s.iter().map(|s| s.index).collect::<Vec<_>>(), vec![0, 1, 2]);
        let e = read(
            "id,lat,lon\na,1,2\n\"b,\nc\",3,4\nd,x,6\n",
            "s.csv",
            SiteOptions::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .ends_with("s.csv:5: latitude \"x\" is not a number"),
            "{e}"
        );
    }

    #[test]
    fn blocks_cut_at_line_ends_keep_line_numbers() {
        // More than one block of text, with an error far down.
        let mut text = String::from("id,lat,lon\n");
        let n = CSV_BLOCK_BYTES / 10 * 3;
        for i in 0..n {
            text.push_str(&format!("s{i},{}.5,{}.25\n", i % 80, i % 170));
        }
        let (_, s) = read(&text, "s.csv", SiteOptions::default()).unwrap();
        assert_eq!(s.len(), n);
        assert_eq!(s[n - 1].id, format!("s{}", n - 1));
        assert_eq!(s[n - 1].index, n as u64 - 1);
        assert_eq!(s[n - 1].lat, ((n - 1) % 80) as f64 + 0.5);
        text.push_str("bad,91,0\n");
        let e = read(&text, "s.csv", SiteOptions::default()).unwrap_err();
        assert!(
            e.to_string().ends_with(&format!(
                "s.csv:{}: latitude 91 is out of range [-90, 90]",
                n + 2
            )),
            "{e}"
        );
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
