//! `reglink run STUDY.toml --policy POLICY --out DIR`: link -> tabulate ->
//! protect -> release bundle; and `reglink verify BUNDLE`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use reglink_extract::{OutputKind, StagedDir};
use reglink_protect::bundle::{self, Input, Provenance};
use reglink_protect::{Flag, Policy, Release};
use reglink_tabulate::CellTable;

use crate::cli::{RunArgs, VerifyArgs};

/// Reads `--policy`: a policy file, or the name of a preset.
pub fn load_policy(arg: &str) -> anyhow::Result<Policy> {
    let path = Path::new(arg);
    let meta = std::fs::metadata(path);
    if meta.as_ref().is_ok_and(|m| m.is_file()) {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the policy", path.display()))?;
        if text.trim().is_empty() {
            bail!(
                "{}: the policy file is empty (it must name at least a preset: acro, abs, lenient)",
                path.display()
            );
        }
        return Ok(Policy::parse(&path.display().to_string(), &text)?);
    }
    if let Some(p) = Policy::preset(arg) {
        return Ok(p);
    }
    match meta {
        Ok(m) if m.is_dir() => bail!(
            "{arg}: is a folder, not a policy file (pass a policy file or a preset: acro, abs, lenient)"
        ),
        Ok(_) => bail!(
            "{arg}: is not a regular file, so not a policy file (pass a policy file or a preset: acro, abs, lenient)"
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{arg}: no such policy file, and not a preset (acro, abs, lenient)")
        }
        Err(e) => Err(e).with_context(|| format!("{arg}: cannot read the policy")),
    }
}

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

pub fn run(args: &RunArgs, quiet: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let policy = load_policy(&args.policy)?;
    let study = reglink_link::Study::load(&args.study)?;
    // Both outputs are checked before any work.
    let mut inputs = super::link::study_inputs(&study);
    if Path::new(&args.policy).is_file() {
        inputs.push(("the policy".to_string(), PathBuf::from(&args.policy)));
    }
    let checker = checker_dir(&args.out);
    let staged = StagedDir::create(&args.out, &OUTPUT, &inputs)?;
    let staged_checker = StagedDir::create(&checker, &CHECKER_OUTPUT, &inputs)?;
    let (linked, tables) = super::link::link_tables(&study, quiet)?;
    crate::ui::warnings(quiet, &linked.report.warnings, None);
    let release = release(
        &args.study,
        &study.name,
        &linked,
        &tables,
        &policy,
        staged,
        staged_checker,
        quiet,
    )?;
    print_release(&tables, &release, &args.out, quiet);
    if !quiet {
        eprintln!(
            "linked, protected and released in {:.1?}",
            started.elapsed()
        );
    }
    super::check_sources(&linked.report, args.allow_empty)
}

/// Protects `tables` under `policy`, writes the bundle into `staged` and
/// the checker report into `checker`, and moves both into place.
#[allow(clippy::too_many_arguments)]
pub fn release(
    study_path: &Path,
    study_name: &str,
    linked: &reglink_link::Linked,
    tables: &[CellTable],
    policy: &Policy,
    staged: StagedDir,
    checker: StagedDir,
    quiet: bool,
) -> anyhow::Result<Release> {
    let spinner = crate::ui::row_spinner(quiet, "protecting");
    let release = reglink_protect::protect(tables, policy);
    spinner.finish_and_clear();
    let provenance = Provenance {
        tool: format!("reglink {}", env!("CARGO_PKG_VERSION")),
        study: study_name.to_string(),
        study_file: study_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        study_blake3: reglink_extract::fingerprint_file(study_path)?
            .as_str()
            .to_string(),
        inputs: linked
            .inputs
            .iter()
            .map(|i| Input {
                name: i.name.clone(),
                blake3: i.fingerprint.clone(),
                key_id: i.key_id.clone(),
            })
            .collect(),
    };
    bundle::write(staged.path(), tables, &release, policy, &provenance)?;
    write_checker_report(checker.path(), tables, &release, policy, &provenance)?;
    staged.commit()?;
    checker.commit()?;
    crate::ui::warnings(quiet, &release.warnings, None);
    Ok(release)
}

/// The checker report's files, then its manifest.
fn write_checker_report(
    dir: &Path,
    tables: &[CellTable],
    release: &Release,
    policy: &Policy,
    provenance: &Provenance,
) -> anyhow::Result<()> {
    let text = reglink_protect::checker_report(tables, release, policy, provenance);
    reglink_extract::write_atomic(dir.join("checker-report.json"), text.as_bytes())?;
    reglink_extract::write_manifest(
        dir,
        &CHECKER_OUTPUT,
        serde_json::json!({
            "tool": provenance.tool,
            "study": provenance.study,
            "contents": "INTERNAL: why each cell of the release beside this folder is suppressed. For the data holder's output checkers only; never publish it.",
        }),
    )?;
    Ok(())
}

/// Per table: cells, and how many counts are published or suppressed.
pub fn print_release(tables: &[CellTable], release: &Release, out: &Path, quiet: bool) {
    if !quiet {
        println!();
        println!(
            "{:<24} {:>7} {:>10} {:>8} {:>10}",
            "table", "cells", "published", "primary", "secondary"
        );
        for (t, r) in tables.iter().zip(&release.tables) {
            let flags = &r.columns[0].flags;
            let primary = flags
                .iter()
                .filter(|f| f.suppressed() && **f != Flag::Secondary)
                .count();
            let secondary = flags.iter().filter(|f| **f == Flag::Secondary).count();
            println!(
                "{:<24} {:>7} {:>10} {:>8} {:>10}",
                t.name,
                flags.len(),
                flags.len() - primary - secondary,
                primary,
                secondary
            );
        }
    }
    println!("release bundle: {}", out.display());
}

pub fn verify(args: &VerifyArgs) -> anyhow::Result<()> {
    let problems = bundle::verify(&args.bundle)?;
    if problems.is_empty() {
        println!(
            "{}: every file matches {}",
            args.bundle.display(),
            bundle::MANIFEST
        );
        return Ok(());
    }
    for p in &problems {
        eprintln!("{}: {p}", args.bundle.display());
    }
    Err(crate::ui::Mismatch(format!("{} problem(s) in the bundle", problems.len())).into())
}
