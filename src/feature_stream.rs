//! GeoJSON FeatureCollections read as a stream of features (the collection is never held
//! whole): used by the site reader, the layer reader and the catalog's column checks.

use crate::error::{Error, ErrorKind, Result};
use geojson::Feature;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::io::Read;
use std::marker::PhantomData;
use std::path::Path;

/// Receives the features of a GeoJSON FeatureCollection one at a time.
pub trait FeatureVisitor {
    /// Called for every feature; `index` counts from 0. An error stops the stream.
    fn feature(&mut self, index: usize, feature: Feature) -> Result<()>;
}

impl<F: FnMut(usize, Feature) -> Result<()>> FeatureVisitor for F {
    fn feature(&mut self, index: usize, feature: Feature) -> Result<()> {
        self(index, feature)
    }
}

/// Reads a FeatureCollection object, handing its features (deserialized as `T`) to `sink`.
struct Collection<'a, T, S> {
    sink: &'a mut S,
    count: usize,
    stopped: Option<Error>,
    saw_type: Option<String>,
    saw_features: bool,
    in_features: bool,
    item: PhantomData<T>,
}

impl<'de, T, S> DeserializeSeed<'de> for &mut Collection<'_, T, S>
where
    T: Deserialize<'de>,
    S: FnMut(usize, T) -> Result<()>,
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T, S> Visitor<'de> for &mut Collection<'_, T, S>
where
    T: Deserialize<'de>,
    S: FnMut(usize, T) -> Result<()>,
{
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => {
                    let t: String = map.next_value()?;
                    if t != "FeatureCollection" {
                        return Err(de::Error::custom(format!(
                            "expected a FeatureCollection, found type \"{t}\""
                        )));
                    }
                    self.saw_type = Some(t);
                }
                "features" => {
                    self.saw_features = true;
                    map.next_value_seed(Features(&mut *self))?;
                }
                "crs" => {
                    let crs: serde_json::Value = map.next_value()?;
                    check_crs(&crs).map_err(de::Error::custom)?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A `crs` member (from GeoJSON before RFC 7946, as GDAL still writes it) must name WGS84
/// longitude/latitude: coordinates in another CRS would be read as degrees.
fn check_crs(crs: &serde_json::Value) -> std::result::Result<(), String> {
    let name = crs
        .pointer("/properties/name")
        .and_then(|n| n.as_str())
        .unwrap_or("");
    let wgs84 = name.is_empty() || name.contains("CRS84") || name.ends_with(":4326");
    if wgs84 {
        Ok(())
    } else {
        Err(format!(
            "declares the CRS \"{name}\"; GeoJSON is read as WGS84 longitude/latitude (RFC 7946): reproject it (ogr2ogr -t_srs EPSG:4326) or read it through the `gdal` feature"
        ))
    }
}

struct Features<'a, 'b, T, S>(&'a mut Collection<'b, T, S>);

impl<'de, T, S> DeserializeSeed<'de> for Features<'_, '_, T, S>
where
    T: Deserialize<'de>,
    S: FnMut(usize, T) -> Result<()>,
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T, S> Visitor<'de> for Features<'_, '_, T, S>
where
    T: Deserialize<'de>,
    S: FnMut(usize, T) -> Result<()>,
{
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of GeoJSON features")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        self.0.in_features = true;
        while let Some(feature) = seq.next_element::<T>()? {
            let index = self.0.count;
            self.0.count += 1;
            if let Err(e) = (self.0.sink)(index, feature) {
                self.0.stopped = Some(e);
                return Err(de::Error::custom("stopped"));
            }
        }
        self.0.in_features = false;
        Ok(())
    }
}

/// Stream the features of a GeoJSON FeatureCollection from `reader` to `visitor`.
///
/// Returns the number of features. Syntax errors name `source` and the line; errors the
/// visitor returns are passed through unchanged.
///
/// ```
/// use standort::feature_stream::stream_features;
/// let text = r#"{"type":"FeatureCollection","features":[
///   {"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}]}"#;
/// let mut n = 0;
/// stream_features(text.as_bytes(), "x.geojson", &mut |_i, _f| { n += 1; Ok(()) }).unwrap();
/// assert_eq!(n, 1);
/// ```
pub fn stream_features<R: Read, V: FeatureVisitor>(
    reader: R,
    source: &str,
    visitor: &mut V,
) -> Result<usize> {
    let de =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, reader));
    stream_from(de, source, &mut |i, f: Feature| visitor.feature(i, f))
}

/// [`stream_features`] over a file, each feature deserialized as `T`: a regular file is
/// parsed in place from a map of it (about twice as fast as from a reader, and without
/// copying it into fresh memory; see [`crate::mapped`]), anything else from a reader.
pub(crate) fn stream_features_file<T, S>(path: &Path, source: &str, sink: &mut S) -> Result<usize>
where
    T: for<'de> Deserialize<'de>,
    S: FnMut(usize, T) -> Result<()>,
{
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    match crate::mapped::map(&file, path)? {
        Some(map) => stream_from(serde_json::Deserializer::from_slice(&map), source, sink),
        None => {
            let de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(
                1 << 16,
                file,
            ));
            stream_from(de, source, sink)
        }
    }
}

/// [`stream_features_file`] over bytes in memory (a built-in layer).
pub(crate) fn stream_features_slice<T, S>(bytes: &[u8], source: &str, sink: &mut S) -> Result<usize>
where
    T: for<'de> Deserialize<'de>,
    S: FnMut(usize, T) -> Result<()>,
{
    stream_from(serde_json::Deserializer::from_slice(bytes), source, sink)
}

fn stream_from<'de, R, T, S>(
    mut de: serde_json::Deserializer<R>,
    source: &str,
    sink: &mut S,
) -> Result<usize>
where
    R: serde_json::de::Read<'de>,
    T: Deserialize<'de>,
    S: FnMut(usize, T) -> Result<()>,
{
    let mut coll = Collection {
        sink,
        count: 0,
        stopped: None,
        saw_type: None,
        saw_features: false,
        in_features: false,
        item: PhantomData,
    };
    let res = (&mut coll).deserialize(&mut de).and_then(|()| de.end());
    if let Some(e) = coll.stopped {
        return Err(e);
    }
    if let Err(e) = res {
        let err = json_error(source, &e);
        if coll.in_features && e.classify() == serde_json::error::Category::Data {
            // A feature that is valid JSON but not valid GeoJSON: say which one.
            let loc = err.location().unwrap_or(source).to_string();
            return Err(Error::at(
                ErrorKind::Input,
                loc,
                format!("feature {}: {}", coll.count + 1, err.message()),
            ));
        }
        return Err(err);
    }
    if coll.saw_type.is_none() || !coll.saw_features {
        return Err(Error::at(
            ErrorKind::Input,
            source.to_string(),
            "not a GeoJSON FeatureCollection (needs \"type\": \"FeatureCollection\" and \"features\")",
        ));
    }
    Ok(coll.count)
}

/// A serde_json error as `source:line: message`.
pub(crate) fn json_error(source: &str, e: &serde_json::Error) -> Error {
    if e.is_io() {
        return Error::at(ErrorKind::Io, source.to_string(), e.to_string());
    }
    let msg = e.to_string();
    let msg = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    let msg = if e.is_eof() {
        format!("unexpected end of file ({msg})")
    } else {
        msg
    };
    Error::at(ErrorKind::Input, format!("{source}:{}", e.line()), msg)
}

pub(crate) fn check_position(p: &[f64], feature: &str) -> Result<[f64; 2]> {
    if p.len() < 2 {
        return Err(Error::new(
            ErrorKind::Input,
            format!("{feature}: a position needs two coordinates"),
        ));
    }
    let (lon, lat) = (p[0], p[1]);
    if !lon.is_finite() || lon.abs() > 180.0 {
        return Err(Error::new(
            ErrorKind::Input,
            format!(
                "{feature}: longitude {} is out of range [-180, 180]",
                crate::text::format_number(lon)
            ),
        ));
    }
    if !lat.is_finite() || lat.abs() > 90.0 {
        return Err(Error::new(
            ErrorKind::Input,
            format!(
                "{feature}: latitude {} is out of range [-90, 90]",
                crate::text::format_number(lat)
            ),
        ));
    }
    Ok([lon, lat])
}

/// Describe a feature for messages: `feature 3` or `feature 3 (id "Z3")`.
pub(crate) fn feature_label(index: usize, feature: &Feature) -> String {
    label_with_id(index, feature.id.as_ref())
}

pub(crate) fn label_with_id(index: usize, id: Option<&geojson::feature::Id>) -> String {
    match id {
        Some(geojson::feature::Id::String(s)) => format!("feature {} (id \"{s}\")", index + 1),
        Some(geojson::feature::Id::Number(n)) => format!("feature {} (id {n})", index + 1),
        None => format!("feature {}", index + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(text: &str) -> Result<usize> {
        stream_features(text.as_bytes(), "t.geojson", &mut |_i, _f| Ok(()))
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e =
            count("{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"type\":\"Feature\",,}]}")
                .unwrap_err();
        assert!(e.to_string().starts_with("t.geojson:3: "), "{e}");
        let e = count("{\"type\":\"FeatureCollection\",\"features\":[").unwrap_err();
        assert!(e.to_string().contains("unexpected end of file"), "{e}");
    }

    #[test]
    fn not_a_collection() {
        let e = count("{\"type\":\"Feature\",\"geometry\":null,\"properties\":{}}").unwrap_err();
        assert!(
            e.to_string().contains("expected a FeatureCollection"),
            "{e}"
        );
        let e = count("[1,2]").unwrap_err();
        assert!(e.to_string().starts_with("t.geojson:1: "), "{e}");
    }

    #[test]
    fn a_crs_other_than_wgs84_is_an_error() {
        let with = |name: &str| {
            count(&format!(
                "{{\"type\":\"FeatureCollection\",\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"{name}\"}}}},\"features\":[]}}"
            ))
        };
        let e = with("urn:ogc:def:crs:EPSG::3857").unwrap_err();
        assert!(e.to_string().starts_with("t.geojson:1: "), "{e}");
        assert!(e.to_string().contains("EPSG::3857"), "{e}");
        assert_eq!(with("urn:ogc:def:crs:OGC:1.3:CRS84").unwrap(), 0);
        assert_eq!(with("EPSG:4326").unwrap(), 0);
    }

    #[test]
    fn keys_in_any_order_and_empty() {
        assert_eq!(
            count("{\"features\":[],\"type\":\"FeatureCollection\",\"bbox\":[0,0,1,1]}").unwrap(),
            0
        );
    }

    #[test]
    fn visitor_errors_pass_through() {
        let text = r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{}}]}"#;
        let e = stream_features(text.as_bytes(), "t", &mut |_i, _f| {
            Err(Error::new(ErrorKind::Input, "mine"))
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "mine");
    }
}
