//! Atomic output files: written beside the target and renamed into place on success, so a
//! failed run leaves no half-written file; an input of the run is never overwritten.

use crate::error::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};

/// A file written beside its target and renamed into place by [`AtomicFile::commit`].
/// Dropped without commit, it leaves nothing behind.
pub struct AtomicFile {
    target: PathBuf,
    temp: tempfile::NamedTempFile,
}

impl AtomicFile {
    /// Prepare to write `target`, refusing to overwrite any of `inputs`.
    pub fn create(target: &Path, inputs: &[PathBuf]) -> Result<AtomicFile> {
        if let Ok(t) = target.canonicalize() {
            for i in inputs {
                if i.canonicalize().is_ok_and(|c| c == t) {
                    return Err(Error::at(
                        ErrorKind::Usage,
                        target.display().to_string(),
                        "is an input of this run; refusing to overwrite it",
                    ));
                }
            }
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(Error::at(
                ErrorKind::Io,
                target.display().to_string(),
                "the output folder does not exist",
            ));
        }
        // Keep the extension: some GDAL drivers choose the format by it.
        let suffix = match target.extension().and_then(|e| e.to_str()) {
            Some(ext) => format!(".partial.{ext}"),
            None => ".partial".to_string(),
        };
        let temp = tempfile::Builder::new()
            .prefix(".standort-")
            .suffix(&suffix)
            .tempfile_in(&dir)
            .map_err(|e| Error::io(target, &e))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp,
        })
    }

    /// The file this will become.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary file's path (for writers that open files by name, like GDAL).
    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// The file to write to.
    pub fn file(&mut self) -> &mut std::fs::File {
        self.temp.as_file_mut()
    }

    /// Flush and rename into place.
    pub fn commit(self) -> Result<()> {
        // Temporary files are private (0600); the result is an ordinary file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = self
                .temp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644));
        }
        self.temp
            .as_file()
            .sync_all()
            .map_err(|e| Error::io(&self.target, &e))?;
        self.temp
            .persist(&self.target)
            .map_err(|e| Error::io(&self.target, &e.error))?;
        Ok(())
    }
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
}
