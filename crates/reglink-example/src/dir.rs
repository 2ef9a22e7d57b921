//! [`ExampleDir`]: the example folder, written in place.

use std::path::{Path, PathBuf};

use reglink_extract::SetAside;
use reglink_extract::cleanup::Registration;

use crate::{ExampleError, OUTPUT};

/// An example folder being written in place. An earlier example there is
/// set aside (proven unchanged first) and removed only once the new one is
/// finished; if the run fails or is interrupted, the new folder is removed
/// and the earlier one put back.
pub(crate) struct ExampleDir {
    path: PathBuf,
    /// Registered for removal on a signal, and removed on drop until the
    /// manifest is written.
    unfinished: Option<Registration>,
    /// The earlier example, put back when this is dropped unfinished.
    earlier: Option<SetAside>,
}

impl ExampleDir {
    /// Creates `out`, setting aside an earlier, unchanged `reglink example`
    /// output there; anything else in the way is an error.
    pub(crate) fn prepare(out: &Path) -> Result<ExampleDir, ExampleError> {
        reglink_extract::check_replaceable(out, &OUTPUT)?;
        let earlier = match std::fs::symlink_metadata(out) {
            Ok(_) => Some(SetAside::new(out, &OUTPUT)?),
            Err(_) => None,
        };
        create_dir(out)?;
        Ok(ExampleDir {
            path: out.to_path_buf(),
            unfinished: Some(reglink_extract::cleanup::register(out)),
            earlier,
        })
    }

    /// Writes the manifest that lets a later run replace the folder, and
    /// removes the earlier example.
    pub(crate) fn finish(mut self, seed: u64) -> Result<(), ExampleError> {
        reglink_extract::write_manifest(
            &self.path,
            &OUTPUT,
            serde_json::json!({ "made_by": "reglink example", "seed": seed }),
        )?;
        self.unfinished = None;
        if let Some(earlier) = self.earlier.take() {
            earlier.discard()?;
        }
        Ok(())
    }
}

impl Drop for ExampleDir {
    fn drop(&mut self) {
        if let Some(registration) = self.unfinished.take() {
            registration.remove();
        }
        // The target is free again: dropping puts the earlier example back.
        self.earlier.take();
    }
}

/// Creates the folder `path` and its parents.
pub(crate) fn create_dir(path: &Path) -> Result<(), ExampleError> {
    std::fs::create_dir_all(path).map_err(|source| ExampleError::CreateDir {
        path: path.to_path_buf(),
        source,
    })
}
