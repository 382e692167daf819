//! GeoJSON layers, read as a stream of features (the collection is never held whole).

use super::{Attributes, Geometry, LayerKind, LayerSpec, PointFeature, Value, repair_polygon};
use crate::error::{Error, ErrorKind, Result};
use geojson::{Feature, GeometryValue};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::HashMap;
use std::io::Read;
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

struct Collection<'a, V> {
    visitor: &'a mut V,
    count: usize,
    stopped: Option<Error>,
    saw_type: Option<String>,
    saw_features: bool,
    in_features: bool,
}

impl<'de, V: FeatureVisitor> DeserializeSeed<'de> for &mut Collection<'_, V> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, V: FeatureVisitor> Visitor<'de> for &mut Collection<'_, V> {
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
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct Features<'a, 'b, V>(&'a mut Collection<'b, V>);

impl<'de, V: FeatureVisitor> DeserializeSeed<'de> for Features<'_, '_, V> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, V: FeatureVisitor> Visitor<'de> for Features<'_, '_, V> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of GeoJSON features")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        self.0.in_features = true;
        loop {
            let index = self.0.count;
            let feature = match seq.next_element::<Feature>() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(e),
            };
            self.0.count += 1;
            if let Err(e) = self.0.visitor.feature(index, feature) {
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
/// use standort::layers::stream_features;
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
    stream_from(de, source, visitor)
}

/// Files up to this size are read whole and parsed from memory (about twice as fast as
/// from a reader); larger ones are streamed.
const READ_WHOLE_BYTES: u64 = 256 << 20;

/// [`stream_features`] over a file: read whole when it is small enough to parse from memory.
pub(crate) fn stream_features_file<V: FeatureVisitor>(
    path: &Path,
    source: &str,
    visitor: &mut V,
) -> Result<usize> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    if len > READ_WHOLE_BYTES {
        return stream_features(file, source, visitor);
    }
    let mut bytes = Vec::with_capacity(len as usize + 1);
    std::io::Read::read_to_end(&mut { file }, &mut bytes).map_err(|e| Error::io(path, &e))?;
    stream_from(
        serde_json::Deserializer::from_slice(&bytes),
        source,
        visitor,
    )
}

fn stream_from<'de, R: serde_json::de::Read<'de>, V: FeatureVisitor>(
    mut de: serde_json::Deserializer<R>,
    source: &str,
    visitor: &mut V,
) -> Result<usize> {
    let mut coll = Collection {
        visitor,
        count: 0,
        stopped: None,
        saw_type: None,
        saw_features: false,
        in_features: false,
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

/// A JSON property value as a cell.
pub(crate) fn json_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Number(n) => n.as_f64().map_or(Value::Null, Value::Num),
        serde_json::Value::String(s) => Value::Text(s.clone()),
        serde_json::Value::Bool(b) => Value::Text(b.to_string()),
        other => Value::Text(other.to_string()),
    }
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
            format!("{feature}: longitude {lon} is out of range [-180, 180]"),
        ));
    }
    if !lat.is_finite() || lat.abs() > 90.0 {
        return Err(Error::new(
            ErrorKind::Input,
            format!("{feature}: latitude {lat} is out of range [-90, 90]"),
        ));
    }
    Ok([lon, lat])
}

/// Describe a feature for messages: `feature 3` or `feature 3 (id "Z3")`.
pub(crate) fn feature_label(index: usize, feature: &Feature) -> String {
    match &feature.id {
        Some(geojson::feature::Id::String(s)) => format!("feature {} (id \"{s}\")", index + 1),
        Some(geojson::feature::Id::Number(n)) => format!("feature {} (id {n})", index + 1),
        None => format!("feature {}", index + 1),
    }
}

fn ring(coords: &[geojson::Position], label: &str) -> Result<Vec<[f64; 2]>> {
    coords
        .iter()
        .map(|p| check_position(p.as_slice(), label))
        .collect()
}

/// Read a GeoJSON layer of the declared kind.
pub(crate) fn read_layer(path: &Path, spec: &LayerSpec) -> Result<(Geometry, Attributes)> {
    let source = path.display().to_string();
    let mut fields: Vec<String> = spec.fields.clone().unwrap_or_default();
    let fixed_fields = spec.fields.is_some();
    let mut field_pos: HashMap<String, usize> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| (f.clone(), i))
        .collect();
    let mut seen_field = vec![false; fields.len()];
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let mut points = Vec::new();
    let mut lines = Vec::new();
    let mut polygons = Vec::new();
    let kind = spec.kind;
    let mut visit = |index: usize, feature: Feature| -> Result<()> {
        let label = feature_label(index, &feature);
        let at = |e: Error| Error::at(ErrorKind::Input, source.clone(), e.message());
        let Some(geometry) = &feature.geometry else {
            return Ok(());
        };
        let row = rows.len();
        match (&geometry.value, kind) {
            (GeometryValue::Point { coordinates }, LayerKind::Points) => {
                let [lon, lat] = check_position(coordinates.as_slice(), &label).map_err(at)?;
                points.push(PointFeature { lon, lat, row });
            }
            (GeometryValue::MultiPoint { coordinates }, LayerKind::Points) => {
                for p in coordinates {
                    let [lon, lat] = check_position(p.as_slice(), &label).map_err(at)?;
                    points.push(PointFeature { lon, lat, row });
                }
            }
            (GeometryValue::LineString { coordinates }, LayerKind::Lines) => {
                lines.push(vec![ring(coordinates, &label).map_err(at)?]);
            }
            (GeometryValue::MultiLineString { coordinates }, LayerKind::Lines) => {
                lines.push(
                    coordinates
                        .iter()
                        .map(|l| ring(l, &label))
                        .collect::<Result<_>>()
                        .map_err(at)?,
                );
            }
            (GeometryValue::Polygon { coordinates }, LayerKind::Polygons) => {
                let rings: Vec<_> = coordinates
                    .iter()
                    .map(|r| ring(r, &label))
                    .collect::<Result<_>>()
                    .map_err(at)?;
                polygons.extend(repair_polygon(&rings, row));
            }
            (GeometryValue::MultiPolygon { coordinates }, LayerKind::Polygons) => {
                for poly in coordinates {
                    let rings: Vec<_> = poly
                        .iter()
                        .map(|r| ring(r, &label))
                        .collect::<Result<_>>()
                        .map_err(at)?;
                    polygons.extend(repair_polygon(&rings, row));
                }
            }
            (other, kind) => {
                let expected = match kind {
                    LayerKind::Points => "Point or MultiPoint",
                    LayerKind::Lines => "LineString or MultiLineString",
                    LayerKind::Polygons => "Polygon or MultiPolygon",
                    LayerKind::Raster => "a raster file",
                };
                return Err(Error::at(
                    ErrorKind::Input,
                    source.clone(),
                    format!(
                        "{label}: layer \"{}\" is {kind}, expected {expected}, found {}",
                        spec.name,
                        other.type_name()
                    ),
                ));
            }
        }
        let mut cells = vec![Value::Null; fields.len()];
        if let Some(props) = &feature.properties {
            for (k, v) in props {
                let pos = match field_pos.get(k) {
                    Some(&p) => p,
                    None if !fixed_fields => {
                        fields.push(k.clone());
                        field_pos.insert(k.clone(), fields.len() - 1);
                        seen_field.push(false);
                        for r in rows.iter_mut() {
                            r.push(Value::Null);
                        }
                        cells.push(Value::Null);
                        fields.len() - 1
                    }
                    None => continue,
                };
                seen_field[pos] = true;
                cells[pos] = json_value(v);
            }
        }
        rows.push(cells);
        Ok(())
    };
    stream_features_file(path, &source, &mut visit)?;
    if fixed_fields {
        if let Some(missing) = fields
            .iter()
            .zip(&seen_field)
            .find(|(_, s)| !**s)
            .map(|(f, _)| f)
        {
            if !rows.is_empty() {
                return Err(Error::at(
                    ErrorKind::Config,
                    source,
                    format!(
                        "layer \"{}\" has no property \"{missing}\" in any feature",
                        spec.name
                    ),
                ));
            }
        }
    }
    // Numeric-looking text columns (numbers stored as strings) become numbers.
    for c in 0..fields.len() {
        let numeric = rows.iter().all(|r| match &r[c] {
            Value::Null | Value::Num(_) => true,
            Value::Text(t) => t.trim().parse::<f64>().is_ok_and(f64::is_finite),
        });
        if numeric {
            for r in rows.iter_mut() {
                if let Value::Text(t) = &r[c] {
                    r[c] = Value::Num(t.trim().parse().unwrap_or(f64::NAN));
                }
            }
        }
    }
    let geometry = match kind {
        LayerKind::Points => Geometry::Points(points),
        LayerKind::Lines => Geometry::Lines(lines),
        _ => Geometry::Polygons(polygons),
    };
    Ok((geometry, Attributes::new(fields, rows)))
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
