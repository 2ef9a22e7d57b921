//! Release bundles obey docs/release-bundle.md, checked by a reader written
//! from that page alone: the file set, the columns and the order of the rows,
//! labels, values against flags, the margin equations within a table, cells
//! shared between tables of one population, shares of a table's own
//! dimension, and the signature file, checked with Ed25519 directly.
//!
//! Bundles: the example study under `lenient` (suppression, many values
//! published, so the equations have terms to check) and signed, and under
//! rounding and the cell key method.
//!
//! A plain attacker written from the same page and from the audit section
//! of disclosure-control.md (one linear program per end of every
//! suppressed count, over every equation of its population, no bounds or
//! shortcuts) agrees with `reglink audit` on every suppressed count of the
//! populations small enough for it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::Path;

use reglink_tests::{example, reglink};
use serde_json::Value;

/// One table as the page describes it.
struct Table {
    population: String,
    dims: Vec<Dim>,
    /// Value columns: name, and per row the value (`None` for `..` or empty) and flag.
    values: Vec<(String, Vec<Option<f64>>, Vec<String>)>,
    /// Per row, each dimension's code.
    codes: Vec<Vec<String>>,
}

struct Dim {
    name: String,
    categories: Vec<(String, String, Option<String>)>,
    groups: Vec<String>,
}

impl Dim {
    /// Codes of the positions in row order: categories, groups, `_T`.
    fn positions(&self) -> Vec<String> {
        let mut out: Vec<String> = self.categories.iter().map(|c| c.0.clone()).collect();
        out.extend(self.groups.iter().cloned());
        out.push("_T".into());
        out
    }

    /// Each margin position with the positions it is the sum of.
    fn margins(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = self
            .groups
            .iter()
            .map(|g| {
                let parts = self
                    .categories
                    .iter()
                    .filter(|c| c.2.as_deref() == Some(g))
                    .map(|c| c.0.clone())
                    .collect();
                (g.clone(), parts)
            })
            .collect();
        let total = if self.groups.is_empty() {
            self.categories.iter().map(|c| c.0.clone()).collect()
        } else {
            self.groups.clone()
        };
        out.push(("_T".into(), total));
        out
    }
}

fn read_table(bundle: &Path, name: &str) -> Table {
    let desc: Value = serde_json::from_str(
        &fs::read_to_string(bundle.join(format!("tables/{name}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(desc["name"], name);
    assert_eq!(desc["total_code"], "_T");
    let dims: Vec<Dim> = desc["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| Dim {
            name: d["name"].as_str().unwrap().into(),
            categories: d["categories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["code"].as_str().unwrap().into(),
                        c["label"].as_str().unwrap().into(),
                        c["group"].as_str().map(str::to_string),
                    )
                })
                .collect(),
            groups: d["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g.as_str().unwrap().into())
                .collect(),
        })
        .collect();
    let mut reader = csv::Reader::from_path(bundle.join(format!("tables/{name}.csv"))).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let columns: Vec<String> = desc["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().into())
        .collect();
    assert_eq!(header, columns, "{name}: the CSV's columns are `columns`");
    let n = dims.len();
    for (d, dim) in dims.iter().enumerate() {
        assert_eq!(header[2 * d], dim.name);
        assert_eq!(header[2 * d + 1], format!("{}_label", dim.name));
    }
    assert_eq!(
        header[2 * n],
        "persons",
        "{name}: persons is the first value"
    );
    let value_names: Vec<String> = header[2 * n..].iter().step_by(2).cloned().collect();
    for (i, v) in value_names.iter().enumerate() {
        assert_eq!(header[2 * n + 2 * i + 1], format!("{v}_flag"));
    }
    let mut codes = Vec::new();
    let mut values: Vec<(String, Vec<Option<f64>>, Vec<String>)> = value_names
        .iter()
        .map(|v| (v.clone(), Vec::new(), Vec::new()))
        .collect();
    for record in reader.records() {
        let record = record.unwrap();
        let fields: Vec<&str> = record.iter().collect();
        codes.push(
            fields[..2 * n]
                .iter()
                .step_by(2)
                .map(|s| s.to_string())
                .collect(),
        );
        for (d, dim) in dims.iter().enumerate() {
            let (code, label) = (fields[2 * d], fields[2 * d + 1]);
            let expected = match dim.categories.iter().find(|c| c.0 == code) {
                Some(c) => c.1.clone(),
                None if code == "_T" => "Total".into(),
                None => code.to_string(),
            };
            assert_eq!(label, expected, "{name}: label of {}={code}", dim.name);
        }
        for (i, (_, vals, flags)) in values.iter_mut().enumerate() {
            let (text, flag) = (fields[2 * n + 2 * i], fields[2 * n + 2 * i + 1]);
            assert!(
                ["published", "rounded", "perturbed", "suppressed"].contains(&flag),
                "{name}: flag {flag}"
            );
            assert_eq!(
                text == "..",
                flag == "suppressed",
                "{name}: `..` exactly when suppressed"
            );
            vals.push(match text {
                ".." | "" => None,
                t => Some(t.parse::<f64>().expect("a decimal number")),
            });
            flags.push(flag.to_string());
        }
    }
    // One row per cell, in the documented order: the last dimension fastest.
    let mut expected: Vec<Vec<String>> = vec![Vec::new()];
    for dim in &dims {
        expected = expected
            .into_iter()
            .flat_map(|prefix| {
                dim.positions().into_iter().map(move |p| {
                    let mut row = prefix.clone();
                    row.push(p);
                    row
                })
            })
            .collect();
    }
    assert_eq!(codes, expected, "{name}: rows and their order");
    assert_eq!(desc["cells"].as_u64().unwrap() as usize, codes.len());
    Table {
        population: desc["population"].as_str().unwrap().into(),
        dims,
        values,
        codes,
    }
}

/// A row's identity across tables: population and the non-total (dimension, code) pairs.
fn identity(t: &Table, row: usize) -> (String, BTreeSet<(String, String)>) {
    let pairs = t
        .dims
        .iter()
        .zip(&t.codes[row])
        .filter(|(_, c)| *c != "_T")
        .map(|(d, c)| (d.name.clone(), c.clone()))
        .collect();
    (t.population.clone(), pairs)
}

/// Rule 1, for the counts of `t` when its values are exact: every margin
/// whose terms are all published is their sum. Returns how many were.
fn margins_hold(t: &Table, exact: bool) -> usize {
    let mut complete = 0;
    // Rule 1: margins within a table, checked on the counts of persons.
    let index: HashMap<&Vec<String>, usize> =
        t.codes.iter().enumerate().map(|(i, c)| (c, i)).collect();
    for (col, vals, _) in &t.values {
        let is_count = col == "persons";
        if !is_count || !exact {
            continue;
        }
        for (d, dim) in t.dims.iter().enumerate() {
            for row in 0..t.codes.len() {
                for (parent, parts) in dim.margins() {
                    if t.codes[row][d] != parent {
                        continue;
                    }
                    let terms: Vec<Option<f64>> = parts
                        .iter()
                        .map(|p| {
                            let mut c = t.codes[row].clone();
                            c[d] = p.clone();
                            vals[index[&c]]
                        })
                        .collect();
                    if let (Some(total), Some(sum)) =
                        (vals[row], terms.iter().copied().sum::<Option<f64>>())
                    {
                        assert_eq!(total, sum, "{col} at {:?} along {}", t.codes[row], dim.name);
                        complete += 1;
                    }
                }
            }
        }
    }
    complete
}

/// Every documented check of one bundle; `exact` when the method publishes
/// true values (suppression). Returns how many equations had every term
/// published, so that callers can see the check had something to check.
fn check(bundle: &Path, exact: bool) -> usize {
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(bundle.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["output"], "release");
    let names: Vec<String> = manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().into())
        .collect();
    let mut expected: BTreeSet<String> = ["manifest.json", "summary.md", "report.html"]
        .map(String::from)
        .into();
    for n in &names {
        for ext in ["csv", "parquet", "json"] {
            expected.insert(format!("tables/{n}.{ext}"));
        }
    }
    if manifest["policy"]["method"]["name"] == "cell_key" {
        expected.insert("ptable.csv".into());
    }
    if manifest.get("signing_key").is_some() {
        expected.insert("manifest.json.sig".into());
    }
    let present: BTreeSet<String> = reglink_tests::files_below(bundle)
        .iter()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect();
    assert_eq!(present, expected, "the bundle's files");
    let listed: BTreeSet<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().into())
        .collect();
    let mut unlisted = expected.clone();
    unlisted.retain(|f| !listed.contains(f));
    assert_eq!(
        unlisted,
        ["manifest.json", "manifest.json.sig"]
            .into_iter()
            .map(String::from)
            .filter(|f| expected.contains(f))
            .collect(),
        "the manifest lists every file but itself and its signature"
    );

    let tables: Vec<Table> = names.iter().map(|n| read_table(bundle, n)).collect();
    for (t, n) in tables.iter().zip(&names) {
        parquet_agrees(bundle, n, t);
    }
    let complete: usize = tables.iter().map(|t| margins_hold(t, exact)).sum();
    // Rule 2: a cell shared by tables of one population has one count.
    let mut seen: HashMap<(String, BTreeSet<(String, String)>), f64> = HashMap::new();
    for t in &tables {
        for row in 0..t.codes.len() {
            let Some(v) = t.values[0].1[row] else {
                continue;
            };
            let id = identity(t, row);
            if let Some(&other) = seen.get(&id) {
                if exact {
                    assert_eq!(v, other, "persons of {id:?} in two tables");
                }
            } else {
                seen.insert(id, v);
            }
        }
    }
    // Rule 3: a share of the table's own dimension.
    let desc_measures = |n: &str| -> Value {
        serde_json::from_str::<Value>(
            &fs::read_to_string(bundle.join(format!("tables/{n}.json"))).unwrap(),
        )
        .unwrap()["measures"]
            .clone()
    };
    let mut own_share_rows = 0;
    for (t, n) in tables.iter().zip(&names) {
        for m in desc_measures(n).as_array().unwrap() {
            let (Some(of), "share") = (m["of"].as_str(), m["kind"].as_str().unwrap()) else {
                continue;
            };
            let Some(d) = t.dims.iter().position(|x| x.name == of) else {
                continue;
            };
            let col = t.values.iter().find(|v| v.0 == m["name"]).unwrap();
            for row in 0..t.codes.len() {
                let expected = match t.codes[row][d].as_str() {
                    "no" => 0.0,
                    "yes" => 100.0,
                    _ => continue,
                };
                assert_eq!(
                    col.2[row] == "suppressed",
                    t.values[0].2[row] == "suppressed"
                );
                if let Some(v) = col.1[row] {
                    own_share_rows += 1;
                    assert_eq!(
                        v, expected,
                        "{n}: share of {of} at {of}={}",
                        t.codes[row][d]
                    );
                }
            }
        }
    }
    if exact {
        assert!(
            own_share_rows > 0,
            "no published share of a table's own dimension"
        );
    }
    complete
}

/// `tables/NAME.parquet` holds the CSV's rows as the page types them: a
/// dimension's code as an integer (null away from its categories) exactly
/// when every category code but `unknown` is a plain whole number and it has
/// no groups, its label, its level; a count or sum as integers, any other
/// value as floating point; null where the CSV has `..` or nothing.
fn parquet_agrees(bundle: &Path, name: &str, t: &Table) {
    use arrow_array::Array as _;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    use arrow_schema::DataType;
    let file = fs::File::open(bundle.join(format!("tables/{name}.parquet"))).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    let batch = arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap();
    assert_eq!(batch.num_rows(), t.codes.len(), "{name}: rows");
    let csv_text = fs::read_to_string(bundle.join(format!("tables/{name}.csv"))).unwrap();
    let mut csv = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = csv.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    for (d, dim) in t.dims.iter().enumerate() {
        let plain = |c: &str| c.parse::<i64>().is_ok_and(|v| v >= 0 && v.to_string() == c);
        let integer = dim.groups.is_empty()
            && dim
                .categories
                .iter()
                .all(|c| c.0 == "unknown" || plain(&c.0));
        let code = batch.column_by_name(&dim.name).unwrap();
        let level = batch
            .column_by_name(&format!("{}_level", dim.name))
            .unwrap()
            .as_string::<i32>();
        let categories: BTreeSet<&str> = dim.categories.iter().map(|c| c.0.as_str()).collect();
        for row in 0..t.codes.len() {
            let csv_code = t.codes[row][d].as_str();
            let expected_level = match csv_code {
                "_T" => "total",
                "unknown" => "unknown",
                c if categories.contains(c) => "category",
                _ => "group",
            };
            assert_eq!(
                level.value(row),
                expected_level,
                "{name}: level of {csv_code}"
            );
            if integer {
                let codes = code.as_primitive::<Int64Type>();
                let expected = (expected_level == "category").then(|| csv_code.parse().unwrap());
                let got = (!codes.is_null(row)).then(|| codes.value(row));
                assert_eq!(got, expected, "{name}: {} code", dim.name);
            } else {
                assert_eq!(code.as_string::<i32>().value(row), csv_code);
            }
        }
    }
    let desc: Value = serde_json::from_str(
        &fs::read_to_string(bundle.join(format!("tables/{name}.json"))).unwrap(),
    )
    .unwrap();
    for (column, values, _) in &t.values {
        let kind = desc["measures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == column.as_str())
            .map_or("persons", |m| m["kind"].as_str().unwrap());
        let whole = matches!(kind, "persons" | "households" | "sum");
        let at = header.iter().position(|h| h == column).unwrap();
        assert!(
            !whole || rows.iter().all(|r| !r[at].contains('.') || &r[at] == ".."),
            "{name}: the CSV writes {column} with decimals"
        );
        let array = batch.column_by_name(column).unwrap();
        let expected_type = if whole {
            DataType::Int64
        } else {
            DataType::Float64
        };
        assert_eq!(array.data_type(), &expected_type, "{name}: {column}");
        for (row, v) in values.iter().enumerate() {
            let got = match array.data_type() {
                DataType::Int64 => {
                    let a = array.as_primitive::<Int64Type>();
                    (!a.is_null(row)).then(|| a.value(row) as f64)
                }
                _ => {
                    let a = array.as_primitive::<Float64Type>();
                    (!a.is_null(row)).then(|| a.value(row))
                }
            };
            assert_eq!(got, *v, "{name}: {column} at row {row}");
        }
    }
}

/// The example study with one more table, by `at_af` with the share of
/// `at_af` (rule 3's case), over a population of its own: the tables of the
/// example's `eb_adults`, a five-dimension table of a few hundred people
/// among them, are protected together and nearly all suppressed.
const OWN_SHARE_TABLE: &str = r#"
[populations.spec_adults]
source = "eb"
years = [2023, 2024]
age = [18, 64]

[[tables]]
name = "t9_at_af_by_itself"
population = "spec_adults"
dimensions = ["year", "sex", "at_af"]
measures = [
  { name = "persons", kind = "persons" },
  { name = "at_af_share", kind = "share", of = "at_af" },
]
"#;

fn release(args: &[&str], out: &Path) {
    let ex = example!();
    let study = ex.join("spec-study.toml");
    if !study.exists() {
        let text = fs::read_to_string(ex.join("study.toml")).unwrap();
        fs::write(&study, format!("{text}{OWN_SHARE_TABLE}")).unwrap();
    }
    let mut all = vec![
        "-q",
        "run",
        "spec-study.toml",
        "--out",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    reglink!(ex, &all).success();
}

#[test]
fn bundles_under_every_method_follow_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let lenient = dir.path().join("lenient");
    release(&["--policy", "lenient"], &lenient);
    let complete = check(&lenient, true);
    assert!(
        complete > 50,
        "only {complete} equations had every term published"
    );
    // The checks can fail: one published total off by one breaks its margin.
    let broken = dir.path().join("broken");
    reglink_tests::copy_tree(&lenient, &broken);
    // Three dimensions, so persons is the seventh field.
    reglink_tests::bump_grand_total(&broken.join("tables/t2_equal_terms.csv"), 6);
    let caught = std::panic::catch_unwind(|| check(&broken, true));
    assert!(
        caught.is_err(),
        "a grand total off by one passed the checks"
    );
    for (name, policy) in [
        (
            "rounding",
            "preset = \"lenient\"\nmethod = \"rounding\"\nrounding_base = 5\n",
        ),
        ("cell-key", "preset = \"lenient\"\nmethod = \"cell_key\"\n"),
    ] {
        let file = dir.path().join(format!("{name}.toml"));
        fs::write(&file, policy).unwrap();
        let out = dir.path().join(name);
        release(&["--policy", file.to_str().unwrap()], &out);
        check(&out, false);
    }
}

#[test]
fn a_signature_checks_as_the_page_says() {
    let dir = tempfile::tempdir().unwrap();
    reglink!(dir.path(), &["key", "new-signing", "--out", "k"]).success();
    let out = dir.path().join("signed");
    release(
        &[
            "--policy",
            "abs",
            "--sign",
            dir.path().join("k").to_str().unwrap(),
        ],
        &out,
    );
    check(&out, true);
    // The public key file: one line, a tag and 64 hex digits.
    let public = fs::read_to_string(dir.path().join("k.pub")).unwrap();
    let hex_key = public
        .strip_prefix("reglink-ed25519-public-key-v1 ")
        .and_then(|s| s.strip_suffix('\n'))
        .expect("the public key line");
    let key = ed25519_dalek::VerifyingKey::from_bytes(&unhex::<32>(hex_key)).unwrap();
    // The fingerprint: the start of the public key file's BLAKE3 hash.
    let file_hash = reglink_extract::fingerprint_file(dir.path().join("k.pub")).unwrap();
    let fingerprint = format!("rs-{}", &file_hash.as_str()["blake3:".len()..][..32]);
    // The signature file: three lines.
    let sig = fs::read_to_string(out.join("manifest.json.sig")).unwrap();
    let lines: Vec<&str> = sig.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], "reglink-ed25519-signature-v1");
    assert_eq!(lines[1], format!("signer {fingerprint}"));
    let manifest = fs::read(out.join("manifest.json")).unwrap();
    let named: Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(named["signing_key"], fingerprint);
    let signature = ed25519_dalek::Signature::from_bytes(&unhex::<64>(
        lines[2].strip_prefix("signature ").unwrap(),
    ));
    let mut message = b"reglink release manifest v1\n".to_vec();
    message.extend_from_slice(&manifest);
    key.verify_strict(&message, &signature)
        .expect("a valid signature over the context and the manifest");
    // Over the manifest alone, without the context, it is not valid.
    assert!(key.verify_strict(&manifest, &signature).is_err());
}

fn unhex<const N: usize>(text: &str) -> [u8; N] {
    assert_eq!(text.len(), 2 * N);
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// The suppressed counts of one population as the plain attacker sees
/// them: per atom its cells (table, CSV line), and its verdict.
type Verdicts = BTreeMap<(String, usize), (&'static str, f64, f64)>;

/// The plain attacker over every population with at most `limit`
/// suppressed counts: per cell of a suppressed count, `pass`, `review` or
/// `fail` as the audit section defines them, and the count's least value;
/// `inconsistent` for every count of a population whose published values
/// admit no table at all.
fn plain_attacker(bundle: &Path, limit: usize) -> Verdicts {
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(bundle.join("manifest.json")).unwrap()).unwrap();
    let t = manifest["policy"]["threshold"].as_u64().unwrap() as f64;
    let zeros = manifest["policy"]["zeros_disclosive"].as_bool().unwrap();
    let tables: Vec<(String, Table)> = manifest["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .map(|n| (n.clone(), read_table(bundle, &n)))
        .collect();
    let mut atoms: HashMap<(String, BTreeSet<(String, String)>), usize> = HashMap::new();
    let mut value: Vec<Option<f64>> = Vec::new();
    let mut cells: Vec<Vec<(String, usize)>> = Vec::new();
    let mut population: Vec<String> = Vec::new();
    let mut equations: Vec<Vec<(usize, f64)>> = Vec::new();
    for (name, table) in &tables {
        let persons = &table.values[0].1;
        let atom_of: Vec<usize> = (0..table.codes.len())
            .map(|row| {
                let id = identity(table, row);
                let next = value.len();
                let k = *atoms.entry(id).or_insert(next);
                if k == next {
                    value.push(None);
                    cells.push(Vec::new());
                    population.push(table.population.clone());
                }
                // Published in any table, known to the attacker.
                value[k] = value[k].or(persons[row]);
                cells[k].push((name.clone(), row + 2));
                k
            })
            .collect();
        let index: HashMap<&Vec<String>, usize> = table
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c, i))
            .collect();
        for (d, dim) in table.dims.iter().enumerate() {
            for row in 0..table.codes.len() {
                for (parent, parts) in dim.margins() {
                    if table.codes[row][d] != parent {
                        continue;
                    }
                    let mut eq = vec![(atom_of[row], 1.0)];
                    for p in parts {
                        let mut c = table.codes[row].clone();
                        c[d] = p.clone();
                        eq.push((atom_of[index[&c]], -1.0));
                    }
                    equations.push(eq);
                }
            }
        }
    }
    let mut out = Verdicts::new();
    let mut names: Vec<&String> = population.iter().collect();
    names.sort();
    names.dedup();
    for pop in names {
        let unknown: Vec<usize> = (0..value.len())
            .filter(|&k| &population[k] == pop && value[k].is_none())
            .collect();
        if unknown.is_empty() || unknown.len() > limit {
            continue;
        }
        for &k in &unknown {
            let end = |direction| {
                let mut lp = microlp::Problem::new(direction);
                let vars: HashMap<usize, microlp::Variable> = unknown
                    .iter()
                    .map(|&u| {
                        (
                            u,
                            lp.add_var(f64::from(u8::from(u == k)), (0.0, f64::INFINITY)),
                        )
                    })
                    .collect();
                for eq in &equations {
                    if population[eq[0].0] != *pop || eq.iter().all(|(a, _)| value[*a].is_some()) {
                        continue;
                    }
                    let mut terms: BTreeMap<usize, f64> = BTreeMap::new();
                    let mut rhs = 0.0;
                    for &(a, c) in eq {
                        match value[a] {
                            Some(v) => rhs -= c * v,
                            None => *terms.entry(a).or_default() += c,
                        }
                    }
                    let expr: Vec<(microlp::Variable, f64)> = terms
                        .into_iter()
                        .filter(|(_, c)| *c != 0.0)
                        .map(|(a, c)| (vars[&a], c))
                        .collect();
                    if !expr.is_empty() {
                        lp.add_constraint(expr.as_slice(), microlp::ComparisonOp::Eq, rhs);
                    }
                }
                match lp.solve() {
                    Ok(o) => Some(o.into_solution().unwrap().var_value(vars[&k])),
                    Err(microlp::Error::Unbounded) => Some(f64::INFINITY),
                    Err(microlp::Error::Infeasible) => None,
                    Err(e) => panic!("{e}"),
                }
            };
            let lo = end(microlp::OptimizationDirection::Minimize);
            let hi = end(microlp::OptimizationDirection::Maximize);
            let verdict = plain_verdict(lo, hi, t, zeros);
            for cell in &cells[k] {
                out.insert(
                    cell.clone(),
                    (verdict, lo.unwrap_or(f64::NAN), hi.unwrap_or(f64::NAN)),
                );
            }
        }
    }
    out
}

/// The audit section's verdict on the interval `lo..hi` (`None` where no
/// table is consistent with the bundle).
fn plain_verdict(lo: Option<f64>, hi: Option<f64>, t: f64, zeros: bool) -> &'static str {
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return "inconsistent";
    };
    let (a, b) = ((lo - 1e-6).ceil().max(0.0), (hi + 1e-6).floor());
    let small = |v: f64| v < t && (v >= 1.0 || zeros);
    let any_small = (a as u64..=(b.min(t) as u64)).any(|v| small(v as f64));
    let all_small = b < t && small(a);
    if a > b || all_small {
        "fail"
    } else if !any_small || b - a >= t {
        "pass"
    } else {
        "review"
    }
}

/// `reglink audit --json`'s verdict per cell of the attacker check: the
/// cells it lists, every other suppressed count `pass`.
fn audited(bundle: &Path) -> HashMap<(String, usize), String> {
    let run = reglink!(
        bundle.parent().unwrap(),
        &["audit", bundle.to_str().unwrap(), "--json"]
    );
    let report: Value = serde_json::from_str(&run.stdout).expect("the JSON report");
    let mut out = HashMap::new();
    for f in report["findings"].as_array().unwrap() {
        if f["check"] != "attacker" {
            continue;
        }
        for c in f["cells"].as_array().unwrap() {
            let cell = (
                c["table"].as_str().unwrap().to_string(),
                c["line"].as_u64().unwrap() as usize,
            );
            out.insert(cell, c["status"].as_str().unwrap().to_string());
        }
    }
    out
}

/// Compares the plain attacker with the audit. Where the plain attacker
/// finds a population inconsistent, the audit, which solves each connected
/// part of it on its own, must fail at least one of its counts.
fn agree(bundle: &Path) -> usize {
    let plain = plain_attacker(bundle, 300);
    let audit = audited(bundle);
    for (cell, (verdict, ..)) in &plain {
        let theirs = audit.get(cell).map_or("pass", String::as_str);
        if *verdict == "inconsistent" {
            assert!(
                audit.values().any(|v| v == "fail"),
                "{}: {cell:?}",
                bundle.display()
            );
        } else {
            assert_eq!(theirs, *verdict, "{}: {cell:?}", bundle.display());
        }
    }
    plain.len()
}

#[test]
fn the_audit_agrees_with_a_plain_attacker() {
    let ex = example!();
    let dir = tempfile::tempdir().unwrap();
    let lenient = dir.path().join("lenient");
    release(&["--policy", "lenient"], &lenient);
    let mut cells = agree(&lenient) + agree(&ex.join("release"));
    // A forged bundle: in each table with small populations, one count of a
    // margin equation with exactly two suppressed terms published at an end
    // of its interval, which is consistent with the rest and pins its
    // partner at the partner's least (two parts: the one at its greatest;
    // the margin and a part: the one at its least). Chosen where that least
    // is a small count, so the forged bundle exposes it.
    let forged = dir.path().join("forged");
    reglink_tests::copy_tree(&lenient, &forged);
    let plain = plain_attacker(&forged, 300);
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(forged.join("manifest.json")).unwrap()).unwrap();
    let threshold = manifest["policy"]["threshold"].as_u64().unwrap() as f64;
    let tables: BTreeSet<&String> = plain.keys().map(|(t, _)| t).collect();
    for table in tables {
        let t = read_table(&forged, table);
        let persons = &t.values[0].1;
        let index: HashMap<&Vec<String>, usize> =
            t.codes.iter().enumerate().map(|(i, c)| (c, i)).collect();
        let pinned = t.dims.iter().enumerate().find_map(|(d, dim)| {
            (0..t.codes.len()).find_map(|row| {
                dim.margins().into_iter().find_map(|(parent, parts)| {
                    if t.codes[row][d] != parent {
                        return None;
                    }
                    let mut rows = vec![row];
                    rows.extend(parts.iter().map(|p| {
                        let mut c = t.codes[row].clone();
                        c[d] = p.clone();
                        index[&c]
                    }));
                    let hidden: Vec<usize> =
                        rows.into_iter().filter(|&r| persons[r].is_none()).collect();
                    if hidden.len() != 2 {
                        return None;
                    }
                    let margin = hidden[0] == row;
                    [(hidden[0], hidden[1]), (hidden[1], hidden[0])]
                        .into_iter()
                        .find_map(|(publish, partner)| {
                            let &(_, least, most) = plain.get(&(table.clone(), publish + 2))?;
                            let end = if margin { least } else { most };
                            let &(_, pinned, _) = plain.get(&(table.clone(), partner + 2))?;
                            let small = (1.0..threshold).contains(&pinned.round());
                            (end.is_finite() && small).then_some((publish, end))
                        })
                })
            })
        });
        let Some((row, end)) = pinned else { continue };
        let csv = forged.join(format!("tables/{table}.csv"));
        let text = fs::read_to_string(&csv).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let n = t.dims.len();
        let mut fields: Vec<String> = lines[row + 1].split(',').map(String::from).collect();
        fields[2 * n] = format!("{}", end.round());
        fields[2 * n + 1] = "published".into();
        lines[row + 1] = fields.join(",");
        fs::write(&csv, lines.join("\n") + "\n").unwrap();
    }
    cells += agree(&forged);
    let failing = plain_attacker(&forged, 300)
        .values()
        .filter(|v| v.0 == "fail")
        .count();
    assert!(cells > 100, "only {cells} suppressed cells compared");
    assert!(failing > 0, "the forgery failed no count");
}
