//! An extract exported without its header row: its first row, holding a
//! personnummer, would be read as the header. The binary refuses it, and the
//! number reaches no output, no report and no message.

use std::fs;
use std::path::Path;

use reglink_tests::{Run, listing, reglink};

/// The number in the first row (Skatteverket's test range).
const FIRST: &str = "197909134277";

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    reglink!(dir.path(), &["key", "new", "--out", "study.key"]).success();
    fs::write(
        dir.path().join("eb.csv"),
        format!("{FIRST},0180\n198112189876,0181\n"),
    )
    .unwrap();
    dir
}

/// Every file in `dir` apart from the key and the input, and what it holds.
fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    listing(dir)
        .into_iter()
        .filter(|name| name != "study.key" && name != "eb.csv")
        .map(|name| {
            let bytes = fs::read(dir.join(&name)).unwrap_or_default();
            (name, bytes)
        })
        .collect()
}

#[track_caller]
fn assert_withheld(run: &Run, dir: &Path) {
    for needle in [FIRST, &FIRST[2..], "4277"] {
        assert!(
            !run.all_output().contains(needle),
            "the message shows the number:\n{}",
            run.all_output()
        );
    }
    let left = outputs(dir);
    assert!(
        left.is_empty(),
        "output written: {:?}",
        left.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
}

#[test]
fn the_number_as_id_column_is_refused_and_written_nowhere() {
    let dir = setup();
    let run = reglink_tests::pseudonymise!(
        dir.path(),
        "study.key",
        "eb.csv",
        "out.parquet",
        &["--id-column", FIRST],
    )
    .failure();
    assert!(run.stderr.contains("eb.csv"), "{}", run.stderr);
    assert!(run.stderr.contains("header row"), "{}", run.stderr);
    assert_withheld(&run, dir.path());
}

#[test]
fn a_header_row_holding_a_number_names_the_column_position() {
    let dir = setup();
    // The second column's name ("0180") is an ordinary short code; the first is the number.
    let run = reglink_tests::pseudonymise!(
        dir.path(),
        "study.key",
        "eb.csv",
        "out.parquet",
        &["--id-column", "0180"],
    )
    .failure();
    assert!(
        run.stderr.contains("eb.csv") && run.stderr.contains("column 1"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no header row"), "{}", run.stderr);
    assert_withheld(&run, dir.path());
}
