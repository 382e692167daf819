//! Boundaries built into the binary: the world-atlas 2.0.2 countries at 1:10m (Natural
//! Earth, public domain; ISC packaging, `data/world-atlas/`), so that `region`, `on_land` and
//! country joins work with no data directory. A file of the same name in the data directory
//! overrides the built-in copy (see [`crate::layers::LayerSet::load`]).
//!
//! The conversion from TopoJSON is the one `standort data fetch` applies to the npm package
//! (see [`world_atlas_countries`]): the built-in layer equals the fetched file.

pub mod topojson;

use serde_json::{Map, Value, json};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The data-directory path of the built-in countries layer.
pub const COUNTRIES_10M: &str = "boundaries/world_atlas_countries_10m.geojson";

/// How a built-in file shows in outputs and messages, in place of a data-directory path.
pub const BUILT_IN: &str = "<built-in>";

/// world-atlas 2.0.2 `countries-10m.json`, gzipped by `build.rs`.
static COUNTRIES_10M_TOPOJSON_GZ: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/countries-10m.json.gz"));

/// The path a built-in copy of data-directory file `rel` shows as, if there is one.
pub fn built_in_path(rel: &Path) -> Option<PathBuf> {
    (rel == Path::new(COUNTRIES_10M)).then(|| Path::new(BUILT_IN).join(rel))
}

/// The GeoJSON bytes of a built-in file, by the path [`built_in_path`] gave (converted once
/// per process).
pub fn built_in_bytes(path: &Path) -> Option<Result<&'static [u8], String>> {
    static CONVERTED: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    if path != Path::new(BUILT_IN).join(COUNTRIES_10M) {
        return None;
    }
    let r = CONVERTED.get_or_init(|| {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(COUNTRIES_10M_TOPOJSON_GZ)
            .read_to_end(&mut raw)
            .map_err(|e| format!("built-in countries: {e}"))?;
        world_atlas_countries(&raw)
    });
    Some(r.as_ref().map(Vec::as_slice).map_err(Clone::clone))
}

/// A world-atlas countries TopoJSON (`countries-10m.json`, `countries-50m.json`) as the
/// GeoJSON FeatureCollection the layer set reads: properties `name`, `iso_n3` (the
/// TopoJSON id) and, where ISO 3166-1 assigns the numeric code, `iso_a3` and `iso_a2`;
/// coordinates rounded to 5 decimals (about 1 m); rings kept as the file has them (spherical:
/// the layer reader cuts them at the antimeridian on load).
pub fn world_atlas_countries(topojson_text: &[u8]) -> Result<Vec<u8>, String> {
    let opts = topojson::Decode { decimals: Some(5) };
    let features = topojson::features(topojson_text, "countries", opts)?;
    let out: Vec<Value> = features
        .into_iter()
        .map(|f| {
            let mut props = Map::new();
            let name = f.properties.get("name").cloned().unwrap_or(Value::Null);
            props.insert("name".into(), name);
            if let Some(n3) = f.id.as_ref().and_then(Value::as_str) {
                props.insert("iso_n3".into(), json!(n3));
                if let Some((a3, a2)) = iso_alpha(n3) {
                    props.insert("iso_a3".into(), json!(a3));
                    props.insert("iso_a2".into(), json!(a2));
                }
            }
            json!({"type": "Feature", "properties": props, "geometry": f.geometry})
        })
        .collect();
    serde_json::to_vec(&json!({"type": "FeatureCollection", "features": out}))
        .map_err(|e| e.to_string())
}

/// ISO 3166-1 alpha-3 and alpha-2 codes of a numeric code ("076" → BRA, BR).
pub fn iso_alpha(numeric: &str) -> Option<(&'static str, &'static str)> {
    let n: u32 = numeric.trim().parse().ok()?;
    let c = isocountry::CountryCode::for_id(n).ok()?;
    Some((c.alpha3(), c.alpha2()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_countries_convert_with_iso_codes() {
        let p = built_in_path(Path::new(COUNTRIES_10M)).unwrap();
        assert_eq!(
            p,
            Path::new("<built-in>/boundaries/world_atlas_countries_10m.geojson")
        );
        assert!(built_in_path(Path::new("boundaries/other.geojson")).is_none());
        let bytes = built_in_bytes(&p).unwrap().unwrap();
        let v: Value = serde_json::from_slice(bytes).unwrap();
        let feats = v["features"].as_array().unwrap();
        assert_eq!(feats.len(), 255);
        let with_iso = feats
            .iter()
            .filter(|f| f["properties"]["iso_a3"].is_string());
        assert_eq!(with_iso.count(), 239);
        let india = feats
            .iter()
            .find(|f| f["properties"]["name"] == "India")
            .unwrap();
        assert_eq!(india["properties"]["iso_a3"], "IND");
        assert_eq!(india["properties"]["iso_a2"], "IN");
        assert_eq!(india["properties"]["iso_n3"], "356");
        let kosovo = feats
            .iter()
            .find(|f| f["properties"]["name"] == "Kosovo")
            .unwrap();
        assert!(kosovo["properties"].get("iso_a3").is_none());
    }

    #[test]
    fn iso_codes_come_from_the_numeric_code() {
        assert_eq!(iso_alpha("076"), Some(("BRA", "BR")));
        assert_eq!(iso_alpha("840"), Some(("USA", "US")));
        assert_eq!(iso_alpha("-99"), None);
        assert_eq!(iso_alpha("x"), None);
    }
}
