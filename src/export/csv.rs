//! CSV: the input columns first, then the result columns; `.` decimal separator.

use super::{Context, input_columns, input_values, result_columns, result_values};
use crate::batch::SiteRows;
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
    results: &mut dyn SiteRows,
) -> std::io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    let inputs = input_columns(ctx.header);
    let mut header = inputs.clone();
    header.extend(result_columns(ctx, &inputs));
    w.write_record(&header).map_err(io)?;
    let mut row: Vec<String> = Vec::with_capacity(header.len());
    results.for_each(&mut |s| {
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
        w.write_record(&row).map_err(io)
    })?;
    w.flush()?;
    Ok(())
}

/// The coordinate system of every output, as the `.prj` beside a CSV (WGS 84 longitude and
/// latitude, the ESRI WKT that GDAL's CSV driver reads).
pub const WGS84_PRJ: &str = "GEOGCS[\"GCS_WGS_1984\",DATUM[\"D_WGS_1984\",SPHEROID[\"WGS_1984\",6378137.0,298.257223563]],PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]]";

/// The `.csvt` beside a CSV output (GeoCSV, as GDAL's CSV driver and QGIS read it): the type
/// of each column, with the longitude and latitude as `CoordX` and `CoordY`, so that the
/// file opens as typed points without set-up.
pub fn csvt(ctx: &Context) -> String {
    let inputs = input_columns(ctx.header);
    let (x, y) = match ctx.header.format {
        crate::sites::SiteFormat::Csv => ctx.header.coordinates.unwrap_or((usize::MAX, usize::MAX)),
        crate::sites::SiteFormat::GeoJson | crate::sites::SiteFormat::Parquet => (1, 2),
    };
    let mut types: Vec<&str> = (0..inputs.len())
        .map(|i| match i {
            _ if i == x => "CoordX",
            _ if i == y => "CoordY",
            _ => "String",
        })
        .collect();
    // rank, tie_group, score, status, reasons, unknown (as `result_columns`).
    types.extend(["Integer", "Integer", "Real", "String", "String", "String"]);
    for c in &ctx.engine.profile().criteria {
        types.push(if c.standardise.is_numeric() {
            "Real"
        } else {
            "String"
        });
        if c.has_mixed_units() {
            types.push("String");
        }
        types.extend(["Real", "Real"]);
        if c.has_sources() {
            types.push("String");
        }
    }
    if ctx.sensitivity.is_some() {
        types.extend(["Real", "Integer", "Integer", "Real"]);
    }
    let quoted: Vec<String> = types.iter().map(|t| format!("\"{t}\"")).collect();
    format!("{}\n", quoted.join(","))
}
