//! Text helpers for messages and tables: typo suggestions and numbers for people.

/// Suggest the closest name from `candidates` for a misspelt `name`.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A number for people: integers plain, others with up to 3 decimals.
pub fn format_number(v: f64) -> String {
    if !v.is_finite() || v.abs() >= 1e15 {
        // Huge (or not a number): scientific notation, never hundreds of digits.
        return format!("{v:e}");
    }
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// `x` rounded to a whole number with thousands separators: `73489.4` → `"73,489"`.
///
/// ```
/// assert_eq!(standort::text::thousands(73489.4), "73,489");
/// assert_eq!(standort::text::thousands(-1234.0), "-1,234");
/// assert_eq!(standort::text::thousands(999.0), "999");
/// ```
pub fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x.abs());
    let mut out = String::from(if x.round() < 0.0 { "-" } else { "" });
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_finds_typos() {
        let names = ["power_plants", "water_zones", "land_value"];
        assert_eq!(did_you_mean("power_plant", names), Some("power_plants"));
        assert_eq!(did_you_mean("Water_Zone", names), Some("water_zones"));
        assert_eq!(did_you_mean("population", names), None);
    }

    #[test]
    fn numbers_for_people() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_number(1.23456), "1.235");
        assert_eq!(format_number(1e308), "1e308");
        assert_eq!(format_number(-2.5e20), "-2.5e20");
    }
}
