//! Sites read and parsed ahead of scoring, on a thread of their own.

use super::CHUNK_SIZE;
use crate::error::Result;
use crate::sites::{SiteChunk, SiteHeader, SiteOptions, SiteSource, read_site_blocks};

/// Parsed site chunks the reader thread may hold ready ahead of scoring (besides the one it
/// is parsing and those of the batch being gathered): enough for a whole first batch to be
/// parsed while the layers load, and the next while a batch is scored. Measured on the
/// benchmark (1,000,000 sites): 1 chunk 0.455-0.489 s, 4 chunks 0.443-0.466 s, 6 no faster;
/// peak RSS for 5,000,000 sites 181 MB (1), 193 MB (4), 203 MB (6).
const PREFETCH_CHUNKS: usize = 4;

/// Sites read and parsed ahead of scoring. Open the stream before building the [`Engine`]
/// and the first sites are parsed while the layers load; then pass it to [`score_stream`].
///
/// With more than one rayon worker the sites are read and parsed on a thread of their own
/// (parsing itself runs on the rayon pool); with one (`--threads 1`) they are read on the
/// scoring thread, as they are needed. Errors (a missing file, a bad line) are reported by
/// [`score_stream`], after any error of the engine.
pub struct SiteStream {
    rx: Option<std::sync::mpsc::Receiver<SiteChunk>>,
    reader: Option<std::thread::JoinHandle<Result<SiteHeader>>>,
    inline: Option<(SiteSource, SiteOptions)>,
}

impl SiteStream {
    /// Start reading `source`.
    pub fn open(source: &SiteSource, options: &SiteOptions) -> SiteStream {
        let inline = SiteStream {
            rx: None,
            reader: None,
            inline: Some((source.clone(), options.clone())),
        };
        if rayon::current_num_threads() <= 1 {
            return inline;
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<SiteChunk>(PREFETCH_CHUNKS);
        let (source, options) = (source.clone(), options.clone());
        let reader = std::thread::Builder::new()
            .name("standort-sites".into())
            .spawn(move || {
                let mut next_index = 0u64;
                read_site_blocks(&source, &options, CHUNK_SIZE, &mut |block| {
                    let chunk = block.parse(next_index)?;
                    next_index += chunk.len() as u64;
                    // The receiver only hangs up when scoring is abandoned.
                    tx.send(chunk).map_err(|_| {
                        crate::Error::new(crate::ErrorKind::Io, "site scoring stopped")
                    })
                })
            });
        match reader {
            Ok(reader) => SiteStream {
                rx: Some(rx),
                reader: Some(reader),
                inline: None,
            },
            Err(_) => inline,
        }
    }

    /// Hand every chunk, in input order, to `f`; then the header, or the first error.
    pub(super) fn for_each(mut self, f: &mut dyn FnMut(SiteChunk)) -> Result<SiteHeader> {
        if let Some((source, options)) = self.inline.take() {
            let mut next_index = 0u64;
            return read_site_blocks(&source, &options, CHUNK_SIZE, &mut |block| {
                let chunk = block.parse(next_index)?;
                next_index += chunk.len() as u64;
                f(chunk);
                Ok(())
            });
        }
        if let Some(rx) = self.rx.take() {
            for chunk in rx.iter() {
                f(chunk);
            }
        }
        match self.reader.take().map(|r| r.join()) {
            Some(Ok(read)) => read,
            _ => Err(crate::Error::new(
                crate::ErrorKind::Io,
                "the site reader stopped unexpectedly",
            )),
        }
    }
}

impl Drop for SiteStream {
    fn drop(&mut self) {
        // An unused stream (the engine failed): hang up, so that the reader stops at its next
        // chunk. It is not waited for: it may be blocked reading a terminal.
        self.rx.take();
        self.reader.take();
    }
}
