//! The release bundle of a protected table: its CSV and Parquet carry the
//! same values with public flags only, a suppressed value reads the same
//! whatever the reason, and the checker report keeps the reasons.

use std::collections::HashMap;

use arrow_array::{Array, Float64Array, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reglink_protect::perturb::cell_key::Design;
use reglink_protect::{Flag, Method, Policy, protect};
use reglink_release::bundle::{self, Provenance};
use reglink_release::checker::checker_report;
use reglink_tabulate::CellTable;
use reglink_tabulate::testing::{Inner, table};

fn policy(method: Method, threshold: u64) -> Policy {
    let mut p = Policy::preset("lenient").expect("a preset");
    p.threshold = threshold;
    p.min_median_contributors = threshold;
    p.method = method;
    p
}

fn provenance() -> Provenance {
    Provenance {
        tool: "reglink test".into(),
        study: "s".into(),
        study_file: "s.toml".into(),
        study_blake3: "0".repeat(64),
        inputs: Vec::new(),
    }
}

/// A fixed table with shares of 1/3 and 2/3 and small cells, so that every
/// rule and full-precision value turn up.
fn fixed_table() -> CellTable {
    let inner: Vec<Inner> = [(30, 10), (3, 1), (0, 0), (45, 30), (12, 4), (7, 7)]
        .iter()
        .enumerate()
        .map(|(i, &(persons, num))| Inner {
            persons,
            num,
            den: persons,
            contributions: (0..persons as i64).map(|x| 100 + 7 * x).collect(),
            key: 0x9e37_79b9u32.wrapping_mul(i as u32 + 1),
        })
        .collect();
    table(3, 2, &inner)
}

/// The bundle's CSV of table `t` as (header, rows).
fn read_csv(dir: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(dir.join("tables/t.csv")).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn read_parquet(dir: &std::path::Path) -> arrow_array::RecordBatch {
    let file = std::fs::File::open(dir.join("tables/t.parquet")).unwrap();
    let mut reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    reader.next().unwrap().unwrap()
}

#[test]
fn csv_and_parquet_carry_the_same_values_and_only_public_flags() {
    let t = fixed_table();
    for m in [
        Method::Suppression,
        Method::Rounding { base: 5 },
        Method::CellKey {
            max: 2,
            variance: 1.0,
            ptable: Design::Gaussian,
        },
        Method::CellKey {
            max: 2,
            variance: 1.0,
            ptable: Design::TenFive,
        },
    ] {
        let policy = policy(m, 10);
        let release = protect(std::slice::from_ref(&t), &policy);
        let dir = tempfile::tempdir().unwrap();
        bundle::write(
            dir.path(),
            std::slice::from_ref(&t),
            &release,
            &policy,
            (&provenance(), None),
        )
        .unwrap();
        let (header, rows) = read_csv(dir.path());
        let batch = read_parquet(dir.path());
        let mut compared = 0;
        for (i, name) in header.iter().enumerate() {
            let array = batch
                .column_by_name(name)
                .unwrap_or_else(|| panic!("{m:?}: no Parquet column {name}"));
            if let Some(values) = array.as_any().downcast_ref::<Float64Array>() {
                for (r, row) in rows.iter().enumerate() {
                    let parquet = (!values.is_null(r)).then(|| values.value(r));
                    let csv = match row[i].as_str() {
                        ".." | "" => None,
                        v => Some(v.parse::<f64>().unwrap()),
                    };
                    assert_eq!(parquet, csv, "{m:?}: {name}, row {r}");
                    compared += usize::from(csv.is_some());
                }
            } else if name.ends_with("_flag") {
                let flags = array.as_any().downcast_ref::<StringArray>().unwrap();
                for (r, row) in rows.iter().enumerate() {
                    assert_eq!(flags.value(r), row[i], "{m:?}: {name}, row {r}");
                    assert!(
                        ["published", "rounded", "perturbed", "suppressed"]
                            .contains(&row[i].as_str()),
                        "{m:?}: {name}, row {r}: flag {}",
                        row[i]
                    );
                }
            }
        }
        assert!(compared > 10, "{m:?}: only {compared} values compared");
        // No rule's name is counted or listed anywhere in the bundle (the
        // policy's own parameters, such as `threshold`, aside).
        let rules: Vec<&str> = Flag::ALL
            .iter()
            .filter(|f| f.suppressed())
            .map(|f| f.as_str())
            .collect();
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("tables/t.json")).unwrap(),
        )
        .unwrap();
        for (column, counts) in meta["flags"].as_object().unwrap() {
            for flag in counts.as_object().unwrap().keys() {
                assert!(
                    ["published", "rounded", "perturbed", "suppressed"].contains(&flag.as_str()),
                    "{m:?}: t.json counts the flag {flag} of {column}"
                );
            }
        }
        let mut manifest: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("manifest.json")).unwrap(),
        )
        .unwrap();
        manifest.as_object_mut().unwrap().remove("policy");
        let text = manifest.to_string();
        for rule in &rules {
            assert!(
                !text.contains(&format!("\"{rule}\"")),
                "{m:?}: manifest.json names the rule {rule}: {text}"
            );
        }
        let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
        for rule in &rules {
            assert!(
                !summary.contains(&format!("`{rule}`")) && !summary.contains(&format!(" {rule} |")),
                "{m:?}: summary.md names the rule {rule}:\n{summary}"
            );
        }
        let manifest: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("manifest.json")).unwrap(),
        )
        .unwrap();
        for family in manifest["secondary_suppression"].as_array().unwrap() {
            let mut keys: Vec<&str> = family
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                ["cells", "exact_audit", "family", "suppressed"],
                "{m:?}"
            );
            // Of the exact audit, only that it ran and how many cells it did
            // not find protected: never the narrowest interval nor how many
            // cells it checked (the number of primary cells).
            let mut audit: Vec<&str> = family["exact_audit"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            audit.sort_unstable();
            assert_eq!(audit, ["not_protected", "scope"], "{m:?}");
        }
    }
}

#[test]
fn a_suppressed_value_reads_the_same_whatever_the_reason() {
    let t = fixed_table();
    let policy = policy(Method::Suppression, 10);
    let release = protect(std::slice::from_ref(&t), &policy);
    // The release holds cells suppressed by a primary rule and by secondary
    // suppression ...
    let reasons: HashMap<Flag, usize> =
        release.tables[0].columns[0]
            .flags
            .iter()
            .fold(HashMap::new(), |mut m, f| {
                *m.entry(*f).or_default() += 1;
                m
            });
    assert!(reasons.contains_key(&Flag::Threshold), "{reasons:?}");
    assert!(reasons.contains_key(&Flag::Secondary), "{reasons:?}");
    // ... and the bundle shows them alike.
    let dir = tempfile::tempdir().unwrap();
    bundle::write(
        dir.path(),
        std::slice::from_ref(&t),
        &release,
        &policy,
        (&provenance(), None),
    )
    .unwrap();
    let (header, rows) = read_csv(dir.path());
    let (value, flag) = (
        header.iter().position(|h| h == "persons").unwrap(),
        header.iter().position(|h| h == "persons_flag").unwrap(),
    );
    let flags = &release.tables[0].columns[0].flags;
    for (r, row) in rows.iter().enumerate() {
        if flags[r].suppressed() {
            assert_eq!(
                (row[value].as_str(), row[flag].as_str()),
                ("..", "suppressed")
            );
        }
    }
    // The checker report keeps the reasons, marked internal.
    let report = checker_report(std::slice::from_ref(&t), &release, &policy, &provenance());
    let json: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(
        json["internal"]
            .as_str()
            .unwrap()
            .contains("not for publication")
    );
    assert!(report.trim_start().starts_with("{\n  \"internal\""));
    let persons = &json["tables"][0]["columns"][0];
    assert_eq!(persons["name"], "persons");
    let listed = persons["suppressed"].as_array().unwrap();
    assert_eq!(
        listed.len(),
        flags.iter().filter(|f| f.suppressed()).count()
    );
    for entry in listed {
        let cell = entry["cell"].as_object().unwrap();
        let position = |d: usize, name: &str| {
            let code = cell[name].as_str().unwrap();
            (0..t.dimensions[d].positions())
                .find(|&p| t.dimensions[d].position(p).0 == code)
                .unwrap()
        };
        let (a, b) = (position(0, "a"), position(1, "b"));
        let c = (0..t.shape.cells())
            .find(|&c| t.shape.position(c, 0) == a && t.shape.position(c, 1) == b)
            .unwrap();
        assert_eq!(entry["reason"], flags[c].as_str());
    }
    assert_eq!(
        json["reasons"]["threshold"].as_u64().unwrap() as usize,
        release.tables[0]
            .columns
            .iter()
            .flat_map(|c| &c.flags)
            .filter(|f| **f == Flag::Threshold)
            .count()
    );
}

/// An auditor that checks what it is shown and passes or fails as told.
#[derive(Debug)]
struct Told {
    fail: bool,
}

impl bundle::Auditor for Told {
    fn audit(&self, dir: &std::path::Path) -> Result<bundle::Audited, String> {
        // The tables and a provisional manifest, not yet the summary.
        assert!(dir.join("tables/t.csv").is_file());
        assert!(dir.join("manifest.json").is_file());
        assert!(!dir.join("summary.md").exists());
        let verified = bundle::verify(dir, None).map_err(|e| e.to_string())?;
        assert!(verified.problems.is_empty(), "{:?}", verified.problems);
        Ok(bundle::Audited {
            section: "## Audit\n\nthe told section\n".into(),
            text: "the told report\n".into(),
            json: "{}\n".into(),
            headline: "told".into(),
            failure: self.fail.then(|| "t values: told to fail".into()),
            repair: Vec::new(),
        })
    }
}

#[test]
fn a_failed_audit_publishes_nothing_and_a_passed_one_ends_the_summary() {
    use reglink_release::{ReleaseDirs, ReleaseError, checker_dir, release};
    let t = fixed_table();
    let policy = policy(Method::Suppression, 10);
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("release");
    let tables = std::slice::from_ref(&t);
    let run = |fail: bool| {
        let dirs = ReleaseDirs::create(&out, &[]).unwrap();
        release(
            (tables, &[]),
            (&provenance(), None),
            (&policy, Some(&Told { fail })),
            dirs,
            &reglink_link::NoProgress,
        )
        .map_err(Box::new)
    };
    let err = run(true).unwrap_err();
    assert!(
        matches!(&*err, ReleaseError::AuditFailed { reason } if reason.contains("told to fail")),
        "{err}"
    );
    // Nothing published, nothing staged left behind.
    let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");

    let (_, headline) = run(false).unwrap();
    assert_eq!(headline.as_deref(), Some("told"));
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        summary.ends_with("\n## Audit\n\nthe told section\n"),
        "{summary}"
    );
    let checker = checker_dir(&out);
    assert_eq!(
        std::fs::read_to_string(checker.join("audit.txt")).unwrap(),
        "the told report\n"
    );
    // The final manifest lists the summary written after the audit.
    let verified = bundle::verify(&out, None).unwrap();
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains("summary.md"));
    // A later failed release leaves the earlier one as it was.
    let before = std::fs::read(out.join("manifest.json")).unwrap();
    run(true).unwrap_err();
    assert_eq!(std::fs::read(out.join("manifest.json")).unwrap(), before);
    assert!(checker.join("audit.txt").is_file());
}
