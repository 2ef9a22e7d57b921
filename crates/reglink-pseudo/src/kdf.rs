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
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // this module is the one sanctioned home of keyed BLAKE3

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

// ---------------------------------------------------------------------------
// Three-party pseudonymisation (`crate::transcrypt`).
//
// ```text
// personnummer ── to_group (public, unkeyed: never written unencrypted) ──► P
// key holder's role key ── derive_key(KEYHOLDER_STUDY_CONTEXT, key ‖ len ‖ study ‖ len ‖ linker) ──► k (scalar)
// key holder's role key ── derive_key(KEYHOLDER_ELGAMAL_CONTEXT, key) ──► x (scalar), X = x·G
// key holder's role key ── derive_key(KEYHOLDER_SIGNING_CONTEXT, key) ──► ed25519 seed
// linker's role key ── derive_key(LINKER_ELGAMAL_CONTEXT, key) ──► y (scalar), Y = y·G
// linker's role key ── derive_key(LINKER_STUDY_CONTEXT, key ‖ len ‖ study) ──► h (hash key)
//   sources encrypt to X + Y; pseudonym ‖ record key = keyed_hash(h, compressed k·P)[..20]
// ```

/// Context for the map from a personnummer to a ristretto255 point.
pub const TO_GROUP_CONTEXT: &str = "reglink 2026-12-06 personnummer to ristretto255 v1";
/// Context for the key holder's per-study rekeying scalar.
pub const KEYHOLDER_STUDY_CONTEXT: &str = "reglink 2026-12-06 key holder study scalar v1";
/// Context for the key holder's ElGamal secret (its share of the key sources encrypt to).
pub const KEYHOLDER_ELGAMAL_CONTEXT: &str = "reglink 2026-12-06 key holder elgamal secret v1";
/// Context for the key holder's batch-signing key.
pub const KEYHOLDER_SIGNING_CONTEXT: &str = "reglink 2026-12-06 key holder signing seed v1";
/// Context for the linker's ElGamal secret.
pub const LINKER_ELGAMAL_CONTEXT: &str = "reglink 2026-12-06 linker elgamal secret v1";
/// Context for the linker's per-study hash key.
pub const LINKER_STUDY_CONTEXT: &str = "reglink 2026-12-06 linker study hash key v1";
/// Context for the encryption randomness of one batch.
pub const NONCE_CONTEXT: &str = "reglink 2026-12-06 elgamal randomness v1";

/// 64 uniform bytes for a person's point: an *unkeyed* hash, on purpose. The
/// point only ever leaves the source's memory encrypted under the linker's
/// key; anyone can compute it for any number, which is why it is never
/// written in the clear (`crate::transcrypt` module docs).
pub(crate) fn to_group(normalised: &[u8; 12]) -> [u8; 64] {
    let mut out = [0u8; 64];
    let mut h = blake3::Hasher::new_derive_key(TO_GROUP_CONTEXT);
    h.update(normalised);
    h.finalize_xof().fill(&mut out);
    out
}

/// 64 bytes derived from a role key and names (each length-prefixed: a
/// study name, a fingerprint), reduced to a scalar by the caller.
pub(crate) fn wide(context: &str, key: &[u8; 32], names: &[&str]) -> [u8; 64] {
    let mut h = blake3::Hasher::new_derive_key(context);
    h.update(key);
    for name in names {
        h.update(&(name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
    }
    let mut out = [0u8; 64];
    h.finalize_xof().fill(&mut out);
    out
}

/// 32 bytes derived from a role key and names, as [`wide`].
pub(crate) fn narrow(context: &str, key: &[u8; 32], names: &[&str]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&wide(context, key, names)[..32]);
    out
}

/// The `i`-th 64 bytes of a random stream seeded by `seed` (fresh from the
/// operating system per batch): the ElGamal randomness of one person.
pub(crate) fn nonce(seed: &[u8; 32], i: u64) -> [u8; 64] {
    let mut h = blake3::Hasher::new_keyed(&narrow(NONCE_CONTEXT, seed, &[]));
    h.update(&i.to_le_bytes());
    let mut out = [0u8; 64];
    h.finalize_xof().fill(&mut out);
    out
}

/// The linker's final keyed hash of a rekeyed point (32 compressed bytes).
pub(crate) fn point_hash(hash_key: &[u8; 32], compressed: &[u8; 32]) -> [u8; 32] {
    *blake3::keyed_hash(hash_key, compressed).as_bytes()
}
