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
use crate::index::PolygonIndex;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

const MAGIC: &[u8; 16] = b"standort-layer\x00\x01";
/// Magic, source size, mtime (ns), hash, kind, meta length, payload hash.
const HEADER_BYTES: usize = 16 + 6 * 8;
const KIND_VECTOR: u64 = 1;
const KIND_RASTER: u64 = 2;
const KIND_INDEX: u64 = 3;
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
    /// The sources looked at in this run (a file is hashed once).
    sources: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<PathBuf, Source>>>,
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
        LayerCache {
            dir,
            sources: Default::default(),
        }
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
    ///
    /// A raster is opened first (which reads only its directory): one read in place, or too
    /// big to keep decoded, needs no entry, and its file is not even hashed.
    pub(crate) fn read(
        &self,
        path: &Path,
        how: &str,
        raster: bool,
        load: impl Fn() -> Result<Read>,
    ) -> Result<(Read, CacheOutcome)> {
        let opened = if raster {
            let read = load()?;
            if let Geometry::Raster(r) = &read.0
                && (!r.is_decoded_on_demand()
                    || r.width().saturating_mul(r.height()).saturating_mul(4) > MAX_RASTER_BYTES)
            {
                return Ok((read, CacheOutcome::Skipped));
            }
            Some(read)
        } else {
            None
        };
        let source = self.source(path)?;
        let entry = self.entry_path(path, how);
        if let Some(read) = open_entry(&entry, source) {
            return Ok((read, CacheOutcome::Hit));
        }
        let read = match opened {
            Some(read) => read,
            None => load()?,
        };
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

    /// The polygon index of all of `polygons` (the features of the file at `path`): from
    /// a valid entry that indexes exactly these polygons, else built and kept.
    pub(crate) fn polygon_index(&self, path: &Path, polygons: &[Polygon]) -> PolygonIndex {
        let Ok(source) = self.source(path) else {
            return PolygonIndex::new(polygons);
        };
        // The entry is for these polygons: their rows and bounding boxes are in its key.
        let mut h = Xxh3::new();
        for p in polygons {
            h.update(&(p.row as u64).to_le_bytes());
            for v in p.bbox {
                h.update(&v.to_le_bytes());
            }
        }
        let entry = self.entry_path(path, &format!("polygon index {:016x}", h.digest()));
        let cached = open_checked(&entry, source)
            .filter(|(kind, end, map)| *kind == KIND_INDEX && *end == map.len())
            .and_then(|(_, end, map)| {
                postcard::from_bytes::<PolygonIndex>(&map[HEADER_BYTES..end]).ok()
            })
            .filter(|ix| ix.is_index_of(polygons));
        if let Some(ix) = cached {
            return ix;
        }
        let ix = PolygonIndex::new(polygons);
        let _ = self.write_raw(&entry, KIND_INDEX, source, &postcard_meta(&ix), None);
        ix
    }

    /// Write an entry of `kind`: `meta`, then `pixels` if any, atomically.
    fn write_raw(
        &self,
        entry: &Path,
        kind: u64,
        source: Source,
        meta: WriteMeta<'_>,
        pixels: Option<&[f32]>,
    ) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        write_payload(tmp.as_file_mut(), kind, source, meta, pixels)?;
        tmp.persist(entry).map_err(|e| e.error)?;
        self.prune(entry);
        Ok(())
    }

    /// Size, mtime and hash of the file at `path`: hashed once while its size and mtime
    /// stay the same.
    fn source(&self, path: &Path) -> Result<Source> {
        let lock = || self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let seen = lock().get(path).copied();
        if let Some(s) = seen {
            let (len, mtime_ns) = Source::stat(path)?;
            if (len, mtime_ns) == (s.len, s.mtime_ns) {
                return Ok(s);
            }
        }
        let s = Source::of(path)?;
        lock().insert(path.to_path_buf(), s);
        Ok(s)
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
        let geometry = match geometry {
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
                let body = postcard_meta(&meta);
                self.write_raw(entry, KIND_RASTER, source, &body, Some(&pixels))?;
                return Ok(true);
            }
            Geometry::Points(p) => GeometryOut::Points(p),
            Geometry::Lines(l) => GeometryOut::Lines(l),
            Geometry::Polygons(p) => GeometryOut::Polygons(p),
        };
        let out = VectorOut {
            geometry,
            attributes,
            warnings,
        };
        self.write_raw(entry, KIND_VECTOR, source, &postcard_meta(&out), None)?;
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

/// Writes what goes through it to `inner`, hashing and counting it.
struct Hashing<W> {
    inner: W,
    hash: Xxh3,
    len: usize,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The body of an entry's meta block, written into the writer given.
type WriteMeta<'a> = &'a dyn Fn(&mut dyn Write) -> std::io::Result<()>;

/// Write an entry into `file`: the meta block streamed through the hash, then the pixels if
/// any; the header (which holds the meta length and the hash) last, at the start.
fn write_payload(
    file: &mut std::fs::File,
    kind: u64,
    source: Source,
    meta: WriteMeta<'_>,
    pixels: Option<&[f32]>,
) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    let mut w = Hashing {
        inner: std::io::BufWriter::with_capacity(1 << 20, &mut *file),
        hash: Xxh3::new(),
        len: 0,
    };
    w.inner.write_all(&[0u8; HEADER_BYTES])?;
    meta(&mut w)?;
    let meta_len = w.len;
    if let Some(p) = pixels {
        w.write_all(&[0u8; 8][..padding(meta_len)])?;
        let mut bytes = Vec::with_capacity(4 << 16);
        for block in p.chunks(1 << 16) {
            bytes.clear();
            bytes.extend(block.iter().flat_map(|v| v.to_le_bytes()));
            w.write_all(&bytes)?;
        }
    }
    let digest = w.hash.digest();
    w.inner.flush()?;
    drop(w);
    let mut header = MAGIC.to_vec();
    for v in [
        source.len,
        source.mtime_ns,
        source.hash,
        kind,
        meta_len as u64,
        digest,
    ] {
        header.extend_from_slice(&v.to_le_bytes());
    }
    file.seek(SeekFrom::Start(0))?;
    // No fsync: an entry torn by a crash fails its hash and is rebuilt.
    file.write_all(&header)
}

/// A meta block writer for `value`, postcard-encoded.
fn postcard_meta<T: Serialize>(value: &T) -> impl Fn(&mut dyn Write) -> std::io::Result<()> + '_ {
    move |w| {
        postcard::to_io(value, w)
            .map(drop)
            .map_err(std::io::Error::other)
    }
}

/// The entry at `path` when it is whole and was made from `source`: its kind, the end of
/// its meta block, and its map.
fn open_checked(path: &Path, source: Source) -> Option<(u64, usize, memmap2::Mmap)> {
    let file = std::fs::File::open(path).ok()?;
    let map = crate::mapped::map(&file, path).ok()??;
    if map.len() < HEADER_BYTES || &map[..16] != MAGIC {
        return None;
    }
    let word = |k: usize| -> u64 {
        let at = 16 + 8 * k;
        u64::from_le_bytes(map[at..at + 8].try_into().unwrap_or_default())
    };
    let recorded = Source {
        len: word(0),
        mtime_ns: word(1),
        hash: word(2),
    };
    let meta_end = HEADER_BYTES.checked_add(usize::try_from(word(4)).ok()?)?;
    if recorded != source || meta_end > map.len() || xxh3_64(&map[HEADER_BYTES..]) != word(5) {
        return None;
    }
    Some((word(3), meta_end, map))
}

/// The layer in the entry at `path`, when it is whole and was made from `source`.
fn open_entry(path: &Path, source: Source) -> Option<Read> {
    let (kind, meta_end, map) = open_checked(path, source)?;
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
            let start = meta_end + padding(meta_end - HEADER_BYTES);
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
        let (len, mtime_ns) = Self::stat(path)?;
        let hash = match crate::mapped::map(&file, path)? {
            Some(map) => xxh3_64(&map),
            None => xxh3_64(&std::fs::read(path).map_err(|e| Error::io(path, &e))?),
        };
        Ok(Source {
            len,
            mtime_ns,
            hash,
        })
    }

    /// Size and modification time (ns since 1970) of the file at `path`.
    fn stat(path: &Path) -> Result<(u64, u64)> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        Ok((meta.len(), mtime_ns))
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
                // The layer's entry (not its polygon index's).
                let is_layer = |p: &PathBuf| {
                    let b = std::fs::read(p).unwrap();
                    b.len() < HEADER_BYTES || b[40..48] != KIND_INDEX.to_le_bytes()
                };
                let entries: Vec<PathBuf> = std::fs::read_dir(&cache)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(name))
                    .filter(is_layer)
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

    /// A whole layer's polygon index kept in the cache answers as a fresh one, also after
    /// its entry is damaged (it is then built again).
    #[test]
    fn polygon_indexes_are_kept_and_checked() {
        let (_tmp, data, cache) = fixtures();
        let layer = set(&data, None).load("zones").unwrap();
        let Geometry::Polygons(polys) = &layer.geometry else {
            panic!("zones are polygons")
        };
        let c = LayerCache::new(cache.clone());
        let fresh = PolygonIndex::new(polys);
        let answers = |ix: &PolygonIndex| -> Vec<Option<usize>> {
            (0..=80)
                .flat_map(|i| (0..=20).map(move |j| (i, j)))
                .map(|(i, j)| ix.containing(8.0 + 0.1 * f64::from(i), -1.5 + 0.15 * f64::from(j)))
                .collect()
        };
        let path = data.join("zones.geojson");
        assert_eq!(answers(&c.polygon_index(&path, polys)), answers(&fresh));
        let entry = std::fs::read_dir(&cache)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let written = std::fs::read(&entry).unwrap();
        assert_eq!(answers(&c.polygon_index(&path, polys)), answers(&fresh));
        let mut bytes = written.clone();
        let k = bytes.len() / 2;
        bytes[k] ^= 0x10;
        std::fs::write(&entry, &bytes).unwrap();
        assert_eq!(answers(&c.polygon_index(&path, polys)), answers(&fresh));
        assert_eq!(std::fs::read(&entry).unwrap(), written, "rebuilt");
    }
}
