//! The `reglink` command-line tool. See `reglink --help`.
#![allow(clippy::print_stdout, clippy::print_stderr)] // the binary is where output belongs

mod cli;
mod commands;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    install_panic_hook();
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            ui::print_error(&err);
            ExitCode::from(ui::exit_code(&err))
        }
    }
}

/// On a panic: say where, never what (a panic message can quote a value of
/// the data), remove this run's temporary files, and exit with 101.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{}", panic_message(info.location()));
        reglink_extract::cleanup::remove_registered();
        std::process::exit(101);
    }));
}

/// The one line printed for a panic: its location only.
fn panic_message(location: Option<&std::panic::Location<'_>>) -> String {
    let at = location.map_or_else(
        || "an unknown place".to_string(),
        |l| format!("{}:{}", l.file(), l.line()),
    );
    format!(
        "error: internal error at {at} (this is a bug in reglink; the message is withheld because it may contain data)"
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::panic_message;

    #[test]
    fn a_panic_prints_its_location_and_never_its_payload() {
        static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|info| {
            SEEN.lock().unwrap().push(panic_message(info.location()));
        }));
        let payload = "19900101-0017";
        let line = line!() + 1;
        let caught = std::panic::catch_unwind(|| panic!("bad value {payload}"));
        std::panic::set_hook(previous);
        assert!(caught.is_err());
        let seen = SEEN.lock().unwrap();
        let message = seen.last().expect("the hook ran");
        assert!(
            message.starts_with("error: internal error at "),
            "{message}"
        );
        assert!(message.ends_with("may contain data)"), "{message}");
        assert!(message.contains(&format!("main.rs:{line}")), "{message}");
        assert!(
            !message.contains(payload) && !message.contains("bad value"),
            "{message}"
        );
        assert!(panic_message(None).contains("an unknown place"));
    }
}
