//! Scoring: raw values → constraints, standardised scores, the missing-data policy, the
//! aggregate and the status. [`Engine::assess`] is the one definition; the quick path
//! ([`Engine::score_only`], [`Engine::score_detail`]) and the explained one
//! ([`Engine::evaluate`]) differ only in what they record of it.

use super::{CriterionValue, Engine, Evaluation, Status};
use crate::layers::Value;
use crate::measure::{Position, Raw, Why};
use crate::profile::{Fit, UnknownPolicy};
use crate::text::format_number;
use rayon::prelude::*;

/// The outcome of [`Engine::score_only`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quick {
    /// ok / excluded / unknown.
    pub status: Status,
    /// Total score of `ok` sites.
    pub score: Option<f64>,
    /// Bit `k` set: constraint `k` failed (constraints beyond 63 share bit 63).
    pub failed: u64,
    /// Bit `i` set: criterion `i` was UNKNOWN (criteria beyond 63 share bit 63).
    pub unknown: u64,
}

/// What [`Engine::assess`] records beyond status and score.
pub(super) trait Sink {
    /// False when a site already excluded may skip the measures nothing reported depends on.
    fn wants_every_value(&self) -> bool;
    /// Criterion `i` was measured: its raw value and source (or why it is UNKNOWN) and its
    /// standardised score before any missing-data policy.
    fn measured(&mut self, i: usize, raw: Result<(&Raw<'_>, Option<u16>), Why>, score: Option<f64>);
    /// The site was aggregated: each criterion's contribution (ignored criteria: weight 0).
    /// Called only when [`Sink::wants_contributions`].
    fn aggregated(&mut self, contributions: &[f64], weights: &[f64]);
    /// True when the sink records contributions (they cost more than the total for some
    /// methods).
    fn wants_contributions(&self) -> bool {
        false
    }
    /// The site is a candidate (status ok): its scores and normalised weights, before they
    /// are aggregated.
    fn candidate(&mut self, scores: &[f64], weights: &[f64]) {
        let _ = (scores, weights);
    }
}

/// Feeds the fit phase of a set-dependent method.
struct Fitting<'a>(&'a mut dyn Fit);

impl Sink for Fitting<'_> {
    fn wants_every_value(&self) -> bool {
        false
    }
    fn measured(&mut self, _: usize, _: Result<(&Raw<'_>, Option<u16>), Why>, _: Option<f64>) {}
    fn aggregated(&mut self, _: &[f64], _: &[f64]) {}
    fn candidate(&mut self, scores: &[f64], weights: &[f64]) {
        self.0.observe(scores, weights);
    }
}

/// Records a candidate's scores, NaN where the criterion carries no weight at the site (left
/// out, or weight 0).
struct Candidate<'a>(&'a mut [f64]);

impl Sink for Candidate<'_> {
    fn wants_every_value(&self) -> bool {
        false
    }
    fn measured(&mut self, _: usize, _: Result<(&Raw<'_>, Option<u16>), Why>, _: Option<f64>) {}
    fn aggregated(&mut self, _: &[f64], _: &[f64]) {}
    fn candidate(&mut self, scores: &[f64], weights: &[f64]) {
        for ((out, s), w) in self.0.iter_mut().zip(scores).zip(weights) {
            *out = if *w > 0.0 { *s } else { f64::NAN };
        }
    }
}

/// Records nothing.
struct Nothing;

impl Sink for Nothing {
    fn wants_every_value(&self) -> bool {
        false
    }
    fn measured(&mut self, _: usize, _: Result<(&Raw<'_>, Option<u16>), Why>, _: Option<f64>) {}
    fn aggregated(&mut self, _: &[f64], _: &[f64]) {}
}

/// Records each criterion's standardised score (NaN where UNKNOWN).
struct Scores<'a>(&'a mut [f64]);

impl Sink for Scores<'_> {
    fn wants_every_value(&self) -> bool {
        true
    }
    fn measured(&mut self, i: usize, _: Result<(&Raw<'_>, Option<u16>), Why>, s: Option<f64>) {
        self.0[i] = s.unwrap_or(f64::NAN);
    }
    fn aggregated(&mut self, _: &[f64], _: &[f64]) {}
}

/// Records everything, for people.
struct Explained<'e> {
    engine: &'e Engine,
    values: Vec<CriterionValue>,
}

impl Sink for Explained<'_> {
    fn wants_every_value(&self) -> bool {
        true
    }
    fn measured(&mut self, i: usize, raw: Result<(&Raw<'_>, Option<u16>), Why>, s: Option<f64>) {
        let v = &mut self.values[i];
        match raw {
            Ok((r, source)) => {
                v.raw = r.to_value();
                v.source = source;
                if s.is_none() {
                    v.unknown = Some(format!("no score for value \"{}\"", v.raw));
                }
            }
            Err(why) => v.unknown = Some(self.engine.explain(i, why)),
        }
        // UNKNOWN under a neutral or penalty policy: the substituted score.
        v.score = s.or_else(|| self.engine.compiled[i].policy.substitute());
    }
    fn wants_contributions(&self) -> bool {
        true
    }
    fn aggregated(&mut self, contributions: &[f64], _weights: &[f64]) {
        // Criteria left out (UNKNOWN under `ignore`) have no score and no contribution.
        for (v, c) in self.values.iter_mut().zip(contributions) {
            v.contribution = v.score.is_some().then_some(*c);
        }
    }
}

/// Per-criterion working space: on the stack for up to 16 criteria.
struct Work {
    small: [[f64; 16]; 3],
    large: Vec<f64>,
    n: usize,
}

impl Work {
    fn new(n: usize) -> Self {
        Work {
            small: [[0.0; 16]; 3],
            large: if n > 16 { vec![0.0; 3 * n] } else { Vec::new() },
            n,
        }
    }

    /// (scores, weights, contributions).
    fn split(&mut self) -> (&mut [f64], &mut [f64], &mut [f64]) {
        let n = self.n;
        if n <= 16 {
            let [a, b, c] = &mut self.small;
            (&mut a[..n], &mut b[..n], &mut c[..n])
        } else {
            let (a, rest) = self.large.split_at_mut(n);
            let (b, c) = rest.split_at_mut(n);
            (a, b, c)
        }
    }
}

impl Engine {
    /// Status and total score of a site without explanations: no allocation for up to 16
    /// criteria. Also returns bit masks of the failed constraints and the UNKNOWN criteria
    /// (first 64). [`Engine::evaluate`] gives the same status and score, explained.
    pub fn score_only(&self, lon: f64, lat: f64) -> Quick {
        self.assess(lon, lat, &mut Nothing)
    }

    /// [`Engine::score_only`], also writing each criterion's standardised score into
    /// `scores` (NaN where UNKNOWN, before any policy substitution).
    pub fn score_detail(&self, lon: f64, lat: f64, scores: &mut [f64]) -> Quick {
        self.assess(lon, lat, &mut Scores(scores))
    }

    /// For an `ok` site: write the scores its total is aggregated from into `scores` (after
    /// the missing-data policy; NaN for criteria that carry no weight there) and return the
    /// total. `None` for excluded and unknown sites. Used to re-aggregate a candidate set
    /// under other weights ([`crate::sensitivity`]).
    pub fn candidate_scores(&self, lon: f64, lat: f64, scores: &mut [f64]) -> Option<f64> {
        scores.fill(f64::NAN);
        self.assess(lon, lat, &mut Candidate(scores)).score
    }

    /// The total of `scores` (NaN: left out) under `weights` (one per criterion, any
    /// positive scale): the weights of the criteria present are renormalised to sum 1, as
    /// for a site scored with them. `work` is scratch space, reused between calls.
    pub fn aggregate_with(&self, scores: &[f64], weights: &[f64], work: &mut Vec<f64>) -> f64 {
        let n = scores.len();
        work.resize(2 * n, 0.0);
        let (w, clean) = work.split_at_mut(n);
        let mut sum = 0.0;
        for (((wi, ci), s), base) in w.iter_mut().zip(clean.iter_mut()).zip(scores).zip(weights) {
            (*wi, *ci) = if s.is_nan() { (0.0, 0.0) } else { (*base, *s) };
            sum += *wi;
        }
        if sum <= 0.0 {
            return 0.0;
        }
        w.iter_mut().for_each(|x| *x /= sum);
        self.aggregate.total(clean, w)
    }

    /// True when the run's sites must first be read as a candidate set — the method is
    /// set-dependent or a standardisation set-relative: a site's score depends on the other
    /// candidates — and [`Engine::fit`] has not run yet.
    pub fn needs_fit(&self) -> bool {
        (!self.fitted && self.method.fit().is_some())
            || (!self.relative_done && !self.relative.is_empty())
    }

    /// A fresh accumulator for the fit phase of the profile's method; `None` when the method
    /// is site-local.
    pub fn fit_start(&self) -> Option<Box<dyn Fit>> {
        self.method.fit()
    }

    /// Observe one site of the candidate set (only `ok` sites count).
    pub fn fit_observe(&self, fit: &mut dyn Fit, lon: f64, lat: f64) {
        self.assess(lon, lat, &mut Fitting(fit));
    }

    /// Score with what `fit` observed from now on.
    pub fn fit_finish(&mut self, fit: Box<dyn Fit>) {
        self.aggregate = fit.finish();
        self.fitted = true;
    }

    /// Fit on the candidate set `sites` (lon, lat), in parallel: first the set-relative
    /// standardisations, then a set-dependent method; nothing to do when neither is used.
    /// The parts are merged in a fixed order (chunks of 4,096, in order), so that sums —
    /// and scores — do not depend on the number of threads.
    pub fn fit(&mut self, sites: &[(f64, f64)]) {
        if let Some(mut seen) = self.relative_start() {
            let this = &*self;
            let parts: Vec<_> = sites
                .par_chunks(4096)
                .filter_map(|chunk| {
                    let mut acc = this.relative_start()?;
                    for &(lon, lat) in chunk {
                        this.relative_observe(&mut acc, lon, lat);
                    }
                    Some(acc)
                })
                .collect();
            parts.into_iter().for_each(|p| seen.merge(p));
            self.relative_finish(seen);
        }
        let Some(mut fit) = self.fit_start() else {
            return;
        };
        let this = &*self;
        let parts: Vec<_> = sites
            .par_chunks(4096)
            .filter_map(|chunk| {
                let mut f = this.fit_start()?;
                for &(lon, lat) in chunk {
                    this.fit_observe(&mut *f, lon, lat);
                }
                Some(f)
            })
            .collect();
        parts.into_iter().for_each(|p| fit.merge(p));
        self.fit_finish(fit);
    }

    /// Evaluate one site at (lon, lat) in degrees.
    pub fn evaluate(&self, lon: f64, lat: f64) -> Evaluation {
        let blank = CriterionValue {
            raw: Value::Null,
            source: None,
            score: None,
            contribution: None,
            unknown: None,
        };
        let mut sink = Explained {
            engine: self,
            values: vec![blank; self.compiled.len()],
        };
        let q = self.assess(lon, lat, &mut sink);
        let reasons = self.reasons(&sink.values);
        Evaluation {
            values: sink.values,
            score: q.score,
            status: q.status,
            reasons,
        }
    }

    /// How a site is measured, constrained, standardised and aggregated: the one definition.
    ///
    /// Criteria with constraints are measured first; once a constraint has failed, a sink
    /// that does not want every value lets the site skip the measures that are always known
    /// and carry no constraint (nothing reported would change).
    pub(super) fn assess(&self, lon: f64, lat: f64, sink: &mut impl Sink) -> Quick {
        let mut work = Work::new(self.compiled.len());
        let (scores, weights, contributions) = work.split();
        let mut q = Quick {
            status: Status::Ok,
            score: None,
            failed: 0,
            unknown: 0,
        };
        let mut exclude_unknown = false;
        let at = Position::new(lon, lat);
        let skip_known = !sink.wants_every_value();
        for &i in &self.order {
            if skip_known && q.failed != 0 && self.skippable[i] {
                continue;
            }
            let measured = self.measure(i, &at);
            let (raw_num, score) = match &measured {
                Ok((raw, src)) => (raw.as_f64(), self.standardise(i, raw, *src)),
                Err(_) => (None, None),
            };
            sink.measured(
                i,
                measured.as_ref().map(|(r, s)| (r, *s)).map_err(|w| *w),
                score,
            );
            if let Some(v) = raw_num {
                for &k in &self.constraints_of[i] {
                    if !self.profile.constraints[k].passes(v) {
                        q.failed |= 1u64 << k.min(63);
                    }
                }
            }
            match score {
                Some(s) => (scores[i], weights[i]) = (s, self.weights[i]),
                None => {
                    q.unknown |= 1u64 << i.min(63);
                    match self.compiled[i].policy {
                        UnknownPolicy::Exclude => exclude_unknown = true,
                        UnknownPolicy::Ignore => weights[i] = 0.0,
                        p => {
                            (scores[i], weights[i]) =
                                (p.substitute().unwrap_or(0.5), self.weights[i])
                        }
                    }
                }
            }
        }
        // In profile order (zeros for criteria left out), whatever order they were measured in.
        let weight_left = weights.iter().fold(0.0, |a, w| a + w);
        q.status = if q.failed != 0 {
            Status::Excluded
        } else if exclude_unknown || weight_left <= 0.0 {
            Status::Unknown
        } else {
            Status::Ok
        };
        if q.status == Status::Ok {
            if (weight_left - 1.0).abs() > 1e-12 {
                weights.iter_mut().for_each(|w| *w /= weight_left);
            }
            sink.candidate(scores, weights);
            q.score = Some(if sink.wants_contributions() {
                let total = self.aggregate.aggregate(scores, weights, contributions);
                sink.aggregated(contributions, weights);
                total
            } else {
                self.aggregate.total(scores, weights)
            });
        }
        q
    }

    /// Reasons for people: constraint failures first (they are why a site is out), then
    /// what happened to UNKNOWN values, then constraints that could not be checked.
    fn reasons(&self, values: &[CriterionValue]) -> Vec<String> {
        let criteria = &self.profile.criteria;
        let index_of = |id: &str| criteria.iter().position(|c| c.id() == id);
        let mut reasons = Vec::new();
        for k in &self.profile.constraints {
            let Some(i) = index_of(&k.criterion) else {
                continue;
            };
            if let Some(v) = values[i].raw.as_f64().filter(|v| !k.passes(*v)) {
                let unit = criteria[i].unit();
                let shown = format_number(v);
                let sep = if unit.is_empty() { "" } else { " " };
                reasons.push(format!(
                    "{} ({} = {shown}{sep}{unit})",
                    k.reason, k.criterion
                ));
            }
        }
        for (i, (c, v)) in criteria.iter().zip(values).enumerate() {
            let Some(u) = &v.unknown else { continue };
            let policy = self.compiled[i].policy;
            reasons.push(match policy {
                UnknownPolicy::Exclude => format!("{} unknown ({u})", c.id()),
                UnknownPolicy::Ignore => format!("{} left out ({u})", c.id()),
                UnknownPolicy::Neutral | UnknownPolicy::Penalty(_) => format!(
                    "{} unknown ({u}); scored {} by policy {policy}",
                    c.id(),
                    policy.substitute().unwrap_or(0.5)
                ),
            });
        }
        for k in &self.profile.constraints {
            let Some(i) = index_of(&k.criterion) else {
                continue;
            };
            let v = &values[i];
            if v.raw.as_f64().is_none()
                && v.unknown.is_some()
                && self.compiled[i].policy != UnknownPolicy::Exclude
            {
                reasons.push(format!(
                    "constraint on {} not checked: value unknown",
                    k.criterion
                ));
            }
        }
        reasons
    }
}
