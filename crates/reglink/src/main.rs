//! The `reglink` command-line tool. See `reglink --help`.
#![allow(clippy::print_stdout, clippy::print_stderr)] // the binary is where output belongs

mod cli;
mod commands;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    install_panic_hook();
    remove_temporaries_on_signal();
    let cli = cli::Cli::parse();
    let result = commands::run(cli);
    report_stale_temporaries();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            ui::print_error(&err);
            ExitCode::from(ui::exit_code(&err))
        }
    }
}

/// Ctrl-C, SIGTERM or SIGHUP: remove every temporary file and directory this
/// run has open (they can hold row-level data), then exit with 130.
fn remove_temporaries_on_signal() {
    let installed = ctrlc::set_handler(|| {
        reglink_extract::cleanup::remove_registered();
        eprintln!("interrupted: temporary files removed");
        std::process::exit(130);
    });
    if let Err(e) = installed {
        eprintln!("warning: cannot catch interrupts ({e}); a Ctrl-C may leave temporary files");
    }
}

/// Names what earlier, killed runs left in the places this run wrote to.
fn report_stale_temporaries() {
    for stale in reglink_extract::cleanup::take_notices() {
        if stale.removed {
            eprintln!(
                "note: removed {}, a temporary left by an interrupted run",
                stale.path.display()
            );
        } else {
            eprintln!(
                "note: {} is an earlier output that an interrupted run had set aside; check it and remove it yourself",
                stale.path.display()
            );
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
