//! The offline HTML viewer.

use crate::error::Result;
use crate::export::{AtomicFile, CellOptions, CellWriter, Format};

/// The HTML writer of region cells.
pub fn html_cells<'a>(
    _format: Format,
    _file: &'a mut AtomicFile,
    _options: &CellOptions,
) -> Result<Box<dyn CellWriter + 'a>> {
    Err(crate::Error::usage("html: not yet"))
}
