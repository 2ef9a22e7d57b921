//! Bad input through the binary: every error kind gives a clear message that
//! names the file (and row and column where there is one), a non-zero exit,
//! no partial output, and never the personnummer or key.

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
fn malformed_csv_line_names_file_row_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    new_key(dir.path());
    let mut csv = String::from("personnr,kommun\n");
    for _ in 0..100 {
        csv.push_str(&format!("{PNR},0180\n"));
    }
    csv.push_str(&format!("{PNR},0180,surplus\n"));
    fs::write(dir.path().join("eb.csv"), csv).unwrap();
    let run = pseudonymise(dir.path(), "eb.csv", &[]).failure();
    assert_mentions(&run, &["eb.csv", "row 101", "expected 2 fields", "found 3"]);
    assert_no_output(dir.path());
}

#[test]
fn unterminated_quote_is_located() {
    let dir = tempfile::tempdir().unwrap();
    new_key(dir.path());
    fs::write(
        dir.path().join("eb.csv"),
        format!("personnr,kommun\n{PNR},\"0180\n{PNR},0180\n"),
    )
    .unwrap();
    let run = pseudonymise(dir.path(), "eb.csv", &[]).failure();
    assert_mentions(&run, &["eb.csv", "row"]);
    assert_no_output(dir.path());
}

#[test]
fn missing_id_column_lists_the_columns_there_are() {
    let dir = tempfile::tempdir().unwrap();
    new_key(dir.path());
    fs::write(
        dir.path().join("af.csv"),
        format!("personnummer,kommun\n{PNR},0180\n"),
    )
    .unwrap();
    let run = pseudonymise(dir.path(), "af.csv", &[]).failure();
    assert_mentions(&run, &["af.csv", "personnr", "personnummer", "kommun"]);
    assert_no_output(dir.path());
}

#[test]
fn empty_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    new_key(dir.path());
    fs::write(dir.path().join("empty.csv"), "").unwrap();
    let run = pseudonymise(dir.path(), "empty.csv", &[]).failure();
    assert_mentions(&run, &["empty.csv", "empty"]);
    assert_no_output(dir.path());
}

#[test]
fn non_utf8_bytes_name_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    new_key(dir.path());
    let mut bytes = format!("personnr,namn\n{PNR},Anna\n{PNR},").into_bytes();
    bytes.extend_from_slice(b"G\xf6ran\n");
    fs::write(dir.path().join("lisa.csv"), bytes).unwrap();
    let run = pseudonymise(dir.path(), "lisa.csv", &[]).failure();
    assert_mentions(&run, &["lisa.csv", "row 2", "namn", "UTF-8"]);
    assert_no_output(dir.path());
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

#[test]
fn crosswalk_cycle_is_an_error_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    new_key(dir.path());
    fs::write(dir.path().join("eb.csv"), format!("personnr\n{PNR}\n")).unwrap();
    // 198112189876 -> 198112189884 -> 198112189876 (both valid numbers).
    fs::write(
        dir.path().join("cw.csv"),
        format!("old,new\n{PNR},198112189884\n198112189884,{PNR}\n"),
    )
    .unwrap();
    let run = pseudonymise(dir.path(), "eb.csv", &["--crosswalk", "cw.csv"]).failure();
    assert_mentions(&run, &["cw.csv", "cycle"]);
    assert_no_output(dir.path());
}

#[test]
fn bad_reference_date_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    new_key(dir.path());
    fs::write(dir.path().join("eb.csv"), format!("personnr\n{PNR}\n")).unwrap();
    let run = reglink_tests::pseudonymise!(
        dir.path(),
        "study.key",
        "eb.csv",
        "out.parquet",
        &["--id-column", "personnr", "--reference-date", "2026-13-01"],
    )
    .failure();
    assert_mentions(&run, &["--reference-date"]);
    assert_no_output(dir.path());
}

#[test]
fn rejected_rows_are_counted_not_fatal_and_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    new_key(dir.path());
    // Row 2 has a wrong check digit, row 3 is empty.
    fs::write(
        dir.path().join("eb.csv"),
        format!("personnr,x\n{PNR},1\n198112189877,2\n,3\n"),
    )
    .unwrap();
    let run = pseudonymise(dir.path(), "eb.csv", &[]).success();
    assert!(
        run.stdout.contains("3 rows in, 1 written, 2 rejected"),
        "{}",
        run.stdout
    );
    assert!(!run.all_output().contains("198112189877"));
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("out.rejects.json")).unwrap())
            .unwrap();
    assert_eq!(report["rows_in"], 3);
    assert_eq!(
        report["rejects"]["checksum"]["rows"],
        serde_json::json!([2])
    );
    assert_eq!(report["rejects"]["missing"]["rows"], serde_json::json!([3]));
}
