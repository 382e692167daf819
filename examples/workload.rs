//! A reproducible benchmark workload (seeded): a study area the size of the continental US
//! with grid points clustered around towns, water-basin polygons tiling the area, a
//! land-cost raster, candidate sites, and a profile using all four measures.
//!
//! ```sh
//! cargo run --release --example workload -- target/bench-work          # 100k and 1M sites
//! cargo run --release --example workload -- target/bench-work --small  # 10k sites, coarse raster (tests)
//! cargo run --release --example workload -- target/bench-work --sites-10m  # sites_10m.csv only
//! ```
//!
//! Writes, in the output folder:
//! - `grid_points.csv` — 35,000 points around 300 towns, `capacity_mw` (log-normal)
//! - `basins.geojson` — 16,000 polygons (160 x 100) tiling the area, 52 vertices each, shared
//!   jittered edges, `basin_id` and `bws_score` (0-5)
//! - `land_cost.tif` — float32 GeoTIFF, 0.01 degree, USD per acre, nodata -9999 (~1%)
//! - `sites_100k.csv`, `sites_1m.csv` — uniform random candidate sites `id,lat,lon`
//! - `layers.toml`, `profile.toml` — the layer set and the profile

use rand::{Rng, SeedableRng, rngs::StdRng};
use standort::layers::Raster;
use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;

const BBOX: [f64; 4] = [-125.0, 24.0, -66.0, 50.0];
const COLS: usize = 160;
const ROWS: usize = 100;
const EDGE_POINTS: usize = 12; // interior vertices per edge: 4 + 4 * 12 = 52 per ring

/// Deterministic jitter in [-1, 1] for an edge vertex (shared by both neighbours).
fn jitter(kind: u64, r: usize, c: usize, k: usize) -> f64 {
    let mut x = kind.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (r as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9)
        ^ (c as u64).wrapping_mul(0x94D0_49BB_1331_11EB)
        ^ (k as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    x ^= x >> 31;
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

fn grid_x(c: usize) -> f64 {
    BBOX[0] + (BBOX[2] - BBOX[0]) * c as f64 / COLS as f64
}
fn grid_y(r: usize) -> f64 {
    BBOX[1] + (BBOX[3] - BBOX[1]) * r as f64 / ROWS as f64
}

/// Vertices of the horizontal edge at row line `r` from column line `c` to `c + 1`
/// (excluding end points), west to east.
fn h_edge(r: usize, c: usize) -> Vec<[f64; 2]> {
    let (x0, x1, y) = (grid_x(c), grid_x(c + 1), grid_y(r));
    let amp = if r == 0 || r == ROWS {
        0.0
    } else {
        0.2 * (grid_y(1) - grid_y(0))
    };
    (1..=EDGE_POINTS)
        .map(|k| {
            let t = k as f64 / (EDGE_POINTS + 1) as f64;
            [
                x0 + (x1 - x0) * t,
                y + amp * (std::f64::consts::PI * t).sin() * jitter(1, r, c, k),
            ]
        })
        .collect()
}

/// Vertices of the vertical edge at column line `c` from row line `r` to `r + 1`
/// (excluding end points), south to north.
fn v_edge(r: usize, c: usize) -> Vec<[f64; 2]> {
    let (y0, y1, x) = (grid_y(r), grid_y(r + 1), grid_x(c));
    let amp = if c == 0 || c == COLS {
        0.0
    } else {
        0.2 * (grid_x(1) - grid_x(0))
    };
    (1..=EDGE_POINTS)
        .map(|k| {
            let t = k as f64 / (EDGE_POINTS + 1) as f64;
            [
                x + amp * (std::f64::consts::PI * t).sin() * jitter(2, r, c, k),
                y0 + (y1 - y0) * t,
            ]
        })
        .collect()
}

fn basin_ring(r: usize, c: usize) -> Vec<[f64; 2]> {
    let mut ring = vec![[grid_x(c), grid_y(r)]];
    ring.extend(h_edge(r, c));
    ring.push([grid_x(c + 1), grid_y(r)]);
    ring.extend(v_edge(r, c + 1));
    ring.push([grid_x(c + 1), grid_y(r + 1)]);
    ring.extend(h_edge(r + 1, c).into_iter().rev());
    ring.push([grid_x(c), grid_y(r + 1)]);
    ring.extend(v_edge(r, c).into_iter().rev());
    ring.push([grid_x(c), grid_y(r)]);
    ring
}

fn normal(rng: &mut StdRng) -> f64 {
    // Box-Muller.
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn write_sites(path: &Path, n: usize, seed: u64) -> std::io::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "id,lat,lon")?;
    for i in 0..n {
        let lon: f64 = rng.random_range(BBOX[0]..BBOX[2]);
        let lat: f64 = rng.random_range(BBOX[1]..BBOX[3]);
        writeln!(out, "s{i},{lat:.6},{lon:.6}")?;
    }
    out.flush()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = Path::new(
        args.first()
            .map(String::as_str)
            .unwrap_or("target/bench-work"),
    );
    let small = args.iter().any(|a| a == "--small");
    std::fs::create_dir_all(dir)?;
    if args.iter().any(|a| a == "--sites-10m") {
        // Only the 10-million-site file (the memory benchmark of full runs).
        return Ok(write_sites(&dir.join("sites_10m.csv"), 10_000_000, 3)?);
    }
    let mut rng = StdRng::seed_from_u64(20261129);

    // Towns and grid points.
    let towns: Vec<(f64, f64, f64)> = (0..300)
        .map(|_| {
            (
                rng.random_range(BBOX[0] + 1.0..BBOX[2] - 1.0),
                rng.random_range(BBOX[1] + 1.0..BBOX[3] - 1.0),
                rng.random_range(0.2..1.0),
            )
        })
        .collect();
    let mut out = BufWriter::new(std::fs::File::create(dir.join("grid_points.csv"))?);
    writeln!(out, "point_id,capacity_mw,lat,lon")?;
    let mut n = 0;
    while n < 35_000 {
        let (tx, ty, w) = towns[rng.random_range(0..towns.len())];
        if rng.random::<f64>() > w {
            continue;
        }
        let lon = tx + 0.3 * normal(&mut rng);
        let lat = ty + 0.3 * normal(&mut rng);
        if !(BBOX[0]..BBOX[2]).contains(&lon) || !(BBOX[1]..BBOX[3]).contains(&lat) {
            continue;
        }
        let cap = (3.5 + 1.5 * normal(&mut rng)).exp().clamp(1.0, 4000.0);
        writeln!(out, "p{n},{cap:.1},{lat:.6},{lon:.6}")?;
        n += 1;
    }
    out.flush()?;

    // Basins tiling the area.
    let mut out = BufWriter::new(std::fs::File::create(dir.join("basins.geojson"))?);
    writeln!(out, "{{\"type\":\"FeatureCollection\",\"features\":[")?;
    for r in 0..ROWS {
        for c in 0..COLS {
            let (cx, cy) = (
                (grid_x(c) + grid_x(c + 1)) / 2.0,
                (grid_y(r) + grid_y(r + 1)) / 2.0,
            );
            let bws = (2.6 + 1.8 * (cx / 7.0).sin() * (cy / 4.0).cos() + 0.6 * normal(&mut rng))
                .clamp(0.0, 5.0);
            let mut coords = String::new();
            for (i, p) in basin_ring(r, c).iter().enumerate() {
                if i > 0 {
                    coords.push(',');
                }
                write!(coords, "[{:.6},{:.6}]", p[0], p[1])?;
            }
            let sep = if r == ROWS - 1 && c == COLS - 1 {
                ""
            } else {
                ","
            };
            writeln!(
                out,
                "{{\"type\":\"Feature\",\"properties\":{{\"basin_id\":{},\"bws_score\":{bws:.3}}},\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[{coords}]]}}}}{sep}",
                r * COLS + c
            )?;
        }
    }
    writeln!(out, "]}}")?;
    out.flush()?;

    // Land-cost raster.
    let res = if small { 0.1 } else { 0.01 };
    let (w, h) = (
        ((BBOX[2] - BBOX[0]) / res).round() as usize,
        ((BBOX[3] - BBOX[1]) / res).round() as usize,
    );
    let mut values = Vec::with_capacity(w * h);
    for row in 0..h {
        let lat = BBOX[3] - (row as f64 + 0.5) * res;
        for col in 0..w {
            let lon = BBOX[0] + (col as f64 + 0.5) * res;
            let v = if rng.random::<f64>() < 0.01 {
                -9999.0
            } else {
                1000.0
                    + 9000.0 * (0.5 + 0.5 * (lon / 3.0).sin() * (lat / 2.0).cos())
                    + 300.0 * normal(&mut rng)
            };
            values.push(v as f32);
        }
    }
    Raster::new(w, h, BBOX[0], BBOX[3], res, res, values, Some(-9999.0))?
        .write_geotiff(&dir.join("land_cost.tif"))?;

    if small {
        write_sites(&dir.join("sites_10k.csv"), 10_000, 1)?;
    } else {
        write_sites(&dir.join("sites_100k.csv"), 100_000, 1)?;
        write_sites(&dir.join("sites_1m.csv"), 1_000_000, 2)?;
    }

    std::fs::write(
        dir.join("layers.toml"),
        r#"# Benchmark layers (generated by examples/workload.rs).
[[layer]]
name = "grid"
path = "grid_points.csv"
kind = "points"

[[layer]]
name = "basins"
path = "basins.geojson"
kind = "polygons"

[[layer]]
name = "land"
path = "land_cost.tif"
kind = "raster"
"#,
    )?;
    std::fs::write(
        dir.join("profile.toml"),
        r#"# Benchmark profile: all four measures and a constraint.
name = "bench"
description = "benchmark workload"
unknown = "exclude"

[[criterion]]
id = "grid_distance"
layer = "grid"
measure = { nearest_km = { where = "capacity_mw >= 100" } }
standardise = { linear = { best = 5.0, worst = 150.0 } }
weight = 3

[[criterion]]
id = "grid_capacity"
layer = "grid"
measure = { sum_within_km = { radius_km = 100.0, field = "capacity_mw" } }
unit = "mw"
standardise = { linear = { best = 2000.0, worst = 0.0 } }
weight = 2

[[criterion]]
id = "water_stress"
layer = "basins"
measure = { attribute = "bws_score" }
standardise = { linear = { best = 0.0, worst = 5.0 } }
weight = 3

[[criterion]]
id = "land_cost"
layer = "land"
measure = { raster = {} }
unit = "usd_per_acre"
standardise = { linear = { best = 1000.0, worst = 10000.0 } }
weight = 1

[[constraint]]
criterion = "water_stress"
max = 4.0
reason = "water stress extremely high"
"#,
    )?;
    Ok(())
}
