//! Snapshots of what users read: `--help` of the tool and of every
//! subcommand, and error messages whose exact words matter. (The example's
//! `summary.md` and linkage report are snapshots in `release.rs` and
//! `link.rs`, which make the example run anyway.)
//!
//! The snapshots under `snapshots/` were taken from the binary as it was
//! before the crates were restructured, so they pin today's output;
//! [`reglink_tests::snapshot_settings`] filters what changes from run to
//! run. A change that is meant: `INSTA_UPDATE=always cargo test -p
//! reglink-tests`, then review the diff of the `.snap` files. To take them
//! from another executable, set `REGLINK_BIN` to a copy named `reglink`:
//! older builds print the executable's own name in their usage lines.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use insta::assert_snapshot;
use reglink_tests::{Run, pseudonymise, reglink, snapshot_settings as settings};

/// Every subcommand, as its `--help` is asked for.
const SUBCOMMANDS: [&[&str]; 13] = [
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
    &["source", "encrypt"],
    &["keyholder", "transcrypt"],
    &["linker", "open"],
];

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
