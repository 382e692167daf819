//! The layer cache: layers as read from their files (points, lines, repaired polygons and
//! their attributes; a compressed raster's decoded pixels), kept in a compact binary form so
//! that a later run with the same files skips parsing and decoding them.
//!
//! An entry is one file in the cache directory, named by the layer file's path and how it
//! is read. It starts with a header: the source file's size, modification time and content
//! hash (xxh3), and the hash of the entry's own payload. An entry is used only when all of
//! them match: a changed source, or an entry cut short or altered, is rebuilt from the
//! source, never trusted. Entries are written to a temporary file and renamed, so readers see
//! a whole entry or none, and several runs may share the directory.
//!
//! Vector payloads are `postcard`-encoded; a raster's payload is its grid (postcard) and then
//! its pixels as little-endian float32, 8-byte aligned, which later runs map and sample in
//! place.

use super::raster::RasterGrid;
use super::{Attributes, Geometry, PointFeature, Polygon, Raster, Read};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

const MAGIC: &[u8; 16] = b"standort-layer\x00\x01";
/// Magic, source size, mtime (ns), hash, kind, meta length, payload hash.
const HEADER_BYTES: usize = 16 + 6 * 8;
const KIND_VECTOR: u64 = 1;
const KIND_RASTER: u64 = 2;
/// Rasters larger than this many decoded bytes are not kept (they are sampled from their
/// source a tile at a time instead).
const MAX_RASTER_BYTES: usize = 2 << 30;
/// When the entries take more than this many bytes, the oldest are removed as a new one is
/// written (`STANDORT_CACHE_MAX_MB` sets another limit).
const DEFAULT_MAX_BYTES: u64 = 8 << 30;

/// What the cache did for a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Read from a valid entry.
    Hit,
    /// Read from the source, and an entry written for next time.
    Built,
    /// Read from the source; this layer is not worth keeping (an uncompressed raster is
    /// already read in place) or its entry could not be written.
    Skipped,
}

/// A cache directory.
#[derive(Debug, Clone)]
pub struct LayerCache {
    dir: PathBuf,
}

/// The source file as the entry header records it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Source {
    len: u64,
    mtime_ns: u64,
    hash: u64,
}

#[derive(Serialize)]
enum GeometryOut<'a> {
    Points(&'a [PointFeature]),
    Lines(&'a [Vec<Vec<[f64; 2]>>]),
    Polygons(&'a [Polygon]),
}

#[derive(Deserialize)]
enum GeometryIn {
    Points(Vec<PointFeature>),
    Lines(Vec<Vec<Vec<[f64; 2]>>>),
    Polygons(Vec<Polygon>),
}

#[derive(Serialize)]
struct VectorOut<'a> {
    geometry: GeometryOut<'a>,
    attributes: &'a Attributes,
    warnings: &'a [String],
}

#[derive(Deserialize)]
struct VectorIn {
    geometry: GeometryIn,
    attributes: Attributes,
    warnings: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct RasterMeta {
    grid: RasterGrid,
    warnings: Vec<String>,
}

impl LayerCache {
    /// A cache in `dir` (created when the first entry is written).
    pub fn new(dir: PathBuf) -> Self {
        LayerCache { dir }
    }

    /// The default directory: `$STANDORT_CACHE_DIR`, else `$XDG_CACHE_HOME/standort`, else
    /// `~/.cache/standort`; `None` when none of them is set.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        var("STANDORT_CACHE_DIR")
            .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("standort")))
            .or_else(|| var("HOME").map(|d| d.join(".cache").join("standort")))
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The layer read from `path` as `how` describes, from a valid entry, else by `load`
    /// (and then kept for next time when it is worth it).
    pub(crate) fn read(
        &self,
        path: &Path,
        how: &str,
        load: impl FnOnce() -> Result<Read>,
    ) -> Result<(Read, CacheOutcome)> {
        let source = Source::of(path)?;
        let entry = self.entry_path(path, how);
        if let Some(read) = open_entry(&entry, source) {
            return Ok((read, CacheOutcome::Hit));
        }
        let read = load()?;
        match self.write_entry(&entry, source, &read) {
            // A raster is then sampled from its new entry, already decoded, rather than
            // decoded again tile by tile.
            Ok(true) if matches!(read.0, Geometry::Raster(_)) => {
                let again = open_entry(&entry, source);
                Ok((again.unwrap_or(read), CacheOutcome::Built))
            }
            Ok(true) => Ok((read, CacheOutcome::Built)),
            Ok(false) | Err(_) => Ok((read, CacheOutcome::Skipped)),
        }
    }

    fn entry_path(&self, path: &Path, how: &str) -> PathBuf {
        let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let key = format!(
            "{}\0{how}\0{}\0gdal={}",
            full.display(),
            env!("CARGO_PKG_VERSION"),
            cfg!(feature = "gdal")
        );
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("layer");
        self.dir
            .join(format!("{stem}-{:016x}.layer", xxh3_64(key.as_bytes())))
    }

    /// Write the entry for `read`; false when it is not worth keeping.
    fn write_entry(&self, entry: &Path, source: Source, read: &Read) -> std::io::Result<bool> {
        let (geometry, attributes, warnings) = read;
        let (kind, meta, pixels) = match geometry {
            Geometry::Raster(r) => {
                if r.width() * r.height() * 4 > MAX_RASTER_BYTES {
                    return Ok(false);
                }
                let Some((grid, pixels)) = r.decoded_for_cache() else {
                    return Ok(false);
                };
                let meta = RasterMeta {
                    grid,
                    warnings: warnings.clone(),
                };
                (KIND_RASTER, postcard::to_stdvec(&meta), Some(pixels))
            }
            g => {
                let geometry = match g {
                    Geometry::Points(p) => GeometryOut::Points(p),
                    Geometry::Lines(l) => GeometryOut::Lines(l),
                    Geometry::Polygons(p) => GeometryOut::Polygons(p),
                    Geometry::Raster(_) => unreachable!("matched above"),
                };
                let out = VectorOut {
                    geometry,
                    attributes,
                    warnings,
                };
                (KIND_VECTOR, postcard::to_stdvec(&out), None)
            }
        };
        let meta = meta.map_err(std::io::Error::other)?;
        std::fs::create_dir_all(&self.dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        write_payload(tmp.as_file_mut(), kind, source, &meta, pixels.as_deref())?;
        tmp.persist(entry).map_err(|e| e.error)?;
        self.prune(entry);
        Ok(true)
    }

    /// Remove the oldest entries (by when they were written) until the cache is within its
    /// size limit, keeping `keep`.
    fn prune(&self, keep: &Path) {
        let limit = std::env::var("STANDORT_CACHE_MAX_MB")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(DEFAULT_MAX_BYTES, |mb| mb << 20);
        self.prune_to(limit, keep);
    }

    fn prune_to(&self, limit: u64, keep: &Path) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = dir
            .filter_map(|e| {
                let e = e.ok()?;
                let path = e.path();
                let meta = e.metadata().ok()?;
                let ours = path.extension().is_some_and(|x| x == "layer") && meta.is_file();
                Some((meta.modified().ok()?, meta.len(), path)).filter(|_| ours)
            })
            .collect();
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        entries.sort();
        for (_, len, path) in entries {
            if total <= limit {
                break;
            }
            if path != keep && std::fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }
}

/// Padding after the meta block so that the pixels start 8-byte aligned in the file.
fn padding(meta_len: usize) -> usize {
    (8 - (HEADER_BYTES + meta_len) % 8) % 8
}

fn write_payload(
    file: &mut std::fs::File,
    kind: u64,
    source: Source,
    meta: &[u8],
    pixels: Option<&[f32]>,
) -> std::io::Result<()> {
    let pad = [0u8; 8];
    let pad = &pad[..padding(meta.len())];
    let pixel_bytes = |p: &[f32]| -> Vec<u8> { p.iter().flat_map(|v| v.to_le_bytes()).collect() };
    let mut hash = Xxh3::new();
    hash.update(meta);
    if let Some(p) = pixels {
        hash.update(pad);
        for block in p.chunks(1 << 16) {
            hash.update(&pixel_bytes(block));
        }
    }
    let mut w = std::io::BufWriter::new(file);
    w.write_all(MAGIC)?;
    for v in [
        source.len,
        source.mtime_ns,
        source.hash,
        kind,
        meta.len() as u64,
        hash.digest(),
    ] {
        w.write_all(&v.to_le_bytes())?;
    }
    w.write_all(meta)?;
    if let Some(p) = pixels {
        w.write_all(pad)?;
        for block in p.chunks(1 << 16) {
            w.write_all(&pixel_bytes(block))?;
        }
    }
    // No fsync: an entry torn by a crash fails its hash and is rebuilt.
    w.flush()
}

/// The layer in the entry at `path`, when it is whole and was made from `source`.
fn open_entry(path: &Path, source: Source) -> Option<Read> {
    let file = std::fs::File::open(path).ok()?;
    let map = crate::mapped::map(&file, path).ok()??;
    let word = |k: usize| -> u64 {
        let at = 16 + 8 * k;
        u64::from_le_bytes(map[at..at + 8].try_into().unwrap_or_default())
    };
    if map.len() < HEADER_BYTES || &map[..16] != MAGIC {
        return None;
    }
    let recorded = Source {
        len: word(0),
        mtime_ns: word(1),
        hash: word(2),
    };
    let (kind, meta_len) = (word(3), usize::try_from(word(4)).ok()?);
    let meta_end = HEADER_BYTES.checked_add(meta_len)?;
    if recorded != source || meta_end > map.len() || xxh3_64(&map[HEADER_BYTES..]) != word(5) {
        return None;
    }
    let meta = &map[HEADER_BYTES..meta_end];
    match kind {
        KIND_VECTOR if meta_end == map.len() => {
            let v: VectorIn = postcard::from_bytes(meta).ok()?;
            let geometry = match v.geometry {
                GeometryIn::Points(p) => Geometry::Points(p),
                GeometryIn::Lines(l) => Geometry::Lines(l),
                GeometryIn::Polygons(p) => Geometry::Polygons(p),
            };
            Some((geometry, v.attributes, v.warnings))
        }
        KIND_RASTER => {
            let m: RasterMeta = postcard::from_bytes(meta).ok()?;
            let start = meta_end + padding(meta_len);
            let count = m.grid.width.checked_mul(m.grid.height)?;
            if start.checked_add(count.checked_mul(4)?)? != map.len() {
                return None;
            }
            let raster = Raster::from_map(&m.grid, map, start).ok()?;
            let geometry = Geometry::Raster(std::sync::Arc::new(raster));
            Some((geometry, Attributes::default(), m.warnings))
        }
        _ => None,
    }
}

impl Source {
    /// Size, modification time and content hash of the file at `path`.
    fn of(path: &Path) -> Result<Source> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
        let meta = file.metadata().map_err(|e| Error::io(path, &e))?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        let hash = match crate::mapped::map(&file, path)? {
            Some(map) => xxh3_64(&map),
            None => xxh3_64(&std::fs::read(path).map_err(|e| Error::io(path, &e))?),
        };
        Ok(Source {
            len: meta.len(),
            mtime_ns,
            hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Layer, LayerSet};

    const FILES: [&str; 6] = [
        "layers.toml",
        "plants.csv",
        "lines.geojson",
        "zones.geojson",
        "countries.geojson",
        "land.tif",
    ];
    const LAYERS: [&str; 5] = ["plants", "lines", "zones", "countries", "land"];

    /// The CLI fixtures in a temporary directory, with the land raster compressed (so that
    /// the cache keeps it), and an empty cache directory beside them.
    fn fixtures() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir(&data).unwrap();
        for f in FILES {
            std::fs::copy(root.join(f), data.join(f)).unwrap();
        }
        std::fs::copy(root.join("raster/land-deflate.tif"), data.join("land.tif")).unwrap();
        let cache = tmp.path().join("cache");
        (tmp, data, cache)
    }

    fn set(data: &Path, cache: Option<&Path>) -> LayerSet {
        let set = LayerSet::from_file(&data.join("layers.toml"), Some(data)).unwrap();
        match cache {
            Some(c) => set.with_cache(LayerCache::new(c.to_path_buf())),
            None => set,
        }
    }

    /// What a layer holds, comparable: its vector geometry and attributes, or a raster's
    /// samples on a fine grid.
    fn fingerprint(layer: &Layer) -> String {
        match &layer.geometry {
            Geometry::Raster(r) => {
                let [w, s, e, n] = r.bounds();
                let samples: Vec<Option<f64>> = (0..=40)
                    .flat_map(|i| (0..=40).map(move |j| (i, j)))
                    .map(|(i, j)| {
                        let lon = w + (e - w) * f64::from(i) / 40.0;
                        let lat = s + (n - s) * f64::from(j) / 40.0;
                        r.sample(lon, lat)
                    })
                    .collect();
                format!("{:?} {samples:?} {:?}", r.bounds(), layer.warnings)
            }
            g => format!("{g:?} {:?} {:?}", layer.attributes, layer.warnings),
        }
    }

    /// Every kind of layer read through the cache (built, then from the entry) equals the
    /// layer read from its file.
    #[test]
    fn cached_layers_equal_their_sources() {
        let (_tmp, data, cache) = fixtures();
        let plain = set(&data, None);
        let cached = set(&data, Some(&cache));
        for name in LAYERS {
            let want = fingerprint(&plain.load(name).unwrap());
            assert_eq!(cached.index(name).unwrap(), CacheOutcome::Built, "{name}");
            assert_eq!(cached.index(name).unwrap(), CacheOutcome::Hit, "{name}");
            assert_eq!(fingerprint(&cached.load(name).unwrap()), want, "{name}");
        }
        // An uncompressed raster is read in place: nothing to keep.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        std::fs::copy(root.join("land.tif"), data.join("land.tif")).unwrap();
        assert_eq!(cached.index("land").unwrap(), CacheOutcome::Skipped);
    }

    /// A source changed after its entry was made (same size, new content) is read again.
    #[test]
    fn a_changed_source_is_read_again() {
        let (_tmp, data, cache) = fixtures();
        let cached = set(&data, Some(&cache));
        assert_eq!(cached.index("zones").unwrap(), CacheOutcome::Built);
        let path = data.join("zones.geojson");
        let text = std::fs::read_to_string(&path).unwrap();
        let changed = text.replacen("\"Green\"", "\"Olive\"", 1);
        assert_ne!(changed, text, "the fixture names a zone Green");
        std::fs::write(&path, &changed).unwrap();
        assert_eq!(cached.index("zones").unwrap(), CacheOutcome::Built);
        let layer = cached.load("zones").unwrap();
        assert!(fingerprint(&layer).contains("Olive"));
        assert_eq!(
            fingerprint(&layer),
            fingerprint(&set(&data, None).load("zones").unwrap())
        );
    }

    /// Entries cut short, altered in their header or payload, or replaced by garbage are
    /// rebuilt from the source, never read; the layer is as its file says.
    #[test]
    fn damaged_entries_are_rebuilt() {
        let (_tmp, data, cache) = fixtures();
        let plain = set(&data, None);
        let cached = set(&data, Some(&cache));
        type Damage = fn(&mut Vec<u8>);
        let damages: [(&str, Damage); 6] = [
            ("cut in half", |b| b.truncate(b.len() / 2)),
            ("cut by a byte", |b| {
                b.pop();
            }),
            ("payload byte flipped", |b| {
                let k = b.len() - 3;
                b[k] ^= 0x40;
            }),
            ("source hash altered", |b| b[16 + 16] ^= 1),
            ("garbage", |b| b.iter_mut().for_each(|x| *x = 0xEE)),
            ("empty", |b| b.clear()),
        ];
        for name in ["zones", "land"] {
            let want = fingerprint(&plain.load(name).unwrap());
            assert_eq!(cached.index(name).unwrap(), CacheOutcome::Built);
            for (what, damage) in damages {
                let entries: Vec<PathBuf> = std::fs::read_dir(&cache)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(name))
                    .collect();
                assert_eq!(entries.len(), 1, "{name}: {entries:?}");
                let mut bytes = std::fs::read(&entries[0]).unwrap();
                damage(&mut bytes);
                std::fs::write(&entries[0], &bytes).unwrap();
                assert_eq!(
                    cached.index(name).unwrap(),
                    CacheOutcome::Built,
                    "{name}: {what}"
                );
                assert_eq!(
                    fingerprint(&cached.load(name).unwrap()),
                    want,
                    "{name}: {what}"
                );
                assert_eq!(
                    cached.index(name).unwrap(),
                    CacheOutcome::Hit,
                    "{name}: {what}"
                );
            }
        }
    }

    /// Over its size limit, the cache drops its oldest entries and keeps the newest.
    #[test]
    fn the_oldest_entries_go_first_over_the_limit() {
        let (_tmp, data, cache) = fixtures();
        let cached = set(&data, Some(&cache));
        let c = LayerCache::new(cache.clone());
        assert_eq!(cached.index("zones").unwrap(), CacheOutcome::Built);
        let stale = cache.join("stale-0000000000000000.layer");
        std::fs::write(&stale, vec![0u8; 3 << 20]).unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let other = cache.join("notes.txt");
        std::fs::write(&other, vec![1u8; 3 << 20]).unwrap();
        // A limit of 2 MB: the stale 3 MB entry goes, the new one and other files stay.
        let newest = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("zones")
            })
            .unwrap();
        prune_mb(&c, 2, &newest);
        assert!(!stale.exists());
        assert!(newest.exists() && other.exists());
    }

    /// Prune with a limit of `mb` megabytes.
    fn prune_mb(c: &LayerCache, mb: u64, keep: &Path) {
        c.prune_to(mb << 20, keep);
    }
}
