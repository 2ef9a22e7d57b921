//! Negative controls: hand-written bundles on which the attacker must find what a careless
//! release gives away, so that its silence on real bundles means something.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::bundle::read_bundle;
use crate::lp::{Finding, attack};

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
