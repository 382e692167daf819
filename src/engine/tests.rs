//! The quick path must report what the explained evaluation reports, for any profile:
//! random profiles over the fixture layers with a constraint (or none) on every measure
//! kind and every missing-data policy.

use crate::layers::{LayerSet, Value};
use crate::profile::Profile;
use crate::{Engine, Status};
use proptest::prelude::*;
use std::path::Path;

/// One criterion template per measure kind over the fixture layers.
const TEMPLATES: [(&str, &str, &str); 7] = [
    (
        "layer = \"plants\"",
        "{ nearest_km = { where = \"capacity_mw >= 100\" } }",
        "{ linear = { best = 10.0, worst = 110.0 } }",
    ),
    (
        "layer = \"lines\"",
        "{ nearest_km = {} }",
        "{ linear = { best = 0.0, worst = 100.0 } }",
    ),
    (
        "layer = \"plants\"",
        "{ sum_within_km = { radius_km = 100.0, field = \"capacity_mw\" } }",
        "{ linear = { best = 1000.0, worst = 0.0 } }",
    ),
    (
        "layers = [\"zones\", \"countries\"]",
        "{ attribute = \"bws\" }",
        "{ linear = { best = 0.0, worst = 5.0 } }",
    ),
    (
        "layer = \"land\"",
        "{ raster = {} }",
        "{ linear = { best = 1000.0, worst = 10000.0 } }",
    ),
    (
        "layer = \"plants\"",
        "{ nearest_attribute = { field = \"capacity_mw\", max_km = 500.0 } }",
        "{ linear = { best = 1000.0, worst = 0.0 } }",
    ),
    (
        "layer = \"countries\"",
        "{ inside = {} }",
        "{ linear = { best = 1.0, worst = 0.0 } }",
    ),
];
const POLICIES: [&str; 4] = [
    "\"exclude\"",
    "\"neutral\"",
    "\"ignore\"",
    "{ penalty = 0.2 }",
];

/// Per template: included, weight, missing-data policy, constraint (max or min, bound).
type Choice = (bool, u8, usize, Option<(bool, f64)>);

/// A profile from per-template choices.
fn profile_text(choice: &[Choice]) -> String {
    let mut text = String::from("name = \"random\"\nunknown = \"exclude\"\n");
    let mut constraints = String::new();
    for (k, &(on, weight, policy, bound)) in choice.iter().enumerate() {
        if !on && k > 0 {
            continue;
        }
        let (layer, measure, st) = TEMPLATES[k];
        text += &format!(
            "[[criterion]]\nid = \"c{k}\"\n{layer}\nmeasure = {measure}\nstandardise = {st}\nweight = {}\nunknown = {}\n",
            1 + weight,
            POLICIES[policy]
        );
        if let Some((is_max, v)) = bound {
            let side = if is_max { "max" } else { "min" };
            constraints += &format!(
                "[[constraint]]\ncriterion = \"c{k}\"\n{side} = {v}\nreason = \"gate {k}\"\n"
            );
        }
    }
    text + &constraints
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn quick_path_equals_explained_path(
        choice in proptest::collection::vec(
            (any::<bool>(), 0u8..4, 0usize..4,
             proptest::option::of((any::<bool>(), -1.0f64..3000.0))),
            7,
        ),
        seed in any::<u64>(),
    ) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let layers = LayerSet::from_file(&dir.join("layers.toml"), Some(&dir)).unwrap();
        let text = profile_text(&choice);
        let profile = Profile::parse(&text, Path::new("random.toml")).unwrap();
        let engine = Engine::new(profile.clone(), &layers).unwrap();
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..300 {
            let (lon, lat) = match (next() * 4.0) as u32 {
                0 => (179.0 + 2.0 * next(), 2.0 * next() - 1.0),
                1 => (360.0 * next() - 180.0, 180.0 * next() - 90.0),
                _ => (8.0 + 7.0 * next(), 3.0 * next() - 1.5),
            };
            let lon = if lon > 180.0 { lon - 360.0 } else { lon };
            let q = engine.score_only(lon, lat);
            let e = engine.evaluate(lon, lat);
            prop_assert_eq!(q.status, e.status, "{} at {},{}", text, lon, lat);
            prop_assert_eq!(q.score.map(f64::to_bits), e.score.map(f64::to_bits));
            let (unknown, failed) = masks(&profile, &e);
            prop_assert_eq!(q.unknown, unknown, "{} at {},{}", text, lon, lat);
            prop_assert_eq!(q.failed, failed, "{} at {},{}", text, lon, lat);
            if q.status == Status::Excluded {
                prop_assert!(q.failed != 0);
            }
        }
    }
}

/// The UNKNOWN criteria and failed constraints of an explained evaluation, as the bit masks
/// of [`crate::engine::Quick`].
pub(crate) fn masks(profile: &Profile, e: &crate::Evaluation) -> (u64, u64) {
    let unknown = (0..e.values.len())
        .filter(|&i| e.values[i].unknown.is_some())
        .fold(0u64, |m, i| m | 1 << i);
    let failed = (0..profile.constraints.len())
        .filter(|&k| {
            let c = &profile.constraints[k];
            let i = profile.criteria.iter().position(|x| x.id() == c.criterion);
            matches!(i.map(|i| &e.values[i].raw), Some(Value::Num(v)) if !c.passes(*v))
        })
        .fold(0u64, |m, k| m | 1 << k);
    (unknown, failed)
}

/// A set-dependent method (the test-only rescaled sum: the best candidate of the set scores
/// 1) is fitted on the candidate set before scoring; a site-local one needs no fit.
#[test]
fn set_dependent_methods_are_fitted_on_the_candidate_set() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let layers = LayerSet::from_file(&dir.join("layers.toml"), Some(&dir)).unwrap();
    let text = std::fs::read_to_string(dir.join("profile.toml")).unwrap();
    let local = Engine::new(Profile::parse(&text, Path::new("p.toml")).unwrap(), &layers).unwrap();
    assert!(!local.needs_fit());
    let text = text.replace(
        "method = \"weighted-sum\"",
        "method = \"test-rescaled-sum\"",
    );
    let mut engine =
        Engine::new(Profile::parse(&text, Path::new("p.toml")).unwrap(), &layers).unwrap();
    assert!(engine.needs_fit());
    let sites: Vec<(f64, f64)> = (0..2000)
        .map(|i| {
            (
                9.0 + 5.0 * f64::from(i % 50) / 50.0,
                -1.5 + 3.0 * f64::from(i / 50) / 40.0,
            )
        })
        .collect();
    engine.fit(&sites);
    assert!(!engine.needs_fit());
    let best = sites
        .iter()
        .filter_map(|&(lon, lat)| local.score_only(lon, lat).score)
        .fold(0.0, f64::max);
    assert!(best > 0.5, "{best}");
    let mut top = 0.0f64;
    for &(lon, lat) in &sites {
        let (a, b) = (local.score_only(lon, lat), engine.score_only(lon, lat));
        assert_eq!(a.status, b.status);
        if let (Some(x), Some(y)) = (a.score, b.score) {
            assert!((x / best - y).abs() < 1e-12, "{x} {y}");
            top = top.max(y);
        }
        let e = engine.evaluate(lon, lat);
        assert_eq!(e.score.map(f64::to_bits), b.score.map(f64::to_bits));
    }
    assert!((top - 1.0).abs() < 1e-12, "{top}");
}

/// Loading in parallel cannot deadlock: twelve criteria share the compressed raster (whose
/// cache entry is decoded on two threads inside the once-only load of the layer) and the
/// polygon layers (whose indexes are built with rayon and kept in the cache), built on
/// rayon pools of one and two threads with a cold, then a warm cache. Each engine must be
/// ready within a minute, and score as one built without the cache.
#[test]
fn parallel_loading_through_a_cold_cache_does_not_deadlock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for f in [
        "layers.toml",
        "plants.csv",
        "lines.geojson",
        "zones.geojson",
        "countries.geojson",
    ] {
        std::fs::copy(root.join(f), data.join(f)).unwrap();
    }
    std::fs::copy(root.join("raster/land-deflate.tif"), data.join("land.tif")).unwrap();
    let mut text = String::from("name = \"shared\"\nunknown = \"neutral\"\n");
    for k in 0..12 {
        let (layer, measure, standardise) = TEMPLATES[[4, 3, 6][k % 3]];
        text += &format!(
            "[[criterion]]\nid = \"c{k}\"\n{layer}\nmeasure = {measure}\nstandardise = {standardise}\nweight = 1\n"
        );
    }
    let profile = Profile::parse(&text, Path::new("shared.toml")).unwrap();
    let sites: Vec<(f64, f64)> = (0..400)
        .map(|i| (9.0 + 0.015 * f64::from(i), -1.2 + 0.006 * f64::from(i)))
        .collect();
    let scores = |e: &Engine| -> Vec<Option<f64>> {
        sites
            .iter()
            .map(|&(lon, lat)| e.score_only(lon, lat).score)
            .collect()
    };
    let plain = LayerSet::from_file(&data.join("layers.toml"), Some(&data)).unwrap();
    let want = scores(&Engine::new(profile.clone(), &plain).unwrap());
    for threads in [1, 2, 4] {
        let cache = tmp.path().join(format!("cache-{threads}"));
        for round in ["cold", "warm"] {
            let set = LayerSet::from_file(&data.join("layers.toml"), Some(&data))
                .unwrap()
                .with_cache(crate::layers::LayerCache::new(cache.clone()));
            let profile = profile.clone();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let _ = tx.send(pool.install(|| Engine::new(profile, &set)));
            });
            let engine = rx
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("{threads} threads, {round} cache: no engine in 60 s"))
                .unwrap();
            assert_eq!(scores(&engine), want, "{threads} threads, {round} cache");
        }
    }
}
