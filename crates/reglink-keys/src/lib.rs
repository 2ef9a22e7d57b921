//! Key files, and the data holder's release-signing key.
//!
//! - [`secret`]: writing and reading a secret key file. A new file gets mode
//!   0600 (its folder 0700) and is never written over; a file that group or
//!   others can access is refused, and so is one of the wrong length. The
//!   master key of pseudonymisation and the signing key both go through it.
//! - [`signing`]: an ed25519 key pair (RFC 8032) with which the data holder
//!   signs a release's manifest, its public key file for auditors, a short
//!   fingerprint to compare by phone or letter, and the signature file.
//!
//! Nothing here prints or formats a secret: `Debug` of a key shows its
//! fingerprint only, and the bytes are wiped on drop.

pub mod hex;
pub mod secret;
pub mod signing;

use std::path::PathBuf;

/// What can go wrong with a key file. Messages name the file, never its
/// contents.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// A new key would overwrite a file.
    #[error("{path}: already exists; refusing to overwrite an existing file")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The file could not be read or written.
    #[error("{path}: cannot access key file: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A secret key file that group or others can access.
    #[error(
        "{path}: key file is accessible by group or others (mode {mode:03o}); refusing to use it"
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A secret key file of the wrong length (another kind of key, or not a key).
    #[error("{path}: key file is {len} bytes; a reglink {what} is exactly {expected} bytes")]
    Length {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: u64,
        /// What was expected (`key`, `signing key`).
        what: &'static str,
        /// The length that kind of key file has.
        expected: usize,
    },
    /// A file of the right length that is not the kind of key expected.
    #[error("{path}: not a reglink {what}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What was expected (`signing key`, `public signing key`, `signature`).
        what: &'static str,
    },
    /// The operating system's random source failed.
    #[error("cannot get random bytes for a new key: {0}")]
    Random(String),
}

impl reglink_extract::Hinted for KeyFileError {
    fn hint(&self) -> Option<reglink_extract::Hint> {
        use reglink_extract::Hint;
        let text = match self {
            KeyFileError::Permissions { path, .. } => {
                return Some(Hint::new(format!("run `chmod 600 {}`", path.display())));
            }
            KeyFileError::Exists { .. } => {
                "pick another path for the new key; if the file is an old key, delete it deliberately"
            }
            KeyFileError::Length { .. } | KeyFileError::Format { .. } => {
                "is it the right kind of key? `reglink key id FILE` tells a master key, a signing key and a public key apart"
            }
            KeyFileError::Io { .. } | KeyFileError::Random(_) => return None,
        };
        Some(Hint::fixed(text))
    }
}
