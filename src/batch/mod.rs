//! Batch scoring: a stream of sites through the engine into a ranking.
//!
//! Sites are read in chunks. Without a limit each chunk is evaluated in parallel (rayon) and
//! kept in input order. With a top-N limit, chunks are gathered into batches of
//! [`SPATIAL_BATCH_SITES`], each batch is evaluated in spatial order (grid buckets in
//! Z-order; in parallel) and only the best N of it are kept, so memory does not grow with the
//! number of sites. The ranking is by score, descending, ties broken by input order: the same
//! for any thread count.

pub mod arrow;
mod fit;
mod full;
mod rank;
mod spatial;
mod stream;
mod tally;
mod top;

pub use fit::fit_stream;
pub use full::{InputOrder, Ranking, SiteRows, rank_sites};
pub use stream::SiteStream;

use crate::engine::{Engine, Evaluation, Status, tie_runs};
use crate::error::Result;
use crate::sites::{Site, SiteChunk, SiteHeader, SiteOptions, SiteSource};
use rank::Ranked;
use rayon::prelude::*;
use top::score_batch_top;

/// A site with its evaluation and rank (rank only for `ok` sites).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredSite {
    /// The input site.
    pub site: Site,
    /// Its evaluation.
    pub eval: Evaluation,
    /// 1-based rank among `ok` sites.
    pub rank: Option<u64>,
    /// For `ok` sites: how many `ok` sites have exactly the same score (1: no tie). Ties are
    /// ordered by [`Engine::break_tie`], then input order.
    pub tie_group: Option<u64>,
    /// With `--sensitivity`, for the sites it tracks: how stable the rank is.
    pub stability: Option<crate::sensitivity::Stability>,
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

/// Sites per chunk for inputs read record by record (GeoJSON, CSV with quotes); quote-free
/// CSV comes in blocks of [`crate::sites::CSV_BLOCK_BYTES`].
pub const CHUNK_SIZE: usize = 49_152;

/// Sites gathered before they are scored together in one spatial order (with a top-N
/// limit). Larger batches put more sites next to each other on the way through the indexes
/// (fewer cache misses), at about 90 bytes of memory per site in flight: on the benchmark
/// (1,000,000 sites, 2 threads) batches of 2^19 and 2^18 both take 0.45 s, at 190 and 178 MB
/// peak, and 4 MB blocks scored one by one take about a third longer.
pub const SPATIAL_BATCH_SITES: usize = 1 << 18;

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

/// The sub-scores of every `ok` site of a stream (a pass of its own, for
/// [`crate::sensitivity`]), with each one's input position, in input order.
pub fn candidate_stream(
    engine: &Engine,
    sites: SiteStream,
) -> Result<(crate::sensitivity::CandidateSet, Vec<u64>)> {
    let n = engine.profile().criteria.len();
    let mut set = crate::sensitivity::CandidateSet::new(n);
    let mut index = Vec::new();
    sites.for_each(&mut |chunk| {
        let found: Vec<(u64, Vec<f64>)> = (0..chunk.len())
            .into_par_iter()
            .filter_map(|i| {
                let mut scores = vec![0.0; n];
                engine
                    .candidate_scores(chunk.lon[i], chunk.lat[i], &mut scores)
                    .map(|_| (chunk.first_index + i as u64, scores))
            })
            .collect();
        for (i, scores) in found {
            index.push(i);
            set.push(&scores);
        }
    })?;
    Ok((set, index))
}

/// Where scored sites go: the best `n` (in spatial batches) or every site.
enum Collector {
    Top {
        n: usize,
        best: rank::Best<Site>,
        ties: rank::TieCount,
        pending: Vec<SiteChunk>,
        pending_sites: usize,
        points: Vec<(f64, f64, u32)>,
    },
    All {
        ok: Vec<Ranked<ScoredSite>>,
        others: Vec<ScoredSite>,
    },
}

impl Collector {
    fn new(top: Option<usize>) -> Collector {
        match top {
            Some(n) => Collector::Top {
                n,
                best: rank::Best::default(),
                ties: rank::TieCount::default(),
                pending: Vec::new(),
                pending_sites: 0,
                points: Vec::new(),
            },
            None => Collector::All {
                ok: Vec::new(),
                others: Vec::new(),
            },
        }
    }

    /// Take a chunk; with a limit, score the gathered batch once it is big enough (or, with
    /// `flush`, whatever is gathered).
    fn take(&mut self, engine: &Engine, chunk: Option<SiteChunk>, summary: &mut Summary) {
        match self {
            Collector::Top {
                n,
                best,
                ties,
                pending,
                pending_sites,
                points,
            } => {
                let flush = chunk.is_none();
                if let Some(chunk) = chunk {
                    *pending_sites += chunk.len();
                    pending.push(chunk);
                }
                if (flush && !pending.is_empty()) || *pending_sites >= SPATIAL_BATCH_SITES {
                    score_batch_top(engine, pending, *n, best, (summary, ties), points);
                    pending.clear();
                    *pending_sites = 0;
                }
            }
            Collector::All { ok, others } => {
                let Some(chunk) = chunk else { return };
                let scored: Vec<ScoredSite> = chunk
                    .into_sites()
                    .into_par_iter()
                    .map(|site| {
                        let eval = engine.evaluate(site.lon, site.lat);
                        ScoredSite {
                            site,
                            eval,
                            rank: None,
                            tie_group: None,
                            stability: None,
                        }
                    })
                    .collect();
                for s in scored {
                    summary.count(engine, &s.eval);
                    if s.eval.status == Status::Ok {
                        let score = s.eval.score.unwrap_or(f64::NEG_INFINITY);
                        let index = s.site.index;
                        ok.push(Ranked {
                            score,
                            index,
                            item: s,
                        });
                    } else {
                        others.push(s);
                    }
                }
            }
        }
    }

    /// The results: ranked `ok` sites first (explained now, with a limit), then the others.
    fn finish(self, engine: &Engine) -> Vec<ScoredSite> {
        let limit = match &self {
            Collector::Top { n, .. } => Some(*n),
            Collector::All { .. } => None,
        };
        let (mut ranked, others): (Vec<Ranked<ScoredSite>>, Vec<ScoredSite>) = match self {
            Collector::Top { best, ties, .. } => {
                let kept = best.into_sorted();
                let explained = kept.into_par_iter().map(|r| {
                    let eval = engine.evaluate(r.item.lon, r.item.lat);
                    let tie_group = Some(ties.get(r.score).max(1));
                    let site = ScoredSite {
                        site: r.item,
                        eval,
                        rank: None,
                        tie_group,
                        stability: None,
                    };
                    Ranked {
                        score: r.score,
                        index: r.index,
                        item: site,
                    }
                });
                (explained.collect(), Vec::new())
            }
            Collector::All { mut ok, others } => {
                ok.sort_unstable();
                for (start, end) in tie_runs(&ok, |r| r.score) {
                    for r in &mut ok[start..end] {
                        r.item.tie_group = Some((end - start) as u64);
                    }
                }
                (ok, others)
            }
        };
        // Exact ties: by the raw values of the heaviest criteria (a stable sort: input
        // order decides what is still equal).
        for (start, end) in tie_runs(&ranked, |r| r.score) {
            if end - start > 1 {
                ranked[start..end].sort_by(|a, b| engine.break_tie(&a.item.eval, &b.item.eval));
            }
        }
        // With a limit, the sites kept because they tied with the last listed one have had
        // their turn in the tie rule: cut the list to the limit now.
        if let Some(n) = limit {
            ranked.truncate(n);
        }
        let mut ranked: Vec<ScoredSite> = ranked.into_iter().map(|r| r.item).collect();
        for (i, s) in ranked.iter_mut().enumerate() {
            s.rank = Some(i as u64 + 1);
        }
        ranked.extend(others);
        ranked
    }
}

impl Summary {
    /// Empty counts for an engine's constraints and criteria.
    fn for_engine(engine: &Engine) -> Summary {
        let p = engine.profile();
        Summary {
            by_constraint: p
                .constraints
                .iter()
                .map(|c| (c.reason.clone(), 0))
                .collect(),
            unknown_by_criterion: p.criteria.iter().map(|c| (c.id().to_string(), 0)).collect(),
            ..Summary::default()
        }
    }

    /// Count one explained evaluation.
    fn count(&mut self, engine: &Engine, eval: &Evaluation) {
        let profile = engine.profile();
        self.sites += 1;
        for (i, v) in eval.values.iter().enumerate() {
            if v.unknown.is_some() {
                self.unknown_by_criterion[i].1 += 1;
            }
        }
        for (k, c) in profile.constraints.iter().enumerate() {
            let i = profile.criteria.iter().position(|x| x.id() == c.criterion);
            if i.and_then(|i| eval.values[i].raw.as_f64())
                .is_some_and(|v| !c.passes(v))
            {
                self.by_constraint[k].1 += 1;
            }
        }
        match eval.status {
            Status::Ok => self.ok += 1,
            Status::Excluded => self.excluded += 1,
            Status::Unknown => self.unknown += 1,
        }
    }
}

/// [`score_sites`] over a stream opened earlier.
pub fn score_stream(
    engine: &Engine,
    sites: SiteStream,
    top: Option<usize>,
    progress: &mut dyn FnMut(u64),
) -> Result<Batch> {
    let mut summary = Summary::for_engine(engine);
    let mut collector = Collector::new(top);
    let header = sites.for_each(&mut |chunk| {
        let before = summary.sites;
        collector.take(engine, Some(chunk), &mut summary);
        if summary.sites != before {
            progress(summary.sites);
        }
    })?;
    let before = summary.sites;
    collector.take(engine, None, &mut summary);
    if summary.sites != before {
        progress(summary.sites);
    }
    Ok(Batch {
        header,
        results: collector.finish(engine),
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::spatial::{ORDER_GRID, morton, spatial_order};
    use super::*;
    use crate::layers::LayerSet;
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
            let (unknown, failed) = crate::engine::tests::masks(profile, &e);
            assert_eq!(q.unknown, unknown, "{s:?}");
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
                let mut best = rank::Best::default();
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
                let mut ties = rank::TieCount::default();
                for batch in chunks.chunks(chunks_per_batch) {
                    let counts = (&mut summary, &mut ties);
                    score_batch_top(&engine, batch, n, &mut best, counts, &mut points);
                }
                let mut kept = best.into_sorted();
                // Beyond n: only sites that tie exactly with the n-th.
                if let Some(last) = kept.get(n.saturating_sub(1)).map(|r| r.score) {
                    assert!(kept[n.min(kept.len())..].iter().all(|r| r.score == last));
                }
                kept.truncate(n);
                let got: Vec<(f64, u64)> = kept.iter().map(|r| (r.score, r.item.index)).collect();
                let want = &full[..n.min(full.len())];
                assert_eq!(
                    got, want,
                    "chunks of {chunk_size}, {chunks_per_batch} per batch, top {n}"
                );
                for r in &kept {
                    assert_eq!(r.item.id, format!("s{}", r.index));
                    // The tie count of a listed site is over every site, not just the list.
                    let same = full.iter().filter(|f| f.0 == r.score).count() as u64;
                    assert_eq!(ties.get(r.score), same, "tie group of {}", r.index);
                }
                assert_eq!(
                    (summary.sites, summary.ok, summary.excluded, summary.unknown),
                    (3000, ok, excluded, unknown)
                );
            }
        }
    }
}
