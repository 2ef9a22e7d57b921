//! Measurements behind the numbers quoted in `benches/README.md` and
//! `SECURITY.md`.
//!
//! - [`baseline`]: raw keyed BLAKE3 over normalised ids, the ceiling the
//!   `pseudonymise` pipeline is measured against.
//! - [`enumeration`]: the attack that makes an unkeyed or publicly salted
//!   hash of a personnummer worthless, run for real.
//!
//! The `reglink-bench` binary exposes both to `compare.py`; the criterion
//! harness in `benches/pseudonymise.rs` measures the pieces of the pipeline.

pub mod baseline;
pub mod enumeration;
