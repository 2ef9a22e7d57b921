//! The release-signing key: ed25519 (RFC 8032) through `ed25519-dalek`.
//!
//! Files:
//! - the private key: `reglink-ed25519-signing-key-v1\n` then the 32-byte
//!   seed, 63 bytes, mode 0600 ([`crate::secret`]). Its length differs from
//!   a master key's (32 bytes), so neither is taken for the other.
//! - the public key, for auditors: one line,
//!   `reglink-ed25519-public-key-v1 <64 hex digits>`.
//! - a signature: three lines, `reglink-ed25519-signature-v1`,
//!   `signer <fingerprint>`, `signature <128 hex digits>`.
//!
//! What is signed is `reglink release manifest v1\n` followed by the
//! manifest's bytes, so that a signature over a manifest can never pass as
//! a signature over anything else.

use std::path::Path;

use ed25519_dalek::{Signer, SigningKey as Secret, VerifyingKey};

use crate::hex::{decode as unhex, encode as hex};
use crate::{KeyFileError, secret};

const SECRET_MAGIC: &[u8] = b"reglink-ed25519-signing-key-v1\n";
const SECRET_LEN: usize = SECRET_MAGIC.len() + 32;

/// The length of a private signing key file, in bytes.
pub const PRIVATE_FILE_LEN: u64 = SECRET_LEN as u64;

/// The length of a public key file as reglink writes it, in bytes: the tag,
/// a space, 64 hex digits and a newline.
pub const PUBLIC_FILE_LEN: u64 = (PUBLIC_TAG.len() + 1 + 64 + 1) as u64;
const PUBLIC_TAG: &str = "reglink-ed25519-public-key-v1";
use reglink_extract::SIGNATURE_TAG;
const CONTEXT: &[u8] = b"reglink release manifest v1\n";

/// A fingerprint of a public signing key, `rs-` and 32 hex digits (128 bits,
/// so that making another key with the same fingerprint is out of reach):
/// safe to print, and what an auditor compares with the one the data holder
/// handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 16]);

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("rs-")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The data holder's private signing key. `Debug` shows its fingerprint;
/// the key is wiped on drop.
pub struct SigningKey(Secret);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public().fingerprint())
    }
}

/// A public signing key, as auditors hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

/// A signature over a manifest, with the fingerprint of the key that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Who signed, as the signature file says (checked by [`PublicKey::verify`]).
    pub signer: String,
    bytes: [u8; 64],
}

impl SigningKey {
    /// A new key from the operating system's secure random source.
    pub fn generate() -> Result<SigningKey, KeyFileError> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(|e| KeyFileError::Random(e.to_string()))?;
        Ok(SigningKey(Secret::from_bytes(&seed)))
    }

    /// A key from a seed: for this crate's tests, and for keys derived from
    /// another secret (the three-party key holder signs its batches with a
    /// key derived from its role key). Real keys come from
    /// [`SigningKey::generate`] and key files.
    pub fn from_seed(seed: [u8; 32]) -> SigningKey {
        let seed = zeroize::Zeroizing::new(seed);
        SigningKey(Secret::from_bytes(&seed))
    }

    /// Signs `context ‖ message`. Each kind of signed document has its own
    /// context, so a signature over one can never pass as one over another:
    /// a context is one line ending in `\n` (so no context is a prefix of
    /// another), and never the release manifest's, which only
    /// [`SigningKey::sign_manifest`] signs.
    pub fn sign_with_context(&self, context: &[u8], message: &[u8]) -> [u8; 64] {
        assert!(
            context.ends_with(b"\n")
                && context.iter().filter(|&&b| b == b'\n').count() == 1
                && context != CONTEXT,
            "a signing context is one line of its own"
        );
        let mut m = Vec::with_capacity(context.len() + message.len());
        m.extend_from_slice(context);
        m.extend_from_slice(message);
        self.0.sign(&m).to_bytes()
    }

    /// Its public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Writes the private key to a new file (mode 0600) and the public key
    /// to `public` (a new file too). Refuses to overwrite either.
    pub fn write_new_files(&self, private: &Path, public: &Path) -> Result<(), KeyFileError> {
        if public.exists() {
            return Err(KeyFileError::Exists {
                path: public.to_path_buf(),
            });
        }
        let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(SECRET_LEN));
        bytes.extend_from_slice(SECRET_MAGIC);
        bytes.extend_from_slice(self.0.as_bytes());
        secret::write_new(private, &bytes)?;
        secret::write_new_public(public, self.public().to_line().as_bytes()).inspect_err(|_| {
            let _ = std::fs::remove_file(private);
        })
    }

    /// Loads a private key file, refusing one that group or others can
    /// access or that is not a reglink signing key.
    pub fn load(path: &Path) -> Result<SigningKey, KeyFileError> {
        let bytes = secret::read(path, SECRET_LEN, "signing key")?;
        let (magic, seed) = bytes.split_at(SECRET_MAGIC.len());
        if magic != SECRET_MAGIC {
            return Err(KeyFileError::Format {
                path: path.to_path_buf(),
                what: "signing key",
            });
        }
        let mut s = zeroize::Zeroizing::new([0u8; 32]);
        s.copy_from_slice(seed);
        Ok(SigningKey(Secret::from_bytes(&s)))
    }

    /// Signs a manifest.
    pub fn sign_manifest(&self, manifest: &[u8]) -> Signature {
        let mut message = Vec::with_capacity(CONTEXT.len() + manifest.len());
        message.extend_from_slice(CONTEXT);
        message.extend_from_slice(manifest);
        Signature {
            signer: self.public().fingerprint().to_string(),
            bytes: self.0.sign(&message).to_bytes(),
        }
    }
}

impl PublicKey {
    /// The fingerprint: the first 32 hex digits of the BLAKE3 hash of the
    /// public key file as reglink writes it ([`PublicKey::to_line`]), so
    /// `b3sum` of that file shows it too.
    pub fn fingerprint(&self) -> Fingerprint {
        let hash = reglink_extract::fingerprint_bytes(self.to_line().as_bytes());
        let hex = hash.as_str().trim_start_matches("blake3:");
        Fingerprint(unhex(&hex[..32]).expect("hex digits"))
    }

    /// The public key file's one line.
    pub fn to_line(&self) -> String {
        format!("{PUBLIC_TAG} {}\n", self.to_hex())
    }

    /// The key's 32 bytes as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex(self.0.as_bytes())
    }

    /// A key from [`PublicKey::to_hex`]'s digits; `None` if they are not one.
    pub fn from_hex(digits: &str) -> Option<PublicKey> {
        VerifyingKey::from_bytes(&unhex(digits)?)
            .ok()
            .map(PublicKey)
    }

    /// Reads a public key file.
    pub fn load(path: &Path) -> Result<PublicKey, KeyFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        PublicKey::from_line(&text).ok_or_else(|| KeyFileError::Format {
            path: path.to_path_buf(),
            what: "public signing key",
        })
    }

    /// Parses the one line of a public key file ([`PublicKey::to_line`]).
    pub fn from_line(text: &str) -> Option<PublicKey> {
        PublicKey::from_hex(text.trim().strip_prefix(PUBLIC_TAG)?.trim())
    }

    /// Whether `signature` is this key's signature over `manifest`, and
    /// names this key as its signer.
    pub fn verify(&self, manifest: &[u8], signature: &Signature) -> bool {
        if signature.signer != self.fingerprint().to_string() {
            return false;
        }
        let mut message = Vec::with_capacity(CONTEXT.len() + manifest.len());
        message.extend_from_slice(CONTEXT);
        message.extend_from_slice(manifest);
        let sig = ed25519_dalek::Signature::from_bytes(&signature.bytes);
        self.0.verify_strict(&message, &sig).is_ok()
    }
}

impl PublicKey {
    /// Whether `signature` is this key's signature over `context ‖ message`
    /// ([`SigningKey::sign_with_context`]).
    pub fn verify_with_context(
        &self,
        context: &[u8],
        message: &[u8],
        signature: &[u8; 64],
    ) -> bool {
        let mut m = Vec::with_capacity(context.len() + message.len());
        m.extend_from_slice(context);
        m.extend_from_slice(message);
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        self.0.verify_strict(&m, &sig).is_ok()
    }
}

impl Signature {
    /// The signature file's text.
    pub fn to_text(&self) -> String {
        format!(
            "{SIGNATURE_TAG}\nsigner {}\nsignature {}\n",
            self.signer,
            hex(&self.bytes)
        )
    }

    /// Parses a signature file's text; `None` if it is not one.
    pub fn parse(text: &str) -> Option<Signature> {
        let mut lines = text.lines();
        if lines.next()? != SIGNATURE_TAG {
            return None;
        }
        let signer = lines.next()?.strip_prefix("signer ")?.to_string();
        let bytes = unhex(lines.next()?.strip_prefix("signature ")?)?;
        if lines.next().is_some() || !signer.starts_with("rs-") || signer.len() != 35 {
            return None;
        }
        Some(Signature { signer, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_checks_with_its_key_only_and_over_its_manifest_only() {
        let a = SigningKey::from_seed([1; 32]);
        let b = SigningKey::from_seed([2; 32]);
        let sig = a.sign_manifest(b"{\"files\": []}\n");
        let back = Signature::parse(&sig.to_text()).unwrap();
        assert_eq!(back, sig);
        assert!(a.public().verify(b"{\"files\": []}\n", &back));
        assert!(!a.public().verify(b"{\"files\": [1]}\n", &back));
        assert!(!b.public().verify(b"{\"files\": []}\n", &back));
        // B's signature relabelled as A's does not pass either.
        let mut forged = b.sign_manifest(b"{\"files\": []}\n");
        forged.signer = a.public().fingerprint().to_string();
        assert!(!a.public().verify(b"{\"files\": []}\n", &forged));
    }

    #[test]
    fn key_files_round_trip_and_are_not_taken_for_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = (dir.path().join("s.key"), dir.path().join("s.pub"));
        let key = SigningKey::generate().unwrap();
        key.write_new_files(&private, &public).unwrap();
        let loaded = SigningKey::load(&private).unwrap();
        assert_eq!(loaded.public(), key.public());
        assert_eq!(PublicKey::load(&public).unwrap(), key.public());
        assert_eq!(std::fs::metadata(&public).unwrap().len(), PUBLIC_FILE_LEN);
        assert_eq!(std::fs::metadata(&private).unwrap().len(), PRIVATE_FILE_LEN);
        // The fingerprint is the start of the public key file's BLAKE3 hash.
        let file_hash = reglink_extract::fingerprint_file(&public).unwrap();
        let fp = key.public().fingerprint().to_string();
        assert!(
            file_hash
                .as_str()
                .starts_with(&format!("blake3:{}", &fp[3..]))
        );
        assert!(matches!(
            key.write_new_files(&dir.path().join("t.key"), &public),
            Err(KeyFileError::Exists { .. })
        ));
        // A master key (32 random bytes) is not a signing key, and a
        // signing key's public file is not a private key.
        let master = dir.path().join("master.key");
        crate::secret::write_new(&master, &[7; 32]).unwrap();
        assert!(matches!(
            SigningKey::load(&master),
            Err(KeyFileError::Length { .. })
        ));
        assert!(PublicKey::load(&master).is_err());
        assert!(SigningKey::load(&public).is_err());
    }

    #[test]
    fn debug_and_fingerprints_show_no_key_bytes() {
        let key = SigningKey::from_seed([0xab; 32]);
        let dbg = format!("{key:?}");
        assert!(!dbg.contains("abab"), "{dbg}");
        let fp = key.public().fingerprint().to_string();
        assert!(fp.starts_with("rs-") && fp.len() == 35, "{fp}");
        assert_eq!(dbg, format!("SigningKey({fp})"));
    }

    #[test]
    fn malformed_signatures_are_not_parsed() {
        let sig = SigningKey::from_seed([3; 32]).sign_manifest(b"m").to_text();
        assert!(Signature::parse(&sig.replace("signer rs-", "signer xx-")).is_none());
        assert!(Signature::parse(&sig[..sig.len() - 3]).is_none());
        assert!(Signature::parse(&format!("{sig}extra\n")).is_none());
        assert!(Signature::parse("").is_none());
    }
}
