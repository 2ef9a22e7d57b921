//! Disclosure control of cell tables.
//!
//! This crate sees only aggregated cells ([`reglink_tabulate::CellTable`]):
//! counts, sums, the largest contributions and medians. It never sees a
//! pseudonym or a row.
//!
//! ```text
//!  policy.toml ──► Policy ─┐
//!  CellTable ──────────────┴─► rules::primary ──► PrimaryFlags (per cell and measure: published or which rule)
//! ```
//!
//! So far: the policy file with its presets, and the primary rules (threshold,
//! zeros, class disclosure, (n, k) dominance, p%, minimum contributors for
//! medians), each in its own module with its specification. Secondary
//! suppression, rounding, the cell key method and the release bundle are the
//! rest of issue #4.
//!
//! ```
//! let policy = reglink_protect::Policy::parse("policy.toml", "preset = \"acro\"\nthreshold = 5\n").unwrap();
//! assert_eq!(policy.threshold, 5);
//! assert!(reglink_protect::rules::threshold::breaks(4, policy.threshold));
//! ```
#![deny(missing_docs)]

pub mod bundle;
pub mod perturb;
mod policy;
pub mod release;
pub mod rules;
pub mod secondary;

pub use policy::{Dominance, Method, Policy};
pub use release::{Release, ReleasedTable, protect};
pub use rules::{Flag, PrimaryFlags, primary};

/// Errors of policy files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtectError {
    /// The policy is not valid TOML, or has an unknown key or a key of the wrong type.
    #[error("{origin}: {message}")]
    PolicySyntax {
        /// The policy file.
        origin: String,
        /// The parser's message, which names the line.
        message: String,
    },
    /// A parameter is impossible.
    #[error("{origin}:{line}: {message}")]
    Policy {
        /// The policy file.
        origin: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Writing or reading a bundle file failed.
    #[error("{path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}
