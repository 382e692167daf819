//! Every reader fuzzed with seeded byte-level mutations of seed inputs from tests/fixtures:
//! each mutated input is read, or refused with an error — never a panic, an abort or a hang.
//! (cargo-fuzz needs a nightly toolchain; this stable loop runs in CI with a short budget.)
//!
//! CI budget: `STANDORT_FUZZ_ITERS` per reader (default 20,000). A long campaign:
//!
//! ```sh
//! STANDORT_FUZZ_ITERS=1000000 cargo test --release --test cli fuzz -- --nocapture
//! ```
//!
//! A crashing input is written to `target/fuzz-crashes/` and named in the failure; copy it
//! to tests/fixtures/fuzz/ as a regression fixture (every file there is read each run).

use super::util::fixtures;
use standort::catalog::Catalog;
use standort::layers::{LayerSet, Raster};
use standort::sites::{SiteOptions, SiteSource, read_sites};
use standort::{Profile, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Values that tend to break parsers, spliced into inputs.
const TOKENS: &[&[u8]] = &[
    b"-9999",
    b"1e308",
    b"-1e308",
    b"NaN",
    b"inf",
    b"\"",
    b",",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\n",
    b"\r\n",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"0",
    b"-0",
    b"18446744073709551615",
    b"null",
    b"\"type\"",
    b"[[",
    b"=",
    b"\\",
    b"\x00",
];

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// One to four mutations of `seed`: bit flips, random bytes, words of 0xFF, spliced
/// tokens, deleted or duplicated ranges, truncation.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(7) {
            0 if at < b.len() => b[at] ^= 1 << rng.below(8),
            1 if at < b.len() => b[at] = rng.below(256) as u8,
            2 => {
                for x in b.iter_mut().skip(at).take(4) {
                    *x = 0xFF;
                }
            }
            3 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                b.splice(at..at, t.iter().copied());
            }
            4 => {
                let end = (at + rng.below(16)).min(b.len());
                b.drain(at..end);
            }
            5 => {
                let end = (at + rng.below(64)).min(b.len());
                let piece = b[at..end].to_vec();
                b.splice(at..at, piece);
            }
            _ => b.truncate(at),
        }
    }
    b
}

fn iterations(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Fuzz `read` (which reads the file at the path it is given) from the seed file `seed`.
fn fuzz(name: &str, seed: &Path, file_name: &str, read: &dyn Fn(&Path) -> Result<()>) {
    fuzz_n(
        iterations("STANDORT_FUZZ_ITERS", 20_000),
        name,
        seed,
        file_name,
        read,
    );
}

/// [`fuzz`] with `n` mutated inputs.
fn fuzz_n(n: usize, name: &str, seed: &Path, file_name: &str, read: &dyn Fn(&Path) -> Result<()>) {
    let original = std::fs::read(seed).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file_name);
    let crashes = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-crashes");
    // Regression fixtures first, then the mutations.
    let regressions = fixtures().join("fuzz");
    let inputs: Vec<Vec<u8>> = std::fs::read_dir(&regressions)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{name}-"))
        })
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    let fixed = inputs.len();
    let mut rng = Rng(0x5eed_0000 ^ name.bytes().fold(7u64, |h, b| h * 31 + u64::from(b)));
    let mut errors = 0usize;
    let mut slowest = std::time::Duration::ZERO;
    let mutated = (0..n).map(|_| mutate(&original, &mut rng));
    for (i, bytes) in inputs.into_iter().chain(mutated).enumerate() {
        std::fs::write(&path, &bytes).unwrap();
        let t0 = std::time::Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(&path)));
        slowest = slowest.max(t0.elapsed());
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(_)) => errors += 1,
            Err(_) => {
                std::fs::create_dir_all(&crashes).unwrap();
                let kept = crashes.join(format!("{name}-{i}"));
                std::fs::write(&kept, &bytes).unwrap();
                panic!(
                    "{name}: input {i} panicked the reader; kept as {}",
                    kept.display()
                );
            }
        }
    }
    // The campaign's report (shown with --nocapture).
    let _ = writeln!(
        std::io::stderr(),
        "fuzz {name}: {} inputs ({fixed} regression fixtures), {errors} refused, slowest {:.3} s",
        fixed + n,
        slowest.as_secs_f64()
    );
    assert!(
        errors > 0,
        "{name}: no mutation was refused: the mutator does nothing"
    );
}

/// A layer set with one layer `x` of `kind` at `file` (in `dir`).
fn one_layer(dir: &Path, file: &str, kind: &str) -> LayerSet {
    let text = format!("[[layer]]\nname = \"x\"\npath = \"{file}\"\nkind = \"{kind}\"\n");
    LayerSet::parse(&text, Path::new("fuzz.toml"), Some(dir.to_path_buf())).unwrap()
}

#[test]
fn fuzz_site_csv() {
    fuzz("sites-csv", &fixtures().join("sites.csv"), "s.csv", &|p| {
        let source = SiteSource::File(p.to_path_buf());
        read_sites(&source, &SiteOptions::default(), 7, &mut |_| Ok(())).map(|_| ())
    });
}

#[test]
fn fuzz_site_geojson() {
    let seed = tempfile::tempdir().unwrap();
    let p = seed.path().join("sites.geojson");
    std::fs::write(
        &p,
        r#"{"type":"FeatureCollection","features":[
{"type":"Feature","id":"a","properties":{"name":"A","mw":5},"geometry":{"type":"Point","coordinates":[10.5,0.25]}},
{"type":"Feature","properties":{"id":7},"geometry":{"type":"Point","coordinates":[-179.9,-12.0]}}]}"#,
    )
    .unwrap();
    fuzz("sites-geojson", &p, "s.geojson", &|p| {
        let source = SiteSource::File(p.to_path_buf());
        read_sites(&source, &SiteOptions::default(), 7, &mut |_| Ok(())).map(|_| ())
    });
}

#[test]
fn fuzz_point_csv_layer() {
    fuzz(
        "points-csv",
        &fixtures().join("plants.csv"),
        "x.csv",
        &|p| {
            let dir = p.parent().unwrap();
            one_layer(dir, "x.csv", "points").load("x").map(|_| ())
        },
    );
}

#[test]
fn fuzz_geojson_layers() {
    for (name, seed, kind) in [
        ("polygons-geojson", "zones.geojson", "polygons"),
        ("countries-geojson", "countries.geojson", "polygons"),
        ("lines-geojson", "lines.geojson", "lines"),
    ] {
        fuzz(name, &fixtures().join(seed), "x.geojson", &|p| {
            let dir = p.parent().unwrap();
            one_layer(dir, "x.geojson", kind).load("x").map(|_| ())
        });
    }
}

#[test]
fn fuzz_geotiff() {
    fuzz("geotiff", &fixtures().join("land.tif"), "x.tif", &|p| {
        let r = Raster::read(p)?;
        for k in 0..20 {
            let _ = r.sample(-180.0 + 18.0 * f64::from(k), -90.0 + 9.0 * f64::from(k));
            let _ = r.sample(9.5 + 0.3 * f64::from(k), 0.0);
        }
        Ok(())
    });
}

#[test]
fn fuzz_profile_toml() {
    fuzz(
        "profile-toml",
        &fixtures().join("profile.toml"),
        "p.toml",
        &|p| Profile::from_file(p).map(|_| ()),
    );
}

#[test]
fn fuzz_profile_methods_toml() {
    // The method sections and AHP comparisons, from a seed that has them.
    fuzz(
        "profile-methods-toml",
        &fixtures().join("profile_methods.toml"),
        "p.toml",
        &|p| Profile::from_file(p).map(|_| ()),
    );
}

#[test]
fn fuzz_layer_set_toml() {
    fuzz(
        "layers-toml",
        &fixtures().join("layers.toml"),
        "l.toml",
        &|p| LayerSet::from_file(p, Some(&fixtures())).map(|_| ()),
    );
}

#[test]
fn fuzz_catalog_toml() {
    let seed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/catalog.toml");
    fuzz("catalog-toml", &seed, "c.toml", &|p| {
        Catalog::from_file(p).map(|_| ())
    });
}

/// The OGR path (the `gdal` feature): a GeoJSON layer read through GDAL (`source_layer`).
/// (It was once opt-in as "slow": the slowness was a hang in the ring repair on a huge
/// longitude, now a regression fixture.) Its budget is `STANDORT_FUZZ_OGR_ITERS` (default
/// 20,000, about 7 s).
#[cfg(feature = "gdal")]
#[test]
fn fuzz_ogr_layer() {
    fuzz_n(
        iterations("STANDORT_FUZZ_OGR_ITERS", 20_000),
        "ogr-geojson",
        &fixtures().join("zones.geojson"),
        "x.geojson",
        &|p| {
            let dir = p.parent().unwrap();
            let text = "[[layer]]\nname = \"x\"\npath = \"x.geojson\"\nkind = \"polygons\"\nsource_layer = \"x\"\n";
            let set = LayerSet::parse(text, Path::new("fuzz.toml"), Some(dir.to_path_buf()))?;
            set.load("x").map(|_| ())
        },
    );
}
