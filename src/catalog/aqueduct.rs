//! WRI Aqueduct 4.0 country and province rankings, from the publisher's Excel workbook
//! (read with calamine, no Excel or Python).
//!
//! The rankings are in long form: one row per unit, indicator (`indicator_name`: bws, drr,
//! rfr, ...) and demand weight (`weight`: Tot, Dom, Ind, Agr, ...) with `score`, `cat` (0-4;
//! -9999 no data) and `label`. The sheets are recognised by their columns, not their names:
//! the country sheet has `gid_0`, `indicator_name`, `weight`, `cat` and no `name_1`; the
//! province sheet adds `name_1`. Baseline and future sheets are told apart by a `year` or
//! `scenario` column or a sheet name with "future"/"projection": only baseline sheets are
//! read.

use super::convert::{bad, csv_err};
use crate::error::{Error, ErrorKind, Result};
use calamine::{Data, Reader};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// One sheet: its name, the header's column indexes by lower-case name, the data rows.
struct Sheet {
    name: String,
    columns: BTreeMap<String, usize>,
    rows: Vec<Vec<Data>>,
    /// Spreadsheet row number (1-based) of the first data row.
    first_row: usize,
}

impl Sheet {
    fn col(&self, name: &str) -> Option<usize> {
        self.columns.get(name).copied()
    }

    fn text(&self, row: &[Data], col: Option<usize>) -> String {
        match col.and_then(|c| row.get(c)) {
            Some(Data::String(s)) => s.trim().to_string(),
            Some(Data::Empty) | None => String::new(),
            Some(Data::Float(f)) if f.fract() == 0.0 => format!("{f:.0}"),
            Some(other) => other.to_string(),
        }
    }

    fn number(&self, row: &[Data], col: usize, line: usize, what: &str) -> Result<Option<f64>> {
        match row.get(col) {
            Some(Data::Float(f)) => Ok(Some(*f)),
            Some(Data::Int(i)) => Ok(Some(*i as f64)),
            Some(Data::Empty) | None => Ok(None),
            Some(Data::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Data::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| bad_sheet(self, line, format!("{what} \"{s}\" is not a number"))),
            Some(other) => Err(bad_sheet(
                self,
                line,
                format!("{what} \"{other}\" is not a number"),
            )),
        }
    }
}

fn bad_sheet(sheet: &Sheet, line: usize, msg: String) -> Error {
    Error::new(
        ErrorKind::Input,
        format!("sheet \"{}\", row {line}: {msg}", sheet.name),
    )
}

/// Every sheet of the workbook with a header row (searched in the first 10 rows) that has
/// `gid_0`, `indicator_name`, `weight` and `cat`.
fn ranking_sheets(input: &Path, shown: &str) -> Result<Vec<Sheet>> {
    let mut wb = calamine::open_workbook_auto(input)
        .map_err(|e| bad(shown, format!("not an Excel workbook: {e}")))?;
    let mut out = Vec::new();
    for name in wb.sheet_names() {
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| bad(shown, format!("sheet \"{name}\": {e}")))?;
        let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
        let header = rows.iter().take(10).position(|r| {
            let names: Vec<String> = r
                .iter()
                .map(|c| c.to_string().trim().to_lowercase())
                .collect();
            ["gid_0", "indicator_name", "weight", "cat"]
                .iter()
                .all(|n| names.iter().any(|x| x == n))
        });
        let Some(h) = header else { continue };
        let columns = rows[h]
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string().trim().to_lowercase(), i))
            .collect();
        out.push(Sheet {
            name,
            columns,
            rows: rows[h + 1..].to_vec(),
            first_row: range.start().map_or(1, |(r, _)| r as usize + 1) + h + 1,
        });
    }
    Ok(out)
}

/// The baseline sheet of the wanted level (province: has `name_1`).
fn baseline_sheet(input: &Path, shown: &str, province: bool) -> Result<Sheet> {
    let sheets = ranking_sheets(input, shown)?;
    let names: Vec<String> = sheets.iter().map(|s| s.name.clone()).collect();
    let future = |s: &Sheet| {
        let n = s.name.to_lowercase();
        s.col("year").is_some()
            || s.col("scenario").is_some()
            || n.contains("future")
            || n.contains("projection")
    };
    sheets
        .into_iter()
        .find(|s| (s.col("name_1").is_some() == province) && !future(s))
        .ok_or_else(|| {
            bad(
                shown,
                format!(
                    "no baseline {} ranking sheet (columns gid_0{}, indicator_name, weight, cat); ranking sheets found: {}",
                    if province { "province" } else { "country" },
                    if province { ", name_1" } else { "" },
                    if names.is_empty() { "none".to_string() } else { names.join(", ") }
                ),
            )
        })
}

/// A number as Python writes a float (`3.0`, `-9999.0`, `4.259`).
fn float_text(x: f64) -> String {
    serde_json::Value::from(x).to_string()
}

/// The rows of indicator `indicator` at the total demand weight.
fn total_rows<'a>(
    sheet: &'a Sheet,
    indicator: &'a str,
) -> impl Iterator<Item = (usize, &'a Vec<Data>)> + 'a {
    let (ind, weight) = (sheet.col("indicator_name"), sheet.col("weight"));
    sheet.rows.iter().enumerate().filter_map(move |(k, r)| {
        let hit = sheet.text(r, ind).eq_ignore_ascii_case(indicator)
            && sheet.text(r, weight).eq_ignore_ascii_case("tot");
        hit.then_some((sheet.first_row + k, r))
    })
}

/// Country sheet → gid_0, name_0, un_region, wb_region (when the sheet has them),
/// bws_cat_0_4, drr_cat_0_4, rfr_cat_0_4 (categories at the total demand weight; -9999 kept
/// as the publisher's no-data code), one row per country in code order.
pub fn country(input: &Path, shown: &str, out: &mut dyn Write) -> Result<()> {
    let sheet = baseline_sheet(input, shown, false)?;
    let at = |e: Error| bad(shown, e.message());
    let cat = sheet.col("cat").unwrap_or_default();
    let extra: Vec<&str> = ["un_region", "wb_region"]
        .into_iter()
        .filter(|c| sheet.col(c).is_some())
        .collect();
    let mut by_country: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, indicator) in ["bws", "drr", "rfr"].iter().enumerate() {
        for (line, r) in total_rows(&sheet, indicator) {
            let gid = sheet.text(r, sheet.col("gid_0"));
            if gid.is_empty() {
                continue;
            }
            let row = by_country.entry(gid.clone()).or_insert_with(|| {
                let mut v = vec![gid.clone(), sheet.text(r, sheet.col("name_0"))];
                v.extend(extra.iter().map(|c| sheet.text(r, sheet.col(c))));
                v.extend([String::new(), String::new(), String::new()]);
                v
            });
            let value = sheet.number(r, cat, line, "cat").map_err(at)?;
            let n = row.len();
            row[n - 3 + k] = value.map(float_text).unwrap_or_default();
        }
    }
    if by_country.is_empty() {
        return Err(bad(
            shown,
            format!("sheet \"{}\": no bws row at weight Tot", sheet.name),
        ));
    }
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["gid_0", "name_0"];
    header.extend(extra.iter().copied());
    header.extend(["bws_cat_0_4", "drr_cat_0_4", "rfr_cat_0_4"]);
    w.write_record(&header).map_err(csv_err)?;
    for row in by_country.values() {
        w.write_record(row).map_err(csv_err)?;
    }
    w.flush()
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
}

/// Aqueduct's category names, by category.
fn category_label(cat: f64) -> Option<&'static str> {
    Some(match cat as i64 {
        -1 => "Arid and Low Water Use",
        0 => "Low",
        1 => "Low-Medium",
        2 => "Medium-High",
        3 => "High",
        4 => "Extremely High",
        _ => return None,
    })
}

/// Province sheet, United States rows → state (USPS code, from the ISO 3166-2 code of the
/// name), state_name, bws_score (0-5, 3 decimals), bws_category, source_note, n_subregions;
/// highest stress first.
pub fn us_states(input: &Path, shown: &str, out: &mut dyn Write) -> Result<()> {
    let sheet = baseline_sheet(input, shown, true)?;
    let at = |e: Error| bad(shown, e.message());
    let (score, cat) = (sheet.col("score"), sheet.col("cat").unwrap_or_default());
    let score = score.ok_or_else(|| {
        bad(
            shown,
            format!("sheet \"{}\" has no column \"score\"", sheet.name),
        )
    })?;
    let mut rows: Vec<(f64, Vec<String>)> = Vec::new();
    for (line, r) in total_rows(&sheet, "bws") {
        if sheet.text(r, sheet.col("gid_0")) != "USA" {
            continue;
        }
        let name = sheet.text(r, sheet.col("name_1"));
        let code = crate::region::names::codes_for(&[("US".to_string(), name.clone())])[0]
            .and_then(|c| c.strip_prefix("US-"))
            .ok_or_else(|| bad_sheet(&sheet, line, format!("\"{name}\" is not a US state or DC")))
            .map_err(at)?;
        let Some(s) = sheet.number(r, score, line, "score").map_err(at)? else {
            continue;
        };
        let c = sheet.number(r, cat, line, "cat").map_err(at)?;
        let label = c
            .and_then(category_label)
            .map(str::to_string)
            .unwrap_or_else(|| sheet.text(r, sheet.col("label")));
        let rounded: f64 = format!("{s:.3}").parse().unwrap_or(s);
        rows.push((
            s,
            vec![
                code.to_string(),
                name,
                float_text(rounded),
                label,
                "WRI BWS weight=Tot (total water demand)".into(),
                "1".into(),
            ],
        ));
    }
    if rows.is_empty() {
        return Err(bad(
            shown,
            format!(
                "sheet \"{}\": no United States (gid_0 USA) bws row at weight Tot",
                sheet.name
            ),
        ));
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1[0].cmp(&b.1[0])));
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "state",
        "state_name",
        "bws_score",
        "bws_category",
        "source_note",
        "n_subregions",
    ])
    .map_err(csv_err)?;
    for (_, row) in rows {
        w.write_record(&row).map_err(csv_err)?;
    }
    w.flush()
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
}

/// Province sheet, every country → iso_3166_2 (the province's code, from its country and
/// name as `standort region` matches names), gid_0, name_1, bws_score (0-5, 3 decimals;
/// empty for no data), bws_category; one row per code, in code order. A province whose
/// name matches no ISO 3166-2 subdivision, or one whose code two names claim, is left out
/// (the country's category answers there): the admin-1 layer joins on the code.
pub fn provinces(input: &Path, shown: &str, out: &mut dyn Write) -> Result<()> {
    let sheet = baseline_sheet(input, shown, true)?;
    let at = |e: Error| bad(shown, e.message());
    let score = sheet.col("score").ok_or_else(|| {
        bad(
            shown,
            format!("sheet \"{}\" has no column \"score\"", sheet.name),
        )
    })?;
    let cat = sheet.col("cat").unwrap_or_default();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (line, r) in total_rows(&sheet, "bws") {
        let gid = sheet.text(r, sheet.col("gid_0"));
        let name = sheet.text(r, sheet.col("name_1"));
        let Ok(country) = isocountry::CountryCode::for_alpha3(&gid) else {
            continue;
        };
        let s = sheet.number(r, score, line, "score").map_err(at)?;
        let c = sheet.number(r, cat, line, "cat").map_err(at)?;
        let s = s.filter(|s| (0.0..=5.0).contains(s));
        let label = c
            .and_then(category_label)
            .map(str::to_string)
            .unwrap_or_else(|| sheet.text(r, sheet.col("label")));
        let rounded = s.map(|s| format!("{s:.3}").parse().unwrap_or(s));
        pairs.push((country.alpha2().to_string(), name.clone()));
        rows.push(vec![
            gid,
            name,
            rounded.map(float_text).unwrap_or_default(),
            label,
        ]);
    }
    let codes = crate::region::names::codes_for(&pairs);
    let mut coded: BTreeMap<&str, &Vec<String>> = BTreeMap::new();
    for (code, row) in codes.iter().zip(&rows) {
        if let Some(code) = code {
            coded.insert(code, row);
        }
    }
    if coded.is_empty() {
        return Err(bad(
            shown,
            format!(
                "sheet \"{}\": no province bws row at weight Tot whose name matches an ISO 3166-2 subdivision",
                sheet.name
            ),
        ));
    }
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["iso_3166_2", "gid_0", "name_1", "bws_score", "bws_category"])
        .map_err(csv_err)?;
    for (code, row) in coded {
        let mut rec = vec![code.to_string()];
        rec.extend(row.iter().cloned());
        w.write_record(&rec).map_err(csv_err)?;
    }
    w.flush()
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
}
