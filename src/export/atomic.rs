//! Output files that never clobber anything.
//!
//! - A regular file (or a new one) is written to a temporary file beside it, named
//!   `.standort-{pid}-XXXXXX.partial[.ext]`, and renamed into place on success: a failed run
//!   leaves no half-written file. [`remove_partial_files`] removes the temporary files of
//!   this process (the command line calls it on SIGINT, SIGTERM and SIGHUP); leftovers of a
//!   process that no longer exists (one killed with SIGKILL) are removed by the next run that
//!   writes into the same folder.
//! - A device or a FIFO (`/dev/null`, `/dev/stdout`, a named pipe) is written in place, as
//!   `sort -o` does: never replaced by a regular file.
//! - An input of the run is never written: the target is refused when it is the same file as
//!   any input, through symlinks, `..` and hard links.

use crate::error::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The temporary files this process is writing; `closed` once they were removed for a
/// signal: no temporary file is made after that.
struct Partial {
    paths: Vec<PathBuf>,
    closed: bool,
}

static PARTIAL: Mutex<Partial> = Mutex::new(Partial {
    paths: Vec::new(),
    closed: false,
});

fn partial() -> std::sync::MutexGuard<'static, Partial> {
    PARTIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Remove the temporary files of every [`AtomicFile`] not yet committed (for a signal
/// handler: the run is abandoned), and make no more: an [`AtomicFile::create`] that comes
/// later fails without making a file, and one under way finishes first and is removed.
/// Returns how many were removed.
pub fn remove_partial_files() -> usize {
    let mut p = partial();
    p.closed = true;
    std::mem::take(&mut p.paths)
        .iter()
        .filter(|path| std::fs::remove_file(path).is_ok())
        .count()
}

fn forget_partial(path: &Path) {
    partial().paths.retain(|q| q != path);
}

/// A file written beside its target and renamed into place by [`AtomicFile::commit`] (or, for
/// a device or FIFO, written in place). Dropped without commit, it leaves nothing behind.
pub struct AtomicFile {
    target: PathBuf,
    out: Out,
}

enum Out {
    Temp(tempfile::NamedTempFile, Registered),
    Direct(std::fs::File),
}

/// A temporary file's entry in the list [`remove_partial_files`] reads, removed from it when
/// the file is committed or dropped.
struct Registered(PathBuf);

impl Registered {
    /// Make a temporary file with `make` and register it, both under the list's lock, so
    /// that a signal never finds a file made but not yet listed.
    fn make(
        make: impl FnOnce() -> std::io::Result<tempfile::NamedTempFile>,
    ) -> std::io::Result<(tempfile::NamedTempFile, Self)> {
        let mut p = partial();
        if p.closed {
            return Err(std::io::Error::other("interrupted"));
        }
        let temp = make()?;
        p.paths.push(temp.path().to_path_buf());
        let registered = Registered(temp.path().to_path_buf());
        Ok((temp, registered))
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        forget_partial(&self.0);
    }
}

impl AtomicFile {
    /// Prepare to write `target`, refusing to overwrite any of `inputs`.
    pub fn create(target: &Path, inputs: &[PathBuf]) -> Result<AtomicFile> {
        refuse_inputs(target, inputs)?;
        let shown = target.display().to_string();
        if let Ok(meta) = std::fs::metadata(target) {
            if meta.is_dir() {
                return Err(Error::at(
                    ErrorKind::Usage,
                    shown,
                    "is a folder, not a file",
                ));
            }
            if !meta.is_file() {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(target)
                    .map_err(|e| Error::io(target, &e))?;
                return Ok(AtomicFile {
                    target: target.to_path_buf(),
                    out: Out::Direct(file),
                });
            }
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(Error::at(
                ErrorKind::Io,
                shown,
                "the output folder does not exist",
            ));
        }
        remove_stale_partials(&dir);
        // Keep the extension: some GDAL drivers choose the format by it.
        let suffix = match target.extension().and_then(|e| e.to_str()) {
            Some(ext) => format!(".partial.{ext}"),
            None => ".partial".to_string(),
        };
        let (temp, registered) = Registered::make(|| {
            tempfile::Builder::new()
                .prefix(&format!(".standort-{}-", std::process::id()))
                .suffix(&suffix)
                .tempfile_in(&dir)
        })
        .map_err(|e| Error::io(target, &e))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            out: Out::Temp(temp, registered),
        })
    }

    /// The file this will become.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary file's path, for writers that open files by name (GDAL). A device or
    /// FIFO target has none: such writers need a regular file.
    pub fn path(&self) -> Result<&Path> {
        match &self.out {
            Out::Temp(t, _) => Ok(t.path()),
            Out::Direct(_) => Err(Error::at(
                ErrorKind::Usage,
                self.target.display().to_string(),
                "is not a regular file; this format is written to a regular file only",
            )),
        }
    }

    /// The file to write to.
    pub fn file(&mut self) -> &mut std::fs::File {
        match &mut self.out {
            Out::Temp(t, _) => t.as_file_mut(),
            Out::Direct(f) => f,
        }
    }

    /// Flush and rename into place (a device or FIFO: flush only).
    pub fn commit(self) -> Result<()> {
        let (temp, _registered) = match self.out {
            Out::Direct(mut f) => {
                use std::io::Write;
                return f.flush().map_err(|e| Error::io(&self.target, &e));
            }
            Out::Temp(t, registered) => (t, registered),
        };
        // Temporary files are private (0600); the result is an ordinary file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = temp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644));
        }
        temp.as_file()
            .sync_all()
            .map_err(|e| Error::io(&self.target, &e))?;
        temp.persist(&self.target)
            .map_err(|e| Error::io(&self.target, &e.error))?;
        Ok(())
    }
}

/// Refuse `target` when it is the same file as an input: the same canonical path (through
/// symlinks and `..`) or, on Unix, the same device and inode (hard links).
fn refuse_inputs(target: &Path, inputs: &[PathBuf]) -> Result<()> {
    let Ok(t) = target.canonicalize() else {
        return Ok(()); // a new file is nobody's input
    };
    let id = file_id(&t);
    for i in inputs {
        let same_path = i.canonicalize().is_ok_and(|c| c == t);
        let same_file = id.is_some() && file_id(i) == id;
        if same_path || same_file {
            return Err(Error::at(
                ErrorKind::Usage,
                target.display().to_string(),
                format!(
                    "is an input of this run ({}); refusing to overwrite it",
                    i.display()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_path: &Path) -> Option<(u64, u64)> {
    None
}

/// Remove `.standort-{pid}-*.partial*` files in `dir` left by processes that no longer run
/// (killed before they could clean up). Linux only (where `/proc` tells which processes run).
fn remove_stale_partials(dir: &Path) {
    if !cfg!(target_os = "linux") || !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(stale_pid) else {
            continue;
        };
        let alive = Path::new(&format!("/proc/{pid}")).exists();
        if pid != std::process::id() && !alive && e.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The process id in the name of a temporary output file, `.standort-{pid}-XXXXXX.partial…`.
fn stale_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(".standort-")?;
    let (pid, tail) = rest.split_once('-')?;
    if !tail.contains(".partial") {
        return None;
    }
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn atomic_file_leaves_nothing_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        {
            let mut f = AtomicFile::create(&target, &[]).unwrap();
            f.file().write_all(b"partial").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut f = AtomicFile::create(&target, &[]).unwrap();
        f.file().write_all(b"done").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "done");
        let e = AtomicFile::create(&target, std::slice::from_ref(&target))
            .err()
            .unwrap();
        assert!(e.to_string().contains("refusing to overwrite"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn inputs_are_refused_through_symlinks_dotdot_and_hard_links() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("table.csv");
        std::fs::write(&input, "a,b\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let hard = dir.path().join("hard.csv");
        std::fs::hard_link(&input, &hard).unwrap();
        let dotdot = dir.path().join("sub/../table.csv");
        for target in [&input, &link, &hard, &dotdot] {
            let e = AtomicFile::create(target, std::slice::from_ref(&input)).err();
            assert!(e.is_some(), "{} was not refused", target.display());
        }
        assert_eq!(std::fs::read(&input).unwrap(), b"a,b\n");
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_written_in_place_and_never_replaced() {
        let mut f = AtomicFile::create(Path::new("/dev/null"), &[]).unwrap();
        f.file().write_all(b"gone").unwrap();
        assert!(f.path().is_err(), "no temporary file for a device");
        f.commit().unwrap();
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert!(!meta.is_file(), "/dev/null is still a device");
    }

    #[test]
    fn stale_partial_files_are_removed_by_the_next_run() {
        // (remove_partial_files is tested through the command and real signals, in
        // tests/cli/errors.rs: here it would race with the other tests' files.)
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        // A leftover of a process that is gone (pid 0 never names a user process) and one
        // of this process: only the first goes.
        let stale = dir.path().join(".standort-0-abcdef.partial.csv");
        let mine = dir.path().join(format!(
            ".standort-{}-abcdef.partial.csv",
            std::process::id()
        ));
        std::fs::write(&stale, "x").unwrap();
        std::fs::write(&mine, "x").unwrap();
        let other = dir.path().join("keep.partial.csv");
        std::fs::write(&other, "x").unwrap();
        let f = AtomicFile::create(&target, &[]).unwrap();
        drop(f);
        assert_eq!(stale.exists(), !cfg!(target_os = "linux"));
        assert!(mine.exists() && other.exists());
        assert_eq!(stale_pid(".standort-42-x1Yz.partial"), Some(42));
        assert_eq!(stale_pid(".standort-x1Yz.partial.csv"), None);
    }
}
