//! Exit codes, `--quiet`, and how errors read: the binary as a new user
//! meets it. The codes are those `reglink --help` and the README list.

use std::fs;
use std::path::{Path, PathBuf};

use reglink_tests::{Run, example, pseudonymise, reglink};

/// `reglink key new --out k.key` in `dir`.
fn new_key(dir: &Path) {
    reglink!(dir, &["key", "new", "--out", "k.key"]).success();
}

/// A CSV extract: a header and one row per id.
fn extract(dir: &Path, name: &str, ids: &[&str]) {
    let mut text = String::from("personnr,kommun\n");
    for id in ids {
        text.push_str(&format!("{id},0180\n"));
    }
    fs::write(dir.join(name), text).unwrap();
}

/// Valid personnummer (checked with reglink-pnr in the test below).
const VALID: [&str; 4] = [
    "198112189876",
    "194107023113",
    "197802022389",
    "200003142395",
];

#[track_caller]
fn assert_code(run: &Run, code: i32) {
    assert_eq!(
        run.code,
        Some(code),
        "expected exit {code}\nstdout: {}\nstderr: {}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn the_test_ids_are_valid() {
    for id in VALID {
        let reference = reglink_pnr::Date::new(2026, 6, 30).unwrap();
        assert!(reglink_pnr::Pnr::parse(id, reference).is_ok());
    }
}

#[test]
fn a_header_only_extract_exits_3_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    new_key(d);
    extract(d, "empty.csv", &[]);
    let run = pseudonymise!(
        d,
        "k.key",
        "empty.csv",
        "empty.parquet",
        &["--id-column", "personnr"],
    );
    assert_code(&run, 3);
    assert!(run.stderr.contains("no data rows"), "{}", run.stderr);
    assert!(run.stderr.contains("--allow-empty"), "{}", run.stderr);
    // The run did what it was asked: the (empty) output and its report exist.
    assert!(d.join("empty.parquet").exists());
    assert!(d.join("empty.rejects.json").exists());

    let run = pseudonymise!(
        d,
        "k.key",
        "empty.csv",
        "allowed.parquet",
        &["--id-column", "personnr", "--allow-empty"],
    );
    assert_code(&run, 0);
}

#[test]
fn a_column_without_one_valid_number_exits_3_and_names_the_reject_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    new_key(d);
    extract(d, "eb.csv", &VALID);
    // `kommun` exists but holds no personnummer: every row is rejected.
    let run = pseudonymise!(
        d,
        "k.key",
        "eb.csv",
        "eb.parquet",
        &["--id-column", "kommun"],
    );
    assert_code(&run, 3);
    assert!(
        run.stderr.contains("all 4 rows were rejected"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("eb.rejects.json"), "{}", run.stderr);
    assert!(!run.all_output().contains("0180"), "a value was echoed");
    // The right column: every row written, exit 0.
    let run = pseudonymise!(
        d,
        "k.key",
        "eb.csv",
        "ok.parquet",
        &["--id-column", "personnr"],
    );
    assert_code(&run, 0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn more_than_five_percent_rejected_warns_even_when_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    new_key(d);
    // 1 of 20 rejected (5 %): no warning; 2 of 20 (10 %): a warning.
    let mut ids: Vec<&str> = VALID.iter().cycle().take(19).copied().collect();
    ids.push("198112189877"); // wrong check digit
    extract(d, "five.csv", &ids);
    ids[0] = "198112189877";
    extract(d, "ten.csv", &ids);

    let run = pseudonymise!(
        d,
        "k.key",
        "five.csv",
        "five.parquet",
        &["--id-column", "personnr"],
    );
    assert_code(&run, 0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);

    let run = reglink!(
        d,
        &[
            "-q",
            "pseudonymise",
            "--key",
            "k.key",
            "--study",
            "tests",
            "--id-column",
            "personnr",
            "--in",
            "ten.csv",
            "--out",
            "ten.parquet",
            "--reference-date",
            "2026-06-30",
        ],
    );
    assert_code(&run, 0);
    assert!(
        run.stderr.contains("warning:")
            && run.stderr.contains("2 of 20 rows")
            && run.stderr.contains("ten.rejects.json"),
        "{}",
        run.stderr
    );
    assert!(!run.all_output().contains("198112189877"));
    // Quiet: the warning and one line saying where the output went.
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(run.stdout.contains("ten.parquet"), "{}", run.stdout);
}

#[test]
fn a_missing_output_folder_is_named_not_a_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    new_key(d);
    extract(d, "eb.csv", &VALID);
    let run = pseudonymise!(
        d,
        "k.key",
        "eb.csv",
        "no/such/dir/x.parquet",
        &["--id-column", "personnr"],
    );
    assert_code(&run, 2);
    assert!(
        run.stderr.contains("no/such/dir/x.parquet"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    assert!(!run.stderr.contains(".tmp"), "{}", run.stderr);
}

#[test]
fn a_cause_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    new_key(d);
    let run = pseudonymise!(
        d,
        "k.key",
        "missing.csv",
        "x.parquet",
        &["--id-column", "personnr"],
    );
    assert_code(&run, 2);
    let os_text = "No such file or directory";
    assert_eq!(
        run.stderr.matches(os_text).count(),
        1,
        "the cause appears twice:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("missing.csv"), "{}", run.stderr);
}

#[test]
fn a_crosswalk_with_the_wrong_header_gets_a_crosswalk_hint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    new_key(d);
    extract(d, "eb.csv", &VALID);
    fs::write(d.join("cw.csv"), "from,to\n").unwrap();
    let run = pseudonymise!(
        d,
        "k.key",
        "eb.csv",
        "x.parquet",
        &["--id-column", "personnr", "--crosswalk", "cw.csv"],
    );
    assert_code(&run, 2);
    let hint = run
        .stderr
        .lines()
        .find(|l| l.starts_with("hint:"))
        .unwrap_or_else(|| panic!("no hint:\n{}", run.stderr));
    assert!(hint.contains("`old`") && hint.contains("`new`"), "{hint}");
    assert!(!hint.contains("extract"), "{hint}");
}

#[test]
fn help_lists_the_exit_codes() {
    let run = reglink!(Path::new("."), &["--help"]).success();
    for line in ["0 ", "1 ", "2 ", "3 ", "101 "] {
        assert!(
            run.stdout.lines().any(|l| l.trim_start().starts_with(line)),
            "--help lacks exit code {line}:\n{}",
            run.stdout
        );
    }
}

/// A copy of the example folder whose AF extract has no rows.
fn example_without_af(d: &Path) -> PathBuf {
    let ex = example!();
    let copy = d.join("ex");
    reglink_tests::copy_tree(&ex.join("raw"), &copy.join("raw"));
    reglink_tests::copy_tree(&ex.join("pseudonymised"), &copy.join("pseudonymised"));
    fs::copy(ex.join("study.toml"), copy.join("study.toml")).unwrap();
    let af = fs::read_to_string(ex.join("raw/af.csv")).unwrap();
    let header = af.lines().next().unwrap();
    fs::write(copy.join("af-empty.csv"), format!("{header}\n")).unwrap();
    fs::remove_file(copy.join("pseudonymised/af.parquet")).unwrap();
    fs::remove_file(copy.join("pseudonymised/af.rejects.json")).unwrap();
    let key = ex.join("example.key").display().to_string();
    reglink!(
        &copy,
        &[
            "-q",
            "pseudonymise",
            "--key",
            &key,
            "--study",
            "example-eb-af-2023",
            "--id-column",
            "personnummer",
            "--in",
            "af-empty.csv",
            "--out",
            "pseudonymised/af.parquet",
            "--derive",
            "--allow-empty",
        ],
    )
    .success();
    copy
}

#[test]
fn a_source_without_a_usable_row_exits_3_from_link_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let copy = example_without_af(dir.path());

    let run = reglink!(&copy, &["-q", "link", "study.toml", "--out", "linked"]);
    assert_code(&run, 3);
    assert!(
        run.stderr.contains("no usable row in source af"),
        "{}",
        run.stderr
    );
    assert!(copy.join("linked/linkage-report.json").exists());
    let run = reglink!(
        &copy,
        &[
            "-q",
            "link",
            "study.toml",
            "--out",
            "linked2",
            "--allow-empty",
        ],
    );
    assert_code(&run, 0);

    let run = reglink!(
        &copy,
        &[
            "-q",
            "run",
            "study.toml",
            "--policy",
            "lenient",
            "--out",
            "release",
        ],
    );
    assert_code(&run, 3);
    assert!(
        run.stderr.contains("no usable row in source af"),
        "{}",
        run.stderr
    );
}

#[test]
fn verify_exits_1_when_the_bundle_does_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("release");
    reglink_tests::copy_tree(&example!().join("release"), &bundle);
    assert_code(&reglink!(dir.path(), &["verify", "release"]), 0);
    fs::write(bundle.join("summary.md"), "changed\n").unwrap();
    let run = reglink!(dir.path(), &["verify", "release"]);
    assert_code(&run, 1);
    assert!(run.stderr.contains("summary.md"), "{}", run.stderr);
}

/// With `-q`, stdout holds only the lines that say where the outputs went,
/// and stderr no timing line and at most a count of warnings.
#[track_caller]
fn assert_quiet(run: &Run, output_lines: &[&str]) {
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), output_lines.len(), "stdout:\n{}", run.stdout);
    for (line, start) in lines.iter().zip(output_lines) {
        assert!(line.starts_with(start), "stdout:\n{}", run.stdout);
    }
    for line in run.stderr.lines() {
        assert!(
            line.starts_with("warning: ") && line.contains(" warning"),
            "stderr under --quiet:\n{}",
            run.stderr
        );
    }
}

#[test]
fn quiet_prints_only_where_the_output_went() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = reglink!(d, &["-q", "example", "--preset", "tiny", "--out", "ex"]).success();
    assert_quiet(
        &run,
        &[
            "cell tables and linkage report:",
            "release bundle:",
            "report for reading:",
            "audit:",
        ],
    );

    let run = reglink!(d, &["-q", "link", "ex/study.toml", "--out", "linked"]).success();
    assert_quiet(&run, &["cell tables and linkage report:"]);
    assert!(
        run.stderr.is_empty() || run.stderr.contains("linkage-report.json"),
        "{}",
        run.stderr
    );

    let run = reglink!(
        d,
        &[
            "-q",
            "run",
            "ex/study.toml",
            "--policy",
            "acro",
            "--out",
            "release",
        ],
    )
    .success();
    assert_quiet(&run, &["release bundle:", "report for reading:", "audit:"]);

    let run = reglink!(d, &["-q", "synth", "--out", "raw"]).success();
    assert_quiet(&run, &["wrote synthetic"]);

    // Without -q the same commands say more.
    let run = reglink!(d, &["link", "ex/study.toml", "--out", "linked"]).success();
    assert!(run.stdout.lines().count() > 3);
    assert!(run.stderr.contains("linked and tabulated in"));
}
