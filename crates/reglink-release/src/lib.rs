//! The reglink pipeline from a study file to a release, one entry per stage.
//!
//! Every crate before this one does one step and writes nothing it is not
//! asked to; this crate strings them together the way the `reglink` binary
//! runs them, checks every output folder before any work, and writes what
//! leaves the linkage environment:
//!
//! ```text
//!  study.toml ──► Study::load (reglink-link)
//!                    │
//!                    ▼   link::link_and_tabulate
//!  pseudonymised ──► reglink_link::link ──► Linked (frame in memory, linkage report)
//!  Parquet              │
//!                       ▼   link::tabulate
//!                  CellTable per table (reglink-tabulate)
//!                       │
//!        ┌──────────────┴───────────────────────┐
//!        ▼  link::link (`reglink link`)         ▼  run::run / run::release (`reglink run`)
//!  OUT/cells/, linkage-report.json,       policy ──► reglink_protect::protect ──► Release
//!  link.json                                             │
//!                                         ┌──────────────┴──────────────┐
//!                                         ▼                             ▼
//!                                   bundle::write                 checker::write
//!                                   OUT/ (public flags only)      OUT.checker/ (reasons per cell,
//!                                         │                       τ-ARGUS sets; never published)
//!                                         ▼
//!                                   bundle::verify (`reglink verify`, for auditors)
//! ```
//!
//! - [`link()`] and [`run()`] are `reglink link` and `reglink run` without
//!   the printing: they return what they wrote ([`LinkOutcome`],
//!   [`RunOutcome`]) and report progress to a [`reglink_link::Progress`]
//!   (for `run`, an [`Observer`], which also hears when linking and
//!   protecting end).
//! - [`load_policy`] reads `--policy`, a policy file or a preset's name.
//! - [`bundle`] writes and verifies the release bundle; [`checker`] writes
//!   the checker report, the only place a suppressed cell's reason is kept,
//!   and in it [`tauargus`]'s input sets, which give the auditors the true
//!   cells and the pattern in τ-ARGUS's format.
//! - [`ledger`] keeps what every release published (an append-only,
//!   hash-chained folder of bundle copies) for the checks of later releases.
//! - [`bundle::Auditor`] is the hook through which `reglink run` audits the
//!   staged bundle before publishing it; the audit itself is
//!   `reglink-audit`'s, which shares no code with the engine.
//! - Every failure is a [`ReleaseError`]; the errors of the stages it calls
//!   pass through with their message and causes unchanged.
//!
//! ```no_run
//! use std::path::Path;
//!
//! let outcome = reglink_release::run(
//!     &reglink_release::RunOptions {
//!         study: Path::new("study.toml"),
//!         policy: "acro",
//!         out: Path::new("release"),
//!         sign: None,
//!         auditor: None,
//!         ledger: None,
//!         memory: &Default::default(),
//!         engine: None,
//!     },
//!     &reglink_link::NoProgress,
//! )?;
//! println!("{} tables released into {}", outcome.release.tables.len(), outcome.out.display());
//! # Ok::<(), reglink_release::ReleaseError>(())
//! ```
#![deny(missing_docs)]
// Errors end a run and carry the paths they are about; their size on the
// error path does not matter.
#![allow(clippy::result_large_err)]

pub mod bundle;
pub mod checker;
mod error;
pub mod export;
pub mod ledger;
pub mod link;
mod policy;
mod published;
pub mod report;
pub mod run;
pub mod tauargus;

pub use error::{FileError, ReleaseError};
pub use link::{
    Engine, LinkOutcome, Tabulated, link, link_and_tabulate, link_and_tabulate_on, link_part,
    study_inputs, tabulate, tabulate_parts,
};
pub use policy::{load_policy, parse_r_ptable, policy_file};
pub use run::{ReleaseDirs, RunOptions, RunOutcome, checker_dir, provenance, release, run};

/// What [`run()`] tells its caller while it works: the stages of linking
/// and tabulating through [`reglink_link::Progress`], and the points
/// between the stages, where a caller may print what it has learnt.
pub trait Observer: reglink_link::Progress {
    /// Linking and tabulating are done; disclosure control comes next.
    fn linked(&self, _linked: &reglink_link::Linkage) {}
    /// Disclosure control begins (one step, with nothing to count).
    fn protecting(&self) {}
    /// Disclosure control is done; the bundle is written next.
    fn protected(&self) {}
}

/// Nothing to observe: for tests and benchmarks.
impl Observer for reglink_link::NoProgress {}
