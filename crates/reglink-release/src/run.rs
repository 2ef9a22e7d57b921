//! The whole pipeline: a study, a policy and an output folder in, a release
//! bundle and its checker report out ([`run`]); and the release of an
//! already linked study ([`release`]), which `reglink example` uses.

use std::path::{Path, PathBuf};

use reglink_extract::{OutputKind, StagedDir};
use reglink_keys::signing::SigningKey;
use reglink_protect::{Policy, Release};
use reglink_tabulate::CellTable;

use crate::bundle::{self, Auditor, Input, Provenance};
use crate::link::{Tabulated, link_and_tabulate_on, study_inputs};
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
    /// How much of the sources linking holds in memory at once
    /// ([`reglink_link::study::Memory`]).
    pub memory: &'a reglink_link::study::Memory,
    /// Where to link: on this machine when `None`.
    pub engine: Option<&'a dyn crate::Engine>,
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
    let mut study = reglink_link::Study::load(options.study)?;
    study.memory = options.memory.clone();
    let mut inputs = study_inputs(&study);
    if let Some(file) = policy_file(options.policy) {
        inputs.push(("the policy".to_string(), file));
    }
    let dirs = ReleaseDirs::create(options.out, &inputs)?;
    let tabulated = link_and_tabulate_on(study, options.engine, observer)?;
    observer.linked(&tabulated.linked);
    let provenance = provenance(&tabulated)?;
    let inputs = serde_json::to_value(&provenance.inputs).expect("inputs serialise");
    let carried = match options.ledger {
        Some(ledger) => crate::ledger::carried(ledger, &tabulated.tables, &inputs)?,
        None => Vec::new(),
    };
    let released = release(
        (&tabulated.tables, &carried),
        (&provenance, options.sign),
        (&policy, options.auditor),
        dirs,
        observer,
    );
    let (release, audit) = match (released, options.ledger) {
        // Say why when an earlier release promised more than this policy.
        (Err(ReleaseError::AuditFailed { reason }), Some(ledger)) => {
            let reason = match crate::ledger::strictest_threshold(ledger, &inputs)? {
                Some((t, seq)) if t > policy.threshold => format!(
                    "{reason}. Release #{seq} in the ledger, of the same inputs, was protected with a threshold of {t}, above this policy's {}, and the audit holds this release's counts of the same people to it: release under a policy with a threshold of at least {t}",
                    policy.threshold
                ),
                _ => reason,
            };
            return Err(ReleaseError::AuditFailed { reason });
        }
        (released, _) => released?,
    };
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
/// nothing (neither folder is written). A failed audit that names published
/// cells whose hiding may settle it ([`bundle::Audited::repair`]: cells tied
/// to a failing count by another population or an earlier release) has
/// them hidden too, and the tables are protected, written and audited again
/// (at most [`REPAIR_ROUNDS`] times). It takes
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
    let mut hidden: Vec<Vec<bool>> = tables
        .iter()
        .enumerate()
        .map(|(t, table)| {
            let mut row = carried.get(t).cloned().unwrap_or_default();
            row.resize(table.shape.cells(), false);
            row
        })
        .collect();
    let (mut repaired, mut round) = (0, 0);
    let (release, audited) = loop {
        round += 1;
        observer.protecting();
        let progress = Protecting {
            observer,
            done: std::sync::atomic::AtomicU64::new(0),
        };
        let release = reglink_protect::protect_observed(tables, policy, &hidden, &progress);
        observer.finish();
        observer.protected();
        let (_, audited) = bundle::write_audited(
            dirs.bundle.path(),
            (tables, &release),
            policy,
            (provenance, sign),
            auditor,
        )?;
        // A failed audit may name published cells whose hiding settles what
        // failed (a band, a population or a period of an earlier release
        // that, beside this one, pins a count down): hide them and protect
        // again, until the audit passes or names nothing new.
        let more = match &audited {
            Some(a) if a.failure.is_some() && round < REPAIR_ROUNDS => {
                hide(&mut hidden, tables, &a.repair)
            }
            _ => 0,
        };
        if more == 0 {
            break (release, audited);
        }
        repaired += more;
        dirs.bundle.clear()?;
    };
    let audited = audited.map(|mut a| {
        if repaired > 0 {
            let again = format!(
                "after hiding {repaired} more count(s) that, beside an earlier release or another population, gave hidden counts away"
            );
            a.headline.push_str(&format!(" ({again})"));
            if let Some(failure) = &mut a.failure {
                *failure = format!("{again}, still: {failure}");
            }
        }
        a
    });
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

/// The most times a release is protected again to settle what its audit
/// found with other populations or earlier releases; past it, the release
/// is refused as the audit says. Each round hides more cells, so rounds are
/// few (one or two for a band split or a population one year wider).
pub const REPAIR_ROUNDS: usize = 8;

/// Marks the cells of `repair` (by table name and row) in `hidden`;
/// returns how many were not marked before.
fn hide(hidden: &mut [Vec<bool>], tables: &[CellTable], repair: &[(String, usize)]) -> usize {
    let mut more = 0;
    for (name, row) in repair {
        let Some(t) = tables.iter().position(|t| t.name == *name) else {
            continue;
        };
        if let Some(cell) = hidden[t].get_mut(*row)
            && !*cell
        {
            *cell = true;
            more += 1;
        }
    }
    more
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
