//! `reglink example`: the embedded example study end to end on synthetic
//! data ([`reglink_example::example`]), printed as it goes: each step, the
//! pseudonymised extracts' summary, the linkage summary, one released table
//! and the release's counts.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use anyhow::Context;
use indicatif::ProgressBar;
use reglink_example::{ExampleError, ExampleObserver, ExampleOptions, PersonCounts, Step};
use reglink_pseudo::PseudonymiseReport;

use crate::cli::ExampleArgs;
use crate::ui;

pub fn run(args: &ExampleArgs, quiet: bool) -> anyhow::Result<()> {
    let auditor = reglink_audit::BeforeRelease::default();
    let options = ExampleOptions {
        out: &args.out,
        seed: args.seed,
        preset: args.preset.parse()?,
        auditor: Some(&auditor),
    };
    let outcome = reglink_example::example(&options, &Printer::new(quiet))?;
    let (tables, release) = (&outcome.link.tabulated.tables, &outcome.release);
    ui::warnings(quiet, &release.warnings, None);
    if !quiet {
        print_table(tables, release)?;
    }
    super::run::print_release(
        tables,
        (release, outcome.audit.as_deref()),
        &outcome.release_dir,
        quiet,
    );
    Ok(())
}

/// Prints each step of the example as it comes, with the progress bars of
/// pseudonymising, linking and protecting.
struct Printer {
    quiet: bool,
    stages: ui::StageBars,
    /// The row counter of the extract being pseudonymised.
    extract: Mutex<Option<ProgressBar>>,
    /// When linking started.
    linking: Mutex<Option<Instant>>,
}

impl Printer {
    fn new(quiet: bool) -> Printer {
        Printer {
            quiet,
            stages: ui::StageBars::new(quiet),
            extract: Mutex::new(None),
            linking: Mutex::new(None),
        }
    }

    /// A line on stdout, unless `--quiet`.
    fn say(&self, line: &str) {
        if !self.quiet {
            println!("{line}");
        }
    }
}

impl ExampleObserver for Printer {
    fn step(&self, step: Step<'_>) -> Result<(), ExampleError> {
        match step {
            Step::Registers { seed, preset, dir } => self.say(&format!(
                "1/5 synthetic registers (preset {preset}, seed {seed}) -> {}",
                dir.display()
            )),
            Step::Key { path, id } => self.say(&format!(
                "2/5 master key {} (mode 0600, id {id})",
                path.display()
            )),
            Step::Pseudonymising {
                study,
                crosswalk_entries,
            } => self.say(&format!(
                "3/5 pseudonymising for study {study:?} with {crosswalk_entries} crosswalk entries"
            )),
            Step::Extract { name } => {
                *lock(&self.extract) = Some(ui::row_spinner(self.quiet, name));
            }
            Step::Extracted => {
                if let Some(bar) = lock(&self.extract).take() {
                    bar.finish_and_clear();
                }
            }
            Step::Pseudonymised { reports, dir } if !self.quiet => {
                print_summary(reports, &reglink_example::count_persons(reports)?, dir);
            }
            Step::Linking { study } => {
                self.say(&format!(
                    "\n4/5 linking and tabulating the example study {} (overlap, equal terms, exits, durations, outcomes, amounts)",
                    study.display()
                ));
                *lock(&self.linking) = Some(Instant::now());
            }
            Step::Linked(outcome) => {
                if let (false, Some(started)) = (self.quiet, *lock(&self.linking)) {
                    eprintln!("linked and tabulated in {:.1?}", started.elapsed());
                }
                super::link::print_summary(outcome, self.quiet);
            }
            Step::Protecting { policy, preset } => self.say(&format!(
                "\n5/5 disclosure control under {} (preset {preset}) and the release bundle",
                policy.display()
            )),
            _ => {}
        }
        Ok(())
    }

    fn rows(&self, rows: u64) {
        if let Some(bar) = lock(&self.extract).as_ref() {
            bar.set_position(rows);
        }
    }
}

impl reglink_release::Observer for Printer {
    fn linked(&self, linked: &reglink_link::Linkage) {
        self.stages.linked(linked);
    }

    fn protecting(&self) {
        self.stages.protecting();
    }

    fn protected(&self) {
        self.stages.protected();
    }
}

impl reglink_link::Progress for Printer {
    fn stage(&self, name: &str, total: Option<u64>) {
        self.stages.stage(name, total);
    }

    fn set(&self, done: u64) {
        self.stages.set(done);
    }

    fn finish(&self) {
        self.stages.finish();
    }
}

/// The mutex's value, even if a thread panicked while holding it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Per extract: rows in, written, rejected, renumbered, and distinct
/// persons; then how many EB recipients the other files hold.
fn print_summary(reports: &[(&str, PseudonymiseReport)], persons: &PersonCounts, dir: &Path) {
    println!();
    println!(
        "{:<6} {:>9} {:>9} {:>9} {:>11} {:>9}",
        "file", "rows in", "written", "rejected", "renumbered", "persons"
    );
    for ((name, report), n) in reports.iter().zip(&persons.per_extract) {
        println!(
            "{:<6} {:>9} {:>9} {:>9} {:>11} {:>9}",
            name, report.rows_in, report.rows_out, report.rows_rejected, report.rows_remapped, n
        );
    }
    if let Some(overlap) = persons.eb_overlap {
        println!();
        println!(
            "EB recipients (2023-2025) also registered at AF: {} of {} ({:.0}%)",
            overlap.in_af,
            overlap.eb,
            100.0 * overlap.in_af as f64 / overlap.eb.max(1) as f64
        );
        println!(
            "EB recipients found in the LISA-style file: {} of {}",
            overlap.in_lisa, overlap.eb
        );
    }
    println!();
    println!(
        "pseudonymised extracts and reject reports: {}",
        dir.display()
    );
}

/// Prints the equal-terms table (2023, both sexes) from the release, as a
/// researcher receives it.
fn print_table(
    tables: &[reglink_tabulate::CellTable],
    release: &reglink_protect::Release,
) -> anyhow::Result<()> {
    let Some(t) = tables.iter().position(|t| t.name == "t2_equal_terms") else {
        return Ok(());
    };
    let (table, released) = (&tables[t], &release.tables[t]);
    let column = |name: &str| {
        released
            .columns
            .iter()
            .find(|c| c.name == name)
            .with_context(|| format!("t2_equal_terms has no column {name}"))
    };
    let (persons, any, guarantee) = (
        column("persons")?,
        column("any_programme")?,
        column("guarantee")?,
    );
    let dim = |name: &str| {
        table
            .dimensions
            .iter()
            .position(|d| d.name == name)
            .with_context(|| format!("t2_equal_terms has no dimension {name}"))
    };
    let (year, group, sex) = (dim("year")?, dim("benefit_group")?, dim("sex")?);
    let code = |cell: usize, d: usize| {
        table.dimensions[d]
            .position(table.shape.position(cell, d))
            .0
            .to_string()
    };
    // As the bundle writes it: the published decimals, `..` for any reason.
    let show = |c: &reglink_protect::release::Column, cell: usize, unit: &str| match c.values[cell]
    {
        _ if c.flags[cell].public() == reglink_protect::PublicFlag::Suppressed => "..".to_string(),
        Some(v) => format!("{v:.prec$}{unit}", prec = c.decimals),
        None => String::new(),
    };
    println!();
    println!(
        "{} — 2023, women and men",
        table.title.as_deref().unwrap_or(&table.name)
    );
    println!(
        "(as released: `..` = suppressed by disclosure control; the flag is the count's, as the bundle gives it)"
    );
    println!(
        "{:<14} {:>8} {:>15} {:>12}  flag",
        "group", "persons", "any programme", "guarantee"
    );
    for cell in 0..table.shape.cells() {
        if code(cell, year) == "2023" && code(cell, sex) == reglink_tabulate::TOTAL {
            let g = code(cell, group);
            let label = if g == reglink_tabulate::TOTAL {
                "all".to_string()
            } else {
                g
            };
            println!(
                "{:<14} {:>8} {:>15} {:>12}  {}",
                label,
                show(persons, cell, ""),
                show(any, cell, "%"),
                show(guarantee, cell, "%"),
                persons.flags[cell].public().as_str()
            );
        }
    }
    Ok(())
}
