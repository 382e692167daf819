//! Batch scoring: a stream of sites through the engine into a ranking.
//!
//! Sites are read in chunks; each chunk is evaluated in parallel (rayon) and folded, in input
//! order, into either the full result list or — with a top-N limit — a bounded heap, so
//! memory does not grow with the number of sites. The ranking is by score, descending, ties
//! broken by input order: the same for any thread count.

use crate::error::Result;
use crate::evaluate::{Engine, Evaluation, Status};
use crate::sites::{Site, SiteHeader, SiteOptions, SiteSource, read_sites};
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

struct Ranked(ScoredSite);

impl Ranked {
    fn key(&self) -> (f64, u64) {
        (
            self.0.eval.score.unwrap_or(f64::NEG_INFINITY),
            self.0.site.index,
        )
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    /// Greater = ranks lower (worse score, or later in the input on a tie).
    fn cmp(&self, other: &Self) -> Ordering {
        let (sa, ia) = self.key();
        let (sb, ib) = other.key();
        sb.total_cmp(&sa).then(ia.cmp(&ib))
    }
}

/// Sites per parallel chunk.
pub const CHUNK_SIZE: usize = 4096;

/// Score every site from `source`. With `top = Some(n)` only the best `n` `ok` sites are
/// kept (a bounded heap); otherwise all sites are returned. `progress` is called after each
/// chunk with the number of sites read so far.
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
    let mut heap: BinaryHeap<Ranked> = BinaryHeap::new();
    let mut ok: Vec<Ranked> = Vec::new();
    let mut others: Vec<ScoredSite> = Vec::new();
    let constraint_criteria: Vec<Option<usize>> = profile
        .constraints
        .iter()
        .map(|k| profile.criteria.iter().position(|c| c.id() == k.criterion))
        .collect();
    let mut on_chunk = |chunk: Vec<Site>| -> Result<()> {
        let scored: Vec<ScoredSite> = chunk
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
            for (k, crit) in constraint_criteria.iter().enumerate() {
                if let Some(i) = crit {
                    if let Some(v) = s.eval.values[*i].raw.as_f64() {
                        if !profile.constraints[k].passes(v) {
                            summary.by_constraint[k].1 += 1;
                        }
                    }
                }
            }
            match s.eval.status {
                Status::Ok => {
                    summary.ok += 1;
                    match top {
                        Some(n) => {
                            if n > 0 {
                                heap.push(Ranked(s));
                                if heap.len() > n {
                                    heap.pop();
                                }
                            }
                        }
                        None => ok.push(Ranked(s)),
                    }
                }
                Status::Excluded => {
                    summary.excluded += 1;
                    if top.is_none() {
                        others.push(s);
                    }
                }
                Status::Unknown => {
                    summary.unknown += 1;
                    if top.is_none() {
                        others.push(s);
                    }
                }
            }
        }
        progress(summary.sites);
        Ok(())
    };
    let header = read_sites(source, options, CHUNK_SIZE, &mut on_chunk)?;
    let mut ranked: Vec<Ranked> = if top.is_some() { heap.into_vec() } else { ok };
    ranked.sort_unstable();
    let mut results: Vec<ScoredSite> = ranked
        .into_iter()
        .enumerate()
        .map(|(i, Ranked(mut s))| {
            s.rank = Some(i as u64 + 1);
            s
        })
        .collect();
    results.extend(others);
    Ok(Batch {
        header,
        results,
        summary,
    })
}
