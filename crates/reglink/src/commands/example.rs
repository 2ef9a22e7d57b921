//! `reglink example`: the embedded default study, end to end as far as the
//! pipeline reaches: synthetic registers -> key -> pseudonymise -> link and
//! tabulate the example study -> summary and one table.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use reglink_extract::{OutputKind, SetAside};
use reglink_pseudo::{Crosswalk, MasterKey, PseudonymiseOptions, PseudonymiseReport};
use reglink_synth::{Format, Options, Preset};

use crate::cli::ExampleArgs;
use crate::ui;

/// The study name the example's pseudonyms are keyed to.
const STUDY: &str = "example-eb-af-2023";
/// The manifest that marks a directory as made by `reglink example` and
/// lists its files, so a re-run may replace it while nothing else is there.
const MANIFEST: &str = "example.json";

/// The example study (the tables of docs/background.md) on the synthetic registers.
const EXAMPLE_STUDY: &str = include_str!("../../../../fixtures/studies/example/study.toml");

/// The example's disclosure policy (ACRO's defaults).
const EXAMPLE_POLICY: &str = include_str!("../../../../fixtures/policies/example.toml");

/// The three raw extracts and the name of their identifier columns.
const EXTRACTS: [(&str, &str); 3] = [
    ("eb", "personnr"),
    ("af", "personnummer"),
    ("lisa", "PersonNr"),
];

pub fn run(args: &ExampleArgs, quiet: bool) -> anyhow::Result<()> {
    let out = &args.out;
    let example_dir = ExampleDir::prepare(out)?;
    let raw = out.join("raw");
    let pseudo_dir = out.join("pseudonymised");
    std::fs::create_dir_all(&pseudo_dir)
        .with_context(|| format!("{}: cannot create directory", pseudo_dir.display()))?;

    let say = |s: String| {
        if !quiet {
            println!("{s}");
        }
    };

    say(format!(
        "1/5 synthetic registers (preset tiny, seed {}) -> {}",
        args.seed,
        raw.display()
    ));
    reglink_synth::generate(&Options {
        preset: Preset::Tiny,
        seed: args.seed,
        format: Format::Csv,
        out_dir: raw.clone(),
    })
    .context("could not generate the synthetic registers")?;

    let key_path = out.join("example.key");
    let key = MasterKey::generate()?;
    key.write_new_file(&key_path)?;
    say(format!(
        "2/5 master key {} (mode 0600, id {})",
        key_path.display(),
        key.id()
    ));

    let reference = reglink_synth::extraction_date();
    let study = key.study_key(STUDY)?;
    let crosswalk = Crosswalk::load(&raw.join("crosswalk.csv"), reference)?;
    say(format!(
        "3/5 pseudonymising for study {STUDY:?} with {} crosswalk entries",
        crosswalk.entries()
    ));
    let mut reports = Vec::new();
    for (name, id_column) in EXTRACTS {
        let mut opts = PseudonymiseOptions::new(
            raw.join(format!("{name}.csv")),
            pseudo_dir.join(format!("{name}.parquet")),
            id_column,
            reference,
        );
        opts.derive_columns = true;
        let bar = ui::row_spinner(quiet, name);
        let report =
            reglink_pseudo::pseudonymise(&opts, &study, Some(&crosswalk), &|n| bar.set_position(n));
        bar.finish_and_clear();
        reports.push((name, report?));
    }
    if !quiet {
        print_summary(&reports, &pseudo_dir)?;
    }

    let study_path = out.join("study.toml");
    reglink_extract::write_atomic(&study_path, EXAMPLE_STUDY.as_bytes())?;
    say(format!(
        "\n4/5 linking and tabulating the example study {} (overlap, equal terms, exits, durations, outcomes, amounts)",
        study_path.display()
    ));
    let outcome = super::link::link_study(&study_path, &out.join("link"), quiet)?;
    super::link::print_summary(&outcome, quiet);

    let policy_path = out.join("policy.toml");
    reglink_extract::write_atomic(&policy_path, EXAMPLE_POLICY.as_bytes())?;
    let policy =
        reglink_protect::Policy::parse(&policy_path.display().to_string(), EXAMPLE_POLICY)?;
    let release_dir = out.join("release");
    say(format!(
        "\n5/5 disclosure control under {} (preset {}) and the release bundle",
        policy_path.display(),
        policy.preset
    ));
    let tabulated = &outcome.tabulated;
    let dirs = reglink_release::ReleaseDirs::create(
        &release_dir,
        &reglink_release::study_inputs(&tabulated.study),
    )?;
    let release = reglink_release::release(tabulated, &policy, dirs, &ui::StageBars::new(quiet))?;
    ui::warnings(quiet, &release.warnings, None);
    if !quiet {
        print_table(&tabulated.tables, &release)?;
    }
    super::run::print_release(&tabulated.tables, &release, &release_dir, quiet);
    example_dir.finish(args.seed)
}

/// What `reglink example` writes, and the manifest that proves it.
const OUTPUT: OutputKind = OutputKind {
    command: "reglink example",
    output: "example folder",
    manifest: MANIFEST,
};

/// An example folder being written in place. An earlier example there is
/// set aside (proven unchanged first) and removed only once the new one is
/// finished; if the run fails or is interrupted, the new folder is removed
/// and the earlier one put back.
struct ExampleDir {
    path: PathBuf,
    /// Registered for removal on a signal, and removed on drop until the
    /// manifest is written.
    unfinished: Option<reglink_extract::cleanup::Registration>,
    earlier: Option<SetAside>,
}

impl ExampleDir {
    /// Creates `out`, setting aside an earlier, unchanged `reglink example`
    /// output there; anything else in the way is an error.
    fn prepare(out: &Path) -> anyhow::Result<ExampleDir> {
        reglink_extract::check_replaceable(out, &OUTPUT)?;
        let earlier = match std::fs::symlink_metadata(out) {
            Ok(_) => Some(SetAside::new(out, &OUTPUT)?),
            Err(_) => None,
        };
        std::fs::create_dir_all(out)
            .with_context(|| format!("{}: cannot create directory", out.display()))?;
        Ok(ExampleDir {
            path: out.to_path_buf(),
            unfinished: Some(reglink_extract::cleanup::register(out)),
            earlier,
        })
    }

    /// Writes the manifest that lets a later run replace the folder, and
    /// removes the earlier example.
    fn finish(mut self, seed: u64) -> anyhow::Result<()> {
        reglink_extract::write_manifest(
            &self.path,
            &OUTPUT,
            serde_json::json!({ "made_by": "reglink example", "seed": seed }),
        )?;
        self.unfinished = None;
        if let Some(earlier) = self.earlier.take() {
            earlier.discard()?;
        }
        Ok(())
    }
}

impl Drop for ExampleDir {
    fn drop(&mut self) {
        if let Some(registration) = self.unfinished.take() {
            registration.remove();
        }
        // The target is free again: dropping puts the earlier example back.
        self.earlier.take();
    }
}

fn print_summary(reports: &[(&str, PseudonymiseReport)], dir: &Path) -> anyhow::Result<()> {
    println!();
    println!(
        "{:<6} {:>9} {:>9} {:>9} {:>11} {:>9}",
        "file", "rows in", "written", "rejected", "renumbered", "persons"
    );
    let mut persons: Vec<HashSet<u128>> = Vec::new();
    for (name, report) in reports {
        let set = reglink_extract::pseudonymised::pseudonym_set(Path::new(&report.output))?;
        println!(
            "{:<6} {:>9} {:>9} {:>9} {:>11} {:>9}",
            name,
            report.rows_in,
            report.rows_out,
            report.rows_rejected,
            report.rows_remapped,
            set.len()
        );
        persons.push(set);
    }
    if let [eb, af, lisa] = persons.as_slice() {
        let both = eb.intersection(af).count();
        let in_lisa = eb.intersection(lisa).count();
        println!();
        println!(
            "EB recipients (2023-2025) also registered at AF: {both} of {} ({:.0}%)",
            eb.len(),
            100.0 * both as f64 / eb.len().max(1) as f64
        );
        println!(
            "EB recipients found in the LISA-style file: {in_lisa} of {}",
            eb.len()
        );
    }
    println!();
    println!(
        "pseudonymised extracts and reject reports: {}",
        dir.display()
    );
    Ok(())
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
