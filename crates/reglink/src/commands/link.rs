//! `reglink link STUDY.toml --out DIR`: link the pseudonymised extracts and
//! write the cell tables and the linkage report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use reglink_link::{Linked, Study};
use serde_json::json;

use crate::cli::LinkArgs;
use crate::ui;

/// The file that marks a directory as written by `reglink link`.
pub const MANIFEST: &str = "link.json";

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

/// Links a study and tabulates its tables in memory.
pub fn link_tables(
    study_path: &Path,
    quiet: bool,
) -> anyhow::Result<(Study, Linked, Vec<reglink_tabulate::CellTable>)> {
    let study = Study::load(study_path)?;
    let bars = ui::StageBars::new(quiet);
    let linked = reglink_link::link(&study, &bars)?;
    use reglink_link::Progress;
    bars.stage("tabulating", Some(study.tables.len() as u64));
    let mut tables = Vec::new();
    for (t, table) in study.tables.iter().enumerate() {
        tables.push(reglink_tabulate::tabulate(
            &study,
            &linked.frame.populations[table.population],
            t,
        ));
        bars.set(t as u64 + 1);
    }
    bars.finish();
    Ok((study, linked, tables))
}

/// Links a study into `out`, replacing an earlier `reglink link` output there.
pub fn link_study(study_path: &Path, out: &Path, quiet: bool) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let (study, linked, tables) = link_tables(study_path, quiet)?;

    // Everything is written into a temporary directory beside `out`, then renamed.
    let tmp = temp_beside(out, ".reglink-link-")?;
    let cells_dir = tmp.path().join("cells");
    std::fs::create_dir(&cells_dir)
        .with_context(|| format!("{}: cannot create directory", cells_dir.display()))?;
    for cells in &tables {
        cells.write(&cells_dir)?;
    }

    let mut report = serde_json::to_string_pretty(&linked.report)?;
    report.push('\n');
    reglink_extract::write_atomic(tmp.path().join("linkage-report.json"), report.as_bytes())?;
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
    let mut manifest = serde_json::to_string_pretty(&manifest)?;
    manifest.push('\n');
    reglink_extract::write_atomic(tmp.path().join(MANIFEST), manifest.as_bytes())?;

    replace_dir_marked(tmp, out, MANIFEST, "reglink link")?;
    if !quiet {
        eprintln!("linked and tabulated in {:.1?}", started.elapsed());
    }
    Ok(Outcome {
        linked,
        tables,
        out: out.to_path_buf(),
    })
}

/// A temporary directory beside `out`, for writing into before the rename.
pub fn temp_beside(out: &Path, prefix: &str) -> anyhow::Result<tempfile::TempDir> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("{}: cannot create directory", parent.display()))?;
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .with_context(|| format!("{}: cannot create a temporary directory", parent.display()))
}

/// Moves the finished temporary directory to `out`. An existing `out` is
/// replaced only if it holds `marker` (an earlier output of the same
/// command) or is empty.
pub fn replace_dir_marked(
    tmp: tempfile::TempDir,
    out: &Path,
    marker: &str,
    command: &str,
) -> anyhow::Result<()> {
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .with_context(|| format!("{}: cannot read directory", out.display()))?
            .next()
            .is_none();
        if !empty && !out.join(marker).exists() {
            bail!(
                "{}: exists and was not written by `{command}`; choose another --out",
                out.display()
            );
        }
        std::fs::remove_dir_all(out)
            .with_context(|| format!("{}: cannot replace the earlier output", out.display()))?;
    }
    let path = tmp.keep();
    std::fs::rename(&path, out)
        .with_context(|| format!("{}: cannot move the output into place", out.display()))?;
    Ok(())
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
