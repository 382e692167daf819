//! `standort score` on the fixtures: values worked out by hand, formats, inputs, policies.

use super::util::*;
use assert_cmd::Command;

#[test]
fn ranking_and_reasons_are_as_documented() {
    let rows = run_csv(
        score()
            .arg(fixtures().join("sites.csv"))
            .args(["--format", "csv"]),
    );
    // A full output keeps the input order (rows line up with the input), each `ok` site
    // with its rank.
    let order: Vec<&str> = rows.iter().map(|r| r["id"].as_str()).collect();
    assert_eq!(
        order,
        [
            "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"
        ]
    );
    let status: Vec<&str> = rows.iter().map(|r| r["status"].as_str()).collect();
    assert_eq!(
        status,
        [
            "ok", "ok", "unknown", "excluded", "excluded", "ok", "excluded"
        ]
    );
    assert_eq!(
        rows.iter().map(|r| r["rank"].as_str()).collect::<Vec<_>>(),
        ["1", "2", "", "", "", "3", ""]
    );

    // alpha (10E, 0N): plant of 300 MW 0.4 deg east, the 50 MW one 0.9 deg east is just
    // beyond 100 km (100.076 km); line 0.2 deg west; zone Z1 (bws 1); land 2000 $/acre.
    let a = by_id(&rows, "alpha");
    assert!((num(a, "grid_distance_km") - 44.478).abs() < 1e-3);
    assert_eq!(num(a, "grid_capacity_mw"), 300.0);
    assert!((num(a, "line_distance_km") - 22.2390).abs() < 1e-3);
    assert_eq!(num(a, "water_stress"), 1.0);
    assert_eq!(a["water_stress_source"], "zones");
    assert_eq!(num(a, "land_cost_usd_per_acre"), 2000.0);
    // Scores: (110-44.478)/100, 300/1000, (100-22.239)/100, (5-1)/5, (10000-2000)/9000.
    assert!((num(a, "grid_distance_score") - 0.655220).abs() < 1e-6);
    assert!((num(a, "grid_capacity_score") - 0.3).abs() < 1e-9);
    assert!((num(a, "line_distance_score") - 0.777610).abs() < 1e-6);
    assert!((num(a, "water_stress_score") - 0.8).abs() < 1e-9);
    assert!((num(a, "land_cost_score") - 0.888889).abs() < 1e-6);
    // Weights 3,1,1,2,2 of 9: (3*0.65522 + 0.3 + 0.77761 + 2*0.8 + 2*0.888889) / 9.
    assert!((num(a, "score") - 0.713450).abs() < 1e-6);
    assert!((num(a, "grid_distance_contribution") - 3.0 * 0.655220 / 9.0).abs() < 1e-6);

    // bravo (11E): plant 0.6 deg away, 350 MW within 100 km, line 0.8 deg, land 3000.
    let b = by_id(&rows, "bravo");
    assert!((num(b, "grid_distance_km") - 0.6 * KM_PER_DEG).abs() < 1e-3);
    assert_eq!(num(b, "grid_capacity_mw"), 350.0);
    assert!((num(b, "score") - 0.546054).abs() < 1e-6);

    // foxtrot lies on the border of Z1 and Z2: the first zone in the file (Z1) holds it.
    let f = by_id(&rows, "foxtrot");
    assert_eq!(num(f, "water_stress"), 1.0);
    assert_eq!(num(f, "land_cost_usd_per_acre"), 8000.0);
    // Cross-track distance to the meridian 10.2E: asin(cos(0.5) sin(1.8)) R.
    let xt = (0.5f64.to_radians().cos() * 1.8f64.to_radians().sin()).asin() * 6371.0088;
    assert!((num(f, "line_distance_km") - xt).abs() < 1e-3);
    assert!((num(f, "score") - 0.227160).abs() < 1e-6);

    // charlie (179.9W): across the antimeridian from the 1200 MW plant (0.2 deg), 0.1 deg
    // from the line on 180, inside zone Z3 whose ring jumps across 180; no land data.
    let c = by_id(&rows, "charlie");
    assert!((num(c, "grid_distance_km") - 0.2 * KM_PER_DEG).abs() < 1e-3);
    assert_eq!(num(c, "grid_capacity_mw"), 1200.0);
    assert!((num(c, "line_distance_km") - 0.1 * KM_PER_DEG).abs() < 1e-3);
    assert_eq!(num(c, "water_stress"), 2.0);
    assert_eq!(c["land_cost_usd_per_acre"], "");
    assert_eq!(c["unknown"], "land_cost");
    assert!(
        c["reasons"].contains("land_cost unknown (no data: outside raster land or nodata)"),
        "{}",
        c["reasons"]
    );
    assert_eq!(c["score"], "");

    // delta: zone Z2 has water stress 4.5 > 4.
    let d = by_id(&rows, "delta");
    assert_eq!(
        d["reasons"],
        "water stress extremely high (water_stress = 4.5)"
    );

    // golf (45E, 85N): the nearest plant is over the pole at (135W, 85N): 10 degrees of arc.
    // Water falls back to the country layer's polar cap (bws 0.5).
    let g = by_id(&rows, "golf");
    assert!((num(g, "grid_distance_km") - 10.0 * KM_PER_DEG).abs() < 1e-3);
    assert_eq!(num(g, "water_stress"), 0.5);
    assert_eq!(g["water_stress_source"], "countries");
    assert!(
        g["reasons"].ends_with("; land_cost unknown (no data: outside raster land or nodata)"),
        "constraint failures come first: {}",
        g["reasons"]
    );
    assert!(
        g["reasons"]
            .contains("no plant of 100 MW or more within 150 km (grid_distance = 1111.951 km)")
    );

    // echo: no zone, no country; far from everything.
    let e = by_id(&rows, "echo");
    assert_eq!(e["unknown"], "water_stress,land_cost");
    assert_eq!(e["water_stress_source"], "");
}

#[test]
fn distances_agree_with_haversine_within_a_metre() {
    let rows = run_csv(
        score()
            .arg(fixtures().join("sites.csv"))
            .args(["--format", "csv"]),
    );
    let plants = [
        (10.4, 0.0, 300.0),
        (10.9, 0.0, 50.0),
        (179.9, 0.0, 1200.0),
        (13.0, 0.0, 200.0),
        (-135.0, 85.0, 150.0),
    ];
    for r in &rows {
        let (lon, lat) = (num(r, "lon"), num(r, "lat"));
        let expected = plants
            .iter()
            .filter(|p| p.2 >= 100.0)
            .map(|p| haversine_km(lon, lat, p.0, p.1))
            .fold(f64::INFINITY, f64::min);
        let got = num(r, "grid_distance_km");
        assert!(
            (got - expected).abs() < 1e-3,
            "{}: {got} vs {expected}",
            r["id"]
        );
        let cap: f64 = plants
            .iter()
            .filter(|p| haversine_km(lon, lat, p.0, p.1) <= 100.0)
            .map(|p| p.2)
            .sum();
        assert_eq!(num(r, "grid_capacity_mw"), cap, "{}", r["id"]);
    }
}

#[test]
fn table_is_the_default_and_aligned() {
    let out = score().arg(fixtures().join("sites.csv")).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("rank  id"), "{}", lines[0]);
    assert!(
        lines[1].trim_start().starts_with("1  alpha"),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("0.713"));
    assert_eq!(lines.len(), 8);
    // The score column is right-aligned: every row has its score at the same end column.
    let end = lines[0].find("score").unwrap() + "score".len();
    for (l, score) in lines[1..4].iter().zip(["0.713", "0.546", "0.227"]) {
        assert_eq!(&l[end - 5..end], score, "{l}");
    }
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("7 sites scored with profile fixture"),
        "{stderr}"
    );
    assert!(stderr.contains("3 ok, 3 excluded, 1 unknown"), "{stderr}");
}

#[test]
fn top_n_keeps_the_best() {
    let rows = run_csv(
        score()
            .arg(fixtures().join("sites.csv"))
            .args(["--format", "csv", "--top", "2"]),
    );
    assert_eq!(
        rows.iter().map(|r| r["id"].as_str()).collect::<Vec<_>>(),
        ["alpha", "bravo"]
    );
}

#[test]
fn geojson_output_is_rfc7946_with_colours() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ranked.geojson");
    score()
        .arg(fixtures().join("sites.csv"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["type"], "FeatureCollection");
    let features = v["features"].as_array().unwrap();
    assert_eq!(features.len(), 7);
    let alpha = &features[0];
    assert_eq!(
        alpha["geometry"]["coordinates"],
        serde_json::json!([10.0, 0.0])
    );
    assert_eq!(alpha["properties"]["name"], "Alpha parcel");
    assert_eq!(alpha["properties"]["rank"], 1);
    assert!(
        alpha["properties"]["marker-color"]
            .as_str()
            .unwrap()
            .starts_with('#')
    );
    let delta = features.iter().find(|f| f["id"] == "delta").unwrap();
    assert_eq!(delta["properties"]["marker-color"], "#9e9e9e");
    assert_eq!(delta["properties"]["status"], "excluded");
    assert_eq!(v["standort"]["unknown_policy"], "exclude");
    assert_eq!(v["standort"]["summary"]["ok"], 3);
    // No temporary file is left beside the output; its QGIS style is.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    assert!(dir.path().join("ranked.qml").exists());
}

#[test]
fn json_and_geojsonseq_formats() {
    let out = score()
        .arg(fixtures().join("sites.csv"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let alpha = &v["sites"][0];
    assert_eq!(alpha["id"], "alpha");
    assert_eq!(alpha["criteria"]["grid_distance"]["unit"], "km");
    assert_eq!(alpha["criteria"]["water_stress"]["source"], "zones");
    let charlie = v["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "charlie")
        .unwrap();
    assert!(
        charlie["criteria"]["land_cost"]["unknown"]
            .as_str()
            .unwrap()
            .contains("outside raster")
    );
    let out = score()
        .arg(fixtures().join("sites.csv"))
        .args(["--format", "geojsonseq"])
        .output()
        .unwrap();
    // RFC 8142: each record is a record separator, a JSON text and a line feed.
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 7);
    for l in text.lines() {
        let json = l.strip_prefix('\u{1e}').expect("a record separator");
        let f: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(f["type"], "Feature");
    }
    // geojsonl: one feature per line, nothing else.
    let out = score()
        .arg(fixtures().join("sites.csv"))
        .args(["--format", "geojsonl"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 7);
    for l in text.lines() {
        let f: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(f["type"], "Feature");
    }
}

/// A named pipe is read as a stream (a site file that is a regular file is memory-mapped
/// instead): the same scores.
#[cfg(unix)]
#[test]
fn sites_from_a_named_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("sites.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let text = std::fs::read(fixtures().join("sites.csv")).unwrap();
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, text).unwrap())
    };
    let from_pipe = run_csv(score().arg(&fifo).args(["--format", "csv"]));
    writer.join().unwrap();
    let from_file = run_csv(
        score()
            .arg(fixtures().join("sites.csv"))
            .args(["--format", "csv"]),
    );
    assert_eq!(from_pipe, from_file);
    assert!(!from_file.is_empty());
}

#[test]
fn stdin_and_geojson_sites_give_the_same_scores() {
    let csv_text = std::fs::read_to_string(fixtures().join("sites.csv")).unwrap();
    let from_stdin = run_csv(
        score()
            .arg("-")
            .args(["--format", "csv"])
            .write_stdin(csv_text.clone()),
    );
    let from_file = run_csv(
        score()
            .arg(fixtures().join("sites.csv"))
            .args(["--format", "csv"]),
    );
    assert_eq!(from_stdin, from_file);

    // The same sites as GeoJSON.
    let mut features = vec![];
    for line in csv_text.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        features.push(serde_json::json!({"type": "Feature", "id": c[0],
            "geometry": {"type": "Point", "coordinates": [c[3].parse::<f64>().unwrap(), c[2].parse::<f64>().unwrap()]},
            "properties": {"name": c[1]}}));
    }
    let gj = serde_json::json!({"type": "FeatureCollection", "features": features}).to_string();
    let from_geojson = run_csv(score().arg("-").args(["--format", "csv"]).write_stdin(gj));
    for (a, b) in from_file.iter().zip(&from_geojson) {
        assert_eq!(a["id"], b["id"]);
        assert_eq!(a["score"], b["score"]);
        assert_eq!(a["grid_distance_km"], b["grid_distance_km"]);
        assert_eq!(a["name"], b["name"]);
    }
}

#[test]
fn output_is_identical_for_any_thread_count() {
    // Enough sites for several chunks, with ties in score.
    let mut text = String::from("id,lat,lon\n");
    for i in 0..10_000 {
        let lon = 8.0 + (i % 100) as f64 * 0.06;
        let lat = -1.0 + (i / 100) as f64 * 0.02;
        text.push_str(&format!("s{i},{lat},{lon}\n"));
    }
    let run = |threads: &str| {
        let out = score()
            .arg("-")
            .args(["--format", "csv", "--threads", threads])
            .write_stdin(text.clone())
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    };
    let one = run("1");
    assert_eq!(one, run("2"));
    assert_eq!(one, run("3"));
    let top = score()
        .arg("-")
        .args(["--format", "csv", "--top", "50", "-j", "2"])
        .write_stdin(text.clone())
        .output()
        .unwrap();
    let top_lines: Vec<&[u8]> = top.stdout.split(|&b| b == b'\n').take(51).collect();
    // The full output is in input order: its first 50 by rank (column 4).
    let rank = |line: &[u8]| -> u64 {
        let text = String::from_utf8_lossy(line).to_string();
        text.split(',')
            .nth(3)
            .and_then(|r| r.parse().ok())
            .unwrap_or(u64::MAX)
    };
    let mut all_lines: Vec<&[u8]> = one
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    all_lines[1..].sort_by_key(|l| rank(l));
    assert_eq!(
        top_lines,
        all_lines[..51].to_vec(),
        "--top N gives the first N of the full ranking"
    );
    // From a file, a full run ranks in a first pass and writes in a second (bounded memory):
    // the same bytes as from stdin (kept in memory), on any number of threads.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sites.csv");
    std::fs::write(&file, &text).unwrap();
    for threads in ["1", "2"] {
        let out = score()
            .arg(&file)
            .args(["--format", "csv", "--threads", threads])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(
            out.stdout == one,
            "two passes differ from one ({threads} threads)"
        );
    }
}

#[test]
fn neutral_and_penalty_policies_score_unknowns() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixtures().join("profile.toml")).unwrap();
    let neutral = dir.path().join("neutral.toml");
    std::fs::write(
        &neutral,
        text.replace("unknown = \"exclude\"", "unknown = \"neutral\""),
    )
    .unwrap();
    let rows = run_csv(
        score()
            .arg(fixtures().join("sites.csv"))
            .args(["--format", "csv", "--profile"])
            .arg(&neutral),
    );
    let c = by_id(&rows, "charlie");
    assert_eq!(c["status"], "ok");
    assert_eq!(num(c, "land_cost_score"), 0.5);
    assert!(
        c["reasons"].contains("scored 0.5 by policy neutral"),
        "{}",
        c["reasons"]
    );
    // charlie: grid (110-22.239)/100, 1200 MW -> 1, line (100-11.1195)/100, water 0.6, land 0.5.
    let expected = (3.0 * (110.0 - 0.2 * KM_PER_DEG) / 100.0
        + 1.0
        + (100.0 - 0.1 * KM_PER_DEG) / 100.0
        + 2.0 * 0.6
        + 2.0 * 0.5)
        / 9.0;
    assert!((num(c, "score") - expected).abs() < 1e-6);
    assert_eq!(c["rank"], "1");
    let penalty = dir.path().join("penalty.toml");
    std::fs::write(
        &penalty,
        text.replace("unknown = \"exclude\"", "unknown = { penalty = 0.5 }"),
    )
    .unwrap();
    let rows = run_csv(
        score()
            .arg(fixtures().join("sites.csv"))
            .args(["--format", "csv", "--profile"])
            .arg(&penalty),
    );
    assert_eq!(num(by_id(&rows, "charlie"), "land_cost_score"), 0.0);
}

#[test]
fn empty_layer_makes_its_criterion_unknown() {
    let dir = fixture_copy(&[
        "layers.toml",
        "lines.geojson",
        "zones.geojson",
        "countries.geojson",
        "land.tif",
        "profile.toml",
    ]);
    std::fs::write(
        dir.path().join("plants.csv"),
        "name,capacity_mw,primary_fuel,latitude,longitude\n",
    )
    .unwrap();
    let out = run_ok(
        Command::cargo_bin("standort")
            .unwrap()
            .env_remove("STANDORT_DATA_DIR")
            .args(["score", "--format", "csv", "--layers"])
            .arg(dir.path().join("layers.toml"))
            .arg("--profile")
            .arg(dir.path().join("profile.toml"))
            .arg(fixtures().join("sites.csv")),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "grid_distance unknown (layer plants has no feature matching capacity_mw >= 100)"
        ),
        "{text}"
    );
    assert!(
        text.contains(",grid_capacity_mw,") && text.contains(",0,0,"),
        "an empty layer sums to 0: {text}"
    );
    assert!(!text.contains(",ok,"), "no site can be ranked: {text}");
}

#[test]
fn closed_stdout_pipe_is_not_an_error() {
    let mut text = String::from("id,lat,lon\n");
    for i in 0..100_000 {
        text.push_str(&format!("s{i},0,{}\n", 9.0 + (i % 500) as f64 * 0.01));
    }
    let f = fixtures();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("standort"))
        .env_remove("STANDORT_DATA_DIR")
        .args(["score", "-", "--format", "csv", "--layers"])
        .arg(f.join("layers.toml"))
        .arg("--profile")
        .arg(f.join("profile.toml"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(text.as_bytes());
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    use std::io::Read;
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "{:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("error"));
}

#[test]
fn profiles_lists_and_prints_built_ins() {
    let out = Command::cargo_bin("standort")
        .unwrap()
        .arg("profiles")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("ai-campus "));
    assert!(text.contains("ai-campus-dry-cooling"));
    let out = Command::cargo_bin("standort")
        .unwrap()
        .args(["profiles", "ai-campus"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("# ai-campus"));
    assert!(toml::from_str::<toml::Table>(&text).is_ok());
}

#[test]
fn sources_coverage_ignore_inside_and_derive() {
    let dir = fixture_copy(&[
        "plants.csv",
        "lines.geojson",
        "zones.geojson",
        "countries.geojson",
        "land.tif",
    ]);
    // Lines are only known to cover zone Z1 ("Green"); countries get a derived field.
    let layers = std::fs::read_to_string(fixtures().join("layers.toml")).unwrap()
        .replace(
            "path = \"lines.geojson\"\nkind = \"lines\"",
            "path = \"lines.geojson\"\nkind = \"lines\"\ncoverage = { layer = \"zones\", field = \"name\", values = [\"Green\"] }",
        )
        .replace(
            "path = \"countries.geojson\"\nkind = \"polygons\"",
            "path = \"countries.geojson\"\nkind = \"polygons\"\nderive = [{ field = \"risk\", from = \"name\", map = { \"Equatoria\" = 1.0, \"Polar cap\" = 2.0 } }]",
        );
    std::fs::write(dir.path().join("layers.toml"), layers).unwrap();
    let profile = std::fs::read_to_string(fixtures().join("profile.toml"))
        .unwrap()
        .replace("unknown = \"exclude\"", "unknown = \"neutral\"")
        .replace(
            "layer = \"lines\"\nmeasure = { nearest_km = {} }",
            "layer = \"lines\"\nunknown = \"ignore\"\nmeasure = { nearest_km = {} }",
        )
        .replace(
            "layers = [\"zones\", \"countries\"]",
            "sources = [{ layer = \"zones\" }, { layer = \"countries\", note = \"fallback\" }]",
        )
        + "\n[[criterion]]\nid = \"on_land\"\nlayers = [\"zones\", \"countries\"]\nmeasure = { inside = {} }\nstandardise = { linear = { best = 1.0, worst = 0.0 } }\nweight = 0\n\
           \n[[criterion]]\nid = \"risk\"\nlayer = \"countries\"\nmeasure = { attribute = \"risk\" }\nstandardise = { linear = { best = 0.0, worst = 4.0 } }\nweight = 0\n\
           \n[[constraint]]\ncriterion = \"on_land\"\nmin = 1.0\nreason = \"not on land\"\n";
    std::fs::write(dir.path().join("profile.toml"), profile).unwrap();
    let mut cmd = Command::cargo_bin("standort").unwrap();
    cmd.env_remove("STANDORT_DATA_DIR")
        .args(["score", "--format", "csv", "--layers"])
        .arg(dir.path().join("layers.toml"))
        .arg("--profile")
        .arg(dir.path().join("profile.toml"))
        .arg(fixtures().join("sites.csv"));
    let rows = run_csv(&mut cmd);

    // alpha is inside the lines' coverage: measured as before.
    let a = by_id(&rows, "alpha");
    assert!((num(a, "line_distance_km") - 22.239).abs() < 1e-3);
    assert_eq!(num(a, "risk"), 1.0);
    assert_eq!(a["water_stress_source"], "zones");
    // charlie is outside: line_distance is left out and the other weights (8 of 9) are
    // renormalised; land is UNKNOWN and scores neutral 0.5.
    let c = by_id(&rows, "charlie");
    assert_eq!(c["line_distance_km"], "");
    assert_eq!(c["line_distance_contribution"], "");
    assert!(
        c["reasons"].contains("line_distance left out (outside the coverage of layer lines)"),
        "{}",
        c["reasons"]
    );
    let expected = (3.0 * (110.0 - 0.2 * KM_PER_DEG) / 100.0 + 1.0 + 2.0 * 0.6 + 2.0 * 0.5) / 8.0;
    assert!(
        (num(c, "score") - expected).abs() < 1e-6,
        "{} vs {expected}",
        c["score"]
    );
    // golf takes its water stress from the fallback layer, labelled with its note.
    let g = by_id(&rows, "golf");
    assert_eq!(g["water_stress_source"], "countries (fallback)");
    assert_eq!(num(g, "risk"), 2.0);
    // echo is in the sea.
    let e = by_id(&rows, "echo");
    assert!(
        e["reasons"].contains("; not on land (on_land = 0); "),
        "{}",
        e["reasons"]
    );
    assert_eq!(e["on_land"], "0");
}

/// Exact ties are ordered by the raw values of the heaviest criteria, also at the cut-off of
/// a `--top` list: not by input order.
#[test]
fn ties_at_the_top_cutoff_follow_the_tie_rule_not_input_order() {
    // Every site within 5,000 km of a plant scores exactly 1: a plateau.
    let (_p, profile) = crate::util::with_sites(
        "name = \"plateau\"\nmethod = \"weighted-sum\"\n[[criterion]]\nid = \"grid_distance\"\nlayer = \"plants\"\nmeasure = { nearest_km = { where = \"capacity_mw >= 100\" } }\nstandardise = { linear = { best = 5000.0, worst = 6000.0 } }\nweight = 1\n",
        "plateau.toml",
    );
    let (_s, sites) =
        crate::util::with_sites("id,lat,lon\nfar,0,12\nnear,0,10.3\nmid,0,11\n", "s.csv");
    for top in [None, Some("1"), Some("2")] {
        let mut cmd = crate::util::score();
        cmd.arg(&sites)
            .args(["--format", "csv", "--profile"])
            .arg(&profile);
        if let Some(n) = top {
            cmd.args(["--top", n]);
        }
        let mut rows = crate::util::run_csv(&mut cmd);
        // A full output is in input order: read it by rank.
        rows.sort_by_key(|r| r["rank"].parse::<u64>().unwrap_or(u64::MAX));
        assert_eq!(rows[0]["id"], "near", "{top:?}: {rows:?}");
        assert_eq!(rows[0]["tie_group"], "3", "{top:?}");
        if rows.len() > 1 {
            assert_eq!(rows[1]["id"], "mid", "{top:?}: {rows:?}");
        }
    }
}
