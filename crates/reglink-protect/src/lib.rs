//! Disclosure control of cell tables: cells in, flags out.
//!
//! This crate sees only aggregated cells ([`reglink_tabulate::CellTable`]):
//! counts, sums, the largest contributions and medians. It never sees a
//! pseudonym or a row, and it reads and writes no file: a policy comes in
//! as text ([`Policy::parse`]) or by name ([`Policy::preset`]), and a
//! [`Release`] goes out as values and flags in memory.
//!
//! ```text
//!  policy text ─► Policy ──┐
//!  CellTable ──────────────┴─► rules::primary ──► PrimaryFlags (per cell and value: published or which rule)
//!                                   │
//!                                   ▼
//!                    protect: secondary suppression (hypercubes, checked with the
//!                             attacker's LP) / random rounding / cell key
//!                                   │
//!                                   ▼
//!                    Release: per table and column, values (rounded to their
//!                    published decimals) and flags that keep their reasons
//! ```
//!
//! What is written from a [`Release`] is `reglink-release`'s business: a
//! released table marks a hidden value only as `suppressed` ([`PublicFlag`]);
//! the reason ([`Flag`]) would give the value away, so it goes to the output
//! checkers' report only.
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

pub use policy::{Cost, CostModel, Dominance, Method, Policy, Unrelated};
pub use release::{Release, ReleasedTable, protect, protect_carrying, protect_observed};

/// What disclosure control tells its caller while it works, counted in
/// primary-suppressed cells: each is protected once (its programs or
/// hypercube) and audited once. It is called from several threads.
pub trait Progress: Sync {
    /// Work begins: `total` steps.
    fn start(&self, _total: u64) {}
    /// `steps` more are done.
    fn advance(&self, _steps: u64) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy)]
pub struct Unobserved;

impl Progress for Unobserved {}
pub use rules::{Flag, PrimaryFlags, PublicFlag, primary};

/// Errors of policy files: the only thing this crate can fail at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtectError {
    /// The policy is not valid TOML, or has an unknown key or a key of the wrong type.
    #[error("{origin}: {message}")]
    PolicySyntax {
        /// The policy file.
        origin: String,
        /// The parser's message, which names the line, with anything that
        /// could be a personnummer withheld. The parser's error itself is
        /// not kept as a source: its text quotes the file.
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
}
