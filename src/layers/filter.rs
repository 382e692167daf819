//! Attribute filters such as `capacity_mw >= 100 and primary_fuel != 'Solar'`.
//!
//! Grammar: one or more comparisons joined by `and`; a comparison is `field op value` with
//! `op` one of `>=`, `<=`, `>`, `<`, `==` (or `=`), `!=`, and `value` a number or a quoted
//! string. Rows whose field is empty never match.
//!
//! ```
//! use standort::layers::Filter;
//! let f = Filter::parse("capacity_mw >= 100 and fuel != 'Solar'").unwrap();
//! assert_eq!(f.fields(), vec!["capacity_mw", "fuel"]);
//! ```

use crate::layers::{Attributes, Value};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Ge,
    Le,
    Gt,
    Lt,
    Eq,
    Ne,
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Num(f64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Comparison {
    field: String,
    op: Op,
    value: Literal,
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    terms: Vec<Comparison>,
    text: String,
}

impl Filter {
    /// Parse a filter; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut terms = Vec::new();
        for part in split_and(text) {
            terms.push(parse_comparison(part.trim())?);
        }
        if terms.is_empty() {
            return Err("empty filter".into());
        }
        Ok(Filter {
            terms,
            text: text.trim().to_string(),
        })
    }

    /// The fields the filter reads.
    pub fn fields(&self) -> Vec<&str> {
        self.terms.iter().map(|t| t.field.as_str()).collect()
    }

    /// The filter as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Check fields exist and compare with values of their type; returns a row predicate.
    pub fn compile(&self, attrs: &Attributes) -> Result<CompiledFilter, String> {
        let mut terms = Vec::new();
        for t in &self.terms {
            let col = attrs.field_index(&t.field).ok_or_else(|| {
                let hint =
                    crate::text::did_you_mean(&t.field, attrs.fields().iter().map(String::as_str))
                        .map(|s| format!("; did you mean \"{s}\"?"))
                        .unwrap_or_default();
                format!(
                    "filter field \"{}\" is not in the layer (fields: {}){hint}",
                    t.field,
                    attrs.fields().join(", ")
                )
            })?;
            match (&t.value, attrs.is_numeric(col), attrs.is_text(col)) {
                (Literal::Text(_), true, _) => {
                    return Err(format!(
                        "filter compares numeric field \"{}\" with text",
                        t.field
                    ));
                }
                (Literal::Num(_), _, true) if !matches!(t.op, Op::Eq | Op::Ne) => {
                    let at = attrs.first_non_number(col);
                    return Err(format!(
                        "filter compares text field \"{}\" with a number: the field holds text, not numbers{at}",
                        t.field
                    ));
                }
                _ => {}
            }
            terms.push((col, t.op, t.value.clone()));
        }
        Ok(CompiledFilter { terms })
    }
}

/// A filter bound to the columns of one layer.
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    terms: Vec<(usize, Op, Literal)>,
}

impl CompiledFilter {
    /// True when the row passes every comparison.
    pub fn matches(&self, attrs: &Attributes, row: usize) -> bool {
        self.terms.iter().all(|(col, op, lit)| {
            let v = attrs.get(row, *col);
            let ord = match (v, lit) {
                (Value::Null, _) => return false,
                (Value::Num(a), Literal::Num(b)) => a.partial_cmp(b),
                (Value::Text(a), Literal::Text(b)) => Some(a.as_str().cmp(b.as_str())),
                (v, Literal::Num(b)) => Some(v.to_string().cmp(&Value::Num(*b).to_string())),
                (Value::Num(a), Literal::Text(b)) => Some(Value::Num(*a).to_string().cmp(b)),
            };
            let Some(ord) = ord else { return false };
            match op {
                Op::Ge => ord.is_ge(),
                Op::Le => ord.is_le(),
                Op::Gt => ord.is_gt(),
                Op::Lt => ord.is_lt(),
                Op::Eq => ord.is_eq(),
                Op::Ne => ord.is_ne(),
            }
        })
    }
}

/// Split on the word `and` outside quotes.
fn split_and(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let bytes = text.as_bytes();
    let mut quote: Option<u8> = None;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None => {
                let word_start = i == 0 || bytes[i - 1].is_ascii_whitespace();
                // Bytes, not `str` slices: `i + 3` may fall inside a multi-byte character.
                if word_start
                    && bytes.len() - i >= 4
                    && bytes[i..i + 3].eq_ignore_ascii_case(b"and")
                    && bytes[i + 3].is_ascii_whitespace()
                {
                    parts.push(&text[start..i]);
                    start = i + 3;
                    i += 3;
                    continue;
                }
            }
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

fn parse_comparison(s: &str) -> Result<Comparison, String> {
    const OPS: [(&str, Op); 7] = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("!=", Op::Ne),
        ("==", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
    ];
    let (pos, len, op) = OPS
        .iter()
        .filter_map(|(t, op)| s.find(t).map(|p| (p, t.len(), *op)))
        .min_by_key(|(p, len, _)| (*p, usize::MAX - len))
        .ok_or_else(|| format!("\"{s}\" has no comparison (use >=, <=, >, <, ==, !=)"))?;
    let field = s[..pos].trim();
    let value = s[pos + len..].trim();
    if field.is_empty()
        || !field
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        return Err(format!("\"{s}\": \"{field}\" is not a field name"));
    }
    let value =
        if let Some(q) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            Literal::Text(q.to_string())
        } else if let Some(q) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Literal::Text(q.to_string())
        } else {
            Literal::Num(value.parse().map_err(|_| {
                format!("\"{s}\": \"{value}\" is neither a number nor a quoted string")
            })?)
        };
    Ok(Comparison {
        field: field.to_string(),
        op,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs() -> Attributes {
        Attributes::new(
            vec!["capacity_mw".into(), "fuel".into()],
            vec![
                vec![Value::Num(50.0), Value::Text("Solar".into())],
                vec![Value::Num(100.0), Value::Text("Gas".into())],
                vec![Value::Null, Value::Text("Gas".into())],
            ],
        )
    }

    fn rows(f: &str) -> Vec<usize> {
        let a = attrs();
        let c = Filter::parse(f).unwrap().compile(&a).unwrap();
        (0..a.len()).filter(|&r| c.matches(&a, r)).collect()
    }

    #[test]
    fn comparisons() {
        assert_eq!(rows("capacity_mw >= 100"), vec![1]);
        assert_eq!(rows("capacity_mw > 100"), Vec::<usize>::new());
        assert_eq!(rows("capacity_mw < 100"), vec![0]);
        assert_eq!(rows("capacity_mw != 100"), vec![0]);
        assert_eq!(rows("fuel == 'Gas'"), vec![1, 2]);
        assert_eq!(rows("fuel = \"Gas\" and capacity_mw>=1"), vec![1]);
        assert_eq!(rows("fuel != 'Gas AND Oil' AND capacity_mw <= 50"), vec![0]);
    }

    #[test]
    fn multi_byte_characters_after_a_word_start() {
        // Regression (found by the fuzzer): "an" followed by a 3-byte character was sliced
        // inside the character while looking for "and".
        assert!(Filter::parse("x >= 1 an\u{feff}").is_err());
        assert!(Filter::parse("name == 'an\u{feff}x' and x >= 1").is_ok());
    }

    #[test]
    fn errors() {
        assert!(
            Filter::parse("capacity_mw")
                .unwrap_err()
                .contains("no comparison")
        );
        assert!(
            Filter::parse("capacity_mw >= big")
                .unwrap_err()
                .contains("neither a number")
        );
        assert!(Filter::parse(">= 3").is_err());
        let e = Filter::parse("capacity >= 1")
            .unwrap()
            .compile(&attrs())
            .unwrap_err();
        assert!(e.contains("did you mean \"capacity_mw\""), "{e}");
        assert!(
            Filter::parse("fuel >= 3")
                .unwrap()
                .compile(&attrs())
                .is_err()
        );
        assert!(
            Filter::parse("capacity_mw == 'x'")
                .unwrap()
                .compile(&attrs())
                .is_err()
        );
    }
}
