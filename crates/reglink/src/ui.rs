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
        } else if let Some(e) = e.downcast_ref::<reglink_link::LinkError>() {
            e.hint().map(str::to_string)
        } else if let Some(e) = e.downcast_ref::<reglink_extract::ExtractError>() {
            e.hint().map(str::to_string)
        } else {
            None
        }
    })
}

/// Progress of `link`'s stages on stderr: a bar per stage, a line when it ends.
pub struct StageBars {
    quiet: bool,
    current: std::sync::Mutex<Option<(String, ProgressBar, std::time::Instant)>>,
}

impl StageBars {
    pub fn new(quiet: bool) -> StageBars {
        StageBars {
            quiet,
            current: std::sync::Mutex::new(None),
        }
    }
}

impl reglink_link::Progress for StageBars {
    fn stage(&self, name: &str, total: Option<u64>) {
        let bar = if self.quiet {
            ProgressBar::hidden()
        } else if let Some(total) = total {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{msg:<14} [{bar:30}] {percent:>3}% ({elapsed})")
                    .expect("static template")
                    .progress_chars("=> "),
            );
            bar
        } else {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .expect("static template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        };
        bar.set_message(name.to_string());
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        *current = Some((name.to_string(), bar, std::time::Instant::now()));
    }

    fn set(&self, done: u64) {
        if let Some((_, bar, _)) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            bar.set_position(done);
        }
    }

    fn finish(&self) {
        if let Some((name, bar, started)) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            bar.finish_and_clear();
            if !self.quiet {
                eprintln!("{name}: {:.1?}", started.elapsed());
            }
        }
    }
}
