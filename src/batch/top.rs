//! Scoring a batch with a top-N limit: in spatial order, in parallel, keeping the best N.

use super::Summary;
use super::rank::{Best, Ranked, TieCount, keep_best};
use super::spatial::spatial_order;
use super::tally::{Tally, apply_tally, count};
use crate::engine::{Engine, Status};
use crate::sites::{Site, SiteChunk};
use rayon::prelude::*;

/// Sites whose index memory is touched together before they are scored (see
/// [`Engine::touch`]).
const TOUCH_GROUP: usize = 16;

/// Sites per parallel task when a batch is scored.
const SITES_PER_TASK: usize = 4096;

/// Score a batch of chunks with a top-`n` limit: every site is evaluated in spatial order
/// ([`spatial_order`]), in parallel; the best `n` of the batch and the counts are then merged
/// into `best_sites` and `summary`, and the scores that may still tie with a listed site into
/// `ties`. The outcome does not depend on the order of evaluation: the ranking is a total
/// order (score, then input position). `points` is working memory, kept from one batch to
/// the next.
pub(super) fn score_batch_top(
    engine: &Engine,
    chunks: &[SiteChunk],
    n: usize,
    best_sites: &mut Best<Site>,
    (summary, ties): (&mut Summary, &mut TieCount),
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
    // Scores below the list's cut-off so far can neither enter nor tie with it.
    let floor = best_sites.cutoff(n);
    let (best, tally, scores) = points
        .par_chunks(SITES_PER_TASK)
        .map(|ps| {
            let mut best: Vec<Ranked<u32>> = Vec::new();
            let mut scores: Vec<f64> = Vec::new();
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
                        let score = q.score.unwrap_or(f64::NEG_INFINITY);
                        if score >= floor {
                            scores.push(score);
                        }
                        best.push(Ranked {
                            score,
                            index: chunks[c].first_index + i as u64,
                            item: pos,
                        });
                    }
                }
            }
            keep_best(&mut best, n);
            (best, t, scores)
        })
        .reduce(
            || (Vec::new(), Tally::default(), Vec::new()),
            |(mut a, mut ta, mut sa), (b, tb, sb)| {
                a.extend(b);
                keep_best(&mut a, n);
                ta.add(&tb);
                sa.extend(sb);
                (a, ta, sa)
            },
        );
    apply_tally(summary, &tally);
    merge_best(chunks, &locate, best, n, best_sites);
    ties.add(&scores, best_sites.cutoff(n));
}

/// Merge a batch's best into the overall list: only the sites that make the overall cut (or
/// tie with it) get their id and record made.
fn merge_best(
    chunks: &[SiteChunk],
    locate: &dyn Fn(usize) -> (usize, usize),
    best: Vec<Ranked<u32>>,
    n: usize,
    best_sites: &mut Best<Site>,
) {
    for r in best {
        if best_sites.wants(n, &r) {
            let (c, i) = locate(r.item as usize);
            best_sites.push(
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
