//! GeoJSON sites: a FeatureCollection of Points, streamed.

use super::{Record, Site, SiteFormat, SiteHeader, SiteOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::feature_stream::{FeatureVisitor, stream_features};
use std::io::Read;

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
                let lon = coordinate(c[0], "longitude", 180.0).map_err(at)?;
                let lat = coordinate(c[1], "latitude", 90.0).map_err(at)?;
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

pub(super) fn read_geojson(
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
        coordinates: None,
    })
}

/// A coordinate within [-max_abs, max_abs]; the message shows huge values briefly.
fn coordinate(v: f64, what: &str, max_abs: f64) -> std::result::Result<f64, String> {
    if v.is_finite() && v.abs() <= max_abs {
        Ok(v)
    } else {
        let shown = crate::text::format_number(v);
        Err(format!(
            "{what} {shown} is out of range [-{max_abs}, {max_abs}]"
        ))
    }
}
