//! Pictures and lean files: PNG maps (decoded and checked against the ramp), the offline
//! HTML viewer (rendered in headless Chromium when it is installed), QGIS styles, the
//! pure-Rust FlatGeobuf, and the errors of each.

use super::util::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The fixture box along the equator, in cells of 0.5 degrees.
const BBOX: [f64; 4] = [9.0, -1.0, 14.0, 1.0];

fn region_to(out: &Path, more: &[&str]) -> std::process::Output {
    let mut cmd = on_fixtures("region");
    cmd.args(["--bbox", "9,-1,14,1", "--cell", "0.5", "-n", "3", "-q"])
        .args(more)
        .arg("--out")
        .arg(out);
    run_ok(&mut cmd)
}

/// A PNG's width, height and RGB pixels.
fn decode_png(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("{other:?}"),
    };
    let px = buf[..info.buffer_size()]
        .chunks(step)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (info.width, info.height, px)
}

/// The JSON a viewer page carries.
fn page_data(text: &str) -> serde_json::Value {
    let start = text
        .find("id=\"standort-data\" type=\"application/json\">")
        .unwrap();
    let json = &text[start..];
    let json = &json[json.find('>').unwrap() + 1..json.find("</script>").unwrap()];
    serde_json::from_str(&json.replace("<\\/", "</")).unwrap()
}

/// The distinct grid places of a page's cells.
fn grid_places(data: &serde_json::Value) -> Vec<u64> {
    let mut places: Vec<u64> = data["cells"]["index"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    places.sort_unstable();
    places.dedup();
    places
}

/// `score` on the fixture sites, written to `out`.
fn score_sites_to(out: &Path, more: &[&str]) {
    run_ok(
        score()
            .arg(fixtures().join("sites.csv"))
            .arg("-q")
            .args(more)
            .arg("--out")
            .arg(out),
    );
}

fn rgb(hex: &str) -> [u8; 3] {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

fn near(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
    (0..3).all(|i| (i32::from(a[i]) - i32::from(b[i])).abs() <= tol)
}

/// The cells of a GeoJSON region file: (rectangle, score, status).
fn cells_of(path: &Path) -> Vec<([f64; 4], Option<f64>, String)> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let ring = &f["geometry"]["coordinates"][0];
            let (x0, y0) = (ring[0][0].as_f64().unwrap(), ring[0][1].as_f64().unwrap());
            let (x1, y1) = (ring[2][0].as_f64().unwrap(), ring[2][1].as_f64().unwrap());
            let p = &f["properties"];
            let status = p["status"].as_str().unwrap().to_string();
            ([x0, y0, x1, y1], p["score"].as_f64(), status)
        })
        .collect()
}

#[test]
fn png_map_has_the_width_asked_the_ramp_and_cells_in_ramp_colours() {
    let dir = tempfile::tempdir().unwrap();
    let (png, geojson) = (dir.path().join("m.png"), dir.path().join("m.geojson"));
    region_to(&png, &["--width", "640"]);
    assert!(!dir.path().join("m.sites.geojson").exists());
    region_to(&geojson, &[]);
    let (w, h, px) = decode_png(&png);
    assert_eq!(w, 640);
    assert!(h > 400, "{h}");
    let at = |x: f32, y: f32| px[(y as u32 * w + x as u32) as usize];
    let (frame, panel_x) = standort::map::png::layout(640, BBOX);
    // The legend's ramp: 1 at the top, 0 at the bottom.
    let [rx, ry, rw, rh] = standort::map::png::ramp_box(panel_x);
    let score_colour = standort::export::score_colour;
    assert!(near(
        at(rx + rw / 2.0, ry + 1.0),
        rgb(&score_colour(1.0)),
        6
    ));
    assert!(near(
        at(rx + rw / 2.0, ry + rh - 2.0),
        rgb(&score_colour(0.0)),
        6
    ));
    // Every cell's centre is in its colour, but where a border or a numbered site covers it.
    let cells = cells_of(&geojson);
    let (mut ok, mut excluded, mut matched) = (0, 0, 0);
    for (r, score, status) in &cells {
        let c = frame.px((r[0] + r[2]) / 2.0, (r[1] + r[3]) / 2.0);
        let got = at(c[0], c[1]);
        let good = match (status.as_str(), score) {
            ("ok", Some(s)) => {
                ok += 1;
                near(got, rgb(&score_colour(*s)), 4)
            }
            ("excluded", _) => {
                excluded += 1;
                near(got, rgb("#9e9e9e"), 2) || near(got, rgb("#6e6e6e"), 2)
            }
            _ => near(got, rgb("#d9d9d9"), 2),
        };
        matched += usize::from(good);
    }
    assert!(ok >= 5 && excluded > 0, "{ok} {excluded}");
    assert!(
        matched * 10 >= cells.len() * 8,
        "{matched} of {}",
        cells.len()
    );
}

#[test]
fn html_viewer_is_one_file_with_every_cell_and_nothing_from_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("m.html");
    region_to(&html, &[]);
    let text = std::fs::read_to_string(&html).unwrap();
    // Nothing is loaded from elsewhere: no script or style by reference, no remote image.
    for remote in ["<script src", "<link", "url(http", "src=\"http", "@import"] {
        assert!(!text.contains(remote), "{remote}");
    }
    assert!(text.contains("Leaflet") && text.contains("data-status=\"loading\""));
    let data = page_data(&text);
    let cells = &data["cells"];
    assert_eq!(cells["index"].as_array().unwrap().len(), 40);
    let criteria = data["criteria"].as_array().unwrap().len();
    assert_eq!(cells["raw"].as_array().unwrap().len(), criteria);
    assert_eq!(cells["sub"][0].as_array().unwrap().len(), 40);
    assert_eq!(data["top"].as_array().unwrap().len(), 3);
    // Every cell has its own place on the grid.
    assert_eq!(grid_places(&data).len(), 40);
    // Only the page: no style and no top-sites file beside a picture.
    let names: Vec<_> = walk(dir.path());
    assert_eq!(names, std::slice::from_ref(&html));
}

#[test]
fn a_page_across_the_antimeridian_keeps_its_grid_narrow() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("a.html");
    let mut cmd = on_fixtures("region");
    cmd.args(["--bbox", "179,-1,-179,1", "--cell", "0.5", "-q", "--out"])
        .arg(&html);
    run_ok(&mut cmd);
    let data = page_data(&std::fs::read_to_string(&html).unwrap());
    // 2 degrees across 180°: 4 columns, not 720.
    assert_eq!(data["grid"]["cols"], 4, "{}", data["grid"]);
    assert_eq!(data["grid"]["rows"], 4);
    let places = grid_places(&data);
    assert_eq!(places.len(), 16);
    assert!(places.iter().all(|p| *p < 16));
}

/// Chromium (Debian's `chromium`), when installed; `.ci/run` installs it and sets
/// `STANDORT_REQUIRE_CHROMIUM`, so that there the browser test cannot skip.
#[allow(clippy::print_stderr)] // the skip must be visible in the test output
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join(name))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        assert!(
            std::env::var_os("STANDORT_REQUIRE_CHROMIUM").is_none(),
            "chromium is required (STANDORT_REQUIRE_CHROMIUM) but not installed"
        );
        eprintln!("skipped: chromium is not installed");
    }
    found
}

/// Run headless Chromium on `url` with `args`; its stdout and stderr.
fn headless(browser: &Path, url: &str, args: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1100,760",
            "--virtual-time-budget=15000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

#[test]
fn html_viewer_renders_in_a_headless_browser_without_errors() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("m.html");
    region_to(&html, &[]);
    let url = format!("file://{}", html.display());
    // A link to a criterion's layer and a cell opens that cell's popup.
    let (dom, log) = headless(
        &browser,
        &format!("{url}#layer=grid_distance&at=0.25,10.25"),
        &["--dump-dom"],
    );
    assert!(dom.contains("data-status=\"ready\""), "{dom:.2000}\n{log}");
    assert!(dom.contains("class=\"popup\""), "{log}");
    assert!(dom.contains("grid_distance"), "{log}");
    assert!(!log.contains("Uncaught"), "{log}");
    let shot = dir.path().join("shot.png");
    let (_, log) = headless(
        &browser,
        &url,
        &[&format!("--screenshot={}", shot.display())],
    );
    assert!(!log.contains("Uncaught"), "{log}");
    let (w, h, px) = decode_png(&shot);
    assert_eq!((w, h), (1100, 760));
    let mut colours: Vec<[u8; 3]> = px.clone();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() > 50,
        "a blank page: {} colours",
        colours.len()
    );
    // The map shows the cells in ramp colours, the legend the ramp itself.
    let ramp: Vec<[u8; 3]> = (0..=100)
        .map(|i| rgb(&standort::export::score_colour(f64::from(i) / 100.0)))
        .collect();
    let on_ramp = px
        .iter()
        .filter(|p| ramp.iter().any(|r| near(**p, *r, 12)))
        .count();
    assert!(on_ramp > 5000, "{on_ramp} pixels in ramp colours");
    // Scored sites as markers: the best site's popup from a link.
    let sites = dir.path().join("s.html");
    score_sites_to(&sites, &[]);
    let url = format!("file://{}#at=0,10", sites.display());
    let (dom, log) = headless(&browser, &url, &["--dump-dom"]);
    assert!(dom.contains("data-status=\"ready\""), "{log}");
    assert!(dom.contains("rank 1 · <b>score 0.713</b>"), "{log}");
}

#[test]
fn html_of_scored_sites_holds_every_site_and_the_best_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("s.html");
    score_sites_to(&html, &[]);
    let data = page_data(&std::fs::read_to_string(&html).unwrap());
    assert_eq!(data["points"]["lon"].as_array().unwrap().len(), 7);
    let ranks: Vec<u64> = data["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["rank"].as_u64().unwrap())
        .collect();
    assert_eq!(ranks, [1, 2, 3]);
    assert_eq!(data["top"][0]["score"], 0.713);
}

#[test]
fn qgis_styles_go_beside_geojson_and_flatgeobuf_cells() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["c.geojson", "c.fgb"] {
        let out = dir.path().join(name);
        region_to(&out, &[]);
        let qml = std::fs::read_to_string(out.with_extension("qml")).unwrap();
        let options = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        let doc = roxmltree::Document::parse_with_options(&qml, options).unwrap();
        let r = doc
            .descendants()
            .find(|n| n.has_tag_name("renderer-v2"))
            .unwrap();
        assert_eq!(r.attribute("type"), Some("graduatedSymbol"));
        assert!(r.attribute("attr").unwrap().contains("\"score\""));
        let sites = std::fs::read_to_string(dir.path().join(format!(
            "{}.sites.qml",
            Path::new(name).file_stem().unwrap().to_str().unwrap()
        )))
        .unwrap();
        assert!(sites.contains("top_rank"));
    }
}

#[test]
fn flatgeobuf_cells_equal_the_geojson_ones() {
    use flatgeobuf::{FallibleStreamingIterator, FeatureProperties, FgbReader};
    let dir = tempfile::tempdir().unwrap();
    let (fgb, geojson) = (dir.path().join("c.fgb"), dir.path().join("c.geojson"));
    region_to(&fgb, &[]);
    region_to(&geojson, &[]);
    let mut want: Vec<(String, Option<f64>)> = cells_of(&geojson)
        .into_iter()
        .map(|(r, s, _)| (format!("{:.3},{:.3}", r[0], r[1]), s))
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    let mut file = std::io::BufReader::new(std::fs::File::open(&fgb).unwrap());
    let reader = FgbReader::open(&mut file).unwrap();
    assert_eq!(reader.header().features_count(), 40);
    assert!(reader.header().index_node_size() > 0, "a spatial index");
    let mut features = reader.select_all().unwrap();
    let mut got = Vec::new();
    while let Some(f) = features.next().unwrap() {
        let g = f.geometry().unwrap();
        let xy = g.xy().unwrap();
        let key = format!("{:.3},{:.3}", xy.get(0), xy.get(1));
        got.push((key, f.property::<f64>("score").ok()));
    }
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want);
}

/// `region` with `--out out` fails with one line containing `needle`, leaving nothing.
fn region_fails(out: &str, more: &[&str], needle: &str) {
    let grid = ["--bbox", "9,-1,14,1", "--cell", "0.5"];
    region_fails_on(&grid, out, more, needle);
}

fn region_fails_on(grid: &[&str], out: &str, more: &[&str], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(out);
    let mut cmd = on_fixtures("region");
    cmd.args(grid).arg("-q").args(more).arg("--out").arg(&path);
    let res = cmd.output().unwrap();
    let stderr = String::from_utf8(res.stderr).unwrap();
    assert_eq!(res.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(needle),
        "{stderr}"
    );
    let left: Vec<_> = walk(dir.path());
    assert!(left.is_empty(), "{left:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn bad_picture_requests_fail_with_one_line_and_leave_nothing() {
    region_fails(
        "m.png",
        &["--width", "0"],
        "--width 0: a PNG map is 320 to 8000 pixels wide",
    );
    region_fails("m.png", &["--width", "99999"], "--width 99999");
    region_fails(
        "m.geojson",
        &["--width", "800"],
        "--width applies to a .png",
    );
    region_fails("m.xyz", &[], "unknown extension");
    // 2,000 × 2,000 cells: more than a page holds, refused before any scoring.
    let grid = ["--bbox", "0,0,10,10", "--cell", "0.005"];
    region_fails_on(&grid, "m.html", &[], "cells are more than a html map holds");
}

#[test]
fn an_unwritable_picture_fails_with_one_line() {
    for name in ["m.png", "m.html", "m.fgb"] {
        let out = Path::new("/proc/standort-no-such-dir").join(name);
        let res = on_fixtures("region")
            .args(["--bbox", "9,-1,14,1", "--cell", "0.5", "-q", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8(res.stderr).unwrap();
        assert_ne!(res.status.code(), Some(0), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("standort-no-such-dir"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// Pixels of `px` within 4 of a colour of the score ramp.
fn ramp_pixels(px: &[[u8; 3]]) -> usize {
    let ramp: Vec<[u8; 3]> = (0..=200)
        .map(|i| rgb(&standort::export::score_colour(f64::from(i) / 200.0)))
        .collect();
    px.iter()
        .filter(|p| ramp.iter().any(|r| near(**p, *r, 4)))
        .count()
}

#[test]
fn score_plan_and_sovereignty_draw_png_maps() {
    let dir = tempfile::tempdir().unwrap();
    let dots = dir.path().join("s.png");
    score_sites_to(&dots, &["--width", "500"]);
    let plan_set = fixtures().join("plan");
    let campuses = dir.path().join("p.png");
    run_ok(
        on_fixture_set(&plan_set, "plan")
            .args([
                "XXA",
                "--cell",
                "0.5",
                "--min-spacing-km",
                "0",
                "-q",
                "--out",
            ])
            .arg(&campuses),
    );
    let countries = dir.path().join("c.png");
    run_ok(
        on_fixture_set(&plan_set, "sovereignty")
            .args(["--cell", "0.5", "-q", "--out"])
            .arg(&countries),
    );
    for (png, width) in [(&dots, 500), (&campuses, 1200), (&countries, 1200)] {
        let (w, _, px) = decode_png(png);
        assert_eq!(w, width, "{}", png.display());
        // Beyond the legend's ramp (180 rows of 18 pixels, 2,844 inside its frame), marks
        // in ramp colours.
        let n = ramp_pixels(&px);
        assert!(n > 2844 + 20, "{}: {n}", png.display());
    }
    // The best site's dot, at its place, in the colour of its score (0.713).
    let (w, _, px) = decode_png(&dots);
    let sites = [
        [10.0, 0.0],
        [11.0, 0.0],
        [-179.9, 0.0],
        [12.5, 0.0],
        [50.0, 50.0],
        [12.0, 0.5],
        [45.0, 85.0],
    ];
    let bbox = standort::map::pictures::points_bbox(sites.into_iter(), 1.0);
    let (frame, _) = standort::map::png::layout(500, bbox);
    let [x, y] = frame.px(10.0, 0.0);
    let centre = px[(y as u32 * w + x as u32) as usize];
    let want = rgb(&standort::export::score_colour(0.713));
    assert!(near(centre, want, 4), "{centre:?} vs {want:?}");
}

#[test]
fn a_png_goes_to_a_file_only() {
    let res = score()
        .arg(fixtures().join("sites.csv"))
        .args(["--format", "png"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(res.stderr).unwrap();
    assert_eq!(res.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("png is written to a file only"), "{stderr}");
    assert!(res.stdout.is_empty());
}
