//! reglink's secondary suppression beside τ-ARGUS, for `benches/tauargus.py`.
//!
//! `prepare` links and tabulates a study once, then for every table and
//! threshold protects the table on its own with `reglink_protect::protect`
//! (timed), checks reglink's pattern with the attacker's LP, writes the same
//! table in τ-ARGUS's tabular format into `OUT/TABLE-tT/` and prints one JSON
//! line. `check` links again and reads back every τ-ARGUS result
//! (`OUT/TABLE-tT/result-METHOD.txt`), checking each pattern the same way.
//!
//! The true counts stay on the benchmark machine: this runs on synthetic
//! data, and what it prints are counts of cells and sums over them.
#![allow(clippy::print_stdout)] // JSON lines on stdout are the interface

mod argus;
mod check;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use reglink_protect::{Flag, Policy, PrimaryFlags};
use reglink_tabulate::CellTable;
use serde_json::json;

#[derive(Debug, Parser)]
#[command(about = "reglink's secondary suppression beside τ-ARGUS (JSON lines)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Protect each table with reglink, check the pattern, and write the
    /// table in τ-ARGUS's tabular format.
    Prepare {
        /// The study file.
        study: PathBuf,
        /// Where the τ-ARGUS inputs go (one folder per table and threshold).
        #[arg(long)]
        out: PathBuf,
        /// Thresholds T (cells with 1..T-1 persons are primary).
        #[arg(long = "threshold", required = true)]
        thresholds: Vec<u64>,
        /// Largest component (suppressed cells) whose exact LP is solved
        /// for a cell the crate's audit leaves unresolved (the audit's own
        /// limit is 1,000); microlp takes minutes on a few thousand.
        #[arg(long, default_value_t = reglink_protect::secondary::audit::EXACT_LIMIT)]
        exact_limit: usize,
    },
    /// Check every τ-ARGUS result under `out` with the attacker's LP.
    Check {
        /// The study file.
        study: PathBuf,
        /// The folder `prepare` wrote.
        #[arg(long)]
        out: PathBuf,
        /// Thresholds T, as given to `prepare`.
        #[arg(long = "threshold", required = true)]
        thresholds: Vec<u64>,
        /// Largest component (suppressed cells) whose exact LP is solved
        /// for a cell the crate's audit leaves unresolved (the audit's own
        /// limit is 1,000); microlp takes minutes on a few thousand.
        #[arg(long, default_value_t = reglink_protect::secondary::audit::EXACT_LIMIT)]
        exact_limit: usize,
    },
}

/// The threshold rule alone: the lenient preset (no dominance, p% or zero
/// rule) with the threshold set, and the policy's `[cost]` table from the
/// environment variable `REGLINK_BENCH_COST` if it is set (for example
/// `model = "log"`), to compare cost models on the same tables.
pub(crate) fn policy(threshold: u64) -> anyhow::Result<Policy> {
    let mut text = format!("preset = \"lenient\"\nthreshold = {threshold}\n");
    if let Ok(cost) = std::env::var("REGLINK_BENCH_COST") {
        text.push_str(&format!("[cost]\n{cost}\n"));
    }
    Ok(Policy::parse("benchmark policy", &text)?)
}

fn folder(out: &Path, table: &CellTable, threshold: u64) -> PathBuf {
    out.join(format!("{}-t{threshold}", table.name))
}

/// Sum of the persons of the cells in `cells`.
fn persons(table: &CellTable, cells: impl Iterator<Item = usize>) -> u64 {
    cells.map(|c| table.persons[c]).sum()
}

fn primary_cells(flags: &PrimaryFlags) -> Vec<bool> {
    flags.persons.iter().map(|f| f.primary()).collect()
}

fn prepare(
    tables: &[CellTable],
    out: &Path,
    thresholds: &[u64],
    exact_limit: usize,
) -> anyhow::Result<()> {
    for table in tables {
        for &t in thresholds {
            let policy = policy(t)?;
            let primary = reglink_protect::primary(table, &policy);
            let start = Instant::now();
            let release = reglink_protect::protect(std::slice::from_ref(table), &policy);
            let seconds = start.elapsed().as_secs_f64();
            let column = &release.tables[0].columns[0];
            anyhow::ensure!(column.name == "persons", "the first column is persons");
            let flags = &column.flags;
            let suppressed: Vec<bool> = flags.iter().map(|f| f.suppressed()).collect();
            let secondary: Vec<usize> = (0..flags.len())
                .filter(|&c| flags[c] == Flag::Secondary)
                .collect();
            let start = Instant::now();
            let verdict = check::pattern(
                table,
                &primary,
                &policy,
                (&suppressed, Some(&release.families)),
                exact_limit,
            );
            let check_seconds = start.elapsed().as_secs_f64();
            let dir = folder(out, table, t);
            argus::write_input(&dir, table, &primary.persons, &policy)?;
            println!(
                "{}",
                json!({
                    "table": table.name,
                    "threshold": t,
                    "method": "reglink",
                    "dimensions": table.dimensions.len(),
                    "cells": table.shape.cells(),
                    "primary": flags.iter().filter(|f| f.primary()).count(),
                    "secondary": secondary.len(),
                    "suppressed_persons": persons(table, secondary.iter().copied()),
                    "seconds": seconds,
                    "check_seconds": check_seconds,
                    "protected": verdict.protected(),
                    "under_protected": verdict.under_protected,
                    "undecided": verdict.undecided,
                    "dir": dir,
                })
            );
        }
    }
    Ok(())
}

fn check_results(
    tables: &[CellTable],
    out: &Path,
    thresholds: &[u64],
    exact_limit: usize,
) -> anyhow::Result<()> {
    for table in tables {
        for &t in thresholds {
            let policy = policy(t)?;
            let primary = reglink_protect::primary(table, &policy);
            let expected = primary_cells(&primary);
            let dir = folder(out, table, t);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut results: Vec<(String, PathBuf)> = entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let method = name.strip_prefix("result-")?.strip_suffix(".txt")?;
                    Some((method.to_string(), e.path()))
                })
                .collect();
            results.sort();
            for (method, path) in results {
                let pattern = argus::read_result(&path, table)?;
                let same_primaries = (0..expected.len())
                    .all(|c| !expected[c] || pattern.suppressed[c])
                    && pattern.primary == expected.iter().filter(|&&p| p).count();
                let verdict = check::pattern(
                    table,
                    &primary,
                    &policy,
                    (&pattern.suppressed, None),
                    exact_limit,
                );
                let secondary =
                    (0..expected.len()).filter(|&c| pattern.suppressed[c] && !expected[c]);
                println!(
                    "{}",
                    json!({
                        "table": table.name,
                        "threshold": t,
                        "method": method,
                        "cells": table.shape.cells(),
                        "primary": pattern.primary,
                        "primaries_match": same_primaries,
                        "secondary": pattern.secondary,
                        "suppressed_persons": persons(table, secondary),
                        "protected": verdict.protected(),
                        "under_protected": verdict.under_protected,
                        "undecided": verdict.undecided,
                    })
                );
            }
        }
    }
    Ok(())
}

fn tabulate(study: &Path) -> anyhow::Result<Vec<CellTable>> {
    let study =
        reglink_link::Study::load(study).with_context(|| format!("loading {}", study.display()))?;
    Ok(reglink_release::link_and_tabulate(study, &reglink_link::NoProgress)?.tables)
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Prepare {
            study,
            out,
            thresholds,
            exact_limit,
        } => prepare(&tabulate(&study)?, &out, &thresholds, exact_limit),
        Command::Check {
            study,
            out,
            thresholds,
            exact_limit,
        } => check_results(&tabulate(&study)?, &out, &thresholds, exact_limit),
    }
}
