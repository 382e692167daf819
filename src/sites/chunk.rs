//! Blocks of sites as read, parsed in parallel into chunks: positions in columns, each
//! site's record made only when asked for.

use super::fast_csv::CsvLayout;
use super::{Record, Site};
use crate::error::Result;
use rayon::prelude::*;
use std::sync::Arc;

/// Bytes of CSV text: read into memory, or a range of a memory-mapped site file (see
/// [`crate::mapped`]).
pub(super) enum Text {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap, std::ops::Range<usize>),
}

impl std::ops::Deref for Text {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Text::Owned(v) => v,
            Text::Mapped(m, r) => &m[r.clone()],
        }
    }
}

/// A block of sites as read, not yet parsed (see [`read_site_blocks`]).
pub struct SiteBlock(pub(super) BlockKind);

pub(super) enum BlockKind {
    /// Parsed already; with `number_ids`, ids are the 1-based input positions.
    Sites { sites: Vec<Site>, number_ids: bool },
    /// Whole lines of quote-free CSV text; `first_line` is the 1-based line number of the
    /// first.
    Text {
        text: Text,
        first_line: u64,
        layout: Arc<CsvLayout>,
    },
}

/// Sites in input order: positions in columns, each site's record made only when asked for.
pub struct SiteChunk {
    /// Input position (from 0) of the first site.
    pub first_index: u64,
    /// Longitudes in degrees.
    pub lon: Vec<f64>,
    /// Latitudes in degrees.
    pub lat: Vec<f64>,
    rows: Rows,
}

enum Rows {
    Sites(Vec<Site>),
    Text {
        text: Text,
        /// Byte range of each site's line (without the line end).
        spans: Vec<(u32, u32)>,
        layout: Arc<CsvLayout>,
    },
}

/// Lines per parallel parsing task.
const LINES_PER_TASK: usize = 4096;

impl SiteBlock {
    /// Parse the block (in parallel on the rayon pool); its first site gets input position
    /// `first_index`. Errors name the source and line; the first error in input order wins.
    pub fn parse(self, first_index: u64) -> Result<SiteChunk> {
        match self.0 {
            BlockKind::Sites {
                mut sites,
                number_ids,
            } => {
                for (k, s) in sites.iter_mut().enumerate() {
                    s.index = first_index + k as u64;
                    if number_ids {
                        s.id = (s.index + 1).to_string();
                    }
                }
                Ok(SiteChunk {
                    first_index,
                    lon: sites.iter().map(|s| s.lon).collect(),
                    lat: sites.iter().map(|s| s.lat).collect(),
                    rows: Rows::Sites(sites),
                })
            }
            BlockKind::Text {
                text,
                first_line,
                layout,
            } => parse_text(text, first_line, layout, first_index),
        }
    }
}

/// Parse whole lines of quote-free CSV text, in parallel, straight into the columns.
fn parse_text(
    text: Text,
    first_line: u64,
    layout: Arc<CsvLayout>,
    first_index: u64,
) -> Result<SiteChunk> {
    let mut starts: Vec<u32> = Vec::with_capacity(text.len() / 24 + 2);
    starts.push(0);
    starts.extend(memchr::memchr_iter(b'\n', &text).map(|i| i as u32 + 1));
    if *starts.last().unwrap_or(&0) as usize != text.len() {
        starts.push(text.len() as u32);
    }
    let n_lines = starts.len() - 1;
    let mut lon = vec![0.0; n_lines];
    let mut lat = vec![0.0; n_lines];
    let mut spans = vec![(0u32, 0u32); n_lines];
    let lines = Lines {
        text: &text,
        // A block that is valid UTF-8 as a whole has valid lines and fields (cut at ASCII
        // bytes); otherwise every line is checked, to name the bad one.
        whole: std::str::from_utf8(&text).ok(),
        starts: &starts,
        first_line,
        layout: &layout,
    };
    let blanks: Vec<Result<usize>> = lon
        .par_chunks_mut(LINES_PER_TASK)
        .zip(lat.par_chunks_mut(LINES_PER_TASK))
        .zip(spans.par_chunks_mut(LINES_PER_TASK))
        .enumerate()
        .map(|(t, ((lon, lat), spans))| lines.parse(t * LINES_PER_TASK, lon, lat, spans))
        .collect();
    let mut blank = 0;
    for b in blanks {
        blank += b?;
    }
    if blank > 0 {
        // Blank lines are skipped, as by the csv crate.
        let kept: Vec<usize> = (0..n_lines).filter(|&k| spans[k] != BLANK).collect();
        lon = kept.iter().map(|&k| lon[k]).collect();
        lat = kept.iter().map(|&k| lat[k]).collect();
        spans = kept.iter().map(|&k| spans[k]).collect();
    }
    Ok(SiteChunk {
        first_index,
        lon,
        lat,
        rows: Rows::Text {
            text,
            spans,
            layout,
        },
    })
}

/// The span of a blank line (removed after parsing).
const BLANK: (u32, u32) = (u32::MAX, u32::MAX);

/// The lines of a block of CSV text.
struct Lines<'a> {
    text: &'a [u8],
    whole: Option<&'a str>,
    /// Line `k` is `text[starts[k]..starts[k + 1]]` (with its line end).
    starts: &'a [u32],
    first_line: u64,
    layout: &'a CsvLayout,
}

impl Lines<'_> {
    /// Parse the lines from `first` on into the columns (as many as they hold); returns the
    /// number of blank lines (marked [`BLANK`]). Errors name the line.
    fn parse(
        &self,
        first: usize,
        lon: &mut [f64],
        lat: &mut [f64],
        spans: &mut [(u32, u32)],
    ) -> Result<usize> {
        let text = self.text;
        let mut blank = 0;
        for j in 0..lon.len() {
            let k = first + j;
            let (s, mut e) = (self.starts[k] as usize, self.starts[k + 1] as usize);
            if e > s && text[e - 1] == b'\n' {
                e -= 1;
            }
            if e > s && text[e - 1] == b'\r' {
                e -= 1;
            }
            if e == s {
                spans[j] = BLANK;
                blank += 1;
                continue;
            }
            let line = match self.whole {
                Some(w) => Ok(&w[s..e]),
                None => std::str::from_utf8(&text[s..e])
                    .map_err(|_| "not valid UTF-8 (save the file as UTF-8)".to_string()),
            };
            let line_no = self.first_line + k as u64;
            let (x, y) = line
                .and_then(|l| self.layout.position(l))
                .map_err(|m| self.layout.error(line_no, m))?;
            (lon[j], lat[j], spans[j]) = (x, y, (s as u32, e as u32));
        }
        Ok(blank)
    }
}

impl SiteChunk {
    /// A chunk of sites already read; their input positions are kept.
    #[cfg(test)]
    pub(crate) fn from_sites(sites: Vec<Site>) -> SiteChunk {
        SiteChunk {
            first_index: sites.first().map_or(0, |s| s.index),
            lon: sites.iter().map(|s| s.lon).collect(),
            lat: sites.iter().map(|s| s.lat).collect(),
            rows: Rows::Sites(sites),
        }
    }

    /// Number of sites.
    pub fn len(&self) -> usize {
        self.lon.len()
    }

    /// True when the chunk holds no site.
    pub fn is_empty(&self) -> bool {
        self.lon.is_empty()
    }

    /// Site `i` of the chunk, with its id and record.
    pub fn site(&self, i: usize) -> Site {
        match &self.rows {
            Rows::Sites(sites) => sites[i].clone(),
            Rows::Text {
                text,
                spans,
                layout,
            } => {
                let (s, e) = spans[i];
                // Checked as UTF-8 when parsed.
                let line = std::str::from_utf8(&text[s as usize..e as usize]).unwrap_or("");
                let record: csv::StringRecord = line.split(layout.delimiter as char).collect();
                let index = self.first_index + i as u64;
                let id = match layout.id {
                    Some(c) => record[c].trim().to_string(),
                    None => (index + 1).to_string(),
                };
                Site {
                    index,
                    id,
                    lon: self.lon[i],
                    lat: self.lat[i],
                    record: Record::Csv(record),
                }
            }
        }
    }

    /// All sites of the chunk.
    pub fn into_sites(self) -> Vec<Site> {
        match self.rows {
            Rows::Sites(sites) => sites,
            Rows::Text { .. } => (0..self.len())
                .into_par_iter()
                .map(|i| self.site(i))
                .collect(),
        }
    }
}
