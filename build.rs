//! Gzip the built-in boundaries (data/world-atlas/countries-10m.json, 3.6 MB) into OUT_DIR, so
//! the binary carries 0.9 MB instead.

use std::io::Write;

fn main() {
    let src = "data/world-atlas/countries-10m.json";
    println!("cargo:rerun-if-changed={src}");
    let raw =
        std::fs::read(src).expect("data/world-atlas/countries-10m.json is part of the repository");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("countries-10m.json.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw).expect("gzip in memory");
    std::fs::write(&out, gz.finish().expect("gzip in memory")).expect("write OUT_DIR");
}
