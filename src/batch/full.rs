//! Full runs (every site, no `--top`) in input order with bounded memory: a first pass
//! ranks every site from its quick score, keeping 12 bytes per site (its score until the
//! ranking is made, then its rank); a second pass reads the sites again, explains each one
//! and hands it on in input order with its rank, so that nothing but the ranking grows with
//! the number of sites. Exact ties are ordered by [`Engine::break_tie`] (then input order)
//! from one more pass that fetches only the tied sites' positions.

use super::tally::{Tally, apply_tally, count};
use super::{ScoredSite, SiteStream, Summary};
use crate::engine::{Engine, Status};
use crate::error::{Error, ErrorKind, Result};
use crate::sensitivity::Stability;
use crate::sites::SiteHeader;
use rayon::prelude::*;
use std::collections::HashMap;

/// Every site's rank, from the first pass.
pub struct Ranking {
    /// Per site in input order: 0 when it is not `ok`, else its 1-based rank.
    rank: Vec<u32>,
    /// Runs of exactly equal scores (tie groups above 1): (first rank - 1, size), by rank.
    ties: Vec<(u32, u32)>,
    /// The input positions of the `ok` sites, best first (kept only up to `keep_best`).
    best: Vec<u64>,
    /// What the input looked like.
    pub header: SiteHeader,
    /// Counts over all sites.
    pub summary: Summary,
}

impl Ranking {
    /// The rank of the site at input position `index`, if it is `ok`.
    pub fn rank_of(&self, index: u64) -> Option<u64> {
        let r = *self.rank.get(usize::try_from(index).ok()?)?;
        (r > 0).then_some(u64::from(r))
    }

    /// How many `ok` sites share its exact score (1: none), if it is `ok`.
    pub fn tie_group(&self, index: u64) -> Option<u64> {
        let position = self.rank_of(index)? - 1;
        let k = self
            .ties
            .partition_point(|&(start, _)| u64::from(start) <= position);
        let size = k
            .checked_sub(1)
            .map(|k| self.ties[k])
            .filter(|&(start, len)| position < u64::from(start) + u64::from(len))
            .map_or(1, |(_, len)| u64::from(len));
        Some(size)
    }

    /// The input positions of the best `ok` sites, best first (as many as were kept).
    pub fn best(&self) -> &[u64] {
        &self.best
    }

    /// Sites read.
    pub fn len(&self) -> u64 {
        self.rank.len() as u64
    }

    /// True when there were no sites.
    pub fn is_empty(&self) -> bool {
        self.rank.is_empty()
    }
}

/// Pass 1: the quick score of every site of `sites` (NaN when not `ok`), the counts, and
/// the header.
fn quick_scores(
    engine: &Engine,
    sites: SiteStream,
    progress: &mut dyn FnMut(u64),
) -> Result<(Vec<f64>, Summary, SiteHeader)> {
    let mut scores: Vec<f64> = Vec::new();
    let mut summary = Summary::for_engine(engine);
    let header = sites.for_each(&mut |chunk| {
        let quick: Vec<crate::engine::Quick> = (0..chunk.len())
            .into_par_iter()
            .map(|i| engine.score_only(chunk.lon[i], chunk.lat[i]))
            .collect();
        let p = engine.profile();
        let mut tally = Tally {
            by_constraint: vec![0; p.constraints.len().min(64)],
            unknown_by_criterion: vec![0; p.criteria.len().min(64)],
            ..Tally::default()
        };
        // Grown a chunk at a time, not doubled: a large vector is remapped in place, so 10
        // million scores take 80 MB, never 128 MB plus a copy.
        scores.reserve_exact(quick.len());
        for q in &quick {
            count(&mut tally, q);
            scores.push(match q.status {
                Status::Ok => q.score.unwrap_or(f64::NEG_INFINITY),
                _ => f64::NAN,
            });
        }
        apply_tally(&mut summary, &tally);
        progress(summary.sites);
    })?;
    Ok((scores, summary, header))
}

/// Rank every site of `sites` (see the module docs); `reopen` reads them again when exact
/// ties must be broken; the best `keep_best` positions are kept (for `--sensitivity`).
pub fn rank_sites(
    engine: &Engine,
    sites: SiteStream,
    reopen: &dyn Fn() -> SiteStream,
    keep_best: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<Ranking> {
    let (scores, summary, header) = quick_scores(engine, sites, progress)?;
    if scores.len() >= u32::MAX as usize {
        return Err(Error::new(
            ErrorKind::Input,
            format!(
                "{} sites: a full run ranks at most {} (give --top N)",
                scores.len(),
                u32::MAX - 1
            ),
        ));
    }
    let ok = scores.iter().filter(|x| !x.is_nan()).count();
    let mut order: Vec<u32> = Vec::with_capacity(ok);
    order.extend((0..scores.len() as u32).filter(|&i| !scores[i as usize].is_nan()));
    order.par_sort_unstable_by(|&a, &b| {
        scores[b as usize]
            .total_cmp(&scores[a as usize])
            .then(a.cmp(&b))
    });
    let runs = tied_runs(&order, &scores);
    let n = scores.len();
    drop(scores);
    let ties = break_ties(engine, &runs, &mut order, reopen)?;
    let mut rank = vec![0u32; n];
    for (pos, &i) in order.iter().enumerate() {
        rank[i as usize] = pos as u32 + 1;
    }
    let best = order
        .iter()
        .take(keep_best)
        .map(|&i| u64::from(i))
        .collect();
    Ok(Ranking {
        rank,
        ties,
        best,
        header,
        summary,
    })
}

/// The runs of exactly equal scores in `order` longer than one site: (start, end). (Not
/// [`crate::engine::tie_runs`], which lists every run: 16 bytes for each of millions of untied sites.)
fn tied_runs(order: &[u32], scores: &[f64]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = 0;
    let key = |k: usize| scores[order[k] as usize].to_bits();
    for i in 1..=order.len() {
        if i == order.len() || key(i) != key(start) {
            if i - start > 1 {
                runs.push((start, i));
            }
            start = i;
        }
    }
    runs
}

/// Tied sites whose positions are fetched in one pass at the most (16 bytes each): a file
/// of millions of duplicate sites takes several passes, not gigabytes.
const TIED_PER_PASS: usize = 4 << 20;

/// Order each run (`runs`: start and end in `order`) of exactly equal scores by
/// [`Engine::break_tie`] (stable: input order decides what is still equal), fetching the
/// tied sites' positions from more passes over the sites; the runs as (start, size).
fn break_ties(
    engine: &Engine,
    runs: &[(usize, usize)],
    order: &mut [u32],
    reopen: &dyn Fn() -> SiteStream,
) -> Result<Vec<(u32, u32)>> {
    let mut group: Vec<(usize, usize)> = Vec::new();
    let mut in_group = 0;
    for (k, &(s, e)) in runs.iter().enumerate() {
        group.push((s, e));
        in_group += e - s;
        if in_group >= TIED_PER_PASS || k + 1 == runs.len() {
            order_group(engine, &group, order, reopen)?;
            group.clear();
            in_group = 0;
        }
    }
    Ok(runs
        .iter()
        .map(|&(s, e)| (s as u32, (e - s) as u32))
        .collect())
}

/// [`break_ties`] for one group of runs: one pass fetches their sites' positions.
fn order_group(
    engine: &Engine,
    runs: &[(usize, usize)],
    order: &mut [u32],
    reopen: &dyn Fn() -> SiteStream,
) -> Result<()> {
    let mut wanted: Vec<u32> = runs
        .iter()
        .flat_map(|&(s, e)| order[s..e].to_vec())
        .collect();
    wanted.sort_unstable();
    let mut at = vec![(f64::NAN, f64::NAN); wanted.len()];
    let mut cursor = 0;
    reopen().for_each(&mut |chunk| {
        let end = chunk.first_index + chunk.len() as u64;
        while cursor < wanted.len() && u64::from(wanted[cursor]) < end {
            let k = (u64::from(wanted[cursor]) - chunk.first_index) as usize;
            at[cursor] = (chunk.lon[k], chunk.lat[k]);
            cursor += 1;
        }
    })?;
    let position = |i: u32| at[wanted.binary_search(&i).unwrap_or(0)];
    for &(s, e) in runs {
        let run = &mut order[s..e];
        let points: Vec<(f64, f64)> = run.iter().map(|&i| position(i)).collect();
        let sorted: Vec<u32> = engine.tie_order(&points).iter().map(|&j| run[j]).collect();
        run.copy_from_slice(&sorted);
    }
    Ok(())
}

/// The scored sites a writer writes, in order: given all at once, or produced while they
/// are written (a full run's second pass).
pub trait SiteRows {
    /// Hand every site to `f`, in order; stop at its first error.
    fn for_each(
        &mut self,
        f: &mut dyn FnMut(&ScoredSite) -> std::io::Result<()>,
    ) -> std::io::Result<()>;
}

impl SiteRows for &[ScoredSite] {
    fn for_each(
        &mut self,
        f: &mut dyn FnMut(&ScoredSite) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.iter().try_for_each(f)
    }
}

/// Sites explained together in the second pass (about 0.5 KB each while they are written).
const EXPLAINED_AT_ONCE: usize = 8192;

/// Pass 2 of a full run: the sites read again, explained, with their ranks, in input order.
pub struct InputOrder<'a> {
    engine: &'a Engine,
    sites: Option<SiteStream>,
    ranking: &'a Ranking,
    stability: &'a HashMap<u64, Stability>,
    /// Told the number of sites written so far.
    progress: Option<&'a mut dyn FnMut(u64)>,
    /// Why reading the sites again failed, if it did (the writer sees an I/O error).
    pub error: Option<Error>,
}

impl<'a> InputOrder<'a> {
    /// The second pass over `sites` (the same sites the ranking was made from).
    pub fn new(
        engine: &'a Engine,
        sites: SiteStream,
        ranking: &'a Ranking,
        stability: &'a HashMap<u64, Stability>,
    ) -> InputOrder<'a> {
        InputOrder {
            engine,
            sites: Some(sites),
            ranking,
            stability,
            progress: None,
            error: None,
        }
    }

    /// Tell `progress` the number of sites written so far, after each part.
    pub fn with_progress(mut self, progress: &'a mut dyn FnMut(u64)) -> InputOrder<'a> {
        self.progress = Some(progress);
        self
    }
}

/// A site explained, with its rank, tie group and stability.
fn scored(
    (engine, ranking, stability): (&Engine, &Ranking, &HashMap<u64, Stability>),
    site: crate::sites::Site,
) -> ScoredSite {
    let eval = engine.evaluate(site.lon, site.lat);
    let i = site.index;
    ScoredSite {
        rank: ranking.rank_of(i),
        tie_group: ranking.tie_group(i),
        stability: stability.get(&i).copied(),
        site,
        eval,
    }
}

impl SiteRows for InputOrder<'_> {
    fn for_each(
        &mut self,
        f: &mut dyn FnMut(&ScoredSite) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let Some(sites) = self.sites.take() else {
            return Ok(());
        };
        let mut failed: Option<std::io::Error> = None;
        let mut seen = 0u64;
        let mut written = 0u64;
        let mut progress = self.progress.take();
        let with = (self.engine, self.ranking, self.stability);
        let read = sites.for_each(&mut |chunk| {
            seen += chunk.len() as u64;
            if failed.is_some() {
                return;
            }
            // Explained a part at a time: only this many results are alive at once.
            let mut sites = chunk.into_sites().into_iter();
            while failed.is_none() {
                let part: Vec<crate::sites::Site> =
                    sites.by_ref().take(EXPLAINED_AT_ONCE).collect();
                if part.is_empty() {
                    break;
                }
                let done: Vec<ScoredSite> = part.into_par_iter().map(|s| scored(with, s)).collect();
                if let Err(e) = done.iter().try_for_each(&mut *f) {
                    failed = Some(e);
                }
                written += done.len() as u64;
                if let Some(p) = progress.as_mut() {
                    p(written);
                }
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let changed = Error::new(
            ErrorKind::Input,
            "the sites changed between the two passes of a full run",
        );
        match read {
            Err(e) => self.error = Some(e),
            Ok(_) if seen != self.ranking.len() => self.error = Some(changed),
            Ok(_) => return Ok(()),
        }
        Err(std::io::Error::other("reading the sites again failed"))
    }
}
