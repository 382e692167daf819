//! `standort._standort`: the engine behind the `standort` Python package.
//!
//! Arrow in and out through the Arrow C data and stream interfaces (`pyo3-arrow`): the
//! input's columns are passed through without copying, the results are built once in Rust.
//! The GIL is released while layers load and while sites are scored. Every error, from
//! bad input to a closed engine, is raised as `standort.Error` with the library's one-line
//! message. The Python-facing docs live in `python/standort/_standort.pyi`.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::{PySchema, PyTable};
use standort::batch::arrow::{region_cells, score_record_batch, scored_schema};
use standort::export::region::{CellDetail, columns_json, summary_json};
use standort::region::{Region, nice_cell_deg, region_grid};
use standort::sites::arrow::{Position, locate, positions};
use standort::{Engine as Core, LayerSet, Profile, SiteOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pyo3::create_exception!(
    standort,
    Error,
    PyException,
    "Any error of standort: bad input, a missing layer, a closed engine. The message is one line naming the file, table row or column."
);

fn error(e: impl std::fmt::Display) -> PyErr {
    Error::new_err(e.to_string())
}

/// What an open engine holds: the profile and layers (to build a fresh engine for a
/// set-dependent profile, fitted on each call's sites) and the engine itself.
struct Loaded {
    profile: Profile,
    layers: LayerSet,
    engine: Core,
}

impl Loaded {
    /// The engine for a call on `sites`: the shared one, or for a set-dependent profile a
    /// fresh one fitted on them.
    fn fitted(
        &self,
        sites: impl FnOnce() -> standort::Result<Vec<(f64, f64)>>,
    ) -> standort::Result<Fitted<'_>> {
        if !self.engine.needs_fit() {
            return Ok(Fitted::Shared(&self.engine));
        }
        let mut engine = Core::new(self.profile.clone(), &self.layers)?;
        engine.fit(&sites()?);
        Ok(Fitted::Own(Box::new(engine)))
    }
}

enum Fitted<'a> {
    Shared(&'a Core),
    Own(Box<Core>),
}

impl std::ops::Deref for Fitted<'_> {
    type Target = Core;
    fn deref(&self) -> &Core {
        match self {
            Fitted::Shared(e) => e,
            Fitted::Own(e) => e,
        }
    }
}

/// A profile bound to its layers (see the stub file for the Python docs).
#[pyclass(name = "Engine", module = "standort._standort", frozen)]
struct Engine {
    loaded: RwLock<Option<Arc<Loaded>>>,
}

/// A profile from a built-in name or a file (as the CLI's `--profile`).
fn load_profile(arg: &str) -> standort::Result<Profile> {
    let p = Path::new(arg);
    if p.exists() || arg.ends_with(".toml") || arg.contains('/') {
        Profile::from_file(p)
    } else {
        Profile::embedded(arg)
    }
}

fn open(
    profile: &str,
    data_dir: Option<PathBuf>,
    layers: Option<PathBuf>,
    cache: bool,
) -> standort::Result<Loaded> {
    let profile = load_profile(profile)?;
    let mut set = match &layers {
        Some(p) => LayerSet::from_file(p, data_dir.as_deref())?,
        None => LayerSet::default_set(data_dir.as_deref())?,
    };
    if cache {
        if let Some(dir) = standort::layers::LayerCache::default_dir() {
            set = set.with_cache(standort::layers::LayerCache::new(dir));
        }
    }
    let engine = Core::new(profile.clone(), &set)?;
    Ok(Loaded {
        profile,
        layers: set,
        engine,
    })
}

impl Engine {
    fn get(&self) -> PyResult<Arc<Loaded>> {
        let guard = self.loaded.read().map_err(error)?;
        guard
            .clone()
            .ok_or_else(|| Error::new_err("the engine is closed"))
    }
}

/// The batches of any Arrow input (a table, batch or stream), or a standort.Error.
fn read_table(table: &Bound<'_, PyAny>) -> PyResult<(SchemaRef, Vec<RecordBatch>)> {
    let input: AnyRecordBatch = table.extract().map_err(|_| {
        let kind = table
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        Error::new_err(format!(
            "table: expected an Arrow table, record batch or stream (an object with __arrow_c_stream__ or __arrow_c_array__), got {kind}"
        ))
    })?;
    let reader = input.into_reader().map_err(error)?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(format!("table: {e}")))?;
    Ok((schema, batches))
}

/// Score every batch in order, with rows numbered across them.
fn score_all(
    engine: &Core,
    batches: &[RecordBatch],
    at: &Position,
) -> standort::Result<Vec<RecordBatch>> {
    let mut first = 0u64;
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        out.push(score_record_batch(engine, b, at, first, "table")?);
        first += b.num_rows() as u64;
    }
    Ok(out)
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (profile = "ai-campus", data_dir = None, layers = None, cache = true))]
    fn new(
        py: Python<'_>,
        profile: &str,
        data_dir: Option<PathBuf>,
        layers: Option<PathBuf>,
        cache: bool,
    ) -> PyResult<Self> {
        let profile = profile.to_string();
        let loaded = py
            .detach(move || open(&profile, data_dir, layers, cache))
            .map_err(error)?;
        Ok(Engine {
            loaded: RwLock::new(Some(Arc::new(loaded))),
        })
    }

    /// The profile's name.
    #[getter]
    fn profile(&self) -> PyResult<String> {
        Ok(self.get()?.profile.name.clone())
    }

    /// The criteria's ids, in profile order.
    #[getter]
    fn criteria(&self) -> PyResult<Vec<String>> {
        let l = self.get()?;
        Ok(l.profile
            .criteria
            .iter()
            .map(|c| c.id().to_string())
            .collect())
    }

    /// True when a site's score depends on the other sites scored with it.
    #[getter]
    fn set_dependent(&self) -> PyResult<bool> {
        Ok(self.get()?.engine.needs_fit())
    }

    /// Warnings about the layers' data, one line each.
    #[getter]
    fn warnings(&self) -> PyResult<Vec<String>> {
        Ok(self.get()?.engine.warnings())
    }

    /// What each result column means, as JSON text.
    fn _columns_json(&self) -> PyResult<String> {
        Ok(columns_json(&self.get()?.engine).to_string())
    }

    /// The schema `score` gives a table of schema `schema`.
    fn schema(&self, py: Python<'_>, schema: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let l = self.get()?;
        let schema: PySchema = schema.extract().map_err(|_| {
            Error::new_err("schema: expected an Arrow schema (an object with __arrow_c_schema__)")
        })?;
        let out = PySchema::new(Arc::new(scored_schema(&l.engine, &schema.into_inner())));
        Ok(out.into_pyarrow(py)?.unbind())
    }

    #[pyo3(signature = (table, *, lon = None, lat = None))]
    fn score(
        &self,
        py: Python<'_>,
        table: &Bound<'_, PyAny>,
        lon: Option<String>,
        lat: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let l = self.get()?;
        let (schema, batches) = read_table(table)?;
        let options = SiteOptions {
            lon,
            lat,
            ..SiteOptions::default()
        };
        let geo = schema.metadata().get("geo").cloned();
        let at = locate(&schema, geo.as_deref(), &options, "table").map_err(error)?;
        let out = py
            .detach(|| {
                let engine = l.fitted(|| {
                    let mut all = Vec::new();
                    let mut first = 0u64;
                    for b in &batches {
                        let (x, y) = positions(b, &at, first, "table")?;
                        all.extend(x.into_iter().zip(y));
                        first += b.num_rows() as u64;
                    }
                    Ok(all)
                })?;
                score_all(&engine, &batches, &at)
            })
            .map_err(error)?;
        let out_schema = Arc::new(scored_schema(&l.engine, &schema));
        let table = PyTable::try_new(out, out_schema)?;
        Ok(table.into_pyarrow(py)?.unbind())
    }

    #[pyo3(signature = (query, *, bbox = None, cell = None, top = 10, min_spacing_km = 50.0, sub_scores = false))]
    #[allow(clippy::too_many_arguments)]
    fn _region(
        &self,
        py: Python<'_>,
        query: Option<&str>,
        bbox: Option<[f64; 4]>,
        cell: Option<f64>,
        top: usize,
        min_spacing_km: f64,
        sub_scores: bool,
    ) -> PyResult<(Py<PyAny>, String)> {
        let l = self.get()?;
        if let Some(c) = cell.filter(|c| !(c.is_finite() && *c > 0.0)) {
            return Err(Error::new_err(format!(
                "cell {c}: give a cell size in degrees above 0"
            )));
        }
        let region = match (query, bbox) {
            (Some(q), None) => Region::resolve(q, &l.layers),
            (None, Some(b)) => Region::from_bbox(b),
            _ => Err(standort::Error::usage("give either a query or a bbox")),
        }
        .map_err(error)?;
        let cell_deg = cell.unwrap_or_else(|| nice_cell_deg(region.area_deg2));
        let (batch, summary) = py
            .detach(|| region_table(&l, &region, cell_deg, top, min_spacing_km, sub_scores))
            .map_err(error)?;
        let schema = batch.schema();
        let table = PyTable::try_new(vec![batch], schema)?;
        Ok((table.into_pyarrow(py)?.unbind(), summary))
    }

    /// Release the engine's layers; any later call raises `standort.Error`.
    fn close(&self) -> PyResult<()> {
        *self.loaded.write().map_err(error)? = None;
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close()?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        match self.get() {
            Ok(l) => format!(
                "standort.Engine(profile={:?}, criteria={})",
                l.profile.name,
                l.profile.criteria.len()
            ),
            Err(_) => "standort.Engine(closed)".to_string(),
        }
    }
}

/// Largest grid a region call builds (as the CLI).
const MAX_GRID_CELLS: f64 = 50_000_000.0;

/// A region's cells as a record batch and its summary as JSON text.
fn region_table(
    l: &Loaded,
    region: &Region,
    cell_deg: f64,
    top: usize,
    min_spacing_km: f64,
    sub_scores: bool,
) -> standort::Result<(RecordBatch, String)> {
    let [x0, y0, x1, y1] = region.bbox;
    let grid_cells = ((x1 - x0) / cell_deg).ceil() * ((y1 - y0) / cell_deg).ceil();
    if grid_cells > MAX_GRID_CELLS {
        return Err(standort::Error::usage(format!(
            "cell {cell_deg}: {} would need a grid of {grid_cells:.0} cells (at most 50,000,000); use a larger cell",
            region.name
        )));
    }
    let grid = region_grid(region, cell_deg);
    if grid.cells.is_empty() {
        return Err(standort::Error::usage(format!(
            "no cell of {cell_deg} degrees has its centre inside {}; use a smaller cell",
            region.name
        )));
    }
    let engine = l.fitted(|| Ok(grid.cells.iter().map(|c| (c.lon(), c.lat())).collect()))?;
    let detail = CellDetail {
        sub_scores,
        simplestyle: false,
    };
    let (batch, summary) = region_cells(&engine, &grid.cells, top, min_spacing_km, detail)?;
    let summary = standort::region::RegionSummary {
        left_out: grid.left_out,
        ..summary
    };
    Ok((batch, summary_json(&engine, region, &summary).to_string()))
}

/// The module.
#[pymodule]
fn _standort(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add("Error", m.py().get_type::<Error>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
