//! `standort data`: fetching from a local HTTP server and a mirror; the fixture raster.

use super::util::*;
use assert_cmd::Command;
use std::path::Path;

#[test]
fn fixture_raster_is_reproducible() {
    // tests/fixtures/land.tif: 6 x 2 pixels of 1 degree from (9.5E, 0.5N); the second row is
    // nodata. Regenerate with STANDORT_REGENERATE_FIXTURES=1.
    let raster = standort::layers::Raster::new(
        6,
        2,
        9.5,
        0.5,
        1.0,
        1.0,
        vec![
            2000.0, 3000.0, 8000.0, 12000.0, 5000.0, 1000.0, -9999.0, -9999.0, -9999.0, -9999.0,
            -9999.0, -9999.0,
        ],
        Some(-9999.0),
    )
    .unwrap();
    let path = fixtures().join("land.tif");
    if std::env::var_os("STANDORT_REGENERATE_FIXTURES").is_some() {
        raster.write_geotiff(&path).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("land.tif");
    raster.write_geotiff(&fresh).unwrap();
    assert_eq!(
        std::fs::read(&fresh).unwrap(),
        std::fs::read(&path).unwrap()
    );
}

/// A one-shot HTTP server on localhost serving `files` (path -> body); returns its base URL.
pub fn serve(files: Vec<(&'static str, Vec<u8>)>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() <= 2 {
                    break;
                }
            }
            match files.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(body);
                }
                None => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                }
            }
        }
    });
    base
}

/// The `[[source]]` header of a test catalog.
pub fn test_source(id: &str, base: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\ntitle = \"Test {id}\"\npublisher = \"me\"\nversion = \"1\"\nlicence = \"CC0\"\nattribution = \"me\"\nhomepage = \"{base}\"\nused_for = \"tests\"\n"
    )
}

#[test]
fn data_fetch_downloads_extracts_and_verifies() {
    let csv_body = b"name,capacity_mw,latitude,longitude\nA,300,0,10.4\n".to_vec();
    let mut zip_body = Vec::new();
    {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut zip_body));
        z.start_file("inner/plants.csv", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut z, &csv_body).unwrap();
        z.finish().unwrap();
    }
    let base = serve(vec![
        ("/plants.csv", csv_body.clone()),
        ("/bundle.zip", zip_body),
    ]);
    let catalog = format!(
        r#"
{source}
[[source.file]]
path = "a/plants.csv"
columns = ["name", "capacity_mw"]
bytes = {len}
url = "{base}/plants.csv"

[[source.file]]
path = "b/plants.csv"
columns = ["name", "capacity_mw"]
url = "{base}/bundle.zip"
member = "inner/plants.csv"

[[source.file]]
path = "c/by_hand.csv"
columns = ["x"]
manual = "ask the publisher"
"#,
        len = csv_body.len(),
        source = test_source("t", &base)
    );
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("catalog.toml");
    std::fs::write(&cat, &catalog).unwrap();
    let data = dir.path().join("data");
    let out = Command::cargo_bin("standort")
        .unwrap()
        .args(["data", "fetch", "--catalog"])
        .arg(&cat)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stdout.contains("a/plants.csv") && stdout.contains("downloaded"),
        "{stdout}"
    );
    assert!(stdout.contains("ask the publisher"), "{stdout}");
    assert_eq!(std::fs::read(data.join("a/plants.csv")).unwrap(), csv_body);
    assert_eq!(std::fs::read(data.join("b/plants.csv")).unwrap(), csv_body);
    // The manual file is still missing: exit 1, naming it.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("c/by_hand.csv"), "{stderr}");

    // A size mismatch fails, and leaves no partial file.
    std::fs::write(
        &cat,
        catalog.replace(&format!("bytes = {}", csv_body.len()), "bytes = 3"),
    )
    .unwrap();
    let out = Command::cargo_bin("standort")
        .unwrap()
        .args(["data", "fetch", "--force", "--catalog"])
        .arg(&cat)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("bytes, the catalog's reference copy is 3"),
        "{stderr}"
    );
    let names: Vec<_> = std::fs::read_dir(data.join("a"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("plants.csv")],
        "no partial file"
    );
}

/// A tar.gz holding `files` (name, body), as npm packs a package.
fn tgz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    {
        let mut tar = tar::Builder::new(&mut gz);
        for (name, body) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, name, *body).unwrap();
        }
        tar.finish().unwrap();
    }
    gz.finish().unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A catalog of one source whose file comes out of an archive through a converter.
fn converting_catalog(base: &str, bytes: usize, sha: &str) -> String {
    let source = test_source("atlas", base);
    format!(
        r#"
{source}
[[source.file]]
path = "boundaries/countries.geojson"
columns = ["name", "iso_a3"]
url = "{base}/atlas-1.0.0.tgz"
url_bytes = {bytes}
url_sha256 = "{sha}"
member = "package/countries-10m.json"
convert = "world-atlas-countries"
url_version = "converted"
"#
    )
}

#[test]
fn data_fetch_converts_topojson_out_of_a_tarball_and_checks_the_download() {
    // Two countries sharing an arc, ids as ISO 3166-1 numeric codes.
    let topo = br#"{"type":"Topology","transform":{"scale":[0.001,0.001],"translate":[0,0]},
      "arcs":[[[0,0],[1000,0]],[[1000,0],[0,1000],[-1000,0],[0,-1000]],[[1000,0],[1000,0],[0,1000],[-1000,0]]],
      "objects":{"countries":{"type":"GeometryCollection","geometries":[
        {"type":"Polygon","arcs":[[0,1]],"id":"276","properties":{"name":"Germany"}},
        {"type":"Polygon","arcs":[[-2,2]],"properties":{"name":"Nowhere"}}]}}}"#;
    let body = tgz(&[
        ("package/package.json", b"{}"),
        ("package/countries-10m.json", topo),
    ]);
    let base = serve(vec![("/atlas-1.0.0.tgz", body.clone())]);
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("catalog.toml");
    let data = dir.path().join("data");
    let fetch = |cat: &Path| {
        Command::cargo_bin("standort")
            .unwrap()
            .args(["data", "fetch", "--force", "--catalog"])
            .arg(cat)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap()
    };
    std::fs::write(
        &cat,
        converting_catalog(&base, body.len(), &sha256_hex(&body)),
    )
    .unwrap();
    let out = fetch(&cat);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("boundaries/countries.geojson")).unwrap())
            .unwrap();
    let f = v["features"].as_array().unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0]["properties"]["iso_a3"], "DEU");
    assert_eq!(f[0]["properties"]["iso_a2"], "DE");
    assert_eq!(
        f[0]["geometry"]["coordinates"],
        serde_json::json!([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]])
    );
    assert!(f[1]["properties"].get("iso_a3").is_none());
    let before = std::fs::read(data.join("boundaries/countries.geojson")).unwrap();
    // A changed download (another hash), a wrong size, a missing member: one-line errors,
    // the converted file stays as it was and nothing partial is left.
    for (catalog, needle) in [
        (
            converting_catalog(&base, body.len(), &"0".repeat(64)),
            "SHA-256",
        ),
        (
            converting_catalog(&base, 7, &sha256_hex(&body)),
            "the catalog's reference copy is 7",
        ),
        (
            converting_catalog(&base, body.len(), &sha256_hex(&body))
                .replace("countries-10m.json", "countries-50m.json"),
            "no member package/countries-50m.json in the archive",
        ),
        (
            converting_catalog(&base, body.len(), &sha256_hex(&body))
                .replace("atlas-1.0.0", "gone"),
            "download failed: http status: 404",
        ),
    ] {
        std::fs::write(&cat, catalog).unwrap();
        let out = fetch(&cat);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(needle), "{needle}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert_eq!(
            std::fs::read(data.join("boundaries/countries.geojson")).unwrap(),
            before
        );
        let mut names: Vec<String> = std::fs::read_dir(&data)
            .unwrap()
            .chain(std::fs::read_dir(data.join("boundaries")).unwrap())
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["boundaries", "countries.geojson"],
            "no partial file"
        );
    }
}

/// The real thing: world-atlas from the npm registry (reachable from CI), converted by
/// `data fetch`, equals the copy built into the binary.
#[test]
fn world_atlas_from_npm_equals_the_built_in_copy() {
    let catalog = standort::catalog::Catalog::embedded();
    let (_, file) = catalog
        .find(Path::new(standort::boundaries::COUNTRIES_10M))
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = standort::catalog::fetch_file(
        file,
        data.path(),
        &standort::catalog::FetchOptions::default(),
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(out, standort::catalog::Outcome::Downloaded);
    let fetched = std::fs::read(data.path().join(standort::boundaries::COUNTRIES_10M)).unwrap();
    let built_in = standort::boundaries::built_in_bytes(
        &standort::boundaries::built_in_path(Path::new(standort::boundaries::COUNTRIES_10M))
            .unwrap(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(fetched, built_in);
}
