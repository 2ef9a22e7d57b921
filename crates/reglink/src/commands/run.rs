//! `reglink run STUDY.toml --policy POLICY --out DIR`: link -> tabulate ->
//! protect -> release bundle; and `reglink verify BUNDLE`.

use std::path::Path;
use std::time::Instant;

use reglink_keys::signing::{PublicKey, SigningKey};
use reglink_protect::{Flag, Release};
use reglink_release::{RunOptions, bundle};
use reglink_tabulate::CellTable;

use crate::cli::{AuditArgs, ExportArgs, LedgerCommand, RunArgs, VerifyArgs};
use crate::ui;

pub fn run(args: &RunArgs, quiet: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let sign = args.sign.as_deref().map(SigningKey::load).transpose()?;
    if let Some(ledger) = &args.ledger {
        ledger_apart(ledger, &args.out)?;
    }
    let auditor = reglink_audit::BeforeRelease {
        ledger: args.ledger.clone(),
    };
    let options = RunOptions {
        study: &args.study,
        policy: &args.policy,
        out: &args.out,
        sign: sign.as_ref(),
        auditor: Some(&auditor),
        ledger: args.ledger.as_deref(),
    };
    let outcome = reglink_release::run(&options, &ui::StageBars::new(quiet))?;
    ui::warnings(quiet, &outcome.release.warnings, None);
    print_release(
        &outcome.tabulated.tables,
        (&outcome.release, outcome.audit.as_deref()),
        &args.out,
        quiet,
    );
    if let Some(ledger) = &args.ledger {
        let (seq, head) = reglink_release::ledger::append(ledger, &args.out, sign.as_ref())?;
        println!(
            "ledger: release {seq} added to {} (head {head})",
            ledger.display()
        );
    }
    if !quiet {
        eprintln!(
            "linked, protected and released in {:.1?}",
            started.elapsed()
        );
    }
    super::check_sources(&outcome.tabulated.linked.report, args.allow_empty)
}

/// The ledger may be neither the release folder, nor inside it, nor hold it:
/// each would copy or replace the other.
fn ledger_apart(ledger: &Path, out: &Path) -> anyhow::Result<()> {
    let (l, o) = (std::path::absolute(ledger)?, std::path::absolute(out)?);
    if l.starts_with(&o) || o.starts_with(&l) {
        anyhow::bail!(
            "{}: the ledger must be a folder of its own, apart from the release folder {}",
            ledger.display(),
            out.display()
        );
    }
    Ok(())
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

pub fn export(args: &ExportArgs, quiet: bool) -> anyhow::Result<()> {
    let public = args
        .public_key
        .as_deref()
        .map(PublicKey::load)
        .transpose()?;
    let exported = reglink_release::export::export(&args.bundle, &args.out, public.as_ref())?;
    if !quiet {
        let signed = match &exported.signed {
            bundle::Signed::Valid(by) => format!("signed by {by}, signature valid"),
            bundle::Signed::Unchecked(by) => format!("claims to be signed by {by}, not checked"),
            bundle::Signed::No | bundle::Signed::Invalid => "unsigned".to_string(),
        };
        println!(
            "{}: every file matches {}; {signed}",
            args.bundle.display(),
            bundle::MANIFEST
        );
    }
    let dir = exported.dir.display();
    println!(
        "exported {} table(s) to {dir}: {dir}/{} (Excel), {dir}/csv-sv/ (CSV for Swedish Excel)",
        exported.tables.len(),
        reglink_release::export::WORKBOOK
    );
    Ok(())
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
    let report =
        reglink_audit::audit_with_ledger(&args.bundle, public.as_ref(), args.ledger.as_deref())?;
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

pub fn ledger(cmd: LedgerCommand) -> anyhow::Result<()> {
    match cmd {
        LedgerCommand::Show { ledger } => {
            let v = reglink_release::ledger::verify(&ledger, None, None)?;
            for e in &v.entries {
                let d = &e.description;
                let tables = d["tables"].as_array().map_or(0, Vec::len);
                println!(
                    "{:>4}  study {}  {} table(s)  policy {}  {}",
                    e.seq,
                    d["study"].as_str().unwrap_or("?"),
                    tables,
                    d["policy"]["preset"].as_str().unwrap_or("?"),
                    match &e.signed {
                        bundle::Signed::Unchecked(by) | bundle::Signed::Valid(by) =>
                            format!("signed by {by}"),
                        _ => "unsigned".to_string(),
                    }
                );
            }
            println!(
                "{}: {} release(s); head {}",
                ledger.display(),
                v.entries.len(),
                v.head().unwrap_or("none")
            );
            for p in &v.problems {
                eprintln!("{}: {p}", ledger.display());
            }
            Ok(())
        }
        LedgerCommand::Verify {
            ledger,
            public_key,
            head,
        } => {
            let public = public_key.as_deref().map(PublicKey::load).transpose()?;
            let v = reglink_release::ledger::verify(&ledger, public.as_ref(), head.as_deref())?;
            if v.problems.is_empty() {
                println!(
                    "{}: {} release(s), every entry linked to the one before and matching its bundle; head {}",
                    ledger.display(),
                    v.entries.len(),
                    v.head().unwrap_or("none")
                );
                return Ok(());
            }
            for p in &v.problems {
                eprintln!("{}: {p}", ledger.display());
            }
            Err(ui::Mismatch(format!("{} problem(s) in the ledger", v.problems.len())).into())
        }
    }
}
