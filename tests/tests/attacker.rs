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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use microlp::{ComparisonOp, OptimizationDirection, Problem, SolveOutcome};
use reglink_tests::reglink;
use serde_json::{Value, json};

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

// ------------------------------------------------------------------ the bundle

/// What the attacker reads from a bundle.
#[derive(Debug)]
struct Bundle {
    threshold: f64,
    zeros_disclosive: bool,
    tables: Vec<Table>,
}

impl Bundle {
    /// What a flag tells the attacker about a suppressed count: bounds on it.
    fn bounds(&self, flag: &str) -> (f64, f64) {
        let t = self.threshold;
        match flag {
            "suppressed" => (0.0, f64::INFINITY),
            "zero" => (0.0, 0.0),
            "threshold" => (1.0, (t - 1.0).max(1.0)),
            "secondary" if self.zeros_disclosive => (t, f64::INFINITY),
            // Not small, or zero under a policy whose zeros are safe: not one interval.
            "secondary" => (0.0, f64::INFINITY),
            other => panic!("a suppressed count flagged {other:?}"),
        }
    }
}

#[derive(Debug)]
struct Table {
    name: String,
    population: String,
    total_code: String,
    dims: Vec<Dim>,
    cells: Vec<Cell>,
}

#[derive(Debug)]
struct Dim {
    name: String,
    /// Each aggregate position (a group or the total) and the positions it sums.
    children: HashMap<String, Vec<String>>,
}

#[derive(Debug)]
struct Cell {
    codes: Vec<String>,
    labels: Vec<String>,
    /// `None` when suppressed (`..`).
    persons: Option<f64>,
    flag: String,
}

/// A cell's identity across the tables of one population: its non-total
/// codes by dimension name, sorted.
type Key = Vec<(String, String)>;

impl Table {
    fn key(&self, codes: &[String]) -> Key {
        let mut key: Key = self
            .dims
            .iter()
            .zip(codes)
            .filter(|(_, code)| **code != self.total_code)
            .map(|(dim, code)| (dim.name.clone(), code.clone()))
            .collect();
        key.sort();
        key
    }

    /// `year=2023 municipality=0311 (Ekstad) sex=_T`, for messages.
    fn describe(&self, cell: &Cell) -> String {
        let mut out = String::new();
        for ((dim, code), label) in self.dims.iter().zip(&cell.codes).zip(&cell.labels) {
            if !out.is_empty() {
                out.push(' ');
            }
            write!(out, "{}={code}", dim.name).unwrap();
            if label != code && *code != self.total_code {
                write!(out, " ({label})").unwrap();
            }
        }
        out
    }
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn str_of<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field:?} in {value}"))
}

fn read_bundle(dir: &Path) -> Bundle {
    let manifest = read_json(&dir.join("manifest.json"));
    let threshold = manifest["policy"]["threshold"]
        .as_f64()
        .expect("manifest: policy.threshold");
    let zeros_disclosive = manifest["policy"]["zeros_disclosive"]
        .as_bool()
        .unwrap_or(false);
    let tables = manifest["tables"]
        .as_array()
        .expect("manifest: tables")
        .iter()
        .map(|name| read_table(&dir.join("tables"), name.as_str().expect("table name")))
        .collect();
    Bundle {
        threshold,
        zeros_disclosive,
        tables,
    }
}

fn read_table(dir: &Path, name: &str) -> Table {
    let meta = read_json(&dir.join(format!("{name}.json")));
    let total_code = str_of(&meta, "total_code").to_string();
    let dims: Vec<Dim> = meta["dimensions"]
        .as_array()
        .expect("dimensions")
        .iter()
        .map(|d| {
            let categories = d["categories"].as_array().expect("categories");
            let groups: Vec<String> = d["groups"]
                .as_array()
                .expect("groups")
                .iter()
                .map(|g| g.as_str().expect("group code").to_string())
                .collect();
            let mut children = HashMap::new();
            for group in &groups {
                let members = categories
                    .iter()
                    .filter(|c| c["group"].as_str() == Some(group))
                    .map(|c| str_of(c, "code").to_string())
                    .collect();
                children.insert(group.clone(), members);
            }
            let top = if groups.is_empty() {
                categories
                    .iter()
                    .map(|c| str_of(c, "code").to_string())
                    .collect()
            } else {
                groups
            };
            children.insert(total_code.clone(), top);
            Dim {
                name: str_of(d, "name").to_string(),
                children,
            }
        })
        .collect();

    let path = dir.join(format!("{name}.csv"));
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{}: no column {name}", path.display()))
    };
    let code_columns: Vec<usize> = dims.iter().map(|d| column(&d.name)).collect();
    let label_columns: Vec<usize> = dims
        .iter()
        .map(|d| column(&format!("{}_label", d.name)))
        .collect();
    let (persons, flag) = (column("persons"), column("persons_flag"));
    let cells = reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            let text = |i: usize| record[i].to_string();
            Cell {
                codes: code_columns.iter().map(|&i| text(i)).collect(),
                labels: label_columns.iter().map(|&i| text(i)).collect(),
                persons: match &record[persons] {
                    ".." => None,
                    v => Some(
                        v.parse()
                            .unwrap_or_else(|e| panic!("{}: persons {v:?}: {e}", path.display())),
                    ),
                },
                flag: text(flag),
            }
        })
        .collect();
    Table {
        name: name.to_string(),
        population: str_of(&meta, "population").to_string(),
        total_code,
        dims,
        cells,
    }
}

// ------------------------------------------------------------ the attacker LP

/// The attacker's system for one population: a variable per distinct
/// suppressed cell, published cells as constants, and every margin equation
/// as `sum(coeff * x) = rhs` (deduplicated).
#[derive(Debug)]
struct Lp {
    vars: HashMap<Key, usize>,
    /// Per variable, the bounds its flags give (intersected over its tables).
    bounds: Vec<(f64, f64)>,
    known: HashMap<Key, f64>,
    equations: Vec<(Vec<(usize, f64)>, f64)>,
}

impl Lp {
    fn build(bundle: &Bundle, tables: &[&Table]) -> Lp {
        let mut known: HashMap<Key, f64> = HashMap::new();
        for table in tables {
            for cell in &table.cells {
                if let Some(v) = cell.persons {
                    let key = table.key(&cell.codes);
                    if let Some(other) = known.insert(key, v) {
                        assert_eq!(
                            other,
                            v,
                            "{}: {} is published as {v} here and as {other} in another table",
                            table.name,
                            table.describe(cell)
                        );
                    }
                }
            }
        }
        let mut vars: HashMap<Key, usize> = HashMap::new();
        let mut bounds: Vec<(f64, f64)> = Vec::new();
        for table in tables {
            for cell in table.cells.iter().filter(|c| c.persons.is_none()) {
                let key = table.key(&cell.codes);
                if !known.contains_key(&key) {
                    let next = vars.len();
                    let i = *vars.entry(key).or_insert(next);
                    if i == bounds.len() {
                        bounds.push((0.0, f64::INFINITY));
                    }
                    let (lo, hi) = bundle.bounds(&cell.flag);
                    bounds[i] = (bounds[i].0.max(lo), bounds[i].1.min(hi));
                }
            }
        }

        let mut equations = Vec::new();
        let mut seen: HashSet<(Vec<(usize, i64)>, i64)> = HashSet::new();
        for table in tables {
            for cell in &table.cells {
                for (d, dim) in table.dims.iter().enumerate() {
                    let Some(children) = dim.children.get(&cell.codes[d]) else {
                        continue;
                    };
                    // cell - sum(children) = 0, constants moved to the right.
                    let mut terms: BTreeMap<usize, f64> = BTreeMap::new();
                    let mut rhs = 0.0;
                    let mut add = |codes: &[String], coeff: f64| {
                        let key = table.key(codes);
                        if let Some(v) = known.get(&key) {
                            rhs -= coeff * v;
                        } else if let Some(&i) = vars.get(&key) {
                            *terms.entry(i).or_default() += coeff;
                        } else {
                            panic!("{}: no cell {codes:?}", table.name);
                        }
                    };
                    add(&cell.codes, 1.0);
                    for child in children {
                        let mut codes = cell.codes.clone();
                        codes[d].clone_from(child);
                        add(&codes, -1.0);
                    }
                    terms.retain(|_, c| *c != 0.0);
                    if terms.is_empty() {
                        assert!(
                            rhs.abs() < 1e-9,
                            "{}: the published cells under {} along {} do not add up (off by {rhs})",
                            table.name,
                            table.describe(cell),
                            dim.name
                        );
                        continue;
                    }
                    let sign = if terms.values().next() < Some(&0.0) {
                        -1.0
                    } else {
                        1.0
                    };
                    let terms: Vec<(usize, f64)> =
                        terms.into_iter().map(|(i, c)| (i, sign * c)).collect();
                    let rhs = sign * rhs;
                    // Coefficients and counts are whole numbers.
                    let signature = (
                        terms.iter().map(|&(i, c)| (i, c.round() as i64)).collect(),
                        rhs.round() as i64,
                    );
                    if seen.insert(signature) {
                        equations.push((terms, rhs));
                    }
                }
            }
        }
        Lp {
            vars,
            bounds,
            known,
            equations,
        }
    }

    /// The optimum of `x[target]` in `direction`; `None` when unbounded.
    fn optimum(&self, target: usize, direction: OptimizationDirection) -> Option<f64> {
        let mut problem = Problem::new(direction);
        let xs: Vec<_> = (0..self.vars.len())
            .map(|i| problem.add_var(if i == target { 1.0 } else { 0.0 }, self.bounds[i]))
            .collect();
        for (terms, rhs) in &self.equations {
            problem.add_constraint(
                terms.iter().map(|&(i, c)| (xs[i], c)),
                ComparisonOp::Eq,
                *rhs,
            );
        }
        match problem.solve() {
            Ok(SolveOutcome::Solution(solution)) => Some(solution.objective()),
            Err(microlp::Error::Unbounded) => None,
            Ok(SolveOutcome::Interrupted(_)) => panic!("attacker LP interrupted without a limit"),
            Err(e) => panic!("attacker LP failed: {e} (a bundle contradicting its own margins?)"),
        }
    }

    /// The attacker's interval for a cell: `[min, max]`, max infinite when unbounded.
    fn interval(&self, key: &Key) -> (f64, f64) {
        if let Some(&v) = self.known.get(key) {
            return (v, v);
        }
        let target = self.vars[key];
        let min = self
            .optimum(target, OptimizationDirection::Minimize)
            .expect("x >= 0 bounds the minimum");
        let max = self
            .optimum(target, OptimizationDirection::Maximize)
            .unwrap_or(f64::INFINITY);
        (min, max)
    }
}

/// What the attacker learns about one suppressed cell.
#[derive(Debug)]
struct Finding {
    table: String,
    population: String,
    key: Key,
    cell: String,
    flag: String,
    min: f64,
    max: f64,
}

impl Finding {
    fn protected(&self, threshold: f64) -> bool {
        self.max - self.min >= threshold - 1e-6
    }

    /// Pinned to one value.
    fn recovered(&self) -> bool {
        self.max - self.min < 1e-6
    }
}

/// The attacker's interval for every distinct suppressed cell of the
/// bundle, each population's tables attacked together.
fn attack(bundle: &Bundle) -> Vec<Finding> {
    let populations: BTreeSet<&str> = bundle
        .tables
        .iter()
        .map(|t| t.population.as_str())
        .collect();
    let mut findings = Vec::new();
    for population in populations {
        let tables: Vec<&Table> = bundle
            .tables
            .iter()
            .filter(|t| t.population == population)
            .collect();
        let lp = Lp::build(bundle, &tables);
        let mut done = HashSet::new();
        for table in &tables {
            for cell in &table.cells {
                if cell.persons.is_some() {
                    continue;
                }
                let key = table.key(&cell.codes);
                if !done.insert(key.clone()) {
                    continue;
                }
                let (min, max) = lp.interval(&key);
                findings.push(Finding {
                    table: table.name.clone(),
                    population: population.to_string(),
                    key,
                    cell: table.describe(cell),
                    flag: cell.flag.clone(),
                    min,
                    max,
                });
            }
        }
    }
    findings
}

// ------------------------------------------------------------------- bundles

/// `reglink example --seed SEED` in `root`, then the small study released under
/// each of [`POLICIES`]: (policy name, bundle folder).
fn release_seed(root: &Path, seed: u64) -> Vec<(&'static str, PathBuf)> {
    let out = format!("seed-{seed}");
    reglink(
        root,
        &[
            "--quiet",
            "example",
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
            reglink(
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
type Attacked = (
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
            assert_eq!(keys, ["cells", "family", "suppressed"], "policy {policy}");
        }
    }
}

// ---------------------------------------------------------- negative controls

/// Writes a table of `dims` (categories only, `_T` last) to `dir/tables`:
/// `interior` gives the count of each combination of categories (by index),
/// the totals are their sums, and `suppress` the flag of a suppressed cell
/// by its codes.
fn write_table(
    dir: &Path,
    name: &str,
    dims: &[(&str, &[&str])],
    interior: impl Fn(&[usize]) -> u64,
    suppress: impl Fn(&[&str]) -> Option<&'static str>,
) {
    fs::create_dir_all(dir.join("tables")).unwrap();
    let dimensions: Vec<Value> = dims
        .iter()
        .map(|(name, cats)| {
            let categories: Vec<Value> = cats
                .iter()
                .map(|c| json!({ "code": c, "label": c, "group": null }))
                .collect();
            json!({ "name": name, "categories": categories, "groups": [] })
        })
        .collect();
    let meta = json!({
        "name": name,
        "population": "p",
        "total_code": "_T",
        "dimensions": dimensions,
    });
    fs::write(dir.join(format!("tables/{name}.json")), meta.to_string()).unwrap();

    let mut csv = String::new();
    for (d, _) in dims {
        write!(csv, "{d},{d}_label,").unwrap();
    }
    csv.push_str("persons,persons_flag\n");
    // Every position: the categories' indices, then `None` for `_T`.
    let positions: Vec<Vec<Option<usize>>> = dims
        .iter()
        .map(|(_, cats)| (0..cats.len()).map(Some).chain([None]).collect())
        .collect();
    let mut cell: Vec<Option<usize>> = vec![Some(0); dims.len()];
    let mut odometer = vec![0; dims.len()];
    loop {
        for (d, &i) in odometer.iter().enumerate() {
            cell[d] = positions[d][i];
        }
        let codes: Vec<&str> = cell
            .iter()
            .zip(dims)
            .map(|(p, (_, cats))| p.map_or("_T", |i| cats[i]))
            .collect();
        // The sum over every combination of categories under this cell.
        let mut total = 0;
        let mut inner = vec![0; dims.len()];
        'sum: loop {
            let combo: Vec<usize> = cell
                .iter()
                .zip(&inner)
                .map(|(p, &i)| p.unwrap_or(i))
                .collect();
            total += interior(&combo);
            for d in (0..dims.len()).rev() {
                if cell[d].is_none() && inner[d] + 1 < dims[d].1.len() {
                    inner[d] += 1;
                    continue 'sum;
                }
                inner[d] = 0;
            }
            break;
        }
        for code in &codes {
            write!(csv, "{code},{code},").unwrap();
        }
        match suppress(&codes) {
            Some(flag) => writeln!(csv, "..,{flag}").unwrap(),
            None => writeln!(csv, "{total},published").unwrap(),
        }
        let Some(d) = (0..dims.len())
            .rev()
            .find(|&d| odometer[d] + 1 < positions[d].len())
        else {
            break;
        };
        odometer[d] += 1;
        odometer[d + 1..].fill(0);
    }
    fs::write(dir.join(format!("tables/{name}.csv")), csv).unwrap();
}

fn write_manifest(dir: &Path, tables: &[&str]) {
    let manifest = json!({
        "policy": { "threshold": 10, "zeros_disclosive": true },
        "tables": tables,
    });
    fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
}

/// 2 x 2 with margins: [[3, 7], [8, 12]].
const AB: [(&str, &[&str]); 2] = [("a", &["a1", "a2"]), ("b", &["b1", "b2"])];

fn ab(i: &[usize]) -> u64 {
    [[3, 7], [8, 12]][i[0]][i[1]]
}

fn interior_of_ab(codes: &[&str]) -> bool {
    codes.iter().all(|c| *c != "_T")
}

/// What the attacker finds about cell a1/b1 (of table `x`).
fn a1_b1(dir: &Path) -> Finding {
    let bundle = read_bundle(dir);
    let findings = attack(&bundle);
    findings
        .into_iter()
        .find(|f| f.key == [("a".into(), "a1".into()), ("b".into(), "b1".into())])
        .expect("a1/b1 is suppressed")
}

/// 2 x 2 with margins: [[a11, 12], [15, 20]], every inner cell suppressed,
/// a1/b1 flagged `primary` and the others `other`.
fn rectangle(dir: &Path, a11: u64, primary: &'static str, other: &'static str) {
    write_table(
        dir,
        "x",
        &AB,
        |i| [[a11, 12], [15, 20]][i[0]][i[1]],
        |codes| {
            interior_of_ab(codes).then_some(if codes == ["a1", "b1"] {
                primary
            } else {
                other
            })
        },
    );
    write_manifest(dir, &["x"]);
}

#[test]
fn flags_naming_the_rule_give_a_protected_cell_away() {
    // Margins alone: x11 = t, x12 = 12 + 3 - t, x21 = 15 + 3 - t, x22 = 17 + t,
    // so t in [0, 15]: protected.
    let dir = tempfile::tempdir().unwrap();
    rectangle(dir.path(), 3, "suppressed", "suppressed");
    let f = a1_b1(dir.path());
    assert_eq!((f.min, f.max), (0.0, 15.0), "{f:?}");
    assert!(f.protected(10.0), "{f:?}");
    // `threshold` says 1 <= t <= 9, `secondary` that the others are at least
    // 10: 15 - t >= 10, so t in [1, 5].
    rectangle(dir.path(), 3, "threshold", "secondary");
    let f = a1_b1(dir.path());
    assert_eq!((f.min, f.max), (1.0, 5.0), "{f:?}");
    assert!(!f.protected(10.0), "{f:?}");
}

#[test]
fn a_zero_flag_gives_the_cell_away_exactly() {
    let dir = tempfile::tempdir().unwrap();
    rectangle(dir.path(), 0, "suppressed", "suppressed");
    let f = a1_b1(dir.path());
    assert!(f.protected(10.0) && !f.recovered(), "{f:?}");
    rectangle(dir.path(), 0, "zero", "secondary");
    let f = a1_b1(dir.path());
    assert_eq!((f.min, f.max), (0.0, 0.0), "{f:?}");
    assert!(f.recovered(), "{f:?}");
}

#[test]
fn the_attacker_recovers_a_lone_suppressed_cell() {
    let dir = tempfile::tempdir().unwrap();
    write_table(dir.path(), "x", &AB, ab, |codes| {
        (codes == ["a1", "b1"]).then_some("suppressed")
    });
    write_manifest(dir.path(), &["x"]);
    let f = a1_b1(dir.path());
    assert_eq!((f.min, f.max), (3.0, 3.0), "{f:?}");
    assert!(!f.protected(10.0), "{f:?}");
}

#[test]
fn the_attacker_bounds_a_suppressed_rectangle_by_its_margins() {
    let dir = tempfile::tempdir().unwrap();
    write_table(dir.path(), "x", &AB, ab, |codes| {
        interior_of_ab(codes).then_some("suppressed")
    });
    write_manifest(dir.path(), &["x"]);
    // x11 = t, x12 = 10 - t, x21 = 11 - t, x22 = 9 + t: t in [0, 10].
    let f = a1_b1(dir.path());
    assert!(
        (f.min - 0.0).abs() < 1e-6 && (f.max - 10.0).abs() < 1e-6,
        "{f:?}"
    );
    assert!(f.protected(10.0), "{f:?}");
}

#[test]
fn the_attacker_links_tables_of_one_population() {
    // The rectangle alone protects a1/b1, but a second table of the same
    // population publishes its total over c.
    let dir = tempfile::tempdir().unwrap();
    write_table(dir.path(), "x", &AB, ab, |codes| {
        interior_of_ab(codes).then_some("suppressed")
    });
    let abc: [(&str, &[&str]); 3] = [AB[0], AB[1], ("c", &["c1", "c2"])];
    write_table(
        dir.path(),
        "y",
        &abc,
        |i| {
            let n = ab(i);
            if i[2] == 0 { n / 2 } else { n - n / 2 }
        },
        |codes| (codes != ["a1", "b1", "_T"] && codes[..2] == ["a1", "b1"]).then_some("suppressed"),
    );
    write_manifest(dir.path(), &["x", "y"]);
    let f = a1_b1(dir.path());
    assert_eq!((f.min, f.max), (3.0, 3.0), "{f:?}");
    assert!(!f.protected(10.0), "{f:?}");
}
