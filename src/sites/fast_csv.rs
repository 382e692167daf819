//! Quote-free CSV sites, read as blocks of text (memory-mapped where the input is a regular
//! file) cut at line ends and parsed in parallel; from the first quote on, the `csv` crate
//! reads the rest ([`super::csv_records`]).

use super::chunk::{BlockKind, SiteBlock, Text};
use super::csv_records::read_csv_records;
use super::{CSV_BLOCK_BYTES, SiteFormat, SiteHeader, SiteOptions, SiteSource};
use crate::error::{Error, ErrorKind, Result};
use crate::layers::{detect_coordinate_columns, parse_coordinate};
use std::io::{BufRead, Read};
use std::path::Path;
use std::sync::Arc;

/// Where the fields a site needs are in a CSV row.
#[derive(Debug)]
pub(super) struct CsvLayout {
    pub(super) label: String,
    pub(super) delimiter: u8,
    pub(super) fields: usize,
    pub(super) lat: usize,
    pub(super) lon: usize,
    pub(super) id: Option<usize>,
}

impl CsvLayout {
    pub(super) fn error(&self, line: u64, msg: String) -> Error {
        Error::at(ErrorKind::Input, format!("{}:{line}", self.label), msg)
    }

    /// (lon, lat) of a quote-free CSV line, checking the field count as the csv crate does.
    pub(super) fn position(&self, line: &str) -> std::result::Result<(f64, f64), String> {
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

pub(super) fn read_csv(
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
    // The header line, parsed by the csv crate (it may quote names).
    let mut head = Vec::new();
    reader.read_until(b'\n', &mut head).map_err(io)?;
    let header = parse_header(&head, delimiter, label)?;
    let layout = Arc::new(CsvLayout::new(&header, options, label, delimiter)?);
    let done = SiteHeader {
        format: SiteFormat::Csv,
        columns: header,
        source: label.to_string(),
        coordinates: Some((layout.lon, layout.lat)),
    };
    if let SiteSource::File(path) = source {
        if read_csv_mapped(path, head.len() as u64, &layout, chunk_size, on_block)? {
            return Ok(done);
        }
    }
    read_csv_blocks(reader, &layout, chunk_size, on_block)?;
    Ok(done)
}

/// The header's column names (trimmed, without a byte-order mark).
fn parse_header(head: &[u8], delimiter: u8, label: &str) -> Result<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .from_reader(head);
    let mut r = csv::StringRecord::new();
    rdr.read_record(&mut r)
        .map_err(|e| crate::layers::csv_error_label(label, &e))?;
    Ok(r.iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect())
}

impl CsvLayout {
    /// Where the coordinates and the id are, from the header and the options.
    fn new(header: &[String], options: &SiteOptions, label: &str, delimiter: u8) -> Result<Self> {
        let cc = detect_coordinate_columns(
            header,
            options.lat.as_deref(),
            options.lon.as_deref(),
            label,
        )?;
        let id = match &options.id {
            Some(name) => Some(header.iter().position(|h| h == name).ok_or_else(|| {
                Error::at(
                    ErrorKind::Input,
                    format!("{label}:1"),
                    format!("no id column \"{name}\" (columns: {})", header.join(", ")),
                )
            })?),
            None => header.iter().position(|h| h.eq_ignore_ascii_case("id")),
        };
        Ok(CsvLayout {
            label: label.to_string(),
            delimiter,
            fields: header.len(),
            lat: cc.lat,
            lon: cc.lon,
            id,
        })
    }
}

/// The body of a CSV site stream (after the header) as blocks of about [`CSV_BLOCK_BYTES`]
/// cut after a line end; from the first block with a quote on, the csv crate reads the rest.
fn read_csv_blocks(
    mut reader: impl BufRead + Send,
    layout: &Arc<CsvLayout>,
    chunk_size: usize,
    on_block: &mut dyn FnMut(SiteBlock) -> Result<()>,
) -> Result<()> {
    let io = |e: std::io::Error| Error::io(Path::new(&layout.label), &e);
    let mut line = 2u64;
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
            return read_csv_records(rest, layout, line - 1, chunk_size, on_block);
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
            return Ok(());
        }
    }
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
