//! GeoJSON layers: geometry positions go straight into flat lists, properties into columns.

use super::{Attributes, Geometry, LayerKind, LayerSpec, PointFeature, Value, repair_polygon};
use crate::error::{Error, ErrorKind, Result};
use crate::feature_stream::{check_position, label_with_id, stream_features_file};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::HashMap;
use std::path::Path;

/// A feature as a layer reads it: the geometry's positions go straight into one flat list
/// (no tree of coordinate arrays is built), the properties into a JSON map.
struct LayerFeature {
    id: Option<geojson::feature::Id>,
    geometry: Option<FlatGeometry>,
    properties: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A geometry's positions (longitude, latitude; further coordinates are dropped) in order,
/// with the ends of its lines or rings and of its polygons.
#[derive(Debug, Default)]
struct FlatGeometry {
    type_name: String,
    coords: Vec<[f64; 2]>,
    /// End (exclusive, in `coords`) of every innermost array of positions (line or ring).
    line_ends: Vec<usize>,
    /// End (exclusive, in `line_ends`) of every array of rings (polygon).
    polygon_ends: Vec<usize>,
}

impl FlatGeometry {
    /// The lines (or rings) `a..b` as slices of positions.
    fn lines(&self, a: usize, b: usize) -> Vec<&[[f64; 2]]> {
        (a..b)
            .map(|k| {
                let start = if k == 0 { 0 } else { self.line_ends[k - 1] };
                &self.coords[start..self.line_ends[k]]
            })
            .collect()
    }
}

/// How deep the coordinate arrays of a geometry type nest (0: one position).
fn coordinate_depth(type_name: &str) -> Option<usize> {
    match type_name {
        "Point" => Some(0),
        "MultiPoint" | "LineString" => Some(1),
        "Polygon" | "MultiLineString" => Some(2),
        "MultiPolygon" => Some(3),
        _ => None,
    }
}

const GEOMETRY_TYPES: &[&str] = &[
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
];

/// Coordinates nested `depth` deep, appended to a [`FlatGeometry`].
struct Coords<'a> {
    g: &'a mut FlatGeometry,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Coords<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Coords<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(match self.depth {
            0 => "a position [longitude, latitude]",
            1 => "an array of positions",
            2 => "an array of arrays of positions",
            _ => "an array of polygons",
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        if self.depth == 0 {
            let (Some(x), Some(y)) = (seq.next_element::<f64>()?, seq.next_element::<f64>()?)
            else {
                return Err(de::Error::custom("a position needs two coordinates"));
            };
            while seq.next_element::<f64>()?.is_some() {}
            self.g.coords.push([x, y]);
            return Ok(());
        }
        let inner = self.depth - 1;
        while seq
            .next_element_seed(Coords {
                g: &mut *self.g,
                depth: inner,
            })?
            .is_some()
        {}
        match self.depth {
            1 => self.g.line_ends.push(self.g.coords.len()),
            2 => self.g.polygon_ends.push(self.g.line_ends.len()),
            _ => {}
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum GeometryKey {
    Type,
    Coordinates,
    Geometries,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for FlatGeometry {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FlatGeometry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a GeoJSON geometry object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<FlatGeometry, A::Error> {
                let mut g = FlatGeometry::default();
                let mut type_name: Option<String> = None;
                // Coordinates that come before the type are kept as JSON until it is known.
                let mut early: Option<serde_json::Value> = None;
                let (mut coordinates, mut geometries) = (false, false);
                while let Some(key) = map.next_key::<GeometryKey>()? {
                    match key {
                        GeometryKey::Type => type_name = Some(map.next_value()?),
                        GeometryKey::Coordinates => {
                            coordinates = true;
                            match type_name.as_deref().and_then(coordinate_depth) {
                                Some(depth) => map.next_value_seed(Coords { g: &mut g, depth })?,
                                None => early = Some(map.next_value()?),
                            }
                        }
                        GeometryKey::Geometries => {
                            geometries = true;
                            map.next_value::<IgnoredAny>()?;
                        }
                        GeometryKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let type_name = type_name.ok_or_else(|| de::Error::missing_field("type"))?;
                match coordinate_depth(&type_name) {
                    Some(_) if !coordinates => return Err(de::Error::missing_field("coordinates")),
                    Some(depth) => {
                        if let Some(v) = early {
                            Coords { g: &mut g, depth }
                                .deserialize(v)
                                .map_err(de::Error::custom)?;
                        }
                    }
                    None if type_name == "GeometryCollection" => {
                        if !geometries {
                            return Err(de::Error::missing_field("geometries"));
                        }
                    }
                    None => return Err(de::Error::unknown_variant(&type_name, GEOMETRY_TYPES)),
                }
                g.type_name = type_name;
                Ok(g)
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum FeatureKey {
    Type,
    Id,
    Geometry,
    Properties,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for LayerFeature {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LayerFeature;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a GeoJSON Feature object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<LayerFeature, A::Error> {
                let mut f = LayerFeature {
                    id: None,
                    geometry: None,
                    properties: None,
                };
                let mut typed = false;
                while let Some(key) = map.next_key::<FeatureKey>()? {
                    match key {
                        FeatureKey::Type => {
                            let t: String = map.next_value()?;
                            if t != "Feature" {
                                return Err(de::Error::custom(format!(
                                    "expected a Feature, found type \"{t}\""
                                )));
                            }
                            typed = true;
                        }
                        FeatureKey::Id => {
                            f.id = match map.next_value::<serde_json::Value>()? {
                                serde_json::Value::Null => None,
                                serde_json::Value::String(s) => {
                                    Some(geojson::feature::Id::String(s))
                                }
                                serde_json::Value::Number(n) => {
                                    Some(geojson::feature::Id::Number(n))
                                }
                                _ => {
                                    return Err(de::Error::custom(
                                        "a feature id must be a string or a number",
                                    ));
                                }
                            }
                        }
                        FeatureKey::Geometry => f.geometry = map.next_value()?,
                        FeatureKey::Properties => f.properties = map.next_value()?,
                        FeatureKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                if !typed {
                    return Err(de::Error::missing_field("type"));
                }
                Ok(f)
            }
        }
        d.deserialize_map(V)
    }
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

/// Read a GeoJSON layer of the declared kind.
/// Also returns the labels of the features skipped for want of a usable geometry (none, or
/// a polygon ring of fewer than 3 positions).
pub(crate) fn read_layer(
    path: &Path,
    spec: &LayerSpec,
) -> Result<(Geometry, Attributes, Vec<String>)> {
    let source = path.display().to_string();
    let mut columns = Columns::new(spec.fields.clone());
    let mut shapes = Shapes::default();
    let kind = spec.kind;
    let mut visit = |index: usize, feature: LayerFeature| -> Result<()> {
        let label = || label_with_id(index, feature.id.as_ref());
        let Some(g) = &feature.geometry else {
            shapes.skipped.push(label());
            return Ok(());
        };
        let at = |e: Error| Error::at(ErrorKind::Input, source.clone(), e.message());
        if let Some(bad) = g
            .coords
            .iter()
            .find(|p| check_position(p.as_slice(), "").is_err())
        {
            return Err(at(check_position(bad, &label()).unwrap_err()));
        }
        let before = shapes.polygons.len();
        if let Err(found) = shapes.add(g, kind, columns.rows.len()) {
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
                    "{}: layer \"{}\" is {kind}, expected {expected}, found {found}",
                    label(),
                    spec.name,
                ),
            ));
        }
        if kind == LayerKind::Polygons && shapes.polygons.len() == before {
            shapes.skipped.push(label());
        }
        columns.add_row(feature.properties.as_ref());
        Ok(())
    };
    match crate::boundaries::built_in_bytes(path) {
        Some(bytes) => {
            let bytes = bytes.map_err(|m| Error::at(ErrorKind::Input, source.clone(), m))?;
            crate::feature_stream::stream_features_slice(bytes, &source, &mut visit)?
        }
        None => stream_features_file(path, &source, &mut visit)?,
    };
    if let Some(missing) = columns.never_seen() {
        return Err(Error::at(
            ErrorKind::Config,
            source,
            format!(
                "layer \"{}\" has no property \"{missing}\" in any feature",
                spec.name
            ),
        ));
    }
    columns.numbers_from_text();
    let geometry = match kind {
        LayerKind::Points => Geometry::Points(shapes.points),
        LayerKind::Lines => Geometry::Lines(shapes.lines),
        _ => Geometry::Polygons(shapes.polygons),
    };
    let attributes = Attributes::new(columns.fields, columns.rows);
    Ok((geometry, attributes, shapes.skipped))
}

/// A layer's geometries as they are read.
#[derive(Default)]
struct Shapes {
    points: Vec<PointFeature>,
    lines: Vec<Vec<Vec<[f64; 2]>>>,
    polygons: Vec<super::Polygon>,
    /// Labels of the features without a usable geometry.
    skipped: Vec<String>,
}

impl Shapes {
    /// Add a feature's geometry for attribute row `row`; the geometry type when it does not
    /// suit a layer of `kind`.
    fn add(
        &mut self,
        g: &FlatGeometry,
        kind: LayerKind,
        row: usize,
    ) -> std::result::Result<(), String> {
        match (g.type_name.as_str(), kind) {
            ("Point" | "MultiPoint", LayerKind::Points) => {
                let points = g
                    .coords
                    .iter()
                    .map(|&[lon, lat]| PointFeature { lon, lat, row });
                self.points.extend(points);
            }
            ("LineString" | "MultiLineString", LayerKind::Lines) => {
                let parts = g.lines(0, g.line_ends.len());
                self.lines
                    .push(parts.into_iter().map(<[[f64; 2]]>::to_vec).collect());
            }
            ("Polygon", LayerKind::Polygons) => {
                self.polygons
                    .extend(repair_polygon(&g.lines(0, g.line_ends.len()), row));
            }
            ("MultiPolygon", LayerKind::Polygons) => {
                let mut a = 0;
                for &b in &g.polygon_ends {
                    self.polygons.extend(repair_polygon(&g.lines(a, b), row));
                    a = b;
                }
            }
            (other, _) => return Err(other.to_string()),
        }
        Ok(())
    }
}

/// A layer's attribute columns as they are read: the declared fields, or every property in
/// first-seen order.
struct Columns {
    fields: Vec<String>,
    fixed: bool,
    position: HashMap<String, usize>,
    seen: Vec<bool>,
    rows: Vec<Vec<Value>>,
}

impl Columns {
    fn new(declared: Option<Vec<String>>) -> Self {
        let fixed = declared.is_some();
        let fields = declared.unwrap_or_default();
        let position = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.clone(), i))
            .collect();
        Columns {
            seen: vec![false; fields.len()],
            fields,
            fixed,
            position,
            rows: Vec::new(),
        }
    }

    /// One feature's properties as a row.
    fn add_row(&mut self, props: Option<&serde_json::Map<String, serde_json::Value>>) {
        let mut cells = vec![Value::Null; self.fields.len()];
        for (k, v) in props.into_iter().flatten() {
            let pos = match self.position.get(k) {
                Some(&p) => p,
                None if !self.fixed => {
                    self.fields.push(k.clone());
                    self.position.insert(k.clone(), self.fields.len() - 1);
                    self.seen.push(false);
                    for r in self.rows.iter_mut() {
                        r.push(Value::Null);
                    }
                    cells.push(Value::Null);
                    self.fields.len() - 1
                }
                None => continue,
            };
            self.seen[pos] = true;
            cells[pos] = json_value(v);
        }
        self.rows.push(cells);
    }

    /// A declared field that no feature has (when there are features).
    fn never_seen(&self) -> Option<&str> {
        if !self.fixed || self.rows.is_empty() {
            return None;
        }
        let mut fields = self.fields.iter().zip(&self.seen);
        fields.find(|(_, s)| !**s).map(|(f, _)| f.as_str())
    }

    /// Numeric-looking text columns (numbers stored as strings) become numbers.
    fn numbers_from_text(&mut self) {
        for c in 0..self.fields.len() {
            let numeric = self.rows.iter().all(|r| match &r[c] {
                Value::Null | Value::Num(_) => true,
                Value::Text(t) => t.trim().parse::<f64>().is_ok_and(f64::is_finite),
            });
            if numeric {
                for r in self.rows.iter_mut() {
                    if let Value::Text(t) = &r[c] {
                        r[c] = Value::Num(t.trim().parse().unwrap_or(f64::NAN));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read `features` (JSON feature objects) as a layer of `kind`.
    fn layer(kind: &str, features: &[&str]) -> Result<(Geometry, Attributes)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.geojson");
        let text = format!(
            "{{\"type\": \"FeatureCollection\", \"features\": [\n{}\n]}}",
            features.join(",\n")
        );
        std::fs::write(&path, text).unwrap();
        let spec: LayerSpec = toml::from_str(&format!(
            "name = \"t\"\npath = \"t.geojson\"\nkind = \"{kind}\""
        ))
        .unwrap();
        read_layer(&path, &spec).map(|(g, a, _)| (g, a))
    }

    fn polygons(features: &[&str]) -> Vec<crate::layers::Polygon> {
        match layer("polygons", features).unwrap().0 {
            Geometry::Polygons(p) => p,
            _ => panic!("not polygons"),
        }
    }

    #[test]
    fn layer_geometry_in_any_key_order_with_holes_and_heights() {
        let square = |x: f64, y: f64, d: f64| {
            format!(
                "[[{x}, {y}, 5], [{}, {y}, 5], [{}, {}, 5], [{x}, {}, 5], [{x}, {y}, 5]]",
                x + d,
                x + d,
                y + d,
                y + d
            )
        };
        let multi = format!(
            r#"{{"properties": {{"n": 1}}, "geometry": {{"coordinates": [[{}, {}], [{}]], "bbox": [0, 0, 9, 9], "type": "MultiPolygon"}}, "type": "Feature", "id": 4}}"#,
            square(0.0, 0.0, 4.0),
            square(1.0, 1.0, 1.0),
            square(6.0, 6.0, 3.0)
        );
        let single = format!(
            r#"{{"type": "Feature", "geometry": {{"type": "Polygon", "coordinates": [{}]}}, "properties": {{"n": 2}}}}"#,
            square(10.0, 0.0, 1.0)
        );
        let empty = r#"{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}, "properties": {"n": 3}}"#;
        let no_geometry = r#"{"type": "Feature", "geometry": null, "properties": {"n": 4}}"#;
        let p = polygons(&[&multi, &single, empty, no_geometry, &single]);
        // The MultiPolygon gives two polygons (the first with a hole), both of row 0.
        let summary: Vec<(usize, usize, [f64; 4])> =
            p.iter().map(|p| (p.row, p.rings.len(), p.bbox)).collect();
        assert_eq!(
            summary,
            vec![
                (0, 2, [0.0, 0.0, 4.0, 4.0]),
                (0, 1, [6.0, 6.0, 9.0, 9.0]),
                (1, 1, [10.0, 0.0, 11.0, 1.0]),
                (3, 1, [10.0, 0.0, 11.0, 1.0]),
            ]
        );
        use geo::coordinate_position::CoordPos;
        assert_eq!(p[0].position(0.5, 0.5), CoordPos::Inside);
        assert_eq!(p[0].position(1.5, 1.5), CoordPos::Outside); // in the hole
        assert_eq!(p[0].position(2.0, 1.0), CoordPos::OnBoundary);
        // Rows for every feature with a geometry, in order.
        let (_, attrs) = layer("polygons", &[&multi, &single, empty, no_geometry]).unwrap();
        assert_eq!(attrs.len(), 3);
    }

    #[test]
    fn layer_points_and_lines() {
        let (g, _) = layer(
            "points",
            &[
                r#"{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": {}}"#,
                r#"{"type": "Feature", "geometry": {"coordinates": [[3, 4, 9], [5.5, -6]], "type": "MultiPoint"}, "properties": {}}"#,
            ],
        )
        .unwrap();
        let Geometry::Points(p) = g else { panic!() };
        let got: Vec<(f64, f64, usize)> = p.iter().map(|p| (p.lon, p.lat, p.row)).collect();
        assert_eq!(got, vec![(1.0, 2.0, 0), (3.0, 4.0, 1), (5.5, -6.0, 1)]);
        let (g, _) = layer(
            "lines",
            &[
                r#"{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "properties": {}}"#,
                r#"{"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[2, 2], [3, 3], [4, 4]]]}, "properties": {}}"#,
            ],
        )
        .unwrap();
        let Geometry::Lines(l) = g else { panic!() };
        assert_eq!(
            l,
            vec![
                vec![vec![[0.0, 0.0], [1.0, 1.0]]],
                vec![
                    vec![[0.0, 0.0], [1.0, 1.0]],
                    vec![[2.0, 2.0], [3.0, 3.0], [4.0, 4.0]]
                ],
            ]
        );
    }

    #[test]
    fn layer_feature_errors_name_the_feature() {
        let ok = r#"{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": {}}"#;
        let err = |kind: &str, bad: &str| layer(kind, &[ok, bad]).unwrap_err().to_string();
        let e = err(
            "points",
            r#"{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1]}, "properties": {}}"#,
        );
        assert!(
            e.contains(":3: feature 2: a position needs two coordinates"),
            "{e}"
        );
        let e = err(
            "points",
            r#"{"type": "Feature", "id": 7, "geometry": {"type": "Point", "coordinates": [200, 1]}, "properties": {}}"#,
        );
        assert!(
            e.ends_with("t.geojson: feature 2 (id 7): longitude 200 is out of range [-180, 180]"),
            "{e}"
        );
        let e = err(
            "points",
            r#"{"type": "Feature", "geometry": {"type": "Pointy", "coordinates": [1, 2]}, "properties": {}}"#,
        );
        assert!(e.contains("feature 2: unknown variant `Pointy`"), "{e}");
        let e = err(
            "points",
            r#"{"type": "Feature", "geometry": {"coordinates": [[1, 2]], "type": "Point"}, "properties": {}}"#,
        );
        assert!(e.contains("feature 2: invalid type"), "{e}");
        let e = err(
            "points",
            r#"{"type": "Feature", "geometry": {"type": "Point"}, "properties": {}}"#,
        );
        assert!(e.contains("feature 2: missing field `coordinates`"), "{e}");
        let e = err(
            "points",
            r#"{"type": "Feature", "id": "g", "geometry": {"type": "GeometryCollection", "geometries": []}, "properties": {}}"#,
        );
        assert!(e.contains("feature 2 (id \"g\"): layer \"t\" is points, expected Point or MultiPoint, found GeometryCollection"), "{e}");
        let e = err(
            "points",
            r#"{"type": "Feat", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": {}}"#,
        );
        assert!(
            e.contains("feature 2: expected a Feature, found type \"Feat\""),
            "{e}"
        );
        let e = err(
            "points",
            r#"{"geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": {}}"#,
        );
        assert!(e.contains("feature 2: missing field `type`"), "{e}");
    }
}
