//! The library's one error type.
//!
//! Every error renders as a single line that names where the problem is — a file, and the
//! line or feature inside it — followed by what is wrong:
//!
//! ```
//! use standort::{Error, ErrorKind};
//! let e = Error::at(ErrorKind::Input, "sites.csv:3", "latitude \"abc\" is not a number");
//! assert_eq!(e.to_string(), "sites.csv:3: latitude \"abc\" is not a number");
//! assert_eq!(e.kind(), ErrorKind::Input);
//! ```

use std::fmt;
use std::path::Path;

/// What went wrong, coarsely; the binary maps it to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A file could not be opened, read or written.
    Io,
    /// Input data (sites, layers, rasters) is malformed or out of range.
    Input,
    /// A profile or layer-set file is malformed or inconsistent.
    Config,
    /// The request itself is wrong (bad option combination, unknown format): exit code 2.
    Usage,
}

/// A standort error: a kind, an optional location and a one-line message.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    kind: ErrorKind,
    location: Option<String>,
    message: String,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, part) in s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(part);
    }
    out
}

impl Error {
    /// An error without a location.
    pub fn new(kind: ErrorKind, message: impl AsRef<str>) -> Self {
        Error {
            kind,
            location: None,
            message: one_line(message.as_ref()),
        }
    }

    /// An error at a location such as `"file.csv:12"` or `"zones.geojson: feature 3"`.
    pub fn at(kind: ErrorKind, location: impl Into<String>, message: impl AsRef<str>) -> Self {
        Error {
            kind,
            location: Some(location.into()),
            message: one_line(message.as_ref()),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, err: &std::io::Error) -> Self {
        let what = match err.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => err.to_string(),
        };
        Error::at(ErrorKind::Io, path.display().to_string(), what)
    }

    /// A usage error (exit code 2).
    pub fn usage(message: impl AsRef<str>) -> Self {
        Error::new(ErrorKind::Usage, message)
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Where the error is, if known.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// The message without the location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefix the location with a file when the error has none yet.
    pub fn in_file(mut self, path: &Path) -> Self {
        if self.location.is_none() {
            self.location = Some(path.display().to_string());
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{loc}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

/// Line (1-based) of a byte offset in `text`.
pub(crate) fn line_of_offset(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Turn a TOML parse error into a one-line error naming the file and line.
pub(crate) fn toml_error(path: &Path, text: &str, err: &toml::de::Error) -> Error {
    let loc = match err.span() {
        Some(span) => format!("{}:{}", path.display(), line_of_offset(text, span.start)),
        None => path.display().to_string(),
    };
    Error::at(ErrorKind::Config, loc, err.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_messages_become_one_line() {
        let e = Error::new(ErrorKind::Input, "first\n\n  second  \nthird");
        assert_eq!(e.to_string(), "first; second; third");
    }

    #[test]
    fn toml_errors_name_the_line() {
        let text = "a = 1\nb = = 2\n";
        let err = toml::from_str::<toml::Table>(text).unwrap_err();
        let e = toml_error(Path::new("p.toml"), text, &err);
        assert!(e.to_string().starts_with("p.toml:2: "), "{e}");
        assert!(!e.to_string().contains('\n'));
    }
}
