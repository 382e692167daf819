//! Batch scoring: a stream of sites through the engine into a ranking.
//!
//! Sites are read in chunks; each chunk is evaluated in parallel (rayon) and folded, in input
//! order, into either the full result list or — with a top-N limit — a bounded heap, so
//! memory does not grow with the number of sites. The ranking is by score, descending, ties
//! broken by input order: the same for any thread count.

use crate::error::Result;
use crate::evaluate::{Engine, Evaluation, Status};
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

/// [`Engine::score_only`] for every site of a chunk, evaluated in Z-order so that
/// neighbouring queries touch the same index pages (the results come back in input order).
fn score_in_space_order(engine: &Engine, lon: &[f64], lat: &[f64]) -> Vec<crate::evaluate::Quick> {
    if lon.is_empty() {
        return Vec::new();
    }
    let mut order: Vec<u64> = lon
        .par_iter()
        .zip(lat.par_iter())
        .enumerate()
        .map(|(i, (&lon, &lat))| {
            let x = ((lon + 180.0) / 360.0 * 65535.0) as u32;
            let y = ((lat + 90.0) / 180.0 * 65535.0) as u32;
            ((morton(x, y) as u64) << 32) | i as u64
        })
        .collect();
    order.par_sort_unstable();
    let sorted: Vec<crate::evaluate::Quick> = order
        .par_iter()
        .map(|&k| {
            let i = (k & 0xFFFF_FFFF) as usize;
            engine.score_only(lon[i], lat[i])
        })
        .collect();
    let mut out = vec![sorted[0]; sorted.len()];
    for (q, &k) in sorted.into_iter().zip(&order) {
        out[(k & 0xFFFF_FFFF) as usize] = q;
    }
    out
}

/// Score every site from `source`. With `top = Some(n)` only the best `n` `ok` sites are
/// kept (a bounded heap) and only they are explained; otherwise all sites are returned.
/// `progress` is called after each chunk with the number of sites read so far.
///
/// Sites are parsed on a reader thread while the previous chunk is scored on the rayon pool.
pub fn score_sites(
    engine: &Engine,
    source: &SiteSource,
    options: &SiteOptions,
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
    let n_constraints = profile.constraints.len();
    let n_criteria = profile.criteria.len();
    let mut heap: BinaryHeap<Ranked<Site>> = BinaryHeap::new();
    let mut ok: Vec<Ranked<ScoredSite>> = Vec::new();
    let mut others: Vec<ScoredSite> = Vec::new();
    let mut process = |chunk: SiteChunk| {
        match top {
            Some(n) => {
                let quick = score_in_space_order(engine, &chunk.lon, &chunk.lat);
                for (i, q) in quick.into_iter().enumerate() {
                    summary.sites += 1;
                    for k in 0..n_constraints.min(64) {
                        if q.failed & (1 << k) != 0 {
                            summary.by_constraint[k].1 += 1;
                        }
                    }
                    for i in 0..n_criteria.min(64) {
                        if q.unknown & (1 << i) != 0 {
                            summary.unknown_by_criterion[i].1 += 1;
                        }
                    }
                    match q.status {
                        Status::Ok => {
                            summary.ok += 1;
                            let score = q.score.unwrap_or(f64::NEG_INFINITY);
                            let worst = heap.peek().map(|w| (w.score, w.index));
                            // Only make the site (id, record) when it can make the cut.
                            let enters = heap.len() < n || worst.is_some_and(|(ws, _)| score > ws);
                            if enters {
                                let site = chunk.site(i);
                                heap.push(Ranked {
                                    score,
                                    index: site.index,
                                    item: site,
                                });
                                if heap.len() > n {
                                    heap.pop();
                                }
                            }
                        }
                        Status::Excluded => summary.excluded += 1,
                        Status::Unknown => summary.unknown += 1,
                    }
                }
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
    // With more than one worker, the input is read on a reader thread while the previous
    // block is parsed and scored; with one (`--threads 1`) everything runs on this thread.
    let mut next_index = 0u64;
    let mut parse_and_process = |block: crate::sites::SiteBlock| -> Result<()> {
        let chunk = block.parse(next_index)?;
        next_index += chunk.len() as u64;
        process(chunk);
        Ok(())
    };
    let header = if rayon::current_num_threads() > 1 {
        let (tx, rx) = std::sync::mpsc::sync_channel::<crate::sites::SiteBlock>(1);
        std::thread::scope(|scope| -> Result<SiteHeader> {
            let reader = scope.spawn(move || {
                read_site_blocks(source, options, CHUNK_SIZE, &mut |block| {
                    // The receiver only hangs up after an error of its own, which wins.
                    tx.send(block).map_err(|_| {
                        crate::Error::new(crate::ErrorKind::Io, "site scoring stopped")
                    })
                })
            });
            let mut failed = None;
            for block in rx.iter() {
                if let Err(e) = parse_and_process(block) {
                    failed = Some(e);
                    break;
                }
            }
            drop(rx);
            let read = reader.join().unwrap_or_else(|_| {
                Err(crate::Error::new(
                    crate::ErrorKind::Io,
                    "the site reader stopped unexpectedly",
                ))
            });
            match failed {
                Some(e) => Err(e),
                None => read,
            }
        })?
    } else {
        read_site_blocks(source, options, CHUNK_SIZE, &mut parse_and_process)?
    };
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
