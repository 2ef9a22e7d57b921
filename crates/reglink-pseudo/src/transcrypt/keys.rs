//! The key files of the three-party roles.
//!
//! - The key holder's key: `reglink-keyholder-key-v1\n` and 32 random bytes
//!   (mode 0600). From it: the rekeying scalar of each study (and linker),
//!   its ElGamal share `x`, and the ed25519 key that signs its output and
//!   log. Its public half is one line,
//!   `reglink-keyholder-public-key-v1 <ed25519 hex> <X hex>`.
//! - The linker's key: `reglink-linker-key-v1\n` and 32 random bytes (mode
//!   0600). From it: the ElGamal secret `y` and the hash key of each study.
//!   Its public half is one line, `reglink-linker-public-key-v1 <64 hex>`.
//! - A source needs no key of its own but its signing key
//!   (`reglink key new-signing`), which the key holder knows by its public
//!   half, and both public keys above: it encrypts to `X + Y`.
//!
//! Every secret is wiped on drop; `Debug` shows fingerprints only.

use std::path::Path;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use reglink_keys::signing::{PublicKey, SigningKey};
use reglink_keys::{KeyFileError, secret};
use zeroize::Zeroizing;

use super::group;
use crate::kdf;

const KEYHOLDER_MAGIC: &[u8] = b"reglink-keyholder-key-v1\n";
const LINKER_MAGIC: &[u8] = b"reglink-linker-key-v1\n";
const LINKER_PUBLIC_TAG: &str = "reglink-linker-public-key-v1";

/// Length of a key holder's key file.
pub const KEYHOLDER_FILE_LEN: u64 = (KEYHOLDER_MAGIC.len() + 32) as u64;
/// Length of a linker's key file.
pub const LINKER_FILE_LEN: u64 = (LINKER_MAGIC.len() + 32) as u64;
/// Length of a linker's public key file as reglink writes it.
pub const LINKER_PUBLIC_FILE_LEN: u64 = (LINKER_PUBLIC_TAG.len() + 1 + 64 + 1) as u64;

fn random() -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut_slice()).map_err(|e| KeyFileError::Random(e.to_string()))?;
    Ok(bytes)
}

fn load_role(
    path: &Path,
    magic: &[u8],
    what: &'static str,
) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let bytes = secret::read(path, magic.len() + 32, what)?;
    if &bytes[..magic.len()] != magic {
        return Err(KeyFileError::Format {
            path: path.to_path_buf(),
            what,
        });
    }
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&bytes[magic.len()..]);
    Ok(out)
}

/// Reads a public key file with `parse`; `what` names the kind in errors.
fn load_public<T>(
    path: &Path,
    what: &'static str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).ok_or_else(|| KeyFileError::Format {
        path: path.to_path_buf(),
        what,
    })
}

fn write_role(
    path: &Path,
    magic: &[u8],
    secret_bytes: &[u8; 32],
    public: &Path,
    public_line: &str,
) -> Result<(), KeyFileError> {
    if public.exists() {
        return Err(KeyFileError::Exists {
            path: public.to_path_buf(),
        });
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(magic.len() + 32));
    bytes.extend_from_slice(magic);
    bytes.extend_from_slice(secret_bytes);
    secret::write_new(path, &bytes)?;
    secret::write_new_public(public, public_line.as_bytes()).inspect_err(|_| {
        let _ = std::fs::remove_file(path);
    })
}

/// The key holder's secret: the only key that turns an encrypted person into
/// the study's encrypted pseudonym point.
pub struct KeyHolderKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for KeyHolderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyHolderKey({})", self.public().fingerprint())
    }
}

impl KeyHolderKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<KeyHolderKey, KeyFileError> {
        random().map(KeyHolderKey)
    }

    /// A key from known bytes, for tests and benchmarks.
    pub fn from_bytes(bytes: [u8; 32]) -> KeyHolderKey {
        KeyHolderKey(Zeroizing::new(bytes))
    }

    /// Writes the key (new file, mode 0600) and its public key.
    pub fn write_new_files(&self, private: &Path, public: &Path) -> Result<(), KeyFileError> {
        write_role(
            private,
            KEYHOLDER_MAGIC,
            &self.0,
            public,
            &self.public().to_line(),
        )
    }

    /// Loads a key file, refusing one that group or others can access.
    pub fn load(path: &Path) -> Result<KeyHolderKey, KeyFileError> {
        load_role(path, KEYHOLDER_MAGIC, "key holder's key").map(KeyHolderKey)
    }

    /// The key that signs the key holder's output and log entries.
    pub fn signing(&self) -> SigningKey {
        SigningKey::from_seed(kdf::narrow(kdf::KEYHOLDER_SIGNING_CONTEXT, &self.0, &[]))
    }

    /// The key holder's ElGamal secret `x`: its share of the key sources
    /// encrypt to, so that the linker cannot open a source's batch.
    pub(crate) fn elgamal_secret(&self) -> Zeroizing<Scalar> {
        let wide = Zeroizing::new(kdf::wide(kdf::KEYHOLDER_ELGAMAL_CONTEXT, &self.0, &[]));
        Zeroizing::new(group::scalar(&wide))
    }

    /// Its public key: the signing key and `X = x·G`.
    pub fn public(&self) -> KeyHolderPublicKey {
        KeyHolderPublicKey {
            signing: self.signing().public(),
            elgamal: group::commit(&self.elgamal_secret()),
        }
    }

    /// The rekeying scalar of one study with one linker: another linker,
    /// other pseudonyms.
    pub(crate) fn study_scalar(&self, study: &str, linker: &str) -> Zeroizing<Scalar> {
        let wide = Zeroizing::new(kdf::wide(
            kdf::KEYHOLDER_STUDY_CONTEXT,
            &self.0,
            &[study, linker],
        ));
        Zeroizing::new(group::scalar(&wide))
    }

    /// `k·G` for the study: public, written into every output so that the
    /// linker can tell which key holder and study made it.
    pub fn study_commitment(&self, study: &str, linker: &str) -> [u8; 32] {
        group::commit(&self.study_scalar(study, linker))
    }
}

const KEYHOLDER_PUBLIC_TAG: &str = "reglink-keyholder-public-key-v1";
/// Length of a key holder's public key file as reglink writes it.
pub const KEYHOLDER_PUBLIC_FILE_LEN: u64 =
    (KEYHOLDER_PUBLIC_TAG.len() + 1 + 64 + 1 + 64 + 1) as u64;

/// The key holder's public key: the key its outputs are signed with (for the
/// linker) and its ElGamal share `X` (for sources, who encrypt to `X + Y`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHolderPublicKey {
    /// Verifies the key holder's outputs.
    pub signing: PublicKey,
    elgamal: [u8; 32],
}

impl KeyHolderPublicKey {
    /// The public key file's one line: tag, signing key, ElGamal share.
    pub fn to_line(&self) -> String {
        format!(
            "{KEYHOLDER_PUBLIC_TAG} {} {}\n",
            self.signing.to_hex(),
            super::hex(&self.elgamal)
        )
    }

    /// `rh-` and 32 hex digits of the BLAKE3 hash of [`KeyHolderPublicKey::to_line`].
    pub fn fingerprint(&self) -> String {
        format!("rh-{}", &super::fingerprint_text(&self.to_line())[..32])
    }

    /// Reads a public key file.
    pub fn load(path: &Path) -> Result<KeyHolderPublicKey, KeyFileError> {
        load_public(path, "key holder's public key", Self::parse)
    }

    /// Parses the line of [`KeyHolderPublicKey::to_line`].
    pub fn parse(text: &str) -> Option<KeyHolderPublicKey> {
        let mut words = text.trim().split(' ');
        if words.next()? != KEYHOLDER_PUBLIC_TAG {
            return None;
        }
        let signing = PublicKey::from_hex(words.next()?)?;
        let elgamal: [u8; 32] = super::unhex(words.next()?)?;
        if words.next().is_some() || !group::proper_point(&elgamal) {
            return None;
        }
        Some(KeyHolderPublicKey { signing, elgamal })
    }

    pub(crate) fn point(&self) -> RistrettoPoint {
        group::point(&self.elgamal).expect("checked when parsed or made")
    }
}

/// The linker's secret: opens what the key holder outputs, and finishes each
/// study's pseudonyms with a hash key only it has.
pub struct LinkerKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for LinkerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LinkerKey({})", self.public().fingerprint())
    }
}

impl LinkerKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<LinkerKey, KeyFileError> {
        random().map(LinkerKey)
    }

    /// A key from known bytes, for tests and benchmarks.
    pub fn from_bytes(bytes: [u8; 32]) -> LinkerKey {
        LinkerKey(Zeroizing::new(bytes))
    }

    /// Writes the key (new file, mode 0600) and its public key.
    pub fn write_new_files(&self, private: &Path, public: &Path) -> Result<(), KeyFileError> {
        write_role(
            private,
            LINKER_MAGIC,
            &self.0,
            public,
            &self.public().to_line(),
        )
    }

    /// Loads a key file, refusing one that group or others can access.
    pub fn load(path: &Path) -> Result<LinkerKey, KeyFileError> {
        load_role(path, LINKER_MAGIC, "linker's key").map(LinkerKey)
    }

    pub(crate) fn elgamal_secret(&self) -> Zeroizing<Scalar> {
        let wide = Zeroizing::new(kdf::wide(kdf::LINKER_ELGAMAL_CONTEXT, &self.0, &[]));
        Zeroizing::new(group::scalar(&wide))
    }

    pub(crate) fn hash_key(&self, study: &str) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(kdf::narrow(kdf::LINKER_STUDY_CONTEXT, &self.0, &[study]))
    }

    /// The public key sources encrypt to.
    pub fn public(&self) -> LinkerPublicKey {
        LinkerPublicKey(group::commit(&self.elgamal_secret()))
    }
}

/// The linker's public key: what every source encrypts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkerPublicKey([u8; 32]);

impl LinkerPublicKey {
    /// The public key file's one line.
    pub fn to_line(&self) -> String {
        format!("{LINKER_PUBLIC_TAG} {}\n", super::hex(&self.0))
    }

    /// `rl-` and 32 hex digits of the BLAKE3 hash of [`LinkerPublicKey::to_line`]:
    /// safe to print, and what parties compare over the phone.
    pub fn fingerprint(&self) -> String {
        format!("rl-{}", &super::fingerprint_text(&self.to_line())[..32])
    }

    /// Reads a public key file.
    pub fn load(path: &Path) -> Result<LinkerPublicKey, KeyFileError> {
        load_public(path, "linker's public key", Self::parse)
    }

    /// Parses the line of [`LinkerPublicKey::to_line`].
    pub fn parse(text: &str) -> Option<LinkerPublicKey> {
        let hex = text.trim().strip_prefix(LINKER_PUBLIC_TAG)?.trim();
        let bytes: [u8; 32] = super::unhex(hex)?;
        group::proper_point(&bytes).then_some(LinkerPublicKey(bytes))
    }

    pub(crate) fn point(&self) -> RistrettoPoint {
        group::point(&self.0).expect("checked when parsed or made")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_keys_are_private_files_that_redact_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let (kh, l) = (dir.path().join("kh.key"), dir.path().join("l.key"));
        let keyholder = KeyHolderKey::generate().unwrap();
        keyholder
            .write_new_files(&kh, &dir.path().join("kh.key.pub"))
            .unwrap();
        let linker = LinkerKey::generate().unwrap();
        linker
            .write_new_files(&l, &dir.path().join("l.key.pub"))
            .unwrap();
        assert_eq!(std::fs::metadata(&kh).unwrap().len(), KEYHOLDER_FILE_LEN);
        assert_eq!(std::fs::metadata(&l).unwrap().len(), LINKER_FILE_LEN);
        let public = LinkerPublicKey::load(&dir.path().join("l.key.pub")).unwrap();
        assert_eq!(public, linker.public());
        assert_eq!(
            KeyHolderKey::load(&kh).unwrap().study_commitment("s", "l"),
            keyholder.study_commitment("s", "l")
        );
        let c = |s: &str, l: &str| keyholder.study_commitment(s, l);
        assert_ne!(c("s", "l"), c("t", "l"));
        assert_ne!(c("s", "l"), c("s", "m"), "another linker, another scalar");
        let kh_public = KeyHolderPublicKey::load(&dir.path().join("kh.key.pub")).unwrap();
        assert_eq!(kh_public, keyholder.public());
        assert_eq!(
            std::fs::metadata(dir.path().join("kh.key.pub"))
                .unwrap()
                .len(),
            KEYHOLDER_PUBLIC_FILE_LEN
        );
        // Debug shows a fingerprint, not the bytes.
        let shown = format!("{linker:?} {keyholder:?}");
        assert!(shown.contains("rl-") && shown.contains("rh-"), "{shown}");
        // Refused when others can read it, and never overwritten.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&l, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                LinkerKey::load(&l),
                Err(KeyFileError::Permissions { .. })
            ));
        }
        assert!(matches!(
            LinkerKey::generate()
                .unwrap()
                .write_new_files(&l, &dir.path().join("other.pub")),
            Err(KeyFileError::Exists { .. })
        ));
        // One kind of key is not taken for another.
        assert!(KeyHolderKey::load(&l).is_err());
    }

    #[test]
    fn a_public_key_that_is_not_a_point_is_refused() {
        let good = LinkerKey::from_bytes([1; 32]).public().to_line();
        assert!(LinkerPublicKey::parse(&good).is_some());
        let bad = format!("{LINKER_PUBLIC_TAG} {}\n", "ff".repeat(32));
        assert!(LinkerPublicKey::parse(&bad).is_none());
        // The identity would make every ciphertext plain text.
        let identity = format!("{LINKER_PUBLIC_TAG} {}\n", "00".repeat(32));
        assert!(LinkerPublicKey::parse(&identity).is_none());
        let kh = KeyHolderKey::from_bytes([3; 32]).public().to_line();
        assert!(KeyHolderPublicKey::parse(&kh).is_some());
        let line = kh.trim();
        let zeroed = format!("{} {}\n", &line[..line.len() - 65], "00".repeat(32));
        assert!(KeyHolderPublicKey::parse(&zeroed).is_none());
        let kh = KeyHolderKey::from_bytes([3; 32]).public().to_line();
        assert!(KeyHolderPublicKey::parse(&kh).is_some());
        let zeroed = format!(
            "{} {}\n",
            &kh.trim()[..kh.trim().len() - 64],
            "00".repeat(32)
        );
        assert!(KeyHolderPublicKey::parse(&zeroed).is_none());
        assert!(LinkerPublicKey::parse("reglink-linker-public-key-v1 00").is_none());
    }
}
