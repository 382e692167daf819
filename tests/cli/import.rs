//! `standort data import`: publisher-shaped files made here (an Aqueduct-style workbook, a
//! tiny OpenStreetMap PBF) converted into the data directory and checked cell by cell; bad
//! files are one-line errors that leave the data directory as it was.

use super::real_data::data_dir;
use super::util::{haversine_km, run_ok};
use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn import(data: &Path, source: &str, file: &Path) -> Command {
    let mut cmd = Command::cargo_bin("standort").unwrap();
    cmd.args(["data", "import", source])
        .arg(file)
        .arg("--data-dir")
        .arg(data);
    cmd
}

fn fails(mut cmd: Command, needle: &str) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

/// Files under `dir`, recursively, with their contents.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(snapshot(&p));
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

// --- Aqueduct rankings workbook ----------------------------------------------------------

/// A spreadsheet cell of a test workbook.
enum Cell {
    T(&'static str),
    N(f64),
    E,
}

/// A sheet with a header row and rows of cells.
fn sheet(wb: &mut rust_xlsxwriter::Workbook, name: &str, head: &[&str], rows: &[Vec<Cell>]) {
    let ws = wb.add_worksheet().set_name(name).unwrap();
    for (c, h) in head.iter().enumerate() {
        ws.write(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            match cell {
                Cell::T(t) => ws.write(r, c, *t).map(|_| ()),
                Cell::N(x) => ws.write(r, c, *x).map(|_| ()),
                Cell::E => Ok(()),
            }
            .unwrap();
        }
    }
}

/// A workbook in the publisher's long layout: a notes sheet, the baseline country and
/// province sheets, and a future country sheet that must not be read.
fn workbook(path: &Path, with_province: bool) {
    use Cell::{E, N, T};
    let mut wb = rust_xlsxwriter::Workbook::new();
    sheet(&mut wb, "readme", &["Aqueduct 4.0 rankings"], &[]);
    let deu = if with_province { 1.0 } else { 2.0 };
    let country = [
        (
            "AFG",
            "Afghanistan",
            "Asia",
            "South Asia",
            "bws",
            "Tot",
            3.0,
        ),
        (
            "AFG",
            "Afghanistan",
            "Asia",
            "South Asia",
            "bws",
            "Dom",
            1.0,
        ),
        (
            "AFG",
            "Afghanistan",
            "Asia",
            "South Asia",
            "drr",
            "Tot",
            2.0,
        ),
        (
            "AFG",
            "Afghanistan",
            "Asia",
            "South Asia",
            "rfr",
            "Tot",
            4.0,
        ),
        (
            "FJI",
            "Fiji",
            "Oceania",
            "East Asia & Pacific",
            "bws",
            "Tot",
            -9999.0,
        ),
        (
            "DEU",
            "Germany",
            "Europe",
            "Europe & Central Asia",
            "bws",
            "Tot",
            deu,
        ),
    ];
    let rows: Vec<Vec<Cell>> = country
        .iter()
        .map(|r| {
            let (g, n, u, w, i, wt, cat) = *r;
            vec![
                T(g),
                T(n),
                T(u),
                T(w),
                T(i),
                T(wt),
                N(cat + 0.5),
                N(cat),
                T("label"),
            ]
        })
        .collect();
    let head = [
        "gid_0",
        "name_0",
        "un_region",
        "wb_region",
        "indicator_name",
        "weight",
        "score",
        "cat",
        "label",
    ];
    sheet(&mut wb, "country_baseline", &head, &rows);
    let mut future_head = head.to_vec();
    future_head.push("year");
    sheet(&mut wb, "country_future", &future_head, &[vec![T("ZZZ")]]);
    if with_province {
        let province = [
            ("USA", "New Mexico", "Tot", 4.25912, 4.0),
            ("USA", "Iowa", "Tot", 0.8, 0.0),
            ("USA", "Iowa", "Ind", 2.0, 2.0),
            ("USA", "District of Columbia", "Tot", 1.25, 1.0),
            ("MEX", "Sonora", "Tot", 4.9, 4.0),
            ("IND", "Kerala", "Tot", 1.2345, 1.0),
            ("IND", "Rajasthan", "Tot", 4.9, 4.0),
            ("IND", "Atlantis", "Tot", 2.0, 2.0),
            ("IND", "Goa", "Tot", -9999.0, -9999.0),
        ];
        let rows: Vec<Vec<Cell>> = province
            .iter()
            .map(|&(g, n1, wt, score, cat)| {
                vec![T(g), E, E, T(n1), T("bws"), T(wt), N(score), N(cat)]
            })
            .collect();
        let head = [
            "gid_0",
            "name_0",
            "gid_1",
            "name_1",
            "indicator_name",
            "weight",
            "score",
            "cat",
            "label",
        ];
        sheet(&mut wb, "province_baseline", &head, &rows);
    }
    wb.save(path).unwrap();
}

#[test]
fn aqueduct_workbook_becomes_the_country_and_state_tables() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("Aqueduct40_rankings.xlsx");
    workbook(&xlsx, true);
    let data = dir.path().join("data");
    let out = run_ok(&mut import(&data, "aqueduct", &xlsx));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("water_stress/aqueduct40_country_bws_cat.csv"),
        "{stdout}"
    );
    let country =
        std::fs::read_to_string(data.join("water_stress/aqueduct40_country_bws_cat.csv")).unwrap();
    assert_eq!(
        country,
        "gid_0,name_0,un_region,wb_region,bws_cat_0_4,drr_cat_0_4,rfr_cat_0_4\n\
         AFG,Afghanistan,Asia,South Asia,3.0,2.0,4.0\n\
         DEU,Germany,Europe,Europe & Central Asia,1.0,,\n\
         FJI,Fiji,Oceania,East Asia & Pacific,-9999.0,,\n"
    );
    let states =
        std::fs::read_to_string(data.join("water_stress/aqueduct_us_state_bws.csv")).unwrap();
    assert_eq!(
        states,
        "state,state_name,bws_score,bws_category,source_note,n_subregions\n\
         NM,New Mexico,4.259,Extremely High,WRI BWS weight=Tot (total water demand),1\n\
         DC,District of Columbia,1.25,Low-Medium,WRI BWS weight=Tot (total water demand),1\n\
         IA,Iowa,0.8,Low,WRI BWS weight=Tot (total water demand),1\n"
    );
    // Every country's provinces, coded by ISO 3166-2 (a name without a subdivision is left
    // out; no data stays empty).
    let provinces =
        std::fs::read_to_string(data.join("water_stress/aqueduct40_province_bws.csv")).unwrap();
    assert_eq!(
        provinces,
        "iso_3166_2,gid_0,name_1,bws_score,bws_category\n\
         IN-GA,IND,Goa,,\n\
         IN-KL,IND,Kerala,1.234,Low-Medium\n\
         IN-RJ,IND,Rajasthan,4.9,Extremely High\n\
         MX-SON,MEX,Sonora,4.9,Extremely High\n\
         US-DC,USA,District of Columbia,1.25,Low-Medium\n\
         US-IA,USA,Iowa,0.8,Low\n\
         US-NM,USA,New Mexico,4.259,Extremely High\n"
    );
    // The converted tables are what the layer set reads: the countries layer joins them.
    let set = standort::LayerSet::default_set(Some(&data))
        .unwrap()
        .into_partial();
    let countries = set.load("countries").unwrap();
    let a = &countries.attributes;
    let (iso, score) = (
        a.field_index("iso_a3").unwrap(),
        a.field_index("bws_score").unwrap(),
    );
    let afg = (0..a.len())
        .find(|&r| a.get(r, iso).to_string() == "AFG")
        .unwrap();
    assert_eq!(a.get(afg, score).as_f64(), Some(3.5));
    let fji = (0..a.len())
        .find(|&r| a.get(r, iso).to_string() == "FJI")
        .unwrap();
    assert!(a.get(fji, score).is_null(), "-9999 is no data");
}

#[test]
fn bad_workbooks_are_one_line_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let good = dir.path().join("good.xlsx");
    workbook(&good, true);
    run_ok(&mut import(&data, "aqueduct", &good));
    let before = snapshot(&data);
    // No province sheet (and another German category): the country table would convert,
    // the state table cannot; nothing is replaced by a half import.
    let no_prov = dir.path().join("no_province.xlsx");
    workbook(&no_prov, false);
    fails(
        import(&data, "aqueduct", &no_prov),
        "no baseline province ranking sheet",
    );
    let not_xlsx = dir.path().join("notes.xlsx");
    std::fs::write(&not_xlsx, "not a workbook").unwrap();
    fails(
        import(&data, "aqueduct", &not_xlsx),
        "not an Excel workbook",
    );
    fails(
        import(&data, "aqueduct", &dir.path().join("absent.xlsx")),
        "no such file",
    );
    assert_eq!(snapshot(&data), before, "the data directory is unchanged");
    let out = Command::cargo_bin("standort")
        .unwrap()
        .args(["data", "import", "aquaduct", "x", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown source \"aquaduct\""));
}

#[test]
fn usda_table_as_published_converts_to_the_reference_copy() {
    let dir = tempfile::tempdir().unwrap();
    let raw = data_dir().join("land_cost/usda_farm_real_estate_raw_latin1.csv");
    run_ok(&mut import(dir.path(), "usda-land-values", &raw));
    let rel = "land_cost/usda_farm_real_estate_usd_per_acre_by_state.csv";
    assert_eq!(
        std::fs::read(dir.path().join(rel)).unwrap(),
        std::fs::read(data_dir().join(rel)).unwrap(),
        "byte for byte (the catalog's SHA-256 was checked too)"
    );
}

// --- OpenStreetMap PBF -------------------------------------------------------------------

/// Protocol-buffer encoding, just what an OSM PBF needs.
mod pb {
    pub fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    pub fn zigzag(v: i64) -> u64 {
        ((v << 1) ^ (v >> 63)) as u64
    }
    pub fn field_varint(field: u32, v: u64, out: &mut Vec<u8>) {
        varint(u64::from(field) << 3, out);
        varint(v, out);
    }
    pub fn field_bytes(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
        varint((u64::from(field) << 3) | 2, out);
        varint(bytes.len() as u64, out);
        out.extend_from_slice(bytes);
    }
    pub fn packed(field: u32, values: impl IntoIterator<Item = u64>, out: &mut Vec<u8>) {
        let mut body = Vec::new();
        for v in values {
            varint(v, &mut body);
        }
        field_bytes(field, &body, out);
    }
}

/// An element of the test extract: tags as (key, value) pairs.
enum Osm<'a> {
    Node(i64, f64, f64, Vec<(&'a str, &'a str)>),
    Way(i64, Vec<i64>, Vec<(&'a str, &'a str)>),
    Relation(i64, Vec<(&'a str, &'a str)>),
}

/// A PBF file: a header block and one data block holding `elements` (plain nodes, ways,
/// relations; raw, uncompressed blobs).
fn pbf(elements: &[Osm]) -> Vec<u8> {
    use pb::*;
    let mut strings: Vec<String> = vec![String::new()];
    let mut sid = |s: &str| -> u64 {
        match strings.iter().position(|x| x == s) {
            Some(i) => i as u64,
            None => {
                strings.push(s.to_string());
                (strings.len() - 1) as u64
            }
        }
    };
    let mut group = Vec::new();
    for e in elements {
        let mut m = Vec::new();
        let (field, tags) = match e {
            Osm::Node(id, _, _, tags) => {
                field_varint(1, zigzag(*id), &mut m);
                (1, tags)
            }
            Osm::Way(id, _, tags) | Osm::Relation(id, tags) => {
                field_varint(1, *id as u64, &mut m);
                (if matches!(e, Osm::Way(..)) { 3 } else { 4 }, tags)
            }
        };
        let keys: Vec<u64> = tags.iter().map(|(k, _)| sid(k)).collect();
        let vals: Vec<u64> = tags.iter().map(|(_, v)| sid(v)).collect();
        packed(2, keys, &mut m);
        packed(3, vals, &mut m);
        match e {
            Osm::Node(_, lon, lat, _) => {
                field_varint(8, zigzag((lat * 1e7).round() as i64), &mut m);
                field_varint(9, zigzag((lon * 1e7).round() as i64), &mut m);
            }
            Osm::Way(_, refs, _) => {
                let mut prev = 0;
                let deltas: Vec<u64> = refs
                    .iter()
                    .map(|r| {
                        let d = zigzag(r - prev);
                        prev = *r;
                        d
                    })
                    .collect();
                packed(8, deltas, &mut m);
            }
            Osm::Relation(..) => {}
        }
        field_bytes(field, &m, &mut group);
    }
    let mut table = Vec::new();
    for s in &strings {
        field_bytes(1, s.as_bytes(), &mut table);
    }
    let mut block = Vec::new();
    field_bytes(1, &table, &mut block);
    field_bytes(2, &group, &mut block);
    let mut header = Vec::new();
    field_bytes(4, b"OsmSchema-V0.6", &mut header);
    let mut file = Vec::new();
    for (kind, body) in [("OSMHeader", header), ("OSMData", block)] {
        let mut blob = Vec::new();
        field_bytes(1, &body, &mut blob);
        let mut bh = Vec::new();
        field_bytes(1, kind.as_bytes(), &mut bh);
        field_varint(3, blob.len() as u64, &mut bh);
        file.extend_from_slice(&(bh.len() as u32).to_be_bytes());
        file.extend_from_slice(&bh);
        file.extend_from_slice(&blob);
    }
    file
}

/// A small extract of northern India: 12 substations of 220 kV around Delhi, one drawn as an
/// outline (a way), one at 33 kV (left out), one relation, a node that is not a substation,
/// and one substation just across the border in Pakistan.
fn india_extract() -> Vec<u8> {
    let mut els: Vec<Osm> = Vec::new();
    for k in 0..12 {
        let lon = 77.0 + 0.1 * k as f64;
        els.push(Osm::Node(
            100 + k,
            lon,
            28.6,
            vec![
                ("power", "substation"),
                ("voltage", "220000"),
                ("name", "Delhi GSS"),
            ],
        ));
    }
    els.push(Osm::Node(
        200,
        77.5,
        28.0,
        vec![("power", "substation"), ("voltage", "33000")],
    ));
    els.push(Osm::Node(201, 77.5, 28.1, vec![("amenity", "cafe")]));
    els.push(Osm::Node(
        202,
        74.2,
        31.5,
        vec![("power", "substation"), ("voltage", "132000;11000")],
    ));
    for (id, lon, lat) in [
        (301, 76.0, 29.0),
        (302, 76.02, 29.0),
        (303, 76.02, 29.02),
        (304, 76.0, 29.02),
    ] {
        els.push(Osm::Node(id, lon, lat, vec![]));
    }
    els.push(Osm::Way(
        400,
        vec![301, 302, 303, 304, 301],
        vec![
            ("power", "substation"),
            ("voltage", "400000"),
            ("substation", "transmission"),
            ("operator", "PGCIL"),
        ],
    ));
    els.push(Osm::Relation(500, vec![("power", "substation")]));
    pbf(&els)
}

/// A data directory that links to the mirror's files, with its own copy of the substations
/// layer (the import replaces that copy, never the mirror's file).
fn linked_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in [
        "boundaries",
        "power_plants",
        "water_stress",
        "land_cost",
        "carbon",
        "grid",
    ] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(data_dir().join(sub)).unwrap() {
            let p = e.unwrap().path();
            let to = dir.path().join(sub).join(p.file_name().unwrap());
            if sub == "grid" {
                std::fs::copy(&p, &to).unwrap();
            } else {
                std::os::unix::fs::symlink(&p, &to).unwrap();
            }
        }
    }
    dir
}

#[cfg(unix)]
#[test]
fn osm_extract_brings_substations_and_coverage_the_default_profile_uses() {
    let data = linked_data_dir();
    let layer = data.path().join("grid/europe_osm_hv_substations.geojson");
    let europe_before =
        std::fs::read(data_dir().join("grid/europe_osm_hv_substations.geojson")).unwrap();
    let n_before = serde_json::from_slice::<Value>(&europe_before).unwrap()["features"]
        .as_array()
        .unwrap()
        .len();
    let pbf_path = data.path().join("india-test.osm.pbf");
    std::fs::write(&pbf_path, india_extract()).unwrap();
    let out = run_ok(&mut import(data.path(), "osm-substations", &pbf_path));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("14 substations")
            && stdout.contains("1 below 110 kV")
            && stdout.contains("1 relations"),
        "{stdout}"
    );
    assert!(stdout.contains("covered now: IND"), "{stdout}");
    let v: Value = serde_json::from_slice(&std::fs::read(&layer).unwrap()).unwrap();
    let feats = v["features"].as_array().unwrap();
    // Europe's substations are kept (none was in India), the extract's 14 added.
    assert_eq!(feats.len(), n_before + 14);
    let way = feats
        .iter()
        .find(|f| f["properties"]["id"] == "way/400")
        .unwrap();
    assert_eq!(way["properties"]["voltage_kv"], 400);
    assert_eq!(way["properties"]["type"], "transmission");
    assert_eq!(way["properties"]["operator"], "PGCIL");
    assert_eq!(
        way["geometry"]["coordinates"],
        serde_json::json!([76.01, 29.01])
    );
    let pak = feats
        .iter()
        .find(|f| f["properties"]["id"] == "node/202")
        .unwrap();
    assert_eq!(pak["properties"]["voltage_kv"], 132);
    assert!(
        !feats.iter().any(|f| f["properties"]["id"] == "node/200"),
        "33 kV left out"
    );
    let coverage =
        std::fs::read_to_string(data.path().join("grid/substations_coverage.csv")).unwrap();
    assert_eq!(
        coverage,
        "iso_a3,substations,extract\nIND,13,india-test.osm.pbf\n"
    );
    assert_eq!(
        std::fs::read(data_dir().join("grid/europe_osm_hv_substations.geojson")).unwrap(),
        europe_before,
        "the mirror is untouched"
    );
    // The default profile now measures the substation distance in India (before: UNKNOWN,
    // outside the coverage), to the nearest imported substation.
    let set = standort::LayerSet::default_set(Some(data.path())).unwrap();
    let engine =
        standort::Engine::new(standort::Profile::embedded("ai-campus").unwrap(), &set).unwrap();
    let k = engine
        .profile()
        .criteria
        .iter()
        .position(|c| c.id() == "substation_distance")
        .unwrap();
    let e = engine.evaluate(77.33, 28.7);
    let km = e.values[k].raw.as_f64().expect("known in India now");
    assert!(
        (km - haversine_km(77.33, 28.7, 77.3, 28.6)).abs() < 1e-3,
        "{km}"
    );
    // Pakistan is not covered (one substation of the extract): still UNKNOWN there.
    assert!(engine.evaluate(74.3, 31.5).values[k].raw.is_null());
    // The coverage file is an input of every run that reads the layer: never overwritten.
    let cov = data.path().join("grid/substations_coverage.csv");
    let sites = data.path().join("sites.csv");
    std::fs::write(&sites, "lon,lat\n77.33,28.7\n").unwrap();
    let out = Command::cargo_bin("standort")
        .unwrap()
        .arg("score")
        .arg(&sites)
        .arg("--data-dir")
        .arg(data.path())
        .arg("--out")
        .arg(&cov)
        .args(["--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to overwrite"));
    assert_eq!(std::fs::read_to_string(&cov).unwrap(), coverage);
    // A second import of the same extract replaces, not duplicates.
    run_ok(&mut import(data.path(), "osm-substations", &pbf_path));
    let v: Value = serde_json::from_slice(&std::fs::read(&layer).unwrap()).unwrap();
    assert_eq!(v["features"].as_array().unwrap().len(), n_before + 14);
}

#[test]
fn bad_extracts_are_one_line_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("grid")).unwrap();
    std::fs::write(
        data.join("grid/europe_osm_hv_substations.geojson"),
        "{\"type\":\"FeatureCollection\",\"features\":[]}",
    )
    .unwrap();
    let before = snapshot(&data);
    let empty = dir.path().join("cafes.osm.pbf");
    std::fs::write(
        &empty,
        pbf(&[
            Osm::Node(1, 10.0, 50.0, vec![("amenity", "cafe")]),
            Osm::Node(
                2,
                10.0,
                50.1,
                vec![("power", "substation"), ("voltage", "20000")],
            ),
        ]),
    )
    .unwrap();
    fails(
        import(&data, "osm-substations", &empty),
        "no power=substation of 110 kV or more (or without a voltage) in the extract (1 below 110 kV",
    );
    let garbage = dir.path().join("garbage.osm.pbf");
    std::fs::write(&garbage, b"\x00\x00\x00\x05hello").unwrap();
    fails(
        import(&data, "osm-substations", &garbage),
        "garbage.osm.pbf",
    );
    assert_eq!(snapshot(&data), before);
}

/// With the province table imported, water stress in India comes from the province where
/// the workbook ranks it, from the country elsewhere; the US keeps its state table.
#[cfg(unix)]
#[test]
fn imported_provinces_answer_water_stress_inside_their_country() {
    let data = linked_data_dir();
    let xlsx = data.path().join("rankings.xlsx");
    workbook(&xlsx, true);
    run_ok(&mut import(data.path(), "aqueduct", &xlsx));
    // The test workbook's country and state tables are partial: the mirror's answer.
    for rel in [
        "water_stress/aqueduct40_country_bws_cat.csv",
        "water_stress/aqueduct_us_state_bws.csv",
    ] {
        std::fs::remove_file(data.path().join(rel)).unwrap();
        std::os::unix::fs::symlink(data_dir().join(rel), data.path().join(rel)).unwrap();
    }
    let set = standort::LayerSet::default_set(Some(data.path())).unwrap();
    let engine =
        standort::Engine::new(standort::Profile::embedded("ai-campus").unwrap(), &set).unwrap();
    let k = engine
        .profile()
        .criteria
        .iter()
        .position(|c| c.id() == "water_stress")
        .unwrap();
    let layer = |lon: f64, lat: f64| {
        let v = &engine.evaluate(lon, lat).values[k];
        let name = v
            .source
            .map(|s| engine.criterion_layers(k)[usize::from(s)].clone());
        (v.raw.as_f64(), name)
    };
    let provinces = Some("water_provinces".to_string());
    assert_eq!(
        layer(76.3, 10.0),
        (Some(1.234), provinces.clone()),
        "Kochi, Kerala"
    );
    assert_eq!(
        layer(75.8, 26.9),
        (Some(4.9), provinces),
        "Jaipur, Rajasthan"
    );
    // Maharashtra is not in the workbook; Goa has no data: the country category (4 → 4.5).
    let country = Some("countries".to_string());
    assert_eq!(layer(72.9, 19.1), (Some(4.5), country.clone()), "Mumbai");
    assert_eq!(layer(73.9, 15.4), (Some(4.5), country), "Goa");
    // The US answers from its state table (the workbook's Iowa 0.8 is not read there).
    let us = layer(-93.6, 41.6);
    assert_eq!(us.1.as_deref(), Some("water_us_states"), "Des Moines");
    // Boundary truth: where the simplified province outline of Rajasthan reaches over the
    // border into what the countries layer calls Pakistan, the province does not answer.
    let iso_a2_at = |layer: &str| {
        let l = set.load(layer).unwrap();
        let standort::layers::Geometry::Polygons(polys) = &l.geometry else {
            panic!("{layer} is not polygons")
        };
        let index = standort::index::PolygonIndex::new(polys);
        let col = l.attributes.field_index("iso_a2").unwrap();
        move |lon: f64, lat: f64| {
            index
                .containing(lon, lat)
                .map(|r| l.attributes.get(r, col).to_string())
        }
    };
    let (province_country, country) = (iso_a2_at("water_provinces"), iso_a2_at("countries"));
    let mut across = 0;
    for i in 0..=550 {
        for j in 0..=600 {
            let (lon, lat) = (69.5 + 0.01 * f64::from(i), 24.0 + 0.01 * f64::from(j));
            if province_country(lon, lat).as_deref() == Some("IN")
                && country(lon, lat).as_deref() == Some("PK")
            {
                across += 1;
                assert_ne!(
                    layer(lon, lat).1,
                    Some("water_provinces".into()),
                    "{lon},{lat}"
                );
            }
        }
    }
    assert!(
        across > 0,
        "the outlines never disagree here: the test tests nothing"
    );
}

/// The same converters behind `data fetch`, from a local server: the workbook inside the zip
/// a publisher would serve, and an extract.
#[test]
fn fetch_converts_a_served_workbook_zip_and_extract() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("rankings.xlsx");
    workbook(&xlsx, true);
    let mut zip_body = Vec::new();
    {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut zip_body));
        z.start_file(
            "Aqueduct40_rankings/rankings.xlsx",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        std::io::Write::write_all(&mut z, &std::fs::read(&xlsx).unwrap()).unwrap();
        z.finish().unwrap();
    }
    // `data import` reads the workbook inside the zip as it reads the workbook itself.
    let zip_path = dir.path().join("rankings.zip");
    std::fs::write(&zip_path, &zip_body).unwrap();
    let (from_zip, from_xlsx) = (dir.path().join("z"), dir.path().join("x"));
    run_ok(&mut import(&from_zip, "aqueduct", &zip_path));
    run_ok(&mut import(&from_xlsx, "aqueduct", &xlsx));
    assert_eq!(snapshot(&from_zip.join("water_stress")).len(), 3);
    let strip = |v: Vec<(std::path::PathBuf, Vec<u8>)>, root: &Path| {
        v.into_iter()
            .map(|(p, b)| (p.strip_prefix(root).unwrap().to_path_buf(), b))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        strip(snapshot(&from_zip), &from_zip),
        strip(snapshot(&from_xlsx), &from_xlsx)
    );
    let base = super::data::serve(vec![
        ("/rankings.zip", zip_body),
        ("/india.osm.pbf", india_extract()),
    ]);
    let catalog = format!(
        "{}\n[[source.file]]\npath = \"w/country.csv\"\ncolumns = [\"gid_0\", \"bws_cat_0_4\"]\nurl = \"{base}/rankings.zip\"\nmember = \"Aqueduct40_rankings/rankings.xlsx\"\nconvert = \"aqueduct-country\"\n\n\
         [[source.file]]\npath = \"w/provinces.csv\"\ncolumns = [\"iso_3166_2\", \"bws_score\"]\nurl = \"{base}/rankings.zip\"\nmember = \"Aqueduct40_rankings/rankings.xlsx\"\nconvert = \"aqueduct-provinces\"\n\n\
         [[source.file]]\npath = \"g/substations.geojson\"\ncolumns = [\"id\", \"voltage_kv\"]\nurl = \"{base}/india.osm.pbf\"\nconvert = \"osm-substations\"\n",
        super::data::test_source("served", &base)
    );
    let cat = dir.path().join("catalog.toml");
    std::fs::write(&cat, catalog).unwrap();
    let data = dir.path().join("data");
    let out = Command::cargo_bin("standort")
        .unwrap()
        .args(["data", "fetch", "--catalog"])
        .arg(&cat)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let country = std::fs::read_to_string(data.join("w/country.csv")).unwrap();
    assert!(
        country.contains("AFG,Afghanistan,Asia,South Asia,3.0,2.0,4.0\n"),
        "{country}"
    );
    let provinces = std::fs::read_to_string(data.join("w/provinces.csv")).unwrap();
    assert!(
        provinces.contains("IN-KL,IND,Kerala,1.234,Low-Medium\n"),
        "{provinces}"
    );
    let v: Value =
        serde_json::from_slice(&std::fs::read(data.join("g/substations.geojson")).unwrap())
            .unwrap();
    assert_eq!(v["features"].as_array().unwrap().len(), 14);
}
