//! Converting what publishers ship into the files the layer set reads. Each converter reads
//! the publisher's file (`input`, named `shown` in errors) and writes the data-directory
//! file to `out`; errors are one line naming the input and, where it helps, the line, sheet
//! or feature. The catalog names a converter per file (`convert = "..."`).

use crate::error::{Error, ErrorKind, Result};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;
use std::fmt;
use std::io::Write;
use std::path::Path;

/// A converter: publisher's file → data-directory file.
pub type Convert = fn(input: &Path, shown: &str, out: &mut dyn Write) -> Result<()>;

/// The converters by the name the catalog gives them.
pub const CONVERTERS: &[(&str, Convert)] = &[
    ("world-atlas-countries", world_atlas_countries),
    ("codecarbon-energy-mix", codecarbon_energy_mix),
    ("codecarbon-us-states", codecarbon_us_states),
    ("usda-land-values", usda_land_values),
    ("ne-admin1", ne_admin1),
    ("aqueduct-country", super::aqueduct::country),
    ("aqueduct-us-states", super::aqueduct::us_states),
    ("aqueduct-provinces", super::aqueduct::provinces),
    ("osm-substations", super::osm::substations),
];

/// The converter named `name`.
pub fn converter(name: &str) -> Result<Convert> {
    CONVERTERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            let names: Vec<&str> = CONVERTERS.iter().map(|(n, _)| *n).collect();
            Error::new(
                ErrorKind::Config,
                format!(
                    "unknown converter \"{name}\" (converters: {})",
                    names.join(", ")
                ),
            )
        })
}

/// An input error naming the publisher's file.
pub(crate) fn bad(shown: &str, msg: impl Into<String>) -> Error {
    Error::at(ErrorKind::Input, shown.to_string(), msg.into())
}

fn read(input: &Path) -> Result<Vec<u8>> {
    std::fs::read(input).map_err(|e| Error::io(input, &e))
}

pub(crate) fn write_all(out: &mut dyn Write, bytes: &[u8]) -> Result<()> {
    out.write_all(bytes)
        .map_err(|e| Error::new(ErrorKind::Io, format!("writing the converted file: {e}")))
}

/// A CSV writer with CRLF line ends (as Python's csv module writes them: the reference
/// copies were made so, and the converted files reproduce them byte for byte).
pub(crate) fn csv_out(out: &mut dyn Write) -> csv::Writer<&mut dyn Write> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out)
}

pub(crate) fn csv_err(e: csv::Error) -> Error {
    Error::new(ErrorKind::Io, format!("writing the converted file: {e}"))
}

/// world-atlas `countries-*.json` (TopoJSON) → GeoJSON with ISO codes.
fn world_atlas_countries(input: &Path, shown: &str, out: &mut dyn Write) -> Result<()> {
    let text = read(input)?;
    let bytes = crate::boundaries::world_atlas_countries(&text).map_err(|m| bad(shown, m))?;
    write_all(out, &bytes)
}

/// A JSON object's members in file order (serde_json's map sorts them), each member's
/// value as written.
fn ordered_object(bytes: &[u8], shown: &str) -> Result<Vec<(String, Box<RawValue>)>> {
    struct Ordered;
    impl<'de> Visitor<'de> for Ordered {
        type Value = Vec<(String, Box<RawValue>)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.deserialize_map(Ordered)
        .map_err(|e| bad(shown, format!("line {}: {e}", e.line())))
}

/// The members of a member object, values as written (numbers keep their digits: serde_json
/// parses floats to within one unit in the last place, and the reference copies were written
/// from exactly parsed numbers).
fn raw_members(key: &str, v: &RawValue, shown: &str) -> Result<Vec<(String, Box<RawValue>)>> {
    ordered_object(v.get().as_bytes(), shown)
        .map_err(|_| bad(shown, format!("member \"{key}\" is not an object")))
}

/// A member's value as a CSV cell: strings unquoted, null empty, numbers as written.
fn cell(v: &RawValue) -> String {
    let t = v.get();
    match serde_json::from_str::<Value>(t) {
        Ok(Value::String(s)) => s,
        Ok(Value::Null) => String::new(),
        _ => t.to_string(),
    }
}

/// codecarbon's `global_energy_mix.json` → one row per country: iso_code, country_name,
/// year, carbon_intensity (gCO2/kWh), then the generation columns in name order.
fn codecarbon_energy_mix(input: &Path, shown: &str, out: &mut dyn Write) -> Result<()> {
    let members = ordered_object(&read(input)?, shown)?;
    const FIRST: [&str; 4] = ["iso_code", "country_name", "year", "carbon_intensity"];
    let mut rows: Vec<Vec<(String, Box<RawValue>)>> = Vec::new();
    let mut rest: Vec<String> = Vec::new();
    for (key, v) in &members {
        let obj = raw_members(key, v, shown)?;
        if let Some(missing) = FIRST.iter().find(|c| !obj.iter().any(|(k, _)| k == *c)) {
            return Err(bad(shown, format!("member \"{key}\" has no \"{missing}\"")));
        }
        for (k, _) in obj.iter().filter(|(k, _)| !FIRST.contains(&k.as_str())) {
            if !rest.contains(k) {
                rest.push(k.clone());
            }
        }
        rows.push(obj);
    }
    rest.sort();
    let mut w = csv_out(out);
    let header: Vec<&str> = FIRST
        .iter()
        .copied()
        .chain(rest.iter().map(String::as_str))
        .collect();
    w.write_record(&header).map_err(csv_err)?;
    for obj in &rows {
        let row: Vec<String> = header
            .iter()
            .map(|c| {
                obj.iter()
                    .find(|(k, _)| k == c)
                    .map(|(_, v)| cell(v))
                    .unwrap_or_default()
            })
            .collect();
        w.write_record(&row).map_err(csv_err)?;
    }
    w.flush()
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
}

/// lbs/MWh → g/kWh: 453.59237 g per lb over 1,000 kWh per MWh (written as the reference
/// conversion multiplies, so the rounding agrees).
const G_PER_KG_PER_LB_PER_MWH: f64 = 0.45359237;

/// codecarbon's `usa_emissions.json` (eGRID, lbs CO2e per MWh by state) → state_name,
/// state_code, co2e_lbs_per_mwh, co2e_g_per_kwh (one decimal).
fn codecarbon_us_states(input: &Path, shown: &str, out: &mut dyn Write) -> Result<()> {
    let members = ordered_object(&read(input)?, shown)?;
    let mut w = csv_out(out);
    w.write_record([
        "state_name",
        "state_code",
        "co2e_lbs_per_mwh",
        "co2e_g_per_kwh",
    ])
    .map_err(csv_err)?;
    let mut rows = 0;
    for (key, v) in members.iter().filter(|(k, _)| !k.starts_with('_')) {
        let obj = raw_members(key, v, shown)?;
        let get = |name: &str| obj.iter().find(|(k, _)| k == name).map(|(_, v)| v.get());
        let lbs_text = get("emissions").unwrap_or("");
        let code = get("regionCode").and_then(|c| serde_json::from_str::<String>(c).ok());
        let (Ok(lbs), Some(code)) = (lbs_text.parse::<f64>(), code) else {
            return Err(bad(
                shown,
                format!("member \"{key}\" lacks a numeric \"emissions\" or a \"regionCode\""),
            ));
        };
        let g_per_kwh = lbs * G_PER_KG_PER_LB_PER_MWH;
        w.write_record([key.as_str(), &code, lbs_text, &format!("{g_per_kwh:.1}")])
            .map_err(csv_err)?;
        rows += 1;
    }
    if rows == 0 {
        return Err(bad(shown, "no state in the file"));
    }
    w.flush()
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
}

/// USDA NASS "Land Values" summary table as published (CSV in the NASS report layout:
/// column 2 is the row type `t`/`h`/`u`/`d`, latin-1 text) → name, level
/// (state/region/national), region, usd_per_acre_YYYY for every year column.
fn usda_land_values(input: &Path, shown: &str, out: &mut dyn Write) -> Result<()> {
    let bytes = read(input)?;
    // Latin-1: every byte is the code point of the same value.
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut years: Vec<(usize, String)> = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut region = String::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| bad(shown, format!("line {}: {e}", i + 1)))?;
        match rec.get(1) {
            Some("h") if years.is_empty() => {
                years = (3..rec.len())
                    .filter_map(|c| {
                        let y = rec[c].trim();
                        (y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
                            .then(|| (c, y.to_string()))
                    })
                    .collect();
            }
            Some("d") if !rec.get(2).unwrap_or("").trim().is_empty() => {
                if years.is_empty() {
                    return Err(bad(
                        shown,
                        format!("line {}: data before the header row with the years", i + 1),
                    ));
                }
                let raw = &rec[2];
                let name = strip_footnote(raw.trim());
                let level = if name == "United States" {
                    "national"
                } else if raw.starts_with(' ') {
                    "state"
                } else {
                    "region"
                };
                let in_region = if level == "state" {
                    region.clone()
                } else {
                    String::new()
                };
                if level == "region" {
                    region = name.clone();
                }
                let mut row = vec![name, level.to_string(), in_region];
                for (c, y) in &years {
                    let v = rec.get(*c).unwrap_or("").trim().replace(',', "");
                    if !v.is_empty() && v.parse::<f64>().is_err() {
                        return Err(bad(
                            shown,
                            format!("line {}: {y} value \"{v}\" is not a number", i + 1),
                        ));
                    }
                    row.push(v);
                }
                rows.push(row);
            }
            _ => {}
        }
    }
    if rows.is_empty() {
        return Err(bad(
            shown,
            "no data rows (column 2 = \"d\"): not a NASS Land Values table",
        ));
    }
    let mut w = csv_out(out);
    let mut header = vec!["name".to_string(), "level".into(), "region".into()];
    header.extend(years.iter().map(|(_, y)| format!("usd_per_acre_{y}")));
    w.write_record(&header).map_err(csv_err)?;
    for r in rows {
        w.write_record(&r).map_err(csv_err)?;
    }
    w.flush()
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
}

/// "Arizona 1/" → "Arizona" (NASS footnote markers).
fn strip_footnote(name: &str) -> String {
    match name.rsplit_once(' ') {
        Some((head, tail))
            if tail.ends_with('/')
                && tail[..tail.len() - 1].bytes().all(|b| b.is_ascii_digit()) =>
        {
            head.trim_end().to_string()
        }
        _ => name.to_string(),
    }
}

/// Natural Earth's admin-1 GeoJSON → the same features with only the properties the layer
/// set reads (`ne_id`, `name`, `adm0_a3`, `iso_a2`, `iso_3166_2`).
fn ne_admin1(input: &Path, shown: &str, out: &mut dyn Write) -> Result<()> {
    const KEEP: [&str; 5] = ["ne_id", "name", "adm0_a3", "iso_a2", "iso_3166_2"];
    write_all(out, b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
    let file = std::fs::File::open(input).map_err(|e| Error::io(input, &e))?;
    let mut first = true;
    let n = crate::feature_stream::stream_features(file, shown, &mut |i, f: geojson::Feature| {
        let props = f.properties.unwrap_or_default();
        if let Some(missing) = ["ne_id", "name", "adm0_a3", "iso_a2"]
            .iter()
            .find(|k| !props.contains_key(**k))
        {
            return Err(bad(
                shown,
                format!("feature {}: no property \"{missing}\"", i + 1),
            ));
        }
        let kept: serde_json::Map<String, Value> = KEEP
            .iter()
            .filter_map(|k| props.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect();
        let feature =
            serde_json::json!({"type": "Feature", "properties": kept, "geometry": f.geometry});
        let sep: &[u8] = if first { b"" } else { b",\n" };
        first = false;
        write_all(out, sep)?;
        write_all(out, feature.to_string().as_bytes())
    })?;
    if n == 0 {
        return Err(bad(shown, "no features"));
    }
    write_all(out, b"\n]}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(c: Convert, input: &str) -> Result<String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in");
        std::fs::write(&p, input).unwrap();
        let mut out = Vec::new();
        c(&p, "in", &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn codecarbon_json_becomes_csv_in_file_order() {
        let us = r#"{"_unit":{"emissions":"lbs/MWh"},"texas":{"emissions":800.0,"regionCode":"TX"},"alabama":{"emissions":713.976,"regionCode":"AL"}}"#;
        let csv = convert(codecarbon_us_states, us).unwrap();
        assert_eq!(
            csv,
            "state_name,state_code,co2e_lbs_per_mwh,co2e_g_per_kwh\r\ntexas,TX,800.0,362.9\r\nalabama,AL,713.976,323.9\r\n"
        );
        let e = convert(codecarbon_us_states, r#"{"x":{"regionCode":"X"}}"#).unwrap_err();
        assert!(
            e.to_string()
                .contains("member \"x\" lacks a numeric \"emissions\""),
            "{e}"
        );
        let mix = r#"{"ABW":{"wind_TWh":0.14,"carbon_intensity":561.224,"country_name":"Aruba","iso_code":"ABW","year":2022,"coal_TWh":0.0}}"#;
        let csv = convert(codecarbon_energy_mix, mix).unwrap();
        assert_eq!(
            csv,
            "iso_code,country_name,year,carbon_intensity,coal_TWh,wind_TWh\r\nABW,Aruba,2022,561.224,0.0,0.14\r\n"
        );
        let e = convert(codecarbon_energy_mix, "[1,2]").unwrap_err();
        assert!(e.to_string().starts_with("in: line 1:"), "{e}");
    }

    #[test]
    fn nass_table_is_pivoted_with_levels_and_regions() {
        let table = "1,t,\"Land Values\",,\n1,h,Region and state,2016,2017,2016-2017\n1,u,,(dollars),(dollars),(percent)\n\
                     1,d,Pacific,\"4,010\",4100,0.8\n1,d,  California 1/,8000,8700,-\n1,d,,,,\n1,d,United States 2/,3010,3080,2.3\n";
        let csv = convert(usda_land_values, table).unwrap();
        assert_eq!(
            csv,
            "name,level,region,usd_per_acre_2016,usd_per_acre_2017\r\nPacific,region,,4010,4100\r\nCalifornia,state,Pacific,8000,8700\r\nUnited States,national,,3010,3080\r\n"
        );
        let e = convert(usda_land_values, "a,b,c\n").unwrap_err();
        assert!(
            e.to_string().contains("not a NASS Land Values table"),
            "{e}"
        );
        let e = convert(usda_land_values, "1,h,x,2017\n1,d,Iowa,n/a\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("line 2: 2017 value \"n/a\" is not a number"),
            "{e}"
        );
    }

    #[test]
    fn admin1_keeps_only_the_read_properties() {
        let fc = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ne_id":7,"name":"A","adm0_a3":"AAA","iso_a2":"AA","pop":5},"geometry":{"type":"Point","coordinates":[1,2]}}]}"#;
        let out = convert(ne_admin1, fc).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        let props = &v["features"][0]["properties"];
        assert_eq!(props.as_object().unwrap().len(), 4);
        assert_eq!(props["ne_id"], 7);
        let e = convert(ne_admin1, &fc.replace("\"ne_id\":7,", "")).unwrap_err();
        assert!(
            e.to_string().contains("feature 1: no property \"ne_id\""),
            "{e}"
        );
    }

    #[test]
    fn unknown_converters_are_named() {
        let e = converter("nope").err().unwrap();
        assert!(
            e.to_string()
                .contains("unknown converter \"nope\" (converters: world-atlas-countries"),
            "{e}"
        );
    }
}
