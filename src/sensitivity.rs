//! Rank stability: how the ranking moves when the weights move.
//!
//! A profile's weights are judgements. `--sensitivity N` draws N weight vectors around them
//! — each weight multiplied by an independent factor uniform in [1 − spread, 1 + spread]
//! (spread 0.25 by default), then renormalised over the criteria present at each site, as
//! the profile's own weights are — and re-ranks the whole candidate set under each draw.
//! Per tracked site it reports the mean rank, the 5–95% rank interval (nearest-rank
//! percentiles of the N ranks) and the share of draws in which it makes the top k.
//!
//! Raw values and sub-scores are computed once ([`CandidateSet`]); a draw only
//! re-aggregates. Draw `d` uses the ChaCha8 stream `d` of the seed, and draws are combined
//! in draw order, so results are identical for any thread count. Thresholds of the
//! standardisations are not perturbed.
//!
//! ```
//! use standort::sensitivity::Draws;
//! let d = Draws { n: 3, spread: 0.25, seed: 1 };
//! let w = d.weights(&[0.5, 0.5, 0.0], 0);
//! assert!(w[0] >= 0.375 && w[0] <= 0.625 && w[2] == 0.0);
//! assert_eq!(w, d.weights(&[0.5, 0.5, 0.0], 0)); // the same draw, the same weights
//! ```

use crate::engine::Engine;
use crate::geodesy::great_circle_km;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// How the weights are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draws {
    /// Number of draws.
    pub n: usize,
    /// Each weight is multiplied by a factor uniform in [1 − spread, 1 + spread]; 0..1.
    pub spread: f64,
    /// Seed of the random streams.
    pub seed: u64,
}

impl Draws {
    /// The weights of draw `d` around `base`.
    pub fn weights(&self, base: &[f64], d: usize) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(d as u64);
        base.iter()
            .map(|w| {
                let f: f64 = rng.random_range(-1.0..=1.0);
                w * (1.0 + self.spread * f)
            })
            .collect()
    }
}

/// What a run's sensitivity analysis was, for outputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// The draws.
    pub draws: Draws,
    /// The k of the top-k share.
    pub top_k: u64,
}

/// The sub-scores of every `ok` candidate, computed once: row `j` holds the scores of
/// candidate `j` (NaN: the criterion carries no weight there).
#[derive(Debug, Clone, Default)]
pub struct CandidateSet {
    scores: Vec<f64>,
    criteria: usize,
}

impl CandidateSet {
    /// An empty set for `criteria` criteria.
    pub fn new(criteria: usize) -> Self {
        CandidateSet {
            scores: Vec::new(),
            criteria,
        }
    }

    /// Add a candidate's scores (from [`Engine::candidate_scores`]).
    pub fn push(&mut self, scores: &[f64]) {
        self.scores.extend_from_slice(&scores[..self.criteria]);
    }

    /// Number of candidates.
    pub fn len(&self) -> usize {
        self.scores.len() / self.criteria.max(1)
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The totals of every candidate under `weights`.
    fn totals(&self, engine: &Engine, weights: &[f64]) -> Vec<f64> {
        let mut work = Vec::new();
        self.scores
            .chunks(self.criteria.max(1))
            .map(|s| engine.aggregate_with(s, weights, &mut work))
            .collect()
    }
}

/// How stable one tracked site's rank is over the draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stability {
    /// Mean rank (1 = best).
    pub mean_rank: f64,
    /// 5th percentile of the ranks (nearest rank).
    pub rank_p05: u64,
    /// 95th percentile of the ranks (nearest rank).
    pub rank_p95: u64,
    /// Share of draws in which the site is in the top k.
    pub p_top: f64,
}

/// Summarise each tracked site's ranks (`ranks[d][t]`: draw `d`, tracked site `t`).
fn summarise(ranks: &[Vec<u64>], tracked: usize, top_k: u64) -> Vec<Stability> {
    let n = ranks.len().max(1);
    (0..tracked)
        .map(|t| {
            let mut r: Vec<u64> = ranks.iter().map(|d| d[t]).collect();
            r.sort_unstable();
            let at = |p: f64| r[((p * (n - 1) as f64).round() as usize).min(n - 1)];
            Stability {
                mean_rank: r.iter().sum::<u64>() as f64 / n as f64,
                rank_p05: at(0.05),
                rank_p95: at(0.95),
                p_top: r.iter().filter(|&&x| x <= top_k).count() as f64 / n as f64,
            }
        })
        .collect()
}

/// Rank of each tracked candidate among all `totals` (1 + the number scoring strictly more).
fn ranks_of(totals: &[f64], tracked: &[usize]) -> Vec<u64> {
    if tracked.len() <= 32 {
        return tracked
            .iter()
            .map(|&t| 1 + totals.iter().filter(|&&x| x > totals[t]).count() as u64)
            .collect();
    }
    let mut sorted = totals.to_vec();
    sorted.sort_unstable_by(|a, b| b.total_cmp(a));
    tracked
        .iter()
        .map(|&t| 1 + sorted.partition_point(|&x| x > totals[t]) as u64)
        .collect()
}

/// Rank stability of the `tracked` candidates (positions in `set`) of a set of sites: in
/// each draw, a site's rank among all candidates; `top_k` for the top-k share.
pub fn site_stability(
    engine: &Engine,
    set: &CandidateSet,
    tracked: &[usize],
    draws: &Draws,
    top_k: u64,
) -> Vec<Stability> {
    let base = engine.weights();
    let ranks: Vec<Vec<u64>> = (0..draws.n)
        .into_par_iter()
        .map(|d| ranks_of(&set.totals(engine, &draws.weights(base, d)), tracked))
        .collect();
    summarise(&ranks, tracked.len(), top_k)
}

/// Rank stability of a region's top sites: in each draw the region's top list is picked
/// again (best cells at least `spacing_km` apart, `top_k` of them), and a tracked site's
/// rank is that of the first pick within `spacing_km / 2` of it (k + 1 when there is none:
/// the location dropped out of the list). `centres` are the candidates' (lon, lat).
pub fn region_stability(
    engine: &Engine,
    set: &CandidateSet,
    centres: &[(f64, f64)],
    tracked: &[usize],
    draws: &Draws,
    (top_k, spacing_km): (usize, f64),
) -> Vec<Stability> {
    let base = engine.weights();
    let ranks: Vec<Vec<u64>> = (0..draws.n)
        .into_par_iter()
        .map(|d| {
            let totals = set.totals(engine, &draws.weights(base, d));
            let picks = spaced_top(&totals, centres, top_k, spacing_km);
            tracked
                .iter()
                .map(|&t| {
                    let (lon, lat) = centres[t];
                    picks
                        .iter()
                        .position(|&p| {
                            let (plon, plat) = centres[p];
                            great_circle_km(lon, lat, plon, plat) <= spacing_km / 2.0
                        })
                        .map_or(top_k as u64 + 1, |k| k as u64 + 1)
                })
                .collect()
        })
        .collect();
    summarise(&ranks, tracked.len(), top_k as u64)
}

/// The best `k` candidates at least `spacing_km` apart, greedily (ties by position).
fn spaced_top(totals: &[f64], centres: &[(f64, f64)], k: usize, spacing_km: f64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..totals.len()).collect();
    order.sort_unstable_by(|&a, &b| totals[b].total_cmp(&totals[a]).then(a.cmp(&b)));
    let mut picks: Vec<usize> = Vec::with_capacity(k);
    for i in order {
        if picks.len() >= k {
            break;
        }
        let (lon, lat) = centres[i];
        let far = picks.iter().all(|&p| {
            let (plon, plat) = centres[p];
            great_circle_km(lon, lat, plon, plat) >= spacing_km
        });
        if far {
            picks.push(i);
        }
    }
    picks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_seeded_and_within_the_spread() {
        let d = Draws {
            n: 100,
            spread: 0.25,
            seed: 7,
        };
        let base = [0.3, 0.2, 0.5];
        for k in 0..100 {
            let w = d.weights(&base, k);
            for (x, b) in w.iter().zip(base) {
                assert!(*x >= 0.75 * b - 1e-15 && *x <= 1.25 * b + 1e-15);
            }
        }
        assert_ne!(d.weights(&base, 0), d.weights(&base, 1));
        let other = Draws { seed: 8, ..d };
        assert_ne!(d.weights(&base, 0), other.weights(&base, 0));
    }

    #[test]
    fn ranks_count_the_strictly_better() {
        let totals = [0.5, 0.9, 0.5, 0.1];
        assert_eq!(ranks_of(&totals, &[0, 1, 2, 3]), vec![2, 1, 2, 4]);
        // The sorted path (many tracked) gives the same.
        let many: Vec<usize> = (0..40).map(|i| i % 4).collect();
        let want: Vec<u64> = many.iter().map(|&i| [2, 1, 2, 4][i]).collect();
        assert_eq!(ranks_of(&totals, &many), want);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        // 21 draws of ranks 1..=21 for one site.
        let ranks: Vec<Vec<u64>> = (1..=21).map(|r| vec![r]).collect();
        let s = summarise(&ranks, 1, 5)[0];
        assert_eq!((s.rank_p05, s.rank_p95), (2, 20));
        assert_eq!(s.mean_rank, 11.0);
        assert!((s.p_top - 5.0 / 21.0).abs() < 1e-12);
    }

    #[test]
    fn spaced_picks_skip_neighbours() {
        let totals = [0.9, 0.8, 0.7];
        let centres = [(0.0, 0.0), (0.1, 0.0), (5.0, 0.0)];
        assert_eq!(spaced_top(&totals, &centres, 2, 50.0), vec![0, 2]);
        assert_eq!(spaced_top(&totals, &centres, 2, 5.0), vec![0, 1]);
    }
}
