use super::*;
use proptest::prelude::*;

/// Carbon 400 g/kWh and one water unit everywhere.
struct Flat;
impl Locate for Flat {
    fn place(&self, lon: f64, _lat: f64) -> Place {
        Place {
            carbon_g_per_kwh: Some(400.0),
            carbon_source: Some("test"),
            water_unit: Some(if lon < 0.0 { "WEST" } else { "EAST" }.into()),
        }
    }
}

fn plant(lon: f64, lat: f64, capacity_mw: f64) -> Plant {
    Plant {
        lon,
        lat,
        name: format!("plant at {lon},{lat}"),
        country: "XXX".into(),
        capacity_mw,
    }
}

fn params(share: f64) -> PlanParams {
    let mut p = PlanParams::default_params();
    p.headroom_share.value = share;
    p.pue.value = 1.3;
    p.campus_mw.value = 100.0;
    p
}

fn options(target_mw: Option<f64>, spacing: f64) -> Options {
    Options {
        target_mw,
        min_spacing_km: spacing,
        allow_partial: false,
        min_partial_mw: 10.0,
    }
}

fn candidate(id: u64, lon: f64, lat: f64, score: f64) -> Candidate {
    Candidate {
        id,
        lon,
        lat,
        score,
    }
}

fn run(
    cands: &[Candidate],
    plants: Vec<Plant>,
    p: &PlanParams,
    o: &Options,
    budgets: &WaterBudgets,
) -> Plan {
    let h = Headroom::new(plants, p.headroom_share.value, p.interconnect_km.value);
    build_out(cands, CandidateCounts::default(), h, (p, o), &Flat, budgets)
}

/// The hand-computed case: plants of 1,000 and 500 MW offering 20% = 300 MW; a 100 MW
/// campus at PUE 1.3 draws 130 MW: two campuses (260 MW), the third refused for headroom.
#[test]
fn two_plants_host_exactly_two_campuses() {
    let plants = vec![plant(0.0, 0.0, 1000.0), plant(0.3, 0.0, 500.0)];
    // Three candidates 0.1 degrees (11.1 km) apart, all within 100 km of both plants.
    let cands = [
        candidate(1, 0.1, 0.0, 0.9),
        candidate(2, 0.2, 0.0, 0.8),
        candidate(3, 0.15, 0.05, 0.7),
    ];
    let plan = run(
        &cands,
        plants,
        &params(0.2),
        &options(None, 5.0),
        &WaterBudgets::new(),
    );
    assert_eq!(plan.campuses.len(), 2);
    assert_eq!(plan.total_mw(), 200.0);
    let first = &plan.campuses[0];
    // Nearest first: plant 0 (11.1 km) gives its 200 MW... minus nothing: 130 MW.
    assert_eq!(first.draws.len(), 1);
    assert_eq!((first.draws[0].plant, first.draws[0].mw), (0, 130.0));
    let second = &plan.campuses[1];
    // From 0.2: plant 1 at 0.3 is 11.1 km, plant 0 at 0.0 is 22.2 km: 100 from plant 1
    // would be its whole 100 MW offer, then 30 from plant 0.
    assert_eq!(
        second
            .draws
            .iter()
            .map(|d| (d.plant, d.mw))
            .collect::<Vec<_>>(),
        vec![(1, 100.0), (0, 30.0)]
    );
    assert!((plan.headroom.total_left_mw() - 40.0).abs() < 1e-9);
    assert_eq!(plan.refused.grid_headroom, 1);
    assert_eq!(plan.stop, Resource::GridHeadroom);
    assert_eq!(plan.stop.describe(), "grid headroom exhausted");
    // 100 MW × 8,760 h × 0.8 × 1.3 = 911.04 GWh; × 400 g/kWh = 364,416 t.
    assert!((first.energy_gwh - 911.04).abs() < 1e-9);
    assert!((first.carbon_t.unwrap() - 364_416.0).abs() < 1e-6);
    assert_eq!(second.binding, Resource::GridHeadroom);
}

#[test]
fn partial_campuses_take_what_is_left() {
    let plants = vec![plant(0.0, 0.0, 1000.0), plant(0.3, 0.0, 500.0)];
    let cands = [
        candidate(1, 0.1, 0.0, 0.9),
        candidate(2, 0.2, 0.0, 0.8),
        candidate(3, 0.15, 0.05, 0.7),
    ];
    let mut o = options(None, 5.0);
    o.allow_partial = true;
    let plan = run(&cands, plants, &params(0.2), &o, &WaterBudgets::new());
    assert_eq!(plan.campuses.len(), 3);
    // 40 MW of headroom left = 30.77 MW of IT load at PUE 1.3.
    assert!((plan.campuses[2].it_mw - 40.0 / 1.3).abs() < 1e-9);
    assert_eq!(plan.campuses[2].binding, Resource::GridHeadroom);
    assert!(plan.headroom.total_left_mw().abs() < 1e-9);
}

#[test]
fn the_target_and_the_spacing_stop_it() {
    let plants = vec![plant(0.0, 0.0, 100_000.0)];
    let cands: Vec<Candidate> = (0..10)
        .map(|k| candidate(k, 0.05 * k as f64, 0.0, 1.0 - 0.01 * k as f64))
        .collect();
    let plan = run(
        &cands,
        plants.clone(),
        &params(1.0),
        &options(Some(250.0), 0.0),
        &WaterBudgets::new(),
    );
    assert_eq!(plan.campuses.len(), 3, "250 MW needs three 100 MW campuses");
    assert_eq!(plan.stop, Resource::Target);
    // 5.56 km apart: a 12 km spacing keeps every third one.
    let plan = run(
        &cands,
        plants,
        &params(1.0),
        &options(None, 12.0),
        &WaterBudgets::new(),
    );
    let ids: Vec<u64> = plan.campuses.iter().map(|c| c.site.id).collect();
    assert_eq!(ids, vec![0, 3, 6, 9]);
    assert_eq!(plan.stop, Resource::Spacing);
    assert_eq!(plan.refused.spacing, 6);
}

#[test]
fn water_budgets_cap_a_unit() {
    let plants = vec![plant(0.0, 0.0, 100_000.0)];
    let cands: Vec<Candidate> = (0..4)
        .map(|k| candidate(k, -0.3 + 0.2 * k as f64, 0.0, 1.0 - 0.1 * k as f64))
        .collect();
    // One campus uses 1,261,440 m³/yr: WEST (two candidates) may take one.
    let budgets: WaterBudgets = [("WEST".to_string(), 2_000_000.0)].into_iter().collect();
    let plan = run(&cands, plants, &params(1.0), &options(None, 0.0), &budgets);
    let ids: Vec<u64> = plan.campuses.iter().map(|c| c.site.id).collect();
    assert_eq!(ids, vec![0, 2, 3]);
    assert_eq!(plan.refused.water_budget, 1);
    let west = plan.water.iter().find(|w| w.unit == "WEST").unwrap();
    assert_eq!(west.budget_m3, Some(2_000_000.0));
    assert!((west.m3 - 1_261_440.0).abs() < 1e-6);
    assert_eq!(plan.campuses[0].binding, Resource::WaterBudget);
}

/// Plants (lon, lat, MW) and candidates (lon, lat, score).
type Case = (Vec<(f64, f64, f64)>, Vec<(f64, f64, f64)>);

fn arb_case() -> impl Strategy<Value = Case> {
    let plants = prop::collection::vec((-3.0..3.0f64, -3.0..3.0f64, 1.0..2000.0f64), 1..12);
    let cands = prop::collection::vec((-3.0..3.0f64, -3.0..3.0f64, 0.0..1.0f64), 0..60);
    (plants, cands)
}

fn case_plan((plants, cands): &Case, target: Option<f64>, spacing: f64, partial: bool) -> Plan {
    let plants: Vec<Plant> = plants.iter().map(|&(x, y, c)| plant(x, y, c)).collect();
    let mut cs: Vec<Candidate> = cands
        .iter()
        .enumerate()
        .map(|(k, &(x, y, s))| candidate(k as u64, x, y, s))
        .collect();
    cs.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    let mut o = options(target, spacing);
    o.allow_partial = partial;
    run(&cs, plants, &params(0.3), &o, &WaterBudgets::new())
}

proptest! {
    #[test]
    fn no_plant_gives_more_than_its_headroom(case in arb_case(), partial: bool) {
        let plan = case_plan(&case, None, 30.0, partial);
        let mut given = vec![0.0; plan.headroom.plants().len()];
        for c in &plan.campuses {
            for d in &c.draws {
                given[d.plant] += d.mw;
                prop_assert!(d.km <= plan.params.interconnect_km.value);
            }
            prop_assert!((c.grid_mw() - c.it_mw * plan.params.pue.value).abs() < 1e-6);
        }
        for (i, g) in given.iter().enumerate() {
            prop_assert!(*g <= plan.headroom.offered_mw(i) + 1e-6);
            prop_assert!((plan.headroom.left_mw(i) - (plan.headroom.offered_mw(i) - g)).abs() < 1e-6);
        }
    }

    #[test]
    fn more_target_never_places_less(case in arb_case(), t in 0.0..3000.0f64, more in 0.0..3000.0f64, partial: bool) {
        let a = case_plan(&case, Some(t.max(1.0)), 20.0, partial).total_mw();
        let b = case_plan(&case, Some(t.max(1.0) + more), 20.0, partial).total_mw();
        let max = case_plan(&case, None, 20.0, partial).total_mw();
        prop_assert!(a <= b + 1e-9 && b <= max + 1e-9, "{a} {b} {max}");
    }

    #[test]
    fn spacing_is_respected(case in arb_case(), spacing in 0.0..200.0f64) {
        let plan = case_plan(&case, None, spacing, false);
        for (i, a) in plan.campuses.iter().enumerate() {
            for b in &plan.campuses[..i] {
                let km = great_circle_km(a.site.lon, a.site.lat, b.site.lon, b.site.lat);
                prop_assert!(km >= spacing, "{km} < {spacing}");
            }
        }
    }
}
