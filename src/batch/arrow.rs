//! Scoring sites held in Arrow record batches (a Python table, a Spark partition): the
//! batch's own columns, untouched, then what each evaluation says — the same values, to the
//! same decimals, as the CSV and GeoParquet outputs, without the rank (a rank needs every
//! site; sort on `score`).

use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::export::parquet::typed_columns;
use crate::export::{avoid_clashes, evaluation_columns, evaluation_values};
use crate::sites::arrow::{Position, positions};
use arrow_array::RecordBatch;
use arrow_schema::Schema;
use rayon::prelude::*;
use std::sync::Arc;

/// Score the sites of `batch`, whose positions are `at` (see [`crate::sites::arrow`]):
/// its columns, then score, status, reasons, unknown and each criterion's raw value,
/// sub-score, contribution and source. `first_row` numbers the rows in messages, which name
/// `label`. Sites are evaluated in parallel on the rayon pool; the result does not depend
/// on the thread count or on how a table is cut into batches (for a site-local profile;
/// fit a set-dependent one first, see [`Engine::fit`]).
pub fn score_record_batch(
    engine: &Engine,
    batch: &RecordBatch,
    at: &Position,
    first_row: u64,
    label: &str,
) -> Result<RecordBatch> {
    let (lon, lat) = positions(batch, at, first_row, label)?;
    let rows: Vec<Vec<serde_json::Value>> = lon
        .par_iter()
        .zip(&lat)
        .with_min_len(256)
        .map(|(&x, &y)| evaluation_values(engine, &engine.evaluate(x, y)))
        .collect();
    let schema = batch.schema();
    let inputs: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let names = avoid_clashes(evaluation_columns(engine), &inputs);
    let (fields, arrays) = typed_columns(Some(engine), &names, &rows);
    let mut all_fields: Vec<arrow_schema::FieldRef> = schema.fields().iter().cloned().collect();
    all_fields.extend(fields.into_iter().map(Arc::new));
    let mut columns = batch.columns().to_vec();
    columns.extend(arrays);
    let out = Schema::new_with_metadata(all_fields, schema.metadata().clone());
    RecordBatch::try_new(Arc::new(out), columns)
        .map_err(|e| Error::at(ErrorKind::Input, label, e.to_string()))
}

/// The schema [`score_record_batch`] gives a batch of `input`'s schema (for a consumer
/// that needs it before the first batch, such as Spark's `mapInArrow`).
pub fn scored_schema(engine: &Engine, input: &Schema) -> Schema {
    let inputs: Vec<String> = input.fields().iter().map(|f| f.name().clone()).collect();
    let names = avoid_clashes(evaluation_columns(engine), &inputs);
    let (fields, _) = typed_columns(Some(engine), &names, &[]);
    let mut all: Vec<arrow_schema::FieldRef> = input.fields().iter().cloned().collect();
    all.extend(fields.into_iter().map(Arc::new));
    Schema::new_with_metadata(all, input.metadata().clone())
}

/// The cells of a region grid as one record batch — `lon` and `lat` of each cell's centre,
/// the columns of a region file (see [`crate::export::region::cell_columns`]) and the cell
/// rectangle as WKB in `geometry` — with the run's summary. Cells come in grid order.
/// A set-dependent profile must be fitted on the cell centres first (as `region` does).
pub fn region_cells(
    engine: &Engine,
    cells: &[crate::region::Cell],
    top_n: usize,
    min_spacing_km: f64,
    detail: crate::export::region::CellDetail,
) -> Result<(RecordBatch, crate::region::RegionSummary)> {
    use crate::export::fgb::Shape;
    use crate::export::region::{cell_columns, cell_values};
    let names = cell_columns(engine, detail);
    let mut rows: Vec<Vec<serde_json::Value>> = Vec::with_capacity(cells.len());
    let mut shapes = Vec::with_capacity(cells.len());
    let mut sink = |cell: &crate::region::Cell, e: &crate::Evaluation| {
        let mut row = vec![serde_json::Value::from(cell.lon()), cell.lat().into()];
        row.extend(cell_values(engine, e, detail, &names));
        rows.push(row);
        shapes.push(Shape::Rect(cell.rect()));
        Ok(())
    };
    let summary = crate::region::score_cells(engine, cells, top_n, min_spacing_km, Some(&mut sink))
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
    let mut all = vec!["lon".to_string(), "lat".into()];
    all.extend(names);
    let (fields, mut arrays) = typed_columns(Some(engine), &all, &rows);
    let mut fields: Vec<arrow_schema::Field> = fields;
    fields.push(arrow_schema::Field::new(
        "geometry",
        arrow_schema::DataType::Binary,
        false,
    ));
    arrays.push(crate::export::parquet::wkb_column(&shapes));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
    Ok((batch, summary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LayerSet, Profile, SiteOptions};
    use arrow_array::{Array, Float64Array, StringArray};
    use arrow_schema::{DataType, Field};

    fn engine() -> Engine {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let layers = LayerSet::from_file(&dir.join("layers.toml"), None).unwrap();
        let profile = Profile::from_file(&dir.join("profile.toml")).unwrap();
        Engine::new(profile, &layers).unwrap()
    }

    #[test]
    fn scores_equal_the_engine_in_any_batching_and_keep_the_input_columns() {
        let engine = engine();
        let lon: Vec<f64> = (0..300).map(|i| -179.5 + 1.19 * f64::from(i)).collect();
        let lat: Vec<f64> = (0..300).map(|i| -89.0 + 0.59 * f64::from(i)).collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, false),
            Field::new("score", DataType::Float64, false),
            Field::new("lon", DataType::Float64, false),
            Field::new("lat", DataType::Float64, false),
        ]));
        let names: StringArray = (0..300).map(|i| Some(format!("s{i}"))).collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(names),
                Arc::new(Float64Array::from(vec![7.0; 300])),
                Arc::new(Float64Array::from(lon.clone())),
                Arc::new(Float64Array::from(lat.clone())),
            ],
        )
        .unwrap();
        let at = crate::sites::arrow::locate(&schema, None, &SiteOptions::default(), "t").unwrap();
        let whole = score_record_batch(&engine, &batch, &at, 0, "t").unwrap();
        assert_eq!(whole.schema().as_ref(), &scored_schema(&engine, &schema));
        // The input's own `score` column is kept; the result's is renamed.
        assert_eq!(whole.schema().field(1).name(), "score");
        let scores = whole.column_by_name("standort_score").unwrap();
        let scores = scores.as_any().downcast_ref::<Float64Array>().unwrap();
        let statuses = whole.column_by_name("status").unwrap();
        let statuses = statuses.as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..300 {
            let e = engine.evaluate(lon[i], lat[i]);
            assert_eq!(statuses.value(i), e.status.to_string());
            match e.score {
                Some(s) => assert!((scores.value(i) - s).abs() <= 5e-7),
                None => assert!(scores.is_null(i)),
            }
        }
        let parts: Vec<RecordBatch> = [(0, 7), (7, 200), (207, 93)]
            .iter()
            .map(|&(o, n)| {
                score_record_batch(&engine, &batch.slice(o, n), &at, o as u64, "t").unwrap()
            })
            .collect();
        let joined = arrow_select::concat::concat_batches(&whole.schema(), &parts).unwrap();
        assert_eq!(joined, whole);
    }
}
