//! An aligned text table for the terminal: rank, id, score, status, each criterion's raw
//! value (unit in the header), and the reasons.

use super::Context;
use crate::batch::{ScoredSite, SiteRows};
use crate::layers::Value;
use crate::text::format_number;
use std::io::Write;

/// Write results as an aligned table (numbers right-aligned).
pub fn write_table(
    out: &mut dyn Write,
    ctx: &Context,
    results: &mut dyn SiteRows,
) -> std::io::Result<()> {
    // Aligned columns need every row first: the table holds them all (write CSV or GeoJSON
    // for runs too big to read on a terminal).
    let mut all: Vec<ScoredSite> = Vec::new();
    results.for_each(&mut |s| {
        all.push(s.clone());
        Ok(())
    })?;
    let results = all.as_slice();
    let criteria = &ctx.engine.profile().criteria;
    let mut header: Vec<String> = vec!["rank".into(), "id".into(), "score".into(), "status".into()];
    header.extend(criteria.iter().map(|c| c.value_column()));
    if let Some(r) = ctx.sensitivity {
        header.push("rank 5-95%".into());
        header.push(format!("P(top {})", r.top_k));
    }
    header.push("reasons".into());
    let numeric: Vec<bool> = (0..header.len())
        .map(|i| i == 0 || i == 2 || (i >= 4 && i < header.len() - 1))
        .collect();
    let rows: Vec<Vec<String>> = results.iter().map(|s| row(ctx, s)).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut w = std::io::BufWriter::new(out);
    let line = |w: &mut dyn Write, cells: &[String]| -> std::io::Result<()> {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let last = i == cells.len() - 1;
            if i > 0 {
                s.push_str("  ");
            }
            let pad = widths[i].saturating_sub(c.chars().count());
            if numeric[i] {
                s.extend(std::iter::repeat_n(' ', pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                if !last {
                    s.extend(std::iter::repeat_n(' ', pad));
                }
            }
        }
        writeln!(w, "{}", s.trim_end())
    };
    line(&mut w, &header)?;
    for r in &rows {
        line(&mut w, r)?;
    }
    write_notes(&mut w, ctx, results)?;
    w.flush()
}

/// One site's cells.
fn row(ctx: &Context, s: &ScoredSite) -> Vec<String> {
    let criteria = &ctx.engine.profile().criteria;
    let mut r = vec![
        match (s.rank, s.tie_group) {
            (Some(r), Some(t)) if t > 1 => format!("{r}="),
            (Some(r), _) => r.to_string(),
            (None, _) => "-".into(),
        },
        s.site.id.clone(),
        s.eval
            .score
            .map_or_else(|| "-".into(), |x| format!("{x:.3}")),
        s.eval.status.to_string(),
    ];
    r.extend(s.eval.values.iter().zip(criteria).map(|(v, c)| {
        let text = match &v.raw {
            Value::Num(x) => format_number(*x),
            Value::Text(t) => t.clone(),
            Value::Null => "?".into(),
        };
        // Values from a source with a note (a proxy) are marked and explained below.
        let noted = v
            .source
            .and_then(|k| c.source(usize::from(k)))
            .is_some_and(|s| s.note.is_some());
        if noted { format!("{text}*") } else { text }
    }));
    if ctx.sensitivity.is_some() {
        match s.stability {
            Some(st) => {
                r.push(format!("{}-{}", st.rank_p05, st.rank_p95));
                r.push(format!("{:.2}", st.p_top));
            }
            None => r.extend(["-".to_string(), "-".to_string()]),
        }
    }
    r.push(s.eval.reasons.join("; "));
    r
}

/// Explain marked values: which criterion, which source, what the note says.
fn write_notes(w: &mut dyn Write, ctx: &Context, results: &[ScoredSite]) -> std::io::Result<()> {
    let criteria = &ctx.engine.profile().criteria;
    for (i, c) in criteria.iter().enumerate() {
        for (k, src) in c.sources.iter().flatten().enumerate() {
            let Some(note) = &src.note else { continue };
            let used = results
                .iter()
                .any(|s| s.eval.values[i].source == Some(k as u16));
            if used {
                let unit = c.source_unit(Some(k as u16));
                let unit = if unit.is_empty() {
                    String::new()
                } else {
                    format!(", in {unit}")
                };
                writeln!(
                    w,
                    "* {}: from {}{unit} ({note})",
                    c.value_column(),
                    src.layer
                )?;
            }
        }
    }
    write_ties(w, results)
}

/// One line per group of listed sites that tie exactly (their ranks are marked `=`).
fn write_ties(w: &mut dyn Write, results: &[ScoredSite]) -> std::io::Result<()> {
    let tied: Vec<&ScoredSite> = results
        .iter()
        .filter(|s| s.rank.is_some() && s.tie_group.is_some_and(|t| t > 1))
        .collect();
    let same = |a: &&ScoredSite, b: &&ScoredSite| a.eval.score == b.eval.score;
    for group in tied.chunk_by(same) {
        let (first, last) = (group[0].rank, group[group.len() - 1].rank);
        let ranks = match (first, last) {
            (Some(a), Some(b)) if a != b => format!("ranks {a}-{b} are"),
            (Some(a), _) => format!("rank {a} is"),
            _ => continue,
        };
        writeln!(
            w,
            "= {ranks} {} of {} sites scoring exactly {:.6}: ordered by the raw values of the heaviest criteria, then input order",
            group.len(),
            group[0].tie_group.unwrap_or(1),
            group[0].eval.score.unwrap_or(0.0)
        )?;
    }
    Ok(())
}
