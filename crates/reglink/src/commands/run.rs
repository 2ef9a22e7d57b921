//! `reglink run STUDY.toml --policy POLICY --out DIR`: link -> tabulate ->
//! protect -> release bundle; and `reglink verify BUNDLE`.

use std::path::Path;
use std::time::Instant;

use reglink_keys::signing::{PublicKey, SigningKey};
use reglink_protect::{Flag, Release};
use reglink_release::{RunOptions, bundle};
use reglink_tabulate::CellTable;

use crate::cli::{AuditArgs, RunArgs, VerifyArgs};
use crate::ui;

pub fn run(args: &RunArgs, quiet: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let sign = args.sign.as_deref().map(SigningKey::load).transpose()?;
    let options = RunOptions {
        study: &args.study,
        policy: &args.policy,
        out: &args.out,
        sign: sign.as_ref(),
        auditor: Some(&reglink_audit::BeforeRelease),
    };
    let outcome = reglink_release::run(&options, &ui::StageBars::new(quiet))?;
    ui::warnings(quiet, &outcome.release.warnings, None);
    print_release(
        &outcome.tabulated.tables,
        (&outcome.release, outcome.audit.as_deref()),
        &args.out,
        quiet,
    );
    if !quiet {
        eprintln!(
            "linked, protected and released in {:.1?}",
            started.elapsed()
        );
    }
    super::check_sources(&outcome.tabulated.linked.report, args.allow_empty)
}

/// Per table: cells, and how many counts are published or suppressed; then
/// where the bundle went and what its audit found.
pub fn print_release(
    tables: &[CellTable],
    (release, audit): (&Release, Option<&str>),
    out: &Path,
    quiet: bool,
) {
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
    if let Some(audit) = audit {
        let report = reglink_release::checker_dir(out).join(reglink_release::run::AUDIT_TEXT);
        println!("audit: {audit} (report: {})", report.display());
    }
}

pub fn verify(args: &VerifyArgs) -> anyhow::Result<()> {
    let public = args
        .public_key
        .as_deref()
        .map(PublicKey::load)
        .transpose()?;
    let verified = bundle::verify(&args.bundle, public.as_ref())?;
    let bundle = args.bundle.display();
    if verified.problems.is_empty() {
        let signed = match &verified.signed {
            bundle::Signed::Valid(by) => format!("signed by {by}, signature valid"),
            bundle::Signed::Unchecked(by) => {
                format!(
                    "claims to be signed by {by}, NOT checked: anyone can write that; pass --public-key to check it"
                )
            }
            bundle::Signed::No | bundle::Signed::Invalid => "unsigned".to_string(),
        };
        println!(
            "{bundle}: every file matches {}; {signed}",
            bundle::MANIFEST
        );
        return Ok(());
    }
    for p in &verified.problems {
        eprintln!("{bundle}: {p}");
    }
    Err(ui::Mismatch(format!(
        "{} problem(s) in the bundle",
        verified.problems.len()
    ))
    .into())
}

pub fn audit(args: &AuditArgs) -> anyhow::Result<()> {
    let public = args
        .public_key
        .as_deref()
        .map(PublicKey::load)
        .transpose()?;
    let report = reglink_audit::audit(&args.bundle, public.as_ref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", reglink_audit::text(&report, 5));
    }
    if report.status == reglink_audit::Status::Fail {
        let failed = report
            .findings
            .iter()
            .filter(|f| f.status == reglink_audit::Status::Fail)
            .count();
        return Err(ui::Mismatch(format!("{failed} check(s) failed")).into());
    }
    Ok(())
}
