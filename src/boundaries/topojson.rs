//! TopoJSON to GeoJSON features, as topojson-client's `feature()` converts them: arcs
//! delta-decoded with the topology's transform, joined with the shared point dropped,
//! reversed for negative indexes.
//!
//! Written here rather than taken from the `topojson` crate (0.5.1): that crate keeps the
//! shared point of every joined arc (a duplicate vertex at each joint), panics
//! (`unreachable!`/`unimplemented!`) on nested collections and bad arc indexes — hostile
//! input must be a one-line error — and pins `geojson` below 0.24. The test
//! `world_atlas_10m_equals_the_reference_conversion` checks the result against the reference
//! conversion of the mirror, position by position.

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// A TopoJSON topology (the parts this reader uses).
#[derive(Deserialize)]
struct Topology {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    transform: Option<Transform>,
    #[serde(default)]
    arcs: Vec<Vec<Vec<f64>>>,
    objects: Map<String, Value>,
}

#[derive(Deserialize, Clone, Copy)]
struct Transform {
    scale: [f64; 2],
    translate: [f64; 2],
}

/// One GeoJSON feature made from a TopoJSON geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct TopoFeature {
    /// The geometry's id, if any.
    pub id: Option<Value>,
    /// Its properties.
    pub properties: Map<String, Value>,
    /// Its GeoJSON geometry (`null` for a null geometry).
    pub geometry: Value,
}

/// Options for [`features`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Decode {
    /// Round coordinates to this many decimals (5 ≈ 1 m), as the reference conversions do.
    pub decimals: Option<usize>,
}

/// The features of object `object` of a TopoJSON text; errors are one line each.
pub fn features(text: &[u8], object: &str, opts: Decode) -> Result<Vec<TopoFeature>, String> {
    let topo: Topology = serde_json::from_slice(text).map_err(|e| format!("not TopoJSON: {e}"))?;
    if topo.kind != "Topology" {
        return Err(format!("type is \"{}\", not \"Topology\"", topo.kind));
    }
    let obj = topo.objects.get(object).ok_or_else(|| {
        let names: Vec<&str> = topo.objects.keys().map(String::as_str).collect();
        format!(
            "no object \"{object}\" (objects: {})",
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        )
    })?;
    let dec = Decoder::new(&topo, opts)?;
    let geoms: Vec<&Value> = match obj.get("type").and_then(Value::as_str) {
        Some("GeometryCollection") => obj
            .get("geometries")
            .and_then(Value::as_array)
            .ok_or("a GeometryCollection without \"geometries\"")?
            .iter()
            .collect(),
        _ => vec![obj],
    };
    geoms
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let feature = dec
                .feature(g)
                .map_err(|m| format!("geometry {}: {m}", i + 1))?;
            Ok(feature)
        })
        .collect()
}

/// The decoded arcs and the point transform.
struct Decoder {
    arcs: Vec<Vec<[f64; 2]>>,
    transform: Option<Transform>,
    decimals: Option<usize>,
}

impl Decoder {
    fn new(topo: &Topology, opts: Decode) -> Result<Decoder, String> {
        let arcs = topo
            .arcs
            .iter()
            .enumerate()
            .map(|(i, arc)| {
                let (mut x, mut y) = (0.0, 0.0);
                arc.iter()
                    .map(|p| {
                        let (Some(&px), Some(&py)) = (p.first(), p.get(1)) else {
                            return Err(format!("arc {i}: a position with fewer than 2 numbers"));
                        };
                        match topo.transform {
                            Some(t) => {
                                x += px;
                                y += py;
                                Ok([
                                    x * t.scale[0] + t.translate[0],
                                    y * t.scale[1] + t.translate[1],
                                ])
                            }
                            None => Ok([px, py]),
                        }
                    })
                    .collect::<Result<Vec<_>, String>>()
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Decoder {
            arcs,
            transform: topo.transform,
            decimals: opts.decimals,
        })
    }

    fn round(&self, p: [f64; 2]) -> Value {
        match self.decimals {
            // Decimal rounding of the exact binary value, as Python's round() does.
            Some(d) => {
                let r = |v: f64| format!("{v:.d$}").parse::<f64>().unwrap_or(v);
                json!([r(p[0]), r(p[1])])
            }
            None => json!([p[0], p[1]]),
        }
    }

    /// The points of a line made of arcs `ixs` (the shared point of consecutive arcs once).
    fn line(&self, ixs: &Value) -> Result<Vec<[f64; 2]>, String> {
        let ixs = ixs
            .as_array()
            .ok_or("arcs: expected an array of arc indexes")?;
        let mut points: Vec<[f64; 2]> = Vec::new();
        for ix in ixs {
            let i = ix.as_i64().ok_or("arcs: an arc index is not an integer")?;
            let k = if i < 0 { !i } else { i } as usize;
            let arc = self.arcs.get(k).ok_or_else(|| {
                format!(
                    "arc index {i} out of range (the topology has {} arcs)",
                    self.arcs.len()
                )
            })?;
            points.pop();
            if i < 0 {
                points.extend(arc.iter().rev());
            } else {
                points.extend(arc.iter());
            }
        }
        Ok(points)
    }

    fn line_json(&self, ixs: &Value) -> Result<Value, String> {
        Ok(Value::Array(
            self.line(ixs)?.into_iter().map(|p| self.round(p)).collect(),
        ))
    }

    fn rings_json(&self, rings: &Value) -> Result<Value, String> {
        let rings = rings.as_array().ok_or("arcs: expected an array of rings")?;
        Ok(Value::Array(
            rings
                .iter()
                .map(|r| self.line_json(r))
                .collect::<Result<_, _>>()?,
        ))
    }

    fn point(&self, p: &Value) -> Result<Value, String> {
        let xy = p
            .as_array()
            .and_then(|a| Some([a.first()?.as_f64()?, a.get(1)?.as_f64()?]))
            .ok_or("coordinates: expected a position of 2 numbers")?;
        Ok(self.round(match self.transform {
            Some(t) => [
                xy[0] * t.scale[0] + t.translate[0],
                xy[1] * t.scale[1] + t.translate[1],
            ],
            None => xy,
        }))
    }

    fn geometry(&self, g: &Value) -> Result<Value, String> {
        let kind = g.get("type").and_then(Value::as_str).ok_or("no \"type\"")?;
        let arcs = || {
            g.get("arcs")
                .ok_or_else(|| format!("a {kind} without \"arcs\""))
        };
        let coords = || {
            g.get("coordinates")
                .ok_or_else(|| format!("a {kind} without \"coordinates\""))
        };
        let coordinates = match kind {
            "Point" => self.point(coords()?)?,
            "MultiPoint" => Value::Array(
                coords()?
                    .as_array()
                    .ok_or("coordinates: expected an array of positions")?
                    .iter()
                    .map(|p| self.point(p))
                    .collect::<Result<_, _>>()?,
            ),
            "LineString" => self.line_json(arcs()?)?,
            "MultiLineString" | "Polygon" => self.rings_json(arcs()?)?,
            "MultiPolygon" => Value::Array(
                arcs()?
                    .as_array()
                    .ok_or("arcs: expected an array of polygons")?
                    .iter()
                    .map(|p| self.rings_json(p))
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(format!("geometry type \"{other}\" is not read here")),
        };
        Ok(json!({"type": kind, "coordinates": coordinates}))
    }

    fn feature(&self, g: &Value) -> Result<TopoFeature, String> {
        let properties = match g.get("properties") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        let geometry = match g.get("type") {
            None | Some(Value::Null) => Value::Null,
            Some(_) => self.geometry(g)?,
        };
        Ok(TopoFeature {
            id: g.get("id").cloned(),
            properties,
            geometry,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str = r#"{"type":"Topology","transform":{"scale":[0.5,0.25],"translate":[10,20]},
      "arcs":[[[0,0],[2,0],[0,4]],[[2,4],[-2,0],[0,-4]]],
      "objects":{"shapes":{"type":"GeometryCollection","geometries":[
        {"type":"Polygon","arcs":[[0,1]],"id":"sq","properties":{"name":"square"}},
        {"type":"LineString","arcs":[-1]},
        {"type":"Point","coordinates":[4,8]},
        {"type":null,"properties":{"name":"nothing"}}]}}}"#;

    #[test]
    fn arcs_are_delta_decoded_joined_once_and_reversed() {
        let f = features(SQUARE.as_bytes(), "shapes", Decode::default()).unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(f[0].id, Some(json!("sq")));
        assert_eq!(f[0].properties["name"], "square");
        // Arc 0: (0,0) (2,0) (2,4) → (10,20) (11,20) (11,21); arc 1 starts at (2,4) again.
        assert_eq!(
            f[0].geometry,
            json!({"type":"Polygon","coordinates":[[[10.0,20.0],[11.0,20.0],[11.0,21.0],[10.0,21.0],[10.0,20.0]]]})
        );
        assert_eq!(
            f[1].geometry,
            json!({"type":"LineString","coordinates":[[11.0,21.0],[11.0,20.0],[10.0,20.0]]})
        );
        assert_eq!(
            f[2].geometry,
            json!({"type":"Point","coordinates":[12.0,22.0]})
        );
        assert_eq!(f[3].geometry, Value::Null);
    }

    #[test]
    fn rounding_is_decimal() {
        let text = r#"{"type":"Topology","arcs":[[[0.123456789,1.000004999],[0.1,0.1]]],
          "objects":{"l":{"type":"LineString","arcs":[0]}}}"#;
        let f = features(text.as_bytes(), "l", Decode { decimals: Some(5) }).unwrap();
        assert_eq!(f[0].geometry["coordinates"][0], json!([0.12346, 1.0]));
    }

    #[test]
    fn hostile_topologies_are_one_line_errors() {
        let bad = [
            ("{}", "not TopoJSON"),
            (
                r#"{"type":"FeatureCollection","objects":{}}"#,
                "not \"Topology\"",
            ),
            (
                r#"{"type":"Topology","objects":{"a":{}}}"#,
                "no object \"countries\" (objects: a)",
            ),
            (
                r#"{"type":"Topology","arcs":[],"objects":{"countries":{"type":"Polygon","arcs":[[3]]}}}"#,
                "geometry 1: arc index 3 out of range (the topology has 0 arcs)",
            ),
            (
                r#"{"type":"Topology","arcs":[[[1]]],"objects":{"countries":{"type":"LineString","arcs":[0]}}}"#,
                "arc 0: a position with fewer than 2 numbers",
            ),
            (
                r#"{"type":"Topology","objects":{"countries":{"type":"GeometryCollection","geometries":[{"type":"GeometryCollection","geometries":[]}]}}}"#,
                "geometry 1: geometry type \"GeometryCollection\" is not read here",
            ),
            (
                r#"{"type":"Topology","objects":{"countries":{"type":"Polygon","arcs":[["x"]]}}}"#,
                "geometry 1: arcs: an arc index is not an integer",
            ),
        ];
        for (text, want) in bad {
            let e = features(text.as_bytes(), "countries", Decode::default()).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
