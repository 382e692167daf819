//! Candidate sites: read as a stream from CSV or GeoJSON, in chunks.
//!
//! CSV: a header row; latitude/longitude columns are detected (`latitude/lat/y`,
//! `longitude/lon/lng/long/x`) or named; the id column is named, else `id` when present, else
//! the row number. GeoJSON: a FeatureCollection of Points; the id is the named property, else
//! the feature `id`, else the feature number.

use crate::error::{Error, ErrorKind, Result};
use crate::feature_stream::{FeatureVisitor, stream_features};
use crate::layers::{detect_coordinate_columns, parse_coordinate};
use rayon::prelude::*;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    let first = {
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
        SiteFormat::Csv => read_csv(reader, &label, source, options, chunk_size, on_block),
        SiteFormat::GeoJson => read_geojson(reader, &label, options, chunk_size, &mut |sites| {
            on_block(SiteBlock(BlockKind::Sites {
                sites,
                number_ids: false,
            }))
        }),
    }
}

/// Where the fields a site needs are in a CSV row.
#[derive(Debug)]
struct CsvLayout {
    label: String,
    delimiter: u8,
    fields: usize,
    lat: usize,
    lon: usize,
    id: Option<usize>,
}

/// Bytes of CSV text: read into memory, or a range of a memory-mapped site file (see
/// [`crate::mapped`]).
enum Text {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap, std::ops::Range<usize>),
}

impl std::ops::Deref for Text {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Text::Owned(v) => v,
            Text::Mapped(m, r) => &m[r.clone()],
        }
    }
}

/// A block of sites as read, not yet parsed (see [`read_site_blocks`]).
pub struct SiteBlock(BlockKind);

enum BlockKind {
    /// Parsed already; with `number_ids`, ids are the 1-based input positions.
    Sites { sites: Vec<Site>, number_ids: bool },
    /// Whole lines of quote-free CSV text; `first_line` is the 1-based line number of the
    /// first.
    Text {
        text: Text,
        first_line: u64,
        layout: Arc<CsvLayout>,
    },
}

/// Sites in input order: positions in columns, each site's record made only when asked for.
pub struct SiteChunk {
    /// Input position (from 0) of the first site.
    pub first_index: u64,
    /// Longitudes in degrees.
    pub lon: Vec<f64>,
    /// Latitudes in degrees.
    pub lat: Vec<f64>,
    rows: Rows,
}

enum Rows {
    Sites(Vec<Site>),
    Text {
        text: Text,
        /// Byte range of each site's line (without the line end).
        spans: Vec<(u32, u32)>,
        layout: Arc<CsvLayout>,
    },
}

/// Lines per parallel parsing task.
const LINES_PER_TASK: usize = 4096;

impl SiteBlock {
    /// Parse the block (in parallel on the rayon pool); its first site gets input position
    /// `first_index`. Errors name the source and line; the first error in input order wins.
    pub fn parse(self, first_index: u64) -> Result<SiteChunk> {
        match self.0 {
            BlockKind::Sites {
                mut sites,
                number_ids,
            } => {
                for (k, s) in sites.iter_mut().enumerate() {
                    s.index = first_index + k as u64;
                    if number_ids {
                        s.id = (s.index + 1).to_string();
                    }
                }
                Ok(SiteChunk {
                    first_index,
                    lon: sites.iter().map(|s| s.lon).collect(),
                    lat: sites.iter().map(|s| s.lat).collect(),
                    rows: Rows::Sites(sites),
                })
            }
            BlockKind::Text {
                text,
                first_line,
                layout,
            } => {
                let mut starts: Vec<u32> = Vec::with_capacity(text.len() / 24 + 2);
                starts.push(0);
                starts.extend(memchr::memchr_iter(b'\n', &text).map(|i| i as u32 + 1));
                if *starts.last().unwrap_or(&0) as usize != text.len() {
                    starts.push(text.len() as u32);
                }
                let n_lines = starts.len() - 1;
                // A block that is valid UTF-8 as a whole has valid lines and fields (cut at
                // ASCII bytes); otherwise every line is checked, to name the bad one.
                let whole = std::str::from_utf8(&text).ok();
                let mut lon = vec![0.0; n_lines];
                let mut lat = vec![0.0; n_lines];
                let mut spans = vec![(0u32, 0u32); n_lines];
                // Parsed in parallel straight into the columns; blank lines (skipped, as by
                // the csv crate) are marked and removed afterwards.
                const BLANK: (u32, u32) = (u32::MAX, u32::MAX);
                let blanks: Vec<Result<usize>> = lon
                    .par_chunks_mut(LINES_PER_TASK)
                    .zip(lat.par_chunks_mut(LINES_PER_TASK))
                    .zip(spans.par_chunks_mut(LINES_PER_TASK))
                    .enumerate()
                    .map(|(t, ((lon, lat), spans))| {
                        let mut blank = 0;
                        for j in 0..lon.len() {
                            let k = t * LINES_PER_TASK + j;
                            let (s, mut e) = (starts[k] as usize, starts[k + 1] as usize);
                            if e > s && text[e - 1] == b'\n' {
                                e -= 1;
                            }
                            if e > s && text[e - 1] == b'\r' {
                                e -= 1;
                            }
                            if e == s {
                                spans[j] = BLANK;
                                blank += 1;
                                continue;
                            }
                            let line_no = first_line + k as u64;
                            let line = match whole {
                                Some(w) => Ok(&w[s..e]),
                                None => std::str::from_utf8(&text[s..e]).map_err(|_| {
                                    "not valid UTF-8 (save the file as UTF-8)".to_string()
                                }),
                            };
                            let (x, y) = line
                                .and_then(|l| layout.position(l))
                                .map_err(|m| layout.error(line_no, m))?;
                            lon[j] = x;
                            lat[j] = y;
                            spans[j] = (s as u32, e as u32);
                        }
                        Ok(blank)
                    })
                    .collect();
                let mut blank = 0;
                for b in blanks {
                    blank += b?;
                }
                if blank > 0 {
                    let kept: Vec<usize> = (0..n_lines).filter(|&k| spans[k] != BLANK).collect();
                    lon = kept.iter().map(|&k| lon[k]).collect();
                    lat = kept.iter().map(|&k| lat[k]).collect();
                    spans = kept.iter().map(|&k| spans[k]).collect();
                }
                Ok(SiteChunk {
                    first_index,
                    lon,
                    lat,
                    rows: Rows::Text {
                        text,
                        spans,
                        layout,
                    },
                })
            }
        }
    }
}

impl CsvLayout {
    fn error(&self, line: u64, msg: String) -> Error {
        Error::at(ErrorKind::Input, format!("{}:{line}", self.label), msg)
    }

    /// (lon, lat) of a quote-free CSV line, checking the field count as the csv crate does.
    fn position(&self, line: &str) -> std::result::Result<(f64, f64), String> {
        let (mut lat, mut lon) = ("", "");
        let mut n = 0;
        if self.delimiter.is_ascii() {
            // Fields cut at the (ASCII) delimiter bytes: always at character boundaries.
            let mut start = 0;
            let bytes = line.as_bytes();
            for end in (0..bytes.len())
                .filter(|&i| bytes[i] == self.delimiter)
                .chain(std::iter::once(bytes.len()))
            {
                if n == self.lat {
                    lat = &line[start..end];
                }
                if n == self.lon {
                    lon = &line[start..end];
                }
                n += 1;
                start = end + 1;
            }
        } else {
            for (k, cell) in line.split(self.delimiter as char).enumerate() {
                if k == self.lat {
                    lat = cell;
                }
                if k == self.lon {
                    lon = cell;
                }
                n += 1;
            }
        }
        if n != self.fields {
            return Err(format!(
                "row has {n} fields, the header has {}",
                self.fields
            ));
        }
        let lat = parse_coordinate(lat, "latitude", 90.0)?;
        let lon = parse_coordinate(lon, "longitude", 180.0)?;
        Ok((lon, lat))
    }
}

impl SiteChunk {
    /// A chunk of sites already read; their input positions are kept.
    #[cfg(test)]
    pub(crate) fn from_sites(sites: Vec<Site>) -> SiteChunk {
        SiteChunk {
            first_index: sites.first().map_or(0, |s| s.index),
            lon: sites.iter().map(|s| s.lon).collect(),
            lat: sites.iter().map(|s| s.lat).collect(),
            rows: Rows::Sites(sites),
        }
    }

    /// Number of sites.
    pub fn len(&self) -> usize {
        self.lon.len()
    }

    /// True when the chunk holds no site.
    pub fn is_empty(&self) -> bool {
        self.lon.is_empty()
    }

    /// Site `i` of the chunk, with its id and record.
    pub fn site(&self, i: usize) -> Site {
        match &self.rows {
            Rows::Sites(sites) => sites[i].clone(),
            Rows::Text {
                text,
                spans,
                layout,
            } => {
                let (s, e) = spans[i];
                // Checked as UTF-8 when parsed.
                let line = std::str::from_utf8(&text[s as usize..e as usize]).unwrap_or("");
                let record: csv::StringRecord = line.split(layout.delimiter as char).collect();
                let index = self.first_index + i as u64;
                let id = match layout.id {
                    Some(c) => record[c].trim().to_string(),
                    None => (index + 1).to_string(),
                };
                Site {
                    index,
                    id,
                    lon: self.lon[i],
                    lat: self.lat[i],
                    record: Record::Csv(record),
                }
            }
        }
    }

    /// All sites of the chunk.
    pub fn into_sites(self) -> Vec<Site> {
        match self.rows {
            Rows::Sites(sites) => sites,
            Rows::Text { .. } => (0..self.len())
                .into_par_iter()
                .map(|i| self.site(i))
                .collect(),
        }
    }
}

fn read_csv(
    mut reader: std::io::BufReader<Box<dyn Read + Send>>,
    label: &str,
    source: &SiteSource,
    options: &SiteOptions,
    chunk_size: usize,
    on_block: &mut dyn FnMut(SiteBlock) -> Result<()>,
) -> Result<SiteHeader> {
    let tsv = matches!(source, SiteSource::File(p) if p.extension().is_some_and(|e| e == "tsv"));
    let delimiter = options.delimiter.unwrap_or(if tsv { b'\t' } else { b',' });
    let io = |e: std::io::Error| Error::io(Path::new(label), &e);
    let err = |e: csv::Error| crate::layers::csv_error_label(label, &e);
    // The header line, parsed by the csv crate (it may quote names).
    let mut head = Vec::new();
    reader.read_until(b'\n', &mut head).map_err(io)?;
    let header: Vec<String> = {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .from_reader(head.as_slice());
        let mut r = csv::StringRecord::new();
        rdr.read_record(&mut r).map_err(err)?;
        r.iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect()
    };
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
    let layout = Arc::new(CsvLayout {
        label: label.to_string(),
        delimiter,
        fields: header.len(),
        lat: cc.lat,
        lon: cc.lon,
        id: id_col,
    });
    let mut line = 2u64;
    if let SiteSource::File(path) = source {
        if read_csv_mapped(path, head.len() as u64, &layout, chunk_size, on_block)? {
            return Ok(SiteHeader {
                format: SiteFormat::Csv,
                columns: header,
                source: label.to_string(),
            });
        }
    }
    let mut carry: Vec<u8> = Vec::new();
    let mut want = CSV_BLOCK_BYTES;
    loop {
        // Fill a block, then cut it after its last line end.
        let mut buf = std::mem::take(&mut carry);
        buf.reserve(want.saturating_sub(buf.len()) + (1 << 16));
        let mut eof = false;
        while buf.len() < want {
            let got = reader.fill_buf().map_err(io)?;
            if got.is_empty() {
                eof = true;
                break;
            }
            let n = got.len();
            buf.extend_from_slice(got);
            reader.consume(n);
        }
        let cut = match memchr::memrchr(b'\n', &buf) {
            _ if eof => buf.len(),
            Some(i) => i + 1,
            None => {
                // One very long line: read on until it ends.
                want = buf.len() * 2;
                carry = buf;
                continue;
            }
        };
        want = CSV_BLOCK_BYTES;
        carry = buf.split_off(cut);
        if memchr::memchr(b'"', &buf).is_some() {
            // Quoted fields may hold line ends: the csv crate reads the rest.
            buf.extend_from_slice(&carry);
            let rest = std::io::Cursor::new(buf).chain(reader);
            read_csv_records(rest, &layout, line - 1, chunk_size, on_block)?;
            break;
        }
        if !buf.is_empty() {
            let lines = memchr::memchr_iter(b'\n', &buf).count() as u64;
            on_block(SiteBlock(BlockKind::Text {
                text: Text::Owned(buf),
                first_line: line,
                layout: layout.clone(),
            }))?;
            line += lines;
        }
        if eof && carry.is_empty() {
            break;
        }
    }
    Ok(SiteHeader {
        format: SiteFormat::Csv,
        columns: header,
        source: label.to_string(),
    })
}

/// The body of a CSV site file from byte `start` on as blocks of about [`CSV_BLOCK_BYTES`]
/// cut after a line end, each a memory map of its piece of the file (no copy of the text;
/// a block's memory goes with it). From the first block with a quote on, the csv crate
/// reads the rest. Returns false, having read nothing, when `path` is not a regular file.
fn read_csv_mapped(
    path: &Path,
    start: u64,
    layout: &Arc<CsvLayout>,
    chunk_size: usize,
    on_block: &mut dyn FnMut(SiteBlock) -> Result<()>,
) -> Result<bool> {
    use crate::mapped::map_range;
    // Only regular files with a size (not pipes, devices or /proc files): checked before
    // opening the path again, which for a pipe would take a second reader.
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
    if !meta.is_file() || meta.len() == 0 {
        return Ok(false);
    }
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    let len = file.metadata().map_err(|e| Error::io(path, &e))?.len();
    let (mut pos, mut line) = (start.min(len), 2u64);
    while pos < len {
        let mut want = CSV_BLOCK_BYTES as u64;
        let (map, cut) = loop {
            let end = (pos + want).min(len);
            let Some(map) = map_range(&file, path, pos, (end - pos) as usize)? else {
                return Ok(false);
            };
            if end == len {
                let cut = map.len();
                break (map, cut);
            }
            match memchr::memrchr(b'\n', &map) {
                Some(i) => break (map, i + 1),
                None => want *= 2, // one very long line: read on until it ends
            }
        };
        if memchr::memchr(b'"', &map[..cut]).is_some() {
            // Quoted fields may hold line ends: the csv crate reads the rest.
            use std::io::Seek;
            file.seek(std::io::SeekFrom::Start(pos))
                .map_err(|e| Error::io(path, &e))?;
            let rest = std::io::BufReader::with_capacity(1 << 16, file);
            read_csv_records(rest, layout, line - 1, chunk_size, on_block)?;
            return Ok(true);
        }
        let lines = memchr::memchr_iter(b'\n', &map[..cut]).count() as u64;
        on_block(SiteBlock(BlockKind::Text {
            text: Text::Mapped(map, 0..cut),
            first_line: line,
            layout: layout.clone(),
        }))?;
        line += lines;
        pos += cut as u64;
    }
    Ok(true)
}

/// Read CSV records (no header) one by one with the csv crate; `line_offset` is added to the
/// line numbers it reports.
fn read_csv_records(
    reader: impl Read,
    layout: &CsvLayout,
    line_offset: u64,
    chunk_size: usize,
    on_block: &mut dyn FnMut(SiteBlock) -> Result<()>,
) -> Result<()> {
    let label = layout.label.as_str();
    // Records end at `\n` and a `\r` before it is stripped here: with its default CRLF
    // terminator the csv crate reports the previous line for records after a `\r\n`
    // (BurntSushi/rust-csv#395).
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(layout.delimiter)
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(reader);
    let err = |e: csv::Error| {
        let e = crate::layers::csv_error_label(label, &e);
        match e.location().and_then(|l| l.rsplit_once(':')) {
            Some((file, n)) if file == label => match n.parse::<u64>() {
                Ok(n) => Error::at(
                    ErrorKind::Input,
                    format!("{label}:{}", n + line_offset),
                    e.message(),
                ),
                Err(_) => e,
            },
            _ => e,
        }
    };
    let mut chunk = Vec::with_capacity(chunk_size);
    let mut record = csv::StringRecord::new();
    while rdr.read_record(&mut record).map_err(err)? {
        let line = record.position().map_or(0, |p| p.line()) + line_offset;
        if record.iter().next_back().is_some_and(|f| f.ends_with('\r')) {
            let n = record.len();
            record = record
                .iter()
                .enumerate()
                .map(|(k, f)| {
                    if k + 1 == n {
                        f.strip_suffix('\r').unwrap_or(f)
                    } else {
                        f
                    }
                })
                .collect();
        }
        if record.len() == 1 && record[0].is_empty() {
            continue; // a blank line
        }
        let at = |msg: String| layout.error(line, msg);
        if record.len() != layout.fields {
            return Err(at(format!(
                "row has {} fields, the header has {}",
                record.len(),
                layout.fields
            )));
        }
        let lat = parse_coordinate(&record[layout.lat], "latitude", 90.0).map_err(at)?;
        let lon = parse_coordinate(&record[layout.lon], "longitude", 180.0).map_err(at)?;
        chunk.push(Site {
            index: 0, // set when the block is parsed
            id: match layout.id {
                Some(c) => record[c].trim().to_string(),
                None => String::new(),
            },
            lon,
            lat,
            record: Record::Csv(record.clone()),
        });
        if chunk.len() >= chunk_size {
            on_block(SiteBlock(BlockKind::Sites {
                sites: std::mem::replace(&mut chunk, Vec::with_capacity(chunk_size)),
                number_ids: layout.id.is_none(),
            }))?;
        }
    }
    if !chunk.is_empty() {
        on_block(SiteBlock(BlockKind::Sites {
            sites: chunk,
            number_ids: layout.id.is_none(),
        }))?;
    }
    Ok(())
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
        let label = crate::feature_stream::feature_label(index, &feature);
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
