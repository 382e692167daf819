//! Spatial order for a batch of sites: neighbouring queries then touch the same index pages.

use crate::sites::SiteChunk;
use rayon::prelude::*;

/// Interleave the bits of two 16-bit grid coordinates (a Z-order / Morton key).
pub(super) fn morton(x: u32, y: u32) -> u32 {
    fn spread(mut v: u32) -> u32 {
        v &= 0xFFFF;
        v = (v | (v << 8)) & 0x00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333;
        (v | (v << 1)) & 0x5555_5555
    }
    spread(x) | (spread(y) << 1)
}

/// Cells per side of the grid [`spatial_order`] buckets a batch into (256: measured as fast
/// as 128, 512 and 1024 on the benchmark, with 16-bit bucket keys).
pub(super) const ORDER_GRID: usize = 256;

/// The bounding box `[min_lon, min_lat, max_lon, max_lat]` of a batch's sites (planar).
fn batch_bbox(chunks: &[SiteChunk]) -> [f64; 4] {
    let bbox = |c: &SiteChunk| {
        c.lon.iter().zip(&c.lat).fold(
            [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
            |b, (&lon, &lat)| [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)],
        )
    };
    chunks.par_iter().map(bbox).reduce(
        || [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
        |a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        },
    )
}

/// The positions of a batch's sites (lon, lat, position in the batch) in spatial order, into
/// `points`: bucketed into an [`ORDER_GRID`]² grid over the batch's bounding box, buckets in
/// Z-order, sites in input order within a bucket. A counting sort, in parallel (bucket keys
/// per chunk; then every part of the output, a run of buckets, is filled by one task that
/// scans all keys), with no comparisons: neighbouring queries then touch the same index
/// pages and raster rows.
pub(super) fn spatial_order(chunks: &[SiteChunk], total: usize, points: &mut Vec<(f64, f64, u32)>) {
    let [x0, y0, x1, y1] = batch_bbox(chunks);
    let cells = ORDER_GRID as f64;
    let (sx, sy) = (cells / (x1 - x0).max(1e-9), cells / (y1 - y0).max(1e-9));
    let last = ORDER_GRID as u32 - 1;
    let keys: Vec<Vec<u16>> = chunks
        .par_iter()
        .map(|c| {
            c.lon
                .iter()
                .zip(&c.lat)
                .map(|(&lon, &lat)| {
                    // Non-negative, so truncation is the floor; the far edges go to the last
                    // cell.
                    let x = (((lon - x0) * sx) as u32).min(last);
                    let y = (((lat - y0) * sy) as u32).min(last);
                    morton(x, y) as u16
                })
                .collect()
        })
        .collect();
    let mut start = vec![0u32; ORDER_GRID * ORDER_GRID + 1];
    for &k in keys.iter().flatten() {
        start[k as usize + 1] += 1;
    }
    for k in 1..start.len() {
        start[k] += start[k - 1];
    }
    points.clear();
    points.resize(total, (0.0, 0.0, 0));
    // Split the buckets into parts of about equal numbers of sites; each part owns its slice
    // of the output.
    let parts = (rayon::current_num_threads() * 2).clamp(1, 64);
    let mut bounds = vec![0usize];
    for p in 1..parts {
        // The first bucket boundary with at least p/parts of the sites before it.
        let b = start.partition_point(|&s| (s as usize) < total * p / parts);
        bounds.push(b.min(ORDER_GRID * ORDER_GRID));
    }
    bounds.push(ORDER_GRID * ORDER_GRID);
    bounds.dedup();
    let mut slices = Vec::with_capacity(bounds.len());
    let mut rest: &mut [(f64, f64, u32)] = points;
    for w in bounds.windows(2) {
        let len = (start[w[1]] - start[w[0]]) as usize;
        let (head, tail) = rest.split_at_mut(len);
        slices.push((w[0], w[1], head));
        rest = tail;
    }
    slices.into_par_iter().for_each(|(b0, b1, out)| {
        let base = start[b0];
        let mut fill: Vec<u32> = start[b0..b1].iter().map(|s| s - base).collect();
        let mut pos = 0u32;
        for (c, ks) in chunks.iter().zip(&keys) {
            for (i, &k) in ks.iter().enumerate() {
                let k = k as usize;
                if k >= b0 && k < b1 {
                    let slot = &mut fill[k - b0];
                    out[*slot as usize] = (c.lon[i], c.lat[i], pos + i as u32);
                    *slot += 1;
                }
            }
            pos += ks.len() as u32;
        }
    });
}
