//! `reglink pseudonymise`.

use anyhow::bail;
use reglink_pnr::Date;
use reglink_pseudo::{Crosswalk, MasterKey, PseudoError, PseudonymiseOptions, PseudonymiseReport};

use crate::cli::PseudonymiseArgs;
use crate::ui;

pub fn run(args: &PseudonymiseArgs, quiet: bool) -> anyhow::Result<()> {
    let quiet = quiet || args.json;
    check_outputs(args)?;
    let reference = reference_date(args.reference_date.as_deref())?;
    let key = MasterKey::load(&args.key)?;
    let study = key.study_key(&args.study)?;
    let crosswalk = crosswalk(args.crosswalk.as_deref(), reference)?;
    let mut opts = PseudonymiseOptions::new(&args.input, &args.out, &args.id_column, reference);
    opts.derive_columns = args.derive;
    opts.batch_size = args.batch_size;
    opts.passthrough = !args.reencode;
    check_out_folder(&args.out)?;
    let bar = ui::row_spinner(quiet, "pseudonymising");
    let report = reglink_pseudo::pseudonymise(&opts, &study, crosswalk.as_ref(), &|rows| {
        bar.set_position(rows)
    });
    bar.finish_and_clear();
    let report = report?;
    if args.json {
        ui::print_json(&summary_json(&report));
    } else {
        print_summary(&report, quiet);
    }
    check_rejects(&report, args.allow_empty)
}

/// Above this share of rejected rows, `pseudonymise` warns (even with `--quiet`).
pub const WARN_REJECTED_SHARE: f64 = 0.05;

/// Warns when more than [`WARN_REJECTED_SHARE`] of the rows were rejected, and
/// fails with [`ui::NoUsableOutput`] when nothing was written, unless
/// `allow_empty`.
pub fn check_rejects(report: &PseudonymiseReport, allow_empty: bool) -> anyhow::Result<()> {
    let rejects = reglink_pseudo::pipeline::report_path(std::path::Path::new(&report.output));
    if report.rows_out == 0 && !allow_empty {
        let what = if report.rows_in == 0 {
            format!("{}: the extract has no data rows", report.input)
        } else {
            format!(
                "{}: all {} rows were rejected (counts per reason: {}); check --id-column `{}` and --reference-date",
                report.input,
                report.rows_in,
                rejects.display(),
                report.id_column
            )
        };
        return Err(ui::NoUsableOutput(format!(
            "{what}; {} holds no rows (pass --allow-empty if that is expected)",
            report.output
        ))
        .into());
    }
    let share = report.rows_rejected as f64 / report.rows_in.max(1) as f64;
    if share > WARN_REJECTED_SHARE {
        eprintln!(
            "warning: {}: {} of {} rows ({:.1} %) rejected, more than {:.0} %; counts per reason: {}",
            report.input,
            report.rows_rejected,
            report.rows_in,
            100.0 * share,
            100.0 * WARN_REJECTED_SHARE,
            rejects.display()
        );
    }
    Ok(())
}

/// `--reference-date`, or today.
pub fn reference_date(text: Option<&str>) -> anyhow::Result<Date> {
    match text {
        Some(text) => match Date::parse_iso(text) {
            Some(d) => Ok(d),
            None => bail!("--reference-date: `{text}` is not a date of the form YYYY-MM-DD"),
        },
        None => Ok(super::today()),
    }
}

/// `--crosswalk`, if given, read with the extract's reference date.
pub fn crosswalk(
    path: Option<&std::path::Path>,
    reference: Date,
) -> anyhow::Result<Option<Crosswalk>> {
    let crosswalk = path
        .map(|p| Crosswalk::load(p, reference))
        .transpose()
        .map_err(|e| PseudoError::ReadingCrosswalk(Box::new(e)))?;
    Ok(crosswalk)
}

/// The folder `--out` goes into must exist: an error naming it, rather than
/// the temporary file that would have been written there.
pub fn check_out_folder(out: &std::path::Path) -> anyhow::Result<()> {
    let folder = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if !folder.is_dir() {
        bail!(
            "{}: cannot write: the folder {} does not exist",
            out.display(),
            folder.display()
        );
    }
    Ok(())
}

/// What `pseudonymise --json` prints: the counts of the reject report
/// without its row numbers.
fn summary_json(report: &PseudonymiseReport) -> serde_json::Value {
    let rejects = reglink_pseudo::pipeline::report_path(std::path::Path::new(&report.output));
    let per_reason: serde_json::Map<String, serde_json::Value> = report
        .rejects
        .iter()
        .map(|(reason, r)| (reason.to_string(), r.count.into()))
        .collect();
    serde_json::json!({
        "command": "pseudonymise",
        "input": report.input,
        "output": report.output,
        "reject_report": rejects,
        "study": report.study,
        "key_id": report.key_id.to_string(),
        "rows_in": report.rows_in,
        "rows_written": report.rows_out,
        "rows_rejected": report.rows_rejected,
        "rows_renumbered": report.rows_remapped,
        "rejected": per_reason,
    })
}

pub fn print_summary(report: &PseudonymiseReport, quiet: bool) {
    let rejects = reglink_pseudo::pipeline::report_path(std::path::Path::new(&report.output));
    if quiet {
        println!(
            "wrote {}, reject report {}",
            report.output,
            rejects.display()
        );
        return;
    }
    println!(
        "{}: {} rows in, {} written, {} rejected, {} renumbered by the crosswalk (key {}, study {:?})",
        report.input,
        report.rows_in,
        report.rows_out,
        report.rows_rejected,
        report.rows_remapped,
        report.key_id,
        report.study,
    );
    for (reason, rejects) in &report.rejects {
        println!("  rejected ({reason}): {}", rejects.count);
    }
    println!(
        "wrote {}, reject report {}",
        report.output,
        rejects.display()
    );
}

/// Before any work: the output and its reject report may not be one of the
/// inputs, and replace an existing file only with `--force`.
fn check_outputs(args: &PseudonymiseArgs) -> anyhow::Result<()> {
    let mut inputs = vec![
        ("the extract".to_string(), args.input.clone()),
        ("the key".to_string(), args.key.clone()),
    ];
    if let Some(c) = &args.crosswalk {
        inputs.push(("the crosswalk".to_string(), c.clone()));
    }
    let report = reglink_pseudo::pipeline::report_path(&args.out);
    for path in [&args.out, &report] {
        reglink_extract::check_new_file(path, args.force, &inputs)?;
    }
    Ok(())
}
