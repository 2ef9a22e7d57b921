//! Snapshots of what users read: `--help` of the tool and of every
//! subcommand, error messages whose exact words matter, the `summary.md` of
//! a release and the linkage report of the example (its fixed default seed).
//!
//! The snapshots under `snapshots/` were taken from the binary as it was
//! before the crates were restructured, so they pin today's output. Filters
//! replace what changes from run to run: temporary paths (`[TMP]`), key ids
//! (`[KEY-ID]`, the key is new every run), file fingerprints (they hash
//! pseudonyms under that key) and timings. A change that is meant:
//! `INSTA_UPDATE=always cargo test -p reglink-tests --test snapshots`, then
//! review the diff of the `.snap` files.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use insta::{Settings, assert_snapshot};
use reglink_tests::{Run, example, pseudonymise, reglink};

/// Every subcommand, as its `--help` is asked for.
const SUBCOMMANDS: [&[&str]; 10] = [
    &["example"],
    &["key"],
    &["key", "new"],
    &["key", "id"],
    &["pseudonymise"],
    &["link"],
    &["run"],
    &["verify"],
    &["synth"],
    &["inspect"],
];

/// Filters for what differs between runs; `tmp` is the test's temporary
/// folder, if it has one.
fn settings(tmp: Option<&Path>) -> Settings {
    let mut settings = Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    if let Some(tmp) = tmp {
        settings.add_filter(&regex_escape(&tmp.display().to_string()), "[TMP]");
    }
    settings.add_filter(r"rk-[0-9a-f]{16}", "[KEY-ID]");
    settings.add_filter(r"blake3:[0-9a-f]{64}", "blake3:[FINGERPRINT]");
    settings.add_filter(r"\b\d+(\.\d+)?(ns|µs|ms|s)\b", "[TIME]");
    settings
}

/// `text` with the characters a regular expression treats specially escaped.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The exit code and both streams of a run, as one text.
fn shown(run: &Run) -> String {
    format!(
        "exit code: {:?}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

#[test]
fn help_of_the_tool_and_of_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    settings(None).bind(|| {
        assert_snapshot!("help", reglink!(dir.path(), &["--help"]).success().stdout);
        for command in SUBCOMMANDS {
            let mut args = command.to_vec();
            args.push("--help");
            let run = reglink!(dir.path(), &args).success();
            assert_snapshot!(format!("help-{}", command.join("-")), run.stdout);
        }
    });
}

#[test]
fn key_errors_say_what_is_wrong_and_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("eb.csv"), "personnr\n198112189876\n").unwrap();
    let key = d.join("short.key");
    fs::write(&key, [1u8; 31]).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    reglink!(d, &["key", "new", "--out", "open.key"]).success();
    fs::set_permissions(d.join("open.key"), fs::Permissions::from_mode(0o644)).unwrap();
    let args = ["--id-column", "personnr"];
    settings(Some(d)).bind(|| {
        let run = pseudonymise!(d, "short.key", "eb.csv", "out.parquet", &args);
        assert_snapshot!("error-key-of-the-wrong-length", shown(&run));
        let run = pseudonymise!(d, "open.key", "eb.csv", "out.parquet", &args);
        assert_snapshot!("error-key-readable-by-others", shown(&run));
        let run = reglink!(d, &["key", "new", "--out", "eb.csv"]);
        assert_snapshot!("error-key-new-over-a-file", shown(&run));
    });
}

#[test]
fn argument_and_output_errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("eb.csv"), "personnr\n198112189876\n").unwrap();
    reglink!(d, &["key", "new", "--out", "k.key"]).success();
    settings(Some(d)).bind(|| {
        let run = pseudonymise!(
            d,
            "k.key",
            "eb.csv",
            "missing/out.parquet",
            &["--id-column", "personnr"]
        );
        assert_snapshot!("error-output-folder-missing", shown(&run));
        let run = reglink!(d, &["link"]);
        assert_snapshot!("error-link-without-a-study", shown(&run));
        let run = reglink!(d, &["verify", "nowhere"]);
        assert_snapshot!("error-verify-a-missing-bundle", shown(&run));
    });
}

#[test]
fn summary_of_the_example_release() {
    let ex = example!();
    let summary = fs::read_to_string(ex.join("release/summary.md")).unwrap();
    settings(Some(ex)).bind(|| assert_snapshot!("example-release-summary", summary));
}

#[test]
fn linkage_report_of_the_example() {
    let ex = example!();
    let report = fs::read_to_string(ex.join("link/linkage-report.json")).unwrap();
    settings(Some(ex)).bind(|| assert_snapshot!("example-linkage-report", report));
}
