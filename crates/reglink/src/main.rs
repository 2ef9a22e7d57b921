//! The `reglink` command-line tool. See `reglink --help`.
#![allow(clippy::print_stdout, clippy::print_stderr)] // the binary is where output belongs

mod cli;
mod commands;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            ui::print_error(&err);
            ExitCode::from(2)
        }
    }
}
