//! The example study end to end on synthetic data: what `reglink example`
//! runs, without the printing.
//!
//! reglink has two sides that never meet in a real study. The data holder
//! holds the key and the personnummer and pseudonymises its extracts
//! (`reglink-pseudo`); the linkage environment links, tabulates, protects
//! and releases pseudonymised files and never sees a key (`reglink-link`
//! to `reglink-release`). The example plays both, so this crate is the one
//! place, besides the binary, that depends on both sides; nothing of the
//! linkage environment may depend on it.
//!
//! [`example()`] writes one folder:
//!
//! ```text
//!  data holder's side                    OUT/
//!    reglink_synth::generate ─────────►  raw/             1. the `tiny` registers (CSV), crosswalk, code lists
//!    MasterKey::generate ─────────────►  example.key      2. a new master key (mode 0600)
//!    reglink_pseudo::pseudonymise ────►  pseudonymised/   3. the three extracts, with the crosswalk
//!                 │
//!  linkage environment's side
//!    reglink_release::link ───────────►  study.toml, link/            4. linked and tabulated (`reglink link`)
//!    reglink_release::release ────────►  policy.toml, release/,       5. ACRO's defaults, the bundle and
//!                                          release.checker/               its checker report (`reglink run`)
//!    (finished) ──────────────────────►  example.json     the manifest that lets a later run replace OUT
//! ```
//!
//! The folder is written in place. An earlier example there is set aside
//! (proven unchanged first) and removed only once the new one is finished;
//! if the run fails or is interrupted, the new folder is removed and the
//! earlier one put back. Anything else in the way is refused untouched.
//!
//! - [`ExampleOptions`] says where and with which seed; an
//!   [`ExampleObserver`] hears each [`Step`] as it comes (and, as a
//!   [`reglink_release::Observer`], the stages of linking and protecting),
//!   so the binary can print as it goes; [`ExampleOutcome`] is what was
//!   written.
//! - [`count_persons`] counts distinct persons in the pseudonymised
//!   extracts, for the summary printed after step 3; only counts leave it.
//! - Every failure is an [`ExampleError`]; the errors of the stages it
//!   calls pass through with their message, causes and hint unchanged.
//!
//! ```no_run
//! use std::path::Path;
//!
//! use reglink_example::ExampleOptions;
//! use reglink_synth::Preset;
//!
//! let options = ExampleOptions {
//!     out: Path::new("example"),
//!     seed: 7,
//!     preset: Preset::Tiny,
//!     auditor: None,
//! };
//! let outcome = reglink_example::example(&options, &reglink_link::NoProgress)?;
//! let counts = reglink_example::count_persons(&outcome.pseudonymised)?;
//! println!("persons per extract: {:?}", counts.per_extract);
//! println!("{} tables released into {}", outcome.release.tables.len(), outcome.release_dir.display());
//! # Ok::<(), reglink_example::ExampleError>(())
//! ```
#![deny(missing_docs)]
// Errors end the example and carry the paths they are about; their size on
// the error path does not matter.
#![allow(clippy::result_large_err)]

mod dir;
mod error;
mod persons;

use std::path::{Path, PathBuf};

use reglink_extract::OutputKind;
use reglink_protect::{Policy, Release};
use reglink_pseudo::{Crosswalk, KeyId, MasterKey, PseudonymiseOptions, PseudonymiseReport};
use reglink_release::{LinkOutcome, Observer, ReleaseDirs, study_inputs};
use reglink_synth::{Format, Options, Preset};

use crate::dir::{ExampleDir, create_dir};
pub use crate::error::ExampleError;
pub use crate::persons::{EbOverlap, PersonCounts, count_persons};

/// The study name the example's pseudonyms are keyed to.
pub const STUDY: &str = "example-eb-af-2023";

/// What `reglink example` writes, and the manifest that proves it: a
/// re-run may replace the folder while nothing else is there.
pub const OUTPUT: OutputKind = OutputKind {
    command: "reglink example",
    output: "example folder",
    manifest: "example.json",
};

/// The example study (the tables of docs/background.md) on the synthetic registers.
const EXAMPLE_STUDY: &str = include_str!("../../../fixtures/studies/example/study.toml");

/// The example's disclosure policy (ACRO's defaults).
const EXAMPLE_POLICY: &str = include_str!("../../../fixtures/policies/example.toml");

/// The three raw extracts and the name of their identifier columns.
const EXTRACTS: [(&str, &str); 3] = [
    ("eb", "personnr"),
    ("af", "personnummer"),
    ("lisa", "PersonNr"),
];

/// What [`example`] is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct ExampleOptions<'a> {
    /// The example's folder.
    pub out: &'a Path,
    /// The seed of the synthetic registers.
    pub seed: u64,
    /// The size of the synthetic registers.
    pub preset: Preset,
    /// The audit run on the release before it is published (`reglink
    /// example` passes `reglink-audit`'s); `None` publishes it unaudited.
    pub auditor: Option<&'a dyn reglink_release::bundle::Auditor>,
}

/// The points of the example a caller may want to tell the user about, in
/// the order they come.
#[derive(Debug)]
#[non_exhaustive]
pub enum Step<'a> {
    /// The synthetic registers are about to be generated into `dir`.
    Registers {
        /// Their seed.
        seed: u64,
        /// Their size.
        preset: Preset,
        /// Their folder.
        dir: &'a Path,
    },
    /// The master key has been written to `path`.
    Key {
        /// The key file.
        path: &'a Path,
        /// Its id (never the key).
        id: KeyId,
    },
    /// The extracts are about to be pseudonymised.
    Pseudonymising {
        /// The study name their pseudonyms are keyed to.
        study: &'a str,
        /// Entries of the crosswalk applied to them.
        crosswalk_entries: usize,
    },
    /// One extract is about to be pseudonymised; its rows are reported
    /// through [`ExampleObserver::rows`] until [`Step::Extracted`].
    Extract {
        /// The extract's name (`eb`, `af`, `lisa`).
        name: &'a str,
    },
    /// The extract named in the last [`Step::Extract`] is done (or failed).
    Extracted,
    /// Every extract is pseudonymised into `dir`.
    Pseudonymised {
        /// Each extract's name and report, for [`count_persons`].
        reports: &'a [(&'static str, PseudonymiseReport)],
        /// The folder of the pseudonymised extracts and their reject reports.
        dir: &'a Path,
    },
    /// The study file `study` is about to be linked and tabulated.
    Linking {
        /// The study file.
        study: &'a Path,
    },
    /// The study is linked and tabulated into its folder.
    Linked(&'a LinkOutcome),
    /// The tables are about to be protected under the policy file `policy`.
    Protecting {
        /// The policy file.
        policy: &'a Path,
        /// Its preset.
        preset: &'a str,
    },
}

/// What [`example`] tells its caller while it works: the [`Step`]s, rows
/// while an extract is pseudonymised, and the stages of linking and
/// protecting as a [`reglink_release::Observer`].
pub trait ExampleObserver: Observer {
    /// The example has reached `step`. An error (printing a summary may
    /// read the files just written) ends the example.
    fn step(&self, step: Step<'_>) -> Result<(), ExampleError>;
    /// Rows of the current extract pseudonymised so far.
    fn rows(&self, _rows: u64) {}
}

/// Nothing to observe: for tests and benchmarks.
impl ExampleObserver for reglink_link::NoProgress {
    fn step(&self, _step: Step<'_>) -> Result<(), ExampleError> {
        Ok(())
    }
}

/// What [`example`] wrote.
#[derive(Debug)]
pub struct ExampleOutcome {
    /// Each extract's name and pseudonymisation report, in the order they
    /// were pseudonymised.
    pub pseudonymised: Vec<(&'static str, PseudonymiseReport)>,
    /// The link stage: the linked study, its cell tables and their folder.
    pub link: LinkOutcome,
    /// The tables as released.
    pub release: Release,
    /// The release bundle's folder.
    pub release_dir: PathBuf,
    /// The pre-release audit's outcome in a line, when one ran.
    pub audit: Option<String>,
}

/// `reglink example`: synthetic registers -> key -> pseudonymise -> link and
/// tabulate the example study -> protect and release, all into
/// `options.out`. See the crate documentation.
pub fn example(
    options: &ExampleOptions<'_>,
    observer: &dyn ExampleObserver,
) -> Result<ExampleOutcome, ExampleError> {
    let out = options.out;
    let example_dir = ExampleDir::prepare(out)?;
    let pseudo_dir = out.join("pseudonymised");
    create_dir(&pseudo_dir)?;
    let raw = out.join("raw");
    observer.step(Step::Registers {
        seed: options.seed,
        preset: options.preset,
        dir: &raw,
    })?;
    reglink_synth::generate(&Options {
        preset: options.preset,
        seed: options.seed,
        format: Format::Csv,
        out_dir: raw.clone(),
    })?;
    let reports = pseudonymise_extracts(out, &raw, &pseudo_dir, observer)?;
    observer.step(Step::Pseudonymised {
        reports: &reports,
        dir: &pseudo_dir,
    })?;
    let (link, (release, audit), release_dir) = link_and_release(out, options.auditor, observer)?;
    example_dir.finish(options.seed)?;
    Ok(ExampleOutcome {
        pseudonymised: reports,
        link,
        release,
        release_dir,
        audit,
    })
}

/// Writes a new master key into `out` and pseudonymises the three raw
/// extracts with the crosswalk into `pseudo_dir`; returns their reports.
fn pseudonymise_extracts(
    out: &Path,
    raw: &Path,
    pseudo_dir: &Path,
    observer: &dyn ExampleObserver,
) -> Result<Vec<(&'static str, PseudonymiseReport)>, ExampleError> {
    let key_path = out.join("example.key");
    let key = MasterKey::generate()?;
    key.write_new_file(&key_path)?;
    observer.step(Step::Key {
        path: &key_path,
        id: key.id(),
    })?;
    let reference = reglink_synth::extraction_date();
    let study = key.study_key(STUDY)?;
    let crosswalk = Crosswalk::load(&raw.join("crosswalk.csv"), reference)?;
    observer.step(Step::Pseudonymising {
        study: STUDY,
        crosswalk_entries: crosswalk.entries(),
    })?;
    let mut reports = Vec::new();
    for (name, id_column) in EXTRACTS {
        let mut opts = PseudonymiseOptions::new(
            raw.join(format!("{name}.csv")),
            pseudo_dir.join(format!("{name}.parquet")),
            id_column,
            reference,
        );
        opts.derive_columns = true;
        observer.step(Step::Extract { name })?;
        let report =
            reglink_pseudo::pseudonymise(&opts, &study, Some(&crosswalk), &|n| observer.rows(n));
        observer.step(Step::Extracted)?;
        reports.push((name, report?));
    }
    Ok(reports)
}

/// A release with its audit's outcome in a line.
type Released = (Release, Option<String>);

/// The linkage environment's part: writes the example study into `out`,
/// links and tabulates it into `out/link`, and releases it under the
/// example's policy into `out/release` (the checker report beside it, in
/// `out/release.checker`), audited by `auditor` first; returns the link
/// outcome, the release with the audit's outcome, and its folder.
fn link_and_release(
    out: &Path,
    auditor: Option<&dyn reglink_release::bundle::Auditor>,
    observer: &dyn ExampleObserver,
) -> Result<(LinkOutcome, Released, PathBuf), ExampleError> {
    let study_path = out.join("study.toml");
    reglink_extract::write_atomic(&study_path, EXAMPLE_STUDY.as_bytes())?;
    observer.step(Step::Linking { study: &study_path })?;
    let link = reglink_release::link(
        &study_path,
        &out.join("link"),
        Default::default(),
        None,
        observer,
    )?;
    observer.step(Step::Linked(&link))?;

    let policy_path = out.join("policy.toml");
    reglink_extract::write_atomic(&policy_path, EXAMPLE_POLICY.as_bytes())?;
    let policy = Policy::parse(&policy_path.display().to_string(), EXAMPLE_POLICY)?;
    let release_dir = out.join("release");
    observer.step(Step::Protecting {
        policy: &policy_path,
        preset: &policy.preset,
    })?;
    let tabulated = &link.tabulated;
    let dirs = ReleaseDirs::create(&release_dir, &study_inputs(&tabulated.study))?;
    let provenance = reglink_release::provenance(tabulated)?;
    let release = reglink_release::release(
        (&tabulated.tables, &[]),
        (&provenance, None),
        (&policy, auditor),
        dirs,
        observer,
    )?;
    Ok((link, release, release_dir))
}

#[cfg(test)]
mod tests;
