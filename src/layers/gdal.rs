//! Layers through GDAL/OGR (the `gdal` feature): any OGR vector source (Shapefile,
//! GeoPackage, FlatGeobuf, GeoJSONSeq, KML, CSV with WKT, `/vsizip/` paths) and any GDAL
//! raster, reprojected to EPSG:4326 on read.
//!
//! Vector features are transformed with an OGR coordinate transformation using the
//! traditional GIS axis order (longitude, latitude), then handled exactly like GeoJSON
//! features (ring repair, attributes typed per column). Rasters in another CRS keep their
//! grid: each query point is transformed into the raster's CRS and the pixel read there
//! (nothing is warped or resampled).

use super::{
    Attributes, Geometry, LayerKind, LayerSpec, PointFeature, Raster, Value, repair_polygon,
};
use crate::error::{Error, ErrorKind, Result};
use gdal::Dataset;
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::vector::{FieldValue, LayerAccess};
use geo::CoordsIter;
use std::path::Path;

/// GDAL prints warnings to stderr by default; the library never prints, so they are
/// silenced (errors still come back as `Result`s).
fn quiet_gdal() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| gdal::config::set_error_handler(|_class, _no, _msg| {}));
}

fn wgs84() -> Result<SpatialRef> {
    let mut srs =
        SpatialRef::from_epsg(4326).map_err(|e| Error::new(ErrorKind::Io, format!("GDAL: {e}")))?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(srs)
}

fn is_wgs84(srs: &SpatialRef) -> bool {
    srs.auth_name().is_some_and(|n| n == "EPSG") && srs.auth_code().is_ok_and(|c| c == 4326)
}

fn field_value(v: Option<FieldValue>) -> Value {
    match v {
        None => Value::Null,
        Some(FieldValue::IntegerValue(i)) => Value::Num(f64::from(i)),
        Some(FieldValue::Integer64Value(i)) => Value::Num(i as f64),
        Some(FieldValue::RealValue(x)) => Value::Num(x),
        Some(FieldValue::StringValue(s)) => Value::Text(s),
        Some(FieldValue::DateValue(d)) => Value::Text(d.to_string()),
        Some(FieldValue::DateTimeValue(d)) => Value::Text(d.to_string()),
        Some(other) => Value::Text(format!("{other:?}")),
    }
}

fn ring(ls: &geo::LineString<f64>) -> Vec<[f64; 2]> {
    ls.0.iter().map(|c| [c.x, c.y]).collect()
}

fn polygon_rings(p: &geo::Polygon<f64>) -> Vec<Vec<[f64; 2]>> {
    std::iter::once(ring(p.exterior()))
        .chain(p.interiors().iter().map(ring))
        .collect()
}

/// Read an OGR vector layer of the declared kind, reprojected to EPSG:4326.
pub(crate) fn read_vector(
    path: &Path,
    spec: &LayerSpec,
) -> Result<(Geometry, Attributes, Vec<String>)> {
    let source = path.display().to_string();
    let err = |msg: String| Error::at(ErrorKind::Input, source.clone(), msg);
    quiet_gdal();
    let ds = Dataset::open(path).map_err(|e| err(format!("GDAL cannot open it: {e}")))?;
    let mut layer = match &spec.source_layer {
        Some(name) => ds.layer_by_name(name).map_err(|_| {
            let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
            err(format!(
                "has no layer \"{name}\" (layers: {})",
                names.join(", ")
            ))
        })?,
        None => ds.layer(0).map_err(|e| err(format!("has no layer: {e}")))?,
    };
    let transform = match layer.spatial_ref() {
        Some(mut srs) if !is_wgs84(&srs) => {
            srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
            Some(
                CoordTransform::new(&srs, &wgs84()?)
                    .map_err(|e| err(format!("cannot reproject to EPSG:4326: {e}")))?,
            )
        }
        _ => None,
    };
    let (fields, field_idx) = selected_fields(&layer, spec, &source)?;
    let mut shapes = Shapes::default();
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let mut skipped = Vec::new();
    for (n, feature) in layer.features().enumerate() {
        let label = format!("feature {}", feature.fid().map_or(n as u64 + 1, |f| f));
        let Some(geom) = feature.geometry() else {
            skipped.push(label);
            continue;
        };
        let geom = match &transform {
            Some(t) => geom
                .transform(t)
                .map_err(|e| err(format!("{label}: cannot reproject: {e}")))?,
            None => geom.clone(),
        };
        let g = geo::Geometry::<f64>::try_from(&geom).map_err(|e| err(format!("{label}: {e}")))?;
        match shapes.add(&g, spec.kind, rows.len(), &label) {
            Ok(()) => {}
            Err(Bad::Position(e)) => return Err(err(e.message().to_string())),
            Err(Bad::Type(found)) => {
                return Err(err(format!(
                    "{label}: layer \"{}\" is {}, found {found}",
                    spec.name, spec.kind
                )));
            }
        }
        rows.push(
            field_idx
                .iter()
                .map(|&i| field_value(feature.field(i).ok().flatten()))
                .collect(),
        );
    }
    let geometry = match spec.kind {
        LayerKind::Points => Geometry::Points(shapes.points),
        LayerKind::Lines => Geometry::Lines(shapes.lines),
        _ => Geometry::Polygons(shapes.polygons),
    };
    Ok((geometry, Attributes::new(fields, rows), skipped))
}

/// The fields kept (the declared ones, checked, or all) and their OGR field indexes.
fn selected_fields(
    layer: &gdal::vector::Layer<'_>,
    spec: &LayerSpec,
    source: &str,
) -> Result<(Vec<String>, Vec<usize>)> {
    let all_fields: Vec<String> = layer.defn().fields().map(|f| f.name()).collect();
    let fields: Vec<String> = match &spec.fields {
        Some(f) => {
            if let Some(name) = f.iter().find(|name| !all_fields.contains(name)) {
                return Err(Error::at(
                    ErrorKind::Config,
                    source.to_string(),
                    format!(
                        "layer \"{}\" has no field \"{name}\" (fields: {})",
                        spec.name,
                        all_fields.join(", ")
                    ),
                ));
            }
            f.clone()
        }
        None => all_fields.clone(),
    };
    let idx = fields
        .iter()
        .filter_map(|f| all_fields.iter().position(|a| a == f))
        .collect();
    Ok((fields, idx))
}

/// Why a feature's geometry was refused.
enum Bad {
    /// A position out of range.
    Position(Error),
    /// A geometry type the layer's kind does not take (its name).
    Type(&'static str),
}

/// A layer's geometries as they are read.
#[derive(Default)]
struct Shapes {
    points: Vec<PointFeature>,
    lines: Vec<Vec<Vec<[f64; 2]>>>,
    polygons: Vec<crate::layers::Polygon>,
}

impl Shapes {
    /// Add feature `label`'s geometry for attribute row `row`.
    fn add(
        &mut self,
        g: &geo::Geometry<f64>,
        kind: LayerKind,
        row: usize,
        label: &str,
    ) -> std::result::Result<(), Bad> {
        let mut point = |p: &geo::Point<f64>| -> std::result::Result<(), Bad> {
            let (lon, lat) = (p.x(), p.y());
            self.points.push(PointFeature { lon, lat, row });
            Ok(())
        };
        // Every vertex in range, as the native readers require (a huge or NaN coordinate
        // would otherwise reach the ring repair and the indexes).
        for c in g.coords_iter() {
            crate::feature_stream::check_position(&[c.x, c.y], label).map_err(Bad::Position)?;
        }
        match (g, kind) {
            (geo::Geometry::Point(p), LayerKind::Points) => point(p)?,
            (geo::Geometry::MultiPoint(mp), LayerKind::Points) => {
                for p in &mp.0 {
                    point(p)?;
                }
            }
            (geo::Geometry::LineString(l), LayerKind::Lines) => self.lines.push(vec![ring(l)]),
            (geo::Geometry::MultiLineString(ml), LayerKind::Lines) => {
                self.lines.push(ml.0.iter().map(ring).collect())
            }
            (geo::Geometry::Polygon(p), LayerKind::Polygons) => {
                self.polygons.extend(repair_polygon(&polygon_rings(p), row))
            }
            (geo::Geometry::MultiPolygon(mp), LayerKind::Polygons) => {
                for p in &mp.0 {
                    self.polygons.extend(repair_polygon(&polygon_rings(p), row));
                }
            }
            (other, _) => {
                return Err(Bad::Type(match other {
                    geo::Geometry::Point(_) => "Point",
                    geo::Geometry::MultiPoint(_) => "MultiPoint",
                    geo::Geometry::LineString(_) => "LineString",
                    geo::Geometry::MultiLineString(_) => "MultiLineString",
                    geo::Geometry::Polygon(_) => "Polygon",
                    geo::Geometry::MultiPolygon(_) => "MultiPolygon",
                    _ => "another geometry type",
                }));
            }
        }
        Ok(())
    }
}

thread_local! {
    /// Per thread (GDAL transformations are not thread-safe): the last CRS and its transform.
    static TO_CRS: std::cell::RefCell<Option<(String, CoordTransform)>> = const { std::cell::RefCell::new(None) };
}

/// Transform (lon, lat) in EPSG:4326 into the CRS given as WKT; `None` where it cannot be.
pub(crate) fn to_crs(wkt: &str, lon: f64, lat: f64) -> Option<(f64, f64)> {
    TO_CRS.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(w, _)| w != wkt) {
            quiet_gdal();
            let mut target = SpatialRef::from_wkt(wkt).ok()?;
            target.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
            let ct = CoordTransform::new(&wgs84().ok()?, &target).ok()?;
            *slot = Some((wkt.to_string(), ct));
        }
        let (_, ct) = slot.as_ref()?;
        let (mut x, mut y, mut z) = ([lon], [lat], [0.0]);
        ct.transform_coords(&mut x, &mut y, &mut z).ok()?;
        (x[0].is_finite() && y[0].is_finite()).then_some((x[0], y[0]))
    })
}

/// Read band 1 of a GDAL raster; a raster in another CRS than EPSG:4326 keeps its grid and
/// is sampled by transforming each query into its CRS (no resampling).
pub(crate) fn read_raster(path: &Path) -> Result<Raster> {
    let source = path.display().to_string();
    let err = |msg: String| Error::at(ErrorKind::Input, source.clone(), msg);
    quiet_gdal();
    let ds = Dataset::open(path).map_err(|e| err(format!("GDAL cannot open it: {e}")))?;
    let crs = match ds.spatial_ref() {
        Ok(srs) if !is_wgs84(&srs) => Some(
            srs.to_wkt()
                .map_err(|e| err(format!("unreadable CRS: {e}")))?,
        ),
        _ => None,
    };
    let gt = ds
        .geo_transform()
        .map_err(|e| err(format!("no geotransform: {e}")))?;
    if gt[2] != 0.0 || gt[4] != 0.0 || gt[5] >= 0.0 {
        return Err(err("is rotated or not north-up; not supported".into()));
    }
    let band = ds
        .rasterband(1)
        .map_err(|e| err(format!("no band 1: {e}")))?;
    let (w, h) = ds.raster_size();
    let buf = band
        .read_band_as::<f32>()
        .map_err(|e| err(format!("cannot read band 1: {e}")))?;
    let raster = Raster::new(
        w,
        h,
        gt[0],
        gt[3],
        gt[1],
        -gt[5],
        buf.data().to_vec(),
        band.no_data_value(),
    )?;
    Ok(match crs {
        Some(wkt) => raster.in_crs(wkt),
        None => raster,
    })
}
