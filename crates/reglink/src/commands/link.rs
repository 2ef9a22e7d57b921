//! `reglink link STUDY.toml --out DIR`: link the pseudonymised extracts and
//! write the cell tables and the linkage report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use reglink_extract::{OutputKind, StagedDir};
use reglink_link::{Linked, Study};
use serde_json::json;

use crate::cli::LinkArgs;
use crate::ui;

/// What `reglink link` writes, and the manifest that proves it wrote it.
pub const OUTPUT: OutputKind = OutputKind {
    command: "reglink link",
    output: "link output",
    manifest: "link.json",
};

/// What a link run wrote.
pub struct Outcome {
    pub linked: Linked,
    pub tables: Vec<reglink_tabulate::CellTable>,
    pub out: PathBuf,
}

pub fn run(args: &LinkArgs, quiet: bool) -> anyhow::Result<()> {
    let outcome = link_study(&args.study, &args.out, quiet)?;
    print_summary(&outcome, quiet);
    super::check_sources(&outcome.linked.report, args.allow_empty)
}

/// The files a study reads, as `(role, path)`: an output may be none of
/// them and contain none of them.
pub fn study_inputs(study: &Study) -> Vec<(String, PathBuf)> {
    let mut inputs = vec![("the study file".to_string(), study.path.clone())];
    for s in &study.sources {
        inputs.push((format!("source `{}`", s.name), s.path.clone()));
    }
    for c in &study.codelists {
        inputs.push((format!("code list `{}`", c.name), c.path.clone()));
    }
    inputs
}

/// Links a loaded study and tabulates its tables in memory.
pub fn link_tables(
    study: &Study,
    quiet: bool,
) -> anyhow::Result<(Linked, Vec<reglink_tabulate::CellTable>)> {
    let bars = ui::StageBars::new(quiet);
    let linked = reglink_link::link(study, &bars)?;
    use reglink_link::Progress;
    bars.stage("tabulating", Some(study.tables.len() as u64));
    let mut tables = Vec::new();
    for (t, table) in study.tables.iter().enumerate() {
        tables.push(reglink_tabulate::tabulate(
            study,
            &linked.frame.populations[table.population],
            t,
        ));
        bars.set(t as u64 + 1);
    }
    bars.finish();
    Ok((linked, tables))
}

/// Links a study into `out`, replacing an earlier, unchanged `reglink link`
/// output there. `out` is checked before any work.
pub fn link_study(study_path: &Path, out: &Path, quiet: bool) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let study = Study::load(study_path)?;
    let staged = StagedDir::create(out, &OUTPUT, &study_inputs(&study))?;
    let (linked, tables) = link_tables(&study, quiet)?;

    let cells_dir = staged.path().join("cells");
    std::fs::create_dir(&cells_dir)
        .with_context(|| format!("{}: cannot create directory", out.join("cells").display()))?;
    for cells in &tables {
        cells.write(&cells_dir)?;
    }

    let mut report = serde_json::to_string_pretty(&linked.report)?;
    report.push('\n');
    reglink_extract::write_atomic(staged.path().join("linkage-report.json"), report.as_bytes())?;
    let study_fingerprint = reglink_extract::fingerprint_file(study_path)?;
    let manifest = json!({
        "tool": format!("reglink {}", env!("CARGO_PKG_VERSION")),
        "study": study.name,
        "study_file": study_path.display().to_string(),
        "study_file_blake3": study_fingerprint.as_str(),
        "sources": linked.inputs.iter().map(|i| json!({
            "name": i.name,
            "path": i.path.display().to_string(),
            "blake3": i.fingerprint,
            "key_id": i.key_id,
        })).collect::<Vec<_>>(),
        "tables": study.tables.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
    });
    reglink_extract::write_manifest(staged.path(), &OUTPUT, manifest)?;
    staged.commit()?;
    if !quiet {
        eprintln!("linked and tabulated in {:.1?}", started.elapsed());
    }
    Ok(Outcome {
        linked,
        tables,
        out: out.to_path_buf(),
    })
}

pub fn print_summary(o: &Outcome, quiet: bool) {
    let report = &o.linked.report;
    if !quiet {
        println!(
            "{:<8} {:>10} {:>10} {:>9} {:>9} {:>10} {:>10}",
            "source", "rows read", "used", "rejected", "outside", "duplicates", "persons"
        );
        for (name, s) in &report.sources {
            println!(
                "{:<8} {:>10} {:>10} {:>9} {:>9} {:>10} {:>10}",
                name,
                s.rows_read,
                s.rows_used,
                s.rows_rejected,
                s.rows_outside_period,
                s.duplicates,
                s.distinct_persons
            );
        }
        println!();
        for (name, s) in &report.sources {
            let matched: Vec<String> = s
                .matched
                .iter()
                .map(|(other, n)| {
                    format!(
                        "{n} in {other} ({:.0}%)",
                        100.0 * *n as f64 / s.distinct_persons.max(1) as f64
                    )
                })
                .collect();
            println!("persons in {name}: {}", matched.join(", "));
        }
        println!();
        println!(
            "{:<24} {:>8} {:>10}  population",
            "table", "cells", "persons"
        );
        for t in &o.tables {
            let total_cell = t.shape.cells() - 1; // every dimension at its total
            println!(
                "{:<24} {:>8} {:>10}  {}",
                t.name,
                t.shape.cells(),
                t.persons[total_cell],
                t.population
            );
        }
    }
    ui::warnings(
        quiet,
        &report.warnings,
        Some(&o.out.join("linkage-report.json")),
    );
    println!("cell tables and linkage report: {}", o.out.display());
}
