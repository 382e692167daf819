//! The ranking order: score descending, ties broken by input position (the same for any
//! thread count), and bounded collections of the best.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// A site in the ranking, ordered so that greater = ranks lower (worse score, or later in
/// the input on a tie).
pub(super) struct Ranked<T> {
    pub(super) score: f64,
    pub(super) index: u64,
    pub(super) item: T,
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
    pub(super) fn ranks_before<U>(&self, other: &Ranked<U>) -> bool {
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

/// Sites kept beyond a top-n list because they tie exactly with its last one, at most: they
/// are ordered by the tie rule ([`crate::Engine::break_tie`]) at the end, not dropped by
/// input order. Past this many, input order decides among the rest (and `tie_group` says
/// how many tie).
pub(super) const TIES_KEPT: usize = 10_000;

/// The `n` best in a heap, and the sites that tie exactly with the worst of them.
pub(super) struct Best<T> {
    pub(super) heap: BinaryHeap<Ranked<T>>,
    pub(super) tied: Vec<Ranked<T>>,
}

impl<T> Default for Best<T> {
    fn default() -> Self {
        Best {
            heap: BinaryHeap::new(),
            tied: Vec::new(),
        }
    }
}

impl<T> Best<T> {
    /// Offer `r` to a list of the `n` best.
    pub(super) fn push(&mut self, n: usize, r: Ranked<T>) {
        if self.heap.len() < n {
            self.heap.push(r);
            return;
        }
        let Some(worst) = self.heap.peek() else {
            return;
        };
        let out = if r < *worst {
            let out = self.heap.pop();
            self.heap.push(r);
            out
        } else {
            Some(r)
        };
        let cutoff = self.heap.peek().map_or(f64::INFINITY, |w| w.score);
        self.tied.retain(|t| t.score >= cutoff);
        if let Some(out) = out.filter(|o| o.score == cutoff) {
            if self.tied.len() < TIES_KEPT {
                self.tied.push(out);
            }
        }
    }

    /// The score a site needs to enter a list of `n` or tie with its last one: -inf while
    /// the list is not full, +inf for an empty list.
    pub(super) fn cutoff(&self, n: usize) -> f64 {
        match self.heap.peek() {
            _ if n == 0 => f64::INFINITY,
            Some(worst) if self.heap.len() >= n => worst.score,
            _ => f64::NEG_INFINITY,
        }
    }

    /// Whether `r` would enter the list or tie with its last one.
    pub(super) fn wants<U>(&self, n: usize, r: &Ranked<U>) -> bool {
        self.heap.len() < n
            || self
                .heap
                .peek()
                .is_some_and(|w| r.ranks_before(w) || r.score == w.score)
    }

    /// Everything kept, best first by (score, input position).
    pub(super) fn into_sorted(self) -> Vec<Ranked<T>> {
        let mut all = self.heap.into_vec();
        all.extend(self.tied);
        all.sort_unstable();
        all
    }
}

/// Keep the `n` best of `v` and those that tie exactly with the n-th (at most
/// [`TIES_KEPT`] of them), in no particular order.
pub(super) fn keep_best<T>(v: &mut Vec<Ranked<T>>, n: usize) {
    if v.len() > n {
        if n == 0 {
            v.clear();
            return;
        }
        v.select_nth_unstable(n - 1);
        let cutoff = v[n - 1].score;
        let mut keep = n;
        for i in n..v.len() {
            if v[i].score == cutoff && keep < n + TIES_KEPT {
                v.swap(keep, i);
                keep += 1;
            }
        }
        v.truncate(keep);
    }
}

/// How many `ok` sites have each exact score, for the scores that can still make a top-n
/// list: what the `tie_group` of a listed site counts, kept in bounded memory (at most
/// n + 1 distinct scores are at or above the cut-off, which only rises).
#[derive(Debug, Default)]
pub(super) struct TieCount(HashMap<u64, u64>);

impl TieCount {
    /// Count `scores` at or above `cutoff` (the n-th best score so far, or -inf while the
    /// list is not full), and forget the scores below it.
    pub(super) fn add(&mut self, scores: &[f64], cutoff: f64) {
        for &s in scores.iter().filter(|&&s| s >= cutoff) {
            *self.0.entry(s.to_bits()).or_default() += 1;
        }
        self.0.retain(|&bits, _| f64::from_bits(bits) >= cutoff);
    }

    /// Sites counted with exactly `score`.
    pub(super) fn get(&self, score: f64) -> u64 {
        self.0.get(&score.to_bits()).copied().unwrap_or(0)
    }
}
