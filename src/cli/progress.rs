//! The one progress display: an `indicatif` bar on stderr, drawn only when stderr is a
//! terminal and `-q` is not given (so never in redirected or `--format json` output).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar, or nothing when progress is not shown.
pub struct Progress(Option<ProgressBar>);

/// What is counted.
pub enum Unit {
    /// Items (sites, cells), with a label.
    Items(&'static str),
    /// Bytes of a file, with its name.
    Bytes(String),
}

impl Progress {
    /// A bar towards `total` (unknown: a counter), shown when `show` is true.
    pub fn new(show: bool, total: Option<u64>, unit: Unit) -> Progress {
        if !show {
            return Progress(None);
        }
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = match (&unit, total) {
            (Unit::Items(_), Some(_)) => {
                "{msg} {human_pos}/{human_len} {bar:30} {per_sec:0} eta {eta}"
            }
            (Unit::Items(_), None) => "{msg} {human_pos} {per_sec:0}",
            (Unit::Bytes(_), _) => "{msg:40} {bytes:>10}/{total_bytes:10} {bar:30} {bytes_per_sec}",
        };
        bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(match unit {
            Unit::Items(label) => label.to_string(),
            Unit::Bytes(name) => name,
        });
        Progress(Some(bar))
    }

    /// True when progress should be shown for this run: stderr is a terminal and not `-q`.
    pub fn wanted(quiet: bool) -> bool {
        use std::io::IsTerminal;
        !quiet && std::io::stderr().is_terminal()
    }

    /// Done so far.
    pub fn set(&self, done: u64) {
        if let Some(b) = &self.0 {
            b.set_position(done);
        }
    }

    /// The total, once known.
    pub fn set_total(&self, total: u64) {
        if let Some(b) = &self.0 {
            b.set_length(total);
        }
    }

    /// Remove the bar from the terminal.
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
