//! Disclosure control of cell tables.
//!
//! This crate sees only aggregated cells ([`reglink_tabulate::CellTable`]):
//! counts, sums, the largest contributions and medians. It never sees a
//! pseudonym or a row.
//!
//! ```text
//!  policy.toml ──► Policy ─┐
//!  CellTable ──────────────┴─► rules::primary ──► PrimaryFlags (per cell and value: published or which rule)
//!                                   │
//!                                   ▼
//!                    protect: secondary suppression / rounding / cell key
//!                                   │
//!                                   ▼  Release (values, and flags that keep their reasons)
//!                    ┌──────────────┴──────────────┐
//!        bundle::write (public flags only)   checker_report (reasons, cell by cell)
//!        the release bundle                  kept by the data holder, never published
//! ```
//!
//! A released table marks a hidden value only as `suppressed`
//! ([`PublicFlag`]); the reason ([`Flag`]) would give the value away, so it
//! goes to the output checkers' report only.
//!
//! ```
//! let policy = reglink_protect::Policy::parse("policy.toml", "preset = \"acro\"\nthreshold = 5\n").unwrap();
//! assert_eq!(policy.threshold, 5);
//! assert!(reglink_protect::rules::threshold::breaks(4, policy.threshold));
//! ```
#![deny(missing_docs)]

pub mod perturb;
mod policy;
pub mod release;
pub mod rules;
pub mod secondary;

pub use policy::{Dominance, Method, Policy};
pub use release::{Release, ReleasedTable, protect};
pub use rules::{Flag, PrimaryFlags, PublicFlag, primary};

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
