//! The `reglink` command-line tool as a library: argument parsing, the
//! subcommands and their printing. `src/main.rs` only calls [`main`], so that
//! a copy of the tool built under another name behaves exactly the same.
#![allow(clippy::print_stdout, clippy::print_stderr)] // the binary is where output belongs

mod cli;
mod commands;
mod ui;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// Runs `reglink` with the process's arguments and returns its exit code.
pub fn main() -> ExitCode {
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
        // Never panic here: stderr may be closed, and the exit must happen.
        let _ = writeln!(std::io::stderr(), "interrupted: temporary files removed");
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

/// On a panic: remove this run's temporary files, say where, never what (a
/// panic message can quote a value of the data), and exit with 101.
///
/// `print!` panics when it cannot write (stdout on a full disk or a closed
/// pipe): that is no bug but an error like any other, reported as such with
/// exit code 2. The message is written without `eprint!`, whose own panic on a
/// closed stderr would abort the process before the exit code is set.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        reglink_extract::cleanup::remove_registered();
        let (line, code) = match failed_print(info.payload()) {
            Some(line) => (line, i32::from(ui::exit::ERROR)),
            None => (panic_message(info.location()), 101),
        };
        let _ = writeln!(std::io::stderr(), "{line}");
        std::process::exit(code);
    }));
}

/// The error line for the panic of a `print!` that could not write, if
/// `payload` is one: std's own message, which holds the stream's name and
/// the operating system's error, never the text being printed.
fn failed_print(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())?;
    let (stream, reason) = [
        ("failed printing to stdout: ", "standard output"),
        ("failed printing to stderr: ", "standard error"),
    ]
    .into_iter()
    .find_map(|(prefix, stream)| Some((stream, text.strip_prefix(prefix)?)))?;
    Some(format!("error: cannot write to {stream} ({reason})"))
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

    use super::{failed_print, panic_message};

    #[test]
    fn a_print_that_cannot_write_is_an_error_not_a_bug() {
        let full = String::from("failed printing to stdout: No space left on device (os error 28)");
        assert_eq!(
            failed_print(&full).as_deref(),
            Some("error: cannot write to standard output (No space left on device (os error 28))")
        );
        let closed = String::from("failed printing to stderr: Broken pipe (os error 32)");
        assert!(failed_print(&closed).unwrap().contains("standard error"));
        // Any other panic stays an internal error, its message withheld.
        assert_eq!(failed_print(&String::from("bad value 19900101-0017")), None);
        assert_eq!(failed_print(&"index out of bounds"), None);
        assert_eq!(failed_print(&17u32), None);
    }

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
        assert!(message.contains(&format!("lib.rs:{line}")), "{message}");
        assert!(
            !message.contains(payload) && !message.contains("bad value"),
            "{message}"
        );
        assert!(panic_message(None).contains("an unknown place"));
    }
}
