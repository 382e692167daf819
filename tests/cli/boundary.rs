//! One boundary truth per answer, on tests/fixtures/boundary: the state "North" of Alpha
//! (water stress 2) reaches from longitude 10 to 12, into Beta (water stress 4) by the
//! countries layer. Also: ambiguous region names and tie reporting.

use crate::util::{by_id, fixtures, num, on_fixture_set, run_csv, run_ok};
use assert_cmd::Command;
use serde_json::Value as Json;

/// `standort SUBCOMMAND` on the boundary fixture.
fn boundary(subcommand: &str) -> Command {
    on_fixture_set(&fixtures().join("boundary"), subcommand)
}

fn region_json(args: &[&str]) -> Json {
    let out = run_ok(
        boundary("region")
            .args(args)
            .args(["--format", "json", "-q"]),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn state_values_apply_only_where_the_country_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let sites = dir.path().join("s.csv");
    // In North and Alpha; in North's outline but in Beta; in South; in Beta only.
    std::fs::write(&sites, "id,lon,lat\nn,5,7\nsliver,11,7\ns,5,2\nb,15,7\n").unwrap();
    let rows = run_csv(boundary("score").arg(&sites).args(["--format", "csv"]));
    let water = |id: &str| num(by_id(&rows, id), "water_stress");
    assert_eq!(water("n"), 2.0);
    assert_eq!(
        water("sliver"),
        4.0,
        "a Beta site never takes North's value"
    );
    assert_eq!(water("s"), 3.0);
    assert_eq!(water("b"), 4.0);
    assert_eq!(by_id(&rows, "sliver")["water_stress_source"], "countries");
}

#[test]
fn a_state_region_uses_its_data_outline_kept_to_its_country() {
    // North resolves through the states layer (0..12 x 5..10, which `subdivides` Alpha),
    // not admin1's outline (0..9): 60 cells of 1 degree, of which the 10 east of 10 are in
    // Beta by the countries layer and left out.
    let s = region_json(&["North", "--cell", "1"]);
    assert_eq!(s["cells"], 50, "{s}");
    assert_eq!(s["boundary"]["cells_left_out"], 10, "{s}");
    assert!(
        s["region"]
            .as_str()
            .unwrap()
            .contains("outline from layer states")
    );
    // Every kept cell takes North's own value: score 1 - 2/5.
    assert_eq!(s["top"][0]["score"], 0.6);
}

#[test]
fn a_country_region_counts_where_the_layers_disagree() {
    // Beta: 100 cells; the 10 in 10..12 x 5..10 are in North by the states layer.
    let s = region_json(&["BBB", "--cell", "1"]);
    assert_eq!(s["cells"], 100);
    assert_eq!(s["boundary"]["cells_in_conflict"], 10, "{s}");
    let by = &s["boundary"]["conflicts_by_criterion"][0];
    assert_eq!(
        (&by["criterion"], &by["cells"]),
        (&"water_stress".into(), &10.into())
    );
    // All of Beta is valued from the countries layer: 1 - 4/5 everywhere.
    assert!(
        s["top"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["score"] == 0.2),
        "{s}"
    );
}

#[test]
fn ties_are_reported_with_their_size_and_ordered_north_west_first() {
    // Every cell of Beta scores exactly 0.2: the top list says it is 10 of 100 tied cells,
    // listed north-west first (the rule's last resort: every raw value is equal).
    let s = region_json(&["BBB", "--cell", "1", "--min-spacing-km", "0"]);
    let top = s["top"].as_array().unwrap();
    assert!(top.iter().all(|t| t["tie_group"] == 100), "{s}");
    assert_eq!(
        (&top[0]["lon"], &top[0]["lat"]),
        (&10.5.into(), &9.5.into())
    );
    assert_eq!(
        (&top[1]["lon"], &top[1]["lat"]),
        (&11.5.into(), &9.5.into())
    );
    let out = run_ok(boundary("region").args(["BBB", "--cell", "1", "-q"]));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("ranks 1-10 are 10 of 100 cells scoring exactly 0.200000"),
        "{text}"
    );
}

#[test]
fn ambiguous_names_list_every_candidate() {
    // "Alpha" is a country (AAA) and a province of Beta.
    let out = boundary("region").args(["alpha", "-q"]).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("ambiguous")
            && err.contains("Alpha (AAA, country)")
            && err.contains("Alpha (BBB)"),
        "{err}"
    );
    // The country's code, or "name, CCC", picks one.
    assert_eq!(region_json(&["AAA", "--cell", "1"])["cells"], 100);
    let unit = region_json(&["Alpha, BBB", "--cell", "1"]);
    assert_eq!(unit["cells"], 50, "{unit}");
}
