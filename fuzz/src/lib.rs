//! Helpers shared by the fuzz targets in `fuzz_targets/`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A directory for inputs that a parser only takes as a file. It is in memory
/// (`/dev/shm`) where there is one: rewriting a file on disk once per execution
/// makes the fuzzer wait on the disk. libFuzzer exits without running
/// destructors, so the directory (a few small files) is left behind.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::Builder::new()
                .prefix("reglink-fuzz")
                .tempdir_in(shm)
        } else {
            tempfile::Builder::new().prefix("reglink-fuzz").tempdir()
        };
        dir.expect("a temporary directory")
    })
    .path()
}

/// `name` in [`scratch_dir`].
pub fn scratch_file(name: &str) -> PathBuf {
    scratch_dir().join(name)
}
