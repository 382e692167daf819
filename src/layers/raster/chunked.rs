//! Pixels of a compressed or tiled GeoTIFF, decoded chunk by chunk (tile or strip) when a
//! sample first needs one, on whichever thread asks, and kept in a bounded cache.
//!
//! Nothing is decoded when the raster is opened: opening reads the directory (chunk offsets
//! and sizes, checked against the file). A batch touches only the tiles under its sites, and
//! with several worker threads the tiles are decoded in parallel. The decoding itself is the
//! `tiff` crate's (`Decoder::read_chunk`: DEFLATE, LZW, ZSTD, PackBits; predictors 2 and 3),
//! from a pool of decoders over one shared map of the file.
//!
//! The cache holds decoded chunks up to [`CACHE_BYTES`] and then drops the oldest first (a
//! batch walks the sites in spatial order, so the oldest tile is the one least likely to be
//! read again). Values never depend on what is cached.

use crate::error::{Error, ErrorKind, Result};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use tiff::decoder::{ChunkType, Decoder, DecodingResult, Limits};
use tiff::tags::Tag;

/// The most decoded pixel memory kept at once, in bytes.
pub(super) const CACHE_BYTES: usize = 96 << 20;

/// A reader of the file by positional reads, so that decoders on several threads share one
/// open file. (A map of the file would also work, but its pages of compressed bytes would
/// stay in the process's memory next to the decoded pixels.)
struct FileAt {
    file: Arc<std::fs::File>,
    pos: u64,
    len: u64,
}

impl std::io::Read for FileAt {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(&*self.file, buf, self.pos)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(&*self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for FileAt {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let pos = match to {
            std::io::SeekFrom::Start(p) => Some(p),
            std::io::SeekFrom::End(d) => self.len.checked_add_signed(d),
            std::io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| std::io::Error::other("seek before the start of the file"))?;
        Ok(self.pos)
    }
}

impl FileAt {
    fn again(&self) -> Self {
        FileAt {
            file: Arc::clone(&self.file),
            pos: 0,
            len: self.len,
        }
    }
}

type ChunkDecoder = Decoder<std::io::BufReader<FileAt>>;

/// A decoder of the file from its start.
fn decoder(file: &FileAt, limits: &Limits) -> tiff::TiffResult<ChunkDecoder> {
    Ok(Decoder::new(std::io::BufReader::new(file.again()))?.with_limits(limits.clone()))
}

/// One decoded chunk, row-major over its data (without the padding of edge tiles).
enum Tile {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl Tile {
    fn get(&self, i: usize) -> f64 {
        match self {
            Tile::F32(v) => f64::from(v[i]),
            Tile::F64(v) => v[i],
        }
    }

    fn len(&self) -> usize {
        match self {
            Tile::F32(v) => v.len(),
            Tile::F64(v) => v.len(),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Tile::F32(v) => v.len() * 4,
            Tile::F64(v) => v.len() * 8,
        }
    }
}

/// The decoded chunks held, oldest first, with their sizes in bytes.
#[derive(Default)]
struct Held {
    order: VecDeque<(usize, usize)>,
    bytes: usize,
}

/// A raster's pixels, decoded a chunk at a time.
pub(super) struct Chunked {
    /// The file, for messages.
    path: String,
    file: FileAt,
    limits: Limits,
    /// Image size in pixels.
    width: usize,
    height: usize,
    /// Nominal chunk size in pixels (a strip is as wide as the image).
    chunk_width: usize,
    chunk_height: usize,
    /// Chunks per row of chunks (1 for strips).
    across: usize,
    slots: Vec<Mutex<Option<Arc<Tile>>>>,
    idle: Mutex<Vec<ChunkDecoder>>,
    held: Mutex<Held>,
    budget_bytes: usize,
    /// The first chunk that could not be decoded, as a message.
    failure: OnceLock<String>,
}

impl std::fmt::Debug for Chunked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunked")
            .field("chunk_width", &self.chunk_width)
            .field("chunk_height", &self.chunk_height)
            .field("chunks", &self.slots.len())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Chunked {
    /// Open the single-band image of `path` (`width` x `height` pixels) for decoding on
    /// demand; `limits` bound every allocation the decoder makes.
    pub(super) fn open(path: &Path, width: usize, height: usize, limits: Limits) -> Result<Self> {
        let at = |msg: String| Error::at(ErrorKind::Input, path.display().to_string(), msg);
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
        let len = file.metadata().map_err(|e| Error::io(path, &e))?.len();
        let file = FileAt {
            file: Arc::new(file),
            pos: 0,
            len,
        };
        let mut dec =
            decoder(&file, &limits).map_err(|e| at(format!("not a readable TIFF: {e}")))?;
        let (chunk_width, chunk_height) = match dec.get_chunk_type() {
            ChunkType::Tile => dec.chunk_dimensions(),
            ChunkType::Strip => (width as u32, dec.chunk_dimensions().1),
        };
        let (chunk_width, chunk_height) = (chunk_width as usize, chunk_height as usize);
        if chunk_width == 0 || chunk_height == 0 {
            return Err(at("has empty tiles or strips".into()));
        }
        let count = check_chunks(&mut dec, len, &at)?;
        let across = width.div_ceil(chunk_width);
        if count != across * height.div_ceil(chunk_height) {
            return Err(at(format!(
                "has {count} tiles or strips where {width} x {height} pixels need {}",
                across * height.div_ceil(chunk_height)
            )));
        }
        let chunks = Chunked {
            path: path.display().to_string(),
            file,
            limits,
            width,
            height,
            chunk_width,
            chunk_height,
            across,
            slots: (0..count).map(|_| Mutex::new(None)).collect(),
            idle: Mutex::new(vec![dec]),
            held: Mutex::new(Held::default()),
            budget_bytes: CACHE_BYTES,
            failure: OnceLock::new(),
        };
        // The first chunk now: a compression, predictor or sample layout the decoder does not
        // know is then an error when the layer is read (and the `gdal` build hands the file
        // to GDAL), not a surprise for the first site that reads it.
        chunks
            .decode(0)
            .map_err(|e| at(format!("cannot decode pixels: {e}")))?;
        Ok(chunks)
    }

    /// The same pixels with a cache of at most `bytes` (at least one chunk is always held).
    #[cfg(test)]
    pub(super) fn with_cache_bytes(mut self, bytes: usize) -> Self {
        self.budget_bytes = bytes;
        self
    }

    /// The value of pixel `i` (row-major), or NaN when its chunk cannot be decoded (see
    /// [`Self::failure`]).
    pub(super) fn get(&self, i: usize) -> f64 {
        let (row, col) = (i / self.width, i % self.width);
        let (tr, tc) = (row / self.chunk_height, col / self.chunk_width);
        let chunk = tr * self.across + tc;
        // Edge tiles hold only the pixels inside the image.
        let data_width = self.chunk_width.min(self.width - tc * self.chunk_width);
        let k = (row % self.chunk_height) * data_width + col % self.chunk_width;
        match self.tile(chunk) {
            Some(t) if k < t.len() => t.get(k),
            _ => f64::NAN,
        }
    }

    /// Every pixel, row-major (for the layer cache): each chunk decoded once, on two
    /// threads, without going through the cache. `None` when a chunk does not decode or the
    /// pixels are wider than float32 (the cache keeps float32).
    pub(super) fn decode_all(&self) -> Option<Vec<f32>> {
        let mut out = vec![0f32; self.width * self.height];
        let band = self.chunk_height * self.width;
        let bands = self.height.div_ceil(self.chunk_height);
        let (first, second) = out.split_at_mut((bands / 2 * band).min(self.width * self.height));
        let (a, b) = std::thread::scope(|s| {
            let later = s.spawn(|| self.fill_bands(bands / 2, second));
            (self.fill_bands(0, first), later.join())
        });
        (a.is_some() && b.ok().flatten().is_some()).then_some(out)
    }

    /// Decode the bands of chunks from `first` on into `rows` (whole image rows).
    fn fill_bands(&self, first: usize, rows: &mut [f32]) -> Option<()> {
        for (k, band) in rows.chunks_mut(self.chunk_height * self.width).enumerate() {
            let band_rows = band.len() / self.width;
            for tc in 0..self.across {
                let Ok(Tile::F32(tile)) = self.decode((first + k) * self.across + tc) else {
                    return None;
                };
                let x0 = tc * self.chunk_width;
                let w = self.chunk_width.min(self.width - x0);
                if tile.len() < w * band_rows {
                    return None;
                }
                for (r, row) in band.chunks_mut(self.width).enumerate() {
                    row[x0..x0 + w].copy_from_slice(&tile[r * w..(r + 1) * w]);
                }
            }
        }
        Some(())
    }

    /// The first chunk that could not be decoded, as a one-line message.
    pub(super) fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }

    /// Bytes of decoded chunks held now.
    #[cfg(test)]
    pub(super) fn held_bytes(&self) -> usize {
        lock(&self.held).bytes
    }

    /// Chunk `c`, decoded now if it is not held.
    fn tile(&self, c: usize) -> Option<Arc<Tile>> {
        let mut slot = lock(&self.slots[c]);
        if let Some(t) = &*slot {
            return Some(Arc::clone(t));
        }
        let tile = match self.decode(c) {
            Ok(t) => Arc::new(t),
            Err(e) => {
                let _ = self.failure.set(format!(
                    "{}: tile or strip {c} cannot be decoded ({e}); its pixels were read as no data",
                    self.path
                ));
                return None;
            }
        };
        *slot = Some(Arc::clone(&tile));
        // Release the slot before taking the cache lock (which takes slots when it evicts).
        drop(slot);
        self.admit(c, tile.bytes());
        Some(tile)
    }

    /// Record chunk `c` (`bytes` decoded) as held; drop the oldest while over budget.
    fn admit(&self, c: usize, bytes: usize) {
        let mut held = lock(&self.held);
        held.order.push_back((c, bytes));
        held.bytes += bytes;
        while held.bytes > self.budget_bytes && held.order.len() > 1 {
            let Some((old, size)) = held.order.pop_front() else {
                break;
            };
            held.bytes -= size;
            lock(&self.slots[old]).take();
        }
    }

    fn decode(&self, c: usize) -> std::result::Result<Tile, String> {
        let popped = lock(&self.idle).pop();
        let mut dec = match popped {
            Some(d) => d,
            None => decoder(&self.file, &self.limits).map_err(|e| e.to_string())?,
        };
        let decoded = dec.read_chunk(c as u32).map_err(|e| e.to_string());
        lock(&self.idle).push(dec);
        Ok(match decoded? {
            DecodingResult::U8(v) => Tile::F32(v.into_iter().map(f32::from).collect()),
            DecodingResult::I8(v) => Tile::F32(v.into_iter().map(f32::from).collect()),
            DecodingResult::U16(v) => Tile::F32(v.into_iter().map(f32::from).collect()),
            DecodingResult::I16(v) => Tile::F32(v.into_iter().map(f32::from).collect()),
            DecodingResult::F32(v) => Tile::F32(v),
            DecodingResult::U32(v) => Tile::F64(v.into_iter().map(f64::from).collect()),
            DecodingResult::I32(v) => Tile::F64(v.into_iter().map(f64::from).collect()),
            DecodingResult::F64(v) => Tile::F64(v),
            _ => return Err("unsupported pixel type".into()),
        })
    }
}

/// Check that every chunk's bytes lie within the file (`file_len` bytes); returns the
/// number of chunks.
fn check_chunks<R: std::io::Read + std::io::Seek>(
    dec: &mut Decoder<R>,
    file_len: u64,
    at: &dyn Fn(String) -> Error,
) -> Result<usize> {
    let (offsets, counts) = match dec.get_chunk_type() {
        ChunkType::Tile => (Tag::TileOffsets, Tag::TileByteCounts),
        ChunkType::Strip => (Tag::StripOffsets, Tag::StripByteCounts),
    };
    let offsets = dec
        .get_tag_u64_vec(offsets)
        .map_err(|e| at(format!("cannot read its tile or strip offsets: {e}")))?;
    let counts = dec
        .get_tag_u64_vec(counts)
        .map_err(|e| at(format!("cannot read its tile or strip sizes: {e}")))?;
    if offsets.len() != counts.len() {
        return Err(at(format!(
            "has {} tile or strip offsets but {} sizes",
            offsets.len(),
            counts.len()
        )));
    }
    for (c, (&o, &n)) in offsets.iter().zip(&counts).enumerate() {
        if o.checked_add(n).is_none_or(|end| end > file_len) {
            return Err(at(format!(
                "tile or strip {c} ({n} bytes at byte {o}) lies past the end of the file ({file_len} bytes)"
            )));
        }
    }
    Ok(offsets.len())
}
