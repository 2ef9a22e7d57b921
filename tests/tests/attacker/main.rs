//! An attacker's linear program against release bundles.
//!
//! The attacker knows what a bundle says about itself: every published count,
//! which cells are suppressed, and how the margins add up (in every dimension
//! a group is the sum of its categories and `_T` the sum of the groups, or of
//! the categories when there are none; cells of two tables of one population
//! that name the same categories count the same people). From that alone it
//! bounds each suppressed count with a linear program: the minimum and maximum
//! of the cell subject to every margin equation and non-negative counts.
//!
//! It also reads every flag, and exploits one that names why a cell is
//! hidden: `zero` pins the cell at 0, `threshold` bounds it to `1..T-1`, and
//! `secondary` (not small) bounds it from below by `T` when zeros are
//! disclosive. Against bundles that flagged hidden cells that way it recovers
//! cells (the tests below show it on a synthetic bundle); a release must mark
//! every hidden cell only as `suppressed`, and then it learns nothing from the
//! flags.
//!
//! Judged against the data holder's checker report (which cells a primary rule
//! hid; the attacker never reads it), a primary-suppressed cell is protected
//! when the attacker's interval is at least the threshold wide, and no
//! suppressed cell may be pinned to one value.
//!
//! The attacker is written here from scratch, independent of
//! `reglink-protect`, so that the two cannot share a mistake. The bundles come
//! from `reglink example` for several seeds, released through a small study of
//! three tables of one population that share margins (the example's own study
//! has a table too large for one exact LP per cell in a test).

mod bundle;
mod lp;
mod negative_controls;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use reglink_tests::reglink;

use crate::bundle::{Bundle, Key, read_bundle, read_json, str_of};
use crate::lp::{Finding, attack};

const SEEDS: [u64; 3] = [1, 7, 2023];

/// Policies each seed's study is released under: ACRO's, and a lenient one
/// with a high threshold (no zero rule, many more suppressions).
const POLICIES: [(&str, &str); 2] = [
    ("acro", "preset = \"acro\"\n"),
    ("lenient-20", "preset = \"lenient\"\nthreshold = 20\n"),
];

/// Replaces the example study's tables: one population, margins shared.
const TABLES: &str = r#"
[[tables]]
name = "by_municipality"
title = "EB recipients by year and municipality"
population = "eb_adults"
dimensions = ["year", "municipality"]
measures = [{ name = "persons", kind = "persons" }]

[[tables]]
name = "by_municipality_sex"
title = "EB recipients by year, municipality and sex"
population = "eb_adults"
dimensions = ["year", "municipality", "sex"]
measures = [{ name = "persons", kind = "persons" }]

[[tables]]
name = "by_sex_age"
title = "EB recipients by year, sex and age"
population = "eb_adults"
dimensions = ["year", "sex", "age_band"]
measures = [{ name = "persons", kind = "persons" }]
"#;

/// The flags a release may carry: none says why a value is hidden.
const PUBLIC_FLAGS: [&str; 4] = ["published", "rounded", "perturbed", "suppressed"];

/// Names of the rules (and of secondary suppression) that no release may
/// carry as a flag.
const RULES: [&str; 7] = [
    "zero",
    "threshold",
    "dominance",
    "p_percent",
    "class",
    "median",
    "secondary",
];

/// `reglink example --seed SEED` in `root`, then the small study released under
/// each of [`POLICIES`]: (policy name, bundle folder).
fn release_seed(root: &Path, seed: u64) -> Vec<(&'static str, PathBuf)> {
    let out = format!("seed-{seed}");
    reglink!(
        root,
        &[
            "--quiet",
            "example",
            "--preset",
            "tiny",
            "--seed",
            &seed.to_string(),
            "--out",
            &out,
        ],
    )
    .success();
    let ex = root.join(out);
    let study = fs::read_to_string(ex.join("study.toml")).unwrap();
    let tables_start = study
        .find("\n[[tables]]")
        .expect("the example study has tables");
    fs::write(
        ex.join("attacker-study.toml"),
        format!("{}{TABLES}", &study[..tables_start]),
    )
    .unwrap();
    POLICIES
        .iter()
        .map(|&(name, policy)| {
            let policy_file = format!("attacker-{name}.toml");
            fs::write(ex.join(&policy_file), policy).unwrap();
            let release = format!("attacker-release-{name}");
            reglink!(
                &ex,
                &[
                    "--quiet",
                    "run",
                    "attacker-study.toml",
                    "--policy",
                    &policy_file,
                    "--out",
                    &release,
                ],
            )
            .success();
            (name, ex.join(release))
        })
        .collect()
}

/// The cells a primary rule suppressed, by population and key, from the
/// checker report the data holder keeps beside the bundle (`OUT.checker/`).
/// Only the judge reads it; the attacker never does.
fn primary_cells(bundle_dir: &Path, bundle: &Bundle) -> HashMap<(String, Key), String> {
    let mut name = bundle_dir.file_name().unwrap().to_os_string();
    name.push(".checker");
    let path = bundle_dir.with_file_name(name).join("checker-report.json");
    let report = read_json(&path);
    assert!(
        str_of(&report, "internal").contains("not for publication"),
        "{}: not marked internal",
        path.display()
    );
    let mut out = HashMap::new();
    for t in report["tables"].as_array().expect("checker report: tables") {
        let table = bundle
            .tables
            .iter()
            .find(|b| b.name == str_of(t, "name"))
            .expect("the checker report names the bundle's tables");
        let persons = &t["columns"][0];
        assert_eq!(persons["name"], "persons");
        for entry in persons["suppressed"].as_array().expect("suppressed cells") {
            let reason = str_of(entry, "reason");
            if reason == "secondary" {
                continue;
            }
            let codes: Vec<String> = table
                .dims
                .iter()
                .map(|d| str_of(&entry["cell"], &d.name).to_string())
                .collect();
            out.insert(
                (table.population.clone(), table.key(&codes)),
                reason.to_string(),
            );
        }
    }
    out
}

/// Every flag of every value column of every table of the bundle.
fn all_flags(dir: &Path, bundle: &Bundle) -> Vec<String> {
    let mut flags = Vec::new();
    for table in &bundle.tables {
        let mut reader =
            csv::Reader::from_path(dir.join(format!("tables/{}.csv", table.name))).unwrap();
        let headers = reader.headers().unwrap().clone();
        let columns: Vec<usize> = (0..headers.len())
            .filter(|&i| headers[i].ends_with("_flag"))
            .collect();
        for record in reader.records() {
            let record = record.unwrap();
            flags.extend(columns.iter().map(|&i| record[i].to_string()));
        }
    }
    flags
}

/// Flags every suppressed count of `bundle` by its reason (the rule, or
/// `secondary`), as releases used to: the negative control of the attack.
fn flag_reasons(bundle: &mut Bundle, primary: &HashMap<(String, Key), String>) {
    for table in &mut bundle.tables {
        let keys: Vec<Key> = table.cells.iter().map(|c| table.key(&c.codes)).collect();
        for (cell, key) in table.cells.iter_mut().zip(keys) {
            if cell.persons.is_none() {
                cell.flag = primary
                    .get(&(table.population.clone(), key))
                    .map_or("secondary", String::as_str)
                    .to_string();
            }
        }
    }
}

/// One bundle attacked: its policy's name, its threshold, what the attacker
/// found, the checker report's primary cells, and (for one policy) how many
/// cells the attacker pins, or narrows below the threshold when primary, if
/// each hidden cell is flagged by its reason.
pub type Attacked = (
    &'static str,
    f64,
    Vec<Finding>,
    HashMap<(String, Key), String>,
    Option<usize>,
);

#[test]
fn no_suppressed_count_can_be_recovered_or_narrowed_below_the_threshold() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    // Seeds in parallel: `reglink example` takes seconds each.
    let results: Vec<(u64, Vec<Attacked>)> = std::thread::scope(|s| {
        let handles: Vec<_> = SEEDS
            .iter()
            .map(|&seed| {
                s.spawn(move || {
                    let bundles = release_seed(root, seed)
                        .into_iter()
                        .map(|(policy, dir)| {
                            let bundle = read_bundle(&dir);
                            for flag in all_flags(&dir, &bundle) {
                                assert!(
                                    PUBLIC_FLAGS.contains(&flag.as_str()),
                                    "seed {seed}, policy {policy}: a value flagged {flag:?}"
                                );
                            }
                            let primary = primary_cells(&dir, &bundle);
                            let threshold = bundle.threshold;
                            let findings = attack(&bundle);
                            // The control: the same bundle with each hidden
                            // cell flagged by its reason, as releases used to be.
                            let with_reasons = (policy == "acro").then(|| {
                                let mut old = bundle;
                                flag_reasons(&mut old, &primary);
                                attack(&old)
                                    .iter()
                                    .filter(|f| {
                                        f.recovered()
                                            || (primary.contains_key(&(
                                                f.population.clone(),
                                                f.key.clone(),
                                            )) && !f.protected(threshold))
                                    })
                                    .count()
                            });
                            (policy, threshold, findings, primary, with_reasons)
                        })
                        .collect();
                    (seed, bundles)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });

    let mut failures = Vec::new();
    let mut checked = Vec::new();
    for (seed, bundles) in &results {
        let mut n = 0;
        for (policy, threshold, findings, primary, with_reasons) in bundles {
            if let Some(recovered) = with_reasons {
                assert!(
                    *recovered > 0,
                    "seed {seed}, policy {policy}: with flags naming the rule the attacker recovers nothing: the attack is too weak to test anything"
                );
            }
            for f in findings {
                let reason = primary.get(&(f.population.clone(), f.key.clone()));
                n += usize::from(reason.is_some());
                if f.recovered() || (reason.is_some() && !f.protected(*threshold)) {
                    failures.push(format!(
                        "seed {seed}, policy {policy}: {} {} (flag {}, {}): the attacker narrows it to \
                         [{}, {}], width {} (threshold {threshold})",
                        f.table,
                        f.cell,
                        f.flag,
                        reason.map_or("secondary", String::as_str),
                        f.min,
                        f.max,
                        f.max - f.min
                    ));
                }
            }
        }
        checked.push((*seed, n));
    }
    for &(seed, n) in &checked {
        assert!(
            n > 0,
            "seed {seed}: no primary-suppressed cell to attack, the check is vacuous"
        );
    }
    assert!(
        failures.is_empty(),
        "{} suppressed cells are not protected (primary cells checked per seed: {checked:?}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn no_bundle_file_names_a_rule_as_a_flag() {
    let root = tempfile::tempdir().unwrap();
    for (policy, dir) in release_seed(root.path(), SEEDS[0]) {
        let bundle = read_bundle(&dir);
        let mut texts = Vec::new();
        for table in &bundle.tables {
            let meta = read_json(&dir.join(format!("tables/{}.json", table.name)));
            texts.push((
                format!("tables/{}.json flags", table.name),
                meta["flags"].to_string(),
            ));
            texts.push((
                format!("tables/{}.csv", table.name),
                fs::read_to_string(dir.join(format!("tables/{}.csv", table.name))).unwrap(),
            ));
        }
        let mut manifest = read_json(&dir.join("manifest.json"));
        // The policy's parameters (`threshold`, ...) are not flags.
        manifest.as_object_mut().unwrap().remove("policy");
        texts.push(("manifest.json".into(), manifest.to_string()));
        texts.push((
            "summary.md".into(),
            fs::read_to_string(dir.join("summary.md")).unwrap(),
        ));
        for (file, text) in &texts {
            for rule in RULES {
                for spelling in [
                    format!(",{rule}\n"),
                    format!(",{rule},"),
                    format!("\"{rule}\""),
                    format!("`{rule}`"),
                    format!("| {rule} |"),
                ] {
                    assert!(
                        !text.contains(&spelling),
                        "policy {policy}: {file} names the rule {rule} ({spelling:?})"
                    );
                }
            }
        }
        for family in manifest["secondary_suppression"].as_array().unwrap() {
            let mut keys: Vec<&String> = family.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(
                keys,
                ["cells", "exact_audit", "family", "suppressed"],
                "policy {policy}"
            );
            // The audit's public line: a count anyone may know, no figures
            // computed from hidden values.
            let mut audit: Vec<&String> =
                family["exact_audit"].as_object().unwrap().keys().collect();
            audit.sort();
            assert_eq!(audit, ["not_protected", "scope"], "policy {policy}");
        }
    }
}
