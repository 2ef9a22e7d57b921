//! Data-driven cases: every folder under `fixtures/pseudonymise/` is one run
//! of `reglink pseudonymise`. Adding a case means adding a folder with an
//! `input.csv` (or `input.parquet`), any other files it names, and a
//! `case.json`:
//!
//! ```json
//! { "description": "...", "args": ["--id-column", "personnr"],
//!   "expect": { "rows_in": 3, "rows_out": 2, "rows_remapped": 0,
//!               "rejects": { "checksum": [2] }, "persons": 1 } }
//! ```
//!
//! `expect` may also list `"stdout": ["text", ...]`, texts the run must
//! print. `"expect_error": ["text", ...]` is for a run that must fail with
//! those texts on stderr and leave no output behind. Either way, nothing
//! reglink prints may hold a number of the input (nor its last ten digits).
//!
//! Each case is one named test (`fixtures NAME` runs one).

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::{Array, FixedSizeBinaryArray};
use libtest_mimic::{Arguments, Trial};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reglink_tests::{Run, listing, pseudonymise_with, reglink_bin};
use serde_json::Value;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/pseudonymise");
    let mut cases: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.json").exists())
        .collect();
    cases.sort();
    cases
}

fn distinct_pseudonyms(path: &Path) -> usize {
    let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let mut seen = HashSet::new();
    for batch in reader {
        let batch = batch.unwrap();
        let col = batch
            .column_by_name("pseudonym")
            .expect("pseudonym column")
            .as_any()
            .downcast_ref::<FixedSizeBinaryArray>()
            .expect("FixedSizeBinary pseudonyms")
            .clone();
        for i in 0..col.len() {
            seen.insert(col.value(i).to_vec());
        }
    }
    seen.len()
}

/// Runs one case with the executable `bin`; returns a description of what
/// went wrong, if anything.
fn run_case(bin: &Path, case: &Path) -> Result<(), String> {
    let spec: Value = serde_json::from_str(&fs::read_to_string(case.join("case.json")).unwrap())
        .map_err(|e| format!("case.json: {e}"))?;
    let dir = tempfile::tempdir().unwrap();
    reglink_tests::copy_tree(case, dir.path());
    reglink_tests::run(bin, dir.path(), &["key", "new", "--out", "case.key"]).success();
    let input = if dir.path().join("input.parquet").exists() {
        "input.parquet"
    } else {
        "input.csv"
    };
    let mut args: Vec<&str> = Vec::new();
    for arg in spec["args"].as_array().ok_or("case.json: `args` missing")? {
        args.push(arg.as_str().ok_or("case.json: `args` must be strings")?);
    }
    let run = pseudonymise_with(bin, dir.path(), "case.key", input, "out.parquet", &args);
    // Every number of every file of the case (the crosswalk's too).
    for file in listing(dir.path()) {
        if file.ends_with(".csv") {
            echoes_no_number(&run, &dir.path().join(file))?;
        }
    }
    let inputs: Vec<String> = fs::read_dir(case)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();

    if let Some(needles) = spec.get("expect_error") {
        if run.code != Some(2) {
            return Err(format!(
                "expected an error (exit code 2), got {:?}:\n{}{}",
                run.code, run.stdout, run.stderr
            ));
        }
        for needle in needles.as_array().ok_or("`expect_error` must be a list")? {
            let needle = needle.as_str().unwrap();
            if !run.stderr.contains(needle) {
                return Err(format!("stderr lacks {needle:?}:\n{}", run.stderr));
            }
        }
        let extra: Vec<String> = listing(dir.path())
            .into_iter()
            .filter(|f| !inputs.contains(f) && f != "case.key")
            .collect();
        if !extra.is_empty() {
            return Err(format!("failed run left files behind: {extra:?}"));
        }
        return Ok(());
    }

    if run.code != Some(0) {
        return Err(format!("reglink failed:\n{}", run.stderr));
    }
    let expect = spec
        .get("expect")
        .ok_or("case.json: `expect` or `expect_error` missing")?;
    let report: Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("out.rejects.json")).unwrap())
            .unwrap();
    for field in ["rows_in", "rows_out", "rows_remapped"] {
        if let Some(want) = expect.get(field)
            && &report[field] != want
        {
            return Err(format!(
                "{field}: report says {}, case expects {want}",
                report[field]
            ));
        }
    }
    let (rows_in, rows_out, rejected) = (
        report["rows_in"].as_u64().unwrap(),
        report["rows_out"].as_u64().unwrap(),
        report["rows_rejected"].as_u64().unwrap(),
    );
    if rows_in != rows_out + rejected {
        return Err(format!(
            "rows_in {rows_in} != rows_out {rows_out} + rejected {rejected}"
        ));
    }
    if let Some(want) = expect.get("rejects") {
        let got: BTreeMap<String, Value> = report["rejects"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(reason, r)| (reason.clone(), r["rows"].clone()))
            .collect();
        let want: BTreeMap<String, Value> = want
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if got != want {
            return Err(format!(
                "rejects: report has {got:?}, case expects {want:?}"
            ));
        }
    }
    if let Some(want) = expect.get("persons") {
        let got = distinct_pseudonyms(&dir.path().join("out.parquet"));
        if Some(got as u64) != want.as_u64() {
            return Err(format!("distinct persons: {got}, case expects {want}"));
        }
    }
    for needle in expect
        .get("stdout")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let needle = needle.as_str().ok_or("`stdout` must be strings")?;
        if !run.stdout.contains(needle) {
            return Err(format!("stdout lacks {needle:?}:\n{}", run.stdout));
        }
    }
    Ok(())
}

/// No number of the input, nor its last ten digits (the short form of a
/// personnummer), appears in what the user sees.
fn echoes_no_number(run: &Run, input: &Path) -> Result<(), String> {
    let input_text = fs::read(input).unwrap();
    let input_text = String::from_utf8_lossy(&input_text);
    for token in input_text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|t| t.len() >= 10)
    {
        if run.all_output().contains(&token[token.len() - 10..]) {
            return Err("a number from the input appears in reglink's output".to_string());
        }
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let bin = reglink_bin!();
    let cases = cases();
    assert!(!cases.is_empty(), "no fixture cases found");
    let trials = cases
        .into_iter()
        .map(|case| {
            let bin = bin.clone();
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            Trial::test(name, move || Ok(run_case(&bin, &case)?))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
