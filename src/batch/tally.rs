//! Counting statuses, failed constraints and UNKNOWN criteria over sites, in parts added up
//! in any order.

use super::Summary;
use crate::engine::{Quick, Status};

/// Counts of one part of a batch, added up in any order.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) sites: u64,
    pub(super) ok: u64,
    pub(super) excluded: u64,
    pub(super) unknown: u64,
    pub(super) by_constraint: Vec<u64>,
    pub(super) unknown_by_criterion: Vec<u64>,
}

impl Tally {
    pub(super) fn add(&mut self, other: &Tally) {
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

/// Count one evaluation.
pub(super) fn count(t: &mut Tally, q: &Quick) {
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

pub(super) fn apply_tally(summary: &mut Summary, t: &Tally) {
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
