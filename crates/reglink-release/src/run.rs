//! The whole pipeline: a study, a policy and an output folder in, a release
//! bundle and its checker report out ([`run`]); and the release of an
//! already linked study ([`release`]), which `reglink example` uses.

use std::path::{Path, PathBuf};

use reglink_extract::{OutputKind, StagedDir};
use reglink_keys::signing::SigningKey;
use reglink_protect::{Policy, Release};
use reglink_tabulate::CellTable;

use crate::bundle::{self, Auditor, Input, Provenance};
use crate::link::{Tabulated, link_and_tabulate, study_inputs};
use crate::{Observer, ReleaseError, load_policy, policy_file};

/// What `reglink run` writes: the release bundle, proved by its manifest.
pub const OUTPUT: OutputKind = OutputKind {
    command: "reglink run",
    output: bundle::OUTPUT,
    manifest: bundle::MANIFEST,
};

/// The checker report: per-cell reasons for the data holder's output
/// checkers, kept beside the release and never in it.
pub const CHECKER_OUTPUT: OutputKind = OutputKind {
    command: "reglink run",
    output: "checker report",
    manifest: "manifest.json",
};

/// The checker report's folder for a release at `out`: `OUT.checker` beside it.
pub fn checker_dir(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".checker");
    out.with_file_name(name)
}

/// What [`run`] is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions<'a> {
    /// The study file.
    pub study: &'a Path,
    /// `--policy`: a policy file, or the name of a preset.
    pub policy: &'a str,
    /// The release bundle's folder; the checker report goes to
    /// [`checker_dir`] of it.
    pub out: &'a Path,
    /// `--sign`: the data holder's signing key, which signs the manifest.
    pub sign: Option<&'a SigningKey>,
    /// The independent audit run on the staged bundle before it is
    /// published (see [`bundle::Auditor`]); `None` publishes unaudited.
    pub auditor: Option<&'a dyn Auditor>,
    /// The release ledger: counts an earlier release of the same people
    /// hid stay hidden ([`crate::ledger::carried`]). The caller appends the
    /// release to it once published ([`crate::ledger::append`]).
    pub ledger: Option<&'a Path>,
}

/// What [`run`] wrote.
#[derive(Debug)]
pub struct RunOutcome {
    /// The linked study and its (unprotected) cell tables.
    pub tabulated: Tabulated,
    /// The tables as released.
    pub release: Release,
    /// The release bundle's folder.
    pub out: PathBuf,
    /// The checker report's folder.
    pub checker: PathBuf,
    /// The pre-release audit's outcome in a line, when one ran.
    pub audit: Option<String>,
}

/// The two folders a release writes, both checked and staged before any
/// work: the bundle, and the checker report beside it.
#[derive(Debug)]
pub struct ReleaseDirs {
    bundle: StagedDir,
    checker: StagedDir,
}

impl ReleaseDirs {
    /// Checks `out` and [`checker_dir`] of it (neither may be or hold one of
    /// `inputs`; an existing one must be an unchanged output of `reglink
    /// run`) and stages both.
    pub fn create(out: &Path, inputs: &[(String, PathBuf)]) -> Result<ReleaseDirs, ReleaseError> {
        let bundle = StagedDir::create(out, &OUTPUT, inputs)?;
        let checker = StagedDir::create(&checker_dir(out), &CHECKER_OUTPUT, inputs)?;
        Ok(ReleaseDirs { bundle, checker })
    }
}

/// `reglink run`: loads the policy and the study, checks both outputs,
/// links and tabulates, protects every table under the policy, and writes
/// the release bundle into `out` and the checker report beside it.
pub fn run(options: &RunOptions<'_>, observer: &dyn Observer) -> Result<RunOutcome, ReleaseError> {
    let policy = load_policy(options.policy)?;
    let study = reglink_link::Study::load(options.study)?;
    let mut inputs = study_inputs(&study);
    if let Some(file) = policy_file(options.policy) {
        inputs.push(("the policy".to_string(), file));
    }
    let dirs = ReleaseDirs::create(options.out, &inputs)?;
    let tabulated = link_and_tabulate(study, observer)?;
    observer.linked(&tabulated.linked);
    let provenance = provenance(&tabulated)?;
    let carried = match options.ledger {
        Some(ledger) => crate::ledger::carried(
            ledger,
            &tabulated.tables,
            &serde_json::to_value(&provenance.inputs).expect("inputs serialise"),
        )?,
        None => Vec::new(),
    };
    let (release, audit) = release(
        (&tabulated.tables, &carried),
        (&provenance, options.sign),
        (&policy, options.auditor),
        dirs,
        observer,
    )?;
    Ok(RunOutcome {
        tabulated,
        release,
        audit,
        out: options.out.to_path_buf(),
        checker: checker_dir(options.out),
    })
}

/// The audit report's files in the checker folder.
pub const AUDIT_TEXT: &str = "audit.txt";
/// See [`AUDIT_TEXT`].
pub const AUDIT_JSON: &str = "audit.json";

/// Protects `tables` under `policy` (the counts `carried` marks hidden
/// whatever the pattern needs), writes the bundle and the checker report
/// into `dirs` with `provenance` in their manifests (the bundle's signed
/// with `sign`, if given), and moves both into place. With an `auditor`, the
/// staged bundle is audited first: its outcome ends `summary.md`, its full
/// report goes into the checker folder, and a failed audit publishes
/// nothing (neither folder is written). It takes
/// cell tables and provenance only, never the linked rows, so what writes a
/// release cannot reach row-level data. Returns the release and the
/// audit's outcome in a line.
pub fn release(
    (tables, carried): (&[CellTable], &[Vec<bool>]),
    (provenance, sign): (&Provenance, Option<&SigningKey>),
    (policy, auditor): (&Policy, Option<&dyn Auditor>),
    dirs: ReleaseDirs,
    observer: &dyn Observer,
) -> Result<(Release, Option<String>), ReleaseError> {
    observer.protecting();
    let progress = Protecting {
        observer,
        done: std::sync::atomic::AtomicU64::new(0),
    };
    let release = reglink_protect::protect_observed(tables, policy, carried, &progress);
    observer.finish();
    observer.protected();
    let (_, audited) = bundle::write_audited(
        dirs.bundle.path(),
        (tables, &release),
        policy,
        (provenance, sign),
        auditor,
    )?;
    if let Some(audited) = &audited {
        let dir = dirs.checker.path();
        reglink_extract::write_atomic(dir.join(AUDIT_TEXT), audited.text.as_bytes())?;
        reglink_extract::write_atomic(dir.join(AUDIT_JSON), audited.json.as_bytes())?;
    }
    if let Some(reason) = audited.as_ref().and_then(|a| a.failure.clone()) {
        // Both folders stay staged and are removed: an earlier release in
        // `out` is left as it was, with its own checker report.
        return Err(ReleaseError::AuditFailed { reason });
    }
    crate::checker::write(dirs.checker.path(), tables, &release, policy, provenance)?;
    dirs.bundle.commit()?;
    dirs.checker.commit()?;
    Ok((release, audited.map(|a| a.headline)))
}

/// Where a release comes from, as its manifest says: the tool, the study
/// and its file's hash, and every input's hash and key id.
pub fn provenance(tabulated: &Tabulated) -> Result<Provenance, ReleaseError> {
    let study_path = &tabulated.study.path;
    Ok(Provenance {
        tool: format!("reglink {}", env!("CARGO_PKG_VERSION")),
        study: tabulated.study.name.clone(),
        study_file: study_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        study_blake3: reglink_extract::fingerprint_file(study_path)?
            .as_str()
            .to_string(),
        inputs: tabulated
            .linked
            .inputs
            .iter()
            .map(|i| Input {
                name: i.name.clone(),
                blake3: i.fingerprint.clone(),
                key_id: i.key_id.clone(),
            })
            .collect(),
    })
}

/// Disclosure control's progress as the observer's stage `protecting`,
/// counted in primary cells protected and audited.
struct Protecting<'a> {
    observer: &'a dyn Observer,
    done: std::sync::atomic::AtomicU64,
}

impl reglink_protect::Progress for Protecting<'_> {
    fn start(&self, total: u64) {
        self.observer.stage("protecting", Some(total));
    }

    fn advance(&self, steps: u64) {
        let done = self
            .done
            .fetch_add(steps, std::sync::atomic::Ordering::Relaxed)
            + steps;
        self.observer.set(done);
    }
}
