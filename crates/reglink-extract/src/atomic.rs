//! Output files that appear whole or not at all.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::ExtractError;

/// A file written to a temporary name in its target directory and renamed into
/// place by [`AtomicFile::commit`].
///
/// Dropping an `AtomicFile` without committing removes the temporary file, so
/// an error half-way leaves nothing behind. The rename is atomic on the same
/// file system, which is why the temporary file lives beside the target.
///
/// The temporary file is registered with [`crate::cleanup`], so the binary's
/// signal handler removes it on Ctrl-C, and its name carries the process id,
/// so a later run into the same place removes one a killed run left.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    writer: BufWriter<tempfile::NamedTempFile>,
    _registration: crate::cleanup::Registration,
}

impl AtomicFile {
    /// Starts writing `target`, readable by its owner only (mode 0600): the
    /// default for what reglink writes, pseudonymised extracts included.
    /// Fails early if the directory is missing or not writable.
    pub fn create(target: impl AsRef<Path>) -> Result<AtomicFile, ExtractError> {
        AtomicFile::create_with(target.as_ref(), false)
    }

    /// Starts writing `target` as an ordinary data file (mode 0666 less the
    /// umask), for files that hold nothing about anyone, such as synthetic
    /// registers.
    pub fn create_readable(target: impl AsRef<Path>) -> Result<AtomicFile, ExtractError> {
        AtomicFile::create_with(target.as_ref(), true)
    }

    fn create_with(target: &Path, readable: bool) -> Result<AtomicFile, ExtractError> {
        let target = target.to_path_buf();
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        crate::cleanup::remove_stale(&target);
        let prefix = crate::cleanup::temp_prefix(&name, "tmp");
        let mut builder = tempfile::Builder::new();
        builder
            .prefix(&prefix)
            .suffix(crate::cleanup::temp_suffix());
        #[cfg(unix)]
        if readable {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        #[cfg(not(unix))]
        let _ = readable;
        let tmp = builder
            .tempfile_in(&dir)
            .map_err(|source| ExtractError::Output {
                path: target.clone(),
                // tempfile's message names the temporary file, which the
                // user never asked for: say it in terms of the target.
                source: if dir.is_dir() {
                    std::io::Error::from(source.kind())
                } else {
                    std::io::Error::new(
                        source.kind(),
                        format!("the folder {} does not exist", dir.display()),
                    )
                },
            })?;
        let registration = crate::cleanup::register(tmp.path());
        Ok(AtomicFile {
            target,
            writer: BufWriter::with_capacity(1 << 20, tmp),
            _registration: registration,
        })
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes, syncs and renames the file into place, replacing any file there.
    pub fn commit(self) -> Result<PathBuf, ExtractError> {
        let target = self.target;
        let err = |source| ExtractError::Output {
            path: target.clone(),
            source,
        };
        let tmp = self.writer.into_inner().map_err(|e| err(e.into_error()))?;
        tmp.as_file().sync_all().map_err(err)?;
        tmp.persist(&target).map_err(|e| err(e.error))?;
        Ok(target)
    }
}

/// Commits `files` in order, so that either all of them are in place or none
/// of the new ones is: at the first failure the files not yet committed are
/// dropped (their temporaries removed) and those already renamed into place
/// are removed again. A run that writes several files that only make sense
/// together (tables and the report describing them) commits them this way.
pub fn commit_all(files: Vec<AtomicFile>) -> Result<Vec<PathBuf>, ExtractError> {
    let mut done: Vec<PathBuf> = Vec::with_capacity(files.len());
    for file in files {
        match file.commit() {
            Ok(path) => done.push(path),
            Err(e) => {
                for path in &done {
                    let _ = std::fs::remove_file(path);
                }
                return Err(e);
            }
        }
    }
    Ok(done)
}

/// An exclusive lock on `path` (an empty file, created if missing, mode
/// 0600, never holding data), held until the returned file is dropped. For
/// a read-check-append of a file that several runs may update (the three-party
/// key holder's log): the lock file is never replaced, so every run waits
/// on the same one.
pub fn exclusive_lock(path: &Path) -> Result<std::fs::File, ExtractError> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let output = |source| ExtractError::Output {
        path: path.to_path_buf(),
        source,
    };
    let file = options.open(path).map_err(output)?;
    file.lock().map_err(output)?;
    Ok(file)
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

/// Writes `bytes` to `target` atomically.
pub fn write_atomic(target: impl AsRef<Path>, bytes: &[u8]) -> Result<PathBuf, ExtractError> {
    let mut f = AtomicFile::create(target)?;
    f.write_all(bytes).map_err(|source| ExtractError::Output {
        path: f.target().to_path_buf(),
        source,
    })?;
    f.commit()
}

/// Opens a file for reading, naming it in the error.
pub(crate) fn open(path: &Path) -> Result<File, ExtractError> {
    File::open(path).map_err(|source| ExtractError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_moves_file_into_place_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"hello").unwrap();
        assert!(!target.exists(), "target must not exist before commit");
        f.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"hello");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn drop_without_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn missing_directory_is_an_output_error_naming_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("no/such/dir/out.bin");
        let err = AtomicFile::create(&target).unwrap_err();
        match &err {
            ExtractError::Output { path, .. } => assert_eq!(path, &target),
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("out.bin"));
        assert!(
            !err.to_string().contains(".reglink-") && err.to_string().contains("does not exist"),
            "the temporary name leaks: {err}"
        );
    }
}
