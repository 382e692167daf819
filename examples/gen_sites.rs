//! Generate reproducible random candidate sites as CSV, for timing `standort score`.
//!
//! ```sh
//! cargo run --release --example gen_sites -- 100000 > /tmp/sites.csv
//! cargo run --release --example gen_sites -- 100000 --bbox -125,25,-67,49 --seed 7 > /tmp/us.csv
//! ```

use rand::{Rng, SeedableRng, rngs::StdRng};
use std::io::{BufWriter, Write};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u64 = args
        .first()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let mut bbox = [-125.0, 25.0, -67.0, 49.0]; // continental US
    let mut seed = 42u64;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--bbox" => {
                let v: Vec<f64> = args[i + 1]
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
                bbox = [v[0], v[1], v[2], v[3]];
                i += 2;
            }
            "--seed" => {
                seed = args[i + 1].parse()?;
                i += 2;
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = BufWriter::new(std::io::stdout().lock());
    writeln!(out, "id,lat,lon")?;
    for k in 0..n {
        let lon: f64 = rng.random_range(bbox[0]..bbox[2]);
        let lat: f64 = rng.random_range(bbox[1]..bbox[3]);
        writeln!(out, "s{k},{lat:.6},{lon:.6}")?;
    }
    out.flush()?;
    Ok(())
}
