//! `reglink audit` passes the bundles reglink writes, and catches each way
//! of forging one, with the manifest's hashes recomputed so that `verify`
//! alone would pass: a changed value, a primary cell filled in with its true
//! value, a secondary cell filled in so that a primary one can be recovered,
//! a published count below the threshold, a policy that contradicts the
//! tables, and a signature by another key.

use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::{Array, UInt64Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reglink_audit::read;
use reglink_tests::{example, reglink};

/// `reglink run study.toml` on the example with `args`, into a new folder.
fn release(name: &str, args: &[&str]) -> PathBuf {
    let ex = example!();
    let out = ex.join(format!("audit-{name}"));
    let mut all = vec!["-q", "run", "study.toml", "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    reglink!(ex, &all).success();
    out
}

/// A copy of `bundle` to forge.
fn forgery(bundle: &Path, name: &str) -> PathBuf {
    let out = bundle.with_file_name(format!("forged-{name}"));
    if out.exists() {
        fs::remove_dir_all(&out).unwrap();
    }
    reglink_tests::copy_tree(bundle, &out);
    out
}

/// Recomputes the hash and size of every file the manifest lists, as a
/// forger would, so that `reglink verify` passes.
fn rehash(bundle: &Path) {
    let path = bundle.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    for f in manifest["files"].as_array_mut().unwrap() {
        let file = bundle.join(f["path"].as_str().unwrap());
        f["blake3"] = reglink_extract::fingerprint_file(&file)
            .unwrap()
            .as_str()
            .into();
        f["bytes"] = fs::metadata(&file).unwrap().len().into();
    }
    fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    reglink!(
        bundle.parent().unwrap(),
        &["verify", bundle.to_str().unwrap()]
    )
    .success();
}

/// `reglink audit --json`: the exit code and the report.
fn audit(bundle: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut args = vec!["audit", bundle.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let run = reglink!(bundle.parent().unwrap(), &args);
    let report = serde_json::from_str(&run.stdout).unwrap_or(serde_json::Value::Null);
    (run.code, report)
}

/// The checks that failed, as `table/check`.
fn failed(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["status"] == "fail")
        .map(|f| {
            format!(
                "{}/{}",
                f["table"].as_str().unwrap(),
                f["check"].as_str().unwrap()
            )
        })
        .collect()
}

/// Publishes `value` for `persons` at `row` of `table` in a forged bundle:
/// the CSV, the description's flag counts, then the hashes.
fn publish(bundle: &Path, table: &str, row: usize, value: u64) {
    let csv = bundle.join(format!("tables/{table}.csv"));
    let text = fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let at = header.iter().position(|h| *h == "persons").unwrap();
    let mut fields: Vec<String> = lines[row + 1].split(',').map(str::to_string).collect();
    assert_eq!(fields[at], "..", "the cell was suppressed");
    fields[at] = value.to_string();
    fields[at + 1] = "published".into();
    lines[row + 1] = fields.join(",");
    fs::write(&csv, lines.join("\n") + "\n").unwrap();
    let json = bundle.join(format!("tables/{table}.json"));
    let mut d: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let flags = &mut d["flags"]["persons"];
    flags["suppressed"] = (flags["suppressed"].as_u64().unwrap() - 1).into();
    flags["published"] = (flags["published"].as_u64().unwrap_or(0) + 1).into();
    fs::write(&json, serde_json::to_string_pretty(&d).unwrap()).unwrap();
    rehash(bundle);
}

/// The true persons of every cell of `table`, from the example's own
/// `reglink link` output (the same cells in the same order).
fn true_persons(table: &str) -> Vec<u64> {
    let file = fs::File::open(example!().join(format!("link/cells/{table}.parquet"))).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let col = batch.column_by_name("persons").unwrap();
        let col = col.as_any().downcast_ref::<UInt64Array>().unwrap();
        out.extend((0..col.len()).map(|i| col.value(i)));
    }
    out
}

/// A margin of `table` with exactly two suppressed counts, one below the
/// threshold and one not: `(small row, large row)`.
fn pair(bundle: &Path, table: &str, threshold: u64) -> (usize, usize) {
    let b = read::bundle(bundle).unwrap();
    let t = b.tables.iter().find(|t| t.name == table).unwrap();
    let truth = true_persons(table);
    let hidden = &t.columns[0].hidden;
    for (_, at, parts) in t.margin_lines() {
        let rows = std::iter::once(at).chain(parts);
        let h: Vec<usize> = rows.filter(|&r| hidden[r]).collect();
        if let [a, b] = h[..] {
            let (small, large) = if truth[a] < truth[b] { (a, b) } else { (b, a) };
            if (1..threshold).contains(&truth[small]) && truth[large] >= threshold {
                return (small, large);
            }
        }
    }
    panic!("no margin of {table} with one small and one large suppressed count");
}

fn lenient() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| release("lenient", &["--policy", "lenient"]))
}

fn threshold(bundle: &Path) -> u64 {
    read::bundle(bundle).unwrap().policy.threshold
}

/// Each check's outcome, as `table/check: status (cells)`, except the
/// integrity check (the audit before release saw a provisional manifest).
fn outcomes(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] != "integrity")
        .map(|f| {
            format!(
                "{}/{}: {} ({})",
                f["table"].as_str().unwrap(),
                f["check"].as_str().unwrap(),
                f["status"].as_str().unwrap(),
                f["cells"].as_array().unwrap().len()
            )
        })
        .collect()
}

/// `reglink run` audited `bundle` before publishing it: the checker report
/// holds that audit, which agrees check by check with `report` (the audit
/// of the published bundle), and `summary.md` ends with its outcome per
/// table and check.
fn audited_before_release(bundle: &Path, report: &serde_json::Value) {
    let name = bundle.file_name().unwrap().to_str().unwrap();
    let checker = bundle.with_file_name(format!("{name}.checker"));
    let before: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(checker.join("audit.json")).unwrap()).unwrap();
    assert_eq!(outcomes(&before), outcomes(report), "{}", bundle.display());
    assert!(
        fs::read_to_string(checker.join("audit.txt"))
            .unwrap()
            .contains("attacker")
    );
    let summary = fs::read_to_string(bundle.join("summary.md")).unwrap();
    let section = &summary[summary.find("## Audit").expect("an audit section")..];
    assert!(
        section.contains(&format!(
            "Overall: **{}**",
            report["status"].as_str().unwrap()
        )),
        "{section}"
    );
    for f in report["findings"].as_array().unwrap() {
        let table = f["table"].as_str().unwrap();
        if table != "bundle" {
            assert!(
                section.contains(&format!("| {table} |")),
                "{table}: {section}"
            );
        }
    }
    // The section names no cell: no CSV line, no interval.
    assert!(!section.contains("line "), "{section}");
    assert!(!section.contains('['), "{section}");
}

#[test]
fn audit_passes_every_bundle_reglink_writes() {
    let ex = example!();
    let rounding = ex.join("audit-rounding.toml");
    fs::write(
        &rounding,
        "preset = \"lenient\"\nmethod = \"rounding\"\nrounding_base = 5\n",
    )
    .unwrap();
    let cell_key = ex.join("audit-cell-key.toml");
    fs::write(&cell_key, "preset = \"lenient\"\nmethod = \"cell_key\"\n").unwrap();
    let ten_five = ex.join("audit-10-5.toml");
    fs::write(
        &ten_five,
        "preset = \"abs\"\nmethod = \"cell_key\"\nptable = \"10_5\"\n",
    )
    .unwrap();
    let bundles = [
        lenient().to_path_buf(),
        ex.join("release"),
        release("abs", &["--policy", "abs"]),
        release("rounding", &["--policy", rounding.to_str().unwrap()]),
        release("cell-key", &["--policy", cell_key.to_str().unwrap()]),
        release("10-5", &["--policy", ten_five.to_str().unwrap()]),
    ];
    for b in &bundles {
        let (code, report) = audit(b, &[]);
        assert_eq!(code, Some(0), "{}: {:?}", b.display(), failed(&report));
        assert_ne!(report["status"], "fail");
        let checks = report["findings"].as_array().unwrap().len();
        assert!(checks > 10, "{}: only {checks} checks", b.display());
        audited_before_release(b, &report);
    }
    // Under suppression the attacker check had suppressed counts to look at.
    let (_, report) = audit(lenient(), &[]);
    let suppressed: u64 = report["attacker"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["suppressed"].as_u64().unwrap())
        .sum();
    assert!(suppressed > 20, "only {suppressed} suppressed counts");
}

#[test]
fn audit_catches_a_changed_value() {
    let b = forgery(lenient(), "changed");
    // Three dimensions, so persons is the seventh field.
    reglink_tests::bump_grand_total(&b.join("tables/t2_equal_terms.csv"), 6);
    rehash(&b);
    let (code, report) = audit(&b, &[]);
    assert_eq!(code, Some(1));
    assert!(
        failed(&report).contains(&"t2_equal_terms/margins".to_string()),
        "{:?}",
        failed(&report)
    );
}

#[test]
fn audit_catches_a_primary_cell_filled_in() {
    let t = threshold(lenient());
    let (small, _) = pair(lenient(), "t1_overlap", t);
    let b = forgery(lenient(), "filled-primary");
    publish(&b, "t1_overlap", small, true_persons("t1_overlap")[small]);
    let (code, report) = audit(&b, &[]);
    assert_eq!(code, Some(1));
    assert!(
        failed(&report).contains(&"t1_overlap/values".to_string()),
        "{:?}",
        failed(&report)
    );
}

#[test]
fn audit_catches_a_secondary_cell_removed() {
    // Publishing the large partner of a small count with its true value
    // leaves the small one alone in its margin: determined.
    let t = threshold(lenient());
    let (_, large) = pair(lenient(), "t1_overlap", t);
    let b = forgery(lenient(), "removed-secondary");
    publish(&b, "t1_overlap", large, true_persons("t1_overlap")[large]);
    let (code, report) = audit(&b, &[]);
    assert_eq!(code, Some(1));
    let failed = failed(&report);
    assert!(
        failed.contains(&"t1_overlap/attacker".to_string()),
        "{failed:?}"
    );
    // The published value itself breaks no rule: only the attacker sees it.
    assert!(
        !failed.contains(&"t1_overlap/values".to_string()),
        "{failed:?}"
    );
    assert!(
        !failed.contains(&"t1_overlap/margins".to_string()),
        "{failed:?}"
    );
}

#[test]
fn audit_catches_a_count_below_the_threshold() {
    let b = forgery(lenient(), "below-threshold");
    let csv = b.join("tables/t2_equal_terms.csv");
    let text = fs::read_to_string(&csv).unwrap();
    // The first row's persons (field 6) is published; make it 1.
    let first = text.lines().nth(1).unwrap().to_string();
    let mut fields: Vec<&str> = first.split(',').collect();
    assert_eq!(fields[7], "published");
    fields[6] = "1";
    fs::write(&csv, text.replacen(&first, &fields.join(","), 1)).unwrap();
    rehash(&b);
    let (code, report) = audit(&b, &[]);
    assert_eq!(code, Some(1));
    assert!(
        failed(&report).contains(&"t2_equal_terms/values".to_string()),
        "{:?}",
        failed(&report)
    );
}

#[test]
fn audit_catches_a_policy_that_contradicts_the_tables() {
    let b = forgery(lenient(), "policy");
    let path = b.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    m["policy"]["threshold"] = 2.into();
    fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let (code, report) = audit(&b, &[]);
    assert_eq!(code, Some(1));
    let failed = failed(&report);
    assert!(
        failed.contains(&"bundle/integrity".to_string()),
        "{failed:?}"
    );
    assert!(failed.iter().any(|f| f.ends_with("/policy")), "{failed:?}");
}

#[test]
fn audit_catches_a_signature_by_another_key() {
    let ex = example!();
    for name in ["audit-ours", "audit-theirs"] {
        if !ex.join(format!("{name}.key")).exists() {
            reglink!(ex, &["key", "new-signing", "--out", &format!("{name}.key")]).success();
        }
    }
    let signed = release(
        "signed-by-them",
        &["--policy", "lenient", "--sign", "audit-theirs.key"],
    );
    let (code, report) = audit(&signed, &["--public-key", "audit-ours.key.pub"]);
    assert_eq!(code, Some(1));
    assert!(
        failed(&report).contains(&"bundle/integrity".to_string()),
        "{:?}",
        failed(&report)
    );
    let (code, report) = audit(&signed, &["--public-key", "audit-theirs.key.pub"]);
    assert_eq!(code, Some(0), "{:?}", failed(&report));
}
