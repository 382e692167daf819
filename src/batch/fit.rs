//! The fitting passes of a run whose scores depend on the candidate set: the set-relative
//! standardisations, then a set-dependent method (TOPSIS). Each pass visits the sites as
//! scoring does — in batches of [`super::SPATIAL_BATCH_SITES`], in spatial order, with the
//! index memory of each group touched first — so that a pass costs about what scoring
//! costs, and keeps only its accumulator.

use super::SPATIAL_BATCH_SITES;
use super::spatial::spatial_order;
use super::stream::SiteStream;
use crate::engine::Engine;
use crate::error::Result;
use crate::sites::SiteChunk;
use rayon::prelude::*;

/// Sites per parallel task.
const PER_TASK: usize = 4096;

/// Sites whose index memory is touched together before they are observed.
const TOUCH_GROUP: usize = 16;

/// Visit every site of `sites` in spatial batches: `start` makes an accumulator per task
/// (`None`: nothing to do), `observe` feeds it a site, `merge` folds the tasks' together
/// (in a fixed order: the result does not depend on the number of threads).
fn visit<A: Send>(
    engine: &Engine,
    sites: SiteStream,
    start: &(dyn Fn() -> Option<A> + Sync),
    observe: &(dyn Fn(&mut A, f64, f64) + Sync),
    merge: &dyn Fn(&mut A, A),
) -> Result<Option<A>> {
    let Some(mut acc) = start() else {
        return Ok(None);
    };
    let mut pending: Vec<SiteChunk> = Vec::new();
    let mut pending_sites = 0usize;
    let mut points: Vec<(f64, f64, u32)> = Vec::new();
    let mut batch = |pending: &mut Vec<SiteChunk>, acc: &mut A| {
        spatial_order(
            pending,
            pending.iter().map(SiteChunk::len).sum(),
            &mut points,
        );
        let parts: Vec<A> = points
            .par_chunks(PER_TASK)
            .filter_map(|ps| {
                let mut a = start()?;
                for group in ps.chunks(TOUCH_GROUP) {
                    let mut at = [(0.0, 0.0); TOUCH_GROUP];
                    for (a, &(lon, lat, _)) in at.iter_mut().zip(group) {
                        *a = (lon, lat);
                    }
                    std::hint::black_box(engine.touch(&at[..group.len()]));
                    for &(lon, lat, _) in group {
                        observe(&mut a, lon, lat);
                    }
                }
                Some(a)
            })
            .collect();
        for part in parts {
            merge(acc, part);
        }
        pending.clear();
    };
    sites.for_each(&mut |chunk| {
        pending_sites += chunk.len();
        pending.push(chunk);
        if pending_sites >= SPATIAL_BATCH_SITES {
            batch(&mut pending, &mut acc);
            pending_sites = 0;
        }
    })?;
    if !pending.is_empty() {
        batch(&mut pending, &mut acc);
    }
    Ok(Some(acc))
}

/// Fit the engine on the candidate sites, read from `open` (each pass opens them again):
/// a first pass resolves the set-relative standardisations, then one fits a set-dependent
/// aggregation method. Only the accumulators are kept (the raw values of set-relative
/// criteria, 8 bytes per site each; a method's fit is a few numbers per criterion).
/// Nothing to do when the profile uses neither.
pub fn fit_stream(engine: &mut Engine, open: &dyn Fn() -> SiteStream) -> Result<()> {
    if engine.relative_start().is_some() {
        let e = &*engine;
        let seen = visit(
            e,
            open(),
            &|| e.relative_start(),
            &|a, lon, lat| e.relative_observe(a, lon, lat),
            &|a, b| a.merge(b),
        )?;
        if let Some(seen) = seen {
            engine.relative_finish(seen);
        }
    }
    if engine.fit_start().is_some() {
        let e = &*engine;
        let fitted = visit(
            e,
            open(),
            &|| e.fit_start(),
            &|f, lon, lat| e.fit_observe(&mut **f, lon, lat),
            &|f, g| f.merge(g),
        )?;
        if let Some(fit) = fitted {
            engine.fit_finish(fit);
        }
    }
    Ok(())
}
