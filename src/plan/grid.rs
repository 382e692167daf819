//! Grid headroom: what each power plant offers new large loads, and what campuses have
//! drawn from it.
//!
//! Each plant offers `headroom_share × capacity_mw`. A campus draws from the plants within
//! the interconnection distance, nearest first (equal distances: the plant listed first);
//! what it draws is gone for every later campus.

use crate::index::PointIndex;

/// A power plant that campuses may draw from.
#[derive(Debug, Clone, PartialEq)]
pub struct Plant {
    /// Longitude, degrees.
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Name (or the row number when it has none).
    pub name: String,
    /// Country, ISO 3166-1 alpha-3.
    pub country: String,
    /// Nameplate capacity, MW.
    pub capacity_mw: f64,
}

/// What one campus draws from one plant.
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    /// Index of the plant in [`Headroom::plants`].
    pub plant: usize,
    /// MW drawn.
    pub mw: f64,
    /// Great-circle distance from the campus to the plant, km.
    pub km: f64,
}

/// The plants and their remaining headroom.
pub struct Headroom {
    plants: Vec<Plant>,
    index: PointIndex,
    offered_mw: Vec<f64>,
    left_mw: Vec<f64>,
    total_left_mw: f64,
    reach_km: f64,
}

/// Below this many MW a plant's headroom counts as used up (float dust from subtraction).
const DUST_MW: f64 = 1e-9;

impl Headroom {
    /// Plants offering `share` of their capacity within `reach_km` of a campus.
    pub fn new(plants: Vec<Plant>, share: f64, reach_km: f64) -> Headroom {
        let points: Vec<(f64, f64)> = plants.iter().map(|p| (p.lon, p.lat)).collect();
        let offered_mw: Vec<f64> = plants
            .iter()
            .map(|p| p.capacity_mw.max(0.0) * share)
            .collect();
        Headroom {
            index: PointIndex::new(&points),
            total_left_mw: offered_mw.iter().sum(),
            left_mw: offered_mw.clone(),
            offered_mw,
            plants,
            reach_km,
        }
    }

    /// The plants.
    pub fn plants(&self) -> &[Plant] {
        &self.plants
    }

    /// What plant `i` offered at the start, MW.
    pub fn offered_mw(&self, i: usize) -> f64 {
        self.offered_mw[i]
    }

    /// What plant `i` has left, MW.
    pub fn left_mw(&self, i: usize) -> f64 {
        self.left_mw[i]
    }

    /// What all plants have left, MW.
    pub fn total_left_mw(&self) -> f64 {
        self.total_left_mw
    }

    /// The plants within reach of (lon, lat) that have headroom left, nearest first, with
    /// their distance in km.
    pub fn reachable(&self, lon: f64, lat: f64) -> Vec<(usize, f64)> {
        let mut found = Vec::new();
        self.index
            .for_each_within(lon, lat, self.reach_km, |i, km| {
                if self.left_mw[i] > DUST_MW {
                    found.push((i, km));
                }
            });
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found
    }

    /// Headroom left within reach of (lon, lat), MW.
    pub fn reachable_mw(&self, reach: &[(usize, f64)]) -> f64 {
        reach.iter().map(|&(i, _)| self.left_mw[i]).sum()
    }

    /// Draw `mw` from the plants of `reach` (nearest first), as far as they have it.
    pub fn draw(&mut self, reach: &[(usize, f64)], mut mw: f64) -> Vec<Draw> {
        let mut draws = Vec::new();
        for &(i, km) in reach {
            if mw <= DUST_MW {
                break;
            }
            let take = self.left_mw[i].min(mw);
            if take <= DUST_MW {
                continue;
            }
            self.left_mw[i] -= take;
            if self.left_mw[i] <= DUST_MW {
                self.left_mw[i] = 0.0;
            }
            self.total_left_mw -= take;
            mw -= take;
            draws.push(Draw {
                plant: i,
                mw: take,
                km,
            });
        }
        draws
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plant(lon: f64, capacity_mw: f64) -> Plant {
        Plant {
            lon,
            lat: 0.0,
            name: format!("p{lon}"),
            country: "XXX".into(),
            capacity_mw,
        }
    }

    #[test]
    fn nearest_first_and_used_up() {
        // 0.5 degrees on the equator is 55.6 km: both plants within 100 km of lon 0.25.
        let mut h = Headroom::new(vec![plant(0.0, 1000.0), plant(0.5, 500.0)], 0.2, 100.0);
        let reach = h.reachable(0.1, 0.0);
        assert_eq!(reach.iter().map(|r| r.0).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(h.reachable_mw(&reach), 300.0);
        let d = h.draw(&reach, 250.0);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].plant, d[0].mw), (0, 200.0));
        assert_eq!((d[1].plant, d[1].mw), (1, 50.0));
        assert_eq!(h.left_mw(0), 0.0);
        assert_eq!(h.left_mw(1), 50.0);
        assert_eq!(h.total_left_mw(), 50.0);
        // Plant 0 is used up: no longer reachable.
        assert_eq!(h.reachable(0.1, 0.0), vec![(1, reach[1].1)]);
    }

    #[test]
    fn reach_is_great_circle_across_the_antimeridian() {
        let h = Headroom::new(vec![plant(179.9, 100.0)], 1.0, 50.0);
        // 0.2 degrees of longitude at the equator: 22.2 km across 180.
        let r = h.reachable(-179.9, 0.0);
        assert_eq!(r.len(), 1);
        assert!((r[0].1 - 0.2 * crate::geodesy::EARTH_RADIUS_KM.to_radians()).abs() < 1e-6);
    }
}
