//! A full or closed stdout or stderr is an error with exit code 2, never a
//! panic (exit 101) or an abort (134) that skips the cleanup.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use reglink_tests::{REFERENCE_DATE, listing, reglink, reglink_bin};

/// `/dev/full`: every write fails with "no space left on device".
fn full() -> Stdio {
    Stdio::from(
        fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    )
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(reglink_bin!());
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1");
    cmd
}

#[test]
fn an_error_with_stderr_full_exits_with_2() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bad.toml"), "this is not a study file\n").unwrap();
    let out = command(dir.path(), &["link", "bad.toml", "--out", "x"])
        .stdout(Stdio::null())
        .stderr(full())
        .status()
        .unwrap();
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(!dir.path().join("x").exists());
}

#[test]
fn pseudonymise_with_stdout_full_is_an_error_not_a_bug() {
    let dir = tempfile::tempdir().unwrap();
    reglink!(dir.path(), &["key", "new", "--out", "study.key"]).success();
    fs::write(
        dir.path().join("eb.csv"),
        "personnr,kommun\n198112189876,0180\n",
    )
    .unwrap();
    let out = command(
        dir.path(),
        &[
            "pseudonymise",
            "--key",
            "study.key",
            "--study",
            "tests",
            "--in",
            "eb.csv",
            "--out",
            "eb.parquet",
            "--id-column",
            "personnr",
            "--reference-date",
            REFERENCE_DATE,
        ],
    )
    .stdout(full())
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
    assert!(!stderr.contains("internal error"), "{stderr}");
    // No temporary is left behind.
    let left: Vec<String> = listing(dir.path())
        .into_iter()
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
