//! Region names: a country by ISO 3166-1 alpha-3 code or name (`countries` layer); a state
//! or province anywhere in the world by name or ISO 3166-2 code (`admin1` layer, Natural
//! Earth 1:10m); an ambiguous name is an error that lists the candidates.
//!
//! The admin-1 polygons carry Natural Earth's names (French labels in the mirror's file:
//! "Bavière", "Préfecture d'Osaka"). Each polygon gets its ISO 3166-2 code and ISO name from
//! the embedded iso-codes table (`data/iso3166-2/`): the code of its country whose ISO name
//! or French name equals the polygon's name, accents, case, punctuation and prefixes such as
//! "Préfecture d'" or "État de" aside. A query matches a country's name or code, or a
//! polygon's Natural Earth name, ISO name or code, in the same folded form; "Name, CCC"
//! narrows a name to one country (alpha-3).

use crate::layers::Value;
use std::collections::HashMap;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

/// The embedded ISO 3166-2 table: code, name, French name, type, parent (tab-separated).
const SUBDIVISIONS: &str = include_str!("../../data/iso3166-2/subdivisions.tsv");

/// One ISO 3166-2 subdivision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Iso {
    pub(crate) code: &'static str,
    pub(super) name: &'static str,
    name_fr: &'static str,
}

/// The subdivisions by country (ISO 3166-1 alpha-2).
fn by_country() -> &'static HashMap<&'static str, Vec<Iso>> {
    static TABLE: OnceLock<HashMap<&'static str, Vec<Iso>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map: HashMap<&str, Vec<Iso>> = HashMap::new();
        for line in SUBDIVISIONS.lines().skip(1) {
            let mut f = line.split('\t');
            let (Some(code), Some(name), Some(name_fr)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let Some((country, _)) = code.split_once('-') else {
                continue;
            };
            map.entry(country).or_default().push(Iso {
                code,
                name,
                name_fr,
            });
        }
        map
    })
}

/// A name for comparison: without accents, lower case, every run of other characters one
/// space ("Préfecture d'Ōita" -> "prefecture d oita").
pub(super) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// Administrative prefixes of the French labels, folded.
const PREFIXES: &[&str] = &[
    "prefecture d ",
    "prefecture de ",
    "etat de ",
    "etat d ",
    "etat du ",
    "province de ",
    "province d ",
    "province du ",
    "region de ",
    "region d ",
    "region du ",
    "territoire de ",
    "territoire du ",
    "departement de ",
    "departement d ",
    "departement du ",
    "district de ",
    "district d ",
    "gouvernorat de ",
    "gouvernorat d ",
    "wilaya de ",
    "wilaya d ",
    "comte de ",
    "canton de ",
    "oblast de ",
    "oblast d ",
];

/// `folded` without an administrative prefix, if it has one.
fn unprefixed(folded: &str) -> Option<&str> {
    PREFIXES.iter().find_map(|p| folded.strip_prefix(p))
}

/// Type words that end the ISO names of China's provinces ("Gansu Sheng", "Guangxi Zhuangzu
/// Zizhiqu"), folded: Natural Earth labels them without.
const SUFFIXES: &[&str] = &[
    " zhuangzu zizhiqu",
    " huizu zizhiqu",
    " uygur zizhiqu",
    " zizhiqu",
    " sheng",
    " shi",
];

/// French labels of the admin-1 file that neither the ISO name nor its French form gives:
/// (country alpha-2, folded label, ISO 3166-2 code).
const EXONYMS: &[(&str, &str, &str)] = &[
    ("CN", "pekin", "CN-BJ"),
    ("CN", "mongolie interieure", "CN-NM"),
    ("CN", "tibet", "CN-XZ"),
];

/// A folded ISO name without its type word, if it ends in one.
fn unsuffixed(folded: &str) -> Option<&str> {
    SUFFIXES.iter().find_map(|s| folded.strip_suffix(s))
}

/// The ISO subdivision of country `alpha2` named `name` (Natural Earth's label), if exactly
/// one matches.
pub(crate) fn iso_for(alpha2: &str, name: &str) -> Option<Iso> {
    let candidates = by_country().get(alpha2)?;
    let n = fold(name);
    if let Some(&(_, _, code)) = EXONYMS.iter().find(|e| e.0 == alpha2 && e.1 == n) {
        return candidates.iter().find(|s| s.code == code).copied();
    }
    let short = unprefixed(&n);
    let same = |x: &str| {
        let x = fold(x);
        let bare = (alpha2 == "CN").then(|| unsuffixed(&x)).flatten();
        !x.is_empty() && (x == n || short == Some(x.as_str()) || bare == Some(n.as_str()))
    };
    let mut hits = candidates
        .iter()
        .filter(|s| same(s.name) || same(s.name_fr));
    let first = *hits.next()?;
    hits.next().is_none().then_some(first)
}

/// The ISO 3166-2 code of each (country alpha-2, name) pair, as [`iso_for`] finds it; a code
/// that several pairs claim is given to none of them (see [`units`]).
pub(crate) fn codes_for(pairs: &[(String, String)]) -> Vec<Option<&'static str>> {
    let mut codes: Vec<Option<&'static str>> = pairs
        .iter()
        .map(|(c, n)| iso_for(c, n).map(|i| i.code))
        .collect();
    let mut claims: HashMap<&str, usize> = HashMap::new();
    for c in codes.iter().flatten() {
        *claims.entry(c).or_default() += 1;
    }
    for c in &mut codes {
        if c.is_some_and(|x| claims[x] > 1) {
            *c = None;
        }
    }
    codes
}

/// A state or province: a polygon feature of the admin-1 layer, or of a layer that
/// `subdivides` a country.
#[derive(Debug, Clone)]
pub(super) struct Unit {
    /// Which layer holds it (the caller's numbering).
    pub(super) layer: usize,
    /// Attribute row.
    pub(super) row: usize,
    /// Its country, ISO 3166-1 alpha-3 (`adm0_a3`).
    pub(super) country: String,
    /// Natural Earth's name.
    pub(super) ne_name: String,
    /// Its ISO 3166-2 subdivision, when one matched.
    pub(super) iso: Option<Iso>,
}

impl Unit {
    /// The name to show: the ISO name where there is one.
    pub(super) fn name(&self) -> &str {
        self.iso.map_or(self.ne_name.as_str(), |i| i.name)
    }

    /// "Osaka (JP-27, JPN)".
    pub(super) fn label(&self) -> String {
        match self.iso {
            Some(i) => format!("{} ({}, {})", i.name, i.code, self.country),
            None => format!("{} ({})", self.ne_name, self.country),
        }
    }

    /// True when the folded query `q` names this unit.
    pub(super) fn matches(&self, q: &str) -> bool {
        let ne = fold(&self.ne_name);
        ne == q
            || unprefixed(&ne) == Some(q)
            || self
                .iso
                .is_some_and(|i| fold(i.name) == q || fold(i.code) == q)
    }
}

/// The units of layer number `layer` from its attributes: the columns of the name, the
/// country (alpha-3) and the country's alpha-2 code, or fixed codes for a layer that
/// subdivides one country.
pub(super) fn units(
    layer: usize,
    attrs: &crate::layers::Attributes,
    name: usize,
    country: Either,
) -> Vec<Unit> {
    let text = |v: &Value| v.to_string();
    let mut units: Vec<Unit> = (0..attrs.len())
        .map(|row| {
            let ne_name = text(attrs.get(row, name));
            let (alpha3, alpha2) = match &country {
                Either::Columns(c3, c2) => (text(attrs.get(row, *c3)), text(attrs.get(row, *c2))),
                Either::Fixed(c3, c2) => (c3.clone(), c2.clone()),
            };
            Unit {
                layer,
                row,
                iso: iso_for(&alpha2, &ne_name),
                country: alpha3,
                ne_name,
            }
        })
        .collect();
    // A code that several polygons claim (French "Mexico" is both the city and the state
    // of México) is given to none of them: they stay findable by name, and an ambiguous
    // name lists them.
    let mut claims: HashMap<&str, usize> = HashMap::new();
    for u in &units {
        if let Some(i) = u.iso {
            *claims.entry(i.code).or_default() += 1;
        }
    }
    for u in &mut units {
        if u.iso.is_some_and(|i| claims[i.code] > 1) {
            u.iso = None;
        }
    }
    units
}

/// Where a unit's country comes from.
pub(super) enum Either {
    /// Columns of the alpha-3 and alpha-2 codes.
    Columns(usize, usize),
    /// One country for every unit: alpha-3, alpha-2.
    Fixed(String, String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        assert_eq!(fold("Préfecture d'Ōita"), "prefecture d oita");
        assert_eq!(fold("  Querétaro "), "queretaro");
        assert_eq!(fold("Baden-Württemberg"), "baden wurttemberg");
        assert_eq!(fold("US-AZ"), "us az");
    }

    #[test]
    fn french_labels_find_their_codes() {
        let code = |c: &str, n: &str| iso_for(c, n).map(|i| i.code);
        assert_eq!(code("JP", "Préfecture d'Osaka"), Some("JP-27"));
        assert_eq!(code("JP", "Hokkaidō"), Some("JP-01"));
        assert_eq!(code("DE", "Bavière"), Some("DE-BY"));
        assert_eq!(code("US", "Géorgie"), Some("US-GA"));
        assert_eq!(code("MX", "Querétaro"), Some("MX-QUE"));
        assert_eq!(code("IN", "Maharashtra"), Some("IN-MH"));
        assert_eq!(code("CN", "Gansu"), Some("CN-GS"));
        assert_eq!(code("CN", "Guangxi"), Some("CN-GX"));
        assert_eq!(code("CN", "Níngxià"), Some("CN-NX"));
        assert_eq!(code("CN", "Pékin"), Some("CN-BJ"));
        assert_eq!(code("CN", "Mongolie-Intérieure"), Some("CN-NM"));
        assert_eq!(code("US", "Atlantis"), None);
        assert_eq!(code("XX", "Anything"), None);
    }

    #[test]
    fn the_table_is_whole() {
        let n: usize = by_country().values().map(Vec::len).sum();
        assert!(n > 5000, "{n} subdivisions");
        assert_eq!(by_country()["JP"].len(), 47);
    }
}
