//! PNG maps in pure Rust: an equirectangular map (x stretched by the cosine of the middle
//! latitude, so shapes keep their aspect there) of cells, dots or areas coloured by the
//! viridis ramp, with country and admin-1 borders, the top sites numbered, a title, a
//! legend (ramp, excluded hatch with the main reasons, no-data grey), a scale bar and the
//! data attribution.
//!
//! A [`Picture`] says what to draw; [`render`] lays it out and encodes the PNG.

use super::MapOptions;
use super::canvas::{Canvas, Rgb, hex};
use crate::error::{Error, ErrorKind, Result};
use crate::export::{EXCLUDED_COLOUR, UNKNOWN_COLOUR, score_colour};
use crate::geodesy::EARTH_RADIUS_KM;

/// How one mark is coloured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tone {
    /// A position on the ramp, 0..1.
    Ramp(f64),
    /// Excluded by a constraint (hatched grey).
    Excluded,
    /// No data (light grey).
    Unknown,
}

/// What a picture shows.
#[derive(Debug, Clone)]
pub enum Marks {
    /// Grid cells: `[min_lon, min_lat, max_lon, max_lat]` each.
    Cells(Vec<([f64; 4], Tone)>),
    /// Dots at (lon, lat), with a radius in pixels (`None`: by their number).
    Dots(Vec<([f64; 2], Tone, Option<f32>)>),
    /// Areas: closed rings in lon/lat.
    Areas(Vec<(Vec<Vec<[f64; 2]>>, Tone)>),
}

/// The legend's content.
#[derive(Debug, Clone, Default)]
pub struct Legend {
    /// Heading of the ramp ("Score").
    pub ramp_title: String,
    /// Labels of the ramp's bottom (0) and top (1) ends.
    pub ramp_ends: (String, String),
    /// Labels at 0.25, 0.5, 0.75 (may be empty).
    pub ramp_marks: Vec<String>,
    /// Label of the excluded hatch and the main reasons under it (empty: no excluded marks).
    pub excluded: Vec<String>,
    /// Label of the no-data grey (empty: none).
    pub unknown: String,
    /// Lines listing the numbered sites.
    pub numbered: Vec<String>,
}

/// A map to draw.
#[derive(Debug, Clone)]
pub struct Picture {
    /// Title (the region and the profile).
    pub title: String,
    /// Second line under the title.
    pub subtitle: String,
    /// The box to show, `[min_lon, min_lat, max_lon, max_lat]` (`max_lon` may pass 180).
    pub bbox: [f64; 4],
    /// The marks.
    pub marks: Marks,
    /// Numbered points drawn on top: (number, lon, lat).
    pub numbered: Vec<(usize, f64, f64)>,
    /// The legend.
    pub legend: Legend,
    /// Data attribution, one entry per source.
    pub attribution: Vec<String>,
}

const MARGIN: f32 = 16.0;
const TITLE_H: f32 = 62.0;
const INK: Rgb = [0x22, 0x22, 0x22];
const MUTED: Rgb = [0x66, 0x66, 0x66];
const SEA: Rgb = [0xe6, 0xee, 0xf3];
const LAND: Rgb = [0xf4, 0xf2, 0xec];
/// Narrowest and widest PNG, in pixels.
pub const WIDTH_RANGE_PX: (u32, u32) = (320, 8000);

/// Maps lon/lat to pixels inside the map's area.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    /// The box shown (padded).
    pub bbox: [f64; 4],
    /// The map area's left, top, width and height in pixels.
    pub area: [f32; 4],
}

impl Frame {
    /// The pixel of (lon, lat); the longitude is taken in the turn nearest the box.
    pub fn px(&self, lon: f64, lat: f64) -> [f32; 2] {
        self.px_shifted(lon + self.turn(lon), lat)
    }

    /// The whole turns (a multiple of 360) that bring `lon` nearest the box's middle.
    fn turn(&self, lon: f64) -> f64 {
        let mid = (self.bbox[0] + self.bbox[2]) / 2.0;
        360.0 * ((mid - lon) / 360.0).round()
    }

    /// The pixels of a line or ring, shifted by whole turns as one piece (so that a ring
    /// across the antimeridian stays whole).
    pub fn px_line(&self, line: &[[f64; 2]]) -> Vec<[f32; 2]> {
        let (lo, hi) = line
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p[0]), b.max(p[0])));
        let shift = self.turn((lo + hi) / 2.0);
        line.iter()
            .map(|[x, y]| self.px_shifted(x + shift, *y))
            .collect()
    }

    fn px_shifted(&self, lon: f64, lat: f64) -> [f32; 2] {
        let [x0, y0, x1, y1] = self.bbox;
        let [ax, ay, aw, ah] = self.area;
        [
            ax + ((lon - x0) / (x1 - x0)) as f32 * aw,
            ay + ((y1 - lat) / (y1 - y0)) as f32 * ah,
        ]
    }
}

/// The layout of a picture `width` pixels wide: the map frame and the legend's left edge.
pub fn layout(width: u32, bbox: [f64; 4]) -> (Frame, f32) {
    let w = width as f32;
    let panel_w = (w * 0.27).clamp(190.0, 330.0);
    let map_w = w - panel_w - 3.0 * MARGIN;
    let [x0, y0, x1, y1] = pad(bbox);
    let mid_lat = ((y0 + y1) / 2.0).to_radians();
    let aspect = ((y1 - y0) / ((x1 - x0) * mid_lat.cos().max(0.05))) as f32;
    let mut map_h = map_w * aspect;
    let mut map_w2 = map_w;
    if map_h > 1.5 * map_w {
        map_h = 1.5 * map_w;
        map_w2 = map_h / aspect;
    }
    let map_h = map_h.max(120.0);
    let area = [MARGIN + (map_w - map_w2) / 2.0, TITLE_H, map_w2, map_h];
    let frame = Frame {
        bbox: [x0, y0, x1, y1],
        area,
    };
    (frame, 2.0 * MARGIN + map_w)
}

/// `bbox` with 4% of room on each side, at least 0.05°, within the poles.
fn pad(b: [f64; 4]) -> [f64; 4] {
    let dx = ((b[2] - b[0]) * 0.04).max(0.05);
    let dy = ((b[3] - b[1]) * 0.04).max(0.05);
    [
        b[0] - dx,
        (b[1] - dy).max(-90.0),
        b[2] + dx,
        (b[3] + dy).min(90.0),
    ]
}

/// Check a `--width`.
pub fn check_width(width: u32) -> Result<()> {
    let (lo, hi) = WIDTH_RANGE_PX;
    if width < lo || width > hi {
        return Err(Error::usage(format!(
            "--width {width}: a PNG map is {lo} to {hi} pixels wide"
        )));
    }
    Ok(())
}

/// Draw `p` as a PNG.
pub fn render(p: &Picture, opts: &MapOptions) -> Result<Vec<u8>> {
    check_width(opts.width_px)?;
    let no_canvas = || Error::new(ErrorKind::Io, "cannot allocate the picture");
    let (frame, panel_x) = layout(opts.width_px, p.bbox);
    // Everything above the attribution: the map with its scale bar, or the legend.
    let body = TITLE_H + (frame.area[3] + 48.0).max(legend_height(&p.legend));
    let credit = format!("Data: {}", p.attribution.join(" · "));
    let width = opts.width_px as f32 - 2.0 * MARGIN;
    let lines = Canvas::new(1, 1, [255; 3])
        .ok_or_else(no_canvas)?
        .wrap(&credit, 10.5, width);
    let height = body + 13.0 * lines.len() as f32 + 12.0;
    let mut c =
        Canvas::new(opts.width_px, height.ceil() as u32, [255, 255, 255]).ok_or_else(no_canvas)?;
    draw_map(&mut c, &frame, p, opts);
    draw_title(&mut c, p);
    draw_legend(&mut c, panel_x, p);
    draw_scale_bar(&mut c, &frame, frame.area[1] + frame.area[3] + 14.0);
    for (i, line) in lines.iter().enumerate() {
        c.text(MARGIN, body + 13.0 * i as f32, line, 10.5, MUTED);
    }
    c.png()
        .map_err(|e| Error::new(ErrorKind::Io, format!("PNG: {e}")))
}

/// The map area: sea, land, marks, borders, numbered sites, a frame.
fn draw_map(c: &mut Canvas, f: &Frame, p: &Picture, opts: &MapOptions) {
    let [ax, ay, aw, ah] = f.area;
    let mut map = match Canvas::new(aw.ceil() as u32, ah.ceil() as u32, SEA) {
        Some(m) => m,
        None => return,
    };
    let local = Frame {
        area: [0.0, 0.0, aw, ah],
        ..*f
    };
    let project = |line: &Vec<[f64; 2]>| local.px_line(line);
    let land: Vec<Vec<[f32; 2]>> = opts.basemap.countries.iter().map(project).collect();
    map.fill_rings(&land, LAND, 1.0);
    draw_marks(&mut map, &local, &p.marks);
    // States and provinces only where they can be told apart (a view under 60° wide).
    if f.bbox[2] - f.bbox[0] <= 60.0 {
        for l in &opts.basemap.admin1 {
            map.line(&project(l), [0x55, 0x55, 0x55], 0.45, 0.7, true);
        }
    }
    for l in &land {
        map.line(l, [0x33, 0x33, 0x33], 0.9, 1.0, false);
    }
    // Over cells, a number sits on its cell; beside a dot, so that the dot shows.
    let beside = matches!(p.marks, Marks::Dots(_));
    for (n, lon, lat) in &p.numbered {
        let mut at = local.px(*lon, *lat);
        if beside {
            let label = [at[0] + 13.0, at[1] - 13.0];
            map.line(&[[at[0] + 4.0, at[1] - 4.0], label], INK, 1.0, 1.0, false);
            at = label;
        }
        map.circle(at, 9.0, [255, 255, 255], Some((INK, 1.5)));
        let label = n.to_string();
        let tw = map.text_width(&label, 11.0);
        map.text(at[0] - tw / 2.0, at[1] + 4.0, &label, 11.0, INK);
    }
    for y in 0..map.height() {
        for x in 0..map.width() {
            c.set(
                i64::from(x) + ax as i64,
                i64::from(y) + ay as i64,
                map.get(x, y),
            );
        }
    }
    c.frame(ax, ay, aw, ah, [0x99, 0x99, 0x99], 1.0);
}

/// The colour of a tone at pixel (x, y) (excluded marks are hatched).
fn tone_rgb(t: Tone, x: i64, y: i64) -> Rgb {
    match t {
        Tone::Ramp(v) => hex(&score_colour(v)),
        Tone::Excluded if (x + y).rem_euclid(6) < 2 => [0x6e, 0x6e, 0x6e],
        Tone::Excluded => hex(EXCLUDED_COLOUR),
        Tone::Unknown => hex(UNKNOWN_COLOUR),
    }
}

fn draw_marks(map: &mut Canvas, f: &Frame, marks: &Marks) {
    match marks {
        Marks::Cells(cells) => {
            for (r, t) in cells {
                let a = f.px(r[0], r[3]);
                let b = f.px(r[2], r[1]);
                let (x0, y0) = (a[0].round() as i64, a[1].round() as i64);
                let (x1, y1) = (
                    (b[0].round() as i64).max(x0 + 1),
                    (b[1].round() as i64).max(y0 + 1),
                );
                for y in y0..y1 {
                    for x in x0..x1 {
                        map.set(x, y, tone_rgb(*t, x, y));
                    }
                }
            }
        }
        Marks::Dots(dots) => {
            let auto = match dots.len() {
                0..=500 => 5.0,
                501..=5000 => 3.5,
                5001..=50_000 => 2.0,
                _ => 1.2,
            };
            for (at, t, r) in dots {
                let px = f.px(at[0], at[1]);
                let rgb = tone_rgb(*t, 1, 1);
                let outline = (dots.len() <= 5000).then_some(([0x33, 0x33, 0x33], 0.6));
                map.circle(px, r.unwrap_or(auto), rgb, outline);
            }
        }
        Marks::Areas(areas) => {
            for (rings, t) in areas {
                let px: Vec<Vec<[f32; 2]>> = rings.iter().map(|r| f.px_line(r)).collect();
                map.fill_rings(&px, tone_rgb(*t, 0, 2), 1.0);
            }
        }
    }
}

fn draw_title(c: &mut Canvas, p: &Picture) {
    c.text(MARGIN, 30.0, &p.title, 21.0, INK);
    c.text(MARGIN, 50.0, &p.subtitle, 13.0, MUTED);
}

/// About how tall a legend is, in pixels (long reasons wrap onto a second line).
pub fn legend_height(l: &Legend) -> f32 {
    let excluded = if l.excluded.is_empty() {
        0.0
    } else {
        6.0 + 17.0 + 26.0 * (l.excluded.len() - 1) as f32
    };
    let unknown = if l.unknown.is_empty() { 0.0 } else { 22.0 };
    250.0 + excluded + unknown + 42.0 + 15.0 * l.numbered.len() as f32
}

/// The legend's ramp (left, top, width, height) in a legend starting at `panel_x`: its
/// top row is the colour of 1, its bottom row that of 0.
pub fn ramp_box(panel_x: f32) -> [f32; 4] {
    [panel_x, TITLE_H + 24.0, 18.0, 180.0]
}

/// The legend: the ramp with its labels, the excluded and no-data swatches, the numbered
/// sites.
fn draw_legend(c: &mut Canvas, x: f32, p: &Picture) {
    let l = &p.legend;
    c.text(x, TITLE_H + 14.0, &l.ramp_title, 14.0, INK);
    let [_, mut y, bar_w, bar_h] = ramp_box(x);
    for i in 0..bar_h as i64 {
        let v = 1.0 - i as f64 / (bar_h as f64 - 1.0);
        c.rect(x, y + i as f32, bar_w, 1.0, hex(&score_colour(v)));
    }
    c.frame(x, y, bar_w, bar_h, [0x88, 0x88, 0x88], 0.8);
    let mut labels = vec![(1.0f32, l.ramp_ends.1.as_str())];
    let n = l.ramp_marks.len() as f32;
    for (i, m) in l.ramp_marks.iter().enumerate() {
        labels.push((1.0 - (i as f32 + 1.0) / (n + 1.0), m.as_str()));
    }
    labels.push((0.0, l.ramp_ends.0.as_str()));
    for (v, label) in labels {
        let ty = y + (1.0 - v) * bar_h;
        c.rect(x + bar_w, ty - 0.5, 5.0, 1.0, MUTED);
        c.text(x + bar_w + 8.0, ty + 4.0, label, 11.5, INK);
    }
    y += bar_h + 28.0;
    let width = c.width() as f32 - x - MARGIN;
    y = legend_swatches(c, x, y, width, l);
    for line in &l.numbered {
        c.text(x, y, line, 11.0, INK);
        y += 15.0;
    }
}

/// The excluded and no-data swatches and their labels; returns the next line's y.
fn legend_swatches(c: &mut Canvas, x: f32, mut y: f32, width: f32, l: &Legend) -> f32 {
    let swatch = |c: &mut Canvas, y: f32, t: Tone| {
        for yy in 0..14 {
            for xx in 0..18 {
                let (px, py) = (x as i64 + xx, (y - 11.0) as i64 + yy);
                c.set(px, py, tone_rgb(t, px, py));
            }
        }
    };
    if let Some((head, reasons)) = l.excluded.split_first() {
        swatch(c, y, Tone::Excluded);
        c.text(x + 26.0, y, head, 12.0, INK);
        y += 17.0;
        for r in reasons {
            for line in c.wrap(r, 10.5, width - 26.0) {
                c.text(x + 26.0, y, &line, 10.5, MUTED);
                y += 13.0;
            }
        }
        y += 6.0;
    }
    if !l.unknown.is_empty() {
        swatch(c, y, Tone::Unknown);
        c.text(x + 26.0, y, &l.unknown, 12.0, INK);
        y += 22.0;
    }
    c.line(
        &[[x, y - 4.0], [x + 18.0, y - 4.0]],
        [0x33; 3],
        1.0,
        1.0,
        false,
    );
    c.text(x + 26.0, y, "country border", 11.0, INK);
    y += 16.0;
    let dash = [[x, y - 4.0], [x + 18.0, y - 4.0]];
    c.line(&dash, [0x55; 3], 0.8, 0.7, true);
    c.text(x + 26.0, y, "state / province", 11.0, INK);
    y + 26.0
}

/// A scale bar of a round length under the map's left corner, true at the middle latitude.
fn draw_scale_bar(c: &mut Canvas, f: &Frame, y: f32) {
    let [x0, y0, x1, y1] = f.bbox;
    let km_per_px = (x1 - x0).to_radians() * EARTH_RADIUS_KM * ((y0 + y1) / 2.0).to_radians().cos()
        / f64::from(f.area[2]);
    let km = nice_length(km_per_px * 160.0);
    let px = (km / km_per_px) as f32;
    let x = f.area[0];
    c.rect(x, y, px, 4.0, INK);
    c.rect(x, y - 4.0, 1.5, 8.0, INK);
    c.rect(x + px - 1.5, y - 4.0, 1.5, 8.0, INK);
    let label = format!(
        "{} km (at {:.0}° latitude; equirectangular)",
        crate::text::format_number(km),
        (y0 + y1) / 2.0
    );
    c.text(x, y + 18.0, &label, 11.0, MUTED);
}

/// The largest 1, 2 or 5 × 10ⁿ not above `km`.
pub fn nice_length(km: f64) -> f64 {
    let p = 10f64.powf(km.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * p)
        .find(|v| *v <= km)
        .unwrap_or(p)
}
