//! `reglink run` and `reglink verify` through the binary: what a release
//! bundle holds, that it is deterministic and verifiable, the alternatives
//! to suppression. Bad policies are cases under `fixtures/errors/policy/`.
//!
//! One `reglink example` run provides pseudonymised data and the example
//! study; each test writes its own bundles next to it. The scan of every
//! bundle file for pseudonyms and personnummer is in `link.rs`
//! (`output_holds_aggregates_only`), which covers the example's bundle.

use std::fs;
use std::path::Path;

use reglink_tests::{Run, example, files_below, listing, reglink};
use serde_json::Value;

/// `reglink run study.toml --policy POLICY --out OUT` in the example's folder;
/// `policy` is written to a file first when it is TOML.
fn run(policy: &str, out: &Path) -> Run {
    let ex = example!();
    let policy_arg = if policy.contains('=') {
        let path = out.with_extension("policy.toml");
        fs::write(&path, policy).unwrap();
        path.display().to_string()
    } else {
        policy.to_string()
    };
    reglink!(
        ex,
        &[
            "run",
            "study.toml",
            "--policy",
            &policy_arg,
            "--out",
            out.to_str().unwrap(),
        ],
    )
}

/// A bundle CSV as rows of named fields.
fn table(bundle: &Path, name: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(bundle.join(format!("tables/{name}.csv"))).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

fn manifest(bundle: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(bundle.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn a_bundle_holds_tables_descriptions_summary_report_and_manifest_only() {
    let bundle = example!().join("release");
    assert_eq!(
        listing(&bundle),
        ["manifest.json", "report.html", "summary.md", "tables"]
    );
    let m = manifest(&bundle);
    let names: Vec<&str> = m["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let study = fs::read_to_string(example!().join("study.toml")).unwrap();
    assert_eq!(names.len(), study.matches("\n[[tables]]\n").count());
    let mut expected: Vec<String> = names
        .iter()
        .flat_map(|n| ["csv", "json", "parquet"].map(|e| format!("{n}.{e}")))
        .collect();
    expected.sort();
    assert_eq!(listing(&bundle.join("tables")), expected);
    // The manifest: tool, policy, study hash, inputs with key id, every file's hash.
    assert!(m["tool"].as_str().unwrap().starts_with("reglink "));
    assert_eq!(m["policy"]["preset"], "acro");
    assert!(m["study_file_blake3"].as_str().unwrap().len() >= 64);
    let inputs = m["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    assert!(
        inputs
            .iter()
            .all(|i| i["key_id"].as_str().is_some_and(|k| !k.is_empty()))
    );
    assert_eq!(m["files"].as_array().unwrap().len(), 3 * names.len() + 2);
    // No column of any table is row-level: every column is a dimension, its
    // label, or a published value with its flag.
    for n in &names {
        let rows = table(&bundle, n);
        let meta: Value = serde_json::from_str(
            &fs::read_to_string(bundle.join(format!("tables/{n}.json"))).unwrap(),
        )
        .unwrap();
        let dims: Vec<&str> = meta["dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        for c in rows[0].keys() {
            let base = c.strip_suffix("_label").or(c.strip_suffix("_flag"));
            let ok = dims.contains(&c.as_str())
                || base.is_some_and(|b| dims.contains(&b) || rows[0].contains_key(b))
                || rows[0].contains_key(&format!("{c}_flag"));
            assert!(
                ok,
                "{n} has a column {c} that is neither a dimension nor a flagged value"
            );
            assert!(
                !["pseudonym", "hushall_id", "record_key_sum", "personnummer"]
                    .contains(&c.as_str()),
                "{n} has a column {c}"
            );
        }
        // No published count of persons below the threshold.
        for row in &rows {
            if row["persons_flag"] == "published" {
                let v: u64 = row["persons"].parse().unwrap();
                assert!(v >= 10, "{n}: published count {v} below the threshold");
            } else {
                assert_eq!(row["persons"], "..", "{n}");
            }
        }
    }
    let summary = fs::read_to_string(bundle.join("summary.md")).unwrap();
    assert!(summary.contains("| t1_overlap | persons |"), "{summary}");
}

#[test]
fn a_suppressed_cell_says_only_that_it_is_suppressed() {
    let rows = table(&example!().join("release"), "t1_overlap");
    let count = |flag: &str| rows.iter().filter(|r| r["persons_flag"] == flag).count();
    assert!(count("suppressed") > 0 && count("published") > 0);
    for r in &rows {
        for (column, flag) in r.iter().filter(|(c, _)| c.ends_with("_flag")) {
            assert!(
                ["published", "suppressed"].contains(&flag.as_str()),
                "t1_overlap: {column} = {flag}"
            );
        }
        // A share of a suppressed cell is suppressed with it.
        if r["persons_flag"] != "published" {
            assert_eq!(r["at_af"], "..");
            assert_eq!(r["at_af_flag"], "suppressed");
        }
    }
    // The reasons are in the checker report beside the release, not in it.
    let report: Value = serde_json::from_str(
        &fs::read_to_string(example!().join("release.checker/checker-report.json")).unwrap(),
    )
    .unwrap();
    assert!(report["internal"].as_str().unwrap().starts_with("INTERNAL"));
    let t1 = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "t1_overlap")
        .unwrap();
    let persons = &t1["columns"][0];
    assert_eq!(persons["name"], "persons");
    assert_eq!(
        persons["suppressed"].as_array().unwrap().len(),
        count("suppressed")
    );
    // ACRO: zeros are disclosive; small cells need partners.
    for reason in ["zero", "threshold", "secondary"] {
        assert!(
            persons["reasons"][reason].as_u64().is_some_and(|n| n > 0),
            "t1_overlap: no {reason} in {}",
            persons["reasons"]
        );
    }
}

/// A Parquet column's values as the CSV would spell them: `None` for null.
fn parquet_values(bundle: &Path, name: &str) -> Vec<(String, Vec<Option<f64>>)> {
    use arrow_array::{Array, Float64Array, Int64Array};
    let file = fs::File::open(bundle.join(format!("tables/{name}.parquet"))).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out: Vec<(String, Vec<Option<f64>>)> = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let schema = batch.schema();
        for (field, array) in schema.fields().iter().zip(batch.columns()) {
            // A value column has a flag column; counts and sums are Int64.
            if schema.index_of(&format!("{}_flag", field.name())).is_err() {
                continue;
            }
            let values: Vec<Option<f64>> =
                if let Some(v) = array.as_any().downcast_ref::<Float64Array>() {
                    (0..v.len())
                        .map(|i| (!v.is_null(i)).then(|| v.value(i)))
                        .collect()
                } else if let Some(v) = array.as_any().downcast_ref::<Int64Array>() {
                    (0..v.len())
                        .map(|i| (!v.is_null(i)).then(|| v.value(i) as f64))
                        .collect()
                } else {
                    panic!(
                        "{name}: value column {} is {}",
                        field.name(),
                        field.data_type()
                    );
                };
            let column = match out.iter_mut().find(|(n, _)| n == field.name()) {
                Some((_, v)) => v,
                None => {
                    out.push((field.name().clone(), Vec::new()));
                    &mut out.last_mut().unwrap().1
                }
            };
            column.extend(values);
        }
    }
    out
}

#[test]
fn csv_and_parquet_carry_the_same_published_values_under_every_method() {
    let dir = tempfile::tempdir().unwrap();
    let policies = [
        ("acro", "acro"),
        ("abs", "abs"),
        ("lenient", "lenient"),
        (
            "rounding",
            "preset = \"abs\"\nmethod = \"rounding\"\nrounding_base = 5\n",
        ),
        ("cell_key", "preset = \"abs\"\nmethod = \"cell_key\"\n"),
    ];
    for (name, policy) in policies {
        let bundle = dir.path().join(name);
        run(policy, &bundle).success();
        let mut compared = 0;
        let mut shares = 0;
        for t in manifest(&bundle)["tables"].as_array().unwrap() {
            let t = t.as_str().unwrap();
            let rows = table(&bundle, t);
            let meta: Value = serde_json::from_str(
                &fs::read_to_string(bundle.join(format!("tables/{t}.json"))).unwrap(),
            )
            .unwrap();
            let share_columns: Vec<&str> = meta["measures"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["kind"] == "share")
                .map(|m| m["name"].as_str().unwrap())
                .collect();
            let columns = parquet_values(&bundle, t);
            assert!(!columns.is_empty(), "{name}: {t} has no values");
            for (column, values) in &columns {
                assert_eq!(values.len(), rows.len(), "{name}: {t}.{column}");
                for (r, (row, parquet)) in rows.iter().zip(values).enumerate() {
                    let text = &row[column];
                    let csv = match text.as_str() {
                        ".." | "" => None,
                        v => Some(v.parse::<f64>().unwrap()),
                    };
                    assert_eq!(
                        *parquet, csv,
                        "{name}: {t}.{column}, row {r}: Parquet {parquet:?}, CSV {text:?}"
                    );
                    if let Some(v) = csv {
                        compared += 1;
                        if share_columns.contains(&column.as_str()) {
                            shares += 1;
                            assert!(
                                (0.0..=100.0).contains(&v),
                                "{name}: {t}.{column}, row {r}: share {v}"
                            );
                        }
                    }
                }
            }
        }
        assert!(
            compared > 100 && shares > 10,
            "{name}: {compared} values, {shares} shares compared"
        );
    }
}

#[test]
fn two_runs_give_byte_identical_bundles_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let ex = example!();
    let go = |threads: &str, out: &Path| {
        let o = std::process::Command::new(reglink_tests::reglink_bin!())
            .args(["--quiet", "run", "study.toml", "--policy", "acro", "--out"])
            .arg(out)
            .current_dir(ex)
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    go("1", &a);
    go("3", &b);
    let files = files_below(&a);
    assert_eq!(files, files_below(&b));
    for f in &files {
        assert!(
            fs::read(a.join(f)).unwrap() == fs::read(b.join(f)).unwrap(),
            "{} differs",
            f.display()
        );
    }
    // And the example's own bundle, made by another command, is the same release.
    for f in &files {
        assert!(
            fs::read(a.join(f)).unwrap() == fs::read(ex.join("release").join(f)).unwrap()
                || f.ends_with("manifest.json")
                || f.ends_with("summary.md"),
            "{} differs from the example's",
            f.display()
        );
    }
}

#[test]
fn verify_accepts_a_bundle_and_names_a_changed_missing_or_extra_file() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("r");
    run("lenient", &bundle).success();
    let ok = reglink!(dir.path(), &["verify", "r"]).success();
    assert!(ok.stdout.contains("every file matches"), "{}", ok.stdout);

    let csv = bundle.join("tables/t2_equal_terms.csv");
    let text = fs::read_to_string(&csv).unwrap();
    fs::write(&csv, text.replacen("published", "suppressed", 1)).unwrap();
    fs::remove_file(bundle.join("tables/t3_exit_3m.json")).unwrap();
    fs::write(bundle.join("tables/extra.csv"), "a\n").unwrap();
    let bad = reglink!(dir.path(), &["verify", "r"]).failure();
    let msg = bad.all_output();
    assert!(
        msg.contains("tables/t2_equal_terms.csv: its BLAKE3 hash differs"),
        "{msg}"
    );
    assert!(
        msg.contains("tables/t3_exit_3m.json: listed in the manifest but missing"),
        "{msg}"
    );
    assert!(msg.contains("tables/extra.csv: not listed"), "{msg}");
    // The changed flag also contradicts the table's description, which a
    // forger who recomputed the hash would have to change too.
    assert!(
        msg.contains("differ from the counts in tables/t2_equal_terms.json"),
        "{msg}"
    );
}

#[test]
fn a_policy_that_cannot_be_met_suppresses_everything_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("r");
    // (Under a policy whose zeros are not disclosive, zero counts would
    // still be published: they are, by that policy, safe.)
    let r = run("preset = \"acro\"\nthreshold = 1000000\n", &bundle).success();
    assert!(
        r.stderr.contains("the policy cannot be met"),
        "{}",
        r.stderr
    );
    for t in manifest(&bundle)["tables"].as_array().unwrap() {
        for row in table(&bundle, t.as_str().unwrap()) {
            assert_eq!(row["persons"], "..");
        }
    }
    assert!(
        fs::read_to_string(bundle.join("summary.md"))
            .unwrap()
            .contains("cannot be met")
    );
}

#[test]
fn rounding_gives_multiples_of_the_base_whose_margins_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("r");
    run(
        "preset = \"abs\"\nmethod = \"rounding\"\nrounding_base = 5\n",
        &bundle,
    )
    .success();
    let rows = table(&bundle, "t1b_af_with_eb");
    let value =
        |r: &std::collections::HashMap<String, String>| -> u64 { r["persons"].parse().unwrap() };
    assert!(
        rows.iter()
            .all(|r| r["persons_flag"] == "rounded" && value(r) % 5 == 0)
    );
    // Per year and sex, the municipalities add up to the total.
    for year in ["2023", "2024"] {
        let cells = |f: &dyn Fn(&str) -> bool| -> u64 {
            rows.iter()
                .filter(|r| r["year"] == year && r["sex"] == "_T" && f(&r["af_municipality"]))
                .map(value)
                .sum()
        };
        let total = cells(&|m| m == "_T");
        let parts = cells(&|m| m.len() == 4 || m == "unknown");
        assert!(total > 0);
        assert_eq!(total, parts, "{year}");
    }
}

#[test]
fn the_cell_key_method_gives_the_same_people_the_same_count_in_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("r");
    run("preset = \"abs\"\nmethod = \"cell_key\"\n", &bundle).success();
    assert!(bundle.join("ptable.csv").exists());
    // The three exit tables share their benefit-group margin (exit = _T).
    let margin = |name: &str| -> Vec<(String, String)> {
        table(&bundle, name)
            .into_iter()
            .filter(|r| r[&format!("exit_{}", &name[8..])] == "_T")
            .map(|r| (r["benefit_group"].clone(), r["persons"].clone()))
            .collect()
    };
    let m3 = margin("t3_exit_3m");
    assert!(m3.len() >= 3);
    assert_eq!(m3, margin("t3_exit_6m"));
    assert_eq!(m3, margin("t3_exit_12m"));
    // Not every count is left as it was.
    let unprotected = dir.path().join("plain");
    run("lenient", &unprotected).success();
    let plain: Vec<String> = table(&unprotected, "t1b_af_with_eb")
        .into_iter()
        .map(|r| r["persons"].clone())
        .collect();
    let noisy: Vec<String> = table(&bundle, "t1b_af_with_eb")
        .into_iter()
        .map(|r| r["persons"].clone())
        .collect();
    assert_ne!(plain, noisy);
}

/// The example's `summary.md` as it was before the crates were restructured
/// (`snapshots/example-release-summary.snap`; see `snapshots.rs`).
#[test]
fn the_example_summary_is_unchanged() {
    let ex = example!();
    let summary = fs::read_to_string(ex.join("release/summary.md")).unwrap();
    reglink_tests::snapshot_settings(Some(ex))
        .bind(|| insta::assert_snapshot!("example-release-summary", summary));
}

#[test]
fn the_cost_model_is_in_the_manifest_as_data_and_in_the_summary_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("costed");
    let policy =
        "preset = \"acro\"\n\n[cost]\nmodel = \"log\"\ngroup_weight = 2.0\ntotal_weight = 10.0\n";
    run(policy, &bundle).success();
    let cost = serde_json::json!({ "model": "log", "group_weight": 2.0, "total_weight": 10.0 });
    let m = manifest(&bundle);
    assert_eq!(m["policy"]["cost"], cost);
    for t in m["tables"].as_array().unwrap() {
        let path = bundle.join(format!("tables/{}.json", t.as_str().unwrap()));
        let meta: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(meta["policy"]["cost"], cost, "{t}");
    }
    let summary = fs::read_to_string(bundle.join("summary.md")).unwrap();
    assert!(
        summary.contains(
            "a cell's cost is 1 + ln(1 + its value), times 2 per dimension at a group and 10 per dimension at its total."
        ),
        "{summary}"
    );
}

/// A cell table of the link stage (`link/cells/NAME.parquet`): per cell its
/// codes (joined), true count of persons and record-key sum.
fn link_cells(path: &Path) -> Vec<(String, u64, u32)> {
    use arrow_array::{Array, StringArray, UInt32Array, UInt64Array};
    let file = fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let column = |name: &str| batch.column_by_name(name).unwrap().clone();
        let persons = column("persons");
        let persons = persons.as_any().downcast_ref::<UInt64Array>().unwrap();
        let keys = column("record_key_sum");
        let keys = keys.as_any().downcast_ref::<UInt32Array>().unwrap();
        let codes: Vec<StringArray> = batch
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| f.data_type() == &arrow_schema::DataType::Utf8)
            .map(|(i, _)| {
                let a = batch.column(i);
                a.as_any().downcast_ref::<StringArray>().unwrap().clone()
            })
            .collect();
        for r in 0..batch.num_rows() {
            let code: Vec<&str> = codes.iter().map(|c| c.value(r)).collect();
            out.push((code.join("|"), persons.value(r), keys.value(r)));
        }
    }
    out
}

/// The agencies' cell key lookup, written from docs/release-bundle.md and
/// docs/disclosure-control.md alone: the cell key is the record-key sum
/// modulo 256, and row `n` of `ptable.csv` gives key `k` the first
/// perturbation whose cumulative probability exceeds `k/256`.
struct AgencyLookup {
    /// Per row, (perturbation, cumulative number of keys).
    rows: Vec<Vec<(i64, u32)>>,
    period: usize,
}

impl AgencyLookup {
    fn read(path: &Path) -> AgencyLookup {
        let mut rows: Vec<Vec<(i64, u32)>> = Vec::new();
        let mut period = 1;
        let mut labels: Vec<String> = Vec::new();
        for rec in csv::Reader::from_path(path).unwrap().records() {
            let rec = rec.unwrap();
            let label = rec[0].to_string();
            let d: i64 = rec[1].parse().unwrap();
            let p: f64 = rec[2].parse().unwrap();
            let keys = p * 256.0;
            assert_eq!(
                keys,
                keys.round(),
                "{label},{d}: not a whole number of 256ths"
            );
            if labels.last() != Some(&label) {
                labels.push(label.clone());
                rows.push(Vec::new());
                if let Some((_, p)) = label.split_once('+') {
                    period = p.trim_end_matches('k').parse().unwrap_or(1);
                }
            }
            let row = rows.last_mut().unwrap();
            let before = row.last().map_or(0, |e| e.1);
            row.push((d, before + keys as u32));
        }
        assert!(rows.iter().all(|r| r.last().unwrap().1 == 256));
        AgencyLookup { rows, period }
    }

    fn publish(&self, n: u64, record_key_sum: u32) -> u64 {
        let len = self.rows.len() as u64;
        let row = if n < len {
            n
        } else {
            let base = len - self.period as u64;
            base + (n - base) % self.period as u64
        };
        let k = record_key_sum % 256;
        let (d, _) = self.rows[row as usize]
            .iter()
            .find(|(_, cumulative)| k < *cumulative)
            .unwrap();
        (n as i64 + d) as u64
    }
}

#[test]
fn agency_cell_key_counts_are_reproduced_bit_for_bit_from_the_ptable_and_cell_keys() {
    let ex = example!();
    let dir = tempfile::tempdir().unwrap();
    // A table made with the R ptable package (its pTable layout), beside the policy.
    fs::write(
        dir.path().join("r_ptable.csv"),
        "i,j,p,v,p_int_lb,p_int_ub,type\n0,0,1,0,0,1,all\n1,0,0.3,-1,0,0.3,all\n1,1,0.4,0,0.3,0.7,all\n1,2,0.3,1,0.7,1,all\n\
         2,1,0.25,-1,0,0.25,all\n2,2,0.5,0,0.25,0.75,all\n2,3,0.25,1,0.75,1,all\n",
    )
    .unwrap();
    let designs = [
        (
            "10_5",
            "preset = \"abs\"\nmethod = \"cell_key\"\nptable = \"10_5\"\n",
        ),
        (
            "entropy",
            "preset = \"abs\"\nmethod = \"cell_key\"\nptable = \"entropy\"\ncell_key_max = 3\ncell_key_variance = 1.5\n",
        ),
        // The same design in a release under another preset.
        (
            "10_5-acro",
            "preset = \"acro\"\nmethod = \"cell_key\"\nptable = \"10_5\"\n",
        ),
        (
            "file",
            "preset = \"abs\"\nmethod = \"cell_key\"\nptable = \"r_ptable.csv\"\n",
        ),
    ];
    let mut by_cell: Vec<std::collections::HashMap<String, String>> = Vec::new();
    for (name, policy) in designs {
        let bundle = dir.path().join(name);
        run(policy, &bundle).success();
        let lookup = AgencyLookup::read(&bundle.join("ptable.csv"));
        let (mut checked, mut changed) = (0, 0);
        let mut published = std::collections::HashMap::new();
        for t in manifest(&bundle)["tables"].as_array().unwrap() {
            let t = t.as_str().unwrap();
            let cells = link_cells(&ex.join(format!("link/cells/{t}.parquet")));
            let rows = table(&bundle, t);
            assert_eq!(rows.len(), cells.len(), "{name} {t}");
            for (row, (code, n, key)) in rows.iter().zip(&cells) {
                let expected = lookup.publish(*n, *key);
                assert_eq!(row["persons"], expected.to_string(), "{name} {t} {code}");
                checked += 1;
                changed += usize::from(expected != *n);
                published.insert(format!("{n}/{key}"), row["persons"].clone());
            }
        }
        assert!(checked > 500, "{name}: {checked} cells");
        assert!(
            changed * 4 > checked,
            "{name}: only {changed} of {checked} changed"
        );
        if name == "file" {
            // 77 of the 256 keys take a count of 1 down to 0.
            let ptable = fs::read_to_string(bundle.join("ptable.csv")).unwrap();
            assert!(ptable.contains("\n1,-1,0.30078125\n"), "{ptable}");
        }
        by_cell.push(published);
    }
    // The same people (count and cell key) get the same count in both
    // releases under `10_5`, and the designs differ.
    let (a, b) = (&by_cell[0], &by_cell[2]);
    assert!(a.len() > 100);
    for (cell, value) in a {
        assert_eq!(b.get(cell), Some(value), "{cell}");
    }
    assert_ne!(by_cell[0], by_cell[1]);
}
