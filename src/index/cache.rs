//! Indexes shared by the criteria of one engine: the same polygons (the countries for
//! `on_land`, for the water fallback, as a coverage) are indexed once, not once per use.

use super::{LineIndex, PolygonIndex};
use crate::layers::{LayerCache, Polygon};
use std::collections::HashMap;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// A layer file and the filter applied to its features (`None`: all of them).
type Key = (PathBuf, Option<String>);

/// Built indexes by key. A builder does not wait for another thread building the same
/// index (criteria are built on rayon workers, and [`PolygonIndex::new`] uses rayon: a worker
/// blocked on a lock could hold the very job the builder waits for); both build, the first
/// to finish is kept. On two cores that rarely happens.
struct Shelf<K, T>(Mutex<HashMap<K, Arc<T>>>);

impl<K: Eq + Hash, T> Default for Shelf<K, T> {
    fn default() -> Self {
        Shelf(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + Hash + Clone, T> Shelf<K, T> {
    fn get(&self, key: K, build: impl FnOnce() -> T) -> Arc<T> {
        let lock = || self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = lock().get(&key) {
            return found.clone();
        }
        let built = Arc::new(build());
        lock().entry(key).or_insert(built).clone()
    }
}

/// Polygon and edge indexes by layer file and filter.
#[derive(Default)]
pub struct IndexCache {
    polygons: Shelf<Key, PolygonIndex>,
    edges: Shelf<Key, LazyEdges>,
    /// Where whole layers' polygon indexes are kept between runs, if anywhere.
    disk: Option<LayerCache>,
}

/// The edges of polygons (every ring as great-circle arcs), indexed on the first query: a
/// tolerance is asked only for sites outside every polygon, which a region run inside a
/// country never has, and the index of the 1:10m countries (545,000 edges) takes ~0.3 s.
pub struct LazyEdges {
    polygons: Vec<Polygon>,
    index: OnceLock<LineIndex>,
}

impl LazyEdges {
    /// The polygon (its position in the polygons given) with the nearest edge, and the
    /// great-circle distance to it in km.
    pub fn nearest(&self, lon: f64, lat: f64) -> Option<(usize, f64)> {
        // LineIndex::new uses no rayon: a thread waiting here cannot be the one to run it.
        self.index
            .get_or_init(|| LineIndex::new(&rings(&self.polygons)))
            .nearest(lon, lat)
    }
}

/// Every ring of every polygon, as the parts of one line feature per polygon.
fn rings(polygons: &[Polygon]) -> Vec<Vec<Vec<[f64; 2]>>> {
    polygons
        .iter()
        .map(|p| {
            p.rings
                .iter()
                .map(|r| r.exterior().0.iter().map(|c| [c.x, c.y]).collect())
                .collect()
        })
        .collect()
}

impl IndexCache {
    /// Indexes that keep the polygon index of a whole layer in `disk` between runs.
    pub fn with_disk(disk: LayerCache) -> Self {
        IndexCache {
            disk: Some(disk),
            ..Default::default()
        }
    }

    /// The polygon index of all of `polygons`, the features of the file at `path`: from
    /// the layer cache when it holds a valid one, else built (and then kept there).
    pub fn layer_polygons(&self, path: &Path, polygons: &[Polygon]) -> Arc<PolygonIndex> {
        let key = (path.to_path_buf(), None);
        self.polygons.get(key, || match &self.disk {
            Some(disk) => disk.polygon_index(path, polygons),
            None => PolygonIndex::new(polygons),
        })
    }

    /// The polygon index of the features of the file at `path` that `filter` keeps, built by
    /// `build` the first time.
    pub fn polygons(
        &self,
        path: &Path,
        filter: Option<&str>,
        build: impl FnOnce() -> PolygonIndex,
    ) -> Arc<PolygonIndex> {
        let key = (path.to_path_buf(), filter.map(str::to_string));
        self.polygons.get(key, build)
    }

    /// The edges (rings as great-circle arcs) of the same polygons, `polygons()`.
    pub fn edges(
        &self,
        path: &Path,
        filter: Option<&str>,
        polygons: impl FnOnce() -> Vec<Polygon>,
    ) -> Arc<LazyEdges> {
        let key = (path.to_path_buf(), filter.map(str::to_string));
        self.edges.get(key, || LazyEdges {
            polygons: polygons(),
            index: OnceLock::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_index_per_file_and_filter() {
        let cache = IndexCache::default();
        let mut builds = 0;
        let mut build = || {
            builds += 1;
            PolygonIndex::new(&[])
        };
        let a = cache.polygons(Path::new("c.geojson"), None, &mut build);
        let b = cache.polygons(Path::new("c.geojson"), None, &mut build);
        let c = cache.polygons(Path::new("c.geojson"), Some("x > 1"), &mut build);
        assert!(Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&a, &c));
        assert_eq!(builds, 2);
    }
}
