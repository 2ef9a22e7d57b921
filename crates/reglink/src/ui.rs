//! Terminal output: progress bars, errors with hints.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A row counter on stderr; hidden with `--quiet` or when stderr is not a terminal.
pub fn row_spinner(quiet: bool, label: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {human_pos} rows ({per_sec}, {elapsed})")
            .expect("static template"),
    );
    bar.set_message(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Prints an error chain and the first hint any layer offers.
pub fn print_error(err: &anyhow::Error) {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    if let Some(hint) = hint(err) {
        eprintln!("hint: {hint}");
    }
}

fn hint(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|e| {
        if let Some(e) = e.downcast_ref::<reglink_pseudo::PseudoError>() {
            e.hint()
        } else if let Some(e) = e.downcast_ref::<reglink_extract::ExtractError>() {
            e.hint().map(str::to_string)
        } else {
            None
        }
    })
}
