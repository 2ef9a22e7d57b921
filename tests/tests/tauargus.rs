//! The τ-ARGUS input sets in the checker report of `reglink example`'s
//! release (`release.checker/tauargus/`), read back against what they must
//! agree with: the unprotected cell tables of the same run (`link/cells/`,
//! the true values and the hierarchy) and the checker report's reasons (the
//! pattern). The format is `crates/reglink-release/src/tauargus.rs`; loading
//! the files in τ-ARGUS itself is described in each folder's `README.txt`.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reglink_tests::{example, listing};
use serde_json::Value;

/// A cell by its τ-ARGUS codes, in dimension order.
type Key = Vec<String>;

/// A dimension of a cell table's description: its name, its categories
/// with their groups, its groups.
struct Dim {
    name: String,
    categories: Vec<(String, Option<String>)>,
    groups: Vec<String>,
}

impl Dim {
    /// The code τ-ARGUS gets for a release code `code`: the same, but a
    /// group whose code a category has too gets a leading `G`.
    fn argus(&self, code: &str, group: bool) -> String {
        if group && self.categories.iter().any(|(c, _)| c == code) {
            format!("G{code}")
        } else {
            code.to_string()
        }
    }
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// The dimensions of the cell table `name` of the example's `link/`.
fn dims(ex: &Path, name: &str) -> Vec<Dim> {
    let meta = json(&ex.join(format!("link/cells/{name}.json")));
    meta["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| Dim {
            name: d["name"].as_str().unwrap().to_string(),
            categories: d["categories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let group = c["group"].as_str().map(String::from);
                    (c["code"].as_str().unwrap().to_string(), group)
                })
                .collect(),
            groups: d["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g.as_str().unwrap().to_string())
                .collect(),
        })
        .collect()
}

/// The true values of `column` (and of `freq`, its contributors) per cell
/// of the cell table `name`, keyed by τ-ARGUS codes.
fn true_values(ex: &Path, name: &str, column: &str, freq: &str) -> HashMap<Key, (i64, u64)> {
    let dims = dims(ex, name);
    let file = fs::File::open(ex.join(format!("link/cells/{name}.parquet"))).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out = HashMap::new();
    for batch in reader {
        let batch: RecordBatch = batch.unwrap();
        let int = |c: &str| -> Vec<i64> {
            let a = batch.column_by_name(c).unwrap();
            match a.as_primitive_opt::<Int64Type>() {
                Some(v) => v.values().to_vec(),
                None => a
                    .as_primitive::<UInt64Type>()
                    .values()
                    .iter()
                    .map(|&x| x as i64)
                    .collect(),
            }
        };
        let (values, freqs) = (int(column), int(freq));
        for row in 0..batch.num_rows() {
            let key: Key = dims
                .iter()
                .map(|d| {
                    let code = batch
                        .column_by_name(&d.name)
                        .unwrap()
                        .as_string::<i32>()
                        .value(row);
                    let level = batch
                        .column_by_name(&format!("{}_level", d.name))
                        .unwrap()
                        .as_primitive::<arrow_array::types::UInt8Type>()
                        .value(row);
                    d.argus(code, level == 1 && !d.groups.is_empty())
                })
                .collect();
            let previous = out.insert(key, (values[row], freqs[row] as u64));
            assert!(previous.is_none(), "{name}: a cell twice");
        }
    }
    out
}

/// The checker report's reason per suppressed cell of `column` of `table`.
fn reasons(ex: &Path, table: &str, column: &str) -> HashMap<Key, String> {
    let report = json(&ex.join("release.checker/checker-report.json"));
    let dims = dims(ex, table);
    let t = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == table)
        .unwrap();
    let c = t["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == column)
        .unwrap();
    c["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let key = dims
                .iter()
                .map(|d| {
                    let code = s["cell"][&d.name].as_str().unwrap();
                    let group = d.groups.iter().any(|g| g == code)
                        && !d.categories.iter().any(|(c, _)| c == code);
                    // A code that is both a category and a group: the
                    // report cannot say which; the category comes first.
                    d.argus(code, group)
                })
                .collect();
            (key, s["reason"].as_str().unwrap().to_string())
        })
        .collect()
}

/// `(stem, response column, its frequency column in link/cells, the
/// checker report's column)` of the sets checked.
const SETS: [(&str, &str, &str, &str, &str); 3] = [
    ("t1_overlap", "t1_overlap", "persons", "persons", "persons"),
    ("t7_amounts", "t7_amounts", "persons", "persons", "persons"),
    (
        "t7_amounts",
        "t7_amounts.amount",
        "amount_sum",
        "amount_n",
        "amount",
    ),
];

fn folder(table: &str) -> std::path::PathBuf {
    example!().join("release.checker/tauargus").join(table)
}

fn lines(path: &Path) -> Vec<Vec<String>> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(';').map(String::from).collect())
        .collect()
}

#[test]
fn every_cell_is_in_the_tab_once_with_its_true_value_and_its_status() {
    let ex = example!();
    let threshold = json(&ex.join("release.checker/checker-report.json"))["policy"]["threshold"]
        .as_i64()
        .unwrap();
    for (table, stem, value, freq, column) in SETS {
        let truth = true_values(ex, table, value, freq);
        let reasons = reasons(ex, table, column);
        let n = dims(ex, table).len();
        let tab = lines(&folder(table).join(format!("{stem}.tab")));
        assert_eq!(tab.len(), truth.len(), "{stem}: one line per cell");
        let mut seen = HashMap::new();
        for f in &tab {
            assert_eq!(f.len(), n + 5, "{stem}: {f:?}");
            let key: Key = f[..n].to_vec();
            assert!(
                seen.insert(key.clone(), ()).is_none(),
                "{stem}: {key:?} twice"
            );
            let (v, contributors) = truth[&key];
            assert_eq!(f[n], v.to_string(), "{stem}: {key:?}");
            assert_eq!(f[n + 1], contributors.to_string(), "{stem}: {key:?}");
            let status = match reasons.get(&key).map(String::as_str) {
                None => "S",
                Some("secondary") => "M",
                Some(_) => "U",
            };
            assert_eq!(f[n + 2], status, "{stem}: {key:?}");
            if status == "U" && column == "persons" {
                // A count below the threshold must reach [0, T].
                let levels = [v.to_string(), (threshold - v).to_string()];
                assert_eq!(f[n + 3..], levels, "{stem}: {key:?}");
            } else if status != "U" {
                let zero = f[n + 3..].iter().all(|x| x.parse::<f64>().unwrap() == 0.0);
                assert!(zero, "{stem}: {key:?} has protection levels");
            }
        }
        assert!(tab.iter().any(|f| f[n + 2] == "U") && tab.iter().any(|f| f[n + 2] == "M"));
    }
}

#[test]
fn the_apriori_file_lists_exactly_the_suppressed_cells() {
    let ex = example!();
    for (table, stem, _, _, column) in SETS {
        let reasons = reasons(ex, table, column);
        let n = dims(ex, table).len();
        let mut listed = HashMap::new();
        let mut levels = 0;
        for f in lines(&folder(table).join(format!("{stem}.hst"))) {
            let key: Key = f[..n].to_vec();
            if f[n] == "pl" {
                assert_eq!(
                    listed.get(&key).map(String::as_str),
                    Some("u"),
                    "{stem}: {f:?}"
                );
                levels += 1;
                continue;
            }
            assert!(
                listed.insert(key, f[n].clone()).is_none(),
                "{stem}: {f:?} twice"
            );
        }
        let expected: HashMap<Key, String> = reasons
            .into_iter()
            .map(|(k, r)| (k, if r == "secondary" { "m" } else { "u" }.to_string()))
            .collect();
        assert_eq!(listed, expected, "{stem}");
        assert_eq!(
            levels,
            expected.values().filter(|s| *s == "u").count(),
            "{stem}"
        );
    }
}

#[test]
fn the_metadata_names_every_dimension_and_the_hierarchy_lists_every_category() {
    let ex = example!();
    for (table, stem, _, _, _) in SETS {
        let rda = fs::read_to_string(folder(table).join(format!("{stem}.rda"))).unwrap();
        let dims = dims(ex, table);
        for d in &dims {
            assert!(
                rda.contains(&format!(
                    "\n{}\n  <RECODEABLE>\n  <TOTCODE> \"_T\"\n",
                    d.name
                )),
                "{stem}: {} in {rda}",
                d.name
            );
            let hierarchy = format!("<HIERCODELIST> \"{}.hrc\"", d.name);
            assert_eq!(
                rda.contains(&hierarchy),
                !d.groups.is_empty(),
                "{stem}: {rda}"
            );
        }
        assert!(rda.contains("\n  <STATUS>\n") && rda.contains("\n  <FREQUENCY>\n"));
    }
    let dims = dims(ex, "t1_overlap");
    let rolled: Vec<&Dim> = dims.iter().filter(|d| !d.groups.is_empty()).collect();
    assert!(
        !rolled.is_empty(),
        "the example has a dimension with groups"
    );
    for d in rolled {
        let mut under: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut order = Vec::new();
        let mut group = None;
        for line in fs::read_to_string(folder("t1_overlap").join(format!("{}.hrc", d.name)))
            .unwrap()
            .lines()
        {
            match line.strip_prefix('@') {
                Some(category) => under
                    .get_mut(group.as_ref().unwrap())
                    .unwrap()
                    .push(category.to_string()),
                None => {
                    group = Some(line.to_string());
                    order.push(line.to_string());
                    under.insert(line.to_string(), Vec::new());
                }
            }
        }
        let groups: Vec<String> = d.groups.iter().map(|g| d.argus(g, true)).collect();
        assert_eq!(order, groups, "{}: every group once, in order", d.name);
        for (c, g) in &d.categories {
            let g = d.argus(g.as_ref().unwrap(), true);
            assert!(under[&g].contains(c), "{}: {c} under {g}", d.name);
        }
        let listed: usize = under.values().map(Vec::len).sum();
        assert_eq!(
            listed,
            d.categories.len(),
            "{}: every category once",
            d.name
        );
    }
}

#[test]
fn every_table_has_its_sets_in_the_checker_report_and_none_in_the_bundle() {
    let ex = example!();
    let checker = ex.join("release.checker");
    let tables = json(&ex.join("release/manifest.json"))["tables"]
        .as_array()
        .unwrap()
        .clone();
    let folders = listing(&checker.join("tauargus"));
    assert_eq!(folders.len(), tables.len());
    let manifest = json(&checker.join("manifest.json"));
    let files: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for t in &tables {
        let t = t.as_str().unwrap();
        let names = listing(&checker.join("tauargus").join(t));
        for ext in ["tab", "rda", "hst"] {
            assert!(names.contains(&format!("{t}.{ext}")), "{t}: {names:?}");
        }
        assert!(names.contains(&"README.txt".to_string()));
        for n in names {
            let path = format!("tauargus/{t}/{n}");
            assert!(files.contains(&path.as_str()), "{path} not in the manifest");
        }
    }
    assert!(listing(&folder("t7_amounts")).contains(&"t7_amounts.amount.tab".to_string()));
    assert!(!ex.join("release/tauargus").exists());
}
