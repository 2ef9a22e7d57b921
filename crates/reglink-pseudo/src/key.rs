//! The master key: generation, key files, and its printable id.

use std::path::Path;

use zeroize::Zeroize;

use crate::{PseudoError, StudyKey, kdf};

/// Length of a master key in bytes (256 bits).
pub const KEY_LEN: usize = 32;

/// A short, printable fingerprint of a master key (`rk-` and 16 hex digits).
///
/// It identifies which key produced a set of pseudonyms without revealing
/// anything about the key; it is safe to print, log and put in a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 8]);

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("rk-")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The data holder's secret master key.
///
/// `Debug` prints only the [`KeyId`]; the bytes are wiped on drop and never
/// leave this crate except into a key file.
pub struct MasterKey {
    bytes: [u8; KEY_LEN],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id())
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl MasterKey {
    /// 256 bits from the operating system's secure random source.
    pub fn generate() -> Result<MasterKey, PseudoError> {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes).map_err(|e| PseudoError::Random(e.to_string()))?;
        Ok(MasterKey { bytes })
    }

    /// A key from known bytes. For tests and benchmarks; real keys come from
    /// [`MasterKey::generate`] and key files.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> MasterKey {
        MasterKey { bytes }
    }

    /// The printable fingerprint.
    pub fn id(&self) -> KeyId {
        KeyId(kdf::key_id(&self.bytes))
    }

    /// The key for one study. Different study names give unrelated pseudonyms
    /// for the same person. The name must not be blank.
    pub fn study_key(&self, study: &str) -> Result<StudyKey, PseudoError> {
        if study.trim().is_empty() {
            return Err(PseudoError::EmptyStudyName);
        }
        Ok(StudyKey::new(
            kdf::study_key(&self.bytes, study),
            self.id(),
            study,
        ))
    }

    /// Writes the key to a new file with mode 0600, creating its folder (mode
    /// 0700) if there is none. Refuses to overwrite any existing file.
    pub fn write_new_file(&self, path: &Path) -> Result<(), PseudoError> {
        Ok(reglink_keys::secret::write_new(path, &self.bytes)?)
    }

    /// Loads a key file, refusing one that group or others can access, or one
    /// that is not exactly 32 bytes.
    pub fn load(path: &Path) -> Result<MasterKey, PseudoError> {
        let read = reglink_keys::secret::read(path, KEY_LEN, "key")?;
        let mut bytes = [0u8; KEY_LEN];
        bytes.copy_from_slice(&read);
        Ok(MasterKey { bytes })
    }
}

#[cfg(test)]
mod tests {
    use reglink_extract::Hinted;

    use super::*;

    #[test]
    fn generated_keys_differ_and_debug_shows_only_the_id() {
        let a = MasterKey::generate().unwrap();
        let b = MasterKey::generate().unwrap();
        assert_ne!(a.id(), b.id());
        let dbg = format!("{a:?}");
        assert_eq!(dbg, format!("MasterKey({})", a.id()));
        let hex: String = a.bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!dbg.contains(&hex[..8]));
    }

    #[test]
    fn key_id_format() {
        let id = MasterKey::from_bytes([7; 32]).id().to_string();
        assert!(id.starts_with("rk-") && id.len() == 19, "{id}");
        assert_eq!(id, MasterKey::from_bytes([7; 32]).id().to_string());
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_0600_refuses_overwrite_and_round_trips() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("study.key");
        let key = MasterKey::generate().unwrap();
        key.write_new_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(
            MasterKey::generate().unwrap().write_new_file(&path),
            Err(PseudoError::KeyFileExists { .. })
        ));
        assert_eq!(MasterKey::load(&path).unwrap().id(), key.id());
    }

    #[cfg(unix)]
    #[test]
    fn a_new_key_gets_its_folder_and_never_replaces_any_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/2026/study.key");
        let key = MasterKey::generate().unwrap();
        key.write_new_file(&path).unwrap();
        assert_eq!(MasterKey::load(&path).unwrap().id(), key.id());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let folder = std::fs::metadata(path.parent().unwrap()).unwrap();
        assert_eq!(folder.permissions().mode() & 0o777, 0o700);
        // Any existing file, key or not, is left alone, and the message says so.
        let data = dir.path().join("eb.csv");
        std::fs::write(&data, "personnr\n").unwrap();
        let err = key.write_new_file(&data).unwrap_err();
        assert!(matches!(err, PseudoError::KeyFileExists { .. }), "{err:?}");
        assert!(
            err.to_string()
                .ends_with("eb.csv: already exists; refusing to overwrite an existing file"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&data).unwrap(), "personnr\n");
    }

    #[cfg(unix)]
    #[test]
    fn readable_by_others_is_refused_with_a_hint() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        MasterKey::generate()
            .unwrap()
            .write_new_file(&path)
            .unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = MasterKey::load(&path).unwrap_err();
            assert!(
                matches!(err, PseudoError::KeyFilePermissions { mode: m, .. } if m == mode),
                "{mode:o}: {err:?}"
            );
            assert!(err.hint().unwrap().contains("chmod 600"));
        }
    }

    #[cfg(unix)]
    #[test]
    fn wrong_length_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 16, 31, 33, 64] {
            let path = dir.path().join(format!("k{len}"));
            std::fs::write(&path, vec![1u8; len]).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            let err = MasterKey::load(&path).unwrap_err();
            assert!(
                matches!(err, PseudoError::KeyFileLength { len: l, .. } if l == len as u64),
                "{len}: {err:?}"
            );
        }
    }

    #[test]
    fn blank_study_name_is_refused() {
        let key = MasterKey::from_bytes([1; 32]);
        assert!(matches!(
            key.study_key("  "),
            Err(PseudoError::EmptyStudyName)
        ));
    }
}
