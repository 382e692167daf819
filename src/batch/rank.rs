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

/// Push into a heap that keeps the `n` best.
pub(super) fn push_bounded<T>(heap: &mut BinaryHeap<Ranked<T>>, n: usize, r: Ranked<T>) {
    if heap.len() < n {
        heap.push(r);
    } else if heap.peek().is_some_and(|worst| r < *worst) {
        heap.pop();
        heap.push(r);
    }
}

/// Keep the `n` best of `v` (in no particular order).
pub(super) fn keep_best<T>(v: &mut Vec<Ranked<T>>, n: usize) {
    if v.len() > n {
        if n > 0 {
            v.select_nth_unstable(n - 1);
        }
        v.truncate(n);
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
