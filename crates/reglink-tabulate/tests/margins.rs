//! Property: every margin of a cell table is the sum of what it covers.
//!
//! Random person-years in a small study (municipality rolling up to county,
//! sex, a bool, an amount with missing values) are tabulated; for every cell
//! at a total or group level, persons, share numerators and denominators and
//! sums equal the sum over the categories it covers, the grand total is the
//! number of person-years, and distinct households are sub-additive.
//!
//! And: the same person-years tabulated in parts (as bounded-memory linking
//! hands them over, a group of persons at a time), in any order of the
//! parts, give the same table; medians and distinct households, which do
//! not add up, match a direct count over the rows of each cell.

use proptest::prelude::*;
use reglink_link::partial::{Decoder, Encoder};
use reglink_link::study::Study;
use reglink_link::{Column, MISSING_BOOL, MISSING_CATEGORY, MISSING_NUMBER, PopulationFrame};
use reglink_tabulate::{CellTable, Dimension, Tabulation, Values, tabulate};

const STUDY: &str = r#"
[study]
name = "margins"
period = ["2023-01", "2023-12"]

[codelists.kommun]
path = "kommun.csv"
group = "county"

[sources.eb]
kind = "eb"
path = "eb.parquet"
columns = { month = "m", municipality = "k", household = "h", amount = "a" }
codelists = { municipality = "kommun" }

[variables.municipality]
kind = "code"
source = "eb"
column = "municipality"
rollup = true

[variables.long_term]
kind = "long_term"

[variables.amount]
kind = "eb_amount"

[populations.p]
source = "eb"
years = [2023]

[[tables]]
name = "t"
population = "p"
dimensions = ["municipality", "sex", "long_term"]
measures = [
  { name = "persons", kind = "persons" },
  { name = "households", kind = "households" },
  { name = "lt", kind = "share", of = "long_term" },
  { name = "amount", kind = "sum", of = "amount" },
  { name = "median_amount", kind = "median", of = "amount" },
]
"#;

fn study() -> (tempfile::TempDir, Study) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kommun.csv"),
        "code,county\n0180,01\n0114,01\n0380,03\n1280,12\n",
    )
    .unwrap();
    let study = Study::parse(&dir.path().join("study.toml"), STUDY).unwrap();
    (dir, study)
}

#[derive(Debug, Clone)]
struct Row {
    municipality: u32,
    sex: u32,
    long_term: u8,
    amount: i64,
    household: u64,
    key: u32,
}

fn row() -> impl Strategy<Value = Row> {
    (
        prop_oneof![4 => 0u32..4, 1 => Just(MISSING_CATEGORY)],
        prop_oneof![4 => 0u32..2, 1 => Just(MISSING_CATEGORY)],
        prop_oneof![4 => 0u8..2, 1 => Just(MISSING_BOOL)],
        prop_oneof![4 => -5_000i64..50_000, 1 => Just(MISSING_NUMBER)],
        0u64..40,
        any::<u32>(),
    )
        .prop_map(
            |(municipality, sex, long_term, amount, household, key)| Row {
                municipality,
                sex,
                long_term,
                amount,
                household,
                key,
            },
        )
}

fn frame(study: &Study, rows: &[Row]) -> PopulationFrame {
    let var = |name: &str| study.variable(name).unwrap();
    let cats = |name: &str| study.variables[var(name)].categories.clone().unwrap();
    PopulationFrame {
        len: rows.len(),
        record_key: rows.iter().map(|r| r.key).collect(),
        household: rows.iter().map(|r| r.household).collect(),
        columns: vec![
            (
                var("municipality"),
                Column::Category {
                    values: rows.iter().map(|r| r.municipality).collect(),
                    categories: cats("municipality"),
                },
            ),
            (
                var("sex"),
                Column::Category {
                    values: rows.iter().map(|r| r.sex).collect(),
                    categories: cats("sex"),
                },
            ),
            (
                var("long_term"),
                Column::Bool(rows.iter().map(|r| r.long_term).collect()),
            ),
            (
                var("amount"),
                Column::Number(rows.iter().map(|r| r.amount).collect()),
            ),
        ],
    }
}

/// The additive columns of a cell, for comparing margins with their parts.
fn additive(t: &CellTable, cell: usize) -> Vec<i128> {
    let mut v = vec![i128::from(t.persons[cell])];
    for m in &t.measures {
        match &m.values {
            Values::Share { num, den, .. } => {
                v.extend([i128::from(num[cell]), i128::from(den[cell])])
            }
            Values::Sum { sum, n, .. } => v.extend([i128::from(sum[cell]), i128::from(n[cell])]),
            _ => {}
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn margins_are_the_sums_of_their_parts(rows in prop::collection::vec(row(), 0..300)) {
        let (_dir, study) = study();
        let f = frame(&study, &rows);
        let t = tabulate(&study, &f, 0);
        let sizes = &t.shape.sizes;
        let stride = |d: usize| sizes[d + 1..].iter().product::<usize>();
        let total_cell = t.shape.cells() - 1;
        prop_assert_eq!(t.persons[total_cell], rows.len() as u64);
        let keys = rows.iter().fold(0u32, |a, r| a.wrapping_add(r.key));
        prop_assert_eq!(t.record_key_sum[total_cell], keys);

        for cell in 0..t.shape.cells() {
            for (d, dim) in t.dimensions.iter().enumerate() {
                let pos = t.shape.position(cell, d);
                let base = cell - pos * stride(d);
                let (_, level) = dim.position(pos);
                // The parts a margin covers: every category (total) or the group's categories (group).
                let parts: Vec<usize> = if level == dim.levels() - 1 {
                    (0..dim.categories.len()).collect()
                } else if level == 1 {
                    let g = (pos - dim.categories.len()) as u32;
                    (0..dim.categories.len()).filter(|&c| dim.group_of.as_ref().unwrap()[c] == g).collect()
                } else {
                    continue;
                };
                let mut sum = vec![0i128; additive(&t, cell).len()];
                for p in &parts {
                    for (s, x) in sum.iter_mut().zip(additive(&t, base + p * stride(d))) {
                        *s += x;
                    }
                }
                prop_assert_eq!(&sum, &additive(&t, cell), "dimension {} cell {}", dim.name, cell);
                // Households: a household may span categories, so the margin is at most the sum.
                let Values::Count(h) = &t.measures[1].values else { unreachable!() };
                let parts_h: Vec<u64> = parts.iter().map(|p| h[base + p * stride(d)]).collect();
                prop_assert!(h[cell] <= parts_h.iter().sum::<u64>());
                prop_assert!(h[cell] >= parts_h.iter().copied().max().unwrap_or(0));
            }
        }
        // Shares never exceed their denominator, which never exceeds the persons.
        let Values::Share { num, den, .. } = &t.measures[2].values else { unreachable!() };
        for c in 0..t.shape.cells() {
            prop_assert!(num[c] <= den[c] && den[c] <= t.persons[c]);
        }
    }
}

/// Whether position `p` of `dim` covers category `c`.
fn covers(dim: &Dimension, p: usize, c: usize) -> bool {
    let n = dim.categories.len();
    p == c
        || p == dim.positions() - 1
        || (p >= n
            && dim
                .group_of
                .as_ref()
                .is_some_and(|g| g[c] as usize == p - n))
}

/// The row's category in every dimension of `t` (missing values in `unknown`).
fn categories_of(t: &CellTable, r: &Row) -> [usize; 3] {
    let cat = |d: usize, v: u32, missing: bool| {
        if missing {
            t.dimensions[d]
                .unknown
                .expect("a missing value makes `unknown`") as usize
        } else {
            v as usize
        }
    };
    [
        cat(0, r.municipality, r.municipality == MISSING_CATEGORY),
        cat(1, r.sex, r.sex == MISSING_CATEGORY),
        cat(2, u32::from(r.long_term), r.long_term == MISSING_BOOL),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_table_tabulated_in_parts_is_the_table_of_the_whole(
        rows in prop::collection::vec(row(), 0..300),
        part_of in prop::collection::vec(0usize..4, 300),
        reversed in any::<bool>(),
    ) {
        let (_dir, study) = study();
        let whole = tabulate(&study, &frame(&study, &rows), 0);

        let mut parts: Vec<Vec<Row>> = vec![Vec::new(); 4];
        for (r, &p) in rows.iter().zip(&part_of) {
            parts[p].push(r.clone());
        }
        if reversed {
            parts.reverse();
        }
        let mut tabulation = Tabulation::new(&study, 0);
        for part in &parts {
            tabulation.add(&frame(&study, part));
        }
        let split = tabulation.finish();
        prop_assert_eq!(format!("{:?}", split.dimensions), format!("{:?}", whole.dimensions));
        prop_assert_eq!(&split.persons, &whole.persons);
        prop_assert_eq!(&split.record_key_sum, &whole.record_key_sum);
        prop_assert_eq!(format!("{:?}", split.measures), format!("{:?}", whole.measures));

        // The same parts tabulated apart (as on the workers of a cluster),
        // written out, read back and merged: the same table again.
        let mut merged = Tabulation::new(&study, 0);
        for part in &parts {
            let mut apart = Tabulation::new(&study, 0);
            apart.add(&frame(&study, part));
            let mut e = Encoder::new("a test");
            apart.encode(&mut e);
            let bytes = e.into_bytes();
            let mut d = Decoder::new(&bytes);
            d.header("a test").unwrap();
            merged.merge(Tabulation::decode(&study, 0, &mut d).unwrap());
            d.finish().unwrap();
            // A cut-off partial is refused, never merged as if whole.
            let mut d = Decoder::new(&bytes[..bytes.len() - 1]);
            d.header("a test").unwrap();
            prop_assert!(Tabulation::decode(&study, 0, &mut d).and_then(|_| d.finish()).is_err());
        }
        let merged = merged.finish();
        prop_assert_eq!(&merged.persons, &whole.persons);
        prop_assert_eq!(&merged.record_key_sum, &whole.record_key_sum);
        prop_assert_eq!(format!("{:?}", merged.dimensions), format!("{:?}", whole.dimensions));
        prop_assert_eq!(format!("{:?}", merged.measures), format!("{:?}", whole.measures));

        // Medians and households against a direct count over each cell's rows.
        let Values::Count(households) = &whole.measures[1].values else { unreachable!() };
        let Values::Median { median, n } = &whole.measures[4].values else { unreachable!() };
        let rows_cats: Vec<[usize; 3]> = rows.iter().map(|r| categories_of(&whole, r)).collect();
        for cell in 0..whole.shape.cells() {
            let members: Vec<&Row> = rows
                .iter()
                .zip(&rows_cats)
                .filter(|(_, cats)| {
                    (0..3).all(|d| covers(&whole.dimensions[d], whole.shape.position(cell, d), cats[d]))
                })
                .map(|(r, _)| r)
                .collect();
            let mut distinct: Vec<u64> = members.iter().map(|r| r.household).collect();
            distinct.sort_unstable();
            distinct.dedup();
            prop_assert_eq!(households[cell], distinct.len() as u64, "households of cell {}", cell);
            let mut values: Vec<i64> = members
                .iter()
                .map(|r| r.amount)
                .filter(|&a| a != MISSING_NUMBER)
                .collect();
            values.sort_unstable();
            let expected = match values.len() {
                0 => None,
                k if k % 2 == 1 => Some(values[k / 2] as f64),
                k => Some((values[k / 2 - 1] as f64 + values[k / 2] as f64) / 2.0),
            };
            prop_assert_eq!(n[cell], values.len() as u64, "values of cell {}", cell);
            prop_assert_eq!(median[cell], expected, "median of cell {}", cell);
        }
    }
}
