//! CSV: the input columns first, then the result columns; `.` decimal separator.

use super::{Context, input_columns, input_values, result_columns, result_values};
use crate::batch::ScoredSite;
use crate::sites::Record;
use serde_json::Value as Json;
use std::io::Write;

fn cell(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        Json::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// A csv error as the io::Error inside it (so a closed pipe stays a closed pipe).
fn io(e: ::csv::Error) -> std::io::Error {
    match e.into_kind() {
        ::csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// Write results as CSV with a header row.
pub fn write_csv(
    out: &mut dyn Write,
    ctx: &Context,
    results: &[ScoredSite],
) -> std::io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    let inputs = input_columns(ctx.header);
    let mut header = inputs.clone();
    header.extend(result_columns(ctx, &inputs));
    w.write_record(&header).map_err(io)?;
    let mut row: Vec<String> = Vec::with_capacity(header.len());
    for s in results {
        row.clear();
        match &s.site.record {
            Record::Csv(cells) => row.extend(cells.iter().map(str::to_string)),
            Record::Json(_) => {
                row.push(s.site.id.clone());
                row.push(super::round(s.site.lon, 7).to_string());
                row.push(super::round(s.site.lat, 7).to_string());
                let props = input_values(ctx.header, s);
                row.extend(
                    props
                        .iter()
                        .filter(|(k, _)| !["id", "lon", "lat"].contains(&k.as_str()))
                        .map(|(_, v)| cell(v)),
                );
            }
        }
        row.extend(result_values(ctx, s).iter().map(cell));
        w.write_record(&row).map_err(io)?;
    }
    w.flush()?;
    Ok(())
}
