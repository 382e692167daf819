//! Decision methods end to end: TOPSIS and set-relative standardisations recomputed here
//! from the sub-scores and raw values a run writes (independently of the library), AHP
//! weights as derived, the streaming (`--top`) and full paths agreeing, and the refusals.

use super::util::{fixtures, on_fixtures, run_csv, run_ok};
use std::collections::HashMap;
use std::path::Path;

const CRITERIA: [&str; 5] = [
    "grid_distance",
    "grid_capacity",
    "line_distance",
    "water_stress",
    "land_cost",
];
/// The fixture profile's weights (3, 1, 1, 2, 2), normalised.
const WEIGHTS: [f64; 5] = [3.0 / 9.0, 1.0 / 9.0, 1.0 / 9.0, 2.0 / 9.0, 2.0 / 9.0];

/// The fixture profile with `edit` applied, written into `dir`.
fn profile(dir: &Path, edit: &dyn Fn(String) -> String) -> std::path::PathBuf {
    let text = std::fs::read_to_string(fixtures().join("profile.toml")).unwrap();
    let path = dir.join("p.toml");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

/// 400 seeded sites over the fixture layers (some outside them: unknown or excluded).
fn sites(dir: &Path) -> std::path::PathBuf {
    let mut x: u64 = 0x5eed;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut text = String::from("id,lon,lat\n");
    for i in 0..400 {
        text.push_str(&format!(
            "s{i},{:.4},{:.4}\n",
            8.0 + 7.0 * next(),
            -2.0 + 4.0 * next()
        ));
    }
    let path = dir.join("sites.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {:?}", row[col]))
}

/// `standort score SITES` on the fixture layers with `profile`.
fn score_with(profile: &Path, sites: impl AsRef<std::ffi::OsStr>) -> assert_cmd::Command {
    let mut cmd = on_fixtures("score");
    cmd.arg("--profile").arg(profile).arg(sites);
    cmd
}

fn scored(profile: &Path, sites: &Path, extra: &[&str]) -> Vec<HashMap<String, String>> {
    run_csv(
        score_with(profile, sites)
            .args(["--format", "csv", "-q"])
            .args(extra),
    )
}

#[test]
fn topsis_equals_closeness_recomputed_from_the_sub_scores() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), &|t| t.replace("weighted-sum", "topsis"));
    let rows = scored(&p, &sites(dir.path()), &[]);
    let ok: Vec<&HashMap<String, String>> = rows.iter().filter(|r| r["status"] == "ok").collect();
    assert!(ok.len() > 50, "{} ok sites", ok.len());
    let sub = |r: &HashMap<String, String>, j: usize| num(r, &format!("{}_score", CRITERIA[j]));
    let best: Vec<f64> = (0..5)
        .map(|j| ok.iter().map(|r| sub(r, j)).fold(f64::MIN, f64::max))
        .collect();
    let worst: Vec<f64> = (0..5)
        .map(|j| ok.iter().map(|r| sub(r, j)).fold(f64::MAX, f64::min))
        .collect();
    for r in &ok {
        let d = |target: &[f64]| {
            (0..5)
                .map(|j| (WEIGHTS[j] * (sub(r, j) - target[j])).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let closeness = d(&worst) / (d(&best) + d(&worst));
        assert!(
            (num(r, "score") - closeness).abs() < 2e-5,
            "{}: {} vs {closeness}",
            r["id"],
            r["score"]
        );
    }
    // The JSON output says how the scores were formed, and that they depend on the set.
    let json = run_ok(score_with(&p, sites(dir.path())).args(["--format", "json", "-q"]));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let how = v["standort"]["aggregation"].as_str().unwrap();
    assert!(
        how.contains(&format!("ideal of the {} candidates", ok.len()))
            && how.contains("set-dependent"),
        "{how}"
    );
    // The streaming path (--top: the ideals from a first pass) gives the same scores.
    let top = scored(&p, &sites(dir.path()), &["--top", "10"]);
    let by_id: HashMap<&str, &str> = rows
        .iter()
        .map(|r| (r["id"].as_str(), r["score"].as_str()))
        .collect();
    assert_eq!(top.len(), 10);
    for r in &top {
        assert_eq!(by_id[r["id"].as_str()], r["score"], "{}", r["id"]);
    }
}

/// numpy's default percentile (linear between closest ranks).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p / 100.0;
    let k = h.floor() as usize;
    let next = sorted.get(k + 1).copied().unwrap_or(sorted[k]);
    sorted[k] + (h - k as f64) * (next - sorted[k])
}

#[test]
fn percentile_bounds_come_from_the_run_sites() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), &|t| {
        t.replace(
            "standardise = { linear = { best = 10.0, worst = 110.0 } }",
            "standardise = { percentile = { low = 10, high = 90, best = \"low\" } }",
        )
    });
    let s = sites(dir.path());
    let rows = scored(&p, &s, &[]);
    // The candidates: sites that pass every constraint (excluded ones do not count).
    let mut known: Vec<f64> = rows
        .iter()
        .filter(|r| !r["grid_distance_km"].is_empty() && r["status"] != "excluded")
        .map(|r| num(r, "grid_distance_km"))
        .collect();
    known.sort_by(f64::total_cmp);
    let (lo, hi) = (percentile(&known, 10.0), percentile(&known, 90.0));
    assert!(hi - lo > 10.0, "{lo} {hi}");
    assert!(rows.iter().any(|r| r["status"] == "excluded"));
    for r in rows.iter().filter(|r| !r["grid_distance_score"].is_empty()) {
        let x = num(r, "grid_distance_km");
        let expected = ((hi - x) / (hi - lo)).clamp(0.0, 1.0);
        // Raw values are written to the metre: allow for that rounding.
        assert!(
            (num(r, "grid_distance_score") - expected).abs() < 1e-4,
            "{}: {x} km scored {} (bounds {lo}..{hi})",
            r["id"],
            r["grid_distance_score"]
        );
    }
    // The summary reports the bounds.
    let out = run_ok(score_with(&p, &s).args(["--format", "csv"]));
    let err = String::from_utf8(out.stderr).unwrap();
    let note = format!(
        "standardised on these sites: grid_distance: percentile 10-90 of {} values:",
        known.len()
    );
    assert!(err.contains(&note), "{err}");
}

#[test]
fn ahp_weights_reach_the_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), &|t| {
        let no_weights: String = t
            .lines()
            .filter(|l| !l.starts_with("weight ="))
            .map(|l| format!("{l}\n"))
            .collect();
        no_weights
            + "[ahp]\nmatrix = [\n  [1, 3, 3, \"3/2\", \"3/2\"],\n  [\"1/3\", 1, 1, \"1/2\", \"1/2\"],\n  [\"1/3\", 1, 1, \"1/2\", \"1/2\"],\n  [\"2/3\", 2, 2, 1, 1],\n  [\"2/3\", 2, 2, 1, 1],\n]\n"
    });
    // A consistent matrix from the weights 3, 1, 1, 2, 2: the same weights, CR 0.
    let check = run_ok(
        assert_cmd::Command::cargo_bin("standort")
            .unwrap()
            .args(["profiles", "--check"])
            .arg(&p),
    );
    let text = String::from_utf8(check.stdout).unwrap();
    assert!(text.contains("grid_distance              0.3333"), "{text}");
    assert!(text.contains("CR 0.0000 (consistent"), "{text}");
    let with_ahp = scored(&p, &fixtures().join("sites.csv"), &[]);
    let given = scored(
        &fixtures().join("profile.toml"),
        &fixtures().join("sites.csv"),
        &[],
    );
    for (a, b) in with_ahp.iter().zip(&given) {
        assert_eq!(a["id"], b["id"]);
        if b["status"] == "ok" {
            assert!((num(a, "score") - num(b, "score")).abs() < 1e-6, "{a:?}");
        }
    }
}

#[test]
fn every_built_in_method_profile_checks() {
    for name in [
        "ai-campus-ahp",
        "ai-campus-topsis",
        "ai-campus-owa",
        "ai-campus-product",
        "ai-campus-fuzzy",
    ] {
        let out = run_ok(
            assert_cmd::Command::cargo_bin("standort")
                .unwrap()
                .args(["profiles", "--check", name]),
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.starts_with(&format!("profile {name}: method ")),
            "{text}"
        );
    }
}

#[test]
fn set_dependent_profiles_refuse_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), &|t| t.replace("weighted-sum", "topsis"));
    let out = score_with(&p, "-")
        .write_stdin("id,lon,lat\na,10,0\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("scores each site against the others (method topsis): give a file"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn every_site_local_method_scores_the_fixture_sites() {
    let dir = tempfile::tempdir().unwrap();
    for (method, section) in [
        ("weighted-product", ""),
        ("owa", "[owa]\norness = 0.3\n"),
        ("owa", "[owa]\norder_weights = [0.1, 0.1, 0.2, 0.3, 0.3]\n"),
        ("fuzzy", "[fuzzy]\noperator = \"and\"\n"),
    ] {
        let p = profile(dir.path(), &|t| t.replace("weighted-sum", method) + section);
        let rows = scored(&p, &fixtures().join("sites.csv"), &[]);
        let alpha = rows.iter().find(|r| r["id"] == "alpha").unwrap();
        assert_eq!(alpha["status"], "ok");
        // Contributions add up to the total for every method.
        let sum: f64 = CRITERIA
            .iter()
            .map(|c| num(alpha, &format!("{c}_contribution")))
            .sum();
        assert!(
            (sum - num(alpha, "score")).abs() < 1e-5,
            "{method}: {alpha:?}"
        );
        if method == "fuzzy" {
            let lowest = CRITERIA
                .iter()
                .map(|c| num(alpha, &format!("{c}_score")))
                .fold(f64::MAX, f64::min);
            assert_eq!(num(alpha, "score"), lowest);
        }
    }
}

#[test]
fn set_dependent_runs_are_identical_for_1_and_2_threads() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), &|t| {
        t.replace("weighted-sum", "topsis").replace(
            "standardise = { linear = { best = 10.0, worst = 110.0 } }",
            "standardise = { min_max = { best = \"low\" } }",
        )
    });
    let s = sites(dir.path());
    let run = |j: &str| run_ok(score_with(&p, &s).args(["--format", "csv", "-q", "-j", j])).stdout;
    let one = run("1");
    assert!(one.len() > 1000);
    assert_eq!(one, run("2"));
}

#[test]
fn sensitivity_works_with_set_dependent_methods() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), &|t| t.replace("weighted-sum", "topsis"));
    let out = run_ok(score_with(&p, sites(dir.path())).args(["--top", "5", "--sensitivity", "20"]));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("sensitivity: 20 draws of the weights"),
        "{err}"
    );
    assert!(
        err.contains("scores: TOPSIS closeness to the ideal of the"),
        "{err}"
    );
}

#[test]
fn a_missing_ahp_pair_names_the_section_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), &|t| {
        let no_weights: String = t
            .lines()
            .filter(|l| !l.starts_with("weight ="))
            .map(|l| format!("{l}\n"))
            .collect();
        no_weights + "[ahp]\npairs = [[\"grid_distance\", \"land_cost\", 3]]\n"
    });
    let out = score_with(&p, fixtures().join("sites.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    let line = std::fs::read_to_string(&p)
        .unwrap()
        .lines()
        .position(|l| l == "[ahp]")
        .unwrap()
        + 1;
    assert!(
        err.starts_with(&format!("error: {}:{line}: [ahp] misses the comparison of \"grid_distance\" and \"grid_capacity\"", p.display())),
        "{err}"
    );
}

#[test]
fn set_dependent_regions_are_identical_for_1_and_2_threads() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), &|t| {
        t.replace("weighted-sum", "topsis").replace(
            "standardise = { linear = { best = 10.0, worst = 110.0 } }",
            "standardise = { percentile = { low = 5, high = 95, best = \"low\" } }",
        ) + "[topsis]\nnormalise = \"vector\"\n"
    });
    let run = |j: &str| {
        let out = dir.path().join(format!("cells_{j}.geojson"));
        let mut cmd = on_fixtures("region");
        cmd.arg("--profile")
            .arg(&p)
            .args(["--bbox", "9,-1,14,1", "--cell", "0.02", "-q", "-j", j, "-o"])
            .arg(&out);
        run_ok(&mut cmd);
        std::fs::read(out).unwrap()
    };
    let one = run("1");
    let text = String::from_utf8_lossy(&one);
    assert!(
        text.contains("vector-normalised") && text.contains("percentile 5-95 of"),
        "{}",
        &text[..text.len().min(2000)]
    );
    assert_eq!(one, run("2"));
}

#[test]
fn region_table_under_fuzzy_overlay_shows_who_takes_part() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), &|t| {
        t.replace("weighted-sum", "fuzzy")
            .replace("weight = 1\n", "weight = 0\n")
    });
    let out = run_ok(on_fixtures("region").arg("--profile").arg(&p).args([
        "--bbox",
        "9,-1,14,1",
        "--cell",
        "0.5",
    ]));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("takes part; fuzzy overlay is unweighted"),
        "{text}"
    );
    assert!(
        text.contains("grid_distance") && text.contains("(yes)"),
        "{text}"
    );
    assert!(text.contains("(no)"), "{text}");
    assert!(
        text.contains("scores    fuzzy gamma 0.9: fuzzy sum^0.9 x fuzzy product^0.1"),
        "{text}"
    );
}
