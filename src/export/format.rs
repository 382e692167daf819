//! The format registry: every output format, what it can hold, the feature it needs, and the
//! one place where `--format` and `--out`'s extension are turned into a format.

use super::output::{self, CellsWriter, SitesWriter};
use crate::error::{Error, Result};
use std::path::Path;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text table (the terminal default).
    Table,
    /// CSV: input columns first, then results.
    Csv,
    /// GeoJSON FeatureCollection (RFC 7946) with simplestyle colours.
    GeoJson,
    /// GeoJSON text sequence (RFC 8142: a record separator before each feature), which GDAL
    /// and QGIS recognise as GeoJSONSeq by its content.
    GeoJsonSeq,
    /// Newline-delimited GeoJSON features (`.geojsonl`, `.ndjson`; "GeoJSONL"): one feature
    /// per line, no separators (jq, kepler.gl, tippecanoe, BigQuery read it).
    GeoJsonLines,
    /// One JSON document with the profile, summary and results.
    Json,
    /// GeoPackage through OGR (the `gdal` feature).
    GeoPackage,
    /// FlatGeobuf with a spatial index (pure Rust, no GDAL needed).
    FlatGeobuf,
    /// GeoParquet 1.1 (WKB geometry; pure Rust, no GDAL needed).
    GeoParquet,
    /// Cloud-optimised GeoTIFF of a region's cells (the `gdal` feature).
    GeoTiff,
    /// A PNG map with legend, borders and the top sites (pure Rust).
    Png,
    /// One self-contained HTML page with an interactive map (works offline).
    Html,
}

/// What a command writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    /// Scored sites (`standort score`).
    Sites,
    /// A region's grid cells (`standort region --out`).
    Cells,
    /// A capacity plan's campuses (`standort plan`).
    Plan,
    /// The sovereignty table, one row per country (`standort sovereignty`).
    Countries,
}

impl Product {
    fn command(self) -> &'static str {
        match self {
            Product::Sites => "score",
            Product::Cells => "region",
            Product::Plan => "plan",
            Product::Countries => "sovereignty",
        }
    }
}

/// One entry of the registry.
pub struct Entry {
    /// The format (`None`: a GIS format standort recognises but does not write).
    pub format: Option<Format>,
    /// Its `--format` name.
    pub name: &'static str,
    /// File extensions that mean it (lower case, first the usual one).
    pub extensions: &'static [&'static str],
    /// What it can hold.
    pub products: &'static [Product],
    /// True when it is written through GDAL (the `gdal` cargo feature).
    pub needs_gdal: bool,
    /// Its writer of scored sites (in this build).
    pub sites: Option<SitesWriter>,
    /// Its writer of region cells (in this build).
    pub cells: Option<CellsWriter>,
}

use Product::{Cells, Countries, Plan, Sites};

/// What the terminal table, CSV and JSON documents hold.
const DOCUMENTS: &[Product] = &[Sites, Plan, Countries];

/// Every format. A new format is a variant of [`Format`], one entry here and its writer.
pub const REGISTRY: &[Entry] = &[
    Entry {
        products: DOCUMENTS,
        ..stream(Format::Table, "table", &["txt"], super::write_table)
    },
    Entry {
        products: DOCUMENTS,
        ..stream(Format::Csv, "csv", &["csv"], super::write_csv)
    },
    // Before GeoJSON: `.json` is a JSON document for sites, plans and countries, GeoJSON
    // for cells.
    Entry {
        products: DOCUMENTS,
        ..stream(Format::Json, "json", &["json"], super::write_json)
    },
    Entry {
        cells: Some(output::geojson_cells),
        products: &[Sites, Cells, Plan, Countries],
        ..stream(
            Format::GeoJson,
            "geojson",
            &["geojson", "json"],
            super::write_geojson,
        )
    },
    stream(
        Format::GeoJsonSeq,
        "geojsonseq",
        &["geojsons", "geojsonseq"],
        super::write_geojson_seq,
    ),
    stream(
        Format::GeoJsonLines,
        "geojsonl",
        &["geojsonl", "ndjson"],
        super::write_geojson_lines,
    ),
    gdal(Format::GeoPackage, "gpkg", &["gpkg"], &[Sites, Cells]),
    Entry {
        cells: Some(output::fgb_cells),
        products: &[Sites, Cells],
        ..stream(Format::FlatGeobuf, "fgb", &["fgb"], super::fgb::write_fgb)
    },
    Entry {
        cells: Some(output::parquet_cells),
        products: &[Sites, Cells],
        ..stream(
            Format::GeoParquet,
            "parquet",
            &["parquet", "geoparquet"],
            super::parquet::write_parquet,
        )
    },
    Entry {
        sites: None,
        cells: output::TIFF_CELLS,
        ..gdal(Format::GeoTiff, "tif", &["tif", "tiff"], &[Cells])
    },
    Entry {
        products: &[Sites, Cells, Plan, Countries],
        sites: Some(SitesWriter::Stream(crate::map::pictures::write_sites_png)),
        ..picture(Format::Png, "png", &["png"], crate::map::region::png_cells)
    },
    Entry {
        products: &[Sites, Cells],
        sites: Some(SitesWriter::Stream(crate::map::html::write_sites_html)),
        ..picture(
            Format::Html,
            "html",
            &["html", "htm"],
            crate::map::html::html_cells,
        )
    },
    // GIS formats standort recognises but does not write.
    Entry {
        format: None,
        name: "shp",
        extensions: &["shp"],
        products: &[],
        needs_gdal: true,
        sites: None,
        cells: None,
    },
    Entry {
        format: None,
        name: "kml",
        extensions: &["kml"],
        products: &[],
        needs_gdal: true,
        sites: None,
        cells: None,
    },
];

/// A format that streams scored sites.
const fn stream(
    format: Format,
    name: &'static str,
    extensions: &'static [&'static str],
    write: output::StreamSites,
) -> Entry {
    Entry {
        format: Some(format),
        name,
        extensions,
        products: &[Sites],
        needs_gdal: false,
        sites: Some(SitesWriter::Stream(write)),
        cells: None,
    }
}

/// A picture of region cells (and of sites, plans and countries through their commands).
const fn picture(
    format: Format,
    name: &'static str,
    extensions: &'static [&'static str],
    cells: CellsWriter,
) -> Entry {
    Entry {
        format: Some(format),
        name,
        extensions,
        products: &[Cells],
        needs_gdal: false,
        sites: None,
        cells: Some(cells),
    }
}

/// A format written through an OGR driver (the `gdal` feature).
const fn gdal(
    format: Format,
    name: &'static str,
    extensions: &'static [&'static str],
    products: &'static [Product],
) -> Entry {
    Entry {
        format: Some(format),
        name,
        extensions,
        products,
        needs_gdal: true,
        sites: output::OGR_SITES,
        cells: output::OGR_CELLS,
    }
}

impl Format {
    /// Its registry entry.
    pub fn entry(self) -> &'static Entry {
        REGISTRY
            .iter()
            .find(|e| e.format == Some(self))
            .unwrap_or(&REGISTRY[0])
    }

    /// Parse a `--format` name (`ndjson` is `geojsonl`).
    pub fn from_name(name: &str) -> Option<Format> {
        let name = name.to_ascii_lowercase();
        let name = if name == "ndjson" { "geojsonl" } else { &name };
        REGISTRY.iter().find(|e| e.name == name)?.format
    }

    /// The format a file extension implies for `product` (`.json` is a JSON document for
    /// sites, GeoJSON for cells).
    pub fn from_path(path: &Path, product: Product) -> Option<Format> {
        let e = entry_for_path(path, product)?;
        e.format.filter(|_| e.products.contains(&product))
    }

    /// True when `product` can be written to stdout in this format (not through GDAL).
    pub fn streams(self) -> bool {
        !self.entry().needs_gdal
    }
}

fn extension(path: &Path) -> Option<String> {
    Some(path.extension()?.to_str()?.to_ascii_lowercase())
}

/// The entry an extension means, preferring one that can hold `product`.
fn entry_for_path(path: &Path, product: Product) -> Option<&'static Entry> {
    let ext = extension(path)?;
    let mut matching = REGISTRY
        .iter()
        .filter(|e| e.extensions.contains(&ext.as_str()));
    let all: Vec<&Entry> = matching.by_ref().collect();
    all.iter()
        .find(|e| e.products.contains(&product))
        .or(all.first())
        .copied()
}

/// The output format of a run: from `--format` (`flag`) and `--out`'s extension, which must
/// agree; the terminal table when neither says. Every refusal is a usage error naming the
/// file and what to do instead.
pub fn choose(product: Product, flag: Option<Format>, out: Option<&Path>) -> Result<Format> {
    let command = product.command();
    if let Some(f) = flag {
        if !f.entry().products.contains(&product) {
            return Err(Error::usage(format!(
                "--format {}: `{command}` does not write this format",
                f.entry().name
            )));
        }
    }
    let Some(path) = out else {
        return match flag {
            Some(f) if !f.streams() => Err(Error::usage(format!(
                "--format {}: written through GDAL to a file only; give --out FILE",
                f.entry().name
            ))),
            Some(f) => Ok(f),
            None => Ok(Format::Table),
        };
    };
    let shown = path.display();
    let ext = extension(path).unwrap_or_default();
    let from_out = match entry_for_path(path, product) {
        Some(e) if e.needs_gdal && !cfg!(feature = "gdal") => {
            return Err(Error::usage(format!(
                "--out {shown}: .{ext} output needs the `gdal` feature (cargo build --release --features gdal)"
            )));
        }
        Some(e) if !e.products.contains(&product) || e.format.is_none() => {
            return Err(Error::usage(format!(
                "--out {shown}: .{ext} output is not implemented yet for `{command}` (write {} and convert with ogr2ogr)",
                usual(product)
            )));
        }
        Some(e) => e.format,
        None if flag.is_none() => {
            return Err(Error::usage(format!(
                "--out {shown}: unknown extension; use {}, or give --format",
                usual(product)
            )));
        }
        None => None,
    };
    match (flag, from_out) {
        (Some(a), Some(b)) if a != b => Err(Error::usage(format!(
            "--format {} disagrees with the extension of --out (which means {})",
            a.entry().name,
            b.entry().name
        ))),
        (Some(a), _) => Ok(a),
        (None, Some(b)) => Ok(b),
        (None, None) => Ok(Format::Table),
    }
}

/// The usual extensions of what `product` can be written as in this build.
fn usual(product: Product) -> String {
    let exts: Vec<String> = REGISTRY
        .iter()
        .filter(|e| e.format.is_some() && e.products.contains(&product))
        .filter(|e| cfg!(feature = "gdal") || !e.needs_gdal)
        .flat_map(|e| e.extensions.iter().take(1))
        .map(|x| format!(".{x}"))
        .collect();
    match exts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => exts.join(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_paths_and_names() {
        let p = |s: &str| Format::from_path(Path::new(s), Product::Sites);
        assert_eq!(p("a/b.GeoJSON"), Some(Format::GeoJson));
        assert_eq!(p("x.geojsonl"), Some(Format::GeoJsonLines));
        assert_eq!(p("x.ndjson"), Some(Format::GeoJsonLines));
        assert_eq!(p("x.geojsons"), Some(Format::GeoJsonSeq));
        assert_eq!(p("x.csv"), Some(Format::Csv));
        assert_eq!(p("x.json"), Some(Format::Json));
        assert_eq!(p("x.tif"), None);
        assert_eq!(
            Format::from_path(Path::new("x.json"), Product::Cells),
            Some(Format::GeoJson)
        );
        assert_eq!(Format::from_name("JSON"), Some(Format::Json));
        assert_eq!(Format::from_name("geojsonl"), Some(Format::GeoJsonLines));
        assert_eq!(Format::from_name("geojsonseq"), Some(Format::GeoJsonSeq));
        assert_eq!(Format::from_name("xml"), None);
    }

    #[test]
    fn one_decision_for_flag_and_extension() {
        let sites = |flag: Option<Format>, out: Option<&str>| {
            choose(Product::Sites, flag, out.map(Path::new))
        };
        assert_eq!(sites(None, None).unwrap(), Format::Table);
        assert_eq!(sites(None, Some("a.csv")).unwrap(), Format::Csv);
        assert_eq!(
            sites(Some(Format::Csv), Some("a.out")).unwrap(),
            Format::Csv
        );
        let e = sites(Some(Format::Json), Some("a.csv")).unwrap_err();
        assert!(e.to_string().contains("disagrees"), "{e}");
        let e = sites(None, Some("a.out")).unwrap_err();
        assert!(
            e.to_string().contains("unknown extension; use .txt, .csv"),
            "{e}"
        );
        let e = sites(None, Some("a.tif")).unwrap_err();
        let want = if cfg!(feature = "gdal") {
            "not implemented yet for `score`"
        } else {
            "needs the `gdal` feature"
        };
        assert!(e.to_string().contains(want), "{e}");
        let cells = |out: &str| choose(Product::Cells, None, Some(Path::new(out)));
        assert_eq!(cells("m.geojson").unwrap(), Format::GeoJson);
        assert!(cells("m.csv").is_err());
        assert_eq!(cells("m.tif").is_ok(), cfg!(feature = "gdal"));
    }
}
