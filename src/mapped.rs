//! Read-only memory maps of input files: the one place the crate uses `unsafe`.
//!
//! Reading a large file copies it from the page cache into fresh memory, and on this kind of
//! machine touching fresh memory costs more than parsing it (about 0.5-1 ms per MB in page
//! faults). A map lets the parsers read the page cache directly: rasters are sampled from
//! the file's bytes, GeoJSON layers are parsed from them, and CSV site files are read as
//! mapped blocks (each block's memory goes when it is dropped).
//!
//! # Safety
//!
//! A map of a file is only sound while no one truncates or rewrites the file: the bytes can
//! change under the reader, and reading a truncated page stops the process (`SIGBUS`). The
//! maps here are private and read-only (the input never changes through them), of regular
//! files standort opened itself, and live only while a layer or a block of sites is in use.
//! Do not rewrite input files while standort reads them — the same caveat as ripgrep's
//! memory-mapped reads.
#![allow(unsafe_code)]

use crate::error::{Error, Result};
use std::fs::File;
use std::path::Path;

/// A read-only map of the whole of `file` (at `path`, for messages); `None` for files that
/// are not regular files (pipes, devices) or are empty, which callers read instead.
pub(crate) fn map(file: &File, path: &Path) -> Result<Option<memmap2::Mmap>> {
    let meta = file.metadata().map_err(|e| Error::io(path, &e))?;
    if !meta.is_file() || meta.len() == 0 {
        return Ok(None);
    }
    // SAFETY: a private read-only map of a regular file; see the module docs for the
    // caveat about files rewritten while they are read.
    let map = unsafe { memmap2::MmapOptions::new().map(file) }.map_err(|e| Error::io(path, &e))?;
    Ok(Some(map))
}

/// A read-only map of `len` bytes of `file` (at `path`, for messages) from byte `offset`,
/// which the caller checked lie within the file; `None` when `file` is not a regular file.
/// Mapping a large file piece by piece lets each piece's memory go when it is dropped.
pub(crate) fn map_range(
    file: &File,
    path: &Path,
    offset: u64,
    len: usize,
) -> Result<Option<memmap2::Mmap>> {
    let meta = file.metadata().map_err(|e| Error::io(path, &e))?;
    if !meta.is_file() || len == 0 || offset.saturating_add(len as u64) > meta.len() {
        return Ok(None);
    }
    // SAFETY: as in `map`.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(len)
            .map(file)
    }
    .map_err(|e| Error::io(path, &e))?;
    Ok(Some(map))
}
