//! A raster canvas for maps: rectangles, polylines and filled rings (tiny-skia), text in
//! the embedded DejaVu Sans (ab_glyph), and PNG encoding. Coordinates are pixels, origin
//! top left.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use tiny_skia::{
    Color, FillRule, LineCap, LineJoin, Paint, PathBuilder, Pixmap, PremultipliedColorU8, Rect,
    Stroke, StrokeDash, Transform,
};

/// DejaVu Sans, subset (see `assets/README.md`).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");

/// An RGB colour.
pub type Rgb = [u8; 3];

/// Parse `#rrggbb`.
pub fn hex(s: &str) -> Rgb {
    let v = u32::from_str_radix(s.trim_start_matches('#'), 16).unwrap_or(0);
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

/// An opaque picture being drawn.
pub struct Canvas {
    pixmap: Pixmap,
    font: FontRef<'static>,
}

fn paint(rgb: Rgb, alpha: f32) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(Color::from_rgba8(
        rgb[0],
        rgb[1],
        rgb[2],
        (alpha * 255.0) as u8,
    ));
    p.anti_alias = true;
    p
}

impl Canvas {
    /// A `width` × `height` canvas filled with `background`; `None` when the size is zero
    /// or too large to allocate.
    pub fn new(width: u32, height: u32, background: Rgb) -> Option<Canvas> {
        let mut pixmap = Pixmap::new(width, height)?;
        pixmap.fill(Color::from_rgba8(
            background[0],
            background[1],
            background[2],
            255,
        ));
        let font = FontRef::try_from_slice(FONT).ok()?;
        Some(Canvas { pixmap, font })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.pixmap.width()
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.pixmap.height()
    }

    /// Set one pixel (opaque), ignoring pixels outside.
    pub fn set(&mut self, x: i64, y: i64, rgb: Rgb) {
        self.blend(x, y, rgb, 1.0);
    }

    /// Blend `rgb` at `alpha` over one pixel.
    pub fn blend(&mut self, x: i64, y: i64, rgb: Rgb, alpha: f32) {
        let (w, h) = (i64::from(self.width()), i64::from(self.height()));
        if x < 0 || y < 0 || x >= w || y >= h || alpha <= 0.0 {
            return;
        }
        let px = &mut self.pixmap.pixels_mut()[(y * w + x) as usize];
        let a = alpha.min(1.0);
        let mix =
            |old: u8, new: u8| (f32::from(old) * (1.0 - a) + f32::from(new) * a).round() as u8;
        let c = [
            mix(px.red(), rgb[0]),
            mix(px.green(), rgb[1]),
            mix(px.blue(), rgb[2]),
        ];
        if let Some(v) = PremultipliedColorU8::from_rgba(c[0], c[1], c[2], 255) {
            *px = v;
        }
    }

    /// The colour of one pixel.
    pub fn get(&self, x: u32, y: u32) -> Rgb {
        let p = self.pixmap.pixels()[(y * self.width() + x) as usize];
        [p.red(), p.green(), p.blue()]
    }

    /// Fill a rectangle.
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, rgb: Rgb) {
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            self.pixmap
                .fill_rect(r, &paint(rgb, 1.0), Transform::identity(), None);
        }
    }

    /// Stroke a rectangle's outline.
    pub fn frame(&mut self, x: f32, y: f32, w: f32, h: f32, rgb: Rgb, width: f32) {
        let ring = [[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]];
        self.line(&ring, rgb, 1.0, width, false);
    }

    /// Stroke a polyline (`dashed`: short dashes).
    pub fn line(&mut self, pts: &[[f32; 2]], rgb: Rgb, alpha: f32, width: f32, dashed: bool) {
        let Some(path) = path(pts, false) else { return };
        let mut stroke = Stroke {
            width,
            line_cap: LineCap::Round,
            line_join: LineJoin::Round,
            ..Stroke::default()
        };
        if dashed {
            stroke.dash = StrokeDash::new(vec![3.0 * width, 2.5 * width], 0.0);
        }
        self.pixmap.stroke_path(
            &path,
            &paint(rgb, alpha),
            &stroke,
            Transform::identity(),
            None,
        );
    }

    /// Fill closed rings (even-odd).
    pub fn fill_rings(&mut self, rings: &[Vec<[f32; 2]>], rgb: Rgb, alpha: f32) {
        let mut pb = PathBuilder::new();
        for r in rings {
            if let Some((first, rest)) = r.split_first() {
                pb.move_to(first[0], first[1]);
                for p in rest {
                    pb.line_to(p[0], p[1]);
                }
                pb.close();
            }
        }
        if let Some(path) = pb.finish() {
            self.pixmap.fill_path(
                &path,
                &paint(rgb, alpha),
                FillRule::EvenOdd,
                Transform::identity(),
                None,
            );
        }
    }

    /// A filled circle with an outline.
    pub fn circle(&mut self, c: [f32; 2], r: f32, fill: Rgb, outline: Option<(Rgb, f32)>) {
        let Some(path) = PathBuilder::from_circle(c[0], c[1], r) else {
            return;
        };
        let id = Transform::identity();
        self.pixmap
            .fill_path(&path, &paint(fill, 1.0), FillRule::Winding, id, None);
        if let Some((rgb, width)) = outline {
            let stroke = Stroke {
                width,
                ..Stroke::default()
            };
            self.pixmap
                .stroke_path(&path, &paint(rgb, 1.0), &stroke, id, None);
        }
    }

    /// The advance width of `text` at `size` pixels.
    pub fn text_width(&self, text: &str, size: f32) -> f32 {
        let sf = self.font.as_scaled(PxScale::from(size));
        text.chars().map(|c| sf.h_advance(sf.glyph_id(c))).sum()
    }

    /// Draw `text` with its baseline at `y`, starting at `x`; returns the end's x.
    pub fn text(&mut self, x: f32, y: f32, text: &str, size: f32, rgb: Rgb) -> f32 {
        let font = self.font.clone();
        let sf = font.as_scaled(PxScale::from(size));
        let mut pen = x;
        for c in text.chars() {
            let id = sf.glyph_id(c);
            let glyph = id.with_scale_and_position(size, point(pen, y));
            pen += sf.h_advance(id);
            if let Some(g) = font.outline_glyph(glyph) {
                let b = g.px_bounds();
                g.draw(|gx, gy, cov| {
                    let (px, py) = (
                        b.min.x as i64 + i64::from(gx),
                        b.min.y as i64 + i64::from(gy),
                    );
                    self.blend(px, py, rgb, cov);
                });
            }
        }
        pen
    }

    /// Words of `text` in lines no wider than `width` pixels.
    pub fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if self.text_width(&candidate, size) > width && !line.is_empty() {
                lines.push(std::mem::replace(&mut line, word.to_string()));
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// The picture as PNG bytes.
    pub fn png(&self) -> std::io::Result<Vec<u8>> {
        self.pixmap.encode_png().map_err(std::io::Error::other)
    }
}

/// A path through `pts` (closed when `close`); `None` for fewer than two points.
fn path(pts: &[[f32; 2]], close: bool) -> Option<tiny_skia::Path> {
    let (first, rest) = pts.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let mut pb = PathBuilder::new();
    pb.move_to(first[0], first[1]);
    for p in rest {
        pb.line_to(p[0], p[1]);
    }
    if close {
        pb.close();
    }
    pb.finish()
}
