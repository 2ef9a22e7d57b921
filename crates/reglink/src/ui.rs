//! Terminal output: progress bars, errors with hints, warnings, exit codes.
//!
//! What `--quiet` leaves: errors, warnings that need action (a high share of
//! rejected rows; one line with the number of other warnings), and the last
//! line saying where the output went.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use reglink_extract::{Hint, Hinted};

/// The exit codes, documented in `reglink --help` ([`crate::cli::EXIT_CODES`])
/// and the README.
pub mod exit {
    /// `reglink verify`: the bundle does not match its manifest.
    pub const MISMATCH: u8 = 1;
    /// Any error: bad input or arguments, an unreadable or unwritable file.
    pub const ERROR: u8 = 2;
    /// The command ran, but produced no usable output (every row rejected,
    /// no rows, a source without a usable row) and `--allow-empty` was not given.
    pub const NO_USABLE_OUTPUT: u8 = 3;
}

/// The run finished and wrote its output, but nothing in it is usable:
/// exit code [`exit::NO_USABLE_OUTPUT`].
#[derive(Debug)]
pub struct NoUsableOutput(pub String);

impl std::fmt::Display for NoUsableOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoUsableOutput {}

/// `reglink verify` found files missing, changed or not listed: exit code
/// [`exit::MISMATCH`].
#[derive(Debug)]
pub struct Mismatch(pub String);

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Mismatch {}

/// The exit code for an error that ended a command.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<NoUsableOutput>()) {
        exit::NO_USABLE_OUTPUT
    } else if err.chain().any(|e| e.is::<Mismatch>()) {
        exit::MISMATCH
    } else {
        exit::ERROR
    }
}

/// Prints warnings on stderr; with `--quiet`, one line saying how many
/// there are and where they are recorded (`listed_in`), if anywhere.
/// Prints `value` as the one JSON object a `--json` run writes to stdout.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("a JSON value serialises")
    );
}

pub fn warnings(quiet: bool, warnings: &[String], listed_in: Option<&std::path::Path>) {
    if warnings.is_empty() {
        return;
    }
    if !quiet {
        for w in warnings {
            to_stderr(&format!("warning: {w}"));
        }
        return;
    }
    let n = warnings.len();
    let s = if n == 1 { "" } else { "s" };
    to_stderr(&match listed_in {
        Some(path) => format!("warning: {n} warning{s}, listed in {}", path.display()),
        None => format!("warning: {n} warning{s}; run without --quiet to see them"),
    });
}

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
    for line in error_lines(err) {
        to_stderr(&line);
    }
}

/// Writes one line to stderr. A closed or full stderr is ignored, not a panic:
/// the exit code still tells what happened.
fn to_stderr(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The lines [`print_error`] prints. A cause whose text the line above
/// already contains is left out: many errors put their source's message
/// into their own (`FILE: cannot read: No such file or directory`), and
/// the reader should not see it twice.
fn error_lines(err: &anyhow::Error) -> Vec<String> {
    let mut lines = vec![format!("error: {err}")];
    let mut shown = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !shown.contains(&text) {
            lines.push(format!("  caused by: {text}"));
        }
        shown = text;
    }
    if let Some(hint) = hint(err) {
        lines.push(format!("hint: {hint}"));
    }
    lines
}

/// The first hint any error in `err`'s chain offers.
fn hint(err: &anyhow::Error) -> Option<Hint> {
    err.chain().find_map(|e| hinted(e)?.hint())
}

/// `e` as an error that may carry a hint: one of the error types of the
/// library crates the commands call, each of which implements [`Hinted`].
fn hinted<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a dyn Hinted> {
    fn cast<'a, T: Hinted + 'static>(
        e: &'a (dyn std::error::Error + 'static),
    ) -> Option<&'a dyn Hinted> {
        e.downcast_ref::<T>().map(|e| e as &dyn Hinted)
    }
    cast::<reglink_example::ExampleError>(e)
        .or_else(|| cast::<reglink_release::ReleaseError>(e))
        .or_else(|| cast::<reglink_synth::SynthError>(e))
        .or_else(|| cast::<reglink_pseudo::PseudoError>(e))
        .or_else(|| cast::<reglink_pseudo::transcrypt::TranscryptError>(e))
        .or_else(|| cast::<reglink_link::LinkError>(e))
        .or_else(|| cast::<reglink_extract::ExtractError>(e))
        .or_else(|| cast::<reglink_extract::OutputError>(e))
        .or_else(|| cast::<reglink_keys::KeyFileError>(e))
}

/// Progress of `link`'s stages on stderr: a bar per stage, a line when it ends.
/// As an [`reglink_release::Observer`], it also prints the linkage's
/// warnings when linking ends; protecting is a stage of its own, counted in
/// primary cells protected and audited.
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

impl reglink_release::Observer for StageBars {
    fn linked(&self, linked: &reglink_link::Linkage) {
        warnings(self.quiet, &linked.report.warnings, None);
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
                to_stderr(&format!("{name}: {:.1?}", started.elapsed()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        // A real error: reading a file that is not there, as the extract
        // reader reports it (its message includes the OS error's text).
        let missing = std::path::Path::new("/no/such/dir/extract.csv");
        let source = std::fs::File::open(missing).unwrap_err();
        let os_text = source.to_string();
        let err = anyhow::Error::new(reglink_extract::ExtractError::Io {
            path: missing.to_path_buf(),
            source,
        })
        .context("could not pseudonymise");
        let lines = error_lines(&err);
        let all = lines.join("\n");
        assert_eq!(all.matches(&os_text).count(), 1, "{all}");
        assert_eq!(lines[0], "error: could not pseudonymise");
        assert!(lines[1].contains("extract.csv: cannot read"), "{all}");
    }

    #[test]
    fn a_cause_not_in_the_message_is_shown() {
        let err = anyhow::anyhow!("inner detail").context("outer");
        assert_eq!(
            error_lines(&err),
            ["error: outer", "  caused by: inner detail"]
        );
    }

    #[test]
    fn a_hint_is_found_through_every_layer_of_the_chain() {
        // An output refused by the release stage: the hint is the output
        // error's, passed on by ReleaseError under a context.
        let refused = reglink_extract::OutputError::NotOurs {
            out: "/tmp/out".into(),
            command: "reglink run",
            reason: "a file is not in the manifest".into(),
        };
        let expected = Hinted::hint(&refused).expect("a refused output has a hint");
        let err = anyhow::Error::new(reglink_release::ReleaseError::from(refused))
            .context("while releasing");
        assert_eq!(hint(&err), Some(expected.clone()));
        assert_eq!(
            error_lines(&err).last().map(String::as_str),
            Some(format!("hint: {expected}").as_str())
        );
        // A crosswalk that cannot be read gets the crosswalk's hint, not
        // the extract's.
        let missing = reglink_extract::ExtractError::MissingColumn {
            path: "cw.csv".into(),
            column: "old".into(),
            available: vec!["from".into(), "to".into()],
        };
        let extract_hint = missing.hint();
        let err = anyhow::Error::new(reglink_pseudo::PseudoError::ReadingCrosswalk(Box::new(
            reglink_pseudo::PseudoError::Extract(missing),
        )));
        let found = hint(&err).expect("a crosswalk hint");
        assert!(found.contains("`old` and `new`"), "{found}");
        assert_ne!(Some(found), extract_hint);
        assert_eq!(hint(&anyhow::anyhow!("no hint here")), None);
    }

    #[test]
    fn a_hint_is_found_through_the_example_error() {
        // The example's error passes a pseudonymisation error through
        // transparently, so that error is not itself in the chain: only
        // the example's error can say the crosswalk's hint.
        let missing = reglink_extract::ExtractError::MissingColumn {
            path: "cw.csv".into(),
            column: "old".into(),
            available: vec!["from".into(), "to".into()],
        };
        let crosswalk = reglink_pseudo::PseudoError::ReadingCrosswalk(Box::new(
            reglink_pseudo::PseudoError::Extract(missing),
        ));
        let expected = crosswalk.hint().expect("a crosswalk hint");
        let err = anyhow::Error::new(reglink_example::ExampleError::from(crosswalk))
            .context("while running the example");
        assert_eq!(hint(&err), Some(expected.clone()));
        assert_eq!(
            error_lines(&err).last().map(String::as_str),
            Some(format!("hint: {expected}").as_str())
        );
        // A refused folder, passed through the release stage and then the
        // example, both transparently.
        let refused = reglink_extract::OutputError::NotOurs {
            out: "/tmp/example/release".into(),
            command: "reglink run",
            reason: "a file is not in the manifest".into(),
        };
        let expected = Hinted::hint(&refused).expect("a refused output has a hint");
        let err = anyhow::Error::new(reglink_example::ExampleError::from(
            reglink_release::ReleaseError::from(refused),
        ));
        assert_eq!(hint(&err), Some(expected));
    }

    #[test]
    fn a_hint_is_found_through_the_synth_error() {
        // `reglink synth` refusing its folder: synth passes the output
        // error through transparently, so only it can say the hint.
        let refused = reglink_extract::OutputError::NotOurs {
            out: "/tmp/registers".into(),
            command: "reglink synth",
            reason: "a file is not in the manifest".into(),
        };
        let expected = Hinted::hint(&refused).expect("a refused output has a hint");
        let err = anyhow::Error::new(reglink_synth::SynthError::from(refused));
        assert_eq!(hint(&err), Some(expected));
    }

    #[test]
    fn exit_codes_follow_the_error() {
        let plain = anyhow::anyhow!("bad input");
        assert_eq!(exit_code(&plain), exit::ERROR);
        let empty = anyhow::Error::new(NoUsableOutput("nothing".into())).context("while linking");
        assert_eq!(exit_code(&empty), exit::NO_USABLE_OUTPUT);
        assert_eq!(
            exit_code(&anyhow::Error::new(Mismatch("x".into()))),
            exit::MISMATCH
        );
    }
}
