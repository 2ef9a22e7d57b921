//! Scratch folders: rows set aside on disk while a run works through them
//! (`reglink link` spills each source by pseudonym group when the sources
//! hold more rows than it keeps in memory).
//!
//! A scratch folder holds pseudonymised rows, as sensitive as the extracts
//! it came from, so it is private (mode 0700, its files 0600), named like
//! every reglink temporary (`.NAME.reglink-PID-XXXX.tmp`, removed by a later
//! run if this one is killed), registered for removal on a signal, and
//! removed when dropped, whether the run succeeded or not.

use std::path::{Path, PathBuf};

use crate::cleanup::{self, Registration};

/// A private temporary folder, removed with everything in it when dropped.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
    _registration: Registration,
}

impl ScratchDir {
    /// Creates a scratch folder for `name` inside `parent` (which must
    /// exist), with mode 0700.
    pub fn create(parent: &Path, name: &str) -> std::io::Result<ScratchDir> {
        let target = parent.join(name);
        cleanup::remove_stale(&target);
        let path = tempfile::Builder::new()
            .prefix(&cleanup::temp_prefix(name, "tmp"))
            .suffix(cleanup::temp_suffix())
            .tempdir_in(parent)?
            .keep();
        let scratch = ScratchDir {
            _registration: cleanup::register(&path),
            path,
        };
        // Dropped on failure, which removes the folder.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&scratch.path, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(scratch)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `bytes` to the file `name` in the folder, creating it (mode
    /// 0600) if it is not there, and closes it: a writer of many files
    /// keeps none open.
    pub fn append(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(self.path.join(name))?.write_all(bytes)
    }

    /// Creates the file `name` in the folder (mode 0600; it must not be
    /// there yet), open for writing.
    pub fn create_file(&self, name: &str) -> std::io::Result<std::fs::File> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(self.path.join(name))
    }

    /// Removes the file `name` from the folder, once read back.
    pub fn remove_file(&self, name: &str) -> std::io::Result<()> {
        std::fs::remove_file(self.path.join(name))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_folder_is_private_and_gone_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = ScratchDir::create(dir.path(), "spill").unwrap();
        let path = scratch.path().to_path_buf();
        assert!(path.starts_with(dir.path()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".spill.reglink-") && name.ends_with(".tmp"),
            "{name}"
        );
        scratch.append("rows", b"rows").unwrap();
        scratch.append("rows", b" and more").unwrap();
        scratch.append("new", b"new").unwrap();
        assert_eq!(std::fs::read(path.join("rows")).unwrap(), b"rows and more");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o700);
            assert_eq!(mode(&path.join("rows")), 0o600);
            assert_eq!(mode(&path.join("new")), 0o600);
        }
        drop(scratch);
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
