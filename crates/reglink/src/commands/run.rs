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
    let quiet = quiet || args.json;
    let sign = args.sign.as_deref().map(SigningKey::load).transpose()?;
    if let Some(ledger) = &args.ledger {
        ledger_apart(ledger, &args.out)?;
    }
    let auditor = reglink_audit::BeforeRelease {
        ledger: args.ledger.clone(),
    };
    let memory = args.memory();
    let engine = super::spark::engine(&args.engine, args.scratch.as_deref(), quiet);
    let options = RunOptions {
        study: &args.study,
        policy: &args.policy,
        out: &args.out,
        sign: sign.as_ref(),
        auditor: Some(&auditor),
        ledger: args.ledger.as_deref(),
        memory: &memory,
        engine: engine.as_ref().map(|e| e as &dyn reglink_release::Engine),
    };
    let outcome = reglink_release::run(&options, &ui::StageBars::new(quiet))?;
    ui::warnings(quiet, &outcome.release.warnings, None);
    let release = (&outcome.release, outcome.audit.as_deref());
    if !args.json {
        print_release(&outcome.tabulated.tables, release, &args.out, quiet);
    }
    let mut added = None;
    if let Some(ledger) = &args.ledger {
        let (seq, head) = reglink_release::ledger::append(ledger, &args.out, sign.as_ref())?;
        if !args.json {
            println!(
                "ledger: release {seq} added to {} (head {head})",
                ledger.display()
            );
        }
        added = Some(serde_json::json!({ "ledger": ledger, "release": seq, "head": head }));
    }
    if args.json {
        let mut summary = release_json(&outcome.tabulated.tables, release, &args.out);
        summary["command"] = "run".into();
        summary["signed_by"] = sign
            .as_ref()
            .map(|k| k.public().fingerprint().to_string())
            .into();
        summary["ledger"] = added.unwrap_or_default();
        ui::print_json(&summary);
    } else if !quiet {
        eprintln!(
            "linked, protected and released in {:.1?}",
            started.elapsed()
        );
    }
    super::check_sources(&outcome.tabulated.linked.report, args.allow_empty)
}

/// Per table: cells, and how many counts are published, suppressed by a
/// primary rule, and suppressed to protect others (as `run` prints them).
fn table_counts(tables: &[CellTable], release: &Release) -> Vec<(String, [usize; 4])> {
    tables
        .iter()
        .zip(&release.tables)
        .map(|(t, r)| {
            let flags = &r.columns[0].flags;
            let primary = flags
                .iter()
                .filter(|f| f.suppressed() && **f != Flag::Secondary)
                .count();
            let secondary = flags.iter().filter(|f| **f == Flag::Secondary).count();
            let cells = flags.len();
            (
                t.name.clone(),
                [cells, cells - primary - secondary, primary, secondary],
            )
        })
        .collect()
}

/// What `run --json` prints (and `example --json` inside its own).
pub fn release_json(
    tables: &[CellTable],
    (release, audit): (&Release, Option<&str>),
    out: &Path,
) -> serde_json::Value {
    let tables: Vec<serde_json::Value> = table_counts(tables, release)
        .into_iter()
        .map(|(name, [cells, published, primary, secondary])| {
            serde_json::json!({
                "name": name,
                "cells": cells,
                "published": published,
                "primary": primary,
                "secondary": secondary,
            })
        })
        .collect();
    serde_json::json!({
        "bundle": out,
        "report": out.join(reglink_release::report::REPORT),
        "checker_report": reglink_release::checker_dir(out),
        "tables": tables,
        "warnings": release.warnings,
        "audit": audit,
    })
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
        for (name, [cells, published, primary, secondary]) in table_counts(tables, release) {
            println!("{name:<24} {cells:>7} {published:>10} {primary:>8} {secondary:>10}");
        }
    }
    println!("release bundle: {}", out.display());
    println!(
        "report for reading: {}",
        out.join(reglink_release::report::REPORT).display()
    );
    if let Some(audit) = audit {
        let report = reglink_release::checker_dir(out).join(reglink_release::run::AUDIT_TEXT);
        println!("audit: {audit} (report: {})", report.display());
    }
}

/// The signature as `verify` and `export` report it in JSON.
fn signature_json(signed: &bundle::Signed) -> serde_json::Value {
    let (status, by) = match signed {
        bundle::Signed::Valid(by) => ("valid", Some(by)),
        bundle::Signed::Unchecked(by) => ("unchecked", Some(by)),
        bundle::Signed::No => ("unsigned", None),
        bundle::Signed::Invalid => ("invalid", None),
    };
    serde_json::json!({ "status": status, "by": by })
}

pub fn export(args: &ExportArgs, quiet: bool) -> anyhow::Result<()> {
    let public = args
        .public_key
        .as_deref()
        .map(PublicKey::load)
        .transpose()?;
    let exported = reglink_release::export::export(&args.bundle, &args.out, public.as_ref())?;
    if args.json {
        ui::print_json(&serde_json::json!({
            "command": "export",
            "bundle": args.bundle,
            "signature": signature_json(&exported.signed),
            "out": exported.dir,
            "workbook": exported.dir.join(reglink_release::export::WORKBOOK),
            "csv_sv": exported.dir.join("csv-sv"),
            "tables": exported.tables,
        }));
        return Ok(());
    }
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
    if args.json {
        ui::print_json(&serde_json::json!({
            "command": "verify",
            "bundle": args.bundle,
            "ok": verified.problems.is_empty(),
            "problems": verified.problems,
            "signature": signature_json(&verified.signed),
        }));
        if verified.problems.is_empty() {
            return Ok(());
        }
        return Err(ui::Mismatch(format!(
            "{} problem(s) in the bundle",
            verified.problems.len()
        ))
        .into());
    }
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
