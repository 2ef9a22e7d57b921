//! Batch files: what a source hands the key holder, and what the key holder
//! hands the linker.
//!
//! ```text
//! reglink-transcrypt-batch-v1\n
//! <header: one line of JSON>\n
//! <persons × 64 bytes: ciphertexts, two compressed ristretto255 points each>
//! <64 bytes: ed25519 signature over SIGNATURE_CONTEXT ‖ everything above>
//! ```
//!
//! A batch holds no personnummer, no pseudonym, no attribute and no row
//! number: one ciphertext per distinct person, in an order that says nothing
//! (the order of the source's throw-away tokens, see `source.rs`).

use std::path::{Path, PathBuf};

use reglink_keys::signing::{PublicKey, SigningKey};
use serde::{Deserialize, Serialize};

use super::TranscryptError;
use super::group::CIPHERTEXT_LEN;

const MAGIC: &[u8] = b"reglink-transcrypt-batch-v1\n";
const SIGNATURE_CONTEXT: &[u8] = b"reglink transcrypt batch v1\n";
const MAX_HEADER: usize = 64 * 1024;

/// Who made a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A source's: persons encrypted to the linker, for the key holder.
    Encrypted,
    /// The key holder's: rekeyed for the study, for the linker.
    Transcrypted,
}

/// A batch's header. Everything in it is public to the parties that see the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Who made it.
    pub kind: Kind,
    /// The study.
    pub study: String,
    /// The source's name, as the source calls itself (the key holder checks
    /// it against its configuration).
    pub source: String,
    /// Fingerprint of the key that signed this file.
    pub signer: String,
    /// Fingerprint of the linker's public key the persons are encrypted to.
    pub linker: String,
    /// Fingerprint of the key holder's public key the persons are encrypted to
    /// (its share and the linker's together).
    pub keyholder: String,
    /// BLAKE3 fingerprint of the source's rows file of this batch, which the
    /// linker checks: a rows file and a batch go together only as made.
    pub rows: String,
    /// Random id tying the batch to the source's rows file (32 hex digits).
    pub batch_id: String,
    /// Ciphertexts in the file: distinct persons.
    pub persons: u64,
    /// Transcrypted only: `k·G` of the study, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study_commitment: Option<String>,
    /// Transcrypted only: BLAKE3 fingerprint of the source's batch file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_batch: Option<String>,
    /// Transcrypted only: fingerprint of the source's signing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_signer: Option<String>,
    /// Transcrypted only: the sequence number of the key holder's log entry
    /// for this batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_seq: Option<u64>,
    /// Transcrypted only: the hash of the log entry before it (`genesis` for
    /// the first), so that outputs anchor the log's chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_prev: Option<String>,
}

/// A batch read into memory, its signature not yet checked.
pub struct Batch {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its header.
    pub header: Header,
    /// The whole file.
    bytes: Vec<u8>,
    /// Where the ciphertexts start; the signature is the last 64 bytes.
    body: usize,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("path", &self.path)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl Batch {
    /// Reads and parses a batch file (not yet trusting it).
    pub fn read(path: &Path) -> Result<Batch, TranscryptError> {
        let bad = |problem: &str| TranscryptError::Batch {
            path: path.to_path_buf(),
            problem: problem.to_string(),
        };
        let io = |source| TranscryptError::Io {
            path: path.to_path_buf(),
            source,
        };
        // Before reading: a file larger than the most a batch can hold (2^32
        // persons) is not one, and is not read into memory.
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > (MAGIC.len() + MAX_HEADER + 64) as u64 + ((CIPHERTEXT_LEN as u64) << 32) {
            return Err(bad("larger than any batch"));
        }
        let bytes = std::fs::read(path).map_err(io)?;
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| bad("not a reglink batch file (wrong first line)"))?;
        let end = rest
            .iter()
            .take(MAX_HEADER)
            .position(|&b| b == b'\n')
            .ok_or_else(|| bad("no header line"))?;
        let header: Header =
            serde_json::from_slice(&rest[..end]).map_err(|e| bad(&format!("header: {e}")))?;
        let body = MAGIC.len() + end + 1;
        let expected = usize::try_from(header.persons)
            .ok()
            .and_then(|n| n.checked_mul(CIPHERTEXT_LEN))
            .and_then(|n| n.checked_add(64))
            .ok_or_else(|| bad("header: impossible number of persons"))?;
        if bytes.len() - body != expected {
            return Err(bad(&format!(
                "{} bytes after the header; {} persons need {expected}",
                bytes.len() - body,
                header.persons
            )));
        }
        Ok(Batch {
            path: path.to_path_buf(),
            header,
            bytes,
            body,
        })
    }

    /// The ciphertexts, `persons × 64` bytes.
    pub fn ciphertexts(&self) -> &[u8] {
        &self.bytes[self.body..self.bytes.len() - 64]
    }

    /// Whether `key` signed this batch and the header names it as signer.
    pub fn signed_by(&self, key: &PublicKey) -> bool {
        let (signed, signature) = self.bytes.split_at(self.bytes.len() - 64);
        let signature: &[u8; 64] = signature.try_into().expect("64 bytes");
        self.header.signer == key.fingerprint().to_string()
            && key.verify_with_context(SIGNATURE_CONTEXT, signed, signature)
    }

    /// The `i`-th ciphertext.
    pub(crate) fn ciphertext(&self, i: usize) -> &[u8] {
        let at = self.body + i * CIPHERTEXT_LEN;
        &self.bytes[at..at + CIPHERTEXT_LEN]
    }
}

/// The first bytes of a batch file: its first line and the header. The
/// caller appends `persons × 64` bytes of ciphertexts in place (no copy of
/// them is ever made) and then [`sign`]s.
pub(crate) fn prefix(header: &Header) -> Vec<u8> {
    let json = serde_json::to_vec(header).expect("a header serialises");
    let body = usize::try_from(header.persons).expect("persons fit in memory") * CIPHERTEXT_LEN;
    let mut out = Vec::with_capacity(MAGIC.len() + json.len() + 1 + body + 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&json);
    out.push(b'\n');
    out
}

/// Appends the signature over everything in `bytes`: the batch file is complete.
pub(crate) fn sign(bytes: &mut Vec<u8>, signer: &SigningKey) {
    let sig = signer.sign_with_context(SIGNATURE_CONTEXT, bytes);
    bytes.extend_from_slice(&sig);
}
