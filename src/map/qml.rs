//! QGIS layer styles (`.qml`) written beside vector outputs with the same base name, so
//! QGIS applies them when the layer is added: a graduated viridis renderer on `score` in
//! ten classes of 0.1 (through the expression
//! `CASE WHEN "status" = 'excluded' THEN -1 WHEN "score" IS NULL THEN -2 ELSE "score" END`,
//! so excluded cells or sites are grey and those without data light grey), and for top
//! sites a numbered label on `top_rank` (or `rank`).

use crate::export::{EXCLUDED_COLOUR, UNKNOWN_COLOUR, score_colour};
use crate::map::canvas::hex;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where the style of `out` goes: `NAME.qml` beside it, for a regular file (not a device
/// or FIFO) in a vector format QGIS opens.
pub fn sidecar(out: &Path, format: crate::export::Format) -> Option<PathBuf> {
    use crate::export::Format as F;
    let vector = matches!(
        format,
        F::GeoJson
            | F::GeoJsonSeq
            | F::GeoJsonLines
            | F::FlatGeobuf
            | F::GeoParquet
            | F::GeoPackage
            | F::Csv
    );
    let regular = out.metadata().is_ok_and(|m| m.is_file()) || !out.exists();
    (vector && regular).then(|| out.with_extension("qml"))
}

/// The geometry a style is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Geometry {
    /// Points (sites).
    Point,
    /// Polygons (cells, countries).
    Polygon,
}

/// The expression a style classifies.
pub const CLASS_EXPRESSION: &str =
    "CASE WHEN \"status\" = 'excluded' THEN -1 WHEN \"score\" IS NULL THEN -2 ELSE \"score\" END";

/// The classes: (lower, upper, label, `#rrggbb`).
pub fn classes() -> Vec<(f64, f64, String, String)> {
    let mut v = vec![
        (
            -2.5,
            -1.5,
            "no data".to_string(),
            UNKNOWN_COLOUR.to_string(),
        ),
        (
            -1.5,
            -0.5,
            "excluded".to_string(),
            EXCLUDED_COLOUR.to_string(),
        ),
    ];
    for i in 0..10 {
        let (lo, hi) = (f64::from(i) / 10.0, f64::from(i + 1) / 10.0);
        v.push((
            lo,
            hi,
            format!("{lo:.1} – {hi:.1}"),
            score_colour((lo + hi) / 2.0),
        ));
    }
    v
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn symbol(out: &mut String, name: usize, geometry: Geometry, colour: &str) {
    let [r, g, b] = hex(colour);
    let (kind, class) = match geometry {
        Geometry::Point => ("marker", "SimpleMarker"),
        Geometry::Polygon => ("fill", "SimpleFill"),
    };
    let _ = write!(
        out,
        "<symbol type=\"{kind}\" name=\"{name}\" alpha=\"1\" clip_to_extent=\"1\" force_rhr=\"0\">\
         <layer class=\"{class}\" enabled=\"1\" pass=\"0\" locked=\"0\"><Option type=\"Map\">\
         <Option name=\"color\" value=\"{r},{g},{b},255\" type=\"QString\"/>"
    );
    match geometry {
        Geometry::Polygon => out.push_str(
            "<Option name=\"outline_style\" value=\"no\" type=\"QString\"/>\
             <Option name=\"style\" value=\"solid\" type=\"QString\"/>",
        ),
        Geometry::Point => out.push_str(
            "<Option name=\"name\" value=\"circle\" type=\"QString\"/>\
             <Option name=\"size\" value=\"2.4\" type=\"QString\"/>\
             <Option name=\"outline_color\" value=\"50,50,50,255\" type=\"QString\"/>\
             <Option name=\"outline_width\" value=\"0.2\" type=\"QString\"/>",
        ),
    }
    out.push_str("</Option></layer></symbol>");
}

/// A numbered label from the expression `label` (white halo), or nothing.
fn labeling(out: &mut String, label: Option<&str>) {
    let Some(label) = label else { return };
    let _ = write!(
        out,
        "<labeling type=\"simple\"><settings calloutType=\"simple\">\
         <text-style fieldName=\"{}\" isExpression=\"1\" fontSize=\"10\" fontWeight=\"75\" textColor=\"20,20,20,255\">\
         <text-buffer bufferDraw=\"1\" bufferSize=\"1\" bufferColor=\"255,255,255,255\"/></text-style>\
         <placement placement=\"1\" dist=\"1.5\"/><rendering scaleVisibility=\"0\"/></settings></labeling>",
        xml_escape(label)
    );
}

/// Label of a region's top sites.
pub const TOP_RANK_LABEL: &str = "\"top_rank\"";
/// Label of scored sites: the rank of the ten best.
pub const RANK_LABEL: &str = "CASE WHEN \"rank\" <= 10 THEN \"rank\" END";

/// The `.qml` style: graduated viridis on the score for `geometry`, with a label from the
/// expression `label` when given.
pub fn style(geometry: Geometry, label_field: Option<&str>) -> String {
    let mut out = String::from(
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n\
         <qgis version=\"3.28.0\" styleCategories=\"Symbology|Labeling\" labelsEnabled=\"",
    );
    out.push_str(if label_field.is_some() {
        "1\">\n"
    } else {
        "0\">\n"
    });
    let _ = write!(
        out,
        "<renderer-v2 type=\"graduatedSymbol\" attr=\"{}\" graduatedMethod=\"GraduatedColor\" symbollevels=\"0\" enableorderby=\"0\" forceraster=\"0\">\n<ranges>\n",
        xml_escape(CLASS_EXPRESSION)
    );
    let classes = classes();
    for (i, (lo, hi, label, _)) in classes.iter().enumerate() {
        let _ = writeln!(
            out,
            "<range lower=\"{lo}\" upper=\"{hi}\" symbol=\"{i}\" label=\"{}\" render=\"true\"/>",
            xml_escape(label)
        );
    }
    out.push_str("</ranges>\n<symbols>\n");
    for (i, (.., colour)) in classes.iter().enumerate() {
        symbol(&mut out, i, geometry, colour);
        out.push('\n');
    }
    out.push_str("</symbols>\n</renderer-v2>\n");
    labeling(&mut out, label_field);
    out.push_str("\n<layerGeometryType>");
    out.push_str(match geometry {
        Geometry::Point => "0",
        Geometry::Polygon => "2",
    });
    out.push_str("</layerGeometryType>\n</qgis>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_style_is_xml_with_a_graduated_renderer_and_its_breaks() {
        let text = style(Geometry::Polygon, Some(TOP_RANK_LABEL));
        let doc = parse(&text);
        let r = doc
            .descendants()
            .find(|n| n.has_tag_name("renderer-v2"))
            .unwrap();
        assert_eq!(r.attribute("type"), Some("graduatedSymbol"));
        assert_eq!(r.attribute("attr"), Some(CLASS_EXPRESSION));
        let ranges: Vec<(f64, f64)> = r
            .descendants()
            .filter(|n| n.has_tag_name("range"))
            .map(|n| {
                let f = |a| n.attribute(a).unwrap().parse::<f64>().unwrap();
                (f("lower"), f("upper"))
            })
            .collect();
        assert_eq!(ranges.len(), 12);
        // Ten classes of 0.1 from 0 to 1, each starting where the last ended.
        for w in ranges[2..].windows(2) {
            assert!((w[0].1 - w[1].0).abs() < 1e-12);
        }
        assert_eq!((ranges[2].0, ranges[11].1), (0.0, 1.0));
        let symbols = r.descendants().filter(|n| n.has_tag_name("symbol")).count();
        assert_eq!(symbols, 12);
        let label = doc
            .descendants()
            .find(|n| n.has_tag_name("text-style"))
            .unwrap();
        assert_eq!(label.attribute("fieldName"), Some("\"top_rank\""));
        // The top class is viridis yellow-green, the excluded one grey.
        assert!(text.contains(&format!("value=\"{}\"", rgb(&score_colour(0.95)))));
        assert!(text.contains(&format!("value=\"{}\"", rgb(EXCLUDED_COLOUR))));
    }

    /// Parse as QGIS does (the style starts with a DOCTYPE).
    fn parse(text: &str) -> roxmltree::Document<'_> {
        let options = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        roxmltree::Document::parse_with_options(text, options).unwrap()
    }

    fn rgb(c: &str) -> String {
        let [r, g, b] = hex(c);
        format!("{r},{g},{b},255")
    }

    #[test]
    fn points_without_a_label() {
        let text = style(Geometry::Point, None);
        let doc = parse(&text);
        assert!(
            doc.descendants()
                .any(|n| n.attribute("class") == Some("SimpleMarker"))
        );
        assert!(!doc.descendants().any(|n| n.has_tag_name("labeling")));
    }
}
