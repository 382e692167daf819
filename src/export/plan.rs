//! Writers of capacity plans and of the sovereignty table: terminal table, CSV, JSON,
//! GeoJSON (campuses as points, optionally lines to the plants they draw from; countries as
//! a choropleth), and the supply curve (cumulative MW against score) as CSV.

use super::{round, score_colour};
use crate::layers::{Geometry, Layer, Polygon};
use crate::plan::sovereignty::CountryRow;
use crate::plan::{Campus, Options, Param, Plan, PlanParams};
use serde_json::{Value as Json, json};
use std::io::{self, Write};

/// The plants a campus draws from: "Name 130 MW @ 11.1 km; ..." (at most `max` listed).
fn draws_text(plan: &Plan, c: &Campus, max: usize) -> String {
    let plants = plan.headroom.plants();
    let mut parts: Vec<String> = c
        .draws
        .iter()
        .take(max)
        .map(|d| format!("{} {:.0} MW @ {:.1} km", plants[d.plant].name, d.mw, d.km))
        .collect();
    if c.draws.len() > max {
        parts.push(format!("+{} more", c.draws.len() - max));
    }
    parts.join("; ")
}

/// The CSV/table columns of a campus.
pub const PLAN_COLUMNS: &[&str] = &[
    "rank",
    "lon",
    "lat",
    "it_mw",
    "score",
    "grid_mw",
    "drawn_from",
    "cumulative_mw",
    "energy_gwh_per_yr",
    "water_m3_per_yr",
    "carbon_g_per_kwh",
    "carbon_source",
    "co2_t_per_yr",
    "water_unit",
    "binding",
];

fn campus_values(plan: &Plan, c: &Campus, max_draws: usize) -> Vec<String> {
    let opt = |x: Option<f64>, d: usize| x.map_or(String::new(), |v| format!("{v:.d$}"));
    vec![
        c.rank.to_string(),
        format!("{:.5}", c.site.lon),
        format!("{:.5}", c.site.lat),
        format!("{:.1}", c.it_mw),
        format!("{:.4}", c.site.score),
        format!("{:.1}", c.grid_mw()),
        draws_text(plan, c, max_draws),
        format!("{:.1}", c.cumulative_mw),
        format!("{:.1}", c.energy_gwh),
        format!("{:.0}", c.water_m3),
        opt(c.place.carbon_g_per_kwh, 1),
        c.place.carbon_source.unwrap_or("").to_string(),
        opt(c.carbon_t, 0),
        c.place.water_unit.clone().unwrap_or_default(),
        c.binding.label().to_string(),
    ]
}

/// The campuses as CSV (every plant a campus draws from is listed).
pub fn write_plan_csv(w: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    let mut out = ::csv::Writer::from_writer(w);
    out.write_record(PLAN_COLUMNS)?;
    for c in &plan.campuses {
        out.write_record(campus_values(plan, c, usize::MAX))?;
    }
    out.flush()
}

/// The campuses as an aligned text table (at most `rows`, then a count of the rest).
pub fn write_plan_table(w: &mut dyn Write, plan: &Plan, rows: usize) -> io::Result<()> {
    let shown = [0, 1, 2, 3, 4, 6, 7, 8, 9, 12, 14];
    let table: Vec<Vec<String>> = plan
        .campuses
        .iter()
        .take(rows)
        .map(|c| {
            let v = campus_values(plan, c, 2);
            shown.iter().map(|&k| v[k].clone()).collect()
        })
        .collect();
    let head: Vec<&str> = [
        "#",
        "lon",
        "lat",
        "MW",
        "score",
        "drawn from",
        "cum MW",
        "GWh/yr",
        "water m3/yr",
        "t CO2/yr",
        "binding",
    ]
    .to_vec();
    let widths: Vec<usize> = (0..head.len())
        .map(|k| {
            table
                .iter()
                .map(|r| r[k].chars().count())
                .chain([head[k].len()])
                .max()
                .unwrap_or(0)
                .min(60)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, &wd)| {
                let c: String = c.chars().take(wd).collect();
                format!("{c:<wd$}")
            })
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    writeln!(w, "{}", line(head.iter().map(|s| s.to_string()).collect()))?;
    for r in table {
        writeln!(w, "{}", line(r))?;
    }
    if plan.campuses.len() > rows {
        writeln!(w, "... and {} more campuses", plan.campuses.len() - rows)?;
    }
    Ok(())
}

/// The supply curve: for each campus in build order, its score and the cumulative MW.
pub fn write_supply_curve(w: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    writeln!(w, "rank,score,it_mw,cumulative_mw,cumulative_gwh_per_yr")?;
    let mut gwh = 0.0;
    for c in &plan.campuses {
        gwh += c.energy_gwh;
        writeln!(
            w,
            "{},{:.6},{:.3},{:.3},{:.3}",
            c.rank, c.site.score, c.it_mw, c.cumulative_mw, gwh
        )?;
    }
    Ok(())
}

fn param_json(p: &Param) -> Json {
    json!({ "value": p.value, "reason": p.reason, "source": p.source })
}

/// Planning parameters (each with its reason and source) and build-out options, as JSON.
pub fn parameters_json(p: &PlanParams, o: &Options) -> Json {
    json!({
        "campus_mw": param_json(&p.campus_mw),
        "pue": param_json(&p.pue),
        "headroom_share": param_json(&p.headroom_share),
        "interconnect_km": param_json(&p.interconnect_km),
        "water_l_per_kwh": param_json(&p.water_l_per_kwh),
        "utilisation": param_json(&p.utilisation),
        "target_mw": o.target_mw,
        "min_spacing_km": o.min_spacing_km,
        "allow_partial": o.allow_partial,
        "min_partial_mw": o.allow_partial.then_some(o.min_partial_mw),
    })
}

/// The plan's parameters, totals, stop reason, refusals and water, as JSON.
pub fn plan_summary_json(plan: &Plan) -> Json {
    let c = &plan.campuses;
    let sum = |f: &dyn Fn(&Campus) -> Option<f64>| c.iter().filter_map(f).sum::<f64>();
    json!({
        "parameters": parameters_json(&plan.params, &plan.options),
        "campuses": c.len(),
        "it_mw": round(plan.total_mw(), 3),
        "grid_mw": round(sum(&|x| Some(x.grid_mw())), 3),
        "energy_gwh_per_yr": round(sum(&|x| Some(x.energy_gwh)), 3),
        "water_m3_per_yr": round(sum(&|x| Some(x.water_m3)), 0),
        "co2_t_per_yr": round(sum(&|x| x.carbon_t), 0),
        "campuses_without_carbon_intensity": c.iter().filter(|x| x.carbon_t.is_none()).count(),
        "stop": plan.stop.label(),
        "stop_reason": plan.stop.describe(),
        "refused": {
            "spacing": plan.refused.spacing,
            "grid_headroom": plan.refused.grid_headroom,
            "water_budget": plan.refused.water_budget,
        },
        "candidates": {
            "offered": plan.counts.offered,
            "ok": plan.counts.ok,
            "below_min_score": plan.counts.below_min_score,
            "boundary_conflict": plan.counts.boundary_conflict,
        },
        "plants": plan.headroom.plants().len(),
        "capacity_mw": round(plan.headroom.plants().iter().map(|p| p.capacity_mw).sum(), 1),
        "headroom_offered_mw": round((0..plan.headroom.plants().len()).map(|i| plan.headroom.offered_mw(i)).sum(), 1),
        "headroom_left_mw": round(plan.headroom.total_left_mw(), 1),
        "water": plan.water.iter().map(|u| json!({
            "unit": u.unit, "m3_per_yr": round(u.m3, 0), "budget_m3_per_yr": u.budget_m3,
        })).collect::<Vec<_>>(),
    })
}

fn campus_json(plan: &Plan, c: &Campus) -> Json {
    let plants = plan.headroom.plants();
    json!({
        "rank": c.rank,
        "lon": round(c.site.lon, 6),
        "lat": round(c.site.lat, 6),
        "it_mw": round(c.it_mw, 3),
        "score": round(c.site.score, 6),
        "grid_mw": round(c.grid_mw(), 3),
        "drawn_from": c.draws.iter().map(|d| json!({
            "plant": plants[d.plant].name, "mw": round(d.mw, 3), "km": round(d.km, 3),
            "lon": plants[d.plant].lon, "lat": plants[d.plant].lat,
        })).collect::<Vec<_>>(),
        "cumulative_mw": round(c.cumulative_mw, 3),
        "energy_gwh_per_yr": round(c.energy_gwh, 3),
        "water_m3_per_yr": round(c.water_m3, 0),
        "carbon_g_per_kwh": c.place.carbon_g_per_kwh,
        "carbon_source": c.place.carbon_source,
        "co2_t_per_yr": c.carbon_t.map(|t| round(t, 0)),
        "water_unit": c.place.water_unit,
        "binding": c.binding.label(),
    })
}

/// One JSON document: `head` (region, profile, ...), the summary and every campus.
pub fn write_plan_json(w: &mut dyn Write, plan: &Plan, head: Json) -> io::Result<()> {
    let doc = json!({
        "plan": head,
        "summary": plan_summary_json(plan),
        "campuses": plan.campuses.iter().map(|c| campus_json(plan, c)).collect::<Vec<_>>(),
    });
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}

/// The campuses as GeoJSON points (simplestyle-coloured by score).
pub fn write_plan_geojson(w: &mut dyn Write, plan: &Plan, head: Json) -> io::Result<()> {
    let mut features = Vec::new();
    for c in &plan.campuses {
        let mut props = campus_json(plan, c);
        let obj = props.as_object_mut().expect("an object");
        obj.remove("lon");
        obj.remove("lat");
        obj.insert("marker-color".into(), json!(score_colour(c.site.score)));
        obj.insert(
            "title".into(),
            json!(format!("campus {} ({:.0} MW)", c.rank, c.it_mw)),
        );
        features.push(json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [round(c.site.lon, 6), round(c.site.lat, 6)] },
            "properties": props,
        }));
    }
    let doc = json!({
        "type": "FeatureCollection",
        "plan": head,
        "summary": plan_summary_json(plan),
        "features": features,
    });
    serde_json::to_writer(&mut *w, &doc)?;
    writeln!(w)
}

/// A line from each campus to each plant it draws from, as GeoJSON (a file of its own: one
/// geometry type per layer, as GIS tools want).
pub fn write_plan_lines_geojson(w: &mut dyn Write, plan: &Plan) -> io::Result<()> {
    let features: Vec<Json> = plan
        .campuses
        .iter()
        .flat_map(|c| draw_lines(plan, c))
        .collect();
    let doc = json!({ "type": "FeatureCollection", "features": features });
    serde_json::to_writer(&mut *w, &doc)?;
    writeln!(w)
}

/// Lines from a campus to the plants it draws from (split at the antimeridian when the
/// short way crosses it, as RFC 7946 asks).
fn draw_lines(plan: &Plan, c: &Campus) -> Vec<Json> {
    let plants = plan.headroom.plants();
    c.draws
        .iter()
        .map(|d| {
            let p = &plants[d.plant];
            let (a, b) = ([c.site.lon, c.site.lat], [p.lon, p.lat]);
            let geometry = if (a[0] - b[0]).abs() > 180.0 {
                let (w, e) = if a[0] < b[0] { (a, b) } else { (b, a) };
                // Latitude where the segment meets ±180, on the unwrapped line.
                let t = (w[0] + 180.0) / (w[0] + 360.0 - e[0]);
                let lat = w[1] + (e[1] - w[1]) * t;
                json!({ "type": "MultiLineString", "coordinates": [
                    [w, [-180.0, lat]], [[180.0, lat], e],
                ]})
            } else {
                json!({ "type": "LineString", "coordinates": [a, b] })
            };
            json!({
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "campus": c.rank, "plant": p.name, "mw": round(d.mw, 3), "km": round(d.km, 3),
                    "stroke": "#555555", "stroke-width": 1,
                },
            })
        })
        .collect()
}

/// The sovereignty table's columns.
pub const COUNTRY_COLUMNS: &[&str] = &[
    "rank",
    "code",
    "country",
    "mw_hostable",
    "campuses",
    "capacity_mw",
    "share_of_capacity_drawn",
    "twh_per_yr",
    "water_hm3_per_yr",
    "co2_mt_per_yr",
    "mean_score",
    "binding",
];

fn country_values(rank: usize, r: &CountryRow) -> Vec<String> {
    vec![
        rank.to_string(),
        r.code.clone(),
        r.name.clone(),
        format!("{:.0}", r.mw),
        r.campuses.to_string(),
        format!("{:.0}", r.capacity_mw),
        r.share_drawn().map_or(String::new(), |s| format!("{s:.4}")),
        format!("{:.2}", r.twh),
        format!("{:.2}", r.water_hm3),
        format!("{:.2}", r.mt_co2),
        r.mean_score.map_or(String::new(), |s| format!("{s:.3}")),
        r.binding.label().to_string(),
    ]
}

/// The sovereignty table as CSV.
pub fn write_countries_csv(w: &mut dyn Write, rows: &[CountryRow]) -> io::Result<()> {
    let mut out = ::csv::Writer::from_writer(w);
    out.write_record(COUNTRY_COLUMNS)?;
    for (k, r) in rows.iter().enumerate() {
        out.write_record(country_values(k + 1, r))?;
    }
    out.flush()
}

/// The sovereignty table as aligned text (the first `n` rows).
pub fn write_countries_table(w: &mut dyn Write, rows: &[CountryRow], n: usize) -> io::Result<()> {
    writeln!(
        w,
        "{:>3}  {:<30} {:>9} {:>5} {:>10} {:>7} {:>8} {:>9} {:>8} {:>6}  binding",
        "#",
        "country / state",
        "MW",
        "camp",
        "gen. MW",
        "drawn",
        "TWh/yr",
        "water hm3",
        "Mt CO2",
        "score"
    )?;
    for (k, r) in rows.iter().take(n).enumerate() {
        let name: String = r.name.chars().take(30).collect();
        writeln!(
            w,
            "{:>3}  {:<30} {:>9.0} {:>5} {:>10.0} {:>7} {:>8.1} {:>9.1} {:>8.2} {:>6}  {}",
            k + 1,
            name,
            r.mw,
            r.campuses,
            r.capacity_mw,
            r.share_drawn()
                .map_or("-".into(), |s| format!("{:.1}%", s * 100.0)),
            r.twh,
            r.water_hm3,
            r.mt_co2,
            r.mean_score.map_or("-".into(), |s| format!("{s:.3}")),
            r.binding.label()
        )?;
    }
    if rows.len() > n {
        writeln!(w, "... and {} more rows", rows.len() - n)?;
    }
    Ok(())
}

fn country_json(rank: usize, r: &CountryRow) -> Json {
    json!({
        "rank": rank,
        "code": r.code,
        "country": r.name,
        "mw_hostable": round(r.mw, 3),
        "campuses": r.campuses,
        "capacity_mw": round(r.capacity_mw, 1),
        "drawn_mw": round(r.drawn_mw, 3),
        "share_of_capacity_drawn": r.share_drawn().map(|s| round(s, 6)),
        "twh_per_yr": round(r.twh, 4),
        "water_hm3_per_yr": round(r.water_hm3, 4),
        "co2_mt_per_yr": round(r.mt_co2, 4),
        "campuses_without_carbon_intensity": r.carbon_unknown,
        "mean_score": r.mean_score.map(|s| round(s, 6)),
        "binding": r.binding.label(),
        "candidates": r.candidates,
    })
}

/// The sovereignty table as one JSON document.
pub fn write_countries_json(w: &mut dyn Write, rows: &[CountryRow], head: Json) -> io::Result<()> {
    let doc = json!({
        "sovereignty": head,
        "countries": rows.iter().enumerate().map(|(k, r)| country_json(k + 1, r)).collect::<Vec<_>>(),
    });
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}

/// The polygons of each country of a `countries` layer (field `iso_a3`), by code.
pub fn country_shapes(countries: &Layer) -> Vec<(String, Vec<Polygon>)> {
    let Geometry::Polygons(polys) = &countries.geometry else {
        return Vec::new();
    };
    let Some(col) = countries.attributes.field_index("iso_a3") else {
        return Vec::new();
    };
    let mut by_code: std::collections::BTreeMap<String, Vec<Polygon>> = Default::default();
    for p in polys {
        let code = countries.attributes.get(p.row, col).to_string();
        by_code.entry(code).or_default().push(p.clone());
    }
    by_code.into_iter().collect()
}

/// The choropleth: each row's polygons (from `shapes`, by code) as one MultiPolygon, filled
/// by MW hostable on a logarithmic viridis ramp (simplestyle; grey for none), with the row's
/// figures as properties. Rows without shapes are left out.
pub fn write_countries_geojson(
    w: &mut dyn Write,
    rows: &[CountryRow],
    shapes: &[(String, Vec<Polygon>)],
    head: Json,
) -> io::Result<()> {
    let max_mw = rows.iter().map(|r| r.mw).fold(0.0, f64::max);
    let mut features = Vec::new();
    for (k, r) in rows.iter().enumerate() {
        let parts: Vec<Json> = shapes
            .iter()
            .filter(|(code, _)| *code == r.code)
            .flat_map(|(_, polys)| polys.iter().flat_map(rfc7946_parts))
            .map(|rings| json!(rings))
            .collect();
        if parts.is_empty() {
            continue;
        }
        let mut props = country_json(k + 1, r);
        // log10(1 + MW) over log10(1 + max): every order of magnitude is a step of colour.
        let t = if max_mw > 0.0 {
            (1.0 + r.mw).log10() / (1.0 + max_mw).log10()
        } else {
            0.0
        };
        let colour = if r.mw > 0.0 {
            score_colour(t)
        } else {
            "#d9d9d9".into()
        };
        let o = props.as_object_mut().expect("an object");
        o.insert("fill".into(), json!(colour));
        o.insert("fill-opacity".into(), json!(0.8));
        o.insert("stroke".into(), json!("#444444"));
        o.insert("stroke-width".into(), json!(0.5));
        o.insert("title".into(), json!(format!("{}: {:.0} MW", r.name, r.mw)));
        features.push(json!({
            "type": "Feature",
            "geometry": { "type": "MultiPolygon", "coordinates": parts },
            "properties": props,
        }));
    }
    let doc = json!({ "type": "FeatureCollection", "sovereignty": head, "features": features });
    serde_json::to_writer(&mut *w, &doc)?;
    writeln!(w)
}

/// A ring's positions, unwrapped longitudes.
type Ring = Vec<[f64; 2]>;

/// A repaired polygon (unwrapped longitudes, which may pass ±180°) as RFC 7946 polygons:
/// the parts beyond ±180° cut off at the antimeridian and moved back by 360°.
fn rfc7946_parts(p: &Polygon) -> Vec<Vec<Ring>> {
    let rings: Vec<Ring> = p
        .rings
        .iter()
        .map(|r| r.exterior().coords().map(|c| [c.x, c.y]).collect())
        .collect();
    let mut parts = Vec::new();
    for (lo, hi, shift) in [
        (-540.0, -180.0, 360.0),
        (-180.0, 180.0, 0.0),
        (180.0, 540.0, -360.0),
    ] {
        if p.bbox[2] <= lo || p.bbox[0] >= hi {
            continue;
        }
        let clipped: Vec<Ring> = rings
            .iter()
            .map(|r| clip_x(&clip_x(r, lo, true), hi, false))
            .map(|r| {
                r.iter()
                    .map(|q| [round(q[0] + shift, 6), round(q[1], 6)])
                    .collect::<Ring>()
            })
            .collect();
        if clipped.first().is_none_or(|e| e.len() < 4) {
            continue;
        }
        parts.push(clipped.into_iter().filter(|r| r.len() >= 4).collect());
    }
    parts
}

/// Sutherland-Hodgman: the part of closed ring `r` with x >= `x` (`keep_above`) or x <= `x`,
/// closed again.
fn clip_x(r: &[[f64; 2]], x: f64, keep_above: bool) -> Ring {
    let inside = |p: &[f64; 2]| if keep_above { p[0] >= x } else { p[0] <= x };
    let cross = |a: &[f64; 2], b: &[f64; 2]| {
        let t = (x - a[0]) / (b[0] - a[0]);
        [x, a[1] + (b[1] - a[1]) * t]
    };
    let mut out: Ring = Vec::with_capacity(r.len());
    for w in r.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        match (inside(a), inside(b)) {
            (true, true) => out.push(*b),
            (true, false) => out.push(cross(a, b)),
            (false, true) => {
                out.push(cross(a, b));
                out.push(*b);
            }
            (false, false) => {}
        }
    }
    if let (Some(&f), Some(&l)) = (out.first(), out.last()) {
        if f != l {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_polygon_across_the_antimeridian_is_cut_there() {
        let ring = vec![
            [170.0, 0.0],
            [190.0, 0.0],
            [190.0, 10.0],
            [170.0, 10.0],
            [170.0, 0.0],
        ];
        let p = crate::layers::repair_polygon(&[ring], 0).unwrap();
        let parts = rfc7946_parts(&p);
        assert_eq!(parts.len(), 2, "{parts:?}");
        for part in &parts {
            for q in &part[0] {
                assert!((-180.0..=180.0).contains(&q[0]), "{q:?}");
            }
        }
        let xs = |k: usize| parts[k][0].iter().map(|q| q[0]).fold(f64::NAN, f64::max);
        assert_eq!(xs(0), 180.0);
        assert_eq!(xs(1), -170.0);
    }

    #[test]
    fn clipping_keeps_a_closed_ring() {
        let r = vec![[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0], [0.0, 0.0]];
        let c = clip_x(&r, 2.0, false);
        assert_eq!(c.first(), c.last());
        assert!(c.iter().all(|q| q[0] <= 2.0));
        assert_eq!(c.len(), 5);
    }
}
