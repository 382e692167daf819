//! Nearest-line queries; segments are great-circle arcs.

use crate::geodesy::{self, UnitVector, arc_distance_km, arc_sagitta, km_to_chord, unit_vector};
use rstar::{AABB, PointDistance, RTree, RTreeObject};

#[derive(Debug, Clone, Copy)]
struct SegmentEntry {
    a: UnitVector,
    b: UnitVector,
    item: u32,
    /// Computed once: the R-tree asks for it many times while it is built.
    envelope: AABB<[f64; 3]>,
}

impl SegmentEntry {
    fn new(a: UnitVector, b: UnitVector, item: u32) -> Self {
        // The arc lies within its sagitta of the chord a-b.
        let s = arc_sagitta(a, b) + 1e-12;
        let lo = [a[0].min(b[0]) - s, a[1].min(b[1]) - s, a[2].min(b[2]) - s];
        let hi = [a[0].max(b[0]) + s, a[1].max(b[1]) + s, a[2].max(b[2]) + s];
        SegmentEntry {
            a,
            b,
            item,
            envelope: AABB::from_corners(lo, hi),
        }
    }
}

impl RTreeObject for SegmentEntry {
    type Envelope = AABB<[f64; 3]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

impl PointDistance for SegmentEntry {
    fn distance_2(&self, p: &[f64; 3]) -> f64 {
        let c = km_to_chord(arc_distance_km(*p, self.a, self.b));
        c * c
    }
}

/// Nearest-line queries; every segment is the great-circle arc between its vertices.
#[derive(Debug, Clone)]
pub struct LineIndex {
    tree: RTree<SegmentEntry>,
}

/// Segments longer than this are split so that envelopes stay tight.
const MAX_SEGMENT_DEG: f64 = 2.0;

impl LineIndex {
    /// Index lines; `lines[i]` is one feature's parts, each a list of (lon, lat) vertices.
    pub fn new(lines: &[Vec<Vec<[f64; 2]>>]) -> Self {
        let mut entries = Vec::new();
        for (item, parts) in lines.iter().enumerate() {
            for part in parts {
                if part.len() == 1 {
                    let v = unit_vector(part[0][0], part[0][1]);
                    entries.push(SegmentEntry::new(v, v, item as u32));
                }
                for w in part.windows(2) {
                    let (a, b) = (unit_vector(w[0][0], w[0][1]), unit_vector(w[1][0], w[1][1]));
                    let angle = geodesy::central_angle(a, b).to_degrees();
                    let pieces = (angle / MAX_SEGMENT_DEG).ceil().max(1.0) as usize;
                    let mut prev = a;
                    for k in 1..=pieces {
                        let next = if k == pieces {
                            b
                        } else {
                            slerp(a, b, k as f64 / pieces as f64)
                        };
                        entries.push(SegmentEntry::new(prev, next, item as u32));
                        prev = next;
                    }
                }
            }
        }
        LineIndex {
            tree: RTree::bulk_load(entries),
        }
    }

    /// True when there is no segment.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// The nearest line feature and the great-circle distance to it in km; ties go to the
    /// lower feature index.
    pub fn nearest(&self, lon: f64, lat: f64) -> Option<(usize, f64)> {
        let p = unit_vector(lon, lat);
        let mut iter = self.tree.nearest_neighbor_iter_with_distance_2(&p);
        let (first, d2) = iter.next()?;
        let mut best = first.item;
        for (e, e2) in iter {
            if e2 > d2 {
                break;
            }
            best = best.min(e.item);
        }
        Some((best as usize, arc_distance_km(p, first.a, first.b)))
    }
}

/// Spherical linear interpolation between unit vectors.
fn slerp(a: UnitVector, b: UnitVector, t: f64) -> UnitVector {
    let omega = geodesy::central_angle(a, b);
    if omega < 1e-12 {
        return a;
    }
    let (s, sa, sb) = (omega.sin(), ((1.0 - t) * omega).sin(), (t * omega).sin());
    [
        (sa * a[0] + sb * b[0]) / s,
        (sa * a[1] + sb * b[1]) / s,
        (sa * a[2] + sb * b[2]) / s,
    ]
}
