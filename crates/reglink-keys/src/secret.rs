//! Secret key files: created with mode 0600 and never overwritten; read
//! only when no one but the owner can access them.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::Path;

use zeroize::Zeroizing;

use crate::KeyFileError;

/// Writes `bytes` to a new file with mode 0600, creating its folder (mode
/// 0700) if there is none. Refuses to overwrite any existing file; removes
/// what it wrote if writing fails.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), KeyFileError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut folder = std::fs::DirBuilder::new();
        folder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            folder.mode(0o700);
        }
        folder.create(parent).map_err(|source| KeyFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    }
    create_new(path, bytes, 0o600)
}

/// Writes a public key file (mode 0644): new, never over another file.
pub fn write_new_public(path: &Path, bytes: &[u8]) -> Result<(), KeyFileError> {
    create_new(path, bytes, 0o644)
}

fn create_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            io(source)
        }
    })?;
    if let Err(source) = file.write_all(bytes).and_then(|()| file.sync_all()) {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(io(source));
    }
    Ok(())
}

/// Reads a secret key file of exactly `expected` bytes (`what` names the
/// kind in errors), refusing one that group or others can access.
pub fn read(
    path: &Path,
    expected: usize,
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let length = |len| KeyFileError::Length {
        path: path.to_path_buf(),
        len,
        what,
        expected,
    };
    if !meta.is_file() {
        return Err(length(0));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Permissions {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    if meta.len() != expected as u64 {
        return Err(length(meta.len()));
    }
    let mut bytes = Zeroizing::new(vec![0u8; expected]);
    file.read_exact(&mut bytes).map_err(io)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/k");
        write_new(&path, &[1; 5]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(&dir.path().join("keys")), 0o700);
        }
        assert!(matches!(
            write_new(&path, &[2; 5]),
            Err(KeyFileError::Exists { .. })
        ));
        assert_eq!(*read(&path, 5, "key").unwrap(), vec![1; 5]);
    }

    #[test]
    fn a_file_of_another_length_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        write_new(&path, &[1; 32]).unwrap();
        let err = read(&path, 63, "signing key").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: key file is 32 bytes; a reglink signing key is exactly 63 bytes",
                path.display()
            )
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_access_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        write_new(&path, &[1; 8]).unwrap();
        for mode in [0o640, 0o604, 0o660, 0o644] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = read(&path, 8, "key").unwrap_err();
            assert!(
                matches!(err, KeyFileError::Permissions { mode: m, .. } if m == mode),
                "{err:?}"
            );
        }
    }
}
