//! `reglink link STUDY.toml --out DIR`: link the pseudonymised extracts and
//! write the cell tables and the linkage report.

use std::time::Instant;

use reglink_release::LinkOutcome;

use crate::cli::LinkArgs;
use crate::ui;

pub fn run(args: &LinkArgs, quiet: bool) -> anyhow::Result<()> {
    let outcome = link_study(args, quiet || args.json)?;
    if args.json {
        ui::warnings(
            quiet,
            &outcome.tabulated.linked.report.warnings,
            Some(&outcome.out.join("linkage-report.json")),
        );
        ui::print_json(&summary_json(&outcome));
    } else {
        print_summary(&outcome, quiet);
    }
    super::check_sources(&outcome.tabulated.linked.report, args.allow_empty)
}

/// [`reglink_release::link`] with progress bars, and the time it took
/// unless `quiet`.
fn link_study(args: &LinkArgs, quiet: bool) -> anyhow::Result<LinkOutcome> {
    let started = Instant::now();
    let engine = super::spark::engine(&args.engine, args.scratch.as_deref(), quiet);
    let outcome = reglink_release::link(
        &args.study,
        &args.out,
        args.memory(),
        engine.as_ref().map(|e| e as &dyn reglink_release::Engine),
        &ui::StageBars::new(quiet),
    )?;
    if !quiet {
        eprintln!("linked and tabulated in {:.1?}", started.elapsed());
    }
    Ok(outcome)
}

/// What `link --json` prints: where the output went, the linkage report
/// (as `linkage-report.json` holds it) and each table's size.
fn summary_json(o: &LinkOutcome) -> serde_json::Value {
    let tables: Vec<serde_json::Value> = o
        .tabulated
        .tables
        .iter()
        .map(|t| {
            serde_json::json!({
                "name": t.name,
                "population": t.population,
                "cells": t.shape.cells(),
                "persons": t.persons[t.shape.cells() - 1],
            })
        })
        .collect();
    serde_json::json!({
        "command": "link",
        "out": o.out,
        "linkage_report": serde_json::to_value(&o.tabulated.linked.report)
            .expect("the linkage report serialises"),
        "tables": tables,
    })
}

/// The linkage report's counts per source, the persons found in other
/// sources, each table's size, the warnings, and where the output went.
pub fn print_summary(o: &LinkOutcome, quiet: bool) {
    let report = &o.tabulated.linked.report;
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
        for t in &o.tabulated.tables {
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
