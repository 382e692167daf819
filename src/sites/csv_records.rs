//! CSV sites read record by record with the `csv` crate (quoted fields may span lines).

use super::chunk::{BlockKind, SiteBlock};
use super::fast_csv::CsvLayout;
use super::{Record, Site};
use crate::error::{Error, ErrorKind, Result};
use crate::layers::parse_coordinate;
use std::io::Read;

/// Read CSV records (no header) one by one with the csv crate; `line_offset` is added to the
/// line numbers it reports.
pub(super) fn read_csv_records(
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
    let flush = |sites| {
        SiteBlock(BlockKind::Sites {
            sites,
            number_ids: layout.id.is_none(),
        })
    };
    while rdr.read_record(&mut record).map_err(err)? {
        let line = record.position().map_or(0, |p| p.line()) + line_offset;
        strip_cr(&mut record);
        if record.len() == 1 && record[0].is_empty() {
            continue; // a blank line
        }
        chunk.push(site_of(&record, layout, line)?);
        if chunk.len() >= chunk_size {
            on_block(flush(std::mem::replace(
                &mut chunk,
                Vec::with_capacity(chunk_size),
            )))?;
        }
    }
    if !chunk.is_empty() {
        on_block(flush(chunk))?;
    }
    Ok(())
}

/// Drop the `\r` of a `\r\n` line end from the last field.
fn strip_cr(record: &mut csv::StringRecord) {
    if record.iter().next_back().is_some_and(|f| f.ends_with('\r')) {
        let n = record.len();
        *record = record
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
}

/// The site of a record on `line` (its input position is set when the block is parsed).
fn site_of(record: &csv::StringRecord, layout: &CsvLayout, line: u64) -> Result<Site> {
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
    Ok(Site {
        index: 0,
        id: match layout.id {
            Some(c) => record[c].trim().to_string(),
            None => String::new(),
        },
        lon,
        lat,
        record: Record::Csv(record.clone()),
    })
}
