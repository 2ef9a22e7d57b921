//! BLAKE3 fingerprints of whole files, for manifests and reports.

use std::io::Write;
use std::path::Path;

use crate::ExtractError;

/// The BLAKE3 hash of a file's bytes, written `blake3:<64 hex digits>`.
///
/// This is an *unkeyed* hash of a whole file, which is safe: a file is not
/// enumerable the way a single personnummer is. It must never be used on an
/// identifier; that is what `reglink_pseudo` is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(String);

impl Fingerprint {
    fn from_hash(hash: blake3::Hash) -> Fingerprint {
        Fingerprint(format!("blake3:{}", hash.to_hex()))
    }

    /// The `blake3:<hex>` text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

// Whole-file hashing is the one sanctioned use of the unkeyed hasher (see clippy.toml).
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn file_hasher() -> blake3::Hasher {
    blake3::Hasher::new()
}

/// Fingerprints bytes already in memory (a public key's line, a log entry):
/// the same hash `fingerprint_file` gives a file holding them.
pub fn fingerprint_bytes(bytes: &[u8]) -> Fingerprint {
    let mut hasher = file_hasher();
    hasher.update(bytes);
    Fingerprint::from_hash(hasher.finalize())
}

/// Fingerprints a file on disk.
pub fn fingerprint_file(path: impl AsRef<Path>) -> Result<Fingerprint, ExtractError> {
    let path = path.as_ref();
    let mut file = crate::atomic::open(path)?;
    let mut hasher = file_hasher();
    // Large blocks let BLAKE3 hash many chunks at once, on every core.
    let mut block = vec![0u8; 4 << 20];
    loop {
        let n = read_full(&mut file, &mut block).map_err(|source| ExtractError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if n == 0 {
            break;
        }
        hasher.update_rayon(&block[..n]);
    }
    Ok(Fingerprint::from_hash(hasher.finalize()))
}

/// Fills `buf` as far as the file allows; returns the bytes read.
fn read_full(file: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A writer that fingerprints everything written through it, so an output file
/// is hashed as it is produced instead of being read back.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    // Made only by `file_hasher`, over whole output files.
    #[allow(clippy::disallowed_types)]
    hasher: blake3::Hasher,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: file_hasher(),
            bytes: 0,
        }
    }

    /// Returns the inner writer, the fingerprint and the number of bytes written.
    pub fn finish(self) -> (W, Fingerprint, u64) {
        (
            self.inner,
            Fingerprint::from_hash(self.hasher.finalize()),
            self.bytes,
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_writer_matches_file_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut w = HashingWriter::new(std::fs::File::create(&path).unwrap());
        w.write_all(b"some bytes").unwrap();
        w.write_all(b" and more").unwrap();
        let (_, fp, n) = w.finish();
        assert_eq!(n, 19);
        assert_eq!(fp, fingerprint_file(&path).unwrap());
        assert!(fp.as_str().starts_with("blake3:"));
        assert_eq!(fp.as_str().len(), 7 + 64);
    }

    #[test]
    fn different_content_different_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, b"x").unwrap();
        std::fs::write(&b, b"y").unwrap();
        assert_ne!(fingerprint_file(&a).unwrap(), fingerprint_file(&b).unwrap());
    }
}
