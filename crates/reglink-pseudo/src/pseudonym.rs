//! Study keys and the pseudonyms they produce.

use reglink_pnr::Pnr;
use zeroize::Zeroize;

use crate::{KeyId, kdf};

/// Length of a pseudonym in bytes (128 bits: a collision among 10^8 people has
/// probability about 10^-23).
pub const PSEUDONYM_LEN: usize = 16;

/// A per-study key derived from the master key and the study name.
///
/// It is the only value that can turn a personnummer into a pseudonym. `Debug`
/// shows the master key's id and nothing else; the bytes are wiped on drop.
pub struct StudyKey {
    bytes: [u8; 32],
    master_id: KeyId,
    study: String,
}

impl std::fmt::Debug for StudyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StudyKey({:?} from {})", self.study, self.master_id)
    }
}

impl Drop for StudyKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

/// What keyed hashing of one identifier yields.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Keyed {
    /// The person's pseudonym in this study.
    pub pseudonym: Pseudonym,
    /// The person's record key for the cell key method: uniform on `u32`,
    /// stable across sources and releases of the same study.
    pub record_key: u32,
}

impl std::fmt::Debug for Keyed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyed(<redacted>)")
    }
}

impl StudyKey {
    pub(crate) fn new(bytes: [u8; 32], master_id: KeyId, study: &str) -> StudyKey {
        StudyKey {
            bytes,
            master_id,
            study: study.to_string(),
        }
    }

    /// The study name the key was derived for.
    pub fn study(&self) -> &str {
        &self.study
    }

    /// The id of the master key this study key was derived from.
    pub fn master_id(&self) -> KeyId {
        self.master_id
    }

    /// Pseudonym and record key of one person. Callers apply the crosswalk first.
    #[inline]
    pub fn keyed(&self, pnr: &Pnr) -> Keyed {
        let out = kdf::identifier_hash(&self.bytes, pnr.normalised());
        let mut pseudonym = [0u8; PSEUDONYM_LEN];
        pseudonym.copy_from_slice(&out[..PSEUDONYM_LEN]);
        let record_key = u32::from_le_bytes([out[16], out[17], out[18], out[19]]);
        Keyed {
            pseudonym: Pseudonym(pseudonym),
            record_key,
        }
    }

    /// The person's pseudonym.
    #[inline]
    pub fn pseudonym(&self, pnr: &Pnr) -> Pseudonym {
        self.keyed(pnr).pseudonym
    }
}

/// What the pseudonymise pipeline asks of a key: one person's pseudonym and
/// record key, and what the output's metadata says about how they were made.
/// A [`StudyKey`] is one; a source of the three-party flow uses another
/// (`crate::transcrypt`), whose values only the linker can turn into pseudonyms.
pub(crate) trait Keyer: Sync {
    /// Pseudonym and record key of one person. Callers apply the crosswalk first.
    fn keyed(&self, pnr: &Pnr) -> Keyed;
    /// The value of the output's scheme metadata.
    fn scheme(&self) -> &str;
    /// The printable id of the key (never the key).
    fn key_id(&self) -> String;
    /// The study name.
    fn study(&self) -> &str;
}

impl Keyer for StudyKey {
    #[inline]
    fn keyed(&self, pnr: &Pnr) -> Keyed {
        StudyKey::keyed(self, pnr)
    }
    fn scheme(&self) -> &str {
        reglink_extract::pseudonymised::PSEUDONYM_SCHEME
    }
    fn key_id(&self) -> String {
        self.master_id.to_string()
    }
    fn study(&self) -> &str {
        &self.study
    }
}

/// A 128-bit keyed pseudonym.
///
/// `Debug` is redacted and there is no `Display`: pseudonyms are row-level
/// identifiers and never belong in logs, errors or releases.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pseudonym(pub(crate) [u8; PSEUDONYM_LEN]);

impl std::fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonym(<redacted>)")
    }
}

impl Pseudonym {
    /// The 16 bytes, as stored in the `FixedSizeBinary(16)` column.
    pub fn to_bytes(self) -> [u8; PSEUDONYM_LEN] {
        self.0
    }

    /// From the 16 stored bytes.
    pub fn from_bytes(bytes: [u8; PSEUDONYM_LEN]) -> Pseudonym {
        Pseudonym(bytes)
    }

    /// As one integer, the form the link stage hashes and sorts.
    pub fn as_u128(self) -> u128 {
        u128::from_le_bytes(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MasterKey;
    use reglink_pnr::{Date, Form};

    fn pnr() -> Pnr {
        Pnr::from_parts(Date::new(1985, 4, 12).unwrap(), 238, false).unwrap()
    }

    #[test]
    fn same_study_same_pseudonym_other_study_unrelated() {
        let key = MasterKey::from_bytes([3; 32]);
        let a = key.study_key("eb-af-2023").unwrap();
        let a2 = key.study_key("eb-af-2023").unwrap();
        let b = key.study_key("eb-af-2024").unwrap();
        assert_eq!(a.pseudonym(&pnr()), a2.pseudonym(&pnr()));
        assert_ne!(a.pseudonym(&pnr()), b.pseudonym(&pnr()));
    }

    #[test]
    fn other_master_key_other_pseudonym() {
        let a = MasterKey::from_bytes([3; 32]).study_key("s").unwrap();
        let b = MasterKey::from_bytes([4; 32]).study_key("s").unwrap();
        assert_ne!(a.pseudonym(&pnr()), b.pseudonym(&pnr()));
    }

    #[test]
    fn study_name_boundaries_do_not_collide() {
        // Length-prefixing: "ab" + "c" must not equal "a" + "bc" in any sense;
        // with names only, check that near-identical names differ.
        let key = MasterKey::from_bytes([9; 32]);
        let x = key.study_key("ab").unwrap().pseudonym(&pnr());
        let y = key.study_key("ab ").unwrap().pseudonym(&pnr());
        assert_ne!(x, y);
    }

    #[test]
    fn every_textual_form_gives_the_same_pseudonym() {
        let key = MasterKey::from_bytes([5; 32]).study_key("s").unwrap();
        let reference = Date::new(2026, 6, 30).unwrap();
        let expected = key.pseudonym(&pnr());
        for form in [
            Form::Twelve,
            Form::TwelveDash,
            Form::TenSeparated,
            Form::Ten,
        ] {
            let text = pnr().format(form, reference);
            let parsed = Pnr::parse(&format!("  {text} "), reference).unwrap();
            assert_eq!(key.pseudonym(&parsed), expected, "{form:?}");
        }
    }

    #[test]
    fn debug_output_is_redacted() {
        let key = MasterKey::from_bytes([5; 32]).study_key("s").unwrap();
        let k = key.keyed(&pnr());
        assert_eq!(format!("{:?}", k.pseudonym), "Pseudonym(<redacted>)");
        assert_eq!(format!("{k:?}"), "Keyed(<redacted>)");
        assert!(format!("{key:?}").starts_with("StudyKey(\"s\" from rk-"));
    }
}
