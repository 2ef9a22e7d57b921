//! One module per subcommand.

mod example;
mod inspect;
mod key;
mod link;
mod pseudonymise;
mod run;
mod spark;
mod synth;
mod three_party;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Example(args) => example::run(&args, cli.quiet),
        Command::Key(cmd) => key::run(cmd),
        Command::Pseudonymise(args) => pseudonymise::run(&args, cli.quiet),
        Command::Link(args) => link::run(&args, cli.quiet),
        Command::LinkPart(args) => spark::link_part(&args),
        Command::Run(args) => run::run(&args, cli.quiet),
        Command::Verify(args) => run::verify(&args),
        Command::Audit(args) => run::audit(&args),
        Command::Export(args) => run::export(&args, cli.quiet),
        Command::Ledger(cmd) => run::ledger(cmd),
        Command::Source(cmd) => three_party::source(cmd, cli.quiet),
        Command::Keyholder(cmd) => three_party::keyholder(cmd),
        Command::Linker(cmd) => three_party::linker(cmd, cli.quiet),
        Command::Synth(args) => synth::run(&args, cli.quiet),
        Command::Inspect(args) => inspect::run(&args),
    }
}

/// Fails with [`crate::ui::NoUsableOutput`] if a source of the study has no
/// usable row (all rejected, outside the period, or none at all), unless
/// `allow_empty`: its tables would be zeros that look like a result.
pub fn check_sources(
    report: &reglink_link::LinkageReport,
    allow_empty: bool,
) -> anyhow::Result<()> {
    if allow_empty {
        return Ok(());
    }
    let empty: Vec<String> = report
        .sources
        .iter()
        .filter(|(_, s)| s.rows_used == 0)
        .map(|(name, s)| {
            format!(
                "{name} ({} rows read: {} rejected, {} outside the period, {} duplicates)",
                s.rows_read, s.rows_rejected, s.rows_outside_period, s.duplicates
            )
        })
        .collect();
    if empty.is_empty() {
        return Ok(());
    }
    Err(crate::ui::NoUsableOutput(format!(
        "no usable row in source {}; the output was written, but its tables count nobody from it \
         (pass --allow-empty if that is expected)",
        empty.join(", ")
    ))
    .into())
}

/// Today's date (UTC), the default reference date of an extract.
pub fn today() -> reglink_pnr::Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    reglink_pnr::Date::from_days_since_epoch((secs / 86_400) as i32)
}
