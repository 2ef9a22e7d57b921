//! Property: after the primary rules, no published value breaks the policy.
//!
//! Random cells (counts, shares, sums with their largest contributions,
//! medians) under random policies; every value flagged `Published` is checked
//! against the policy's definitions directly.

use proptest::prelude::*;
use reglink_link::study::Categories;
use reglink_protect::{Dominance, Flag, Policy, primary};
use reglink_tabulate::{CellTable, Dimension, MeasureValues, Shape, TOP, Values};

#[derive(Debug, Clone)]
struct Cell {
    persons: u64,
    num: u64,
    den: u64,
    contributions: Vec<i64>,
    median_n: u64,
}

fn cell() -> impl Strategy<Value = Cell> {
    (
        0u64..30,
        prop::collection::vec(0i64..1_000, 0..30),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(persons, mut contributions, a, b, c)| {
            contributions.truncate(persons as usize);
            let den = if persons == 0 { 0 } else { a % (persons + 1) };
            let num = if den == 0 { 0 } else { b % (den + 1) };
            let median_n = if persons == 0 { 0 } else { c % (persons + 1) };
            Cell {
                persons,
                num,
                den,
                contributions,
                median_n,
            }
        })
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        0u64..15,
        prop::option::of((1usize..4, 1.0f64..100.0)),
        prop::option::of(1.0f64..50.0),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(threshold, dominance, p, zeros, class)| Policy {
            preset: "test".into(),
            threshold,
            dominance: dominance
                .map(|(n, k)| vec![Dominance { n, k }])
                .unwrap_or_default(),
            p_percent: p,
            zeros_disclosive: zeros,
            class_disclosure: class,
            min_median_contributors: threshold,
            method: reglink_protect::Method::Suppression,
            cost: reglink_protect::Cost::default(),
            ptable_file: None,
            unrelated_populations: reglink_protect::Unrelated::Refuse,
        })
}

fn table(cells: &[Cell]) -> CellTable {
    let codes: Vec<String> = (0..cells.len().saturating_sub(1))
        .map(|i| format!("c{i}"))
        .collect();
    let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
    let dims = vec![Dimension::new("d", &Categories::plain(&refs), false)];
    let shape = Shape::new(&dims);
    assert_eq!(shape.cells(), cells.len());
    let top = cells
        .iter()
        .map(|c| {
            let mut sorted = c.contributions.clone();
            sorted.sort_unstable_by(|a, b| b.cmp(a));
            let mut t = [0i64; TOP];
            for (slot, x) in t.iter_mut().zip(sorted) {
                *slot = x;
            }
            t
        })
        .collect();
    CellTable {
        name: "t".into(),
        title: None,
        population: "p".into(),
        definition: Default::default(),
        years: vec![2023],
        dimensions: dims,
        shape,
        persons: cells.iter().map(|c| c.persons).collect(),
        record_key_sum: vec![0; cells.len()],
        measures: vec![
            MeasureValues {
                name: "share".into(),
                kind: "share",
                of: None,
                values: Values::Share {
                    num: cells.iter().map(|c| c.num).collect(),
                    den: cells.iter().map(|c| c.den).collect(),
                    keys: reglink_tabulate::ShareKeys {
                        num: vec![0; cells.len()],
                        den: vec![0; cells.len()],
                    },
                },
            },
            MeasureValues {
                name: "amount".into(),
                kind: "sum",
                of: None,
                values: Values::Sum {
                    sum: cells.iter().map(|c| c.contributions.iter().sum()).collect(),
                    n: cells.iter().map(|c| c.contributions.len() as u64).collect(),
                    mean: false,
                    top,
                },
            },
            MeasureValues {
                name: "median".into(),
                kind: "median",
                of: None,
                values: Values::Median {
                    median: vec![Some(1.0); cells.len()],
                    n: cells.iter().map(|c| c.median_n).collect(),
                },
            },
        ],
    }
}

proptest! {
    #[test]
    fn no_published_value_breaks_the_policy(cells in prop::collection::vec(cell(), 1..40), policy in policy()) {
        let t = table(&cells);
        let flags = primary(&t, &policy);
        for (c, cell) in cells.iter().enumerate() {
            let published = |f: Flag| f == Flag::Published;
            if published(flags.persons[c]) {
                prop_assert!(cell.persons >= policy.threshold || (cell.persons == 0 && !policy.zeros_disclosive));
            }
            // Nothing of nobody is published where zeros are disclosive.
            if policy.zeros_disclosive {
                prop_assert!(!published(flags.measures[0][c]) || cell.den > 0);
                prop_assert!(!published(flags.measures[1][c]) || !cell.contributions.is_empty());
                prop_assert!(!published(flags.measures[2][c]) || cell.median_n > 0);
            }
            if published(flags.measures[0][c]) {
                prop_assert!(published(flags.persons[c]));
                for x in [cell.num, cell.den] {
                    prop_assert!(x == 0 || x >= policy.threshold);
                }
                if policy.class_disclosure && cell.den > 0 {
                    prop_assert!(cell.num > 0 && cell.num < cell.den);
                }
            }
            if published(flags.measures[1][c]) && !cell.contributions.is_empty() {
                let n = cell.contributions.len();
                prop_assert!(n as u64 >= policy.threshold);
                let mut sorted = cell.contributions.clone();
                sorted.sort_unstable_by(|a, b| b.cmp(a));
                let total: i64 = sorted.iter().sum();
                for d in &policy.dominance {
                    prop_assert!(n > d.n);
                    let largest: i64 = sorted.iter().take(d.n).sum();
                    prop_assert!(largest as f64 <= d.k / 100.0 * total as f64);
                }
                if let Some(p) = policy.p_percent {
                    let rest = total - sorted[0] - sorted.get(1).copied().unwrap_or(0);
                    prop_assert!(rest as f64 >= p / 100.0 * sorted[0] as f64);
                }
            }
            if published(flags.measures[2][c]) {
                prop_assert!(cell.median_n == 0 || cell.median_n >= policy.min_median_contributors);
            }
        }
    }
}
