//! AHP weights (Saaty's analytic hierarchy process): a profile gives pairwise comparisons of
//! its criteria instead of weights, and the weights are the principal eigenvector of the
//! comparison matrix.
//!
//! ```toml
//! [ahp]
//! # "grid_distance is 3 times as important as water_stress", on Saaty's 1–9 scale;
//! # reciprocals are implied, every pair of criteria is needed once.
//! pairs = [
//!   ["grid_distance", "water_stress", 3],
//!   ["grid_distance", "land_cost", 5],
//!   ["water_stress", "land_cost", "3"],
//! ]
//! # or the full matrix, rows and columns in criterion order: matrix = [[1, 3, 5], ...]
//! # A criterion with `weight = 0` (a gate for a constraint) is left out of the comparisons.
//! allow_inconsistent = false   # consistency ratio above 0.10 is an error unless true
//! ```
//!
//! Comparisons are numbers or fractions written as strings (`"1/3"`), between 1/9 and 9.
//! The weights come from power iteration (to 1e-12); λmax is the mean of (Aw)ᵢ/wᵢ,
//! CI = (λmax − n)/(n − 1) and CR = CI / RI(n) with Saaty's random index:
//!
//! ```
//! use standort::profile::ahp::{derive, random_index};
//! assert_eq!(random_index(3), 0.58); // not RI(4): r.mcda.ahp's off-by-one
//! let a = vec![vec![1.0, 2.0], vec![0.5, 1.0]];
//! let w = derive(&a);
//! assert!((w.weights[0] - 2.0 / 3.0).abs() < 1e-12);
//! assert_eq!(w.cr, 0.0);
//! ```

use serde::Deserialize;
use toml::Spanned;

/// The `[ahp]` section of a profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AhpSection {
    /// `[a, b, v]`: criterion a is v times as important as b.
    #[serde(default)]
    pub pairs: Option<Vec<Spanned<Vec<Spanned<toml::Value>>>>>,
    /// The full comparison matrix, in criterion order.
    #[serde(default)]
    pub matrix: Option<Vec<Spanned<Vec<Spanned<toml::Value>>>>>,
    /// Accept a consistency ratio above 0.10.
    #[serde(default)]
    pub allow_inconsistent: bool,
}

/// The weights derived from a comparison matrix, with its consistency.
#[derive(Debug, Clone, PartialEq)]
pub struct AhpWeights {
    /// Normalised weights (sum 1), in criterion order.
    pub weights: Vec<f64>,
    /// The principal eigenvalue.
    pub lambda_max: f64,
    /// Consistency index (λmax − n)/(n − 1); 0 for n ≤ 2.
    pub ci: f64,
    /// Saaty's random index for n.
    pub ri: f64,
    /// Consistency ratio CI/RI; 0 for n ≤ 2.
    pub cr: f64,
    /// The most inconsistent triple (i, j, k): `a[i][j]·a[j][k]` should equal `a[i][k]`.
    pub worst: Option<[usize; 3]>,
}

/// The consistency ratio above which a matrix is refused (Saaty).
pub const MAX_CR: f64 = 0.10;

/// Saaty's random consistency index for an n×n matrix (Saaty 1980, extended to n = 15 in
/// Saaty 2012): RI(1) = RI(2) = 0, RI(3) = 0.58, RI(4) = 0.90, RI(5) = 1.12 … RI(15) = 1.59
/// (larger n are refused by [`matrix_of`]).
pub fn random_index(n: usize) -> f64 {
    const RI: [f64; 15] = [
        0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59,
    ];
    RI[n.clamp(1, 15) - 1]
}

/// The largest matrix with a published random index.
pub const MAX_CRITERIA: usize = 15;

/// Weights, λmax, CI, CR and the worst triple of a positive reciprocal matrix `a` (n ≤ 15).
pub fn derive(a: &[Vec<f64>]) -> AhpWeights {
    let n = a.len();
    let mut w = vec![1.0 / n as f64; n];
    // Power iteration: a positive matrix has a simple dominant eigenvalue (Perron), so it
    // converges; 100,000 steps bound a pathological case.
    for _ in 0..100_000 {
        let mut next: Vec<f64> = a
            .iter()
            .map(|row| row.iter().zip(&w).map(|(x, y)| x * y).sum())
            .collect();
        let sum: f64 = next.iter().sum();
        next.iter_mut().for_each(|x| *x /= sum);
        let change = next
            .iter()
            .zip(&w)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        w = next;
        if change < 1e-12 {
            break;
        }
    }
    let lambda_max = a
        .iter()
        .zip(&w)
        .map(|(row, wi)| row.iter().zip(&w).map(|(x, y)| x * y).sum::<f64>() / wi)
        .sum::<f64>()
        / n as f64;
    let (ci, ri) = if n <= 2 {
        (0.0, 0.0)
    } else {
        ((lambda_max - n as f64) / (n as f64 - 1.0), random_index(n))
    };
    let cr = if ri > 0.0 { (ci / ri).max(0.0) } else { 0.0 };
    AhpWeights {
        weights: w,
        lambda_max,
        ci: if n <= 2 { 0.0 } else { ci.max(0.0) },
        ri,
        cr,
        worst: worst_triple(a),
    }
}

/// The triple (i, j, k) whose comparisons disagree most: the largest |ln(a_ij·a_jk / a_ik)|
/// (Koczkodaj's index). `None` below three criteria or for a consistent matrix.
fn worst_triple(a: &[Vec<f64>]) -> Option<[usize; 3]> {
    let n = a.len();
    let mut best: Option<([usize; 3], f64)> = None;
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                let off = (a[i][j] * a[j][k] / a[i][k]).ln().abs();
                // Ties (within rounding) keep the first triple in criterion order.
                if off > 1e-9 && best.is_none_or(|(_, b)| off > b + 1e-12) {
                    best = Some(([i, j, k], off));
                }
            }
        }
    }
    best.map(|(t, _)| t)
}

/// An error in the `[ahp]` section: where (a byte offset in the profile) and what.
pub type AhpError = (Option<usize>, String);

/// One comparison: a positive number or a fraction `"a/b"`, on Saaty's scale 1/9..9.
fn comparison(v: &Spanned<toml::Value>) -> Result<f64, AhpError> {
    let at = Some(v.span().start);
    let x = match v.get_ref() {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        toml::Value::String(s) => match s.split_once('/') {
            Some((a, b)) => match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
                (Ok(a), Ok(b)) if b != 0.0 => a / b,
                _ => {
                    return Err((
                        at,
                        format!("comparison \"{s}\" is not a number or fraction"),
                    ));
                }
            },
            None => s.trim().parse::<f64>().map_err(|_| {
                (
                    at,
                    format!("comparison \"{s}\" is not a number or fraction"),
                )
            })?,
        },
        other => {
            return Err((
                at,
                format!("comparison {other} is not a number or fraction"),
            ));
        }
    };
    if !x.is_finite() || x <= 0.0 {
        return Err((at, format!("comparison {x} must be positive")));
    }
    // 1/9 written as 0.111 is accepted.
    if !(1.0 / 9.0 - 1e-3..=9.0).contains(&x) {
        return Err((
            at,
            format!("comparison {x} is outside Saaty's scale 1/9..9"),
        ));
    }
    Ok(x)
}

/// The comparison matrix the section gives for the criteria `ids` (in profile order).
pub fn matrix_of(section: &Spanned<AhpSection>, ids: &[&str]) -> Result<Vec<Vec<f64>>, AhpError> {
    let at = Some(section.span().start);
    let n = ids.len();
    if n > MAX_CRITERIA {
        return Err((
            at,
            format!(
                "[ahp] compares at most {MAX_CRITERIA} criteria (Saaty's random index ends there), not {n}"
            ),
        ));
    }
    let found = match (&section.get_ref().pairs, &section.get_ref().matrix) {
        (Some(pairs), None) => from_pairs(pairs, ids),
        (None, Some(rows)) => from_rows(rows, n),
        _ => Err((at, "[ahp] needs pairs or matrix (one of them)".into())),
    };
    // An error about the section as a whole (a missing pair) points at the section.
    found.map_err(|(where_, msg)| (where_.or(at), msg))
}

fn from_pairs(
    pairs: &[Spanned<Vec<Spanned<toml::Value>>>],
    ids: &[&str],
) -> Result<Vec<Vec<f64>>, AhpError> {
    let n = ids.len();
    let mut a = vec![vec![f64::NAN; n]; n];
    (0..n).for_each(|i| a[i][i] = 1.0);
    for pair in pairs {
        let at = Some(pair.span().start);
        let [x, y, v] = pair.get_ref().as_slice() else {
            return Err((
                at,
                "a pair is [\"criterion\", \"criterion\", comparison]".into(),
            ));
        };
        let index = |c: &Spanned<toml::Value>| -> Result<usize, AhpError> {
            let name = c.get_ref().as_str().unwrap_or_default();
            ids.iter().position(|id| *id == name).ok_or_else(|| {
                let hint = crate::text::did_you_mean(name, ids.iter().copied())
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_default();
                let what = c.get_ref().to_string();
                (
                    Some(c.span().start),
                    format!("pair names {what}, which is not a criterion{hint}"),
                )
            })
        };
        let (i, j) = (index(x)?, index(y)?);
        if i == j {
            return Err((at, format!("pair compares \"{}\" with itself", ids[i])));
        }
        if !a[i][j].is_nan() {
            return Err((
                at,
                format!("\"{}\" and \"{}\" are compared twice", ids[i], ids[j]),
            ));
        }
        let v = comparison(v)?;
        (a[i][j], a[j][i]) = (v, 1.0 / v);
    }
    for i in 0..n {
        for j in i + 1..n {
            if a[i][j].is_nan() {
                return Err((
                    None,
                    format!(
                        "[ahp] misses the comparison of \"{}\" and \"{}\" ({} pairs needed for {n} criteria, {} given)",
                        ids[i],
                        ids[j],
                        n * (n - 1) / 2,
                        pairs.len()
                    ),
                ));
            }
        }
    }
    Ok(a)
}

fn from_rows(
    rows: &[Spanned<Vec<Spanned<toml::Value>>>],
    n: usize,
) -> Result<Vec<Vec<f64>>, AhpError> {
    if rows.len() != n {
        let at = rows.first().map(|r| r.span().start);
        return Err((
            at,
            format!("matrix has {} rows for {n} criteria", rows.len()),
        ));
    }
    let mut a = Vec::with_capacity(n);
    for (i, row) in rows.iter().enumerate() {
        let at = Some(row.span().start);
        if row.get_ref().len() != n {
            return Err((
                at,
                format!(
                    "matrix row {} has {} values for {n} criteria",
                    i + 1,
                    row.get_ref().len()
                ),
            ));
        }
        let values = row
            .get_ref()
            .iter()
            .map(comparison)
            .collect::<Result<Vec<f64>, _>>()?;
        if values[i] != 1.0 {
            return Err((at, format!("matrix row {}: the diagonal must be 1", i + 1)));
        }
        a.push(values);
    }
    for (i, row) in a.iter().enumerate() {
        for j in i + 1..n {
            if (row[j] * a[j][i] - 1.0).abs() > 0.01 {
                return Err((
                    Some(rows[j].span().start),
                    format!(
                        "matrix is not reciprocal: row {} column {} is {}, row {} column {} is {}",
                        i + 1,
                        j + 1,
                        row[j],
                        j + 1,
                        i + 1,
                        a[j][i]
                    ),
                ));
            }
        }
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Spanned<AhpSection> {
        #[derive(Deserialize)]
        struct Doc {
            ahp: Spanned<AhpSection>,
        }
        toml::from_str::<Doc>(text).unwrap().ahp
    }

    fn round3(x: f64) -> f64 {
        (x * 1000.0).round() / 1000.0
    }

    /// Saaty (1990), "How to make a decision: the analytic hierarchy process", EJOR 48,
    /// the house example: eight criteria, published priorities and consistency.
    #[test]
    fn saaty_house_example() {
        let t = 1.0 / 3.0;
        let a = vec![
            vec![1.0, 5.0, 3.0, 7.0, 6.0, 6.0, t, 0.25],
            vec![0.2, 1.0, t, 5.0, 3.0, 3.0, 0.2, 1.0 / 7.0],
            vec![t, 3.0, 1.0, 6.0, 3.0, 4.0, 6.0, 0.2],
            vec![1.0 / 7.0, 0.2, 1.0 / 6.0, 1.0, t, 0.25, 1.0 / 7.0, 0.125],
            vec![1.0 / 6.0, t, t, 3.0, 1.0, 0.5, 0.2, 1.0 / 6.0],
            vec![1.0 / 6.0, t, 0.25, 4.0, 2.0, 1.0, 0.2, 1.0 / 6.0],
            vec![3.0, 5.0, 1.0 / 6.0, 7.0, 5.0, 5.0, 1.0, 0.5],
            vec![4.0, 7.0, 5.0, 8.0, 6.0, 6.0, 2.0, 1.0],
        ];
        let w = derive(&a);
        let published = [0.173, 0.054, 0.188, 0.018, 0.031, 0.036, 0.167, 0.333];
        assert_eq!(
            w.weights.iter().map(|x| round3(*x)).collect::<Vec<_>>(),
            published
        );
        assert_eq!(round3(w.lambda_max), 9.669);
        assert_eq!(round3(w.ci), 0.238);
        assert_eq!(w.ri, 1.41);
        assert_eq!(round3(w.cr), 0.169);
        assert!(w.cr > MAX_CR);
    }

    #[test]
    fn three_criteria_textbook_matrix() {
        // [[1, 3, 5], [1/3, 1, 3], [1/5, 1/3, 1]]: weights 0.637, 0.258, 0.105, CR 0.033.
        let a = vec![
            vec![1.0, 3.0, 5.0],
            vec![1.0 / 3.0, 1.0, 3.0],
            vec![0.2, 1.0 / 3.0, 1.0],
        ];
        let w = derive(&a);
        assert_eq!(
            w.weights.iter().map(|x| round3(*x)).collect::<Vec<_>>(),
            [0.637, 0.258, 0.105]
        );
        assert_eq!(round3(w.lambda_max), 3.039);
        assert_eq!(round3(w.cr), 0.033);
        assert_eq!(w.worst, Some([0, 1, 2]));
    }

    #[test]
    fn random_index_is_saatys() {
        let table: Vec<f64> = (1..=10).map(random_index).collect();
        assert_eq!(
            table,
            [0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49]
        );
    }

    proptest::proptest! {
        /// A perfectly consistent matrix (a_ij = w_i / w_j) has CR 0 and gives back w.
        #[test]
        fn consistent_matrices_reproduce_their_weights(
            raw in proptest::collection::vec(0.05f64..1.0, 2..=15)
        ) {
            let sum: f64 = raw.iter().sum();
            let w: Vec<f64> = raw.iter().map(|x| x / sum).collect();
            let a: Vec<Vec<f64>> = w.iter().map(|wi| w.iter().map(|wj| wi / wj).collect()).collect();
            let got = derive(&a);
            for (g, e) in got.weights.iter().zip(&w) {
                proptest::prop_assert!((g - e).abs() < 1e-9, "{g} vs {e}");
            }
            proptest::prop_assert!(got.cr.abs() < 1e-9);
            proptest::prop_assert!((got.lambda_max - w.len() as f64).abs() < 1e-9);
        }
    }

    #[test]
    fn pairs_and_matrix_agree() {
        let ids = ["a", "b", "c"];
        let p = parse(
            "[ahp]\npairs = [[\"a\", \"b\", 3], [\"c\", \"a\", \"1/5\"], [\"b\", \"c\", 3.0]]\n",
        );
        let m = parse("[ahp]\nmatrix = [[1, 3, 5], [\"1/3\", 1, 3], [0.2, \"1/3\", 1]]\n");
        let (pa, ma) = (matrix_of(&p, &ids).unwrap(), matrix_of(&m, &ids).unwrap());
        for (x, y) in pa.iter().flatten().zip(ma.iter().flatten()) {
            assert!((x - y).abs() < 1e-12);
        }
    }

    #[test]
    fn bad_sections_are_clear() {
        let ids = ["a", "b", "c"];
        let err = |text: &str| matrix_of(&parse(text), &ids).unwrap_err().1;
        let e = err("[ahp]\npairs = [[\"a\", \"b\", 3], [\"a\", \"c\", 5]]\n");
        assert!(
            e.contains(
                "misses the comparison of \"b\" and \"c\" (3 pairs needed for 3 criteria, 2 given)"
            ),
            "{e}"
        );
        let e = err("[ahp]\npairs = [[\"a\", \"bb\", 3]]\n");
        assert!(
            e.contains("\"bb\", which is not a criterion; did you mean \"b\"?"),
            "{e}"
        );
        for (text, expected) in [
            ("pairs = [[\"a\", \"b\", 0]]", "must be positive"),
            ("pairs = [[\"a\", \"b\", -3]]", "must be positive"),
            (
                "pairs = [[\"a\", \"b\", \"lots\"]]",
                "\"lots\" is not a number",
            ),
            ("pairs = [[\"a\", \"b\", 12]]", "outside Saaty's scale"),
            ("pairs = [[\"a\", \"a\", 2]]", "with itself"),
            (
                "pairs = [[\"a\", \"b\", 2], [\"b\", \"a\", 2]]",
                "compared twice",
            ),
            (
                "matrix = [[1, 3, 5], [1, 1, 3], [0.2, \"1/3\", 1]]",
                "not reciprocal",
            ),
            ("allow_inconsistent = true", "needs pairs or matrix"),
        ] {
            let e = err(&format!("[ahp]\n{text}\n"));
            assert!(e.contains(expected), "{text}: {e}");
        }
        // The error points at the pair's line.
        let text = "[ahp]\npairs = [\n  [\"a\", \"b\", 3],\n  [\"a\", \"c\", 0],\n]\n";
        let (at, _) = matrix_of(&parse(text), &ids).unwrap_err();
        assert_eq!(crate::error::line_of_offset(text, at.unwrap()), 4);
    }
}
