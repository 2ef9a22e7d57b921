//! `reglink pseudonymise`.

use anyhow::{Context, bail};
use reglink_pnr::Date;
use reglink_pseudo::{Crosswalk, MasterKey, PseudonymiseOptions, PseudonymiseReport};

use crate::cli::PseudonymiseArgs;
use crate::ui;

pub fn run(args: &PseudonymiseArgs, quiet: bool) -> anyhow::Result<()> {
    let reference = match &args.reference_date {
        Some(text) => match Date::parse_iso(text) {
            Some(d) => d,
            None => bail!("--reference-date: `{text}` is not a date of the form YYYY-MM-DD"),
        },
        None => super::today(),
    };
    let key = MasterKey::load(&args.key)?;
    let study = key.study_key(&args.study)?;
    let crosswalk = args
        .crosswalk
        .as_deref()
        .map(|p| Crosswalk::load(p, reference))
        .transpose()
        .context("could not read the crosswalk")?;
    let mut opts = PseudonymiseOptions::new(&args.input, &args.out, &args.id_column, reference);
    opts.derive_columns = args.derive;
    opts.batch_size = args.batch_size;
    opts.passthrough = !args.reencode;
    let bar = ui::row_spinner(quiet, "pseudonymising");
    let report = reglink_pseudo::pseudonymise(&opts, &study, crosswalk.as_ref(), &|rows| {
        bar.set_position(rows)
    });
    bar.finish_and_clear();
    let report = report?;
    print_summary(&report, quiet);
    Ok(())
}

pub fn print_summary(report: &PseudonymiseReport, quiet: bool) {
    if quiet {
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
    println!("  wrote {}", report.output);
    println!(
        "  reject report {}",
        reglink_pseudo::pipeline::report_path(std::path::Path::new(&report.output)).display()
    );
}
