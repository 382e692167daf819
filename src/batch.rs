//! Batch scoring: a stream of sites through the engine into a ranking.
//!
//! Sites are read in chunks. Without a limit each chunk is evaluated in parallel (rayon) and
//! kept in input order. With a top-N limit, chunks are gathered into batches of
//! [`SPATIAL_BATCH_SITES`], each batch is evaluated in spatial order (grid buckets in
//! Z-order; in parallel) and only the best N of it are kept, so memory does not grow with the
//! number of sites. The ranking is by score, descending, ties broken by input order: the same
//! for any thread count.

use crate::engine::{Engine, Evaluation, Status};
use crate::error::Result;
use crate::sites::{Site, SiteChunk, SiteHeader, SiteOptions, SiteSource, read_site_blocks};
use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A site with its evaluation and rank (rank only for `ok` sites).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredSite {
    /// The input site.
    pub site: Site,
    /// Its evaluation.
    pub eval: Evaluation,
    /// 1-based rank among `ok` sites.
    pub rank: Option<u64>,
}

/// Counts over all sites read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Sites read.
    pub sites: u64,
    /// Sites scored and ranked.
    pub ok: u64,
    /// Sites that failed a constraint.
    pub excluded: u64,
    /// Sites with an UNKNOWN criterion under the `exclude` policy.
    pub unknown: u64,
    /// Sites failing each constraint, in profile order: (reason, count).
    pub by_constraint: Vec<(String, u64)>,
    /// Sites with each criterion UNKNOWN, in profile order: (criterion id, count).
    pub unknown_by_criterion: Vec<(String, u64)>,
}

/// The outcome of a batch run.
#[derive(Debug, Clone)]
pub struct Batch {
    /// What the input looked like.
    pub header: SiteHeader,
    /// Ranked `ok` sites first (best first), then — without a top-N limit — the others in
    /// input order.
    pub results: Vec<ScoredSite>,
    /// Counts over all sites.
    pub summary: Summary,
}

/// A site in the ranking, ordered so that greater = ranks lower (worse score, or later in
/// the input on a tie).
struct Ranked<T> {
    score: f64,
    index: u64,
    item: T,
}

impl<T> PartialEq for Ranked<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T> Eq for Ranked<T> {}
impl<T> PartialOrd for Ranked<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ranked<T> {
    /// Whether `self` ranks before `other` (of any item type).
    fn ranks_before<U>(&self, other: &Ranked<U>) -> bool {
        other
            .score
            .total_cmp(&self.score)
            .then(self.index.cmp(&other.index))
            == Ordering::Less
    }
}

impl<T> Ord for Ranked<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.index.cmp(&other.index))
    }
}

/// Sites per chunk for inputs read record by record (GeoJSON, CSV with quotes); quote-free
/// CSV comes in blocks of [`crate::sites::CSV_BLOCK_BYTES`].
pub const CHUNK_SIZE: usize = 49_152;

/// Interleave the bits of two 16-bit grid coordinates (a Z-order / Morton key).
fn morton(x: u32, y: u32) -> u32 {
    fn spread(mut v: u32) -> u32 {
        v &= 0xFFFF;
        v = (v | (v << 8)) & 0x00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333;
        (v | (v << 1)) & 0x5555_5555
    }
    spread(x) | (spread(y) << 1)
}

/// Sites gathered before they are scored together in one spatial order (with a top-N
/// limit). Larger batches put more sites next to each other on the way through the indexes
/// (fewer cache misses), at about 90 bytes of memory per site in flight: on the benchmark
/// (1,000,000 sites, 2 threads) batches of 2^19 take 0.69 s at 181 MB peak, batches of 2^18
/// 0.72 s at 167 MB, and 4 MB blocks scored one by one 0.94 s.
pub const SPATIAL_BATCH_SITES: usize = 1 << 19;

/// Sites whose index memory is touched together before they are scored (see
/// [`Engine::touch`]).
const TOUCH_GROUP: usize = 16;

/// Sites per parallel task when a batch is scored.
const SITES_PER_TASK: usize = 4096;

/// Counts of one part of a batch, added up in any order.
#[derive(Default)]
struct Tally {
    sites: u64,
    ok: u64,
    excluded: u64,
    unknown: u64,
    by_constraint: Vec<u64>,
    unknown_by_criterion: Vec<u64>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.sites += other.sites;
        self.ok += other.ok;
        self.excluded += other.excluded;
        self.unknown += other.unknown;
        if self.by_constraint.len() < other.by_constraint.len() {
            self.by_constraint.resize(other.by_constraint.len(), 0);
            self.unknown_by_criterion
                .resize(other.unknown_by_criterion.len(), 0);
        }
        for (a, b) in self.by_constraint.iter_mut().zip(&other.by_constraint) {
            *a += b;
        }
        for (a, b) in self
            .unknown_by_criterion
            .iter_mut()
            .zip(&other.unknown_by_criterion)
        {
            *a += b;
        }
    }
}

/// Push into a heap that keeps the `n` best.
fn push_bounded<T>(heap: &mut BinaryHeap<Ranked<T>>, n: usize, r: Ranked<T>) {
    if heap.len() < n {
        heap.push(r);
    } else if heap.peek().is_some_and(|worst| r < *worst) {
        heap.pop();
        heap.push(r);
    }
}

/// Cells per side of the grid [`spatial_order`] buckets a batch into (256: measured as fast
/// as 128, 512 and 1024 on the benchmark, with 16-bit bucket keys).
const ORDER_GRID: usize = 256;

/// The positions of a batch's sites (lon, lat, position in the batch) in spatial order, into
/// `points`: bucketed into an [`ORDER_GRID`]² grid over the batch's bounding box, buckets in
/// Z-order, sites in input order within a bucket. A counting sort, in parallel (bucket keys
/// per chunk; then every part of the output, a run of buckets, is filled by one task that
/// scans all keys), with no comparisons: neighbouring queries then touch the same index
/// pages and raster rows.
fn spatial_order(chunks: &[SiteChunk], total: usize, points: &mut Vec<(f64, f64, u32)>) {
    let bbox = |c: &SiteChunk| {
        c.lon.iter().zip(&c.lat).fold(
            [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
            |b, (&lon, &lat)| [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)],
        )
    };
    let [x0, y0, x1, y1] = chunks.par_iter().map(bbox).reduce(
        || [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
        |a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        },
    );
    let cells = ORDER_GRID as f64;
    let (sx, sy) = (cells / (x1 - x0).max(1e-9), cells / (y1 - y0).max(1e-9));
    let last = ORDER_GRID as u32 - 1;
    let keys: Vec<Vec<u16>> = chunks
        .par_iter()
        .map(|c| {
            c.lon
                .iter()
                .zip(&c.lat)
                .map(|(&lon, &lat)| {
                    // Non-negative, so truncation is the floor; the far edges go to the last
                    // cell.
                    let x = (((lon - x0) * sx) as u32).min(last);
                    let y = (((lat - y0) * sy) as u32).min(last);
                    morton(x, y) as u16
                })
                .collect()
        })
        .collect();
    let mut start = vec![0u32; ORDER_GRID * ORDER_GRID + 1];
    for &k in keys.iter().flatten() {
        start[k as usize + 1] += 1;
    }
    for k in 1..start.len() {
        start[k] += start[k - 1];
    }
    points.clear();
    points.resize(total, (0.0, 0.0, 0));
    // Split the buckets into parts of about equal numbers of sites; each part owns its slice
    // of the output.
    let parts = (rayon::current_num_threads() * 2).clamp(1, 64);
    let mut bounds = vec![0usize];
    for p in 1..parts {
        // The first bucket boundary with at least p/parts of the sites before it.
        let b = start.partition_point(|&s| (s as usize) < total * p / parts);
        bounds.push(b.min(ORDER_GRID * ORDER_GRID));
    }
    bounds.push(ORDER_GRID * ORDER_GRID);
    bounds.dedup();
    let mut slices = Vec::with_capacity(bounds.len());
    let mut rest: &mut [(f64, f64, u32)] = points;
    for w in bounds.windows(2) {
        let len = (start[w[1]] - start[w[0]]) as usize;
        let (head, tail) = rest.split_at_mut(len);
        slices.push((w[0], w[1], head));
        rest = tail;
    }
    slices.into_par_iter().for_each(|(b0, b1, out)| {
        let base = start[b0];
        let mut fill: Vec<u32> = start[b0..b1].iter().map(|s| s - base).collect();
        let mut pos = 0u32;
        for (c, ks) in chunks.iter().zip(&keys) {
            for (i, &k) in ks.iter().enumerate() {
                let k = k as usize;
                if k >= b0 && k < b1 {
                    let slot = &mut fill[k - b0];
                    out[*slot as usize] = (c.lon[i], c.lat[i], pos + i as u32);
                    *slot += 1;
                }
            }
            pos += ks.len() as u32;
        }
    });
}

/// Score a batch of chunks with a top-`n` limit: every site is evaluated in spatial order
/// ([`spatial_order`]), in parallel; the best `n` of the batch and the counts are then merged
/// into `heap` and `summary`. The outcome does not depend on the order of evaluation: the
/// ranking is a total order (score, then input position). `points` is working memory, kept
/// from one batch to the next.
fn score_batch_top(
    engine: &Engine,
    chunks: &[SiteChunk],
    n: usize,
    heap: &mut BinaryHeap<Ranked<Site>>,
    summary: &mut Summary,
    points: &mut Vec<(f64, f64, u32)>,
) {
    let mut offsets = Vec::with_capacity(chunks.len() + 1);
    offsets.push(0usize);
    for c in chunks {
        offsets.push(offsets[offsets.len() - 1] + c.len());
    }
    if offsets[chunks.len()] == 0 {
        return;
    }
    spatial_order(chunks, offsets[chunks.len()], points);
    let locate = |pos: usize| {
        let c = offsets.partition_point(|&o| o <= pos) - 1;
        (c, pos - offsets[c])
    };
    let n_constraints = engine.profile().constraints.len().min(64);
    let n_criteria = engine.profile().criteria.len().min(64);
    let (best, tally) = points
        .par_chunks(SITES_PER_TASK)
        .map(|ps| {
            let mut best: Vec<Ranked<u32>> = Vec::new();
            let mut t = Tally {
                by_constraint: vec![0; n_constraints],
                unknown_by_criterion: vec![0; n_criteria],
                ..Tally::default()
            };
            for group in ps.chunks(TOUCH_GROUP) {
                let mut at = [(0.0, 0.0); TOUCH_GROUP];
                for (a, &(lon, lat, _)) in at.iter_mut().zip(group) {
                    *a = (lon, lat);
                }
                std::hint::black_box(engine.touch(&at[..group.len()]));
                for &(lon, lat, pos) in group {
                    let q = engine.score_only(lon, lat);
                    count(&mut t, &q);
                    if q.status == Status::Ok {
                        let (c, i) = locate(pos as usize);
                        best.push(Ranked {
                            score: q.score.unwrap_or(f64::NEG_INFINITY),
                            index: chunks[c].first_index + i as u64,
                            item: pos,
                        });
                    }
                }
            }
            keep_best(&mut best, n);
            (best, t)
        })
        .reduce(
            || (Vec::new(), Tally::default()),
            |(mut a, mut ta), (b, tb)| {
                a.extend(b);
                keep_best(&mut a, n);
                ta.add(&tb);
                (a, ta)
            },
        );
    apply_tally(summary, &tally);
    // Only the sites that make the overall cut get their id and record made.
    for r in best {
        let enters = heap.len() < n || heap.peek().is_some_and(|w| r.ranks_before(w));
        if enters {
            let (c, i) = locate(r.item as usize);
            push_bounded(
                heap,
                n,
                Ranked {
                    score: r.score,
                    index: r.index,
                    item: chunks[c].site(i),
                },
            );
        }
    }
}

/// Keep the `n` best of `v` (in no particular order).
fn keep_best<T>(v: &mut Vec<Ranked<T>>, n: usize) {
    if v.len() > n {
        if n > 0 {
            v.select_nth_unstable(n - 1);
        }
        v.truncate(n);
    }
}

/// Count one evaluation.
fn count(t: &mut Tally, q: &crate::engine::Quick) {
    t.sites += 1;
    for (k, c) in t.by_constraint.iter_mut().enumerate() {
        if q.failed & (1 << k) != 0 {
            *c += 1;
        }
    }
    for (i, c) in t.unknown_by_criterion.iter_mut().enumerate() {
        if q.unknown & (1 << i) != 0 {
            *c += 1;
        }
    }
    match q.status {
        Status::Ok => t.ok += 1,
        Status::Excluded => t.excluded += 1,
        Status::Unknown => t.unknown += 1,
    }
}

fn apply_tally(summary: &mut Summary, t: &Tally) {
    summary.sites += t.sites;
    summary.ok += t.ok;
    summary.excluded += t.excluded;
    summary.unknown += t.unknown;
    for (a, b) in summary.by_constraint.iter_mut().zip(&t.by_constraint) {
        a.1 += b;
    }
    for (a, b) in summary
        .unknown_by_criterion
        .iter_mut()
        .zip(&t.unknown_by_criterion)
    {
        a.1 += b;
    }
}

/// Score every site from `source`. With `top = Some(n)` only the best `n` `ok` sites are
/// kept (a bounded heap) and only they are explained; otherwise all sites are returned.
/// `progress` is called with the number of sites scored so far after each chunk (with a
/// limit, after each batch of [`SPATIAL_BATCH_SITES`]).
///
/// Sites are read and parsed on a reader thread while earlier ones are scored on the rayon
/// pool (see [`SiteStream`]).
pub fn score_sites(
    engine: &Engine,
    source: &SiteSource,
    options: &SiteOptions,
    top: Option<usize>,
    progress: &mut dyn FnMut(u64),
) -> Result<Batch> {
    score_stream(engine, SiteStream::open(source, options), top, progress)
}

/// Parsed site chunks the reader thread may hold ready ahead of scoring (besides the one it
/// is parsing and those of the batch being gathered): enough for a whole first batch to be
/// parsed while the layers load, and the next while a batch is scored. Measured on the
/// benchmark (1,000,000 sites): 1 chunk 0.455-0.489 s, 4 chunks 0.443-0.466 s, 6 no faster;
/// peak RSS for 5,000,000 sites 181 MB (1), 193 MB (4), 203 MB (6).
const PREFETCH_CHUNKS: usize = 4;

/// Sites read and parsed ahead of scoring. Open the stream before building the [`Engine`]
/// and the first sites are parsed while the layers load; then pass it to [`score_stream`].
///
/// With more than one rayon worker the sites are read and parsed on a thread of their own
/// (parsing itself runs on the rayon pool); with one (`--threads 1`) they are read on the
/// scoring thread, as they are needed. Errors (a missing file, a bad line) are reported by
/// [`score_stream`], after any error of the engine.
pub struct SiteStream {
    rx: Option<std::sync::mpsc::Receiver<SiteChunk>>,
    reader: Option<std::thread::JoinHandle<Result<SiteHeader>>>,
    inline: Option<(SiteSource, SiteOptions)>,
}

impl SiteStream {
    /// Start reading `source`.
    pub fn open(source: &SiteSource, options: &SiteOptions) -> SiteStream {
        let inline = SiteStream {
            rx: None,
            reader: None,
            inline: Some((source.clone(), options.clone())),
        };
        if rayon::current_num_threads() <= 1 {
            return inline;
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<SiteChunk>(PREFETCH_CHUNKS);
        let (source, options) = (source.clone(), options.clone());
        let reader = std::thread::Builder::new()
            .name("standort-sites".into())
            .spawn(move || {
                let mut next_index = 0u64;
                read_site_blocks(&source, &options, CHUNK_SIZE, &mut |block| {
                    let chunk = block.parse(next_index)?;
                    next_index += chunk.len() as u64;
                    // The receiver only hangs up when scoring is abandoned.
                    tx.send(chunk).map_err(|_| {
                        crate::Error::new(crate::ErrorKind::Io, "site scoring stopped")
                    })
                })
            });
        match reader {
            Ok(reader) => SiteStream {
                rx: Some(rx),
                reader: Some(reader),
                inline: None,
            },
            Err(_) => inline,
        }
    }

    /// Hand every chunk, in input order, to `f`; then the header, or the first error.
    fn for_each(mut self, f: &mut dyn FnMut(SiteChunk)) -> Result<SiteHeader> {
        if let Some((source, options)) = self.inline.take() {
            let mut next_index = 0u64;
            return read_site_blocks(&source, &options, CHUNK_SIZE, &mut |block| {
                let chunk = block.parse(next_index)?;
                next_index += chunk.len() as u64;
                f(chunk);
                Ok(())
            });
        }
        if let Some(rx) = self.rx.take() {
            for chunk in rx.iter() {
                f(chunk);
            }
        }
        match self.reader.take().map(|r| r.join()) {
            Some(Ok(read)) => read,
            _ => Err(crate::Error::new(
                crate::ErrorKind::Io,
                "the site reader stopped unexpectedly",
            )),
        }
    }
}

impl Drop for SiteStream {
    fn drop(&mut self) {
        // An unused stream (the engine failed): hang up, so that the reader stops at its next
        // chunk. It is not waited for: it may be blocked reading a terminal.
        self.rx.take();
        self.reader.take();
    }
}

/// Fit the engine's set-dependent aggregation method on a stream of the candidate sites
/// (a first pass: only the fit's accumulator is kept, so memory stays bounded); nothing to
/// do for a site-local method.
pub fn fit_stream(engine: &mut Engine, sites: SiteStream) -> Result<()> {
    let Some(mut fit) = engine.fit_start() else {
        return Ok(());
    };
    let e = &*engine;
    sites.for_each(&mut |chunk| {
        let parts: Vec<_> = chunk
            .lon
            .par_chunks(4096)
            .zip(chunk.lat.par_chunks(4096))
            .filter_map(|(lons, lats)| {
                let mut f = e.fit_start()?;
                for (&lon, &lat) in lons.iter().zip(lats) {
                    e.fit_observe(&mut *f, lon, lat);
                }
                Some(f)
            })
            .collect();
        for part in parts {
            fit.merge(part);
        }
    })?;
    engine.fit_finish(fit);
    Ok(())
}

/// [`score_sites`] over a stream opened earlier.
pub fn score_stream(
    engine: &Engine,
    sites: SiteStream,
    top: Option<usize>,
    progress: &mut dyn FnMut(u64),
) -> Result<Batch> {
    let profile = engine.profile();
    let mut summary = Summary {
        by_constraint: profile
            .constraints
            .iter()
            .map(|c| (c.reason.clone(), 0))
            .collect(),
        unknown_by_criterion: profile
            .criteria
            .iter()
            .map(|c| (c.id().to_string(), 0))
            .collect(),
        ..Summary::default()
    };
    let mut heap: BinaryHeap<Ranked<Site>> = BinaryHeap::new();
    let mut ok: Vec<Ranked<ScoredSite>> = Vec::new();
    let mut others: Vec<ScoredSite> = Vec::new();
    let mut pending: Vec<SiteChunk> = Vec::new();
    let mut pending_sites = 0usize;
    let mut points = Vec::new();
    let mut process = |chunk: SiteChunk| {
        match top {
            Some(n) => {
                pending_sites += chunk.len();
                pending.push(chunk);
                if pending_sites >= SPATIAL_BATCH_SITES {
                    score_batch_top(engine, &pending, n, &mut heap, &mut summary, &mut points);
                    pending.clear();
                    pending_sites = 0;
                    progress(summary.sites);
                }
                return;
            }
            None => {
                let scored: Vec<ScoredSite> = chunk
                    .into_sites()
                    .into_par_iter()
                    .map(|site| {
                        let eval = engine.evaluate(site.lon, site.lat);
                        ScoredSite {
                            site,
                            eval,
                            rank: None,
                        }
                    })
                    .collect();
                for s in scored {
                    summary.sites += 1;
                    for (i, v) in s.eval.values.iter().enumerate() {
                        if v.unknown.is_some() {
                            summary.unknown_by_criterion[i].1 += 1;
                        }
                    }
                    for (k, c) in profile.constraints.iter().enumerate() {
                        let i = profile.criteria.iter().position(|x| x.id() == c.criterion);
                        if i.and_then(|i| s.eval.values[i].raw.as_f64())
                            .is_some_and(|v| !c.passes(v))
                        {
                            summary.by_constraint[k].1 += 1;
                        }
                    }
                    match s.eval.status {
                        Status::Ok => {
                            summary.ok += 1;
                            ok.push(Ranked {
                                score: s.eval.score.unwrap_or(f64::NEG_INFINITY),
                                index: s.site.index,
                                item: s,
                            });
                        }
                        Status::Excluded => {
                            summary.excluded += 1;
                            others.push(s);
                        }
                        Status::Unknown => {
                            summary.unknown += 1;
                            others.push(s);
                        }
                    }
                }
            }
        }
        progress(summary.sites);
    };
    let header = sites.for_each(&mut process)?;
    if let Some(n) = top {
        if !pending.is_empty() {
            score_batch_top(engine, &pending, n, &mut heap, &mut summary, &mut points);
            drop(pending);
            progress(summary.sites);
        }
    }
    let mut results: Vec<ScoredSite> = match top {
        Some(_) => {
            let mut kept = heap.into_vec();
            kept.sort_unstable();
            kept.into_par_iter()
                .map(|r| {
                    let eval = engine.evaluate(r.item.lon, r.item.lat);
                    ScoredSite {
                        site: r.item,
                        eval,
                        rank: None,
                    }
                })
                .collect()
        }
        None => {
            ok.sort_unstable();
            ok.into_iter().map(|r| r.item).collect()
        }
    };
    for (i, s) in results.iter_mut().enumerate() {
        s.rank = Some(i as u64 + 1);
    }
    results.extend(others);
    Ok(Batch {
        header,
        results,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{LayerSet, Value};
    use crate::profile::Profile;
    use crate::sites::Record;
    use std::path::Path;

    fn engine() -> Engine {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let layers = LayerSet::from_file(&dir.join("layers.toml"), Some(&dir)).unwrap();
        let profile = Profile::from_file(&dir.join("profile.toml")).unwrap();
        Engine::new(profile, &layers).unwrap()
    }

    /// Sites around the fixture layers (and across the antimeridian), with repeated
    /// positions so that scores tie.
    fn sites(n: usize) -> Vec<Site> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut out: Vec<Site> = Vec::with_capacity(n);
        for index in 0..n {
            let (lon, lat) = if index % 5 == 4 {
                (out[index / 2].lon, out[index / 2].lat)
            } else if index % 7 == 0 {
                (179.5 + next(), next() - 0.5)
            } else {
                (9.0 + 5.0 * next(), 3.0 * next() - 1.5)
            };
            let lon = if lon > 180.0 { lon - 360.0 } else { lon };
            out.push(Site {
                index: index as u64,
                id: format!("s{index}"),
                lon,
                lat,
                record: Record::Csv(csv::StringRecord::new()),
            });
        }
        out
    }

    /// The spatial order is a permutation of the batch (every site once, with its own
    /// position), in bucket order, for any number of sites and chunks, including a batch
    /// whose sites all share one position.
    #[test]
    fn spatial_order_is_a_permutation_in_bucket_order() {
        let mut points = Vec::new();
        let mut same = sites(50);
        for s in &mut same {
            (s.lon, s.lat) = (179.9, -12.0);
        }
        for (all, chunk_size) in [
            (sites(1), 1),
            (sites(3000), 7),
            (sites(3000), 3000),
            (same, 9),
        ] {
            let chunks: Vec<SiteChunk> = all
                .chunks(chunk_size)
                .map(|c| SiteChunk::from_sites(c.to_vec()))
                .collect();
            spatial_order(&chunks, all.len(), &mut points);
            let mut seen = vec![false; all.len()];
            for &(lon, lat, pos) in points.iter() {
                let s = &all[pos as usize];
                assert_eq!((lon, lat), (s.lon, s.lat));
                assert!(
                    !std::mem::replace(&mut seen[pos as usize], true),
                    "{pos} twice"
                );
            }
            assert!(seen.iter().all(|&s| s), "a site is missing");
            // Positions within one bucket keep input order; bucket keys never decrease.
            let (x0, x1) = points
                .iter()
                .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.0), a.1.max(p.0)));
            let (y0, y1) = points
                .iter()
                .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.1), a.1.max(p.1)));
            let cells = ORDER_GRID as f64;
            let key = |p: &(f64, f64, u32)| {
                let x =
                    (((p.0 - x0) * cells / (x1 - x0).max(1e-9)) as u32).min(ORDER_GRID as u32 - 1);
                let y =
                    (((p.1 - y0) * cells / (y1 - y0).max(1e-9)) as u32).min(ORDER_GRID as u32 - 1);
                (morton(x, y), p.2)
            };
            assert!(points.windows(2).all(|w| key(&w[0]) < key(&w[1])));
        }
    }

    /// The quick path (criteria with constraints first; an excluded site skips the measures
    /// that are always known) reports what the explained evaluation does: status, score,
    /// failed constraints and UNKNOWN criteria.
    #[test]
    fn quick_scores_agree_with_explained_evaluations() {
        let engine = engine();
        let profile = engine.profile();
        let (mut excluded, mut excluded_unknown) = (0, 0);
        for s in sites(3000) {
            let q = engine.score_only(s.lon, s.lat);
            let e = engine.evaluate(s.lon, s.lat);
            assert_eq!(q.status, e.status, "{s:?}");
            assert_eq!(q.score.map(f64::to_bits), e.score.map(f64::to_bits));
            let unknown = (0..e.values.len())
                .filter(|&i| e.values[i].unknown.is_some())
                .fold(0u64, |m, i| m | 1 << i);
            assert_eq!(q.unknown, unknown, "{s:?}");
            let failed = (0..profile.constraints.len())
                .filter(|&k| {
                    let c = &profile.constraints[k];
                    let i = profile.criteria.iter().position(|x| x.id() == c.criterion);
                    matches!(i.map(|i| &e.values[i].raw), Some(Value::Num(v)) if !c.passes(*v))
                })
                .fold(0u64, |m, k| m | 1 << k);
            assert_eq!(q.failed, failed, "{s:?}");
            if q.status == Status::Excluded {
                excluded += 1;
                excluded_unknown += usize::from(q.unknown != 0);
            }
        }
        assert!(
            excluded > 100 && excluded_unknown > 0,
            "{excluded} {excluded_unknown}"
        );
    }

    /// Batches of any size, made of chunks of any size, keep exactly the first N of the full
    /// ranking (score descending, then input order) and count every site.
    #[test]
    fn batched_top_n_is_the_head_of_the_full_ranking() {
        let engine = engine();
        let all = sites(3000);
        let mut full: Vec<(f64, u64)> = Vec::new();
        let (mut ok, mut excluded, mut unknown) = (0, 0, 0);
        for s in &all {
            let q = engine.score_only(s.lon, s.lat);
            match q.status {
                Status::Ok => {
                    ok += 1;
                    full.push((q.score.unwrap(), s.index));
                }
                Status::Excluded => excluded += 1,
                Status::Unknown => unknown += 1,
            }
        }
        full.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        assert!(
            ok > 100 && excluded + unknown > 0,
            "{ok} {excluded} {unknown}"
        );
        assert!(
            full.windows(2).any(|w| w[0].0 == w[1].0),
            "the sites should produce ties"
        );
        for (chunk_size, chunks_per_batch) in [(1, 1), (7, 3), (100, 1), (1000, 2), (3000, 1)] {
            for n in [0, 1, 5, 50, 5000] {
                let mut heap = BinaryHeap::new();
                let mut points = Vec::new();
                let mut summary = Summary {
                    by_constraint: vec![(String::new(), 0); engine.profile().constraints.len()],
                    unknown_by_criterion: vec![(String::new(), 0); engine.profile().criteria.len()],
                    ..Summary::default()
                };
                let chunks: Vec<SiteChunk> = all
                    .chunks(chunk_size)
                    .map(|c| SiteChunk::from_sites(c.to_vec()))
                    .collect();
                for batch in chunks.chunks(chunks_per_batch) {
                    score_batch_top(&engine, batch, n, &mut heap, &mut summary, &mut points);
                }
                let mut kept = heap.into_vec();
                kept.sort_unstable();
                let got: Vec<(f64, u64)> = kept.iter().map(|r| (r.score, r.item.index)).collect();
                let want = &full[..n.min(full.len())];
                assert_eq!(
                    got, want,
                    "chunks of {chunk_size}, {chunks_per_batch} per batch, top {n}"
                );
                for r in &kept {
                    assert_eq!(r.item.id, format!("s{}", r.index));
                }
                assert_eq!(
                    (summary.sites, summary.ok, summary.excluded, summary.unknown),
                    (3000, ok, excluded, unknown)
                );
            }
        }
    }
}
