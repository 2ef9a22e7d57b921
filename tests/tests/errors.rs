//! Bad keys and output paths through the binary: a clear message that names
//! the file, a non-zero exit, no partial output, and never the personnummer
//! or key. Errors in an extract or crosswalk themselves are cases under
//! `fixtures/pseudonymise/` (run by `fixtures.rs`); study-file and policy
//! errors are cases under `fixtures/errors/` (run by `error_cases.rs`).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use reglink_tests::{Run, listing, reglink};

/// A valid personnummer (Skatteverket's documentation example).
const PNR: &str = "198112189876";

fn new_key(dir: &Path) {
    reglink!(dir, &["key", "new", "--out", "study.key"]).success();
}

fn pseudonymise(dir: &Path, input: &str, extra: &[&str]) -> Run {
    let mut args = vec!["--id-column", "personnr"];
    args.extend_from_slice(extra);
    reglink_tests::pseudonymise!(dir, "study.key", input, "out.parquet", &args)
}

#[track_caller]
fn assert_no_output(dir: &Path) {
    let left: Vec<String> = listing(dir)
        .into_iter()
        .filter(|name| {
            name.starts_with("out") || name.starts_with(".tmp") || name.contains("rejects")
        })
        .collect();
    assert!(left.is_empty(), "partial output left behind: {left:?}");
}

#[track_caller]
fn assert_mentions(run: &Run, needles: &[&str]) {
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            run.stderr
        );
    }
    assert!(
        !run.all_output().contains(PNR),
        "output leaks a personnummer:\n{}",
        run.all_output()
    );
    assert!(
        !run.all_output().contains(&PNR[2..]),
        "output leaks a personnummer:\n{}",
        run.all_output()
    );
}

#[test]
fn wrong_length_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("study.key");
    fs::write(&key, [1u8; 31]).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(dir.path().join("eb.csv"), format!("personnr\n{PNR}\n")).unwrap();
    let run = pseudonymise(dir.path(), "eb.csv", &[]).failure();
    assert_mentions(&run, &["study.key", "31 bytes"]);
    assert_no_output(dir.path());
}

#[test]
fn key_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    new_key(dir.path());
    let key = dir.path().join("study.key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(dir.path().join("eb.csv"), format!("personnr\n{PNR}\n")).unwrap();
    let run = pseudonymise(dir.path(), "eb.csv", &[]).failure();
    assert_mentions(&run, &["study.key", "644", "chmod 600"]);
    assert_no_output(dir.path());
}

#[test]
fn key_new_is_0600_prints_only_the_id_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let run = reglink!(dir.path(), &["key", "new", "--out", "k.key"]).success();
    let key = dir.path().join("k.key");
    let bytes = fs::read(&key).unwrap();
    assert_eq!(bytes.len(), 32);
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!run.all_output().to_lowercase().contains(&hex[..16]));
    let id = reglink!(dir.path(), &["key", "id", "k.key"]).success();
    assert!(id.stdout.trim().starts_with("rk-"));
    assert!(
        run.stdout.contains(id.stdout.trim()),
        "key new and key id disagree"
    );

    let again = reglink!(dir.path(), &["key", "new", "--out", "k.key"]).failure();
    assert!(again.stderr.contains("k.key"), "{}", again.stderr);
    assert_eq!(fs::read(&key).unwrap(), bytes, "existing key was touched");
}

#[test]
fn unwritable_output_path_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    new_key(dir.path());
    fs::write(dir.path().join("eb.csv"), format!("personnr\n{PNR}\n")).unwrap();
    let locked = dir.path().join("locked");
    fs::create_dir(&locked).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o500)).unwrap();
    let run = reglink_tests::pseudonymise!(
        dir.path(),
        "study.key",
        "eb.csv",
        "locked/out.parquet",
        &["--id-column", "personnr"],
    );
    // Root ignores directory permissions; the missing-directory case below
    // covers unwritable paths there.
    if run.code != Some(0) {
        assert_mentions(&run, &["locked"]);
        assert!(listing(&locked).is_empty());
    }
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).unwrap();

    let run = reglink_tests::pseudonymise!(
        dir.path(),
        "study.key",
        "eb.csv",
        "missing/out.parquet",
        &["--id-column", "personnr"],
    )
    .failure();
    assert_mentions(&run, &["missing"]);
}
