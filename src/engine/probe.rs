//! Probing: one site → the raw value of each criterion (or why it is UNKNOWN) and its
//! standardised score.

use super::Engine;
use crate::measure::{Position, Raw, Why};

impl Engine {
    /// The raw value of criterion `i` at a site, borrowed where it is an attribute, and
    /// which of its layers gave it; the error says why it is UNKNOWN (formatted only when
    /// asked, see [`Engine::explain`]).
    pub(super) fn measure(
        &self,
        i: usize,
        at: &Position,
    ) -> std::result::Result<(Raw<'_>, Option<u16>), Why> {
        let c = &self.compiled[i];
        if let Some((cov, _)) = &c.coverage {
            if !cov.contains(at.lon, at.lat) {
                return Err(Why::Coverage);
            }
        }
        c.probe.measure(at)
    }

    /// Why criterion `i` is UNKNOWN, for people.
    pub(super) fn explain(&self, i: usize, why: Why) -> String {
        let c = &self.compiled[i];
        match why {
            Why::Coverage => c
                .coverage
                .as_ref()
                .map(|(_, w)| w.clone())
                .unwrap_or_default(),
            _ => c.probe.explain(why, &c.layer_names),
        }
    }

    /// The standardised score of a raw value of criterion `i` from its layer `source` (a
    /// source may bring its own standardisation); None when the value has no score.
    pub(super) fn standardise(&self, i: usize, raw: &Raw<'_>, source: Option<u16>) -> Option<f64> {
        let own = source.and_then(|k| self.compiled[i].standardise.get(usize::from(k)));
        let st = own
            .and_then(Option::as_ref)
            .or_else(|| self.resolved(i))
            .unwrap_or(&self.profile.criteria[i].standardise);
        match raw {
            Raw::Num(x) => st.score_number(*x),
            Raw::Val(v) => st.score(v),
        }
    }

    /// Which criteria (bit i for criterion i, the first 64) read boundary layers that
    /// disagree at (lon, lat): see [`crate::measure::Probe::boundary_conflict`].
    pub fn boundary_conflicts(&self, lon: f64, lat: f64) -> u64 {
        let at = Position::new(lon, lat);
        self.compiled
            .iter()
            .take(64)
            .enumerate()
            .filter(|(_, c)| c.probe.boundary_conflict(&at))
            .fold(0, |mask, (i, _)| mask | 1 << i)
    }

    /// An error when a layer could not give some of the values measured so far (a tile of
    /// a compressed raster that does not decode: those sites read it as no data). Check it
    /// after a batch and before keeping its output.
    pub fn failure(&self) -> crate::error::Result<()> {
        match self.compiled.iter().find_map(|c| c.probe.failure()) {
            Some(msg) => Err(crate::error::Error::new(
                crate::error::ErrorKind::Input,
                msg,
            )),
            None => Ok(()),
        }
    }

    /// Read the index memory the measures at `sites` (lon, lat) will read first (raster
    /// pixels, polygon grid cells), without evaluating anything. Touching a group of
    /// neighbouring sites before scoring them lets their cache misses overlap: all addresses
    /// are computed first, then read in one tight loop. Returns a value only to keep the
    /// reads.
    pub fn touch(&self, sites: &[(f64, f64)]) -> f64 {
        const GROUP: usize = 32;
        let mut scratch = [0usize; GROUP];
        let mut t = 0.0;
        for group in sites.chunks(GROUP) {
            for c in &self.compiled {
                t += c.probe.touch(group, &mut scratch);
            }
        }
        t
    }
}
