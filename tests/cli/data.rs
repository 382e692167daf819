//! `standort data`: fetching from a local HTTP server and a mirror; the fixture raster.

use super::util::*;
use assert_cmd::Command;

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
fn serve(files: Vec<(&'static str, Vec<u8>)>) -> String {
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
[[source]]
id = "t"
title = "Test plants"
publisher = "me"
version = "1"
licence = "CC0"
attribution = "me"
homepage = "{base}"
used_for = "tests"

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
        len = csv_body.len()
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
