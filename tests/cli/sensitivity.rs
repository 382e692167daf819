//! `--sensitivity`: rank stability under seeded draws of the weights (fixtures).

use crate::util::{fixtures, num, on_fixtures, run_csv, run_ok, score};

fn sites() -> std::path::PathBuf {
    fixtures().join("sites.csv")
}

#[test]
fn the_same_seed_gives_the_same_answer_on_any_thread_count() {
    let run = |j: &str, seed: &str| {
        run_ok(score().arg(sites()).args([
            "--format",
            "csv",
            "--sensitivity",
            "300",
            "--seed",
            seed,
            "-j",
            j,
        ]))
        .stdout
    };
    let one = String::from_utf8(run("1", "7")).unwrap();
    assert!(
        one == String::from_utf8(run("2", "7")).unwrap(),
        "1 and 2 threads differ"
    );
    assert!(
        one.lines()
            .next()
            .unwrap()
            .ends_with("rank_mean,rank_p05,rank_p95,p_top_10")
    );
}

#[test]
fn intervals_hold_the_mean_and_the_base_rank() {
    let rows = run_csv(
        score()
            .arg(sites())
            .args(["--format", "csv", "--sensitivity", "500"]),
    );
    let ranked: Vec<_> = rows.iter().filter(|r| !r["rank"].is_empty()).collect();
    assert!(ranked.len() >= 3, "{rows:?}");
    for r in &ranked {
        let (mean, lo, hi, p) = (
            num(r, "rank_mean"),
            num(r, "rank_p05"),
            num(r, "rank_p95"),
            num(r, "p_top_10"),
        );
        // The mean may lie outside the 5-95% interval (a few far draws), never outside 1..n.
        assert!(
            lo <= hi && mean >= 1.0 && mean <= ranked.len() as f64,
            "{r:?}"
        );
        assert!((1.0..=ranked.len() as f64).contains(&lo), "{r:?}");
        assert!((0.0..=1.0).contains(&p), "{r:?}");
    }
    // Sites that are not ok are not ranked, so they have no interval.
    for r in rows.iter().filter(|r| r["rank"].is_empty()) {
        assert!(r["rank_mean"].is_empty(), "{r:?}");
    }
}

#[test]
fn without_spread_every_draw_is_the_profile() {
    // Spread 0: each draw has the profile's weights, so each site keeps its own rank.
    let rows = run_csv(score().arg(sites()).args([
        "--format",
        "csv",
        "--sensitivity",
        "50",
        "--spread",
        "0",
        "--top",
        "2",
    ]));
    for r in &rows {
        let rank = num(r, "rank");
        assert_eq!(num(r, "rank_p05"), rank, "{r:?}");
        assert_eq!(num(r, "rank_p95"), rank, "{r:?}");
        assert_eq!(num(r, "rank_mean"), rank, "{r:?}");
        assert_eq!(num(r, "p_top_2"), 1.0, "{r:?}");
    }
}

#[test]
fn region_top_sites_carry_their_stability() {
    let out = run_ok(on_fixtures("region").args([
        "--bbox",
        "9,-2,14,2",
        "--cell",
        "0.5",
        "--sensitivity",
        "100",
        "--spread",
        "0",
        "--format",
        "json",
        "-q",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sensitivity"]["draws"], 100, "{v}");
    let top = v["top"].as_array().unwrap();
    assert!(!top.is_empty(), "{v}");
    for t in top {
        // Without spread each draw picks the same list: every site keeps its place.
        assert_eq!(t["sensitivity"]["rank_p05"], t["rank"], "{t}");
        assert_eq!(t["sensitivity"]["rank_p95"], t["rank"], "{t}");
        assert_eq!(t["sensitivity"]["p_top_k"], 1.0, "{t}");
    }
}

#[test]
fn bad_sensitivity_arguments_are_usage_errors() {
    for args in [
        vec!["--sensitivity", "0"],
        vec!["--sensitivity", "10", "--spread", "1"],
        vec!["--sensitivity", "10", "--spread", "-0.1"],
        vec!["--spread", "0.1"],
    ] {
        let out = score().arg(sites()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let out = score()
        .arg("-")
        .args(["--sensitivity", "10"])
        .write_stdin("id,lat,lon\na,0,10\n")
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("give a file, not stdin"), "{err}");
}
