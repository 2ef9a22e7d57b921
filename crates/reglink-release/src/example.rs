//! `reglink example`: the embedded example study end to end on synthetic
//! data, written into one folder:
//!
//! ```text
//! OUT/raw/               1. the `tiny` synthetic registers (CSV), crosswalk, code lists
//! OUT/example.key        2. a new master key (mode 0600)
//! OUT/pseudonymised/     3. the three extracts pseudonymised with the crosswalk
//! OUT/study.toml, link/  4. the example study, linked and tabulated (`reglink link`)
//! OUT/policy.toml,       5. ACRO's defaults, the release bundle and, beside the
//!   release/                example folder, its checker report (`reglink run`)
//! OUT/example.json       the manifest that lets a later run replace the folder
//! ```
//!
//! The folder is written in place. An earlier example there is set aside
//! (proven unchanged first) and removed only once the new one is finished;
//! if the run fails or is interrupted, the new folder is removed and the
//! earlier one put back.

use std::path::{Path, PathBuf};

use reglink_extract::{OutputKind, SetAside};
use reglink_protect::{Policy, Release};
use reglink_pseudo::{Crosswalk, KeyId, MasterKey, PseudonymiseOptions, PseudonymiseReport};
use reglink_synth::{Format, Options, Preset};

use crate::link::{LinkOutcome, study_inputs};
use crate::run::{ReleaseDirs, release};
use crate::{Observer, ReleaseError};

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
        /// Each extract's name and report.
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
/// while an extract is pseudonymised, and the linking and protecting as
/// [`Observer`].
pub trait ExampleObserver: Observer {
    /// The example has reached `step`. An error (printing a summary may
    /// read the files just written) ends the example.
    fn step(&self, step: Step<'_>) -> Result<(), ReleaseError>;
    /// Rows of the current extract pseudonymised so far.
    fn rows(&self, rows: u64);
}

/// What [`example`] wrote.
#[derive(Debug)]
pub struct ExampleOutcome {
    /// The link stage: the linked study, its cell tables and their folder.
    pub link: LinkOutcome,
    /// The tables as released.
    pub release: Release,
    /// The release bundle's folder.
    pub release_dir: PathBuf,
}

/// `reglink example`: synthetic registers -> key -> pseudonymise -> link and
/// tabulate the example study -> protect and release, all into
/// `options.out`. See the module documentation.
pub fn example(
    options: &ExampleOptions<'_>,
    observer: &dyn ExampleObserver,
) -> Result<ExampleOutcome, ReleaseError> {
    let out = options.out;
    let example_dir = ExampleDir::prepare(out)?;
    let pseudo_dir = out.join("pseudonymised");
    std::fs::create_dir_all(&pseudo_dir).map_err(|source| ReleaseError::CreateDir {
        path: pseudo_dir.clone(),
        source,
    })?;
    let raw = out.join("raw");
    observer.step(Step::Registers {
        seed: options.seed,
        dir: &raw,
    })?;
    reglink_synth::generate(&Options {
        preset: Preset::Tiny,
        seed: options.seed,
        format: Format::Csv,
        out_dir: raw.clone(),
    })?;
    let reports = pseudonymise_extracts(out, &raw, &pseudo_dir, observer)?;
    observer.step(Step::Pseudonymised {
        reports: &reports,
        dir: &pseudo_dir,
    })?;

    let study_path = out.join("study.toml");
    reglink_extract::write_atomic(&study_path, EXAMPLE_STUDY.as_bytes())?;
    observer.step(Step::Linking { study: &study_path })?;
    let link = crate::link(&study_path, &out.join("link"), observer)?;
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
    let release = release(tabulated, &policy, dirs, observer)?;
    example_dir.finish(options.seed)?;
    Ok(ExampleOutcome {
        link,
        release,
        release_dir,
    })
}

/// Writes a new master key into `out` and pseudonymises the three raw
/// extracts with the crosswalk into `pseudo_dir`; returns their reports.
fn pseudonymise_extracts(
    out: &Path,
    raw: &Path,
    pseudo_dir: &Path,
    observer: &dyn ExampleObserver,
) -> Result<Vec<(&'static str, PseudonymiseReport)>, ReleaseError> {
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

/// An example folder being written in place: an earlier example there is
/// set aside until the new one is finished, and put back if it is not.
struct ExampleDir {
    path: PathBuf,
    /// Registered for removal on a signal, and removed on drop until the
    /// manifest is written.
    unfinished: Option<reglink_extract::cleanup::Registration>,
    earlier: Option<SetAside>,
}

impl ExampleDir {
    /// Creates `out`, setting aside an earlier, unchanged `reglink example`
    /// output there; anything else in the way is an error.
    fn prepare(out: &Path) -> Result<ExampleDir, ReleaseError> {
        reglink_extract::check_replaceable(out, &OUTPUT)?;
        let earlier = match std::fs::symlink_metadata(out) {
            Ok(_) => Some(SetAside::new(out, &OUTPUT)?),
            Err(_) => None,
        };
        std::fs::create_dir_all(out).map_err(|source| ReleaseError::CreateDir {
            path: out.to_path_buf(),
            source,
        })?;
        Ok(ExampleDir {
            path: out.to_path_buf(),
            unfinished: Some(reglink_extract::cleanup::register(out)),
            earlier,
        })
    }

    /// Writes the manifest that lets a later run replace the folder, and
    /// removes the earlier example.
    fn finish(mut self, seed: u64) -> Result<(), ReleaseError> {
        reglink_extract::write_manifest(
            &self.path,
            &OUTPUT,
            serde_json::json!({ "made_by": "reglink example", "seed": seed }),
        )?;
        self.unfinished = None;
        if let Some(earlier) = self.earlier.take() {
            earlier.discard()?;
        }
        Ok(())
    }
}

impl Drop for ExampleDir {
    fn drop(&mut self) {
        if let Some(registration) = self.unfinished.take() {
            registration.remove();
        }
        // The target is free again: dropping puts the earlier example back.
        self.earlier.take();
    }
}
