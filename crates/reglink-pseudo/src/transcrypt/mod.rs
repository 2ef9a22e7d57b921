//! Three-party pseudonymisation: no party holds a key that maps a
//! personnummer to the study's pseudonyms.
//!
//! With one master key, every agency that pseudonymises an extract can
//! compute the pseudonym of any personnummer, and so re-identify every other
//! agency's pseudonymised rows. Here the work is split between three roles
//! that exchange files:
//!
//! 1. A **source** (each data holder) runs [`source::encrypt`]: the rows of
//!    its extract, with a throw-away token in place of the number, go to the
//!    linker; one ElGamal ciphertext per distinct person, encrypted to the
//!    linker's public key and signed with the source's signing key, goes to
//!    the key holder. The source holds no secret that leads to a pseudonym.
//! 2. The **key holder** (a third agency) runs [`keyholder::transcrypt`]:
//!    it checks that the batch comes from a source it knows, for a study it
//!    knows, within that source's quota, logs it in a hash-chained log, and
//!    multiplies every ciphertext by the study's secret scalar `k` and
//!    rerandomises it. It sees ciphertexts only: no number, no attribute, no
//!    pseudonym.
//! 3. The **linker** runs [`linker::open`]: it decrypts each person to
//!    `k·P` and hashes that under its own study hash key into the pseudonym
//!    and record key, and writes pseudonymised Parquet that `reglink link`
//!    reads as it reads any.
//!
//! What each holds, sees and could do is in SECURITY.md; the wire format
//! and every computation, precisely enough to reimplement, in
//! docs/three-party.md. The group is ristretto255 through `curve25519-dalek`
//! (`group.rs` is the only code that touches it).

pub mod batch;
mod group;
pub mod keyholder;
pub mod keys;
pub mod linker;
pub mod source;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use reglink_extract::{Hint, Hinted};

pub use keys::{KeyHolderKey, KeyHolderPublicKey, LinkerKey, LinkerPublicKey};

/// What can go wrong in the three-party steps. Messages name files, studies,
/// sources and fingerprints, never a number, a key or a pseudonym.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TranscryptError {
    /// The rows went wrong as in `pseudonymise`.
    #[error(transparent)]
    Pseudo(#[from] crate::PseudoError),
    /// A key file.
    #[error(transparent)]
    KeyFile(#[from] reglink_keys::KeyFileError),
    /// Reading or writing a file.
    #[error(transparent)]
    Extract(#[from] reglink_extract::ExtractError),
    /// An output that may not be written.
    #[error(transparent)]
    Output(#[from] reglink_extract::OutputError),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file that is not a well-formed batch.
    #[error("{path}: {problem}")]
    Batch {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A batch refused: nothing was written.
    #[error("{path}: refused: {reason}")]
    Refused {
        /// The batch.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The rows file does not go with the batch.
    #[error("{path}: {problem}")]
    Mismatch {
        /// The rows file.
        path: PathBuf,
        /// What does not match.
        problem: String,
    },
    /// The key holder's configuration.
    #[error("{path}: {message}")]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong (TOML errors name the line).
        message: String,
    },
    /// The key holder's log is not an unbroken chain.
    #[error("{path}: line {line}: {problem}")]
    Log {
        /// The log.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// Arguments that do not fit together.
    #[error("{0}")]
    Usage(String),
    /// The operating system's random source failed.
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(String),
}

impl Hinted for TranscryptError {
    fn hint(&self) -> Option<Hint> {
        match self {
            TranscryptError::Pseudo(e) => e.hint(),
            TranscryptError::KeyFile(e) => e.hint(),
            TranscryptError::Extract(e) => e.hint(),
            TranscryptError::Refused { .. } => Some(Hint::fixed(
                "nothing was written and the log is unchanged; the key holder's configuration names each study's linker, sources and quotas",
            )),
            TranscryptError::Log { .. } => Some(Hint::fixed(
                "the log must never be edited; restore it from a backup and compare with the signed outputs, which name their entries",
            )),
            TranscryptError::Mismatch { .. } => Some(Hint::fixed(
                "give the rows file and the key holder's output made from the same `reglink source encrypt` run",
            )),
            _ => None,
        }
    }
}

pub(crate) use reglink_keys::hex::{decode as unhex, encode as hex};

/// The hex digits of the BLAKE3 hash of public text (a public key's line).
pub(crate) fn fingerprint_text(text: &str) -> String {
    let fingerprint = reglink_extract::fingerprint_bytes(text.as_bytes());
    fingerprint
        .as_str()
        .trim_start_matches("blake3:")
        .to_string()
}

/// The time now, UTC, to the second (`2026-12-06T12:00:00Z`).
pub(crate) fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
