//! `--policy`: a policy file, or the name of a preset.

use std::path::{Path, PathBuf};

use reglink_protect::Policy;

use crate::ReleaseError;

/// Reads `--policy`: a policy file if `arg` names a regular file, else the
/// preset of that name (`acro`, `abs`, `lenient`). A folder, a device, an
/// empty file or a name that is neither is an error that says which.
pub fn load_policy(arg: &str) -> Result<Policy, ReleaseError> {
    let path = Path::new(arg);
    let meta = std::fs::metadata(path);
    if meta.as_ref().is_ok_and(std::fs::Metadata::is_file) {
        let text =
            std::fs::read_to_string(path).map_err(|source| ReleaseError::PolicyUnreadable {
                path: path.to_path_buf(),
                source,
            })?;
        if text.trim().is_empty() {
            return Err(ReleaseError::PolicyEmpty {
                path: path.to_path_buf(),
            });
        }
        return Ok(Policy::parse(&path.display().to_string(), &text)?);
    }
    if let Some(p) = Policy::preset(arg) {
        return Ok(p);
    }
    let path = path.to_path_buf();
    Err(match meta {
        Ok(m) if m.is_dir() => ReleaseError::PolicyIsFolder { path },
        Ok(_) => ReleaseError::PolicyNotAFile { path },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ReleaseError::NoSuchPolicy { path },
        Err(source) => ReleaseError::PolicyUnreadable { path, source },
    })
}

/// The policy file `--policy` names, if it names a file rather than a
/// preset: an input of the run, which no output may be or hold.
pub fn policy_file(arg: &str) -> Option<PathBuf> {
    let path = Path::new(arg);
    path.is_file().then(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preset_a_file_and_every_wrong_kind_of_policy() {
        assert_eq!(load_policy("acro").unwrap().preset, "acro");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("policy.toml");
        std::fs::write(&file, "preset = \"abs\"\nthreshold = 7\n").unwrap();
        let arg = file.to_str().unwrap();
        assert_eq!(load_policy(arg).unwrap().threshold, 7);
        assert_eq!(policy_file(arg), Some(file.clone()));
        assert_eq!(policy_file("acro"), None);

        std::fs::write(&file, " \n").unwrap();
        let empty = load_policy(arg).unwrap_err();
        assert!(matches!(empty, ReleaseError::PolicyEmpty { .. }), "{empty}");
        assert_eq!(
            empty.to_string(),
            format!(
                "{arg}: the policy file is empty (it must name at least a preset: acro, abs, lenient)"
            )
        );
        let folder = load_policy(dir.path().to_str().unwrap()).unwrap_err();
        assert!(
            matches!(folder, ReleaseError::PolicyIsFolder { .. }),
            "{folder}"
        );
        let missing = load_policy("acrp").unwrap_err();
        assert_eq!(
            missing.to_string(),
            "acrp: no such policy file, and not a preset (acro, abs, lenient)"
        );
    }
}
