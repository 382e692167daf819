//! Writers for results: GeoJSON (and GeoJSONSeq), CSV, JSON, FlatGeobuf, an aligned text
//! table, and with the `gdal` feature GeoPackage and GeoTIFF. [`format`] is the registry
//! that decides the format; [`write_sites`] and [`cell_writer`] write it.
//!
//! Every writer streams: results are written one at a time, never collected into a document
//! first. [`AtomicFile`] writes to a temporary file beside the target and renames it into
//! place on success, so a failed run leaves no half-written file, and it refuses to
//! overwrite an input.

mod atomic;
mod csv;
pub mod fgb;
pub mod format;
mod geojson;
mod json;
#[cfg(feature = "gdal")]
pub mod ogr;
mod output;
pub mod parquet;
pub mod plan;
#[cfg(feature = "gdal")]
pub mod raster;
pub mod region;
mod table;

pub use self::atomic::{AtomicFile, remove_partial_files};
pub use self::format::{Format, Product};
pub use self::output::{
    CellOptions, CellWriter, CellsWriter, Destination, OutputError, SitesWriter, StreamSites,
    cell_writer, write_sites,
};

pub use self::csv::{WGS84_PRJ, csvt, write_csv};
pub use self::geojson::{FeatureCollection, write_geojson, write_geojson_lines, write_geojson_seq};
pub use self::json::write_json;
pub use self::table::write_table;

use crate::batch::{ScoredSite, Summary};
use crate::engine::{Engine, Status};
use crate::sites::{Record, SiteFormat, SiteHeader};
use serde_json::Value as Json;

/// Maps a GDAL error while writing `path` to a one-line error naming the file.
#[cfg(feature = "gdal")]
pub(crate) fn gdal_error(
    path: &std::path::Path,
) -> impl Fn(gdal::errors::GdalError) -> crate::Error + Copy + '_ {
    move |e| {
        crate::Error::at(
            crate::ErrorKind::Io,
            path.display().to_string(),
            format!("GDAL: {e}"),
        )
    }
}

/// Everything a writer needs besides the results.
pub struct Context<'a> {
    /// The engine (profile, weights, layers).
    pub engine: &'a Engine,
    /// The site input's header.
    pub header: &'a SiteHeader,
    /// Counts over all sites.
    pub summary: &'a Summary,
    /// The sensitivity analysis, when the run made one (adds rank-stability columns).
    pub sensitivity: Option<crate::sensitivity::Report>,
    /// What a picture draws besides the sites (a PNG's width, the borders).
    pub map: Option<&'a crate::map::MapOptions>,
}

/// Colour-blind-safe ramp (viridis) for a 0..1 score, as `#rrggbb`.
///
/// ```
/// assert_eq!(standort::export::score_colour(0.0), "#440154");
/// assert_eq!(standort::export::score_colour(1.0), "#fde725");
/// ```
pub fn score_colour(score: f64) -> String {
    const STOPS: [[u8; 3]; 9] = [
        [0x44, 0x01, 0x54],
        [0x47, 0x2d, 0x7b],
        [0x3b, 0x52, 0x8b],
        [0x2c, 0x72, 0x8e],
        [0x21, 0x91, 0x8c],
        [0x28, 0xae, 0x80],
        [0x5e, 0xc9, 0x62],
        [0xad, 0xdc, 0x30],
        [0xfd, 0xe7, 0x25],
    ];
    let t = score.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let c: Vec<u8> = (0..3)
        .map(|k| {
            (f64::from(STOPS[i][k]) * (1.0 - f) + f64::from(STOPS[i + 1][k]) * f).round() as u8
        })
        .collect();
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// Colour of excluded sites.
pub const EXCLUDED_COLOUR: &str = "#9e9e9e";
/// Colour of UNKNOWN sites.
pub const UNKNOWN_COLOUR: &str = "#d9d9d9";

/// The colour of a result.
pub fn result_colour(s: &ScoredSite) -> String {
    match (s.eval.status, s.eval.score) {
        (Status::Ok, Some(score)) => score_colour(score),
        (Status::Excluded, _) => EXCLUDED_COLOUR.into(),
        _ => UNKNOWN_COLOUR.into(),
    }
}

/// Round to `decimals` places (for output only).
pub fn round(x: f64, decimals: i32) -> f64 {
    let m = 10f64.powi(decimals);
    let r = (x * m).round() / m;
    if r == 0.0 { 0.0 } else { r }
}

fn json_number(x: f64, decimals: i32) -> Json {
    serde_json::Number::from_f64(round(x, decimals)).map_or(Json::Null, Json::Number)
}

/// Decimals for a raw value by unit: km to 0.1 m, others to 6 places.
fn raw_decimals(unit: &str) -> i32 {
    if unit == "km" { 4 } else { 6 }
}

/// Names of the result columns, after the input columns, avoiding clashes with them.
pub fn result_columns(ctx: &Context, input: &[String]) -> Vec<String> {
    let mut cols = vec!["rank".to_string(), "tie_group".into()];
    cols.extend(evaluation_columns(ctx.engine));
    if let Some(r) = ctx.sensitivity {
        cols.extend([
            "rank_mean".to_string(),
            "rank_p05".into(),
            "rank_p95".into(),
            format!("p_top_{}", r.top_k),
        ]);
    }
    avoid_clashes(cols, input)
}

/// `columns` with `standort_` before each name that is also in `input`.
pub fn avoid_clashes(columns: Vec<String>, input: &[String]) -> Vec<String> {
    columns
        .into_iter()
        .map(|c| {
            if input.contains(&c) {
                format!("standort_{c}")
            } else {
                c
            }
        })
        .collect()
}

/// Names of what one evaluation says, whatever the other sites (no rank): score, status,
/// reasons, the UNKNOWN criteria, then per criterion its raw value (and unit when its
/// sources differ), sub-score, weighted contribution (and source when it has several).
pub fn evaluation_columns(engine: &Engine) -> Vec<String> {
    let mut cols = vec![
        "score".to_string(),
        "status".into(),
        "reasons".into(),
        "unknown".into(),
    ];
    for c in &engine.profile().criteria {
        cols.push(c.value_column());
        if c.has_mixed_units() {
            cols.push(format!("{}_unit", c.id()));
        }
        cols.push(format!("{}_score", c.id()));
        cols.push(format!("{}_contribution", c.id()));
        if c.has_sources() {
            cols.push(format!("{}_source", c.id()));
        }
    }
    cols
}

/// The result values in the order of [`result_columns`].
pub fn result_values(ctx: &Context, s: &ScoredSite) -> Vec<Json> {
    let mut out = vec![
        s.rank.map_or(Json::Null, Json::from),
        s.tie_group.map_or(Json::Null, Json::from),
    ];
    out.extend(evaluation_values(ctx.engine, &s.eval));
    if ctx.sensitivity.is_some() {
        out.extend(stability_values(s.stability.as_ref()));
    }
    out
}

/// The values of an evaluation in the order of [`evaluation_columns`], as precise as the
/// outputs write them (scores to 6 decimals, km to 0.1 m).
pub fn evaluation_values(engine: &Engine, e: &crate::Evaluation) -> Vec<Json> {
    let mut out = vec![
        e.score.map_or(Json::Null, |x| json_number(x, 6)),
        Json::from(e.status.to_string()),
        Json::from(e.reasons.join("; ")),
        Json::from(
            engine
                .profile()
                .criteria
                .iter()
                .zip(&e.values)
                .filter(|(_, v)| v.unknown.is_some())
                .map(|(c, _)| c.id())
                .collect::<Vec<_>>()
                .join(","),
        ),
    ];
    for (i, (c, v)) in engine.profile().criteria.iter().zip(&e.values).enumerate() {
        out.push(match &v.raw {
            crate::layers::Value::Num(x) => json_number(*x, raw_decimals(c.source_unit(v.source))),
            crate::layers::Value::Text(t) => Json::from(t.clone()),
            crate::layers::Value::Null => Json::Null,
        });
        if c.has_mixed_units() {
            out.push(if v.raw.is_null() {
                Json::Null
            } else {
                Json::from(c.source_unit(v.source))
            });
        }
        out.push(v.score.map_or(Json::Null, |x| json_number(x, 6)));
        out.push(v.contribution.map_or(Json::Null, |x| json_number(x, 6)));
        if c.has_sources() {
            out.push(source_label(engine, i, v.source).map_or(Json::Null, Json::from));
        }
    }
    out
}

/// The rank-stability values of a site (nulls for a site not tracked).
fn stability_values(st: Option<&crate::sensitivity::Stability>) -> [Json; 4] {
    match st {
        Some(st) => [
            json_number(st.mean_rank, 2),
            Json::from(st.rank_p05),
            Json::from(st.rank_p95),
            json_number(st.p_top, 4),
        ],
        None => [Json::Null, Json::Null, Json::Null, Json::Null],
    }
}

/// The layer that gave a criterion's value, with its note (e.g. "proxy: ...") when the
/// profile declares one.
pub fn source_label(engine: &Engine, criterion: usize, source: Option<u16>) -> Option<String> {
    let layers = engine.criterion_layers(criterion);
    let name = match source {
        Some(k) => layers.get(k as usize)?,
        None if layers.len() == 1 => &layers[0],
        None => return None,
    };
    let c = &engine.profile().criteria[criterion];
    let k = source.map_or(0, usize::from);
    let mut label = name.clone();
    if let Some(src) = c.source(k) {
        let detail: Vec<&str> = [src.field.as_deref(), src.unit.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if !detail.is_empty() {
            label.push_str(&format!(" [{}]", detail.join(", ")));
        }
        if let Some(note) = &src.note {
            label.push_str(&format!(" ({note})"));
        }
    }
    Some(label)
}

/// The input columns of a site as JSON values (CSV cells as text, GeoJSON properties as they were).
pub fn input_values(header: &SiteHeader, s: &ScoredSite) -> Vec<(String, Json)> {
    match &s.site.record {
        // The coordinate columns go out as numbers (as they were read); other CSV cells as
        // the text they are.
        Record::Csv(cells) => header
            .columns
            .iter()
            .cloned()
            .zip(cells.iter().enumerate().map(|(i, c)| {
                let coordinate = header.coordinates.is_some_and(|(x, y)| i == x || i == y);
                match c.trim().parse::<f64>() {
                    Ok(v) if coordinate && v.is_finite() => json_number(v, 9),
                    _ => Json::from(c.to_string()),
                }
            }))
            .collect(),
        Record::Json(props) => header
            .columns
            .iter()
            .map(|k| (k.clone(), props.get(k).cloned().unwrap_or(Json::Null)))
            .collect(),
    }
}

/// Input column names as a CSV writes them (GeoJSON input gets `id`, `lon`, `lat` first).
pub fn input_columns(header: &SiteHeader) -> Vec<String> {
    match header.format {
        SiteFormat::Csv => header.columns.clone(),
        SiteFormat::GeoJson | SiteFormat::Parquet => {
            let mut c = vec!["id".to_string(), "lon".into(), "lat".into()];
            c.extend(
                header
                    .columns
                    .iter()
                    .filter(|k| !["id", "lon", "lat"].contains(&k.as_str()))
                    .cloned(),
            );
            c
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_is_monotone_in_lightness() {
        let lum = |s: &str| {
            let v = u32::from_str_radix(&s[1..], 16).unwrap();
            0.2126 * f64::from((v >> 16) & 255)
                + 0.7152 * f64::from((v >> 8) & 255)
                + 0.0722 * f64::from(v & 255)
        };
        let l: Vec<f64> = (0..=20)
            .map(|i| lum(&score_colour(f64::from(i) / 20.0)))
            .collect();
        assert!(l.windows(2).all(|w| w[1] >= w[0] - 1.0), "{l:?}");
    }
}
