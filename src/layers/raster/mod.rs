//! Single-band GeoTIFF rasters in EPSG:4326 (pure Rust, no GDAL).
//!
//! The georeference comes from the GeoTIFF tags: `ModelPixelScale` + `ModelTiepoint` (or a
//! non-rotated `ModelTransformation`), `GTRasterTypeGeoKey` (pixel-is-area or pixel-is-point,
//! as GDAL reads them), and GDAL's `GDAL_NODATA` tag. Rasters in another CRS need the `gdal`
//! feature.

mod chunked;

use crate::error::{Error, ErrorKind, Result};
use std::io::{BufReader, BufWriter};
use std::path::Path;
use tiff::decoder::{Decoder, Limits};
use tiff::encoder::{TiffEncoder, colortype};
use tiff::tags::Tag;

/// Pixel values: in memory, read in place from a map of the file, or decoded a chunk at a
/// time (at the source precision; integers up to 16 bits as `f32`).
#[derive(Debug)]
enum Pixels {
    F32(Vec<f32>),
    /// An uncompressed little-endian float32 GeoTIFF whose strips follow one another: the
    /// pixels are read from a map of the file, row-major from byte `start` (see
    /// [`crate::mapped`]); `count` pixels.
    Mapped {
        map: memmap2::Mmap,
        start: usize,
        count: usize,
    },
    /// A compressed or tiled GeoTIFF, decoded a tile (or strip) at a time on demand.
    Chunked {
        chunks: std::sync::Arc<chunked::Chunked>,
        count: usize,
    },
}

impl Pixels {
    /// Number of pixels.
    fn len(&self) -> usize {
        match self {
            Pixels::F32(v) => v.len(),
            Pixels::Mapped { count, .. } | Pixels::Chunked { count, .. } => *count,
        }
    }
}

impl Pixels {
    fn get(&self, i: usize) -> f64 {
        match self {
            Pixels::F32(p) => f64::from(p[i]),
            Pixels::Mapped { map, start, .. } => {
                let b = start + i * 4;
                f64::from(f32::from_le_bytes([
                    map[b],
                    map[b + 1],
                    map[b + 2],
                    map[b + 3],
                ]))
            }
            Pixels::Chunked { chunks, .. } => chunks.get(i),
        }
    }

    fn to_f32(&self) -> Vec<f32> {
        match self {
            Pixels::F32(p) => p.clone(),
            Pixels::Mapped { count, .. } | Pixels::Chunked { count, .. } => {
                (0..*count).map(|i| self.get(i) as f32).collect()
            }
        }
    }
}

impl Clone for Pixels {
    fn clone(&self) -> Self {
        match self {
            Pixels::F32(p) => Pixels::F32(p.clone()),
            Pixels::Mapped { .. } => Pixels::F32(self.to_f32()),
            Pixels::Chunked { chunks, count } => Pixels::Chunked {
                chunks: std::sync::Arc::clone(chunks),
                count: *count,
            },
        }
    }
}

/// The georeference of a raster in longitude/latitude degrees, as the layer cache keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RasterGrid {
    pub width: usize,
    pub height: usize,
    pub origin_lon: f64,
    pub origin_lat: f64,
    pub pixel_width_deg: f64,
    pub pixel_height_deg: f64,
    pub nodata: Option<f64>,
}

/// A north-up raster grid in longitude/latitude degrees.
///
/// ```
/// use standort::layers::Raster;
/// // 2 x 1 pixels of 1 degree, top-left corner at (10 E, 1 N).
/// let r = Raster::new(2, 1, 10.0, 1.0, 1.0, 1.0, vec![5.0, -9999.0], Some(-9999.0)).unwrap();
/// assert_eq!(r.sample(10.5, 0.5), Some(5.0));
/// assert_eq!(r.sample(11.5, 0.5), None); // nodata
/// assert_eq!(r.sample(12.5, 0.5), None); // outside
/// ```
#[derive(Debug, Clone)]
pub struct Raster {
    width: usize,
    height: usize,
    origin_lon: f64,
    origin_lat: f64,
    pixel_width_deg: f64,
    pixel_height_deg: f64,
    pixels: Pixels,
    nodata: Option<f64>,
    /// The raster's CRS (WKT) when it is not EPSG:4326: queries are transformed into it
    /// and the grid (origin, pixel size) is in its units.
    #[cfg(feature = "gdal")]
    crs_wkt: Option<String>,
}

const GEO_KEY_MODEL_TYPE: u16 = 1024;
const GEO_KEY_RASTER_TYPE: u16 = 1025;
const GEO_KEY_GEOGRAPHIC_TYPE: u16 = 2048;
const GEO_KEY_PROJECTED_TYPE: u16 = 3072;

/// The pixels of `path` read in place from a map of the file, when the file stores them
/// plainly: little-endian float32, uncompressed, one band, in strips that follow one another
/// (as GDAL writes them by default). `None` for any other layout, which is decoded instead.
fn mapped_pixels<R: std::io::Read + std::io::Seek>(
    dec: &mut Decoder<R>,
    path: &Path,
    width: usize,
    height: usize,
) -> Result<Option<Pixels>> {
    let tag = |dec: &mut Decoder<R>, t: Tag, default: u64| -> Option<u64> {
        match dec.find_tag_unsigned::<u64>(t) {
            Ok(v) => Some(v.unwrap_or(default)),
            Err(_) => None,
        }
    };
    let plain = tag(dec, Tag::Compression, 1) == Some(1)
        && tag(dec, Tag::Predictor, 1) == Some(1)
        && tag(dec, Tag::SampleFormat, 1) == Some(3)
        && tag(dec, Tag::BitsPerSample, 1) == Some(32)
        && tag(dec, Tag::SamplesPerPixel, 1) == Some(1)
        && dec.find_tag(Tag::TileWidth).ok().flatten().is_none();
    let Some(rows_per_strip) = tag(dec, Tag::RowsPerStrip, height as u64) else {
        return Ok(None);
    };
    let (Ok(offsets), Ok(counts)) = (
        dec.get_tag_u64_vec(Tag::StripOffsets),
        dec.get_tag_u64_vec(Tag::StripByteCounts),
    ) else {
        return Ok(None);
    };
    let row_bytes = width as u64 * 4;
    let strip_bytes = rows_per_strip.min(height as u64) * row_bytes;
    let strips = (height as u64).div_ceil(rows_per_strip.max(1));
    let Some(&first) = offsets.first() else {
        return Ok(None);
    };
    let contiguous = rows_per_strip > 0
        && offsets.len() as u64 == strips
        && counts.len() as u64 == strips
        && offsets
            .iter()
            .enumerate()
            .all(|(s, &o)| o == first + s as u64 * strip_bytes)
        && counts.iter().enumerate().all(|(s, &c)| {
            let rows = (height as u64 - s as u64 * rows_per_strip).min(rows_per_strip);
            c >= rows * row_bytes
        });
    if !plain || !contiguous {
        return Ok(None);
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    let Some(map) = crate::mapped::map(&file, path)? else {
        return Ok(None);
    };
    let end = (height as u64)
        .checked_mul(row_bytes)
        .and_then(|n| n.checked_add(first));
    if map.len() < 4 || &map[..2] != b"II" || end.is_none_or(|end| (map.len() as u64) < end) {
        return Ok(None);
    }
    Ok(Some(Pixels::Mapped {
        map,
        start: first as usize,
        count: width * height,
    }))
}

impl Raster {
    /// A raster from row-major values (north row first), the top-left corner and pixel size
    /// in degrees.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        width: usize,
        height: usize,
        origin_lon: f64,
        origin_lat: f64,
        pixel_width_deg: f64,
        pixel_height_deg: f64,
        values: Vec<f32>,
        nodata: Option<f64>,
    ) -> Result<Self> {
        if values.len() != width * height {
            return Err(Error::new(
                ErrorKind::Input,
                format!(
                    "raster has {} values for {width} x {height} pixels",
                    values.len()
                ),
            ));
        }
        if !(pixel_width_deg > 0.0 && pixel_height_deg > 0.0) {
            return Err(Error::new(
                ErrorKind::Input,
                "raster pixel size must be positive",
            ));
        }
        Ok(Raster {
            width,
            height,
            origin_lon,
            origin_lat,
            pixel_width_deg,
            pixel_height_deg,
            pixels: Pixels::F32(values),
            nodata,
            #[cfg(feature = "gdal")]
            crs_wkt: None,
        })
    }

    /// The same grid in another CRS (WKT), with origin and pixel size in its units; samples
    /// are taken by transforming each query point into that CRS.
    #[cfg(feature = "gdal")]
    pub fn in_crs(mut self, wkt: String) -> Self {
        self.crs_wkt = Some(wkt);
        self
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Bounds `[min_lon, min_lat, max_lon, max_lat]` in degrees.
    pub fn bounds(&self) -> [f64; 4] {
        [
            self.origin_lon,
            self.origin_lat - self.height as f64 * self.pixel_height_deg,
            self.origin_lon + self.width as f64 * self.pixel_width_deg,
            self.origin_lat,
        ]
    }

    /// The nodata value, if any.
    pub fn nodata(&self) -> Option<f64> {
        self.nodata
    }

    /// The grid of a raster worth keeping decoded in the layer cache (one decoded a tile at
    /// a time from a compressed file), with its pixels row-major; `None` for the others (and
    /// for one with a tile that does not decode).
    pub(crate) fn decoded_for_cache(&self) -> Option<(RasterGrid, Vec<f32>)> {
        let Pixels::Chunked { chunks, .. } = &self.pixels else {
            return None;
        };
        Some((self.grid(), chunks.decode_all()?))
    }

    /// Whether the pixels are decoded a tile at a time from a compressed file (the rasters
    /// the layer cache keeps decoded).
    pub(crate) fn is_decoded_on_demand(&self) -> bool {
        matches!(self.pixels, Pixels::Chunked { .. })
    }

    fn grid(&self) -> RasterGrid {
        RasterGrid {
            width: self.width,
            height: self.height,
            origin_lon: self.origin_lon,
            origin_lat: self.origin_lat,
            pixel_width_deg: self.pixel_width_deg,
            pixel_height_deg: self.pixel_height_deg,
            nodata: self.nodata,
        }
    }

    /// A raster whose little-endian float32 pixels are read from `map` from byte `start`
    /// (a layer cache entry, checked by the caller).
    pub(crate) fn from_map(grid: &RasterGrid, map: memmap2::Mmap, start: usize) -> Result<Self> {
        let count = grid.width * grid.height;
        if start
            .checked_add(count * 4)
            .is_none_or(|end| end > map.len())
        {
            return Err(Error::new(ErrorKind::Input, "raster cache entry is short"));
        }
        Ok(Raster {
            width: grid.width,
            height: grid.height,
            origin_lon: grid.origin_lon,
            origin_lat: grid.origin_lat,
            pixel_width_deg: grid.pixel_width_deg,
            pixel_height_deg: grid.pixel_height_deg,
            pixels: Pixels::Mapped { map, start, count },
            nodata: grid.nodata,
            #[cfg(feature = "gdal")]
            crs_wkt: None,
        })
    }

    /// Why some pixels could not be read, when a tile (or strip) of a compressed GeoTIFF
    /// failed to decode: its samples were NaN (no data). Check it after sampling.
    pub fn failure(&self) -> Option<String> {
        match &self.pixels {
            Pixels::Chunked { chunks, .. } => chunks.failure().map(str::to_owned),
            _ => None,
        }
    }

    /// The value of the pixel containing (lon, lat), or `None` outside the raster, on nodata
    /// or NaN. A point on a pixel edge belongs to the pixel east/south of it; the raster's
    /// east and south edges belong to the raster.
    pub fn sample(&self, lon: f64, lat: f64) -> Option<f64> {
        #[cfg(feature = "gdal")]
        if let Some(wkt) = &self.crs_wkt {
            let (x, y) = crate::layers::gdal::to_crs(wkt, lon, lat)?;
            return self.value(self.index_at(x, y)?);
        }
        self.value(self.index_of(lon, lat)?)
    }

    /// Where [`Self::sample`] reads (lon, lat): the pixel's index in row-major order, when
    /// the raster is in longitude/latitude (`None` outside, or for a reprojected raster).
    /// For reading a group of pixels ahead of sampling them ([`Self::pixel`]).
    pub(crate) fn index_of(&self, lon: f64, lat: f64) -> Option<usize> {
        #[cfg(feature = "gdal")]
        if self.crs_wkt.is_some() {
            return None;
        }
        let b = self.bounds();
        let mut x = lon;
        // A raster that extends past ±180 (or a query at ±180) wraps.
        if x < b[0] {
            x += 360.0;
        } else if x > b[2] {
            x -= 360.0;
        }
        // The east and south edges belong to the last column and row.
        let x = if x == b[2] {
            x - self.pixel_width_deg / 2.0
        } else {
            x
        };
        let y = if lat == b[1] {
            lat + self.pixel_height_deg / 2.0
        } else {
            lat
        };
        self.index_at(x, y)
    }

    /// The row-major index of the pixel at grid coordinates (x, y) in the raster's own
    /// units, without wrapping: `None` outside.
    fn index_at(&self, x: f64, y: f64) -> Option<usize> {
        // Grid coordinates; truncation below is their floor, as they are checked >= 0.
        let col = (x - self.origin_lon) / self.pixel_width_deg;
        let row = (self.origin_lat - y) / self.pixel_height_deg;
        if !(col >= 0.0 && row >= 0.0 && col < self.width as f64 && row < self.height as f64) {
            return None;
        }
        Some(row as usize * self.width + col as usize)
    }

    /// The stored value of pixel `i` (nodata included), `i` from [`Self::index_of`].
    pub(crate) fn pixel(&self, i: usize) -> f64 {
        self.pixels.get(i)
    }

    /// The value of pixel `i`: `None` on nodata or NaN.
    fn value(&self, i: usize) -> Option<f64> {
        let v = self.pixel(i);
        let is_nodata = self
            .nodata
            .is_some_and(|nd| v == nd || (nd as f32 as f64 == v));
        if v.is_nan() || is_nodata {
            None
        } else {
            Some(v)
        }
    }

    /// Read a single-band GeoTIFF in EPSG:4326.
    pub fn read(path: &Path) -> Result<Self> {
        let at = |msg: String| Error::at(ErrorKind::Input, path.display().to_string(), msg);
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
        let file_len = file.metadata().map_err(|e| Error::io(path, &e))?.len();
        let mut dec = Decoder::new(BufReader::new(file))
            .map_err(|e| at(format!("not a readable TIFF: {e}")))?
            .with_limits(limits(file_len));
        let (w, h) = dec.dimensions().map_err(|e| at(e.to_string()))?;
        let pixels_bytes = u64::from(w) * u64::from(h) * 8;
        if pixels_bytes > MAX_DECODED_BYTES {
            return Err(at(format!(
                "{w} x {h} pixels are too many to read ({} GB at most; this needs {} GB)",
                MAX_DECODED_BYTES >> 30,
                pixels_bytes >> 30
            )));
        }
        let samples: u16 = dec
            .find_tag_unsigned(Tag::SamplesPerPixel)
            .ok()
            .flatten()
            .unwrap_or(1);
        if samples != 1 {
            return Err(at(format!(
                "has {samples} bands; only single-band GeoTIFF is read without the `gdal` feature"
            )));
        }
        let pixel_is_point = check_crs(&mut dec, &at)?;
        let (origin_lon, origin_lat, sx, sy) = georeference(&mut dec, pixel_is_point, &at)?;
        let nodata = nodata(&mut dec, &at)?;
        let pixels = match mapped_pixels(&mut dec, path, w as usize, h as usize)? {
            Some(pixels) => pixels,
            None => Pixels::Chunked {
                chunks: std::sync::Arc::new(chunked::Chunked::open(
                    path,
                    w as usize,
                    h as usize,
                    limits(file_len),
                )?),
                count: w as usize * h as usize,
            },
        };
        if pixels.len() != w as usize * h as usize {
            return Err(at(format!(
                "holds {} pixels where its header says {w} x {h}",
                pixels.len()
            )));
        }
        Ok(Raster {
            width: w as usize,
            height: h as usize,
            origin_lon,
            origin_lat,
            pixel_width_deg: sx,
            pixel_height_deg: sy,
            pixels,
            nodata,
            #[cfg(feature = "gdal")]
            crs_wkt: None,
        })
    }

    /// Write the raster as a float32 GeoTIFF in EPSG:4326 (pixel-is-area, GDAL_NODATA set).
    pub fn write_geotiff(&self, path: &Path) -> Result<()> {
        self.write_geotiff_compressed(path, tiff::encoder::Compression::Uncompressed)
    }

    fn write_geotiff_compressed(
        &self,
        path: &Path,
        compression: tiff::encoder::Compression,
    ) -> Result<()> {
        let io = |e: tiff::TiffError| {
            Error::at(ErrorKind::Io, path.display().to_string(), e.to_string())
        };
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, &e))?;
        let mut enc = TiffEncoder::new(BufWriter::new(file))
            .map_err(io)?
            .with_compression(compression);
        let mut img = enc
            .new_image::<colortype::Gray32Float>(self.width as u32, self.height as u32)
            .map_err(io)?;
        let d = img.encoder();
        d.write_tag(
            Tag::ModelPixelScaleTag,
            &[self.pixel_width_deg, self.pixel_height_deg, 0.0][..],
        )
        .map_err(io)?;
        d.write_tag(
            Tag::ModelTiepointTag,
            &[0.0, 0.0, 0.0, self.origin_lon, self.origin_lat, 0.0][..],
        )
        .map_err(io)?;
        let keys: [u16; 16] = [
            1,
            1,
            0,
            3,
            GEO_KEY_MODEL_TYPE,
            0,
            1,
            2,
            GEO_KEY_RASTER_TYPE,
            0,
            1,
            1,
            GEO_KEY_GEOGRAPHIC_TYPE,
            0,
            1,
            4326,
        ];
        d.write_tag(Tag::GeoKeyDirectoryTag, &keys[..])
            .map_err(io)?;
        if let Some(nd) = self.nodata {
            d.write_tag(Tag::GdalNodata, format!("{nd}").as_str())
                .map_err(io)?;
        }
        let data: Vec<f32> = self.pixels.to_f32();
        img.write_data(&data).map_err(io)?;
        Ok(())
    }
}

/// The most memory a raster's pixels may take once decoded (8 bytes a pixel at most).
const MAX_DECODED_BYTES: u64 = 8 << 30;

/// Decoder limits for a file of `file_len` bytes: no tag value larger than the file, no
/// buffer larger than [`MAX_DECODED_BYTES`] (a corrupt header must give an error, never a
/// huge allocation).
fn limits(file_len: u64) -> Limits {
    let mut limits = Limits::default();
    limits.ifd_value_size = usize::try_from(file_len).unwrap_or(usize::MAX);
    limits.decoding_buffer_size = MAX_DECODED_BYTES as usize;
    limits.intermediate_buffer_size = MAX_DECODED_BYTES as usize;
    limits
}

/// A TIFF decoder over a file.
type FileDecoder = Decoder<BufReader<std::fs::File>>;

/// Check that the GeoTIFF is in EPSG:4326; returns whether pixels are points (not areas).
fn check_crs(dec: &mut FileDecoder, at: &dyn Fn(String) -> Error) -> Result<bool> {
    let keys = dec
        .get_tag_u16_vec(Tag::GeoKeyDirectoryTag)
        .map_err(|_| at("no GeoTIFF georeference (GeoKeyDirectory tag missing)".into()))?;
    let key = |id: u16| -> Option<u16> {
        keys.get(4..)?
            .chunks_exact(4)
            .find(|e| e[0] == id && e[1] == 0)
            .map(|e| e[3])
    };
    if let Some(epsg) = key(GEO_KEY_PROJECTED_TYPE) {
        return Err(at(format!(
            "is in a projected CRS (EPSG:{epsg}); reproject to EPSG:4326 or build with --features gdal"
        )));
    }
    if key(GEO_KEY_MODEL_TYPE) != Some(2) {
        return Err(at("is not in geographic coordinates; reproject to EPSG:4326 or build with --features gdal".into()));
    }
    match key(GEO_KEY_GEOGRAPHIC_TYPE) {
        Some(4326) => {}
        Some(other) => {
            return Err(at(format!(
                "is in EPSG:{other}, not EPSG:4326; reproject it or build with --features gdal"
            )));
        }
        None => return Err(at("has no geographic CRS code (expected EPSG:4326)".into())),
    }
    Ok(key(GEO_KEY_RASTER_TYPE) == Some(2))
}

/// The north-west corner of the grid (lon, lat) and the pixel size (deg) from the
/// ModelTransformation tag, or ModelPixelScale and ModelTiepoint.
fn georeference(
    dec: &mut FileDecoder,
    pixel_is_point: bool,
    at: &dyn Fn(String) -> Error,
) -> Result<(f64, f64, f64, f64)> {
    let (origin_lon, origin_lat, sx, sy) =
        if let Ok(m) = dec.get_tag_f64_vec(Tag::ModelTransformationTag) {
            if m.len() < 8 || m[1] != 0.0 || m[4] != 0.0 {
                return Err(at(
                    "has a rotated or sheared ModelTransformation; not supported".into(),
                ));
            }
            (m[3], m[7], m[0], -m[5])
        } else {
            let scale = dec
                .get_tag_f64_vec(Tag::ModelPixelScaleTag)
                .map_err(|_| at("no ModelPixelScale tag".into()))?;
            let tie = dec
                .get_tag_f64_vec(Tag::ModelTiepointTag)
                .map_err(|_| at("no ModelTiepoint tag".into()))?;
            if scale.len() < 2 || tie.len() < 6 {
                return Err(at("malformed ModelPixelScale or ModelTiepoint tag".into()));
            }
            (
                tie[3] - tie[0] * scale[0],
                tie[4] + tie[1] * scale[1],
                scale[0],
                scale[1],
            )
        };
    if !(sx > 0.0 && sy > 0.0) {
        return Err(at(format!(
            "pixel size {sx} x {sy} is not a north-up grid; not supported"
        )));
    }
    if pixel_is_point {
        return Ok((origin_lon - sx / 2.0, origin_lat + sy / 2.0, sx, sy));
    }
    Ok((origin_lon, origin_lat, sx, sy))
}

/// The GDAL_NODATA value, if any (NaN is no data anyway).
fn nodata(dec: &mut FileDecoder, at: &dyn Fn(String) -> Error) -> Result<Option<f64>> {
    let Ok(s) = dec.get_tag_ascii_string(Tag::GdalNodata) else {
        return Ok(None);
    };
    let t = s.trim_matches(char::from(0)).trim();
    if t.eq_ignore_ascii_case("nan") {
        return Ok(None);
    }
    t.parse::<f64>()
        .map(Some)
        .map_err(|_| at(format!("GDAL_NODATA \"{t}\" is not a number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_geotiff() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.tif");
        let r = Raster::new(
            3,
            2,
            9.5,
            0.5,
            1.0,
            1.0,
            vec![1.0, 2.0, 3.0, 4.0, -9999.0, 6.0],
            Some(-9999.0),
        )
        .unwrap();
        r.write_geotiff(&path).unwrap();
        let back = Raster::read(&path).unwrap();
        assert_eq!(back.bounds(), [9.5, -1.5, 12.5, 0.5]);
        assert_eq!(back.sample(10.0, 0.0), Some(1.0));
        assert_eq!(back.sample(12.0, -1.0), Some(6.0));
        assert_eq!(back.sample(11.0, -1.0), None);
        assert_eq!(back.sample(9.0, 0.0), None);
        assert_eq!(back.nodata(), Some(-9999.0));
    }

    /// A plain float32 GeoTIFF (several strips) is sampled in place from a map of the file;
    /// a compressed one is decoded strip by strip; both give every pixel as written, and so
    /// does a copy.
    #[test]
    fn mapped_and_decoded_pixels_agree() {
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (3001, 207);
        let values: Vec<f32> = (0..w * h).map(|i| (i as f32) * 0.37 - 500.0).collect();
        let r = Raster::new(w, h, -180.0, 60.0, 0.05, 0.25, values.clone(), None).unwrap();
        let plain = dir.path().join("plain.tif");
        let packed = dir.path().join("packed.tif");
        r.write_geotiff(&plain).unwrap();
        r.write_geotiff_compressed(&packed, tiff::encoder::Compression::Lzw)
            .unwrap();
        let strips = Decoder::new(std::fs::File::open(&plain).unwrap())
            .unwrap()
            .get_tag_u64_vec(Tag::StripOffsets)
            .unwrap()
            .len();
        assert!(strips > 1, "{strips} strips");
        let a = Raster::read(&plain).unwrap();
        let b = Raster::read(&packed).unwrap();
        assert!(matches!(a.pixels, Pixels::Mapped { .. }));
        assert!(matches!(b.pixels, Pixels::Chunked { .. }));
        let c = a.clone();
        for (i, &v) in values.iter().enumerate() {
            assert_eq!(a.pixel(i), f64::from(v), "pixel {i}");
            assert_eq!(b.pixel(i), f64::from(v), "pixel {i}");
            assert_eq!(c.pixel(i), f64::from(v), "pixel {i}");
        }
        let (lon, lat) = (-180.0 + 0.05 * 3000.5, 60.0 - 0.25 * 206.5);
        assert_eq!(a.sample(lon, lat), Some(f64::from(values[w * h - 1])));
        assert_eq!(a.sample(lon, lat), b.sample(lon, lat));
    }

    fn raster_fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/raster")
            .join(name)
    }

    /// Every pixel of `path` by the `tiff` crate's whole-image decode.
    fn full_decode(path: &Path) -> Vec<f64> {
        use tiff::decoder::DecodingResult as D;
        let mut dec = Decoder::new(std::fs::File::open(path).unwrap()).unwrap();
        match dec.read_image().unwrap() {
            D::U8(v) => v.into_iter().map(f64::from).collect(),
            D::I16(v) => v.into_iter().map(f64::from).collect(),
            D::I32(v) => v.into_iter().map(f64::from).collect(),
            D::F32(v) => v.into_iter().map(f64::from).collect(),
            D::F64(v) => v,
            _ => panic!("{}: unexpected pixel type", path.display()),
        }
    }

    /// The GDAL-written fixtures (every compression and predictor GDAL writes, tiled and in
    /// strips, partial edge tiles): each pixel decoded tile by tile, in reverse order, equals
    /// the whole-image decode, and every float32 file holds the same pixels.
    #[test]
    fn tile_decoded_pixels_equal_full_decode() {
        let reference = full_decode(&raster_fixture("f32-strips-none.tif"));
        let mut files: Vec<_> = std::fs::read_dir(raster_fixture(""))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "tif"))
            .filter(|p| !p.ends_with("land-deflate.tif"))
            .collect();
        files.sort();
        assert!(files.len() >= 24, "{} fixtures", files.len());
        let mut chunked = 0;
        for path in &files {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let full = full_decode(path);
            let r = Raster::read(path).unwrap();
            assert_eq!((r.width(), r.height()), (130, 70), "{name}");
            chunked += usize::from(matches!(r.pixels, Pixels::Chunked { .. }));
            for i in (0..full.len()).rev() {
                assert_eq!(r.pixel(i).to_bits(), full[i].to_bits(), "{name} pixel {i}");
            }
            if name.starts_with("f32") {
                assert_eq!(full, reference, "{name}");
            }
            // The nodata pixel (row 5, column 7) and its neighbour, by position.
            let (lon, lat) = (-120.0 + 0.05 * 7.5, 40.0 - 0.05 * 5.5);
            assert_eq!(r.sample(lon, lat), None, "{name}");
            assert_eq!(r.sample(lon + 0.05, lat), Some(full[5 * 130 + 8]), "{name}");
            assert_eq!(r.failure(), None, "{name}");
        }
        assert!(chunked >= files.len() - 1, "{chunked} decoded by chunk");
    }

    /// With a cache of three tiles, four threads reading every pixel in different orders
    /// all get the whole-image decode's values, and the cache stays within its budget.
    #[test]
    fn a_small_tile_cache_shared_by_threads_gives_the_same_pixels() {
        let path = raster_fixture("f32-tiled-deflate-p3.tif");
        let full = full_decode(&path);
        let len = std::fs::metadata(&path).unwrap().len();
        let budget = 3 * 32 * 16 * 4;
        let c = chunked::Chunked::open(&path, 130, 70, limits(len))
            .unwrap()
            .with_cache_bytes(budget);
        std::thread::scope(|s| {
            for t in 0..4usize {
                let (c, full) = (&c, &full);
                s.spawn(move || {
                    for k in 0..full.len() {
                        // A stride coprime to the pixel count visits every pixel once.
                        let i = (k * (7 + 2 * t) + t * 1000) % full.len();
                        assert_eq!(c.get(i).to_bits(), full[i].to_bits(), "pixel {i}");
                    }
                });
            }
        });
        assert!(c.held_bytes() <= budget, "{} bytes held", c.held_bytes());
        assert!(c.failure().is_none());
    }

    /// The tile and strip offsets and sizes of a TIFF.
    fn chunk_ranges(path: &Path) -> Vec<(usize, usize)> {
        let mut dec = Decoder::new(std::fs::File::open(path).unwrap()).unwrap();
        let tiled = dec.find_tag(Tag::TileOffsets).unwrap().is_some();
        let (o, n) = if tiled {
            (Tag::TileOffsets, Tag::TileByteCounts)
        } else {
            (Tag::StripOffsets, Tag::StripByteCounts)
        };
        let offsets = dec.get_tag_u64_vec(o).unwrap();
        let counts = dec.get_tag_u64_vec(n).unwrap();
        offsets
            .into_iter()
            .zip(counts)
            .map(|(o, n)| (o as usize, n as usize))
            .collect()
    }

    /// A tile whose compressed bytes are garbage opens (nothing is decoded then), reads as
    /// no data, and is reported with the file and the tile; the other tiles read as before.
    #[test]
    fn a_corrupt_tile_reads_as_no_data_and_is_reported() {
        let src = raster_fixture("f32-tiled-deflate-p3.tif");
        let full = full_decode(&src);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.tif");
        let mut bytes = std::fs::read(&src).unwrap();
        let (at, n) = chunk_ranges(&src)[5];
        for b in &mut bytes[at..at + n] {
            *b = 0xA5;
        }
        std::fs::write(&path, &bytes).unwrap();
        let r = Raster::read(&path).unwrap();
        assert_eq!(r.failure(), None);
        // Tile 5 is the first of the second row of tiles (5 tiles of 32 across).
        assert!(r.pixel(16 * 130).is_nan());
        let e = r.failure().unwrap();
        assert!(
            e.contains("bad.tif: tile or strip 5 cannot be decoded"),
            "{e}"
        );
        assert_eq!(r.pixel(15 * 130), full[15 * 130]);
        assert_eq!(r.pixel(16 * 130 + 32), full[16 * 130 + 32]);
    }

    /// A compression the decoder does not know (LERC here) is refused when the raster is
    /// opened, not when a site first reads a tile.
    #[test]
    fn an_unknown_compression_is_refused_when_opened() {
        let src = raster_fixture("f32-tiled-deflate-p3.tif");
        let mut bytes = std::fs::read(&src).unwrap();
        assert_eq!(&bytes[..4], b"II*\0", "a little-endian classic TIFF");
        let ifd = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        let n = u16::from_le_bytes(bytes[ifd..ifd + 2].try_into().unwrap()) as usize;
        let entry = (0..n)
            .map(|k| ifd + 2 + 12 * k)
            .find(|&e| u16::from_le_bytes([bytes[e], bytes[e + 1]]) == 259)
            .expect("a Compression tag");
        bytes[entry + 8..entry + 10].copy_from_slice(&34887u16.to_le_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lerc.tif");
        std::fs::write(&path, &bytes).unwrap();
        let e = Raster::read(&path).unwrap_err().to_string();
        assert!(e.contains("lerc.tif: cannot decode pixels"), "{e}");
    }

    /// A compressed file cut short is refused when it is opened, naming the first tile
    /// past its end.
    #[test]
    fn a_truncated_compressed_file_is_refused_when_opened() {
        let src = raster_fixture("f32-strips-zstd-p2.tif");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.tif");
        let bytes = std::fs::read(&src).unwrap();
        let ranges = chunk_ranges(&src);
        let end = ranges.iter().map(|&(o, n)| o + n).max().unwrap();
        // Keep everything up to the middle of the last chunk (and any header after it).
        let (o, n) = *ranges.iter().max_by_key(|&&(o, _)| o).unwrap();
        assert_eq!(o + n, end, "the last chunk ends the pixel data");
        let mut cut = bytes[..o + n / 2].to_vec();
        if end < bytes.len() && bytes.len() - end < o {
            cut.truncate(o + n / 2);
        }
        std::fs::write(&path, &cut).unwrap();
        let e = Raster::read(&path).unwrap_err().to_string();
        assert!(e.contains("cut.tif"), "{e}");
        assert!(
            e.contains("lies past the end of the file") || e.contains("not a readable TIFF"),
            "{e}"
        );
    }

    #[test]
    fn edges_and_wrap() {
        // A global 2 x 1 raster: west and east hemispheres.
        let r = Raster::new(2, 1, -180.0, 90.0, 180.0, 180.0, vec![1.0, 2.0], None).unwrap();
        assert_eq!(r.sample(-180.0, 0.0), Some(1.0));
        assert_eq!(r.sample(180.0, 0.0), Some(2.0));
        assert_eq!(r.sample(0.0, 0.0), Some(2.0));
        assert_eq!(r.sample(10.0, -90.0), Some(2.0));
        assert_eq!(r.sample(-10.0, 90.0), Some(1.0));
    }

    #[test]
    fn not_a_tiff_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.tif");
        std::fs::write(&path, b"hello").unwrap();
        let e = Raster::read(&path).unwrap_err();
        assert!(e.to_string().contains("x.tif: not a readable TIFF"), "{e}");
    }

    /// Seeded byte-level mutations of the fixture GeoTIFF (flipped bytes, words set to huge
    /// values, truncations): every one is read as a raster or refused with an error, never a
    /// panic or an abort, and every raster read answers samples anywhere.
    #[test]
    fn mutated_geotiffs_are_errors_not_crashes() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/land.tif");
        let original = std::fs::read(&fixture).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.tif");
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let (mut read, mut refused) = (0, 0);
        for round in 0..3000 {
            let mut bytes = original.clone();
            for _ in 0..1 + next(4) {
                let at = next(bytes.len());
                match next(3) {
                    0 => bytes[at] ^= 1 << next(8),
                    1 => {
                        for b in bytes.iter_mut().skip(at).take(4) {
                            *b = 0xFF;
                        }
                    }
                    _ => bytes[at] = next(256) as u8,
                }
            }
            if round % 10 == 0 {
                bytes.truncate(next(bytes.len()));
            }
            std::fs::write(&path, &bytes).unwrap();
            let outcome = std::panic::catch_unwind(|| {
                Raster::read(&path).map(|r| {
                    let mut t = 0.0;
                    for k in 0..50 {
                        let (lon, lat) = (-180.0 + 7.3 * k as f64, -90.0 + 3.6 * k as f64);
                        t += r.sample(lon, lat).unwrap_or(0.0);
                        t += r.sample(10.0 + 0.1 * k as f64, 0.0).unwrap_or(0.0);
                    }
                    t
                })
            });
            match outcome {
                Ok(Ok(_)) => read += 1,
                Ok(Err(_)) => refused += 1,
                Err(_) => panic!("round {round}: reading a mutated GeoTIFF panicked"),
            }
        }
        assert!(read > 0 && refused > 0, "{read} read, {refused} refused");
    }
}
