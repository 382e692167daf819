//! GeoParquet in and out: sites and cells written with GeoParquet 1.1 metadata and WKB
//! geometry, equal to the CSV and GeoJSON outputs; Parquet sites (WKB points or
//! longitude/latitude columns) scored like their CSV; bad files refused in one line.
//! (GeoPandas and pyarrow read the files back in python/tests/test_geoparquet.py.)

use super::util::{csv_rows, fails, fixtures, num, on_fixtures, run_csv, run_ok, score};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, BinaryArray, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Every row of a Parquet file as one batch, and its key-value metadata.
fn read_parquet(path: &Path) -> (RecordBatch, HashMap<String, String>) {
    let b = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap();
    let kv: HashMap<String, String> = b
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let schema = b.schema().clone();
    let batches: Vec<RecordBatch> = b.build().unwrap().map(|r| r.unwrap()).collect();
    (arrow_select_concat(&schema, &batches), kv)
}

fn arrow_select_concat(schema: &Arc<Schema>, batches: &[RecordBatch]) -> RecordBatch {
    if batches.is_empty() {
        return RecordBatch::new_empty(schema.clone());
    }
    let cols: Vec<ArrayRef> = (0..schema.fields().len())
        .map(|i| {
            let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
            arrow_select::concat::concat(&parts).unwrap()
        })
        .collect();
    RecordBatch::try_new(schema.clone(), cols).unwrap()
}

/// Little-endian WKB of a point.
fn wkb_point(x: f64, y: f64) -> Vec<u8> {
    let mut b = vec![1u8, 1, 0, 0, 0];
    b.extend(x.to_le_bytes());
    b.extend(y.to_le_bytes());
    b
}

/// The (x, y) pairs of a WKB point or polygon ring.
fn wkb_xy(b: &[u8]) -> Vec<(f64, f64)> {
    let f = |at: usize| f64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    match b[1] {
        1 => vec![(f(5), f(13))],
        3 => (0..5).map(|k| (f(13 + 16 * k), f(21 + 16 * k))).collect(),
        t => panic!("WKB type {t}"),
    }
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a ArrayRef {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}: {:?}", batch.schema()))
}

/// A text cell of the CSV output as the Parquet value it should be (empty: null).
fn csv_number(row: &HashMap<String, String>, col: &str) -> Option<f64> {
    (!row[col].is_empty()).then(|| num(row, col))
}

#[test]
fn scored_sites_as_geoparquet_equal_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ranked.parquet");
    run_ok(
        score()
            .arg(fixtures().join("sites.csv"))
            .arg("--out")
            .arg(&out),
    );
    let rows = run_csv(
        score()
            .arg(fixtures().join("sites.csv"))
            .args(["-f", "csv"]),
    );
    let (batch, kv) = read_parquet(&out);
    assert_eq!(batch.num_rows(), rows.len());

    let geo: Json = serde_json::from_str(&kv["geo"]).unwrap();
    assert_eq!(geo["version"], "1.1.0");
    assert_eq!(geo["primary_column"], "geometry");
    let g = &geo["columns"]["geometry"];
    assert_eq!(g["encoding"], "WKB");
    assert_eq!(g["geometry_types"], serde_json::json!(["Point"]));
    let bbox: Vec<f64> = serde_json::from_value(g["bbox"].clone()).unwrap();
    let standort: Json = serde_json::from_str(&kv["standort"]).unwrap();
    assert_eq!(standort["summary"]["sites"], rows.len());

    assert_eq!(column(&batch, "rank").data_type(), &DataType::Int64);
    assert_eq!(column(&batch, "score").data_type(), &DataType::Float64);
    let ids = column(&batch, "id").as_string::<i32>();
    let ranks = column(&batch, "rank").as_primitive::<Int64Type>();
    let scores = column(&batch, "score").as_primitive::<Float64Type>();
    let km = column(&batch, "grid_distance_km").as_primitive::<Float64Type>();
    let status = column(&batch, "status").as_string::<i32>();
    let geometry = column(&batch, "geometry").as_binary::<i32>();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(ids.value(i), row["id"], "rows in the same order");
        assert_eq!(status.value(i), row["status"]);
        let value = |a: &arrow_array::Float64Array| a.is_valid(i).then(|| a.value(i));
        assert_eq!(value(scores), csv_number(row, "score"), "{}", row["id"]);
        assert_eq!(value(km), csv_number(row, "grid_distance_km"));
        let rank = ranks.is_valid(i).then(|| ranks.value(i) as f64);
        assert_eq!(rank, csv_number(row, "rank"));
        let (x, y) = wkb_xy(geometry.value(i))[0];
        assert_eq!((x, y), (num(row, "lon"), num(row, "lat")));
        assert!(bbox[0] <= x && x <= bbox[2] && bbox[1] <= y && y <= bbox[3]);
    }
}

/// The fixture sites as a Parquet file: an `id` and `name`, then either a WKB `geometry`
/// column with GeoParquet metadata or `longitude`/`latitude` columns.
fn sites_parquet(path: &Path, wkb: bool) {
    let file = std::fs::File::open(fixtures().join("sites.csv")).unwrap();
    let rows = csv_rows(file);
    let ids: StringArray = rows.iter().map(|r| Some(r["id"].clone())).collect();
    let names: StringArray = rows.iter().map(|r| Some(r["name"].clone())).collect();
    let (lon, lat): (Vec<f64>, Vec<f64>) =
        rows.iter().map(|r| (num(r, "lon"), num(r, "lat"))).unzip();
    let mut fields = vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(ids), Arc::new(names)];
    if wkb {
        fields.push(Field::new("geometry", DataType::Binary, false));
        let points: Vec<Vec<u8>> = lon
            .iter()
            .zip(&lat)
            .map(|(x, y)| wkb_point(*x, *y))
            .collect();
        columns.push(Arc::new(BinaryArray::from_iter_values(points.iter())));
    } else {
        fields.push(Field::new("longitude", DataType::Float64, false));
        fields.push(Field::new("latitude", DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from(lon)));
        columns.push(Arc::new(Float64Array::from(lat)));
    }
    write_batch(path, fields, columns, wkb);
}

fn write_batch(path: &Path, fields: Vec<Field>, columns: Vec<ArrayRef>, geo: bool) {
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut w = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
    if geo {
        let meta = r#"{"version":"1.1.0","primary_column":"geometry","columns":{"geometry":{"encoding":"WKB","geometry_types":["Point"]}}}"#;
        w.append_key_value_metadata(parquet::file::metadata::KeyValue::new(
            "geo".into(),
            meta.to_string(),
        ));
    }
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn parquet_sites_score_like_their_csv() {
    let want = run_csv(
        score()
            .arg(fixtures().join("sites.csv"))
            .args(["-f", "csv"]),
    );
    let dir = tempfile::tempdir().unwrap();
    for wkb in [true, false] {
        let p = dir.path().join(format!("sites-{wkb}.parquet"));
        sites_parquet(&p, wkb);
        let got = run_csv(score().arg(&p).args(["-f", "csv"]));
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            for col in ["id", "name", "rank", "score", "status", "reasons"] {
                assert_eq!(g[col], w[col], "{col} of {} (wkb: {wkb})", w["id"]);
            }
            assert_eq!(
                (num(g, "lon"), num(g, "lat")),
                (num(w, "lon"), num(w, "lat"))
            );
        }
        // Sniffed by content too, whatever the name says.
        let renamed = dir.path().join("sites.bin");
        std::fs::copy(&p, &renamed).unwrap();
        let again = run_csv(score().arg(&renamed).args(["-f", "csv"]));
        assert_eq!(again, got);
    }
}

#[test]
fn region_cells_as_geoparquet_equal_the_geojson() {
    let dir = tempfile::tempdir().unwrap();
    let (pq, gj) = (dir.path().join("c.parquet"), dir.path().join("c.geojson"));
    for out in [&pq, &gj] {
        let mut cmd = on_fixtures("region");
        cmd.args([
            "--bbox",
            "9,-1,14,1",
            "--cell",
            "0.5",
            "-q",
            "--sub-scores",
            "--out",
        ])
        .arg(out);
        run_ok(&mut cmd);
    }
    let (batch, kv) = read_parquet(&pq);
    let geojson: Json = serde_json::from_str(&std::fs::read_to_string(&gj).unwrap()).unwrap();
    let features = geojson["features"].as_array().unwrap();
    assert_eq!(batch.num_rows(), features.len());
    assert!(batch.num_rows() > 10);
    let geo: Json = serde_json::from_str(&kv["geo"]).unwrap();
    assert_eq!(geo["columns"]["geometry"]["geometry_types"][0], "Polygon");
    let standort: Json = serde_json::from_str(&kv["standort"]).unwrap();
    assert_eq!(standort["columns"], geojson["standort"]["columns"]);
    let geometry = column(&batch, "geometry").as_binary::<i32>();
    for (i, f) in features.iter().enumerate() {
        let ring: Vec<(f64, f64)> = f["geometry"]["coordinates"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        let got = wkb_xy(geometry.value(i));
        for (a, b) in got.iter().zip(&ring) {
            assert!(
                (a.0 - b.0).abs() < 1e-7 && (a.1 - b.1).abs() < 1e-7,
                "{got:?} {ring:?}"
            );
        }
        for (k, v) in f["properties"].as_object().unwrap() {
            let c = column(&batch, k);
            let got = match c.data_type() {
                DataType::Float64 => {
                    let a = c.as_primitive::<Float64Type>();
                    if a.is_valid(i) {
                        Json::from(a.value(i))
                    } else {
                        Json::Null
                    }
                }
                _ => {
                    let a = c.as_string::<i32>();
                    if a.is_valid(i) {
                        Json::from(a.value(i))
                    } else {
                        Json::Null
                    }
                }
            };
            assert_eq!(&got, v, "{k} of cell {i}");
        }
    }
}

#[test]
fn bad_parquet_sites_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    // Text that is not Parquet, named as if it were.
    let fake = dir.path().join("fake.parquet");
    std::fs::write(&fake, "id,lat,lon\na,1,2\n").unwrap();
    let mut cmd = score();
    cmd.arg(&fake);
    fails(cmd, 1, "fake.parquet: not a readable Parquet file");

    // A polygon, a null geometry, and a table without positions.
    let poly = dir.path().join("poly.parquet");
    let mut ring = vec![1u8, 3, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0];
    for (x, y) in [(0.0f64, 0.0f64), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)] {
        ring.extend(x.to_le_bytes());
        ring.extend(y.to_le_bytes());
    }
    let point = wkb_point(10.0, 0.0);
    let geometry = BinaryArray::from_iter([Some(point.as_slice()), Some(ring.as_slice())]);
    let f = vec![Field::new("geometry", DataType::Binary, true)];
    write_batch(&poly, f.clone(), vec![Arc::new(geometry)], true);
    let mut cmd = score();
    cmd.arg(&poly);
    fails(
        cmd,
        1,
        "poly.parquet: row 1: sites must be Points, found a Polygon",
    );

    let nulls = dir.path().join("nulls.parquet");
    let geometry = BinaryArray::from_iter([Some(point.as_slice()), None]);
    write_batch(&nulls, f, vec![Arc::new(geometry)], true);
    let mut cmd = score();
    cmd.arg(&nulls);
    fails(cmd, 1, "nulls.parquet: row 1: geometry is null");

    let nothing = dir.path().join("nothing.parquet");
    let names = StringArray::from(vec!["a"]);
    let f = vec![Field::new("name", DataType::Utf8, false)];
    write_batch(&nothing, f, vec![Arc::new(names)], false);
    let mut cmd = score();
    cmd.arg(&nothing);
    fails(cmd, 1, "nothing.parquet: no geometry column");

    // NaN longitude.
    let nan = dir.path().join("nan.parquet");
    let f = vec![
        Field::new("lon", DataType::Float64, false),
        Field::new("lat", DataType::Float64, false),
    ];
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(vec![1.0, f64::NAN])),
        Arc::new(Float64Array::from(vec![1.0, 2.0])),
    ];
    write_batch(&nan, f, cols, false);
    let mut cmd = score();
    cmd.arg(&nan);
    fails(cmd, 1, "nan.parquet: row 1: longitude NaN is out of range");

    // Parquet keeps its index at its end: not from a stream.
    let mut cmd = score();
    cmd.arg("-").pipe_stdin(&poly).unwrap();
    fails(cmd, 1, "Parquet sites are read from a file");
}

#[test]
fn an_empty_site_table_gives_an_empty_geoparquet() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.parquet");
    let f = vec![Field::new("geometry", DataType::Binary, false)];
    let none: Vec<&[u8]> = Vec::new();
    write_batch(
        &empty,
        f,
        vec![Arc::new(BinaryArray::from_iter_values(none))],
        true,
    );
    let out = dir.path().join("out.parquet");
    run_ok(score().arg(&empty).arg("--out").arg(&out));
    let (batch, kv) = read_parquet(&out);
    assert_eq!(batch.num_rows(), 0);
    assert!(batch.schema().field_with_name("score").is_ok());
    let geo: Json = serde_json::from_str(&kv["geo"]).unwrap();
    assert!(geo["columns"]["geometry"].get("bbox").is_none());
}
