//! Every BLAKE3 key-derivation context and keyed-hash call in reglink.
//!
//! Keeping them in one module makes the key hierarchy auditable at a glance:
//!
//! ```text
//! master key (256 random bits, key file, mode 0600)
//!   ├── key id        = derive_key(KEY_ID_CONTEXT, master)[..8]              (printable fingerprint)
//!   └── study key     = derive_key(STUDY_KEY_CONTEXT, master ‖ len ‖ study)   (one per study name)
//!         └── keyed_hash(study key, normalised 12-digit number) → 32 bytes
//!               ├── bytes  0..16 : pseudonym  (128 bits)
//!               └── bytes 16..20 : record key (cell key method)
//! ```
//!
//! The context strings are fixed forever: changing one changes every pseudonym.
#![allow(clippy::disallowed_methods)] // this module is the one sanctioned home of keyed BLAKE3

/// Context for the printable key id.
pub const KEY_ID_CONTEXT: &str = "reglink 2026-11-23 master key id v1";
/// Context for deriving a per-study key from the master key and the study name.
pub const STUDY_KEY_CONTEXT: &str = "reglink 2026-11-23 study pseudonymisation key v1";

/// The first 8 bytes of the key-id derivation.
pub(crate) fn key_id(master: &[u8; 32]) -> [u8; 8] {
    let full = blake3::derive_key(KEY_ID_CONTEXT, master);
    let mut id = [0u8; 8];
    id.copy_from_slice(&full[..8]);
    id
}

/// Derives the study key. The study name is length-prefixed so that no two
/// (master, study) pairs share key material.
pub(crate) fn study_key(master: &[u8; 32], study: &str) -> [u8; 32] {
    let mut material = Vec::with_capacity(32 + 8 + study.len());
    material.extend_from_slice(master);
    material.extend_from_slice(&(study.len() as u64).to_le_bytes());
    material.extend_from_slice(study.as_bytes());
    let key = blake3::derive_key(STUDY_KEY_CONTEXT, &material);
    zeroize::Zeroize::zeroize(&mut material);
    key
}

/// The keyed hash of one normalised identifier.
#[inline]
pub(crate) fn identifier_hash(study_key: &[u8; 32], normalised: &[u8; 12]) -> [u8; 32] {
    *blake3::keyed_hash(study_key, normalised).as_bytes()
}
