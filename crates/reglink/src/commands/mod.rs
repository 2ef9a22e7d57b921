//! One module per subcommand.

mod example;
mod inspect;
mod key;
mod link;
mod pseudonymise;
mod run;
mod synth;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Example(args) => example::run(&args, cli.quiet),
        Command::Key(cmd) => key::run(cmd),
        Command::Pseudonymise(args) => pseudonymise::run(&args, cli.quiet),
        Command::Link(args) => link::run(&args, cli.quiet),
        Command::Run(args) => run::run(&args, cli.quiet),
        Command::Verify(args) => run::verify(&args),
        Command::Synth(args) => synth::run(&args, cli.quiet),
        Command::Inspect(args) => inspect::run(&args),
    }
}

/// Today's date (UTC), the default reference date of an extract.
pub fn today() -> reglink_pnr::Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    reglink_pnr::Date::from_days_since_epoch((secs / 86_400) as i32)
}
