//! The borders a map draws: country outlines from the `countries` layer and state or
//! province outlines from `admin1`, cut to the map's box.

use crate::error::Result;
use crate::layers::{Geometry, LayerSet};

/// A line in longitude/latitude (unwrapped: longitudes may pass ±180 to stay continuous).
pub type Line = Vec<[f64; 2]>;

/// Borders to draw under and over the results.
#[derive(Debug, Clone, Default)]
pub struct Basemap {
    /// Country outlines.
    pub countries: Vec<Line>,
    /// State and province outlines.
    pub admin1: Vec<Line>,
}

impl Basemap {
    /// The outlines of `countries` and, when the layer set has it, `admin1`, whose boxes
    /// meet `bbox` (`[min_lon, min_lat, max_lon, max_lat]`, `max_lon` may pass 180). A layer
    /// the set lacks is left out; one it has but cannot read is an error.
    pub fn load(layers: &LayerSet, bbox: [f64; 4]) -> Result<Basemap> {
        let mut map = Basemap::default();
        for (name, lines) in [
            ("countries", &mut map.countries),
            ("admin1", &mut map.admin1),
        ] {
            if layers.spec(name).is_none()
                || (layers.is_partial() && !layers.missing_files(name, false).is_empty())
            {
                continue;
            }
            let layer = layers.load(name)?;
            if let Geometry::Polygons(polys) = &layer.geometry {
                for p in polys {
                    for ring in &p.rings {
                        let pts: Line = ring.exterior().coords().map(|c| [c.x, c.y]).collect();
                        lines.extend(shifted_into(&pts, bbox));
                    }
                }
            }
        }
        Ok(map)
    }
}

/// `line`, shifted by a whole turn when that brings it into `bbox`; nothing when it stays
/// outside.
pub fn shifted_into(line: &[[f64; 2]], bbox: [f64; 4]) -> Option<Line> {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for [x, y] in line {
        (x0, y0, x1, y1) = (x0.min(*x), y0.min(*y), x1.max(*x), y1.max(*y));
    }
    if y1 < bbox[1] || y0 > bbox[3] {
        return None;
    }
    [0.0, 360.0, -360.0]
        .into_iter()
        .find(|s| x1 + s >= bbox[0] && x0 + s <= bbox[2])
        .map(|s| line.iter().map(|[x, y]| [x + s, *y]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_across_the_antimeridian_are_shifted_into_the_box() {
        // A box from 170°E to 170°W (unwrapped: 170..190).
        let bbox = [170.0, -20.0, 190.0, -10.0];
        let fiji_east = vec![[-179.0, -17.0], [-178.0, -17.0], [-178.0, -16.0]];
        let got = shifted_into(&fiji_east, bbox).unwrap();
        assert_eq!(got[0], [181.0, -17.0]);
        let west = vec![[175.0, -17.0], [176.0, -16.0]];
        assert_eq!(shifted_into(&west, bbox).unwrap()[0], [175.0, -17.0]);
        let far = vec![[0.0, -17.0], [1.0, -16.0]];
        assert!(shifted_into(&far, bbox).is_none());
        let south = vec![[175.0, -40.0], [176.0, -39.0]];
        assert!(shifted_into(&south, bbox).is_none());
    }
}
