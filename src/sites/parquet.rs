//! GeoParquet (or plain Parquet) sites: WKB or GeoArrow points, or longitude/latitude
//! columns (see [`super::arrow`]), read a row group at a time.

use super::arrow::{json_value, locate, positions};
use super::{Record, Site, SiteFormat, SiteHeader, SiteOptions};
use crate::error::{Error, ErrorKind, Result};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value as Json;
use std::path::Path;

/// True when `head` (a file's first bytes) starts like a Parquet file.
pub(super) fn is_parquet(head: &[u8]) -> bool {
    head.starts_with(b"PAR1")
}

/// Read the sites of the Parquet file `path` in chunks of `chunk_size`.
pub(super) fn read_parquet(
    path: &Path,
    label: &str,
    options: &SiteOptions,
    chunk_size: usize,
    on_chunk: &mut dyn FnMut(Vec<Site>) -> Result<()>,
) -> Result<SiteHeader> {
    let bad = |e: parquet::errors::ParquetError| {
        Error::at(
            ErrorKind::Input,
            label,
            format!("not a readable Parquet file: {e}"),
        )
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(bad)?;
    let geo = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "geo"))
        .and_then(|k| k.value.clone());
    let schema = builder.schema().clone();
    let at = locate(&schema, geo.as_deref(), options, label)?;
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let id = match &options.id {
        Some(name) => Some(names.iter().position(|n| n == name).ok_or_else(|| {
            let msg = format!("no id column \"{name}\" (columns: {})", names.join(", "));
            Error::at(ErrorKind::Input, label, msg)
        })?),
        None => names.iter().position(|n| n.eq_ignore_ascii_case("id")),
    };
    // The site's own columns: all but the geometry.
    let keep: Vec<usize> = (0..names.len())
        .filter(|&i| Some(i) != at.geometry_column())
        .collect();
    let reader = builder
        .with_batch_size(chunk_size.max(1))
        .build()
        .map_err(bad)?;
    let mut first = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| Error::at(ErrorKind::Input, label, e.to_string()))?;
        let (lon, lat) = positions(&batch, &at, first, label)?;
        let mut sites = Vec::with_capacity(batch.num_rows());
        for (row, (lon, lat)) in lon.into_iter().zip(lat).enumerate() {
            let index = first + row as u64;
            let record: serde_json::Map<String, Json> = keep
                .iter()
                .map(|&i| (names[i].clone(), json_value(batch.column(i), row)))
                .collect();
            let id = match id.map(|i| json_value(batch.column(i), row)) {
                None => (index + 1).to_string(),
                Some(Json::String(s)) => s,
                Some(Json::Null) => {
                    let msg = format!("row {index}: id is null");
                    return Err(Error::at(ErrorKind::Input, label, msg));
                }
                Some(v) => v.to_string(),
            };
            sites.push(Site {
                index,
                id,
                lon,
                lat,
                record: Record::Json(record),
            });
        }
        first += sites.len() as u64;
        if !sites.is_empty() {
            on_chunk(sites)?;
        }
    }
    Ok(SiteHeader {
        format: SiteFormat::Parquet,
        columns: keep.iter().map(|&i| names[i].clone()).collect(),
        source: label.to_string(),
        coordinates: None,
    })
}
