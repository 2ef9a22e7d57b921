//! `--json` prints one JSON object on stdout and nothing else, with the same
//! figures the text output and the files give, for `pseudonymise`, `link`,
//! `run`, `verify` and `export`.

use std::fs;

use reglink_tests::{example, reglink};
use serde_json::Value;

/// Runs `args` in the example folder; stdout must be exactly one JSON object.
fn json(args: &[&str], ok: bool) -> Value {
    let run = reglink!(example!(), args);
    assert_eq!(run.code == Some(0), ok, "{args:?}: {}", run.stderr);
    let value: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: stdout is not one JSON value ({e}):\n{}",
            run.stdout
        )
    });
    assert!(value.is_object());
    value
}

#[test]
fn pseudonymise_reports_the_reject_report_counts() {
    let v = json(
        &[
            "pseudonymise",
            "--key",
            "example.key",
            "--study",
            "json-test",
            "--id-column",
            "personnr",
            "--in",
            "raw/eb.csv",
            "--out",
            "json-eb.parquet",
            "--reference-date",
            "2024-12-31",
            "--json",
        ],
        true,
    );
    assert_eq!(v["command"], "pseudonymise");
    let (rows_in, written, rejected) = (
        v["rows_in"].as_u64().unwrap(),
        v["rows_written"].as_u64().unwrap(),
        v["rows_rejected"].as_u64().unwrap(),
    );
    assert_eq!(rows_in, written + rejected);
    let per_reason: u64 = v["rejected"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(per_reason, rejected);
    let report: Value = serde_json::from_str(
        &fs::read_to_string(example!().join(v["reject_report"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(report["rows_in"], v["rows_in"]);
}

#[test]
fn link_reports_the_linkage_report_and_the_tables() {
    let v = json(
        &["link", "study.toml", "--out", "json-link", "--json"],
        true,
    );
    assert_eq!(v["command"], "link");
    let written: Value = serde_json::from_str(
        &fs::read_to_string(example!().join("json-link/linkage-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(v["linkage_report"]["sources"], written["sources"]);
    let study = fs::read_to_string(example!().join("study.toml")).unwrap();
    assert_eq!(
        v["tables"].as_array().unwrap().len(),
        study.matches("\n[[tables]]\n").count()
    );
    assert!(v["tables"][0]["cells"].as_u64().unwrap() > 0);
}

#[test]
fn run_verify_and_export_report_what_they_did() {
    let v = json(
        &[
            "run",
            "study.toml",
            "--policy",
            "acro",
            "--out",
            "json-release",
            "--json",
        ],
        true,
    );
    assert_eq!(v["command"], "run");
    assert!(
        v["audit"].as_str().unwrap().starts_with("review")
            || v["audit"].as_str().unwrap().starts_with("pass")
    );
    let manifest: Value = serde_json::from_str(
        &fs::read_to_string(example!().join("json-release/manifest.json")).unwrap(),
    )
    .unwrap();
    let names: Vec<&Value> = v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["name"])
        .collect();
    let listed: Vec<&Value> = manifest["tables"].as_array().unwrap().iter().collect();
    assert_eq!(names, listed);
    for t in v["tables"].as_array().unwrap() {
        let sum = ["published", "primary", "secondary"]
            .iter()
            .map(|k| t[k].as_u64().unwrap())
            .sum::<u64>();
        assert_eq!(sum, t["cells"].as_u64().unwrap(), "{t}");
    }

    let v = json(&["verify", "json-release", "--json"], true);
    assert_eq!(v["ok"], true);
    assert_eq!(v["signature"]["status"], "unsigned");

    let v = json(
        &["export", "json-release", "--out", "json-excel", "--json"],
        true,
    );
    assert_eq!(v["command"], "export");
    assert!(example!().join(v["workbook"].as_str().unwrap()).is_file());

    // A changed file: verify says so in JSON and exits 1.
    reglink_tests::copy_tree(
        &example!().join("json-release"),
        &example!().join("json-changed"),
    );
    fs::write(example!().join("json-changed/summary.md"), "changed\n").unwrap();
    let v = json(&["verify", "json-changed", "--json"], false);
    assert_eq!(v["ok"], false);
    assert!(
        v["problems"][0].as_str().unwrap().contains("summary.md"),
        "{v}"
    );
}
